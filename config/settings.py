"""Settings: the one place that reads the environment."""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from psycopg_pool import ConnectionPool

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# The production profile (`PRODUCTION=1`): a real secret, HTTPS only, static files collected.
PRODUCTION = env_bool("PRODUCTION")
MIN_SECRET_KEY_LENGTH = 50  # what `check --deploy` asks for


def _secret_key() -> str:
    """SECRET_KEY from the environment; a local demo gets one generated once under var/."""
    if key := os.environ.get("SECRET_KEY"):
        if len(key) < MIN_SECRET_KEY_LENGTH or len(set(key)) < 5:
            raise ImproperlyConfigured(
                f"SECRET_KEY is too short: use at least {MIN_SECRET_KEY_LENGTH} random characters, e.g. "
                "python -c 'import secrets; print(secrets.token_urlsafe(50))'."
            )
        return key
    if PRODUCTION:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. In production (PRODUCTION=1) set it in the environment of every web "
            f"server and worker: at least {MIN_SECRET_KEY_LENGTH} random characters, the same everywhere."
        )
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


DEBUG = env_bool("DEBUG") and not PRODUCTION
# Debug pages hide what functions holding an API key mark as sensitive, under DEBUG too.
DEFAULT_EXCEPTION_REPORTER_FILTER = "synth.teachers.redact.KeepSecretsExceptionReporterFilter"
SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks_db",
    "axes",
    "auditlog",
    "core",
    "synth",
    "review",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "auditlog.middleware.AuditlogMiddleware",  # the signed-in user is the actor of audit entries
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.navigation.navigation",
            ],
        },
    },
]

# SQLite under var/ is the embedded default; DATABASE_URL selects PostgreSQL in production.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'studio.sqlite3'}",
        conn_max_age=0,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the task worker write at the same time: WAL, immediate write
    # transactions and a generous busy timeout keep them from failing on "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so a worker process started by a test sees the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    # Parameters bound by the server: psycopg then prepares a statement the fifth time a connection
    # runs it, and PostgreSQL stops planning the review loop's queries on every request (bench/README.md,
    # "Review load": the database's time per save-and-next fell from about 13 ms to 5 ms). Turn it off
    # behind a pooler that cannot keep prepared statements (PgBouncer in transaction mode).
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = env_bool(
        "DATABASE_SERVER_SIDE_BINDING", default=True
    )
    if env_bool("DATABASE_POOL", default=True):
        # Check each pooled connection as it is handed out: after PostgreSQL restarts, a dead
        # connection is replaced instead of failing the request that drew it. Pooled connections also
        # keep their prepared statements from one request to the next. One connection open per process
        # (web processes run one thread each: `serve`), up to four while more threads need them.
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "check": ConnectionPool.check_connection,
            "min_size": 1,
            "max_size": 4,
        }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# Generation runs: candidates per chunk (one task each), and how long a chunk's worker may go silent
# before its chunk is handed to another worker.
GENERATION_CHUNK_SIZE = int(os.environ.get("GENERATION_CHUNK_SIZE", "25"))
GENERATION_LEASE_SECONDS = float(os.environ.get("GENERATION_LEASE_SECONDS", "60"))
# A chunk whose attempts end without finishing it (an error, a worker lost) this many times in a row
# fails its run with the last error, instead of being retried for ever.
GENERATION_CHUNK_MAX_ATTEMPTS = int(os.environ.get("GENERATION_CHUNK_MAX_ATTEMPTS", "5"))
# Watchdogs look again this long after the first lease that could run out (workers poll, clocks differ).
WATCHDOG_GRACE_SECONDS = float(os.environ.get("WATCHDOG_GRACE_SECONDS", "2"))
# A task worker that lost the database retries with jittered backoff from BASE up to MAX seconds.
WORKER_DATABASE_RETRY_BASE_SECONDS = float(os.environ.get("WORKER_DATABASE_RETRY_BASE_SECONDS", "0.5"))
WORKER_DATABASE_RETRY_MAX_SECONDS = float(os.environ.get("WORKER_DATABASE_RETRY_MAX_SECONDS", "10"))
# Batch-mode runs: the first wait before asking a provider whether a batch has ended, and the longest.
BATCH_POLL_SECONDS = float(os.environ.get("BATCH_POLL_SECONDS", "30"))
BATCH_POLL_MAX_SECONDS = float(os.environ.get("BATCH_POLL_MAX_SECONDS", "600"))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # login throttling first: a locked-out login stops here
    "core.permissions.OneQueryModelBackend",  # ModelBackend, its permissions in one query
]
# Login throttling (django-axes): after this many failures for one username from one address, that
# pair is locked out for the cool-off; a success resets the count.
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "core.lockout.lockout_response"
AXES_VERBOSE = False
# The audit trail (django-auditlog): who changed what, when, for configuration, decisions, edits,
# adjudications, releases and exports; logins are added by synth/audit.py. Entries are read-only in
# the admin and nothing in the application edits or deletes them.
AUDITLOG_INCLUDE_TRACKING_MODELS = (
    "synth.Domain",
    "synth.SeedTask",
    "synth.Teacher",
    "synth.GenerationRun",
    "review.ReviewItem",
    "review.ItemRevision",
    "review.Decision",
    "review.Adjudication",
    "review.Discussion",
    "review.Batch",
    "review.Export",
    {"model": "auth.User", "exclude_fields": ["password", "last_login"], "m2m_fields": ["groups"]},
    {"model": "auth.Group", "m2m_fields": ["permissions"]},
)
AUDITLOG_STORE_JSON_CHANGES = True
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise looks there from the first request
WHITENOISE_USE_FINDERS = not PRODUCTION  # outside production, no collectstatic needed
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # In production whitenoise serves the collected files with hashed names and far-future caching.
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    # HTTPS only. Behind a TLS-terminating proxy, set BEHIND_PROXY=1 so its X-Forwarded-Proto is trusted.
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)
    if env_bool("BEHIND_PROXY"):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

# Product settings.
# Uploads (query sets): a file over this size is dropped while it streams in, and the form says so.
UPLOAD_MAX_BYTES = int(os.environ.get("UPLOAD_MAX_BYTES", str(20 * 1000 * 1000)))
FILE_UPLOAD_HANDLERS = [
    "core.uploads.SizeLimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
EXPORT_ROOT = Path(os.environ.get("EXPORT_ROOT", VAR_DIR / "exports"))  # shared by web and workers
# Exports: records read per page (memory against round trips), and how long an export's worker may go
# silent before the export is handed to another worker and built again.
EXPORT_PAGE_SIZE = int(os.environ.get("EXPORT_PAGE_SIZE", "5000"))
EXPORT_LEASE_SECONDS = float(os.environ.get("EXPORT_LEASE_SECONDS", "60"))
RECORD_BROWSER_PAGE_SIZE = 50  # records per page of /records/
REVIEW_LEASE_MINUTES = int(os.environ.get("REVIEW_LEASE_MINUTES", "30"))
REVIEW_UNDO_SECONDS = int(os.environ.get("REVIEW_UNDO_SECONDS", "120"))
REVIEW_PROGRESS_CACHE_SECONDS = 5  # how stale the "left in the queue" count may be
DEFAULT_SAMPLE_RATE = float(os.environ.get("DEFAULT_SAMPLE_RATE", "0.5"))
# Provider keys are read from the environment variable each Teacher names, at call time.
# Local model servers (Ollama, vLLM) a teacher may call on this machine, as host:port (or host for
# every port); every other loopback, link-local and metadata address is refused (synth/teachers/endpoint.py).
TEACHER_LOCAL_HOSTS = env_list("TEACHER_LOCAL_HOSTS", "localhost:11434,127.0.0.1:11434")
# Every prompt is PHI-screened before it is sent; 0 exempts the teachers on this machine (the offline
# teacher and the servers in TEACHER_LOCAL_HOSTS), whose prompts do not leave it.
TEACHER_PHI_SCREEN_LOCAL = env_bool("TEACHER_PHI_SCREEN_LOCAL", True)
# Retries of teacher calls: jittered exponential backoff from BASE to MAX seconds; while a teacher is
# down, slow or rate-limiting, a call keeps retrying until it has been failing for PATIENCE seconds.
TEACHER_RETRY_BASE_SECONDS = float(os.environ.get("TEACHER_RETRY_BASE_SECONDS", "1"))
TEACHER_RETRY_MAX_SECONDS = float(os.environ.get("TEACHER_RETRY_MAX_SECONDS", "60"))
TEACHER_OUTAGE_PATIENCE_SECONDS = float(os.environ.get("TEACHER_OUTAGE_PATIENCE_SECONDS", "900"))
TEACHER_API_KEYS = {name: value for name, value in os.environ.items() if name.endswith("_API_KEY")}

# Quality gate: near-duplicate detection (MinHash over word shingles). Changing any of these makes new
# signatures (the old ones are kept apart by their scheme); re-run the gate with `manage.py regate`.
DEDUP_THRESHOLD = float(os.environ.get("DEDUP_THRESHOLD", "0.8"))
DEDUP_SHINGLE_SIZE = int(os.environ.get("DEDUP_SHINGLE_SIZE", "3"))
DEDUP_NUM_PERM = int(os.environ.get("DEDUP_NUM_PERM", "128"))
# With REDIS_URL set, the near-duplicate index lives in Redis (datasketch's storage), shared by workers.
REDIS_URL = os.environ.get("REDIS_URL", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
