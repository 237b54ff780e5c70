"""Payments pages: the payments officer's batch list and batch page (build, approve), and the claimant's
"Payment" panel on their claim page (payout status, housing certificate).

The actions and read models (`payments.batches`, `payments.queries`) decide who may see or approve what
(`accounts.permissions`: segregation of duties, the second approval above the threshold, oblast scope); a
refusal reaches the page as an error code with parameters, put in words by `explain`."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.accounts.roles import Role
from everymetre.api.deps import IdPath
from everymetre.claims.models import Claim
from everymetre.claims.pages import forms
from everymetre.kernel.errors import DomainError, ErrorCode
from everymetre.payments import batches, queries
from everymetre.payments.models import Certificate, CertificateShare
from everymetre.payments.repair_pages import repair_view
from everymetre.payments.states import BATCH
from everymetre.web import i18n
from everymetre.web.common import DB, Form, Staff, redirect, render
from everymetre.web.i18n import N_, day, gettext, money

router = APIRouter(include_in_schema=False)
PAGE = 50
PAYMENTS_PAGE = 100

BATCH_STATE_WORDS = {"built": N_("Built, awaiting approval"), "approved": N_("Approved, the bank file comes next"),
                     "exported": N_("File written for the bank"), "sent": N_("Sent to the bank"),
                     "cancelled": N_("Cancelled")}
PAYMENT_STATE_WORDS = {"pending": N_("Waiting for a batch"), "batched": N_("In a batch"), "sent": N_("Sent to the bank"),
                       "booked": N_("Paid"), "rejected": N_("Returned by the bank"), "cancelled": N_("Cancelled")}
# why a batch's build held claims back (the service's reasons) -> short codes for the URL, and words
HELD = {"open review flag": ("review", N_("%(num)s with an open review finding")),
        "decided by you (segregation)": ("segregation", N_("%(num)s you decided yourself (segregation of duties)")),
        "outside your oblasts": ("scope", N_("%(num)s outside your oblasts")),
        "payee has no IBAN": ("iban", N_("%(num)s without the payee's bank account (IBAN)"))}


def _words(table: dict[str, str], code: str | None) -> str:
    return gettext(table[code]) if code in table else (code or "—")


# ------------------------------------------------------------------------------------------------ refusals, in words


def explain(code: str | None, params: dict[str, Any] | None = None, detail: str = "") -> str:
    """A refusal to approve (or build) in the reader's language, chosen by its error code (kernel.errors)."""
    if not code:
        return ""
    p = params or {}
    if code == ErrorCode.SEGREGATION_DECIDED:
        return gettext("You decided claims in this batch (%(refs)s). Someone who did not decide them must release "
                       "their payment (segregation of duties).", refs=", ".join(p.get("references", [])))
    if code == ErrorCode.SEGREGATION_BUILT:
        return gettext("You built this batch. Another payments officer must approve it (segregation of duties).")
    if code in (ErrorCode.SEGREGATION_FIRST_APPROVER, ErrorCode.SECOND_APPROVAL_NEEDED):
        return gettext("You approved this batch already. A second, different payments officer must approve it too.")
    if code == ErrorCode.OUT_OF_SCOPE:
        return gettext("The batch pays claims in oblasts outside your assignment: %(oblasts)s.",
                       oblasts=", ".join(p.get("oblasts", [])))
    if code == ErrorCode.INVALID_TRANSITION:
        return gettext("This batch is no longer waiting for approval (it is: %(state)s).",
                       state=_words(BATCH_STATE_WORDS, p.get("state")))
    if code == ErrorCode.BATCH_TOTAL_CHANGED:
        return gettext("The batch changed since you loaded it: it now totals %(now)s, not %(seen)s. Check it again "
                       "before approving.", now=money(int(p.get("total", 0))), seen=money(int(p.get("reviewed", 0))))
    if code == ErrorCode.BATCH_BUILT_MEANWHILE:
        return gettext("Another payment batch was built at the same moment, so nothing was built. Build again to "
                       "open that batch or to collect what is left.")
    if code == ErrorCode.ROLE_NOT_ALLOWED:
        return gettext("Only payments officers approve batches.")
    return forms.translate_domain(detail)


# ------------------------------------------------------------------------------------------------ staff: batches


def _page(value: str | None) -> int:
    try:
        return max(1, min(int(value or "1"), 100_000))
    except ValueError:
        return 1


def _held_from_query(raw: str) -> list[str]:
    """'review:2,iban:1' -> ['2 with an open review finding', ...] (only known codes)."""
    out = []
    words = dict(HELD.values())
    for part in raw.split(","):
        code, _, n = part.partition(":")
        if code in words and n.isdigit() and int(n) > 0:
            out.append(gettext(words[code], num=int(n)))
    return out


def _held_to_query(held: dict[str, int]) -> str:
    return ",".join(f"{HELD[k][0]}:{n}" for k, n in sorted(held.items()) if k in HELD and n > 0)


@router.get("/staff/payments")
def batches_page(request: Request, db: DB, principal: Staff) -> Response:
    q = request.query_params
    state = q.get("state") if q.get("state") in BATCH.states else None
    page = _page(q.get("page"))
    data = queries.list_batches(db, principal, state, limit=PAGE, offset=(page - 1) * PAGE)
    base = [(k, v) for k, v in q.multi_items() if k in ("state",)]
    data["items"] = [{**b, "state_label": _words(BATCH_STATE_WORDS, b["state"])} for b in data["items"]]
    return render(request, "payments/batches.html", {
        **data, "state": state or "", "states": [(s, gettext(BATCH_STATE_WORDS[s])) for s in BATCH.states],
        "can_build": principal.role is Role.PAYMENTS, "done": q.get("done", ""),
        "held": _held_from_query(q.get("held", "")), "page": page,
        "prev_url": "?" + urlencode([*base, ("page", str(page - 1))]) if page > 1 else None,
        "next_url": "?" + urlencode([*base, ("page", str(page + 1))]) if page * PAGE < data["total"] else None,
    })


@router.post("/staff/payments/build")
def build_batch(request: Request, db: DB, principal: Staff, form: Form) -> Response:
    try:
        report = batches.do_build_batch(db, principal)
    except DomainError as exc:
        if exc.code is not ErrorCode.BATCH_BUILT_MEANWHILE:
            raise
        return redirect("/staff/payments?" + urlencode({"done": "meanwhile"}))
    held = _held_to_query(report.held)
    if report.batch is None:
        return redirect("/staff/payments?" + urlencode({"done": "nothing", **({"held": held} if held else {})}))
    done = "resumed" if report.resumed else "built"
    return redirect(f"/staff/payments/{report.batch.id}?" + urlencode({"done": done, **({"held": held} if held else {})}))


def _batch_context(db: Session, principal: Principal, batch_id: int, page: int) -> dict[str, Any]:
    detail = queries.batch_detail(db, principal, batch_id, limit=PAYMENTS_PAGE, offset=(page - 1) * PAYMENTS_PAGE)
    why = explain(detail["cannot_approve_code"], detail["cannot_approve_params"], detail["cannot_approve_because"] or "")
    if not why and not detail["can_approve"] and detail["state"] == "built" and principal.role is not Role.PAYMENTS:
        why = gettext("Only payments officers approve batches.")
    if detail["state"] != "built":
        approval = ""
    elif not detail["second_approval_required"]:
        approval = gettext("One approval by a payments officer releases this batch.")
    elif detail["approved_by"] is None:
        approval = gettext("The total is above %(limit)s, so two different payments officers must approve it.",
                           limit=money(batches.second_approval_above()))
    else:
        approval = gettext("Approved by %(who)s. The total is above %(limit)s, so a second, different payments "
                           "officer must approve it too.", who=detail["approved_by"],
                           limit=money(batches.second_approval_above()))
    shown = len(detail["payments"])
    detail["payments"] = [{**p, "state_label": _words(PAYMENT_STATE_WORDS, p["state"])} for p in detail["payments"]]
    by_state = [(_words(PAYMENT_STATE_WORDS, s), n) for s, n in sorted(detail["payments_by_state"].items())]
    return {**detail, "why": why, "approval_needed": approval, "is_payments": principal.role is Role.PAYMENTS, "state_label": _words(BATCH_STATE_WORDS, detail["state"]),
            "by_state": by_state, "page": page,
            "prev_url": f"?page={page - 1}" if page > 1 else None,
            "next_url": f"?page={page + 1}" if (page - 1) * PAYMENTS_PAGE + shown < detail["count"] else None}


@router.get("/staff/payments/{batch_id}")
def batch_page(request: Request, batch_id: IdPath, db: DB, principal: Staff) -> Response:
    q = request.query_params
    ctx = _batch_context(db, principal, batch_id, _page(q.get("page")))
    return render(request, "payments/batch.html", {**ctx, "done": q.get("done", ""),
                                                   "held": _held_from_query(q.get("held", "")), "errors": {}})


@router.post("/staff/payments/{batch_id}/approve")
def approve_batch(request: Request, batch_id: IdPath, db: DB, principal: Staff, form: Form) -> Response:
    raw = forms.text(form, "expected_total_kopiykas")
    try:
        current = queries.batch_detail(db, principal, batch_id, limit=1)
        if not raw.isdigit() or int(raw) != current["total_kopiykas"]:
            seen = int(raw) if raw.isdigit() else 0
            return _refused(request, db, principal, batch_id, explain(
                ErrorCode.BATCH_TOTAL_CHANGED, {"total": current["total_kopiykas"], "reviewed": seen}), 409)
        batch = batches.do_approve_batch(db, principal, batch_id)
    except DomainError as exc:
        db.rollback()
        if exc.status == 404:
            raise
        return _refused(request, db, principal, batch_id, explain(exc.code, exc.params, exc.detail),
                        exc.status if exc.status == 403 else 409)
    return redirect(f"/staff/payments/{batch_id}?done={'approved' if batch.state == 'approved' else 'first_approval'}")


def _refused(request: Request, db: Session, principal: Principal, batch_id: int, message: str, status: int) -> Response:
    ctx = _batch_context(db, principal, batch_id, 1)
    return render(request, "payments/batch.html", {**ctx, "done": "", "held": [], "errors": {"form": message}},
                  status=status)


# ------------------------------------------------------------------------------------------------ claimant: the panel


# why a bank returns a transfer (ISO 20022 return reason codes), in words a claimant understands
RETURN_REASONS = {
    "AC01": N_("the account number is wrong"),
    "AC04": N_("the account is closed"),
    "AC06": N_("the account is blocked"),
    "AG01": N_("the account does not accept such transfers"),
    "BE04": N_("the account holder's details do not match"),
    "MD07": N_("the account holder has died"),
    "": N_("the bank did not accept the account"),
}


def payout_panel(db: Session, principal: Principal, claim: Claim) -> dict[str, Any] | None:
    """What the "Payment" panel on the claimant's claim page says (None before there is anything to pay)."""
    status = queries.payout_status(db, principal, claim.reference)
    stage = status["stage"]
    if stage == "not_decided" and not status["payments"] and status["certificate"] is None:
        return None
    lines: list[str] = []
    last = status["payments"][-1] if status["payments"] else None
    repair, cert = status["repair"], status["certificate"]
    if stage == "appeal_pending":
        lines.append(gettext("The payment waits until your appeal is decided."))
    elif stage == "on_hold":
        lines.append(gettext("The payment is on hold while we check some details of your claim. We will let you know "
                             "when it can go ahead."))
    elif stage == "awaiting_payment":
        lines.append(gettext("The payment is being prepared. %(amount)s will be sent to your eRecovery account with "
                             "the next payment batch.", amount=money(status["decided_amount_kopiykas"])))
    elif stage == "payment_in_progress" and last is not None:
        if last["state"] == "sent" and last["sent_at"]:
            lines.append(gettext("%(amount)s was sent to the bank on %(date)s for your eRecovery account. It usually "
                                 "arrives within a few days.", amount=money(last["amount_kopiykas"]),
                                 date=day(last["sent_at"])))
        else:
            lines.append(gettext("%(amount)s is in a payment batch and will be sent to the bank soon.",
                                 amount=money(last["amount_kopiykas"])))
    elif stage == "needs_account":
        code = (last["reason_code"] if last else None) or ""
        lines.append(gettext("The bank returned the payment of %(amount)s: %(reason)s. Nothing is sent until you give "
                             "a new account. Open the special eRecovery account at one of the participating banks and "
                             "enter its IBAN below; the money is then sent with the next payment batch.",
                             amount=money(status["decided_amount_kopiykas"]),
                             reason=gettext(RETURN_REASONS.get(code, RETURN_REASONS[""]))))
    elif stage == "account_missing":
        lines.append(gettext("We do not have your bank account yet, so the payment of %(amount)s cannot be sent. "
                             "Enter the IBAN of your special eRecovery account below.",
                             amount=money(status["decided_amount_kopiykas"])))
    elif stage == "payment_returned" and last is not None:
        lines.append(gettext("The bank returned the payment (%(reason)s). We will send it again; check that your bank "
                             "account details on the claim are correct.", reason=last["reason_code"] or "—"))
    elif stage == "awaiting_certificate":
        lines.append(gettext("Your housing certificate is being prepared."))
    if repair is not None:  # the repair part of the panel: payments.repair_pages
        repair = repair_view(db, principal, claim, repair)
        lines += repair["lines"]
    if cert is not None:
        lines += _certificate_lines(cert)
    return {"kind": status["payout_kind"], "lines": lines, "repair": repair, "certificate": cert,
            "needs_account": stage in ("needs_account", "account_missing"), "claim_reference": claim.reference,
            "certificate_state": state_words(cert["state"]) if cert else "", "your_share": _your_share(db, principal, cert) if cert else None,
            "report_due": repair["report_due"] if repair else None}


def _certificate_lines(c: dict[str, Any]) -> list[str]:
    state = c["state"]
    if state == "issued":
        return [gettext("Your housing certificate has been issued. Choose a home anywhere outside combat zones and "
                        "occupied territory, then take the certificate to a notary or an administrative services "
                        "centre: they book the money, confirmed within 5 working days.")]
    if state == "reservation_filed":
        return [gettext("A notary booked your certificate for a home. The money is confirmed in order of booking "
                        "as the paying agent receives funds.")]
    if state == "revoked":
        return [gettext("The certificate was revoked because its decision changed on appeal.")]
    if state == "funds_reserved":
        return [gettext("The money for your certificate is reserved. Sign the contract to buy a home by %(date)s, or "
                        "the reservation ends.", date=day(c["contract_due_by"])),
                gettext("Before the contract, your rights to the destroyed home are ended in the register.")]
    if state == "ownership_terminated":
        return [gettext("Your rights to the destroyed home were ended in the register on %(date)s. Sign the contract "
                        "to buy a home by %(date2)s.", date=day(c["ownership_terminated_on"]),
                        date2=day(c["contract_due_by"]))]
    if state == "contract_signed":
        return [gettext("The purchase contract %(number)s was signed on %(date)s. The seller will be paid from the "
                        "certificate.", number=c["contract_number"] or "", date=day(c["contract_signed_on"]))]
    if state == "paid_to_seller":
        return [gettext("The seller was paid on %(date)s.", date=day(c["paid_on"]))]
    if state == "redeemed":
        return [gettext("The certificate was used on %(date)s: %(amount)s paid for your new home.",
                        date=day(c["redeemed_on"]), amount=money(c["redeemed_kopiykas"]))]
    if state == "reservation_lapsed":
        return [gettext("The reservation ended because no purchase contract was signed by %(date)s.",
                        date=day(c["contract_due_by"]))]
    if state == "expired":
        return [gettext("The certificate was not used by %(date)s and is no longer valid.", date=day(c["expires_on"]))]
    return []


CERTIFICATE_STATE_WORDS = {"issued": N_("Issued"), "funds_reserved": N_("Money reserved"),
                           "ownership_terminated": N_("Rights to the destroyed home ended"),
                           "contract_signed": N_("Purchase contract signed"), "paid_to_seller": N_("Seller paid"),
                           "redeemed": N_("Used"), "reservation_lapsed": N_("Reservation ended"),
                           "expired": N_("No longer valid"), "reservation_filed": N_("Booked by a notary"),
                           "revoked": N_("Revoked")}


def _your_share(db: Session, principal: Principal, cert: dict[str, Any]) -> dict[str, Any] | None:
    """The signed-in owner's part of the certificate (by their person record, else by name)."""
    if principal.person_id is not None:
        row = db.execute(select(CertificateShare).join(Certificate, Certificate.id == CertificateShare.certificate_id)
                         .where(Certificate.number == cert["number"], CertificateShare.person_id == principal.person_id)
                         ).scalar_one_or_none()
        if row is not None:
            return {"share": f"{row.share_numerator}/{row.share_denominator}", "amount_kopiykas": row.amount_kopiykas}
    mine = [s for s in cert["shares"] if principal.full_name and s["owner"] == principal.full_name]
    return mine[0] if len(mine) == 1 else None


def state_words(code: str) -> str:
    return i18n.gettext(CERTIFICATE_STATE_WORDS[code]) if code in CERTIFICATE_STATE_WORDS else code
