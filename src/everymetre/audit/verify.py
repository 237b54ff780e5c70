"""Verifying the tamper-evident audit trail: recompute every chain, and compare it with published checkpoints."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, cast, func, literal, select
from sqlalchemy.orm import Session

from everymetre.audit.chain import StoredEvent, chain_problems
from everymetre.audit.models import AuditChain, AuditEvent
from everymetre.claims.models import Claim
from everymetre.store.types import utcnow


@dataclass
class VerifyReport:
    chains: int = 0
    events: int = 0
    problem: str | None = None


def checkpoint(session: Session) -> dict[str, Any]:
    """Every chain's head (sequence number and hash) now, and one digest over them all.

    Published outside the database (printed, sent to an auditor, posted daily), a checkpoint pins the trail:
    whoever can write to the database could rewrite a chain and recompute all its hashes, but not make the
    event at a published sequence number carry the published hash again.
    """
    heads = sorted(session.execute(select(AuditChain.chain, AuditChain.last_seq, AuditChain.last_hash)).all())
    digest = hashlib.sha256("".join(f"{c}\x1f{n}\x1f{h}\n" for c, n, h in heads).encode()).hexdigest()
    return {"format": "everymetre.audit.checkpoint/1", "at": utcnow().isoformat(), "chains": len(heads),
            "digest": digest, "heads": [[c, n, h] for c, n, h in heads]}


def checkpoint_problem(session: Session, published: dict[str, Any]) -> str | None:
    """None if every head in a published checkpoint is still in the trail with the same hash."""
    heads = published.get("heads")
    if published.get("format") != "everymetre.audit.checkpoint/1" or not isinstance(heads, list):
        return "the checkpoint file is not an everymetre audit checkpoint"
    digest = hashlib.sha256("".join(f"{c}\x1f{n}\x1f{h}\n" for c, n, h in heads).encode()).hexdigest()
    if digest != published.get("digest"):
        return "the checkpoint file itself was altered: its heads do not match its digest"
    pinned = {(c, n): h for c, n, h in heads if n}
    rows = session.execute(select(AuditEvent.chain, AuditEvent.seq, AuditEvent.hash).execution_options(yield_per=20000))
    for chain, seq, actual in rows:
        expected = pinned.pop((chain, seq), None)
        if expected is not None and expected != actual:
            return (f"chain {chain}: event seq {seq} no longer has the hash published in the checkpoint of "
                    f"{published.get('at')}: history before the checkpoint was rewritten")
    if pinned:
        (chain, seq), _ = next(iter(pinned.items()))
        return f"chain {chain}: event seq {seq}, published in the checkpoint of {published.get('at')}, was deleted"
    return None


def verify(session: Session, progress: Callable[[int], None] | None = None) -> VerifyReport:
    """Recompute every chain; stop at the first broken event. `progress(n)` is called per chain checked."""
    report = VerifyReport()
    heads = dict(session.execute(select(AuditChain.chain, AuditChain.last_seq)).all())
    head_hashes = dict(session.execute(select(AuditChain.chain, AuditChain.last_hash)).all())
    seen: set[str] = set()
    for chain, events in _chains(session):
        seen.add(chain)
        report.chains += 1
        report.events += len(events)
        problem = chain_problems(events, heads.get(chain), head_hashes.get(chain))
        if progress:
            progress(1)
        if problem:
            report.problem = problem
            return report
    for chain, last_seq in heads.items():
        if chain not in seen and last_seq:
            report.problem = f"chain {chain}: its head says {last_seq} events but none are stored (events were deleted)"
            return report
    missing = session.execute(
        select(Claim.id).where(~select(AuditChain.chain).where(
            AuditChain.chain == literal("claim:") + cast(Claim.id, String)).exists()).limit(1)
    ).scalar()
    if missing is not None:
        report.problem = f"chain claim:{missing}: the claim exists but its audit trail is gone"
    return report


def _chains(session: Session) -> Iterator[tuple[str, list[StoredEvent]]]:
    cols = (AuditEvent.id, AuditEvent.chain, AuditEvent.seq, AuditEvent.at, AuditEvent.actor_id, AuditEvent.action,
            AuditEvent.payload, AuditEvent.prev_hash, AuditEvent.hash)
    stmt = select(*cols).order_by(AuditEvent.chain, AuditEvent.seq).execution_options(yield_per=10000)
    current: str | None = None
    batch: list[StoredEvent] = []
    for row in session.execute(stmt):
        if row.chain != current:
            if current is not None:
                yield current, batch
            current, batch = row.chain, []
        batch.append(StoredEvent(*row))
    if current is not None:
        yield current, batch


def count_chains(session: Session) -> int:
    return session.execute(select(func.count()).select_from(AuditChain)).scalar_one()
