"""RiskOps settings: everything that differs between machines comes from the environment.

With nothing set, RiskOps runs on a SQLite file with Celery tasks executed eagerly in-process, so a
fresh machine needs no servers. `DATABASE_URL=postgres://...` and `CELERY_BROKER_URL=redis://...`
switch to the real services.
"""

import ipaddress
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
import plotly
import drf_spectacular_sidecar
from celery.schedules import crontab
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from riskops.core.structured_logs import configure_structlog, logging_config

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def debug_switch() -> bool:
    """The profile: production unless `DEBUG=true` asks for development (the Makefile, the tests).

    One spelling only, so a deploy that means "off" cannot end up in debug by writing it another
    way: `true` or `false` (unset or empty is `false`); anything else, or the `DJANGO_DEBUG` that
    other projects read, stops the start-up with a message instead of being guessed at."""
    if "DJANGO_DEBUG" in os.environ:
        raise ImproperlyConfigured("DJANGO_DEBUG is not read: set DEBUG=true (development) or DEBUG=false (production, the default)")
    raw = os.environ.get("DEBUG", "")
    if raw not in {"", "true", "false"}:
        raise ImproperlyConfigured(f"DEBUG must be true (development) or false (production, the default), not {raw!r}")
    return raw == "true"


DEBUG = debug_switch()
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (the production profile, the default); DEBUG=true asks for development"
        )
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if not DEBUG else "*")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # WhiteNoise serves static files under runserver too, the same way as in production.
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # django-axes, named in the viewer's language in the admin (riskops/core/axes_app.py).
    "riskops.core.axes_app.AxesConfig",
    "csp",
    # Structured logs: request ids into the logs and the Celery tasks (riskops/core/structured_logs.py).
    "django_structlog",
    "django_htmx",
    # Prometheus: request, latency and database metrics (riskops/monitoring serves /metrics).
    "django_prometheus",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "riskops.core",
    "accounts",
    "decisions",
    "compliance",
    "api",
    "draws",
    "webhooks",
    # The synthetic book (demo, benchmarks): generative model, daily replay, ground truth.
    "synthetic",
    # Credit model work: matured outcomes now; development samples, scorecard fitting, monitoring later.
    "modelling",
]

MIDDLEWARE = [
    # Outermost: django-prometheus times the whole request, every other middleware included; it
    # writes no response of its own, so the request id below still marks every one.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # First: every response, a redirect included, carries the request id (riskops/core/request_ids.py).
    "riskops.core.request_ids.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Every response after this line (all but static files) says no-store (riskops/core/no_store.py).
    "riskops.core.no_store.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions, before common: the language follows the user's choice (cookie), then the browser.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication, so each request's log lines carry the user id (never a name).
    "riskops.core.request_ids.RequestLogMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Staff sessions: an idle timeout and an absolute lifetime (riskops/core/session_expiry.py).
    "riskops.core.session_expiry.SessionExpiryMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Counts responses by view, method and status: outside axes, so a lockout page counts as sent.
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, as django-axes asks: it turns a refused login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "riskops.urls"
WSGI_APPLICATION = "riskops.wsgi.application"

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
                "riskops.core.context_processors.roles",
                "riskops.core.context_processors.profile",
                "decisions.governance.context_processors.pending_approvals",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
# The SQLite demo used by a few people at once (an export reading while another request writes)
# answered 500 "database is locked". WAL lets readers go on while one writer writes.
# synchronous=NORMAL: in WAL mode a commit no longer waits for an fsync (a power cut may lose the
# last commits, never corrupt the file): the SQLite demo and tests, not a production store.
# IMMEDIATE takes the write lock at BEGIN: a transaction that read first and wrote later would
# otherwise ask for it mid-way and fail at once with SQLITE_BUSY (the busy timeout cannot help a
# reader that must upgrade); with it, a second writer waits at BEGIN for up to `timeout` seconds.
RISKOPS_SQLITE_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = dict(RISKOPS_SQLITE_OPTIONS)
elif DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # An unreachable server (a dropped route, a firewall) would otherwise hold a connect, and so a
    # request, a worker or a /readyz probe, for as long as TCP keeps trying.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", int(os.environ.get("RISKOPS_DB_CONNECT_TIMEOUT", "5")))

# django-prometheus's wrappers of the same backends count queries, errors and their time per
# connection (`django_db_*` on /metrics). `endswith("postgresql")` / `"sqlite3"` still hold.
# Hot reads through riskops/core/prepared.py use their own cursor and are not counted.
# RISKOPS_DB_METRICS=false keeps Django's own backends.
RISKOPS_DB_METRICS = env_bool("RISKOPS_DB_METRICS", True)
_PROMETHEUS_BACKENDS = {
    "django.db.backends.postgresql": "django_prometheus.db.backends.postgresql",
    "django.db.backends.sqlite3": "django_prometheus.db.backends.sqlite3",
}
if RISKOPS_DB_METRICS and DATABASES["default"]["ENGINE"] in _PROMETHEUS_BACKENDS:
    DATABASES["default"]["ENGINE"] = _PROMETHEUS_BACKENDS[DATABASES["default"]["ENGINE"]]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Login throttling (django-axes) first: a locked-out username+address is refused before any
# password check.
AUTHENTICATION_BACKENDS = [
    "riskops.core.login_throttle.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
# Two locks, in this order (riskops/core/login_throttle.py reads them so): per username *and*
# address after AXES_FAILURE_LIMIT failures, a guesser stopped without letting anyone lock a
# colleague out from elsewhere; and per username from any address after the longer
# RISKOPS_LOGIN_ACCOUNT_FAILURE_LIMIT, a guesser spread over many addresses. The address is
# REMOTE_ADDR (behind a proxy, have it set the client's).
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "username"]
RISKOPS_LOGIN_ACCOUNT_FAILURE_LIMIT = int(os.environ.get("RISKOPS_LOGIN_ACCOUNT_FAILURE_LIMIT", "20"))
AXES_HANDLER = "riskops.core.login_throttle.LoginThrottleHandler"
AXES_RESET_ON_SUCCESS = True
# Audits the lockout (once per account and cool-off) and renders the friendly lockout page
# (templates/registration/locked_out.html).
AXES_LOCKOUT_CALLABLE = "riskops.core.login_throttle.lockout_response"
AXES_VERBOSE = False  # no banner on every manage.py command

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
# The .po files are in git; `make install` (and CI) compile them into .mo files with gettext.
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Dates, times and digit grouping written one way in both languages (riskops/formats/: `YYYY-MM-DD
# HH:MM`, comma thousands); the pages use riskops/core/formats.py, which writes the same.
FORMAT_MODULE_PATH = ["riskops.formats"]
# Not USE_THOUSAND_SEPARATOR: it would also group every id a template prints into an attribute or
# a form value (`value="1,234"`). Counts and money are grouped where they are shown instead.
USE_THOUSAND_SEPARATOR = False

STATIC_URL = "static/"
# Plotly's JS comes from the installed plotly package (same version as the Python side), never a CDN.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("plotly", Path(plotly.__file__).resolve().parent / "package_data"),
    # Swagger UI for /api/docs/, from drf-spectacular-sidecar: only its swagger-ui-dist folder
    # (the app would also bring Redoc's 5 MB, which collectstatic would hash and compress for nothing).
    ("drf_spectacular_sidecar/swagger-ui-dist", Path(drf_spectacular_sidecar.__file__).resolve().parent / "static" / "drf_spectacular_sidecar" / "swagger-ui-dist"),
]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # With DEBUG off WhiteNoise serves collectstatic's compressed, content-hashed copies (cached
    # forever). With DEBUG on (and in tests) plain files, so nothing needs collectstatic first.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Content-Security-Policy (django-csp): scripts only from our own origin, so no inline script or
# event handler runs; page JS lives in static/js and charts are data read by static/js/charts.js.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        # Plotly.js adds <style> rules and style attributes at run time (mode bar, hover labels).
        # Checked in Chromium: under style-src 'self' it logs "Cannot addRelatedStyleRule,
        # probably due to strict CSP" and its mode bar loses its styles (plotly.js issues #2355,
        # #7543). So styles, and only styles, allow inline; an inline style cannot run code.
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# Flash messages live in the server-side session, not in a cookie: the default storage puts the
# text in a signed (readable) cookie first. (A new API token is in no message at all: api/admin.py.)
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# Staff sessions end after RISKOPS_SESSION_IDLE_SECONDS without a request and, at the latest,
# RISKOPS_SESSION_LIFETIME_SECONDS after the login (riskops/core/session_expiry.py), and so do
# the cookie and the session row (Django's default is two weeks).
RISKOPS_SESSION_IDLE_SECONDS = int(os.environ.get("RISKOPS_SESSION_IDLE_SECONDS", str(30 * 60)))
RISKOPS_SESSION_LIFETIME_SECONDS = int(os.environ.get("RISKOPS_SESSION_LIFETIME_SECONDS", str(12 * 3600)))
SESSION_COOKIE_AGE = RISKOPS_SESSION_LIFETIME_SECONDS

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "decisions:overview"
LOGOUT_REDIRECT_URL = "login"

REST_FRAMEWORK = {
    # Service clients: hashed, scoped bearer tokens (api/authentication.py); staff: the session,
    # for reads only (api/permissions.py). Every view declares `required_scopes`.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.ClientRateThrottle"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.IdCursorPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "riskops.core.api.exception_handler",
}

# The service API's OpenAPI schema (/api/schema/) and Swagger UI (/api/docs/). The UI's assets
# come from drf-spectacular-sidecar via staticfiles and its start-up script is a separate file
# (SpectacularSwaggerSplitView), so the page runs under the CSP above with no inline script.
SPECTACULAR_SETTINGS = {
    "TITLE": "RiskOps service API",
    "DESCRIPTION": "Event ingestion, consents, decisions, alerts and draw checks. See the README's Service API section.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ConsentChannelEnum": "accounts.models.ConsentChannel",
        "ApplicationChannelEnum": "accounts.models.CreditApplicationChannel",
    },
}
# Idempotency-Key records are kept this long (api/idempotency.py), then purged hourly.
API_IDEMPOTENCY_TTL = int(os.environ.get("API_IDEMPOTENCY_TTL", str(24 * 3600)))
# Largest API request body (a 413 beyond it); a batch of 1,000 events is about 250 KB.
API_MAX_BODY_BYTES = int(os.environ.get("API_MAX_BODY_BYTES", str(2_621_440)))
# Rate for staff sessions reading through the API (service clients have their own, per client).
API_STAFF_THROTTLE_RATE = os.environ.get("API_STAFF_THROTTLE_RATE", "300/min")
# The OpenAPI schema and Swagger UI need a staff login or an API token (api/schema_views.py);
# true serves them to anyone.
API_SCHEMA_PUBLIC = env_bool("API_SCHEMA_PUBLIC", False)

# Django's cache holds the API's per-client throttle counters: locmem (one process) unless
# Hot reads (the draw check, the API token lookup) as server-side prepared statements on
# PostgreSQL (riskops/core/prepared.py); false behind a pooler that cannot keep them.
RISKOPS_PREPARED_STATEMENTS = env_bool("RISKOPS_PREPARED_STATEMENTS", True)
# The draw check's record is committed without waiting for its WAL flush (draws/services.py,
# "Durability of the record"); true waits, as every other write does.
RISKOPS_DRAW_CHECK_ASYNC_COMMIT = not env_bool("RISKOPS_DRAW_CHECK_SYNC_COMMIT", False)

# CACHE_URL names a Redis database, which every gunicorn worker then shares.
CACHE_URL = os.environ.get("CACHE_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL, "KEY_PREFIX": "riskops"}
        if CACHE_URL.startswith(("redis://", "rediss://"))
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Celery: without a broker the tasks run in-process, so the demo and the unit tests need no Redis.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", CELERY_BROKER_URL or None)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
# Three queues by priority (docs/operations.md, "Queues and workers"): `high` (event recomputes,
# draw-check side work, webhook deliveries), `bulk` (a run's chunks, simulations, nightly jobs),
# `sweeps` (beat's periodic sweeps). riskops/queues.py routes each task to its lane; a lane's queue
# is named after CELERY_QUEUE, the namespace (default none: `high`, `bulk`, `sweeps`), so tests
# and benchmarks give their workers queues of their own (`q-1234.high`, ...). The default queue
# takes a task no route names.
CELERY_QUEUE_NAMESPACE = os.environ.get("CELERY_QUEUE", "")
CELERY_TASK_DEFAULT_QUEUE = f"{CELERY_QUEUE_NAMESPACE}.bulk" if CELERY_QUEUE_NAMESPACE else "bulk"
CELERY_TASK_ROUTES = ("riskops.queues.route_task",)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis hands an unacknowledged (acks_late) message to another worker only after this many
# seconds; the default, an hour, is how long a killed worker's chunks used to sit. The longest
# task is one chunk: 2,000 customers take a few seconds, the largest allowed chunk (50,000) about
# a minute, and retry countdowns are capped at 120 s (an ETA beyond the timeout would loop).
# Ten minutes is far above all of those, so a slow task is not redelivered while it still runs
# (and if it were, the chunk's row lock and `done` check make the copy a no-op). The recovery
# sweep below re-dispatches stalled work sooner than this anyway. The result backend has no
# visibility timeout (results are plain keys), so it needs no counterpart.
# `queue_order_strategy: priority`: a worker consuming `-Q high,sweeps,bulk` always takes from the
# first non-empty queue in that order (Redis BRPOP over the keys in order); the default,
# round-robin, would rotate the order and let a chunk go before a waiting event.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 600, "queue_order_strategy": "priority"}
# Nothing is lost (decisions/engine/services/recovery.py): a change mark older than the grace period
# means its recompute message never arrived; a chunk `pending` and unclaimed that long, in a
# run that stopped moving, lost its message; a chunk `running` with a claim older than the
# stale threshold lost its worker. The stale threshold is kept below the visibility timeout, so
# a message Redis redelivers finds the dead worker's claim already stale and takes the chunk over.
RISKOPS_MARK_GRACE_SECONDS = int(os.environ.get("RISKOPS_MARK_GRACE_SECONDS", "120"))
RISKOPS_CHUNK_STALE_SECONDS = int(os.environ.get("RISKOPS_CHUNK_STALE_SECONDS", "300"))
# A recompute chunk's claim is a lease of this many seconds, renewed by the worker's heartbeat every
# third of it while the chunk is worked on: a worker killed mid-chunk leaves a lease that lapses
# within this time, and the next sweep (every RISKOPS_SWEEP_SECONDS) sends the chunk again.
RISKOPS_CHUNK_LEASE_SECONDS = int(os.environ.get("RISKOPS_CHUNK_LEASE_SECONDS", "30"))
RISKOPS_SWEEP_SECONDS = float(os.environ.get("RISKOPS_SWEEP_SECONDS", "15"))
# Draw checks (draws/services.py): the book's currency; a check in any other is refused.
RISKOPS_CURRENCY = os.environ.get("RISKOPS_CURRENCY", "CNY")
# Webhooks (webhooks/services): never to loopback, private, link-local or reserved addresses
# unless this is on (tests and benchmarks with a local receiver).
RISKOPS_WEBHOOK_ALLOW_PRIVATE = env_bool("RISKOPS_WEBHOOK_ALLOW_PRIVATE", False)
CELERY_BEAT_SCHEDULE = {
    "nightly-full-recompute": {
        "task": "decisions.tasks.recompute_all",
        "schedule": crontab(hour=2, minute=0),
        "kwargs": {"trigger": "nightly"},
    },
    "hourly-expiry": {
        "task": "decisions.tasks.expire_overrides_and_suspensions",
        "schedule": crontab(minute=5),
    },
    # The overview's daily aggregates (also refreshed at the end of every recompute run).
    "hourly-book-stats": {
        "task": "decisions.tasks.refresh_book_stats",
        "schedule": crontab(minute=20),
    },
    # Walk the audit hash chain (compliance.services.verification); its result shows on /compliance/audit/.
    "nightly-audit-verification": {
        "task": "compliance.tasks.nightly_audit_verification",
        "schedule": crontab(hour=3, minute=30),
    },
    # Every 15 s (RISKOPS_SWEEP_SECONDS): a chunk whose lease lapsed is sent again within a sweep of
    # the lapse. A sweep not started before the next is due is dropped; the next one does its work.
    "recovery-sweep": {
        "task": "decisions.tasks.recovery_sweep",
        "schedule": RISKOPS_SWEEP_SECONDS,
        "options": {"expires": max(RISKOPS_SWEEP_SECONDS - 2, 1)},
    },
    # Webhook deliveries due for a retry, or whose dispatch message was lost.
    "webhook-sweep": {
        "task": "webhooks.tasks.webhook_sweep",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Idempotency-Key records past API_IDEMPOTENCY_TTL.
    "hourly-idempotency-purge": {
        "task": "api.tasks.idempotency_purge",
        "schedule": crontab(minute=40),
    },
    # Credit outcomes as of today (modelling.services.outcomes), after the night's recompute and audit walk.
    "nightly-outcomes": {
        "task": "modelling.tasks.materialise_outcomes",
        "schedule": crontab(hour=4, minute=15),
    },
    # Model monitoring (docs/model-monitoring.md): after the night's snapshots and outcomes.
    "nightly-model-monitor": {
        "task": "modelling.tasks.monitor_model",
        "schedule": crontab(hour=4, minute=30),
    },
    # On-call notices (riskops/core/oncall.py): open, resolve and notify incidents.
    "oncall-check": {"task": "riskops.core.tasks.oncall_check", "schedule": float(os.environ.get("RISKOPS_ONCALL_CHECK_SECONDS", "300"))},
}

# /healthz and /readyz (riskops/core/health.py, docs/operations.md "Health and readiness"): their
# details (each check, what failed) go only to `Authorization: Bearer <RISKOPS_MONITORING_TOKEN>`
# or to a client address inside RISKOPS_MONITORING_NETWORKS (CIDRs; loopback in development,
# none in production: behind a proxy on the same host every request comes from loopback).
RISKOPS_MONITORING_TOKEN = os.environ.get("RISKOPS_MONITORING_TOKEN", "")
RISKOPS_MONITORING_NETWORKS = env_list("RISKOPS_MONITORING_NETWORKS", "127.0.0.1/32,::1/128" if DEBUG else "")
for _cidr in RISKOPS_MONITORING_NETWORKS:
    try:
        ipaddress.ip_network(_cidr, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"RISKOPS_MONITORING_NETWORKS: {_cidr!r} is not a network like 10.0.0.0/8")
# Each check is bounded: a probe must answer within its own timeout (typically 5 s).
RISKOPS_READYZ_BROKER_TIMEOUT = float(os.environ.get("RISKOPS_READYZ_BROKER_TIMEOUT", "2"))
RISKOPS_READYZ_WORKER_TIMEOUT = float(os.environ.get("RISKOPS_READYZ_WORKER_TIMEOUT", "1"))
RISKOPS_READYZ_NIGHTLY_MAX_AGE_HOURS = float(os.environ.get("RISKOPS_READYZ_NIGHTLY_MAX_AGE_HOURS", "26"))
# /metrics (riskops/monitoring, docs/operations.md "Metrics") answers the same token and networks.
# A Celery worker serves its task metrics on this port (unset or 0: none; riskops/core/task_metrics.py).
RISKOPS_WORKER_METRICS_PORT = int(os.environ.get("RISKOPS_WORKER_METRICS_PORT", "0") or 0)
RISKOPS_WORKER_METRICS_ADDR = os.environ.get("RISKOPS_WORKER_METRICS_ADDR", "127.0.0.1")

# Email (Django's mail): the console in development and the demo (notices print on the worker's
# stderr); SMTP in production, configured by Django's own EMAIL_* variables.
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10  # a mail server that does not answer must not hold the check
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "riskops@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# On-call notices (riskops/core/oncall.py, docs/operations.md "On-call notices"): one notice per
# incident (a nightly run failed or stalled, the audit chain broken, too many alerts past SLA, a
# webhook endpoint disabled, model drift at the alert level) by email and, optionally, a chat webhook.
# In development and the demo a made-up address, so the console backend shows each notice.
RISKOPS_ONCALL_EMAILS = env_list("RISKOPS_ONCALL_EMAILS", "oncall@localhost" if DEBUG else "")
for _address in RISKOPS_ONCALL_EMAILS:
    if "@" not in _address:
        raise ImproperlyConfigured(f"RISKOPS_ONCALL_EMAILS: {_address!r} is not an email address")
# A Slack/Mattermost-style incoming webhook: a JSON POST {"text": ...}; empty: no chat notice.
RISKOPS_ONCALL_WEBHOOK_URL = os.environ.get("RISKOPS_ONCALL_WEBHOOK_URL", "")
if RISKOPS_ONCALL_WEBHOOK_URL and not RISKOPS_ONCALL_WEBHOOK_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured("RISKOPS_ONCALL_WEBHOOK_URL must be an http:// or https:// URL")
RISKOPS_ONCALL_WEBHOOK_TIMEOUT = float(os.environ.get("RISKOPS_ONCALL_WEBHOOK_TIMEOUT", "5"))
# A nightly run with no chunk claimed or finished for this long has stalled.
RISKOPS_ONCALL_RUN_STALL_MINUTES = int(os.environ.get("RISKOPS_ONCALL_RUN_STALL_MINUTES", "30"))
# More open alerts past their SLA than this is an incident (0: any alert past its SLA).
RISKOPS_ONCALL_SLA_BREACH_THRESHOLD = int(os.environ.get("RISKOPS_ONCALL_SLA_BREACH_THRESHOLD", "50"))
RISKOPS_ONCALL_NOTIFY_RESOLVED = env_bool("RISKOPS_ONCALL_NOTIFY_RESOLVED", True)
# The address of this installation, for a link to the incidents in the notice (optional).
RISKOPS_ONCALL_SITE_URL = os.environ.get("RISKOPS_ONCALL_SITE_URL", "")

# Logs (riskops/core/structured_logs.py, docs/operations.md "Logs"): one JSON object a line on
# stderr in production; readable coloured lines in development. RISKOPS_LOG_FORMAT picks either.
RISKOPS_LOG_FORMAT = os.environ.get("RISKOPS_LOG_FORMAT", "console" if DEBUG else "json")
if RISKOPS_LOG_FORMAT not in {"json", "console"}:
    raise ImproperlyConfigured(f"RISKOPS_LOG_FORMAT must be json or console, not {RISKOPS_LOG_FORMAT!r}")
LOGGING = logging_config(json_lines=RISKOPS_LOG_FORMAT == "json", level=os.environ.get("LOG_LEVEL", "INFO"))
configure_structlog()
# The request id (X-Request-ID, or one made up) travels in each task message's headers.
DJANGO_STRUCTLOG_CELERY_ENABLED = True
DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = True  # riskops/core/request_ids.py checks its form first
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False  # a client's address is personal data
# The worker keeps the handler above instead of installing its own plain-text one.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Production hardening: on whenever DEBUG is off, so `check --deploy` passes with no warnings.
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Probes speak plain HTTP to the app's own port: a 301 to https would fail them.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
