"""Account pages: change your password and choose your notification channels (signed in), forgot password (ask
for a link), set a new one from the link, and finish a sign-up from its e-mailed link."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from everymetre.accounts import passwords, preferences
from everymetre.accounts.sessions import PAGE, open_session
from everymetre.accounts.signin import confirm_sign_up
from everymetre.kernel.errors import DomainError, TooManyAttempts, ValidationFailed
from everymetre.store.tx import atomic
from everymetre.web import i18n
from everymetre.web.common import DB, Form, MaybePrincipal, PageError, SettingsDep, client_address, redirect, render
from everymetre.web.session import page_session

router = APIRouter(include_in_schema=False)


def _retry(request: Request, template: str, exc: TooManyAttempts, **context: object) -> Response:
    minutes = max(1, -(-exc.retry_after // 60))
    response = render(request, template, {"errors": {"form": i18n.ngettext(
        "Too many attempts. For your safety, try again in %(num)d minute.",
        "Too many attempts. For your safety, try again in %(num)d minutes.", minutes)}, **context}, status=429)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _password_errors(exc: DomainError, new_field: str = "new_password") -> dict[str, str]:
    field = getattr(exc, "field", None)
    if field == "current_password":
        return {"current_password": i18n.gettext("The current password is wrong.")}
    if field == "new_password":
        return {new_field: i18n.gettext("Use at least 10 characters for your password.")}
    return {"form": i18n.gettext("This password-reset link is not valid: it was used already, has expired, or is "
                                 "mistyped. Ask for a new one.")}


@router.get("/account/password")
def password_page(request: Request, principal: MaybePrincipal, done: str = "") -> Response:
    if principal is None:
        raise PageError(303, "Sign in", location="/signin?next=%2Faccount%2Fpassword")
    return render(request, "accounts/password_change.html", {"errors": {}, "done": bool(done)})


@router.post("/account/password")
def change_password(request: Request, db: DB, form: Form, principal: MaybePrincipal, settings: SettingsDep) -> Response:
    if principal is None or principal.user_id is None:
        raise PageError(303, "Sign in", location="/signin?next=%2Faccount%2Fpassword")
    current, new, again = (str(form.get(k) or "") for k in ("current_password", "new_password", "new_password_again"))
    if new != again:
        return render(request, "accounts/password_change.html", {"done": False, "errors": {
            "new_password_again": i18n.gettext("The two passwords are different.")}}, status=400)
    try:
        passwords.do_change_password(db, settings, principal, current, new, client_address(request))
    except TooManyAttempts as exc:
        return _retry(request, "accounts/password_change.html", exc, done=False)
    except DomainError as exc:
        return render(request, "accounts/password_change.html", {"done": False, "errors": _password_errors(exc)},
                      status=400)
    with atomic(db):  # every session ended, this one too: carry on in a fresh one
        sid = open_session(db, principal.user_id, PAGE, settings.session_minutes)
    page_session(request).sign_in(principal.user_id, sid)
    return redirect("/account/password?done=1")


@router.get("/password/forgot")
def forgot_page(request: Request) -> Response:
    return render(request, "accounts/password_forgot.html", {"errors": {}, "sent": False, "email": ""})


@router.post("/password/forgot")
def forgot(request: Request, db: DB, form: Form, settings: SettingsDep) -> Response:
    email = str(form.get("email") or "").strip()
    try:
        passwords.request_reset_throttled(db, settings, email, client_address(request))  # the outbox sends the link
    except TooManyAttempts as exc:
        return _retry(request, "accounts/password_forgot.html", exc, sent=False, email=email)
    # the same words whether or not an account uses this e-mail
    return render(request, "accounts/password_forgot.html", {"errors": {}, "sent": True, "email": ""})


@router.get("/password/reset")
def reset_page(request: Request, db: DB, token: str = "") -> Response:
    usable = passwords.reset_token_usable(db, token)
    errors = {} if usable else _password_errors(ValidationFailed("", field="token"))
    return render(request, "accounts/password_reset.html", {"errors": errors, "token": token if usable else "",
                                                              "usable": usable}, status=200 if usable else 400)


@router.post("/password/reset")
def reset(request: Request, db: DB, form: Form) -> Response:
    token, new, again = (str(form.get(k) or "") for k in ("token", "new_password", "new_password_again"))
    if new != again:
        return render(request, "accounts/password_reset.html", {"token": token, "usable": True, "errors": {
            "new_password_again": i18n.gettext("The two passwords are different.")}}, status=400)
    try:
        passwords.do_reset_password(db, token, new)
    except DomainError as exc:
        errors = _password_errors(exc)
        return render(request, "accounts/password_reset.html",
                      {"token": token, "usable": "form" not in errors, "errors": errors}, status=400)
    page_session(request).sign_out()
    return redirect("/signin?reset=1")


@router.get("/account/notifications")
def channels_page(request: Request, db: DB, principal: MaybePrincipal, done: str = "") -> Response:
    if principal is None or principal.user_id is None:
        raise PageError(303, "Sign in", location="/signin?next=%2Faccount%2Fnotifications")
    return render(request, "accounts/notification_channels.html",
                  {"channels": preferences.channels(db, principal), "done": bool(done)})


@router.post("/account/notifications")
def set_channels(request: Request, db: DB, form: Form, principal: MaybePrincipal) -> Response:
    if principal is None or principal.user_id is None:
        raise PageError(303, "Sign in", location="/signin?next=%2Faccount%2Fnotifications")
    preferences.do_set_channels(db, principal, email=form.get("email") == "on", sms=form.get("sms") == "on")
    return redirect("/account/notifications?done=1")


@router.get("/signup/confirm")
def signup_confirm_page(request: Request, token: str = "") -> Response:
    """The e-mailed link opens a page with one button (a mail scanner that opens links makes no account)."""
    return render(request, "accounts/signup_confirm.html", {"token": token, "errors": {}})


@router.post("/signup/confirm")
def signup_confirm(request: Request, db: DB, form: Form, settings: SettingsDep) -> Response:
    try:
        user, sid = confirm_sign_up(db, str(form.get("token") or ""), settings.session_minutes)
    except DomainError:
        errors = {"form": i18n.gettext("This sign-up link is not valid: it was used already, has expired, or is "
                                       "mistyped. Sign up again.")}
        return render(request, "accounts/signup_confirm.html", {"token": "", "errors": errors}, status=400)
    page_session(request).sign_in(user.id, sid)
    return redirect("/my")
