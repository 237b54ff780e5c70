"""The public log of decisions and payment batches: leaves built from the store, appended by `sync`, signed
tree heads, and the proofs the public API serves.

No existing action writes here: `sync` (run by `everymetre log sync`, e.g. every few minutes) appends every
decision and every exported payment batch not yet in the log, in the order they happened, then signs a head
for the new size. A leaf is never changed: if a decision's row is edited afterwards, the leaf built from the
store no longer matches the logged one and `everymetre log verify` names it.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from everymetre.audit.chain import canonical_json
from everymetre.claims.lifecycle import STANDING_AWARDS
from everymetre.claims.models import Claim, Decision
from everymetre.config import Settings
from everymetre.kernel.identifiers import claim_reference
from everymetre.payments.models import PaymentBatch
from everymetre.store.db import is_postgres
from everymetre.store.tx import atomic
from everymetre.transparency import merkle
from everymetre.transparency.models import LogLeaf, TreeHead
from everymetre.transparency.signing import SignedHead, log_key, sign

LEAF_VERSION = 1
_LOCK_KEY = 0x656D6C6F67  # "emlog": the advisory lock that serialises appends on PostgreSQL


@dataclass(frozen=True, slots=True)
class Entry:
    """A leaf as built from the store: what it records and its exact bytes."""

    kind: str
    ref_id: int
    reference: str
    at: datetime
    leaf: str

    @property
    def leaf_hash(self) -> str:
        return merkle.leaf_hash(self.leaf.encode()).hex()


def decision_hash(reference: str, d: Decision) -> str:
    """SHA-256 over the whole decision record (reasons, inputs and results included, which the leaf itself
    does not publish): a change to any part of the decision changes its leaf."""
    record = {"reference": reference, "decision": d.id, "stage": d.stage, "outcome": d.outcome,
              "amount_kopiykas": d.amount_kopiykas, "reasons": d.reasons, "decided_by": d.decided_by_id,
              "decided_at": d.decided_at, "ruleset_hash": d.ruleset_hash, "rule_inputs": d.rule_inputs,
              "rule_result": d.rule_result}
    return hashlib.sha256(canonical_json(record).encode()).hexdigest()


def decision_entry(reference: str, d: Decision) -> Entry:
    leaf = {"v": LEAF_VERSION, "kind": "decision", "reference": reference, "decision": d.id, "stage": d.stage,
            "outcome": d.outcome, "amount_kopiykas": d.amount_kopiykas, "ruleset_hash": d.ruleset_hash,
            "decided_on": d.decided_at.date().isoformat(), "decision_hash": decision_hash(reference, d)}
    return Entry("decision", d.id, reference, d.decided_at, canonical_json(leaf))


def batch_entry(b: PaymentBatch) -> Entry:
    assert b.exported_at is not None and b.file_sha256 is not None
    leaf = {"v": LEAF_VERSION, "kind": "batch", "batch": b.id, "message_id": b.message_id, "count": b.count,
            "total_kopiykas": b.total_kopiykas, "file_sha256": b.file_sha256,
            "requested_on": b.requested_on.isoformat()}
    return Entry("batch", b.id, b.message_id, b.exported_at, canonical_json(leaf))


def _decisions(session: Session, only_new: bool) -> Iterator[Entry]:
    q = (select(Decision, Claim.ref_year).join(Claim, Claim.id == Decision.claim_id)
         .where(Decision.approval.in_(STANDING_AWARDS))  # an award waiting for a second member is not yet a decision
         .order_by(Decision.decided_at, Decision.id))
    if only_new:
        logged = select(LogLeaf.ref_id).where(LogLeaf.kind == "decision")
        q = q.where(Decision.id.not_in(logged))
    for d, year in session.execute(q).yield_per(5000):
        yield decision_entry(claim_reference(year, d.claim_id), d)


def _batches(session: Session, only_new: bool) -> Iterator[Entry]:
    q = (select(PaymentBatch).where(PaymentBatch.file_sha256.is_not(None), PaymentBatch.exported_at.is_not(None))
         .order_by(PaymentBatch.exported_at, PaymentBatch.id))
    if only_new:
        q = q.where(PaymentBatch.id.not_in(select(LogLeaf.ref_id).where(LogLeaf.kind == "batch")))
    for b in session.scalars(q):
        yield batch_entry(b)


def store_entries(session: Session, only_new: bool = False) -> list[Entry]:
    """Every decision and exported batch as the store holds it now (or only those not yet logged)."""
    entries = [*_decisions(session, only_new), *_batches(session, only_new)]
    entries.sort(key=lambda e: (e.at, e.kind, e.ref_id))
    return entries


def leaf_hashes(session: Session, size: int | None = None) -> list[bytes]:
    q = select(LogLeaf.leaf_hash).order_by(LogLeaf.index)
    if size is not None:
        q = q.where(LogLeaf.index < size)
    return [bytes.fromhex(h) for h in session.scalars(q)]


def tree(session: Session, size: int | None = None) -> merkle.Tree:
    return merkle.Tree(leaf_hashes(session, size))


_served: dict[str, tuple[int, str, merkle.Tree]] = {}  # database URL -> (head size, head root, its tree)
_served_lock = threading.Lock()


def served_tree(session: Session, settings: Settings, size: int) -> merkle.Tree:
    """The tree the public API proves against: for sizes up to the latest signed head, one tree per worker,
    loaded once per new head (and kept only if it gives the signed root); beyond it, read afresh."""
    head = latest_head(session, settings)
    if head is None or size > head.tree_size:
        return tree(session, size)
    url = session.get_bind().engine.url.render_as_string(hide_password=False)
    with _served_lock:
        cached = _served.get(url)
        if cached is not None and cached[:2] == (head.tree_size, head.root_hash):
            return cached[2]
        t = merkle.Tree(leaf_hashes(session, head.tree_size), memo_min=256)
        if t.root().hex() == head.root_hash:
            _served[url] = (head.tree_size, head.root_hash, t)
        return t


def log_size(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(LogLeaf)) or 0


def _head(row: TreeHead, origin: str) -> SignedHead:
    return SignedHead(origin, row.tree_size, row.root_hash, row.timestamp_ms, row.key_id, row.signature)


def latest_head(session: Session, settings: Settings) -> SignedHead | None:
    row = session.scalars(select(TreeHead).order_by(TreeHead.tree_size.desc()).limit(1)).first()
    return _head(row, settings.log_origin) if row else None


def head_at(session: Session, settings: Settings, size: int) -> SignedHead | None:
    row = session.get(TreeHead, size)
    return _head(row, settings.log_origin) if row else None


def heads(session: Session, settings: Settings) -> list[SignedHead]:
    return [_head(r, settings.log_origin) for r in session.scalars(select(TreeHead).order_by(TreeHead.tree_size))]


@dataclass(frozen=True, slots=True)
class SyncReport:
    appended: int
    tree_size: int
    head: SignedHead


def sync(session: Session, settings: Settings, now_ms: int | None = None) -> SyncReport:
    """Append every decision and exported batch not yet logged, then sign a head for the new size (one
    transaction; appends are serialised, so two syncs at once never give two leaves one index)."""
    key = log_key(settings)
    with atomic(session):
        if is_postgres(session):
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        start = log_size(session)
        new = store_entries(session, only_new=True)
        rows = [{"index": start + i, "kind": e.kind, "ref_id": e.ref_id, "reference": e.reference, "leaf": e.leaf,
                 "leaf_hash": e.leaf_hash} for i, e in enumerate(new)]
        for i in range(0, len(rows), 5000):
            session.execute(insert(LogLeaf), rows[i:i + 5000])
        size = start + len(new)
        existing = session.get(TreeHead, size)
        if existing is not None:
            head = _head(existing, settings.log_origin)
        else:
            root = tree(session, size).root().hex()
            stamp = now_ms if now_ms is not None else int(time.time() * 1000)
            last = session.scalar(select(func.max(TreeHead.timestamp_ms)))
            if last is not None and stamp <= last:  # heads never go back in time
                stamp = last + 1
            head = sign(key, settings.log_origin, size, root, stamp)
            session.add(TreeHead(tree_size=size, root_hash=root, timestamp_ms=stamp, key_id=head.key_id,
                                 signature=head.signature))
    return SyncReport(len(new), size, head)


def leaf_dict(row: LogLeaf) -> dict[str, Any]:
    return {"index": row.index, "kind": row.kind, "reference": row.reference, "leaf": row.leaf,
            "leaf_hash": row.leaf_hash}


def leaves_for(session: Session, reference: str) -> list[dict[str, Any]]:
    rows = session.scalars(select(LogLeaf).where(LogLeaf.reference == reference).order_by(LogLeaf.index))
    return [leaf_dict(r) for r in rows]


def leaf_at(session: Session, index: int) -> dict[str, Any] | None:
    row = session.get(LogLeaf, index)
    return leaf_dict(row) if row else None


def leaf_indexes(session: Session) -> dict[tuple[str, int], tuple[int, str]]:
    """(kind, ref id) -> (index, leaf hash) for every logged leaf."""
    rows = session.execute(select(LogLeaf.kind, LogLeaf.ref_id, LogLeaf.index, LogLeaf.leaf_hash))
    return {(k, r): (i, h) for k, r, i, h in rows}
