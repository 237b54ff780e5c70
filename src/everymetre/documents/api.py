"""The decision document over the JSON API (and the same file for the pages' signed-in users)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from everymetre.api.deps import AuthDep
from everymetre.api.problems import problem_responses
from everymetre.documents import service
from everymetre.web.common import DB, MaybePrincipal, _need_sign_in

router = APIRouter(prefix="/api/v1", tags=["documents"])
pages = APIRouter(include_in_schema=False)


def _pdf(name: str, data: bytes, digest: str) -> Response:
    return Response(data, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "X-Content-SHA256": digest})


@router.get("/claims/{reference}/decision.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}, "description": "The PDF; its SHA-256 is in the audit trail"},
                       **problem_responses({404: "No decision document for a claim you can see"})})
def decision_pdf(reference: str, auth: AuthDep) -> Response:
    """The claim's latest decision document (PDF, in Ukrainian); the `decision.document` audit event holds its SHA-256."""
    return _pdf(*service.latest(auth.session, auth.principal, reference))


@pages.get("/claims/{reference}/decision.pdf")
def decision_pdf_page(request: Request, reference: str, db: DB, principal: MaybePrincipal) -> Response:
    if principal is None:
        raise _need_sign_in(request)
    return _pdf(*service.latest(db, principal, reference))
