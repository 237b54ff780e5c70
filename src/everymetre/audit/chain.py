"""Tamper-evident audit events: each event's hash covers its content and the previous event's hash.

Pure: the store keeps one chain per subject (a claim, a user, ...) so concurrent writes to different claims
never wait for each other; `chain_problems` recomputes a chain and names the first event that does not fit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    """One text for one value: sorted keys, no spaces, non-ASCII kept, dates as ISO strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


def timestamp(at: datetime) -> str:
    """The one text form of an event time that goes into the hash (UTC, microseconds)."""
    if at.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(prev_hash: str, chain: str, seq: int, at: datetime, actor_id: int | None, action: str, payload: str) -> str:
    h = hashlib.sha256()
    for part in (prev_hash, chain, str(seq), timestamp(at), "" if actor_id is None else str(actor_id), action, payload):
        h.update(part.encode())
        h.update(b"\x1f")
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: int
    chain: str
    seq: int
    at: datetime
    actor_id: int | None
    action: str
    payload: str
    prev_hash: str
    hash: str


def chain_problems(events: Iterable[StoredEvent], head_seq: int | None, head_hash: str | None) -> str | None:
    """None if the chain is intact; else a sentence naming the first event (by id and seq) that is broken."""
    prev = GENESIS
    expected_seq = 1
    last: StoredEvent | None = None
    for ev in events:
        if ev.seq != expected_seq:
            return f"chain {ev.chain}: event id {ev.id} has seq {ev.seq} but {expected_seq} was expected (an event was deleted)"
        if ev.prev_hash != prev:
            return f"chain {ev.chain}: event id {ev.id} (seq {ev.seq}) does not point to the previous event's hash"
        if event_hash(prev, ev.chain, ev.seq, ev.at, ev.actor_id, ev.action, ev.payload) != ev.hash:
            return f"chain {ev.chain}: event id {ev.id} (seq {ev.seq}) was altered: its content does not match its hash"
        prev = ev.hash
        expected_seq += 1
        last = ev
    last_seq = last.seq if last else 0
    if head_seq is None:
        return f"chain {last.chain if last else '?'}: events exist but the chain's head record is missing"
    if head_seq != last_seq or (head_hash or GENESIS) != prev:
        return f"chain {last.chain if last else '?'}: the last event (seq {last_seq}) is not the recorded head (seq {head_seq}): events were deleted or added"
    return None
