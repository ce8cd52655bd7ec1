#!/bin/sh
# The image's build steps, one per argument: `deps`, `static`, `check`.
#
# The Dockerfile runs each of them, and `make image-check` runs the same script outside
# Docker (CI has no engine), so a step that breaks fails CI. `python` is whichever is first
# on PATH: the image's, or the throwaway virtualenv of `make image-check`.
set -eu

# A key that lives for one command: settings refuse to load without one, and nothing the
# build produces depends on it.
throwaway_key() {
    python -c 'import secrets; print(secrets.token_urlsafe(50))'
}

# Loading the settings opens the worker's queue; the build steps keep it in memory, so that
# no file is left in the image (a root-owned queue in /data would lock the worker out).
export HUEY_FILE=":memory:"

for step in "$@"; do
    case "$step" in
        deps)
            # The project's dependencies, from its metadata. Installing the project builds it,
            # so broken metadata fails here; the package itself is then removed, because the
            # code runs from the source tree, beside its templates and static files.
            python -m pip install --quiet .
            python -m pip uninstall --quiet --yes conversation-review
            rm -rf build ./*.egg-info
            ;;
        static)
            # Hashed, compressed copies that WhiteNoise serves with far-future cache headers.
            SECRET_KEY="$(throwaway_key)" STATIC_MANIFEST=on \
                python manage.py collectstatic --no-input --clear --verbosity 0
            ;;
        check)
            # Django's deployment checks, as production runs: TLS on, DEBUG off.
            SECRET_KEY="$(throwaway_key)" DEBUG=off HTTPS=on STATIC_MANIFEST=on \
                python manage.py check --deploy --fail-level WARNING
            ;;
        *)
            echo "image_build.sh: unknown step '$step' (deps, static, check)" >&2
            exit 2
            ;;
    esac
done
