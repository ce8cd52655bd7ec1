# The production image: the dashboard under gunicorn (docs/deploy.md).
#
# CI has no Docker engine, so every RUN below other than creating the user is a step of
# scripts/image_build.sh, which `make image-check` (part of `make test`) runs outside Docker;
# scripts/lint_image.py checks this file and compose.yaml.
#
# Nothing secret is baked in: SECRET_KEY, XUNA_API_KEY, DATABASE_URL and REDIS_URL come
# from the environment when a container starts. Migrations are a separate command, run
# once per release before the new instances start, never at every start:
#   docker run --rm --env-file .env conversation-review python manage.py migrate --no-input
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    STATIC_MANIFEST=on \
    HOST=0.0.0.0 \
    PORT=8000 \
    HUEY_FILE=/data/huey.sqlite3

# The process runs as `app`, which owns nothing but /data (for a single instance on SQLite:
# DATABASE_URL=sqlite:////data/db.sqlite3 with a volume there). Every process opens the
# worker's queue when it starts; without REDIS_URL that is a SQLite file, so it is in /data.
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin app \
 && install -d -o app -g app /data
WORKDIR /app

# The dependencies first, from the project's metadata alone, so that a change to the code
# does not reinstall them.
COPY pyproject.toml ./
COPY dashboard/__init__.py dashboard/
COPY conversations/__init__.py conversations/
COPY emulator/__init__.py emulator/
COPY scripts/image_build.sh scripts/
RUN sh scripts/image_build.sh deps

COPY . .
RUN sh scripts/image_build.sh static check

USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "scripts/healthcheck.py"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "dashboard.wsgi"]
