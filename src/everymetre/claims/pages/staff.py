"""Pages for staff: the work queue, a claim with its evidence and trail, and the moves the user may make."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import exists, select
from starlette.datastructures import FormData

from everymetre.accounts.actions import Principal
from everymetre.api.deps import IdPath
from everymetre.audit.models import AuditEvent
from everymetre.audit.record import claim_chain
from everymetre.claims import access, awards, payout_accounts, photo_reuse
from everymetre.claims import actions as claims_service
from everymetre.claims import evidence as evidence_service
from everymetre.claims.access import QueueFilter
from everymetre.claims.api import evidence_file_response
from everymetre.claims.lifecycle import ClaimKind, State
from everymetre.claims.models import Claim, PowerOfAttorney
from everymetre.claims.pages import forms, text, views
from everymetre.claims.pages.forms import words_for
from everymetre.claims.queue import COUNT_CAP, SORTS, queue_page, work_states
from everymetre.claims.schemas import DecisionIn, InspectionActIn, TransitionIn, WorkItem
from everymetre.claims.search import MIN_QUERY
from everymetre.claims.values import PriorityGroup
from everymetre.kernel.errors import DomainError, ErrorCode, NotFound
from everymetre.kernel.geography import BY_CODE
from everymetre.programme.settings import value as programme_value
from everymetre.sla.clock import for_claim as sla_clock
from everymetre.sla.overdue import overdue_by_oblast
from everymetre.store.types import utcnow
from everymetre.web import i18n
from everymetre.web.common import DB, Form, MaybePrincipal, PageError, SettingsDep, Staff, redirect, render
from everymetre.web.i18n import gettext
from everymetre.workload.pages import workload_panel

router = APIRouter(include_in_schema=False)
FILTER_KEYS = ("state", "kind", "oblast", "priority", "waiting", "deadline", "sort", "mine", "overdue", "q")


def _int(value: str | None, low: int, high: int) -> int | None:
    try:
        n = int(value) if value not in (None, "") else None
    except ValueError:
        return None
    return None if n is None else min(max(n, low), high)


@router.get("/staff")
def staff_home(principal: Staff) -> Response:
    return redirect("/staff/queue")


def _attorney(db: DB, claim: Claim) -> dict[str, Any] | None:
    """The power of attorney's panel; `replaced`: it was given in place of an earlier one (its trail says so)."""
    view = views.attorney_view(claim)
    if view is not None and view["row"].state == "unchecked":
        view["replaced"] = bool(db.scalar(select(exists().where(
            AuditEvent.chain == claim_chain(claim.id),  # the claim's chain: (chain, seq) is indexed
            AuditEvent.action == "claim.power_of_attorney_replaced"))))
    return view


@router.get("/staff/queue")
def queue(request: Request, db: DB, principal: Staff, settings: SettingsDep) -> Response:
    q = request.query_params
    valid_states = {s.value for s in State}
    states = [s for s in q.getlist("state") if s in valid_states]
    default_view = "state" not in q and not q.get("view")
    if default_view:
        states = work_states(principal.role)
    if q.get("view") == "all":
        states = []
    oblasts = [o for o in q.getlist("oblast") if o in BY_CODE]
    kinds = [k for k in q.getlist("kind") if k in {c.value for c in ClaimKind}]
    priority = [p for p in q.getlist("priority") if p in PriorityGroup.names()]
    waiting, deadline = _int(q.get("waiting"), 0, 3650), _int(q.get("deadline"), 0, 3650)
    sort = q.get("sort") or "oldest"
    sort = sort if sort in SORTS else "oldest"
    page = _int(q.get("page"), 1, 100_000) or 1
    search = (q.get("q") or "").strip()[:200]
    search_error = None
    if 0 < len(search) < MIN_QUERY:  # one character would match most of the store: asked again, nothing searched
        search_error = gettext("Type at least %(n)d characters to search.") % {"n": MIN_QUERY}
    if search and "state" not in q:
        states = []  # a search looks through every status unless the user picks some
        default_view = False
    flt = QueueFilter(states=states, oblasts=oblasts, kinds=kinds, priority=priority, min_days_waiting=waiting,
                      deadline_within_days=deadline, assigned_to_me=q.get("mine") == "1",
                      overdue=q.get("overdue") == "1", q="" if search_error else search)
    result = queue_page(db, principal, flt, sort=sort, page=page)
    overdue = overdue_by_oblast(db)
    scope_codes = sorted(principal.oblasts) if not principal.all_oblasts else list(BY_CODE)
    overdue_rows = [(code, text.oblast_name(code), overdue[code]) for code in scope_codes if overdue.get(code)]
    today = date.today()
    rows = []
    attorney: dict[int, str] = dict(db.execute(  # one query for the page
        select(PowerOfAttorney.claim_id, PowerOfAttorney.state)
        .where(PowerOfAttorney.claim_id.in_([c.id for c in result.rows]))).tuples().all()) if result.rows else {}
    for c in result.rows:
        due = c.suspension_deadline or text.decision_due(c, settings)
        rows.append({"claim": c, "state": text.t(text.STATES, c.state), "kind": text.t(text.CLAIM_KINDS, c.kind),
                     "oblast": text.oblast_name(c.oblast), "waiting": (today - c.state_changed_at.date()).days,
                     "due": due, "due_in": (due - today).days if due else None,
                     "priority": [text.t(text.PRIORITY, p) for p in PriorityGroup.unmask(c.priority_mask)],
                     "attorney": attorney.get(c.id) if c.filed_as_representative else None})
    base = [(k, v) for k, v in q.multi_items() if k != "page"]
    if default_view:
        base = [("state", s) for s in states] + base
    scope = scope_codes
    ctx = {"overdue": flt.overdue, "overdue_rows": overdue_rows, "counts_capped": result.counts_capped,
           "overdue_url": lambda o: "?" + urlencode([("view", "all"), ("oblast", o), ("overdue", "1")]),
           "rows": rows, "result": result, "cap": COUNT_CAP, "states": states, "oblasts": oblasts, "kinds": kinds,
           "priority": priority, "waiting": waiting, "deadline": deadline, "sort": sort, "mine": q.get("mine") == "1",
           "all_states": [s.value for s in State], "scope": text.oblast_choices(scope), "q": search,
           "search_error": search_error,
           "work_states": work_states(principal.role), "counts": result.state_counts,
           "prev_url": "?" + urlencode([*base, ("page", str(page - 1))]) if page > 1 else None,
           "next_url": "?" + urlencode([*base, ("page", str(page + 1))]) if result.has_next else None,
           "state_url": lambda s: "?" + urlencode([("state", s)])}
    return render(request, "claims/staff_queue.html", ctx)


def _claim_context(db: DB, principal: Principal, claim: Claim, settings: Any) -> dict[str, Any]:
    act = views.latest_act(db, claim)
    home = claim.home
    evidence = views.evidence(db, claim)
    max_distance_m = programme_value(db, "photo_max_distance_m", settings)
    names = {ev.id: ev.name for ev in evidence}
    reuses = [{"name": names.get(r.evidence_id, ""), "evidence_id": r.evidence_id, "other": r.other_reference,
               "other_evidence_id": r.other_evidence_id, "same": r.bits == 0,
               "can_open": principal.actor.covers(r.other_oblast)} for r in photo_reuse.reused(db, claim)]
    return {
        "reuses": reuses,
        "claim": claim, "home": home, "owners": claim.owners, "state": text.t(text.STATES, claim.state),
        "deadline": text.deadline_line(claim, settings), "decision_due": text.decision_due(claim, settings),
        "timeline": views.timeline(db, claim, principal, staff_view=True), "evidence": evidence,
        "inconsistencies": views.evidence_inconsistencies(evidence, max_distance_m, utcnow()),
        "max_distance_m": max_distance_m,
        "moves": views.move_views(access.moves_for(principal, claim)), "act": act,
        "decisions": views.decisions(db, claim), "mask": claims_service.mask_rnokpp,
        "priority": [text.t(text.PRIORITY, p) for p in PriorityGroup.unmask(claim.priority_mask)],
        "default_deadline": (date.today() + timedelta(days=settings.suspension_default_days)).isoformat(),
        "today": date.today().isoformat(), "previous": db.get(Claim, claim.previous_claim_id) if claim.previous_claim_id else None,
        "assessment": views.assessment(db, claim), "sla": sla_clock(db, claim.id, settings.decision_due_days),
        "workload": workload_panel(db, principal, claim),  # the claim's inspector (workload package)
        "pending_award": awards.pending_award_view(db, principal, claim),
        "award_because": {"above_computed": gettext("above the computed amount"),
                          "above_tier_cap": gettext("above the tier's cap"),
                          "above_threshold": gettext("above the amount one member may award alone")},
        "payout_account": payout_accounts.account_status(db, claim), "award_limit": settings.award_second_approval_above_kopiykas,
        "attorney": _attorney(db, claim), "can_check_attorney": views.can_check(principal, claim),
        "filed_by": views.filed_by(claim, principal),
    }


@router.get("/staff/claims/{reference}")
def staff_claim(request: Request, reference: str, db: DB, principal: Staff, settings: SettingsDep,
                done: str = "") -> Response:
    claim = access.get_claim(db, principal, reference)
    return render(request, "claims/staff_claim.html", {**_claim_context(db, principal, claim, settings), "errors": {},
                                                "done": done, "values": {}})


def _decision(form: FormData, errors: dict[str, str]) -> DecisionIn | None:
    amount_text = forms.text(form, "amount")
    amount = None
    if amount_text:
        try:
            amount = i18n.parse_money(amount_text)
        except ValueError as exc:
            errors["amount"] = str(exc)
            return None
    try:
        return DecisionIn(reasons=forms.text(form, "decision_reasons"), amount_kopiykas=amount,
                          amount_reason=forms.text(form, "decision_amount_reason"))
    except ValidationError as exc:
        errors.update(forms.errors_by_field(exc, prefix="decision_"))
        return None


def transition_from_form(form: FormData, errors: dict[str, str]) -> TransitionIn | None:
    """The TransitionIn a move form describes (fields present only for the moves that need them)."""
    data: dict[str, Any] = {"to": forms.text(form, "to"), "reason": forms.text(form, "reason"),
                            "expected_version": _int(forms.text(form, "expected_version"), 1, 10**9) or 1}
    docs = [line.strip() for line in forms.text(form, "documents_requested").splitlines() if line.strip()]
    if docs:
        data["documents_requested"] = docs
    for key in ("deadline", "inspection_date"):
        if value := forms.text(form, key):
            data[key] = value
    if value := forms.text(form, "duplicate_of"):
        data["duplicate_of"] = value.upper()
    if "decision_reasons" in form:
        decision = _decision(form, errors)
        if decision is None:
            return None
        data["decision"] = decision
    try:
        return TransitionIn(**data)
    except ValidationError as exc:
        errors.update(forms.errors_by_field(exc))
        return None


AWARD_CODES = (ErrorCode.AWARD_REASON_NEEDED, ErrorCode.AWARD_PENDING)  # refusals worded by their code


@router.post("/staff/claims/{reference}/move")
def staff_move(request: Request, reference: str, db: DB, principal: Staff, settings: SettingsDep, form: Form) -> Response:
    claim = access.get_claim(db, principal, reference)
    errors: dict[str, str] = {}
    status = 400
    data = transition_from_form(form, errors)
    if data is not None:
        try:
            moved = claims_service.do_transition(db, principal, reference, data)
        except DomainError as exc:
            db.rollback()
            field = "decision_amount_reason" if exc.code is ErrorCode.AWARD_REASON_NEEDED else (getattr(exc, "field", None) or "move")
            errors[field] = words_for(exc) if exc.code in AWARD_CODES else forms.translate_domain(exc.detail)
            status = exc.status if exc.status in (403, 409) else 400  # a refusal is a refusal, not bad input
        else:
            pending = moved.state != data.to.value and awards.pending_decision(db, moved.id) is not None
            return redirect(f"/staff/claims/{reference}?done={'award_pending' if pending else data.to.value}")
    claim = access.get_claim(db, principal, reference)
    return render(request, "claims/staff_claim.html", {**_claim_context(db, principal, claim, settings), "errors": errors,
                                                "failed_move": forms.text(form, "to"), "done": "",
                                                "values": {k: forms.text(form, k) for k in form if isinstance(form.get(k), str)}},
                  status=status)


# ------------------------------------------------------------------------------------------------ inspection act


def _act_target(claim: Claim, principal: Principal) -> list[str]:
    return [m.target.value for m in access.moves_for(principal, claim) if m.target in (State.INSPECTED, State.REMOTE_VERIFIED)]


def _act_values(form: FormData | None) -> dict[str, Any]:
    if form is None:
        return {"method": "on_site", "inspected_on": date.today().isoformat(), "damage_category": "", "elements": [],
                "other_elements": "", "works": [dict.fromkeys(forms.WORK_FIELDS, "")], "notes": "", "technical": False}
    works = []
    for i in range(forms.MAX_WORKS):
        if f"works-{i}-description" not in form:
            break
        works.append({f: forms.text(form, f"works-{i}-{f}") for f in forms.WORK_FIELDS})
    return {"method": forms.text(form, "method"), "inspected_on": forms.text(form, "inspected_on"),
            "damage_category": forms.text(form, "damage_category"), "elements": form.getlist("elements"),
            "other_elements": forms.text(form, "other_elements"), "works": works, "notes": forms.text(form, "notes"),
            "technical": forms.text(form, "technical") == "yes", "reason": forms.text(form, "reason")}


def act_from_values(values: dict[str, Any], errors: dict[str, str]) -> InspectionActIn | None:
    works = []
    for i, row in enumerate(values["works"]):
        if not any(row.values()):
            continue  # an empty row left at the end is not a work item
        try:
            price = i18n.parse_money(row["unit_price"]) if row["unit_price"] else -1
        except ValueError as exc:
            errors[f"works-{i}-unit_price"] = str(exc)
            continue
        try:
            works.append(WorkItem(description=row["description"], quantity=row["quantity"].replace(",", ".") or "0",
                                  unit=row["unit"], unit_price_kopiykas=price))
        except ValidationError as exc:
            for key, msg in forms.errors_by_field(exc, prefix=f"works-{i}-").items():
                errors[key.replace("unit_price_kopiykas", "unit_price")] = msg
    elements = [str(e) for e in values["elements"] if str(e).strip()]
    elements += [e.strip() for e in values["other_elements"].split(",") if e.strip()]
    try:
        act = InspectionActIn(method=values["method"], inspected_on=values["inspected_on"] or "",
                              damage_category=values["damage_category"], damaged_elements=elements, works=works,
                              technical_report_required=values["technical"], notes=values["notes"])
    except ValidationError as exc:
        errors.update(forms.errors_by_field(exc))
        return None
    return None if errors else act


def _act_page(request: Request, db: DB, principal: Principal, claim: Claim, values: dict[str, Any],
              errors: dict[str, str], status: int = 200) -> Response:
    total = 0
    for row in values["works"]:
        try:
            total += int((Decimal(row["quantity"].replace(",", ".") or "0") * i18n.parse_money(row["unit_price"] or "0"))
                         .quantize(Decimal(1)))
        except (InvalidOperation, ValueError):
            pass
    return render(request, "claims/staff_act.html", {"claim": claim, "home": claim.home, "values": values, "errors": errors,
                                              "total": total, "elements": text.ELEMENTS,
                                              "targets": _act_target(claim, principal)}, status=status)


@router.get("/staff/claims/{reference}/act")
def act_page(request: Request, reference: str, db: DB, principal: Staff) -> Response:
    claim = access.get_claim(db, principal, reference)
    if not _act_target(claim, principal):
        raise PageError(409, i18n.N_("This cannot be done now"),
                        i18n.N_("You cannot file an inspection act for this claim in its current state."))
    return _act_page(request, db, principal, claim, _act_values(None), {})


@router.post("/staff/claims/{reference}/act")
def act_submit(request: Request, reference: str, db: DB, principal: Staff, form: Form) -> Response:
    claim = access.get_claim(db, principal, reference)
    values = _act_values(form)
    action = forms.text(form, "action")
    if action == "add_row" and len(values["works"]) < forms.MAX_WORKS:
        values["works"].append(dict.fromkeys(forms.WORK_FIELDS, ""))
        return _act_page(request, db, principal, claim, values, {"focus": f"works-{len(values['works']) - 1}-description"})
    if action.startswith("remove-"):
        index = _int(action.removeprefix("remove-"), 0, forms.MAX_WORKS)
        if index is not None and index < len(values["works"]):
            del values["works"][index]
        if not values["works"]:
            values["works"].append(dict.fromkeys(forms.WORK_FIELDS, ""))
        return _act_page(request, db, principal, claim, values, {})
    if action != "file":  # "recalculate" (Enter in a field): show the form again with its total
        return _act_page(request, db, principal, claim, values, {})
    errors: dict[str, str] = {}
    act = act_from_values(values, errors)
    if act is None:
        return _act_page(request, db, principal, claim, values, errors, status=400)
    target = State.INSPECTED if act.method.value == "on_site" else State.REMOTE_VERIFIED
    try:
        claims_service.do_transition(db, principal, reference, TransitionIn(
            to=target, reason=values.get("reason", ""), expected_version=_int(forms.text(form, "expected_version"), 1, 10**9) or 1,
            inspection_act=act))
    except DomainError as exc:
        db.rollback()
        claim = access.get_claim(db, principal, reference)
        field = (getattr(exc, "field", None) or "form").removeprefix("inspection_act.")
        return _act_page(request, db, principal, claim, values, {field: forms.translate_domain(exc.detail)}, status=400)
    return redirect(f"/staff/claims/{reference}?done={target.value}")


# ------------------------------------------------------------------------------------------------ files


@router.get("/files/{reference}/{evidence_id}")
def evidence_file(reference: str, evidence_id: IdPath, db: DB, principal: MaybePrincipal) -> Response:
    """A claim's file for a signed-in page user who may see the claim; the same protections as the API's route."""
    if principal is None:
        raise NotFound("No such file.")
    return evidence_file_response(evidence_service.get_evidence(db, principal, reference, evidence_id))


@router.get("/files/{reference}/{evidence_id}/preview")
def evidence_preview(reference: str, evidence_id: IdPath, db: DB, principal: MaybePrincipal) -> Response:
    """A photo's bounded preview (at most 320 x 240), made once beside the file: pages never embed the original."""
    if principal is None:
        raise NotFound("No such file.")
    ev = evidence_service.get_evidence(db, principal, reference, evidence_id)
    path = evidence_service.ensure_thumbnail(ev.sha256, ev.content_type)
    if path is None:
        raise NotFound("This file has no preview.")
    return Response(path.read_bytes(), media_type="image/jpeg", headers={
        "Content-Security-Policy": "sandbox; default-src 'none'", "Cache-Control": "private, max-age=3600"})



# ------------------------------------------------------------------------------------------------ award approval


@router.post("/staff/claims/{reference}/award-approval")
def staff_award_review(request: Request, reference: str, db: DB, principal: Staff, settings: SettingsDep,
                       form: Form) -> Response:
    """The second commission member's approval or refusal of an award (claims.awards), with their reason."""
    choice, reason = forms.text(form, "award"), forms.text(form, "approval_reason")
    errors: dict[str, str] = {}
    status = 400
    if choice not in ("approve", "refuse"):
        errors["award"] = gettext("Choose whether you approve or refuse the award.")
    elif not reason:
        errors["approval_reason"] = gettext("Give the reason.")
    else:
        try:
            awards.do_review_award(db, principal, reference, choice == "approve", reason)
        except DomainError as exc:
            db.rollback()
            errors["award"] = words_for(exc)
            status = exc.status if exc.status in (403, 409) else 400
        else:
            return redirect(f"/staff/claims/{reference}?done={'award_approved' if choice == 'approve' else 'award_refused'}")
    claim = access.get_claim(db, principal, reference)
    return render(request, "claims/staff_claim.html", {**_claim_context(db, principal, claim, settings), "errors": errors,
                                                       "done": "", "values": {"approval_reason": reason}}, status=status)
