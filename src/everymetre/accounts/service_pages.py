"""Admin pages for integrators' service accounts: list, create (the secret shown once), rotate the secret,
revoke; the same actions as `everymetre service-accounts ...`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from everymetre.accounts import service_accounts as svc
from everymetre.accounts.admin_pages import ROLE_NAMES, admin, oblast_names
from everymetre.claims.pages import text
from everymetre.kernel.errors import DomainError, ValidationFailed
from everymetre.web import i18n
from everymetre.web.common import DB, Form, SettingsDep, Staff, render

router = APIRouter(include_in_schema=False)
FIELD_ERRORS = {"name": i18n.N_("Give the system a name of at most 200 characters."),
                "role": i18n.N_("Choose a role."),
                "oblast": i18n.N_("Choose the oblasts this system works in, or every oblast (not both).")}


def _page(request: Request, db: DB, principal: Staff, errors: dict[str, str], values: dict[str, Any],
          status: int = 200) -> Response:
    return render(request, "accounts/admin_services.html", {
        "rows": svc.list_service_accounts(db, principal), "errors": errors, "values": values,
        "roles": [(r.value, i18n.gettext(ROLE_NAMES[r.value])) for r in svc.SERVICE_ROLES], "ROLE_NAMES": ROLE_NAMES,
        "oblasts": text.oblast_choices(), "oblast_names": oblast_names}, status=status)


def _secret(request: Request, settings: SettingsDep, client_id: str, secret: str, created: bool) -> Response:
    base = settings.public_url or f"{request.url.scheme}://{request.url.netloc}"
    response = render(request, "accounts/admin_service_secret.html", {
        "client_id": client_id, "secret": secret, "created": created, "token_url": f"{base.rstrip('/')}/api/v1/token"})
    response.headers["Cache-Control"] = "no-store"  # the secret is shown once
    return response


@router.get("/admin/service-accounts")
def services(request: Request, db: DB, principal: Staff) -> Response:
    admin(principal)
    return _page(request, db, principal, {}, {})


@router.post("/admin/service-accounts")
def create(request: Request, db: DB, principal: Staff, form: Form, settings: SettingsDep) -> Response:
    admin(principal)
    oblasts = [str(o) for o in form.getlist("oblast") if str(o)]
    all_oblasts = form.get("all_oblasts") == "1"
    name, role = str(form.get("name") or ""), str(form.get("role") or "")
    try:
        client, secret = svc.do_create_service_account(db, principal, name, role, oblasts, all_oblasts)
    except ValidationFailed as exc:
        db.rollback()
        field = exc.field if exc.field in FIELD_ERRORS else "name"
        return _page(request, db, principal, {field: i18n.gettext(FIELD_ERRORS[field])},
                     {"name": name, "role": role, "oblast": oblasts, "all_oblasts": all_oblasts}, status=400)
    return _secret(request, settings, client.client_id, secret, created=True)


@router.post("/admin/service-accounts/{client_id}/rotate")
def rotate(request: Request, db: DB, principal: Staff, form: Form, settings: SettingsDep, client_id: str) -> Response:
    admin(principal)
    try:
        secret = svc.do_rotate_secret(db, principal, client_id[:64])
    except DomainError:
        db.rollback()
        raise
    return _secret(request, settings, client_id, secret, created=False)


@router.post("/admin/service-accounts/{client_id}/revoke")
def revoke(request: Request, db: DB, principal: Staff, form: Form, client_id: str) -> Response:
    admin(principal)
    if form.get("confirm") != "1":
        return _page(request, db, principal, {f"confirm-{client_id[:64]}": i18n.gettext(
            "Tick the box to confirm that this system is to lose its access.")}, {}, status=400)
    try:
        svc.do_revoke_service_account(db, principal, client_id[:64])
    except DomainError:
        db.rollback()
        raise
    return _page(request, db, principal, {}, {"revoked": client_id[:64]})
