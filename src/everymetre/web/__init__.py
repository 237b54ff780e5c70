"""Pages for citizens and staff (server-rendered, Ukrainian and English), mounted beside the JSON API.

Every page calls the same services as the API (`everymetre.services`), so who may see or move a claim is
decided in one place (`everymetre.claims.lifecycle`). Sessions are signed cookies with a CSRF token per
session (`web.session`); errors on pages are pages, errors on the API stay problem+json.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from everymetre.kernel.errors import DomainError


def _is_page(request: Request) -> bool:
    return not request.url.path.startswith(("/api/", "/openapi.json", "/static/"))


def install(app: FastAPI) -> None:
    """Mount the pages and static assets on the application."""
    from everymetre.claims.pages import citizen
    from everymetre.claims.pages import staff
    from everymetre.web.common import SOMETHING_WRONG, STATIC, PageError, domain_error_page, error_page, redirect
    from everymetre.web.session import PageSessions

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(citizen.router)
    app.include_router(staff.router)
    from everymetre.linkage import pages as pages_linkage  # linkage reviewers' pages
    app.include_router(pages_linkage.router)
    from everymetre.payments import pages as pages_payments  # payments officers' batches; claimants' payout status
    app.include_router(pages_payments.router)
    app.add_middleware(PageSessions, secret=app.state.settings.signing_key(),
                       always_secure=app.state.settings.public_url.lower().startswith("https://"))

    api_domain = app.exception_handlers.get(DomainError)
    api_http = app.exception_handlers.get(StarletteHTTPException)

    async def on_domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        if _is_page(request) or api_domain is None:
            return domain_error_page(request, exc)
        return await api_domain(request, exc)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if _is_page(request) or api_http is None:
            titles = {404: "Page not found", 405: "Not allowed", 413: "The file is too large"}
            detail = "Send fewer or smaller files." if exc.status_code == 413 else ""
            response = error_page(request, exc.status_code, titles.get(exc.status_code, SOMETHING_WRONG), detail)
            if exc.headers:
                response.headers.update(exc.headers)
            return response
        return await api_http(request, exc)

    async def on_page_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageError)
        if exc.location:
            return redirect(exc.location)
        return error_page(request, exc.status, exc.title, exc.detail)

    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(PageError, on_page_error)
