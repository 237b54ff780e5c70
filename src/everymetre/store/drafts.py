"""The in-progress application form, kept server-side between steps (one row per unfinished form).

The form's answers live here until they make a valid claim; from then on the row also points at the draft
claim (state `draft`), which is what the services, the audit trail and the evidence files attach to.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from everymetre.store.models import Base
from everymetre.store.types import utcnow


class ClaimDraft(Base):
    __tablename__ = "claim_drafts"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), unique=True)
    step: Mapped[str] = mapped_column(String(20), default="home")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
