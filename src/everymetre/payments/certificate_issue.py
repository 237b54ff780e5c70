"""Issuing housing certificates on a decision, replacing them on a revision, revoking them when the decision
is overturned, and releasing what a closed certificate held.

One certificate per co-owner, for C x their share (split exactly: the parts add up to C), each with its own
checkable number (`certificate_number`), validity (5 years) and the decision it comes from. The commission's
decision issues them in the decision's own transaction (`payments.ledger.post_decision` calls
:func:`sync_claim_certificates`); a revised decision revokes the co-owners' unused certificates and issues
their replacements, never a second live one (a partial unique index holds one live certificate per claim
and co-owner); a decision overturned to nothing revokes them.

These helpers run inside the caller's transaction and return the ledger transactions to post (a certificate
whose funds were reserved gives them back to the paying agent's fund); they import no ledger, so the
decision's posting can call them. Audit chain ``certificate:ID``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from everymetre.audit.record import NewEvent, append_bulk, record
from everymetre.claims.models import Claim, Decision, Ownership
from everymetre.kernel.errors import ValidationFailed
from everymetre.kernel.identifiers import claim_reference
from everymetre.payments import ledger_rules
from everymetre.payments.certificate_models import CertificateReservation
from everymetre.payments.certificate_number import make_certificate_number
from everymetre.payments.models import Certificate, CertificateShare
from everymetre.payments.schedule import certificate_expiry_date
from everymetre.payments.states import (
    CERTIFICATE,
    DEAD_CERTIFICATE,
    DESTROYED,
    PAYABLE_CLAIMS,
    RESERVED_CERTIFICATES,
    CertificateState,
    ReservationState,
)
from everymetre.store.bulk import insert_rows, new_ids

C = CertificateState
R = ReservationState
# certificates a revision may still replace (nothing signed or paid on them yet)
REPLACEABLE = (C.ISSUED.value, C.RESERVATION_FILED.value, C.FUNDS_RESERVED.value, C.RESERVATION_LAPSED.value)


@dataclass
class Release:
    """A ledger transaction to post for a certificate (funds back to the agent's fund)."""

    tx: ledger_rules.Transaction
    claim_id: int
    certificate_id: int


@dataclass
class IssueResult:
    issued: list[Certificate] = field(default_factory=list)
    issued_numbers: list[str] = field(default_factory=list)  # all issued, the set-based ones included (issue_many)
    revoked: list[Certificate] = field(default_factory=list)
    releases: list[Release] = field(default_factory=list)


def split_value(value: int, shares: Sequence[Fraction]) -> list[int]:
    """Split `value` kopiykas by `shares` exactly: floor each part, then give the kopiykas left over to the
    largest remainders (ties: the earlier owner). The parts always add up to `value`."""
    total = sum(shares, Fraction(0))
    if total <= 0:
        raise ValidationFailed("The co-owners' shares add up to nothing.", field="owners")
    exact = [value * s / total for s in shares]
    parts = [int(x) for x in exact]  # floor: all non-negative
    left = value - sum(parts)
    order = sorted(range(len(shares)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += 1
    return parts


def event(session: Session, actor_id: int | None, cert: Certificate, action: str, payload: dict[str, Any]) -> None:
    record(session, f"certificate:{cert.id}", action, actor_id, {"number": cert.number, **payload}, claim_id=cert.claim_id)


def next_serials(session: Session, year: int, n: int) -> list[int]:
    first = (session.scalar(select(func.max(Certificate.serial)).where(Certificate.year == year)) or 0) + 1
    return list(range(first, first + n))


def release(cert: Certificate, amount: int | None = None) -> Release | None:
    """Give a reserved certificate's money (or `amount` of it) back to the agent's fund."""
    if cert.state not in RESERVED_CERTIFICATES and amount is None:
        return None
    amount = cert.value_kopiykas if amount is None else amount
    if amount <= 0:
        return None
    tx = ledger_rules.certificate_released_transaction(f"CRL-{cert.id}-{cert.bookings}", cert.number, amount,
                                                       to=ledger_rules.agent_fund())
    return Release(tx, cert.claim_id, cert.id)


def leave_reservation(session: Session, cert: Certificate, actor_id: int | None, today: date, why: str) -> list[Release]:
    """A certificate leaves its reservation for good (revoked or expired): the reservation is cancelled and its
    other certificates go back to their holders (queued ones to issued, reserved ones lapse with their funds
    returned). Returns the releases of the other certificates."""
    if cert.reservation_id is None:
        return []
    res = session.get(CertificateReservation, cert.reservation_id, with_for_update=True)
    out: list[Release] = []
    if res is None or res.state in (R.COMPLETED, R.LAPSED, R.REFUSED, R.CANCELLED):
        return out
    res.state, res.closed_on = R.CANCELLED.value, today
    others = session.scalars(select(Certificate).where(Certificate.reservation_id == res.id, Certificate.id != cert.id)
                             .with_for_update()).all()
    for other in others:
        if other.state == C.RESERVATION_FILED:
            other.state = CERTIFICATE.move(other.state, C.ISSUED, other.number).target
        elif other.state in RESERVED_CERTIFICATES:
            if (r := release(other)) is not None:
                out.append(r)
            other.state = CERTIFICATE.move(other.state, C.RESERVATION_LAPSED, other.number).target
        else:
            continue
        event(session, actor_id, other, "certificate.reservation_cancelled",
              {"reservation": res.id, "because": why, "of": cert.number, "state": other.state})
    return out


def revoke(session: Session, cert: Certificate, actor_id: int | None, today: date, reason: str) -> list[Release]:
    """Revoke a certificate (its decision revised or overturned): reserved funds go back to the agent's fund."""
    was = cert.state
    move = CERTIFICATE.move(cert.state, C.REVOKED, cert.number)
    out = [r for r in [release(cert)] if r is not None]
    out += leave_reservation(session, cert, actor_id, today, "revoked")
    cert.state, cert.revoked_on, cert.revoked_reason, cert.closed_on = move.target, today, reason, today
    event(session, actor_id, cert, "certificate.revoked",
          {"from": was, "reason": reason, "released_kopiykas": sum(r.tx.amount for r in out if r.certificate_id == cert.id)})
    return out


def issue(session: Session, claim: Claim, actor_id: int | None, today: date, only_persons: set[int] | None = None) -> list[Certificate]:
    """One certificate per co-owner (or per co-owner in `only_persons`) for their part of the decided value."""
    owners = sorted(claim.owners, key=lambda o: o.id)
    if not owners:
        raise ValidationFailed("The claim has no owners to issue the certificate to.", field="owners")
    value = int(claim.awarded_amount_kopiykas or 0)
    parts = split_value(value, [o.share for o in owners])
    wanted = [(o, a) for o, a in zip(owners, parts, strict=True) if a > 0 and (only_persons is None or o.person_id in only_persons)]
    decision_id = session.scalar(select(func.max(Decision.id)).where(Decision.claim_id == claim.id))
    out = []
    for (owner, amount), serial in zip(wanted, next_serials(session, today.year, len(wanted)), strict=True):
        cert = Certificate(number=make_certificate_number(today.year, serial), year=today.year, serial=serial, claim_id=claim.id,
                           holder_person_id=owner.person_id, decision_id=decision_id, value_kopiykas=amount,
                           state=C.ISSUED.value, issued_on=today, issued_by_id=actor_id,
                           expires_on=certificate_expiry_date(today), redeemed_kopiykas=0, bookings=0,
                           shares=[CertificateShare(person_id=owner.person_id, share_numerator=owner.share_numerator,
                                                    share_denominator=owner.share_denominator, amount_kopiykas=amount)])
        session.add(cert)
        out.append(cert)
    session.flush()
    for cert in out:
        s = cert.shares[0]
        event(session, actor_id, cert, "certificate.issued",
              {"claim": claim.reference, "value_kopiykas": cert.value_kopiykas, "decision_id": decision_id,
               "expires_on": cert.expires_on.isoformat(), "holder_person_id": cert.holder_person_id,
               "share": f"{s.share_numerator}/{s.share_denominator}", "claim_value_kopiykas": value})
    return out


def live_certificates(session: Session, claim_id: int) -> list[Certificate]:
    return list(session.scalars(select(Certificate).where(Certificate.claim_id == claim_id,
                                                          Certificate.state.not_in(DEAD_CERTIFICATE))
                                .order_by(Certificate.id).with_for_update()))


def sync_claim_certificates(session: Session, claim: Claim, actor_id: int | None, today: date) -> IssueResult:
    """Bring a destroyed-housing claim's certificates in line with its decision (in the decision's transaction):
    approved (or revised, upheld) with an amount and no review hold: each co-owner holds one live certificate
    for their part of this decision, replacing an unused one of an earlier decision; overturned (revised to
    nothing): the unused ones are revoked. A certificate already used (contract signed, paid, redeemed) or
    expired is left as it is."""
    out = IssueResult()
    if claim.kind != DESTROYED:
        return out
    live = live_certificates(session, claim.id)
    payable = claim.state in PAYABLE_CLAIMS and (claim.awarded_amount_kopiykas or 0) > 0
    if not payable:
        if claim.state in ("revised", "rejected", "upheld"):  # overturned on appeal: nothing is owed any more
            for cert in live:
                if cert.state in REPLACEABLE or cert.state == C.OWNERSHIP_TERMINATED:
                    out.releases += revoke(session, cert, actor_id, today, "overturned")
                    out.revoked.append(cert)
        return out
    if claim.review_flag is not None:
        return out  # issued by a payments officer (do_issue_certificate) once the finding is resolved
    decision_id = session.scalar(select(func.max(Decision.id)).where(Decision.claim_id == claim.id))
    value = int(claim.awarded_amount_kopiykas or 0)
    owners = sorted(claim.owners, key=lambda o: o.id)
    parts = dict(zip([o.person_id for o in owners], split_value(value, [o.share for o in owners]), strict=True))
    held = {c.holder_person_id: c for c in live}
    renew: set[int] = set()
    for person_id, amount in parts.items():
        old = held.get(person_id)
        if old is None:
            renew.add(person_id)
        elif old.value_kopiykas != amount and old.decision_id != decision_id and old.state in REPLACEABLE:
            out.releases += revoke(session, old, actor_id, today, "revised")
            out.revoked.append(old)
            renew.add(person_id)
    if renew:
        session.flush()  # the revoked rows leave the live index before their replacements arrive
        out.issued = issue(session, claim, actor_id, today, renew)
    return out


_CHUNK = 5_000


def issue_many(session: Session, claim_ids: Sequence[int], actor_id: int | None, today: date) -> IssueResult:
    """:func:`sync_claim_certificates` for many decisions at once (a bulk decision, the catch-up of `ledger
    sync`), inside the caller's transaction. Set-based for the common case, a claim that never had a
    certificate: payable (approved, upheld or revised with an amount), no review hold, one certificate per
    co-owner for their exact part, numbered in order, inserted with one statement per table, each with its
    ``certificate.issued`` event on its own chain. A claim that has certificates already (a revision: replace
    or revoke) takes the single path, which holds the same rules for it. Returns what was issued and revoked
    (the set-based ones by number only: ``issued_numbers``)."""
    out = IssueResult()
    wanted = sorted(set(claim_ids))
    fresh: list[tuple[int, int, int, str | None]] = []  # (claim id, ref year, value, review flag)
    single: list[int] = []
    for i in range(0, len(wanted), _CHUNK):
        part = wanted[i:i + _CHUNK]
        have = set(session.scalars(select(Certificate.claim_id).where(Certificate.claim_id.in_(part)).distinct()))
        for cid, year, kind, state, value, flag in session.execute(
                select(Claim.id, Claim.ref_year, Claim.kind, Claim.state, Claim.awarded_amount_kopiykas, Claim.review_flag)
                .where(Claim.id.in_(part))):
            if kind != DESTROYED:
                continue
            if cid in have:
                single.append(cid)
            elif state in PAYABLE_CLAIMS and (value or 0) > 0 and flag is None:
                fresh.append((cid, year, int(value or 0), flag))
    for cid in single:  # revisions: replace or revoke, as the decision's hook does
        claim = session.scalars(select(Claim).where(Claim.id == cid).execution_options(populate_existing=True)).one()
        got = sync_claim_certificates(session, claim, actor_id, today)
        out.issued += got.issued
        out.issued_numbers += [c.number for c in got.issued]
        out.revoked += got.revoked
        out.releases += got.releases
    if not fresh:
        return out
    owners: dict[int, list[Any]] = {}
    latest: dict[int, int] = {}
    ids = [f[0] for f in fresh]
    for i in range(0, len(ids), _CHUNK):
        part = ids[i:i + _CHUNK]
        for o in session.execute(select(Ownership.claim_id, Ownership.id, Ownership.person_id, Ownership.share_numerator,
                                        Ownership.share_denominator).where(Ownership.claim_id.in_(part)).order_by(Ownership.id)):
            owners.setdefault(o.claim_id, []).append(o)
        latest.update((int(c), int(d)) for c, d in session.execute(
            select(Decision.claim_id, func.max(Decision.id)).where(Decision.claim_id.in_(part)).group_by(Decision.claim_id)))
    rows: list[dict[str, Any]] = []
    shares: list[dict[str, Any]] = []
    claim_of: list[tuple[int, int, int]] = []  # per certificate: claim id, ref year, claim value
    for cid, year, value, _flag in fresh:
        mine = owners.get(cid)
        if not mine:
            raise ValidationFailed(f"Claim {cid} has no owners to issue the certificate to.", field="owners")
        parts = split_value(value, [Fraction(o.share_numerator, o.share_denominator) for o in mine])
        for o, amount in zip(mine, parts, strict=True):
            if amount <= 0:
                continue
            rows.append({"claim_id": cid, "holder_person_id": o.person_id, "decision_id": latest.get(cid),
                         "value_kopiykas": amount, "state": C.ISSUED.value, "issued_on": today, "issued_by_id": actor_id,
                         "expires_on": certificate_expiry_date(today), "redeemed_kopiykas": 0, "bookings": 0})
            shares.append({"person_id": o.person_id, "share_numerator": o.share_numerator,
                           "share_denominator": o.share_denominator, "amount_kopiykas": amount})
            claim_of.append((cid, year, value))
    cert_ids = new_ids(session, Certificate.__table__, len(rows))
    for row, cert_id, serial in zip(rows, cert_ids, next_serials(session, today.year, len(rows)), strict=True):
        row.update(id=cert_id, number=make_certificate_number(today.year, serial), year=today.year, serial=serial)
    share_ids = new_ids(session, CertificateShare.__table__, len(shares))
    for share, row, share_id in zip(shares, rows, share_ids, strict=True):
        share.update(id=share_id, certificate_id=row["id"])
    columns = [c.name for c in Certificate.__table__.columns]
    insert_rows(session, Certificate.__table__, [{c: row.get(c) for c in columns} for row in rows])
    insert_rows(session, CertificateShare.__table__, shares)
    events: dict[str, list[NewEvent]] = {}
    chain_claims: dict[str, int | None] = {}
    for row, share, (cid, year, value) in zip(rows, shares, claim_of, strict=True):
        chain = f"certificate:{row['id']}"
        events[chain] = [NewEvent("certificate.issued", {
            "number": row["number"], "claim": claim_reference(year, cid), "value_kopiykas": row["value_kopiykas"],
            "decision_id": row["decision_id"], "expires_on": row["expires_on"].isoformat(),
            "holder_person_id": row["holder_person_id"], "share": f"{share['share_numerator']}/{share['share_denominator']}",
            "claim_value_kopiykas": value}, actor_id)]
        chain_claims[chain] = cid
    append_bulk(session, events, chain_claims, new_chains=True)
    out.issued_numbers += [row["number"] for row in rows]
    return out
