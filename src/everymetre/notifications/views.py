"""Reading the outbox: a claimant's inbox, and what was sent to whom for one claim (staff timeline, API)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.accounts.roles import Role
from everymetre.notifications.models import Notification as N


def inbox(session: Session, principal: Principal, limit: int = 20) -> list[N]:
    """The claimant's in-app messages, newest first (addressed to their account, or to them as a person)."""
    mine = N.user_id == principal.user_id
    if principal.person_id is not None:
        mine = or_(mine, N.person_id == principal.person_id)
    return list(session.scalars(select(N).where(N.channel == "inbox", mine).order_by(N.id.desc()).limit(limit)))


def for_claim(session: Session, principal: Principal, reference: str) -> list[N]:
    """Every message about the claim (if the principal may see it, else NotFound); a claimant sees only those
    addressed to them."""
    from everymetre.claims.actions import get_claim

    claim = get_claim(session, principal, reference)
    stmt = select(N).where(N.claim_id == claim.id).order_by(N.id)
    if principal.role is Role.CLAIMANT:
        mine = N.user_id == principal.user_id
        if principal.person_id is not None:
            mine = or_(mine, N.person_id == principal.person_id)
        stmt = stmt.where(mine)
    return list(session.scalars(stmt))


STATUS_TITLES = {"sent": "Message sent", "pending": "Message waiting to be sent", "sending": "Message waiting to be sent",
                 "failed": "Message could not be sent"}
CHANNELS = {"email": "E-mail", "sms": "SMS", "inbox": "Inbox"}


def sent_entries(session: Session, claim_id: int) -> list[tuple[datetime, str, str, list[str]]]:
    """(at, title, who, lines) for the staff timeline: each e-mail and SMS about the claim."""
    from everymetre.web.i18n import gettext

    out = []
    for n in session.scalars(select(N).where(N.claim_id == claim_id, N.channel != "inbox").order_by(N.id)):
        lines = [f"{CHANNELS.get(n.channel, n.channel)}: {n.address or ''}", n.subject]
        if n.status == "failed" and n.last_error:
            lines.append(n.last_error)
        out.append((n.sent_at or n.created_at, gettext(STATUS_TITLES.get(n.status, "Message sent")), gettext("Automatic"), lines))
    return out
