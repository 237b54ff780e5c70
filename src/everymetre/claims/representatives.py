"""Representatives: a person filing for the owners with a power of attorney (claims.models.PowerOfAttorney).

The representative's details and the document (type, number, date, expiry, the certifying notary) are filed
with the claim (`ClaimCreate.representative`, the page's "I act for the owner"); an officer accepts or refuses
the document (`do_check_power_of_attorney`, the staff claim page and `POST /api/v1/claims/{ref}/power-of-attorney`),
audited on the claim's chain. Until it is accepted the lifecycle lets the claim be verified no further
(claims.lifecycle.NEEDS_ACCEPTED_ATTORNEY). A refused (or since expired) document is replaced on the same claim by
the representative or an owner (`do_replace_power_of_attorney`, the claimant's claim page and
`PUT /api/v1/claims/{ref}/representative`): unchecked again, the old document kept in the trail. The representative sees the claim in their own "My claims" (they filed
it); the owners see who filed for them once their accounts are verified (claims.identity).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.accounts.permissions import Action, Subject, require
from everymetre.audit.record import claim_chain, record
from everymetre.claims.access import filer_id, get_claim, is_party
from everymetre.claims.lifecycle import ACCEPTS_EVIDENCE, ATTORNEY_MOVES, AttorneyState, State, side_move
from everymetre.claims.models import Claim, PowerOfAttorney
from everymetre.claims.schemas import AttorneyCheckIn, RepresentativeIn, RepresentativePublic, attorney_date_problem
from everymetre.kernel.errors import ErrorCode, GuardFailed, InvalidTransition, NotFound, ValidationFailed
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


def replaceable(row: PowerOfAttorney, today: date) -> bool:
    """A new document may take this one's place: an officer refused it, or it has expired (accepted or not)."""
    return row.state == AttorneyState.REFUSED.value or row.valid_until < today


def can_replace(principal: Principal, claim: Claim, today: date) -> bool:
    """The claim page offers the replacement form: the reader is a party, the claim still open, the document due."""
    row = claim.power_of_attorney
    return (row is not None and claim.filed_as_representative and claim.state in OPEN_FOR_ATTORNEY
            and replaceable(row, today) and is_party(principal, claim))


OPEN_FOR_ATTORNEY = ACCEPTS_EVIDENCE - {State.DRAFT}  # a draft's answers carry it (put_attorney)


def _document(row: PowerOfAttorney) -> dict[str, Any]:
    return {f: (v.isoformat() if isinstance(v, date) else v) for f in FIELDS if (v := getattr(row, f)) is not None}


def do_replace_power_of_attorney(session: Session, principal: Principal, reference: str, rep: RepresentativeIn,
                                 now: datetime | None = None) -> PowerOfAttorney:
    """The representative who filed the claim, or a verified owner, gives a new power of attorney in place of a
    refused or expired one: it is unchecked again (an officer checks it, and the claim waits for that check), the
    old document and its refusal kept in the trail (`claim.power_of_attorney_replaced`). Refusals: not a party
    (404 if the claim is not theirs to see, 403 for staff), no power of attorney (404), a closed claim or a draft
    (409 invalid_transition), an accepted or unchecked document still valid (409 power_of_attorney_not_replaceable),
    a document dated in the future or expired (422 power_of_attorney_not_valid), the representative one of the
    owners, or the representative naming another person in their place (422, field rnokpp)."""
    now = now or utcnow()
    today = kyiv_day(now)
    with atomic(session):
        claim = get_claim(session, principal, reference)
        require(principal.actor, Action.POWER_OF_ATTORNEY_REPLACE,
                Subject(frozenset({claim.oblast}), is_party=is_party(principal, claim)))
        row = claim.power_of_attorney
        if row is None or not claim.filed_as_representative:
            raise NotFound(f"Claim {claim.reference} was not filed with a power of attorney.")
        session.refresh(row, with_for_update=True)  # an officer checking it at the same moment: one of us waits
        if claim.state not in OPEN_FOR_ATTORNEY:
            raise InvalidTransition(f"Claim {claim.reference} is {claim.state}: its power of attorney is not replaced "
                                    "now.", ErrorCode.INVALID_TRANSITION, machine="claim", state=claim.state)
        if not replaceable(row, today):
            raise GuardFailed(f"The power of attorney is {row.state} and valid until {row.valid_until.isoformat()}: only "
                              "a refused or expired one is replaced.", ErrorCode.POWER_OF_ATTORNEY_NOT_REPLACEABLE,
                              state=row.state)
        side_move(ATTORNEY_MOVES, "power of attorney", row.state, AttorneyState.UNCHECKED.value)
        if problem := attorney_date_problem(rep.issued_on, rep.valid_until, today):
            raise ValidationFailed(f"This power of attorney cannot be accepted: {problem}.",
                                   field="issued_on" if rep.issued_on > today else "valid_until",
                                   code=ErrorCode.POWER_OF_ATTORNEY_NOT_VALID,
                                   reason="future_dated" if rep.issued_on > today else "expired")
        if any(o.person.rnokpp == rep.rnokpp for o in claim.owners):
            raise ValidationFailed("The representative is one of the owners: an owner acts as an owner.", field="rnokpp",
                                   reason="owner")
        if claim.submitted_by_id == principal.user_id and rep.rnokpp != row.rnokpp:
            raise ValidationFailed("A representative replaces their own power of attorney: an owner names another "
                                   "representative.", field="rnokpp", reason="another_person")
        before, old, refusal = row.state, _document(row), row.refusal_reason
        for key, value in rep.model_dump().items():
            setattr(row, key, value)
        row.state, row.refusal_reason, row.checked_by_id, row.checked_at = AttorneyState.UNCHECKED.value, None, None, None
        row.created_at = now
        session.flush()
        record(session, claim_chain(claim.id), "claim.power_of_attorney_replaced", principal.user_id,
               {"from": before, "to": AttorneyState.UNCHECKED.value, "refusal_reason": refusal,
                "old": trail_view(old), "new": trail_view(_document(row))}, claim_id=claim.id, at=now)
    return row
