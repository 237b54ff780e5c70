"""The payments exceptions queue: everything about money that waits for a person, each with what to do.

A small registry: `KINDS` lists the kinds, each a query function `(session, principal, limit) -> (total,
items)` that already applies the reader's oblast scope. Another package adds its kind with one line (its
query function and its title; the action's words travel with each item), e.g. accounts to correct or
returned seller payments:

    KINDS.append(ExceptionKind("account_to_correct", N_("Payout accounts to correct"), accounts_to_correct))

Titles and action labels are English messages marked with `N_` (the pages translate them; the API gives the
code and both the English and Ukrainian reason where a bank gave one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import exists, func, select, true
from sqlalchemy.orm import Session, aliased

from everymetre.accounts.actions import Principal
from everymetre.accounts.permissions import Action, require
from everymetre.claims.models import Claim
from everymetre.kernel.identifiers import claim_reference
from everymetre.payments.models import BankStatement, Payment, StatementLine
from everymetre.payments.reconcile import problem_text
from everymetre.payments.return_reasons import Remedy, reason, reason_fields
from everymetre.payments.states import EntryState, PaymentState


def N_(message: str) -> str:  # noqa: N802 - marks a message for the catalogue (web.catalog); the page translates it
    return message


@dataclass(frozen=True, slots=True)
class ExceptionItem:
    kind: str
    id: str  # unique within the queue, e.g. "payment:EMP-000000000012-01", "entry:7"
    at: datetime | date | None  # since when it waits
    claim_reference: str | None
    amount_kopiykas: int
    payee: str | None
    reason_code: str | None
    reason_en: str | None
    reason_uk: str | None
    remedy: str | None
    detail: str  # in English, for the API (the page words it from the fields)
    action: str  # what to do: correct_account, check_claim, resolve_entry, ...
    action_label: str  # the action in words (an N_ message)
    action_url: str  # the page where it is done
    problem_code: str | None = None  # an unknown entry's: None (no such payment), "amount", "state:<payment state>"
    line: int | None = None  # a statement entry's line in its file
    bank_id: str | None = None  # the EndToEndId the bank gave

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


Query = Callable[[Session, Principal, int], tuple[int, list[ExceptionItem]]]


@dataclass(frozen=True, slots=True)
class ExceptionKind:
    code: str
    title: str  # an N_ message
    query: Query


def _in_scope(principal: Principal) -> Any:
    return true() if principal.actor.all_oblasts else Claim.oblast.in_(sorted(principal.oblasts))


def returned_payments(session: Session, principal: Principal, limit: int) -> tuple[int, list[ExceptionItem]]:
    """Payments the bank returned with no later payment for the same claim (or certificate) yet. The remedy
    comes from the bank's reason; a new account is given on the claim's page."""
    later = aliased(Payment)
    superseded = exists().where(later.claim_id == Payment.claim_id, later.purpose == Payment.purpose, later.id > Payment.id,
                                later.state != PaymentState.CANCELLED)
    stmt = (select(Payment.end_to_end_id, Payment.settled_on, Payment.claim_id, Claim.ref_year, Payment.amount_kopiykas,
                   Payment.creditor_name, Payment.reason_code, Payment.purpose)
            .join(Claim, Claim.id == Payment.claim_id)
            .where(Payment.state == PaymentState.REJECTED, ~superseded, _in_scope(principal)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = []
    for e2e, on, cid, year, amount, payee, code, purpose in session.execute(stmt.order_by(Payment.id).limit(limit)):
        ref = claim_reference(year, cid)
        r = reason(code)
        new_account = r.remedy is Remedy.NEW_ACCOUNT
        items.append(ExceptionItem(
            kind="returned_payment", id=f"payment:{e2e}", at=on, claim_reference=ref, amount_kopiykas=int(amount), payee=payee,
            **reason_fields(code),  # type: ignore[arg-type]
            detail=f"{'Seller payment' if purpose == 'certificate' else 'Payment'} {e2e} for claim {ref} was returned by the "
                   f"bank: {r.en}.",
            action="correct_account" if new_account else "check_claim",
            action_label=N_("Correct the payee's account") if new_account else N_("Check the claim before it is paid again"),
            # a repair payee corrects their account on the claim; a seller's account is corrected from the fund page
            action_url=("/staff/certificates/fund" if purpose == "certificate" else
                        f"/staff/claims/{ref}/payout-account" if new_account else f"/staff/claims/{ref}")))
    return int(total), items


def unknown_entries(session: Session, principal: Principal, limit: int) -> tuple[int, list[ExceptionItem]]:
    """Statement entries that matched no payment of ours, or disagreed with the one they named, not yet resolved.
    An entry naming a payment is shown to officers of its claim's oblast; one naming none, to every officer."""
    stmt = (select(StatementLine, BankStatement.uploaded_at, Payment.amount_kopiykas, Claim.id, Claim.ref_year)
            .join(BankStatement, BankStatement.id == StatementLine.statement_id)
            .outerjoin(Payment, Payment.id == StatementLine.payment_id).outerjoin(Claim, Claim.id == Payment.claim_id)
            .where(StatementLine.state == EntryState.OPEN))
    if not principal.actor.all_oblasts:
        stmt = stmt.where(Claim.id.is_(None) | Claim.oblast.in_(sorted(principal.oblasts)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = []
    for e, uploaded, paid, cid, year in session.execute(stmt.order_by(StatementLine.id).limit(limit)):
        ref = claim_reference(year, cid) if cid is not None else None
        fields = reason_fields(e.reason_code if e.credit_debit == "CRDT" or e.bank_status == "rejected" else None)
        items.append(ExceptionItem(
            kind="unknown_entry", id=f"entry:{e.id}", at=uploaded, claim_reference=ref, amount_kopiykas=e.amount_kopiykas,
            payee=None, **fields,
            detail=f"Statement entry at line {e.line} ({e.end_to_end_id or 'no EndToEndId'}): "
                   f"{problem_text(e.problem, e.amount_kopiykas, paid)}.",
            action="resolve_entry", action_label=N_("Match it to a payment or dismiss it"),
            action_url=f"/staff/payments/statements/{e.statement_id}#entry-{e.id}", problem_code=e.problem, line=e.line,
            bank_id=e.end_to_end_id))
    return int(total), items


KINDS: list[ExceptionKind] = [
    ExceptionKind("returned_payment", N_("Payments the bank returned"), returned_payments),
    ExceptionKind("unknown_entry", N_("Statement entries we could not match"), unknown_entries),
]


def exceptions_queue(session: Session, principal: Principal, kind: str | None = None, limit: int = 100) -> dict[str, Any]:
    """Every kind's count and its first `limit` items (or one kind's), in registry order."""
    require(principal.actor, Action.BATCH_READ)
    groups = []
    for k in KINDS:
        if kind and k.code != kind:
            continue
        total, items = k.query(session, principal, limit)
        groups.append({"kind": k.code, "title": k.title, "total": total, "items": items})
    return {"groups": groups, "total": sum(g["total"] for g in groups)}
