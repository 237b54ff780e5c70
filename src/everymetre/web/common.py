"""What every page shares: templates, the signed-in principal, CSRF checks, redirects and error pages."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from everymetre.accounts.actions import Principal, load_principal
from everymetre.claims.lifecycle import STAFF_ROLES, Role
from everymetre.claims.pages import text
from everymetre.claims.pages.forms import translate_domain
from everymetre.config import Settings
from everymetre.kernel.errors import DomainError
from everymetre.web import i18n
from everymetre.web.session import CSRF_FIELD, page_session

HERE = Path(__file__).resolve().parent
PACKAGE = HERE.parent
# Each feature keeps its templates in <feature>/templates/<feature>/; the shared layout lives in web/templates.
FEATURES_WITH_PAGES = ("accounts", "claims", "payments", "linkage", "transparency", "workload", "audit", "programme")
TEMPLATE_DIRS = (HERE / "templates", *(PACKAGE / f / "templates" for f in FEATURES_WITH_PAGES))
SOMETHING_WRONG = i18n.N_("Something went wrong")
STATIC = HERE / "static"


@cache
def static_version() -> str:
    """A short hash of our assets, appended to their URLs so a new release is never served stale."""
    digest = hashlib.sha256()
    for path in sorted(STATIC.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:10]


@cache
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATE_DIRS), autoescape=select_autoescape(default=True),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(money=i18n.money, day=i18n.day, moment=i18n.moment, number=i18n.number)
    env.globals.update(t=text.t, STATES=text.STATES, CLAIM_KINDS=text.CLAIM_KINDS, PROPERTY_KINDS=text.PROPERTY_KINDS,
                       PRIORITY=text.PRIORITY, DAMAGE_CATEGORIES=text.DAMAGE_CATEGORIES, METHODS=text.METHODS,
                       EVIDENCE_KINDS=text.EVIDENCE_KINDS, ACTIONS=text.ACTIONS, oblast_name=text.oblast_name,
                       move_label=text.move_label, static_version=static_version, quote=quote)
    return env


def request_language(request: Request) -> str:
    lang = request.cookies.get(i18n.LANG_COOKIE, i18n.DEFAULT)
    return lang if lang in i18n.LANGUAGES else i18n.DEFAULT


def render(request: Request, template: str, context: Mapping[str, Any] | None = None, status: int = 200) -> HTMLResponse:
    i18n.set_language(request_language(request))
    session = page_session(request)
    principal: Principal | None = request.scope.get("everymetre.principal")
    ctx = {"request": request, "lang": i18n.language(), "csrf_field": CSRF_FIELD, "csrf_token": session.csrf,
           "principal": principal, "is_staff": principal is not None and principal.role in STAFF_ROLES,
           "path": request.url.path, "query": request.url.query, **(context or {})}
    html = environment().get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status)


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


DB = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


class PageError(Exception):
    """Stop and show an error page (or redirect) instead of the page asked for."""

    def __init__(self, status: int, title: str, detail: str = "", location: str | None = None) -> None:
        super().__init__(title)
        self.status, self.title, self.detail, self.location = status, title, detail, location


def signed_in(request: Request, db: DB) -> Principal | None:
    session = page_session(request)
    if session.user_id is None or session.session_id is None:
        return None
    principal = load_principal(db, session.user_id, session.session_id)
    if principal is None:  # signed out elsewhere, password changed, session expired or account closed
        session.sign_out()
        return None
    request.scope["everymetre.principal"] = principal
    return principal


MaybePrincipal = Annotated[Principal | None, Depends(signed_in)]


def _need_sign_in(request: Request) -> PageError:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return PageError(303, "Sign in", location=f"/signin?next={quote(target, safe='')}")


def claimant(request: Request, principal: MaybePrincipal) -> Principal:
    if principal is None:
        raise _need_sign_in(request)
    if principal.role is not Role.CLAIMANT:
        raise PageError(403, i18n.N_("This page is for applicants"),
                        i18n.N_("You are signed in with a staff account. Staff work from the work queue."))
    return principal


def staff(request: Request, principal: MaybePrincipal) -> Principal:
    if principal is None:
        raise _need_sign_in(request)
    if principal.role not in STAFF_ROLES:
        raise PageError(403, i18n.N_("This page is for staff"),
                        i18n.N_("Your claims are on the My claims page."))
    return principal


Claimant = Annotated[Principal, Depends(claimant)]
Staff = Annotated[Principal, Depends(staff)]


async def checked_form(request: Request) -> FormData:
    """The POSTed form, after checking its CSRF token and that it came from our own pages."""
    origin = request.headers.get("origin")
    if origin:  # "null" too: a sandboxed frame, a file: or data: page is never one of ours
        expected = f"{request.url.scheme}://{request.url.netloc}"
        if origin != expected:
            raise PageError(403, i18n.N_("The form came from another site"),
                            i18n.N_("For your safety we only accept forms sent from this site's own pages."))
    form = await request.form(max_files=20, max_fields=2000)
    token = form.get(CSRF_FIELD)
    if not page_session(request).csrf_ok(token if isinstance(token, str) else None):
        raise PageError(403, i18n.N_("The form has expired"),
                        i18n.N_("Please go back, reload the page and send the form again."))
    return form


Form = Annotated[FormData, Depends(checked_form)]


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def safe_next(target: str | None, default: str) -> str:
    """Only our own paths: never `//host` or `https://...` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def error_page(request: Request, status: int, title: str, detail: str = "") -> Response:
    i18n.set_language(request_language(request))
    return render(request, "error.html", {"title": i18n.gettext(title), "detail": i18n.gettext(detail) if detail else "",
                                          "status": status}, status=status)


def domain_error_page(request: Request, exc: DomainError) -> Response:
    titles = {404: i18n.N_("Page not found"), 403: i18n.N_("Not allowed"), 409: i18n.N_("This cannot be done now"),
              422: i18n.N_("Some details need correcting"), 401: i18n.N_("Sign in")}
    i18n.set_language(request_language(request))
    detail = (i18n.gettext("There is no such page, or it is not yours to see.") if exc.status == 404
              else translate_domain(exc.detail))
    return render(request, "error.html", {"title": i18n.gettext(titles.get(exc.status, SOMETHING_WRONG)),
                                          "detail": detail, "status": exc.status}, status=exc.status)
