"""The audit trail's tables: events (one hash chain per subject) and each chain's head."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from everymetre.store.base import Base


class AuditChain(Base):
    """The head of one subject's audit chain; its row is the per-subject lock for appending."""

    __tablename__ = "audit_chains"
    chain: Mapped[str] = mapped_column(String(60), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class AuditEvent(Base):
    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    chain: Mapped[str] = mapped_column(String(60))
    seq: Mapped[int] = mapped_column(Integer)
    claim_id: Mapped[int | None] = mapped_column(BigInteger)  # no FK: the trail outlives the row; read by chain
    actor_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(60))
    at: Mapped[datetime] = mapped_column()
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON: before, after, reason, ...
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("chain", "seq", name="uq_audit_events_chain_seq"),
                      Index("ix_audit_events_actor_id", "actor_id"),  # the audit search: what one person did
                      Index("ix_audit_events_at", "at"))
