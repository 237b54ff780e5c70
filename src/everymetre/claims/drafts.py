"""The application form between its steps: start, save a step, turn the answers into a draft claim, edit it.

A form row (`ClaimDraft`) belongs to the account that started it and nobody else. While the answers are
incomplete they stay in the row; once they make a valid `ClaimCreate` the draft claim is created through
`services.claims.do_create_claim` and later edits go through `do_update_draft_claim`, which changes the
claim only while it is a draft and records what changed in the claim's audit trail.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.accounts.models import User
from everymetre.audit.record import NewEvent, claim_chain, record_many
from everymetre.claims import access
from everymetre.claims import actions as claims_service
from everymetre.claims.lifecycle import Role, State
from everymetre.claims.models import Claim, ClaimDraft, Ownership, PayoutAccount, Person
from everymetre.claims.payout_accounts import check_account, open_account
from everymetre.claims.representatives import put_attorney
from everymetre.claims.schemas import ClaimCreate
from everymetre.claims.search import index_claims
from everymetre.claims.values import parse_share
from everymetre.kernel.errors import Forbidden, NotFound, ValidationFailed
from everymetre.store.tx import atomic
from everymetre.store.types import utcnow

STEPS = ("home", "owners", "event", "evidence", "check")
SYNCED = "synced"  # digest of the answers the draft claim was last brought up to date with


def _may_file(principal: Principal) -> None:
    if principal.role is not Role.CLAIMANT:
        raise Forbidden("Only a claimant fills in the application form here; staff file at a service centre.")


def start_draft(session: Session, principal: Principal, now: datetime | None = None) -> ClaimDraft:
    _may_file(principal)
    now = now or utcnow()
    with atomic(session):
        draft = ClaimDraft(user_id=principal.user_id, step=STEPS[0], data={}, created_at=now, updated_at=now)
        session.add(draft)
        session.flush()
    return draft


def get_draft(session: Session, principal: Principal, draft_id: int) -> ClaimDraft:
    """The form row if it is this account's; otherwise 404, like a claim one cannot see."""
    draft = session.get(ClaimDraft, draft_id)
    if draft is None or draft.user_id != principal.user_id:
        raise NotFound("No such application form of yours.")
    return draft


def draft_for_claim(session: Session, principal: Principal, claim: Claim) -> ClaimDraft | None:
    return session.scalar(select(ClaimDraft).where(ClaimDraft.claim_id == claim.id,
                                                   ClaimDraft.user_id == principal.user_id))


def open_drafts(session: Session, principal: Principal) -> list[ClaimDraft]:
    """This account's unfinished forms that have not yet become a draft claim."""
    return list(session.scalars(select(ClaimDraft).where(ClaimDraft.user_id == principal.user_id,
                                                          ClaimDraft.claim_id.is_(None)).order_by(ClaimDraft.id)))


def save_step(session: Session, principal: Principal, draft_id: int, section: str, answers: dict[str, Any],
              next_step: str, now: datetime | None = None) -> ClaimDraft:
    """Keep one section's answers (already checked by the caller's schema) and where the form goes next."""
    if section not in STEPS or next_step not in STEPS:
        raise ValidationFailed(f"unknown form step {section!r}", field="step")
    now = now or utcnow()
    with atomic(session):
        draft = get_draft(session, principal, draft_id)
        draft.data = {**draft.data, section: answers}
        draft.step = next_step
        draft.updated_at = now
    return draft


def discard_draft(session: Session, principal: Principal, draft_id: int) -> None:
    """Drop an unfinished form that has no claim yet (a draft claim is discarded by its lifecycle move)."""
    with atomic(session):
        draft = get_draft(session, principal, draft_id)
        if draft.claim_id is not None:
            raise ValidationFailed("This application already has a draft claim; discard that claim instead.",
                                   field="draft")
        session.delete(draft)


def sync_claim(session: Session, principal: Principal, draft_id: int, data: ClaimCreate,
               now: datetime | None = None) -> Claim:
    """Create the draft claim from complete answers, or bring the existing draft claim up to date."""
    draft = get_draft(session, principal, draft_id)
    if data.submit:
        raise ValidationFailed("The form keeps a draft; submitting is a separate step.", field="submit")
    digest = hashlib.sha256(data.model_dump_json().encode()).hexdigest()
    if draft.claim_id is None:
        claim = claims_service.do_create_claim(session, principal, data, now)
    else:
        existing = session.get(Claim, draft.claim_id)
        assert existing is not None  # the foreign key cascades deletes
        if draft.data.get(SYNCED) == digest:
            return existing  # nothing changed since the claim was last brought up to date
        claim = do_update_draft_claim(session, principal, existing.reference, data, now)
    with atomic(session):
        draft = get_draft(session, principal, draft_id)
        draft.claim_id = claim.id
        draft.data = {**draft.data, SYNCED: digest}
        draft.updated_at = now or utcnow()
    return claim


def finish(session: Session, principal: Principal, draft_id: int) -> None:
    """The claim was submitted: the form's copy of the answers is no longer needed."""
    with atomic(session):
        session.delete(get_draft(session, principal, draft_id))


def do_update_draft_claim(session: Session, principal: Principal, reference: str, data: ClaimCreate,
                          now: datetime | None = None) -> Claim:
    """Replace a draft claim's answers (home, owners, what happened). Only the claimant who filed it may,
    and only while it is a draft; the change is recorded in the claim's audit trail."""
    now = now or utcnow()
    _may_file(principal)
    with atomic(session):
        claim = access.get_claim(session, principal, reference)
        if claim.state != State.DRAFT.value:
            raise ValidationFailed("Only a draft can be changed; this claim has been submitted.", field="state")
        if claim.submitted_by_id != principal.user_id:
            raise Forbidden("Only the person who started this draft may change it.")
        home = claim.home
        for key, value in data.property.model_dump().items():
            setattr(home, key, value)
        claim.oblast = home.oblast
        claim.kind = data.kind.value
        claim.damage_date = data.damage_date
        claim.description = data.description
        claim.priority_mask = data.priority_mask
        claim.filed_as_representative = data.filed_as_representative
        put_attorney(claim, data.representative, now)
        if data.previous_claim:
            claim.previous_claim_id = access.get_claim(session, principal, data.previous_claim).id
            claim.is_redamage = True
        else:
            claim.previous_claim_id, claim.is_redamage = None, False
        # a draft's payout accounts follow its answers (nothing was ever paid to them: they are simply replaced)
        accounts = [(i, check_account(o.iban, o.bank_code, field=f"owners[{i}].iban")) for i, o in enumerate(data.owners) if o.iban]
        session.execute(delete(PayoutAccount).where(PayoutAccount.claim_id == claim.id))
        _replace_owners(session, principal, claim, data, now)
        for i, (iban, bank) in accounts:
            open_account(session, claim.id, claim.owners[i].person, iban, bank, principal.user_id, now)
        session.flush()
        index_claims(session, [claim.id])
        body = claims_service._claim_snapshot(claim, data)
        record_many(session, claim_chain(claim.id), [NewEvent("claim.draft_updated", {"after": body},
                                                              principal.user_id, now)], claim_id=claim.id)
    return claim


def _replace_owners(session: Session, principal: Principal, claim: Claim, data: ClaimCreate, now: datetime) -> None:
    by_rnokpp = {o.person.rnokpp: o.person for o in claim.owners if o.person.rnokpp}
    before = {o.person for o in claim.owners}
    claim.owners.clear()
    session.flush()
    own = session.get(Person, principal.person_id) if principal.person_id else None
    kept: set[int] = set()
    for o in data.owners:
        if own is not None and own.rnokpp == o.rnokpp:
            person = own
        elif o.rnokpp in by_rnokpp:
            person = by_rnokpp[o.rnokpp]
            person.full_name, person.full_name_latin, person.birth_date = o.full_name, o.full_name_latin, o.birth_date
            person.phone, person.email, person.iban = o.phone, o.email, o.iban
        else:
            person = Person(full_name=o.full_name, full_name_latin=o.full_name_latin, birth_date=o.birth_date,
                            rnokpp=o.rnokpp, phone=o.phone, email=o.email, iban=o.iban, created_at=now)
            session.add(person)
        share = parse_share(o.share)
        claim.owners.append(Ownership(person=person, share_numerator=share.numerator,
                                      share_denominator=share.denominator, is_applicant=o.is_applicant))
        if person.id is not None:
            kept.add(person.id)
    session.flush()
    for person in before:  # people removed from the form and named nowhere else are not kept
        if person.id in kept or person is own:
            continue
        used = session.scalar(select(exists().where(Ownership.person_id == person.id)))
        linked = session.scalar(select(exists().where(User.person_id == person.id)))
        if not used and not linked:
            session.delete(person)
