"""The programme's public statistics, computed from the store and suppressed before anything leaves it.

Every filed claim (not drafts) falls in exactly one outcome category now, so each breakdown is an additive
table (its rows and columns add up to published totals) that `suppression` can protect exactly:

  in_progress  filed, not yet decided           approved  awarded, not yet paid
  paid         awarded and a payment booked     rejected  refused (at first or on appeal)
  appealed     a decision under appeal now      closed    withdrawn or a duplicate

The breakdowns by oblast, by month filed (Europe/Kyiv) and by claim kind (with the payout kind it leads to)
share the national row and are protected together; money (awarded but unpaid, and paid) follows the count
cells. Hromadas are published as claims filed, nested in their oblast's total. Counts are of claims: each
names at least one person, so a cell of k claims or more covers k people or more.
"""

from __future__ import annotations

import statistics as pystats
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from everymetre.claims.models import Claim, Decision, Property
from everymetre.kernel.geography import OBLASTS
from everymetre.payments.models import Certificate, Payment
from everymetre.transparency.suppression import (
    Table,
    protect,
    protect_groups,
    protect_linked,
)

KYIV = ZoneInfo("Europe/Kyiv")
CATEGORIES = ("in_progress", "approved", "paid", "rejected", "appealed", "closed")
MONEY_COLUMNS = ("approved", "paid")  # money awarded (unpaid) and money paid follow these count columns
CERTIFICATE_STATES = ("outstanding", "redeemed", "lapsed")
CLAIM_KINDS = ("damage_report", "repair_application", "destroyed_housing_application")
PAYOUT_KIND = {"damage_report": "repair", "repair_application": "repair", "destroyed_housing_application": "certificate"}
_IN_PROGRESS = {"submitted", "auto_checked", "assigned", "suspended", "inspection_scheduled", "inspected",
                "remote_verified", "assessed"}
_AWARD_STATES = {"approved", "upheld", "revised"}
OBLAST_NAMES = {o.code: (o.name_uk, o.name_en) for o in OBLASTS}


@dataclass
class Published:
    """One published table: labels, and the grid (totals as last row and column) with None where hidden."""

    name: str
    dimension: str  # oblast | month | claim_kind | hromada | ...
    unit: str  # claims | kopiykas | certificates
    rows: list[str]
    cols: list[str]
    values: list[list[int | None]]
    row_groups: list[str] = field(default_factory=list)  # for hromadas: each row's oblast

    def records(self) -> list[dict[str, object]]:
        """Long form: one record per row (the totals row included, named 'total')."""
        out = []
        for i, row in enumerate(self.values):
            label = self.rows[i] if i < len(self.rows) else "total"
            rec: dict[str, object] = {self.dimension: label}
            if self.row_groups:
                rec["oblast"] = self.row_groups[i] if i < len(self.row_groups) else "total"
            rec.update({c: row[j] for j, c in enumerate(self.cols)})
            if len(row) > len(self.cols):
                rec["total"] = row[-1]
            out.append(rec)
        return out


@dataclass
class Timeliness:
    group: str  # an oblast code (its commission) or "total"
    decided: int | None
    median_days: float | None
    within_30_share: float | None  # 0..1


@dataclass
class Statistics:
    k: int
    tables: dict[str, Published]
    timeliness: list[Timeliness]
    as_of: datetime


@dataclass
class _Row:
    oblast: str
    hromada: str
    kind: str
    month: str
    category: str
    awarded: int
    paid: int
    days: float | None


def _category(state: str, awarded: int | None, paid: int) -> str | None:
    if state == "draft":
        return None
    if state in _IN_PROGRESS:
        return "in_progress"
    if state == "appealed":
        return "appealed"
    if state in ("withdrawn", "duplicate"):
        return "closed"
    if state in _AWARD_STATES and (awarded or 0) > 0:
        return "paid" if paid > 0 else "approved"
    return "rejected"


def _rows(session: Session) -> list[_Row]:
    paid = dict(session.execute(select(Payment.claim_id, func.sum(Payment.amount_kopiykas))
                                .where(Payment.state == "booked").group_by(Payment.claim_id)).all())
    first = dict(session.execute(select(Decision.claim_id, func.min(Decision.decided_at))
                                 .where(Decision.stage == "first").group_by(Decision.claim_id)).all())
    q = (select(Claim.id, Claim.oblast, Property.hromada, Claim.kind, Claim.state, Claim.submitted_at, Claim.created_at,
                Claim.awarded_amount_kopiykas)
         .join(Property, Property.id == Claim.property_id).where(Claim.state != "draft"))
    out = []
    for cid, oblast, hromada, kind, state, submitted, created, awarded in session.execute(q).yield_per(20_000):
        p = int(paid.get(cid) or 0)
        cat = _category(state, awarded, p)
        if cat is None:
            continue
        filed = submitted or created
        decided = first.get(cid)
        if isinstance(decided, str):  # an aggregate may come back untyped on SQLite
            decided = datetime.fromisoformat(decided)
        if decided is not None and decided.tzinfo is None:
            decided = decided.replace(tzinfo=UTC)
        days = (decided - filed).total_seconds() / 86400 if decided is not None else None
        out.append(_Row(oblast, hromada, kind, filed.astimezone(KYIV).strftime("%Y-%m"), cat,
                        int(awarded or 0) if cat in ("approved", "paid") else 0, p if cat == "paid" else 0, days))
    return out


def _count_table(name: str, dimension: str, rows: list[_Row], key: str, order: list[str] | None = None) -> Table:
    labels = order or sorted({getattr(r, key) for r in rows})
    index = {lab: i for i, lab in enumerate(labels)}
    cells = [[0] * len(CATEGORIES) for _ in labels]
    for r in rows:
        cells[index[getattr(r, key)]][CATEGORIES.index(r.category)] += 1
    return Table(name, labels, list(CATEGORIES), cells)


def _money(t: Table, rows: list[_Row], key: str) -> tuple[list[list[int]], list[list[int]]]:
    """Money cells (approved: awarded unpaid; paid: paid) and their counts, in t's row order."""
    index = {lab: i for i, lab in enumerate(t.rows)}
    money = [[0, 0] for _ in t.rows]
    for r in rows:
        i = index[getattr(r, key)]
        if r.category == "approved":
            money[i][0] += r.awarded
        elif r.category == "paid":
            money[i][1] += r.paid
    counts = [[row[CATEGORIES.index(c)] for c in MONEY_COLUMNS] for row in t.cells]
    return money, counts


def _published(t: Table, dimension: str, unit: str, values: list[list[int]] | None = None,
               hidden: set[tuple[int, int]] | None = None) -> Published:
    grid = Table(t.name, t.rows, t.cols, values).grid() if values is not None else t.grid()
    hide = t.hidden if hidden is None else hidden
    return Published(t.name, dimension, unit, list(t.rows), list(t.cols),
                     [[None if (i, j) in hide else v for j, v in enumerate(row)] for i, row in enumerate(grid)])


def compute(session: Session, k: int) -> Statistics:
    rows = _rows(session)
    oblast_order = [o.code for o in OBLASTS if any(r.oblast == o.code for r in rows)]
    oblast_order += sorted({r.oblast for r in rows} - set(oblast_order))
    by = {
        "oblast": _count_table("claims_by_oblast", "oblast", rows, "oblast", oblast_order),
        "month": _count_table("claims_by_month", "month", rows, "month"),
        "kind": _count_table("claims_by_kind", "claim_kind", rows, "kind", [c for c in CLAIM_KINDS if any(r.kind == c for r in rows)]
                             + sorted({r.kind for r in rows} - set(CLAIM_KINDS))),
    }
    counts = list(by.values())
    # hromadas nested in their oblast's published total; iterate until both agree
    groups: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        groups[r.oblast][r.hromada] += 1
    forced_totals: set[str] = set()
    while True:
        _protect_with(counts, k, by["oblast"], forced_totals)
        ob = by["oblast"]
        last = len(CATEGORIES)
        hidden_totals = {ob.rows[i] for i, j in ob.hidden if j == last and i < len(ob.rows)}
        hromada_hidden, more = protect_groups({g: dict(m) for g, m in groups.items()}, hidden_totals, k)
        if more <= hidden_totals:
            break
        forced_totals |= more
    # money tables, linked through their national row as the count tables are
    money_tables, money_values = [], []
    for key, t in by.items():
        values, cnt = _money(t, rows, key)
        sub = Table(t.name.replace("claims_", "money_"), t.rows, list(MONEY_COLUMNS), cnt)
        money_tables.append(sub)
        money_values.append(values)
    forced = [{(i, n) for n, c in enumerate(MONEY_COLUMNS) for i in range(len(t.rows) + 1)
               if (i, CATEGORIES.index(c)) in t.hidden} for t in counts]
    protect_linked(money_tables, k, forced)
    tables = {t.name: _published(t, d, "claims") for t, d in zip(counts, ("oblast", "month", "claim_kind"), strict=True)}
    for t, values, d in zip(money_tables, money_values, ("oblast", "month", "claim_kind"), strict=True):
        tables[t.name] = _published(t, d, "kopiykas", values)
    tables["claims_by_hromada"] = _hromadas(groups, hromada_hidden, oblast_order)
    tables["certificates_by_oblast"] = _certificates(session, k, oblast_order)
    return Statistics(k, tables, _timeliness(rows, k, oblast_order, tables["claims_by_oblast"]), datetime.now(KYIV))


def _protect_with(tables: list[Table], k: int, oblast: Table, forced_totals: set[str]) -> None:
    extra: list[set[tuple[int, int]]] = [set() for _ in tables]
    extra[tables.index(oblast)] = {(oblast.rows.index(g), len(CATEGORIES)) for g in forced_totals}
    protect_linked(tables, k, extra)


def _hromadas(groups: dict[str, dict[str, int]], hidden: set[tuple[str, str]], order: list[str]) -> Published:
    rows, group_of, values = [], [], []
    for g in order:
        for h in sorted(groups.get(g, {})):
            rows.append(h)
            group_of.append(g)
            values.append([None if (g, h) in hidden else groups[g][h]])
    return Published("claims_by_hromada", "hromada", "claims", rows, ["filed"], values, group_of)


def _certificates(session: Session, k: int, order: list[str]) -> Published:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    q = select(Claim.oblast, Certificate.state, func.count()).join(Claim, Claim.id == Certificate.claim_id) \
        .group_by(Claim.oblast, Certificate.state)
    for oblast, state, n in session.execute(q):
        if state == "revoked":  # replaced by a revision or overturned: not a certificate anyone holds
            continue
        col = 1 if state == "redeemed" else 2 if state in ("expired", "reservation_lapsed") else 0
        counts[oblast][col] += n
    labels = [o for o in order if o in counts] + sorted(set(counts) - set(order))
    t = Table("certificates_by_oblast", labels, list(CERTIFICATE_STATES), [counts[o] for o in labels])
    t.hidden = protect(t.grid(), k) if labels else set()
    return _published(t, "oblast", "certificates")


DECIDED = ("approved", "paid", "rejected", "appealed")  # the categories of claims that have a first decision


def _timeliness(rows: list[_Row], k: int, order: list[str], oblasts: Published) -> list[Timeliness]:
    """Per oblast (its commission) and nationally: claims decided, the median days to the first decision and
    the share decided within 30 days.

    The number decided is the sum of the oblast's approved, paid, rejected and under-appeal cells, so it is
    shown only where those four are shown in `claims_by_oblast` (it then says nothing new); the share splits
    it into within 30 days and later, so it is shown only where both parts are 0 or at least k. Where the
    national share is shown and exactly one oblast's is not, that oblast's would follow by subtraction: the
    national share is hidden then too."""
    per: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if r.days is not None and r.category in DECIDED:  # so that n is exactly the sum of those four cells
            per[r.oblast].append(r.days)
    groups = [o for o in order if per.get(o)]
    index = {o: i for i, o in enumerate(oblasts.rows)}
    cols = [oblasts.cols.index(c) for c in DECIDED]

    def row_for(g: str, days: list[float]) -> Timeliness:
        published = oblasts.values[index[g] if g != "total" else -1]
        if not days or any(published[j] is None for j in cols):
            return Timeliness(g, None, None, None)
        n = len(days)
        within = sum(1 for d in days if d <= 30)
        share = round(within / n, 4) if all(x == 0 or x >= k for x in (within, n - within)) else None
        return Timeliness(g, n, round(pystats.median(days), 1), share)

    out = [row_for(g, per[g]) for g in groups]
    national = row_for("total", [d for g in groups for d in per[g]])
    if national.within_30_share is not None and sum(1 for x in out if x.within_30_share is None) == 1:
        national.within_30_share = None
    return [*out, national]
