"""Recording a decision's document in the audit trail, and handing it to those who may see the claim."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.audit.models import AuditEvent
from everymetre.audit.record import claim_chain, record
from everymetre.kernel.errors import NotFound

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
    """(file name, PDF bytes, sha256) of the claim's latest decision document; NotFound if none or not visible."""
    from everymetre.claims.access import get_claim
    from everymetre.documents.decision_pdf import read

    claim = get_claim(session, principal, reference)
    payload = session.scalar(select(AuditEvent.payload).where(AuditEvent.chain == claim_chain(claim.id),
                                                              AuditEvent.action == ACTION)
                             .order_by(AuditEvent.seq.desc()).limit(1))
    if payload is None:
        raise NotFound(f"Claim {claim.reference} has no decision document yet.")
    digest = json.loads(payload)["sha256"]
    try:
        data = read(digest)
    except FileNotFoundError:
        raise NotFound(f"The decision document of claim {claim.reference} is not in this store's files.") from None
    return f"{claim.reference}-decision.pdf", data, digest
