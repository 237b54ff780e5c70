"""Small-cell suppression for published tables (pure): no cell counting fewer than k people is shown, and no
suppressed cell can be worked out from the totals that are shown.

A table is published with its row totals, column totals and grand total. Put the totals in an extra row and
column with their sign flipped and every row and column of the extended grid sums to zero; the only linear
facts the published numbers give about the hidden cells are then exactly those row and column sums. Read
the hidden cells as the edges of a bipartite graph (a row node, a column node per cell): a hidden cell is
pinned down by the totals exactly when it lies on no cycle of hidden cells (it is a bridge); on a cycle it
can move by +1 and the next cell by -1 around the cycle with every total unchanged. So:

1. primary: every cell, totals included, with 0 < count < k is hidden;
2. complementary: while a row or column hides exactly one cell, or a hidden cell is a bridge, hide one more
   cell (the smallest count >= 1 that closes a cycle, inner cells before totals).

Complementary cells are chosen with counts >= 1 so that each cycle can move both ways: every hidden cell
then has at least three values consistent with everything published (tests/transparency attack this with
linear programming). Zero cells are shown: a zero names nobody.

Tables that share their totals row (one per breakdown, the national row being common) are protected
together: a totals cell hidden in one is hidden in all, until no table changes (`protect_linked`). Money
tables follow their count tables: a money cell is hidden wherever its count cell is, and then protected the
same way (`protect_money`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

Cell = tuple[int, int]


@dataclass
class Table:
    """Counts in rows x columns; `grid()` adds the totals row (last) and column (last)."""

    name: str
    rows: list[str]
    cols: list[str]
    cells: list[list[int]]
    hidden: set[Cell] = field(default_factory=set)  # cells of the grid (totals included) that are suppressed

    def grid(self) -> list[list[int]]:
        body = [list(r) + [sum(r)] for r in self.cells]
        ncols = len(self.cols)
        total = [sum(r[j] for r in self.cells) for j in range(ncols)]
        return body + [total + [sum(total)]]

    def published(self) -> list[list[int | None]]:
        """The grid as published: None where suppressed."""
        return [[None if (i, j) in self.hidden else v for j, v in enumerate(row)] for i, row in enumerate(self.grid())]


def _bridges(edges: set[Cell]) -> list[Cell]:
    """Edges (hidden cells) on no cycle of the bipartite row/column graph (Tarjan, iterative)."""
    adj: dict[tuple[str, int], list[tuple[tuple[str, int], Cell]]] = {}
    for r, c in edges:
        adj.setdefault(("r", r), []).append((("c", c), (r, c)))
        adj.setdefault(("c", c), []).append((("r", r), (r, c)))
    disc: dict[tuple[str, int], int] = {}
    low: dict[tuple[str, int], int] = {}
    out: list[Cell] = []
    counter = 0
    for start in sorted(adj):
        if start in disc:
            continue
        disc[start] = low[start] = counter
        counter += 1
        stack: list[tuple[tuple[str, int], Cell | None, int]] = [(start, None, 0)]
        while stack:
            node, via, i = stack.pop()
            if i < len(adj[node]):
                stack.append((node, via, i + 1))
                nxt, edge = adj[node][i]
                if edge == via:
                    continue
                if nxt in disc:
                    low[node] = min(low[node], disc[nxt])
                else:
                    disc[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append((nxt, edge, 0))
            elif via is not None:
                parent = ("r", via[0]) if node[0] == "c" else ("c", via[1])
                low[parent] = min(low[parent], low[node])
                if low[node] > disc[parent]:
                    out.append(via)
    return sorted(out)


def _component(edges: set[Cell], start: tuple[str, int]) -> set[tuple[str, int]]:
    seen = {start}
    todo = [start]
    while todo:
        kind, n = todo.pop()
        for r, c in edges:
            other = ("c", c) if kind == "r" and r == n else ("r", r) if kind == "c" and c == n else None
            if other is not None and other not in seen:
                seen.add(other)
                todo.append(other)
    return seen


def _pick(grid: list[list[int]], candidates: list[Cell]) -> Cell | None:
    """The cheapest complement: a count >= 1 before a zero, an inner cell before a total, the smallest count."""
    last_r, last_c = len(grid) - 1, len(grid[0]) - 1
    if not candidates:
        return None
    return min(candidates, key=lambda rc: (grid[rc[0]][rc[1]] == 0, rc[0] == last_r or rc[1] == last_c,
                                           grid[rc[0]][rc[1]], rc))


def protect(grid: Sequence[Sequence[int]], k: int, forced: set[Cell] = frozenset()) -> set[Cell]:  # type: ignore[assignment]
    """The cells of `grid` (totals as its last row and column) to suppress so that none under k shows and none
    hidden can be derived from the rest."""
    g = [list(r) for r in grid]
    nr, nc = len(g), len(g[0])
    hidden = {(i, j) for i in range(nr) for j in range(nc) if 0 < g[i][j] < k} | set(forced)
    while True:
        added = None
        for i in range(nr):  # a row hiding exactly one cell gives it away
            row = [(i, j) for j in range(nc) if (i, j) in hidden]
            if len(row) == 1:
                added = _pick(g, [(i, j) for j in range(nc) if (i, j) not in hidden]) or added
                break
        if added is None:
            for j in range(nc):
                col = [(i, j) for i in range(nr) if (i, j) in hidden]
                if len(col) == 1:
                    added = _pick(g, [(i, j) for i in range(nr) if (i, j) not in hidden])
                    break
        if added is None:
            bridges = _bridges(hidden)
            if not bridges:
                return hidden
            r, c = bridges[0]
            rest = hidden - {(r, c)}
            side_a = _component(rest, ("r", r))
            side_b = _component(rest, ("c", c))
            candidates = [(i, j) for i in range(nr) for j in range(nc) if (i, j) not in hidden
                          and ((("r", i) in side_a and ("c", j) in side_b) or (("r", i) in side_b and ("c", j) in side_a))]
            added = _pick(g, candidates)
            if added is None:  # nothing left to close a cycle with: hide the bridge's whole row and column
                added_all = {(r, j) for j in range(nc)} | {(i, c) for i in range(nr)}
                if added_all <= hidden:
                    raise ValueError("cannot protect the table")  # pragma: no cover (every cell already hidden)
                hidden |= added_all
                continue
        hidden.add(added)


def protect_linked(tables: Sequence[Table], k: int, forced: Sequence[set[Cell]] | None = None) -> None:
    """Protect tables that share their totals row (same columns, same column totals): a totals-row cell hidden
    in one is hidden in every one, repeated until none changes. `forced`: cells each table must hide anyway.
    Sets each table's `hidden`."""
    shared: set[int] = set()
    while True:
        for n, t in enumerate(tables):
            last = len(t.rows)
            t.hidden = protect(t.grid(), k, {(last, j) for j in shared} | (forced[n] if forced else set()))
        now = {j for t in tables for (i, j) in t.hidden if i == len(t.rows)}
        if now <= shared:
            return
        shared |= now


def protect_money(counts: Table, columns: Sequence[int], k: int) -> set[Cell]:
    """The suppression for a money table over `columns` of `counts` (same rows; its own totals): every cell
    whose count cell is hidden is hidden, small totals too, then complements as for counts."""
    sub = Table(counts.name, counts.rows, [counts.cols[j] for j in columns],
                [[row[j] for j in columns] for row in counts.cells])
    last = len(counts.rows)
    forced = {(i, n) for n, j in enumerate(columns) for i in range(last + 1) if (i, j) in counts.hidden}
    return protect(sub.grid(), k, forced)


def protect_groups(groups: dict[str, dict[str, int]], totals_hidden: set[str], k: int) -> tuple[set[tuple[str, str]], set[str]]:
    """One-level nested counts (hromadas within oblasts; each oblast's total published elsewhere): hide the
    small ones, and in a group hiding exactly one, the next smallest too; a group whose total is hidden hides
    every member. Returns the hidden members and the groups whose total must now be hidden as well (a group
    with a single member under k)."""
    hidden: set[tuple[str, str]] = set()
    must_hide_total: set[str] = set()
    for g, members in groups.items():
        if g in totals_hidden:
            hidden |= {(g, m) for m, v in members.items() if v > 0}
            continue
        small = {m for m, v in members.items() if 0 < v < k}
        if len(small) == 1:
            others = sorted((v == 0, v, m) for m, v in members.items() if m not in small)
            if others and not others[0][0]:
                small.add(others[0][2])
            else:
                must_hide_total.add(g)
        hidden |= {(g, m) for m in small}
    return hidden, must_hide_total
