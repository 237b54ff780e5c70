"""Production mode: the checks a deployment must pass, the gate `serve` and `worker` go through, and `doctor`.

In production (`EVERYMETRE_ENV=production`) a process refuses to start when a required check fails, with one
line saying why; in development the same failures are printed as warnings and the process starts.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from everymetre.config import Settings
from everymetre.demo.generate import DEMO_DOMAIN

REFUSED = 78  # EX_CONFIG (sysexits.h): systemd units do not restart on it (RestartPreventExitStatus=78)
MIN_KEY_CHARS = 32


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True  # a failed required check stops a production start; an advisory one only warns

    @property
    def state(self) -> str:
        return "ok" if self.ok else ("FAIL" if self.required else "warn")


def migration_heads(engine: Engine) -> tuple[set[str], set[str]]:
    """(the revisions the code has as heads, the revisions the database is at)."""
    from alembic.runtime.migration import MigrationContext

    from everymetre.store.migrate import code_heads

    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return set(code_heads()), current


def check_signing_key(settings: Settings) -> Check:
    if settings.secret_key is None:
        return Check("signing key", False, "EVERYMETRE_SECRET_KEY is not set: a key was generated into "
                     "DATA_DIR/secret.key (set one key, the same on every server)")
    if len(settings.secret_key) < MIN_KEY_CHARS:
        return Check("signing key", False, f"EVERYMETRE_SECRET_KEY is shorter than {MIN_KEY_CHARS} characters")
    return Check("signing key", True, "given in EVERYMETRE_SECRET_KEY")


def check_store(settings: Settings) -> Check:
    from sqlalchemy.engine import make_url

    try:
        backend = make_url(settings.database_url).get_backend_name()
    except Exception:
        return Check("store", False, "EVERYMETRE_DATABASE_URL is not a database URL")
    if backend != "postgresql":
        return Check("store", False, f"the store is {backend}: production needs PostgreSQL (EVERYMETRE_DATABASE_URL)")
    return Check("store", True, "PostgreSQL")


def check_public_url(settings: Settings) -> Check:
    url = settings.public_url
    if not url:
        return Check("public URL", False, "EVERYMETRE_PUBLIC_URL is not set (the https address citizens use)")
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return Check("public URL", False, f"EVERYMETRE_PUBLIC_URL={url!r} is not an https address")
    return Check("public URL", True, url)


def check_metrics_token(settings: Settings) -> Check:
    if not settings.metrics_token:
        return Check("metrics token", False, "EVERYMETRE_METRICS_TOKEN is not set: /metrics answers 404", required=False)
    if len(settings.metrics_token) < MIN_KEY_CHARS:
        return Check("metrics token", False, f"EVERYMETRE_METRICS_TOKEN is shorter than {MIN_KEY_CHARS} characters",
                     required=False)
    return Check("metrics token", True, "set: /metrics needs it as a bearer token", required=False)


def check_mail(settings: Settings) -> Check:
    if not settings.smtp_url:
        return Check("e-mail", False, "EVERYMETRE_SMTP_URL is not set: password-reset links and sign-up confirmations "
                     "cannot be sent, and a sign-up with a taken e-mail is told apart from a new one", required=False)
    if not settings.confirms_signups:
        return Check("e-mail", False, "EVERYMETRE_SIGNUP_CONFIRM=off: a sign-up shows whether an e-mail has an "
                     "account", required=False)
    return Check("e-mail", True, "SMTP configured; sign-ups confirmed by e-mail", required=False)


def check_migrations(engine: Engine) -> Check:
    try:
        heads, current = migration_heads(engine)
    except SQLAlchemyError as exc:
        return Check("migrations", False, f"cannot read the schema version: {_first_line(exc)}")
    if not current:
        return Check("migrations", False, "the database has no everymetre schema: run `everymetre db upgrade`")
    if current != heads:
        return Check("migrations", False, f"the database is at {', '.join(sorted(current))}, the code at "
                     f"{', '.join(sorted(heads))}: run `everymetre db upgrade`")
    return Check("migrations", True, f"at head ({', '.join(sorted(heads))})")


def check_demo_accounts(engine: Engine) -> Check:
    from everymetre.demo.generate import demo_accounts

    try:
        n = len(demo_accounts(engine))  # active ones: a deactivated demo account cannot sign in
    except SQLAlchemyError as exc:
        return Check("demo accounts", False, f"cannot read the accounts: {_first_line(exc)}")
    if n:
        return Check("demo accounts", False, f"{n} demo account(s) ({DEMO_DOMAIN}) exist, with a published password: "
                     "this is a demo store")
    return Check("demo accounts", True, "none")


def _first_line(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).strip().splitlines() or [type(exc).__name__])[0]


def run_checks(settings: Settings, engine: Engine | None) -> list[Check]:
    """Every check, in the order `doctor` prints them. Without an engine (the database cannot be opened) the
    database checks fail saying so."""
    checks = [check_signing_key(settings), check_store(settings), check_public_url(settings),
              check_metrics_token(settings), check_mail(settings)]
    if engine is None:
        checks.append(Check("database", False, "cannot open the database at EVERYMETRE_DATABASE_URL"))
    else:
        checks += [check_migrations(engine), check_demo_accounts(engine)]
    return checks


def failures(checks: list[Check]) -> list[Check]:
    return [c for c in checks if not c.ok and c.required]


def startup_gate(component: str, settings: Settings, engine: Engine | None,
                 warn: Callable[[str], None] | None = None) -> list[Check]:
    """Call before `component` (serve, worker) starts. In production, exit 78 with one line naming every failed
    required check; in development, print each failed check as a warning line and return the checks."""
    checks = run_checks(settings, engine)
    failed = failures(checks)
    if settings.production and failed:
        reasons = "; ".join(f"{c.name}: {c.detail}" for c in failed)
        print(f"error: refusing to start {component} in production: {reasons}", file=sys.stderr)
        raise SystemExit(REFUSED)
    say = warn or (lambda line: print(line, file=sys.stderr))
    for c in checks:
        if not c.ok and (not settings.production or not c.required):
            mode = "production" if settings.production else "development"
            say(f"warning: {component} in {mode} mode: {c.name}: {c.detail}")
    return checks
