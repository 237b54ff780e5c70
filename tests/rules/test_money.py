from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from everymetre.rules import format_uah, format_uah_uk, round_half_up_div, split_by_shares


def test_half_up_ties_go_up() -> None:
    assert round_half_up_div(5, 10) == 1
    assert round_half_up_div(4, 10) == 0
    assert round_half_up_div(15, 10) == 2
    assert round_half_up_div(25, 10) == 3  # not banker's rounding


@given(st.integers(0, 10**30), st.integers(1, 10**15))
def test_matches_decimal_round_half_up(n: int, d: int) -> None:
    expected = int((Decimal(n) / Decimal(d)).quantize(Decimal(1), rounding=ROUND_HALF_UP)) if n < 10**27 else None
    if expected is not None:
        assert round_half_up_div(n, d) == expected
    assert round_half_up_div(n, d) == int((Fraction(n, d) + Fraction(1, 2)).__floor__())


def test_same_function_on_arrays() -> None:
    n = np.array([0, 5, 15, 149, 150, 151], dtype=np.int64)
    assert round_half_up_div(n, 100).tolist() == [round_half_up_div(int(x), 100) for x in n] == [0, 0, 0, 1, 2, 2]


def test_refuses_negative_and_floats() -> None:
    with pytest.raises(ValueError):
        round_half_up_div(-1, 2)
    with pytest.raises(TypeError):
        round_half_up_div(1.5, 2)  # type: ignore[arg-type]


def test_split_thirds_and_halves() -> None:
    assert split_by_shares(100, [Fraction(1, 3)] * 3) == [34, 33, 33]
    assert split_by_shares(101, [Fraction(1, 2)] * 2) == [51, 50]  # tie: first listed
    assert split_by_shares(100, [Fraction(1, 6), Fraction(5, 6)]) == [17, 83]  # 16.67 -> 17, 83.33 -> 83


@given(st.integers(0, 10**12), st.lists(st.integers(1, 50), min_size=1, max_size=8))
def test_split_sums_exactly(total: int, weights: list[int]) -> None:
    shares = [Fraction(w, sum(weights)) for w in weights]
    parts = split_by_shares(total, shares)
    assert sum(parts) == total
    for p, s in zip(parts, shares, strict=True):
        assert abs(p - total * s) < 1


def test_formats() -> None:
    assert format_uah(349654400) == "UAH 3,496,544.00"
    assert format_uah_uk(349654400) == "3\u00a0496\u00a0544,00\u00a0грн"
