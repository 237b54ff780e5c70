"""Recording a decision's document in the audit trail, and handing it to those who may see the claim."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.audit.models import AuditChain, AuditEvent
from everymetre.audit.record import claim_chain, record
from everymetre.claims.lifecycle import STANDING_AWARDS
from everymetre.kernel.errors import NotFound
from everymetre.store.db import is_postgres

ACTION = "decision.document"


def record_document(session: Session, claim_id: int, outcome: str) -> None:
    """Make the latest decision's PDF and record its SHA-256 on the claim's chain (same transaction)."""
    from everymetre.documents.decision_pdf import issue

    made = issue(session, claim_id)
    if made is not None:
        digest, size = made
        record(session, claim_chain(claim_id), ACTION, None, {"sha256": digest, "bytes": size, "outcome": outcome},
               claim_id=claim_id)


def latest(session: Session, principal: Principal, reference: str) -> tuple[str, bytes, str]:
    """(file name, PDF bytes, sha256) of the claim's latest decision document; NotFound if none or not visible.

    A decision made in bulk (claims.bulk: the demo's, a commission's list) has no document until it is first
    asked for: it is made then, by the same renderer from the same rows (`record_document`), stored, and its
    hash recorded on the claim's chain in that request's transaction, so every later download serves the same
    bytes. So is a later decision (an appeal's, decided in bulk) whose claim has only an earlier one's."""
    from everymetre.claims.access import get_claim
    from everymetre.documents.decision_pdf import read

    claim = get_claim(session, principal, reference)
    digest = current_digest(session, claim.id)
    if digest is None:
        digest = _make_on_first_download(session, claim.id)
    if digest is None:
        raise NotFound(f"Claim {claim.reference} has no decision document yet.")
    try:
        data = read(digest)
    except FileNotFoundError:
        raise NotFound(f"The decision document of claim {claim.reference} is not in this store's files.") from None
    return f"{claim.reference}-decision.pdf", data, digest


def current_digest(session: Session, claim_id: int) -> str | None:
    """The SHA-256 of the claim's document of its latest decision, from the trail; None if there is none yet
    (no document, or a decision recorded after the last one: its `claim.transition` event comes later)."""
    chain = claim_chain(claim_id)
    doc = session.execute(select(AuditEvent.seq, AuditEvent.payload).where(AuditEvent.chain == chain,
                                                                          AuditEvent.action == ACTION)
                          .order_by(AuditEvent.seq.desc()).limit(1)).first()
    if doc is None:
        return None
    later = session.scalars(select(AuditEvent.payload).where(AuditEvent.chain == chain, AuditEvent.seq > doc.seq,
                                                              AuditEvent.action == "claim.transition"))
    if any(_decides(json.loads(p)) for p in later):
        return None
    return str(json.loads(doc.payload)["sha256"])


def _decides(payload: dict[str, Any]) -> bool:
    from everymetre.claims.lifecycle import DECIDED

    return "decision" in payload and payload.get("to") in {s.value for s in DECIDED}


def _make_on_first_download(session: Session, claim_id: int) -> str | None:
    """Make the latest standing decision's document and record its hash (one `decision.document` event), in
    one transaction; None if the claim has no standing decision. Two first downloads at once make it once:
    the claim's chain head is locked (PostgreSQL; SQLite's write lock is taken by `atomic`) and looked at again."""
    from everymetre.claims.models import Decision
    from everymetre.store.tx import atomic

    with atomic(session):
        head = select(AuditChain.last_seq).where(AuditChain.chain == claim_chain(claim_id))
        session.execute(head.with_for_update() if is_postgres(session) else head)
        if (digest := current_digest(session, claim_id)) is not None:
            return digest  # made meanwhile by another request
        outcome = session.scalar(select(Decision.outcome).where(
            Decision.claim_id == claim_id, Decision.approval.in_(STANDING_AWARDS)).order_by(Decision.id.desc()).limit(1))
        if outcome is None:
            return None
        record_document(session, claim_id, outcome)  # what the one-claim decision does: `decision_pdf.issue`
        return current_digest(session, claim_id)
