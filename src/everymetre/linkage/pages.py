"""Pages for reviewers of linkage findings: the list, one finding's records side by side (agreeing fields
highlighted) and the match / not-a-match buttons. Everything goes through `everymetre.linkage.service`."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from everymetre.api.deps import IdPath
from everymetre.claims.pages import forms
from everymetre.kernel.errors import DomainError
from everymetre.linkage import labels, service
from everymetre.linkage.findings import FINDING_KINDS
from everymetre.linkage.models import FINDING_STATUSES
from everymetre.web.common import DB, Form, Staff, redirect, render

router = APIRouter(include_in_schema=False)
PAGE = 50
KINDS = (*FINDING_KINDS, "duplicate_claim")


@router.get("/staff/findings")
def findings_list(request: Request, db: DB, principal: Staff) -> Response:
    q = request.query_params
    status = q.get("status") if q.get("status") in FINDING_STATUSES else None
    if "status" not in q:
        status = "open"
    kind = q.get("kind") if q.get("kind") in KINDS else None
    try:
        page = max(1, min(int(q.get("page", "1")), 100_000))
    except ValueError:
        page = 1
    rows, total = service.list_findings(db, principal, status=status, kind=kind, limit=PAGE, offset=(page - 1) * PAGE)
    base = [(k, v) for k, v in q.multi_items() if k != "page"]
    return render(request, "linkage/list.html", {
        "rows": rows, "total": total, "status": status or "", "kind": kind or "", "kinds": KINDS,
        "statuses": FINDING_STATUSES, "page": page, "L": labels,
        "statuses_labelled": [(st, labels.t_status(st)) for st in FINDING_STATUSES],
        "prev_url": "?" + urlencode([*base, ("page", str(page - 1))]) if page > 1 else None,
        "next_url": "?" + urlencode([*base, ("page", str(page + 1))]) if page * PAGE < total else None,
    })


@router.get("/staff/findings/{finding_id}")
def finding_page(request: Request, finding_id: IdPath, db: DB, principal: Staff, done: str = "") -> Response:
    detail = service.finding_detail(db, principal, finding_id)
    return render(request, "linkage/finding.html", {**detail, "done": done, "errors": {}, "L": labels})


@router.post("/staff/findings/{finding_id}/review")
def finding_review(request: Request, finding_id: IdPath, db: DB, principal: Staff, form: Form) -> Response:
    decision = forms.text(form, "decision")
    note = forms.text(form, "note")
    try:
        service.do_review(db, principal, decision, finding_id=finding_id, note=note)
    except DomainError as exc:
        db.rollback()
        if exc.status == 404:
            raise
        detail = service.finding_detail(db, principal, finding_id)
        return render(request, "linkage/finding.html", {**detail, "done": "", "errors": {"form": exc.detail},
                                                        "note": note, "L": labels}, status=400 if exc.status != 403 else 403)
    return redirect(f"/staff/findings/{finding_id}?done={decision}")


@router.post("/staff/findings/{finding_id}/override")
def finding_override(request: Request, finding_id: IdPath, db: DB, principal: Staff, form: Form) -> Response:
    reason = forms.text(form, "reason")
    try:
        service.do_override(db, principal, finding_id, reason)
    except DomainError as exc:
        db.rollback()
        if exc.status == 404:
            raise
        detail = service.finding_detail(db, principal, finding_id)
        errors = {"reason": exc.detail} if exc.status == 422 else {"form": exc.detail}
        return render(request, "linkage/finding.html", {**detail, "done": "", "errors": errors, "reason": reason,
                                                        "L": labels}, status=exc.status if exc.status in (403, 409) else 400)
    return redirect(f"/staff/findings/{finding_id}?done=override")
