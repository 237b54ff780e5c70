"""Read models: a claim's payout status, a certificate as its owners see it, the payments officer's batch list
and batch page. Who may read what is `accounts.permissions` (PAYOUT_READ, BATCH_READ: a batch is read only by
staff whose oblasts cover every claim it pays)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.accounts.models import User
from everymetre.accounts.permissions import Action, Subject, check, require
from everymetre.accounts.roles import Role
from everymetre.claims.access import get_claim
from everymetre.claims.models import Claim, Decision, Person
from everymetre.claims.payout_accounts import needs_account
from everymetre.kernel.errors import NotFound
from everymetre.kernel.iban import mask_iban
from everymetre.kernel.identifiers import claim_reference
from everymetre.payments.batches import (
    approval_action,
    approval_subject,
    second_approval_above,
)
from everymetre.payments.certificates import find_certificate
from everymetre.payments.common import claim_subject
from everymetre.payments.models import Certificate, Payment, PaymentBatch, RepairPayout
from everymetre.payments.schedule import final_report_due, reservation_lapse_date
from everymetre.payments.states import (
    COMMITTED_CLAIMS,
    DESTROYED,
    PAYABLE_CLAIMS,
    BatchState,
    PaymentState,
)


def _payment_view(p: Payment) -> dict[str, Any]:
    return {"end_to_end_id": p.end_to_end_id, "purpose": p.purpose, "tranche": p.tranche, "amount_kopiykas": p.amount_kopiykas,
            "state": p.state,
            "batch_id": p.batch_id, "created_at": p.created_at, "sent_at": p.sent_at, "settled_on": p.settled_on,
            "reason_code": p.reason_code, "reason": p.reason,
            "creditor_name": p.creditor_name, "creditor_iban": mask_iban(p.creditor_iban) or None}


def certificate_dict(cert: Certificate, claim: Claim, session: Session) -> dict[str, Any]:
    names = dict(session.execute(select(Person.id, Person.full_name).where(Person.id.in_([s.person_id for s in cert.shares]))).all())
    lapse = reservation_lapse_date(cert.reserved_on) if cert.reserved_on else None
    return {
        "number": cert.number, "claim_reference": claim.reference, "state": cert.state, "value_kopiykas": cert.value_kopiykas,
        "issued_on": cert.issued_on, "expires_on": cert.expires_on, "reserved_on": cert.reserved_on,
        "contract_due_by": lapse, "ownership_terminated_on": cert.ownership_terminated_on,
        "contract_number": cert.contract_number, "contract_signed_on": cert.contract_signed_on,
        "contract_price_kopiykas": cert.contract_price_kopiykas, "seller_name": cert.seller_name,
        "seller_iban": mask_iban(cert.seller_iban) or None, "paid_on": cert.paid_on, "redeemed_on": cert.redeemed_on,
        "redeemed_kopiykas": cert.redeemed_kopiykas,
        "shares": [{"owner": names.get(s.person_id, ""), "share": f"{s.share_numerator}/{s.share_denominator}",
                    "amount_kopiykas": s.amount_kopiykas} for s in cert.shares],
    }


def payout_status(session: Session, principal: Principal, reference: str) -> dict[str, Any]:
    """Everything a claimant's (or officer's) payout page shows for one claim; 404 unless they may see it."""
    claim = get_claim(session, principal, reference)
    require(principal.actor, Action.PAYOUT_READ, claim_subject(principal, claim))
    payments = session.scalars(select(Payment).where(Payment.claim_id == claim.id).order_by(Payment.id)).all()
    payout = session.scalar(select(RepairPayout).where(RepairPayout.claim_id == claim.id))
    # one certificate per co-owner: the signed-in holder's (else the first), never a revoked one while another lives
    mine = Certificate.holder_person_id == principal.person_id if principal.person_id is not None else Certificate.id < 0
    cert = session.scalar(select(Certificate).where(Certificate.claim_id == claim.id)
                          .order_by((Certificate.state == "revoked").asc(), mine.desc(), Certificate.id.asc()).limit(1))
    kind = "certificate" if claim.kind == DESTROYED else "repair"
    decided = claim.awarded_amount_kopiykas if claim.state in COMMITTED_CLAIMS else None
    if kind == "repair":
        if payout is not None:
            stage = payout.state
        elif any(p.state in (PaymentState.BATCHED, PaymentState.SENT) for p in payments):
            stage = "payment_in_progress"
        elif claim.state in PAYABLE_CLAIMS and decided and (missing := needs_account(session, claim)):
            stage = "needs_account" if missing == "returned" else "account_missing"  # claims.payout_accounts
        elif payments and payments[-1].state == PaymentState.REJECTED and not (claim.state in PAYABLE_CLAIMS and decided):
            stage = "payment_returned"
        elif claim.state in PAYABLE_CLAIMS and decided:
            stage = "on_hold" if claim.review_flag else "awaiting_payment"
        else:
            stage = "not_decided" if decided is None else "appeal_pending"
    else:
        stage = cert.state if cert is not None else ("awaiting_certificate" if claim.state in PAYABLE_CLAIMS and decided else "not_decided")
    out: dict[str, Any] = {"claim_reference": claim.reference, "claim_state": claim.state, "payout_kind": kind,
                           "decided_amount_kopiykas": decided, "stage": stage, "on_hold": claim.review_flag is not None,
                           "payments": [_payment_view(p) for p in payments], "repair": None, "certificate": None}
    if payout is not None:
        out["repair"] = {"state": payout.state, "tier": payout.tier, "amount_kopiykas": payout.amount_kopiykas,
                         "transferred_on": payout.transferred_on, "spend_by": payout.window_end,
                         "interim_report_required": payout.tier == "B", "interim_reported_on": payout.interim_reported_on,
                         "interim_accepted_on": payout.interim_accepted_on, "second_paid_on": payout.second_paid_on,
                         "final_report_due": final_report_due(payout.window_end),
                         "final_reported_on": payout.final_reported_on, "verified_on": payout.verified_on,
                         "closed_on": payout.closed_on, "spent_kopiykas": payout.spent_kopiykas,
                         "left_kopiykas": payout.amount_kopiykas - payout.spent_kopiykas - payout.returned_kopiykas,
                         "returned_kopiykas": payout.returned_kopiykas}
    if cert is not None:
        out["certificate"] = certificate_dict(cert, claim, session)
    return out


def certificate_view(session: Session, principal: Principal, number: str) -> dict[str, Any]:
    """A certificate as its owners and staff see it (404 for anyone else)."""
    cert, claim = find_certificate(session, principal, number, lock=False, notary=False)
    return certificate_dict(cert, claim, session)


def _batch_dict(b: PaymentBatch, emails: dict[int, str]) -> dict[str, Any]:
    threshold = second_approval_above()
    return {"id": b.id, "message_id": b.message_id, "state": b.state, "count": b.count, "total_kopiykas": b.total_kopiykas,
            "created_at": b.created_at, "created_by": emails.get(b.created_by_id or 0), "requested_on": b.requested_on,
            "approved_by": emails.get(b.approved_by_id or 0), "approved_at": b.approved_at,
            "second_approver": emails.get(b.second_approver_id or 0), "second_approval_required": b.total_kopiykas > threshold,
            "exported_at": b.exported_at, "file_sha256": b.file_sha256, "sent_at": b.sent_at}


def _emails(session: Session, batches: Iterable[PaymentBatch]) -> dict[int, str]:
    ids = {i for b in batches for i in (b.created_by_id, b.approved_by_id, b.second_approver_id) if i}
    return dict(session.execute(select(User.id, User.email).where(User.id.in_(ids))).all()) if ids else {}



def _outside(principal: Principal):
    """A condition on PaymentBatch: it pays a claim in an oblast outside the principal's assignment."""
    return exists().where(Payment.batch_id == PaymentBatch.id, Claim.id == Payment.claim_id,
                          Claim.oblast.not_in(sorted(principal.oblasts)))


def list_batches(session: Session, principal: Principal, state: str | None = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """The payments officer's batch list (newest first): the batches whose claims are all in their oblasts."""
    require(principal.actor, Action.BATCH_READ)
    stmt = select(PaymentBatch)
    if not principal.actor.all_oblasts:
        stmt = stmt.where(~_outside(principal))
    if state:
        stmt = stmt.where(PaymentBatch.state == state)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    batches = session.scalars(stmt.order_by(PaymentBatch.id.desc()).limit(limit).offset(offset)).all()
    emails = _emails(session, batches)
    return {"items": [_batch_dict(b, emails) for b in batches], "total": total, "limit": limit, "offset": offset,
            "second_approval_above_kopiykas": second_approval_above()}


def batch_detail(session: Session, principal: Principal, batch_id: int, limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """One batch with a page of its payments, counts per state, and whether the viewer may approve it (if not:
    the refusal's sentence, code and parameters). Its payees and amounts only for staff covering its oblasts."""
    require(principal.actor, Action.BATCH_READ)
    batch = session.get(PaymentBatch, batch_id)
    if batch is None:
        raise NotFound(f"No payment batch {batch_id}.")
    oblasts = frozenset(session.scalars(select(Claim.oblast).join(Payment, Payment.claim_id == Claim.id)
                                        .where(Payment.batch_id == batch.id).distinct()))
    require(principal.actor, Action.BATCH_READ, Subject(oblasts=oblasts))
    computed = func.coalesce(Decision.computed_amount_kopiykas, Claim.assessed_amount_kopiykas)
    rows = session.execute(select(Payment, Claim.ref_year, computed.label("computed"))
                           .join(Claim, Claim.id == Payment.claim_id).outerjoin(Decision, Decision.id == Payment.decision_id)
                           .where(Payment.batch_id == batch.id).order_by(Payment.id).limit(limit).offset(offset)).all()
    # repair payments whose amount is not what the rules computed for their decision (award controls, claims.awards)
    differs = (Payment.purpose == "repair") & computed.is_not(None) & (Payment.amount_kopiykas != computed)
    flagged = session.scalar(select(func.count()).select_from(Payment).join(Claim, Claim.id == Payment.claim_id)
                             .outerjoin(Decision, Decision.id == Payment.decision_id)
                             .where(Payment.batch_id == batch.id, differs)) or 0
    states = dict(session.execute(select(Payment.state, func.count()).where(Payment.batch_id == batch.id).group_by(Payment.state)).all())
    out = _batch_dict(batch, _emails(session, [batch]))
    can_approve, problem = False, None
    if batch.state == BatchState.BUILT and principal.role is Role.PAYMENTS:
        problem = check(principal.actor, approval_action(batch), approval_subject(session, principal, batch))
        can_approve = problem is None
    out.update({"payments": [{**_payment_view(p), "claim_reference": claim_reference(y, p.claim_id), "computed_amount_kopiykas": c,
                              "amount_differs": p.purpose == "repair" and c is not None and p.amount_kopiykas != c}
                             for p, y, c in rows],
                "amount_differs_count": flagged,
                "payments_by_state": states, "can_approve": can_approve,
                "cannot_approve_because": problem.detail if problem else None,
                "cannot_approve_code": problem.code.value if problem else None,
                "cannot_approve_params": problem.params if problem else {}})
    return out
