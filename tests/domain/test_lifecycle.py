"""The lifecycle state machine, exhaustively: every (state, state, role) combination is judged."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from everymetre.claims.lifecycle import (
    MOVES,
    Actor,
    ClaimFacts,
    MoveRequest,
    Needs,
    Role,
    State,
    authorise,
    available_moves,
    can_see,
    damage_date_problem,
)
from everymetre.kernel.errors import Forbidden, GuardFailed, InvalidTransition, ValidationFailed
from everymetre.kernel.identifiers import make_rnokpp, mask, parse_claim_reference, rnokpp_birth_date, rnokpp_problem

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def full_request(move) -> MoveRequest:
    return MoveRequest(target=move.target, suspension_documents=("doc",), has_inspection_act=True, has_decision=True,
                       appeal_grounds="why", duplicate_of="EM-2026-0000001", inspection_date=NOW.date())


def actor(role: Role, uid: int = 1) -> Actor:
    return Actor(uid, role, frozenset({"kharkivska"}))


def facts(state: State, **kw) -> ClaimFacts:
    return ClaimFacts(state=state, oblast="kharkivska", is_party=True, decided_at=NOW - timedelta(days=1), **kw)


@pytest.mark.parametrize("source,target", list(itertools.product(State, State)))
def test_every_pair_is_either_a_move_or_refused(source, target):
    for role in Role:
        req = MoveRequest(target=target, suspension_documents=("doc",), has_inspection_act=True, has_decision=True,
                          appeal_grounds="why", duplicate_of="EM-2026-0000001")
        if (source, target) not in MOVES:
            with pytest.raises(InvalidTransition):
                authorise(actor(role), facts(source), req, NOW)
        elif role not in MOVES[(source, target)].roles:
            with pytest.raises(Forbidden):
                authorise(actor(role), facts(source), req, NOW)
        else:
            assert authorise(actor(role), facts(source), req, NOW).target is target


def test_claimant_withdraws_only_before_a_decision():
    open_states = {s for (s, t) in MOVES if t is State.WITHDRAWN}
    assert State.APPROVED not in open_states and State.REJECTED not in open_states and State.APPEALED not in open_states
    assert {State.SUBMITTED, State.ASSIGNED, State.SUSPENDED, State.ASSESSED} <= open_states


def test_segregation_of_duties():
    m = MOVES[(State.ASSESSED, State.APPROVED)]
    with pytest.raises(GuardFailed):
        authorise(actor(Role.COMMISSION, 7), facts(State.ASSESSED, inspector_id=7), full_request(m), NOW)
    assert authorise(actor(Role.COMMISSION, 8), facts(State.ASSESSED, inspector_id=7), full_request(m), NOW)
    m = MOVES[(State.APPEALED, State.REVISED)]
    with pytest.raises(GuardFailed):
        authorise(actor(Role.COMMISSION, 8), facts(State.APPEALED, decided_by_id=8), full_request(m), NOW)


def test_appeal_window():
    m = MOVES[(State.REJECTED, State.APPEALED)]
    late = ClaimFacts(State.REJECTED, "kharkivska", is_party=True, decided_at=NOW - timedelta(days=61))
    with pytest.raises(GuardFailed, match="appeal window"):
        authorise(actor(Role.CLAIMANT), late, full_request(m), NOW)
    assert not available_moves(actor(Role.CLAIMANT), late, NOW)


def test_suspension_needs_documents_and_a_sane_deadline():
    m = MOVES[(State.ASSIGNED, State.SUSPENDED)]
    with pytest.raises(ValidationFailed, match="document"):
        authorise(actor(Role.OFFICER), facts(State.ASSIGNED), MoveRequest(m.target), NOW)
    with pytest.raises(ValidationFailed, match="at most 90"):
        authorise(actor(Role.OFFICER), facts(State.ASSIGNED),
                  MoveRequest(m.target, ("doc",), suspension_deadline=NOW.date() + timedelta(days=91)), NOW)
    with pytest.raises(ValidationFailed, match="after today"):
        authorise(actor(Role.OFFICER), facts(State.ASSIGNED), MoveRequest(m.target, ("doc",), suspension_deadline=NOW.date()), NOW)
    assert Needs.SUSPENSION in m.needs


def test_scope_and_visibility():
    other = ClaimFacts(State.AUTO_CHECKED, "lvivska")
    assert not can_see(actor(Role.OFFICER), other)
    with pytest.raises(Forbidden, match="outside your assignment"):
        authorise(actor(Role.OFFICER), other, MoveRequest(State.ASSIGNED), NOW)
    stranger = ClaimFacts(State.AUTO_CHECKED, "kharkivska", is_party=False)
    assert not can_see(actor(Role.CLAIMANT), stranger)
    with pytest.raises(Forbidden):
        authorise(actor(Role.CLAIMANT), stranger, MoveRequest(State.WITHDRAWN), NOW)
    assert can_see(Actor(1, Role.AUDITOR, all_oblasts=True), other)


def test_damage_dates():
    assert damage_date_problem(date(2022, 2, 23), NOW.date())
    assert damage_date_problem(date(2022, 2, 24), NOW.date()) is None
    assert damage_date_problem(NOW.date() + timedelta(days=1), NOW.date())


@given(st.dates(date(1900, 1, 1), date(2020, 12, 31)), st.integers(0, 999), st.booleans())
def test_rnokpp_roundtrip(born, serial, male):
    code = make_rnokpp(born, serial, male)
    assert rnokpp_problem(code) is None
    assert rnokpp_birth_date(code) == born
    # every single-digit change in the first nine digits is caught unless it maps to the same check digit mod 10
    wrong = code[:9] + str((int(code[9]) + 1) % 10)
    assert rnokpp_problem(wrong)


@given(st.text(max_size=30))
def test_reference_parser_never_crashes(text):
    parse_claim_reference(text)
    assert parse_claim_reference("EM-2026-0000123") == (2026, 123)


def test_mask_shows_only_the_ends_of_an_identifier():
    assert mask("1234567890") == "12******90"  # a taxpayer number
    assert mask("UA213223130000026007233566001", 4) == "UA21" + "*" * 21 + "6001"  # an IBAN
    assert mask("+380501234567", 3) == "+38*******567"  # a phone
    assert mask("") == "" and mask(None) is None  # nothing to hide
