"""Reconciliation: a camt.053 bank statement applied to our payments, and stored.

Booked payments become booked (a repair payout starts; a certificate's seller is paid); returned ones become
rejected with the bank's reason and are reversed in the ledger; a returned repair payment marks the account it went
to `returned` (claims.payout_accounts.mark_returned), so its claim "needs a new account" and waits for one; once
given, the claim is paid again with a new payment. Tier B's second payment (tranche 2) booked adds to the payout.
Every entry is stored with what became of it (`StatementLine`): an entry that matches no payment of ours, or
disagrees with the one it names (amount, state), stays *open* in the payments exceptions queue until a payments
officer matches it by hand to a payment or dismisses it with a reason (`payments.statements`).

Idempotent: the same file again (its SHA-256), or the same statement sent again in other bytes (the bank's
message and statement ids), books nothing; the answer is the first upload's, marked a duplicate. Set-based:
one read of the payments named, executemany updates and inserts (no per-row ORM objects), so 100,000
entries take seconds (bench/payments.py). Audit chain ``statement:MSGID``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.accounts.permissions import Action, require
from everymetre.audit.record import record
from everymetre.claims.models import Claim
from everymetre.claims.payout_accounts import mark_returned
from everymetre.config import get_settings
from everymetre.kernel.errors import PayloadTooLarge, UnsupportedMedia, ValidationFailed
from everymetre.kernel.identifiers import claim_reference
from everymetre.payments import ledger_rules
from everymetre.payments.camt053 import Camt053Error, Camt053Statement, EntryStatus, StatementEntry, parse_camt053
from everymetre.payments.common import today_utc, uah
from everymetre.payments.ledger import Post, post
from everymetre.payments.models import BankStatement, Certificate, Payment, RepairPayout, StatementLine
from everymetre.payments.return_reasons import reason
from everymetre.payments.schedule import spending_window_end, tier_for_amount
from everymetre.payments.states import CERTIFICATE, PAYMENT, CertificateState, EntryState, PaymentState, PayoutState
from everymetre.store.tx import atomic
from everymetre.store.types import utcnow

P = PaymentState
BOOK = PAYMENT.move(P.SENT, P.BOOKED)
RETURN = PAYMENT.move(P.SENT, P.REJECTED)
SELLER_PAID = CERTIFICATE.move(CertificateState.CONTRACT_SIGNED, CertificateState.PAID_TO_SELLER)
CHUNK = 5000
CURRENCY = "UAH"


def _awards(session: Session, claim_ids: Iterable[int]) -> dict[int, int | None]:
    ids = sorted(claim_ids)
    out: dict[int, int | None] = {}
    for start in range(0, len(ids), 5000):
        out.update(session.execute(select(Claim.id, Claim.awarded_amount_kopiykas)
                                   .where(Claim.id.in_(ids[start:start + 5000]))).tuples().all())
    return out


def _second_booked(session: Session, principal: Principal, p: _Pay, on: date, ref: str) -> None:
    """Tier B's second payment reached the account: the payout's money grows by it."""
    payout = session.scalar(select(RepairPayout).where(RepairPayout.claim_id == p.claim_id).with_for_update())
    if payout is None or payout.second_paid_on is not None:
        return
    payout.amount_kopiykas += p.amount
    payout.second_paid_on = on
    record(session, f"payout:{payout.id}", "payout.second_payment_booked", principal.user_id,
           {"claim": ref, "end_to_end_id": p.e2e, "amount_kopiykas": p.amount, "on": on.isoformat()},
           claim_id=p.claim_id)


@dataclass
class ReconcileReport:
    statement_id: str = ""  # the bank's statement id
    upload_id: int | None = None  # our BankStatement row
    duplicate: bool = False  # the same statement was uploaded before: nothing was booked this time
    booked: int = 0
    rejected: int = 0
    already: int = 0
    ignored: int = 0
    unmatched: list[str] = field(default_factory=list)  # open entries naming no payment of ours (their ids)
    problems: list[str] = field(default_factory=list)  # open entries disagreeing with the payment they name
    open_lines: list[str] = field(default_factory=list)  # one line per open entry, for the CLI


@dataclass(frozen=True, slots=True)
class _Pay:
    id: int
    e2e: str
    amount: int
    state: str
    purpose: str
    claim_id: int
    certificate_id: int | None
    tranche: int
    iban: str


# ------------------------------------------------------------------------------------------------ reading


def read_statement(xml_bytes: bytes) -> Camt053Statement:
    """The statement, or a refusal a person can act on: too large (413), not XML (415), not a camt.053 or
    not of the programme's account or not in hryvnias (422)."""
    from everymetre.payments.batches import debtor_account

    limit = get_settings().statement_max_bytes
    if len(xml_bytes) > limit:
        raise PayloadTooLarge(f"The statement is {len(xml_bytes) / 1_048_576:.1f} MB; at most {limit / 1_048_576:.0f} MB is "
                              "accepted. Ask the bank for statements of one day each.")
    if not xml_bytes.strip():
        raise UnsupportedMedia("The file is empty. Choose the camt.053 statement (an XML file) the bank sent.")
    try:
        statement = parse_camt053(xml_bytes)
    except Camt053Error as exc:
        line, first = exc.problems[0] if exc.problems else (None, "not a statement")
        where = f" (line {line})" if line else ""
        if first.startswith("not well-formed XML"):
            raise UnsupportedMedia(f"The file is not XML{where}: {first.removeprefix('not well-formed XML: ')}. Choose the "
                                   "camt.053 statement the bank sent, not a PDF or spreadsheet.", line=line) from None
        raise ValidationFailed(f"The file is not a camt.053 bank statement we can read{where}: {first}"
                               + (f" (and {len(exc.problems) - 1} more problems)" if len(exc.problems) > 1 else "")
                               + ". Ask the bank for the camt.053.001.02 or .08 statement.", field="file", kind="schema", line=line) from None
    ours = debtor_account().iban
    if statement.account_iban and statement.account_iban != ours:
        raise ValidationFailed(f"The statement is of account {statement.account_iban}, not the programme's account {ours}. "
                               "Upload the programme account's statement.", field="file", kind="account",
                               account=statement.account_iban)
    for e in statement.entries:
        if e.currency and e.currency != CURRENCY:
            raise ValidationFailed(f"The entry at line {e.line} is in {e.currency}; the programme pays in hryvnias ({CURRENCY}) "
                                   "only. Ask the bank for the hryvnia account's statement.", field="file", kind="currency",
                                   line=e.line, currency=e.currency)
    return statement


def _payments(session: Session, ids: Iterable[str]) -> dict[str, _Pay]:
    wanted = sorted(set(ids))
    out: dict[str, _Pay] = {}
    cols = (Payment.id, Payment.end_to_end_id, Payment.amount_kopiykas, Payment.state, Payment.purpose, Payment.claim_id,
            Payment.certificate_id, Payment.tranche, Payment.creditor_iban)
    for start in range(0, len(wanted), CHUNK):
        for row in session.execute(select(*cols).where(Payment.end_to_end_id.in_(wanted[start:start + CHUNK])).with_for_update()):
            out[row[1]] = _Pay(*row)
    return out


def _by_ids(session: Session, columns: Sequence[Any], key: Any, ids: Iterable[int]) -> dict[int, Any]:
    wanted = sorted(set(ids))
    out: dict[int, Any] = {}
    for start in range(0, len(wanted), CHUNK):
        out.update({r[0]: r for r in session.execute(select(key, *columns).where(key.in_(wanted[start:start + CHUNK])))})
    return out


# ------------------------------------------------------------------------------------------------ applying


def _update(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """UPDATE ... WHERE id = ? as one executemany on the table (no ORM bulk machinery: 100,000 rows in seconds)."""
    if not rows:
        return
    table = model.__table__
    names = [k for k in rows[0] if k != "id"]
    stmt = update(table).where(table.c.id == bindparam("_id")).values({k: bindparam(f"_{k}") for k in names})
    for start in range(0, len(rows), CHUNK * 4):
        session.execute(stmt, [{f"_{k}": v for k, v in r.items()} for r in rows[start:start + CHUNK * 4]])


@dataclass
class Applied:
    booked: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


def is_return(e: StatementEntry | StatementLine) -> bool:
    if isinstance(e, StatementLine):
        return e.bank_status == EntryStatus.REJECTED or e.credit_debit == "CRDT"
    return e.status is EntryStatus.REJECTED or e.reversal or e.credit_debit == "CRDT"


def classify(e: StatementEntry, p: _Pay | None, state_now: str | None) -> tuple[str, str | None]:
    """(outcome, problem code) of one entry against the payment it names, whose state is `state_now`."""
    if e.status in (EntryStatus.PENDING, EntryStatus.INFO):
        return "ignored", None
    if p is None:
        return "unknown", None
    if e.amount_kopiykas != p.amount:
        return "mismatch", "amount"
    move = RETURN if is_return(e) else BOOK
    if state_now == move.target:
        return "already", None
    if state_now != move.source:
        return "mismatch", f"state:{state_now}"
    return ("rejected" if move is RETURN else "booked"), None


def apply_moves(session: Session, principal: Principal, moves: Sequence[tuple[_Pay, bool, date, str | None]]) -> Applied:
    """Book or return sent payments, set-based: (payment, is a return, the bank's date, reason code) each. The
    caller checked each payment is sent (and locked it)."""
    done = Applied()
    if not moves:
        return done
    session.flush()  # the table-level updates below bypass the session: objects it holds are expired after them
    booked = [(p, on) for p, ret, on, _ in moves if not ret]
    returned = [(p, on, code) for p, ret, on, code in moves if ret]
    if booked:
        _update(session, Payment, [{"id": p.id, "state": BOOK.target, "settled_on": on} for p, on in booked])
        payouts = []
        awards = _awards(session, {p.claim_id for p, _ in booked if p.purpose == "repair" and p.tranche == 1})
        seconds = [(p, on) for p, on in booked if p.purpose == "repair" and p.tranche == 2]
        for p, on in booked:
            if p.purpose == "repair" and p.tranche == 1:
                awarded = int(awards.get(p.claim_id) or p.amount)
                tier = tier_for_amount(awarded)  # by the award: tier B's first payment is only 70 % of it
                payouts.append({"claim_id": p.claim_id, "payment_id": p.id, "tier": tier.value, "amount_kopiykas": p.amount,
                                "awarded_kopiykas": awarded, "transferred_on": on,
                                "window_end": spending_window_end(on, tier),
                                "state": PayoutState.FUNDS_TRANSFERRED.value, "spent_kopiykas": 0, "returned_kopiykas": 0})
        if payouts:
            session.execute(insert(RepairPayout.__table__), payouts)
        if seconds:
            years2 = _by_ids(session, [Claim.ref_year], Claim.id, (p.claim_id for p, _ in seconds))
            for p, on in seconds:
                _second_booked(session, principal, p, on, claim_reference(years2[p.claim_id][1], p.claim_id))
        seller = {p.certificate_id: on for p, on in booked if p.certificate_id is not None}
        if seller:
            states = _by_ids(session, [Certificate.state], Certificate.id, seller)
            rows = [{"id": cid, "state": SELLER_PAID.target, "paid_on": on} for cid, on in seller.items()
                    if cid in states and states[cid][1] == SELLER_PAID.source]
            if rows:
                _update(session, Certificate, rows)
        done.booked = [p.e2e for p, _ in booked]
    if returned:
        years = _by_ids(session, [Claim.ref_year], Claim.id, (p.claim_id for p, _, _ in returned))
        numbers = _by_ids(session, [Certificate.number], Certificate.id,
                          (p.certificate_id for p, _, _ in returned if p.certificate_id is not None))
        rows, posts = [], []
        dead: list[tuple[int, str, str, str]] = []
        for p, on, code in returned:
            r = reason(code)
            rows.append({"id": p.id, "state": RETURN.target, "settled_on": on, "reason_code": r.code[:10],
                         "reason": f"returned by the bank: {r.en}"})
            if p.purpose == "repair":
                ref = claim_reference(years[p.claim_id][1], p.claim_id)
                # the account it went to is marked returned: the claim needs a new one before it is paid again
                dead.append((p.claim_id, p.iban, p.e2e, f"returned by the bank: {r.en}"))
                if p.tranche == 2:
                    tx = ledger_rules.tranche_returned_transaction(f"RTN-{p.e2e}", ref, p.e2e, p.amount, r.code)
                else:
                    tx = ledger_rules.payment_returned_transaction(f"RTN-{p.e2e}", ref, p.e2e, p.amount, r.code)
            else:
                assert p.certificate_id is not None
                number = numbers[p.certificate_id][1]
                tx = ledger_rules.Transaction(f"CPR-{p.e2e}", ledger_rules.TransactionKind.CERTIFICATE_PAID,
                                              (ledger_rules.Posting(ledger_rules.bank_clearing(), debit=p.amount),
                                               ledger_rules.Posting(ledger_rules.certificate_reserved(number), credit=p.amount)),
                                              certificate=number, payment_id=p.e2e, memo=f"reversal: returned {r.code}")
            posts.append(Post(tx, claim_id=p.claim_id, payment_id=p.id, certificate_id=p.certificate_id))
        _update(session, Payment, rows)
        for claim_id, iban, e2e, why in dead:
            mark_returned(session, claim_id, iban, e2e, why, principal.user_id)
        post(session, posts, principal.user_id)
        done.rejected = [p.e2e for p, _, _ in returned]
    session.flush()  # the ORM changes above (a payout's second payment, returned accounts) before the expiry
    session.expire_all()
    return done


def problem_text(problem: str | None, entry_amount: int, payment_amount: int | None) -> str:
    """An open entry's disagreement with its payment, in English (the API's `problem`, the CLI's line)."""
    if problem == "amount":
        return f"amount {uah(entry_amount)} but the payment is {uah(payment_amount or 0)}"
    if problem and problem.startswith("state:"):
        return f"the payment is {problem.split(':', 1)[1]}, so this entry cannot be applied to it"
    return "matches no payment of ours"


# ------------------------------------------------------------------------------------------------ the action


def _duplicate(session: Session, digest: str, statement: Camt053Statement) -> BankStatement | None:
    return session.scalar(select(BankStatement).where(or_(
        BankStatement.sha256 == digest,
        (BankStatement.message_id == statement.message_id[:35]) & (BankStatement.statement_id == statement.statement_id[:35]))))


def report_of(session: Session, row: BankStatement, duplicate: bool = False) -> ReconcileReport:
    rep = ReconcileReport(statement_id=row.statement_id, upload_id=row.id, duplicate=duplicate, booked=row.booked,
                          rejected=row.rejected, already=row.already, ignored=row.ignored)
    for e in session.scalars(select(StatementLine).where(StatementLine.statement_id == row.id,
                                                         StatementLine.outcome.in_(("unknown", "mismatch")))
                             .order_by(StatementLine.id)):
        amount = session.scalar(select(Payment.amount_kopiykas).where(Payment.id == e.payment_id)) if e.payment_id else None
        text = problem_text(e.problem, e.amount_kopiykas, amount)
        (rep.unmatched if e.outcome == "unknown" else rep.problems).append(
            e.end_to_end_id or f"(no id, line {e.line})" if e.outcome == "unknown" else f"entry {e.end_to_end_id} (line {e.line}): {text}")
        rep.open_lines.append(f"line {e.line or '?'}: entry {e.end_to_end_id or '(no EndToEndId)'}, {uah(e.amount_kopiykas)} "
                              f"{e.credit_debit}: {text}; it waits in the payments exceptions queue (entry {e.id})")
    return rep


def do_reconcile(session: Session, principal: Principal, xml_bytes: bytes) -> ReconcileReport:
    """Apply a camt.053 statement and store it with each entry (see the module). The same statement again
    books nothing: the answer is the first upload's (`duplicate`), and the attempt is audited."""
    require(principal.actor, Action.STATEMENT_RECONCILE)
    digest = hashlib.sha256(xml_bytes).hexdigest()
    same = session.scalar(select(BankStatement).where(BankStatement.sha256 == digest))
    if same is not None:  # the same bytes: known without reading them again
        with atomic(session):
            record(session, f"statement:{same.statement_id[:45]}", "statement.uploaded_again", principal.user_id,
                   {"message_id": same.message_id, "sha256": digest, "first_upload": same.id})
            return report_of(session, same, duplicate=True)
    statement = read_statement(xml_bytes)
    chain = f"statement:{statement.statement_id[:45]}"
    with atomic(session):
        before = _duplicate(session, digest, statement)
        if before is not None:
            record(session, chain, "statement.uploaded_again", principal.user_id,
                   {"message_id": statement.message_id, "sha256": digest, "first_upload": before.id})
            return report_of(session, before, duplicate=True)
        now = utcnow()
        row = BankStatement(sha256=digest, message_id=statement.message_id[:35], statement_id=statement.statement_id[:35],
                            account_iban=statement.account_iban, uploaded_by_id=principal.user_id, uploaded_at=now,
                            entries=len(statement.entries), booked=0, rejected=0, already=0, ignored=0, unknown=0)
        session.add(row)
        session.flush()
        payments = _payments(session, (e.end_to_end_id for e in statement.entries if e.end_to_end_id))
        state = {k: p.state for k, p in payments.items()}  # as this statement moves them (an id twice: "already")
        lines: list[dict[str, Any]] = []
        moves: list[tuple[_Pay, bool, date, str | None]] = []
        counts = {"booked": 0, "rejected": 0, "already": 0, "ignored": 0, "unknown": 0, "mismatch": 0}
        for e in statement.entries:
            p = payments.get(e.end_to_end_id or "")
            outcome, problem = classify(e, p, state.get(e.end_to_end_id or ""))
            counts[outcome] += 1
            if outcome in ("booked", "rejected"):
                assert p is not None
                state[p.e2e] = RETURN.target if outcome == "rejected" else BOOK.target
                moves.append((p, outcome == "rejected", e.booking_date or today_utc(), e.reason_code))
            lines.append({"statement_id": row.id, "line": e.line, "end_to_end_id": (e.end_to_end_id or None) and e.end_to_end_id[:35],
                          "amount_kopiykas": e.amount_kopiykas, "currency": (e.currency or CURRENCY)[:3],
                          "credit_debit": e.credit_debit, "bank_status": e.status.value, "reason_code": (e.reason_code or None) and e.reason_code[:10],
                          "booking_date": e.booking_date, "bank_ref": (e.account_servicer_ref or None) and e.account_servicer_ref[:70],
                          "outcome": outcome, "problem": problem,
                          "state": (EntryState.OPEN if outcome in ("unknown", "mismatch") else EntryState.SETTLED).value,
                          "payment_id": p.id if p is not None else None})
        applied = apply_moves(session, principal, moves)
        for start in range(0, len(lines), 20_000):
            session.execute(insert(StatementLine.__table__), lines[start:start + 20_000])
        row.booked, row.rejected, row.already, row.ignored = counts["booked"], counts["rejected"], counts["already"], counts["ignored"]
        row.unknown = counts["unknown"] + counts["mismatch"]
        record(session, chain, "statement.reconciled", principal.user_id,
               {"message_id": statement.message_id, "upload": row.id, "sha256": digest, "entries": len(lines),
                "booked": applied.booked, "rejected": applied.rejected, "already": counts["already"],
                "ignored": counts["ignored"], "unknown": counts["unknown"], "mismatch": counts["mismatch"]})
        report = report_of(session, row)
    return report
