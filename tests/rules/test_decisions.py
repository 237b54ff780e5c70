import json
from datetime import date
from fractions import Fraction

import pytest

from everymetre.rules import Assessment, ClaimFacts, RuleSet, RuleSetMismatch, assess, decision_record, recheck

from .conftest import make


def test_round_trip_through_json(rs: RuleSet) -> None:
    f = make(co_owners=(("a", Fraction(1, 3)), ("b", Fraction(2, 3))))
    a = assess(f, rs)
    stored = json.loads(json.dumps(decision_record(f, a), ensure_ascii=False))
    assert stored["ruleset_hash"] == rs.hash
    assert ClaimFacts.from_dict(stored["facts"]) == f
    assert Assessment.from_dict(stored["assessment"]) == a
    r = recheck(stored, rs)
    assert not r.differs and not r and r.differences == {}


def test_recheck_reports_a_difference(rs: RuleSet) -> None:
    f = make(payout_kind="repair", works_total_kopiykas=25_000_000)
    stored = json.loads(json.dumps(decision_record(f, assess(f, rs))))
    stored["assessment"]["amount_kopiykas"] = 24_000_000  # tampered, or computed by buggy code
    r = recheck(stored, rs)
    assert r.differs
    assert r.differences["amount_kopiykas"] == (24_000_000, 25_000_000)


def test_recheck_needs_the_same_rule_set(rs: RuleSet) -> None:
    f = make()
    stored = decision_record(f, assess(f, rs))
    other = rs.with_overrides({"certificate.vavg_per_m2": "40000"})
    with pytest.raises(RuleSetMismatch, match=rs.hash):
        recheck(stored, other)
    # a decision made under an overridden rule set is rechecked with that rule set, stored as canonical JSON
    made = assess(f, other)
    snapshot = other.canonical_json()
    assert not recheck(decision_record(f, made), RuleSet.from_canonical_json(snapshot, other.hash)).differs


def test_default_rule_set_is_loaded(rs: RuleSet) -> None:
    f = make(assessment_date=date(2024, 5, 5))
    assert not recheck(decision_record(f, assess(f, rs))).differs
