"""Tamper-evident audit events: each event's hash covers its content and the previous event's hash.

Pure: the store keeps one chain per subject (a claim, a user, ...) so concurrent writes to different claims
never wait for each other; `chain_problems` recomputes a chain and names the first event that does not fit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    """One text for one value: sorted keys, no spaces, non-ASCII kept, dates as ISO strings."""
    return _ENCODER.encode(value)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


@lru_cache(maxsize=256)
def timestamp(at: datetime) -> str:
    """The one text form of an event time that goes into the hash (UTC, microseconds). Cached: a bulk writer
    gives thousands of events one time (strftime was a tenth of a linkage run's audit writing)."""
    if at.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default), its encoder made
# once (json.dumps makes one per call when given options)
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)

SEP = "\x1f"


def _hash_input(prev_hash: str, chain: str, seq: int, at_text: str, actor_text: str, action: str, payload: str) -> bytes:
    """The bytes an event's hash covers: the one place that knows the format (each part followed by 0x1F)."""
    return f"{prev_hash}{SEP}{chain}{SEP}{seq}{SEP}{at_text}{SEP}{actor_text}{SEP}{action}{SEP}{payload}{SEP}".encode()


def event_hash(prev_hash: str, chain: str, seq: int, at: datetime, actor_id: int | None, action: str, payload: str) -> str:
    actor = "" if actor_id is None else str(actor_id)
    return hashlib.sha256(_hash_input(prev_hash, chain, seq, timestamp(at), actor, action, payload)).hexdigest()


def event_hashes(prev_hashes: Sequence[str] | str, chains: Sequence[str], seq: int, at: datetime, actor_id: int | None,
                 action: str, payloads: Sequence[str] | str) -> list[str]:
    """`event_hash` for many events at once that share seq, time, actor and action (bulk writers: the
    importer); a str for `prev_hashes` or `payloads` stands for every event."""
    n = len(chains)
    prevs = [prev_hashes] * n if isinstance(prev_hashes, str) else prev_hashes
    texts = [payloads] * n if isinstance(payloads, str) else payloads
    ts, actor, sha = timestamp(at), "" if actor_id is None else str(actor_id), hashlib.sha256
    return [sha(_hash_input(p, c, seq, ts, actor, action, x)).hexdigest() for p, c, x in zip(prevs, chains, texts, strict=True)]


@dataclass(frozen=True, slots=True)
class NewEvent:
    action: str
    payload: dict[str, Any]
    actor_id: int | None
    at: datetime | None = None
    text: str | None = None  # canonical_json(payload), when a bulk writer rendered it already (column-wise)


def chain_rows(chain: str, events: Iterable[NewEvent], at: datetime, claim_id: int | None = None, seq: int = 0,
               prev_hash: str = GENESIS) -> tuple[list[dict[str, Any]], int, str]:
    """The audit_events rows for `events` appended to `chain` after (seq, prev_hash); returns the rows and the
    chain's new head (seq, hash). Events without their own time take `at`."""
    rows = []
    for ev in events:
        seq += 1
        when = ev.at or at
        payload = ev.text if ev.text is not None else canonical_json(ev.payload)
        h = event_hash(prev_hash, chain, seq, when, ev.actor_id, ev.action, payload)  # its time's text cached
        rows.append(dict(chain=chain, seq=seq, claim_id=claim_id, actor_id=ev.actor_id, action=ev.action, at=when,
                         payload=payload, prev_hash=prev_hash, hash=h))
        prev_hash = h
    return rows, seq, prev_hash


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
