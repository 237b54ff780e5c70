"""The demo builds its claims' inputs valid by construction (`demo.generate._built`, no per-row validation):
each must be exactly what its schema makes of it, and one that is not fails the run."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

import pytest

from everymetre.claims.schemas import ClaimCreate, InspectionActIn
from everymetre.demo import generate
from everymetre.demo.generate import _Generator


def test_generated_inputs_are_what_validation_makes_of_them():
    gen = _Generator(random.Random(7), datetime(2026, 6, 1, tzinfo=UTC))
    for _ in range(1500):
        p = gen.plan()
        checked = ClaimCreate.model_validate(p.data.model_dump())
        assert checked == p.data and checked.model_dump(mode="json") == p.data.model_dump(mode="json")
        assert type(checked.kind) is type(p.data.kind) and type(checked.property.kind) is type(p.data.property.kind)
        assert p.data.priority_mask == checked.priority_mask
        act = gen.act(p.category, date(2026, 5, 1), remote=p.category == "minor")
        again = InspectionActIn.model_validate(act.model_dump())
        assert again == act and again.works_total_kopiykas == act.works_total_kopiykas


def test_a_generator_that_drifts_from_the_schema_fails_the_run(monkeypatch):
    gen = _Generator(random.Random(7), datetime(2026, 6, 1, tzinfo=UTC))
    monkeypatch.setattr(generate.vocab, "DAMAGE_DESCRIPTIONS", ("  spaces the schema strips  ",))
    with pytest.raises(RuntimeError, match="differs once validated"):
        for _ in range(generate.CHECK_EVERY + 1):
            gen.plan()
