"""Staff work queues: one page of the claims a user may see, with sorting and counts that stay fast at scale.

Scoping and filtering come from `access.filtered_claims` (the same rule as the API's list); this module adds the
orderings a person works in and counts that never scan more than they must.

How a page stays independent of the table's size: a queue is a handful of (oblast, state) partitions, and each
sort has an index that starts with them ((oblast, state, id), (oblast, state, state_changed_at, id), ...). The
page is read as a UNION ALL of one ordered, LIMITed index scan per partition, merged in order (PostgreSQL's
Merge Append, SQLite's merge of co-routines): it reads about `offset + limit` index entries whatever the table
holds. Counts are bounded: each state's count and the filtered total stop at COUNT_CAP ("1,000+" on the page).
A maintained count table would give exact figures but costs a row lock on every intake and move (every
submission in one oblast would queue on one row) and must be kept right by every bulk writer (import, demo,
compute, linkage); a bounded count costs at most COUNT_CAP index entries per state and nothing on writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, func, literal, select, union_all
from sqlalchemy.orm import Session, lazyload

from everymetre.accounts.actions import Principal
from everymetre.accounts.roles import Role as AccountRole
from everymetre.claims import search
from everymetre.claims.access import QueueFilter, decode_cursor, encode_cursor, filtered_claims, visible_claims
from everymetre.claims.lifecycle import MOVES, Role, State
from everymetre.claims.models import Claim

COUNT_CAP = 1_000
SEARCH_CAP = 1_000  # a search sorted other than by claim id sorts its first this many matches
PER_PAGE = 50
SORTS = ("oldest", "newest", "waiting", "deadline")
MAX_PARTITIONS = 64  # more (oblast, state) pairs than this: split by state alone
ALL_STATES = [s.value for s in State]


def work_states(role: Role) -> list[str]:
    """The states a role can move claims out of: that role's default queue (from the lifecycle)."""
    states = {m.source for m in MOVES.values() if role in m.roles} - {State.DRAFT}
    return [s.value for s in State if s in states]


@dataclass
class QueuePage:
    rows: list[Claim]
    page: int
    has_next: bool
    total: int
    total_capped: bool
    state_counts: dict[str, int] = field(default_factory=dict)
    counts_capped: set[str] = field(default_factory=set)  # states with more than COUNT_CAP claims


def _sort_columns(sort: str) -> list[Any]:
    if sort == "waiting":
        return [Claim.state_changed_at, Claim.id]
    if sort == "deadline":
        return [Claim.suspension_deadline, Claim.submitted_at, Claim.id]
    return [Claim.id]


def _order(sort: str, cols) -> list:
    """ORDER BY over `cols` (the sort's columns, of the claims table or of the merged union)."""
    if sort == "newest":
        return [cols[0].desc()]
    if sort == "deadline":
        return [cols[0].asc().nulls_last(), cols[1].asc().nulls_last(), cols[2].asc()]
    return [c.asc() for c in cols]


def _partitions(principal: Principal, flt: QueueFilter) -> tuple[list[str | None], list[str]]:
    """The oblasts (None: not split by oblast) and states a queue is the union of."""
    states = sorted(set(flt.states)) if flt.states else ALL_STATES
    if flt.overdue:  # only claims whose clock runs have a due date
        from everymetre.sla.due import RUNNING

        states = [s for s in states if s in RUNNING]
    oblasts: list[str | None]
    if flt.oblasts:
        chosen = set(flt.oblasts) if principal.all_oblasts else set(flt.oblasts) & principal.oblasts
        oblasts = [o for o in sorted(chosen)]  # noqa: C416  (a list of str | None)
    elif not principal.all_oblasts:
        oblasts = [o for o in sorted(principal.oblasts)]  # noqa: C416
    else:
        oblasts = [None]
    if len(oblasts) * len(states) > MAX_PARTITIONS:  # nearly national: split by state, the oblasts filtered
        oblasts = [None]
    return oblasts, states


def ordered_ids(principal: Principal, flt: QueueFilter, sort: str, limit: int, offset: int = 0,
                after: int | None = None, now: datetime | None = None) -> Select:
    """SELECT of the ids of one page of the queue (`limit` rows after `offset`, or after the id `after` when
    sorted oldest first), read partition by partition from the indexes and merged in order."""
    cols = _sort_columns(sort)
    oblasts, states = _partitions(principal, flt)
    base = filtered_claims(principal, replace(flt, states=[], oblasts=[] if oblasts != [None] else flt.oblasts), now)
    if after is not None:
        base = base.where(Claim.id > after)
    if principal.role is AccountRole.CLAIMANT:  # own claims (few): one ordered scan
        stmt = filtered_claims(principal, flt, now)
        if after is not None:
            stmt = stmt.where(Claim.id > after)
        return stmt.with_only_columns(Claim.id).order_by(*_order(sort, cols)).offset(offset).limit(limit)
    if not oblasts or not states:
        return select(Claim.id).where(literal(False))
    branches = []
    for oblast in oblasts:
        for state in states:
            b = base.where(Claim.state == state)
            if oblast is not None:
                b = b.where(Claim.oblast == oblast)
            branches.append(b.with_only_columns(*cols).order_by(*_order(sort, cols)).limit(offset + limit).subquery())
    if len(branches) == 1:
        sub = branches[0]
    else:
        sub = union_all(*(select(*b.c) for b in branches)).subquery()
    merged = [sub.c[str(c.key)] for c in cols]
    return select(sub.c.id).order_by(*_order(sort, merged)).offset(offset).limit(limit)


def page_ids(session: Session, principal: Principal, flt: QueueFilter, sort: str, limit: int, offset: int = 0,
             after: int | None = None, now: datetime | None = None) -> list[int]:
    """The ids of one page of the queue: from the indexes (`ordered_ids`), or for a staff search from the word
    index (`search.matching_ids`, in claim-id order; sorted otherwise among the first SEARCH_CAP matches)."""
    if not _staff_search(principal, flt):
        return list(session.scalars(ordered_ids(principal, flt, sort, limit, offset, after, now)))
    return search_page(session, principal, flt, sort, limit, offset, after, now)[0]


def _staff_search(principal: Principal, flt: QueueFilter) -> bool:
    return bool(flt.q.strip()) and principal.role is not AccountRole.CLAIMANT


def _search_base(principal: Principal, flt: QueueFilter, now: datetime | None) -> Select | None:
    """The claims a staff search looks among: the queue's filters without the search, or None when nothing but
    the oblasts narrows them (the word index holds each claim's oblast: no claim row need be read)."""
    if replace(flt, q="", oblasts=[]) == QueueFilter():
        return None
    return filtered_claims(principal, replace(flt, q=""), now)


def search_page(session: Session, principal: Principal, flt: QueueFilter, sort: str, limit: int, offset: int = 0,
                after: int | None = None, now: datetime | None = None, count: int = 0) -> tuple[list[int], int]:
    """One page of a staff search's matches and how many match, counted up to `count` (0: not counted), from
    one walk of the word index: the page and the count read the same matches once."""
    base = _search_base(principal, flt, now)
    scope = search.scope_oblasts(None if principal.all_oblasts else principal.oblasts)
    if flt.oblasts:
        scope = [o for o in scope if o in set(flt.oblasts)]
    if sort in ("oldest", "newest"):
        desc = sort == "newest"
        if count <= offset + limit:  # not counted, or a page past the count: more than `count` if it has rows
            ids = search.matching_ids(session, base, flt.q, scope, limit, offset, after, descending=desc)
            if ids or not count:
                return ids, offset + len(ids)
            return ids, len(search.matching_ids(session, base, flt.q, scope, count, after=after))
        ids = search.matching_ids(session, base, flt.q, scope, count, after=after, descending=desc)
        return ids[offset:offset + limit], len(ids)
    ids = search.matching_ids(session, base, flt.q, scope, max(SEARCH_CAP, count), after=after)
    total, ids = len(ids), ids[:SEARCH_CAP]
    cols = _sort_columns(sort)
    stmt = select(Claim.id).where(Claim.id.in_(ids)).order_by(*_order(sort, cols)).offset(offset).limit(limit)
    return (list(session.scalars(stmt)) if ids else []), total


def queue_page(session: Session, principal: Principal, flt: QueueFilter, sort: str = "oldest", page: int = 1,
               per_page: int = PER_PAGE, now: datetime | None = None) -> QueuePage:
    page = max(1, page)
    offset = (page - 1) * per_page
    if _staff_search(principal, flt):  # the page and the count from one walk of the word index
        ids, total = search_page(session, principal, flt, sort, per_page + 1, offset, now=now, count=COUNT_CAP + 1)
    else:
        ids = page_ids(session, principal, flt, sort, per_page + 1, offset, now=now)
        total = capped_count(session, principal, flt, now)
    # Two steps: the page's ids from the indexes alone, then those claims with their homes.
    rows = load_rows(session, ids[:per_page])
    counts = state_counts(session, principal)
    return QueuePage(rows=rows, page=page, has_next=len(ids) > per_page, total=min(total, COUNT_CAP),
                     total_capped=total > COUNT_CAP, state_counts={s: min(n, COUNT_CAP) for s, n in counts.items()},
                     counts_capped={s for s, n in counts.items() if n > COUNT_CAP})


def load_rows(session: Session, ids: list[int]) -> list[Claim]:
    """These claims in this order, with their homes (a list shows no owners: they load only if asked for)."""
    if not ids:
        return []
    by_id = {c.id: c for c in session.scalars(select(Claim).options(lazyload(Claim.owners)).where(Claim.id.in_(ids)))}
    return [by_id[i] for i in ids if i in by_id]


def capped_count(session: Session, principal: Principal, flt: QueueFilter, now: datetime | None = None) -> int:
    """How many claims match, counted up to COUNT_CAP + 1 (more than COUNT_CAP: "1,000+"). Unordered, so the
    planner takes the cheapest index (the states are always named: every index on claims starts with oblast or
    state, and an (oblast, state) range is read index-only); it stops after COUNT_CAP + 1 matches."""
    _, states = _partitions(principal, flt)
    if not states:
        return 0
    if _staff_search(principal, flt):  # a search: its first COUNT_CAP + 1 matches
        return search_page(session, principal, replace(flt, states=states), "oldest", 0, now=now, count=COUNT_CAP + 1)[1]
    stmt = filtered_claims(principal, replace(flt, states=states), now).with_only_columns(Claim.id)
    return session.scalar(select(func.count()).select_from(stmt.limit(COUNT_CAP + 1).subquery())) or 0


def state_counts(session: Session, principal: Principal) -> dict[str, int]:
    """How many claims the principal may see in each state, each counted up to COUNT_CAP + 1: one statement of
    a bounded index-only count per state (on (oblast, state, id) or (state, id))."""
    if principal.role is AccountRole.CLAIMANT:
        stmt = visible_claims(principal).with_only_columns(Claim.state, func.count()).group_by(Claim.state)
        return dict(session.execute(stmt).tuples().all())
    row = session.execute(_counts_statement(None if principal.all_oblasts else tuple(sorted(principal.oblasts)))).one()
    return {s: n for s, n in zip(ALL_STATES, row, strict=True) if n}


@lru_cache(maxsize=256)
def _counts_statement(oblasts: tuple[str, ...] | None) -> Select:
    """The per-state bounded counts for staff of these oblasts (None: every oblast), built once per scope (its
    sixteen subqueries cost more to build than to run)."""
    counts = []
    for state in ALL_STATES:
        stmt = select(Claim.id).where(Claim.state == state)
        if oblasts is not None:
            stmt = stmt.where(Claim.oblast.in_(oblasts))
        sub = stmt.limit(COUNT_CAP + 1).subquery()
        counts.append(select(func.count()).select_from(sub).scalar_subquery().label(state))
    return select(*counts)


def list_claims(session: Session, principal: Principal, flt: QueueFilter, cursor: str | None = None,
                limit: int = 50, now: datetime | None = None) -> tuple[list[Claim], str | None]:
    """The API's list: oldest first, a page after the cursor (the last id of the page before), read like a queue."""
    after = decode_cursor(cursor) if cursor else None
    ids = page_ids(session, principal, flt, "oldest", limit + 1, after=after, now=now)
    rows = load_rows(session, ids[:limit])
    return rows, encode_cursor(ids[limit - 1]) if len(ids) > limit else None
