"""Repair money after it lands, over the JSON API: the bank's card-transaction file, a claim's card transactions,
and the owner's interim and final repair reports with the officer's check (`payments.card_transactions`,
`payments.repair_reports`). Claimants see and report on their own claims only (anything else is 404)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from everymetre.api.deps import AuthDep, IdPath
from everymetre.api.problems import problem_responses
from everymetre.config import get_settings
from everymetre.kernel.errors import PayloadTooLarge
from everymetre.payments import card_transactions, repair_reports
from everymetre.payments.repair_reports import Upload

router = APIRouter(prefix="/api/v1", tags=["repair payouts"])
RESPONSES = problem_responses({
    403: "Not allowed for your role",
    404: "Nothing by that reference that you can see",
    409: "The payout is not in a state that allows this, or a deadline has passed",
})
REJECTS_SHOWN = 1000


class RejectOut(BaseModel):
    row: int = Field(description="The line in the file (the header is line 1)")
    transaction_id: str
    reason: str


class CardImportOut(BaseModel):
    rows: int = Field(description="Data rows read")
    counted: int = Field(description="Rows counted as repair spending")
    not_counted: int = Field(description="Rows recorded but not counted (merchant category, window, closed, balance)")
    already: int = Field(description="Rows seen before (in an earlier file or earlier in this one): counted once")
    rejected: int = Field(description="Rows not stored: unreadable, bad amount or date, unknown card")
    counted_kopiykas: int
    payouts: int = Field(description="Payouts whose spending grew")
    sha256: str
    rejects: list[RejectOut] = Field(description=f"The first {REJECTS_SHOWN} rejected rows, in file order")


class CardTransactionOut(BaseModel):
    transaction_id: str
    booked_on: date
    amount_kopiykas: int
    mcc: str = Field(description="Merchant category code")
    merchant: str
    counted: bool
    refusal: Literal["mcc", "window", "closed", "balance"] | None = Field(
        description="Why it was not counted: mcc (not building materials, paint/wallpaper or contractors), window "
                    "(outside the spending window), closed (the payout was closed), balance (more than was left)")


class ReportOut(BaseModel):
    id: int
    kind: Literal["interim", "final"]
    state: Literal["filed", "accepted", "returned"]
    note: str
    redamaged: bool = Field(description="The owner said the home was damaged again")
    files: int
    evidence_ids: list[int] = Field(description="The files, as the claim's evidence (GET /claims/{reference}/evidence/{id})")
    filed_on: date
    decided_on: date | None
    return_reason: str | None


class ReportDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"accept": False, "reason": "Немає фото вікон"}]})

    accept: bool = Field(description="true: accepted; false: returned to the owner with the reason")
    reason: str = Field("", max_length=2000, description="Why it is returned (required when accept is false)")


@router.post("/card-transactions", response_model=CardImportOut, responses=RESPONSES)
def import_card_transactions(auth: AuthDep, file: Annotated[UploadFile, File(
        description="The bank's CSV: transaction_id,account,date,amount,mcc,merchant (docs/card-transactions.md)")]) -> CardImportOut:
    """Apply the bank's card-transaction file (payments officers). Idempotent: a transaction id seen before is
    counted once. Bad rows are answered with their line and reason; the good rows land."""
    limit = get_settings().card_transactions_max_bytes
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"The file is larger than {limit // 1_048_576} MB; split it.")
    r = card_transactions.do_import_card_transactions(auth.session, auth.principal, data, file.filename or "upload")
    return CardImportOut(rows=r.rows, counted=r.counted, not_counted=r.refused, already=r.already, rejected=r.rejected,
                         counted_kopiykas=r.counted_kopiykas, payouts=r.payouts, sha256=r.sha256,
                         rejects=[RejectOut(row=x.row, transaction_id=x.transaction_id, reason=x.reason)
                                  for x in r.rejects[:REJECTS_SHOWN]])


@router.get("/claims/{reference}/card-transactions", response_model=list[CardTransactionOut], responses=RESPONSES)
def list_card_transactions(reference: str, auth: AuthDep) -> list[CardTransactionOut]:
    """The claim's card transactions, newest first (the last 50), counted or not and why."""
    return [CardTransactionOut(**t) for t in card_transactions.card_transactions_for(auth.session, auth.principal, reference)]


@router.get("/claims/{reference}/repair-reports", response_model=list[ReportOut], responses=RESPONSES)
def list_repair_reports(reference: str, auth: AuthDep) -> list[ReportOut]:
    """The claim's interim and final repair reports, newest first, with the officer's answer."""
    return [ReportOut(**r) for r in repair_reports.repair_reports(auth.session, auth.principal, reference)]


@router.post("/claims/{reference}/repair-reports", status_code=201, response_model=ReportOut,
             responses={**RESPONSES, 413: {"description": "A file too large"}, 415: {"description": "Not a photo or PDF"}})
def file_repair_report(
    reference: str,
    auth: AuthDep,
    kind: Annotated[Literal["interim", "final"], Form(description="interim (tier B: photos and receipts) or final (photos)")],
    files: Annotated[list[UploadFile], File(description="Photos of the works (JPEG, PNG, WebP); PDF receipts in an "
                                                        "interim report; up to 10 files, 20 MB each")],
    note: Annotated[str, Form(max_length=2000)] = "",
    redamaged: Annotated[bool, Form(description="The home was damaged again")] = False,
) -> ReportOut:
    """The owner files the interim report (tier B, within the spending window) or the final report (no later than
    15 working days after the window's end; tier B once the second payment has landed)."""
    cap = get_settings().evidence_max_bytes + 1
    uploads = [Upload(f.filename or "upload", f.file.read(cap)) for f in files]
    report = repair_reports.do_file_repair_report(auth.session, auth.principal, reference, kind, uploads, note, redamaged)
    return ReportOut(**next(r for r in repair_reports.repair_reports(auth.session, auth.principal, reference) if r["id"] == report.id))


@router.post("/claims/{reference}/repair-reports/{report_id}/decision", response_model=ReportOut, responses=RESPONSES)
def decide_repair_report(reference: str, report_id: IdPath, body: ReportDecisionIn, auth: AuthDep) -> ReportOut:
    """An officer or commission member accepts a filed report (interim: the second payment is due; final: the payout
    closes and any unspent balance returns to the budget) or returns it with a reason the owner sees."""
    repair_reports.do_decide_repair_report(auth.session, auth.principal, reference, report_id, body.accept, body.reason)
    return ReportOut(**next(r for r in repair_reports.repair_reports(auth.session, auth.principal, reference) if r["id"] == report_id))
