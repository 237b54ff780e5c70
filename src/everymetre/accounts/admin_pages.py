"""The admin area for accounts: list and search staff (with each one's last sign-in: the access review), add a
staff member (a one-time link sets the password), change a role and oblasts, deactivate, reset a password.
Every change goes through the same `do_*` actions as `everymetre users ...` and is audited on the account's
trail; nobody changes their own account here, and the last active administrator stays one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from everymetre.accounts import passwords, roster, staffing
from everymetre.accounts.actions import Principal
from everymetre.accounts.permissions import Action, allowed
from everymetre.accounts.roles import Role
from everymetre.api.deps import IdPath
from everymetre.claims.pages import text
from everymetre.kernel.errors import DomainError, ErrorCode, ValidationFailed
from everymetre.web import i18n
from everymetre.web.common import DB, Form, PageError, SettingsDep, Staff, redirect, render

router = APIRouter(include_in_schema=False)
ROLE_NAMES = {"officer": i18n.N_("Claims officer"), "inspector": i18n.N_("Inspector"),
              "commission": i18n.N_("Commission member"), "payments": i18n.N_("Payments officer"),
              "auditor": i18n.N_("Auditor"), "admin": i18n.N_("Administrator"), "claimant": i18n.N_("Applicant")}
STAFF_CHOICES = ("officer", "inspector", "commission", "payments", "auditor", "admin")
ERRORS = {ErrorCode.SELF_ADMINISTRATION: i18n.N_("You cannot change your own role, oblasts or account: ask another "
                                                 "administrator."),
          ErrorCode.LAST_ADMIN: i18n.N_("This is the last active administrator: make another administrator first."),
          ErrorCode.CONFLICT: i18n.N_("An account with this e-mail already exists.")}
FIELD_ERRORS = {"email": i18n.N_("Enter an e-mail address like name@example.org."),
                "role": i18n.N_("Choose a role."),
                "oblast": i18n.N_("Choose the oblasts this person works in, or every oblast (not both)."),
                "full_name": i18n.N_("Enter the name without control characters, in at most 200 characters.")}


def admin(principal: Principal) -> Principal:
    if not allowed(principal.actor, Action.USER_MANAGE):
        raise PageError(403, i18n.N_("Not for your role"), i18n.N_("Only administrators manage accounts."))
    return principal


def oblast_names(codes: tuple[str, ...]) -> str:
    return ", ".join(name for _, name in text.sorted_by_name([(c, text.oblast_name(c)) for c in codes]))


def role_choices() -> list[tuple[str, str]]:
    return [(r, i18n.gettext(ROLE_NAMES[r])) for r in STAFF_CHOICES]


def _error(exc: DomainError) -> dict[str, str]:
    field = getattr(exc, "field", None)
    if isinstance(exc, ValidationFailed) and field in FIELD_ERRORS:
        return {field: i18n.gettext(FIELD_ERRORS[field])}
    if exc.code in ERRORS:
        return {"form": i18n.gettext(ERRORS[exc.code])}
    raise exc


def _scope(form: Any) -> tuple[list[str], bool]:
    return [str(o) for o in form.getlist("oblast") if str(o)], form.get("all_oblasts") == "1"


@router.get("/admin/users")
def users(request: Request, db: DB, principal: Staff) -> Response:
    admin(principal)
    q = request.query_params
    role = q.get("role") or ""
    state = q.get("state") or "active"
    rows = roster.list_users(db, principal, role=role if role in ROLE_NAMES else None, q=q.get("q") or None,
                             staff_only=role != "claimant", limit=200,
                             active={"active": True, "inactive": False}.get(state))
    return render(request, "accounts/admin_users.html", {
        "rows": rows, "q": q.get("q") or "", "role": role, "state": state, "ROLE_NAMES": ROLE_NAMES,
        "roles": [*role_choices(), ("claimant", i18n.gettext(ROLE_NAMES["claimant"]))],
        "states": [("active", i18n.gettext("Active")), ("inactive", i18n.gettext("Deactivated")),
                   ("all", i18n.gettext("All"))],
        "oblast_names": oblast_names,
    })


@router.get("/admin/users/new")
def new_user(request: Request, principal: Staff) -> Response:
    admin(principal)
    return _new_form(request, {}, {})


def _new_form(request: Request, values: dict[str, Any], errors: dict[str, str], status: int = 200) -> Response:
    return render(request, "accounts/admin_user_new.html", {"values": values, "errors": errors, "roles": role_choices(),
                                                             "oblasts": text.oblast_choices()}, status=status)


@router.post("/admin/users")
def create_user(request: Request, db: DB, principal: Staff, form: Form, settings: SettingsDep) -> Response:
    admin(principal)
    oblasts, all_oblasts = _scope(form)
    email, name, role = (str(form.get(k) or "") for k in ("email", "full_name", "role"))
    values = {"email": email, "full_name": name, "role": role, "oblast": oblasts, "all_oblasts": all_oblasts}
    try:
        user, token = staffing.do_create_staff(db, settings, principal, email, role, oblasts, all_oblasts, name)
    except DomainError as exc:
        db.rollback()
        return _new_form(request, values, _error(exc), status=400)
    return _link_page(request, settings, user.email, token, created=True)


def _link_page(request: Request, settings: Any, email: str, token: str, created: bool) -> Response:
    base = settings.public_url or f"{request.url.scheme}://{request.url.netloc}"
    response = render(request, "accounts/admin_link.html", {
        "email": email, "link": passwords.reset_link(base, token), "created": created,
        "minutes": settings.password_reset_minutes})
    response.headers["Cache-Control"] = "no-store"  # the link is shown once
    return response


@router.get("/admin/users/{user_id}")
def user_page(request: Request, db: DB, principal: Staff, user_id: IdPath) -> Response:
    admin(principal)
    return _user_form(request, db, principal, user_id, {}, done=request.query_params.get("done", ""))


def _user_form(request: Request, db: DB, principal: Principal, user_id: int, errors: dict[str, str],
               done: str = "", status: int = 200) -> Response:
    account = roster.get_account(db, principal, user_id)
    return render(request, "accounts/admin_user.html", {
        "a": account, "errors": errors, "done": done, "roles": role_choices(), "ROLE_NAMES": ROLE_NAMES,
        "oblasts": text.oblast_choices(), "is_me": account.id == principal.user_id,
        "is_claimant": account.role == Role.CLAIMANT.value,
        "oblast_names": oblast_names(account.oblasts),
    }, status=status)


@router.post("/admin/users/{user_id}/role")
def set_role(request: Request, db: DB, principal: Staff, form: Form, user_id: IdPath) -> Response:
    admin(principal)
    account = roster.get_account(db, principal, user_id)
    oblasts, all_oblasts = _scope(form)
    try:
        roster.do_set_role(db, principal, account.email, str(form.get("role") or ""), oblasts, all_oblasts)
    except DomainError as exc:
        db.rollback()
        return _user_form(request, db, principal, user_id, _error(exc), status=400 if exc.status == 422 else exc.status)
    return redirect(f"/admin/users/{user_id}?done=role")


@router.post("/admin/users/{user_id}/deactivate")
def deactivate(request: Request, db: DB, principal: Staff, form: Form, user_id: IdPath) -> Response:
    admin(principal)
    account = roster.get_account(db, principal, user_id)
    if form.get("confirm") != "1":
        return _user_form(request, db, principal, user_id, {"confirm": i18n.gettext(
            "Tick the box to confirm that this account is to be closed.")}, status=400)
    try:
        passwords.do_deactivate_user(db, principal, account.email)
    except DomainError as exc:
        db.rollback()
        return _user_form(request, db, principal, user_id, _error(exc), status=exc.status)
    return redirect(f"/admin/users/{user_id}?done=deactivated")


@router.post("/admin/users/{user_id}/reset-password")
def reset_password(request: Request, db: DB, principal: Staff, form: Form, settings: SettingsDep,
                   user_id: IdPath) -> Response:
    admin(principal)
    account = roster.get_account(db, principal, user_id)
    if account.id == principal.user_id:
        return _user_form(request, db, principal, user_id, {"form": i18n.gettext(ERRORS[ErrorCode.SELF_ADMINISTRATION])},
                          status=409)
    token = passwords.do_request_password_reset(db, settings, principal, account.email)
    if token is None:
        return _user_form(request, db, principal, user_id, {"form": i18n.gettext(
            "This account is deactivated: it cannot be given a new password.")}, status=409)
    return _link_page(request, settings, account.email, token, created=False)
