"""The programme settings page (administrators): the stored evidence rules and the photo-location flag, each
with the deployment's default; changing one calls `do_set_setting`, as `everymetre programme set` does."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from everymetre.accounts.permissions import Action, allowed
from everymetre.kernel.errors import DomainError, ValidationFailed
from everymetre.programme import settings as programme
from everymetre.web import i18n
from everymetre.web.common import DB, Form, PageError, SettingsDep, Staff, redirect, render

router = APIRouter(include_in_schema=False)


def _page(request: Request, db: DB, settings: SettingsDep, errors: dict[str, str], values: dict[str, str],
          done: bool = False, status: int = 200) -> Response:
    current = programme.effective(db, settings)
    defaults = programme.defaults(settings)
    stored = programme.stored(db)
    rows = [{"spec": spec, "value": values.get(key, str(current[key])), "default": defaults[key],
             "stored": stored.get(key)} for key, spec in programme.SPECS.items()]
    return render(request, "programme/settings.html", {"rows": rows, "errors": errors, "done": done}, status=status)


def _check(principal: Staff) -> None:
    if not allowed(principal.actor, Action.PROGRAMME_CONFIGURE):
        raise PageError(403, i18n.N_("Not for your role"), i18n.N_("Only administrators change the programme settings."))


@router.get("/admin/settings")
def settings_page(request: Request, db: DB, principal: Staff, settings: SettingsDep) -> Response:
    _check(principal)
    return _page(request, db, settings, {}, {}, done=bool(request.query_params.get("done")))


@router.post("/admin/settings")
def save_settings(request: Request, db: DB, principal: Staff, form: Form, settings: SettingsDep) -> Response:
    _check(principal)
    values = {key: str(form.get(key) or "").strip() for key in programme.SPECS}
    errors: dict[str, str] = {}
    for key, raw in values.items():
        spec = programme.SPECS[key]
        try:
            programme.parse(key, raw)
        except ValidationFailed:
            errors[key] = i18n.gettext("Enter a whole number from %(low)d to %(high)d.", low=spec.low, high=spec.high)
    if errors:
        return _page(request, db, settings, errors, values, status=400)
    try:
        for key, raw in values.items():  # each change its own audited action (one event per setting changed)
            programme.do_set_setting(db, principal, key, raw)
    except DomainError:
        db.rollback()
        raise
    return redirect("/admin/settings?done=1")
