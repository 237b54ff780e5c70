"""Certificate reservations in the store (migration 0012_certificates): a notary's booking of one or more
housing certificates (co-owners combining theirs) against one home, with the seller, the property, the price
and the deadlines. The certificates it books point at it (`Certificate.reservation_id`); its states are
`payments.states.ReservationState` (the CHECK lists the same).

The paying agent's fund is not a table: allocations and reservations are ledger postings on ``agent_fund``
(`payments.certificate_fund`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from everymetre.store.base import Base
from everymetre.store.types import utcnow

_ID = BigInteger().with_variant(Integer, "sqlite")
RESERVATION_STATES = ("'review', 'queued', 'confirmed', 'ownership_terminated', 'contract_signed', 'completed', "
                      "'lapsed', 'refused', 'cancelled'")


class CertificateReservation(Base):
    __tablename__ = "certificate_reservations"
    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    state: Mapped[str] = mapped_column(String(24))
    notary_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    filed_at: Mapped[datetime] = mapped_column(default=utcnow)
    filed_on: Mapped[date] = mapped_column(Date)
    confirm_due: Mapped[date] = mapped_column(Date)  # the 5-working-day target for the agent's confirmation
    escalated_on: Mapped[date | None] = mapped_column(Date)  # the sweep escalated it: past confirm_due, not confirmed
    seller_name: Mapped[str] = mapped_column(String(140))
    seller_rnokpp: Mapped[str] = mapped_column(String(10))
    seller_iban: Mapped[str] = mapped_column(String(34))
    property_registry_number: Mapped[str] = mapped_column(String(40))
    property_address: Mapped[str] = mapped_column(String(300))
    property_katottg: Mapped[str] = mapped_column(String(19))
    property_area_m2: Mapped[Decimal] = mapped_column(Numeric(9, 2))
    property_kind: Mapped[str] = mapped_column(String(20))  # house | apartment
    price_kopiykas: Mapped[int] = mapped_column(BigInteger)
    certificates_kopiykas: Mapped[int] = mapped_column(BigInteger)  # the booked certificates' total value
    buyer_part_kopiykas: Mapped[int] = mapped_column(BigInteger, default=0)  # price above the total: the buyers pay it
    related_party: Mapped[bool] = mapped_column(Boolean, default=False)
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_on: Mapped[date | None] = mapped_column(Date)
    contract_due: Mapped[date | None] = mapped_column(Date)  # the last day to sign (30 days after confirmation)
    termination_extract: Mapped[str | None] = mapped_column(String(120))  # the register extract ending the old ownership
    termination_extract_on: Mapped[date | None] = mapped_column(Date)
    contract_number: Mapped[str | None] = mapped_column(String(60))
    contract_signed_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        CheckConstraint(f"state IN ({RESERVATION_STATES})", name="state"),
        CheckConstraint("price_kopiykas > 0 AND certificates_kopiykas > 0 AND buyer_part_kopiykas >= 0", name="amounts"),
        CheckConstraint("buyer_part_kopiykas = CASE WHEN price_kopiykas > certificates_kopiykas "
                        "THEN price_kopiykas - certificates_kopiykas ELSE 0 END", name="buyer_part"),
        Index("ix_certificate_reservations_queue", "state", "id"),
    )
