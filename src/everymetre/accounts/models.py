"""Accounts: staff and claimant users and the oblasts a staff user works in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from everymetre.store.base import Base
from everymetre.store.types import utcnow


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    all_oblasts: Mapped[bool] = mapped_column(Boolean, default=False)
    locale: Mapped[str] = mapped_column(String(5), default="uk")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    oblasts: Mapped[list[UserOblast]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def oblast_codes(self) -> frozenset[str]:
        return frozenset(o.oblast for o in self.oblasts)


class UserOblast(Base):
    __tablename__ = "user_oblasts"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    oblast: Mapped[str] = mapped_column(String(40), primary_key=True)
