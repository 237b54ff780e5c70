"""Pages for who acts for whom: a claimant verifying their account as a person (`/account/identity`, claims.identity),
an officer checking a representative's power of attorney (`/staff/claims/{ref}/power-of-attorney`,
claims.representatives), and the representative or an owner giving a new one in place of a refused or expired one
(`/my/claims/{ref}/power-of-attorney`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from everymetre.accounts.actions import Principal
from everymetre.claims import access, identity, representatives
from everymetre.claims.pages import forms, views
from everymetre.claims.pages.staff import _claim_context
from everymetre.claims.schemas import AttorneyCheckIn
from everymetre.kernel.errors import DomainError, ErrorCode, NotFound, TooManyAttempts
from everymetre.sla.due import kyiv_day
from everymetre.store.types import utcnow
from everymetre.web import i18n
from everymetre.web.common import DB, Claimant, Form, SettingsDep, Staff, client_address, redirect, render

router = APIRouter(include_in_schema=False)

# ------------------------------------------------------------------------------------------------ identity


def _identity_page(request: Request, db: DB, settings: Any, principal: Principal, values: dict[str, str] | None = None,
                   errors: dict[str, str] | None = None, done: str = "", status: int = 200) -> Response:
    st = identity.status(db, settings, principal)
    return render(request, "claims/identity.html", {"status": st, "values": values or {}, "errors": errors or {},
                                                    "done": done, "today": date.today().isoformat()}, status=status)


@router.get("/account/identity")
def identity_page(request: Request, db: DB, principal: Claimant, settings: SettingsDep, done: str = "") -> Response:
    return _identity_page(request, db, settings, principal, done=done)


@router.post("/account/identity")
def identity_submit(request: Request, db: DB, principal: Claimant, settings: SettingsDep, form: Form) -> Response:
    values = {"rnokpp": forms.text(form, "rnokpp"), "birth_date": forms.text(form, "birth_date")}
    errors = forms.hygiene_errors(values)
    born: date | None = None
    try:
        born = date.fromisoformat(values["birth_date"]) if values["birth_date"] else None
    except ValueError:
        errors["birth_date"] = i18n.gettext("Write a date as year-month-day, for example 2024-03-15.")
    if not values["rnokpp"]:
        errors["rnokpp"] = i18n.gettext("Fill this in.")
    if born is None and "birth_date" not in errors:
        errors["birth_date"] = i18n.gettext("Fill this in.")
    if not errors:
        try:
            identity.do_verify_identity(db, settings, principal, values["rnokpp"], born, client_address(request))
        except TooManyAttempts as exc:
            db.rollback()
            minutes = max(1, -(-exc.retry_after // 60))
            response = _identity_page(request, db, settings, principal, values, {"form": i18n.ngettext(
                "Too many attempts. For your safety, try again in %(num)d minute.",
                "Too many attempts. For your safety, try again in %(num)d minutes.", minutes)}, status=429)
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        except DomainError as exc:
            db.rollback()
            if exc.code is ErrorCode.IDENTITY_NOT_MATCHED:
                errors["rnokpp"] = i18n.gettext("The taxpayer number and the date of birth do not match our records. "
                                                "Check both and try again.")
            elif exc.code is ErrorCode.IDENTITY_TAKEN:
                errors["form"] = i18n.gettext("This person's identity is already verified on another account. Sign in "
                                              "to that account, or ask a service centre for help.")
            elif exc.status == 403:  # the programme verifies through its identity provider (the page says so)
                errors["form"] = i18n.gettext("Your identity is confirmed when you sign in through the state identity "
                                              "service (for example BankID or Diia): it tells us your taxpayer number.")
            else:  # a malformed number: the RNOKPP's own sentences (kernel.identifiers), in the catalogue
                errors[getattr(exc, "field", None) or "form"] = forms.translate_domain(exc.detail)
        else:
            return redirect("/account/identity?done=verified")
    return _identity_page(request, db, settings, principal, values, errors, status=409 if "form" in errors else 400)


# ------------------------------------------------------------------------------------------------ the officer's check


@router.post("/staff/claims/{reference}/power-of-attorney")
def attorney_check(request: Request, reference: str, db: DB, principal: Staff, settings: SettingsDep,
                   form: Form) -> Response:
    decision = forms.text(form, "decision")
    reason = forms.text(form, "reason")
    errors = forms.hygiene_errors({"reason": reason})
    if decision not in ("accept", "refuse"):
        errors["attorney-decision"] = i18n.gettext("Choose one of the options.")
    if not errors:
        try:
            representatives.do_check_power_of_attorney(db, principal, reference,
                                                       AttorneyCheckIn(accept=decision == "accept", reason=reason))
        except DomainError as exc:
            db.rollback()
            if exc.status in (403, 404):
                raise  # not theirs to check: the refusal page
            if exc.code is ErrorCode.POWER_OF_ATTORNEY_NOT_VALID:
                errors["attorney-decision"] = i18n.gettext(
                    "This power of attorney cannot be accepted: it is expired or dated in the future. Refuse it with "
                    "that reason.")
            elif getattr(exc, "field", None) == "reason":
                errors["attorney-reason"] = i18n.gettext("Say why the power of attorney is refused.")
            else:
                errors["form"] = forms.words_for(exc) if exc.code in forms.WORDS else forms.translate_domain(exc.detail)
        else:
            return redirect(f"/staff/claims/{reference}?done=attorney#attorney-h")
    claim = access.get_claim(db, principal, reference)
    return render(request, "claims/staff_claim.html", {**_claim_context(db, principal, claim, settings),
                                                       "errors": errors, "done": "", "values": {"reason": reason}},
                  status=400 if "form" not in errors else 409)


# ------------------------------------------------------------------------------------------------ a new document


def _replace_page(request: Request, db: DB, principal: Principal, reference: str, values: dict[str, str] | None = None,
                  errors: dict[str, str] | None = None, status: int = 200) -> Response:
    claim = access.get_claim(db, principal, reference)
    row = claim.power_of_attorney
    if row is None or not claim.filed_as_representative:
        raise NotFound(f"Claim {claim.reference} was not filed with a power of attorney.")
    today = kyiv_day(utcnow())
    open_now = representatives.can_replace(principal, claim, today)
    if values is None:  # who acts stays who they are; the document is the new one's
        values = {"full_name": row.full_name, "rnokpp": row.rnokpp, "phone": row.phone or "", "email": row.email or ""}
    return render(request, "claims/attorney_replace.html", {
        "claim": claim, "attorney": views.attorney_view(claim), "open": open_now, "values": values,
        "errors": errors or {}, "today": today.isoformat(), "is_filer": claim.submitted_by_id == principal.user_id,
    }, status=status if open_now else 409)


@router.get("/my/claims/{reference}/power-of-attorney")
def attorney_replace_page(request: Request, reference: str, db: DB, principal: Claimant) -> Response:
    return _replace_page(request, db, principal, reference)


@router.post("/my/claims/{reference}/power-of-attorney")
def attorney_replace(request: Request, reference: str, db: DB, principal: Claimant, form: Form) -> Response:
    values = {f: forms.text(form, f"rep-{f}") for f in forms.REP_FIELDS}
    errors = forms.hygiene_errors(values, prefix="rep-")
    rep = None
    if not errors:
        rep, errors = forms.check_representative({"rep": values})
    if rep is not None and not errors:
        try:
            representatives.do_replace_power_of_attorney(db, principal, reference, rep)
        except DomainError as exc:
            db.rollback()
            if exc.status in (403, 404):
                raise  # not theirs: the refusal page
            if exc.code is ErrorCode.POWER_OF_ATTORNEY_NOT_VALID:
                errors["rep-valid_until"] = i18n.gettext("This power of attorney has expired: a valid one is needed.")
            elif getattr(exc, "field", None) == "rnokpp" and exc.params.get("reason") == "owner":
                errors["rep-rnokpp"] = i18n.gettext("This is an owner's taxpayer number: an owner does not need a power "
                                                    "of attorney.")
            elif getattr(exc, "field", None) == "rnokpp":
                errors["rep-rnokpp"] = i18n.gettext("You give your own power of attorney: the taxpayer number must be "
                                                    "yours. To name another representative, an owner gives it.")
            else:  # not replaceable now (accepted and valid, or the claim closed): the page says why
                errors["form"] = i18n.gettext("This power of attorney cannot be replaced now: only one an officer refused "
                                              "or one that has expired is replaced, while the claim is open.")
        else:
            return redirect(f"/my/claims/{reference}?done=attorney#status-h")
    return _replace_page(request, db, principal, reference, values, errors, status=409 if "form" in errors else 400)
