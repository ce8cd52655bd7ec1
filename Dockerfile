# The production image. Each step is also run by CI outside Docker (no engine there):
#   dependencies  -> `make venv` installs the same project metadata (pyproject.toml)
#   collectstatic -> `make collectstatic`, run by `make test`
#   migrations    -> a separate command, never at start: see docs/deploy.md
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STATIC_MANIFEST=on \
    HOST=0.0.0.0 \
    PORT=8000

RUN useradd --create-home --uid 10001 app
WORKDIR /app

# Dependencies first, from the project's metadata, so code changes keep this layer cached.
COPY pyproject.toml README.md ./
COPY dashboard/__init__.py dashboard/
COPY conversations/__init__.py conversations/
COPY emulator/__init__.py emulator/
RUN pip install .

COPY . .
RUN pip install --no-deps . \
 && DEBUG=on python manage.py collectstatic --no-input --verbosity 0

USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"8000\")}/healthz', timeout=2)"
CMD ["gunicorn", "-c", "gunicorn.conf.py", "dashboard.wsgi"]
