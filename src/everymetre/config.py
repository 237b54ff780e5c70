"""Settings read from the environment, in one place.

EVERYMETRE_DATABASE_URL  SQLAlchemy URL (default sqlite:///./everymetre.db)
EVERYMETRE_DATA_DIR      evidence files and the generated secret key (default ./data)
EVERYMETRE_SECRET_KEY    signs API tokens and page sessions (default: generated once into DATA_DIR/secret.key)
EVERYMETRE_THREADS       threads per server worker for requests that use the database (default 4)
EVERYMETRE_PHOTOS_CLOSEUP_REQUIRED / EVERYMETRE_PHOTOS_WIDE_REQUIRED  photos needed to submit (default 1 each)
EVERYMETRE_SECOND_APPROVAL_ABOVE_KOPIYKAS  payment batches above this total need two approvals (default 100000000)
EVERYMETRE_PAYER_IBAN / EVERYMETRE_PAYER_NAME  the programme's paying account in pain.001 files (a demo account)
EVERYMETRE_PAYOUT_BANKS  the banks where a claimant may hold the eRecovery payout account, "MFO=Name;MFO=Name"
                         (the IBAN's characters 5-10 are the MFO; default: DEFAULT_PAYOUT_BANKS below)
EVERYMETRE_AWARD_SECOND_APPROVAL_ABOVE_KOPIYKAS  any award above this needs a second commission member's approval
                         (default 30000000, UAH 300,000); so does any award above the computed amount or the tier cap
EVERYMETRE_CRASH_AT      crash tests only: `pay` commands die at this step (see payments.cli)
EVERYMETRE_ENV           development (default) or production: production refuses to start when unsafe (ops.checks)
EVERYMETRE_PUBLIC_URL    the https address citizens use (e.g. https://everymetre.example.gov.ua); https turns on HSTS
EVERYMETRE_METRICS_TOKEN bearer token an operator's Prometheus sends to /metrics (unset: /metrics is 404)
EVERYMETRE_LOG_FORMAT    json (default) or console: how log lines are written
EVERYMETRE_LOG_SIGNING_KEY  the public log's Ed25519 private key, base64 of its 32-byte seed (default: generated
                         once into DATA_DIR/log-signing.key)
EVERYMETRE_LOG_ORIGIN    the public log's name, the first line of every signed tree head (default everymetre/log)
EVERYMETRE_PUBLIC_MIN_COUNT  published statistics suppress any cell counting fewer people than this (default 10)
EVERYMETRE_PUBLIC_CACHE_SECONDS  the public pages reuse computed statistics this long per worker (default 300)
EVERYMETRE_LINKAGE_FLAG_SCORE  linkage findings scoring at least this put their claims in review (default 0.6)
EVERYMETRE_LINKAGE_MATCH_PERCENT  a person pair with at least this match probability is the same person (90);
                         both are defaults an administrator may change per programme (/admin/settings)
EVERYMETRE_SIGNIN_MAX_FAILURES(_ADDRESS)  failed sign-ins per e-mail (5) / per client address (20) before a lock
EVERYMETRE_SIGNIN_LOCK_MINUTES            how long the lock lasts (15)
EVERYMETRE_SMTP_URL      e-mail out: smtp://host:port, smtp+starttls://user:pass@host:port or smtps://user:pass@host:port
                         (unset: no e-mail); EVERYMETRE_SMTP_FROM the sender (default everymetre <noreply@everymetre.local>)
EVERYMETRE_SMS_URL       SMS gateway endpoint (TurboSMS-style JSON API; unset: no SMS), EVERYMETRE_SMS_KEY its token,
                         EVERYMETRE_SMS_SENDER the sender name
EVERYMETRE_WORKER_POLL_SECONDS   how often an idle worker looks for work (default 5)
EVERYMETRE_WORKER_LEASE_SECONDS  how long a worker holds a message it is sending before another may (default 120)
EVERYMETRE_WORKER_MAX_ATTEMPTS   tries before a message is marked failed (default 8; back-off doubles from 30 s)
EVERYMETRE_BODY_MAX_BYTES         largest JSON or form body, uploads aside (default 1 MiB)
EVERYMETRE_EVIDENCE_MAX_BYTES     largest evidence file (default 20 MiB)
EVERYMETRE_UPLOAD_MAX_FILES       files in one page upload (default 5)
EVERYMETRE_PHOTO_MAX_DISTANCE_M   a photo taken farther than this from the home is flagged (default 1000)
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# Banks taking part in eRecovery (their IBAN bank code, the MFO, and name). Public lists change; replace it
# with the programme's own through EVERYMETRE_PAYOUT_BANKS.
DEFAULT_PAYOUT_BANKS: tuple[tuple[str, str], ...] = (
    ("305299", "ПриватБанк"),
    ("300465", "Ощадбанк"),
    ("322001", "Універсал Банк (monobank)"),
    ("380805", "Райффайзен Банк"),
    ("320478", "Укргазбанк"),
    ("334851", "ПУМБ"),
    ("307770", "А-Банк"),
    ("300346", "Сенс Банк"),
    ("322313", "Укрексімбанк"),
)


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///./everymetre.db"
    data_dir: Path = Path("./data")
    secret_key: str | None = None
    token_minutes: int = 8 * 60
    # Requests that use the database run in a thread pool. Few threads per worker: requests hold the GIL most
    # of their time, and more threads only contend for it (bench/intake.py prints the CPU per request; anyio's
    # default of 40 measured more per submission). Raise it when requests wait on slow I/O rather than compute.
    threads: int = 4
    # programme policy, configurable because the law does not fix it (docs/domain.md)
    suspension_default_days: int = 30
    suspension_max_days: int = 90
    appeal_window_days: int = 60
    decision_due_days: int = 30
    evidence_max_bytes: int = 20 * 1024 * 1024
    # request bodies are refused (413) past these before they are parsed (api/limits.py)
    body_max_bytes: int = 1024 * 1024
    upload_max_files: int = 5
    # a photo whose EXIF position is farther than this from the home is flagged for the officer
    photo_max_distance_m: int = 1000
    idempotency_hours: int = 24  # how long the first result of an Idempotency-Key is replayed
    # photos the law asks for before a claim can be submitted (Resolution 380: close-up and wide views)
    photos_closeup_required: int = 1
    photos_wide_required: int = 1
    # remote verification from photos needs this many photos whose own location (EXIF GPS) is within
    # remote_photo_max_distance_m of the home's coordinates (claims/evidence_rules.py)
    remote_photos_required: int = 1
    remote_photo_max_distance_m: int = 10
    # tests only: the importer exits (os._exit) after committing this many batches, to prove a crash loses nothing
    crash_after_batches: int = 0
    # payments
    second_approval_above_kopiykas: int = 100_000_000  # UAH 1,000,000.00
    payer_iban: str | None = None  # None: a demo account (payments.batches.debtor_account)
    payer_name: str = "eRecovery programme account"
    payout_banks: tuple[tuple[str, str], ...] = DEFAULT_PAYOUT_BANKS  # (MFO, name) where payout accounts may be
    award_second_approval_above_kopiykas: int = 30_000_000  # UAH 300,000.00 (claims.awards)
    statement_max_bytes: int = 100 * 1024 * 1024  # a camt.053 upload (about 700 bytes an entry: 100,000 entries fit)
    crash_at: str | None = None  # crash tests: the step at which `pay` commands kill themselves
    # repair money (payments.card_transactions, payments.repair_reports): the merchant categories whose card
    # spending counts (building materials, paint and wallpaper, contractors), tier B's first payment's share,
    # the photos a repair report may hold and the largest card-transaction file the API accepts
    repair_counted_mccs: tuple[str, ...] = ("5211", "5231", "1520")
    repair_first_tranche_percent: int = 70
    repair_report_max_files: int = 10
    card_transactions_max_bytes: int = 256 * 1024 * 1024
    # housing certificates: a file of KATOTTG codes (combat-zone or occupied hromadas) where a certificate
    # may not buy a home (None: the example list shipped in payments/data/excluded_hromadas.csv); public
    # certificate checks from one address per sign-in window
    excluded_hromadas_file: Path | None = None
    certificate_checks_per_address: int = 20
    # operations (ops/): production mode, the public address, the metrics token, log format
    env: str = "development"
    public_url: str | None = None
    # Sign-in through an OpenID Connect provider (a state identity service such as BankID or Diia, or the
    # organisation's staff directory): the issuer's URL (discovery at /.well-known/openid-configuration), this
    # service's client id and secret; off while the issuer is unset. Accounts are matched by the provider's
    # subject, else by a verified e-mail; staff accounts are never made by a sign-in, claimant accounts only
    # with oidc_create_claimants.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_scopes: str = "openid email profile"
    oidc_label: str = ""  # the provider's name on the sign-in button ("" : a general wording)
    oidc_create_claimants: bool = False
    # Verified identity (claims.identity, docs/identity.md): what proves, besides the RNOKPP, that an account is
    # that person: "birth_date" (the date of birth the claims hold; a pilot's factor) or "oidc" (the identity
    # provider's ID token carries the RNOKPP in the claim `oidc_rnokpp_claim`: verified at sign-in)
    identity_second_factor: str = "birth_date"
    oidc_rnokpp_claim: str = "rnokpp"
    metrics_token: str | None = None
    log_format: str = "json"

    @property
    def linkage_flag_percent(self) -> int:
        return round(self.linkage_flag_score * 100)

    @property
    def production(self) -> bool:
        return self.env == "production"
    # the public transparency log and open statistics (everymetre.transparency)
    log_signing_key: str | None = None
    log_origin: str = "everymetre/log"
    public_min_count: int = 10
    public_cache_seconds: int = 300
    linkage_flag_score: float = 0.6
    # a person pair at or above this match probability (per cent) is a match (programme setting, linkage.run)
    linkage_match_percent: int = 90
    # sign-in: a page session lasts this long; throttling of failed sign-ins and of sign-ups (accounts.throttle)
    session_minutes: int = 12 * 60
    signin_max_failures_account: int = 5  # failed sign-ins of one e-mail within the window lock it
    signin_max_failures_address: int = 20  # ... and from one client address
    signin_window_minutes: int = 15
    signin_lock_minutes: int = 15
    signup_max_per_address: int = 10  # sign-ups from one address per window of `signin_window_minutes` x 4
    password_reset_minutes: int = 60
    # sign-ups confirmed by an e-mailed link before the account exists ("auto": whenever SMTP is configured), so
    # a sign-up never shows whether an e-mail has an account; "off" signs the new account in at once (development)
    signup_confirm: str = "auto"
    signup_confirm_hours: int = 24
    # the proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (uvicorn's forwarded_allow_ips): the
    # client address the sign-in throttle counts comes from them; "" believes nobody, "*" everybody (never in front
    # of the internet)
    forwarded_allow_ips: str = "127.0.0.1,::1"
    # how long an idle keep-alive connection stays open: longer than any client's or proxy's own idle limit (httpx
    # 5 s, nginx's upstream keepalive_timeout 60 s), so the client always closes first and never sends a request
    # into a connection the server is closing (the soak's dropped connections)
    keepalive_seconds: int = 75
    # notifications (everymetre.notifications): a channel whose URL is unset is off; the inbox is always on
    smtp_url: str | None = None
    smtp_from: str = "everymetre <noreply@everymetre.local>"
    sms_url: str | None = None
    sms_key: str | None = None
    sms_sender: str = "everymetre"
    worker_poll_seconds: float = 5.0
    worker_lease_seconds: int = 120
    worker_max_attempts: int = 8
    worker_backoff_seconds: int = 30

    @property
    def confirms_signups(self) -> bool:
        return self.signup_confirm == "on" or (self.signup_confirm == "auto" and bool(self.smtp_url))

    @property
    def evidence_dir(self) -> Path:
        return self.data_dir / "evidence"

    @property
    def log_key_file(self) -> Path:
        return self.data_dir / "log-signing.key"

    def signing_key(self) -> str:
        return self.secret_key or _key_file(self.data_dir.resolve())


@lru_cache(maxsize=8)
def _key_file(data_dir: Path) -> str:
    """The generated signing key in DATA_DIR/secret.key (created once; read once per process)."""
    path = data_dir / "secret.key"
    private_dir(path.parent)
    try:  # O_EXCL: when several workers start at once, exactly one writes the key and all read it
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    for _ in range(100):  # another worker may have created the file and not yet written it
        if key := path.read_text().strip():
            return key
        time.sleep(0.01)
    raise SystemExit(f"error: {path} is empty; delete it or set EVERYMETRE_SECRET_KEY")


def private_dir(path: Path) -> Path:
    """Create the folder (and any missing parents) readable by this account only (0700): it holds personal
    data. A folder made earlier with a wider mode is narrowed when it is ours."""
    missing = []
    for p in (path, *path.parents):
        if p.exists():
            break
        missing.append(p)
    for p in reversed(missing):
        p.mkdir(mode=0o700, exist_ok=True)
    if path.stat().st_mode & 0o077 and path.stat().st_uid == os.getuid():
        path.chmod(0o700)
    return path


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"error: {name}={raw!r} is not a whole number") from None


def _choice_env(name: str, choices: tuple[str, ...]) -> str:
    """One of `choices` (the first is the default); anything else exits with a message."""
    raw = (os.environ.get(name) or choices[0]).strip().lower()
    if raw not in choices:
        raise SystemExit(f"error: {name}={raw!r} is not one of {', '.join(choices)}")
    return raw
def _score_env(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"error: {name}={raw!r} is not a number such as {default}") from None
    if not 0.0 <= value <= 1.0:
        raise SystemExit(f"error: {name}={raw!r} is not between 0 and 1")
    return value
def _banks_env(name: str) -> tuple[tuple[str, str], ...]:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return DEFAULT_PAYOUT_BANKS
    banks = []
    for part in raw.split(";"):
        code, _, bank = part.partition("=")
        code, bank = code.strip(), bank.strip()
        if not part.strip():
            continue
        if len(code) != 6 or not code.isdigit() or not bank:
            raise SystemExit(f"error: {name}: {part.strip()!r} is not MFO=Name (a 6-digit bank code, then the name)")
        banks.append((code, bank))
    if not banks:
        raise SystemExit(f"error: {name} names no bank")
    return tuple(banks)


def _float_env(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SystemExit(f"error: {name}={raw!r} is not a number") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings(
        database_url=os.environ.get("EVERYMETRE_DATABASE_URL") or "sqlite:///./everymetre.db",
        data_dir=Path(os.environ.get("EVERYMETRE_DATA_DIR") or "./data"),
        secret_key=os.environ.get("EVERYMETRE_SECRET_KEY") or None,
        threads=max(1, _int_env("EVERYMETRE_THREADS", 4)),
        suspension_default_days=_int_env("EVERYMETRE_SUSPENSION_DAYS", 30),
        suspension_max_days=_int_env("EVERYMETRE_SUSPENSION_MAX_DAYS", 90),
        appeal_window_days=_int_env("EVERYMETRE_APPEAL_DAYS", 60),
        evidence_max_bytes=max(1, _int_env("EVERYMETRE_EVIDENCE_MAX_BYTES", 20 * 1024 * 1024)),
        body_max_bytes=max(1024, _int_env("EVERYMETRE_BODY_MAX_BYTES", 1024 * 1024)),
        upload_max_files=max(1, _int_env("EVERYMETRE_UPLOAD_MAX_FILES", 5)),
        photo_max_distance_m=max(1, _int_env("EVERYMETRE_PHOTO_MAX_DISTANCE_M", 1000)),
        crash_after_batches=_int_env("EVERYMETRE_CRASH_AFTER_BATCHES", 0),
        photos_closeup_required=max(0, _int_env("EVERYMETRE_PHOTOS_CLOSEUP_REQUIRED", 1)),
        photos_wide_required=max(0, _int_env("EVERYMETRE_PHOTOS_WIDE_REQUIRED", 1)),
        remote_photos_required=max(0, _int_env("EVERYMETRE_REMOTE_PHOTOS_REQUIRED", 1)),
        remote_photo_max_distance_m=max(1, _int_env("EVERYMETRE_REMOTE_PHOTO_MAX_DISTANCE_M", 10)),
        second_approval_above_kopiykas=_int_env("EVERYMETRE_SECOND_APPROVAL_ABOVE_KOPIYKAS", 100_000_000),
        payer_iban=os.environ.get("EVERYMETRE_PAYER_IBAN") or None,
        payer_name=os.environ.get("EVERYMETRE_PAYER_NAME") or "eRecovery programme account",
        payout_banks=_banks_env("EVERYMETRE_PAYOUT_BANKS"),
        award_second_approval_above_kopiykas=max(0, _int_env("EVERYMETRE_AWARD_SECOND_APPROVAL_ABOVE_KOPIYKAS", 30_000_000)),
        statement_max_bytes=max(1024, _int_env("EVERYMETRE_STATEMENT_MAX_BYTES", 100 * 1024 * 1024)),
        crash_at=os.environ.get("EVERYMETRE_CRASH_AT") or None,
        repair_counted_mccs=tuple(m.strip() for m in (os.environ.get("EVERYMETRE_REPAIR_COUNTED_MCCS") or "5211,5231,1520")
                                  .split(",") if m.strip()),
        repair_first_tranche_percent=min(100, max(1, _int_env("EVERYMETRE_REPAIR_FIRST_TRANCHE_PERCENT", 70))),
        repair_report_max_files=max(1, _int_env("EVERYMETRE_REPAIR_REPORT_MAX_FILES", 10)),
        card_transactions_max_bytes=max(1024, _int_env("EVERYMETRE_CARD_TRANSACTIONS_MAX_BYTES", 256 * 1024 * 1024)),
        excluded_hromadas_file=Path(os.environ["EVERYMETRE_EXCLUDED_HROMADAS_FILE"])
        if os.environ.get("EVERYMETRE_EXCLUDED_HROMADAS_FILE") else None,
        certificate_checks_per_address=max(1, _int_env("EVERYMETRE_CERTIFICATE_CHECKS_PER_ADDRESS", 20)),
        env=_choice_env("EVERYMETRE_ENV", ("development", "production")),
        public_url=os.environ.get("EVERYMETRE_PUBLIC_URL") or None,
        oidc_issuer=(os.environ.get("EVERYMETRE_OIDC_ISSUER") or "").rstrip("/") or None,
        oidc_client_id=os.environ.get("EVERYMETRE_OIDC_CLIENT_ID") or None,
        oidc_client_secret=os.environ.get("EVERYMETRE_OIDC_CLIENT_SECRET") or None,
        oidc_scopes=os.environ.get("EVERYMETRE_OIDC_SCOPES") or "openid email profile",
        oidc_label=os.environ.get("EVERYMETRE_OIDC_LABEL") or "",
        oidc_create_claimants=(os.environ.get("EVERYMETRE_OIDC_CREATE_CLAIMANTS") or "").lower() in ("1", "true", "yes"),
        identity_second_factor=_choice_env("EVERYMETRE_IDENTITY_SECOND_FACTOR", ("birth_date", "oidc")),
        oidc_rnokpp_claim=os.environ.get("EVERYMETRE_OIDC_RNOKPP_CLAIM") or "rnokpp",
        metrics_token=os.environ.get("EVERYMETRE_METRICS_TOKEN") or None,
        log_format=_choice_env("EVERYMETRE_LOG_FORMAT", ("json", "console")),
        log_signing_key=os.environ.get("EVERYMETRE_LOG_SIGNING_KEY") or None,
        log_origin=os.environ.get("EVERYMETRE_LOG_ORIGIN") or "everymetre/log",
        public_min_count=max(1, _int_env("EVERYMETRE_PUBLIC_MIN_COUNT", 10)),
        public_cache_seconds=max(0, _int_env("EVERYMETRE_PUBLIC_CACHE_SECONDS", 300)),
        linkage_flag_score=_score_env("EVERYMETRE_LINKAGE_FLAG_SCORE", 0.6),
        linkage_match_percent=min(99, max(50, _int_env("EVERYMETRE_LINKAGE_MATCH_PERCENT", 90))),
        signin_max_failures_account=max(1, _int_env("EVERYMETRE_SIGNIN_MAX_FAILURES", 5)),
        signin_max_failures_address=max(1, _int_env("EVERYMETRE_SIGNIN_MAX_FAILURES_ADDRESS", 20)),
        signin_lock_minutes=max(1, _int_env("EVERYMETRE_SIGNIN_LOCK_MINUTES", 15)),
        signup_confirm=_choice_env("EVERYMETRE_SIGNUP_CONFIRM", ("auto", "on", "off")),
        signup_confirm_hours=max(1, _int_env("EVERYMETRE_SIGNUP_CONFIRM_HOURS", 24)),
        keepalive_seconds=max(1, _int_env("EVERYMETRE_KEEPALIVE_SECONDS", 75)),
        forwarded_allow_ips=os.environ.get("EVERYMETRE_FORWARDED_ALLOW_IPS", "127.0.0.1,::1").strip(),
        smtp_url=os.environ.get("EVERYMETRE_SMTP_URL") or None,
        smtp_from=os.environ.get("EVERYMETRE_SMTP_FROM") or "everymetre <noreply@everymetre.local>",
        sms_url=os.environ.get("EVERYMETRE_SMS_URL") or None,
        sms_key=os.environ.get("EVERYMETRE_SMS_KEY") or None,
        sms_sender=os.environ.get("EVERYMETRE_SMS_SENDER") or "everymetre",
        worker_poll_seconds=max(0.05, _float_env("EVERYMETRE_WORKER_POLL_SECONDS", 5.0)),
        worker_lease_seconds=max(1, _int_env("EVERYMETRE_WORKER_LEASE_SECONDS", 120)),
        worker_max_attempts=max(1, _int_env("EVERYMETRE_WORKER_MAX_ATTEMPTS", 8)),
        worker_backoff_seconds=max(0, _int_env("EVERYMETRE_WORKER_BACKOFF_SECONDS", 30)),
    )
