"""The payments officer's day over the JSON API, for a bank or treasury system: build a batch, (approve: in
`payments.api`), download its pain.001 file, mark it sent, cancel one not sent, upload a camt.053 statement and
read what was booked, returned or unknown, resolve unknown entries, and the exceptions queue.

Every route is behind `accounts.permissions` (payments officers; reading: also auditors and admins), oblast
scoped as the batch pages are, and each step is one audited action (`payments.batches`, `.reconcile`,
`.statements`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, Response, UploadFile
from pydantic import BaseModel, ConfigDict, Field, model_validator

from everymetre.api.deps import AuthDep, IdPath
from everymetre.api.problems import problem_responses
from everymetre.config import get_settings
from everymetre.payments import batches, exceptions, queries, reconcile, statements
from everymetre.payments.api import BatchOut
from everymetre.payments.models import PaymentBatch

router = APIRouter(prefix="/api/v1", tags=["payments"])
RESPONSES = problem_responses({
    403: "Not allowed for your role, or the batch pays claims outside your oblasts",
    404: "No such batch, statement or entry",
    409: "The batch (or entry) is not in a state that allows this",
    413: "The statement is larger than EVERYMETRE_STATEMENT_MAX_BYTES",
    415: "The file is not XML",
    422: "Not a camt.053 statement, not the programme's account, not in hryvnias, or a reason is missing",
})


def _batch_out(auth: AuthDep, batch_id: int) -> BatchOut:
    d = queries.batch_detail(auth.session, auth.principal, batch_id, limit=1)
    return BatchOut(**{k: d[k] for k in BatchOut.model_fields})


class BuildOut(BaseModel):
    batch: BatchOut | None = Field(description="The batch built, or your open batch resumed; null when nothing is payable")
    resumed: bool = Field(description="You already had an open batch (built, approved or exported): it is returned")
    added: int
    total_kopiykas: int
    held: dict[str, int] = Field(description="Claims held back, by reason (open review flag, outside your oblasts, "
                                             "decided by you, payee has no IBAN)")


@router.post("/payment-batches", response_model=BuildOut, responses=RESPONSES)
def build_batch(auth: AuthDep, response: Response) -> BuildOut:
    """Collect every payable claim in your oblasts into a new batch (201), or return your open batch (200). Another
    payments officer approves it (`POST .../approve`); the builder never gives the approval that releases it."""
    report = batches.do_build_batch(auth.session, auth.principal)
    if report.batch is not None and not report.resumed:
        response.status_code = 201
    return BuildOut(batch=_batch_out(auth, report.batch.id) if report.batch else None, resumed=report.resumed,
                    added=report.added, total_kopiykas=report.total_kopiykas, held=dict(report.held))


@router.get("/payment-batches/{batch_id}/file", responses={**RESPONSES, 200: {"content": {"application/xml": {}},
                                                                             "description": "The pain.001.001.09 file"}},
            response_class=Response)
def batch_file(batch_id: IdPath, auth: AuthDep) -> Response:
    """The approved batch's ISO 20022 pain.001.001.09 credit-transfer file (XSD-valid). The first download exports
    the batch (approved -> exported); later ones give the same bytes (its SHA-256 is kept). Audited each time."""
    xml = batches.do_export_file(auth.session, auth.principal, batch_id)
    batch = auth.session.get(PaymentBatch, batch_id)
    assert batch is not None
    return Response(xml, media_type="application/xml", headers={
        "Content-Disposition": f'attachment; filename="{batches.file_name(batch)}"', "X-Content-Type-Options": "nosniff"})


@router.post("/payment-batches/{batch_id}/send", response_model=BatchOut, responses=RESPONSES)
def send_batch(batch_id: IdPath, auth: AuthDep) -> BatchOut:
    """Record that the exported file went to the bank: its payments become sent (and are posted to the ledger).
    Again on a sent batch: no change."""
    batches.do_mark_sent(auth.session, auth.principal, batch_id)
    return _batch_out(auth, batch_id)


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "Wrong execution date"}]})

    reason: str = Field(min_length=1, max_length=500, description="Why (kept in the batch's audit trail)")


@router.post("/payment-batches/{batch_id}/cancel", response_model=BatchOut, responses=RESPONSES)
def cancel_batch(batch_id: IdPath, body: CancelIn, auth: AuthDep) -> BatchOut:
    """Cancel a batch not yet sent (built, approved, or exported but not given to the bank); its claims are payable
    again. A sent batch is refused (409): its money is with the bank."""
    batches.do_cancel_batch(auth.session, auth.principal, batch_id, body.reason)
    return _batch_out(auth, batch_id)


# ------------------------------------------------------------------------------------------------ statements


class EntryOut(BaseModel):
    id: int
    line: int | None = Field(description="Line of the entry in the uploaded file")
    end_to_end_id: str | None = Field(description="Our payment id as the bank gave it back (EndToEndId)")
    amount_kopiykas: int
    credit_debit: Literal["CRDT", "DBIT"]
    booking_date: date | None
    bank_ref: str | None
    outcome: Literal["booked", "rejected", "already", "ignored", "unknown", "mismatch"]
    state: Literal["settled", "open", "matched", "dismissed"] = Field(
        description="open: waiting in the exceptions queue; matched or dismissed by a payments officer")
    problem: str | None = Field(description="Why an unknown or mismatched entry was not applied")
    problem_code: str | None
    reason_code: str | None = Field(description="The bank's return reason (ISO external code, e.g. AC04)")
    reason_en: str | None
    reason_uk: str | None
    remedy: Literal["new_account", "retry", "investigate"] | None
    payment_end_to_end_id: str | None
    payment_amount_kopiykas: int | None
    claim_reference: str | None
    payee: str | None
    resolution_note: str | None
    resolved_at: datetime | None


class StatementOut(BaseModel):
    id: int = Field(description="Our id of this upload")
    statement_id: str = Field(description="The bank's statement id (Stmt/Id)")
    message_id: str
    account_iban: str | None = Field(description="Masked")
    uploaded_at: datetime
    uploaded_by: str | None
    entries: int
    booked: int
    rejected: int
    already: int = Field(description="Entries for payments an earlier statement already applied")
    ignored: int = Field(description="Pending or informational entries (not final)")
    unknown: int = Field(description="Entries matching no payment, or disagreeing with it")
    open: int = Field(description="Of those, still waiting for a payments officer")


class StatementResult(StatementOut):
    duplicate: bool = Field(False, description="This statement was uploaded before: nothing was booked this time; "
                                               "the answer is the first upload's")
    booked_entries: list[EntryOut]
    rejected_entries: list[EntryOut]
    unknown_entries: list[EntryOut]
    booked_total: int
    rejected_total: int
    unknown_total: int
    hidden_outside_your_oblasts: int = Field(description="Entries for claims outside your oblasts (counted, not shown)")


class StatementPage(BaseModel):
    items: list[StatementOut]
    total: int
    limit: int
    offset: int


def _result(auth: AuthDep, upload_id: int, limit: int, duplicate: bool = False) -> StatementResult:
    d = statements.statement_detail(auth.session, auth.principal, upload_id, limit)
    return StatementResult(**{k: d[k] for k in StatementOut.model_fields}, duplicate=duplicate,
                           booked_entries=d["booked_entries"], rejected_entries=d["rejected_entries"], unknown_entries=d["unknown_entries"],
                           booked_total=d["booked_total"], rejected_total=d["rejected_total"], unknown_total=d["unknown_total"],
                           hidden_outside_your_oblasts=d["hidden_outside_your_oblasts"])


@router.post("/bank-statements", response_model=StatementResult, responses=RESPONSES, status_code=201)
def upload_statement(auth: AuthDep, response: Response,
                     file: Annotated[UploadFile, File(description="The camt.053.001.02 or .08 statement of the programme "
                                                                  "account, in hryvnias (XML)")],
                     limit: Annotated[int, Query(ge=1, le=10_000, description="Entries listed per kind")] = 1000) -> StatementResult:
    """Apply a bank statement: sent payments it books become booked (a repair payout starts), returned ones become
    rejected with the bank's reason (in Ukrainian and English) and their claims payable again; entries matching no
    payment are kept, open, in the exceptions queue. The same statement again (same file, or the bank's same
    message and statement ids) books nothing: 200 with `duplicate: true` and the first upload's result."""
    data = file.file.read(get_settings().statement_max_bytes + 1)
    report = reconcile.do_reconcile(auth.session, auth.principal, data)
    assert report.upload_id is not None
    if report.duplicate:
        response.status_code = 200
    return _result(auth, report.upload_id, limit, report.duplicate)


@router.get("/bank-statements", response_model=StatementPage, responses=RESPONSES)
def list_statements(auth: AuthDep, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> StatementPage:
    """Uploaded statements, newest first, with their counts."""
    return StatementPage(**statements.list_statements(auth.session, auth.principal, limit, offset))


@router.get("/bank-statements/{statement_id}", response_model=StatementResult, responses=RESPONSES)
def get_statement(statement_id: IdPath, auth: AuthDep,
                  limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> StatementResult:
    """One uploaded statement: what was booked, rejected (with the bank's reason) and unknown."""
    return _result(auth, statement_id, limit)


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"match_end_to_end_id": "EMP-000000000123-01", "note": "the bank cut the id"}, {"dismiss_reason": "Bank fee"}]})

    match_end_to_end_id: str | None = Field(None, max_length=35, description="Match the entry to this sent payment "
                                                                           "(same amount) and apply it")
    dismiss_reason: str | None = Field(None, max_length=2000, description="Or dismiss it, saying why")
    note: str = Field("", max_length=2000)

    @model_validator(mode="after")
    def one_of(self) -> ResolveIn:
        if bool(self.match_end_to_end_id) == bool(self.dismiss_reason):
            raise ValueError("give either match_end_to_end_id or dismiss_reason")
        return self


@router.post("/statement-entries/{entry_id}/resolve", response_model=EntryOut, responses=RESPONSES)
def resolve_entry(entry_id: IdPath, body: ResolveIn, auth: AuthDep) -> EntryOut:
    """Resolve an open statement entry: match it by hand to the sent payment it is for (amounts must agree; the
    payment is booked or returned as the entry says), or dismiss it with a reason. Audited."""
    if body.match_end_to_end_id:
        statements.do_match_entry(auth.session, auth.principal, entry_id, body.match_end_to_end_id, body.note)
    else:
        statements.do_dismiss_entry(auth.session, auth.principal, entry_id, body.dismiss_reason or "")
    return EntryOut(**statements.entry_by_id(auth.session, auth.principal, entry_id))


# ------------------------------------------------------------------------------------------------ exceptions


class ExceptionOut(BaseModel):
    kind: str
    id: str
    at: datetime | date | None
    claim_reference: str | None
    amount_kopiykas: int
    payee: str | None
    reason_code: str | None
    reason_en: str | None
    reason_uk: str | None
    remedy: str | None
    detail: str
    action: str = Field(description="What to do: correct_account, check_claim, resolve_entry, ...")
    action_label: str
    action_url: str = Field(description="The staff page where it is done")
    problem_code: str | None = Field(None, description="An unknown entry's: null (no such payment), amount, state:<state>")
    line: int | None = None
    bank_id: str | None = Field(None, description="The EndToEndId the bank gave (statement entries)")


class ExceptionGroup(BaseModel):
    kind: str
    title: str
    total: int
    items: list[ExceptionOut]


class ExceptionsOut(BaseModel):
    groups: list[ExceptionGroup]
    total: int


@router.get("/payment-exceptions", response_model=ExceptionsOut, responses=RESPONSES)
def payment_exceptions(auth: AuthDep, kind: Annotated[str | None, Query(max_length=40)] = None,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> ExceptionsOut:
    """What waits for a payments officer, by kind (returned payments, unknown statement entries, ...), each item
    with its action and the page where it is done. Your oblasts only."""
    q = exceptions.exceptions_queue(auth.session, auth.principal, kind, limit)
    return ExceptionsOut(total=q["total"], groups=[ExceptionGroup(kind=g["kind"], title=g["title"], total=g["total"],
                                                                  items=[ExceptionOut(**i.as_dict()) for i in g["items"]])
                                                   for g in q["groups"]])
