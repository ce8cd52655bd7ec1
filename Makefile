# The two commands: `make run` and `make test`. Everything else here is a step they take.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test venv env migrate lint unit browser-deps node-deps collectstatic image-check bench clean

run: venv env migrate collectstatic
	$(BIN)/python scripts/serve.py

# Browser tests run in a process of their own, with a live server and a database that no
# other test has touched.
test: venv env lint browser-deps node-deps collectstatic image-check
	$(BIN)/python -m pytest --ignore=tests/browser
	$(BIN)/python -m pytest tests/browser

# A virtualenv that is missing, broken (its Python went away) or older than pyproject.toml
# is (re)built; otherwise this step costs nothing.
venv: $(STAMP)
$(STAMP): pyproject.toml
	@$(BIN)/python -c "import sys" 2>/dev/null || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# A local .env with a generated SECRET_KEY; values already in it are kept.
env: venv
	@$(BIN)/python scripts/ensure_env.py

migrate: venv env
	$(BIN)/python manage.py migrate --no-input

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Front-end tools for the browser tests, from the npm registry at the versions package-lock.json
# pins: axe-core (accessibility) and oidc-provider (a real OpenID Connect provider for single
# sign-on). Reinstalled when the lock file changes; otherwise this step costs nothing.
NODE_STAMP := node_modules/.installed-stamp
node-deps: $(NODE_STAMP)
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

# The same step the Dockerfile runs at build time, so a broken one fails CI.
collectstatic: venv env
	STATIC_MANIFEST=on $(BIN)/python manage.py collectstatic --no-input --clear --verbosity 0

# The Dockerfile's build steps outside Docker (CI has no engine), then a lint of Dockerfile and
# compose.yaml: see scripts/image_check.sh.
image-check: venv env
	@PYTHON=$(PYTHON) scripts/image_check.sh

# Browser tests need Debian's Chromium; as root it is installed when missing.
browser-deps:
	@scripts/install_debian_package.sh chromium /usr/bin/chromium "the browser tests" warn

# Benchmarks against the platform's latency (docs/performance.md): minutes, not part of `test`.
bench: venv env browser-deps collectstatic
	@scripts/install_debian_package.sh wrk wrk "the benchmarks" fail
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) staticfiles .pytest_cache node_modules
