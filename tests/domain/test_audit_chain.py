from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from everymetre.audit.chain import GENESIS, StoredEvent, canonical_json, chain_problems, event_hash

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def build(payloads: list[dict]) -> list[StoredEvent]:
    out, prev = [], GENESIS
    for i, p in enumerate(payloads, start=1):
        text = canonical_json(p)
        at = T0 + timedelta(seconds=i)
        h = event_hash(prev, "claim:1", i, at, 5, "x", text)
        out.append(StoredEvent(i, "claim:1", i, at, 5, "x", text, prev, h))
        prev = h
    return out


@given(st.lists(st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=10), max_size=4), min_size=1, max_size=8),
       st.data())
def test_any_edit_or_deletion_is_found(payloads, data):
    events = build(payloads)
    head = (events[-1].seq, events[-1].hash)
    assert chain_problems(events, *head) is None
    i = data.draw(st.integers(0, len(events) - 1))
    edited = list(events)
    e = edited[i]
    edited[i] = StoredEvent(e.id, e.chain, e.seq, e.at, e.actor_id, e.action, e.payload + " ", e.prev_hash, e.hash)
    assert f"event id {e.id}" in chain_problems(edited, *head)
    deleted = events[:i] + events[i + 1:]
    assert chain_problems(deleted, *head) is not None
