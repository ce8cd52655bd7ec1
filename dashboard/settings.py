"""Settings for Conversation Review.

Every setting that differs between machines is read from an environment variable of the
same name (a `.env` file in the project root is read too, without overriding the real
environment). A bad value stops start-up with a message naming the variable.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from redis import connection as redis_connection

BASE_DIR = Path(__file__).resolve().parent.parent


def _read_dotenv(path):
    """Load KEY=VALUE lines from `.env` into the environment, never overriding it."""
    if not path.is_file():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        os.environ.setdefault(key.strip(), value.strip().strip("'\""))


_read_dotenv(BASE_DIR / ".env")


def env_str(name, default=""):
    return os.environ.get(name, default).strip()


def env_bool(name, default=False):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be one of on/off, true/false, 1/0 (got {raw!r}).")


def env_number(name, default, *, minimum, maximum, cast=float):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = cast(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number (got {raw!r}).") from None
    if not minimum <= value <= maximum:
        raise ImproperlyConfigured(f"{name} must be between {minimum} and {maximum} (got {raw!r}).")
    return value


def env_list(name, default=""):
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def env_url(name, default):
    value = env_str(name, default).rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ImproperlyConfigured(
            f"{name} must be an http(s) URL such as {default} (got {value!r})."
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ImproperlyConfigured(f"{name} must be a plain base URL without credentials or query.")
    return value


def env_redis_url(name):
    """A redis://, rediss:// or unix:// URL as redis-py reads it, or "" when unset."""
    value = env_str(name)
    if value:
        try:
            redis_connection.parse_url(value)
        except ValueError:
            # The value is not repeated: it may carry a password.
            raise ImproperlyConfigured(
                f"{name} must be a URL such as redis://127.0.0.1:6379/0."
            ) from None
    return value


def env_agent_names(name):
    """Parse `agent_x=Support bot,agent_y=Sales` into a dict."""
    names = {}
    for item in env_list(name):
        agent_id, sep, label = item.partition("=")
        if not sep or not agent_id.strip() or not label.strip():
            raise ImproperlyConfigured(
                f"{name} must look like 'agent_x=Support bot,agent_y=Sales'."
            )
        names[agent_id.strip()] = label.strip()
    return names


def env_role_map(name, *, roles):
    """Parse `qa-admins=Admin,qa=Reviewer` (a group of the provider = one of `roles`)."""
    mapping = {}
    for item in env_list(name):
        group, sep, role = item.rpartition("=")
        if not sep or not group.strip() or role.strip() not in roles:
            raise ImproperlyConfigured(
                f"{name} must look like 'qa-admins=Admin,qa-leads=Lead,qa=Reviewer', each role "
                f"one of {', '.join(roles)} (got {item!r})."
            )
        mapping[group.strip()] = role.strip()
    return mapping


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (make run generates one into .env)."
        )
    # Only with DEBUG on: a per-process random key, so nothing secret is ever written in code.
    SECRET_KEY = os.urandom(32).hex()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# The platform
XUNA_API_BASE_URL = env_url("XUNA_API_BASE_URL", "https://api.xuna.ai")
XUNA_API_KEY = env_str("XUNA_API_KEY")
XUNA_API_KEY_HEADER = env_str("XUNA_API_KEY_HEADER", "xi-api-key")
if not XUNA_API_KEY_HEADER.replace("-", "").isalnum():
    raise ImproperlyConfigured("XUNA_API_KEY_HEADER must be an HTTP header name.")
XUNA_API_TIMEOUT = env_number("XUNA_API_TIMEOUT", 10.0, minimum=0.5, maximum=120)
XUNA_API_CONNECT_TIMEOUT = env_number("XUNA_API_CONNECT_TIMEOUT", 3.05, minimum=0.1, maximum=30)
# One pooled connection per server thread (gunicorn.conf.py reads the same GUNICORN_THREADS),
# so that no thread waits for a connection and none is opened only to be dropped.
GUNICORN_THREADS = env_number("GUNICORN_THREADS", 32, minimum=1, maximum=512, cast=int)
XUNA_API_POOL_SIZE = env_number(
    "XUNA_API_POOL_SIZE", GUNICORN_THREADS, minimum=1, maximum=512, cast=int
)
XUNA_API_MAX_RESPONSE_BYTES = env_number(
    "XUNA_API_MAX_RESPONSE_BYTES", 20_000_000, minimum=1_000, maximum=1_000_000_000, cast=int
)
# Hosts besides the API's that may serve recordings, over https to public addresses only.
XUNA_AUDIO_HOSTS = [host.lower().rstrip(".") for host in env_list("XUNA_AUDIO_HOSTS")]
if not all(h.isascii() and h.replace("-", "").replace(".", "").isalnum() for h in XUNA_AUDIO_HOSTS):
    raise ImproperlyConfigured(
        "XUNA_AUDIO_HOSTS must be host names separated by commas, such as cdn.xuna.ai."
    )
XUNA_AGENT_NAMES = env_agent_names("XUNA_AGENT_NAMES")
# Set by `make run` when it starts the built-in emulator: shows the demo banner.
XUNA_DEMO = env_bool("XUNA_DEMO", False)
# Conversations fetched at once while exporting (the list carries summaries only).
XUNA_EXPORT_CONCURRENCY = env_number("XUNA_EXPORT_CONCURRENCY", 4, minimum=1, maximum=32, cast=int)
# Exports running at once, per user and in all: each one keeps XUNA_EXPORT_CONCURRENCY platform
# calls going, and eight of them made the list take 13.7 s instead of 0.2 s (issue 11).
EXPORT_MAX_PER_USER = env_number("EXPORT_MAX_PER_USER", 1, minimum=1, maximum=20, cast=int)
EXPORT_MAX_TOTAL = env_number("EXPORT_MAX_TOTAL", 3, minimum=1, maximum=100, cast=int)
# /readyz needs no login: its platform check is reused for this long (0: asked every time).
READYZ_PLATFORM_CACHE_SECONDS = env_number(
    "READYZ_PLATFORM_CACHE_SECONDS", 5, minimum=0, maximum=300, cast=int
)
XUNA_PAGE_SIZE = env_number("XUNA_PAGE_SIZE", 50, minimum=1, maximum=100, cast=int)
# List pages and conversations are kept briefly in the cache (conversations/cache.py,
# docs/performance.md); a deletion through the dashboard drops them at once.
XUNA_CACHE = env_bool("XUNA_CACHE", True)
XUNA_CACHE_LIST_SECONDS = env_number(
    "XUNA_CACHE_LIST_SECONDS", 30, minimum=1, maximum=3600, cast=int
)
XUNA_CACHE_CONVERSATION_SECONDS = env_number(
    "XUNA_CACHE_CONVERSATION_SECONDS", 60, minimum=1, maximum=3600, cast=int
)

# The conversation index (conversations/index.py), filled by the worker (conversations/sync.py).
# INDEX_TRANSCRIPTS=off keeps transcripts out of it (metadata, evaluation and values only);
# INDEX_TRANSCRIPT_DAYS drops indexed transcripts of calls older than that (0: keep them).
INDEX_ENABLED = env_bool("INDEX_ENABLED", True)
INDEX_TRANSCRIPTS = env_bool("INDEX_TRANSCRIPTS", True)
INDEX_TRANSCRIPT_DAYS = env_number("INDEX_TRANSCRIPT_DAYS", 0, minimum=0, maximum=36500, cast=int)
# Bulk jobs (conversations/jobs.py) are kept this many days after they end, then deleted: their
# filter can name a collected value, and the audit log keeps what each deletion did anyway.
JOBS_KEEP_DAYS = env_number("JOBS_KEEP_DAYS", 30, minimum=1, maximum=3650, cast=int)
# The worker that keeps it current (conversations/tasks.py runs conversations/sync.py): a head
# sync every SYNC_INTERVAL_SECONDS, with SYNC_CONCURRENCY conversations fetched at once; a
# backfill of the older history, SYNC_BACKFILL_DAYS back (0: all of it); a sweep for
# conversations deleted elsewhere every SYNC_RECONCILE_MINUTES. A run of a job starts no platform
# call after SYNC_RUN_SECONDS; the lock of a worker killed mid-run expires after about twice
# that (tasks.LOCK_SECONDS), and then another worker takes the job over.
SYNC_INTERVAL_SECONDS = env_number("SYNC_INTERVAL_SECONDS", 5, minimum=1, maximum=3600, cast=int)
SYNC_RUN_SECONDS = env_number("SYNC_RUN_SECONDS", 30, minimum=1, maximum=600, cast=int)
SYNC_CONCURRENCY = env_number("SYNC_CONCURRENCY", 4, minimum=1, maximum=32, cast=int)
SYNC_BACKFILL_DAYS = env_number("SYNC_BACKFILL_DAYS", 0, minimum=0, maximum=36500, cast=int)
SYNC_RECONCILE_MINUTES = env_number(
    "SYNC_RECONCILE_MINUTES", 60, minimum=1, maximum=10080, cast=int
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "csp",
    "axes",
    "huey.contrib.djhuey",
    "conversations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below WhiteNoise, which serves static files already compressed; above everything that
    # writes a body. Never for recordings (see the class).
    "conversations.middleware.CompressionMiddleware",
    # Above everything that queries the database: it notices when a database outage ends.
    "conversations.health.DatabaseOutageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Above the two that send a visitor without a session to the login form, so it sees
    # their redirects: for htmx, the whole page goes there, not the fragment.
    "conversations.middleware.HtmxLoginMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "conversations.middleware.ViewerTimezoneMiddleware",
    "conversations.middleware.SessionLimitsMiddleware",
    "conversations.middleware.NoStoreMiddleware",
    # Inside CSPMiddleware, so that the pages it answers with carry the policy too.
    "csp.middleware.CSPMiddleware",
    "conversations.middleware.ErrorMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "dashboard.urls"
WSGI_APPLICATION = "dashboard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "conversations.context_processors.workspace",
            ],
        },
    },
]

try:
    DATABASES = {
        "default": dj_database_url.parse(
            env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
            conn_max_age=600,
            conn_health_checks=True,
        )
    }
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The worker writes the index while the web process writes reviews. A transaction takes
    # SQLite's write lock when it begins, so that two writers wait for each other instead of
    # one failing at once with "database is locked" (a read lock cannot be upgraded).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("transaction_mode", "IMMEDIATE")
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database that does not answer fails the request within seconds, with the 503 page
    # (conversations/health.py), instead of holding a thread until the OS gives up.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The analytics indexes carry a column for PostgreSQL's index-only scans (INCLUDE); SQLite
# makes them plain indexes, which is what we want there.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "conversations:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
try:
    import zoneinfo

    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(f"TIME_ZONE is not a known time zone (got {TIME_ZONE!r}).") from None
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", False)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# The cache: each process's own memory by default; with REDIS_URL, one Redis shared by every
# instance (docs/deploy.md). Losing Redis costs speed, never a page
# (conversations/cache_backend.py).
REDIS_URL = env_redis_url("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "conversations.cache_backend.TolerantRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "review",
            # Redis answers in well under a millisecond on a local network: a dead one must
            # cost a page a fraction of a second, not redis-py's default of five.
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.5},
        }
    }
    # Sessions live in the database, which every instance shares; Redis only speeds up reads.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    SESSION_ENGINE = "django.contrib.sessions.backends.db"

# The task queue of the worker (`manage.py run_huey`, docs/deploy.md). By default a SQLite file
# beside the database (HUEY_FILE): no extra service, one worker. With REDIS_URL, Redis, which
# every instance shares: several workers, one queue, and one lock per kind of sync. The Redis
# flavour sets locks with an expiry (SET NX EX, any Redis 7), so that a lock held by a killed
# worker frees itself; a SQLite file has one worker, which clears stale locks when it starts.
_DATABASE_FILE = DATABASES["default"]["NAME"]
HUEY_FILE = env_str(
    "HUEY_FILE",
    str(Path(_DATABASE_FILE).with_name("huey.sqlite3"))
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    and str(_DATABASE_FILE) not in ("", ":memory:")
    else str(BASE_DIR / "huey.sqlite3"),
)
HUEY = {
    "name": "review",
    # Never run tasks inside the web process, whatever DEBUG says (djhuey's default).
    "immediate": False,
    # The tasks return nothing that anyone reads.
    "results": False,
    # Idle workers look at the queue at least once a second (Huey's default backs off to 10 s),
    # so that a task enqueued by a page starts within a second, not within ten.
    "consumer": {"workers": 4, "worker_type": "thread", "max_delay": 1.0},
}
if REDIS_URL:
    HUEY.update(huey_class="huey.RedisExpireHuey", url=REDIS_URL)
else:
    HUEY.update(huey_class="huey.SqliteHuey", filename=HUEY_FILE)
    HUEY["consumer"]["flush_locks"] = True

# Sessions end after an idle time and, at the latest, an absolute time after login
# (conversations.middleware.SessionLimitsMiddleware). Logout and a password change end them too.
SESSION_IDLE_MINUTES = env_number("SESSION_IDLE_MINUTES", 30, minimum=1, maximum=1440, cast=int)
SESSION_MAX_HOURS = env_number("SESSION_MAX_HOURS", 12, minimum=1, maximum=720, cast=int)
SESSION_COOKIE_AGE = SESSION_MAX_HOURS * 3600
SESSION_COOKIE_HTTPONLY = True
# Our script never reads the CSRF cookie (the token comes with the page), so no script may.
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# A form sent without a valid token (left open across a login) gets a sentence, a fragment for htmx.
CSRF_FAILURE_VIEW = "conversations.errors.csrf_failure"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Everything that only makes sense behind TLS, switched by one variable (docs/deploy.md).
HTTPS = env_bool("HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
# A TLS-terminating load balancer tells us the original scheme.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
# Health checks come over plain HTTP from inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "media-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# Brute force: after 5 failed logins for a username or from an address, refuse for a while.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Before RoleBackend: it refuses passwords when LOCAL_LOGIN is off, and signs in through
    # the OpenID Connect provider (conversations/sso.py). RoleBackend answers permissions.
    "conversations.sso.SSOBackend",
    "conversations.roles.RoleBackend",
]
AXES_FAILURE_LIMIT = env_number("LOGIN_FAILURE_LIMIT", 5, minimum=1, maximum=100, cast=int)
AXES_COOLOFF_TIME = timedelta(
    minutes=env_number("LOGIN_LOCKOUT_MINUTES", 15, minimum=1, maximum=1440, cast=int)
)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# Behind a load balancer every request comes from its address: count failures per client,
# read from X-Forwarded-For as appended by this many trusted proxies (docs/deploy.md).
TRUSTED_PROXIES = env_number("TRUSTED_PROXIES", 0, minimum=0, maximum=5, cast=int)
AXES_CLIENT_IP_CALLABLE = "conversations.login.client_address"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Off: when on, django-axes forgets every failure from the address, whatever the user name, so
# an insider could log in to their own account between guesses at another's. A login forgets
# only its own account's failures from its address (conversations.login).
AXES_RESET_ON_SUCCESS = False
AXES_VERBOSE = False

# Single sign-on with OpenID Connect (conversations/sso.py, through mozilla-django-oidc, whose
# setting names these are): on when OIDC_CLIENT_ID is set. The provider's endpoints are read
# from OIDC_ISSUER/.well-known/openid-configuration at the first sign-in, not at start-up.
OIDC_RP_CLIENT_ID = env_str("OIDC_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = env_str("OIDC_CLIENT_SECRET")
OIDC_ISSUER = ""
OIDC_PROVIDER_NAME = env_str("OIDC_PROVIDER_NAME", "single sign-on")
OIDC_RP_SCOPES = env_str("OIDC_SCOPES", "openid profile email")
OIDC_USERNAME_CLAIM = env_str("OIDC_USERNAME_CLAIM", "preferred_username")
OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM", "groups")
# The role names of conversations/roles.py, which settings cannot import.
OIDC_ROLE_MAP = env_role_map("OIDC_ROLE_MAP", roles=("Reviewer", "Lead", "Admin"))
if OIDC_RP_CLIENT_ID:
    if not env_str("OIDC_ISSUER") or not OIDC_RP_CLIENT_SECRET:
        raise ImproperlyConfigured(
            "OIDC_ISSUER and OIDC_CLIENT_SECRET must be set with OIDC_CLIENT_ID."
        )
    OIDC_ISSUER = env_url("OIDC_ISSUER", "https://login.example.com/realms/qa")
    if "openid" not in OIDC_RP_SCOPES.split():
        raise ImproperlyConfigured(f"OIDC_SCOPES must include openid (got {OIDC_RP_SCOPES!r}).")
    if not OIDC_ROLE_MAP:
        raise ImproperlyConfigured(
            "OIDC_ROLE_MAP must map the provider's groups to roles, such as "
            "'qa-admins=Admin,qa-leads=Lead,qa=Reviewer'."
        )
    # The logout form's redirect to the provider's end_session_endpoint is a form action too.
    _issuer = urlsplit(OIDC_ISSUER)
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"].append(
        f"{_issuer.scheme}://{_issuer.netloc}"
    )
# Off: no password form, and passwords are refused everywhere (the admin site too).
LOCAL_LOGIN = env_bool("LOCAL_LOGIN", True)
if not LOCAL_LOGIN and not OIDC_RP_CLIENT_ID:
    raise ImproperlyConfigured("LOCAL_LOGIN=off needs single sign-on: set OIDC_CLIENT_ID too.")
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_USE_PKCE = True
OIDC_TIMEOUT = (3.05, 10)
# Kept in the session for the provider's logout (its id_token_hint).
OIDC_STORE_ID_TOKEN = True
OIDC_AUTHENTICATE_CLASS = "conversations.sso.SSOAuthenticateView"
OIDC_CALLBACK_CLASS = "conversations.sso.SSOCallbackView"
OIDC_OP_LOGOUT_URL_METHOD = "conversations.sso.logout_url"
# A sign-in the provider refused is not a password guess: it neither counts towards nor is
# stopped by a lockout (the provider throttles its own logins).
AXES_WHITELIST_CALLABLE = "conversations.sso.is_sso_callback"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
    "loggers": {
        # Request headers never reach a log line: urllib3's debug output is kept quiet.
        "urllib3": {"level": "WARNING"},
        # django-axes logs every successful login at INFO; lockouts are WARNING.
        "axes": {"level": "WARNING"},
        # The worker: its start and its warnings, not a line for each task it runs (several
        # a second). A handler of its own, so that run_huey does not add another.
        "huey": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "huey.consumer": {"level": "INFO"},
        "huey.consumer.Scheduler": {"level": "WARNING"},
    },
}
