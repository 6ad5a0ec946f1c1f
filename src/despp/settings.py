"""Django settings for the DESPP platform, read from environment variables (see README)."""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from despp.config import env_bool, env_int, env_list, env_str

PACKAGE_DIR = Path(__file__).resolve().parent
BASE_DIR = PACKAGE_DIR.parent.parent
VAR_DIR = Path(env_str("DESPP_VAR_DIR", str(BASE_DIR / "var")))

# development (default: demo data allowed, debug on) | production (hardened, demo data refused)
DESPP_ENV = env_str("DESPP_ENV", "development")
if DESPP_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"DESPP_ENV={DESPP_ENV!r} must be 'development' or 'production'")
PRODUCTION = DESPP_ENV == "production"

DEBUG = env_bool("DESPP_DEBUG", not PRODUCTION)
_DEV_SECRET = "despp-development-only-secret-key-not-for-production-use-0123456789"  # noqa: S105
SECRET_KEY = env_str("DESPP_SECRET_KEY", "" if PRODUCTION else _DEV_SECRET)
if PRODUCTION and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("DESPP_SECRET_KEY must be set (50+ characters) in production")

ALLOWED_HOSTS = env_list(
    "DESPP_ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env_list("DESPP_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "ninja",  # serves Swagger UI from its bundled static files: /api/docs works offline
    "despp.core",
    "despp.portal",
    "despp.dispatch",
    "despp.forensics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "despp.core.middleware.IdleSessionMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "despp.core.middleware.MfaRequiredMiddleware",
    "despp.core.middleware.PasswordAgeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "despp.urls"
ASGI_APPLICATION = "despp.asgi.application"
WSGI_APPLICATION = "despp.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "despp.portal.context_processors.site",
            ],
        },
    },
]

# SQLite in var/ by default; PostgreSQL (or any URL dj-database-url knows) via DATABASE_URL.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'despp.sqlite3'}"),
        conn_max_age=env_int("DESPP_DB_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A fresh clone has no var/ yet; SQLite cannot create the folder its file lives in.
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets readers run beside the writer; IMMEDIATE takes the write lock at BEGIN so two
    # writers queue instead of failing half-way with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000;"
        ),
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# CJIS 5.6.2 / OWASP ASVS 6.2: long passwords, banned lists, no composition rules.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("DESPP_PASSWORD_MIN_LENGTH", 15, minimum=8)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "despp.core.passwords.ContextWordValidator"},
]
# CJIS v6.0 IA-5(1): passwords of accounts that reach CJI change at least yearly (0 turns it
# off). Other accounts never expire (OWASP ASVS 6.2.10); docs/roles.md records the deviation.
DESPP_PASSWORD_MAX_AGE_DAYS = env_int("DESPP_PASSWORD_MAX_AGE_DAYS", 365, minimum=0)
LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "portal:home"

# CJIS 5.5.3: lock after 5 consecutive failures for at least 10 minutes, per user name.
AXES_FAILURE_LIMIT = env_int("DESPP_LOCKOUT_FAILURES", 5, minimum=1)
if AXES_FAILURE_LIMIT > 5:
    raise ImproperlyConfigured("DESPP_LOCKOUT_FAILURES may not exceed 5 (CJIS 5.5.3)")
AXES_COOLOFF_TIME = env_int("DESPP_LOCKOUT_MINUTES", 10, minimum=10) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "despp.core.views.locked_out"
# axes.W006 asks for 'ip_address' among the lockout parameters. We lock per user name only, as
# CJIS words it: a whole PSAP or barracks shares one NAT address, and an IP lockout would let
# one mistyping (or hostile) workstation lock every dispatcher out during an emergency. Spraying
# passwords across many names from one address is throttled at the reverse proxy instead (see
# docs/roles.md, "Sign-in controls").
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# CJIS 5.5.5: the session locks after 30 idle minutes of what a person does; an absolute
# lifetime of one long shift bounds every session whatever happens.
DESPP_IDLE_MINUTES = env_int("DESPP_IDLE_MINUTES", 30, minimum=1)
# Requests that do not count as activity, besides those marked `X-Despp-Passive: 1` and SSE
# streams (Accept: text/event-stream): comma-separated path prefixes.
DESPP_PASSIVE_PATH_PREFIXES = env_list("DESPP_PASSIVE_PATH_PREFIXES", [])
# CJIS 5.5.2.2: one session per user; a new sign-in ends the older session. Roles listed here
# (role values, e.g. "dispatcher") may hold several: the agency's documented override.
DESPP_CONCURRENT_SESSION_ROLES = env_list("DESPP_CONCURRENT_SESSION_ROLES", [])
SESSION_COOKIE_AGE = env_int("DESPP_SESSION_HOURS", 12, minimum=1) * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
OTP_TOTP_ISSUER = "DESPP"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("DESPP_TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
# Site-wide assets (layout CSS, vendored htmx) live beside the shared templates, not in an app.
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Dispatch: a new call within this distance of an open incident of a compatible discipline
# entered within this many minutes is offered for linking instead of a new incident.
DESPP_DUPLICATE_RADIUS_M = env_int("DESPP_DUPLICATE_RADIUS_M", 300, minimum=0)
DESPP_DUPLICATE_WINDOW_MIN = env_int("DESPP_DUPLICATE_WINDOW_MIN", 30, minimum=0)

# Oversize bodies are refused before any view runs (problem+json from the API handler).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DESPP_MAX_BODY_BYTES", 1_000_000, minimum=1024)

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SECURE_SSL_REDIRECT = env_bool("DESPP_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = 31_536_000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if env_bool("DESPP_BEHIND_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("DESPP_LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
