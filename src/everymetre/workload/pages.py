"""Workload pages: the inspector panel on a staff claim page, and the day list of inspections (phone-friendly:
tap-to-call owners, the home's coordinates)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from everymetre.accounts.actions import Principal
from everymetre.accounts.permissions import Action, Subject, allowed
from everymetre.accounts.roles import Role
from everymetre.claims.models import Claim
from everymetre.claims.pages import text
from everymetre.kernel.errors import DomainError
from everymetre.web import i18n
from everymetre.web.common import DB, Form, PageError, Staff, redirect, render
from everymetre.workload import actions

router = APIRouter(include_in_schema=False)


def workload_panel(db: DB, principal: Principal, claim: Claim) -> dict[str, Any] | None:
    """What the staff claim page shows about the claim's inspector (None: nothing to show)."""
    can_assign = (claim.state in actions.AWAITING_INSPECTION
                  and allowed(principal.actor, Action.INSPECTOR_ASSIGN, Subject(frozenset({claim.oblast}))))
    if claim.inspector_id is None and not can_assign:
        return None
    current = actions.inspector_names(db, {claim.inspector_id}).get(claim.inspector_id) if claim.inspector_id else None
    return {"current": current, "can_assign": can_assign,
            "inspectors": [(str(i.id), i.label) for i in actions.inspectors_for(db, claim.oblast)] if can_assign else []}


@router.post("/staff/claims/{reference}/inspector")
def assign(reference: str, db: DB, principal: Staff, form: Form) -> Response:
    chosen = str(form.get("inspector") or "")
    version = str(form.get("expected_version") or "")
    if not chosen.isdigit() or not version.isdigit():
        raise PageError(400, i18n.N_("Choose an inspector"), i18n.N_("Choose the inspector from the list."))
    try:
        actions.do_assign_inspector(db, principal, reference, int(chosen), int(version))
    except DomainError:
        db.rollback()
        raise
    return redirect(f"/staff/claims/{reference}?assigned=1#inspector-h")


@router.get("/staff/inspections")
def inspections(request: Request, db: DB, principal: Staff) -> Response:
    if not allowed(principal.actor, Action.INSPECTIONS_READ):
        raise PageError(403, i18n.N_("Not for your role"), i18n.N_("Only inspectors and officers see the inspections."))
    q = request.query_params
    try:
        day = date.fromisoformat(q.get("date") or "") if q.get("date") else date.today()
    except ValueError:
        day = date.today()
    inspector_id = None
    chosen = q.get("inspector") or ""
    if principal.role is not Role.INSPECTOR and chosen.isdigit():
        inspector_id = int(chosen)
    visits = actions.day_list(db, principal, day, inspector_id)
    names = actions.inspector_names(db, {v.claim.inspector_id for v in visits if v.claim.inspector_id})
    choices: list[tuple[str, str]] = []
    if principal.role is not Role.INSPECTOR:
        seen: dict[int, str] = {}
        for oblast in (principal.oblasts if not principal.all_oblasts else {v.claim.oblast for v in visits}):
            for i in actions.inspectors_for(db, oblast):
                seen[i.id] = i.label
        choices = sorted(((str(k), v) for k, v in seen.items()), key=lambda c: c[1].casefold())
    rows = [{"claim": v.claim, "home": v.claim.home, "owners": v.owners, "oblast": text.oblast_name(v.claim.oblast),
             "inspector": names.get(v.claim.inspector_id or 0)} for v in visits]
    return render(request, "workload/inspections.html", {
        "rows": rows, "day": day, "day_iso": day.isoformat(), "prev": (day - timedelta(days=1)).isoformat(),
        "next": (day + timedelta(days=1)).isoformat(), "choices": choices, "chosen": chosen,
        "is_inspector": principal.role is Role.INSPECTOR, "tel": tel,
    })


def tel(phone: str | None) -> str | None:
    """A tel: URI for a phone number (digits and a leading +), or None."""
    if not phone:
        return None
    digits = "".join(ch for ch in phone if ch.isdigit())
    if not digits:
        return None
    return "tel:" + ("+" if phone.strip().startswith("+") else "") + digits

