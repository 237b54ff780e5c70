"""Claim actions: file, move through the lifecycle, read with the caller's rights.

Every `do_*` function takes the acting principal, runs in one transaction and writes its audit event(s)
inside it. Which role may make which move lives in `everymetre.claims.lifecycle`, nowhere else.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from everymetre.accounts.actions import Principal
from everymetre.accounts.models import User
from everymetre.accounts.permissions import Action, Subject, require
from everymetre.audit.record import NewEvent, claim_chain, record, record_many, user_chain
from everymetre.claims.access import facts, get_claim, policy
from everymetre.claims.awards import check_award, refuse_if_pending, require_reason
from everymetre.claims.evidence_rules import check_photos, check_remote_photos
from everymetre.claims.lifecycle import (
    DECIDED,
    OPEN,
    AwardState,
    Move,
    MoveRequest,
    Role,
    State,
    authorise,
    damage_date_problem,
)
from everymetre.claims.models import Claim, Decision, InspectionAct, Ownership, Person, Property
from everymetre.claims.payout_accounts import check_account, open_account, trail_view
from everymetre.claims.representatives import attorney_row
from everymetre.claims.representatives import trail_view as representative_trail
from everymetre.claims.schemas import ClaimCreate, InspectionActIn, TransitionIn
from everymetre.claims.search import index_new_claim
from everymetre.claims.values import parse_share
from everymetre.config import get_settings
from everymetre.documents.service import record_document
from everymetre.kernel.errors import StaleVersion, ValidationFailed
from everymetre.kernel.identifiers import claim_reference, mask, rnokpp_birth_date
from everymetre.kernel.translit import translit_uk
from everymetre.payments.ledger import post_decision
from everymetre.programme.models import ProgrammeSetting
from everymetre.programme.settings import PREFETCHED, SPECS, defaults
from everymetre.sla.due import after_move
from everymetre.store.tx import atomic
from everymetre.store.types import utcnow

OPEN_STATES = frozenset(s.value for s in OPEN)



# ---------------------------------------------------------------------------------------------- filing


def do_create_claim(session: Session, principal: Principal, data: ClaimCreate, now: datetime | None = None) -> Claim:
    """File a claim (a draft, or submitted at once). Claimants file for themselves or as representatives;
    officers file on behalf of people at an administrative services centre (CNAP)."""
    now = now or utcnow()
    # a claimant files for themselves (or as a representative); an officer for someone at a service centre
    require(principal.actor, Action.CLAIM_FILE, Subject(frozenset({data.property.oblast}), is_party=True))
    if data.submit and (problem := damage_date_problem(data.damage_date, now.date())):
        raise ValidationFailed(problem, field="damage_date")
    try:
        return _file(session, principal, data, now)
    finally:  # what _prefetch read ahead holds for this filing only
        session.info.pop(SAME_HOME, None)
        session.info.pop(PREFETCHED, None)


def _file(session: Session, principal: Principal, data: ClaimCreate, now: datetime) -> Claim:
    with atomic(session):
        # Reads first: a query after objects are added would flush them early and cost UPDATEs later.
        previous_id = get_claim(session, principal, data.previous_claim).id if data.previous_claim else None
        own_person = _prefetch(session, principal, data) if data.submit else (
            session.get(Person, principal.person_id) if principal.person_id else None)
        applicant: Person | None = None
        owners = []
        for o in data.owners:
            if own_person is not None and own_person.rnokpp == o.rnokpp:
                person = own_person
            else:
                person = Person(full_name=o.full_name, full_name_latin=o.full_name_latin or translit_uk(o.full_name),
                                birth_date=o.birth_date,
                                rnokpp=o.rnokpp, phone=o.phone, email=o.email, iban=o.iban, created_at=now)
            share = parse_share(o.share)
            owners.append(Ownership(person=person, share_numerator=share.numerator,
                                    share_denominator=share.denominator, is_applicant=o.is_applicant))
            if o.is_applicant or len(data.owners) == 1:
                applicant = person
        home = Property(**data.property.model_dump())
        claim = Claim(
            ref_year=now.year, kind=data.kind.value, state=State.DRAFT.value, oblast=home.oblast, home=home,
            submitted_by_id=principal.user_id, filed_as_representative=data.filed_as_representative,
            channel="portal" if principal.role is Role.CLAIMANT else "cnap", damage_date=data.damage_date,
            description=data.description, priority_mask=data.priority_mask, is_redamage=previous_id is not None,
            previous_claim_id=previous_id, created_at=now, state_changed_at=now, owners=owners,
            power_of_attorney=attorney_row(data.representative, now) if data.representative else None,
        )
        accounts = [(i, check_account(o.iban, o.bank_code, field=f"owners[{i}].iban")) for i, o in enumerate(data.owners) if o.iban]
        session.add(claim)
        submitted = _submit(session, claim, principal, now) if data.submit else []
        session.flush()
        for i, (iban, bank) in accounts:
            open_account(session, claim.id, owners[i].person, iban, bank, principal.user_id, now)
        events = [NewEvent("claim.created", {"after": _claim_snapshot(claim, data)}, principal.user_id, now), *submitted]
        record_many(session, claim_chain(claim.id), events, claim_id=claim.id, new_chain=True)
        index_new_claim(session, claim)
        if (principal.role is Role.CLAIMANT and principal.person_id is None and applicant is not None
                and not data.filed_as_representative):
            user = session.get(User, principal.user_id)
            assert user is not None and principal.user_id is not None  # the signed-in claimant
            user.person_id = applicant.id
            session.flush()
            record(session, user_chain(principal.user_id), "user.linked_person", principal.user_id,
                   {"after": {"person_id": applicant.id}}, at=now)
    return claim


SAME_HOME = "everymetre.same_home_open_claim"  # session.info: (registry number, an open claim on it) read ahead


@lru_cache(maxsize=4)
def _prefetch_query(registry: bool, person: bool) -> Select:
    """_prefetch's statement for each shape, built once (values are bound parameters)."""
    cols: list[Any] = [select(ProgrammeSetting.value).where(ProgrammeSetting.key == k).scalar_subquery().label(k)
                       for k in SPECS]
    if registry:
        cols.append(select(Claim.id).join(Property, Claim.property_id == Property.id)
                    .where(Property.registry_number == bindparam("registry"), Claim.state.in_(sorted(OPEN_STATES)),
                           Claim.is_redamage.is_(False)).limit(1).scalar_subquery().label("same_home"))
    stmt = select(*cols)
    if person:
        anchor = select(literal(1).label("one")).subquery()
        stmt = stmt.add_columns(Person).select_from(anchor).outerjoin(Person, Person.id == bindparam("person_id"))
    return stmt


def _prefetch(session: Session, principal: Principal, data: ClaimCreate) -> Person | None:
    """The reads of a filing that is submitted at once, in one statement: the filer's own person (to reuse it
    as an owner), the programme settings (the photo rules), and an open claim on the same registry number
    (the duplicate check). The two last are kept in `session.info` for this transaction: `programme.settings.
    effective` and `auto_checks` use them instead of reading again."""
    registry = data.property.registry_number
    row = session.execute(_prefetch_query(bool(registry), bool(principal.person_id)),
                          {"registry": registry, "person_id": principal.person_id}).one()
    values = defaults()
    values.update({k: int(v) for k, v in zip(SPECS, row, strict=False) if v is not None})
    session.info[PREFETCHED] = values
    if registry:
        session.info[SAME_HOME] = (registry, row[len(SPECS)])
    return row[-1] if principal.person_id else None


def _claim_snapshot(claim: Claim, data: ClaimCreate) -> dict[str, Any]:
    body = data.model_dump(mode="json", exclude={"submit"})
    for owner in body["owners"]:
        owner["rnokpp"] = mask_rnokpp(owner["rnokpp"])  # the trail proves what was filed without spreading IDs
        if iban := owner.pop("iban", None):  # the account masked, with its SHA-256 to prove which it was
            owner.update(trail_view(iban, iban[4:10]))
    if body.get("representative"):
        body["representative"] = representative_trail(body["representative"])
    else:
        body.pop("representative", None)  # claims filed before representatives were recorded look the same
    return {"reference": claim.reference, **body}


def mask_rnokpp(rnokpp: str | None) -> str:
    return mask(rnokpp) or ""


def _submit(session: Session, claim: Claim, principal: Principal, now: datetime) -> list[NewEvent]:
    """draft -> submitted -> auto_checked: the automatic checks run at once and are recorded."""
    if problem := damage_date_problem(claim.damage_date, now.date()):
        raise ValidationFailed(problem, field="damage_date")
    check_photos(session, claim)  # the close-up and wide views the law asks for
    claim.submitted_at = now
    checks = auto_checks(session, claim, now.date())
    flags = [c for c in checks if not c["ok"]]
    if any(c["check"] == "same_home_open_claim" for c in flags):
        claim.review_flag = "possible_duplicate"
    claim.state = State.AUTO_CHECKED.value
    claim.state_changed_at = now
    claim.decision_due_on, claim.decision_paused_days = after_move(
        "draft", "submitted", now, now, None, 0, get_settings().decision_due_days)
    return [
        NewEvent("claim.transition", {"from": "draft", "to": "submitted", "channel": claim.channel}, principal.user_id, now),
        NewEvent("claim.transition", {"from": "submitted", "to": "auto_checked", "checks": checks}, None, now),
    ]


def auto_checks(session: Session, claim: Claim, today: date) -> list[dict[str, Any]]:
    """Automatic checks at submission; failures flag the claim for the officer, they do not refuse it."""
    out: list[dict[str, Any]] = []
    for o in claim.owners:
        p = o.person
        if p.rnokpp and p.birth_date and rnokpp_birth_date(p.rnokpp) != p.birth_date:
            out.append({"check": "rnokpp_matches_birth_date", "ok": False,
                        "detail": f"{p.full_name}: the taxpayer number encodes another birth date"})
        if o.is_applicant and p.birth_date and _age(p.birth_date, today) < 18:
            out.append({"check": "applicant_adult", "ok": False, "detail": "the applicant is under 18"})
    home = claim.home
    ahead = session.info.get(SAME_HOME)
    other = None
    if home.registry_number and claim.id is None and ahead is not None and ahead[0] == home.registry_number:
        other = ahead[1]  # read with the filing's other reads (_prefetch)
    elif home.registry_number:
        with session.no_autoflush:  # a claim being filed is not in the store yet, and needs not be
            other = session.scalar(
                select(Claim.id).join(Property, Claim.property_id == Property.id)
                .where(Property.registry_number == home.registry_number, Claim.id != (claim.id or 0),
                       Claim.state.in_(OPEN_STATES), Claim.is_redamage.is_(False))
                .limit(1)
            )
    if other is not None and not claim.is_redamage:
        out.append({"check": "same_home_open_claim", "ok": False,
                    "detail": "another open claim names the same registry object number"})
    if not out:
        out.append({"check": "all", "ok": True, "detail": "no problems found"})
    return out


def _age(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


# ---------------------------------------------------------------------------------------------- moving


def do_transition(session: Session, principal: Principal, reference: str, data: TransitionIn,
                  now: datetime | None = None) -> Claim:
    """Move a claim to `data.to` if the lifecycle allows this principal to, recording why and what changed."""
    now = now or utcnow()
    with atomic(session):
        return apply_transition(session, principal, reference, data, now)


def apply_transition(session: Session, principal: Principal, reference: str, data: TransitionIn,
                     now: datetime) -> Claim:
    """do_transition's work inside the caller's transaction: for an action of another feature that makes a
    claim move as part of its own change (a reviewer confirming a duplicate: `linkage.review.do_review`).
    The same checks (the reader's scope, the version, the lifecycle's move table and guards) and the same
    audit event."""
    claim = get_claim(session, principal, reference)
    if claim.version != data.expected_version:
        raise StaleVersion(
            f"The claim is at version {claim.version}, not {data.expected_version}: someone changed it. "
            "Reload it and try again.", current_version=claim.version)
    request = MoveRequest(
        target=data.to, suspension_documents=tuple(data.documents_requested), suspension_deadline=data.deadline,
        has_inspection_act=data.inspection_act is not None, has_decision=data.decision is not None,
        appeal_grounds=data.reason, duplicate_of=data.duplicate_of, inspection_date=data.inspection_date,
    )
    move = authorise(principal.actor, facts(principal, claim), request, now, policy())
    source = claim.state
    details = _apply(session, claim, principal, move, data, now)
    pending_award = details.pop("pending_award", False)
    if move.target is State.SUBMITTED:
        events = _submit(session, claim, principal, now)
    elif pending_award:
        # the award waits for a second commission member (claims.awards): the claim stays where it is
        claim.state_changed_at = now
        events = [NewEvent("claim.award_proposed", {"from": source, "to": move.target.value, "reason": data.reason,
                                                    **details}, principal.user_id, now)]
    else:
        claim.decision_due_on, claim.decision_paused_days = after_move(
            source, move.target.value, now, claim.submitted_at, claim.state_changed_at,
            claim.decision_paused_days or 0, get_settings().decision_due_days)
        claim.state = move.target.value
        claim.state_changed_at = now
        events = [NewEvent("claim.transition", {"from": source, "to": move.target.value, "reason": data.reason,
                                                **details}, principal.user_id, now)]
    try:
        session.flush()
    except StaleDataError:
        raise StaleVersion("Someone changed the claim while you were working on it. Reload it and try again.") from None
    record_many(session, claim_chain(claim.id), events, claim_id=claim.id)
    if move.target in DECIDED and not pending_award:
        # the decision document (its SHA-256 on the claim's chain) and the award in the ledger, in this transaction
        record_document(session, claim.id, move.target.value)
        post_decision(session, claim, principal.user_id)
    return claim


def _apply(session: Session, claim: Claim, principal: Principal, move: Move, data: TransitionIn,
           now: datetime) -> dict[str, Any]:
    """The effects of a move besides the state change; returns what the audit event should add."""
    target = move.target
    uid = principal.user_id
    if target is State.ASSIGNED:
        if move.source is State.AUTO_CHECKED:
            claim.assignee_id = uid
            return {"assignee_id": uid}
        resumed = {"documents_requested": claim.documents_requested, "deadline": claim.suspension_deadline}
        claim.documents_requested, claim.suspension_deadline = None, None
        return {"resumed_after": resumed}
    if target is State.SUSPENDED:
        claim.documents_requested = [d for d in data.documents_requested if d.strip()]
        claim.suspension_deadline = data.deadline or now.date() + timedelta(days=policy().suspension_default_days)
        return {"documents_requested": claim.documents_requested, "deadline": claim.suspension_deadline}
    if target is State.INSPECTION_SCHEDULED:
        claim.inspection_date = data.inspection_date
        return {"inspection_date": data.inspection_date}
    if target in (State.INSPECTED, State.REMOTE_VERIFIED):
        # the lifecycle lets only an inspector (a person) make these moves, and only with an act
        assert uid is not None and data.inspection_act is not None
        if target is State.REMOTE_VERIFIED and data.inspection_act.method.value == "remote_photo":
            check_remote_photos(session, claim)  # photos taken at the home (EXIF GPS within the set distance)
        act = _inspection_act(claim, uid, data.inspection_act, target, now)
        session.add(act)
        claim.inspector_id = uid
        return {"inspection_act": data.inspection_act.model_dump(mode="json"), "works_total_kopiykas": act.works_total_kopiykas}
    if target is State.ASSESSED:
        from everymetre.claims.assessment import assess

        amount, detail = assess(session, claim, now)
        claim.assessed_amount_kopiykas = amount
        return {"assessed_amount_kopiykas": amount, **detail}
    if target in DECIDED:
        assert uid is not None  # decisions are made by commission members, never by the system
        return _decide(session, claim, uid, target, data, now)
    if target is State.DUPLICATE:
        original = get_claim(session, principal, data.duplicate_of or "")
        if original.id == claim.id:
            raise ValidationFailed("A claim cannot duplicate itself.", field="duplicate_of")
        claim.duplicate_of_id = original.id
        return {"duplicate_of": original.reference}
    return {}


def _inspection_act(claim: Claim, inspector_id: int, act_in: InspectionActIn | None, target: State,
                    now: datetime) -> InspectionAct:
    assert act_in is not None  # authorise() checked it
    remote = act_in.method.value != "on_site"
    if (target is State.REMOTE_VERIFIED) != remote:
        raise ValidationFailed(
            "An on-site inspection moves the claim to 'inspected'; a remote one (photo or satellite) to 'remote_verified'.",
            field="inspection_act.method")
    if act_in.inspected_on > now.date():
        raise ValidationFailed("The inspection date cannot be in the future.", field="inspection_act.inspected_on")
    if act_in.inspected_on < claim.damage_date:
        raise ValidationFailed("The inspection cannot be before the damage.", field="inspection_act.inspected_on")
    return InspectionAct(
        claim_id=claim.id, inspector_id=inspector_id, method=act_in.method.value, inspected_on=act_in.inspected_on,
        damage_category=act_in.damage_category.value, damaged_elements=list(act_in.damaged_elements),
        works=[{**w.model_dump(mode="json"), "total_kopiykas": w.total_kopiykas} for w in act_in.works],
        works_total_kopiykas=act_in.works_total_kopiykas, technical_report_required=act_in.technical_report_required,
        notes=act_in.notes, created_at=now,
    )


def _decide(session: Session, claim: Claim, uid: int, target: State, data: TransitionIn, now: datetime) -> dict[str, Any]:
    """Record the decision. An award other than the computed amount needs its reason; one above the computed
    amount, the tier cap or the configured amount waits for a second member (claims.awards): then the decision
    is `pending`, the claim does not move and the result says so ("pending_award")."""
    assert data.decision is not None
    refuse_if_pending(session, claim)
    stage = "appeal" if target in (State.UPHELD, State.REVISED) else "first"
    award = None
    if target is State.REJECTED:
        amount = None
    elif target is State.UPHELD:
        amount = claim.awarded_amount_kopiykas
    else:
        amount = data.decision.amount_kopiykas if data.decision.amount_kopiykas is not None else claim.assessed_amount_kopiykas
        if amount is None:
            raise ValidationFailed("Give the amount awarded: the claim has no assessed amount.", field="decision.amount_kopiykas")
        award = check_award(claim, amount, now.date())
        require_reason(award, data.decision.amount_reason)
    from everymetre.claims.assessment import decision_record

    rules = decision_record(session, claim)
    pending = award is not None and bool(award.second_approval_because)
    decision = Decision(claim_id=claim.id, stage=stage, outcome=target.value, amount_kopiykas=amount,
                        reasons=data.decision.reasons, decided_by_id=uid, decided_at=now,
                        computed_amount_kopiykas=claim.assessed_amount_kopiykas,
                        amount_reason=data.decision.amount_reason or None,
                        approval=AwardState.PENDING.value if pending else AwardState.FINAL.value,
                        approval_needed_because=list(award.second_approval_because) if pending and award else None, **rules)
    session.add(decision)
    summary = {"stage": stage, "outcome": target.value, "amount_kopiykas": amount,
               "computed_amount_kopiykas": claim.assessed_amount_kopiykas, "amount_reason": data.decision.amount_reason,
               "reasons": data.decision.reasons, "ruleset_hash": rules.get("ruleset_hash")}
    if pending and award is not None:
        return {"pending_award": True, "decision": {**summary, **award.as_dict(), "approval": AwardState.PENDING.value}}
    claim.awarded_amount_kopiykas = amount
    claim.decided_by_id, claim.decided_at = uid, now
    return {"decision": summary}


def do_lapse_suspensions(session: Session, today: date | None = None) -> list[str]:
    """Suspensions whose deadline has passed go back to the officer (suspended -> assigned, by the system),
    so that no claim waits for documents forever; the officer then decides on what the file holds.
    Each claim moves in its own transaction; returns the references moved."""
    from everymetre.accounts.actions import SYSTEM

    now = utcnow()
    today = today or now.date()
    due = session.execute(select(Claim.id, Claim.ref_year, Claim.version, Claim.suspension_deadline)
                          .where(Claim.state == State.SUSPENDED.value, Claim.suspension_deadline < today)
                          .order_by(Claim.id)).all()
    session.rollback()
    moved = []
    for cid, year, version, deadline in due:
        ref = claim_reference(year, cid)
        reason = f"The deadline for documents ({deadline}) passed; back to the officer to decide on the file as it is."
        try:
            do_transition(session, SYSTEM, ref, TransitionIn(to=State.ASSIGNED, reason=reason, expected_version=version), now)
        except StaleVersion:
            continue  # someone moved it meanwhile: nothing lapses
        moved.append(ref)
    return moved
