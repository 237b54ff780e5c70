"""Every statement the staff queue and GET /api/v1/claims run, for every filter and sort they offer, is planned
on an index: no sequential scan of `claims` or of the search's word index (PostgreSQL, planned with sequential scans discouraged, so a Seq
Scan means no index can serve the query) and no `SCAN claims` without an index (SQLite's EXPLAIN QUERY PLAN;
the one allowed is the rowid scan that serves ORDER BY id with a LIMIT, SQLite's primary-key order).

The statements are captured as the real functions run them (queue_page, list_claims, the per-oblast overdue
counts), then explained with the same parameters."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event

from everymetre.claims.access import QueueFilter
from everymetre.claims.queue import SORTS, list_claims, queue_page, work_states
from everymetre.sla.overdue import overdue_by_oblast
from everymetre.store.db import is_postgres
from everymetre.store.types import utcnow

FILTERS: dict[str, QueueFilter] = {
    "none": QueueFilter(),
    "one state": QueueFilter(states=["assigned"]),
    "work states": QueueFilter(states=work_states("officer")),  # type: ignore[arg-type]
    "oblast": QueueFilter(oblasts=["kharkivska"]),
    "oblast and states": QueueFilter(oblasts=["kyivska"], states=["assigned", "suspended"]),
    "kind": QueueFilter(kinds=["destroyed_housing_application"]),
    "priority": QueueFilter(priority=["combatant", "disability"]),
    "waiting": QueueFilter(min_days_waiting=10),
    "deadline": QueueFilter(deadline_within_days=7, states=["suspended"]),
    "flagged": QueueFilter(review_flagged=True),
    "not flagged": QueueFilter(review_flagged=False),
    "mine": QueueFilter(assigned_to_me=True),
    "overdue": QueueFilter(overdue=True),
    "overdue in an oblast": QueueFilter(overdue=True, oblasts=["kharkivska"], states=["assigned"]),
    "search words": QueueFilter(q="Шевченко Олена"),
    "search reference": QueueFilter(q="EM-2026-0000001"),
    "search a prefix": QueueFilter(q="Шевч"),
    "search an address": QueueFilter(q="Сумська 12 Харків", states=["assigned"]),
    "search common words": QueueFilter(q="вул. Сумська 1"),  # every word counted: sampled, then one joined statement
    "everything": QueueFilter(states=["assigned"], oblasts=["kharkivska"], kinds=["repair_application"],
                              priority=["combatant"], min_days_waiting=1, review_flagged=False, overdue=True),
}
PRINCIPALS = ("officer", "officer_lviv", "auditor", "commission")


def capture(db):
    seen: list[tuple[str, object]] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        if (re.search(r"\b(claims|claim_search_words)\b", statement)
                and statement.lstrip().upper().startswith(("SELECT", "WITH"))):
            seen.append((statement, parameters))

    return seen, listener


def problems(db, statements) -> list[str]:
    conn = db.connection()
    raw = conn.connection.driver_connection
    out = []
    postgres = is_postgres(db.get_bind())
    cur = raw.cursor()
    if postgres:
        cur.execute("SET enable_seqscan = off")
    for statement, params in statements:
        if postgres:
            cur.execute("EXPLAIN " + statement, params)
            plan = "\n".join(r[0] for r in cur.fetchall())
            bad = re.search(r"Seq Scan on (claims|claim_search_words)\b", plan)
        else:
            cur.execute("EXPLAIN QUERY PLAN " + statement, params)
            rows = [r[3] for r in cur.fetchall()]
            plan = "\n".join(rows)
            full = [r for r in rows if re.fullmatch(r"SCAN claims( AS \w+)?", r)]
            rowid_order = (re.search(r"ORDER BY claims\.id( ASC| DESC)?\s+LIMIT", statement) is not None
                           and "USE TEMP B-TREE FOR ORDER BY" not in plan)
            bad = full and not rowid_order
        if bad:
            out.append(f"{statement}\n{params}\n{plan}")
    if postgres:
        cur.execute("RESET enable_seqscan")
    return out


@pytest.mark.parametrize("who", PRINCIPALS)
def test_every_queue_statement_uses_an_index(db, principal, client, auth, who):
    from tests.store.test_claims_api import file_claim

    file_claim(client, auth)  # one claim, so the pages have rows to load
    p = principal(who)
    seen, listener = capture(db)
    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", listener)
    try:
        for flt in FILTERS.values():
            for sort in SORTS:
                queue_page(db, p, flt, sort=sort, page=1)
            queue_page(db, p, flt, page=3)
            list_claims(db, p, flt)
            list_claims(db, p, flt, cursor="12345", limit=10)
        overdue_by_oblast(db, utcnow() + timedelta(days=40), cached=False)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(seen) > 4 * len(FILTERS)
    bad = problems(db, seen)
    assert not bad, f"{len(bad)} of {len(seen)} statements scan claims without an index; the first:\n{bad[0]}"


def test_the_check_catches_a_scan(db):
    """The check itself fails on a query no index serves (a filter on the description)."""
    from sqlalchemy import select

    from everymetre.claims.models import Claim

    stmt = select(Claim.id).where(Claim.description == "x")
    compiled = stmt.compile(db.get_bind())
    params = compiled.params
    if is_postgres(db.get_bind()):
        sql = str(compiled)
    else:
        sql = str(compiled).replace(":description_1", "?")
        params = ("x",)
    assert problems(db, [(sql, params)])
