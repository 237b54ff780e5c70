"""Linkage tables in the store: runs, findings (with the claims they name) and reviewers' pair decisions.

No foreign keys between these tables and the claim tables except where rows must go with their claim
(``linkage_finding_claims``, ON DELETE CASCADE): a finding is evidence about the register and outlives a
run; decisions are keyed by record ids (as the linkage sees them) and, for remapping, by ownership ids.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from everymetre.store.base import Base
from everymetre.store.types import utcnow

#: override_requested: a commission member or admin asked to let the claims through (money would move: a second
#: person must agree); overridden: let through, the finding no longer holds its claims (like dismissed)
FINDING_STATUSES = ("open", "confirmed", "dismissed", "override_requested", "overridden")
#: statuses of a finding that no longer holds its claims
RELEASED_STATUSES = ("dismissed", "overridden")
DECISIONS = ("match", "not_a_match")

_ID = BigInteger().with_variant(Integer, "sqlite")


class LinkageRun(Base):
    __tablename__ = "linkage_runs"
    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default="running")  # running | finished | failed
    model_path: Mapped[str | None] = mapped_column(String(500))
    model_hash: Mapped[str | None] = mapped_column(String(64))
    trained: Mapped[bool] = mapped_column(default=False)
    threshold: Mapped[float] = mapped_column(Float)  # match probability for person pairs
    flag_score: Mapped[float] = mapped_column(Float)  # findings at or above this score flag their claims
    records: Mapped[int] = mapped_column(Integer, default=0)
    claims: Mapped[int] = mapped_column(Integer, default=0)
    pairs: Mapped[int] = mapped_column(Integer, default=0)
    decisions_applied: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict[str, Any] | None] = mapped_column()  # findings per kind, new, flagged, cleared ...
    timings: Mapped[dict[str, Any] | None] = mapped_column()  # seconds per phase
    error: Mapped[str | None] = mapped_column(Text)


class LinkageFinding(Base):
    __tablename__ = "linkage_findings"
    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)  # sha256(kind | sorted record ids)
    kind: Mapped[str] = mapped_column(String(40))
    score: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20), default="open")  # FINDING_STATUSES
    claim_ids: Mapped[list[Any]] = mapped_column()
    claim_refs: Mapped[list[Any]] = mapped_column()
    record_ids: Mapped[list[Any]] = mapped_column()
    evidence: Mapped[dict[str, Any]] = mapped_column()  # the kind's evidence + the linking person pairs
    first_run_id: Mapped[int] = mapped_column(BigInteger)
    last_run_id: Mapped[int] = mapped_column(BigInteger, index=True)  # current while == the latest run
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column()
    review_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_linkage_findings_status_score", "status", "score"),)


class LinkageFindingClaim(Base):
    """Which claims a finding names, with their oblast: the scoping join for staff lists."""

    __tablename__ = "linkage_finding_claims"
    finding_id: Mapped[int] = mapped_column(ForeignKey("linkage_findings.id", ondelete="CASCADE"), primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), primary_key=True, index=True)
    oblast: Mapped[str] = mapped_column(String(40))

    __table_args__ = (Index("ix_linkage_finding_claims_oblast", "oblast", "finding_id"),)


class LinkageReviewDecision(Base):
    """A reviewer's decision on a pair of person records; record_id_a < record_id_b; the latest wins."""

    __tablename__ = "linkage_review_decisions"
    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    record_id_a: Mapped[str] = mapped_column(String(160))
    record_id_b: Mapped[str] = mapped_column(String(160))
    ownership_id_a: Mapped[int | None] = mapped_column(BigInteger)  # to follow a record if its id is re-spelt
    ownership_id_b: Mapped[int | None] = mapped_column(BigInteger)
    decision: Mapped[str] = mapped_column(String(20))  # match | not_a_match
    finding_id: Mapped[int | None] = mapped_column(BigInteger)
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (UniqueConstraint("record_id_a", "record_id_b", name="uq_linkage_review_decisions_pair"),)
