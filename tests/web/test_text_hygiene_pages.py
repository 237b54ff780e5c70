"""Page forms refuse control and text-direction override characters before saving anything (drafts too)."""

from __future__ import annotations

from typing import Any

import pytest


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize("step, field, value", [
    ("home", "hromada", "Харків\x1b[31m"), ("home", "street", "вул. \x00Сумська"),
    ("event", "description", "Вибито \u202eвікна"), ("owners", "owners-0-full_name", "Коваль\x00"),
])
def test_page_forms_refuse_and_save_nothing(web, db, step, field, value) -> None:
    from sqlalchemy import select

    from everymetre.claims.models import ClaimDraft

    citizen = web("citizen")
    r = citizen.post("/apply", {}, token_from="/apply")
    draft_url = r.headers["location"].rsplit("/", 1)[0]
    data = {field: value, "action": "continue"}
    if step == "owners":
        data.update({"owners-0-birth_date": "1980-05-17", "owners-0-rnokpp": "", "owners-0-share": "1"})
    r = citizen.post(f"{draft_url}/{step}", data, token_from=f"{draft_url}/{step}")
    assert r.status_code == 400, r.text
    assert "не дозволені" in r.text  # the reason, in Ukrainian
    db.expire_all()
    stored = [d.data for d in db.scalars(select(ClaimDraft))]
    assert stored and not any(value in text for d in stored for text in _strings(d))


def test_signup_refuses_a_name_with_escapes(web) -> None:
    r = web().post("/signup", {"email": "new.person@test.org", "full_name": "Коваль\x1b[2J",
                               "password": "long enough password", "password_again": "long enough password"},
                   token_from="/signup")
    assert r.status_code == 400 and "не дозволені" in r.text
