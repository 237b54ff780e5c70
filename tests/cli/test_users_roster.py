"""`everymetre users list | set-role | add --all-oblasts`: the roster and role changes, audited."""

from __future__ import annotations

import json

from sqlalchemy import select
from typer.testing import CliRunner

from everymetre.accounts.actions import load_principal
from everymetre.accounts.models import User
from everymetre.audit.models import AuditEvent
from everymetre.cli.main import app


def invoke(*args: str, stdin: str | None = None):
    return CliRunner().invoke(app, list(args), input=stdin)


def test_add_with_all_oblasts_list_and_set_role(db, users):
    r = invoke("users", "add", "national.officer@test.org", "--role", "officer", "--all-oblasts", "--password-stdin",
               stdin="long enough pw\n")
    assert r.exit_code == 0, r.output
    assert "all oblasts" in r.output
    uid = db.scalar(select(User.id).where(User.email == "national.officer@test.org"))
    p = load_principal(db, uid)
    assert p.all_oblasts and p.actor.covers("lvivska")

    r = invoke("users", "list")
    assert r.exit_code == 0
    line = next(x for x in r.output.splitlines() if x.startswith("national.officer@test.org"))
    assert "officer" in line and "all oblasts" in line
    assert "officer.lviv@test.org" in r.output and "account(s)" in r.output
    r = invoke("users", "list", "--oblast", "Львівська", "--json")
    rows = [json.loads(x) for x in r.output.splitlines()]
    emails = {x["email"] for x in rows}
    assert "officer.lviv@test.org" in emails and "national.officer@test.org" in emails and "auditor@test.org" in emails
    assert "officer@test.org" not in emails  # kharkivska and kyivska only
    r = invoke("users", "list", "--role", "inspector", "--json")
    assert {json.loads(x)["role"] for x in r.output.splitlines()} == {"inspector"}

    r = invoke("users", "set-role", "national.officer@test.org", "--role", "inspector", "--oblast", "Kharkiv")
    assert r.exit_code == 0, r.output
    assert "inspector for kharkivska" in r.output
    db.rollback()
    p = load_principal(db, uid)
    assert p.role == "inspector" and not p.all_oblasts and p.oblasts == {"kharkivska"}
    event = db.scalars(select(AuditEvent).where(AuditEvent.chain == f"user:{uid}", AuditEvent.action == "user.role_changed")).one()
    payload = json.loads(event.payload)
    assert payload["before"] == {"role": "officer", "oblasts": [], "all_oblasts": True}
    assert payload["after"] == {"role": "inspector", "oblasts": ["kharkivska"], "all_oblasts": False}
    assert invoke("audit", "verify").exit_code == 0


def test_set_role_errors_are_one_line(db, users):
    cases = [
        (["nobody@test.org", "--role", "officer", "--oblast", "kyivska"], "no account"),
        (["officer.lviv@test.org", "--role", "wizard"], "unknown role 'wizard'"),
        (["officer.lviv@test.org", "--role", "officer"], "at least one oblast"),
        (["officer.lviv@test.org", "--role", "officer", "--oblast", "Atlantis"], "unknown oblast"),
        (["officer.lviv@test.org", "--role", "officer", "--oblast", "kyivska", "--all-oblasts"], "not both"),
        (["officer.lviv@test.org", "--role", "claimant"], "cannot become"),
        (["citizen@test.org", "--role", "officer", "--oblast", "kyivska"], "cannot become"),
    ]
    for args, message in cases:
        r = invoke("users", "set-role", *args)
        assert r.exit_code == 2 and message in r.output, (args, r.output)
        assert len(r.output.strip().splitlines()) == 1, r.output
    r = invoke("users", "add", "x.claimant@test.org", "--role", "claimant", "--all-oblasts", "--password-stdin",
               stdin="long enough pw\n")
    assert r.exit_code == 2 and "no oblasts" in r.output
    db.rollback()
    assert load_principal(db, users["officer_lviv"]).oblasts == {"lvivska"}  # nothing changed
