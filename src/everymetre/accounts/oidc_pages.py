"""The sign-in pages of the identity provider (accounts.oidc): `/signin/oidc` sends the browser to the provider,
`/signin/oidc/callback` signs the person in when the provider sends them back. Between the two, the state, nonce
and PKCE verifier wait in a signed cookie that lives ten minutes and only on these paths."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from everymetre.accounts import oidc
from everymetre.accounts.roles import Role
from everymetre.kernel.errors import DomainError, Forbidden
from everymetre.web import i18n
from everymetre.web.common import DB, PageError, SettingsDep, redirect, safe_next
from everymetre.web.session import cookie_header, page_session

router = APIRouter(include_in_schema=False)
COOKIE = "everymetre_oidc"
PATH = "/signin/oidc"
MAX_AGE = 600
N_ = i18n.N_


def _serializer(settings: SettingsDep) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.signing_key(), salt="everymetre.oidc")


def _callback_url(request: Request, settings: SettingsDep) -> str:
    base = (settings.public_url or f"{request.url.scheme}://{request.url.netloc}").rstrip("/")
    return f"{base}{PATH}/callback"


def _secure(request: Request, settings: SettingsDep) -> bool:
    return request.url.scheme == "https" or (settings.public_url or "").lower().startswith("https://")


def _not_configured(settings: SettingsDep) -> None:
    if not oidc.enabled(settings):
        raise PageError(404, N_("Page not found"), N_("There is no such page, or it is not yours to see."))


@router.get(PATH)
def start(request: Request, settings: SettingsDep, next: str = "") -> Response:
    _not_configured(settings)
    try:
        url, pending = oidc.start(settings, _callback_url(request, settings), safe_next(next, ""))
    except DomainError:
        raise PageError(502, N_("The identity provider does not answer"),
                        N_("Try again in a few minutes, or sign in with your e-mail and password.")) from None
    response = redirect(url)
    value = _serializer(settings).dumps(pending.as_dict())
    header = cookie_header(COOKIE, value, MAX_AGE, _secure(request, settings)).replace("Path=/", f"Path={PATH}")
    response.headers.append("set-cookie", header)
    return response


@router.get(f"{PATH}/callback")
def callback(request: Request, db: DB, settings: SettingsDep) -> Response:
    _not_configured(settings)
    raw = request.cookies.get(COOKIE)
    try:
        pending = oidc.Pending.from_dict(_serializer(settings).loads(raw or "", max_age=MAX_AGE))
    except (BadSignature, KeyError, TypeError):
        raise PageError(400, N_("The sign-in has expired"), N_("Start the sign-in again from the sign-in page.")) from None
    try:
        claims = oidc.finish(settings, _callback_url(request, settings), pending, dict(request.query_params))
        user, sid = oidc.do_oidc_sign_in(db, settings, claims)
    except Forbidden:
        db.rollback()
        raise PageError(403, N_("There is no account for you here"),
                        N_("Staff accounts are made by an administrator. Applicants can create an account on the "
                           "sign-up page.")) from None
    except DomainError:
        db.rollback()
        raise PageError(400, N_("The sign-in did not succeed"),
                        N_("The identity provider's answer could not be checked. Start the sign-in again.")) from None
    page_session(request).sign_in(user.id, sid)
    home = "/my" if user.role == Role.CLAIMANT.value else "/staff/queue"
    response = redirect(safe_next(pending.next, home))
    response.headers.append("set-cookie", cookie_header(COOKIE, "", 0, _secure(request, settings)).replace("Path=/", f"Path={PATH}"))
    return response
