"""The double-entry ledger on the store: posting transactions, decisions committed as payables, the
catch-up sync, and the invariant check (`everymetre ledger check`).

Transaction ids are deterministic (``DEC-12-1``, ``SENT-EMP-...``), so the same event posted twice fails on
the primary key and the surrounding transaction rolls back. The pure rules are in `ledger_rules`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, insert, or_, select
from sqlalchemy.orm import Session

from everymetre.accounts.actions import SYSTEM, Principal
from everymetre.accounts.permissions import Action, Subject, require
from everymetre.audit.record import record
from everymetre.claims.lifecycle import STANDING_AWARDS
from everymetre.claims.models import Claim, Decision
from everymetre.kernel.errors import NotFound
from everymetre.kernel.identifiers import claim_reference, parse_claim_reference
from everymetre.payments import ledger_rules
from everymetre.payments.certificate_issue import IssueResult, issue_many, sync_claim_certificates
from everymetre.payments.models import (
    Certificate,
    LedgerPosting,
    LedgerTransaction,
    Payment,
)
from everymetre.payments.states import COMMITTED_CLAIMS, DESTROYED, PAYABLE_CLAIMS, PaymentState
from everymetre.store.tx import atomic
from everymetre.store.types import utcnow


@dataclass(frozen=True, slots=True)
class Post:
    """A transaction to store, with the rows it concerns."""

    tx: ledger_rules.Transaction
    claim_id: int | None = None
    payment_id: int | None = None
    certificate_id: int | None = None


def post(session: Session, items: Sequence[Post], actor_id: int | None) -> None:
    """Store transactions and their postings (validated: each balances). Ids are deterministic, so the same
    event posted twice fails on the primary key and the surrounding transaction rolls back."""
    if not items:
        return
    now = utcnow()
    txs: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for it in items:
        it.tx.validate()
        txs.append({"id": it.tx.transaction_id, "kind": str(it.tx.kind), "claim_id": it.claim_id, "payment_id": it.payment_id,
                        "certificate_id": it.certificate_id, "amount_kopiykas": it.tx.amount, "memo": it.tx.memo,
                        "actor_id": actor_id, "created_at": now})
        rows.extend({"transaction_id": it.tx.transaction_id, "account": p.account, "debit": p.debit, "credit": p.credit,
                         "kind": str(it.tx.kind)} for p in it.tx.postings)
    # table-level executemany (not the ORM's bulk insert): a 100,000-payment batch posts 300,000 rows
    session.execute(insert(LedgerTransaction.__table__), txs)
    session.execute(insert(LedgerPosting.__table__), rows)


_DECISION_KINDS = (ledger_rules.TransactionKind.DECISION.value, ledger_rules.TransactionKind.DECISION_REVISED.value)


def committed_amounts(session: Session, claim_ids: Sequence[int] | None = None) -> dict[int, tuple[int, int]]:
    """claim id -> (amount committed by decision postings, number of decision transactions)."""
    amount = func.sum(LedgerPosting.credit - LedgerPosting.debit)
    stmt = (select(LedgerTransaction.claim_id, amount, func.count(func.distinct(LedgerTransaction.id)))
            .join(LedgerPosting, LedgerPosting.transaction_id == LedgerTransaction.id)
            .where(LedgerTransaction.kind.in_(_DECISION_KINDS), LedgerPosting.account.like("claim_payable:%"))
            .group_by(LedgerTransaction.claim_id))
    if claim_ids is not None:
        stmt = stmt.where(LedgerTransaction.claim_id.in_(list(claim_ids)))
    return {int(cid): (int(a or 0), int(n)) for cid, a, n in session.execute(stmt) if cid is not None}


def decision_posts(claim_rows: Iterable[tuple[int, int, int, int | None]], committed: dict[int, tuple[int, int]]) -> list[Post]:
    out = []
    for cid, year, awarded, decision_id in claim_rows:
        have, n = committed.get(cid, (0, 0))
        delta = (awarded or 0) - have
        if delta == 0:
            continue
        ref = claim_reference(year, cid)
        memo = f"decision {decision_id}" if decision_id else "decision"
        if n == 0 and delta > 0:
            tx = ledger_rules.decision_transaction(f"DEC-{cid}-1", ref, delta, memo=memo)
        else:
            tx = ledger_rules.decision_revised_transaction(f"DEC-{cid}-{n + 1}", ref, delta, memo=memo)
        out.append(Post(tx, claim_id=cid))
    return out


def latest_decisions():
    """Each claim's latest standing decision (not one waiting for, or refused, a second approval: claims.awards)."""
    return (select(Decision.claim_id, func.max(Decision.id).label("decision_id"))
            .where(Decision.approval.in_(STANDING_AWARDS)).group_by(Decision.claim_id).subquery())


def post_decision(session: Session, claim: Claim, actor_id: int | None = None) -> ledger_rules.Transaction | None:
    """Bring the ledger in line with the claim's decided amount (call inside the decision's transaction, after
    the claim is approved or revised). Returns the transaction posted, or None if there was nothing to post.
    Housing-certificate claims are committed when the certificate's funds are reserved, not here: their
    decision issues (or, revised, replaces or revokes) the co-owners' certificates instead."""
    session.flush()
    if claim.kind == DESTROYED:
        result = sync_claim_certificates(session, claim, actor_id, utcnow().date())
        post(session, [Post(r.tx, claim_id=r.claim_id, certificate_id=r.certificate_id) for r in result.releases], actor_id)
        return None
    awarded = claim.awarded_amount_kopiykas if claim.state in COMMITTED_CLAIMS else 0
    decision_id = session.scalar(select(func.max(Decision.id)).where(Decision.claim_id == claim.id,
                                                                     Decision.approval.in_(STANDING_AWARDS)))
    posts = decision_posts([(claim.id, claim.ref_year, awarded or 0, decision_id)], committed_amounts(session, [claim.id]))
    post(session, posts, actor_id)
    return posts[0].tx if posts else None


def do_post_decision(session: Session, principal: Principal, reference: str) -> ledger_rules.Transaction | None:
    """`post_decision` as an action of its own (its own transaction and audit event)."""
    parsed = parse_claim_reference(reference)
    with atomic(session):
        claim = session.get(Claim, parsed[1]) if parsed else None
        if claim is None:
            raise NotFound(f"No claim {reference}.")
        require(principal.actor, Action.LEDGER_POST, Subject(oblasts=frozenset({claim.oblast})))
        tx = post_decision(session, claim, principal.user_id)
        if tx is not None:
            record(session, "ledger:decisions", "ledger.decision_posted", principal.user_id,
                   {"claim": claim.reference, "transaction": tx.transaction_id, "kind": str(tx.kind), "amount_kopiykas": tx.amount},
                   claim_id=claim.id)
    return tx


@dataclass
class SyncReport:
    checked: int = 0
    posted: int = 0
    revised: int = 0
    total_kopiykas: int = 0
    certificates_issued: int = 0


def post_certificates(session: Session, claim_ids: Sequence[int], actor_id: int | None) -> IssueResult:
    """`post_decision` for many destroyed-housing decisions at once (a bulk decision, the catch-up): their
    certificates issued set-based (`certificate_issue.issue_many`), any funds a revision releases posted."""
    result = issue_many(session, claim_ids, actor_id, utcnow().date())
    post(session, [Post(r.tx, claim_id=r.claim_id, certificate_id=r.certificate_id) for r in result.releases], actor_id)
    return result


def uncertified_claims(session: Session) -> list[int]:
    """Payable destroyed-housing claims (no review hold) that never had a certificate: decided outside the
    decision's hook (imported decided, or before certificates were issued on decision)."""
    return list(session.scalars(select(Claim.id).where(
        Claim.kind == DESTROYED, Claim.state.in_(PAYABLE_CLAIMS), Claim.awarded_amount_kopiykas > 0, Claim.review_flag.is_(None),
        ~select(Certificate.id).where(Certificate.claim_id == Claim.id).exists()).order_by(Claim.id)))


def sync(session: Session, actor_id: int | None, chunk: int = 20_000) -> SyncReport:
    report = SyncReport()
    latest = latest_decisions()
    committed_sub = (select(LedgerTransaction.claim_id.label("claim_id"),
                            func.sum(LedgerTransaction.amount_kopiykas).label("n"))
                     .where(LedgerTransaction.kind.in_(_DECISION_KINDS)).group_by(LedgerTransaction.claim_id).subquery())
    # candidates: decided claims (with money now, or committed before) whose ledger may differ from the decision
    stmt = (select(Claim.id, Claim.ref_year, Claim.state, Claim.awarded_amount_kopiykas, latest.c.decision_id,
                   committed_sub.c.n)
            .outerjoin(latest, latest.c.claim_id == Claim.id)
            .outerjoin(committed_sub, committed_sub.c.claim_id == Claim.id)
            .where(Claim.kind != DESTROYED,
                   or_(and_(Claim.state.in_(COMMITTED_CLAIMS), Claim.awarded_amount_kopiykas > 0), committed_sub.c.n.is_not(None)))
            .order_by(Claim.id))
    rows = session.execute(stmt).all()
    report.checked = len(rows)
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        # claims never posted need no look-up; the others get their exact committed amount
        seen = [r.id for r in part if r.n is not None]
        committed = committed_amounts(session, seen) if seen else {}
        items = [(r.id, r.ref_year, (r.awarded_amount_kopiykas or 0) if r.state in COMMITTED_CLAIMS else 0, r.decision_id)
                 for r in part]
        posts = decision_posts(items, committed)
        post(session, posts, actor_id)
        for p in posts:
            if p.tx.kind is ledger_rules.TransactionKind.DECISION:
                report.posted += 1
            else:
                report.revised += 1
            report.total_kopiykas += p.tx.amount if p.tx.kind is ledger_rules.TransactionKind.DECISION else 0
    return report


def do_sync_decisions(session: Session, principal: Principal = SYSTEM) -> SyncReport:
    """Catch-up: post payable entries for decided claims not yet (or not correctly) in the ledger, and issue the
    housing certificates of payable destroyed-housing claims that have none (set-based). Idempotent."""
    require(principal.actor, Action.LEDGER_SYNC)
    with atomic(session):
        report = sync(session, principal.user_id)
        report.certificates_issued = len(post_certificates(session, uncertified_claims(session), principal.user_id).issued_numbers)
        if report.posted or report.revised or report.certificates_issued:
            record(session, "ledger:decisions", "ledger.decisions_synced", principal.user_id,
                   {"posted": report.posted, "revised": report.revised, "total_kopiykas": report.total_kopiykas,
                    "certificates_issued": report.certificates_issued})
    return report


# ---------------------------------------------------------------------------------------------- ledger check


def decided_amounts(session: Session) -> dict[str, int]:
    """Claim reference -> decided amount, for the claims the ledger must commit (cash repair payouts)."""
    stmt = select(Claim.id, Claim.ref_year, Claim.awarded_amount_kopiykas).where(
        Claim.kind != DESTROYED, Claim.state.in_(COMMITTED_CLAIMS), Claim.awarded_amount_kopiykas > 0)
    return {claim_reference(y, cid): int(a or 0) for cid, y, a in session.execute(stmt)}


def ledger_violations(session: Session) -> list[ledger_rules.Violation]:
    """Every broken invariant: each transaction balances (and its stored amount matches its postings), no
    claim paid twice or above its decision, ledger commitments equal the decisions, every sent payment has
    exactly one posting of its own, no certificate reservation overdrawn or redeemed above its value."""
    stmt = select(LedgerPosting.transaction_id, LedgerPosting.account, LedgerPosting.debit, LedgerPosting.credit,
                  LedgerPosting.kind, LedgerPosting.id).execution_options(yield_per=50_000)
    rows = [ledger_rules.LedgerRow(t, a, int(d), int(c), k, i) for t, a, d, c, k, i in session.execute(stmt)]
    out = ledger_rules.check_ledger(rows, decided_amounts(session))
    debits: dict[str, int] = defaultdict(int)
    reserved: dict[str, int] = defaultdict(int)
    for r in rows:
        debits[r.transaction_id] += r.debit
        if r.account.startswith("certificate_reserved:"):
            reserved[r.account] += r.credit - r.debit
    for txid, _kind, amount in session.execute(select(LedgerTransaction.id, LedgerTransaction.kind, LedgerTransaction.amount_kopiykas)):
        if debits.get(txid, 0) != amount:
            out.append(ledger_rules.Violation("amount_mismatch", f"transaction says {amount} but its postings debit {debits.get(txid, 0)}", txid))
    for acct, bal in sorted(reserved.items()):
        if bal < 0:
            out.append(ledger_rules.Violation("reservation_overdrawn",
                                              f"certificate reservation balance is {bal}: paid more than reserved", account=acct))
    # every payment that left (sent/booked) is posted exactly once; every returned one is reversed
    sent_kinds = (ledger_rules.TransactionKind.PAYMENT_SENT.value, ledger_rules.TransactionKind.CERTIFICATE_PAID.value,
                  ledger_rules.TransactionKind.TRANCHE_SENT.value)
    posted = dict(session.execute(
        select(LedgerTransaction.payment_id, func.count()).where(LedgerTransaction.kind.in_(sent_kinds),
                                                                 LedgerTransaction.id.like("SENT-%") | LedgerTransaction.id.like("CPD-%"))
        .group_by(LedgerTransaction.payment_id)).all())
    for pid, e2e, state in session.execute(select(Payment.id, Payment.end_to_end_id, Payment.state)
                                          .where(Payment.state.in_((PaymentState.SENT, PaymentState.BOOKED, PaymentState.REJECTED)))):
        if posted.get(pid, 0) != 1:
            out.append(ledger_rules.Violation("payment_not_posted", f"payment {e2e} is {state} but has {posted.get(pid, 0)} sent posting(s)",
                                   row_id=pid))
    for num, value, redeemed in session.execute(select(Certificate.number, Certificate.value_kopiykas, Certificate.redeemed_kopiykas)
                                               .where(Certificate.redeemed_kopiykas > Certificate.value_kopiykas)):
        out.append(ledger_rules.Violation("redeemed_above_value", f"certificate redeemed {redeemed} of a value of {value}",
                                          account=ledger_rules.certificate_reserved(num)))
    return out

