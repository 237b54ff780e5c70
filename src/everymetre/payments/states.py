"""The four payments state machines — batch, payment, repair payout, housing certificate — as move tables.

Each table lists its moves, (source, target) -> the permission-table action that authorises it
(`accounts.permissions`, which says the roles, scope and segregation) and what the move needs. An action
asks `machine.move(source, target)` before it changes a state: an unlisted move is refused with an
`InvalidTransition` naming the states it could move from. Bulk updates take their `WHERE state = ...`
and `SET state = ...` from the move they make, never from string literals.

Pure: no I/PO. The database CHECK constraints (`payments.models`) list the same states.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from everymetre.accounts.permissions import Action
from everymetre.claims.lifecycle import ClaimKind
from everymetre.claims.lifecycle import State as ClaimState
from everymetre.kernel.errors import ErrorCode, InvalidTransition


class BatchState(StrEnum):
    BUILT = "built"
    APPROVED = "approved"
    EXPORTED = "exported"
    SENT = "sent"
    CANCELLED = "cancelled"


class PaymentState(StrEnum):
    PENDING = "pending"
    BATCHED = "batched"
    SENT = "sent"
    BOOKED = "booked"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class PayoutState(StrEnum):
    FUNDS_TRANSFERRED = "funds_transferred"
    SPENDING = "spending"
    INTERIM_REPORTED = "interim_reported"
    INTERIM_ACCEPTED = "interim_accepted"  # tier B: the second payment (30 %) is due
    FINAL_REPORTED = "final_reported"
    VERIFIED = "verified"
    CLOSED = "closed"
    EXPIRED_BALANCE_RETURNED = "expired_balance_returned"
    REDAMAGED = "redamaged"  # the home was damaged again: the card is closed, the unspent balance returned


class CertificateState(StrEnum):
    ISSUED = "issued"
    RESERVATION_FILED = "reservation_filed"  # a notary booked it; waiting for funds (or a related-party review)
    FUNDS_RESERVED = "funds_reserved"
    OWNERSHIP_TERMINATED = "ownership_terminated"
    CONTRACT_SIGNED = "contract_signed"
    PAID_TO_SELLER = "paid_to_seller"
    REDEEMED = "redeemed"
    RESERVATION_LAPSED = "reservation_lapsed"
    EXPIRED = "expired"
    REVOKED = "revoked"  # its decision was overturned or revised on appeal (a revision issues the replacement)


class ReservationState(StrEnum):
    """A notary's booking of one or more certificates (co-owners combining) against one home."""

    REVIEW = "review"  # the seller is related to a buyer: an officer clears or refuses it first
    QUEUED = "queued"  # waiting for the paying agent's funds, in order of filing
    CONFIRMED = "confirmed"  # funds reserved: 30 days to end the old ownership and sign the contract
    OWNERSHIP_TERMINATED = "ownership_terminated"
    CONTRACT_SIGNED = "contract_signed"  # the seller is paid in the next batch
    COMPLETED = "completed"  # every certificate redeemed
    LAPSED = "lapsed"  # no contract within 30 days; funds returned to the agent's fund
    REFUSED = "refused"  # a related-party sale refused on review
    CANCELLED = "cancelled"  # a certificate in it was revoked or expired


class Needs(StrEnum):
    """What a move needs besides its source state."""

    TIER_A = "tier_a"  # a final report straight from spending: tier B files the interim report first
    TIER_B = "tier_b"  # only tier B has an interim report
    SECOND_PAID = "second_paid"  # tier B's final report once the second payment has reached the account


@dataclass(frozen=True, slots=True)
class Move:
    source: str
    target: str
    action: Action  # the row of accounts.permissions.PERMISSIONS that says who may make it
    verb: str  # "be approved": for the refusal "only a built batch can be approved"
    needs: frozenset[Needs] = frozenset()


class Machine:
    """One state machine: its states and its moves, (source, target) -> Move."""

    def __init__(self, noun: str, states: type[StrEnum], moves: Iterable[Move], initial: Iterable[StrEnum] = ()) -> None:
        self.noun = noun
        self.states = tuple(s.value for s in states)
        self.initial = tuple(s.value for s in initial) or self.states[:1]  # where a thing can start
        self.moves: dict[tuple[str, str], Move] = {}
        for m in moves:
            assert m.source in self.states and m.target in self.states, m
            assert (m.source, m.target) not in self.moves, f"{noun}: {m.source} -> {m.target} listed twice"
            self.moves[(m.source, m.target)] = m

    def sources(self, target: str, action: Action | None = None) -> tuple[str, ...]:
        """The states from which `target` can be reached (by `action`, if given), in table order."""
        return tuple(m.source for m in self.moves.values() if m.target == target and (action is None or m.action is action))

    def can(self, source: str, target: str) -> bool:
        return (source, target) in self.moves

    def move(self, source: str, target: str, name: str = "") -> Move:
        """The move from `source` to `target`, or InvalidTransition saying from which states it can be made."""
        if (m := self.moves.get((source, target))) is not None:
            return m
        allowed = self.sources(target)
        verb = next((m.verb for m in self.moves.values() if m.target == target), f"become {target}")
        what = f"{self.noun.capitalize()} {name}".strip() if name else f"The {self.noun}"
        if allowed:
            detail = f"{what} is {source}; only a {self.noun} that is {' or '.join(allowed)} can {verb}."
        else:
            detail = f"{what} is {source}; a {self.noun} cannot {verb}."
        raise InvalidTransition(detail, ErrorCode.INVALID_TRANSITION, machine=self.noun, state=source, target=target,
                                allowed=list(allowed))


def _moves(sources: Iterable[StrEnum], target: StrEnum, action: Action, verb: str,
           needs: Iterable[Needs] = ()) -> list[Move]:
    return [Move(s.value, target.value, action, verb, frozenset(needs)) for s in sources]


A = Action
B = BatchState
BATCH = Machine("batch", BatchState, [
    *_moves([B.BUILT], B.APPROVED, A.BATCH_RELEASE, "be approved"),
    # an exported file not yet marked sent may be cancelled (the officer says why: it was not given to the bank);
    # a sent one never: its money is with the bank, and a return comes back on a statement
    *_moves([B.BUILT, B.APPROVED, B.EXPORTED], B.CANCELLED, A.BATCH_CANCEL, "be cancelled (a sent batch is with the bank)"),
    *_moves([B.APPROVED], B.EXPORTED, A.BATCH_EXPORT, "have its file written"),
    *_moves([B.EXPORTED], B.EXPORTED, A.BATCH_EXPORT, "have its file written"),  # again: the same bytes
    *_moves([B.EXPORTED], B.SENT, A.BATCH_SEND, "be marked sent"),
])
# A batch still being worked on by its builder: their "open batch" (one at a time, a unique index).
OPEN_BATCH = (B.BUILT.value, B.APPROVED.value, B.EXPORTED.value)

P = PaymentState
PAYMENT = Machine("payment", PaymentState, [
    *_moves([P.PENDING], P.BATCHED, A.BATCH_BUILD, "be put in a batch"),
    *_moves([P.BATCHED], P.CANCELLED, A.BATCH_CANCEL, "be withdrawn from its batch"),
    *_moves([P.BATCHED], P.SENT, A.BATCH_SEND, "be sent"),
    *_moves([P.SENT], P.BOOKED, A.STATEMENT_RECONCILE, "be booked"),
    *_moves([P.SENT], P.REJECTED, A.STATEMENT_RECONCILE, "be returned"),
])
# A payment that may still leave or has left: a claim (or certificate) has at most one (a partial unique index).
DEAD_PAYMENT = (P.REJECTED.value, P.CANCELLED.value)
# payments written into a batch's bank file
IN_FILE = (P.BATCHED.value, P.SENT.value, P.BOOKED.value, P.REJECTED.value)

PO = PayoutState
# the card still pays (spending is counted) in these states
SPENDABLE = [PO.FUNDS_TRANSFERRED, PO.SPENDING, PO.INTERIM_REPORTED, PO.INTERIM_ACCEPTED]
# the payout is still open: a repeat damage closes it
OPEN_PAYOUT = [*SPENDABLE, PO.FINAL_REPORTED]
PAYOUT = Machine("payout", PayoutState, [
    *_moves([PO.FUNDS_TRANSFERRED, PO.SPENDING], PO.SPENDING, A.PAYOUT_SPEND, "record spending"),
    *_moves([PO.INTERIM_REPORTED], PO.INTERIM_REPORTED, A.PAYOUT_SPEND, "record spending"),
    *_moves([PO.INTERIM_ACCEPTED], PO.INTERIM_ACCEPTED, A.PAYOUT_SPEND, "record spending"),
    *_moves([PO.FUNDS_TRANSFERRED, PO.SPENDING], PO.INTERIM_REPORTED, A.PAYOUT_REPORT, "get an interim report", [Needs.TIER_B]),
    *_moves([PO.INTERIM_REPORTED], PO.INTERIM_ACCEPTED, A.PAYOUT_VERIFY, "have its interim report accepted"),
    *_moves([PO.INTERIM_REPORTED], PO.SPENDING, A.PAYOUT_VERIFY, "have its interim report returned"),
    *_moves([PO.FUNDS_TRANSFERRED, PO.SPENDING], PO.FINAL_REPORTED, A.PAYOUT_REPORT, "get a final report", [Needs.TIER_A]),
    *_moves([PO.INTERIM_ACCEPTED], PO.FINAL_REPORTED, A.PAYOUT_REPORT, "get a final report", [Needs.SECOND_PAID]),
    *_moves([PO.FINAL_REPORTED], PO.VERIFIED, A.PAYOUT_VERIFY, "be verified"),
    # a final report returned with a reason: back to spending (tier A) or to the accepted interim report (tier B)
    *_moves([PO.FINAL_REPORTED], PO.SPENDING, A.PAYOUT_VERIFY, "have its final report returned", [Needs.TIER_A]),
    *_moves([PO.FINAL_REPORTED], PO.INTERIM_ACCEPTED, A.PAYOUT_VERIFY, "have its final report returned", [Needs.TIER_B]),
    *_moves([PO.VERIFIED], PO.CLOSED, A.PAYOUT_CLOSE, "be closed"),
    *_moves(SPENDABLE, PO.EXPIRED_BALANCE_RETURNED, A.PAYMENTS_SWEEP, "expire"),
    *_moves(OPEN_PAYOUT, PO.REDAMAGED, A.PAYMENTS_SWEEP, "be closed for a repeat damage"),
])
# a payout whose money is settled: nothing moves it any more
FINISHED_PAYOUT = (PO.CLOSED.value, PO.EXPIRED_BALANCE_RETURNED.value, PO.REDAMAGED.value)

class EntryState(StrEnum):
    """A bank statement entry: settled when it was applied (booked, returned, already applied, not final), open
    when a person must look at it (it matches no payment, or disagrees with the one it names)."""

    SETTLED = "settled"
    OPEN = "open"
    MATCHED = "matched"  # matched by hand to a payment, and applied to it
    DISMISSED = "dismissed"  # not ours to act on (a bank fee, a transfer of another programme), with a reason


E = EntryState
STATEMENT_ENTRY = Machine("statement entry", EntryState, [
    *_moves([E.OPEN], E.MATCHED, A.STATEMENT_RESOLVE, "be matched to a payment"),
    *_moves([E.OPEN], E.DISMISSED, A.STATEMENT_RESOLVE, "be dismissed"),
], initial=[E.SETTLED, E.OPEN])

C = CertificateState
CERTIFICATE = Machine("certificate", CertificateState, [
    *_moves([C.ISSUED, C.RESERVATION_LAPSED], C.RESERVATION_FILED, A.RESERVATION_FILE, "be booked"),
    *_moves([C.RESERVATION_FILED], C.ISSUED, A.RESERVATION_REVIEW, "be released from a refused booking"),
    *_moves([C.ISSUED, C.RESERVATION_FILED], C.FUNDS_RESERVED, A.CERTIFICATE_RESERVE, "have its funds reserved"),
    *_moves([C.FUNDS_RESERVED], C.OWNERSHIP_TERMINATED, A.CERTIFICATE_RECORD, "record the ownership termination"),
    *_moves([C.OWNERSHIP_TERMINATED], C.CONTRACT_SIGNED, A.CERTIFICATE_RECORD, "record the purchase contract"),
    *_moves([C.CONTRACT_SIGNED], C.CONTRACT_SIGNED, A.CERTIFICATE_RECORD, "have the seller's account corrected"),
    *_moves([C.CONTRACT_SIGNED], C.PAID_TO_SELLER, A.STATEMENT_RECONCILE, "be paid to the seller"),
    *_moves([C.PAID_TO_SELLER], C.REDEEMED, A.CERTIFICATE_REDEEM, "be redeemed"),
    *_moves([C.FUNDS_RESERVED, C.OWNERSHIP_TERMINATED], C.RESERVATION_LAPSED, A.PAYMENTS_SWEEP, "lapse"),
    *_moves([C.ISSUED, C.RESERVATION_FILED, C.FUNDS_RESERVED, C.OWNERSHIP_TERMINATED, C.RESERVATION_LAPSED], C.EXPIRED,
            A.PAYMENTS_SWEEP, "expire"),
    *_moves([C.ISSUED, C.RESERVATION_FILED, C.FUNDS_RESERVED, C.OWNERSHIP_TERMINATED, C.RESERVATION_LAPSED], C.REVOKED,
            A.CERTIFICATE_REVOKE, "be revoked"),
])
# A certificate that still counts as its holder's (at most one per claim and co-owner: a partial unique index).
DEAD_CERTIFICATE = (C.REVOKED.value,)
# Certificates whose funds are held in a reservation account (released on lapse, expiry or revocation).
RESERVED_CERTIFICATES = (C.FUNDS_RESERVED.value, C.OWNERSHIP_TERMINATED.value)

# Claim states (the claim lifecycle's) that matter to the money.
# A decision commits money (an appeal keeps the first decision's amount committed until it is decided) ...
COMMITTED_CLAIMS = tuple(s.value for s in (ClaimState.APPROVED, ClaimState.APPEALED, ClaimState.UPHELD, ClaimState.REVISED))
# ... and may be paid now (not while an appeal may still change the amount).
PAYABLE_CLAIMS = tuple(s.value for s in (ClaimState.APPROVED, ClaimState.UPHELD, ClaimState.REVISED))
# Destroyed homes are compensated with a housing certificate (committed when its funds are reserved), repairs in money.
DESTROYED = ClaimKind.DESTROYED_HOUSING_APPLICATION.value
