"""Payments over the JSON API: a claim's payout status, housing certificates, payment batches.

Claimants see their own claims' payouts and certificates (anything else is 404, as for claims); payments
officers, auditors and admins see batches; payments officers approve them (segregation and the second
approval above the threshold are `accounts.permissions` rules, applied in `payments.batches`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from everymetre.api.deps import AuthDep, IdPath
from everymetre.api.problems import problem_responses
from everymetre.kernel.errors import Conflict, ErrorCode
from everymetre.payments import batches, queries

router = APIRouter(prefix="/api/v1", tags=["payments"])
RESPONSES = problem_responses({
    403: "Not allowed for your role",
    404: "Nothing by that reference that you can see",
    409: "The batch is not in a state that allows this, or a programme rule forbids it",
})


class PaymentOut(BaseModel):
    end_to_end_id: str = Field(description="The payment's id at the bank (EndToEndId in pain.001 and camt.053)")
    purpose: Literal["repair", "certificate"]
    tranche: int = Field(1, description="A repair payment's part: 1 (all of tier A, or tier B's first 70 %), 2 (tier B's 30 %)")
    amount_kopiykas: int
    state: Literal["pending", "batched", "sent", "booked", "rejected", "cancelled"]
    batch_id: int | None
    created_at: datetime
    sent_at: datetime | None
    settled_on: date | None
    reason_code: str | None = Field(description="The bank's return reason (ISO 20022 code, e.g. AC01) when rejected")
    reason: str | None
    creditor_name: str
    creditor_iban: str | None = Field(description="Masked")


class RepairOut(BaseModel):
    state: Literal["funds_transferred", "spending", "interim_reported", "interim_accepted", "final_reported", "verified",
                   "closed", "expired_balance_returned", "redamaged"]
    tier: Literal["A", "B"]
    amount_kopiykas: int
    transferred_on: date
    spend_by: date = Field(description="Last day of the spending window (12 months for tier A, 18 for tier B)")
    interim_report_required: bool
    interim_reported_on: date | None
    interim_accepted_on: date | None = Field(None, description="Tier B: the interim report was accepted; the second payment is due")
    second_paid_on: date | None = Field(None, description="Tier B: the second payment (30 %) reached the account")
    final_report_due: date | None = Field(None, description="Last day to file the final report (15 working days after spend_by)")
    final_reported_on: date | None
    verified_on: date | None
    closed_on: date | None
    spent_kopiykas: int
    left_kopiykas: int
    returned_kopiykas: int


class ShareOut(BaseModel):
    owner: str
    share: str = Field(description="The co-owner's share as a fraction, e.g. 1/2")
    amount_kopiykas: int


class CertificateOut(BaseModel):
    number: str = Field(description="HC-YYYY-NNNNNNN-C with a Damm check digit")
    claim_reference: str
    state: Literal["issued", "reservation_filed", "funds_reserved", "ownership_terminated", "contract_signed",
                   "paid_to_seller", "redeemed", "revoked",
                   "reservation_lapsed", "expired"]
    value_kopiykas: int
    issued_on: date
    expires_on: date
    reserved_on: date | None
    contract_due_by: date | None = Field(description="The reservation lapses after this day without a purchase contract")
    ownership_terminated_on: date | None
    contract_number: str | None
    contract_signed_on: date | None
    contract_price_kopiykas: int | None
    seller_name: str | None
    seller_iban: str | None
    paid_on: date | None
    redeemed_on: date | None
    redeemed_kopiykas: int
    shares: list[ShareOut]


class PayoutStatus(BaseModel):
    claim_reference: str
    claim_state: str
    payout_kind: Literal["repair", "certificate"]
    decided_amount_kopiykas: int | None
    stage: str = Field(description="Where the money is: not_decided, appeal_pending, on_hold, awaiting_payment, "
                                   "account_missing (no payout account given), needs_account (the bank returned the "
                                   "payment: give a new account, PUT /claims/{reference}/payout-account), "
                                   "payment_in_progress, payment_returned, a repair payout state, awaiting_certificate "
                                   "or a certificate state")
    on_hold: bool = Field(description="An open fraud or duplicate finding holds the payment")
    payments: list[PaymentOut]
    repair: RepairOut | None
    certificate: CertificateOut | None


class BatchOut(BaseModel):
    id: int
    message_id: str
    state: Literal["built", "approved", "exported", "sent", "cancelled"]
    count: int
    total_kopiykas: int
    created_at: datetime
    created_by: str | None
    requested_on: date
    approved_by: str | None
    approved_at: datetime | None
    second_approver: str | None
    second_approval_required: bool
    exported_at: datetime | None
    file_sha256: str | None
    sent_at: datetime | None


class BatchPage(BaseModel):
    items: list[BatchOut]
    total: int
    limit: int
    offset: int
    second_approval_above_kopiykas: int


class BatchPayment(PaymentOut):
    claim_reference: str
    computed_amount_kopiykas: int | None = Field(None, description="What the rules computed for the payment's decision")
    amount_differs: bool = Field(False, description="A repair payment whose amount is not the computed amount "
                                 "(an award above or below it, with its reason on the decision): check it")


class BatchDetail(BatchOut):
    payments: list[BatchPayment]
    payments_by_state: dict[str, int]
    amount_differs_count: int = Field(0, description="Payments in the batch whose amount differs from the computed amount")
    can_approve: bool
    cannot_approve_because: str | None
    cannot_approve_code: str | None = Field(description="Why not, as a stable error code (e.g. segregation_built)")


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"expected_total_kopiykas": 59_511_400_00}]})

    expected_total_kopiykas: int | None = Field(
        None, ge=0, description="The total you reviewed; if the batch's total differs the approval is refused (409)")


@router.get("/claims/{reference}/payout", response_model=PayoutStatus, responses=RESPONSES)
def get_payout(reference: str, auth: AuthDep) -> PayoutStatus:
    """Where a claim's money is: payments to the bank, the repair payout's spending window and reports, or the
    housing certificate. Claimants see their own claims only."""
    return PayoutStatus(**queries.payout_status(auth.session, auth.principal, reference))


@router.get("/certificates/{number}", response_model=CertificateOut, responses=RESPONSES)
def get_certificate(number: str, auth: AuthDep) -> CertificateOut:
    """A housing certificate: value, each co-owner's part, reservation, contract, seller payment, redemption."""
    return CertificateOut(**queries.certificate_view(auth.session, auth.principal, number))


@router.get("/payment-batches", response_model=BatchPage, responses=RESPONSES)
def list_batches(
    auth: AuthDep,
    state: Annotated[Literal["built", "approved", "exported", "sent", "cancelled"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> BatchPage:
    """Payment batches, newest first (payments officers, auditors, admins)."""
    return BatchPage(**queries.list_batches(auth.session, auth.principal, state, limit, offset))


@router.get("/payment-batches/{batch_id}", response_model=BatchDetail, responses=RESPONSES)
def get_batch(
    batch_id: IdPath,
    auth: AuthDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> BatchDetail:
    """One batch with a page of its payments and whether you may approve it."""
    return BatchDetail(**queries.batch_detail(auth.session, auth.principal, batch_id, limit, offset))


@router.post("/payment-batches/{batch_id}/approve", response_model=BatchOut, responses=RESPONSES)
def approve_batch(batch_id: IdPath, body: ApproveIn, auth: AuthDep) -> BatchOut:
    """Approve a built batch (payments officers who decided none of its claims and did not build it). Above the
    configured total two different payments officers approve (the builder may give the first approval, never
    the second); the batch is approved when both have."""
    if body.expected_total_kopiykas is not None:
        current = queries.batch_detail(auth.session, auth.principal, batch_id, limit=1)
        if current["total_kopiykas"] != body.expected_total_kopiykas:
            raise Conflict(f"Batch {batch_id} totals {current['total_kopiykas']} kopiykas, not the "
                           f"{body.expected_total_kopiykas} you reviewed; reload it before approving.",
                           ErrorCode.BATCH_TOTAL_CHANGED, batch_id=batch_id, total=current["total_kopiykas"],
                           reviewed=body.expected_total_kopiykas)
    batches.do_approve_batch(auth.session, auth.principal, batch_id)
    d = queries.batch_detail(auth.session, auth.principal, batch_id, limit=1)
    return BatchOut(**{k: d[k] for k in BatchOut.model_fields})
