"""The audit-trail search page (auditors and administrators, read-only): what happened to a claim or an account,
what one person did, and when, newest first; each event named in words."""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from everymetre.accounts.permissions import Action, allowed
from everymetre.audit.search import AuditQuery, search
from everymetre.claims.pages.text import sorted_by_name
from everymetre.kernel.errors import ValidationFailed
from everymetre.web import i18n
from everymetre.web.common import DB, PageError, Staff, render

router = APIRouter(include_in_schema=False)
N_ = i18n.N_
EVENTS = {
    "claim.created": N_("Claim started"), "claim.draft_updated": N_("Draft changed"),
    "claim.transition": N_("Status changed"), "claim.inspector_assigned": N_("Inspector named"),
    "claim.review_flag": N_("Flagged for review"), "evidence.added": N_("File added"),
    "decision.document": N_("Decision document made"), "user.created": N_("Account created"),
    "user.role_changed": N_("Role or oblasts changed"), "user.deactivated": N_("Account deactivated"),
    "user.password_changed": N_("Password changed"), "user.password_reset_requested": N_("Password link made"),
    "user.password_reset": N_("Password set from a link"), "user.locked_out": N_("Sign-in locked after failures"),
    "user.linked_person": N_("Account linked to a person"), "programme.setting_changed": N_("Programme setting changed"),
    "service_account.created": N_("Service account created"), "service_account.secret_rotated": N_("Client secret changed"),
    "service_account.revoked": N_("Service account revoked"), "user.oidc_linked": N_("Linked to an identity-provider account"),
    "batch.built": N_("Payment batch built"), "batch.approved": N_("Payment batch approved"),
    "batch.approval_recorded": N_("First approval recorded"), "batch.cancelled": N_("Payment batch cancelled"),
    "batch.exported": N_("Bank file written"), "batch.sent": N_("Bank file sent"),
    "statement.reconciled": N_("Bank statement reconciled"), "ledger.decision_posted": N_("Decision posted to the ledger"),
    "ledger.decisions_synced": N_("Ledger brought up to date"), "certificate.issued": N_("Housing certificate issued"),
    "certificate.funds_reserved": N_("Certificate funds reserved"), "certificate.redeemed": N_("Certificate redeemed"),
    "certificate.expired": N_("Certificate expired"), "certificate.reservation_lapsed": N_("Reservation lapsed"),
    "certificate.ownership_terminated": N_("Ownership ended recorded"), "certificate.contract_signed": N_("Purchase contract recorded"),
    "certificate.seller_corrected": N_("Seller's account corrected"), "payout.spent": N_("Repair money spent"),
    "payout.interim_reported": N_("Interim repair report"), "payout.final_reported": N_("Final repair report"),
    "payout.verified": N_("Repair report verified"), "payout.closed": N_("Repair payout closed"),
    "payout.expired_balance_returned": N_("Unspent balance returned"), "finding.opened": N_("Finding opened"),
    "finding.reviewed": N_("Finding reviewed"), "linkage.pair_reviewed": N_("Linked records reviewed"),
}
KINDS = {"claim": N_("Claims"), "user": N_("Accounts"), "batch": N_("Payment batches"),
         "certificate": N_("Housing certificates"), "finding": N_("Findings"), "programme": N_("Programme settings")}


def _day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@router.get("/admin/audit")
def audit_page(request: Request, db: DB, principal: Staff) -> Response:
    if not allowed(principal.actor, Action.AUDIT_READ):
        raise PageError(403, N_("Not for your role"), N_("Only auditors and administrators read the audit trail."))
    q = request.query_params
    action = q.get("action") or ""
    kind = q.get("kind") or ""
    before = q.get("before") or ""
    query = AuditQuery(subject=q.get("subject") or "", kind=kind if kind in KINDS else "",
                       action=action if action in EVENTS else "", actor=q.get("actor") or "",
                       since=_day(q.get("since")), until=_day(q.get("until")),
                       before_id=int(before) if before.isdigit() and len(before) < 19 else None)
    errors: dict[str, str] = {}
    rows: list[Any] = []
    more = None
    try:
        rows, more = search(db, principal, query)
    except ValidationFailed:
        errors["subject"] = i18n.gettext("Give a claim reference such as EM-2026-0000042, an account's e-mail, or "
                                         "leave it empty.")
    kept = [(k, v) for k, v in q.multi_items() if k != "before" and v]
    return render(request, "audit/search.html", {
        "rows": rows, "errors": errors, "q": q,
        "events": sorted_by_name([(k, i18n.gettext(v)) for k, v in EVENTS.items()]),
        "kinds": [(k, i18n.gettext(v)) for k, v in KINDS.items()], "EVENTS": EVENTS, "KINDS": KINDS,
        "next_url": "?" + urlencode([*kept, ("before", str(more))]) if more else None,
        "pretty": lambda payload: json.dumps(payload, ensure_ascii=False, indent=1, sort_keys=True),
    }, status=400 if errors else 200)
