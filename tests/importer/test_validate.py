"""The vectorised checks agree with the domain's one-value rules."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from everymetre.importer.mapping import parse_mapping
from everymetre.importer.validate import validate
from everymetre.kernel.iban import is_valid_iban, make_ua_iban
from everymetre.kernel.identifiers import make_rnokpp, rnokpp_problem

MAPPING = parse_mapping({"fields": {"source_record_id": "id", "full_name": "name", "oblast": "o", "property_kind": "k",
                                    "total_area_m2": "a", "damage_date": "d", "rnokpp": "rn", "iban": "iban"}},
                        Path("m.toml"))


def frame(rn: list[str], iban: list[str]) -> pl.DataFrame:
    n = len(rn)
    return pl.DataFrame({"__row": list(range(1, n + 1)), "id": [str(i) for i in range(n)], "name": ["Коваль Іван"] * n,
                         "o": ["kyivska"] * n, "k": ["house"] * n, "a": ["50"] * n, "d": ["2023-05-01"] * n,
                         "rn": rn, "iban": iban})


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text("0123456789", min_size=9, max_size=11), min_size=1, max_size=40),
       st.lists(st.integers(0, 10**15), min_size=1, max_size=40), st.integers(0, 28))
def test_rnokpp_and_iban_agree_with_the_domain(rns, accounts, flip):
    good = [make_rnokpp(date(1960, 1, 1 + i % 28), i, i % 2 == 0) for i in range(len(rns))]
    rn = [x if i % 2 else good[i] for i, x in enumerate(rns)]
    ibans = [make_ua_iban("300528", a) for a in accounts]
    ibans = [x if i % 3 else x[:flip % 29] + ("7" if x[flip % 29:flip % 29 + 1] != "7" else "8") + x[flip % 29 + 1:]
             for i, x in enumerate(ibans)]
    n = min(len(rn), len(ibans))
    rn, ibans = rn[:n], ibans[:n]
    out = validate(frame(rn, ibans), MAPPING, date(2025, 1, 1))
    bad = {(r, f) for r, _, f, _ in out.rejects.rows()}
    for i in range(n):
        assert ((i + 1, "rnokpp") in bad) == (rnokpp_problem(rn[i]) is not None), rn[i]
        assert ((i + 1, "iban") in bad) == (not is_valid_iban(ibans[i])), ibans[i]
