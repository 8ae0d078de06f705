"""Settings from environment variables: one list, one README table.

Every process (nameko services and the gateway) reads its configuration through
:func:`load`, which returns a plain dict. Nameko containers receive that dict as
their config, so dependency providers read ``container.config[NAME]``; tests pass
their own dict. The README's configuration table is checked against ``SETTINGS``
by a test, so a new setting cannot go undocumented.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

ROOT = Path(__file__).resolve().parent.parent

SERVICES = ("auth", "accounts", "readings", "payments", "documents", "requests")


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _one_of(*choices: str) -> Callable[[str], str]:
    """A cast that refuses any value but ``choices``."""
    def cast(value: str) -> str:
        value = value.strip()
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}, got {value!r}")
        return value
    return cast


def _int_in(low: int, high: int) -> Callable[[str], int]:
    """A cast to a whole number from ``low`` to ``high``."""
    def cast(value: str) -> int:
        number = int(value)
        if not low <= number <= high:
            raise ValueError(f"must be from {low} to {high}, got {number}")
        return number
    return cast


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str
    cast: Callable[[str], Any] = str


SETTINGS: tuple[Setting, ...] = (
    Setting("NESK_ENV", "development",
            "development, test or production. Production refuses test-only settings."),
    Setting("VAR_DIR", str(ROOT / "var"),
            "Folder for SQLite files, generated dev keys and the file outbox."),
    Setting("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/", "RabbitMQ URL (vhost included)."),
    Setting("RABBIT_MANAGEMENT_URI", "http://guest:guest@127.0.0.1:15672/",
            "RabbitMQ management API: the tests make a vhost per run through it; "
            "`python -m shared.dead_letters list` lists the dead-letter queues."),
    Setting("AUTH_DATABASE_URL", "",
            "Database of the auth service; empty means sqlite:///$VAR_DIR/auth.db. "
            "PostgreSQL: postgresql+psycopg2://user@host/db. Same pattern for every service."),
    Setting("MIGRATE_ON_START", "true", "Apply the service's Alembic migrations when it starts.",
            _bool),
    Setting("SERVICE_MAX_WORKERS", "10", "Concurrent workers per nameko service.", int),
    Setting("DB_POOL_SIZE", "5",
            "Database connections a service process keeps open. A process opens at most "
            "DB_POOL_SIZE + DB_MAX_OVERFLOW; keep (that) × (service processes, replicas "
            "included) under PostgreSQL's max_connections (100 by default, 3 reserved): the "
            "defaults give 10 per process, 60 for the six service processes of `make run`; "
            "two replicas of each need 3 + 3 or a larger max_connections. A worker "
            "beyond the budget waits for a connection (up to 30 s).", int),
    Setting("DB_MAX_OVERFLOW", "5",
            "Connections a service process may open beyond DB_POOL_SIZE at a peak (closed "
            "again when returned).", int),
    Setting("OUTBOX_RELAY_INTERVAL", "5",
            "Seconds between the outbox relay's fallback passes. A commit that adds events wakes "
            "the relay at once; the poll only picks up what no commit in this process announced "
            "(another replica's rows while it was busy, rows left by a crash, a broker that was "
            "down).", float),
    Setting("OUTBOX_MAX_ATTEMPTS", "5",
            "Failed publishes of one outbox event, for a reason of its own (the broker refuses "
            "it), before it is parked and the events behind it go on; an unreachable broker "
            "parks nothing. `python -m shared.outbox parked|requeue <service>`.", int),
    Setting("OPTIONAL_CALL_TIMEOUT", "3",
            "Seconds a service waits for another's answer it can do without (the charge "
            "estimate, the header balance) before answering without it.", float),
    Setting("SERVICE_CALL_TIMEOUT", "10",
            "Seconds a service-to-service call may take when its worker has no deadline of the "
            "gateway's (an event handler, a timer); with one, a call gets what is left of it.",
            float),
    Setting("IDEMPOTENCY_KEY_HOURS", "24",
            "Hours a creating request's Idempotency-Key is kept: within them the same key "
            "returns the first answer; then the service deletes it and the key is free again.",
            float),
    Setting("CONSUMER_RETRY_ATTEMPTS", "5",
            "Retries of an event handler that failed transiently (database or broker dropped, "
            "a service down) before its message goes to the dead-letter queue <queue>.dead.",
            int),
    Setting("CONSUMER_RETRY_DELAY", "1",
            "Seconds before an event handler's first retry; doubled at each next one.", float),
    Setting("CONSUMER_RETRY_MAX_DELAY", "60",
            "Longest wait before an event handler's retry, seconds.", float),
    Setting("LOG_LEVEL", "INFO", "Log level of every process (JSON lines on stderr)."),
    Setting("METRICS_PORT", "0",
            "Port of a service process's Prometheus /metrics and its probes /livez, /readyz (one "
            "per process: `make run` gives them 9101-9106); 0: none. The gateway and the web cabinet serve GET /metrics on "
            "their own port.", int),
    Setting("METRICS_HOST", "127.0.0.1",
            "Address a service's /metrics listens on (0.0.0.0 in a container, for Prometheus)."),
    Setting("SECRET_KEY", "dev-secret-change-me",
            "HMAC pepper for one-time codes and captcha answers. Must be set in production."),
    Setting("JWT_PRIVATE_KEY_FILE", "",
            "PEM RSA private key (auth only). Empty in development: a key pair is generated "
            "under $VAR_DIR/keys."),
    Setting("JWT_PUBLIC_KEY_FILE", "",
            "PEM RSA public key, used by the gateway and services to verify access tokens."),
    Setting("JWT_ISSUER", "nesk-portal", "iss claim of access tokens."),
    Setting("ACCESS_TOKEN_TTL", "600", "Access token lifetime, seconds.", int),
    Setting("REFRESH_TOKEN_TTL", "2592000", "Refresh token lifetime, seconds (30 days).", int),
    Setting("PASSWORD_MIN_LENGTH", "6", "Minimum password length (the manual says 6).", int),
    Setting("CAPTCHA_TTL", "300", "Captcha lifetime, seconds.", int),
    Setting("CAPTCHA_TEST_ANSWER", "",
            "Tests only: every captcha accepts this answer. Refused when NESK_ENV=production."),
    Setting("SMS_CODE_TTL", "300", "SMS code lifetime, seconds.", int),
    Setting("SMS_CODE_ATTEMPTS", "5", "Wrong entries allowed per SMS code.", int),
    Setting("SMS_RESEND_COOLDOWN", "60", "Seconds before another code to the same phone.", int),
    Setting("SMS_PER_PHONE_HOURLY", "5", "Codes per phone number per hour.", int),
    Setting("SMS_PER_IP_HOURLY", "20", "Codes requested from one IP address per hour.", int),
    Setting("EMAIL_LINK_TTL", "86400", "Lifetime of e-mail confirmation and reset links, seconds.",
            int),
    Setting("LOGIN_SLOWDOWN_AFTER", "3",
            "Failed logins of one identity after which each try must wait 2^n seconds.", int),
    Setting("LOGIN_LOCK_AFTER", "10", "Failed logins after which the identity is locked.", int),
    Setting("LOGIN_LOCK_SECONDS", "900", "How long a locked identity stays locked.", int),
    Setting("LOGIN_PER_IP_LIMIT", "30",
            "Failed logins from one client address within LOGIN_PER_IP_WINDOW after which its "
            "logins get 429; the failures beyond it do not count towards any identity's lock.",
            int),
    Setting("LOGIN_PER_IP_WINDOW", "3600",
            "The sliding window of LOGIN_PER_IP_LIMIT, seconds.", int),
    Setting("PD_CONSENT_VERSION", "2025-09-01",
            "Version of the personal-data consent a new user must accept: the date of its "
            "text, which is services/auth/consent/<version>.txt (auth refuses to start without "
            "it; GET /api/v1/auth/consent gives it)."),
    Setting("PUBLIC_URL", "http://127.0.0.1:8000",
            "Base URL of the web cabinet: every link in a letter or SMS lands on one of its pages."),
    Setting("SMS_BACKEND", "file", "file (JSON files in $VAR_DIR/outbox) or twilio."),
    Setting("TWILIO_ACCOUNT_SID", "", "Twilio account SID."),
    Setting("TWILIO_AUTH_TOKEN", "", "Twilio auth token."),
    Setting("TWILIO_FROM", "", "Sender number or messaging service SID."),
    Setting("TWILIO_API_BASE", "",
            "Override of https://api.twilio.com (tests point it at a local fake)."),
    Setting("EMAIL_BACKEND", "file", "file (JSON files in $VAR_DIR/outbox) or smtp."),
    Setting("SMTP_HOST", "127.0.0.1", "SMTP server host."),
    Setting("SMTP_PORT", "25", "SMTP server port.", int),
    Setting("SMTP_USER", "", "SMTP login (empty: no AUTH)."),
    Setting("SMTP_PASSWORD", "", "SMTP password."),
    Setting("SMTP_STARTTLS", "false", "Use STARTTLS.", _bool),
    Setting("SMTP_FROM", "ЛК НЭСК <no-reply@nesk.ru>", "From header of e-mail."),
    Setting("ACCOUNTS_BRANCHES_FILE", "",
            "JSON file of the supplier and its branches (филиалы); empty: the НЭСК list shipped "
            "in services/accounts/branches.json."),
    Setting("LINK_ATTEMPTS_HOURLY", "10",
            "Failed «Добавить лицевой счёт» attempts a user may make per hour.", int),
    Setting("READING_WINDOW_START_DAY", "15",
            "First day of the month readings are accepted (Кубань: 23; most suppliers: 15).", int),
    Setting("HIGH_CONSUMPTION_FACTOR", "3",
            "A reading whose consumption exceeds this many times the usual monthly average "
            "needs the customer's confirmation.", float),
    Setting("READING_WINDOW_END_DAY", "25",
            "Last day of the month readings are accepted for that month.", int),
    Setting("OCR_PRELOAD", "true",
            "Load the OCR model when an OCR worker process starts (not on its first photo); "
            "false only in tests that never read photos. The readings service never loads it.",
            _bool),
    Setting("OCR_WORKERS", "1",
            "OCR worker processes `python -m services.readings.ocr_worker` runs (each loads "
            "the model once, ~0.6–1 GB, and reads one photo at a time). On Kubernetes keep 1 "
            "and scale the ocr-worker Deployment's replicas instead.", int),
    Setting("READING_REMINDER_DAYS", "3",
            "Days before the window closes when accounts without a reading get a reminder.",
            int),
    Setting("PHOTO_RETENTION_HOURS", "24",
            "Hours a bill photo sent for OCR is kept when it did not become a reading (an "
            "attempt): then a timer of readings deletes it. The photo of a submitted reading "
            "stays with the reading.", float),
    Setting("SUPPLIER_TIMEZONE", "Europe/Moscow",
            "Time zone of the supplier: the days of the reading window, dates in the operators' "
            "filters, times of works."),
    Setting("REQUEST_ATTACHMENTS_MAX", "5", "Files per request or message (paper-clip).", int),
    Setting("REQUEST_ATTACHMENT_MAX_BYTES", "5242880",
            "Largest attached file (JPEG, PNG or PDF), bytes; a whole message also stays under "
            "MAX_UPLOAD_BYTES.", int),
    Setting("REQUESTS_FILES_DIR", "",
            "Folder of request attachments; empty: $VAR_DIR/requests-files."),
    Setting("FILE_STORAGE", "local",
            "Where services keep files (attachments, documents, bill PDFs): local (the "
            "<SERVICE>_FILES_DIR folders) or s3 (an S3-compatible store, a key prefix per "
            "service)."),
    Setting("S3_ENDPOINT_URL", "",
            "S3-compatible store's address (MinIO, Yandex Object Storage...); empty: AWS."),
    Setting("S3_BUCKET", "", "Bucket of FILE_STORAGE=s3 (must exist)."),
    Setting("S3_ACCESS_KEY", "", "Access key of the S3 store (empty: boto3's usual lookup)."),
    Setting("S3_SECRET_KEY", "", "Secret key of the S3 store."),
    Setting("S3_REGION", "", "Region of the S3 store (empty: the client's default)."),
    Setting("DOCUMENTS_FILES_DIR", "",
            "Folder of uploaded documents and cached bill PDFs; empty: $VAR_DIR/documents-files."),
    Setting("DOCUMENT_MAX_BYTES", "5242880",
            "Largest document a customer uploads (JPEG, PNG or PDF), bytes.", int),
    Setting("DOCUMENTS_PENDING_MAX", "10",
            "Documents of one account that may wait for review at once.", int),
    Setting("PAYMENT_PROVIDER", "sandbox",
            "Card payments: sandbox (a card form with test cards, for development), stripe "
            "(suppliers abroad) or yookassa (Russian suppliers: Мир cards, СБП, 54-ФЗ receipts)."),
    Setting("STRIPE_API_KEY", "", "Stripe secret key (PAYMENT_PROVIDER=stripe)."),
    Setting("STRIPE_WEBHOOK_SECRET", "",
            "Signing secret of the Stripe webhook endpoint POST /api/v1/payments/webhooks/stripe."),
    Setting("STRIPE_API_BASE", "", "Stripe API address; empty: Stripe itself (tests: a fake)."),
    Setting("YOOKASSA_SHOP_ID", "", "ЮKassa shop id (PAYMENT_PROVIDER=yookassa)."),
    Setting("YOOKASSA_SECRET_KEY", "", "ЮKassa secret key of the shop (PAYMENT_PROVIDER=yookassa)."),
    Setting("YOOKASSA_API_URL", "https://api.yookassa.ru/v3",
            "ЮKassa API address (tests: a local fake)."),
    Setting("YOOKASSA_CHECK_IP", "true",
            "Accept ЮKassa notifications only from its published addresses (a notification is "
            "only a hint: the payment is always read back from the API).", _bool),
    Setting("RECEIPT_TAX_SYSTEM_CODE", "1",
            "54-ФЗ receipts: the supplier's tax system (1 ОСН, 2 УСН доходы, 3 УСН доходы минус "
            "расходы, 5 ЕСХН, 6 ПСН).", _int_in(1, 6)),
    Setting("RECEIPT_VAT_CODE", "11",
            "54-ФЗ receipts: VAT code of electricity (ЮKassa's codes: 1 без НДС, 4 20 %, "
            "11 22 %, 12 22/122).", _int_in(1, 12)),
    Setting("RECEIPT_PENALTY_VAT_CODE", "1",
            "54-ФЗ receipts: VAT code of penalties (пени; 1 без НДС).", _int_in(1, 12)),
    Setting("RECEIPT_PAYMENT_SUBJECT", "commodity",
            "54-ФЗ receipts: payment_subject of electricity (commodity, service…).",
            _one_of("commodity", "service", "payment", "another")),
    Setting("RECEIPT_PENALTY_PAYMENT_SUBJECT", "another",
            "54-ФЗ receipts: payment_subject of penalties.",
            _one_of("commodity", "service", "payment", "another")),
    Setting("RECEIPT_PAYMENT_MODE", "full_payment",
            "54-ФЗ receipts: payment_mode (full_payment; credit_payment if the supplier's "
            "accountant treats paying for energy already delivered as «оплата кредита»).",
            _one_of("full_payment", "full_prepayment", "credit_payment")),
    Setting("SANDBOX_WEBHOOK_SECRET", "sandbox-dev-secret",
            "HMAC secret of the sandbox provider's signed events."),
    Setting("SANDBOX_FORM_URL", "",
            "The sandbox's card form ({ref}: the provider's payment id); empty: the web "
            "cabinet's page $PUBLIC_URL/pay/card/{ref}, which posts the card to "
            "POST /api/v1/payments/sandbox/{ref}."),
    Setting("BILLING_CHARGES", "true",
            "Take charges posted by billing (billing.charge_posted).", _bool),
    Setting("BUILTIN_ACCRUAL", "true",
            "Charge each month from readings and tariffs (suppliers without a billing; demo).",
            _bool),
    Setting("TARIFFS_FILE", "",
            "JSON file of dated tariffs; empty: services/payments/reference/tariffs.json."),
    Setting("PENALTY_DECREE_RULE", "payment_day",
            "Whose day chooses the decree's penalty rate rule (ПП №474, №1681 and extensions): "
            "payment_day (the usual reading: the rule in force on the day of payment, for every "
            "day of the debt) or accrual_day (the rule in force on each day the penalty accrues).",
            _one_of("payment_day", "accrual_day")),
    Setting("KEY_RATES_FILE", "",
            "CSV of the Bank of Russia key rate by date; empty: the table shipped with payments "
            "(update it with `python -m services.payments.cli key-rate`)."),
    Setting("PAYMENT_RECONCILE_MINUTES", "15",
            "A payment left open this long is checked with the provider.", float),
    Setting("GATEWAY_BIND", "127.0.0.1:8080", "Address the gateway (the HTTP API) listens on."),
    Setting("GATEWAY_WORKERS", "2", "gunicorn worker processes.", int),
    Setting("GATEWAY_THREADS", "16", "Threads per worker; also the RPC proxy pool size.", int),
    Setting("RPC_TIMEOUT", "10",
            "Deadline of a request's RPC call, seconds: the gateway answers 503 after it, and "
            "the request (with the calls it makes) expires with it.", float),
    Setting("READY_TIMEOUT", "2", "Seconds /readyz waits for each service's ping.", float),
    Setting("READY_CACHE_SECONDS", "1",
            "/readyz answers from its last check this long (one check at a time per gateway "
            "process, however often it is polled).", float),
    Setting("MAX_JSON_BYTES", "65536", "Largest JSON request body the gateway accepts.", int),
    Setting("MAX_UPLOAD_BYTES", "14680064",
            "Largest upload (a photo, base64 in JSON) the gateway accepts (14 MiB: a 10 MB image).",
            int),
    Setting("TRUSTED_PROXIES", "0",
            "Reverse proxies in front of the gateway whose X-Forwarded-For is trusted.", int),
    Setting("WEB_BIND", "127.0.0.1:8000", "Address the web cabinet listens on."),
    Setting("WEB_WORKERS", "2", "gunicorn worker processes of the web cabinet.", int),
    Setting("WEB_THREADS", "8", "Threads per web cabinet worker.", int),
    Setting("GATEWAY_URL", "http://127.0.0.1:8080",
            "Where the web cabinet reaches the gateway's public API (it adds /api/v1)."),
    Setting("WEB_API_TIMEOUT", "15",
            "Seconds the web cabinet waits for an answer of the API (a photo's OCR included).",
            float),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def load(env: Mapping[str, str] | None = None, **overrides: Any) -> dict[str, Any]:
    """Read every setting from ``env`` (default: the process environment), cast and check it."""
    env = os.environ if env is None else env
    config: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = env.get(setting.name, setting.default)
        config[setting.name] = setting.cast(raw)
    config.update(overrides)
    var_dir = Path(config["VAR_DIR"])
    # Production has no SQLite fallback: a missing URL stays empty and database_url refuses it.
    fallback = config["NESK_ENV"] != "production"
    for service in SERVICES:
        key = f"{service.upper()}_DATABASE_URL"
        config[key] = (overrides.get(key) or env.get(key)
                       or (f"sqlite:///{var_dir / (service + '.db')}" if fallback else ""))
    check(config)
    return config


class ConfigurationError(RuntimeError):
    """A setting has a value this process must not run with."""


# Secrets whose value, when set, must not be a placeholder copied from an example.
SECRETS = ("SECRET_KEY", "STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET", "TWILIO_AUTH_TOKEN",
           "SMTP_PASSWORD", "S3_SECRET_KEY", "YOOKASSA_SECRET_KEY")
SECRET_KEY_MIN_LENGTH = 32
PLACEHOLDER = re.compile(r"change.?me|replace|placeholder|dummy|^x+$", re.IGNORECASE)
# Settings only for development and tests, each with the value production refuses.
NOT_IN_PRODUCTION = {"SMS_BACKEND": "file", "EMAIL_BACKEND": "file", "PAYMENT_PROVIDER": "sandbox"}


def check(config: Mapping[str, Any]) -> None:
    """Refuse combinations that are unsafe in production, naming the variable to change."""
    if config.get("NESK_ENV") != "production":
        return
    if config.get("CAPTCHA_TEST_ANSWER"):
        raise ConfigurationError("CAPTCHA_TEST_ANSWER must not be set when NESK_ENV=production")
    secret_key = config.get("SECRET_KEY") or ""
    if secret_key == _BY_NAME["SECRET_KEY"].default or len(secret_key) < SECRET_KEY_MIN_LENGTH:
        raise ConfigurationError(f"SECRET_KEY must be set to {SECRET_KEY_MIN_LENGTH} or more "
                                 "random characters when NESK_ENV=production")
    for name in SECRETS:
        if PLACEHOLDER.search(str(config.get(name) or "")):
            raise ConfigurationError(f"{name} is a placeholder: set the real value "
                                     "(NESK_ENV=production)")
    if not config.get("JWT_PRIVATE_KEY_FILE") and not config.get("JWT_PUBLIC_KEY_FILE"):
        raise ConfigurationError("JWT key files must be set when NESK_ENV=production")
    for name, refused in NOT_IN_PRODUCTION.items():
        if config.get(name) == refused:
            raise ConfigurationError(f"{name}={refused} is for development and tests only: "
                                     "refused when NESK_ENV=production")
    for service in SERVICES:
        key = f"{service.upper()}_DATABASE_URL"
        if str(config.get(key) or "").startswith("sqlite"):
            raise ConfigurationError(f"{key} is SQLite: PostgreSQL is required when "
                                     "NESK_ENV=production")


def database_url(config: Mapping[str, Any], service: str) -> str:
    """The service's database URL; refused when production left it unset (no SQLite there)."""
    key = f"{service.upper()}_DATABASE_URL"
    if not config.get(key):
        raise ConfigurationError(f"{key} must be set (NESK_ENV=production: no SQLite "
                                 "fallback)")
    return config[key]
