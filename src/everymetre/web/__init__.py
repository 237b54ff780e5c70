"""The pages' plumbing: mounts each feature's page router beside the JSON API, the static assets, sessions
and the error pages. The pages themselves live in their features (`claims/pages/`, `payments/pages.py`,
`linkage/pages.py`) and call the same actions as the API, so who may see or move a claim is decided in one
place (`accounts.permissions`, `claims.lifecycle`). Sessions are signed cookies with a CSRF token per session
(`web.session`); errors on pages are pages, errors on the API stay problem+json.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from everymetre.kernel.errors import DomainError

if TYPE_CHECKING:  # FastAPI is imported by install() only: `everymetre.web.i18n` (the catalog, N_) must not need it
    from fastapi import FastAPI, Request
    from fastapi.responses import Response


def _is_page(request: Request) -> bool:
    return not request.url.path.startswith(("/api/", "/openapi.json", "/static/"))


async def _answer(response: Response | Awaitable[Response]) -> Response:
    """The response of an exception handler, which Starlette lets be sync or async."""
    return await response if inspect.isawaitable(response) else response


def install(app: FastAPI) -> None:
    """Mount the pages and static assets on the application."""
    from fastapi.staticfiles import StaticFiles
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from everymetre.accounts import pages as accounts_pages  # password change and reset
    from everymetre.claims.pages import accounts as account_pages  # payout account forms
    from everymetre.claims.pages import citizen, representation, staff
    from everymetre.documents.api import pages as documents_pages  # the decision PDF for signed-in users
    from everymetre.linkage import pages as linkage_pages  # linkage reviewers' pages
    from everymetre.payments import (
        certificate_pages,  # notaries, the certificates' fund, the public check, the PDF
        repair_pages,  # repair reports: the owner's form, the officer's check
    )
    from everymetre.payments import day_pages as payments_day  # the bank file, statements, exceptions (before pages)
    from everymetre.payments import pages as payments_pages  # payments officers' batches; claimants' payout status
    from everymetre.transparency import pages as public_pages  # statistics, open data, the public log (no sign-in)
    from everymetre.web.common import SOMETHING_WRONG, STATIC, PageError, domain_error_page, error_page, redirect
    from everymetre.web.session import PageSessions

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    from everymetre.accounts import (
        admin_pages,  # the admin area: accounts
        oidc_pages,  # sign-in through an OpenID Connect provider
        service_pages,  # integrators' service accounts
    )
    from everymetre.audit import pages as audit_pages  # the audit-trail search (auditors, administrators)
    from everymetre.programme import pages as programme_pages  # the stored programme settings
    from everymetre.workload import pages as workload_pages  # inspectors' day list, naming a claim's inspector

    for router in (citizen.router, staff.router, linkage_pages.router, payments_day.router, payments_pages.router,
                   repair_pages.router, public_pages.router, accounts_pages.router, documents_pages, workload_pages.router,
                   account_pages.router, certificate_pages.router, admin_pages.router, audit_pages.router,
                   programme_pages.router, oidc_pages.router, service_pages.router, representation.router):
        app.include_router(router)
    app.add_middleware(PageSessions, secret=app.state.settings.signing_key(),
                       always_secure=(app.state.settings.public_url or "").lower().startswith("https://"))

    api_domain = app.exception_handlers.get(DomainError)
    api_http = app.exception_handlers.get(StarletteHTTPException)

    async def on_domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        if _is_page(request) or api_domain is None:
            return domain_error_page(request, exc)
        return await _answer(api_domain(request, exc))

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if _is_page(request) or api_http is None:
            titles = {404: "Page not found", 405: "Not allowed", 413: "The file is too large"}
            detail = "Send fewer or smaller files." if exc.status_code == 413 else ""
            response = error_page(request, exc.status_code, titles.get(exc.status_code, SOMETHING_WRONG), detail)
            if exc.headers:
                response.headers.update(exc.headers)
            return response
        return await _answer(api_http(request, exc))

    async def on_page_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageError)
        if exc.location:
            return redirect(exc.location)
        return error_page(request, exc.status, exc.title, exc.detail)

    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(PageError, on_page_error)
