"""Beacon's one settings module. Everything that differs between machines comes from the environment.

``BEACON_ENV=production`` turns on the production rules: the secrets must be supplied (no generated
fallbacks), DEBUG is off, cookies are secure and ``manage.py check --deploy --fail-level WARNING`` passes.
"""

from __future__ import annotations

import base64
import secrets
import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from utilities.devsecrets import load_or_create
from utilities.env import env, envbool, envint, envlist, parse_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env("BEACON_VAR_DIR") or BASE_DIR / "var")

BEACON_ENV = (env("BEACON_ENV") or "development").lower()
if BEACON_ENV not in {"development", "production", "test"}:
    raise ImproperlyConfigured(f"BEACON_ENV must be development, test or production, not {BEACON_ENV!r}")
PRODUCTION = BEACON_ENV == "production"
TESTING = (BEACON_ENV == "test" or "pytest" in sys.modules) and not PRODUCTION

# Demo mode is switched on by `make run` only. It waives MFA enrolment and shows a banner (issue #2).
DEMO_MODE = envbool("BEACON_DEMO_MODE", False)
if PRODUCTION and DEMO_MODE:
    raise ImproperlyConfigured("BEACON_DEMO_MODE cannot be used with BEACON_ENV=production.")


def _fernet_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _development_secrets() -> dict[str, str]:
    """Secrets for a developer's or demo machine, generated once and kept under var/ (never in git)."""
    return load_or_create(
        VAR_DIR / "dev-secrets.json",
        {
            "SECRET_KEY": lambda: secrets.token_urlsafe(64),
            "BEACON_FIELD_KEYS": _fernet_key,
            "BEACON_AUDIT_KEY": lambda: secrets.token_urlsafe(48),
            "BEACON_BLIND_INDEX_KEY": lambda: secrets.token_urlsafe(48),
            "BEACON_BACKUP_KEY": lambda: secrets.token_urlsafe(48),
        },
    )


_REQUIRED_SECRETS = ("SECRET_KEY", "BEACON_FIELD_KEYS", "BEACON_AUDIT_KEY", "BEACON_BLIND_INDEX_KEY")
_secrets = {name: env(name) for name in _REQUIRED_SECRETS}
if PRODUCTION:
    missing = [name for name, value in _secrets.items() if not value]
    if not envlist("ALLOWED_HOSTS"):
        missing.append("ALLOWED_HOSTS")
    if missing:
        raise ImproperlyConfigured(
            "BEACON_ENV=production refuses to start without: "
            + ", ".join(missing)
            + ". Set each variable, or NAME_FILE pointing to a file holding it (see docs/operator-guide.md)."
        )
else:
    _dev = _development_secrets()
    _secrets = {name: value or _dev[name] for name, value in _secrets.items()}

SECRET_KEY = _secrets["SECRET_KEY"]
# Field-encryption keys: comma-separated Fernet keys, newest first; older keys still decrypt (rotation).
FIELD_ENCRYPTION_KEYS = [k.strip() for k in _secrets["BEACON_FIELD_KEYS"].split(",") if k.strip()]
AUDIT_HASH_KEY = _secrets["BEACON_AUDIT_KEY"]
BLIND_INDEX_KEY = _secrets["BEACON_BLIND_INDEX_KEY"]

DEBUG = envbool("DEBUG", False) and not PRODUCTION
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "audit",
    "directory",
    "accounts",
    "alerts",
    "intake",
    "screening",
    "cases",
    "care",
    "referrals",
    "investigations",
    "geo",
    "prevention",
    "interpreters",
    "feedback",
    "stats",
    "exchange",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "api",
    "integrations",
    "cooperation",
    "approvals",
    "retention",
    "beacon",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "utilities.middleware.RequestContextMiddleware",
    "utilities.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Default deny: every view needs a signed-in user unless marked @login_not_required (Django 5.1+).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "accounts.middleware.SessionLimitsMiddleware",
    "accounts.middleware.MFARequiredMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "utilities.middleware.NoStoreMiddleware",
]

ROOT_URLCONF = "beacon.urls"
WSGI_APPLICATION = "beacon.wsgi.application"

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
                "django.template.context_processors.i18n",
                "beacon.context_processors.beacon",
            ],
        },
    },
]

DATABASES = {
    "default": parse_database_url(env("DATABASE_URL") or "sqlite:///var/beacon.sqlite3", base_dir=BASE_DIR),
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.RoleBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Argon2 first (issue #2, ASVS 2.4); the others only verify hashes made before a change of hasher.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:
    # The suite creates dozens of named users per test class; MD5 keeps that quick. Argon2 stays second so the
    # suite can still check it (tests/test_auth.py), and production never sees this branch.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Sessions (issue #2): server-side, idle timeout and absolute limit enforced by SessionLimitsMiddleware.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
# The statistics dashboard's figures are unit-wide aggregates, the same for everyone allowed to see them: each worker
# keeps them this many seconds per filter set, so a busy dashboard does not recount the database on every view
# (issue #11). 0 turns it off (the suite, so every test counts afresh).
STATS_DASHBOARD_CACHE_SECONDS = envint("BEACON_STATS_DASHBOARD_CACHE_SECONDS", 0 if TESTING else 120)
SESSION_IDLE_TIMEOUT = envint("BEACON_SESSION_IDLE_SECONDS", 30 * 60)
SESSION_ABSOLUTE_TIMEOUT = envint("BEACON_SESSION_ABSOLUTE_SECONDS", 12 * 60 * 60)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_NAME = "beacon_session"
CSRF_COOKIE_NAME = "beacon_csrf"
LANGUAGE_COOKIE_NAME = "beacon_language"
LANGUAGE_COOKIE_SAMESITE = "Lax"

# Lockout (issue #2): per account and per client address, within a sliding window.
LOCKOUT_ACCOUNT_FAILURES = envint("BEACON_LOCKOUT_ACCOUNT_FAILURES", 5)
LOCKOUT_ADDRESS_FAILURES = envint("BEACON_LOCKOUT_ADDRESS_FAILURES", 20)
LOCKOUT_WINDOW_SECONDS = envint("BEACON_LOCKOUT_WINDOW_SECONDS", 15 * 60)
LOCKOUT_ADDRESS_BLOCK_SECONDS = envint("BEACON_LOCKOUT_ADDRESS_BLOCK_SECONDS", 15 * 60)
# Behind a reverse proxy, the number of proxies whose X-Forwarded-For entries are trusted.
TRUSTED_PROXY_COUNT = envint("BEACON_TRUSTED_PROXY_COUNT", 0)

OTP_TOTP_ISSUER = env("BEACON_OTP_ISSUER") or "Beacon"
MFA_RECOVERY_CODES = 10

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("es", _("Spanish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env("TIME_ZONE") or "America/Port_of_Spain"

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("STATIC_ROOT") or BASE_DIR / "staticfiles")
if not PRODUCTION:
    # Outside production WhiteNoise also serves straight from static/ (no collectstatic needed first).
    WHITENOISE_USE_FINDERS = True
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(env("MEDIA_ROOT") or VAR_DIR / "media")

# An optional street-map tile server (e.g. https://tiles.example.org/{z}/{x}/{y}.png); without it the map shows
# the administrative boundaries only, which works with no internet (issue #7).
BEACON_TILE_URL = env("BEACON_TILE_URL") or ""

# The country this instance serves (reports, GLOTIP, maps).
BEACON_COUNTRY_ISO3 = env("BEACON_COUNTRY_ISO3") or "TTO"
BEACON_COUNTRY_NAME = env("BEACON_COUNTRY_NAME") or "Trinidad and Tobago"
BEACON_SITE_URL = (env("BEACON_SITE_URL") or "http://127.0.0.1:8000").rstrip("/")

EMAIL_HOST = env("EMAIL_HOST") or "127.0.0.1"
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL") or "beacon@localhost"
EMAIL_BACKEND = env("EMAIL_BACKEND") or (
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_TIMEOUT = 10

# Background work (emails, escalations): django-tasks with its database backend, so `make run` needs no
# extra server and several workers can share one queue (issue #3). `manage.py beacon_worker` processes it
# (tests too, with --once).
TASKS = {
    "default": {
        "BACKEND": env("BEACON_TASKS_BACKEND") or "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}
# Target times of the SOP (hours), overridable per deployment.
INTAKE_ACK_HOURS = {"urgent": envint("BEACON_ACK_HOURS_URGENT", 2), "priority": envint("BEACON_ACK_HOURS_PRIORITY", 8), "routine": envint("BEACON_ACK_HOURS_ROUTINE", 24)}
INTAKE_SCREENING_DAYS = {"urgent": envint("BEACON_SCREEN_DAYS_URGENT", 1), "priority": envint("BEACON_SCREEN_DAYS_PRIORITY", 3), "routine": envint("BEACON_SCREEN_DAYS_ROUTINE", 7)}
PUBLIC_FORM_MAX_PER_HOUR = envint("BEACON_PUBLIC_FORM_MAX_PER_HOUR", 5)
PUBLIC_FORM_MAX_FILE_BYTES = envint("BEACON_PUBLIC_FORM_MAX_FILE_BYTES", 5 * 1024 * 1024)
CASE_ATTACHMENT_MAX_BYTES = envint("BEACON_CASE_ATTACHMENT_MAX_BYTES", 25 * 1024 * 1024)
# Issue #10: uploads are scanned by clamd. "auto": Debian's /run/clamav/clamd.ctl if that socket exists, else no
# scanning; "off"; or "unix:/path" / "tcp:host:port" (then required). A scanner in use that does not answer
# refuses uploads (utilities/antivirus.py).
CLAMAV = (env("BEACON_CLAMAV") or "auto").strip()
_clamav_kind, _clamav_sep, _clamav_where = CLAMAV.partition(":")
_clamav_host, _clamav_sep, _clamav_port = _clamav_where.rpartition(":")
if not (
    CLAMAV in {"auto", "off"}
    or (_clamav_kind == "unix" and _clamav_where.startswith("/"))
    or (_clamav_kind == "tcp" and _clamav_host and _clamav_port.isdigit())
):
    raise ImproperlyConfigured("BEACON_CLAMAV must be auto, off, unix:/path/to/socket or tcp:host:port")
BREAK_GLASS_HOURS = envint("BEACON_BREAK_GLASS_HOURS", 4)
# Issue #10: the access digest flags reads outside these hours ("HH:MM-HH:MM", local time) and ISO weekdays
# ("1-5" is Monday to Friday; "1-6" or "1,2,3,4,5,6" adds Saturday).
BEACON_WORKING_HOURS = env("BEACON_WORKING_HOURS") or "07:00-19:00"
BEACON_WORKING_DAYS = env("BEACON_WORKING_DAYS") or "1-5"

# Statistics and data standards (issue #8). The instance's country (ISO 3166-1 alpha-2) names the GLOTIP
# rows; small-cell thresholds apply to every statistic that leaves the unit.
BEACON_COUNTRY_CODE = (env("BEACON_COUNTRY_CODE") or "TT").upper()
STATS_SMALL_CELL = envint("BEACON_STATS_SMALL_CELL", 5)
CTDC_K_ANONYMITY = envint("BEACON_CTDC_K", 11)

# Backups (issue #10): `manage.py backup` encrypts its archive with this secret (32+ characters). Production
# needs it only to back up or restore; elsewhere it is generated under var/ like the other dev secrets. Keep it,
# and BEACON_FIELD_KEYS, apart from the archives: a backup cannot be read without both.
BACKUP_KEY = env("BEACON_BACKUP_KEY") or ("" if PRODUCTION else _development_secrets()["BEACON_BACKUP_KEY"])

# Webhooks and Primero connectors (issue #9): the only destinations Beacon may call. Host names
# ("hooks.example.org", "*.example.org"), IP addresses or networks ("10.2.0.0/16"), comma-separated. A private,
# loopback or link-local address is refused unless that address itself is listed. See docs/integrations.md.
BEACON_WEBHOOK_ALLOWED_HOSTS = envlist("BEACON_WEBHOOK_ALLOWED_HOSTS")

# --- Cooperation between countries (issue #9): owned by the cooperation app; see docs/cooperation.md -------
# This instance's id in other units' registries, and the file holding its private Ed25519 (signing) and X25519
# (encryption) keys. Outside production the file is generated under var/ on first use, like the dev secrets;
# in production it must be given, but only once cooperation is used (`manage.py coop_keys` tells).
BEACON_INSTANCE_ID = env("BEACON_INSTANCE_ID") or f"{BEACON_COUNTRY_CODE}-CTU"
BEACON_COOP_KEY_FILE = env("BEACON_COOP_KEY_FILE") or ("" if PRODUCTION else str(VAR_DIR / "coop-keys.json"))
# Messages stamped further than this from our clock are refused (replays inside it are refused by message id).
COOP_CLOCK_WINDOW_SECONDS = envint("BEACON_COOP_CLOCK_WINDOW_SECONDS", 600)
COOP_SEND_TIMEOUT_SECONDS = envint("BEACON_COOP_SEND_TIMEOUT_SECONDS", 10)
# --- end of the cooperation block --------------------------------------------------------------------------

# --- REST API (issue #9): owned by the api app; see api/ and docs/api.md -----------------------------------
# Tokens only (no session) on /api/v1/; every endpoint sets its own classes through api.rest.ApiViewMixin.
# Swagger UI is served from drf-spectacular-sidecar (vendored, no CDN).
INSTALLED_APPS += ["drf_spectacular_sidecar"]
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "api.schema.BeaconAutoSchema",
    "EXCEPTION_HANDLER": "api.rest.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "UNAUTHENTICATED_TOKEN": None,
}
# Requests per minute per token (a service token may carry its own figure). Counted in the "api" cache: the
# database cache, so every worker process shares one count (its table comes with api's migrations).
API_RATE_PER_MINUTE = envint("BEACON_API_RATE_PER_MINUTE", 120)
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "api": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "beacon_api_cache",
        "OPTIONS": {"MAX_ENTRIES": 20_000},  # one entry per token in use: culling must not reset live counts
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Beacon API",
    "DESCRIPTION": "Version 1 of Beacon's REST API. Authenticate with `Authorization: Bearer <token>`; see docs/api.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ReportStatusEnum": "intake.choices.Status",
        "CaseStatusEnum": "cases.choices.CaseStatus",
        "ReferralStatusEnum": "referrals.choices.ReferralStatus",
        "ChannelEnum": "intake.choices.Channel",
        "OfficerChannelEnum": "api.serializers.OFFICER_CHANNELS",
    },
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "api.schema.strict_request_bodies"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": False, "displayOperationId": False},
}
# --- end of the REST API block ------------------------------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if TRUSTED_PROXY_COUNT:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Logs carry ids and request ids, never personal data (issue #10); the formatter adds the request id.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "utilities.logging.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL") or "INFO"},
    "loggers": {
        # Django's request logger would print URLs and exception text; Beacon's URLs hold no personal data
        # but exception text can, so only the status line is kept at WARNING.
        "django.request": {"level": "ERROR", "propagate": True},
        "django.server": {"level": "WARNING", "propagate": True},
    },
}

# --- Production and scale-out (issue #11): see deploy/ and docs/operator-guide.md ---------------------------
# A PostgreSQL streaming replica for statistics and dashboards. They ask for it by name through
# stats.dataset.stats_database(); the router keeps every other read, every write and every migration on default.
DATABASE_ROUTERS = ["utilities.routers.ReplicaRouter"]
if env("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = parse_database_url(env("DATABASE_REPLICA_URL"), base_dir=BASE_DIR)
    STATS_DATABASE = "replica"
elif TESTING:
    # The suite tests the routing with a replica alias that is a test mirror of default: it never points at a
    # real database, and STATS_DATABASE stays "default" unless a test overrides it (tests/test_replica.py).
    DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}
    if DATABASES["replica"]["ENGINE"].endswith("sqlite3"):
        # A reader: it must not take SQLite's write lock when a test opens its transaction.
        DATABASES["replica"]["OPTIONS"] = {**DATABASES["replica"]["OPTIONS"], "transaction_mode": "DEFERRED"}
# BEACON_LOG_FORMAT=json: one JSON object per line (time, level, logger, message, request_id) for a log shipper.
BEACON_LOG_FORMAT = (env("BEACON_LOG_FORMAT") or "plain").lower()
if BEACON_LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"BEACON_LOG_FORMAT must be plain or json, not {BEACON_LOG_FORMAT!r}")
LOGGING["formatters"]["json"] = {"()": "utilities.logging.JsonFormatter"}
LOGGING["handlers"]["console"]["formatter"] = BEACON_LOG_FORMAT
# --- end of the production block ----------------------------------------------------------------------------

# --- Attachment storage (issue #11): local disk or S3-compatible object storage (utilities/storage.py) -------
from urllib.parse import urlsplit as _urlsplit  # noqa: E402 - kept inside this block

# local: encrypted files under MEDIA_ROOT. s3: encrypted objects <prefix><kind>/<xx>/<name> in one private bucket;
# Beacon encrypts before uploading, so the object store never holds plaintext. See docs/operator-guide.md.
BEACON_STORAGE = (env("BEACON_STORAGE") or "local").lower()
if BEACON_STORAGE not in {"local", "s3"}:
    raise ImproperlyConfigured(f"BEACON_STORAGE must be local or s3, not {BEACON_STORAGE!r}")
_s3_prefix = (env("BEACON_S3_PREFIX") or "").strip().strip("/")
BEACON_S3 = {
    "ENDPOINT_URL": env("BEACON_S3_ENDPOINT_URL") or "",  # empty: Amazon S3 itself
    "BUCKET": env("BEACON_S3_BUCKET") or "",
    "REGION": env("BEACON_S3_REGION") or "us-east-1",
    "ACCESS_KEY_ID": env("BEACON_S3_ACCESS_KEY_ID") or "",
    "SECRET_ACCESS_KEY": env("BEACON_S3_SECRET_ACCESS_KEY") or "",
    "PREFIX": f"{_s3_prefix}/" if _s3_prefix else "",
    "CA_BUNDLE": env("BEACON_S3_CA_BUNDLE") or "",  # a private CA's certificates for the endpoint, if any
}
if BEACON_STORAGE == "s3":
    _s3_missing = [f"BEACON_S3_{key}" for key in ("BUCKET",) if not BEACON_S3[key]]
    if PRODUCTION:
        _s3_missing += [f"BEACON_S3_{k}" for k in ("ACCESS_KEY_ID", "SECRET_ACCESS_KEY") if not BEACON_S3[k]]
    if _s3_missing:
        raise ImproperlyConfigured(
            "BEACON_STORAGE=s3 refuses to start without: "
            + ", ".join(_s3_missing)
            + ". Set each variable, or NAME_FILE pointing to a file holding it (see docs/operator-guide.md)."
        )
    _s3_url = BEACON_S3["ENDPOINT_URL"]
    if _s3_url and not _s3_url.startswith(("https://", "http://")):
        raise ImproperlyConfigured("BEACON_S3_ENDPOINT_URL must be an https:// (or http://) URL.")
    # Objects are encrypted, but their names, sizes and the signed requests should not cross a network in clear.
    if (
        PRODUCTION
        and _s3_url.startswith("http://")
        and _urlsplit(_s3_url).hostname not in {"127.0.0.1", "localhost", "::1"}
    ):
        raise ImproperlyConfigured("BEACON_S3_ENDPOINT_URL must use https:// in production (http:// on loopback only).")
# --- end of the attachment storage block --------------------------------------------------------------------
