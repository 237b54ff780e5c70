"""A confirmed duplicate moves the later claims to `duplicate` (through the claims' own move, audited, the
reviewer as actor, only within the reviewer's scope); an override lets a legitimately repeated claim through
a hold (commission or admin, with a reason, audited; a second person when money would move).

Runs on SQLite and, with EVERYMETRE_TEST_DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select, update

from everymetre.audit.models import AuditEvent
from everymetre.claims.models import Claim
from everymetre.config import get_settings
from everymetre.linkage.models import LinkageFinding

N = 800


@pytest.fixture()
def linked(db, engine):
    from everymetre.demo.fraud import load_fraud_population
    from everymetre.linkage.service import run_linkage

    for name in ("splink", "splink.internals.expectation_maximisation", "splink.internals.em_sampling"):
        logging.getLogger(name).setLevel(logging.ERROR)
    load_fraud_population(engine, N, seed=5, data_dir=get_settings().data_dir)
    db.execute(update(Claim).values(oblast="kyivska"))  # in the test reviewers' oblasts
    db.commit()
    report = run_linkage(engine, get_settings().data_dir)
    db.rollback()
    return report


def _findings(db, run_id: int, kind: str) -> list[LinkageFinding]:
    db.rollback()
    return list(db.scalars(select(LinkageFinding).where(LinkageFinding.last_run_id == run_id, LinkageFinding.kind == kind,
                                                        LinkageFinding.status == "open").order_by(LinkageFinding.id)))


def _state(db, claim_id: int) -> tuple[str, int | None, str | None]:
    db.rollback()
    c = db.get(Claim, claim_id)
    return c.state, c.duplicate_of_id, c.review_flag


def test_confirmed_duplicate_moves_the_later_claims(db, linked, principal, users):
    from everymetre.audit.verify import verify
    from everymetre.kernel.errors import NotFound
    from everymetre.linkage.service import do_review

    found = _findings(db, linked.run_id, "duplicate_claim")
    assert len(found) >= 2, "the fraud population injects duplicate claims"
    target, other = found[0], found[1]
    with pytest.raises(NotFound):  # outside the reviewer's oblasts: not even visible
        do_review(db, principal("officer_lviv"), "match", finding_id=target.id)
    assert all(_state(db, c)[0] != "duplicate" for c in target.claim_ids)
    out = do_review(db, principal("officer"), "match", finding_id=target.id, note="one loss, filed twice")
    claims = sorted(db.scalars(select(Claim).where(Claim.id.in_(target.claim_ids))).all(),
                    key=lambda c: (c.submitted_at or c.created_at, c.created_at, c.id))
    first, later = claims[0], claims[1:]
    assert out["status"] == "confirmed" and out["duplicate_of"] == first.reference
    assert sorted(out["moved_to_duplicate"]) == sorted(c.reference for c in later)
    for c in later:
        state, of, _flag = _state(db, c.id)
        assert (state, of) == ("duplicate", first.id)
        ev = db.scalars(select(AuditEvent).where(AuditEvent.chain == f"claim:{c.id}", AuditEvent.action == "claim.transition")
                        .order_by(AuditEvent.id.desc())).first()
        assert ev is not None and ev.actor_id == users["officer"]
        payload = json.loads(ev.payload)
        assert payload["to"] == "duplicate" and payload["duplicate_of"] == first.reference
    assert _state(db, first.id)[0] != "duplicate"
    # a commission member confirms: the finding is confirmed, the move is an officer's (the answer says so)
    out2 = do_review(db, principal("commission"), "match", finding_id=other.id)
    assert out2["status"] == "confirmed" and out2["moved_to_duplicate"] == [] and out2["not_moved"]
    assert "officer" in out2["not_moved"][0]["why"]
    assert verify(db).problem is None


def test_override_lifts_the_hold_with_a_reason_and_two_people_when_money_moves(db, engine, linked, principal, users):
    from everymetre.kernel.errors import Forbidden, GuardFailed, ValidationFailed
    from everymetre.linkage.service import do_override, run_linkage

    held = [f for kind in ("duplicate_claim", "repeat_damage_unlinked", "household_same_loss")
            for f in _findings(db, linked.run_id, kind) if f.score >= linked.flag_score]
    # findings whose claims no other holding finding names (so the flag's fate is this finding's alone)
    count: dict[int, int] = {}
    for f in db.scalars(select(LinkageFinding).where(LinkageFinding.last_run_id == linked.run_id,
                                                     LinkageFinding.score >= linked.flag_score)):
        for c in f.claim_ids:
            count[c] = count.get(c, 0) + 1
    alone = [f for f in held if all(count[c] == 1 for c in f.claim_ids)]
    assert len(alone) >= 2
    one, paid = alone[0], alone[1]
    assert all(_state(db, c)[2] for c in one.claim_ids)
    with pytest.raises(Forbidden):
        do_override(db, principal("officer"), one.id, "repeat damage after the repair")
    with pytest.raises(Forbidden):
        do_override(db, principal("auditor"), one.id, "repeat damage after the repair")
    with pytest.raises(ValidationFailed):
        do_override(db, principal("commission"), one.id, "ok")
    out = do_override(db, principal("commission"), one.id, "repeat damage after the repair, act 12/2024")
    assert out["status"] == "overridden" and not out["second_person_needed"] and out["cleared"] == len(one.claim_ids)
    assert not any(_state(db, c)[2] for c in one.claim_ids)
    with pytest.raises(GuardFailed):
        do_override(db, principal("commission"), one.id, "repeat damage after the repair, again")
    # money would move: one claim already carries an award
    db.execute(update(Claim).where(Claim.id == paid.claim_ids[0]).values(awarded_amount_kopiykas=12_345_00))
    db.commit()
    first = do_override(db, principal("commission"), paid.id, "co-owner's own share, registry extract")
    assert first["status"] == "override_requested" and first["second_person_needed"]
    assert all(_state(db, c)[2] for c in paid.claim_ids)  # still held
    with pytest.raises(GuardFailed):
        do_override(db, principal("commission"), paid.id, "co-owner's own share, registry extract")
    second = do_override(db, principal("commission2"), paid.id, "checked the registry extract too")
    assert second["status"] == "overridden" and not any(_state(db, c)[2] for c in paid.claim_ids)
    db.rollback()
    actions = [e.action for e in db.scalars(select(AuditEvent).where(AuditEvent.chain == f"finding:{paid.id}")
                                            .order_by(AuditEvent.id))]
    assert actions[-2:] == ["finding.override_requested", "finding.overridden"]
    # the next run keeps the override: the claims stay out of review for these findings
    run_linkage(engine, get_settings().data_dir)
    db.rollback()
    assert db.get(LinkageFinding, one.id).status == "overridden"
    for c in one.claim_ids:
        flag = _state(db, c)[2]
        assert flag is None or flag != "linkage:" + one.kind


def test_finding_page_in_ukrainian_with_the_override_form(db, linked, users):
    import re

    from fastapi.testclient import TestClient

    from everymetre.api.app import create_app
    from everymetre.linkage import labels
    from everymetre.web.i18n import set_language, translations
    from tests.conftest import PASSWORD, STAFF

    csrf = re.compile(r'name="csrf_token" value="([^"]+)"')

    def browser(key: str) -> TestClient:
        c = TestClient(create_app(get_settings()), base_url="http://testserver")
        token = csrf.search(c.get("/signin").text).group(1)
        r = c.post("/signin", data={"email": STAFF[key][0], "password": PASSWORD, "csrf_token": token},
                   follow_redirects=False)
        assert r.status_code == 303, r.text
        return c

    uk = translations("uk")
    set_language("uk")
    # every kind, status, evidence key and coded value has a Ukrainian text
    for table in (labels.KINDS, labels.STATUSES, labels.EVIDENCE, labels.VALUES, labels.FIELDS, labels.LEVELS):
        for code, text in table.items():
            assert uk.gettext(text) != text or text in ("IBAN",), (code, text)
    from everymetre.linkage.findings import FINDING_KINDS

    assert set(FINDING_KINDS) | {"duplicate_claim"} <= set(labels.KINDS)
    db.rollback()
    finding = next(f for f in db.scalars(select(LinkageFinding).where(LinkageFinding.last_run_id == linked.run_id))
                   if f.kind == "duplicate_claim")
    commission = browser("commission")
    page = commission.get(f"/staff/findings/{finding.id}")
    assert page.status_code == 200
    assert uk.gettext(labels.KINDS["duplicate_claim"]) in page.text and "duplicate_claim" not in page.text.replace(
        "linkage:duplicate_claim", "")
    assert uk.gettext(labels.FIELDS["surname"]) in page.text and f"/staff/findings/{finding.id}/override" in page.text
    token = csrf.search(page.text).group(1)
    short = commission.post(f"/staff/findings/{finding.id}/override", data={"reason": "ok", "csrf_token": token},
                            follow_redirects=False)
    assert short.status_code == 400 and 'aria-invalid="true"' in short.text
    done = commission.post(f"/staff/findings/{finding.id}/override",
                           data={"reason": "repeat damage after the repair, act 12/2024", "csrf_token": token},
                           follow_redirects=False)
    assert done.status_code == 303
    db.rollback()
    assert db.get(LinkageFinding, finding.id).status == "overridden"
    officer = browser("officer").get(f"/staff/findings/{finding.id}")
    assert officer.status_code == 200 and "/override" not in officer.text  # officers do not override
