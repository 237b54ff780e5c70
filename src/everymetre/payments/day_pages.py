"""The payments officer's day in the browser, after approval: the bank file, marking it sent, cancelling a batch
not sent, uploading a bank statement and its result (booked, returned with the bank's reason, unknown), resolving
unknown entries, and the exceptions queue. Build and approve are `payments.pages`.

Included before `payments.pages` (web.install): its `/staff/payments/{batch_id}` would otherwise take
`/staff/payments/statements`. Refusals reach the page as words chosen by the error's code or kind, so a
Ukrainian page says them in Ukrainian.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from everymetre.accounts.roles import Role
from everymetre.api.deps import IdPath
from everymetre.claims.pages import forms
from everymetre.config import get_settings
from everymetre.kernel.errors import DomainError, ErrorCode, Forbidden, NotFound, PayloadTooLarge, UnsupportedMedia
from everymetre.payments import batches, exceptions, reconcile, statements
from everymetre.payments.models import PaymentBatch
from everymetre.payments.pages import PAYMENT_STATE_WORDS, _batch_context, _page, _words
from everymetre.web import i18n
from everymetre.web.common import DB, Form, Staff, redirect, render
from everymetre.web.i18n import N_, gettext, money

router = APIRouter(include_in_schema=False)
PAGE = 50
SHOWN = 200  # entries per list on a statement's page


# ------------------------------------------------------------------------------------------------ the batch, after approval


@router.post("/staff/payments/{batch_id}/file")
def batch_file(batch_id: IdPath, db: DB, principal: Staff, form: Form) -> Response:
    """The pain.001 file, as a download (a form, so that exporting is a deliberate, CSRF-checked step)."""
    try:
        xml = batches.do_export_file(db, principal, batch_id)
    except DomainError as exc:
        db.rollback()
        if exc.status in (403, 404):
            raise
        return redirect(f"/staff/payments/{batch_id}?" + urlencode({"done": "not_exportable"}))
    batch = db.get(PaymentBatch, batch_id)
    assert batch is not None
    return Response(xml, media_type="application/xml", headers={
        "Content-Disposition": f'attachment; filename="{batches.file_name(batch)}"', "X-Content-Type-Options": "nosniff"})


@router.post("/staff/payments/{batch_id}/send")
def send_batch(request: Request, batch_id: IdPath, db: DB, principal: Staff, form: Form) -> Response:
    try:
        batches.do_mark_sent(db, principal, batch_id)
    except DomainError as exc:
        db.rollback()
        if exc.status in (403, 404):
            raise
        return _batch_refused(request, db, principal, batch_id, gettext(
            "Write the bank file first (download it); then mark the batch sent once the bank has it."), 409)
    return redirect(f"/staff/payments/{batch_id}?done=sent")


@router.post("/staff/payments/{batch_id}/cancel")
def cancel_batch(request: Request, batch_id: IdPath, db: DB, principal: Staff, form: Form) -> Response:
    reason = forms.text(form, "reason")
    if not reason:
        return _batch_refused(request, db, principal, batch_id, gettext("Say why the batch is cancelled."), 422,
                              field="reason")
    try:
        batches.do_cancel_batch(db, principal, batch_id, reason)
    except DomainError as exc:
        db.rollback()
        if exc.status in (403, 404):
            raise
        return _batch_refused(request, db, principal, batch_id, gettext(
            "A batch sent to the bank cannot be cancelled: its money is with the bank. A payment the bank returns "
            "comes back on a statement."), 409)
    return redirect(f"/staff/payments/{batch_id}?done=cancelled")


def _batch_refused(request: Request, db: DB, principal: Any, batch_id: int, message: str, status: int,
                   field: str = "form") -> Response:
    ctx = _batch_context(db, principal, batch_id, 1)
    return render(request, "payments/batch.html", {**ctx, "done": "", "held": [], "errors": {field: message}}, status=status)


# ------------------------------------------------------------------------------------------------ statements


def upload_problem(exc: DomainError) -> str:
    """A refused statement, in the reader's language."""
    p = exc.params
    if isinstance(exc, PayloadTooLarge):
        return gettext("The statement is too large: at most %(size)s MB is accepted. Ask the bank for one statement a day.",
                       size=get_settings().statement_max_bytes // 1_048_576)
    if isinstance(exc, UnsupportedMedia):
        return gettext("The file is not XML. Choose the camt.053 statement the bank sent, not a PDF or a spreadsheet.")
    kind = p.get("kind")
    if kind == "account":
        return gettext("The statement is of another account (%(account)s), not the programme's. Upload the programme "
                       "account's statement.", account=p.get("account", ""))
    if kind == "currency":
        return gettext("The entry on line %(line)s is in %(currency)s; the programme pays in hryvnias only. Ask the bank "
                       "for the hryvnia account's statement.", line=p.get("line") or "?", currency=p.get("currency", ""))
    if kind == "schema":
        return gettext("The file is not a camt.053 bank statement we can read (line %(line)s). Ask the bank for the "
                       "camt.053.001.02 or .08 statement.", line=p.get("line") or "?")
    return forms.translate_domain(exc.detail)


def _statements_page(request: Request, db: DB, principal: Any, errors: dict[str, str], status: int = 200) -> Response:
    page = _page(request.query_params.get("page"))
    data = statements.list_statements(db, principal, PAGE, (page - 1) * PAGE)
    return render(request, "payments/statements.html", {
        **data, "errors": errors, "can_upload": principal.role is Role.PAYMENTS, "page": page,
        "max_mb": get_settings().statement_max_bytes // 1_048_576,
        "prev_url": f"?page={page - 1}" if page > 1 else None,
        "next_url": f"?page={page + 1}" if page * PAGE < data["total"] else None}, status=status)


@router.get("/staff/payments/statements")
def statements_page(request: Request, db: DB, principal: Staff) -> Response:
    return _statements_page(request, db, principal, {})


@router.post("/staff/payments/statements")
def upload_statement(request: Request, db: DB, principal: Staff, form: Form) -> Response:
    if principal.role is not Role.PAYMENTS:
        raise Forbidden("Only payments officers upload bank statements.", ErrorCode.ROLE_NOT_ALLOWED)
    upload = form.get("statement")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _statements_page(request, db, principal, {"statement": gettext("Choose the statement file the bank sent.")}, 400)
    data = upload.file.read(get_settings().statement_max_bytes + 1)
    try:
        report = reconcile.do_reconcile(db, principal, data)
    except DomainError as exc:
        db.rollback()
        if exc.status in (401, 403, 404):
            raise
        return _statements_page(request, db, principal, {"statement": upload_problem(exc)}, exc.status)
    return redirect(f"/staff/payments/statements/{report.upload_id}?done={'duplicate' if report.duplicate else 'uploaded'}")


def _reason(e: dict[str, Any]) -> str:
    if not e.get("reason_code"):
        return ""
    return e["reason_uk"] if i18n.language() == "uk" else e["reason_en"]


def problem_words(code: str | None, bank_id: str | None, entry_amount: int, payment_amount: int | None) -> str:
    if code == "amount" and payment_amount is None:
        return gettext("The amount differs from the payment %(id)s.", id=bank_id or "")
    if code == "amount":
        return gettext("The amount is %(entry)s but the payment %(id)s is %(payment)s.", entry=money(entry_amount),
                       id=bank_id or "", payment=money(payment_amount or 0))
    if code and code.startswith("state:"):
        return gettext("The payment %(id)s is in the state “%(state)s”, so this entry could not be applied to it.",
                       id=bank_id or "", state=_words(PAYMENT_STATE_WORDS, code.split(":", 1)[1]))
    return gettext("It matches no payment of ours.")


ENTRY_STATE_WORDS = {"settled": N_("Applied"), "open": N_("Waiting for you"), "matched": N_("Matched by hand"),
                     "dismissed": N_("Dismissed")}


def _statement_context(db: DB, principal: Any, upload_id: int) -> dict[str, Any]:
    d = statements.statement_detail(db, principal, upload_id, SHOWN)
    for name in ("booked", "rejected", "unknown"):
        d[f"{name}_entries"] = [{**e, "reason_text": _reason(e), "state_label": _words(ENTRY_STATE_WORDS, e["state"]),
                    "problem_words": problem_words(e["problem_code"], e["end_to_end_id"], e["amount_kopiykas"],
                                                   e["payment_amount_kopiykas"]) if name == "unknown" else ""}
                   for e in d[f"{name}_entries"]]
    d["can_resolve"] = principal.role is Role.PAYMENTS
    return d


@router.get("/staff/payments/statements/{upload_id}")
def statement_page(request: Request, upload_id: IdPath, db: DB, principal: Staff) -> Response:
    return render(request, "payments/statement.html", {**_statement_context(db, principal, upload_id),
                                                        "done": request.query_params.get("done", ""), "errors": {}})


def _entry_refused(request: Request, db: DB, principal: Any, entry_id: int, field: str, message: str, status: int) -> Response:
    upload_id = statements.entry_statement(db, entry_id)
    return render(request, "payments/statement.html", {**_statement_context(db, principal, upload_id), "done": "",
                                                        "errors": {field: message}}, status=status)


def _resolve_problem(exc: DomainError) -> str:
    p = exc.params
    if isinstance(exc, NotFound) and "field" in p:
        return gettext("There is no payment with that id. Copy the id (EndToEndId) from the batch's payments.")
    if p.get("kind") == "amount":
        return gettext("The entry is %(entry)s but the payment is %(payment)s; only an entry of the same amount can be "
                       "matched. Dismiss it and ask the bank.", entry=money(p.get("entry", 0)), payment=money(p.get("payment", 0)))
    if exc.code is ErrorCode.INVALID_TRANSITION and p.get("machine") == "payment":
        return gettext("That payment is in the state “%(state)s”; only a payment sent to the bank can be matched.",
                       state=_words(PAYMENT_STATE_WORDS, p.get("state")))
    if exc.code is ErrorCode.INVALID_TRANSITION:
        return gettext("This entry has already been resolved.")
    return forms.translate_domain(exc.detail)


@router.post("/staff/payments/statement-entries/{entry_id}/match")
def match_entry(request: Request, entry_id: IdPath, db: DB, principal: Staff, form: Form) -> Response:
    field = f"match-{entry_id}"
    e2e = forms.text(form, "end_to_end_id")
    if not e2e:
        return _entry_refused(request, db, principal, entry_id, field, gettext(
            "Give the id (EndToEndId) of the payment this entry is for."), 422)
    try:
        entry = statements.do_match_entry(db, principal, entry_id, e2e, forms.text(form, "note"))
    except DomainError as exc:
        db.rollback()
        no_payment = exc.status == 404 and "field" in exc.params  # the form's id names no payment: the form is wrong
        if exc.status == 403 or (exc.status == 404 and not no_payment):
            raise
        return _entry_refused(request, db, principal, entry_id, field, _resolve_problem(exc), 422 if no_payment else exc.status)
    return redirect(f"/staff/payments/statements/{entry.statement_id}?done=matched#entry-{entry.id}")


@router.post("/staff/payments/statement-entries/{entry_id}/dismiss")
def dismiss_entry(request: Request, entry_id: IdPath, db: DB, principal: Staff, form: Form) -> Response:
    field = f"dismiss-{entry_id}"
    reason = forms.text(form, "reason")
    if not reason:
        return _entry_refused(request, db, principal, entry_id, field, gettext(
            "Say why the entry is dismissed (for example: a bank fee)."), 422)
    try:
        entry = statements.do_dismiss_entry(db, principal, entry_id, reason)
    except DomainError as exc:
        db.rollback()
        if exc.status in (403, 404):
            raise
        return _entry_refused(request, db, principal, entry_id, field, _resolve_problem(exc), exc.status)
    return redirect(f"/staff/payments/statements/{entry.statement_id}?done=dismissed#entry-{entry.id}")


# ------------------------------------------------------------------------------------------------ exceptions


@router.get("/staff/payments/exceptions")
def exceptions_page(request: Request, db: DB, principal: Staff) -> Response:
    q = exceptions.exceptions_queue(db, principal, limit=100)
    groups = []
    for g in q["groups"]:
        items = []
        for i in g["items"]:
            d = i.as_dict()
            d["reason_text"] = _reason(d) if d["reason_code"] else (
                problem_words(d["problem_code"], d["bank_id"], d["amount_kopiykas"], None) if d["kind"] == "unknown_entry" else "")
            d["action_words"] = gettext(d["action_label"])
            items.append(d)
        groups.append({**g, "title": gettext(g["title"]), "items": items})
    return render(request, "payments/exceptions.html", {"groups": groups, "total": q["total"]})
