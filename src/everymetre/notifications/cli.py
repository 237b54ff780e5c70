"""Operators' commands: `everymetre worker` (mounted at the top level) and `everymetre notifications ...`."""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from everymetre.cli.common import engine, fail, out, require_schema
from everymetre.config import get_settings

notifications_app = typer.Typer(help="Notifications: what was sent to whom, and when.", no_args_is_help=True)


def worker(once: Annotated[bool, typer.Option("--once", help="Deliver what is due, run the jobs that are due, and exit")] = False) -> None:
    """Deliver notifications (e-mail, SMS) and run the scheduled jobs (sweeps, reminders) until stopped."""
    from everymetre.notifications.mail import SmtpUrlError, parse_smtp_url
    from everymetre.notifications.worker import install_signal_handlers, run
    from everymetre.ops.startup import prepare_worker

    settings = get_settings()
    if settings.smtp_url:
        try:
            parse_smtp_url(settings.smtp_url)
        except SmtpUrlError as exc:
            fail(str(exc))
    eng = engine()
    require_schema(eng)
    prepare_worker(settings, eng)  # the production gate, as for `serve` (warnings in development)
    stop = threading.Event()
    install_signal_handlers(stop)
    channels = ", ".join(c for c, on in (("e-mail", settings.smtp_url), ("SMS", settings.sms_url)) if on) or "inbox only"
    if not once:
        out.print(f"worker: delivering ({channels}); stop with Ctrl-C or SIGTERM", highlight=False)
    report = run(settings, once=once, stop=stop, say=lambda line: out.print(line, highlight=False))
    if once:
        out.print(f"worker: sent {report.sent}, to retry {report.retried}, failed {report.failed}", highlight=False)


@notifications_app.command("list")
def list_notifications(claim: Annotated[str | None, typer.Option(help="Only this claim's (its reference)")] = None,
                       status: Annotated[str | None, typer.Option(help="pending | sending | sent | failed")] = None,
                       limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50) -> None:
    """What was sent (or is waiting) to whom, on which channel, and when."""
    from sqlalchemy import select

    from everymetre.kernel.identifiers import parse_claim_reference
    from everymetre.notifications.models import Notification as N
    from everymetre.store.db import session_factory

    eng = engine()
    require_schema(eng)
    stmt = select(N).order_by(N.id.desc()).limit(limit)
    if claim:
        parsed = parse_claim_reference(claim)
        if parsed is None:
            fail(f"--claim: {claim!r} is not a claim reference like EM-2026-0000042")
            return
        stmt = stmt.where(N.claim_id == parsed[1])
    if status:
        stmt = stmt.where(N.status == status)
    with session_factory(eng)() as session:
        for n in session.scalars(stmt):
            when = (n.sent_at or n.next_attempt_at).isoformat(timespec="seconds")
            out.print(f"{n.id}\t{n.reference or '-'}\t{n.kind}\t{n.channel}\t{n.address or '(inbox)'}\t{n.status}\t"
                      f"{n.attempts}\t{when}\t{n.last_error or ''}", highlight=False, soft_wrap=True)
