"""Repair money on the pages: what the owner reads on their claim's "Payment" panel (what to do next and by when,
the card spending counted or not and why, the reports and the officer's answers), the owner's repair-report form
(`/my/claims/{reference}/repair-report`) and the officer's check (`/staff/claims/{reference}/repair-reports`).
The actions are `payments.repair_reports`; the words are translated (`locale/uk`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from everymetre.accounts.actions import Principal
from everymetre.accounts.permissions import Action, check
from everymetre.api.deps import IdPath
from everymetre.claims import access
from everymetre.claims.models import Claim
from everymetre.claims.pages import forms
from everymetre.config import get_settings
from everymetre.kernel.errors import DomainError, ErrorCode, NotFound
from everymetre.payments import card_transactions, repair_reports
from everymetre.payments.common import claim_subject
from everymetre.payments.models import RepairPayout
from everymetre.payments.payouts import final_report_deadline
from everymetre.payments.repair_reports import Upload
from everymetre.payments.tranches import second_payment
from everymetre.web.common import DB, Claimant, Form, Staff, redirect, render
from everymetre.web.i18n import N_, day, gettext, money

router = APIRouter(include_in_schema=False)

REFUSAL_WORDS = {"mcc": N_("not counted: the shop is not one of building materials, paint and wallpaper or contractors "
                           "(category %(mcc)s)"),
                 "window": N_("not counted: outside the time to spend the money"),
                 "closed": N_("not counted: the payment was already closed"),
                 "balance": N_("not counted: more than was left on the account")}
REPORT_KIND_WORDS = {"interim": N_("Interim report"), "final": N_("Final report")}
REPORT_STATE_WORDS = {"filed": N_("being checked"), "accepted": N_("accepted"), "returned": N_("returned to you")}


def _w(table: dict[str, str], code: str) -> str:
    return gettext(table[code]) if code in table else code


def refusal_words(refusal: str | None, mcc: str) -> str:
    return gettext("counted") if refusal is None else gettext(REFUSAL_WORDS.get(refusal, refusal), mcc=mcc)


def repair_lines(r: dict[str, Any]) -> list[str]:
    """The panel's sentences for a repair payout: where the money is, what to do next and by when."""
    lines = [gettext("%(amount)s was transferred to your eRecovery account on %(date)s.", amount=money(r["amount_kopiykas"]),
                     date=day(r["transferred_on"]))]
    state, due = r["state"], day(r["report_due"])
    spend = gettext("Spend it on the repairs by %(date)s (%(months)s months), only with building materials, paint and "
                    "wallpaper shops or contractors. Money not spent by then goes back to the budget.",
                    date=day(r["spend_by"]), months=18 if r["tier"] == "B" else 12)
    final = gettext("When the works are finished, send a final report with up to 10 photos, no later than %(date)s.", date=due)
    if state in ("funds_transferred", "spending"):
        lines.append(spend)
        if r["tier"] == "B":
            lines.append(gettext("Next: send an interim report (photos of the works and receipts). Once it is accepted, "
                                 "the remaining %(amount)s is paid to the account.", amount=money(r["second_kopiykas"])))
        else:
            lines.append(final)
    elif state == "interim_reported":
        lines.append(spend)
        lines.append(gettext("Your interim report of %(date)s is being checked. Nothing to do until then.",
                             date=day(r["interim_reported_on"])))
    elif state == "interim_accepted":
        lines.append(spend)
        if r["second_paid_on"] is None:
            lines.append(gettext("Your interim report was accepted. The remaining %(amount)s will be paid to the account "
                                 "with the next payment batch.", amount=money(r["second_kopiykas"])))
        else:
            lines.append(gettext("The remaining %(amount)s reached the account on %(date)s.", amount=money(r["second_kopiykas"]),
                                 date=day(r["second_paid_on"])))
            lines.append(final)
    elif state == "final_reported":
        lines.append(gettext("Your final report of %(date)s is being checked. Nothing to do until then.",
                             date=day(r["final_reported_on"])))
    elif state in ("verified", "closed"):
        lines.append(gettext("Your final report was accepted. The payment was closed on %(date)s.", date=day(r["closed_on"] or r["verified_on"])))
        if r["returned_kopiykas"]:
            lines.append(gettext("%(amount)s that was not spent went back to the budget.", amount=money(r["returned_kopiykas"])))
    elif state == "expired_balance_returned":
        lines.append(gettext("The final report was not sent by %(date)s. %(amount)s that was not spent went back to the budget.",
                             date=due, amount=money(r["returned_kopiykas"])))
    elif state == "redamaged":
        lines.append(gettext("Your home was reported damaged again, so this account's card was closed on %(date)s and "
                             "%(amount)s that was not spent went back to the budget. The new damage is assessed under "
                             "your new claim.", date=day(r["closed_on"]), amount=money(r["returned_kopiykas"])))
    returned = next((x for x in r["reports"] if x["state"] == "returned"), None)
    if returned is not None and r["reports"] and r["reports"][0] is returned:
        lines.append(gettext("Your report was returned on %(date)s: %(reason)s. Send it again.", date=day(returned["decided_on"]),
                             reason=returned["return_reason"]))
    return lines


def report_due_kind(r: dict[str, Any]) -> str | None:
    """Which report the owner can send now: interim, final or none."""
    if r["state"] in ("funds_transferred", "spending"):
        return "interim" if r["tier"] == "B" else "final"
    if r["state"] == "interim_accepted" and r["second_paid_on"] is not None:
        return "final"
    return None


def repair_view(db: Session, principal: Principal, claim: Claim, repair: dict[str, Any]) -> dict[str, Any]:
    """The panel's repair part: the payout's facts, its reports, the latest card spending (counted or not, why)."""
    payout = db.scalar(select(RepairPayout).where(RepairPayout.claim_id == claim.id))
    assert payout is not None
    reports = repair_reports.repair_reports(db, principal, claim.reference)
    spent = card_transactions.card_transactions_for(db, principal, claim.reference, limit=20)
    out = {**repair, "report_due": final_report_deadline(payout), "second_paid_on": payout.second_paid_on,
           "second_kopiykas": _second(payout),
           "reports": [{**x, "kind_words": _w(REPORT_KIND_WORDS, x["kind"]), "state_words": _w(REPORT_STATE_WORDS, x["state"])}
                       for x in reports],
           "card": [{**t, "words": refusal_words(t["refusal"], t["mcc"])} for t in spent]}
    out["lines"] = repair_lines(out)
    out["can_report"] = report_due_kind(out)
    return out


def _second(payout: RepairPayout) -> int:
    return second_payment(payout.awarded_kopiykas) if payout.awarded_kopiykas else 0


# ------------------------------------------------------------------------------------------------ the owner's form


def explain(exc: DomainError) -> str:
    p = exc.params
    if exc.code == ErrorCode.DEADLINE_PASSED:
        return gettext("The report was due by %(date)s.", date=p.get("last_day", ""))
    if exc.code == ErrorCode.SECOND_PAYMENT_PENDING:
        return gettext("Send the final report once the remaining money has reached the account.")
    if exc.code in (ErrorCode.INVALID_TRANSITION, ErrorCode.REPORT_NOT_FILED):
        return gettext("This report cannot be sent or checked now: the payment has moved on. Reload the page.")
    if exc.code == ErrorCode.UNSUPPORTED_MEDIA:
        return gettext("A file is not a photo (JPEG, PNG, WebP) or a PDF receipt.")
    if exc.code == ErrorCode.TOO_LARGE:
        return gettext("A file is larger than %(mb)s MB.", mb=get_settings().evidence_max_bytes // 1_048_576)
    if exc.code == ErrorCode.VALIDATION:
        if p.get("field") == "reason":
            return gettext("Say why the report is returned: the owner sees it.")
        if p.get("limit"):
            return gettext("A report holds at most %(n)s files.", n=p["limit"])
        return gettext("Attach at least one photo of the works (a final report: photos only).")
    if exc.code in (ErrorCode.ROLE_NOT_ALLOWED, ErrorCode.OUT_OF_SCOPE, ErrorCode.FORBIDDEN):
        return gettext("Your role does not allow this.")
    return gettext(exc.title)


def _owner_context(db: Session, principal: Principal, reference: str) -> dict[str, Any]:
    from everymetre.payments import queries

    claim = access.get_claim(db, principal, reference)
    status = queries.payout_status(db, principal, claim.reference)
    if status["repair"] is None:
        raise NotFound(f"Claim {claim.reference} has no repair payout yet.")
    return {"claim": claim, "r": repair_view(db, principal, claim, status["repair"])}


@router.get("/my/claims/{reference}/repair-report")
def report_form(request: Request, reference: str, db: DB, principal: Claimant) -> Response:
    ctx = _owner_context(db, principal, reference)
    return render(request, "payments/repair_report.html", {**ctx, "errors": {}, "note": "", "max_files": get_settings().repair_report_max_files})


@router.post("/my/claims/{reference}/repair-report")
def report_send(request: Request, reference: str, db: DB, principal: Claimant, form: Form) -> Response:
    ctx = _owner_context(db, principal, reference)
    kind = ctx["r"]["can_report"] or forms.text(form, "kind") or "final"
    cap = get_settings().evidence_max_bytes + 1
    uploads = []
    for f in form.getlist("files"):
        if isinstance(f, UploadFile) and f.filename:
            f.file.seek(0)
            uploads.append(Upload(f.filename, f.file.read(cap)))
    note = forms.text(form, "note")
    try:
        repair_reports.do_file_repair_report(db, principal, reference, kind, uploads, note, form.get("redamaged") == "yes")
    except DomainError as exc:
        db.rollback()
        if exc.status == 404:
            raise
        return render(request, "payments/repair_report.html",
                      {**_owner_context(db, principal, reference), "errors": {"files": explain(exc)}, "note": note,
                       "max_files": get_settings().repair_report_max_files}, status=400 if exc.status < 409 else exc.status)
    return redirect(f"/my/claims/{reference}?done=report#payment-h")


# ------------------------------------------------------------------------------------------------ the officer's check


@router.get("/staff/repair-reports")
def officer_queue(request: Request, db: DB, principal: Staff) -> Response:
    """Repair reports waiting for a check, oldest first, in the staff member's oblasts (all for national roles)."""
    from everymetre.kernel.identifiers import claim_reference
    from everymetre.payments.models import RepairReport

    stmt = (select(RepairReport.id, RepairReport.kind, RepairReport.filed_on, Claim.id, Claim.ref_year, Claim.oblast)
            .join(Claim, Claim.id == RepairReport.claim_id).where(RepairReport.state == "filed")
            .order_by(RepairReport.filed_on, RepairReport.id).limit(200))
    if not principal.all_oblasts:
        stmt = stmt.where(Claim.oblast.in_(sorted(principal.oblasts)))
    rows = [{"reference": claim_reference(year, cid), "kind_words": _w(REPORT_KIND_WORDS, kind), "filed_on": filed}
            for _rid, kind, filed, cid, year, _oblast in db.execute(stmt)]
    return render(request, "payments/repair_queue.html", {"reports": rows})


@router.get("/staff/claims/{reference}/repair-reports")
def officer_page(request: Request, reference: str, db: DB, principal: Staff, done: str = "") -> Response:
    return _officer(request, db, principal, reference, done, {})


def _officer(request: Request, db: Session, principal: Principal, reference: str, done: str, errors: dict[str, str],
             status: int = 200) -> Response:
    ctx = _owner_context(db, principal, reference)
    claim = ctx["claim"]
    can = check(principal.actor, Action.PAYOUT_VERIFY, claim_subject(principal, claim)) is None
    return render(request, "payments/repair_check.html", {**ctx, "can_decide": can, "done": done, "errors": errors}, status=status)


@router.post("/staff/claims/{reference}/repair-reports/{report_id}")
def officer_decide(request: Request, reference: str, report_id: IdPath, db: DB, principal: Staff, form: Form) -> Response:
    accept = forms.text(form, "decision") == "accept"
    try:
        repair_reports.do_decide_repair_report(db, principal, reference, report_id, accept, forms.text(form, "reason"))
    except DomainError as exc:
        db.rollback()
        if exc.status == 404:
            raise
        return _officer(request, db, principal, reference, "", {"form": explain(exc)}, status=exc.status if exc.status in (403, 409) else 400)
    return redirect(f"/staff/claims/{reference}/repair-reports?done={'accepted' if accept else 'returned'}")
