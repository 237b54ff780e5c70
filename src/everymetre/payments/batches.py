"""Payment batches: build (collect what is payable), approve (one or two payments officers, never the builder
for the approval that releases it), cancel, write the pain.001 file, mark sent.

Each step is one transaction with its audit event on chain ``batch:ID``; each is idempotent and resumes where
a crash left it. Who may take each step is `accounts.permissions` (BATCH_* actions); which step follows which
is `payments.states.BATCH`. Paying each loss exactly once rests on the database (see `payments.models`).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.accounts.permissions import Action, Subject, check, require
from everymetre.audit.record import record
from everymetre.claims.lifecycle import AccountState
from everymetre.claims.models import Claim, Decision, Ownership, PayoutAccount, Person
from everymetre.claims.payout_accounts import CURRENT as CURRENT_ACCOUNT
from everymetre.config import get_settings
from everymetre.kernel.errors import Conflict, ErrorCode, NotFound, ValidationFailed
from everymetre.kernel.iban import IBANError, make_ua_iban, validate_iban
from everymetre.kernel.identifiers import claim_reference
from everymetre.payments import ledger_rules, tranches
from everymetre.payments.common import (
    Checkpoint,
    batch_subject,
    no_checkpoint,
    seller_amount,
    today_utc,
)
from everymetre.payments.iso20022 import (
    CreditTransfer,
    DebtorAccount,
    build_pain001,
    make_message_id,
    validate_pain001,
    write_pain001,
)
from everymetre.payments.iso20022 import PaymentBatch as IsoBatch
from everymetre.payments.ledger import Post, SyncReport, latest_decisions, post, sync
from everymetre.payments.models import Certificate, Payment, PaymentBatch
from everymetre.payments.states import (
    BATCH,
    DEAD_PAYMENT,
    DESTROYED,
    IN_FILE,
    OPEN_BATCH,
    PAYABLE_CLAIMS,
    PAYMENT,
    BatchState,
    CertificateState,
    PaymentState,
)
from everymetre.store.tx import atomic
from everymetre.store.types import utcnow

B, P = BatchState, PaymentState


def second_approval_above() -> int:
    """Batches with a total above this (kopiykas) need two payments officers' approvals."""
    return get_settings().second_approval_above_kopiykas


def debtor_account() -> DebtorAccount:
    """The programme's paying account (EVERYMETRE_PAYER_IBAN / EVERYMETRE_PAYER_NAME; a demo account by default)."""
    s = get_settings()
    try:
        iban = validate_iban(s.payer_iban or make_ua_iban("820172", 35_2100_0000_1234))
    except IBANError as exc:
        raise ValidationFailed(f"EVERYMETRE_PAYER_IBAN: {exc}") from None
    return DebtorAccount(name=s.payer_name, iban=iban)


# ---------------------------------------------------------------------------------------------- build

# why a build held a claim back: the permission table's refusal code -> the reason counted in the report
HELD_BECAUSE = {ErrorCode.OUT_OF_SCOPE: "outside your oblasts", ErrorCode.SEGREGATION_DECIDED: "decided by you (segregation)"}


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
                                                     PaymentBatch.state.in_(OPEN_BATCH)))


def do_build_batch(session: Session, principal: Principal, today: date | None = None,
                   checkpoint: Checkpoint = no_checkpoint) -> BuildReport:
    """Collect everything payable into a new batch, or resume this officer's open batch.

    Payable: repair claims decided with money (approved, upheld, revised) with no live payment, and
    certificates whose purchase contract is signed with no live seller payment. Held back (and counted):
    claims with an open review flag, claims the officer may not release (Action.BATCH_BUILD: outside their
    oblasts, or decided by them), payees without an IBAN. Decisions not yet in the ledger are posted first,
    in the same transaction. Two builds at once: the later one is refused (Conflict), never half-done.
    """
    require(principal.actor, Action.BATCH_BUILD)
    today = today or today_utc()
    report = BuildReport()
    try:
        with atomic(session):
            existing = _open_batch(session, principal.user_id)
            if existing is not None:
                report.batch, report.resumed = existing, True
                return report
            report.synced = sync(session, principal.user_id)
            if report.synced.posted or report.synced.revised:
                record(session, "ledger:decisions", "ledger.decisions_synced", principal.user_id,
                       {"posted": report.synced.posted, "revised": report.synced.revised,
                        "total_kopiykas": report.synced.total_kopiykas})
            hold = _holder(report, principal)
            repairs = _payable_repairs(session, hold, report)
            repairs += tranches.payable_second_payments(session, hold, lambda ids: _attempts(session, Payment.claim_id, ids))
            sellers = _payable_sellers(session, hold)
            pending = _pending_payments(session, hold)
            if not repairs and not sellers and not pending:
                return report
            now = utcnow()
            batch = PaymentBatch(message_id=make_message_id(now), state=B.BUILT.value, created_by_id=principal.user_id,
                                 open_for_user_id=principal.user_id, created_at=now.replace(microsecond=0), requested_on=today)
            into = PAYMENT.move(P.PENDING, P.BATCHED)
            session.add(batch)
            session.flush()
            rows = [dict(r, batch_id=batch.id, state=into.target, created_at=now) for r in repairs + sellers]
            if rows:
                session.execute(insert(Payment), rows)
            if pending:
                session.execute(update(Payment).where(Payment.id.in_(pending), Payment.state == into.source)
                                .values(batch_id=batch.id, state=into.target))
            count, total = session.execute(select(func.count(), func.coalesce(func.sum(Payment.amount_kopiykas), 0))
                                           .where(Payment.batch_id == batch.id)).one()
            batch.count, batch.total_kopiykas = int(count), int(total)
            claim_ids = sorted(session.scalars(select(Payment.claim_id).where(Payment.batch_id == batch.id)))
            record(session, f"batch:{batch.id}", "batch.built", principal.user_id,
                   {"message_id": batch.message_id, "count": batch.count, "total_kopiykas": batch.total_kopiykas,
                    "claim_ids": claim_ids, "held": dict(report.held)})
            report.batch, report.added, report.total_kopiykas = batch, batch.count, batch.total_kopiykas
            checkpoint("build-commit")
    except IntegrityError:
        # another build committed first the same decisions' ledger entries, payments of the same claims, or this
        # officer's open batch (unique indexes); this one rolled back whole
        raise Conflict("Another payment batch was built at the same time and took these payments (or your open "
                       "batch); nothing was built. Run it again to resume that batch or to pay what is left.",
                       ErrorCode.BATCH_BUILT_MEANWHILE) from None
    return report


def _attempts(session: Session, column: Any, ids: list[int]) -> dict[int, int]:
    """How many payments each claim (or certificate) had before: the next end-to-end id's attempt number."""
    if not ids:
        return {}
    return dict(session.execute(select(column, func.count()).where(column.is_not(None)).group_by(column)).all())


def _holder(report: BuildReport, principal: Principal):
    """hold(oblast, decided_by, flag) -> True (and counted) when the claim stays out of this officer's batch."""
    verdicts: dict[tuple[str, bool], str | None] = {}  # (oblast, decided by me) -> reason held, or None

    def hold(oblast: str, decided_by: int | None, flag: str | None) -> bool:
        if flag is not None:
            report.held["open review flag"] += 1
            return True
        key = (oblast, decided_by is not None and decided_by == principal.user_id)
        if key not in verdicts:
            subject = Subject(oblasts=frozenset({oblast}), decided_by=frozenset({decided_by}) if decided_by else frozenset())
            problem = check(principal.actor, Action.BATCH_BUILD, subject)
            verdicts[key] = None if problem is None else HELD_BECAUSE.get(problem.code, problem.detail)
        reason = verdicts[key]
        if reason is not None:
            report.held[reason] += 1
        return reason is not None

    return hold


def _payable_repairs(session: Session, hold: Any, report: BuildReport) -> list[dict[str, Any]]:
    """Payments for payable repair claims, to the payee's current payout account (claims.payout_accounts; the
    person's IBAN for claims filed before those existed). Held back: a payee whose account the bank returned
    ("needs a new account") or who has none, and a claim whose award is not its standing decision's amount
    (no payment is made for another amount than the decision's)."""
    live = exists().where(Payment.claim_id == Claim.id, Payment.purpose == "repair", Payment.state.not_in(DEAD_PAYMENT))
    latest = latest_decisions()
    payable = (Claim.kind != DESTROYED, Claim.state.in_(PAYABLE_CLAIMS), Claim.awarded_amount_kopiykas > 0, ~live)
    claims = session.execute(
        select(Claim.id, Claim.ref_year, Claim.oblast, Claim.awarded_amount_kopiykas, Claim.decided_by_id, Claim.review_flag,
               latest.c.decision_id, Decision.amount_kopiykas.label("decided_amount"))
        .outerjoin(latest, latest.c.claim_id == Claim.id).outerjoin(Decision, Decision.id == latest.c.decision_id)
        .where(*payable).order_by(Claim.id)).all()
    keep = [c for c in claims if not hold(c.oblast, c.decided_by_id, c.review_flag)]
    if not keep:
        return []
    wanted = {c.id for c in keep}
    payee: dict[int, tuple[int, str, str | None]] = {}
    owners = session.execute(
        select(Ownership.claim_id, Ownership.is_applicant, Person.id, Person.full_name, Person.iban)
        .join(Person, Person.id == Ownership.person_id).join(Claim, Claim.id == Ownership.claim_id)
        .where(*payable).order_by(Ownership.claim_id, Ownership.is_applicant.desc(), Ownership.id))
    for cid, _applicant, pid, name, iban in owners:
        if cid in wanted and cid not in payee:
            payee[cid] = (pid, name, iban)  # the applicant (or the first owner): the repair money goes to their account
    accounts = {(cid, pid): (iban, state) for cid, pid, iban, state in session.execute(
        select(PayoutAccount.claim_id, PayoutAccount.person_id, PayoutAccount.iban, PayoutAccount.state)
        .join(Claim, Claim.id == PayoutAccount.claim_id)
        .where(*payable, PayoutAccount.state.in_(CURRENT_ACCOUNT)))}
    tries = _attempts(session, Payment.claim_id, [c.id for c in keep])
    rows = []
    for c in keep:
        pid, name, iban = payee.get(c.id, (0, "", None))
        if c.decided_amount is not None and c.decided_amount != c.awarded_amount_kopiykas:
            report.held["amount differs from its decision"] += 1
            continue
        if (account := accounts.get((c.id, pid))) is not None:
            iban, state = account
            if state == AccountState.RETURNED:
                report.held["needs a new account"] += 1
                continue
        if not iban or not name:
            report.held["payee has no IBAN"] += 1
            continue
        n = tries.get(c.id, 0) + 1
        rows.append({"end_to_end_id": f"EMP-{c.id:012d}-{n:02d}", "purpose": "repair", "tranche": 1, "claim_id": c.id,
                     "certificate_id": None, "decision_id": c.decision_id,
                     "amount_kopiykas": tranches.first_payment(int(c.awarded_amount_kopiykas)),
                     "creditor_name": name[:140], "creditor_iban": iban})
    return rows


def _payable_sellers(session: Session, hold: Any) -> list[dict[str, Any]]:
    live = exists().where(Payment.certificate_id == Certificate.id, Payment.state.not_in(DEAD_PAYMENT))
    certs = session.execute(
        select(Certificate, Claim.oblast, Claim.decided_by_id, Claim.review_flag).join(Claim, Claim.id == Certificate.claim_id)
        .where(Certificate.state == CertificateState.CONTRACT_SIGNED, ~live).order_by(Certificate.id)).all()
    tries = _attempts(session, Payment.certificate_id, [c.Certificate.id for c in certs])
    rows = []
    for cert, oblast, decided_by, flag in certs:
        if hold(oblast, decided_by, flag):
            continue
        n = tries.get(cert.id, 0) + 1
        rows.append({"end_to_end_id": f"EMC-{cert.id:012d}-{n:02d}", "purpose": "certificate", "claim_id": cert.claim_id,
                     "tranche": 1, "certificate_id": cert.id, "decision_id": cert.decision_id, "amount_kopiykas": seller_amount(cert),
                     "creditor_name": cert.seller_name, "creditor_iban": cert.seller_iban})
    return rows


def _pending_payments(session: Session, hold: Any) -> list[int]:
    rows = session.execute(select(Payment.id, Claim.oblast, Claim.decided_by_id, Claim.review_flag)
                           .join(Claim, Claim.id == Payment.claim_id).where(Payment.state == P.PENDING)).all()
    return [r.id for r in rows if not hold(r.oblast, r.decided_by_id, r.review_flag)]


# ---------------------------------------------------------------------------------------------- approve, cancel


def batch_for_update(session: Session, batch_id: int) -> PaymentBatch:
    batch = session.scalar(select(PaymentBatch).where(PaymentBatch.id == batch_id).with_for_update())
    if batch is None:
        raise NotFound(f"No payment batch {batch_id}.")
    return batch


def approval_action(batch: PaymentBatch, threshold: int | None = None) -> Action:
    """Which approval the next one is: the first of two (BATCH_APPROVE), or the one that releases the batch
    (BATCH_RELEASE: the only one at or below the threshold, or the second; never by its builder)."""
    threshold = second_approval_above() if threshold is None else threshold
    if batch.total_kopiykas > threshold and batch.approved_by_id is None:
        return Action.BATCH_APPROVE
    return Action.BATCH_RELEASE


def approval_subject(session: Session, principal: Principal, batch: PaymentBatch) -> Subject:
    return batch_subject(session, principal, batch.id, built_by_id=batch.created_by_id, approved_by_id=batch.approved_by_id)


def do_approve_batch(session: Session, principal: Principal, batch_id: int) -> PaymentBatch:
    """Approve a built batch. At or below the configured total (EVERYMETRE_SECOND_APPROVAL_ABOVE_KOPIYKAS) one
    approval releases it; above it a first and a second, different officer approve. The approval that releases
    a batch is never its builder's, and nobody approves claims they decided (accounts.permissions). Payments of
    claims flagged since the batch was built are taken out first; if none is left the batch is cancelled.
    Approving again what you approved is a no-op."""
    require(principal.actor, Action.BATCH_APPROVE)
    with atomic(session):
        batch = batch_for_update(session, batch_id)
        if batch.state != B.BUILT:
            if batch.state in (B.APPROVED, B.EXPORTED, B.SENT) and principal.user_id in (batch.approved_by_id,
                                                                                       batch.second_approver_id):
                return batch
            BATCH.move(batch.state, B.APPROVED, str(batch.id))
        subject = approval_subject(session, principal, batch)
        withdrawn = _withdraw_flagged(session, batch)
        if batch.count == 0:
            require(principal.actor, Action.BATCH_CANCEL, subject)
            _cancel(session, principal, batch, "no payments left after withdrawing flagged claims", withdrawn)
            return batch
        threshold = second_approval_above()
        action = approval_action(batch, threshold)
        require(principal.actor, action, subject)
        event: dict[str, Any] = {"total_kopiykas": batch.total_kopiykas, "count": batch.count, "threshold_kopiykas": threshold}
        if withdrawn:
            event["withdrawn_flagged"] = withdrawn
        if batch.approved_by_id is None:
            batch.approved_by_id = principal.user_id
            event["approval"] = "first" if action is Action.BATCH_APPROVE else "only"
        else:
            batch.second_approver_id = principal.user_id
            event["approval"] = "second"
        if action is Action.BATCH_RELEASE:
            batch.state, batch.approved_at = BATCH.move(batch.state, B.APPROVED).target, utcnow()
        record(session, f"batch:{batch.id}", "batch.approved" if batch.state == B.APPROVED else "batch.approval_recorded",
               principal.user_id, event)
    return batch


def _withdraw_flagged(session: Session, batch: PaymentBatch) -> list[int]:
    out = PAYMENT.move(P.BATCHED, P.CANCELLED)
    flagged = session.scalars(select(Payment.id).join(Claim, Claim.id == Payment.claim_id)
                              .where(Payment.batch_id == batch.id, Payment.state == out.source, Claim.review_flag.is_not(None))).all()
    if flagged:
        session.execute(update(Payment).where(Payment.id.in_(flagged))
                        .values(state=out.target, reason="withdrawn: the claim has an open review flag"))
        count, total = session.execute(select(func.count(), func.coalesce(func.sum(Payment.amount_kopiykas), 0))
                                       .where(Payment.batch_id == batch.id, Payment.state == out.source)).one()
        batch.count, batch.total_kopiykas = int(count), int(total)
    return list(flagged)


def _cancel(session: Session, principal: Principal, batch: PaymentBatch, reason: str, withdrawn: list[int] | None = None) -> None:
    batch.state = BATCH.move(batch.state, B.CANCELLED, str(batch.id)).target
    out = PAYMENT.move(P.BATCHED, P.CANCELLED)
    session.execute(update(Payment).where(Payment.batch_id == batch.id, Payment.state == out.source)
                    .values(state=out.target, reason=f"batch cancelled: {reason}"))
    batch.open_for_user_id = None
    event: dict[str, Any] = {"reason": reason}
    if batch.file_sha256:
        event["file_sha256"] = batch.file_sha256  # its file was written: the officer says it never reached the bank
    if withdrawn:
        event["withdrawn_flagged"] = withdrawn
    record(session, f"batch:{batch.id}", "batch.cancelled", principal.user_id, event)


def do_cancel_batch(session: Session, principal: Principal, batch_id: int, reason: str) -> PaymentBatch:
    """Cancel a batch that has not been sent (built, approved, or exported but not given to the bank), saying
    why; its claims return to the payable queue. A sent batch cannot be: its money is with the bank."""
    require(principal.actor, Action.BATCH_CANCEL)
    if not reason.strip():
        raise ValidationFailed("Say why the batch is cancelled.", field="reason")
    reason = reason.strip()[:500]
    with atomic(session):
        batch = batch_for_update(session, batch_id)
        require(principal.actor, Action.BATCH_CANCEL, batch_subject(session, principal, batch.id))  # scope before state
        BATCH.move(batch.state, B.CANCELLED, str(batch.id))
        _cancel(session, principal, batch, reason)
    return batch


# ---------------------------------------------------------------------------------------------- the file, sending


def batch_xml(session: Session, batch: PaymentBatch) -> bytes:
    """The batch's pain.001.001.09 file; the same bytes every time (message id and times are stored)."""
    rows = session.execute(
        select(Payment.end_to_end_id, Payment.purpose, Payment.amount_kopiykas, Payment.creditor_name, Payment.creditor_iban,
               Payment.decision_id, Claim.id, Claim.ref_year, Certificate.number, Certificate.contract_number)
        .join(Claim, Claim.id == Payment.claim_id).outerjoin(Certificate, Certificate.id == Payment.certificate_id)
        .where(Payment.batch_id == batch.id, Payment.state.in_(IN_FILE))
        .order_by(Payment.id)).all()
    transfers = []
    for e2e, purpose, amount, name, iban, decision_id, cid, year, number, contract in rows:
        ref = claim_reference(year, cid)
        remittance = f"Certificate {number}; contract {contract}; claim {ref}"[:140] if purpose == "certificate" else None
        transfers.append(CreditTransfer(payment_id=e2e, claim_reference=ref, decision_id=str(decision_id or "-"),
                                        amount_kopiykas=int(amount), creditor_name=name, creditor_iban=iban, remittance=remittance))
    iso = IsoBatch(batch_id=batch.pmt_inf_id, message_id=batch.message_id, created_at=batch.created_at,
                   requested_execution_date=batch.requested_on, debtor=debtor_account(), payments=transfers)
    return build_pain001(iso)


def do_export_batch(session: Session, principal: Principal, batch_id: int, out: Path,
                    checkpoint: Checkpoint = no_checkpoint) -> Path:
    """Write the approved batch's pain.001 (validated against the XSD) to `out`. Again on an exported batch
    it rewrites the same bytes (checked against the stored hash), so a crash after writing is harmless."""
    written: list[Path] = []
    do_export_file(session, principal, batch_id, lambda xml: written.append(write_pain001(xml, out)), checkpoint)
    return written[0]


def do_export_file(session: Session, principal: Principal, batch_id: int, deliver: Callable[[bytes], Any] | None = None,
                   checkpoint: Checkpoint = no_checkpoint) -> bytes:
    """The approved batch's pain.001 bytes (validated against the XSD): exporting it the first time (approved ->
    exported), the same bytes again after (exported or sent: checked against the stored hash, audited as a
    download). `deliver` (writing it to a file) runs inside the transaction, before the export commits."""
    require(principal.actor, Action.BATCH_EXPORT)
    with atomic(session):
        batch = batch_for_update(session, batch_id)
        require(principal.actor, Action.BATCH_EXPORT, batch_subject(session, principal, batch.id))  # scope before state
        move = None if batch.state == B.SENT else BATCH.move(batch.state, B.EXPORTED, str(batch.id))
        xml = batch_xml(session, batch)
        validate_pain001(xml)
        digest = hashlib.sha256(xml).hexdigest()
        if batch.file_sha256 and batch.file_sha256 != digest:
            raise Conflict(f"Batch {batch.id}'s file would differ from the one exported before (sha256 {batch.file_sha256[:12]}...); "
                           "its payments changed after export. Nothing was written.", ErrorCode.BATCH_FILE_CHANGED, batch_id=batch.id)
        if deliver is not None:
            deliver(xml)
        checkpoint("export-written")
        if move is not None and move.source != move.target:
            batch.state, batch.exported_at, batch.file_sha256 = move.target, utcnow(), digest
            record(session, f"batch:{batch.id}", "batch.exported", principal.user_id,
                   {"message_id": batch.message_id, "sha256": digest, "count": batch.count, "total_kopiykas": batch.total_kopiykas})
        else:
            record(session, f"batch:{batch.id}", "batch.file_fetched", principal.user_id,
                   {"message_id": batch.message_id, "sha256": digest, "state": batch.state,
                    "how": "written to a file" if deliver is not None else "downloaded"})
    return xml


def file_name(batch: PaymentBatch) -> str:
    return f"{batch.message_id}.xml"


def do_mark_sent(session: Session, principal: Principal, batch_id: int, checkpoint: Checkpoint = no_checkpoint) -> PaymentBatch:
    """The file went to the bank: payments become sent and each posts Dr payable / Cr bank clearing (or, for
    a seller, Dr certificate reservation / Cr bank clearing). A sent batch stays sent (idempotent)."""
    require(principal.actor, Action.BATCH_SEND)
    with atomic(session):
        batch = batch_for_update(session, batch_id)
        require(principal.actor, Action.BATCH_SEND, batch_subject(session, principal, batch.id))  # scope before state
        if batch.state == B.SENT:
            return batch
        move = BATCH.move(batch.state, B.SENT, str(batch.id))
        sent = PAYMENT.move(P.BATCHED, P.SENT)
        now = utcnow()
        rows = session.execute(
            select(Payment.id, Payment.end_to_end_id, Payment.purpose, Payment.amount_kopiykas, Payment.claim_id, Claim.ref_year,
                   Payment.certificate_id, Certificate.number, Payment.tranche)
            .join(Claim, Claim.id == Payment.claim_id).outerjoin(Certificate, Certificate.id == Payment.certificate_id)
            .where(Payment.batch_id == batch.id, Payment.state == sent.source)).all()
        posts = []
        for pid, e2e, purpose, amount, cid, year, cert_id, number, tranche in rows:
            if purpose == "repair" and tranche == 2:
                tx = ledger_rules.tranche_sent_transaction(f"SENT-{e2e}", claim_reference(year, cid), e2e, int(amount))
            elif purpose == "repair":
                tx = ledger_rules.payment_sent_transaction(f"SENT-{e2e}", claim_reference(year, cid), e2e, int(amount))
            else:
                tx = ledger_rules.certificate_paid_transaction(f"CPD-{e2e}", number, e2e, int(amount))
            posts.append(Post(tx, claim_id=cid, payment_id=pid, certificate_id=cert_id))
        post(session, posts, principal.user_id)
        session.execute(update(Payment).where(Payment.batch_id == batch.id, Payment.state == sent.source)
                        .values(state=sent.target, sent_at=now))
        batch.state, batch.sent_at, batch.open_for_user_id = move.target, now, None
        record(session, f"batch:{batch.id}", "batch.sent", principal.user_id,
               {"message_id": batch.message_id, "count": len(rows), "total_kopiykas": sum(int(r.amount_kopiykas) for r in rows)})
        checkpoint("sent-commit")
    return batch
