"""Pages for the payout account (the claimant's and an officer's correction form) and for the second
commission member's approval of an award (its route is in `staff.py`, by the claim page). The rules are `claims.payout_accounts` and `claims.awards`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.claims import access, payout_accounts
from everymetre.claims.models import Claim
from everymetre.claims.pages import forms
from everymetre.claims.pages.forms import words_for
from everymetre.kernel.errors import DomainError, ErrorCode
from everymetre.web.common import DB, Claimant, Form, Staff, redirect, render
from everymetre.web.i18n import N_, gettext

router = APIRouter(include_in_schema=False)  # pages: not part of the API contract (/openapi.json)

STATE_WORDS = {"active": N_("in use"), "returned": N_("returned by the bank"), None: N_("given with the claim")}


def _context(db: Session, principal: Principal, claim: Claim, staff: bool) -> dict[str, Any]:
    status = payout_accounts.account_status(db, claim)
    owners = [{**o, "state_label": gettext(STATE_WORDS.get(o["state"], STATE_WORDS[None]))} for o in status["owners"]]
    return {"claim": claim, "status": status, "owners": owners, "staff": staff,
            "banks": [(b["bank_code"], b["name"]) for b in status["banks"]],
            "owner_options": [(o.person.rnokpp or "", o.person.full_name) for o in claim.owners if o.person.rnokpp],
            "action": f"/{'staff' if staff else 'my'}/claims/{claim.reference}/payout-account",
            "back": f"/{'staff' if staff else 'my'}/claims/{claim.reference}"}


def _page(request: Request, db: Session, principal: Principal, reference: str, staff: bool,
          errors: dict[str, str] | None = None, values: dict[str, str] | None = None, status: int = 200) -> Response:
    claim = access.get_claim(db, principal, reference)
    return render(request, "claims/payout_account.html", {**_context(db, principal, claim, staff), "errors": errors or {},
                                                          "values": values or {}}, status=status)


def _save(request: Request, db: Session, principal: Principal, reference: str, form: Any, staff: bool) -> Response:
    values = {k: forms.text(form, k) for k in ("iban", "bank_code", "owner_rnokpp", "reason")}
    errors: dict[str, str] = {}
    if not values["bank_code"]:
        errors["bank_code"] = gettext("Choose the bank.")
    if not values["iban"]:
        errors["iban"] = gettext("Fill this in.")
    if errors:
        return _page(request, db, principal, reference, staff, errors, values, status=400)
    try:
        payout_accounts.do_set_payout_account(db, principal, reference, values["iban"], values["bank_code"],
                                              values["owner_rnokpp"] or None, values["reason"])
    except DomainError as exc:
        db.rollback()
        field = "bank_code" if exc.code is ErrorCode.BANK_IBAN_MISMATCH else "iban"
        return _page(request, db, principal, reference, staff, {field: words_for(exc)}, values,
                     status=403 if exc.status == 403 else 400)
    return redirect(f"/{'staff' if staff else 'my'}/claims/{reference}?done=account")


@router.get("/my/claims/{reference}/payout-account")
def my_payout_account(request: Request, reference: str, db: DB, principal: Claimant) -> Response:
    return _page(request, db, principal, reference, staff=False)


@router.post("/my/claims/{reference}/payout-account")
def my_payout_account_save(request: Request, reference: str, db: DB, principal: Claimant, form: Form) -> Response:
    return _save(request, db, principal, reference, form, staff=False)


@router.get("/staff/claims/{reference}/payout-account")
def staff_payout_account(request: Request, reference: str, db: DB, principal: Staff) -> Response:
    return _page(request, db, principal, reference, staff=True)


@router.post("/staff/claims/{reference}/payout-account")
def staff_payout_account_save(request: Request, reference: str, db: DB, principal: Staff, form: Form) -> Response:
    return _save(request, db, principal, reference, form, staff=True)
