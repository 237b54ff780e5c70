"""The claim lifecycle: the one place that says which role may move a claim from which state to which.

Pure: no I/O. The service layer (`everymetre.claims.actions`) asks `authorise()` before every move and
writes the move and its audit event in one transaction; pages and the API list `available_moves()`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from everymetre.accounts.permissions import Segregation, Subject, segregation_problem
from everymetre.accounts.roles import STAFF_ROLES, Actor, Role
from everymetre.kernel.errors import ErrorCode, Forbidden, GuardFailed, InvalidTransition, ValidationFailed

WAR_START = date(2022, 2, 24)


class ClaimKind(StrEnum):
    DAMAGE_REPORT = "damage_report"
    REPAIR_APPLICATION = "repair_application"
    DESTROYED_HOUSING_APPLICATION = "destroyed_housing_application"


class State(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    AUTO_CHECKED = "auto_checked"
    ASSIGNED = "assigned"
    SUSPENDED = "suspended"
    INSPECTION_SCHEDULED = "inspection_scheduled"
    INSPECTED = "inspected"
    REMOTE_VERIFIED = "remote_verified"
    ASSESSED = "assessed"
    APPROVED = "approved"
    REJECTED = "rejected"
    APPEALED = "appealed"
    UPHELD = "upheld"
    REVISED = "revised"
    WITHDRAWN = "withdrawn"
    DUPLICATE = "duplicate"


# What a move needs in its request besides `to`, `reason` and `expected_version`.
class Needs(StrEnum):
    SUSPENSION = "suspension"  # documents asked for + deadline
    INSPECTION_ACT = "inspection_act"
    DECISION = "decision"  # outcome reasons (+ amount for approval / revision)
    APPEAL_GROUNDS = "appeal_grounds"
    DUPLICATE_OF = "duplicate_of"
    INSPECTION_DATE = "inspection_date"


BEFORE_DECISION = frozenset(
    {
        State.DRAFT,
        State.SUBMITTED,
        State.AUTO_CHECKED,
        State.ASSIGNED,
        State.SUSPENDED,
        State.INSPECTION_SCHEDULED,
        State.INSPECTED,
        State.REMOTE_VERIFIED,
        State.ASSESSED,
    }
)
FINAL = frozenset({State.UPHELD, State.REVISED, State.WITHDRAWN, State.DUPLICATE})
DECIDED = frozenset({State.APPROVED, State.REJECTED, State.UPHELD, State.REVISED})
# Claims still being worked on (queues, deadlines, budgets count them); a final state never moves again.
OPEN = frozenset(State) - FINAL - {State.REJECTED}
# States in which files may still be added to a claim (by whom: accounts.permissions, Action.EVIDENCE_ADD).
ACCEPTS_EVIDENCE = frozenset(State) - FINAL
# Claims whose money is still to come or already decided: what a budget simulation counts.
COUNTS_FOR_BUDGET = frozenset(State) - {State.DRAFT, State.SUBMITTED, State.REJECTED, State.WITHDRAWN, State.DUPLICATE}
# A claim filed by a representative moves into these only once an officer has accepted the power of attorney
# (AttorneyState.ACCEPTED): the checks of the claim itself wait for the check of who may act for the owner.
NEEDS_ACCEPTED_ATTORNEY = frozenset({State.INSPECTION_SCHEDULED, State.INSPECTED, State.REMOTE_VERIFIED, State.ASSESSED,
                                     State.APPROVED})
# Moves that end a claim without money: pages ask for confirmation and style them as such.
ENDS_WITHOUT_MONEY = frozenset({State.WITHDRAWN, State.REJECTED, State.DUPLICATE})


@dataclass(frozen=True, slots=True)
class Move:
    source: State
    target: State
    roles: frozenset[Role]
    needs: frozenset[Needs] = frozenset()
    label_en: str = ""
    label_uk: str = ""


def _m(source: State, target: State, roles: Iterable[Role], needs: Iterable[Needs] = (), en: str = "", uk: str = "") -> Move:
    return Move(source, target, frozenset(roles), frozenset(needs), en, uk)


R = Role
S = State
_MOVES: list[Move] = [
    _m(S.DRAFT, S.SUBMITTED, [R.CLAIMANT], en="Submit the claim", uk="Подати заяву"),
    _m(S.SUBMITTED, S.AUTO_CHECKED, [R.SYSTEM, R.OFFICER], en="Record automatic checks", uk="Автоматична перевірка"),
    _m(S.AUTO_CHECKED, S.ASSIGNED, [R.OFFICER], en="Take for verification", uk="Взяти на перевірку"),
    _m(S.ASSIGNED, S.SUSPENDED, [R.OFFICER, R.INSPECTOR], [Needs.SUSPENSION], en="Ask for documents", uk="Запросити документи"),
    _m(S.SUSPENDED, S.ASSIGNED, [R.OFFICER, R.CLAIMANT, R.SYSTEM], en="Documents provided: resume", uk="Документи надано: відновити розгляд"),
    _m(S.ASSIGNED, S.INSPECTION_SCHEDULED, [R.OFFICER, R.INSPECTOR], [Needs.INSPECTION_DATE], en="Schedule an inspection", uk="Призначити обстеження"),
    _m(S.ASSIGNED, S.REMOTE_VERIFIED, [R.INSPECTOR], [Needs.INSPECTION_ACT], en="Verify remotely (photo or satellite)", uk="Дистанційна перевірка"),
    _m(S.INSPECTION_SCHEDULED, S.INSPECTED, [R.INSPECTOR], [Needs.INSPECTION_ACT], en="File the inspection act", uk="Скласти акт обстеження"),
    _m(S.INSPECTION_SCHEDULED, S.REMOTE_VERIFIED, [R.INSPECTOR], [Needs.INSPECTION_ACT], en="Verify remotely instead", uk="Перевірити дистанційно"),
    _m(S.INSPECTED, S.ASSESSED, [R.OFFICER, R.SYSTEM], en="Assess the amount", uk="Розрахувати суму"),
    _m(S.REMOTE_VERIFIED, S.ASSESSED, [R.OFFICER, R.SYSTEM], en="Assess the amount", uk="Розрахувати суму"),
    _m(S.ASSESSED, S.APPROVED, [R.COMMISSION], [Needs.DECISION], en="Approve", uk="Схвалити"),
    _m(S.ASSESSED, S.REJECTED, [R.COMMISSION], [Needs.DECISION], en="Reject", uk="Відмовити"),
    _m(S.APPROVED, S.APPEALED, [R.CLAIMANT], [Needs.APPEAL_GROUNDS], en="Appeal the decision", uk="Оскаржити рішення"),
    _m(S.REJECTED, S.APPEALED, [R.CLAIMANT], [Needs.APPEAL_GROUNDS], en="Appeal the decision", uk="Оскаржити рішення"),
    _m(S.APPEALED, S.UPHELD, [R.COMMISSION], [Needs.DECISION], en="Uphold the decision", uk="Залишити рішення в силі"),
    _m(S.APPEALED, S.REVISED, [R.COMMISSION], [Needs.DECISION], en="Revise the decision", uk="Переглянути рішення"),
]
for _s in sorted(BEFORE_DECISION - {S.DRAFT}):
    _MOVES.append(_m(_s, S.WITHDRAWN, [R.CLAIMANT], en="Withdraw the claim", uk="Відкликати заяву"))
_MOVES.append(_m(S.DRAFT, S.WITHDRAWN, [R.CLAIMANT], en="Discard the draft", uk="Видалити чернетку"))
for _s in (S.SUBMITTED, S.AUTO_CHECKED, S.ASSIGNED, S.SUSPENDED):
    _MOVES.append(_m(_s, S.DUPLICATE, [R.OFFICER, R.SYSTEM], [Needs.DUPLICATE_OF], en="Mark as a duplicate", uk="Позначити як дублікат"))

MOVES: dict[tuple[State, State], Move] = {(m.source, m.target): m for m in _MOVES}
assert len(MOVES) == len(_MOVES), "a move is listed twice"


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    """What the lifecycle needs to know about a claim to judge a move."""

    state: State
    oblast: str
    is_party: bool = False  # the acting claimant is an owner or representative of this claim
    inspector_id: int | None = None
    decided_by_id: int | None = None
    decided_at: datetime | None = None
    filed_by_id: int | None = None  # the officer who filed the claim for the applicant at a service centre
    power_of_attorney: str | None = None  # its AttorneyState when a representative filed with one, else None


@dataclass(frozen=True, slots=True)
class Policy:
    suspension_default_days: int = 30
    suspension_max_days: int = 90
    appeal_window_days: int = 60


@dataclass(frozen=True, slots=True)
class MoveRequest:
    target: State
    suspension_documents: tuple[str, ...] = ()
    suspension_deadline: date | None = None
    has_inspection_act: bool = False
    has_decision: bool = False
    appeal_grounds: str = ""
    duplicate_of: str | None = None
    inspection_date: date | None = None
    extra: dict[str, object] = field(default_factory=dict)


def can_see(actor: Actor, claim: ClaimFacts) -> bool:
    """Visibility: claimants see only their own claims; staff see claims in their oblasts."""
    if actor.role is Role.CLAIMANT:
        return claim.is_party
    if actor.role is Role.SYSTEM:
        return True
    return actor.role in STAFF_ROLES and actor.covers(claim.oblast)


def find_move(source: State, target: State) -> Move:
    try:
        return MOVES[(source, target)]
    except KeyError:
        allowed = sorted(m.target for m in MOVES.values() if m.source == source)
        hint = f"from '{source}' a claim can move to: {', '.join(allowed)}" if allowed else f"'{source}' is a final state"
        raise InvalidTransition(f"A claim cannot move from '{source}' to '{target}'; {hint}.") from None


def authorise(actor: Actor, claim: ClaimFacts, request: MoveRequest, now: datetime, policy: Policy = Policy()) -> Move:
    """Return the move if `actor` may make it now, else raise a DomainError saying why.

    Order of checks: the move exists; the role may make it; scope (party or oblast); the move's guards;
    what the move needs is present.
    """
    move = find_move(claim.state, request.target)
    if actor.role not in move.roles:
        who = ", ".join(sorted(move.roles - {Role.SYSTEM})) or "the system"
        raise Forbidden(f"Only {who} may move a claim from '{move.source}' to '{move.target}'; you are signed in as {actor.role}.",
                        ErrorCode.ROLE_NOT_ALLOWED, role=actor.role.value)
    if actor.role is Role.CLAIMANT and not claim.is_party:
        raise Forbidden("Only an owner or the representative who filed this claim may do that.", ErrorCode.NOT_A_PARTY)
    if actor.role in STAFF_ROLES and not actor.covers(claim.oblast):
        raise Forbidden(f"This claim is in oblast '{claim.oblast}', which is outside your assignment.",
                        ErrorCode.OUT_OF_SCOPE, oblasts=[claim.oblast])
    _check_guards(actor, claim, request, move, now, policy)
    _check_needs(request, move, now, policy)
    return move


def _check_guards(actor: Actor, claim: ClaimFacts, request: MoveRequest, move: Move, now: datetime, policy: Policy) -> None:
    subject = Subject(inspector_id=claim.inspector_id, first_decider_id=claim.decided_by_id,
                      filed_by_id=claim.filed_by_id)
    rules = [Segregation.NOT_INSPECTOR] if move.target in DECIDED else []
    if actor.role is Role.OFFICER:  # every officer move verifies the claim (Action.CLAIM_VERIFY): not the filer's
        rules.append(Segregation.NOT_FILER)
    if move.source is State.APPEALED:
        rules.append(Segregation.NOT_FIRST_DECIDER)
    for rule in rules:
        if problem := segregation_problem(actor, rule, subject):
            raise problem
    if (move.target in NEEDS_ACCEPTED_ATTORNEY and claim.power_of_attorney is not None
            and claim.power_of_attorney != AttorneyState.ACCEPTED.value):
        raise GuardFailed("A representative filed this claim: an officer must accept their power of attorney before "
                          "the claim is verified further.", ErrorCode.POWER_OF_ATTORNEY_UNCHECKED,
                          state=claim.power_of_attorney)
    if move.target is State.APPEALED:
        if claim.decided_at is None:
            raise GuardFailed("There is no decision to appeal yet.")
        last_day = claim.decided_at + timedelta(days=policy.appeal_window_days)
        if now > last_day:
            raise GuardFailed(
                f"The appeal window of {policy.appeal_window_days} days closed on {last_day.date().isoformat()}.",
                ErrorCode.APPEAL_WINDOW_CLOSED, days=policy.appeal_window_days, last_day=last_day.date().isoformat(),
            )


def _check_needs(request: MoveRequest, move: Move, now: datetime, policy: Policy) -> None:
    today = now.date()
    if Needs.SUSPENSION in move.needs:
        docs = [d.strip() for d in request.suspension_documents if d.strip()]
        if not docs:
            raise ValidationFailed("Name at least one document the applicant must provide.", field="documents_requested")
        deadline = request.suspension_deadline or suspension_deadline(today, policy)
        if deadline <= today:
            raise ValidationFailed("The deadline for documents must be after today.", field="deadline")
        if deadline > today + timedelta(days=policy.suspension_max_days):
            raise ValidationFailed(
                f"The deadline for documents may be at most {policy.suspension_max_days} days away.", field="deadline"
            )
    if Needs.INSPECTION_ACT in move.needs and not request.has_inspection_act:
        raise ValidationFailed("This move needs an inspection act.", field="inspection_act")
    if Needs.DECISION in move.needs and not request.has_decision:
        raise ValidationFailed("This move needs a decision with its reasons.", field="decision")
    if Needs.APPEAL_GROUNDS in move.needs and not request.appeal_grounds.strip():
        raise ValidationFailed("Say why you disagree with the decision.", field="reason")
    if Needs.DUPLICATE_OF in move.needs and not request.duplicate_of:
        raise ValidationFailed("Give the reference of the claim this one duplicates.", field="duplicate_of")
    if Needs.INSPECTION_DATE in move.needs and request.inspection_date is not None and request.inspection_date < today:
        raise ValidationFailed("The inspection date cannot be in the past.", field="inspection_date")


def suspension_deadline(today: date, policy: Policy) -> date:
    return today + timedelta(days=policy.suspension_default_days)


def available_moves(actor: Actor, claim: ClaimFacts, now: datetime, policy: Policy = Policy()) -> list[Move]:
    """The moves this actor may make on this claim now, ignoring what the request must still carry."""
    out = []
    for move in MOVES.values():
        if move.source is not claim.state or actor.role not in move.roles:
            continue
        try:
            if actor.role is Role.CLAIMANT and not claim.is_party:
                continue
            if actor.role in STAFF_ROLES and not actor.covers(claim.oblast):
                continue
            _check_guards(actor, claim, MoveRequest(target=move.target), move, now, policy)
        except (Forbidden, GuardFailed):
            continue
        out.append(move)
    return out


def damage_date_problem(damage: date, today: date) -> str | None:
    """Damage dates the programme accepts: from 24 Feb 2022 to today."""
    if damage < WAR_START:
        return "The damage date must be on or after 24 February 2022, when the full-scale invasion began."
    if damage > today:
        return "The damage date cannot be in the future."
    return None


# --------------------------------------------------------------------- the payout account and the award

class AccountState(StrEnum):
    """A claim owner's payout account (claims.models.PayoutAccount)."""

    ACTIVE = "active"  # the account the next payment goes to
    RETURNED = "returned"  # the bank returned a payment to it: the claim needs a new account, nothing is paid
    REPLACED = "replaced"  # corrected: a newer account took its place (kept, so the trail proves what was used)


class AwardState(StrEnum):
    """A decision's award (claims.models.Decision.approval; claims.awards says when a second approval is needed)."""

    FINAL = "final"  # no second approval needed: the decision stands as made
    PENDING = "pending"  # waits for a second commission member; the claim stays where it was
    APPROVED = "approved"  # the second member approved: the claim moved on with this award
    REFUSED = "refused"  # the second member refused: the claim is decided again


class AttorneyState(StrEnum):
    """A representative's power of attorney (claims.models.PowerOfAttorney; claims.representatives)."""

    UNCHECKED = "unchecked"  # filed: the claim waits for an officer's check before it is verified
    ACCEPTED = "accepted"  # an officer checked it: the representative may act for the owner
    REFUSED = "refused"  # an officer refused it, with the reason: the claim cannot be verified on it


# (source, target) -> the accounts.permissions action that authorises the move
ATTORNEY_MOVES: dict[tuple[AttorneyState, AttorneyState], str] = {
    (AttorneyState.UNCHECKED, AttorneyState.ACCEPTED): "power_of_attorney.check",
    (AttorneyState.UNCHECKED, AttorneyState.REFUSED): "power_of_attorney.check",
    # a new document in place of a refused one, or of one that has expired (claims.representatives.replaceable)
    (AttorneyState.REFUSED, AttorneyState.UNCHECKED): "power_of_attorney.replace",
    (AttorneyState.ACCEPTED, AttorneyState.UNCHECKED): "power_of_attorney.replace",
    (AttorneyState.UNCHECKED, AttorneyState.UNCHECKED): "power_of_attorney.replace",
}
ACCOUNT_MOVES: dict[tuple[AccountState, AccountState], str] = {
    (AccountState.ACTIVE, AccountState.RETURNED): "statement.reconcile",
    (AccountState.ACTIVE, AccountState.REPLACED): "payout_account.set",
    (AccountState.RETURNED, AccountState.REPLACED): "payout_account.set",
}
AWARD_MOVES: dict[tuple[AwardState, AwardState], str] = {
    (AwardState.PENDING, AwardState.APPROVED): "award.approve",
    (AwardState.PENDING, AwardState.REFUSED): "award.approve",
}
# decisions that stand (the ledger and the payments follow these, never a pending or refused one)
STANDING_AWARDS = (AwardState.FINAL.value, AwardState.APPROVED.value)


def side_move(table: dict[tuple[Any, Any], str], noun: str, source: str, target: str) -> str:
    """The action that authorises `source -> target` in `table`, or InvalidTransition naming the allowed sources."""
    for (s, t), action in table.items():
        if s.value == source and t.value == target:
            return action
    allowed = [s.value for (s, t) in table if t.value == target]
    raise InvalidTransition(f"The {noun} is {source}; only a {noun} that is {' or '.join(allowed) or 'nothing'} can "
                            f"become {target}.", ErrorCode.INVALID_TRANSITION, machine=noun, state=source, target=target,
                            allowed=allowed)
