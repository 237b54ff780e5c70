"""Every permission in one table, checked by one function.

A row says, for one action: which roles may take it, how it is scoped (the oblasts of what it acts on, or
the claimant's own claims), and which segregation-of-duties rules apply (who, having done one step, may
not do the next). Claim moves have their own table, `claims.lifecycle.MOVES` (state -> state, roles, what a
move needs); its segregation guards are the same named rules, checked here by `segregation_problem`.

Pure: no I/O. An action loads what the check needs into a `Subject` and calls `require()` first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from everymetre.accounts.roles import STAFF_ROLES, Actor, Role
from everymetre.kernel.errors import ErrorCode, Forbidden, GuardFailed


class Action(StrEnum):
    CLAIM_FILE = "claim.file"
    CLAIM_READ = "claim.read"
    EVIDENCE_ADD = "evidence.add"
    EVIDENCE_READ = "evidence.read"
    CLAIM_VERIFY = "claim.verify"  # the officer's checks on a claim (take it, ask for documents, ...)
    CLAIM_DECIDE = "claim.decide"
    APPEAL_DECIDE = "appeal.decide"
    ASSESS = "claim.assess"
    BATCH_READ = "batch.read"  # a batch and its payees and amounts
    BATCH_BUILD = "batch.build"  # per claim: a claim the builder may not release is held back, not refused
    BATCH_APPROVE = "batch.approve"  # the first of two approvals (a batch above the second-approval threshold)
    BATCH_RELEASE = "batch.release"  # the approval that releases a batch: the only one, or the second
    BATCH_CANCEL = "batch.cancel"
    BATCH_EXPORT = "batch.export"  # write the bank file
    BATCH_SEND = "batch.send"  # record that the file went to the bank
    STATEMENT_RECONCILE = "statement.reconcile"
    STATEMENT_RESOLVE = "statement.resolve"  # an entry no payment matched: matched to one by hand, or dismissed
    LEDGER_POST = "ledger.post"  # bring the ledger in line with one claim's decision
    LEDGER_SYNC = "ledger.sync"  # the catch-up: every decided claim not yet (or not rightly) in the ledger
    PAYMENTS_SWEEP = "payments.sweep"  # deadlines: unspent repair money, lapsed reservations, expiry
    PAYOUT_READ = "payout.read"
    PAYOUT_SPEND = "payout.spend"  # spending reported by the bank
    PAYOUT_REPORT = "payout.report"  # the owner's interim and final repair reports
    PAYOUT_VERIFY = "payout.verify"
    PAYOUT_CLOSE = "payout.close"
    CARD_TRANSACTIONS_IMPORT = "card_transactions.import"  # the bank's file of the special accounts' card spending
    CERTIFICATE_ISSUE = "certificate.issue"
    CERTIFICATE_RESERVE = "certificate.reserve"
    CERTIFICATE_RECORD = "certificate.record"  # ownership ended, purchase contract, seller's account (notary: own filings)
    CERTIFICATE_REDEEM = "certificate.redeem"
    CERTIFICATE_REVOKE = "certificate.revoke"  # a decision overturned on appeal, or by the programme's admin
    RESERVATION_FILE = "reservation.file"  # a notary books certificates against a home
    RESERVATION_READ = "reservation.read"
    RESERVATION_REVIEW = "reservation.review"  # a related-party sale: an officer clears or refuses it
    FUND_READ = "fund.read"  # the paying agent's balance and the funding queue
    FUND_RECORD = "fund.record"  # money allocated to the paying agent
    FINDING_READ = "finding.read"
    FINDING_REVIEW = "finding.review"
    FINDING_OVERRIDE = "finding.override"  # let a legitimately repeated claim through a linkage hold, with a reason
    LINKAGE_RUN = "linkage.run"
    USER_MANAGE = "user.manage"
    AUDIT_READ = "audit.read"
    INSPECTOR_ASSIGN = "inspector.assign"  # an officer names the inspector of a claim
    INSPECTIONS_READ = "inspections.read"  # the day list of inspections, with the owners' phones
    PAYOUT_ACCOUNT_SET = "payout_account.set"  # give or correct the account a claim's money is paid to
    AWARD_APPROVE = "award.approve"  # the second commission member's approval (or refusal) of an award
    PROGRAMME_CONFIGURE = "programme.configure"  # the stored programme settings (evidence rules, ...)
    POWER_OF_ATTORNEY_CHECK = "power_of_attorney.check"  # an officer accepts or refuses a representative's document
    POWER_OF_ATTORNEY_REPLACE = "power_of_attorney.replace"  # the claim's parties give a new one (refused or expired)
    IDENTITY_VERIFY = "identity.verify"  # a claimant proves which person they are (RNOKPP + the second factor)


class Scope(StrEnum):
    NONE = "none"  # not tied to a place (e.g. managing accounts)
    OBLAST = "oblast"  # staff: every oblast of the subject must be in the actor's assignment
    PARTY_OR_OBLAST = "party_or_oblast"  # claimants: their own claims; staff: as OBLAST
    OWN_FILINGS = "own_filings"  # notaries: the reservations they filed; staff: as OBLAST


class Segregation(StrEnum):
    """Who may not take an action because of a step they took before."""

    NOT_INSPECTOR = "not_inspector"  # whoever inspected a claim does not decide it
    NOT_FIRST_DECIDER = "not_first_decider"  # an appeal is decided by another commission member
    NOT_DECIDER = "not_decider"  # whoever decided a claim does not release or issue its money
    NOT_BUILDER = "not_builder"  # whoever built a payment batch does not release it
    NOT_FIRST_APPROVER = "not_first_approver"  # a batch's two approvals come from two people
    NOT_FILER = "not_filer"  # whoever filed a claim for someone does not verify it
    NOT_PROPOSER = "not_proposer"  # an award needing a second approval is approved by another commission member


@dataclass(frozen=True, slots=True)
class Rule:
    roles: frozenset[Role]
    scope: Scope = Scope.OBLAST
    segregation: tuple[Segregation, ...] = ()


def _rule(roles: Iterable[Role], scope: Scope = Scope.OBLAST, *segregation: Segregation) -> Rule:
    return Rule(frozenset(roles), scope, tuple(segregation))


R = Role
STAFF = STAFF_ROLES
PERMISSIONS: dict[Action, Rule] = {
    Action.CLAIM_FILE: _rule([R.CLAIMANT, R.OFFICER], Scope.PARTY_OR_OBLAST),
    Action.CLAIM_READ: _rule([R.CLAIMANT, *STAFF, R.SYSTEM], Scope.PARTY_OR_OBLAST),
    Action.EVIDENCE_ADD: _rule([R.CLAIMANT, R.OFFICER, R.INSPECTOR], Scope.PARTY_OR_OBLAST),
    Action.EVIDENCE_READ: _rule([R.CLAIMANT, *STAFF], Scope.PARTY_OR_OBLAST),
    Action.CLAIM_VERIFY: _rule([R.OFFICER, R.SYSTEM], Scope.OBLAST, Segregation.NOT_FILER),
    Action.CLAIM_DECIDE: _rule([R.COMMISSION], Scope.OBLAST, Segregation.NOT_INSPECTOR),
    Action.APPEAL_DECIDE: _rule([R.COMMISSION], Scope.OBLAST, Segregation.NOT_INSPECTOR, Segregation.NOT_FIRST_DECIDER),
    Action.ASSESS: _rule([R.OFFICER, R.SYSTEM]),
    Action.BATCH_READ: _rule([R.PAYMENTS, R.AUDITOR, R.ADMIN]),
    Action.BATCH_BUILD: _rule([R.PAYMENTS], Scope.OBLAST, Segregation.NOT_DECIDER),
    Action.BATCH_APPROVE: _rule([R.PAYMENTS], Scope.OBLAST, Segregation.NOT_DECIDER),
    Action.BATCH_RELEASE: _rule([R.PAYMENTS], Scope.OBLAST, Segregation.NOT_DECIDER, Segregation.NOT_FIRST_APPROVER,
                                Segregation.NOT_BUILDER),
    Action.BATCH_CANCEL: _rule([R.PAYMENTS]),
    Action.BATCH_EXPORT: _rule([R.PAYMENTS, R.SYSTEM]),
    Action.BATCH_SEND: _rule([R.PAYMENTS, R.SYSTEM]),
    Action.STATEMENT_RECONCILE: _rule([R.PAYMENTS, R.SYSTEM], Scope.NONE),
    Action.STATEMENT_RESOLVE: _rule([R.PAYMENTS]),  # matching: the payment's oblast must be the officer's
    Action.LEDGER_POST: _rule([R.COMMISSION, R.PAYMENTS, R.ADMIN, R.SYSTEM]),
    Action.LEDGER_SYNC: _rule([R.PAYMENTS, R.ADMIN, R.SYSTEM], Scope.NONE),
    Action.PAYMENTS_SWEEP: _rule([R.PAYMENTS, R.ADMIN, R.SYSTEM], Scope.NONE),
    Action.PAYOUT_READ: _rule([R.CLAIMANT, *STAFF], Scope.PARTY_OR_OBLAST),
    Action.PAYOUT_SPEND: _rule([R.PAYMENTS, R.SYSTEM]),
    Action.PAYOUT_REPORT: _rule([R.CLAIMANT, R.OFFICER], Scope.PARTY_OR_OBLAST),
    Action.PAYOUT_VERIFY: _rule([R.OFFICER, R.COMMISSION]),
    Action.PAYOUT_CLOSE: _rule([R.PAYMENTS, R.SYSTEM]),
    Action.CARD_TRANSACTIONS_IMPORT: _rule([R.PAYMENTS, R.SYSTEM], Scope.NONE),
    Action.CERTIFICATE_ISSUE: _rule([R.PAYMENTS], Scope.OBLAST, Segregation.NOT_DECIDER),
    Action.CERTIFICATE_RESERVE: _rule([R.PAYMENTS, R.SYSTEM]),
    Action.CERTIFICATE_RECORD: _rule([R.OFFICER, R.PAYMENTS, R.NOTARY], Scope.OWN_FILINGS),
    Action.CERTIFICATE_REDEEM: _rule([R.PAYMENTS, R.SYSTEM]),
    Action.CERTIFICATE_REVOKE: _rule([R.ADMIN, R.SYSTEM], Scope.NONE),
    Action.RESERVATION_FILE: _rule([R.NOTARY], Scope.NONE),
    Action.RESERVATION_READ: _rule([R.NOTARY, R.PAYMENTS, R.OFFICER, R.AUDITOR, R.ADMIN], Scope.OWN_FILINGS),
    Action.RESERVATION_REVIEW: _rule([R.OFFICER, R.ADMIN], Scope.NONE),
    Action.FUND_READ: _rule([R.PAYMENTS, R.AUDITOR, R.ADMIN, R.SYSTEM], Scope.NONE),
    Action.FUND_RECORD: _rule([R.PAYMENTS, R.ADMIN, R.SYSTEM], Scope.NONE),
    Action.FINDING_READ: _rule(STAFF),
    Action.FINDING_REVIEW: _rule([R.OFFICER, R.COMMISSION]),
    Action.FINDING_OVERRIDE: _rule([R.COMMISSION, R.ADMIN]),
    Action.LINKAGE_RUN: _rule([R.SYSTEM, R.ADMIN], Scope.NONE),
    Action.USER_MANAGE: _rule([R.ADMIN, R.SYSTEM], Scope.NONE),
    Action.AUDIT_READ: _rule([R.AUDITOR, R.ADMIN, R.SYSTEM], Scope.NONE),
    Action.INSPECTOR_ASSIGN: _rule([R.OFFICER]),
    Action.INSPECTIONS_READ: _rule([R.OFFICER, R.INSPECTOR]),
    Action.PAYOUT_ACCOUNT_SET: _rule([R.CLAIMANT, R.OFFICER], Scope.PARTY_OR_OBLAST),
    # the second member is neither the member who proposed the award (the first decider) nor the claim's inspector
    Action.AWARD_APPROVE: _rule([R.COMMISSION], Scope.OBLAST, Segregation.NOT_INSPECTOR, Segregation.NOT_PROPOSER),
    Action.PROGRAMME_CONFIGURE: _rule([R.ADMIN, R.SYSTEM], Scope.NONE),
    Action.POWER_OF_ATTORNEY_CHECK: _rule([R.OFFICER], Scope.OBLAST, Segregation.NOT_FILER),
    # the representative who filed the claim, or a (verified) owner: never staff, whose part is the check
    Action.POWER_OF_ATTORNEY_REPLACE: _rule([R.CLAIMANT], Scope.PARTY_OR_OBLAST),
    Action.IDENTITY_VERIFY: _rule([R.CLAIMANT], Scope.NONE),
}


@dataclass(frozen=True, slots=True)
class Subject:
    """What a check needs to know about the thing acted on (a claim, a batch, a finding)."""

    oblasts: frozenset[str] = frozenset()
    is_party: bool = False  # the acting claimant owns or represents it
    inspector_id: int | None = None
    decided_by: frozenset[int] = frozenset()  # who decided the claim(s) it concerns
    decided_refs: tuple[str, ...] = ()  # their references, to name them in the refusal
    first_decider_id: int | None = None
    built_by_id: int | None = None
    approved_by_id: int | None = None  # who gave a batch's first approval
    filed_by_id: int | None = None  # a staff member who filed the claim for the applicant
    proposed_by_id: int | None = None  # the commission member whose award awaits a second approval
    notary_id: int | None = None  # the notary who filed a certificate reservation (Scope.OWN_FILINGS)


def segregation_problem(actor: Actor, rule: Segregation, subject: Subject) -> GuardFailed | None:
    """The refusal if `rule` forbids this actor acting on this subject, else None."""
    me = actor.user_id
    if me is None:
        return None
    if rule is Segregation.NOT_INSPECTOR and me == subject.inspector_id:
        return GuardFailed("Segregation of duties: you inspected this claim, so another commission member must decide it.",
                           ErrorCode.SEGREGATION_INSPECTED)
    if rule is Segregation.NOT_FIRST_DECIDER and me == subject.first_decider_id:
        return GuardFailed("An appeal must be decided by a commission member other than the one who made the first decision.",
                           ErrorCode.SEGREGATION_FIRST_DECIDER)
    if rule is Segregation.NOT_DECIDER and me in subject.decided_by:
        refs = ", ".join(subject.decided_refs)
        return GuardFailed(f"Segregation of duties: you decided claim(s) {refs}, so you may not release "
                           "their payment.", ErrorCode.SEGREGATION_DECIDED, references=list(subject.decided_refs))
    if rule is Segregation.NOT_BUILDER and me == subject.built_by_id:
        return GuardFailed("Segregation of duties: you built this batch, so another payments officer must approve it.",
                           ErrorCode.SEGREGATION_BUILT)
    if rule is Segregation.NOT_FIRST_APPROVER and me == subject.approved_by_id:
        return GuardFailed("Segregation of duties: you gave this batch its first approval, so a second, different "
                           "payments user must approve it.", ErrorCode.SEGREGATION_FIRST_APPROVER)
    if rule is Segregation.NOT_FILER and me == subject.filed_by_id:
        return GuardFailed("Segregation of duties: you filed this claim for the applicant, so another officer must "
                           "verify it.", ErrorCode.SEGREGATION_FILED)
    if rule is Segregation.NOT_PROPOSER and me == subject.proposed_by_id:
        return GuardFailed("Segregation of duties: you made this award, so a second, different commission member must "
                           "approve or refuse it.", ErrorCode.SEGREGATION_PROPOSED)
    return None


def check(actor: Actor, action: Action, subject: Subject = Subject()) -> Forbidden | GuardFailed | None:
    """The refusal for `actor` taking `action` on `subject`, or None when the table allows it."""
    rule = PERMISSIONS[action]
    if actor.role not in rule.roles:
        who = ", ".join(sorted(r.value for r in rule.roles - {Role.SYSTEM})) or "the system"
        return Forbidden(f"Only {who} may do this ({action.value}); you are signed in as {actor.role.value}.",
                         ErrorCode.ROLE_NOT_ALLOWED, action=action.value, role=actor.role.value)
    if rule.scope is not Scope.NONE and actor.role is not Role.SYSTEM:
        if rule.scope is Scope.OWN_FILINGS and actor.role is Role.NOTARY:
            if subject.notary_id != actor.user_id:
                return Forbidden("Only the notary who filed this reservation may act on it.", ErrorCode.NOT_A_PARTY)
        elif actor.role is Role.CLAIMANT:
            if rule.scope is Scope.PARTY_OR_OBLAST and not subject.is_party:
                return Forbidden("Only an owner or the representative who filed this claim may do that.",
                                 ErrorCode.NOT_A_PARTY)
        else:
            outside = sorted(o for o in subject.oblasts if not actor.covers(o))
            if outside:
                return Forbidden(f"This concerns oblast(s) outside your assignment: {', '.join(outside)}.",
                                 ErrorCode.OUT_OF_SCOPE, oblasts=outside)
    for seg in rule.segregation:
        if problem := segregation_problem(actor, seg, subject):
            return problem
    return None


def require(actor: Actor, action: Action, subject: Subject = Subject()) -> None:
    """Raise the refusal (403 Forbidden, or 409 GuardFailed for segregation) unless the table allows it."""
    if problem := check(actor, action, subject):
        raise problem


def allowed(actor: Actor, action: Action, subject: Subject = Subject()) -> bool:
    return check(actor, action, subject) is None
