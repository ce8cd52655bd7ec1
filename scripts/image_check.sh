#!/usr/bin/env bash
# `make image-check`: the Dockerfile's build, done outside Docker (CI has no engine).
#
# 1. `deps` in a throwaway virtualenv, from the same files the Dockerfile's first layer
#    copies: the dependencies in pyproject.toml must be enough to run the steps below.
#    The virtualenv is kept and rebuilt when pyproject.toml changes; pip's cache makes
#    a rebuild take seconds.
# 2. `static` and `check` with that virtualenv's Python, in the source tree, as the image
#    runs them in /app.
# 3. scripts/lint_image.py on Dockerfile, .dockerignore and compose.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
venv="$root/.venv/image-check"

if [ ! -x "$venv/bin/python" ] || [ pyproject.toml -nt "$venv/.built" ]; then
    rm -rf "$venv"
    "${PYTHON:-python3}" -m venv "$venv"
    layer="$(mktemp -d)"
    trap 'rm -rf "$layer"' EXIT
    cp pyproject.toml "$layer/"
    for package in dashboard conversations emulator; do
        mkdir "$layer/$package"
        cp "$package/__init__.py" "$layer/$package/"
    done
    (cd "$layer" && PATH="$venv/bin:$PATH" sh "$root/scripts/image_build.sh" deps)
    touch "$venv/.built"
fi
PATH="$venv/bin:$PATH" sh scripts/image_build.sh static check
"$root/.venv/bin/python" scripts/lint_image.py
