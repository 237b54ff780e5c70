"""The public log in the store (migration 0002_transparency): its leaves, append-only, and its signed heads.

A leaf is the exact canonical JSON text that was hashed; it is written once by `log.sync` and never updated.
A tree head is kept per tree size, with its timestamp and Ed25519 signature, so any published head can be
re-derived (and re-signed, Ed25519 being deterministic) from the leaves.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from everymetre.store.base import Base
from everymetre.store.types import utcnow

_ID = BigInteger().with_variant(Integer, "sqlite")


class LogLeaf(Base):
    __tablename__ = "transparency_leaves"
    index: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=False)  # 0, 1, 2, ... no gaps
    kind: Mapped[str] = mapped_column(String(10))  # decision | batch
    ref_id: Mapped[int] = mapped_column(BigInteger)  # decisions.id or payment_batches.id
    reference: Mapped[str] = mapped_column(String(40))  # the claim reference or the batch's message id
    leaf: Mapped[str] = mapped_column(Text)  # canonical JSON; its UTF-8 bytes are the leaf data
    leaf_hash: Mapped[str] = mapped_column(String(64))  # hex SHA-256(0x00 || leaf)
    appended_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("kind", "ref_id", name="uq_transparency_leaves_kind_ref"),
        CheckConstraint("kind IN ('decision', 'batch')", name="kind"),
        Index("ix_transparency_leaves_reference", "reference"),
    )


class TreeHead(Base):
    __tablename__ = "transparency_tree_heads"
    tree_size: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=False)
    root_hash: Mapped[str] = mapped_column(String(64))
    timestamp_ms: Mapped[int] = mapped_column(BigInteger)  # milliseconds since 1970 UTC, as signed
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(100))  # base64 Ed25519 signature of the signed text
