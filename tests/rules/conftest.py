from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from everymetre.rules import ClaimFacts, RuleSet


@pytest.fixture(scope="session")
def rs() -> RuleSet:
    return RuleSet.load()


def make(**kw: Any) -> ClaimFacts:
    """An eligible claim by default; override any field."""
    base: dict[str, Any] = dict(
        payout_kind="certificate",
        property_kind="apartment",
        oblast="kyiv-city",
        damage_date=date(2022, 3, 10),
        assessment_date=date(2024, 3, 1),
        birth_date=date(1980, 5, 17),
        owns=True,
        area_m2=Decimal("80"),
        rooms=2,
        year_built=1995,
        works_total_kopiykas=0,
        co_owners=(("claimant", Fraction(1)),),
    )
    base.update(kw)
    return ClaimFacts(**base)
