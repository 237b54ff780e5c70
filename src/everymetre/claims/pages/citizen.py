"""Pages for applicants: sign up and in, the step-by-step application, My claims and the actions on a claim."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from everymetre.accounts.sessions import PAGE, revoke
from everymetre.accounts.signin import sign_in, sign_up
from everymetre.api.deps import IdPath
from everymetre.claims import access, evidence_rules, payout_accounts, representatives
from everymetre.claims import actions as claims_service
from everymetre.claims import drafts as drafts_service
from everymetre.claims import evidence as evidence_service
from everymetre.claims.access import QueueFilter
from everymetre.claims.lifecycle import ACCEPTS_EVIDENCE, STAFF_ROLES, ClaimKind, State
from everymetre.claims.models import Claim, ClaimDraft
from everymetre.claims.pages import forms, text, views
from everymetre.claims.schemas import TransitionIn
from everymetre.config import get_settings
from everymetre.kernel.errors import DomainError, ErrorCode, TooManyAttempts
from everymetre.kernel.iban import mask_iban
from everymetre.notifications.views import inbox
from everymetre.payments.pages import payout_panel
from everymetre.sla.clock import for_claim as sla_clock
from everymetre.sla.due import kyiv_day
from everymetre.store.types import utcnow
from everymetre.web import i18n
from everymetre.web.common import (
    DB,
    Claimant,
    Form,
    MaybePrincipal,
    PageError,
    SettingsDep,
    client_address,
    redirect,
    render,
    request_language,
    safe_next,
)
from everymetre.web.session import page_session

router = APIRouter(include_in_schema=False)
STEP_TITLES = {"home": i18n.N_("Your home"), "owners": i18n.N_("Owners"), "event": i18n.N_("What happened"),
               "evidence": i18n.N_("Photos and documents"), "check": i18n.N_("Check your answers")}


# ------------------------------------------------------------------------------------------------ start


@router.get("/")
def home(request: Request, principal: MaybePrincipal) -> Response:
    if principal is not None:
        return redirect("/staff/queue" if principal.role in STAFF_ROLES else "/notary" if principal.role == "notary" else "/my")
    return render(request, "index.html")


@router.get("/lang/{code}")
def switch_language(request: Request, code: str, next: str = "/") -> Response:
    lang = code if code in i18n.LANGUAGES else i18n.DEFAULT
    response = redirect(safe_next(next, "/"))
    page_session(request).cookies.append(f"{i18n.LANG_COOKIE}={lang}; Path=/; Max-Age=31536000; SameSite=Lax")
    return response


@router.get("/signin")
def signin_page(request: Request, next: str = "") -> Response:
    return render(request, "accounts/signin.html", {"next": safe_next(next, ""), "errors": {}, "email": ""})


@router.post("/signin")
def signin(request: Request, db: DB, form: Form, settings: SettingsDep) -> Response:
    email, password = forms.text(form, "email"), str(form.get("password") or "")
    target = safe_next(forms.text(form, "next"), "")
    try:
        user, sid = sign_in(db, settings, email, password, client_address(request), PAGE, settings.session_minutes)
    except TooManyAttempts as exc:
        return _too_many(request, "accounts/signin.html", {"next": target, "email": email}, exc)
    except DomainError:
        return render(request, "accounts/signin.html", {"next": target, "email": email, "errors": {
            "form": i18n.gettext("The e-mail or password is wrong.")}}, status=400)
    page_session(request).sign_in(user.id, sid)
    default = {"claimant": "/my", "notary": "/notary"}.get(user.role, "/staff/queue")
    return redirect(target or default)


def _too_many(request: Request, template: str, context: dict[str, Any], exc: TooManyAttempts) -> Response:
    minutes = max(1, -(-exc.retry_after // 60))
    message = i18n.ngettext("Too many attempts. For your safety, try again in %(num)d minute.",
                            "Too many attempts. For your safety, try again in %(num)d minutes.", minutes)
    response = render(request, template, {"errors": {"form": message}, "values": {}, **context}, status=429)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


@router.get("/signup")
def signup_page(request: Request) -> Response:
    return render(request, "accounts/signup.html", {"errors": {}, "values": {}})


@router.post("/signup")
def signup(request: Request, db: DB, form: Form, settings: SettingsDep) -> Response:
    values = {"email": forms.text(form, "email"), "full_name": forms.text(form, "full_name")}
    password, again = str(form.get("password") or ""), str(form.get("password_again") or "")
    errors: dict[str, str] = forms.hygiene_errors(values)
    if not values["full_name"] and "full_name" not in errors:
        errors["full_name"] = i18n.gettext("Fill this in.")
    if password != again:
        errors["password_again"] = i18n.gettext("The two passwords are different.")
    if not errors:
        try:
            made = sign_up(db, settings, values["email"], password, values["full_name"], client_address(request),
                           settings.session_minutes, locale=request_language(request))
        except TooManyAttempts as exc:
            return _too_many(request, "accounts/signup.html", {"values": values}, exc)
        except DomainError as exc:
            field = getattr(exc, "field", None) or "form"
            messages = {"password": i18n.gettext("Use at least 10 characters for your password."),
                        "email": i18n.gettext("Check the e-mail address.")}
            errors[field] = messages.get(field, exc.detail)
        else:
            if made is None:  # a link was mailed, or the e-mail has an account: nothing says which
                return redirect("/signup/sent")
            user, sid = made
            page_session(request).sign_in(user.id, sid)
            return redirect("/my")
    return render(request, "accounts/signup.html", {"errors": errors, "values": values}, status=400)


@router.get("/signup/sent")
def signup_sent(request: Request) -> Response:
    """What every confirmed sign-up, and one with an e-mail that already has an account, sees: neutral words."""
    return render(request, "accounts/signup_sent.html")


@router.post("/signout")
def signout(request: Request, db: DB, form: Form) -> Response:
    state = page_session(request)
    revoke(db, state.session_id)  # the session ends on the server: a copy of the cookie no longer signs in
    state.sign_out()
    return redirect("/")


# ------------------------------------------------------------------------------------------------ my claims


@router.get("/my")
def my_claims(request: Request, db: DB, principal: Claimant, settings: SettingsDep) -> Response:
    rows, _ = access.list_claims(db, principal, QueueFilter(), limit=200)
    rows.sort(key=lambda c: c.id, reverse=True)
    items = [{"claim": c, "state": text.t(text.STATES, c.state), "next": i18n.gettext(text.NEXT_STEP[c.state]),
              "deadline": text.deadline_line(c, settings), "filed_by": views.filed_by(c, principal)} for c in rows]
    return render(request, "claims/my_claims.html", {"items": items, "drafts": drafts_service.open_drafts(db, principal),
                                                     "step_titles": STEP_TITLES, "inbox": inbox(db, principal),
                                                     "verified": principal.verified_rnokpp is not None})


@router.get("/my/claims/{reference}")
def my_claim(request: Request, reference: str, db: DB, principal: Claimant, settings: SettingsDep,
             done: str = "") -> Response:
    claim = access.get_claim(db, principal, reference)
    return _claim_page(request, db, principal, claim, settings, done=done)


def _claim_page(request: Request, db: DB, principal: Any, claim: Claim, settings: Any, errors: dict[str, str] | None = None,
                done: str = "", status: int = 200) -> Response:
    draft = drafts_service.draft_for_claim(db, principal, claim)
    return render(request, "claims/my_claim.html", {
        "claim": claim, "home": claim.home, "state": text.t(text.STATES, claim.state),
        "next": i18n.gettext(text.NEXT_STEP[claim.state]), "deadline": text.deadline_line(claim, settings),
        "timeline": views.timeline(db, claim, principal, staff_view=False), "evidence": views.evidence(db, claim),
        "moves": views.move_views(access.moves_for(principal, claim)), "decisions": views.decisions(db, claim),
        "assessment": views.assessment(db, claim), "draft": draft, "errors": errors or {}, "done": done,
        "can_upload": State(claim.state) in ACCEPTS_EVIDENCE,
        "filed_by": views.filed_by(claim, principal), "attorney": views.attorney_view(claim),
        "can_replace_attorney": representatives.can_replace(principal, claim, kyiv_day(utcnow())),
        "payout": payout_panel(db, principal, claim), "sla": sla_clock(db, claim.id, settings.decision_due_days),
        "payout_account": None if claim.kind == ClaimKind.DESTROYED_HOUSING_APPLICATION.value or claim.state == State.DRAFT.value
        else payout_accounts.account_status(db, claim),
    }, status=status)


@router.post("/my/claims/{reference}/move")
def my_claim_move(request: Request, reference: str, db: DB, principal: Claimant, settings: SettingsDep,
                  form: Form) -> Response:
    claim = access.get_claim(db, principal, reference)
    try:
        version = int(forms.text(form, "expected_version") or "0")
        data = TransitionIn(to=forms.text(form, "to"), reason=forms.text(form, "reason"), expected_version=max(version, 1))
        claims_service.do_transition(db, principal, reference, data)
    except (DomainError, ValueError) as exc:
        db.rollback()
        claim = access.get_claim(db, principal, reference)
        detail = forms.translate_domain(exc.detail) if isinstance(exc, DomainError) else i18n.gettext(
            "Some details need correcting")
        return _claim_page(request, db, principal, claim, settings, errors={"move": detail}, status=409 if isinstance(
            exc, DomainError) and exc.status == 409 else 400)
    return redirect(f"/my/claims/{reference}?done={data.to.value}")


# Upload routes are plain `def`: FastAPI runs them in the thread pool, so Pillow and the database never hold
# the event loop. The form was parsed (and its files spooled to disk) by the async `Form` dependency.
@router.post("/my/claims/{reference}/evidence")
def my_claim_upload(request: Request, reference: str, db: DB, principal: Claimant, settings: SettingsDep,
                    form: Form) -> Response:
    errors = _upload(db, principal, reference, form)
    if errors:
        claim = access.get_claim(db, principal, reference)
        return _claim_page(request, db, principal, claim, settings, errors={"upload": "; ".join(errors)}, status=400)
    return redirect(f"/my/claims/{reference}?done=uploaded#evidence-h")


def _upload(db: DB, principal: Any, reference: str, form: Any) -> list[str]:
    errors = []
    kind = forms.text(form, "kind") or "photo"
    files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    if not files:
        return [i18n.gettext("Choose at least one file.")]
    limit = evidence_service.get_settings().evidence_max_bytes
    for upload in files:
        upload.file.seek(0)
        data = upload.file.read(limit + 1)
        try:
            evidence_service.do_add_evidence(db, principal, reference, upload.filename or "upload", data, kind)
        except DomainError as exc:
            db.rollback()
            errors.append(f"{upload.filename}: {i18n.gettext(exc.title)}. {forms.translate_domain(exc.detail)}")
    return errors


# ------------------------------------------------------------------------------------------------ the form


@router.get("/apply")
def apply_start_page(request: Request, principal: Claimant) -> Response:
    return render(request, "claims/apply_start.html")


@router.post("/apply")
def apply_start(request: Request, db: DB, principal: Claimant, form: Form) -> Response:
    draft = drafts_service.start_draft(db, principal)
    return redirect(f"/apply/{draft.id}/home")


def _claim_of(db: DB, draft: ClaimDraft) -> Claim | None:
    return db.get(Claim, draft.claim_id) if draft.claim_id else None


def _step_page(request: Request, db: DB, principal: Any, draft: ClaimDraft, step: str, answers: Any = None,
               errors: dict[str, str] | None = None, status: int = 200) -> Response:
    claim = _claim_of(db, draft)
    if claim is not None and claim.state != State.DRAFT.value:
        return redirect(f"/my/claims/{claim.reference}")
    ctx: dict[str, Any] = {"draft": draft, "step": step, "steps": drafts_service.STEPS, "step_titles": STEP_TITLES,
                           "errors": errors or {}, "claim": claim, "oblasts": text.oblast_choices(),
                           "answers": answers if answers is not None else draft.data.get(step, {}),
                           "today": date.today().isoformat()}
    ctx["banks"], ctx["mask_iban"] = list(get_settings().payout_banks), mask_iban
    if step == "owners" and not ctx["answers"].get("rows"):
        me = principal.full_name
        ctx["answers"] = {"rows": [{"full_name": me, "share": "1"}], "representative": False}
    if step in ("evidence", "check"):
        ctx["photo_rules"] = evidence_rules.photo_rules(db, claim)
        ctx["photos_met"] = all(r.met for r in ctx["photo_rules"])
    if step == "evidence":
        if claim is None:
            return redirect(f"/apply/{draft.id}/event")
        ctx["evidence"] = views.evidence(db, claim)
    if step == "check":
        built, bad_step, _ = forms.claim_from_answers(draft.data)
        ctx.update(ready=built is not None and claim is not None, bad_step=bad_step, data=draft.data,
                   evidence=views.evidence(db, claim) if claim else [])
    return render(request, "claims/apply_step.html", ctx, status=status)


@router.get("/apply/{draft_id}/{step}")
def apply_step(request: Request, draft_id: IdPath, step: str, db: DB, principal: Claimant) -> Response:
    if step not in drafts_service.STEPS:
        raise PageError(404, i18n.N_("Page not found"))
    draft = drafts_service.get_draft(db, principal, draft_id)
    return _step_page(request, db, principal, draft, step)


@router.post("/apply/{draft_id}/discard")
def apply_discard(request: Request, draft_id: IdPath, db: DB, principal: Claimant, form: Form) -> Response:
    draft = drafts_service.get_draft(db, principal, draft_id)
    claim = _claim_of(db, draft)
    if claim is None:
        drafts_service.discard_draft(db, principal, draft_id)
    else:
        claims_service.do_transition(db, principal, claim.reference, TransitionIn(
            to=State.WITHDRAWN, reason="draft discarded by the applicant", expected_version=claim.version))
        drafts_service.finish(db, principal, draft_id)
    return redirect("/my")


@router.post("/apply/{draft_id}/home")
def apply_home(request: Request, draft_id: IdPath, db: DB, principal: Claimant, form: Form) -> Response:
    answers = forms.home_answers(form)
    if hygiene := forms.hygiene_errors(answers):
        draft = drafts_service.get_draft(db, principal, draft_id)
        return _step_page(request, db, principal, draft, "home", answers, hygiene, status=400)
    drafts_service.save_step(db, principal, draft_id, "home", answers, "home")
    draft = drafts_service.get_draft(db, principal, draft_id)
    if forms.text(form, "action") == "save":
        return redirect("/my")
    _, errors = forms.check_home(answers)
    if errors:
        return _step_page(request, db, principal, draft, "home", answers, errors, status=400)
    return _after_section(request, db, principal, draft, "owners")


@router.post("/apply/{draft_id}/owners")
def apply_owners(request: Request, draft_id: IdPath, db: DB, principal: Claimant, form: Form) -> Response:
    answers = forms.owners_answers(form)
    if hygiene := forms.hygiene_errors({"owners": answers["rows"]}):
        draft = drafts_service.get_draft(db, principal, draft_id)
        return _step_page(request, db, principal, draft, "owners", answers, hygiene, status=400)
    action = forms.text(form, "action")
    rows: list[dict[str, str]] = answers["rows"]
    if action == "add" and len(rows) < forms.MAX_OWNERS:
        rows.append(dict.fromkeys(forms.OWNER_FIELDS, ""))
    elif action.startswith("remove-"):
        index = int(action.removeprefix("remove-")) if action.removeprefix("remove-").isdigit() else -1
        if 0 < index < len(rows):
            del rows[index]
    drafts_service.save_step(db, principal, draft_id, "owners", answers, "owners")
    draft = drafts_service.get_draft(db, principal, draft_id)
    if action == "save":
        return redirect("/my")
    if action != "continue":
        focus = f"owners-{len(rows) - 1}-full_name" if action == "add" else ""
        return _step_page(request, db, principal, draft, "owners", answers, {"focus": focus} if focus else {})
    _, errors = forms.check_owners(answers)
    if errors:
        return _step_page(request, db, principal, draft, "owners", answers, errors, status=400)
    return _after_section(request, db, principal, draft, "event")


@router.post("/apply/{draft_id}/event")
def apply_event(request: Request, draft_id: IdPath, db: DB, principal: Claimant, form: Form) -> Response:
    answers = forms.event_answers(form)
    if hygiene := forms.hygiene_errors(answers):
        draft = drafts_service.get_draft(db, principal, draft_id)
        return _step_page(request, db, principal, draft, "event", answers, hygiene, status=400)
    drafts_service.save_step(db, principal, draft_id, "event", answers, "event")
    draft = drafts_service.get_draft(db, principal, draft_id)
    if forms.text(form, "action") == "save":
        return redirect("/my")
    errors = forms.check_event(answers, date.today())
    if errors:
        return _step_page(request, db, principal, draft, "event", answers, errors, status=400)
    return _after_section(request, db, principal, draft, "evidence")


def _after_section(request: Request, db: DB, principal: Any, draft: ClaimDraft, next_step: str) -> Response:
    """Once the first three sections make a valid claim, the draft claim is created or brought up to date."""
    built, bad_step, errors = forms.claim_from_answers(draft.data)
    if built is None:
        if next_step in ("evidence", "check") or draft.claim_id is not None:
            assert bad_step is not None
            return _step_page(request, db, principal, draft, bad_step, None, errors, status=400)
        drafts_service.save_step(db, principal, draft.id, next_step, draft.data.get(next_step, {}), next_step)
        return redirect(f"/apply/{draft.id}/{next_step}")
    try:
        drafts_service.sync_claim(db, principal, draft.id, built)
    except DomainError as exc:
        db.rollback()
        field = getattr(exc, "field", None) or "form"
        step = "event" if field in ("damage_date", "previous_claim") else "home" if field == "oblast" else "event"
        return _step_page(request, db, principal, drafts_service.get_draft(db, principal, draft.id), step, None,
                          {field if field != "previous_claim" else "previous_claim": exc.detail}, status=400)
    drafts_service.save_step(db, principal, draft.id, next_step, draft.data.get(next_step, {}), next_step)
    return redirect(f"/apply/{draft.id}/{next_step}")


@router.post("/apply/{draft_id}/evidence")
def apply_evidence(request: Request, draft_id: IdPath, db: DB, principal: Claimant, form: Form) -> Response:
    draft = drafts_service.get_draft(db, principal, draft_id)
    claim = _claim_of(db, draft)
    if claim is None:
        return redirect(f"/apply/{draft_id}/event")
    if forms.text(form, "action") == "continue":
        drafts_service.save_step(db, principal, draft_id, "evidence", {}, "check")
        return redirect(f"/apply/{draft_id}/check")
    errors = _upload(db, principal, claim.reference, form)
    if errors:
        return _step_page(request, db, principal, draft, "evidence", {}, {"files": "; ".join(errors)}, status=400)
    return redirect(f"/apply/{draft_id}/evidence#evidence-h")


@router.post("/apply/{draft_id}/check")
def apply_submit(request: Request, draft_id: IdPath, db: DB, principal: Claimant, form: Form) -> Response:
    draft = drafts_service.get_draft(db, principal, draft_id)
    claim = _claim_of(db, draft)
    built, bad_step, errors = forms.claim_from_answers(draft.data)
    if claim is None or built is None:
        return _step_page(request, db, principal, draft, bad_step or "event", None, errors, status=400)
    try:
        claim = drafts_service.sync_claim(db, principal, draft_id, built)
        claims_service.do_transition(db, principal, claim.reference, TransitionIn(
            to=State.SUBMITTED, reason="", expected_version=claim.version))
    except DomainError as exc:
        db.rollback()
        missing = exc.code is ErrorCode.EVIDENCE_MISSING
        error = {"evidence": i18n.gettext(evidence_rules.MISSING_SENTENCE)} if missing else {"form": exc.detail}
        return _step_page(request, db, principal, drafts_service.get_draft(db, principal, draft_id), "check", None,
                          error, status=400)
    drafts_service.finish(db, principal, draft_id)
    return redirect(f"/my/claims/{claim.reference}?done=submitted")
