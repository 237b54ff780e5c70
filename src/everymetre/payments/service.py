"""Payments on the store: the ledger, payment batches (pain.001), reconciliation (camt.053), repair payouts
and housing certificates.

Every `do_*` function takes the acting principal, runs in one transaction (`services.tx.atomic`) and writes
its audit event in it. Chains: ``batch:ID``, ``payout:ID``, ``certificate:ID``, ``statement:MSGID`` and
``ledger:decisions``. The pure rules live beside this module (`ledger_rules`, `iso20022`, `camt053`,
`schedule`, `certificate_number`); this module decides who may do what, when, and stores it.

Paying each loss exactly once rests on the database (see `payments.models`): a claim has at most one live
payment, a payment names one batch, and a ledger event's transaction id is deterministic. A batch goes
built -> approved -> exported -> sent; each step is idempotent and resumes where a crash left it.
"""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

from sqlalchemy import and_, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session

from everymetre.kernel.errors import (
    Conflict,
    Forbidden,
    GuardFailed,
    InvalidTransition,
    NotFound,
    ValidationFailed,
)
from everymetre.kernel.iban import IBANError, make_ua_iban, validate_iban
from everymetre.kernel.identifiers import claim_reference, mask
from everymetre.claims.lifecycle import ClaimKind, Role
from everymetre.payments import ledger_rules as L
from everymetre.payments.camt053 import EntryStatus, parse_camt053
from everymetre.payments.certificate_number import (
    CertificateNumberError,
    make_certificate_number,
    validate_certificate_number,
)
from everymetre.payments.iso20022 import (
    CreditTransfer,
    DebtorAccount,
    build_pain001,
    make_message_id,
    validate_pain001,
    write_pain001,
)
from everymetre.payments.models import (
    Certificate,
    CertificateShare,
    LedgerPosting,
    LedgerTransaction,
    Payment,
    PaymentBatch,
    RepairPayout,
)
from everymetre.payments.schedule import (
    certificate_expiry_date,
    reservation_lapse_date,
    spending_window_end,
    tier_for_amount,
)
from everymetre.audit.record import record
from everymetre.store.tx import atomic
from everymetre.accounts.actions import Principal
from everymetre.accounts.models import User
from everymetre.claims.models import Claim, Decision, Ownership, Person
from everymetre.store.types import utcnow

# claims whose decision commits money (an appeal keeps the first decision's amount committed until decided)
COMMITTED_STATES = ("approved", "appealed", "upheld", "revised")
# claims that may be paid now (not while an appeal may still change the amount)
PAYABLE_STATES = ("approved", "upheld", "revised")
DESTROYED = ClaimKind.DESTROYED_HOUSING_APPLICATION.value
DEFAULT_SECOND_APPROVAL_ABOVE = 100_000_000  # UAH 1,000,000.00
OPEN_BATCH_STATES = ("built", "approved", "exported")

SYSTEM = Principal(user_id=None, email="system", role=Role.SYSTEM, oblasts=frozenset(), all_oblasts=True,  # type: ignore[arg-type]
                   person_id=None, full_name="everymetre")


def _noop(_step: str) -> None:
    return None


Checkpoint = Callable[[str], None]


# ---------------------------------------------------------------------------------------------- settings


def second_approval_above() -> int:
    """Batches with a total above this (kopiykas) need a second payments user's approval."""
    raw = os.environ.get("EVERYMETRE_SECOND_APPROVAL_ABOVE_KOPIYKAS", "")
    try:
        return int(raw) if raw.strip() else DEFAULT_SECOND_APPROVAL_ABOVE
    except ValueError:
        raise ValidationFailed(f"EVERYMETRE_SECOND_APPROVAL_ABOVE_KOPIYKAS={raw!r} is not a whole number of kopiykas") from None


def debtor_account() -> DebtorAccount:
    """The programme's paying account: EVERYMETRE_PAYER_IBAN / EVERYMETRE_PAYER_NAME (a demo account by default)."""
    iban = os.environ.get("EVERYMETRE_PAYER_IBAN") or make_ua_iban("820172", 35_2100_0000_1234)
    name = os.environ.get("EVERYMETRE_PAYER_NAME") or "eRecovery programme account"
    try:
        iban = validate_iban(iban)
    except IBANError as exc:
        raise ValidationFailed(f"EVERYMETRE_PAYER_IBAN: {exc}") from None
    return DebtorAccount(name=name, iban=iban)


def today_utc() -> date:
    return datetime.now(UTC).date()


def uah(kopiykas: int) -> str:
    return f"UAH {kopiykas / 100:,.2f}"


# ---------------------------------------------------------------------------------------------- access


def _require(principal: Principal, roles: Iterable[Role], what: str, oblast: str | None = None) -> None:
    allowed = frozenset(roles)
    if principal.role not in allowed:
        who = ", ".join(sorted(r.value for r in allowed if r is not Role.SYSTEM)) or "the system"
        raise Forbidden(f"Only {who} may {what}; you are signed in as {principal.role}.")
    if oblast is not None and principal.role is not Role.CLAIMANT and not principal.actor.covers(oblast):
        raise Forbidden(f"This claim is in oblast '{oblast}', which is outside your assignment.")


def _actor_id(principal: Principal) -> int | None:
    return principal.user_id


# ---------------------------------------------------------------------------------------------- ledger


@dataclass(frozen=True, slots=True)
class _Post:
    tx: L.Transaction
    claim_id: int | None = None
    payment_id: int | None = None
    certificate_id: int | None = None


def _post(session: Session, items: Sequence[_Post], actor_id: int | None) -> None:
    """Store transactions and their postings (validated: each balances). Ids are deterministic, so the same
    event posted twice fails on the primary key and the surrounding transaction rolls back."""
    if not items:
        return
    now = utcnow()
    txs, rows = [], []
    for it in items:
        it.tx.validate()
        txs.append({"id": it.tx.transaction_id, "kind": str(it.tx.kind), "claim_id": it.claim_id, "payment_id": it.payment_id,
                        "certificate_id": it.certificate_id, "amount_kopiykas": it.tx.amount, "memo": it.tx.memo,
                        "actor_id": actor_id, "created_at": now})
        rows.extend({"transaction_id": it.tx.transaction_id, "account": p.account, "debit": p.debit, "credit": p.credit,
                         "kind": str(it.tx.kind)} for p in it.tx.postings)
    session.execute(insert(LedgerTransaction), txs)
    session.execute(insert(LedgerPosting), rows)


_DECISION_KINDS = (L.TransactionKind.DECISION.value, L.TransactionKind.DECISION_REVISED.value)


def _committed(session: Session, claim_ids: Sequence[int] | None = None) -> dict[int, tuple[int, int]]:
    """claim id -> (amount committed by decision postings, number of decision transactions)."""
    amount = func.sum(LedgerPosting.credit - LedgerPosting.debit)
    stmt = (select(LedgerTransaction.claim_id, amount, func.count(func.distinct(LedgerTransaction.id)))
            .join(LedgerPosting, LedgerPosting.transaction_id == LedgerTransaction.id)
            .where(LedgerTransaction.kind.in_(_DECISION_KINDS), LedgerPosting.account.like("claim_payable:%"))
            .group_by(LedgerTransaction.claim_id))
    if claim_ids is not None:
        stmt = stmt.where(LedgerTransaction.claim_id.in_(list(claim_ids)))
    return {cid: (int(a or 0), int(n)) for cid, a, n in session.execute(stmt)}


def _decision_posts(claim_rows: Iterable[tuple[int, int, int, int | None]], committed: dict[int, tuple[int, int]]) -> list[_Post]:
    out = []
    for cid, year, awarded, decision_id in claim_rows:
        have, n = committed.get(cid, (0, 0))
        delta = (awarded or 0) - have
        if delta == 0:
            continue
        ref = claim_reference(year, cid)
        memo = f"decision {decision_id}" if decision_id else "decision"
        if n == 0 and delta > 0:
            tx = L.decision_transaction(f"DEC-{cid}-1", ref, delta, memo=memo)
        else:
            tx = L.decision_revised_transaction(f"DEC-{cid}-{n + 1}", ref, delta, memo=memo)
        out.append(_Post(tx, claim_id=cid))
    return out


def _latest_decisions():
    return select(Decision.claim_id, func.max(Decision.id).label("decision_id")).group_by(Decision.claim_id).subquery()


def post_decision(session: Session, claim: Claim, actor_id: int | None = None) -> L.Transaction | None:
    """Bring the ledger in line with the claim's decided amount (call inside the decision's transaction, after
    the claim is approved or revised). Returns the transaction posted, or None if there was nothing to post.
    Housing-certificate claims are committed when the certificate's funds are reserved, not here."""
    session.flush()
    if claim.kind == DESTROYED:
        return None
    awarded = claim.awarded_amount_kopiykas if claim.state in COMMITTED_STATES else 0
    decision_id = session.scalar(select(func.max(Decision.id)).where(Decision.claim_id == claim.id))
    posts = _decision_posts([(claim.id, claim.ref_year, awarded or 0, decision_id)], _committed(session, [claim.id]))
    _post(session, posts, actor_id)
    return posts[0].tx if posts else None


def do_post_decision(session: Session, principal: Principal, reference: str) -> L.Transaction | None:
    """`post_decision` as an action of its own (its own transaction and audit event)."""
    from everymetre.claims.access import claim_id_from_reference

    _require(principal, (Role.COMMISSION, Role.PAYMENTS, Role.ADMIN, Role.SYSTEM), "post decisions to the ledger")
    with atomic(session):
        claim = session.get(Claim, claim_id_from_reference(reference))
        if claim is None:
            raise NotFound(f"No claim {reference}.")
        tx = post_decision(session, claim, _actor_id(principal))
        if tx is not None:
            record(session, "ledger:decisions", "ledger.decision_posted", _actor_id(principal),
                   {"claim": claim.reference, "transaction": tx.transaction_id, "kind": str(tx.kind), "amount_kopiykas": tx.amount},
                   claim_id=claim.id)
    return tx


@dataclass
class SyncReport:
    checked: int = 0
    posted: int = 0
    revised: int = 0
    total_kopiykas: int = 0


def _sync(session: Session, actor_id: int | None, chunk: int = 20_000) -> SyncReport:
    report = SyncReport()
    latest = _latest_decisions()
    committed_sub = (select(LedgerTransaction.claim_id.label("claim_id"),
                            func.sum(LedgerTransaction.amount_kopiykas).label("n"))
                     .where(LedgerTransaction.kind.in_(_DECISION_KINDS)).group_by(LedgerTransaction.claim_id).subquery())
    # candidates: decided claims (with money now, or committed before) whose ledger may differ from the decision
    stmt = (select(Claim.id, Claim.ref_year, Claim.state, Claim.awarded_amount_kopiykas, latest.c.decision_id,
                   committed_sub.c.n)
            .outerjoin(latest, latest.c.claim_id == Claim.id)
            .outerjoin(committed_sub, committed_sub.c.claim_id == Claim.id)
            .where(Claim.kind != DESTROYED,
                   or_(and_(Claim.state.in_(COMMITTED_STATES), Claim.awarded_amount_kopiykas > 0), committed_sub.c.n.is_not(None)))
            .order_by(Claim.id))
    rows = session.execute(stmt).all()
    report.checked = len(rows)
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        # claims never posted need no look-up; the others get their exact committed amount
        seen = [r.id for r in part if r.n is not None]
        committed = _committed(session, seen) if seen else {}
        items = [(r.id, r.ref_year, (r.awarded_amount_kopiykas or 0) if r.state in COMMITTED_STATES else 0, r.decision_id)
                 for r in part]
        posts = _decision_posts(items, committed)
        _post(session, posts, actor_id)
        for p in posts:
            if p.tx.kind is L.TransactionKind.DECISION:
                report.posted += 1
            else:
                report.revised += 1
            report.total_kopiykas += p.tx.amount if p.tx.kind is L.TransactionKind.DECISION else 0
    return report


def do_sync_decisions(session: Session, principal: Principal = SYSTEM) -> SyncReport:
    """Catch-up: post payable entries for decided claims not yet (or not correctly) in the ledger. Idempotent."""
    _require(principal, (Role.PAYMENTS, Role.ADMIN, Role.SYSTEM), "post decisions to the ledger")
    with atomic(session):
        report = _sync(session, _actor_id(principal))
        if report.posted or report.revised:
            record(session, "ledger:decisions", "ledger.decisions_synced", _actor_id(principal),
                   {"posted": report.posted, "revised": report.revised, "total_kopiykas": report.total_kopiykas})
    return report


# ---------------------------------------------------------------------------------------------- ledger check


def decided_amounts(session: Session) -> dict[str, int]:
    """Claim reference -> decided amount, for the claims the ledger must commit (cash repair payouts)."""
    stmt = select(Claim.id, Claim.ref_year, Claim.awarded_amount_kopiykas).where(
        Claim.kind != DESTROYED, Claim.state.in_(COMMITTED_STATES), Claim.awarded_amount_kopiykas > 0)
    return {claim_reference(y, cid): int(a) for cid, y, a in session.execute(stmt)}


def ledger_violations(session: Session) -> list[L.Violation]:
    """Every broken invariant: each transaction balances (and its stored amount matches its postings), no
    claim paid twice or above its decision, ledger commitments equal the decisions, every sent payment has
    exactly one posting of its own, no certificate reservation overdrawn or redeemed above its value."""
    stmt = select(LedgerPosting.transaction_id, LedgerPosting.account, LedgerPosting.debit, LedgerPosting.credit,
                  LedgerPosting.kind, LedgerPosting.id).execution_options(yield_per=50_000)
    rows = [L.LedgerRow(t, a, int(d), int(c), k, i) for t, a, d, c, k, i in session.execute(stmt)]
    out = L.check_ledger(rows, decided_amounts(session))
    debits: dict[str, int] = defaultdict(int)
    reserved: dict[str, int] = defaultdict(int)
    for r in rows:
        debits[r.transaction_id] += r.debit
        if r.account.startswith("certificate_reserved:"):
            reserved[r.account] += r.credit - r.debit
    for txid, kind, amount in session.execute(select(LedgerTransaction.id, LedgerTransaction.kind, LedgerTransaction.amount_kopiykas)):
        if debits.get(txid, 0) != amount:
            out.append(L.Violation("amount_mismatch", f"transaction says {amount} but its postings debit {debits.get(txid, 0)}", txid))
    for acct, bal in sorted(reserved.items()):
        if bal < 0:
            out.append(L.Violation("reservation_overdrawn", f"certificate reservation balance is {bal}: paid more than reserved", account=acct))
    # every payment that left (sent/booked) is posted exactly once; every returned one is reversed
    sent_kinds = (L.TransactionKind.PAYMENT_SENT.value, L.TransactionKind.CERTIFICATE_PAID.value)
    posted = dict(session.execute(
        select(LedgerTransaction.payment_id, func.count()).where(LedgerTransaction.kind.in_(sent_kinds),
                                                                 LedgerTransaction.id.like("SENT-%") | LedgerTransaction.id.like("CPD-%"))
        .group_by(LedgerTransaction.payment_id)).all())
    for pid, e2e, state in session.execute(select(Payment.id, Payment.end_to_end_id, Payment.state)
                                          .where(Payment.state.in_(("sent", "booked", "rejected")))):
        if posted.get(pid, 0) != 1:
            out.append(L.Violation("payment_not_posted", f"payment {e2e} is {state} but has {posted.get(pid, 0)} sent posting(s)",
                                   row_id=pid))
    for num, value, redeemed in session.execute(select(Certificate.number, Certificate.value_kopiykas, Certificate.redeemed_kopiykas)
                                               .where(Certificate.redeemed_kopiykas > Certificate.value_kopiykas)):
        out.append(L.Violation("redeemed_above_value", f"certificate redeemed {redeemed} of a value of {value}", account=L.certificate_reserved(num)))
    return out


# ---------------------------------------------------------------------------------------------- batches


@dataclass
class BuildReport:
    batch: PaymentBatch | None = None
    resumed: bool = False
    added: int = 0
    total_kopiykas: int = 0
    held: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # reason -> claims held back
    synced: SyncReport | None = None


def _open_batch(session: Session, user_id: int | None) -> PaymentBatch | None:
    return session.scalar(select(PaymentBatch).where(PaymentBatch.open_for_user_id == user_id,
                                                     PaymentBatch.state.in_(OPEN_BATCH_STATES)))


def do_build_batch(session: Session, principal: Principal, today: date | None = None,
                   checkpoint: Checkpoint = _noop) -> BuildReport:
    """Collect everything payable into a new batch, or resume this officer's open batch.

    Payable: repair claims decided with money (approved, upheld, revised) with no live payment, and
    certificates whose purchase contract is signed with no live seller payment. Held back (and counted):
    claims with an open review flag, claims the releasing officer decided (segregation), claims outside their
    oblasts, payees without an IBAN. Decisions not yet in the ledger are posted first, in the same transaction.
    """
    _require(principal, (Role.PAYMENTS,), "build payment batches")
    today = today or today_utc()
    report = BuildReport()
    with atomic(session):
        existing = _open_batch(session, principal.user_id)
        if existing is not None:
            report.batch, report.resumed = existing, True
            return report
        report.synced = _sync(session, principal.user_id)
        if report.synced.posted or report.synced.revised:
            record(session, "ledger:decisions", "ledger.decisions_synced", principal.user_id,
                   {"posted": report.synced.posted, "revised": report.synced.revised,
                    "total_kopiykas": report.synced.total_kopiykas})
        repairs = _payable_repairs(session, principal, report)
        sellers = _payable_sellers(session, principal, report)
        pending = _pending_payments(session, principal, report)
        if not repairs and not sellers and not pending:
            return report
        now = utcnow()
        batch = PaymentBatch(message_id=make_message_id(now), state="built", created_by_id=principal.user_id,
                             open_for_user_id=principal.user_id, created_at=now.replace(microsecond=0), requested_on=today)
        session.add(batch)
        session.flush()
        rows = [dict(r, batch_id=batch.id, state="batched", created_at=now) for r in repairs + sellers]
        if rows:
            session.execute(insert(Payment), rows)
        if pending:
            session.execute(update(Payment).where(Payment.id.in_(pending), Payment.state == "pending")
                            .values(batch_id=batch.id, state="batched"))
        count, total = session.execute(select(func.count(), func.coalesce(func.sum(Payment.amount_kopiykas), 0))
                                       .where(Payment.batch_id == batch.id)).one()
        batch.count, batch.total_kopiykas = int(count), int(total)
        claim_ids = sorted(session.scalars(select(Payment.claim_id).where(Payment.batch_id == batch.id)))
        record(session, f"batch:{batch.id}", "batch.built", principal.user_id,
               {"message_id": batch.message_id, "count": batch.count, "total_kopiykas": batch.total_kopiykas,
                "claim_ids": claim_ids, "held": dict(report.held)})
        report.batch, report.added, report.total_kopiykas = batch, batch.count, batch.total_kopiykas
        checkpoint("build-commit")
    return report


def _attempts(session: Session, column, ids: list[int]) -> dict[int, int]:
    """How many payments each claim (or certificate) had before: the next end-to-end id's attempt number."""
    if not ids:
        return {}
    return dict(session.execute(select(column, func.count()).where(column.is_not(None)).group_by(column)).all())


def _hold(report: BuildReport, principal: Principal, oblast: str, decided_by: int | None, flag: str | None) -> bool:
    if flag is not None:
        report.held["open review flag"] += 1
        return True
    if principal.user_id is not None and decided_by == principal.user_id:
        report.held["decided by you (segregation)"] += 1
        return True
    if not principal.actor.covers(oblast):
        report.held["outside your oblasts"] += 1
        return True
    return False


def _payable_repairs(session: Session, principal: Principal, report: BuildReport) -> list[dict[str, Any]]:
    live = exists().where(Payment.claim_id == Claim.id, Payment.purpose == "repair", Payment.state.not_in(("rejected", "cancelled")))
    latest = _latest_decisions()
    claims = session.execute(
        select(Claim.id, Claim.ref_year, Claim.oblast, Claim.awarded_amount_kopiykas, Claim.decided_by_id, Claim.review_flag,
               latest.c.decision_id)
        .outerjoin(latest, latest.c.claim_id == Claim.id)
        .where(Claim.kind != DESTROYED, Claim.state.in_(PAYABLE_STATES), Claim.awarded_amount_kopiykas > 0, ~live)
        .order_by(Claim.id)).all()
    keep = [c for c in claims if not _hold(report, principal, c.oblast, c.decided_by_id, c.review_flag)]
    if not keep:
        return []
    wanted = {c.id for c in keep}
    payee: dict[int, tuple[str, str | None]] = {}
    owners = session.execute(
        select(Ownership.claim_id, Ownership.is_applicant, Person.full_name, Person.iban)
        .join(Person, Person.id == Ownership.person_id).join(Claim, Claim.id == Ownership.claim_id)
        .where(Claim.kind != DESTROYED, Claim.state.in_(PAYABLE_STATES), Claim.awarded_amount_kopiykas > 0, ~live)
        .order_by(Ownership.claim_id, Ownership.is_applicant.desc(), Ownership.id))
    for cid, _applicant, name, iban in owners:
        if cid in wanted and cid not in payee:
            payee[cid] = (name, iban)  # the applicant (or the first owner): the repair money goes to their account
    tries = _attempts(session, Payment.claim_id, [c.id for c in keep])
    rows = []
    for c in keep:
        name, iban = payee.get(c.id, ("", None))
        if not iban or not name:
            report.held["payee has no IBAN"] += 1
            continue
        n = tries.get(c.id, 0) + 1
        rows.append({"end_to_end_id": f"EMP-{c.id:012d}-{n:02d}", "purpose": "repair", "claim_id": c.id, "certificate_id": None,
                         "decision_id": c.decision_id, "amount_kopiykas": int(c.awarded_amount_kopiykas),
                         "creditor_name": name[:140], "creditor_iban": iban})
    return rows


def _payable_sellers(session: Session, principal: Principal, report: BuildReport) -> list[dict[str, Any]]:
    live = exists().where(Payment.certificate_id == Certificate.id, Payment.state.not_in(("rejected", "cancelled")))
    certs = session.execute(
        select(Certificate, Claim.oblast, Claim.decided_by_id, Claim.review_flag).join(Claim, Claim.id == Certificate.claim_id)
        .where(Certificate.state == "contract_signed", ~live).order_by(Certificate.id)).all()
    tries = _attempts(session, Payment.certificate_id, [c.Certificate.id for c in certs])
    rows = []
    for cert, oblast, decided_by, flag in certs:
        if _hold(report, principal, oblast, decided_by, flag):
            continue
        n = tries.get(cert.id, 0) + 1
        rows.append({"end_to_end_id": f"EMC-{cert.id:012d}-{n:02d}", "purpose": "certificate", "claim_id": cert.claim_id,
                         "certificate_id": cert.id, "decision_id": cert.decision_id, "amount_kopiykas": _seller_amount(cert),
                         "creditor_name": cert.seller_name, "creditor_iban": cert.seller_iban})
    return rows


def _pending_payments(session: Session, principal: Principal, report: BuildReport) -> list[int]:
    rows = session.execute(select(Payment.id, Claim.oblast, Claim.decided_by_id, Claim.review_flag)
                           .join(Claim, Claim.id == Payment.claim_id).where(Payment.state == "pending")).all()
    return [r.id for r in rows if not _hold(report, principal, r.oblast, r.decided_by_id, r.review_flag)]


def _seller_amount(cert: Certificate) -> int:
    """The programme pays the contract price up to the certificate's value, never more."""
    price = cert.contract_price_kopiykas or cert.value_kopiykas
    return min(price, cert.value_kopiykas)


def _batch_for_update(session: Session, batch_id: int) -> PaymentBatch:
    batch = session.scalar(select(PaymentBatch).where(PaymentBatch.id == batch_id).with_for_update())
    if batch is None:
        raise NotFound(f"No payment batch {batch_id}.")
    return batch


def _batch_problems(session: Session, principal: Principal, batch: PaymentBatch) -> None:
    """Segregation and scope for anyone releasing a batch."""
    live = (Payment.batch_id == batch.id, Payment.state.not_in(("rejected", "cancelled")))
    own = session.scalars(select(Claim.id).join(Payment, Payment.claim_id == Claim.id)
                          .where(*live, Claim.decided_by_id == principal.user_id).limit(5)).all()
    if own:
        raise GuardFailed("Segregation of duties: you decided claim(s) in this batch "
                          f"({', '.join(_refs(session, own))}), so you may not release their payment.")
    if not principal.all_oblasts:
        outside = session.scalars(select(Claim.oblast).join(Payment, Payment.claim_id == Claim.id)
                                  .where(*live, Claim.oblast.not_in(sorted(principal.oblasts))).distinct()).all()
        if outside:
            raise Forbidden(f"The batch pays claims in oblast(s) outside your assignment: {', '.join(sorted(outside))}.")


def _years(session: Session, claim_ids: Iterable[int]) -> dict[int, int]:
    ids, out = sorted(claim_ids), {}
    for start in range(0, len(ids), 5000):
        out.update(session.execute(select(Claim.id, Claim.ref_year).where(Claim.id.in_(ids[start:start + 5000]))).all())
    return out


def _refs(session: Session, claim_ids: Iterable[int]) -> list[str]:
    return [claim_reference(y, i) for i, y in session.execute(select(Claim.id, Claim.ref_year).where(Claim.id.in_(list(claim_ids))))]


def do_approve_batch(session: Session, principal: Principal, batch_id: int) -> PaymentBatch:
    """Release a batch. A payments user who decided none of its claims approves it; above the configured
    total (EVERYMETRE_SECOND_APPROVAL_ABOVE_KOPIYKAS) a second, different payments user must approve too.
    Payments of claims flagged since the batch was built are taken out first. Approving twice is a no-op."""
    _require(principal, (Role.PAYMENTS,), "release payment batches")
    with atomic(session):
        batch = _batch_for_update(session, batch_id)
        if batch.state != "built":
            if batch.state in ("approved", "exported", "sent") and principal.user_id in (batch.approved_by_id, batch.second_approver_id):
                return batch
            raise InvalidTransition(f"Batch {batch.id} is {batch.state}; only a built batch can be approved.")
        _batch_problems(session, principal, batch)
        withdrawn = _withdraw_flagged(session, batch)
        threshold = second_approval_above()
        event: dict[str, Any] = {"total_kopiykas": batch.total_kopiykas, "count": batch.count, "threshold_kopiykas": threshold}
        if withdrawn:
            event["withdrawn_flagged"] = withdrawn
        if batch.approved_by_id is None:
            batch.approved_by_id = principal.user_id
            event["approval"] = "first"
        elif principal.user_id == batch.approved_by_id:
            if batch.total_kopiykas > threshold:
                raise GuardFailed(f"Batch {batch.id} totals {uah(batch.total_kopiykas)}, above {uah(threshold)}: "
                                  "a second, different payments user must approve it.")
        else:
            batch.second_approver_id = principal.user_id
            event["approval"] = "second"
        if batch.count == 0:
            batch.state, batch.open_for_user_id = "cancelled", None
            event["cancelled"] = "no payments left"
        elif batch.total_kopiykas <= threshold or batch.second_approver_id is not None:
            batch.state, batch.approved_at = "approved", utcnow()
        record(session, f"batch:{batch.id}", "batch.approved" if batch.state == "approved" else "batch.approval_recorded",
               principal.user_id, event)
    return batch


def _withdraw_flagged(session: Session, batch: PaymentBatch) -> list[int]:
    flagged = session.scalars(select(Payment.id).join(Claim, Claim.id == Payment.claim_id)
                              .where(Payment.batch_id == batch.id, Payment.state == "batched", Claim.review_flag.is_not(None))).all()
    if flagged:
        session.execute(update(Payment).where(Payment.id.in_(flagged))
                        .values(state="cancelled", reason="withdrawn: the claim has an open review flag"))
        count, total = session.execute(select(func.count(), func.coalesce(func.sum(Payment.amount_kopiykas), 0))
                                       .where(Payment.batch_id == batch.id, Payment.state == "batched")).one()
        batch.count, batch.total_kopiykas = int(count), int(total)
    return list(flagged)


def do_cancel_batch(session: Session, principal: Principal, batch_id: int, reason: str) -> PaymentBatch:
    """Cancel a batch that has not been exported; its claims return to the payable queue."""
    _require(principal, (Role.PAYMENTS,), "cancel payment batches")
    if not reason.strip():
        raise ValidationFailed("Say why the batch is cancelled.", field="reason")
    with atomic(session):
        batch = _batch_for_update(session, batch_id)
        if batch.state not in ("built", "approved"):
            raise InvalidTransition(f"Batch {batch.id} is {batch.state}; only a built or approved batch can be cancelled "
                                    "(an exported file may already be at the bank).")
        session.execute(update(Payment).where(Payment.batch_id == batch.id, Payment.state == "batched")
                        .values(state="cancelled", reason=f"batch cancelled: {reason}"))
        batch.state, batch.open_for_user_id = "cancelled", None
        record(session, f"batch:{batch.id}", "batch.cancelled", principal.user_id, {"reason": reason})
    return batch


def batch_xml(session: Session, batch: PaymentBatch) -> bytes:
    """The batch's pain.001.001.09 file; the same bytes every time (message id and times are stored)."""
    rows = session.execute(
        select(Payment.end_to_end_id, Payment.purpose, Payment.amount_kopiykas, Payment.creditor_name, Payment.creditor_iban,
               Payment.decision_id, Claim.id, Claim.ref_year, Certificate.number, Certificate.contract_number)
        .join(Claim, Claim.id == Payment.claim_id).outerjoin(Certificate, Certificate.id == Payment.certificate_id)
        .where(Payment.batch_id == batch.id, Payment.state.in_(("batched", "sent", "booked", "rejected")))
        .order_by(Payment.id)).all()
    transfers = []
    for e2e, purpose, amount, name, iban, decision_id, cid, year, number, contract in rows:
        ref = claim_reference(year, cid)
        remittance = f"Certificate {number}; contract {contract}; claim {ref}"[:140] if purpose == "certificate" else None
        transfers.append(CreditTransfer(payment_id=e2e, claim_reference=ref, decision_id=str(decision_id or "-"),
                                        amount_kopiykas=int(amount), creditor_name=name, creditor_iban=iban, remittance=remittance))
    from everymetre.payments.iso20022 import PaymentBatch as IsoBatch

    iso = IsoBatch(batch_id=batch.pmt_inf_id, message_id=batch.message_id, created_at=batch.created_at,
                   requested_execution_date=batch.requested_on, debtor=debtor_account(), payments=transfers)
    return build_pain001(iso)


def do_export_batch(session: Session, principal: Principal, batch_id: int, out: Path,
                    checkpoint: Checkpoint = _noop) -> Path:
    """Write the approved batch's pain.001 (validated against the XSD) to `out`. Again on an exported batch
    it rewrites the same bytes (checked against the stored hash), so a crash after writing is harmless."""
    _require(principal, (Role.PAYMENTS,), "export payment batches")
    with atomic(session):
        batch = _batch_for_update(session, batch_id)
        if batch.state not in ("approved", "exported"):
            raise InvalidTransition(f"Batch {batch.id} is {batch.state}; it must be approved before its file is written.")
        xml = batch_xml(session, batch)
        validate_pain001(xml)
        digest = hashlib.sha256(xml).hexdigest()
        if batch.file_sha256 and batch.file_sha256 != digest:
            raise Conflict(f"Batch {batch.id}'s file would differ from the one exported before (sha256 {batch.file_sha256[:12]}...); "
                           "its payments changed after export. Nothing was written.")
        path = write_pain001(xml, out)
        checkpoint("export-written")
        if batch.state == "approved":
            batch.state, batch.exported_at, batch.file_sha256 = "exported", utcnow(), digest
            record(session, f"batch:{batch.id}", "batch.exported", principal.user_id,
                   {"message_id": batch.message_id, "sha256": digest, "count": batch.count, "total_kopiykas": batch.total_kopiykas})
    return path


def do_mark_sent(session: Session, principal: Principal, batch_id: int, checkpoint: Checkpoint = _noop) -> PaymentBatch:
    """The file went to the bank: payments become sent and each posts Dr payable / Cr bank clearing (or, for
    a seller, Dr certificate reservation / Cr bank clearing). A sent batch stays sent (idempotent)."""
    _require(principal, (Role.PAYMENTS, Role.SYSTEM), "mark payment batches sent")
    with atomic(session):
        batch = _batch_for_update(session, batch_id)
        if batch.state == "sent":
            return batch
        if batch.state != "exported":
            raise InvalidTransition(f"Batch {batch.id} is {batch.state}; only an exported batch can be marked sent.")
        now = utcnow()
        rows = session.execute(
            select(Payment.id, Payment.end_to_end_id, Payment.purpose, Payment.amount_kopiykas, Payment.claim_id, Claim.ref_year,
                   Payment.certificate_id, Certificate.number)
            .join(Claim, Claim.id == Payment.claim_id).outerjoin(Certificate, Certificate.id == Payment.certificate_id)
            .where(Payment.batch_id == batch.id, Payment.state == "batched")).all()
        posts = []
        for pid, e2e, purpose, amount, cid, year, cert_id, number in rows:
            if purpose == "repair":
                tx = L.payment_sent_transaction(f"SENT-{e2e}", claim_reference(year, cid), e2e, int(amount))
            else:
                tx = L.certificate_paid_transaction(f"CPD-{e2e}", number, e2e, int(amount))
            posts.append(_Post(tx, claim_id=cid, payment_id=pid, certificate_id=cert_id))
        _post(session, posts, principal.user_id)
        session.execute(update(Payment).where(Payment.batch_id == batch.id, Payment.state == "batched")
                        .values(state="sent", sent_at=now))
        batch.state, batch.sent_at, batch.open_for_user_id = "sent", now, None
        record(session, f"batch:{batch.id}", "batch.sent", principal.user_id,
               {"message_id": batch.message_id, "count": len(rows), "total_kopiykas": sum(int(r.amount_kopiykas) for r in rows)})
        checkpoint("sent-commit")
    return batch


# ---------------------------------------------------------------------------------------------- reconciliation


@dataclass
class ReconcileReport:
    statement_id: str = ""
    booked: int = 0
    rejected: int = 0
    already: int = 0
    ignored: int = 0
    unmatched: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def do_reconcile(session: Session, principal: Principal, xml_bytes: bytes) -> ReconcileReport:
    """Apply a camt.053 statement: booked payments become booked (a repair payout starts; a certificate's
    seller is paid), rejected ones become rejected with the bank's reason, are reversed in the ledger and
    their claims return to the payable queue. Applying the same statement again changes nothing."""
    _require(principal, (Role.PAYMENTS, Role.SYSTEM), "reconcile bank statements")
    statement = parse_camt053(xml_bytes)
    report = ReconcileReport(statement_id=statement.statement_id)
    with atomic(session):
        ids = [e.end_to_end_id for e in statement.entries if e.end_to_end_id]
        payments: dict[str, Payment] = {}
        for start in range(0, len(ids), 5000):
            for p in session.scalars(select(Payment).where(Payment.end_to_end_id.in_(ids[start:start + 5000]))):
                payments[p.end_to_end_id] = p
        years = _years(session, {p.claim_id for p in payments.values()})
        certs = {c.id: c for c in session.scalars(select(Certificate).where(
            Certificate.id.in_({p.certificate_id for p in payments.values() if p.certificate_id})))}
        posts: list[_Post] = []
        payouts: list[dict[str, Any]] = []
        booked_ids: list[str] = []
        rejected_ids: list[str] = []
        for e in statement.entries:
            where = f"entry {e.end_to_end_id or '(no id)'} (line {e.line})"
            if e.status in (EntryStatus.PENDING, EntryStatus.INFO) or not e.end_to_end_id:
                report.ignored += 1
                continue
            p = payments.get(e.end_to_end_id)
            if p is None:
                report.unmatched.append(e.end_to_end_id)
                continue
            if e.amount_kopiykas != p.amount_kopiykas:
                report.problems.append(f"{where}: amount {uah(e.amount_kopiykas)} but the payment is {uah(p.amount_kopiykas)}; not applied")
                continue
            is_return = e.status is EntryStatus.REJECTED or e.reversal or e.credit_debit == "CRDT"
            on = e.booking_date or today_utc()
            if not is_return:
                if p.state == "booked":
                    report.already += 1
                elif p.state != "sent":
                    report.problems.append(f"{where}: booked by the bank but the payment is {p.state}; not applied")
                else:
                    p.state, p.settled_on = "booked", on
                    booked_ids.append(p.end_to_end_id)
                    report.booked += 1
                    if p.purpose == "repair":
                        tier = tier_for_amount(p.amount_kopiykas)
                        payouts.append({"claim_id": p.claim_id, "payment_id": p.id, "tier": tier.value, "amount_kopiykas": p.amount_kopiykas,
                                            "transferred_on": on, "window_end": spending_window_end(on, tier), "state": "funds_transferred",
                                            "spent_kopiykas": 0, "returned_kopiykas": 0})
                    else:
                        cert = certs[p.certificate_id]
                        if cert.state == "contract_signed":
                            cert.state, cert.paid_on = "paid_to_seller", on
                continue
            # a return: the bank rejected the transfer
            if p.state == "rejected":
                report.already += 1
            elif p.state != "sent":
                report.problems.append(f"{where}: returned by the bank but the payment is {p.state}; handle it by hand")
            else:
                p.state, p.settled_on, p.reason_code = "rejected", on, (e.reason_code or "NARR")[:10]
                p.reason = e.reason_text or f"returned by the bank ({e.reason_code or 'no reason given'})"
                rejected_ids.append(p.end_to_end_id)
                report.rejected += 1
                ref = claim_reference(years[p.claim_id], p.claim_id)
                if p.purpose == "repair":
                    tx = L.payment_returned_transaction(f"RTN-{p.end_to_end_id}", ref, p.end_to_end_id, p.amount_kopiykas, p.reason_code)
                else:
                    number = certs[p.certificate_id].number
                    tx = L.Transaction(f"CPR-{p.end_to_end_id}", L.TransactionKind.CERTIFICATE_PAID,
                                       (L.Posting(L.bank_clearing(), debit=p.amount_kopiykas),
                                        L.Posting(L.certificate_reserved(number), credit=p.amount_kopiykas)),
                                       certificate=number, payment_id=p.end_to_end_id, memo=f"reversal: returned {p.reason_code}")
                posts.append(_Post(tx, claim_id=p.claim_id, payment_id=p.id, certificate_id=p.certificate_id))
        session.flush()
        _post(session, posts, principal.user_id)
        if payouts:
            session.execute(insert(RepairPayout), payouts)
        if booked_ids or rejected_ids or report.problems:
            record(session, f"statement:{statement.statement_id[:45]}", "statement.reconciled", principal.user_id,
                   {"message_id": statement.message_id, "booked": booked_ids, "rejected": rejected_ids,
                    "unmatched": report.unmatched[:100], "problems": report.problems[:100]})
    return report


# ---------------------------------------------------------------------------------------------- repair payouts


def _payout(session: Session, principal: Principal, reference: str, roles: Iterable[Role], what: str,
            lock: bool = True) -> tuple[RepairPayout, Claim]:
    """The claim's payout, if the principal may see the claim (else 404) and act on it (else 403)."""
    from everymetre.claims.access import get_claim

    claim = get_claim(session, principal, reference)
    _require(principal, roles, what, claim.oblast)
    stmt = select(RepairPayout).where(RepairPayout.claim_id == claim.id)
    payout = session.scalar(stmt.with_for_update() if lock else stmt)
    if payout is None:
        raise NotFound(f"Claim {claim.reference} has no repair payout yet (the money has not reached the account).")
    return payout, claim


def _payout_event(session: Session, principal: Principal, payout: RepairPayout, claim: Claim, action: str, payload: dict) -> None:
    record(session, f"payout:{payout.id}", action, principal.user_id, {"claim": claim.reference, **payload}, claim_id=claim.id)


def do_record_spending(session: Session, principal: Principal, reference: str, amount_kopiykas: int, on: date | None = None) -> RepairPayout:
    """Money spent from the special account on a participating vendor (reported by the bank)."""
    if amount_kopiykas <= 0:
        raise ValidationFailed("The amount spent must be positive.", field="amount_kopiykas")
    on = on or today_utc()
    with atomic(session):
        payout, claim = _payout(session, principal, reference, (Role.PAYMENTS, Role.SYSTEM), "record repair spending")
        if payout.state not in ("funds_transferred", "spending", "interim_reported"):
            raise InvalidTransition(f"The payout is {payout.state}; spending can no longer be recorded.")
        if on > payout.window_end:
            raise GuardFailed(f"The spending window closed on {payout.window_end.isoformat()}.")
        left = payout.amount_kopiykas - payout.spent_kopiykas
        if amount_kopiykas > left:
            raise ValidationFailed(f"Only {uah(left)} is left on the account.", field="amount_kopiykas")
        payout.spent_kopiykas += amount_kopiykas
        if payout.state == "funds_transferred":
            payout.state = "spending"
        _payout_event(session, principal, payout, claim, "payout.spent", {"amount_kopiykas": amount_kopiykas, "on": on.isoformat()})
    return payout


_REPORTERS = (Role.CLAIMANT, Role.OFFICER)


def do_interim_report(session: Session, principal: Principal, reference: str, on: date | None = None, note: str = "") -> RepairPayout:
    """The owner's interim report (photos, receipts) — required for tier B before the final report."""
    on = on or today_utc()
    with atomic(session):
        payout, claim = _payout(session, principal, reference, _REPORTERS, "file repair reports")
        if payout.state not in ("funds_transferred", "spending"):
            raise InvalidTransition(f"The payout is {payout.state}; an interim report is filed while spending.")
        payout.state, payout.interim_reported_on = "interim_reported", on
        _payout_event(session, principal, payout, claim, "payout.interim_reported", {"on": on.isoformat(), "note": note})
    return payout


def do_final_report(session: Session, principal: Principal, reference: str, on: date | None = None, note: str = "") -> RepairPayout:
    """The owner's final repair report (up to 10 photos). Tier B needs the interim report first."""
    on = on or today_utc()
    with atomic(session):
        payout, claim = _payout(session, principal, reference, _REPORTERS, "file repair reports")
        allowed = ("interim_reported",) if payout.tier == "B" else ("funds_transferred", "spending", "interim_reported")
        if payout.state not in allowed:
            need = " (tier B: file the interim report first)" if payout.tier == "B" and payout.state in ("funds_transferred", "spending") else ""
            raise InvalidTransition(f"The payout is {payout.state}; a final report cannot be filed now{need}.")
        payout.state, payout.final_reported_on = "final_reported", on
        _payout_event(session, principal, payout, claim, "payout.final_reported",
                      {"on": on.isoformat(), "spent_kopiykas": payout.spent_kopiykas, "note": note})
    return payout


def do_verify_payout(session: Session, principal: Principal, reference: str, on: date | None = None) -> RepairPayout:
    """An officer or commission member checks the final report against the works."""
    on = on or today_utc()
    with atomic(session):
        payout, claim = _payout(session, principal, reference, (Role.OFFICER, Role.COMMISSION), "verify repair reports")
        if payout.state != "final_reported":
            raise InvalidTransition(f"The payout is {payout.state}; only a final report can be verified.")
        payout.state, payout.verified_on, payout.verified_by_id = "verified", on, principal.user_id
        _payout_event(session, principal, payout, claim, "payout.verified", {"on": on.isoformat()})
    return payout


def _return_balance(payout: RepairPayout, claim_ref: str) -> list[_Post]:
    left = payout.amount_kopiykas - payout.spent_kopiykas - payout.returned_kopiykas
    if left <= 0:
        return []
    payout.returned_kopiykas += left
    return [_Post(L.balance_returned_transaction(f"RET-{payout.id}", left, claim=claim_ref), claim_id=payout.claim_id),
            _Post(L.returned_to_budget_transaction(f"RTB-{payout.id}", left, claim=claim_ref), claim_id=payout.claim_id)]


def do_close_payout(session: Session, principal: Principal, reference: str, on: date | None = None) -> RepairPayout:
    """Close a verified payout; any unspent balance returns to the budget."""
    on = on or today_utc()
    with atomic(session):
        payout, claim = _payout(session, principal, reference, (Role.PAYMENTS, Role.SYSTEM), "close repair payouts")
        if payout.state != "verified":
            raise InvalidTransition(f"The payout is {payout.state}; only a verified payout can be closed.")
        posts = _return_balance(payout, claim.reference)
        payout.state, payout.closed_on = "closed", on
        session.flush()
        _post(session, posts, principal.user_id)
        _payout_event(session, principal, payout, claim, "payout.closed",
                      {"on": on.isoformat(), "spent_kopiykas": payout.spent_kopiykas, "returned_kopiykas": payout.returned_kopiykas})
    return payout


@dataclass
class SweepReport:
    payouts_expired: int = 0
    returned_kopiykas: int = 0
    reservations_lapsed: int = 0
    certificates_expired: int = 0
    released_kopiykas: int = 0


def do_sweep(session: Session, principal: Principal = SYSTEM, today: date | None = None) -> SweepReport:
    """The deadlines the system enforces, as of `today`: repair money unspent when the window closes returns
    to the budget; a certificate reservation lapses 30 days after it was made without a contract; a
    certificate not used within 5 years expires. Safe to run any number of times."""
    _require(principal, (Role.PAYMENTS, Role.ADMIN, Role.SYSTEM), "run the payments sweep")
    today = today or today_utc()
    report = SweepReport()
    with atomic(session):
        due = session.execute(select(RepairPayout, Claim.ref_year).join(Claim, Claim.id == RepairPayout.claim_id)
                              .where(RepairPayout.state.in_(("funds_transferred", "spending", "interim_reported")),
                                     RepairPayout.window_end < today).with_for_update(of=RepairPayout)).all()
        for payout, year in due:
            ref = claim_reference(year, payout.claim_id)
            posts = _return_balance(payout, ref)
            payout.state, payout.closed_on = "expired_balance_returned", today
            session.flush()
            _post(session, posts, principal.user_id)
            report.payouts_expired += 1
            report.returned_kopiykas += sum(p.tx.amount for p in posts[:1])
            record(session, f"payout:{payout.id}", "payout.expired_balance_returned", principal.user_id,
                   {"claim": ref, "window_end": payout.window_end.isoformat(), "spent_kopiykas": payout.spent_kopiykas,
                    "returned_kopiykas": payout.returned_kopiykas}, claim_id=payout.claim_id)
        certs = session.scalars(select(Certificate).where(
            Certificate.state.in_(("issued", "funds_reserved", "ownership_terminated"))).with_for_update()).all()
        for cert in certs:
            lapsed = cert.reserved_on is not None and reservation_lapse_date(cert.reserved_on) < today
            expired = cert.expires_on < today
            if not (lapsed or expired):
                continue
            was = cert.state
            posts = []
            if cert.reserved_on is not None:
                posts.append(_Post(L.certificate_released_transaction(f"CRL-{cert.id}", cert.number, cert.value_kopiykas),
                                   claim_id=cert.claim_id, certificate_id=cert.id))
                report.released_kopiykas += cert.value_kopiykas
            cert.state = "reservation_lapsed" if lapsed else "expired"
            cert.closed_on = today
            session.flush()
            _post(session, posts, principal.user_id)
            if lapsed:
                report.reservations_lapsed += 1
            else:
                report.certificates_expired += 1
            record(session, f"certificate:{cert.id}", f"certificate.{cert.state}", principal.user_id,
                   {"number": cert.number, "from": was, "reserved_on": cert.reserved_on.isoformat() if cert.reserved_on else None,
                    "expires_on": cert.expires_on.isoformat(), "released_kopiykas": posts[0].tx.amount if posts else 0},
                   claim_id=cert.claim_id)
    return report


# ---------------------------------------------------------------------------------------------- certificates


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


def _certificate(session: Session, principal: Principal, number: str, lock: bool = True) -> tuple[Certificate, Claim]:
    from everymetre.claims.access import facts

    try:
        number = validate_certificate_number(number.strip().upper())
    except CertificateNumberError as exc:
        raise NotFound(f"No certificate {number!r}: {exc}") from None
    stmt = select(Certificate).where(Certificate.number == number)
    cert = session.scalar(stmt.with_for_update() if lock else stmt)
    claim = session.get(Claim, cert.claim_id) if cert is not None else None
    from everymetre.claims.lifecycle import can_see

    if cert is None or claim is None or not can_see(principal.actor, facts(principal, claim)):
        raise NotFound(f"No certificate {number} that you can see.")
    return cert, claim


def _cert_event(session: Session, principal: Principal, cert: Certificate, action: str, payload: dict) -> None:
    record(session, f"certificate:{cert.id}", action, principal.user_id, {"number": cert.number, **payload}, claim_id=cert.claim_id)


def do_issue_certificate(session: Session, principal: Principal, reference: str, today: date | None = None) -> Certificate:
    """Issue the housing certificate for an approved destroyed-housing claim: a unique checkable number, the
    decided value, and each co-owner's part (value x share, split exactly)."""
    from everymetre.claims.access import get_claim

    today = today or today_utc()
    with atomic(session):
        claim = get_claim(session, principal, reference)
        _require(principal, (Role.PAYMENTS,), "issue housing certificates", claim.oblast)
        if claim.kind != DESTROYED:
            raise ValidationFailed("Only a destroyed-housing claim gets a housing certificate; repairs are paid in money.", field="kind")
        if claim.state not in PAYABLE_STATES or not claim.awarded_amount_kopiykas or claim.awarded_amount_kopiykas <= 0:
            raise GuardFailed(f"Claim {claim.reference} is {claim.state} without an amount awarded: no certificate can be issued.")
        if claim.review_flag is not None:
            raise GuardFailed(f"Claim {claim.reference} has an open review finding ({claim.review_flag}); nothing is issued until it is resolved.")
        if claim.decided_by_id is not None and claim.decided_by_id == principal.user_id:
            raise GuardFailed("Segregation of duties: you decided this claim, so someone else must issue its certificate.")
        if session.scalar(select(Certificate.id).where(Certificate.claim_id == claim.id)) is not None:
            raise Conflict(f"Claim {claim.reference} already has a certificate.")
        owners = sorted(claim.owners, key=lambda o: o.id)
        if not owners:
            raise ValidationFailed("The claim has no owners to issue the certificate to.", field="owners")
        value = int(claim.awarded_amount_kopiykas)
        parts = split_value(value, [o.share for o in owners])
        serial = (session.scalar(select(func.max(Certificate.serial)).where(Certificate.year == today.year)) or 0) + 1
        decision_id = session.scalar(select(func.max(Decision.id)).where(Decision.claim_id == claim.id))
        cert = Certificate(number=make_certificate_number(today.year, serial), year=today.year, serial=serial, claim_id=claim.id,
                           decision_id=decision_id, value_kopiykas=value, state="issued", issued_on=today,
                           issued_by_id=principal.user_id, expires_on=certificate_expiry_date(today), redeemed_kopiykas=0,
                           shares=[CertificateShare(person_id=o.person_id, share_numerator=o.share_numerator,
                                                    share_denominator=o.share_denominator, amount_kopiykas=a)
                                   for o, a in zip(owners, parts, strict=True)])
        session.add(cert)
        session.flush()
        _cert_event(session, principal, cert, "certificate.issued",
                    {"claim": claim.reference, "value_kopiykas": value, "expires_on": cert.expires_on.isoformat(),
                     "shares": [{"person_id": s.person_id, "share": f"{s.share_numerator}/{s.share_denominator}",
                                 "amount_kopiykas": s.amount_kopiykas} for s in cert.shares]})
    return cert


def _cas(session: Session, cert: Certificate, from_state: str | tuple[str, ...], what: str) -> None:
    states = (from_state,) if isinstance(from_state, str) else from_state
    if cert.state not in states:
        raise InvalidTransition(f"Certificate {cert.number} is {cert.state}; it must be {' or '.join(states)} to {what}.")


def do_reserve_funds(session: Session, principal: Principal, number: str, on: date | None = None) -> Certificate:
    """Reserve the certificate's value in the budget (Dr programme budget, Cr certificate reserved)."""
    on = on or today_utc()
    with atomic(session):
        cert, claim = _certificate(session, principal, number)
        _require(principal, (Role.PAYMENTS, Role.SYSTEM), "reserve certificate funds", claim.oblast)
        _cas(session, cert, "issued", "reserve its funds")
        if on > cert.expires_on:
            raise GuardFailed(f"Certificate {cert.number} expired on {cert.expires_on.isoformat()}.")
        cert.state, cert.reserved_on = "funds_reserved", on
        _post(session, [_Post(L.certificate_reserved_transaction(f"CRS-{cert.id}", cert.number, cert.value_kopiykas),
                              claim_id=cert.claim_id, certificate_id=cert.id)], principal.user_id)
        _cert_event(session, principal, cert, "certificate.funds_reserved",
                    {"on": on.isoformat(), "lapses_after": reservation_lapse_date(on).isoformat()})
    return cert


def _within_reservation(cert: Certificate, on: date) -> None:
    assert cert.reserved_on is not None
    last = reservation_lapse_date(cert.reserved_on)
    if on > last:
        raise GuardFailed(f"The reservation of certificate {cert.number} lapsed after {last.isoformat()}.")


def do_terminate_ownership(session: Session, principal: Principal, number: str, document: str, on: date | None = None) -> Certificate:
    """Record that the owners gave up their rights to the destroyed home (registry record number)."""
    on = on or today_utc()
    if not document.strip():
        raise ValidationFailed("Give the registry record of the termination.", field="document")
    with atomic(session):
        cert, claim = _certificate(session, principal, number)
        _require(principal, (Role.OFFICER, Role.PAYMENTS), "record ownership termination", claim.oblast)
        _cas(session, cert, "funds_reserved", "record the ownership termination")
        _within_reservation(cert, on)
        cert.state, cert.ownership_terminated_on, cert.termination_document = "ownership_terminated", on, document.strip()[:120]
        _cert_event(session, principal, cert, "certificate.ownership_terminated", {"on": on.isoformat(), "document": cert.termination_document})
    return cert


def do_sign_contract(session: Session, principal: Principal, number: str, contract_number: str, price_kopiykas: int,
                     seller_name: str, seller_iban: str, on: date | None = None) -> Certificate:
    """Record the purchase contract (within 30 days of the reservation). The seller is paid the price up to
    the certificate's value through the next payment batch; a price above the value is the buyer's part."""
    on = on or today_utc()
    if not contract_number.strip():
        raise ValidationFailed("Give the contract's number.", field="contract_number")
    if price_kopiykas <= 0:
        raise ValidationFailed("The price must be positive.", field="price_kopiykas")
    if not seller_name.strip() or len(seller_name) > 140:
        raise ValidationFailed("The seller's name must be 1-140 characters.", field="seller_name")
    iban = _seller_iban(seller_iban)
    with atomic(session):
        cert, claim = _certificate(session, principal, number)
        _require(principal, (Role.OFFICER, Role.PAYMENTS), "record purchase contracts", claim.oblast)
        _cas(session, cert, "ownership_terminated", "record the purchase contract")
        _within_reservation(cert, on)
        cert.state, cert.contract_number, cert.contract_signed_on = "contract_signed", contract_number.strip()[:60], on
        cert.contract_price_kopiykas, cert.seller_name, cert.seller_iban = price_kopiykas, seller_name.strip(), iban
        _cert_event(session, principal, cert, "certificate.contract_signed",
                    {"on": on.isoformat(), "contract": cert.contract_number, "price_kopiykas": price_kopiykas,
                     "seller": cert.seller_name, "seller_iban": mask(iban, 4) or None,
                     "to_pay_kopiykas": _seller_amount(cert)})
    return cert


def _seller_iban(text: str) -> str:
    try:
        return validate_iban(text)
    except IBANError as exc:
        raise ValidationFailed(f"The seller's IBAN: {exc}", field="seller_iban") from None


def do_correct_seller_account(session: Session, principal: Principal, number: str, seller_name: str, seller_iban: str) -> Certificate:
    """After the bank returned the seller's payment: correct the account; the next batch pays again."""
    iban = _seller_iban(seller_iban)
    with atomic(session):
        cert, claim = _certificate(session, principal, number)
        _require(principal, (Role.OFFICER, Role.PAYMENTS), "correct the seller's account", claim.oblast)
        _cas(session, cert, "contract_signed", "correct the seller's account")
        if session.scalar(select(Payment.id).where(Payment.certificate_id == cert.id, Payment.state.not_in(("rejected", "cancelled")))):
            raise Conflict("The seller's payment is on its way; it can be corrected only after the bank returns it.")
        cert.seller_name, cert.seller_iban = seller_name.strip()[:140], iban
        _cert_event(session, principal, cert, "certificate.seller_corrected", {"seller": cert.seller_name})
    return cert


def do_redeem(session: Session, principal: Principal, number: str, on: date | None = None) -> Certificate:
    """Close a certificate whose seller was paid: redeemed for the amount paid; any part of the value left
    unused is released to the budget. A certificate is redeemed once, never above its value (also CHECKs)."""
    on = on or today_utc()
    with atomic(session):
        cert, claim = _certificate(session, principal, number)
        _require(principal, (Role.PAYMENTS, Role.SYSTEM), "redeem certificates", claim.oblast)
        if cert.state == "redeemed":
            raise Conflict(f"Certificate {cert.number} was already redeemed on {cert.redeemed_on}.")
        _cas(session, cert, "paid_to_seller", "be redeemed")
        paid = int(session.scalar(select(func.coalesce(func.sum(Payment.amount_kopiykas), 0))
                                  .where(Payment.certificate_id == cert.id, Payment.state == "booked")) or 0)
        if paid <= 0 or paid > cert.value_kopiykas:
            raise GuardFailed(f"Certificate {cert.number}: booked seller payments of {uah(paid)} against a value of "
                              f"{uah(cert.value_kopiykas)}; it cannot be redeemed.")
        # compare-and-set: of two concurrent redemptions exactly one changes the row
        done = session.execute(update(Certificate).where(Certificate.id == cert.id, Certificate.state == "paid_to_seller")
                               .values(state="redeemed", redeemed_on=on, redeemed_kopiykas=paid)
                               .execution_options(synchronize_session=False)).rowcount
        if done != 1:
            raise Conflict(f"Certificate {cert.number} was redeemed meanwhile.")
        posts = []
        if cert.value_kopiykas - paid > 0:
            posts.append(_Post(L.certificate_released_transaction(f"CRL-{cert.id}", cert.number, cert.value_kopiykas - paid),
                               claim_id=cert.claim_id, certificate_id=cert.id))
        _post(session, posts, principal.user_id)
        _cert_event(session, principal, cert, "certificate.redeemed",
                    {"on": on.isoformat(), "redeemed_kopiykas": paid, "released_kopiykas": cert.value_kopiykas - paid})
    session.refresh(cert)
    return cert


# ---------------------------------------------------------------------------------------------- reading


def _payment_view(p: Payment) -> dict[str, Any]:
    return {"end_to_end_id": p.end_to_end_id, "purpose": p.purpose, "amount_kopiykas": p.amount_kopiykas, "state": p.state,
            "batch_id": p.batch_id, "created_at": p.created_at, "sent_at": p.sent_at, "settled_on": p.settled_on,
            "reason_code": p.reason_code, "reason": p.reason,
            "creditor_name": p.creditor_name, "creditor_iban": mask(p.creditor_iban, 4) or None}


def certificate_dict(cert: Certificate, claim: Claim, session: Session) -> dict[str, Any]:
    names = dict(session.execute(select(Person.id, Person.full_name).where(Person.id.in_([s.person_id for s in cert.shares]))).all())
    lapse = reservation_lapse_date(cert.reserved_on) if cert.reserved_on else None
    return {
        "number": cert.number, "claim_reference": claim.reference, "state": cert.state, "value_kopiykas": cert.value_kopiykas,
        "issued_on": cert.issued_on, "expires_on": cert.expires_on, "reserved_on": cert.reserved_on,
        "contract_due_by": lapse, "ownership_terminated_on": cert.ownership_terminated_on,
        "contract_number": cert.contract_number, "contract_signed_on": cert.contract_signed_on,
        "contract_price_kopiykas": cert.contract_price_kopiykas, "seller_name": cert.seller_name,
        "seller_iban": mask(cert.seller_iban, 4) or None, "paid_on": cert.paid_on, "redeemed_on": cert.redeemed_on,
        "redeemed_kopiykas": cert.redeemed_kopiykas,
        "shares": [{"owner": names.get(s.person_id, ""), "share": f"{s.share_numerator}/{s.share_denominator}",
                    "amount_kopiykas": s.amount_kopiykas} for s in cert.shares],
    }


def payout_status(session: Session, principal: Principal, reference: str) -> dict[str, Any]:
    """Everything a claimant's (or officer's) payout page shows for one claim; 404 unless they may see it."""
    from everymetre.claims.access import get_claim

    claim = get_claim(session, principal, reference)
    payments = session.scalars(select(Payment).where(Payment.claim_id == claim.id).order_by(Payment.id)).all()
    payout = session.scalar(select(RepairPayout).where(RepairPayout.claim_id == claim.id))
    cert = session.scalar(select(Certificate).where(Certificate.claim_id == claim.id))
    kind = "certificate" if claim.kind == DESTROYED else "repair"
    decided = claim.awarded_amount_kopiykas if claim.state in COMMITTED_STATES else None
    if kind == "repair":
        if payout is not None:
            stage = payout.state
        elif any(p.state in ("batched", "sent") for p in payments):
            stage = "payment_in_progress"
        elif payments and payments[-1].state == "rejected":
            stage = "payment_returned"
        elif claim.state in PAYABLE_STATES and decided:
            stage = "on_hold" if claim.review_flag else "awaiting_payment"
        else:
            stage = "not_decided" if decided is None else "appeal_pending"
    else:
        stage = cert.state if cert is not None else ("awaiting_certificate" if claim.state in PAYABLE_STATES and decided else "not_decided")
    out: dict[str, Any] = {"claim_reference": claim.reference, "claim_state": claim.state, "payout_kind": kind,
                           "decided_amount_kopiykas": decided, "stage": stage, "on_hold": claim.review_flag is not None,
                           "payments": [_payment_view(p) for p in payments], "repair": None, "certificate": None}
    if payout is not None:
        out["repair"] = {"state": payout.state, "tier": payout.tier, "amount_kopiykas": payout.amount_kopiykas,
                         "transferred_on": payout.transferred_on, "spend_by": payout.window_end,
                         "interim_report_required": payout.tier == "B", "interim_reported_on": payout.interim_reported_on,
                         "final_reported_on": payout.final_reported_on, "verified_on": payout.verified_on,
                         "closed_on": payout.closed_on, "spent_kopiykas": payout.spent_kopiykas,
                         "left_kopiykas": payout.amount_kopiykas - payout.spent_kopiykas - payout.returned_kopiykas,
                         "returned_kopiykas": payout.returned_kopiykas}
    if cert is not None:
        out["certificate"] = certificate_dict(cert, claim, session)
    return out


def certificate_view(session: Session, principal: Principal, number: str) -> dict[str, Any]:
    """A certificate as its owners and staff see it (404 for anyone else)."""
    cert, claim = _certificate(session, principal, number, lock=False)
    return certificate_dict(cert, claim, session)


_BATCH_VIEWERS = (Role.PAYMENTS, Role.AUDITOR, Role.ADMIN)


def _batch_dict(b: PaymentBatch, emails: dict[int, str]) -> dict[str, Any]:
    threshold = second_approval_above()
    return {"id": b.id, "message_id": b.message_id, "state": b.state, "count": b.count, "total_kopiykas": b.total_kopiykas,
            "created_at": b.created_at, "created_by": emails.get(b.created_by_id), "requested_on": b.requested_on,
            "approved_by": emails.get(b.approved_by_id), "approved_at": b.approved_at,
            "second_approver": emails.get(b.second_approver_id), "second_approval_required": b.total_kopiykas > threshold,
            "exported_at": b.exported_at, "file_sha256": b.file_sha256, "sent_at": b.sent_at}


def _emails(session: Session, batches: Iterable[PaymentBatch]) -> dict[int, str]:
    ids = {i for b in batches for i in (b.created_by_id, b.approved_by_id, b.second_approver_id) if i}
    return dict(session.execute(select(User.id, User.email).where(User.id.in_(ids))).all()) if ids else {}


def list_batches(session: Session, principal: Principal, state: str | None = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """The payments officer's batch list (newest first)."""
    _require(principal, _BATCH_VIEWERS, "see payment batches")
    stmt = select(PaymentBatch)
    if state:
        stmt = stmt.where(PaymentBatch.state == state)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    batches = session.scalars(stmt.order_by(PaymentBatch.id.desc()).limit(limit).offset(offset)).all()
    emails = _emails(session, batches)
    return {"items": [_batch_dict(b, emails) for b in batches], "total": total, "limit": limit, "offset": offset,
            "second_approval_above_kopiykas": second_approval_above()}


def batch_detail(session: Session, principal: Principal, batch_id: int, limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """One batch with a page of its payments, counts per state, and what the viewer may do with it."""
    _require(principal, _BATCH_VIEWERS, "see payment batches")
    batch = session.get(PaymentBatch, batch_id)
    if batch is None:
        raise NotFound(f"No payment batch {batch_id}.")
    rows = session.execute(select(Payment, Claim.ref_year).join(Claim, Claim.id == Payment.claim_id)
                           .where(Payment.batch_id == batch.id).order_by(Payment.id).limit(limit).offset(offset)).all()
    states = dict(session.execute(select(Payment.state, func.count()).where(Payment.batch_id == batch.id).group_by(Payment.state)).all())
    out = _batch_dict(batch, _emails(session, [batch]))
    can_approve, why = False, None
    if batch.state == "built" and principal.role is Role.PAYMENTS:
        try:
            _batch_problems(session, principal, batch)
            needs_second = batch.total_kopiykas > second_approval_above()
            can_approve = batch.approved_by_id is None or (needs_second and principal.user_id != batch.approved_by_id)
            if not can_approve:
                why = "waiting for a second, different payments user"
        except (GuardFailed, Forbidden) as exc:
            why = exc.detail
    out.update({"payments": [{**_payment_view(p), "claim_reference": claim_reference(y, p.claim_id)} for p, y in rows],
                "payments_by_state": states, "can_approve": can_approve, "cannot_approve_because": why})
    return out
