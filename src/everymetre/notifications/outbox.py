"""Writing the outbox, inside the transaction of the change being told about.

The audit appender calls `enqueue_from_audit()` for the events `hook.wants()` (so every action that records
its event notifies without knowing it); scheduled jobs call `enqueue()` directly. One query finds the
recipients of all the claims at once; one INSERT writes the rows; a row whose idempotency key exists already
is skipped (the same cause never queues the same message twice).

Who hears: the person the claim is told to (`recipients`: who filed it, or the applicant of a claim filed for them)
and every co-owner whose account is verified as that person (claims.identity; `co_owners`), in their own language
and channels; a certificate's notices go, besides, only to the co-owner who holds it. Nobody hears twice: the
filer who is also a verified co-owner gets one message per channel."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.utils import parseaddr
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Select, bindparam, false, literal, null, select, union_all
from sqlalchemy.orm import Session

from everymetre.accounts.models import User
from everymetre.claims.models import Claim, Ownership, Person
from everymetre.config import get_settings
from everymetre.kernel.identifiers import claim_reference
from everymetre.notifications.hook import kind_of
from everymetre.notifications.models import Notification
from everymetre.notifications.texts import render
from everymetre.store.bulk import SMALL, insert_new_rows
from everymetre.store.types import utcnow

KYIV = ZoneInfo("Europe/Kyiv")


@dataclass(frozen=True, slots=True)
class Intent:
    """Tell the people of `claim_id` about `kind`; `key` names the cause (an audit event, a reminder)."""

    key: str
    kind: str
    claim_id: int
    params: dict[str, Any] = field(default_factory=dict)
    certificate_id: int | None = None  # a certificate's notice: its holder is the co-owner told, no other


@dataclass(frozen=True, slots=True)
class Recipient:
    reference: str
    user_id: int | None
    person_id: int | None
    email: str | None
    phone: str | None
    language: str


def enqueue_from_audit(session: Session, chain: str, rows: Sequence[dict[str, Any]], payloads: Sequence[dict[str, Any]],
                       claim_id: int | None) -> None:
    """Queue what the audit `rows` (just appended to `chain`, with their events' `payloads`) cause."""
    intents = _intents(session, chain, rows, payloads, claim_id)
    if intents:
        enqueue(session, intents)


def enqueue_from_audit_many(session: Session | Connection,
                            appended: Sequence[tuple[str, Sequence[dict[str, Any]], Sequence[dict[str, Any]], int | None]]) -> int:
    """`enqueue_from_audit` for many chains at once (bulk writers: `audit.append_bulk`): one recipients
    query per 5,000 claims and one INSERT, whatever the number of chains. Returns the rows queued."""
    intents: list[Intent] = []
    for chain, rows, payloads, claim_id in appended:
        intents.extend(_intents(session, chain, rows, payloads, claim_id))
    return enqueue(session, intents)


def _intents(session: Session | Connection, chain: str, rows: Sequence[dict[str, Any]], payloads: Sequence[dict[str, Any]],
             claim_id: int | None) -> list[Intent]:
    intents: list[Intent] = []
    for row, payload in zip(rows, payloads, strict=True):
        kind = kind_of(row["action"], payload)
        if kind is None:
            continue
        key = f"{chain}:{row['seq']}"
        if row["action"] == "batch.sent":
            intents.extend(_batch_intents(session, key, int(chain.split(":", 1)[1])))
        elif row["action"] == "statement.reconciled":
            intents.extend(_statement_intents(session, key, payload))
        elif claim_id is not None:
            cert = int(chain.split(":", 1)[1]) if chain.startswith("certificate:") else None
            intents.append(Intent(key, kind, claim_id, _params(kind, payload), cert))
    return intents


def _params(kind: str, p: dict[str, Any]) -> dict[str, Any]:
    today = datetime.now(KYIV).date()
    if kind == "documents_requested":
        return {"documents": list(p.get("documents_requested") or []), "deadline": _iso(p.get("deadline"))}
    if kind == "inspection_scheduled":
        return {"date": _iso(p.get("inspection_date"))}
    if kind == "assessed":
        return {"amount": p.get("assessed_amount_kopiykas")}
    if kind in ("approved", "rejected", "upheld", "revised"):
        d = p.get("decision") or {}
        out = {"amount": d.get("amount_kopiykas"), "reasons": d.get("reasons") or ""}
        if kind in ("approved", "rejected"):
            out["until"] = (today + timedelta(days=get_settings().appeal_window_days)).isoformat()
        return out
    if kind == "certificate_issued":
        return {"number": p.get("number"), "amount": p.get("value_kopiykas"), "until": _iso(p.get("expires_on"))}
    if kind == "certificate_reserved":
        return {"number": p.get("number"), "until": _iso(p.get("lapses_after"))}
    if kind in ("certificate_lapsed", "certificate_revoked", "certificate_replaced"):
        return {"number": p.get("number")}
    return {}


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, date) else value


def _batch_intents(session: Session | Connection, key: str, batch_id: int) -> list[Intent]:
    from everymetre.payments.models import Payment

    rows = session.execute(select(Payment.claim_id, Payment.amount_kopiykas, Payment.end_to_end_id)
                           .where(Payment.batch_id == batch_id, Payment.state == "sent")).all()
    return [Intent(f"{key}:{e2e}", "payment_sent", cid, {"amount": int(amount)}) for cid, amount, e2e in rows]


def _statement_intents(session: Session | Connection, key: str, payload: dict[str, Any]) -> list[Intent]:
    from everymetre.payments.models import Payment

    kinds = dict.fromkeys(payload.get("booked") or [], "payment_booked")
    kinds.update(dict.fromkeys(payload.get("rejected") or [], "payment_returned"))
    out: list[Intent] = []
    ids = sorted(kinds)
    for i in range(0, len(ids), 5000):
        for cid, amount, e2e in session.execute(select(Payment.claim_id, Payment.amount_kopiykas, Payment.end_to_end_id)
                                                .where(Payment.end_to_end_id.in_(ids[i:i + 5000]))):
            out.append(Intent(f"{key}:{e2e}", kinds[e2e], cid, {"amount": int(amount)}))
    return out


def _recipients_query(ids: Sequence[int]) -> Select:
    return (select(Claim.id, Claim.ref_year, User.id.label("uid"), User.email.label("uemail"), User.locale, User.role,
                   User.notify_email, User.notify_sms,
                   Person.id.label("pid"), Person.email.label("pemail"), Person.phone, Ownership.is_applicant,
                   Ownership.id.label("oid"))
            .select_from(Claim).outerjoin(User, User.id == Claim.submitted_by_id)
            .outerjoin(Ownership, Ownership.claim_id == Claim.id).outerjoin(Person, Person.id == Ownership.person_id)
            .where(Claim.id.in_(ids)))


def _co_owners_query(ids: Sequence[int]) -> Select:
    """The same columns as `_recipients_query` (so the two can be one statement), in co-owners' terms."""
    return (select(Ownership.claim_id.label("id"), Claim.ref_year, User.id.label("uid"), User.email.label("uemail"),
                   User.locale, User.role, User.notify_email, User.notify_sms, Ownership.person_id.label("pid"),
                   null().label("pemail"), Person.phone, false().label("is_applicant"), Ownership.id.label("oid"))
            .select_from(Ownership).join(Claim, Claim.id == Ownership.claim_id)
            .join(Person, Person.id == Ownership.person_id).join(User, User.verified_rnokpp == Person.rnokpp)
            .where(Ownership.claim_id.in_(ids), User.role == "claimant", User.is_active.is_(True)))


def _add_recipients(found: dict[int, Recipient], rows: Iterable[Any]) -> None:
    for r in rows:
        if r.id in found:  # the applicant (or the first owner) came first
            continue
        ref = claim_reference(r.ref_year, r.id)
        if r.uid is not None and r.role == "claimant":  # the channels they chose (the inbox is always on)
            found[r.id] = Recipient(ref, r.uid, r.pid, r.uemail if r.notify_email else None,
                                    r.phone if r.notify_sms else None, r.locale or "uk")
        else:
            found[r.id] = Recipient(ref, None, r.pid, r.pemail, r.phone, "uk")


def _add_co_owners(found: dict[int, list[Recipient]], rows: Iterable[Any]) -> None:
    for r in rows:
        found.setdefault(r.id, []).append(Recipient(
            claim_reference(r.ref_year, r.id), r.uid, r.pid, r.uemail if r.notify_email else None,
            r.phone if r.notify_sms else None, r.locale or "uk"))


def recipients(session: Session | Connection, claim_ids: Iterable[int]) -> dict[int, Recipient]:
    """Who hears about each claim: the claimant who filed it (their account's e-mail and language, the
    applicant's phone, each only if they chose that channel); for a claim filed for someone at a service centre, the applicant (their e-mail and
    phone as filed, in Ukrainian)."""
    ids = sorted(set(claim_ids))
    found: dict[int, Recipient] = {}
    for i in range(0, len(ids), 5000):
        q = _recipients_query(ids[i:i + 5000])
        _add_recipients(found, session.execute(q.order_by(Claim.id, Ownership.is_applicant.desc(),
                                                          Ownership.id)).all())
    return found


def message_id(key: str) -> str:
    """A Message-ID derived from the idempotency key: the same notification always carries the same id."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{_domain(get_settings().smtp_from)}>"


@lru_cache(maxsize=8)
def _domain(smtp_from: str) -> str:
    return parseaddr(smtp_from)[1].rpartition("@")[2] or "everymetre.local"


def co_owners(session: Session | Connection, claim_ids: Iterable[int]) -> dict[int, list[Recipient]]:
    """The co-owners of each claim whose (active, claimant) account is verified as that person: the account's
    e-mail and language, the owner's phone as filed, each only if they chose that channel. One query per 5,000
    claims (users.verified_rnokpp is unique and indexed)."""
    ids = sorted(set(claim_ids))
    found: dict[int, list[Recipient]] = {}
    for i in range(0, len(ids), 5000):
        _add_co_owners(found, session.execute(_co_owners_query(ids[i:i + 5000])
                                              .order_by(Ownership.claim_id, Ownership.id)).all())
    return found


@lru_cache(maxsize=1)
def _both_query() -> Select:
    """recipients_and_co_owners' statement, built once (the claim ids are an expanding bound parameter)."""
    ids: Any = bindparam("ids", expanding=True)
    both = union_all(_recipients_query(ids).add_columns(literal(0).label("part")),
                     _co_owners_query(ids).add_columns(literal(1).label("part"))).subquery()
    return select(both).order_by(both.c.part, both.c.id, both.c.is_applicant.desc(), both.c.oid)


def recipients_and_co_owners(session: Session | Connection, claim_ids: Iterable[int]
                             ) -> tuple[dict[int, Recipient], dict[int, list[Recipient]]]:
    """`recipients` and `co_owners` together; for a request's few claims in one statement (one round trip)."""
    ids = sorted(set(claim_ids))
    if len(ids) > SMALL:
        return recipients(session, ids), co_owners(session, ids)
    rows = session.execute(_both_query(), {"ids": ids}).all()
    who: dict[int, Recipient] = {}
    verified: dict[int, list[Recipient]] = {}
    _add_recipients(who, (r for r in rows if r.part == 0))
    _add_co_owners(verified, (r for r in rows if r.part == 1))
    return who, verified


def _holders(session: Session | Connection, intents: Sequence[Intent]) -> dict[int, int | None]:
    from everymetre.payments.models import Certificate

    ids = sorted({i.certificate_id for i in intents if i.certificate_id is not None})
    out: dict[int, int | None] = {}
    for i in range(0, len(ids), 5000):
        out.update(session.execute(select(Certificate.id, Certificate.holder_person_id)
                                   .where(Certificate.id.in_(ids[i:i + 5000]))).tuples().all())
    return out


def audience(primary: Recipient | None, verified: Sequence[Recipient], holder: int | None,
             certificate: bool) -> list[tuple[Recipient, str]]:
    """Who is told of one intent, each with the suffix of its idempotency keys: the claim's recipient (the filer
    or the applicant; keys as before) and the verified co-owners it concerns (a certificate's notice: its holder
    only), each person once. An applicant told at the address filed for them who has since verified an account
    is told there instead (their own language and channels)."""
    told: list[tuple[Recipient, str]] = []
    concerned = [r for r in verified if not certificate or r.person_id == holder]
    if primary is not None:
        if primary.user_id is None and (own := next((r for r in verified if r.person_id == primary.person_id), None)):
            primary = own
        told.append((primary, ""))
    for r in concerned:
        if primary is not None and r.user_id == primary.user_id:
            continue  # the filer is this co-owner: told once
        told.append((r, f"user{r.user_id}:"))
    return told


def enqueue(session: Session | Connection, intents: Sequence[Intent], now: datetime | None = None) -> int:
    """Write the outbox rows for `intents` (an inbox row each, and e-mail / SMS where that channel is on and
    the person has an address), for each person told (`audience`); returns how many rows were new."""
    if not intents:
        return 0
    now = now or utcnow()
    settings = get_settings()
    claim_ids = [i.claim_id for i in intents]
    who, verified = recipients_and_co_owners(session, claim_ids)
    holders = _holders(session, intents)
    rows: list[dict[str, Any]] = []
    for intent in intents:
        cert = intent.certificate_id
        told = audience(who.get(intent.claim_id), verified.get(intent.claim_id, ()),
                        holders.get(cert) if cert is not None else None, cert is not None)
        for r, suffix in told:
            params = {"ref": r.reference, **intent.params}
            text = render(intent.kind, r.language, params)
            base = dict(user_id=r.user_id, person_id=r.person_id, claim_id=intent.claim_id, reference=r.reference,
                        language=r.language, kind=intent.kind, subject=text.subject[:300], params=params, attempts=0,
                        next_attempt_at=now, created_at=now, lease_until=None, lease_token=None, last_error=None,
                        provider_id=None)
            channels: list[tuple[str, str | None, str]] = [("inbox", None, text.body)]
            if settings.smtp_url and r.email:
                channels.append(("email", r.email, text.body))
            if settings.sms_url and r.phone:
                channels.append(("sms", r.phone, text.sms))
            for channel, address, body in channels:
                key = f"{intent.key}:{intent.claim_id}:{suffix}{channel}"[:200]
                inbox = channel == "inbox"
                rows.append({**base, "idempotency_key": key, "channel": channel, "address": address, "body": body,
                             "message_id": message_id(key), "status": "sent" if inbox else "pending",
                             "sent_at": now if inbox else None})
    if not rows:
        return 0
    # set-based (store.bulk): COPY into a staging table and one INSERT ... ON CONFLICT DO NOTHING on PostgreSQL
    return insert_new_rows(session, Notification.__table__, rows, ["idempotency_key"])


@dataclass(frozen=True, slots=True)
class StaffIntent:
    """Tell staff member `user_id` (a notary, about a booking they filed) about `kind`; `key` names the cause."""

    key: str
    kind: str
    user_id: int
    params: dict[str, Any] = field(default_factory=dict)


def enqueue_staff(session: Session | Connection, intents: Sequence[StaffIntent], now: datetime | None = None) -> int:
    """The outbox rows for notices to staff accounts: an inbox row each, and an e-mail where SMTP is configured
    and the account has an address and keeps e-mail on (in the account's language). Returns the rows new."""
    if not intents:
        return 0
    now = now or utcnow()
    settings = get_settings()
    ids = sorted({i.user_id for i in intents})
    users = {u.id: u for u in session.execute(select(User.id, User.email, User.locale, User.notify_email)
                                              .where(User.id.in_(ids)))}
    rows: list[dict[str, Any]] = []
    for intent in intents:
        u = users.get(intent.user_id)
        if u is None:
            continue
        lang = u.locale or "uk"
        params = dict(intent.params)
        text = render(intent.kind, lang, params)
        channels: list[tuple[str, str | None]] = [("inbox", None)]
        if settings.smtp_url and u.email and u.notify_email:
            channels.append(("email", u.email))
        for channel, address in channels:
            key = f"{intent.key}:user{u.id}:{channel}"[:200]
            inbox = channel == "inbox"
            rows.append(dict(user_id=u.id, person_id=None, claim_id=None, reference=str(params.get("ref", ""))[:40],
                             language=lang, kind=intent.kind, subject=text.subject[:300], params=params, attempts=0,
                             next_attempt_at=now, created_at=now, lease_until=None, lease_token=None, last_error=None,
                             provider_id=None, idempotency_key=key, channel=channel, address=address, body=text.body,
                             message_id=message_id(key), status="sent" if inbox else "pending", sent_at=now if inbox else None))
    return insert_new_rows(session, Notification.__table__, rows, ["idempotency_key"]) if rows else 0
