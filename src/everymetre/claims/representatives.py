"""Representatives: a person filing for the owners with a power of attorney (claims.models.PowerOfAttorney).

The representative's details and the document (type, number, date, expiry, the certifying notary) are filed
with the claim (`ClaimCreate.representative`, the page's "I act for the owner"); an officer accepts or refuses
the document (`do_check_power_of_attorney`, the staff claim page and `POST /api/v1/claims/{ref}/power-of-attorney`),
audited on the claim's chain. Until it is accepted the lifecycle lets the claim be verified no further
(claims.lifecycle.NEEDS_ACCEPTED_ATTORNEY). The representative sees the claim in their own "My claims" (they filed
it); the owners see who filed for them once their accounts are verified (claims.identity).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.accounts.permissions import Action, Subject, require
from everymetre.audit.record import claim_chain, record
from everymetre.claims.access import filer_id, get_claim
from everymetre.claims.lifecycle import ATTORNEY_MOVES, AttorneyState, side_move
from everymetre.claims.models import Claim, PowerOfAttorney
from everymetre.claims.schemas import AttorneyCheckIn, RepresentativeIn, RepresentativePublic, attorney_date_problem
from everymetre.kernel.errors import ErrorCode, NotFound, ValidationFailed
from everymetre.kernel.identifiers import mask
from everymetre.sla.due import kyiv_day
from everymetre.store.tx import atomic
from everymetre.store.types import utcnow

FIELDS = ("full_name", "rnokpp", "birth_date", "phone", "email", "document_type", "document_number", "issued_on",
          "valid_until", "notary_name")


def attorney_row(rep: RepresentativeIn, now: datetime) -> PowerOfAttorney:
    return PowerOfAttorney(**rep.model_dump(), state=AttorneyState.UNCHECKED.value, created_at=now)


def put_attorney(claim: Claim, rep: RepresentativeIn | None, now: datetime) -> None:
    """A draft's answers changed: its power of attorney follows them (updated in place, unchecked again)."""
    if rep is None:
        claim.power_of_attorney = None
    elif claim.power_of_attorney is None:
        claim.power_of_attorney = attorney_row(rep, now)
    else:
        row = claim.power_of_attorney
        for key, value in rep.model_dump().items():
            setattr(row, key, value)
        row.state, row.refusal_reason, row.checked_by_id, row.checked_at = AttorneyState.UNCHECKED.value, None, None, None


def trail_view(rep: dict[str, Any]) -> dict[str, Any]:
    """A representative block as the audit trail keeps it: the RNOKPP masked."""
    return {**rep, "rnokpp": mask(rep.get("rnokpp")) or ""}


def public_view(claim: Claim) -> RepresentativePublic | None:
    row = claim.power_of_attorney
    if row is None:
        return None
    return RepresentativePublic(full_name=row.full_name, rnokpp_masked=mask(row.rnokpp) or "",
                                document_type=row.document_type, document_number=row.document_number,
                                issued_on=row.issued_on, valid_until=row.valid_until, notary_name=row.notary_name,
                                state=row.state, refusal_reason=row.refusal_reason, checked_at=row.checked_at)


def do_check_power_of_attorney(session: Session, principal: Principal, reference: str, data: AttorneyCheckIn,
                               now: datetime | None = None) -> PowerOfAttorney:
    """An officer accepts or refuses the power of attorney a representative filed the claim with. Not the officer
    who filed the claim (segregation, as for every verification); a refusal needs its reason; a document dated
    in the future or expired by today (Kyiv) cannot be accepted (422 power_of_attorney_not_valid)."""
    now = now or utcnow()
    with atomic(session):
        claim = get_claim(session, principal, reference)
        require(principal.actor, Action.POWER_OF_ATTORNEY_CHECK,
                Subject(frozenset({claim.oblast}), filed_by_id=filer_id(claim)))
        row = claim.power_of_attorney
        if row is None:
            raise NotFound(f"Claim {claim.reference} was not filed with a power of attorney.")
        session.refresh(row, with_for_update=True)  # two officers checking at once: the second sees the first's
        target = AttorneyState.ACCEPTED if data.accept else AttorneyState.REFUSED
        side_move(ATTORNEY_MOVES, "power of attorney", row.state, target.value)
        if data.accept and (problem := attorney_date_problem(row.issued_on, row.valid_until, kyiv_day(now))):
            raise ValidationFailed(f"This power of attorney cannot be accepted: {problem}. Refuse it with that reason.",
                                   field="accept", code=ErrorCode.POWER_OF_ATTORNEY_NOT_VALID,
                                   reason="future_dated" if row.issued_on > kyiv_day(now) else "expired")
        if not data.accept and not data.reason.strip():
            raise ValidationFailed("Say why the power of attorney is refused.", field="reason")
        before = row.state
        row.state, row.checked_by_id, row.checked_at = target.value, principal.user_id, now
        row.refusal_reason = None if data.accept else data.reason.strip()
        session.flush()
        record(session, claim_chain(claim.id), "claim.power_of_attorney_checked", principal.user_id,
               {"from": before, "to": target.value, "reason": data.reason.strip(),
                "document_number": row.document_number}, claim_id=claim.id, at=now)
    return row
