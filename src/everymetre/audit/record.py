"""Appending to the tamper-evident audit trail: the only writer of audit rows (hashes: `audit.chain`).

Every write in everymetre calls `record()` inside its own transaction, so the change and its audit event
commit or roll back together. One chain per subject ("claim:42", "user:7"): appends lock only that chain's
head row, so writes to different claims never serialise on a global lock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from everymetre.audit.chain import GENESIS, NewEvent, chain_rows
from everymetre.audit.models import AuditChain, AuditEvent
from everymetre.notifications.hook import wants as notifies
from everymetre.store.bulk import insert_rows, unnest_insert, update_rows
from everymetre.store.types import utcnow

_CHUNK = 5000  # chains per head lookup (bound parameters)

__all__ = ["NewEvent", "append_bulk", "claim_chain", "events_for_claim", "record", "record_many", "user_chain"]


def claim_chain(claim_id: int) -> str:
    return f"claim:{claim_id}"


def user_chain(user_id: int) -> str:
    return f"user:{user_id}"


def record(session: Session, chain: str, action: str, actor_id: int | None, payload: dict[str, Any],
           claim_id: int | None = None, at: datetime | None = None) -> None:
    """Append one event to `chain` (created on first use)."""
    record_many(session, chain, [NewEvent(action, payload, actor_id, at)], claim_id=claim_id)


def record_many(session: Session, chain: str, events: list[NewEvent], claim_id: int | None = None,
                new_chain: bool = False) -> None:
    """Append events to `chain`, locking its head row; `new_chain=True` when the subject was just created."""
    head = None if new_chain else session.execute(
        select(AuditChain.last_seq, AuditChain.last_hash).where(AuditChain.chain == chain).with_for_update()
    ).first()
    seq, prev = (head.last_seq, head.last_hash) if head else (0, GENESIS)
    rows, seq, prev = chain_rows(chain, events, utcnow(), claim_id, seq, prev)
    # Core statements on the tables: one INSERT for all the events (the ORM's bulk path would split them by
    # which values are None), and no ORM machinery on a path every write takes.
    chains = AuditChain.__table__
    if session.get_bind().dialect.name == "postgresql":
        # the events and the head move in one statement (a data-modifying CTE): one round trip, not two
        sql, params = unnest_insert(session, AuditEvent.__table__, rows, "e_")
        move = ("UPDATE audit_chains SET last_seq = :last_seq, last_hash = :last_hash WHERE chain = :chain" if head
                else "INSERT INTO audit_chains (chain, last_seq, last_hash) VALUES (:chain, :last_seq, :last_hash)")
        session.execute(text(f"WITH new_events AS ({sql}) {move}"),
                        {**params, "chain": chain, "last_seq": seq, "last_hash": prev})
    else:
        session.execute(AuditEvent.__table__.insert(), rows)
        if head:
            session.execute(chains.update().where(chains.c.chain == chain).values(last_seq=seq, last_hash=prev))
        else:
            session.execute(chains.insert().values(chain=chain, last_seq=seq, last_hash=prev))
    if any(notifies(e.action, e.payload) for e in events):  # the outbox, in the same transaction
        from everymetre.notifications.outbox import enqueue_from_audit

        enqueue_from_audit(session, chain, rows, [e.payload for e in events], claim_id)


def append_bulk(conn: Connection | Session, events: Mapping[str, Sequence[NewEvent]],
                claim_ids: Mapping[str, int | None] | None = None, at: datetime | None = None,
                new_chains: bool = False) -> None:
    """Append events to many chains at once, for bulk work (assessment, linkage, demo data): the heads of
    existing chains are read in chunks (locked on PostgreSQL) and moved with one executemany; chains seen for
    the first time are created. `new_chains=True` when every chain is new (skips reading heads). Events someone
    must hear about are queued in the notifications outbox as `record_many` does, for all chains at once."""
    if not events:
        return
    at = at or utcnow()
    claim_ids = claim_ids or {}
    chains = sorted(events)
    heads: dict[str, tuple[int, str]] = {}
    postgres = (conn.get_bind() if isinstance(conn, Session) else conn).dialect.name == "postgresql"
    if not new_chains:
        for i in range(0, len(chains), _CHUNK):
            stmt = select(AuditChain.chain, AuditChain.last_seq, AuditChain.last_hash).where(
                AuditChain.chain.in_(chains[i:i + _CHUNK]))
            if postgres:
                stmt = stmt.with_for_update()
            heads.update({r.chain: (r.last_seq, r.last_hash) for r in conn.execute(stmt)})
    rows: list[dict[str, Any]] = []
    created: list[dict[str, Any]] = []
    moved: list[dict[str, Any]] = []
    told: list[tuple[str, list[dict[str, Any]], list[dict[str, Any]], int | None]] = []
    for chain in chains:
        seq, prev = heads.get(chain, (0, GENESIS))
        new_rows, last_seq, last_hash = chain_rows(chain, events[chain], at, claim_ids.get(chain), seq, prev)
        rows.extend(new_rows)
        if any(notifies(e.action, e.payload) for e in events[chain]):
            told.append((chain, new_rows, [e.payload for e in events[chain]], claim_ids.get(chain)))
        (moved if chain in heads else created).append({"chain": chain, "last_seq": last_seq, "last_hash": last_hash})
    # set-based: COPY on PostgreSQL, the driver's executemany on SQLite (store.bulk)
    insert_rows(conn, AuditEvent.__table__, rows)
    t = AuditChain.__table__
    insert_rows(conn, t, created)
    if update_rows(conn, t, ["chain"], moved) != len(moved):
        raise RuntimeError("audit chain heads moved while appending in bulk")  # read under lock above: cannot happen
    if told:  # the outbox, in the same transaction, for all the chains at once
        from everymetre.notifications.outbox import enqueue_from_audit_many

        enqueue_from_audit_many(conn, told)


def events_for_claim(session: Session, claim_id: int) -> list[AuditEvent]:
    return list(session.scalars(
        select(AuditEvent).where(AuditEvent.chain == claim_chain(claim_id)).order_by(AuditEvent.seq)
    ))


