"""The admin area in the browser (as TestClient pages): accounts (list, search, add with a one-time link, role and
oblasts, deactivate, reset a password), the stored programme settings, and the audit-trail search, each change
audited, with the refusals (not an admin, one's own account, the last administrator)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select, update

from everymetre.accounts.actions import do_create_user, load_principal
from everymetre.accounts.models import User
from everymetre.audit.models import AuditEvent
from tests.conftest import PASSWORD

LINK = re.compile(r"(https?://[^\s<]+/password/reset\?token=[\w-]+)")


def _email(prefix: str = "staff") -> str:
    return f"{prefix}.{uuid.uuid4().hex[:10]}@test.org"


def _new(db, role: str = "officer", oblasts: list[str] | None = None) -> User:
    return do_create_user(db, None, _email(role), PASSWORD, role, oblasts if oblasts is not None else ["kyivska"])


def _events(db, uid: int, action: str) -> list[AuditEvent]:
    db.rollback()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.chain == f"user:{uid}", AuditEvent.action == action)))


def test_list_and_search_accounts_with_last_sign_in(web, users):
    web("officer")  # signs in: the officer's last sign-in is today
    admin = web("admin")
    r = admin.get("/admin/users")
    assert r.status_code == 200
    assert "officer@test.org" in r.text and "citizen@test.org" not in r.text  # staff only, unless asked
    assert "Останній вхід" in r.text and 'lang="uk"' in r.text
    r = admin.get("/admin/users?q=LVIV")
    assert "officer.lviv@test.org" in r.text and "inspector@test.org" not in r.text
    assert "Львівська" in r.text  # oblasts in words
    r = admin.get("/admin/users?role=claimant")
    assert "citizen@test.org" in r.text and "officer@test.org" not in r.text
    r = admin.get("/admin/users?role=auditor")
    assert "auditor@test.org" in r.text and "Кожна область" in r.text
    officer_row = admin.get("/admin/users?q=officer@test.org").text
    assert "Ніколи" not in officer_row.split("officer@test.org", 1)[1].split("</tr>", 1)[0]


def test_add_a_staff_member_with_a_one_time_link(web, db, users):
    admin = web("admin")
    email = _email("new")
    r = admin.post("/admin/users", {"email": email.upper(), "full_name": "Ірина Бондар", "role": "inspector",
                                    "oblast": "kharkivska"}, token_from="/admin/users/new")
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    link = LINK.search(r.text).group(1)
    uid = db.scalar(select(User.id).where(User.email == email))
    p = load_principal(db, uid)
    assert p.role == "inspector" and p.oblasts == {"kharkivska"}
    created = _events(db, uid, "user.created")
    assert created and created[0].actor_id == users["admin"]
    assert _events(db, uid, "user.password_reset_requested")[0].actor_id == users["admin"]
    # the new person sets their password with the link and signs in
    person = web()
    path = link.split("testserver", 1)[1]
    assert person.get(path).status_code == 200
    token = path.split("token=")[1]
    r = person.post("/password/reset", {"token": token, "new_password": "a brand new passphrase",
                                        "new_password_again": "a brand new passphrase"}, token_from=path)
    assert r.status_code == 303
    r = person.post("/signin", {"email": email, "password": "a brand new passphrase"})
    assert r.status_code == 303 and r.headers["location"] == "/staff/queue"
    # the link works once
    assert person.get(path).status_code == 400


@pytest.mark.parametrize(("form", "words"), [
    ({"email": "not an e-mail", "role": "officer", "oblast": "kyivska"}, "Введіть адресу електронної пошти"),
    ({"email": "x.{u}@test.org", "role": "officer"}, "Оберіть області"),
    ({"email": "x.{u}@test.org", "role": "officer", "oblast": "kyivska", "all_oblasts": "1"}, "Оберіть області"),
    ({"email": "x.{u}@test.org", "role": "claimant"}, "Оберіть роль"),
    ({"email": "x.{u}@test.org", "role": "system"}, "Оберіть роль"),
    ({"email": "officer@test.org", "role": "officer", "oblast": "kyivska"}, "вже існує"),
    ({"email": "x.{u}@test.org", "role": "officer", "oblast": "kyivska", "full_name": "a\u202eb"}, "керівних символів"),
])
def test_adding_refuses_bad_input_in_words(web, db, form, words):
    admin = web("admin")
    body = {k: v.replace("{u}", uuid.uuid4().hex[:8]) for k, v in form.items()}
    r = admin.post("/admin/users", body, token_from="/admin/users/new")
    assert r.status_code == 400, r.text
    assert words in r.text and "error-summary" in r.text
    assert "Traceback" not in r.text and "ValidationFailed" not in r.text


def test_change_role_and_oblasts_audited(web, db, users):
    user = _new(db, "officer", ["kyivska"])
    admin = web("admin")
    page = admin.get(f"/admin/users/{user.id}")
    assert page.status_code == 200 and "Зберегти роль і області" in page.text
    r = admin.post(f"/admin/users/{user.id}/role", [("role", "commission"), ("oblast", "lvivska"), ("oblast", "odeska")],
                   token_from=f"/admin/users/{user.id}")
    assert r.status_code == 303, r.text
    p = load_principal(db, user.id)
    assert p.role == "commission" and p.oblasts == {"lvivska", "odeska"}
    event = _events(db, user.id, "user.role_changed")[0]
    assert event.actor_id == users["admin"]
    assert json.loads(event.payload)["after"] == {"role": "commission", "oblasts": ["lvivska", "odeska"],
                                                  "all_oblasts": False}
    assert "Роль і області змінено" in admin.get(r.headers["location"]).text
    r = admin.post(f"/admin/users/{user.id}/role", {"role": "payments"}, token_from=f"/admin/users/{user.id}")
    assert r.status_code == 400 and "Оберіть області" in r.text
    assert load_principal(db, user.id).role == "commission"


def test_deactivate_ends_sessions_and_needs_confirmation(web, db, users):
    user = _new(db, "inspector", ["kharkivska"])
    person = web()
    assert person.post("/signin", {"email": user.email, "password": PASSWORD}).status_code == 303
    assert person.get("/staff/queue").status_code == 200
    admin = web("admin")
    r = admin.post(f"/admin/users/{user.id}/deactivate", {}, token_from=f"/admin/users/{user.id}")
    assert r.status_code == 400 and "Позначте" in r.text
    assert person.get("/staff/queue").status_code == 200  # nothing happened
    r = admin.post(f"/admin/users/{user.id}/deactivate", {"confirm": "1"}, token_from=f"/admin/users/{user.id}")
    assert r.status_code == 303
    r = person.get("/staff/queue", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")
    assert _events(db, user.id, "user.deactivated")[0].actor_id == users["admin"]
    page = admin.get(f"/admin/users/{user.id}").text
    assert "Деактивовано" in page and "Деактивувати" not in page.split("<h1>", 1)[1].split("</dl>", 1)[1]


def test_reset_password_gives_a_link_once(web, db, users):
    user = _new(db, "payments", ["kharkivska"])
    admin = web("admin")
    r = admin.post(f"/admin/users/{user.id}/reset-password", {}, token_from=f"/admin/users/{user.id}")
    assert r.status_code == 200 and LINK.search(r.text)
    assert r.headers["cache-control"] == "no-store"
    assert _events(db, user.id, "user.password_reset_requested")[0].actor_id == users["admin"]


def test_an_admin_cannot_change_their_own_account(web, db, users):
    admin = web("admin")
    me = users["admin"]
    page = admin.get(f"/admin/users/{me}").text
    assert "ваш власний обліковий запис" in page and f'action="/admin/users/{me}/role"' not in page
    for path, body in ((f"/admin/users/{me}/role", {"role": "auditor"}),
                       (f"/admin/users/{me}/deactivate", {"confirm": "1"}),
                       (f"/admin/users/{me}/reset-password", {})):
        r = admin.post(path, body, token_from=f"/admin/users/{me}")
        assert r.status_code == 409, (path, r.status_code)
        assert "іншого адміністратора" in r.text
    p = load_principal(db, me)
    assert p is not None and p.role == "admin"


@pytest.fixture()
def only_one_admin(db, users) -> Iterator[None]:
    """Every other administrator made inactive for the test (the accounts outlive tests), then restored."""
    others = list(db.scalars(select(User.id).where(User.role == "admin", User.is_active.is_(True),
                                                   User.id != users["admin"])))
    db.execute(update(User).where(User.id.in_(others)).values(is_active=False))
    db.commit()
    yield
    db.execute(update(User).where(User.id.in_(others)).values(is_active=True))
    db.commit()


def test_the_last_administrator_stays(db, users, only_one_admin):
    from everymetre.accounts.passwords import do_deactivate_user
    from everymetre.accounts.roster import do_set_role
    from everymetre.kernel.errors import ErrorCode, GuardFailed

    with pytest.raises(GuardFailed) as exc:
        do_deactivate_user(db, None, "admin@test.org")  # the operator's CLI too
    assert exc.value.code is ErrorCode.LAST_ADMIN
    with pytest.raises(GuardFailed) as exc:
        do_set_role(db, None, "admin@test.org", "auditor")
    assert exc.value.code is ErrorCode.LAST_ADMIN
    db.rollback()
    assert load_principal(db, users["admin"]).role == "admin"
    second = _new(db, "admin", [])
    p = load_principal(db, users["admin"])
    do_deactivate_user(db, p, second.email)  # two admins: one may go
    with pytest.raises(GuardFailed):
        do_set_role(db, None, "admin@test.org", "auditor")  # and then the last stays


@pytest.mark.parametrize("key", ["officer", "inspector", "commission", "payments", "auditor", "citizen"])
def test_only_admins_manage_accounts_and_settings(web, key, users):
    b = web(key)
    for path in ("/admin/users", "/admin/users/new", f"/admin/users/{users['officer']}", "/admin/settings"):
        r = b.get(path, follow_redirects=False)
        assert r.status_code == 403, (path, r.status_code)
    r = b.post(f"/admin/users/{users['officer_lviv']}/deactivate", {"confirm": "1"})
    assert r.status_code == 403
    r = b.post("/admin/settings", {"photos_closeup_required": "5", "photos_wide_required": "5",
                                   "photo_max_distance_m": "10"})
    assert r.status_code == 403


def test_programme_settings_stored_applied_and_audited(web, db, users):
    from everymetre.claims import evidence_rules
    from everymetre.programme.settings import effective

    admin = web("admin")
    page = admin.get("/admin/settings")
    assert page.status_code == 200 and "Типове значення" in page.text
    assert evidence_rules.required(db) == {"photo_closeup": 0, "photo_wide": 0}  # the test deployment's default
    body = {"photos_closeup_required": "2", "photos_wide_required": "1", "photo_max_distance_m": "250",
            "remote_photos_required": "0", "remote_photo_max_distance_m": "10",
            "linkage_match_percent": "90", "linkage_flag_percent": "60"}  # the last four unchanged
    r = admin.post("/admin/settings", body, token_from="/admin/settings")
    assert r.status_code == 303
    db.rollback()
    assert evidence_rules.required(db) == {"photo_closeup": 2, "photo_wide": 1}
    assert effective(db)["photo_max_distance_m"] == 250
    events = list(db.scalars(select(AuditEvent).where(AuditEvent.chain == "programme").order_by(AuditEvent.seq)))
    assert [json.loads(e.payload)["key"] for e in events] == ["photos_closeup_required", "photos_wide_required",
                                                              "photo_max_distance_m"]
    assert all(e.actor_id == users["admin"] for e in events)
    r = admin.post("/admin/settings", body, token_from="/admin/settings")  # the same values: nothing recorded
    db.rollback()
    assert db.scalar(select(AuditEvent.seq).where(AuditEvent.chain == "programme").order_by(AuditEvent.seq.desc())
                     .limit(1)) == 3
    for bad in ({**body, "photos_closeup_required": "many"}, {**body, "photo_max_distance_m": "5"},
                {**body, "photos_wide_required": "-1"}):
        r = admin.post("/admin/settings", bad, token_from="/admin/settings")
        assert r.status_code == 400 and "Введіть ціле число від" in r.text
    db.rollback()
    assert effective(db)["photo_max_distance_m"] == 250


def test_audit_trail_search_for_auditors(web, db, users):
    user = _new(db, "officer", ["kyivska"])
    admin = web("admin")
    admin.post(f"/admin/users/{user.id}/role", [("role", "inspector"), ("oblast", "kyivska")],
               token_from=f"/admin/users/{user.id}")
    auditor = web("auditor")
    r = auditor.get(f"/admin/audit?subject={user.email}")
    assert r.status_code == 200
    assert "Роль або області змінено" in r.text and "Обліковий запис створено" in r.text
    assert "admin@test.org" in r.text  # who acted, by e-mail
    assert "user.role_changed" not in r.text.split('<ol class="timeline">', 1)[1].split("<pre", 1)[0]  # the event in words, not its code
    r = auditor.get("/admin/audit?actor=admin@test.org&action=user.role_changed")
    found = r.text.split('<ol class="timeline">', 1)[1]
    assert user.email in found and "Обліковий запис створено" not in found
    r = auditor.get("/admin/audit?subject=EM-nonsense")
    assert r.status_code == 400 and "Укажіть номер заяви" in r.text
    r = auditor.get("/admin/audit?kind=user&since=2000-01-01&until=2000-01-02")
    assert "Немає подій" in r.text
    assert web("officer").get("/admin/audit").status_code == 403
    assert web("citizen").get("/admin/audit").status_code == 403
    # the trail is read-only: there is no way to write to it from here
    assert auditor.client.post("/admin/audit").status_code == 405


def test_audit_search_pages_newest_first(db, principal, users):
    from everymetre.audit.search import AuditQuery, search

    user = _new(db, "officer", ["kyivska"])
    from everymetre.accounts.roster import do_set_role

    for oblast in ("lvivska", "odeska", "kyivska"):
        do_set_role(db, principal("admin"), user.email, "officer", [oblast])
    q = AuditQuery(subject=user.email)
    first, more = search(db, principal("auditor"), q, limit=2)
    assert [r.action for r in first] == ["user.role_changed", "user.role_changed"] and more is not None
    rest, end = search(db, principal("auditor"), AuditQuery(subject=user.email, before_id=more), limit=2)
    assert [r.action for r in rest] == ["user.role_changed", "user.created"] and end is None
    assert first[0].subject == user.email and first[0].actor == "admin@test.org"
    from everymetre.kernel.errors import Forbidden

    with pytest.raises(Forbidden):
        search(db, principal("officer"), q)


def test_programme_cli_uses_the_same_action(db):
    from typer.testing import CliRunner

    from everymetre.cli.main import app

    r = CliRunner().invoke(app, ["programme", "set", "photos_wide_required", "3"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["programme", "show"])
    assert "photos_wide_required" in r.output and "3  (default 0)" in r.output
    r = CliRunner().invoke(app, ["programme", "set", "photos_wide_required", "300"])
    assert r.exit_code != 0 and "from 0 to 20" in r.output and len(r.output.strip().splitlines()) == 1
    r = CliRunner().invoke(app, ["programme", "set", "colour", "3"])
    assert r.exit_code != 0 and "unknown setting" in r.output
    db.rollback()
    event = db.scalars(select(AuditEvent).where(AuditEvent.chain == "programme")).one()
    assert event.actor_id is None and json.loads(event.payload) == {"key": "photos_wide_required", "before": 0, "after": 3}
