"""The only settings module. No HUB_* variable set: the embedded profile; set them: production."""

from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from hub.env import env_bool, env_float, env_int, env_size, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DATA_DIR = Path(env_str("HUB_DATA_DIR", str(BASE_DIR / "data"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """HUB_SECRET_KEY, or a key generated once and kept in the data folder (embedded profile)."""
    configured = env_str("HUB_SECRET_KEY")
    if configured:
        return configured
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.touch(mode=0o600)
        key_file.write_text(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("HUB_DEBUG", False)
PUBLIC_URL = env_str("HUB_PUBLIC_URL", "").rstrip("/")
ALLOWED_HOSTS = [h.strip() for h in env_str("HUB_ALLOWED_HOSTS", "*").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [PUBLIC_URL] if PUBLIC_URL else []

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "orgs",
    "sso",
    "repos",
    "search",
    "datasets_svc",
    "webhooks",
    "hub",
]

MIDDLEWARE = [
    "hub.middleware.RequestIdMiddleware",
    "orgs.audit.AuditContextMiddleware",  # client address and agent for the audit log
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "orgs.middleware.TokenAuthMiddleware",
    "sso.policy.SSOMiddleware",  # SSO-required orgs: the session's sign-ins, clear refusals
    "repos.redirects.RenamedRepoRedirectMiddleware",  # old names of moved repos: 307
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "hub.middleware.SecurityHeadersMiddleware",
]

ROOT_URLCONF = "hub.urls"
APPEND_SLASH = False
WSGI_APPLICATION = "hub.wsgi.application"

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
                "hub.context.site",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
DATABASE_URL = env_str("HUB_DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "hub.sqlite3",
            # Keep each thread's connection across requests, as production does: opening one
            # (file, WAL and PRAGMA set-up) cost more than the queries of a /resolve request.
            "CONN_MAX_AGE": 60,
            "OPTIONS": {
                # WAL lets the web server, the worker and the CLI share one file.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "orgs.User"
LOGIN_URL = "/login"
LOGIN_REDIRECT_URL = "/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "hub" / "static"]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = False

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SERVED_OVER_HTTPS = PUBLIC_URL.startswith("https://")
SESSION_COOKIE_SECURE = SERVED_OVER_HTTPS
CSRF_COOKIE_SECURE = SERVED_OVER_HTTPS
# Behind TLS (the proxy sends X-Forwarded-Proto; gunicorn trusts it from
# HUB_FORWARDED_ALLOW_IPS): plain-HTTP requests redirect, and browsers are told to stay on HTTPS.
SECURE_SSL_REDIRECT = env_bool("HUB_SSL_REDIRECT", SERVED_OVER_HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^api/health$"]  # container and load-balancer probes speak HTTP
SECURE_HSTS_SECONDS = env_int("HUB_HSTS_SECONDS", 31_536_000 if SERVED_OVER_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HUB_HSTS_INCLUDE_SUBDOMAINS", SERVED_OVER_HTTPS)
SECURE_HSTS_PRELOAD = env_bool("HUB_HSTS_PRELOAD", False)
# Asking browsers to preload the domain is the operator's choice (HUB_HSTS_PRELOAD), not a fault.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("HUB_MAX_API_BODY_BYTES", 10 * 1024 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "orgs.auth.TokenAuthentication",
        "orgs.auth.HubSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "hub.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {"TITLE": "Hubforge API", "VERSION": "0.1.0"}

# --- background work ------------------------------------------------------------------------
REDIS_URL = env_str("HUB_REDIS_URL")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Above the longest task, so Redis does not redeliver a running task (SECURITY.md 8).
        "visibility_timeout": env_int("HUB_CELERY_VISIBILITY_TIMEOUT", 3 * 3600),
    }
else:
    # Persisted local broker: a SQLite file beside the database; survives restarts.
    CELERY_BROKER_URL = f"hubsqla+sqlite:///{DATA_DIR / 'broker.sqlite3'}"
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
CELERY_TASK_ALWAYS_EAGER = env_bool("HUB_TASKS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    # Re-enqueues lost outbox events and reconciles git pushes left pending (repos/pushes.py).
    "sweep-event-outbox": {
        "task": "repos.tasks.sweep_events",
        "schedule": env_float("HUB_EVENT_SWEEP_SECONDS", 60.0, minimum=0.1),
    },
    "sweep-git-locks": {"task": "repos.tasks.sweep_stale_locks", "schedule": 300.0},
    # Webhook retries live in the database (next_attempt_at), not in Celery countdowns
    # (SECURITY.md 8); this sweep enqueues due deliveries and frees expired leases.
    "sweep-webhook-deliveries": {
        "task": "webhooks.tasks.sweep_deliveries",
        "schedule": env_float("HUB_WEBHOOK_SWEEP_SECONDS", 10.0, minimum=0.1),
    },
    # Trending decays with time and downloads publish no event: recompute the sort keys.
    "search-refresh-stats": {"task": "search.tasks.refresh_stats", "schedule": 600.0},
    # Storage usage: pushes refresh their repo's figure; this re-measures missing or old ones.
    "refresh-storage-usage": {"task": "repos.tasks.sweep_storage_usage", "schedule": 900.0},
}

# --- search, storage ------------------------------------------------------------------------
ELASTICSEARCH_URL = env_str("HUB_ELASTICSEARCH_URL")
GIT_ROOT = DATA_DIR / "git"
LFS_ROOT = DATA_DIR / "lfs"
S3_ENDPOINT = env_str("HUB_S3_ENDPOINT")
S3_BUCKET = env_str("HUB_S3_BUCKET")
S3_ACCESS_KEY = env_str("HUB_S3_ACCESS_KEY")
S3_SECRET_KEY = env_str("HUB_S3_SECRET_KEY")
S3_REGION = env_str("HUB_S3_REGION", "us-east-1")

# --- hub policy -----------------------------------------------------------------------------
MAX_GIT_BLOB_BYTES = env_int("HUB_MAX_GIT_BLOB_BYTES", 10 * 1024 * 1024)
MAX_PUSH_BYTES = env_int("HUB_MAX_PUSH_BYTES", 5 * 1024 * 1024 * 1024)
LFS_HREF_TTL_SECONDS = env_int("HUB_LFS_HREF_TTL_SECONDS", 3600)
GIT_STALE_LOCK_SECONDS = env_int("HUB_GIT_STALE_LOCK_SECONDS", 600)
# A push whose request has not recorded it this long after its pre-receive check is
# reconciled with the refs on disk by the event sweep; keep it above the time receive-pack
# takes from that check to its ref updates (repos/pushes.py).
PUSH_RECONCILE_GRACE_SECONDS = env_float("HUB_PUSH_RECONCILE_GRACE_SECONDS", 120.0, minimum=0.0)
# Test-only: the request never records its push, so the sweep must (tests/e2e/test_push_events.py).
TEST_FAIL_PUSH_RECORD = env_bool("HUB_TEST_FAIL_PUSH_RECORD", False)
ALLOW_SIGNUP = env_bool("HUB_ALLOW_SIGNUP", True)
# Storage quotas per namespace (git + LFS), 0 = unlimited; site admins override per namespace.
QUOTA_USER_BYTES = env_size("HUB_QUOTA_USER_BYTES", 0)
QUOTA_ORG_BYTES = env_size("HUB_QUOTA_ORG_BYTES", 0)
WEBHOOK_RETRY_BASE_SECONDS = env_float("HUB_WEBHOOK_RETRY_BASE_SECONDS", 30.0, minimum=0.0)
# --- write side (commit API, LFS multipart) ---
COMMIT_MAX_BODY_BYTES = env_int("HUB_COMMIT_MAX_BODY_BYTES", 1024**3)  # NDJSON body: 413 above
MAX_TREE_ENTRIES = env_int("HUB_MAX_TREE_ENTRIES", 10_000)  # files in one folder (commit API)
# LFS uploads above the threshold get multipart actions when the client asks for them.
LFS_MULTIPART_THRESHOLD = env_int("HUB_LFS_MULTIPART_THRESHOLD", 512 * 1024**2)
LFS_MULTIPART_CHUNK_SIZE = env_int("HUB_LFS_MULTIPART_CHUNK_SIZE", 64 * 1024**2)
# --- single sign-on (sso/) -----------------------------------------------------------------
# Identity providers on loopback or private addresses (and plain http): an on-premises IdP.
SSO_ALLOW_LOCAL = env_bool("HUB_SSO_ALLOW_LOCAL", False)
# --- webhooks (webhooks/) -------------------------------------------------------------------
# Loopback and private targets for on-premises receivers; link-local/metadata stay refused.
WEBHOOK_ALLOW_LOCAL = env_bool("HUB_WEBHOOK_ALLOW_LOCAL", False)
# 13 attempts with doubling delays from 30 s: retries spread over about a day.
WEBHOOK_MAX_ATTEMPTS = env_int("HUB_WEBHOOK_MAX_ATTEMPTS", 13, minimum=1)
# 0 turns auto-disabling off (a 410 Gone still disables).
WEBHOOK_DISABLE_AFTER_FAILED_EVENTS = env_int(
    "HUB_WEBHOOK_DISABLE_AFTER_FAILED_EVENTS", 20, minimum=0
)
WEBHOOK_CONNECT_TIMEOUT_SECONDS = env_float("HUB_WEBHOOK_CONNECT_TIMEOUT_SECONDS", 5.0, minimum=0.1)
WEBHOOK_READ_TIMEOUT_SECONDS = env_float("HUB_WEBHOOK_READ_TIMEOUT_SECONDS", 10.0, minimum=0.1)
WEBHOOK_TOTAL_TIMEOUT_SECONDS = env_float("HUB_WEBHOOK_TOTAL_TIMEOUT_SECONDS", 30.0, minimum=0.1)
# A claimed delivery whose worker died returns to pending after this; keep it above the
# total timeout so a slow but live attempt is not sent twice.
WEBHOOK_LEASE_SECONDS = env_float("HUB_WEBHOOK_LEASE_SECONDS", 120.0, minimum=1.0)
# Worker tuning (webhooks/dispatch.py): a drain task sends with this many threads, so as
# many requests are in flight per drain (times the worker's processes per worker);
WEBHOOK_SEND_THREADS = env_int("HUB_WEBHOOK_SEND_THREADS", 8, minimum=1)
# fan-out and the sweep queue one drain task per this many deliveries;
WEBHOOK_DRAIN_BATCH = env_int("HUB_WEBHOOK_DRAIN_BATCH", 100, minimum=1)
# a drain stops claiming after this long and queues its continuation;
WEBHOOK_DRAIN_SECONDS = env_float("HUB_WEBHOOK_DRAIN_SECONDS", 10.0, minimum=0.1)
# one sweep re-queues at most this many deliveries (and fan-outs);
WEBHOOK_SWEEP_BATCH = env_int("HUB_WEBHOOK_SWEEP_BATCH", 1000, minimum=1)
# retries due within this go on the queue with a countdown, later ones wait in the table
# for the sweep; it must stay below the Redis visibility timeout (SECURITY.md 8).
WEBHOOK_COUNTDOWN_LIMIT_SECONDS = env_float(
    "HUB_WEBHOOK_COUNTDOWN_LIMIT_SECONDS", 300.0, minimum=0.0
)
_visibility_timeout = CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 3600)
if REDIS_URL and _visibility_timeout <= WEBHOOK_COUNTDOWN_LIMIT_SECONDS:
    raise ImproperlyConfigured(
        "HUB_WEBHOOK_COUNTDOWN_LIMIT_SECONDS must stay below HUB_CELERY_VISIBILITY_TIMEOUT "
        "(Redis would hand a waiting retry to a second worker)."
    )
API_PAGE_SIZE = env_int("HUB_API_PAGE_SIZE", 1000)  # list endpoints (Link pagination); max 1000

# Trusted proxies (as gunicorn's --forwarded-allow-ips): X-Forwarded-For is believed only
# from these peers when the audit log records a client address; "*" trusts any peer.
FORWARDED_ALLOW_IPS = [
    a.strip() for a in env_str("HUB_FORWARDED_ALLOW_IPS", "127.0.0.1").split(",") if a.strip()
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Tokens never reach a log line, whatever logs them (SECURITY.md 24).
    "filters": {"mask_tokens": {"()": "common.redact.MaskTokensFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["mask_tokens"]},
    },
    "root": {"handlers": ["console"], "level": env_str("HUB_LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}
