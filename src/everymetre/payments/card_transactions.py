"""The bank's card-transaction file: what the owners spent from their special eRecovery accounts.

Format (docs/card-transactions.md, ``examples/card_transactions.csv``): CSV, UTF-8, comma-separated, a header
``transaction_id,account,date,amount,mcc,merchant``:

* ``transaction_id`` the bank's id of the transaction (1-64 characters): a row seen twice is counted once;
* ``account``        the special account: the end-to-end id of the repair payment that funded it
  (``EMP-...``/``EMS-...``, as in our pain.001) or the account's IBAN;
* ``date``           the day the bank booked it, ``YYYY-MM-DD``;
* ``amount``         hryvnias with up to two decimals, positive (``1234.56``);
* ``mcc``            the merchant category code, 4 digits;
* ``merchant``       the merchant's name (cut at 140 characters).

What lands: a row whose category is one of ``Settings.repair_counted_mccs`` (5211 building materials, 5231 paint
and wallpaper, 1520 contractors), booked inside the payout's spending window while the payout is open and within
what is left on the account is **counted** (the payout's spent amount grows); any other is **recorded as not
counted** with its reason (``mcc``, ``window``, ``closed``, ``balance``), visible to the officer and the owner.
A row that cannot be read, has a bad amount or date, or names an account we do not know is **rejected**: it is
reported with its line number and reason and nothing of it is stored, so a corrected file can be sent again.

Set-based: the rows are parsed and checked column-wise (polars), loaded into a temporary staging table (COPY on
PostgreSQL, one executemany on SQLite), then applied with a handful of statements in one transaction: drop what
was seen before, resolve the accounts, mark the refusals, insert, add the spending to the payouts and move them
``funds_transferred -> spending`` (the move table's), and audit one ``payout.spent`` event per payout touched.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

import polars as pl
from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.accounts.permissions import Action, require
from everymetre.audit.record import NewEvent, append_bulk, record
from everymetre.claims.access import get_claim
from everymetre.config import get_settings
from everymetre.kernel.errors import ValidationFailed
from everymetre.payments.common import claim_subject
from everymetre.payments.models import CardTransaction, Payment, RepairPayout
from everymetre.payments.states import PAYOUT, SPENDABLE, PayoutState
from everymetre.store.tx import atomic
from everymetre.store.types import utcnow

HEADER = ("transaction_id", "account", "date", "amount", "mcc", "merchant")
REFUSALS = ("mcc", "window", "closed", "balance")
START = PAYOUT.move(PayoutState.FUNDS_TRANSFERRED, PayoutState.SPENDING)

_stage_meta = MetaData()
STAGE = Table(
    "card_tx_stage", _stage_meta,
    Column("row_no", Integer, primary_key=True),
    Column("txid", String(64)),
    Column("account", String(64)),
    Column("booked_on", Date),
    Column("amount", BigInteger),
    Column("mcc", String(4)),
    Column("merchant", String(140)),
    Column("payout_id", BigInteger),
    Column("claim_id", BigInteger),
    Column("refusal", String(20)),
    prefixes=["TEMPORARY"],
)
_STAGED = ("row_no", "txid", "account", "booked_on", "amount", "mcc", "merchant", "payout_id", "claim_id")


@dataclass(frozen=True, slots=True)
class Reject:
    row: int  # the line in the file (the header is line 1)
    transaction_id: str
    reason: str


@dataclass
class CardImportReport:
    rows: int = 0  # data rows read
    counted: int = 0
    refused: int = 0  # recorded, not counted
    already: int = 0  # seen before, in the store or earlier in the same file
    rejected: int = 0
    counted_kopiykas: int = 0
    payouts: int = 0  # payouts whose spending changed
    rejects: list[Reject] = field(default_factory=list)
    sha256: str = ""
    seconds: dict[str, float] = field(default_factory=dict)


def parse(data: bytes) -> tuple[pl.DataFrame, list[Reject]]:
    """The file's good rows (row_no, txid, account, booked_on, amount, mcc, merchant; first occurrence of each
    transaction id only, the later ones flagged ``dup``) and the rejects, in line order."""
    text = data.decode("utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""))
    head = next(reader, None)
    if head is None or tuple(h.strip().lower() for h in head) != HEADER:
        raise ValidationFailed(f"The first line must be the header {','.join(HEADER)}.", field="file")
    rejects: list[Reject] = []
    cols: list[list[Any]] = [[] for _ in range(7)]
    line = reader.line_num
    for fields in reader:
        row_no, line = line + 1, reader.line_num
        if len(fields) != 6:
            if fields:  # a blank line is not a row
                rejects.append(Reject(row_no, fields[0][:64] if fields else "", f"malformed row: {len(fields)} fields, 6 expected"))
            continue
        cols[0].append(row_no)
        for i, v in enumerate(fields):
            cols[i + 1].append(v)
    df = pl.DataFrame(dict(zip(("row_no", *HEADER), cols, strict=True)),
                      schema={"row_no": pl.Int64, **dict.fromkeys(HEADER, pl.String)})
    amount = pl.col("amount").str.strip_chars()
    whole = amount.str.extract(r"^([0-9]{1,13})(?:\.[0-9]{1,2})?$", 1)
    frac = amount.str.extract(r"^[0-9]{1,13}\.([0-9]{1,2})$", 1).fill_null("0").str.pad_end(2, "0")
    df = df.with_columns(
        txid=pl.col("transaction_id").str.strip_chars(),
        account=pl.col("account").str.replace_all(r"\s", "").str.to_uppercase(),
        booked_on=pl.col("date").str.strip_chars().str.strptime(pl.Date, "%Y-%m-%d", strict=False),
        amount=whole.cast(pl.Int64, strict=False) * 100 + frac.cast(pl.Int64, strict=False),  # ASCII digits only
        mcc=pl.col("mcc").str.strip_chars(),
        merchant=pl.col("merchant").str.strip_chars().str.slice(0, 140),
    )
    reason = (pl.when((pl.col("txid").str.len_chars() == 0) | (pl.col("txid").str.len_chars() > 64))
              .then(pl.lit("transaction id missing or longer than 64 characters"))
              .when((pl.col("account").str.len_chars() == 0) | (pl.col("account").str.len_chars() > 64))
              .then(pl.lit("account missing or longer than 64 characters"))
              .when(pl.col("booked_on").is_null()).then(pl.lit("bad date: YYYY-MM-DD expected"))
              .when(pl.col("amount").is_null()).then(pl.lit("bad amount: hryvnias with up to two decimals expected, e.g. 1234.56"))
              .when(pl.col("amount") <= 0).then(pl.lit("bad amount: must be more than zero"))
              .when(~pl.col("mcc").str.contains(r"^[0-9]{4}$")).then(pl.lit("bad merchant category code: 4 digits expected"))
              .otherwise(None))
    df = df.with_columns(reason=reason)
    bad = df.filter(pl.col("reason").is_not_null())
    rejects += [Reject(r, t[:64], why) for r, t, why in bad.select("row_no", "transaction_id", "reason").iter_rows()]
    rejects.sort(key=lambda r: r.row)
    good = df.filter(pl.col("reason").is_null()).select("row_no", "txid", "account", "booked_on", "amount", "mcc", "merchant")
    good = good.with_columns(dup=pl.col("txid").is_first_distinct().not_())
    return good, rejects


def _stage(session: Session, rows: pl.DataFrame) -> None:
    conn = session.connection()
    STAGE.drop(conn, checkfirst=True)
    STAGE.create(conn)
    if not rows.height:
        return
    _load(conn, rows)
    conn.exec_driver_sql("CREATE INDEX ix_card_tx_stage_payout ON card_tx_stage (payout_id, booked_on, txid)")


def _load(conn: Any, rows: pl.DataFrame) -> None:
    raw: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        buf = io.BytesIO()
        rows.select(*_STAGED).write_csv(buf, include_header=False)
        with raw.cursor() as cur, cur.copy(f"COPY card_tx_stage ({', '.join(_STAGED)}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(buf.getbuffer())
    else:
        values = rows.select(pl.col("row_no"), "txid", "account", pl.col("booked_on").cast(pl.String), "amount", "mcc",
                             "merchant", "payout_id", "claim_id").rows()
        raw.executemany(f"INSERT INTO card_tx_stage ({', '.join(_STAGED)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", values)


def _resolve(session: Session, rows: pl.DataFrame) -> tuple[pl.DataFrame, list[Reject]]:
    """Each row's payout, by the funding payment's end-to-end id (an indexed lookup per chunk of the file's distinct
    accounts) or the account's IBAN (the latest payout paid to it); the rest are rejected."""
    accounts = rows["account"].unique().to_list()
    found: dict[str, tuple[int, int]] = {}
    e2e = [a for a in accounts if a.startswith(("EMP-", "EMS-"))]
    for i in range(0, len(e2e), 5000):
        found.update({acct: (pid, cid) for acct, pid, cid in session.execute(
            select(Payment.end_to_end_id, RepairPayout.id, RepairPayout.claim_id)
            .join(RepairPayout, RepairPayout.claim_id == Payment.claim_id)
            .where(Payment.purpose == "repair", Payment.end_to_end_id.in_(e2e[i:i + 5000]))).tuples()})
    wanted = {a for a in accounts if a not in found}
    if wanted:  # one pass over the repair payouts (payments.creditor_iban has no index of its own)
        for iban, pid, cid in session.execute(select(Payment.creditor_iban, RepairPayout.id, RepairPayout.claim_id)
                                              .join(RepairPayout, RepairPayout.payment_id == Payment.id)
                                              .order_by(RepairPayout.id)).tuples():
            if iban in wanted:
                found[iban] = (pid, cid)  # the latest payout paid to the account wins
    keys = pl.DataFrame({"account": list(found), "payout_id": [v[0] for v in found.values()],
                         "claim_id": [v[1] for v in found.values()]},
                        schema={"account": pl.String, "payout_id": pl.Int64, "claim_id": pl.Int64})
    joined = rows.join(keys, on="account", how="left")
    unknown = joined.filter(pl.col("payout_id").is_null())
    rejects = [Reject(r, t, "unknown card or account: no repair payout was paid to it")
               for r, t in unknown.select("row_no", "txid").iter_rows()]
    return joined.filter(pl.col("payout_id").is_not_null()), rejects


def _refuse(session: Session, mccs: Iterable[str]) -> None:
    s, p = STAGE.c, RepairPayout.__table__.c
    spendable = [st.value for st in SPENDABLE]
    why = case((s.mcc.not_in(list(mccs)), literal("mcc")), (p.state.not_in(spendable), literal("closed")),
               (or_(s.booked_on < p.transferred_on, s.booked_on > p.window_end), literal("window")), else_=None)
    session.execute(update(STAGE).where(s.payout_id == p.id).values(refusal=why))
    running = (select(s.row_no, func.sum(s.amount).over(partition_by=s.payout_id, order_by=(s.booked_on, s.txid)).label("run"),
                      (p.amount_kopiykas - p.spent_kopiykas - p.returned_kopiykas).label("avail"))
               .join(RepairPayout, p.id == s.payout_id).where(s.refusal.is_(None)).subquery("running"))
    over = select(running.c.row_no).where(running.c.run > running.c.avail)
    session.execute(update(STAGE).where(s.row_no.in_(over)).values(refusal="balance"))


def do_import_card_transactions(session: Session, principal: Principal, data: bytes, name: str = "") -> CardImportReport:
    """Apply one card-transaction file (idempotent: the same file twice changes nothing the second time)."""
    require(principal.actor, Action.CARD_TRANSACTIONS_IMPORT)
    t0 = perf_counter()
    report = CardImportReport(sha256=hashlib.sha256(data).hexdigest())
    good, rejects = parse(data)
    report.rows = good.height + len(rejects)
    report.seconds["parse"] = perf_counter() - t0
    s = STAGE.c
    with atomic(session):
        t = perf_counter()
        dups = int(good["dup"].sum()) if good.height else 0
        known, unknown = _resolve(session, good.filter(~pl.col("dup")))
        rejects += unknown
        _stage(session, known)
        report.seconds["stage"] = perf_counter() - t
        t = perf_counter()
        c = CardTransaction.__table__.c
        seen: Any = session.execute(delete(STAGE).where(select(c.id).where(c.bank_transaction_id == s.txid).exists()))
        report.already = dups + int(seen.rowcount or 0)
        report.seconds["seen"] = perf_counter() - t
        if session.connection().dialect.name == "postgresql":  # SQLite: atomic holds the write lock already
            session.execute(select(RepairPayout.id).where(RepairPayout.id.in_(select(s.payout_id).distinct())).with_for_update())
        _refuse(session, get_settings().repair_counted_mccs)
        report.seconds["refuse"] = perf_counter() - t
        now = utcnow()
        session.execute(insert(CardTransaction).from_select(
            ["bank_transaction_id", "payout_id", "claim_id", "booked_on", "amount_kopiykas", "mcc", "merchant", "counted",
             "refusal", "imported_at"],
            select(s.txid, s.payout_id, s.claim_id, s.booked_on, s.amount, s.mcc, s.merchant, s.refusal.is_(None), s.refusal,
                   literal(now, CardTransaction.__table__.c.imported_at.type))))
        per = session.execute(
            select(s.payout_id, s.claim_id, func.count(s.row_no).filter(s.refusal.is_(None)),
                   func.coalesce(func.sum(s.amount).filter(s.refusal.is_(None)), 0),
                   func.count(s.row_no).filter(s.refusal.is_not(None)))
            .group_by(s.payout_id, s.claim_id)).all()
        report.seconds["insert"] = perf_counter() - t
        p = RepairPayout.__table__.c
        grown = [{"pid": pid, "total": int(total)} for pid, _cid, counted, total, _refused in per if counted]
        if grown:  # one executemany: (SQLite re-scans an UPDATE ... FROM (aggregate) for every target row)
            session.execute(update(RepairPayout.__table__).where(p.id == bindparam("pid")).values(
                spent_kopiykas=p.spent_kopiykas + bindparam("total", type_=BigInteger()),
                state=case((p.state == START.source, literal(START.target)), else_=p.state)), grown)
        report.seconds["apply"] = perf_counter() - t
        t = perf_counter()
        events: dict[str, list[NewEvent]] = {}
        claim_ids: dict[str, int | None] = {}
        for pid, cid, counted, total, refused in per:
            report.counted += int(counted)
            report.counted_kopiykas += int(total)
            report.refused += int(refused)
            report.payouts += 1 if counted else 0
            chain = f"payout:{pid}"
            events[chain] = [NewEvent("payout.spent", {"claim_id": int(cid), "counted": int(counted), "counted_kopiykas": int(total),
                                                       "not_counted": int(refused), "file_sha256": report.sha256}, principal.user_id, now)]
            claim_ids[chain] = int(cid)
        if events:
            append_bulk(session, events, claim_ids, at=now)
        report.rejects = sorted(rejects, key=lambda r: r.row)
        report.rejected = len(report.rejects)
        record(session, "card-transactions", "card_transactions.imported", principal.user_id,
               {"file": name[:200], "sha256": report.sha256, "rows": report.rows, "counted": report.counted,
                "counted_kopiykas": report.counted_kopiykas, "not_counted": report.refused, "already": report.already,
                "rejected": report.rejected})
        STAGE.drop(session.connection())
        report.seconds["audit"] = perf_counter() - t
    report.seconds["total"] = perf_counter() - t0
    return report


def write_rejects(rejects: list[Reject], out: io.TextIOBase | Any) -> None:
    w = csv.writer(out)
    w.writerow(("row", "transaction_id", "reason"))
    for r in rejects:
        w.writerow((r.row, r.transaction_id, r.reason))


def card_transactions_for(session: Session, principal: Principal, reference: str, limit: int = 50) -> list[dict[str, Any]]:
    """A claim's card transactions, newest first, for whoever may see its payout (404 otherwise)."""
    claim = get_claim(session, principal, reference)
    require(principal.actor, Action.PAYOUT_READ, claim_subject(principal, claim))
    rows = session.scalars(select(CardTransaction).where(CardTransaction.claim_id == claim.id)
                           .order_by(CardTransaction.booked_on.desc(), CardTransaction.id.desc()).limit(limit)).all()
    return [{"transaction_id": r.bank_transaction_id, "booked_on": r.booked_on, "amount_kopiykas": r.amount_kopiykas,
             "mcc": r.mcc, "merchant": r.merchant, "counted": r.counted, "refusal": r.refusal} for r in rows]
