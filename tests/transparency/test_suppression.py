"""Try to recover suppressed cells from what is published, by linear programming over every published
number (cells, row, column and grand totals, of every linked table at once) and non-negativity: for each
hidden cell, the smallest and largest value consistent with the publication. It must never be pinned down."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from everymetre.transparency.suppression import (
    Table,
    _bridges,
    protect,
    protect_groups,
    protect_linked,
    protect_money,
)


def attack(tables: list[Table], shared_totals: bool) -> dict[tuple[int, int, int], tuple[float, float, int]]:
    """(table, row, col) -> (min, max, true value) for every hidden cell, from everything published."""
    var: dict[tuple[int, int, int], int] = {}
    grids = [t.grid() for t in tables]

    def key(ti: int, i: int, j: int) -> tuple[int, int, int]:
        if shared_totals and i == len(tables[ti].rows):
            return (-1, -1, j)  # one national totals row, the same numbers in every table
        return (ti, i, j)

    for ti, t in enumerate(tables):
        for (i, j) in t.hidden:
            var.setdefault(key(ti, i, j), len(var))
    if not var:
        return {}
    rows_eq, rhs = [], []

    def add(cells: list[tuple[int, int, int, int]]) -> None:  # (table, row, col, sign): sum sign*x = 0
        coef = np.zeros(len(var))
        const = 0.0
        for ti, i, j, s in cells:
            k = key(ti, i, j)
            if k in var and (i, j) in tables[ti].hidden:
                coef[var[k]] += s
            else:
                const += s * grids[ti][i][j]
        rows_eq.append(coef)
        rhs.append(-const)

    for ti, t in enumerate(tables):
        nr, nc = len(t.rows), len(t.cols)
        for i in range(nr + 1):
            add([(ti, i, j, 1) for j in range(nc)] + [(ti, i, nc, -1)])
        for j in range(nc + 1):
            add([(ti, i, j, 1) for i in range(nr)] + [(ti, nr, j, -1)])
    A, b = np.array(rows_eq), np.array(rhs)
    out = {}
    truth = {}
    for ti, t in enumerate(tables):
        for (i, j) in t.hidden:
            truth[key(ti, i, j)] = grids[ti][i][j]
    for k, idx in var.items():
        c = np.zeros(len(var))
        c[idx] = 1
        lo = linprog(c, A_eq=A, b_eq=b, bounds=(0, None), method="highs")
        hi = linprog(-c, A_eq=A, b_eq=b, bounds=(0, None), method="highs")
        assert lo.status == 0 and hi.status in (0, 3)  # 3: unbounded (everything around it hidden too)
        out[k] = (lo.fun, float("inf") if hi.status == 3 else -hi.fun, truth[k])
    return out


def assert_safe(tables: list[Table], k: int, shared: bool = False) -> None:
    for t in tables:
        for row in t.published():
            assert all(v is None or v == 0 or v >= k for v in row), (t.name, t.published())
    for cell, (lo, hi, v) in attack(tables, shared).items():
        assert lo <= v - 1 + 1e-6 and hi >= v + 1 - 1e-6, f"{cell}: true {v} narrowed to [{lo}, {hi}]"


@st.composite
def tables(draw: st.DrawFn) -> Table:
    nr, nc = draw(st.integers(1, 6)), draw(st.integers(1, 5))
    small = st.one_of(st.integers(0, 12), st.integers(0, 60))
    cells = [[draw(small) for _ in range(nc)] for _ in range(nr)]
    return Table("t", [f"r{i}" for i in range(nr)], [f"c{j}" for j in range(nc)], cells)


@settings(max_examples=120, deadline=None)
@given(tables(), st.integers(2, 12))
def test_no_suppressed_cell_can_be_recovered(t: Table, k: int) -> None:
    t.hidden = protect(t.grid(), k)
    assert not _bridges(t.hidden)
    assert_safe([t], k)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 3), st.integers(0, 2)), min_size=1, max_size=120),
       st.integers(3, 10))
def test_linked_tables_sharing_the_national_row_protect_each_other(records, k) -> None:
    """The same records by two breakdowns (oblast-like and month-like) x the same categories."""
    by_a = [[sum(1 for a, _, c in records if a == i and c == j) for j in range(3)] for i in range(5)]
    by_b = [[sum(1 for _, b, c in records if b == i and c == j) for j in range(3)] for i in range(4)]
    ta = Table("a", [str(i) for i in range(5)], ["x", "y", "z"], by_a)
    tb = Table("b", [str(i) for i in range(4)], ["x", "y", "z"], by_b)
    protect_linked([ta, tb], k)
    assert ta.grid()[-1] == tb.grid()[-1]
    assert {j for i, j in ta.hidden if i == 5} == {j for i, j in tb.hidden if i == 4}
    assert_safe([ta, tb], k, shared=True)


def test_a_known_table_and_what_an_attacker_sees() -> None:
    t = Table("oblast x outcome", ["a", "b", "c"], ["approved", "rejected"], [[40, 3], [25, 30], [18, 22]])
    t.hidden = protect(t.grid(), 10)
    pub = t.published()
    assert pub[0][1] is None  # the 3
    assert sum(v is None for row in pub for v in row) >= 4  # a rectangle at least
    assert pub[3][2] == 138  # the grand total stays
    assert_safe([t], 10)
    # without the complements the 3 would be plain from its row total
    naive = Table(t.name, t.rows, t.cols, t.cells, {(0, 1)})
    (lo, hi, v), = attack([naive], False).values()
    assert lo == hi == v == 3


def test_money_follows_counts() -> None:
    counts = Table("n", ["a", "b", "c", "d"], ["unpaid", "paid", "other"], [[12, 4, 30], [15, 20, 9], [30, 40, 50], [11, 11, 11]])
    counts.hidden = protect(counts.grid(), 10)
    money_hidden = protect_money(counts, [0, 1], 10)
    for (i, j) in counts.hidden:
        if j in (0, 1):
            assert (i, j) in money_hidden
    money = Table("uah", counts.rows, ["unpaid", "paid"], [[r[0] * 1000 + 7, r[1] * 999] for r in counts.cells], money_hidden)
    for cell, (lo, hi, v) in attack([money], False).items():
        assert hi - lo >= 1, cell


def test_nested_groups() -> None:
    groups = {"kharkivska": {"Харків": 300, "Ізюм": 4, "Балаклія": 25}, "lvivska": {"Львів": 3},
              "kyivska": {"Буча": 50, "Ірпінь": 0, "Гостомель": 2}}
    hidden, total_too = protect_groups(groups, set(), 10)
    assert ("kharkivska", "Ізюм") in hidden and ("kharkivska", "Балаклія") in hidden
    assert ("kyivska", "Буча") in hidden and ("kyivska", "Ірпінь") not in hidden  # zeros are never partners
    assert ("lvivska", "Львів") in hidden and total_too == {"lvivska"}  # no partner: the oblast total must go too
    hidden, _ = protect_groups(groups, {"lvivska"}, 10)
    assert ("lvivska", "Львів") in hidden


@pytest.mark.parametrize("seed", range(5))
def test_larger_random_tables(seed: int) -> None:
    rnd = random.Random(seed)
    t = Table("big", [str(i) for i in range(25)], [str(j) for j in range(6)],
              [[rnd.choice([0, 1, 2, 5, 9, 14, 40, 200]) for _ in range(6)] for _ in range(25)])
    t.hidden = protect(t.grid(), 10)
    assert_safe([t], 10)
