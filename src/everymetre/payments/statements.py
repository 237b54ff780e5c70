"""Uploaded bank statements: the list, one statement's result (booked, rejected, unknown), and the entries no
payment matched — matched by hand to a payment (and applied to it, as the upload would have) or dismissed with
a reason. Each resolution is one transaction with its audit event on the statement's chain.

Oblast scope: a payments officer sees the booked and returned payments of their oblasts' claims (the others are
counted, not shown) and every entry that names no payment (it has no oblast until it is matched).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.accounts.models import User
from everymetre.accounts.permissions import Action, Subject, require
from everymetre.audit.record import record
from everymetre.claims.models import Claim
from everymetre.kernel.errors import Conflict, ErrorCode, NotFound, ValidationFailed
from everymetre.kernel.identifiers import claim_reference, mask
from everymetre.payments.common import uah
from everymetre.payments.models import BankStatement, Payment, StatementLine
from everymetre.payments.reconcile import BOOK, RETURN, _Pay, apply_moves, is_return, problem_text
from everymetre.payments.return_reasons import reason_fields
from everymetre.payments.states import STATEMENT_ENTRY, EntryState
from everymetre.store.tx import atomic
from everymetre.store.types import utcnow

E = EntryState
SHOWN = ("booked", "rejected", "unknown")  # the result page's three lists (unknown: open or resolved by hand)


def _entry_for_update(session: Session, entry_id: int) -> tuple[StatementLine, BankStatement]:
    row = session.execute(select(StatementLine, BankStatement).join(BankStatement, BankStatement.id == StatementLine.statement_id)
                          .where(StatementLine.id == entry_id).with_for_update(of=StatementLine)).first()
    if row is None:
        raise NotFound(f"No statement entry {entry_id}.")
    return row[0], row[1]


def do_match_entry(session: Session, principal: Principal, entry_id: int, end_to_end_id: str, note: str = "") -> StatementLine:
    """Match an open entry to the sent payment it is for (the bank lost or garbled our EndToEndId) and apply it:
    booked, or returned with the bank's reason. The amounts must agree; the payment's oblast must be yours."""
    require(principal.actor, Action.STATEMENT_RESOLVE)
    wanted = end_to_end_id.strip()
    if not wanted:
        raise ValidationFailed("Give the payment's id (EndToEndId, e.g. EMP-000000000123-01) the entry is for.", field="end_to_end_id")
    with atomic(session):
        entry, statement = _entry_for_update(session, entry_id)
        move = STATEMENT_ENTRY.move(entry.state, E.MATCHED, str(entry.id))
        row = session.execute(select(Payment.id, Payment.end_to_end_id, Payment.amount_kopiykas, Payment.state, Payment.purpose,
                                     Payment.claim_id, Payment.certificate_id, Payment.tranche, Payment.creditor_iban,
                                     Claim.oblast)
                              .join(Claim, Claim.id == Payment.claim_id).where(Payment.end_to_end_id == wanted)
                              .with_for_update(of=Payment)).first()
        if row is None:
            raise NotFound(f"No payment {wanted}.", field="end_to_end_id")
        require(principal.actor, Action.STATEMENT_RESOLVE, Subject(oblasts=frozenset({row.oblast})))
        p = _Pay(*row[:9])
        if p.amount != entry.amount_kopiykas:
            raise ValidationFailed(f"The entry is {uah(entry.amount_kopiykas)} but payment {p.e2e} is {uah(p.amount)}; only an "
                                   "entry of the same amount can be matched. Dismiss it and ask the bank.", field="end_to_end_id",
                                   kind="amount", entry=entry.amount_kopiykas, payment=p.amount)
        ret = is_return(entry)
        pmove = RETURN if ret else BOOK
        if p.state != pmove.source:
            raise Conflict(f"Payment {p.e2e} is {p.state}; only a sent payment can be matched to a statement entry.",
                           ErrorCode.INVALID_TRANSITION, state=p.state, machine="payment")
        applied = apply_moves(session, principal, [(p, ret, entry.booking_date or statement.uploaded_at.date(), entry.reason_code)])
        entry.state, entry.payment_id, entry.resolved_by_id, entry.resolved_at = move.target, p.id, principal.user_id, utcnow()
        entry.resolution_note = note.strip()[:2000] or None
        # the same event as an upload's (the claimant hears of the payment the same way), marked as by hand
        record(session, f"statement:{statement.statement_id[:45]}", "statement.reconciled", principal.user_id,
               {"message_id": statement.message_id, "upload": statement.id, "matched_by_hand": entry.id, "line": entry.line,
                "booked": applied.booked, "rejected": applied.rejected, "note": entry.resolution_note or ""})
    return entry


def do_dismiss_entry(session: Session, principal: Principal, entry_id: int, reason: str) -> StatementLine:
    """Dismiss an open entry that is not a payment of ours to act on (a bank fee, another programme's transfer),
    saying why; nothing is booked."""
    require(principal.actor, Action.STATEMENT_RESOLVE)
    why = reason.strip()
    if not why:
        raise ValidationFailed("Say why the entry is dismissed (for example: a bank fee).", field="reason")
    with atomic(session):
        entry, statement = _entry_for_update(session, entry_id)
        move = STATEMENT_ENTRY.move(entry.state, E.DISMISSED, str(entry.id))
        entry.state, entry.resolved_by_id, entry.resolved_at, entry.resolution_note = move.target, principal.user_id, utcnow(), why[:2000]
        record(session, f"statement:{statement.statement_id[:45]}", "statement.entry_dismissed", principal.user_id,
               {"message_id": statement.message_id, "upload": statement.id, "entry": entry.id, "line": entry.line,
                "end_to_end_id": entry.end_to_end_id, "amount_kopiykas": entry.amount_kopiykas, "reason": entry.resolution_note})
    return entry


# ------------------------------------------------------------------------------------------------ read models


def _statement_dict(s: BankStatement, emails: dict[int, str], open_count: int) -> dict[str, Any]:
    return {"id": s.id, "statement_id": s.statement_id, "message_id": s.message_id, "account_iban": mask(s.account_iban, 4) or None,
            "uploaded_at": s.uploaded_at, "uploaded_by": emails.get(s.uploaded_by_id or 0), "entries": s.entries,
            "booked": s.booked, "rejected": s.rejected, "already": s.already, "ignored": s.ignored, "unknown": s.unknown,
            "open": open_count}


def list_statements(session: Session, principal: Principal, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    require(principal.actor, Action.BATCH_READ)
    total = session.scalar(select(func.count()).select_from(BankStatement)) or 0
    rows = session.scalars(select(BankStatement).order_by(BankStatement.id.desc()).limit(limit).offset(offset)).all()
    ids = [s.id for s in rows]
    opened = dict(session.execute(select(StatementLine.statement_id, func.count()).where(
        StatementLine.statement_id.in_(ids), StatementLine.state == E.OPEN).group_by(StatementLine.statement_id)).all()) if ids else {}
    users = {s.uploaded_by_id for s in rows if s.uploaded_by_id}
    emails = dict(session.execute(select(User.id, User.email).where(User.id.in_(users))).all()) if users else {}
    return {"items": [_statement_dict(s, emails, int(opened.get(s.id, 0))) for s in rows], "total": total, "limit": limit,
            "offset": offset}


def entry_view(e: StatementLine, pay: Any | None) -> dict[str, Any]:
    """One entry as the API and pages show it (`pay`: its payment's row with the claim's year, or None)."""
    return {"id": e.id, "line": e.line, "end_to_end_id": e.end_to_end_id, "amount_kopiykas": e.amount_kopiykas,
            "credit_debit": e.credit_debit, "booking_date": e.booking_date, "bank_ref": e.bank_ref, "outcome": e.outcome,
            "state": e.state, "problem": problem_text(e.problem, e.amount_kopiykas, pay.amount_kopiykas if pay else None)
            if e.outcome in ("unknown", "mismatch") else None, "problem_code": e.problem,
            "payment_end_to_end_id": pay.end_to_end_id if pay else None, "payment_amount_kopiykas": pay.amount_kopiykas if pay else None,
            "claim_reference": claim_reference(pay.ref_year, pay.claim_id) if pay else None,
            "payee": pay.creditor_name if pay else None, "resolution_note": e.resolution_note, "resolved_at": e.resolved_at,
            **reason_fields(e.reason_code if is_return(e) and e.outcome != "ignored" else None)}


def statement_detail(session: Session, principal: Principal, upload_id: int, limit: int = 200) -> dict[str, Any]:
    """One uploaded statement: booked, rejected and unknown entries (the first `limit` of each that you may see,
    with totals), and how many of the others are in oblasts outside yours."""
    require(principal.actor, Action.BATCH_READ)
    s = session.get(BankStatement, upload_id)
    if s is None:
        raise NotFound(f"No bank statement {upload_id}.")
    emails = dict(session.execute(select(User.id, User.email).where(User.id == s.uploaded_by_id)).all()) if s.uploaded_by_id else {}
    open_count = session.scalar(select(func.count()).where(StatementLine.statement_id == s.id, StatementLine.state == E.OPEN)) or 0
    out = _statement_dict(s, emails, int(open_count))
    scoped = not principal.actor.all_oblasts
    groups = {"booked": ("booked",), "rejected": ("rejected",), "unknown": ("unknown", "mismatch")}
    hidden = 0
    for name, outcomes in groups.items():
        base = (select(StatementLine, Payment.end_to_end_id, Payment.amount_kopiykas, Payment.claim_id, Payment.creditor_name,
                       Claim.ref_year, Claim.oblast)
                .outerjoin(Payment, Payment.id == StatementLine.payment_id).outerjoin(Claim, Claim.id == Payment.claim_id)
                .where(StatementLine.statement_id == s.id, StatementLine.outcome.in_(outcomes)))
        visible = base.where(Claim.oblast.is_(None) | Claim.oblast.in_(sorted(principal.oblasts))) if scoped else base
        total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
        shown_total = session.scalar(select(func.count()).select_from(visible.subquery())) or 0
        hidden += total - shown_total
        rows = session.execute(visible.order_by(StatementLine.id).limit(limit)).all()
        out[f"{name}_entries"] = [entry_view(r[0], r if r.end_to_end_id else None) for r in rows]
        out[f"{name}_total"] = shown_total
    out["hidden_outside_your_oblasts"] = hidden
    return out


def entry_by_id(session: Session, principal: Principal, entry_id: int) -> dict[str, Any]:
    require(principal.actor, Action.BATCH_READ)
    row = session.execute(select(StatementLine, Payment.end_to_end_id, Payment.amount_kopiykas, Payment.claim_id,
                                 Payment.creditor_name, Claim.ref_year, Claim.oblast)
                          .outerjoin(Payment, Payment.id == StatementLine.payment_id).outerjoin(Claim, Claim.id == Payment.claim_id)
                          .where(StatementLine.id == entry_id)).first()
    if row is None:
        raise NotFound(f"No statement entry {entry_id}.")
    if row.oblast is not None:
        require(principal.actor, Action.BATCH_READ, Subject(oblasts=frozenset({row.oblast})))
    return entry_view(row[0], row if row.end_to_end_id else None)


def entry_statement(session: Session, entry_id: int) -> int:
    """The upload an entry belongs to (404 if none)."""
    upload = session.scalar(select(StatementLine.statement_id).where(StatementLine.id == entry_id))
    if upload is None:
        raise NotFound(f"No statement entry {entry_id}.")
    return int(upload)
