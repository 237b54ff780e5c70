"""Award controls in bulk (claims.bulk propose=True, claims.bulk_awards): the same checks as for one claim
(`claims.awards`): above the computed amount, above the tier cap or above the configured amount needs a second
commission member; a claim whose award waits cannot be decided again; the second member is not the proposer, not
the inspector, gives a reason; all or nothing per call; the ledger only for approved awards."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from everymetre.claims.bulk import BulkMove, do_move_bulk
from everymetre.claims.bulk_awards import do_review_awards_bulk
from everymetre.claims.lifecycle import State
from everymetre.claims.models import Claim, Decision
from everymetre.claims.schemas import DecisionIn
from everymetre.kernel.errors import Conflict, ErrorCode, Forbidden, GuardFailed, ValidationFailed
from everymetre.payments.ledger import ledger_violations
from everymetre.payments.models import LedgerTransaction
from tests.store.test_bulk_actions import ACT, AT, _file, _versions

CAP_A = 20_000_000  # repair.tier_a_cap: UAH 200,000
OK = "Кошторис перевірено."


@pytest.fixture()
def assessed(db, principal, engine) -> list[int]:
    """Three repair claims assessed by the rules (tier A, well under the cap)."""
    from everymetre.claims.assessment import do_compute
    from everymetre.claims.schemas import InspectionActIn

    ids = _file(db, principal("officer"))
    db.execute(text("UPDATE claims SET submitted_by_id = NULL, channel = 'portal'"))  # another officer verifies
    db.commit()
    do_move_bulk(db, principal("officer"), [BulkMove(i, State.ASSIGNED, 1, at=AT) for i in ids])
    do_move_bulk(db, principal("inspector"), [BulkMove(i, State.REMOTE_VERIFIED, 2, at=AT, inspection_act=InspectionActIn(
        **{**ACT.model_dump(), "method": "remote_photo"})) for i in ids])
    do_compute(engine)
    db.expire_all()
    computed = dict(db.execute(select(Claim.id, Claim.assessed_amount_kopiykas).where(Claim.id.in_(ids))).tuples().all())
    assert all(0 < a < CAP_A for a in computed.values())
    return ids


def _moves(db, ids, amount=None, reason="Додано роботи за кошторисом."):
    v = _versions(db, ids)
    return [BulkMove(i, State.APPROVED, v[i], decision=DecisionIn(reasons="Підтверджено.", amount_kopiykas=amount,
                                                                  amount_reason=reason if amount else "")) for i in ids]


def _state(db, ids):
    db.expire_all()
    return dict(db.execute(select(Claim.id, Claim.state).where(Claim.id.in_(ids))).tuples().all())


def test_above_the_tier_cap_is_refused_unless_proposed_then_waits(db, principal, assessed):
    ids, commission = assessed, principal("commission")
    before = _versions(db, ids)
    with pytest.raises(Conflict) as refused:  # above the computed amount and the tier cap: not one member's
        do_move_bulk(db, commission, _moves(db, ids, CAP_A + 1))
    assert refused.value.code is ErrorCode.AWARD_PENDING
    assert refused.value.params["second_approval_because"] == ["above_computed", "above_tier_cap"]
    assert _versions(db, ids) == before and set(_state(db, ids).values()) == {"assessed"}
    with pytest.raises(ValidationFailed):  # another amount than the computed one needs its reason
        do_move_bulk(db, commission, _moves(db, ids, CAP_A + 1, reason=""), propose=True)
    assert do_move_bulk(db, commission, _moves(db, ids, CAP_A + 1), propose=True) == 3
    assert set(_state(db, ids).values()) == {"assessed"}  # the claims wait where they were
    assert _versions(db, ids) == {i: v + 1 for i, v in before.items()}
    ds = db.scalars(select(Decision).where(Decision.claim_id.in_(ids))).all()
    assert {(d.approval, tuple(d.approval_needed_because)) for d in ds} == {("pending", ("above_computed", "above_tier_cap"))}
    assert db.scalar(select(LedgerTransaction).where(LedgerTransaction.claim_id.in_(ids))) is None  # nothing committed
    last = db.execute(text("SELECT action FROM audit_events WHERE claim_id = :c ORDER BY seq DESC LIMIT 1"),
                      {"c": ids[0]}).scalar()
    assert last == "claim.award_proposed"
    # a claim whose award waits is not decided again, in bulk or not, by anyone
    for who, propose in (("commission", True), ("commission2", False)):
        with pytest.raises(Conflict) as again:
            do_move_bulk(db, principal(who), _moves(db, ids[:1]), propose=propose)
        assert again.value.code is ErrorCode.AWARD_PENDING


def test_the_second_member_approves_in_bulk_with_the_one_claim_checks(db, principal, assessed, users):
    ids = assessed
    do_move_bulk(db, principal("commission"), _moves(db, ids, CAP_A + 1), propose=True)
    before = _versions(db, ids)
    with pytest.raises(GuardFailed) as own:  # not the member who proposed it
        do_review_awards_bulk(db, principal("commission"), ids, True, OK)
    assert own.value.code is ErrorCode.SEGREGATION_PROPOSED
    for who in ("officer", "payments", "inspector"):
        with pytest.raises(Forbidden):
            do_review_awards_bulk(db, principal(who), ids, True, OK)
    with pytest.raises(ValidationFailed):  # a reason
        do_review_awards_bulk(db, principal("commission2"), ids, True, " ")
    # the claim's inspector, were they a commission member, may not approve it; nothing is approved then
    db.execute(text("UPDATE claims SET inspector_id = :u WHERE id = :c"), {"u": users["commission2"], "c": ids[-1]})
    db.commit()
    with pytest.raises(GuardFailed) as inspected:
        do_review_awards_bulk(db, principal("commission2"), ids, True, OK)
    assert inspected.value.code is ErrorCode.SEGREGATION_INSPECTED
    assert _versions(db, ids) == before and set(_state(db, ids).values()) == {"assessed"}
    assert do_review_awards_bulk(db, principal("commission3"), ids, True, OK) == 3
    assert set(_state(db, ids).values()) == {"approved"}
    ds = db.scalars(select(Decision).where(Decision.claim_id.in_(ids))).all()
    assert {(d.approval, d.decided_by_id, d.approved_by_id, d.approval_reason) for d in ds} == {
        ("approved", users["commission"], users["commission3"], OK)}
    awarded = db.execute(select(Claim.awarded_amount_kopiykas, Claim.decided_by_id).where(Claim.id.in_(ids))).tuples().all()
    assert set(awarded) == {(CAP_A + 1, users["commission"])}
    paid = db.execute(select(LedgerTransaction.amount_kopiykas).where(LedgerTransaction.claim_id.in_(ids))).scalars().all()
    assert paid == [CAP_A + 1] * 3 and ledger_violations(db) == []
    actions = db.execute(text("SELECT action FROM audit_events WHERE claim_id = :c ORDER BY seq"), {"c": ids[0]}).scalars().all()
    assert actions[-3:] == ["claim.award_proposed", "claim.award_approved", "claim.transition"]
    with pytest.raises(Conflict) as none:  # nothing waits any more
        do_review_awards_bulk(db, principal("commission2"), ids[:1], True, OK)
    assert none.value.code is ErrorCode.NO_AWARD_PENDING


def test_a_refused_award_is_decided_again_in_bulk(db, principal, assessed):
    ids = assessed
    do_move_bulk(db, principal("commission"), _moves(db, ids, CAP_A + 1), propose=True)
    v = _versions(db, ids)
    assert do_review_awards_bulk(db, principal("commission2"), ids, False, "Роботи не підтверджено актом.") == 3
    assert set(_state(db, ids).values()) == {"assessed"} and _versions(db, ids) == v
    assert db.scalar(select(LedgerTransaction).where(LedgerTransaction.claim_id.in_(ids))) is None
    do_move_bulk(db, principal("commission"), _moves(db, ids))  # at the computed amount: one member's decision
    assert set(_state(db, ids).values()) == {"approved"}
    approvals = db.execute(select(Decision.approval).where(Decision.claim_id == ids[0]).order_by(Decision.id)).scalars().all()
    assert approvals == ["refused", "final"] and ledger_violations(db) == []
