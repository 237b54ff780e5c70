"""Housing certificate pages: the public certificate check (no sign-in), the notary's filings (book certificates
against a home, record the end of the old ownership and the contract), the payments office's fund page (balance,
queue, allocations, returned seller payments and their correction), and the holder's certificate PDF.

The actions (`payments.reservations`, `payments.certificate_fund`, `payments.certificates`) decide who may do
what; a refusal reaches the page as an error code, put in words here (never the English detail)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from everymetre.accounts.actions import Principal
from everymetre.accounts.permissions import Action, require
from everymetre.accounts.roles import Role
from everymetre.api.deps import IdPath
from everymetre.claims.models import Claim, Person
from everymetre.claims.pages import forms
from everymetre.kernel.errors import DomainError, ErrorCode, NotFound, TooManyAttempts
from everymetre.kernel.identifiers import claim_reference
from everymetre.payments import (
    certificate_check,
    certificate_fund,
    certificate_pdf,
    certificate_queries,
    certificates,
    reservations,
)
from everymetre.payments.common import claim_subject
from everymetre.web.common import (
    DB,
    Form,
    MaybePrincipal,
    PageError,
    SettingsDep,
    Staff,
    _need_sign_in,
    redirect,
    render,
)
from everymetre.web.i18n import N_, gettext

router = APIRouter(include_in_schema=False)
RES_WORDS = {"review": N_("Under review (the seller is related to a buyer)"), "queued": N_("Waiting for funds"),
             "confirmed": N_("Funds reserved"), "ownership_terminated": N_("Old ownership ended"),
             "contract_signed": N_("Contract signed: the seller is paid next"), "completed": N_("Completed"),
             "lapsed": N_("Lapsed"), "refused": N_("Refused"), "cancelled": N_("Cancelled")}
CHECK_WORDS = {"valid": N_("Valid"), "reserved": N_("Reserved for a purchase"), "redeemed": N_("Used (redeemed)"),
               "expired": N_("Expired"), "revoked": N_("Revoked")}


def notary(request: Request, principal: MaybePrincipal) -> Principal:
    if principal is None:
        raise _need_sign_in(request)
    if principal.role is not Role.NOTARY:
        raise PageError(403, N_("This page is for notaries"), N_("Sign in with a notary's account."))
    return principal


Notary = Annotated[Principal, Depends(notary)]


def explain(exc: DomainError) -> str:
    """A refusal in the reader's language, by its code."""
    p = exc.params
    if exc.code is ErrorCode.CERTIFICATE_NOT_USABLE:
        return gettext("Certificate %(number)s cannot be used: check its number and its holder's RNOKPP; it must be "
                       "valid and not booked already.", number=p.get("number", ""))
    if exc.code is ErrorCode.HOME_EXCLUDED:
        return gettext("The home is in a hromada in a combat zone or occupied territory: a certificate cannot buy it.")
    if exc.code is ErrorCode.DEADLINE_PASSED:
        return gettext("The 30 days of the reservation are over: it has lapsed.")
    if exc.code is ErrorCode.INVALID_TRANSITION:
        return gettext("This step is not possible in the reservation's current state.")
    if exc.code is ErrorCode.PAYMENT_IN_FLIGHT:
        return gettext("The seller's payment is on its way; correct the account only after the bank returns it.")
    if exc.code is ErrorCode.VALIDATION:
        return gettext("Check the field: %(field)s.", field=FIELD_WORDS.get(str(p.get("field", "")), str(p.get("field", ""))))
    if exc.code is ErrorCode.CONFLICT:
        return gettext("This was already recorded.")
    return gettext("This cannot be done now. Check the details and try again.")


FIELD_WORDS = {"seller_rnokpp": N_("the seller's RNOKPP"), "holder_rnokpp": N_("the holder's RNOKPP"),
               "seller_iban": N_("the seller's IBAN"), "property_katottg": N_("the KATOTTG code"),
               "property_area_m2": N_("the area"), "price_kopiykas": N_("the price"), "certificates": N_("the certificates"),
               "seller_name": N_("the seller's name"), "property_address": N_("the address"),
               "property_registry_number": N_("the registry number"), "reference": N_("the transfer's reference"),
               "amount_kopiykas": N_("the amount"), "termination_extract": N_("the register extract"),
               "contract_number": N_("the contract's number"), "termination_extract_on": N_("the date"),
               "contract_signed_on": N_("the date")}


def _kopiykas(raw: str) -> int:
    try:
        value = Decimal(raw.replace(" ", "").replace("\u00a0", "").replace(",", "."))
    except InvalidOperation:
        return 0
    return int(value * 100) if value > 0 else 0


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


# ------------------------------------------------------------------------------------------------ public check


@router.get("/public/certificate-check")
def check_page(request: Request) -> Response:
    return render(request, "payments/certificate_check.html", {"number": request.query_params.get("number", "")[:30]})


@router.post("/public/certificate-check")
def check_submit(request: Request, db: DB, settings: SettingsDep, form: Form) -> Response:
    number, born = forms.text(form, "number")[:30], _day(forms.text(form, "birth_date"))
    ctx: dict[str, Any] = {"number": number, "birth_date": forms.text(form, "birth_date")}
    if born is None:
        ctx["errors"] = {"birth_date": gettext("Enter the date of birth.")}
        return render(request, "payments/certificate_check.html", ctx, 400)
    try:
        found = certificate_check.check_certificate(db, settings, number, born, request.client.host if request.client else None)
    except TooManyAttempts as exc:
        ctx["errors"] = {"form": gettext("Too many checks from your address. Try again in %(minutes)s minutes.",
                                         minutes=max(1, int(exc.params.get("retry_after", 60)) // 60))}
        response = render(request, "payments/certificate_check.html", ctx, 429)
        response.headers["Retry-After"] = str(exc.params.get("retry_after", 60))
        return response
    except NotFound:
        ctx["nomatch"] = True
        return render(request, "payments/certificate_check.html", ctx)
    ctx["found"] = {**found, "status_words": gettext(CHECK_WORDS[found["status"]])}
    return render(request, "payments/certificate_check.html", ctx)


# ------------------------------------------------------------------------------------------------ notary


def _reservation_view(db: Any, res: Any) -> dict[str, Any]:
    certs = reservations.reservation_certificates(db, res)
    pos = certificate_fund.queue_position(db, res) if res.state == "queued" else (None, None)
    return {"r": res, "state_words": gettext(RES_WORDS[res.state]), "certs": certs, "position": pos[0], "ahead": pos[1]}


@router.get("/notary")
def notary_home(request: Request, db: DB, principal: Notary) -> Response:
    rows = certificate_queries.own_filings(db, principal)
    return render(request, "payments/notary.html", {
        "filings": [{"r": r, "state_words": gettext(RES_WORDS[r.state])} for r in rows], "done": request.query_params.get("done", "")})


@router.get("/notary/reservations/new")
def notary_new(request: Request, principal: Notary) -> Response:
    return render(request, "payments/notary_new.html", {"v": {}, "errors": {}})


@router.post("/notary/reservations/new")
def notary_file(request: Request, db: DB, principal: Notary, form: Form) -> Response:
    v = {k: forms.text(form, k) for k in ("number1", "rnokpp1", "number2", "rnokpp2", "seller_name", "seller_rnokpp",
                                          "seller_iban", "property_registry_number", "property_address", "property_katottg",
                                          "property_area_m2", "property_kind", "price")}
    buyers = tuple(reservations.Buyer(v[f"number{i}"], v[f"rnokpp{i}"]) for i in (1, 2) if v[f"number{i}"])
    try:
        area = Decimal(v["property_area_m2"].replace(",", ".") or "0")
    except InvalidOperation:
        area = Decimal(0)
    filing = reservations.Filing(buyers, v["seller_name"], v["seller_rnokpp"], v["seller_iban"], v["property_registry_number"],
                                 v["property_address"], v["property_katottg"], area, v["property_kind"] or "apartment",
                                 _kopiykas(v["price"]))
    try:
        res = reservations.do_file_reservation(db, principal, filing)
    except DomainError as exc:
        db.rollback()
        if exc.status in (401, 403):
            raise
        return render(request, "payments/notary_new.html", {"v": v, "errors": {"form": explain(exc)}}, 409)
    return redirect(f"/notary/reservations/{res.id}?done=filed")


@router.get("/notary/reservations/{reservation_id}")
def notary_reservation(request: Request, reservation_id: IdPath, db: DB, principal: Notary) -> Response:
    res = reservations.get_reservation(db, principal, reservation_id)
    return render(request, "payments/notary_reservation.html", {**_reservation_view(db, res), "errors": {},
                                                                 "done": request.query_params.get("done", "")})


def _step(request: Request, db: Any, principal: Principal, reservation_id: int, step: Any) -> Response:
    try:
        step()
    except DomainError as exc:
        db.rollback()
        if exc.status in (401, 403, 404):
            raise
        res = reservations.get_reservation(db, principal, reservation_id)
        return render(request, "payments/notary_reservation.html",
                      {**_reservation_view(db, res), "errors": {"form": explain(exc)}, "done": ""}, 409)
    return redirect(f"/notary/reservations/{reservation_id}?done=recorded")


@router.post("/notary/reservations/{reservation_id}/termination")
def notary_termination(request: Request, reservation_id: IdPath, db: DB, principal: Notary, form: Form) -> Response:
    on = _day(forms.text(form, "extract_on")) or date.today()
    return _step(request, db, principal, reservation_id, lambda: reservations.do_record_termination(
        db, principal, reservation_id, forms.text(form, "extract"), on))


@router.post("/notary/reservations/{reservation_id}/contract")
def notary_contract(request: Request, reservation_id: IdPath, db: DB, principal: Notary, form: Form) -> Response:
    on = _day(forms.text(form, "signed_on")) or date.today()
    return _step(request, db, principal, reservation_id, lambda: reservations.do_record_contract(
        db, principal, reservation_id, forms.text(form, "contract_number"), on))


# ------------------------------------------------------------------------------------------------ payments office


@router.get("/staff/certificates/fund")
def fund_page(request: Request, db: DB, principal: Staff) -> Response:
    view = certificate_fund.fund_view(db, principal)
    returned = certificate_queries.returned_seller_payments(db, principal) if principal.role in (Role.PAYMENTS, Role.ADMIN, Role.AUDITOR) else []
    return render(request, "payments/fund.html", {**view, "returned": returned, "errors": {},
                                                  "can_record": principal.role in (Role.PAYMENTS, Role.ADMIN),
                                                  "done": request.query_params.get("done", "")})


@router.post("/staff/certificates/fund/allocations")
def fund_allocate(request: Request, db: DB, principal: Staff, form: Form) -> Response:
    try:
        out = certificate_fund.do_record_fund(db, principal, _kopiykas(forms.text(form, "amount")), forms.text(form, "reference"))
    except DomainError as exc:
        db.rollback()
        if exc.status in (401, 403):
            raise
        view = certificate_fund.fund_view(db, principal)
        return render(request, "payments/fund.html", {**view, "returned": [], "errors": {"form": explain(exc)},
                                                      "can_record": True, "done": ""}, 409)
    return redirect(f"/staff/certificates/fund?done={out['confirmed']}")


@router.get("/staff/certificates/{number}/seller-account")
def seller_account_page(request: Request, number: str, db: DB, principal: Staff) -> Response:
    cert, claim = certificates.find_certificate(db, principal, number, lock=False)
    require(principal.actor, Action.CERTIFICATE_RECORD, claim_subject(principal, claim))
    db.rollback()
    return render(request, "payments/seller_account.html", {"cert": cert, "errors": {}})


@router.post("/staff/certificates/{number}/seller-account")
def seller_account_save(request: Request, number: str, db: DB, principal: Staff, form: Form) -> Response:
    try:
        certificates.do_correct_seller_account(db, principal, number, forms.text(form, "seller_name"), forms.text(form, "seller_iban"))
    except DomainError as exc:
        db.rollback()
        if exc.status in (401, 403, 404):
            raise
        cert, _claim = certificates.find_certificate(db, principal, number, lock=False)
        return render(request, "payments/seller_account.html", {"cert": cert, "errors": {"form": explain(exc)}}, 409)
    return redirect("/staff/certificates/fund?done=corrected")


# ------------------------------------------------------------------------------------------------ holder's PDF


@router.get("/my/certificates/{number}.pdf")
def certificate_pdf_page(request: Request, number: str, db: DB, settings: SettingsDep, principal: MaybePrincipal) -> Response:
    """The holder's certificate as a PDF (owners and staff who may see the claim)."""
    if principal is None:
        raise _need_sign_in(request)
    cert, claim = certificates.find_certificate(db, principal, number, lock=False, notary=False)
    holder = db.get(Person, cert.holder_person_id) if cert.holder_person_id else None
    share = cert.shares[0] if cert.shares else None
    ref = claim_reference(claim.ref_year, claim.id) if isinstance(claim, Claim) else ""
    body = certificate_pdf.build(cert, holder.full_name if holder else "", ref,
                                 f"{share.share_numerator}/{share.share_denominator}" if share else "1/1", settings.public_url)
    db.rollback()
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="certificate-{cert.number}.pdf"'})
