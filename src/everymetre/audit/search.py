"""Searching the audit trail (read-only; auditors and administrators): by subject, kind of event, who acted and
when, newest first, a page at a time (keyset on the event id). Each row names its subject in words: a claim by
its reference, an account by its e-mail."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal, normalise_email
from everymetre.accounts.models import User
from everymetre.accounts.permissions import Action, require
from everymetre.audit.models import AuditEvent
from everymetre.claims.models import Claim
from everymetre.kernel.errors import ValidationFailed
from everymetre.kernel.identifiers import claim_reference, parse_claim_reference

KYIV = ZoneInfo("Europe/Kyiv")
PAGE = 50
# subjects a search may name: the chain's prefix before ":" (the programme's settings have one chain)
SUBJECTS = ("claim", "user", "batch", "certificate", "finding", "programme")


@dataclass(frozen=True, slots=True)
class AuditQuery:
    subject: str = ""  # a claim reference, an account's e-mail, or "programme"
    kind: str = ""  # the subject kind (claim, user, batch, ...): every subject of that kind
    action: str = ""  # an event's action, or its family ("user." or "user")
    actor: str = ""  # the e-mail of who acted
    since: date | None = None  # Kyiv days, inclusive
    until: date | None = None
    before_id: int | None = None  # the next page: events older than this one


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    at: datetime
    chain: str
    kind: str
    subject: str  # in words: a claim reference, an e-mail, ...
    action: str
    actor: str | None  # e-mail; None: the system
    payload: dict[str, Any]


def _day_start(d: date) -> datetime:
    return datetime.combine(d, time.min, KYIV)


def search(session: Session, acting: Principal, query: AuditQuery, limit: int = PAGE) -> tuple[list[Row], int | None]:
    """Events matching `query`, newest first; and the id to continue from (None: no more)."""
    require(acting.actor, Action.AUDIT_READ)
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit + 1)
    subject = query.subject.strip()
    if subject:
        stmt = stmt.where(AuditEvent.chain.in_(_chains_for(session, subject)))
    elif query.kind:
        if query.kind not in SUBJECTS:
            raise ValidationFailed(f"unknown kind {query.kind!r}", field="kind")
        stmt = stmt.where(AuditEvent.chain.like(f"{query.kind}%"))
    action = query.action.strip()
    if action:
        stmt = stmt.where(AuditEvent.action.like(action.rstrip(".") + ".%") if "." not in action.rstrip(".")
                          else AuditEvent.action == action)
    if query.actor.strip():
        if query.actor.strip().lower() in ("system", "система"):
            stmt = stmt.where(AuditEvent.actor_id.is_(None))
        else:
            actor_id = session.scalar(select(User.id).where(User.email == _email(query.actor)))
            stmt = stmt.where(AuditEvent.actor_id == (actor_id if actor_id is not None else -1))
    if query.since:
        stmt = stmt.where(AuditEvent.at >= _day_start(query.since))
    if query.until:
        stmt = stmt.where(AuditEvent.at < _day_start(query.until + timedelta(days=1)))
    if query.before_id is not None:
        stmt = stmt.where(AuditEvent.id < query.before_id)
    events = list(session.scalars(stmt))
    more = len(events) > limit
    events = events[:limit]
    return _rows(session, events), (events[-1].id if more and events else None)


def _email(text: str) -> str:
    try:
        return normalise_email(text)
    except ValidationFailed:
        return text.strip().lower()


def _chains_for(session: Session, subject: str) -> list[str]:
    if subject.lower() in ("programme", "програма"):
        return ["programme"]
    if parsed := parse_claim_reference(subject.upper()):
        return [f"claim:{parsed[1]}"]
    if "@" in subject:
        uid = session.scalar(select(User.id).where(User.email == _email(subject)))
        return [f"user:{uid}"] if uid is not None else []
    raise ValidationFailed("Give a claim reference, an account's e-mail, or leave it empty.", field="subject")


def _rows(session: Session, events: list[AuditEvent]) -> list[Row]:
    ids: dict[str, set[int]] = {"claim": set(), "user": set()}
    for e in events:
        kind, _, rest = e.chain.partition(":")
        if kind in ids and rest.isdigit():
            ids[kind].add(int(rest))
        if e.actor_id is not None:
            ids["user"].add(e.actor_id)
    emails = dict(session.execute(select(User.id, User.email).where(User.id.in_(ids["user"]))).tuples().all()) if ids["user"] else {}
    refs = {cid: claim_reference(year, cid) for cid, year in session.execute(
        select(Claim.id, Claim.ref_year).where(Claim.id.in_(ids["claim"]))).tuples()} if ids["claim"] else {}
    out = []
    for e in events:
        kind, _, rest = e.chain.partition(":")
        number = int(rest) if rest.isdigit() else None
        if kind == "claim" and number is not None:
            subject = refs.get(number, "")
        elif kind == "user" and number is not None:
            subject = emails.get(number, "")
        else:
            subject = f"№ {number}" if number is not None else ""
        try:
            payload = json.loads(e.payload)
        except ValueError:
            payload = {}
        out.append(Row(e.id, e.at, e.chain, kind, subject, e.action,
                       emails.get(e.actor_id) if e.actor_id is not None else None, payload))
    return out

