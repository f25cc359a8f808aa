"""Settings of the desk, read from the environment in this one module.

Two modes share the code base: with DATABASE_URL and REDIS_URL unset the desk runs
embedded (SQLite, in-memory channel layer, Celery tasks inline); with them set it
uses PostgreSQL, the Redis channel layer and a Redis broker with real workers.
"""

import secrets
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from supportdesk.secret_key import DEV_SECRET_KEY, HOW_TO_MAKE_ONE, secret_key_weakness

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DATABASE_URL = env.str("DATABASE_URL", default="")
REDIS_URL = env.str("REDIS_URL", default="")
EMBEDDED = not (DATABASE_URL and REDIS_URL)

# --------------------------------------------------------------------------- core
DEBUG = env.bool("DEBUG", default=EMBEDDED)
# Signs sessions, password links and reply addresses. In DEBUG mode the desk may run
# on the published development key; with DEBUG off it refuses to start on a weak one.
SECRET_KEY = env.str("SECRET_KEY", default="") or (DEV_SECRET_KEY if DEBUG else "")
if not DEBUG and (_weakness := secret_key_weakness(SECRET_KEY)):
    raise ImproperlyConfigured(
        f"{_weakness}; with DEBUG off the desk does not start on it. {HOW_TO_MAKE_ONE}"
    )
# Demo mode: seed_demo (run by `make run`) builds the demo desk and prints its
# logins. On when embedded; with DATABASE_URL and REDIS_URL set only when asked.
DEMO = env.bool("DEMO", default=EMBEDDED)
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")

# ------------------------------------------------------------- transport security
# For a desk served over HTTPS (docs/operations.md, "Going to production"): cookies
# sent over HTTPS only, HSTS, plain HTTP redirected, and the header by which a proxy
# that ends TLS says a request came over HTTPS (its name, e.g. X-Forwarded-Proto;
# the proxy must set it on every request and its value must be "https").
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False
)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# Health checks come straight to the process, in plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz"]
_proxy_ssl_header = env.str("SECURE_PROXY_SSL_HEADER", default="").strip()
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
    if _proxy_ssl_header
    else None
)
# System checks to keep quiet, by id (e.g. security.W021 for a desk whose domain
# should not go on the browsers' HSTS preload list).
SILENCED_SYSTEM_CHECKS = env.list("SILENCED_SYSTEM_CHECKS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "anymail",
    # Sign-in throttling, and the second factor (TOTP, recovery codes).
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "supportdesk",
    "customers",
    "tickets",
    "channels_app",
    "channels_app.outbound_webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Idle timeout, the list of an agent's sessions, the second factor's gates.
    "supportdesk.signin.middleware.SignInMiddleware",
    # Turns a refused sign-in of a locked account or address into the sign-in
    # page with the lockout message (AXES_LOCKOUT_CALLABLE).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "supportdesk.urls"
# Messages stay on the server: an API key shown once must not ride in a cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
WSGI_APPLICATION = "supportdesk.wsgi.application"
ASGI_APPLICATION = "supportdesk.asgi.application"

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
            ],
        },
    },
]

AUTH_USER_MODEL = "tickets.Agent"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

# The first backend only refuses a locked account or address (django-axes); the
# second checks the password.
AUTHENTICATION_BACKENDS = [
    "supportdesk.signin.backends.SignInThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
# A password-reset link works this long, and once; an invitation's link this
# many days, and once.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3600)
INVITATION_MAX_AGE_DAYS = env.int("INVITATION_MAX_AGE_DAYS", default=7)

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Serve static files straight from the app folders, without collectstatic (a
# test server, development); production collects them into STATIC_ROOT.
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=DEBUG)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ----------------------------------------------------------------------- database
if DATABASE_URL:
    DATABASES = {"default": env.db_url_config(DATABASE_URL)}
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
    # The ASGI server runs each request's sync view on a thread of its own, so a
    # persistent connection (CONN_MAX_AGE) would be one per thread, never reused:
    # the web process borrows from a pool of at most this many instead (Procfile).
    # 0: a connection per request, as Celery workers and tests have it.
    DATABASE_POOL_SIZE = env.int("DATABASE_POOL_SIZE", default=0)
    if DATABASE_POOL_SIZE and DATABASES["default"]["ENGINE"].endswith("postgresql"):
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": min(2, DATABASE_POOL_SIZE),
            "max_size": DATABASE_POOL_SIZE,
            # Seconds a request waits for a connection: while PostgreSQL is out of
            # reach, doors answer 503 after this rather than hang (psycopg: 30).
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=3.0),
        }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env.str("SQLITE_PATH", default=str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {
                # WAL lets the page readers and the inline task writers overlap.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }

# ------------------------------------------------------------------------- realtime
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # A socket's receive blocks in Redis for up to 5 s at a time; the
                # client's own read timeout (5 s by default since redis-py 8)
                # would end it first and close the socket with 1011.
                "hosts": [{"address": REDIS_URL, "socket_timeout": None}],
                "prefix": env.str("CHANNEL_LAYER_PREFIX", default="asgi"),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --------------------------------------------------------------------------- cache
# Rate-limit counters live here, so with several processes they must be shared.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="desk"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# -------------------------------------------------------------------------- celery
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="desk")
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A task is acknowledged after it ran, and re-queued when its worker dies mid-way.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int(
    "CELERY_WORKER_PREFETCH_MULTIPLIER", default=4
)
# Celery opens a database connection per task unless told otherwise; a worker
# process runs its tasks one after another, so it keeps its connection for this
# many tasks (0: one per task). celery.py drops one that failed during a task.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 600}
# A worker keeps trying to reach Redis for as long as it is down, from its start
# on, and survives losing it (broker_loss.py works around two Celery faults).
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CONSUMER = "supportdesk.broker_loss:Consumer"
# Prefork, as `celery worker` runs by default; `-P solo` and the like still apply.
CELERY_WORKER_POOL = "supportdesk.broker_loss:TaskPool"
# Queueing a task tries the broker briefly (kombu's default waits about a second
# while Redis is down); what is not queued is found again by a beat sweep.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.1,
    "interval_max": 0.1,
}
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 100
CELERY_BEAT_SCHEDULE = {
    "sweep-unrouted-tickets": {
        "task": "tickets.sweep_unrouted",
        "schedule": env.float("ROUTING_SWEEP_SECONDS", default=30.0),
    },
    "poll-imap-inboxes": {
        "task": "channels_app.poll_imap_inboxes",
        "schedule": env.float("IMAP_POLL_SECONDS", default=60.0),
    },
    # Inbound records whose wake-up was lost, or whose worker died mid-way.
    "sweep-inbound-records": {
        "task": "channels_app.sweep_inbound",
        "schedule": env.float("INBOUND_SWEEP_SECONDS", default=5.0),
    },
    # Webhook deliveries whose task was lost, or whose next try is far off.
    "sweep-webhook-deliveries": {
        "task": "supportdesk.sweep_webhook_deliveries",
        "schedule": 60.0,
    },
    # Agents' replies whose send task was lost before it started.
    "sweep-unsent-replies": {
        "task": "tickets.sweep_unsent_replies",
        "schedule": 60.0,
    },
    # Data older than the RETENTION_* ages below (nothing while they are unset).
    "purge-retention": {
        "task": "tickets.purge_retention",
        "schedule": env.float("RETENTION_PURGE_SECONDS", default=3600.0),
    },
}

# --------------------------------------------------------------------------- desk
# Intake (channels_app.ingest). A worker's claim on a record lasts this long unless
# renewed; a record under an older claim is taken over, as its worker is gone. The
# sweep (every INBOUND_SWEEP_SECONDS) takes records left waiting this long or more.
INBOUND_LEASE_SECONDS = env.float("INBOUND_LEASE_SECONDS", default=20.0)
INBOUND_SWEEP_SECONDS = env.float("INBOUND_SWEEP_SECONDS", default=5.0)
INBOUND_CLAIM_BATCH = env.int("INBOUND_CLAIM_BATCH", default=20)
# A record claimed this many times without an outcome (its worker died each time,
# or the database failed) is marked failed, visible and replayable.
INBOUND_MAX_ATTEMPTS = env.int("INBOUND_MAX_ATTEMPTS", default=5)
# Supervisors are told of records waiting longer than this, and of failed ones.
INBOUND_STUCK_SECONDS = env.int("INBOUND_STUCK_SECONDS", default=120)
# Tickets left without an owning team this long are routed by the periodic sweep.
ROUTING_SWEEP_AFTER_SECONDS = env.int("ROUTING_SWEEP_AFTER_SECONDS", default=60)
# A message on a conversational channel joins the customer's open ticket on that
# channel when its last message is this recent.
REOPEN_WINDOW_HOURS = env.int("REOPEN_WINDOW_HOURS", default=72)
DEFAULT_PHONE_REGION = env.str("DEFAULT_PHONE_REGION", default="US")
MAX_INBOUND_PAYLOAD_BYTES = env.int(
    "MAX_INBOUND_PAYLOAD_BYTES", default=25 * 1024 * 1024
)
MAX_MESSAGE_TEXT_CHARS = env.int("MAX_MESSAGE_TEXT_CHARS", default=200_000)
MAX_ATTACHMENT_BYTES = env.int("MAX_ATTACHMENT_BYTES", default=20 * 1024 * 1024)
# A mail larger than this is recorded by its headers only, with a visible note.
MAX_EMAIL_BYTES = env.int("MAX_EMAIL_BYTES", default=25 * 1024 * 1024)
# JSON from outside (bodies, socket frames, webhook payloads) nesting deeper than
# this is refused with a 400 (supportdesk/json_input.py); providers' payloads nest
# about ten levels.
JSON_MAX_DEPTH = env.int("JSON_MAX_DEPTH", default=64)
# The demo inboxes' secrets are published: seed_demo switches them on only when asked,
# by default only in embedded (DEBUG) mode.
DEMO_INBOXES_ENABLED = env.bool("DEMO_INBOXES_ENABLED", default=DEBUG)
# Agents see the tickets of every team, not only their own.
AGENTS_SEE_ALL_TEAMS = env.bool("AGENTS_SEE_ALL_TEAMS", default=False)
TIMELINE_PAGE_SIZE = env.int("TIMELINE_PAGE_SIZE", default=50)
# Channel adapters by key. Each declares its timeline channel, identity kinds,
# reply window and inbox fields, so the desk knows a channel from this alone (see
# docs/adding-a-channel.md). Order counts: it is the order channels are offered
# in, and of two adapters on one channel the first is the one replies leave by
# when no inbox names another (the phone line, not the voice provider).
CHANNEL_ADAPTERS = {
    "email": "channels_app.adapters.email.EmailAdapter",
    "whatsapp": "channels_app.adapters.whatsapp.WhatsAppAdapter",
    "twilio-sms": "channels_app.adapters.twilio.TwilioSmsAdapter",
    "phone": "channels_app.adapters.phone.PhoneAdapter",
    "twilio-voice": "channels_app.adapters.twilio_voice.TwilioVoiceAdapter",
    "messenger": "channels_app.adapters.messenger.MessengerAdapter",
    "instagram": "channels_app.adapters.messenger.InstagramAdapter",
    "telegram": "channels_app.adapters.telegram.TelegramAdapter",
    "chat": "channels_app.adapters.chat.ChatAdapter",
    "api": "channels_app.adapters.api.ApiAdapter",
}
# A reply that cannot be handed over is tried again this many times, waiting
# OUTBOUND_RETRY_SECONDS, then twice as long each time (ten minutes at most).
OUTBOUND_SEND_RETRIES = env.int("OUTBOUND_SEND_RETRIES", default=6)
OUTBOUND_RETRY_SECONDS = env.int("OUTBOUND_RETRY_SECONDS", default=5)
# A queued reply no send task has started this long after it was stored lost its
# task (the broker was down, say): the sweep queues it again.
OUTBOUND_SWEEP_AFTER_SECONDS = env.int("OUTBOUND_SWEEP_AFTER_SECONDS", default=60)

# ----------------------------------------------------------------------- mail out
# Outgoing mail goes through Django's email backend, read from EMAIL_URL:
# smtp://user:password@host:25, smtp+tls://... (STARTTLS), smtp+ssl://... (TLS from
# the start), consolemail:// (printed, the default), memorymail:// (kept in memory).
# EMAIL_BACKEND, when set, names another backend (an anymail provider's) and wins.
_email = env.email_url_config(env.str("EMAIL_URL", default="") or "consolemail://")
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="") or _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"] or "localhost"
EMAIL_PORT = _email["EMAIL_PORT"] or 25
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"] or ""
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"] or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL"))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
# The sender of replies through no inbox with an address of its own.
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="Support <support@localhost>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The display name of an inbox's address when the inbox names none.
EMAIL_FROM_NAME = env.str("EMAIL_FROM_NAME", default="Support")
# Right-hand side of the desk's Message-IDs; empty: the domain of the From address.
EMAIL_MESSAGE_ID_DOMAIN = env.str("EMAIL_MESSAGE_ID_DOMAIN", default="")

# ------------------------------------------------------------------------ mail in
# Email inboxes with an imap_host in their config are polled this often.
IMAP_POLL_SECONDS = env.float("IMAP_POLL_SECONDS", default=60.0)
IMAP_TIMEOUT_SECONDS = env.float("IMAP_TIMEOUT_SECONDS", default=30.0)
# Providers' inbound webhooks at /anymail/<provider>/inbound/ (Mailgun, Postmark,
# SendGrid, Amazon SES, ...). Each must send HTTP basic auth "user:password" from
# ANYMAIL_WEBHOOK_SECRET (comma-separated to rotate); Mailgun's requests must also
# be signed with MAILGUN_WEBHOOK_SIGNING_KEY. Either unset, a random secret stands
# in for it: the doors stay shut until they are configured.
ANYMAIL = {
    "WEBHOOK_SECRET": env.list("ANYMAIL_WEBHOOK_SECRET", default=[])
    or [f"unset:{secrets.token_urlsafe(32)}"],
    "MAILGUN_WEBHOOK_SIGNING_KEY": env.str("MAILGUN_WEBHOOK_SIGNING_KEY", default="")
    or secrets.token_urlsafe(32),
}
# The email inbox (slug) that mail from providers' webhooks belongs to.
ANYMAIL_INBOUND_INBOX = env.str("ANYMAIL_INBOUND_INBOX", default="")
# A provider posts a whole mail in one request: accept one as large as the
# largest payload the desk stores (with room for base64 and form encoding).
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_INBOUND_PAYLOAD_BYTES * 3 // 2
# A signed request whose signed timestamp is further than this from now, either
# way, is refused as a replay (Mailgun's).
WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS = env.int(
    "WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS", default=300
)
# Amazon SES posts through SNS, which signs each message with a certificate the
# message links to. Only certificates at URLs matching this are fetched (and kept
# for SNS_CERT_CACHE_SECONDS). SNS retries a delivery for up to an hour under the
# message's first timestamp: older messages are refused.
SNS_CERT_URL_PATTERN = env.str(
    "SNS_CERT_URL_PATTERN",
    default=r"https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[^?#@\\]+\.pem",
)
SNS_CERT_CACHE_SECONDS = env.int("SNS_CERT_CACHE_SECONDS", default=24 * 3600)
SNS_MAX_AGE_SECONDS = env.int("SNS_MAX_AGE_SECONDS", default=3600 + 300)

# ------------------------------------------------------------ Meta (Graph API)
# WhatsApp Cloud API, Messenger and Instagram replies and media go through here.
GRAPH_API_BASE_URL = env.str("GRAPH_API_BASE_URL", default="https://graph.facebook.com")
GRAPH_API_VERSION = env.str("GRAPH_API_VERSION", default="v21.0")
GRAPH_API_TIMEOUT_SECONDS = env.float("GRAPH_API_TIMEOUT_SECONDS", default=20.0)
# Messenger and Instagram name media by URL in the webhook: only URLs on these
# hosts (or their subdomains, over https) or on the Graph API's own are fetched,
# so a payload cannot make the desk fetch an internal address.
META_MEDIA_HOSTS = env.list(
    "META_MEDIA_HOSTS", default=["fbcdn.net", "fbsbx.com", "cdninstagram.com"]
)
# Media a customer sends is downloaded up to this size and only of these types
# (shell-style patterns); anything else stays a visible note on the message.
MAX_MEDIA_BYTES = env.int("MAX_MEDIA_BYTES", default=16 * 1024 * 1024)
ALLOWED_MEDIA_TYPES = env.list(
    "ALLOWED_MEDIA_TYPES",
    default=[
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/gif",
        "video/mp4",
        "video/3gpp",
        "video/quicktime",
        "audio/*",
        "application/pdf",
        "text/plain",
        "text/csv",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.*",
    ],
)

# ------------------------------------------------------------ Telegram, Twilio
# Bot API, Twilio REST API and media downloads; media limits as for Meta above.
TELEGRAM_API_BASE_URL = env.str(
    "TELEGRAM_API_BASE_URL", default="https://api.telegram.org"
)
TWILIO_API_BASE_URL = env.str("TWILIO_API_BASE_URL", default="https://api.twilio.com")
PROVIDER_API_TIMEOUT_SECONDS = env.float("PROVIDER_API_TIMEOUT_SECONDS", default=20.0)

# ------------------------------------------------------------------- chat widget
# A visitor's token lasts this long in their browser; a verified visitor's (a
# logged-in user of the host site) only as long as the inbox's identity_max_age.
WIDGET_TOKEN_MAX_AGE_DAYS = env.int("WIDGET_TOKEN_MAX_AGE_DAYS", default=365)
# How old a host site's signed user id may be, unless the inbox sets its own.
WIDGET_IDENTITY_MAX_AGE_SECONDS = env.int(
    "WIDGET_IDENTITY_MAX_AGE_SECONDS", default=24 * 3600
)
WIDGET_MAX_MESSAGE_CHARS = env.int("WIDGET_MAX_MESSAGE_CHARS", default=5000)
WIDGET_MAX_UPLOAD_BYTES = env.int("WIDGET_MAX_UPLOAD_BYTES", default=10 * 1024 * 1024)
WIDGET_UPLOAD_TYPES = env.list(
    "WIDGET_UPLOAD_TYPES",
    default=[
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "application/pdf",
        "text/plain",
    ],
)
# Limits per visitor ("count/seconds"): messages, new conversations; new
# visitors per client address.
WIDGET_RATE_MESSAGES = env.str("WIDGET_RATE_MESSAGES", default="30/60")
WIDGET_RATE_CONVERSATIONS = env.str("WIDGET_RATE_CONVERSATIONS", default="6/3600")
WIDGET_RATE_VISITORS = env.str("WIDGET_RATE_VISITORS", default="60/3600")
# An agent's desk or a visitor's widget not heard from for this long is away.
WIDGET_ONLINE_SECONDS = env.int("WIDGET_ONLINE_SECONDS", default=75)

# ----------------------------------------------------------------------- REST API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "supportdesk.api.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "supportdesk.api.permissions.TokenScope",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["supportdesk.api.throttles.TokenRateThrottle"],
    # Requests per token, or per user for browser sessions.
    "DEFAULT_THROTTLE_RATES": {"token": env.str("API_RATE_LIMIT", default="1200/min")},
    "DEFAULT_PAGINATION_CLASS": "supportdesk.api.pagination.NewestFirst",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "supportdesk.api.errors.api_exception_handler",
    # JSON nesting past JSON_MAX_DEPTH is a 400 like any malformed body.
    "DEFAULT_PARSER_CLASSES": [
        "supportdesk.api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Support desk API",
    # The description is docs/api.md, put in when the schema is built.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "supportdesk.api.overview.describe_api",
    ],
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's scripts come from the desk's own static files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Several models call a field status or channel with different choices; each
    # set gets its own name in the schema.
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "tickets.models.TicketStatus",
        "ChannelEnum": "supportdesk.registry.timeline_channel_choices",
        "InboundRecordStatusEnum": "channels_app.models.InboundRecord.Status",
        "WebhookDeliveryStatusEnum": "supportdesk.models.WebhookDelivery.Status",
    },
}

# ------------------------------------------------------------- outbound webhooks
# Called with every realtime event an action publishes, inside its transaction:
# outbound webhooks record their deliveries there (nearly free while no endpoint
# subscribes).
EVENT_RECORDERS = ["channels_app.outbound_webhooks.outbox.record"]
# Target addresses in these networks (CIDR) are allowed although loopback,
# private or link-local; any other such address is refused.
WEBHOOK_ALLOWED_TARGET_NETWORKS = env.list(
    "WEBHOOK_ALLOWED_TARGET_NETWORKS", default=[]
)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
# The first retry waits this long, each next one twice as long (an hour at most).
WEBHOOK_RETRY_SECONDS = env.int("WEBHOOK_RETRY_SECONDS", default=10)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)

# ------------------------------------------------------------------------ privacy
# Erasing a customer (tickets.actions.erasure): each app above tickets erases what
# it keeps of the person through these, in the erasure's transaction.
ERASURE_HOOKS = ["channels_app.privacy.erase_customer_data"]
# Retention, in days (0 or empty keeps forever): raw inbound payloads (never
# those still waiting), attachments, and resolved or closed tickets, whose words
# are emptied while their counts and route ledger stay. A beat task purges every
# RETENTION_PURGE_SECONDS, RETENTION_BATCH_SIZE rows per transaction.
RETENTION_INBOUND_DAYS = int(env.str("RETENTION_INBOUND_DAYS", default="") or 0)
RETENTION_ATTACHMENT_DAYS = int(env.str("RETENTION_ATTACHMENT_DAYS", default="") or 0)
RETENTION_RESOLVED_TICKET_DAYS = int(
    env.str("RETENTION_RESOLVED_TICKET_DAYS", default="") or 0
)
RETENTION_BATCH_SIZE = env.int("RETENTION_BATCH_SIZE", default=500)
RETENTION_HOOKS = ["channels_app.privacy.purge_expired_inbound"]

# ------------------------------------------------------------------------ sign-in
# Failed sign-ins are counted per account and per address (django-axes, in the
# database); either reaching the limit within the cool-off locks further tries
# until the cool-off has passed since the last counted failure, or a supervisor
# unlocks it. Only the sign-in form counts: API tokens and the widget never sign
# in with a password. The address is REMOTE_ADDR: behind a proxy, have the
# server take it from the proxy's header (daphne --proxy-headers).
AXES_FAILURE_LIMIT = env.int("SIGN_IN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("SIGN_IN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_CALLABLE = "supportdesk.signin.views.locked_out"
# Tries while locked do not push the end of the lock further out.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# Roles (agent, supervisor, admin) that must use a second factor: an agent of
# such a role without one is sent to set it up before anything else.
TWO_FACTOR_REQUIRED_ROLES = env.list("TWO_FACTOR_REQUIRED_ROLES", default=[])
# The issuer name authenticator apps show beside the agent's username.
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Support desk")
# A signed-in agent not heard from for this long is signed out (0: never).
SESSION_IDLE_TIMEOUT_SECONDS = env.int("SESSION_IDLE_TIMEOUT_SECONDS", default=8 * 3600)

# --------------------------------------------------------------- security headers
# Every page gets this Content-Security-Policy (supportdesk/headers.py) unless its
# view sets one of its own, as the chat widget's frame does (its frame-ancestors
# name the inbox's sites). Scripts and styles come only from the desk's static
# files: nothing inline, so no 'unsafe-inline'. 'self' covers the desk's own
# ws(s):// socket. No page may be framed; violations are logged by /csp-report/.
MIDDLEWARE += ["supportdesk.headers.SecurityHeadersMiddleware"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # data: for the small pictures inside Swagger UI's stylesheet (/api/docs/).
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "report-uri": ["/csp-report/"],
    }
}
# Browser features no desk page uses, switched off for the page and its frames.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
        "serial",
        "hid",
    )
}
# A violation report is at most this large; each address may send this many
# ("count/seconds") before the door answers 429.
CSP_REPORT_MAX_BYTES = env.int("CSP_REPORT_MAX_BYTES", default=16 * 1024)
CSP_REPORT_RATE = env.str("CSP_REPORT_RATE", default="120/60")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
    "loggers": {
        "supportdesk": {"level": env.str("LOG_LEVEL", default="INFO")},
        "channels_app": {"level": env.str("LOG_LEVEL", default="INFO")},
        "tickets": {"level": env.str("LOG_LEVEL", default="INFO")},
    },
}
