"""The relational schema (SQLAlchemy 2 typed models). Changes go through Alembic migrations.

Money is BIGINT kopiykas; times are timezone-aware UTC; areas are exact decimals (m², 2 places).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from everymetre.kernel.identifiers import claim_reference
from everymetre.store.base import Base
from everymetre.store.types import utcnow


class Person(Base):
    __tablename__ = "persons"
    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200))  # in Ukrainian, as in the passport
    full_name_latin: Mapped[str | None] = mapped_column(String(200))
    birth_date: Mapped[date | None] = mapped_column(Date)
    rnokpp: Mapped[str | None] = mapped_column(String(10), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))  # not indexed: no query looks a person up by it
    email: Mapped[str | None] = mapped_column(String(254))
    iban: Mapped[str | None] = mapped_column(String(34))  # (linkage reads them all; every index costs each write)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Property(Base):
    __tablename__ = "properties"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # house | apartment | room
    oblast: Mapped[str] = mapped_column(String(40))
    hromada: Mapped[str] = mapped_column(String(120))
    street: Mapped[str] = mapped_column(String(200))
    building: Mapped[str] = mapped_column(String(20))
    apartment: Mapped[str | None] = mapped_column(String(20))
    registry_number: Mapped[str | None] = mapped_column(String(40), index=True)
    total_area_m2: Mapped[Decimal] = mapped_column(Numeric(9, 2))
    year_built: Mapped[int | None] = mapped_column(SmallInteger)
    rooms: Mapped[int | None] = mapped_column(SmallInteger)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    common_parts_damaged: Mapped[bool | None] = mapped_column(Boolean)
    own_street_entrance: Mapped[bool | None] = mapped_column(Boolean)
    heritage: Mapped[bool] = mapped_column(Boolean, default=False)

    def address_line(self) -> str:
        apt = f", кв. {self.apartment}" if self.apartment else ""
        return f"{self.street}, {self.building}{apt}, {self.hromada}"


class Claim(Base):
    __tablename__ = "claims"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    ref_year: Mapped[int] = mapped_column(SmallInteger)
    kind: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(30))
    version: Mapped[int] = mapped_column(Integer, default=1)
    oblast: Mapped[str] = mapped_column(String(40))  # the property's, kept here for queues and scoping
    property_id: Mapped[int] = mapped_column(ForeignKey("properties.id"))
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    filed_as_representative: Mapped[bool] = mapped_column(Boolean, default=False)
    channel: Mapped[str] = mapped_column(String(20), default="portal")  # portal | cnap | notary | import
    source: Mapped[str | None] = mapped_column(String(60))
    source_record_id: Mapped[str | None] = mapped_column(String(120))
    damage_date: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text, default="")
    priority_mask: Mapped[int] = mapped_column(SmallInteger, default=0)  # bits of domain.claims.PriorityGroup
    is_redamage: Mapped[bool] = mapped_column(Boolean, default=False)
    previous_claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column()
    assessed_amount_kopiykas: Mapped[int | None] = mapped_column(BigInteger)
    awarded_amount_kopiykas: Mapped[int | None] = mapped_column(BigInteger)
    suspension_deadline: Mapped[date | None] = mapped_column(Date)
    documents_requested: Mapped[list[Any] | None] = mapped_column()
    inspection_date: Mapped[date | None] = mapped_column(Date)
    review_flag: Mapped[str | None] = mapped_column(String(40))  # set by linkage findings
    assessment: Mapped[dict[str, Any] | None] = mapped_column()  # rules' decision record: hash, facts, result
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column()
    state_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the decision clock (sla.due): the last day for a decision while it runs (NULL: suspended, not submitted
    # or decided), and the days spent suspended so far
    decision_due_on: Mapped[date | None] = mapped_column(Date)
    decision_paused_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    home: Mapped[Property] = relationship(lazy="joined", innerjoin=True)  # the damaged property
    owners: Mapped[list[Ownership]] = relationship(back_populates="claim", cascade="all, delete-orphan", lazy="selectin")
    # the document a representative filed with (claims.representatives); None when the owner filed
    power_of_attorney: Mapped[PowerOfAttorney | None] = relationship(cascade="all, delete-orphan", uselist=False)

    __mapper_args__ = {"version_id_col": version}  # every UPDATE checks the version it read: lost updates are impossible
    __table_args__ = (
        Index("ix_claims_queue", "oblast", "state", "id"),
        Index("ix_claims_state_id", "state", "id"),
        Index("ix_claims_waiting", "state_changed_at", "id"),  # staff queue sorted by "waiting longest"
        Index("ix_claims_deadline", "suspension_deadline", "submitted_at", "id"),  # ... by "nearest deadline"
        # one ordered range per (oblast, state) partition of a queue, for each sort (claims.queue)
        Index("ix_claims_queue_waiting", "oblast", "state", "state_changed_at", "id"),
        Index("ix_claims_queue_deadline", "oblast", "state", "suspension_deadline", "submitted_at", "id"),
        Index("ix_claims_state_waiting", "state", "state_changed_at", "id"),
        Index("ix_claims_state_deadline", "state", "suspension_deadline", "submitted_at", "id"),
        # overdue claims per oblast (sla.due): only claims whose clock runs are in it
        Index("ix_claims_overdue", "oblast", "decision_due_on", postgresql_where=text("decision_due_on IS NOT NULL"),
              sqlite_where=text("decision_due_on IS NOT NULL")),
        UniqueConstraint("source", "source_record_id", name="uq_claims_source_record"),
        Index("ix_claims_property_id", "property_id"),  # the same-home check at submission, from the property
    )

    @property
    def reference(self) -> str:
        return claim_reference(self.ref_year, self.id)


class Ownership(Base):
    __tablename__ = "ownerships"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    share_numerator: Mapped[int] = mapped_column(Integer)
    share_denominator: Mapped[int] = mapped_column(Integer)
    is_applicant: Mapped[bool] = mapped_column(Boolean, default=False)

    claim: Mapped[Claim] = relationship(back_populates="owners")
    person: Mapped[Person] = relationship(lazy="joined", innerjoin=True)

    @property
    def share(self) -> Fraction:
        return Fraction(self.share_numerator, self.share_denominator)


class PowerOfAttorney(Base):
    """A representative's own details and the power of attorney they act on, as filed with a claim; an officer
    accepts or refuses it (states and moves: claims.lifecycle.AttorneyState). The scan, if any, is evidence of
    kind "power_of_attorney"."""

    __tablename__ = "powers_of_attorney"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                          ForeignKey("claims.id", ondelete="CASCADE"), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))  # the representative's
    rnokpp: Mapped[str] = mapped_column(String(10))
    birth_date: Mapped[date | None] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    document_type: Mapped[str] = mapped_column(String(20))  # notarial | equated (certified like a notarial one)
    document_number: Mapped[str] = mapped_column(String(60))
    issued_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    notary_name: Mapped[str] = mapped_column(String(200))  # who certified it
    state: Mapped[str] = mapped_column(String(12), default="unchecked")
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checked_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (CheckConstraint("state IN ('unchecked', 'accepted', 'refused')", name="state"),)


class Evidence(Base):
    __tablename__ = "evidence"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content_type: Mapped[str] = mapped_column(String(60))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    original_name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(30), default="photo")
    taken_at: Mapped[datetime | None] = mapped_column()
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class PhotoHash(Base):
    """A photo's perceptual hash (pHash, 64 bits as 16 hex digits; `claims.photo_reuse`), and its four 16-bit
    bands, each indexed: two photos whose hashes differ in at most 3 bits share a band (pigeonhole), so a look-up
    is four index probes, not a scan. The home is copied here so "another home" needs no join."""

    __tablename__ = "photo_hashes"
    evidence_id: Mapped[int] = mapped_column(ForeignKey("evidence.id", ondelete="CASCADE"), primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    property_id: Mapped[int] = mapped_column(ForeignKey("properties.id"))
    phash: Mapped[str] = mapped_column(String(16))
    band0: Mapped[int] = mapped_column(Integer, index=True)
    band1: Mapped[int] = mapped_column(Integer, index=True)
    band2: Mapped[int] = mapped_column(Integer, index=True)
    band3: Mapped[int] = mapped_column(Integer, index=True)


class InspectionAct(Base):
    __tablename__ = "inspection_acts"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    method: Mapped[str] = mapped_column(String(20))  # on_site | remote_photo | remote_satellite
    inspected_on: Mapped[date] = mapped_column(Date)
    damage_category: Mapped[str] = mapped_column(String(20))  # minor | moderate | severe | destroyed
    damaged_elements: Mapped[list[Any]] = mapped_column(default=list)
    works: Mapped[list[Any]] = mapped_column(default=list)
    works_total_kopiykas: Mapped[int] = mapped_column(BigInteger, default=0)
    technical_report_required: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Decision(Base):
    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(20))  # first | appeal
    outcome: Mapped[str] = mapped_column(String(20))  # approved | rejected | upheld | revised
    amount_kopiykas: Mapped[int | None] = mapped_column(BigInteger)
    reasons: Mapped[str] = mapped_column(Text)
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    ruleset_hash: Mapped[str | None] = mapped_column(String(64))
    rule_inputs: Mapped[dict[str, Any] | None] = mapped_column()
    rule_result: Mapped[dict[str, Any] | None] = mapped_column()
    # award controls (claims.awards, migration 0008): the rules' amount beside the award, why they differ, and the
    # second commission member's approval when one is needed (states: claims.lifecycle.AwardState)
    computed_amount_kopiykas: Mapped[int | None] = mapped_column(BigInteger)
    amount_reason: Mapped[str | None] = mapped_column(Text)
    approval: Mapped[str] = mapped_column(String(12), default="final", server_default="final")
    approval_needed_because: Mapped[list[Any] | None] = mapped_column()
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column()
    approval_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("approval IN ('final', 'pending', 'approved', 'refused')", name="approval"),
        CheckConstraint("approved_by_id IS NULL OR approved_by_id <> decided_by_id", name="approved_by_another"),
    )


class PayoutAccount(Base):
    """The account a claim owner's money is paid to (for repair money the special eRecovery account at a
    participating bank). Corrections add a row and mark the old one replaced, so the trail and the payments
    (Payment.creditor_iban) prove which account was used. States and moves: claims.lifecycle.AccountState."""

    __tablename__ = "payout_accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    iban: Mapped[str] = mapped_column(String(34))
    bank_code: Mapped[str] = mapped_column(String(6))  # the MFO, IBAN characters 5-10
    state: Mapped[str] = mapped_column(String(12), default="active")
    returned_payment: Mapped[str | None] = mapped_column(String(35))  # the end-to-end id the bank returned
    returned_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    replaced_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        CheckConstraint("state IN ('active', 'returned', 'replaced')", name="state"),
        # one current (not replaced) account per owner of a claim
        Index("uq_payout_accounts_current", "claim_id", "person_id", unique=True,
              sqlite_where=text("state <> 'replaced'"), postgresql_where=text("state <> 'replaced'")),
    )


class RuleSetRecord(Base):
    """Every rule set an assessment used, by content hash, so a decision can be recomputed years later."""

    __tablename__ = "rulesets"
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    canonical: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClaimDraft(Base):
    __tablename__ = "claim_drafts"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), unique=True)
    step: Mapped[str] = mapped_column(String(20), default="home")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClaimSearch(Base):
    """One row per claim: its search keys (owners' names in every spelling folded to one key, RNOKPP, address,
    registry number), space-separated and space-padded. Written by `claims.search.index_claims`; the search
    reads the word index made from them (`ClaimSearchWord`), so the keys need no index of their own."""

    __tablename__ = "claim_search"
    claim_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                          ForeignKey("claims.id", ondelete="CASCADE"), primary_key=True)
    keys: Mapped[str] = mapped_column(Text)


WORD_KEY = String(100).with_variant(String(100, collation="C"), "postgresql")  # byte order: prefix = key range


class ClaimSearchWord(Base):
    """The word index of the search: one row per word key of a claim (the keys of `claim_search`), kept with the
    claim's oblast so each oblast's claims with a word are one range of the primary key, in claim-id order
    (`claims.search` walks it and stops at a page). (claim_id, word_key) checks the other words of a query."""

    __tablename__ = "claim_search_words"
    word_key: Mapped[str] = mapped_column(WORD_KEY, primary_key=True)
    oblast: Mapped[str] = mapped_column(String(40), primary_key=True)
    claim_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                          ForeignKey("claims.id", ondelete="CASCADE"), primary_key=True)

    __table_args__ = (Index("ix_claim_search_words_claim", "claim_id", "word_key"),)
