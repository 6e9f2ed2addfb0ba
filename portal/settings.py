"""One settings module; everything that differs between a laptop and production comes from the
environment (DESIGN.md decision 10). With nothing set, the portal runs on embedded defaults:
SQLite and Celery's filesystem broker under var/, email to the console."""

import ipaddress
import json
import os
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("PORTAL_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)
_DEV_SECRET = "insecure-development-key-do-not-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG=0")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_NAME = env.str("SITE_NAME", default="Incident Response Portal")
# The portal's public base URL, for links in e-mails.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
    "csp",
    "portal",
    "incidents",
    "runbooks",
    "postmortems",
]

MIDDLEWARE = [
    "portal.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # The public status page, feeds and API, from the snapshot: before sessions and CSRF, so
    # no public response carries a cookie, and before the database (incidents/statuspage).
    "incidents.statuspage.serve.PublicStatusMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "portal.middleware.TimezoneMiddleware",
    # Axes must come last so that it sees the outcome of authentication.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "portal.context_processors.site",
                "portal.context_processors.notifications",
                "portal.context_processors.platform",
            ],
        },
    }
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The test database is a file, not memory, so that a real Celery worker process in the
    # integration tests sees the same rows as the test.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
    # Take the write lock when a transaction starts, so concurrent writers queue up instead of
    # failing with "database is locked" when a read transaction tries to upgrade.
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    DATABASES["default"]["OPTIONS"].setdefault(
        "init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    _pg = DATABASES["default"].setdefault("OPTIONS", {})
    # A database that does not answer costs seconds, not a worker killed at 30 s.
    _pg.setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=3))
    # Web requests only (gunicorn's wsgi.py sets PORTAL_PROCESS=web): migrations, the sweep
    # and the workers may legitimately run longer statements.
    if os.environ.get("PORTAL_PROCESS") == "web":
        _timeout_ms = env.int("DATABASE_STATEMENT_TIMEOUT_MS", default=5000)
        _pg["options"] = f"{_pg.get('options', '')} -c statement_timeout={_timeout_ms}".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")

# Redis answers in milliseconds; one that does not within these bounds counts as down, and
# the portal carries on without it (portal/resilience.py).
REDIS_CONNECT_TIMEOUT = env.float("REDIS_CONNECT_TIMEOUT", default=0.5)
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=1.0)

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "portal.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "portal",
            "OPTIONS": {
                "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
                "socket_timeout": REDIS_SOCKET_TIMEOUT,
                "retry_on_timeout": False,
            },
        }
    }
    # Sessions read from Redis, written through to the database: a live poll every 2 s costs
    # no session query, and with Redis down the database alone serves them.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Login throttling that cannot lock the on-call person out from everywhere: a lock-out applies
# to one username from one IP address only, and lifts by itself after the cool-off.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
PORTAL_PROXY_COUNT = env.int("AXES_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "portal.security.client_ip"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
# Files the portal writes (PDFs, uploaded images, the status-page snapshot) go through the
# "default" storage, so every web node reads the same files: the filesystem under var/ on one
# machine, an S3-compatible bucket (AWS S3, MinIO, Ceph, ...) when S3_BUCKET is set. Nothing
# serves MEDIA_URL: files are private and reach users only through views that check access.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "media/"
S3_BUCKET = env.str("S3_BUCKET", default="")
if S3_BUCKET:
    from botocore.config import Config as _BotoConfig

    _s3_endpoint = env.str("S3_ENDPOINT_URL", default="") or None
    _s3_options = {
        "bucket_name": S3_BUCKET,
        "endpoint_url": _s3_endpoint,
        "region_name": env.str("S3_REGION", default="") or None,
        "location": env.str("S3_PREFIX", default="").strip("/"),
        # Private objects; url() hands out signed links that expire (after an hour).
        "default_acl": None,
        "querystring_auth": True,
        # A second file with the same name gets a new name, as on the filesystem.
        "file_overwrite": False,
        # Bounded timeouts: a slow bucket must not hold a web worker (DESIGN.md decision 10).
        # With client_config set, django-storages takes signature version and addressing
        # style from it. Self-hosted endpoints usually need path-style addressing.
        "client_config": _BotoConfig(
            signature_version="s3v4",
            s3={
                "addressing_style": env.str(
                    "S3_ADDRESSING_STYLE", default="path" if _s3_endpoint else "auto"
                )
            },
            connect_timeout=5,
            read_timeout=20,
            retries={"max_attempts": 3, "mode": "standard"},
        ),
    }
    # Without keys boto3 uses its own chain (AWS_* variables, instance or pod role).
    if env.str("S3_ACCESS_KEY_ID", default=""):
        _s3_options["access_key"] = env.str("S3_ACCESS_KEY_ID")
        _s3_options["secret_key"] = env.str("S3_SECRET_ACCESS_KEY")
    _default_storage = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": _s3_options}
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="incidents@localhost")
# A hanging mail server must not hold a worker for long; the outbox retries.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Security headers. In production (DEBUG=0) cookies are secure, HTTPS is enforced with HSTS;
# /healthz stays reachable over plain HTTP for load balancers.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content Security Policy: no inline script or style anywhere; htmx is configured (meta
# htmx-config in base.html) not to inject its indicator <style> and not to eval.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Celery (portal/celery.py reads these through the CELERY_ namespace).
BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
        "socket_timeout": max(REDIS_SOCKET_TIMEOUT, 2.0),
    }
    CELERY_BROKER_CONNECTION_TIMEOUT = 2.0
else:
    for _sub in ("queue", "processed", "control"):
        (BROKER_DIR / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
# Issue 11: escalations need a sweep at least every 5 s; 1 s is the shortest allowed.
TIMER_SWEEP_SECONDS = min(max(env.float("TIMER_SWEEP_SECONDS", default=5.0), 1.0), 5.0)
# /healthz calls the sweep stale when the last one finished longer ago than this many sweep
# intervals, and beat sweeps by itself when no worker has (portal/beat.py).
SWEEP_STALE_AFTER = env.float("SWEEP_STALE_AFTER", default=3.0)
# Paging (issue 11). Acknowledgement links in pages expire after this many hours.
PAGE_ACK_LINK_HOURS = min(max(env.int("PAGE_ACK_LINK_HOURS", default=24), 1), 168)
# A page later than this (from its step's due time to its send) is flagged on the dashboard
# and as degraded in the health report.
PAGE_LATE_SECONDS = min(max(env.int("PAGE_LATE_SECONDS", default=60), 10), 3600)
# The organisation-wide #incident-response Slack webhook, for pages of teams that have none.
SLACK_WEBHOOK_URL = env.str("SLACK_WEBHOOK_URL", default="")
if SLACK_WEBHOOK_URL and not SLACK_WEBHOOK_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured("SLACK_WEBHOOK_URL must be an http(s) URL.")
# SMS and phone calls go through a generic HTTP provider: a URL, an Authorization header
# value and a JSON body template whose strings may hold {to}, {message}, {subject}, {url},
# {key} (the idempotency key) and {channel}. A channel without a URL has no sender: its pages
# are recorded as skipped, with that reason.
_DEFAULT_PROVIDER_BODY = '{"to": "{to}", "message": "{message}", "idempotency_key": "{key}"}'
PAGING_PROVIDERS = {}
for _channel in ("sms", "phone"):
    _url = env.str(f"{_channel.upper()}_PROVIDER_URL", default="")
    if _url:
        _body = env.str(f"{_channel.upper()}_PROVIDER_BODY", default=_DEFAULT_PROVIDER_BODY)
        try:
            json.loads(_body)
        except ValueError as _error:
            raise ImproperlyConfigured(
                f"{_channel.upper()}_PROVIDER_BODY is not JSON: {_error}"
            ) from None
        PAGING_PROVIDERS[_channel] = {
            "url": _url,
            "auth": env.str(f"{_channel.upper()}_PROVIDER_AUTH", default=""),
            "body": _body,
        }
# How long one minute of an escalation policy's waits lasts, in seconds: 60, except for
# tests, benchmarks and drills that run an escalation in seconds instead of minutes.
ESCALATION_SECONDS_PER_MINUTE = min(
    max(env.float("ESCALATION_SECONDS_PER_MINUTE", default=60.0), 0.1), 60.0
)
# The person coming on call is reminded this many minutes before their shift starts.
HANDOFF_REMINDER_MINUTES = min(max(env.int("HANDOFF_REMINDER_MINUTES", default=60), 5), 1440)
# At most one SMS or call per this many seconds to one number; later ones wait their turn.
PAGE_CONTACT_INTERVAL_SECONDS = min(
    max(env.int("PAGE_CONTACT_INTERVAL_SECONDS", default=60), 0), 3600
)
# Escalate when the root cause is still unknown this long after declaration.
ESCALATION_ROOT_CAUSE_MINUTES = env.int("ESCALATION_ROOT_CAUSE_MINUTES", default=60)
# P3/P4 have no update cadence; their first update is due this long after verification.
STATUS_FIRST_UPDATE_MINUTES = min(max(env.int("STATUS_FIRST_UPDATE_MINUTES", default=60), 1), 1440)
CELERY_TIMERS_QUEUE = env.str("CELERY_TIMERS_QUEUE", default="timers")
# A delivery claimed by a worker that died is taken over after this long (at least twice the
# slowest sender's timeout): short only in tests and drills.
NOTIFICATION_MIN_LEASE_SECONDS = min(
    max(env.int("NOTIFICATION_MIN_LEASE_SECONDS", default=120), 5), 3600
)
# Delivery lanes: pages, staff notices (the default queue), bulk mail to subscribers.
CELERY_PAGES_QUEUE = env.str("CELERY_PAGES_QUEUE", default="pages")
CELERY_NOTICES_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="default")
CELERY_BULK_QUEUE = env.str("CELERY_BULK_QUEUE", default="bulk")
# PDF reports render on their own queue, so a long render never holds up a notification.
CELERY_REPORTS_QUEUE = env.str("CELERY_REPORTS_QUEUE", default="reports")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "axes": {"level": "WARNING"},
        "weasyprint.progress": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# The portal's own knobs.
INCIDENT_REFERENCE_PREFIX = env.str("INCIDENT_REFERENCE_PREFIX", default="INC")
INCIDENTS_PAGE_SIZE = 25

# The public status page (incidents/statuspage): its name, address and id in the Statuspage
# API, the zone its days and times are in, and how long shared caches may keep a response.
STATUS_PAGE_NAME = env.str("STATUS_PAGE_NAME", default=SITE_NAME)
STATUS_PAGE_URL = env.str("STATUS_PAGE_URL", default=SITE_URL.rstrip("/") + "/status/")
STATUS_PAGE_ID = env.str("STATUS_PAGE_ID", default="portalstatus")
STATUS_PAGE_TIME_ZONE = env.str("STATUS_PAGE_TIME_ZONE", default=TIME_ZONE)
STATUS_PAGE_MAX_AGE = min(max(env.int("STATUS_PAGE_MAX_AGE", default=10), 0), 300)
# Requests the snapshot cannot answer (old incidents, old history pages) read the database;
# each client address may make this many a minute (per web process).
STATUS_PAGE_RATE_LIMIT = max(env.int("STATUS_PAGE_RATE_LIMIT", default=60), 1)

# Status-page subscribers (incidents/statuspage/subscriptions): sign-ups a client network may
# make an hour, how long a confirmation link lasts, networks webhooks may reach although not
# public (an on-premises receiver; never needed on the internet), and the contact address
# emails to affected users give for questions.
SUBSCRIBE_LIMIT_PER_CLIENT = min(max(env.int("SUBSCRIBE_LIMIT_PER_CLIENT", default=10), 1), 1000)
SUBSCRIPTION_CONFIRM_HOURS = min(max(env.int("SUBSCRIPTION_CONFIRM_HOURS", default=48), 1), 720)
SUBSCRIBER_WEBHOOK_ALLOW_NETWORKS = env.list("SUBSCRIBER_WEBHOOK_ALLOW_NETWORKS", default=[])
for _net in SUBSCRIBER_WEBHOOK_ALLOW_NETWORKS:
    try:
        ipaddress.ip_network(_net, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"SUBSCRIBER_WEBHOOK_ALLOW_NETWORKS: {_net!r} is not a network (e.g. 10.0.0.0/8)"
        ) from None
STATUS_CONTACT_EMAIL = env.str("STATUS_CONTACT_EMAIL", default=DEFAULT_FROM_EMAIL)
# A P1 still open this long reminds its Communications Coordinator to email affected users.
PROLONGED_P1_MINUTES = min(max(env.int("PROLONGED_P1_MINUTES", default=120), 1), 10080)

# Business days (post-mortem meetings are due within 5 of resolution): weekends and this
# country's public holidays (ISO 3166 code, optional subdivision) are skipped, in TIME_ZONE.
BUSINESS_DAYS_COUNTRY = env.str("BUSINESS_DAYS_COUNTRY", default="US")
BUSINESS_DAYS_SUBDIVISION = env.str("BUSINESS_DAYS_SUBDIVISION", default="")

# PDF reports (postmortems/pdf.py): each render runs in a child process stopped after this
# many seconds or when it needs more than this much memory.
PDF_RENDER_TIME_LIMIT = min(max(env.float("PDF_RENDER_TIME_LIMIT", default=60.0), 1.0), 600.0)
PDF_RENDER_MEMORY_MB = min(max(env.int("PDF_RENDER_MEMORY_MB", default=1024), 128), 8192)
