"""Benchmark the payments officer's day: 100,000 payouts through build, approve, export, sent and the bank's
statement, on SQLite or PostgreSQL, each stage in rows/s against a bare insert and read of as many rows measured
in the same run on the same store.

Usage: .venv/bin/python bench/payments.py [--store sqlite|postgresql] [--payouts N] [--store-only]
                                          [--payments N] [--out DIR] [--repeat R] [--db-url URL]

Times each stage separately (best of R runs) and prints throughput. Synthetic data: random amounts between
UAH 10,000 and 500,000, Ukrainian names, valid UA IBANs. Also parses a simulated camt.053 of the same size.

The store part (--claims N, default 100,000; 0 skips it): N approved repair claims inserted into a fresh
database (a temporary SQLite file, or --db-url, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/bench —
its schema is dropped and recreated), then each step of `everymetre pay batch` timed on its own: decisions
posted to the ledger, batch built, approved (by two payments officers), pain.001 built + validated + written,
marked sent; then the bank's camt.053 generated for them (1 in 100 returned AC04), reconciled and stored
(every entry), uploaded again (a duplicate: nothing booked), and `everymetre ledger check` run over the whole
ledger. Another package's stage after the statement plugs in through AFTER_STATEMENT.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from everymetre.kernel.iban import make_ua_iban
from everymetre.payments.camt053 import (
    EntryStatus,
    StatementEntry,
    build_camt053,
    parse_camt053,
)
from everymetre.payments.iso20022 import (
    CreditTransfer,
    DebtorAccount,
    PaymentBatch,
    build_pain001,
    make_message_id,
    validate_pain001,
    write_pain001,
)

T = TypeVar("T")

SURNAMES = ("Шевченко", "Коваленко", "Бондаренко", "Ткаченко", "Кравченко", "Олійник", "Мельник", "Бойко", "Лисенко", "Руденко")
GIVEN = ("Олена", "Тарас", "Ірина", "Андрій", "Наталія", "Сергій", "Оксана", "Микола", "Марія", "Віктор")
BANKS = ("322313", "305299", "300465", "320649", "380805", "351005")


def synthetic_batch(n: int, seed: int = 2026) -> PaymentBatch:
    rng = random.Random(seed)
    payments = [
        CreditTransfer(
            payment_id=f"PAY-2026-{i:010d}",
            claim_reference=f"UA-2026-{i:08d}",
            decision_id=f"DEC-{i:010d}",
            amount_kopiykas=rng.randint(10_000_00, 500_000_00),
            creditor_name=f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}",
            creditor_iban=make_ua_iban(rng.choice(BANKS), rng.randrange(10**19)),
        )
        for i in range(n)
    ]
    now = datetime.now(UTC)
    return PaymentBatch(
        batch_id="BENCH-BATCH-1",
        message_id=make_message_id(now),
        created_at=now,
        requested_execution_date=date.today(),
        debtor=DebtorAccount(name="eRecovery programme account", iban=make_ua_iban("820172", 35_2100_0000_1234)),
        payments=payments,
    )


def best_of(repeat: int, fn: Callable[[], T]) -> tuple[float, T]:
    best = float("inf")
    result: T
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def report(stage: str, seconds: float, n: int, extra: str = "") -> None:
    print(f"{stage:<26} {seconds:8.3f} s  {n / seconds:12,.0f} payments/s  {extra}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--payments", type=int, default=100_000, help="number of payments (default 100,000)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per stage; the best is reported")
    ap.add_argument("--out", type=Path, default=None, help="directory for the written file (default: a temporary one)")
    ap.add_argument("--claims", "--payouts", dest="claims", type=int, default=100_000,
                    help="payouts for the store part (default 100,000; 0 skips)")
    ap.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite",
                    help="sqlite: a temporary file; postgresql: --db-url, default "
                         "postgresql+psycopg://postgres@127.0.0.1:5432/bench_payday (emptied: its name must start with bench)")
    ap.add_argument("--db-url", default=None, help="database for the store part (overrides --store's default)")
    ap.add_argument("--store-only", action="store_true", help="skip the file-only part (pain.001 and camt.053 in memory)")
    args = ap.parse_args(argv)
    n = args.payments
    if n < 1:
        ap.error("--payments must be at least 1")
    db_url = args.db_url or ("postgresql+psycopg://postgres@127.0.0.1:5432/bench_payday" if args.store == "postgresql" else None)
    if args.store_only:
        store_bench(args.claims, db_url, args.out)
        return 0

    t0 = time.perf_counter()
    batch = synthetic_batch(n)
    print(f"pain.001.001.09 benchmark: {n:,} payments, control sum UAH {batch.control_sum_kopiykas / 100:,.2f}")
    print(f"{'synthetic data':<26} {time.perf_counter() - t0:8.3f} s  (not part of the pipeline)")

    t_build, xml = best_of(args.repeat, lambda: build_pain001(batch))
    report("build (checks + XML)", t_build, n, f"{len(xml) / 1e6:.1f} MB")
    t_val, _ = best_of(args.repeat, lambda: validate_pain001(xml))
    report("validate (XSD + sums)", t_val, n)
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = args.out or Path(tmp)
        out_dir.mkdir(parents=True, exist_ok=True)
        t_write, path = best_of(args.repeat, lambda: write_pain001(xml, out_dir / f"{batch.message_id}.xml"))
        report("write (atomic)", t_write, n, str(path) if args.out else "")
    total = t_build + t_val + t_write
    report("total build+validate+write", total, n)

    entries = [
        StatementEntry(p.payment_id, p.amount_kopiykas, EntryStatus.BOOKED, date.today())
        if i % 100
        else StatementEntry(p.payment_id, p.amount_kopiykas, EntryStatus.REJECTED, date.today(), credit_debit="CRDT", reason_code="AC01")
        for i, p in enumerate(batch.payments)
    ]
    camt = build_camt053(entries, account_iban=batch.debtor.iban)
    t_parse, statement = best_of(args.repeat, lambda: parse_camt053(camt))
    report("camt.053 parse + checks", t_parse, n, f"{len(statement.entries):,} entries")
    if args.claims:
        store_bench(args.claims, db_url, args.out)
    return 0


def _insert_claims(engine, n: int, decider: int, chunk: int = 10_000, accounts: bool = False) -> None:
    from sqlalchemy import insert

    from everymetre.claims.models import Claim, Decision, Ownership, PayoutAccount, Person, Property

    rng = random.Random(7)
    now = datetime.now(UTC)
    for start in range(1, n + 1, chunk):
        ids = range(start, min(n + 1, start + chunk))
        persons, props, claims, owners, decisions = [], [], [], [], []
        for i in ids:
            amount = rng.randint(10_000_00, 500_000_00)
            persons.append({"id": i, "full_name": f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}", "created_at": now,
                                "iban": make_ua_iban(rng.choice(BANKS), rng.randrange(10**19))})
            props.append({"id": i, "kind": "house", "oblast": "kharkivska", "hromada": "Харків", "street": "вул. Сумська",
                              "building": str(i), "total_area_m2": 84, "heritage": False})
            claims.append({"id": i, "ref_year": 2026, "kind": "repair_application", "state": "approved", "version": 1, "oblast": "kharkivska",
                               "property_id": i, "filed_as_representative": False, "channel": "import", "damage_date": date(2024, 3, 15),
                               "description": "", "priority_mask": 0, "is_redamage": False, "decided_by_id": decider, "decided_at": now,
                               "assessed_amount_kopiykas": amount, "awarded_amount_kopiykas": amount, "created_at": now,
                               "state_changed_at": now})
            owners.append({"id": i, "claim_id": i, "person_id": i, "share_numerator": 1, "share_denominator": 1, "is_applicant": True})
            decisions.append({"id": i, "claim_id": i, "stage": "first", "outcome": "approved", "amount_kopiykas": amount,
                                  "reasons": "bench", "decided_by_id": decider, "decided_at": now})
        tables = [(Person, persons), (Property, props), (Claim, claims), (Ownership, owners), (Decision, decisions)]
        if accounts:
            tables.append((PayoutAccount, [{"id": p["id"], "claim_id": p["id"], "person_id": p["id"], "iban": p["iban"],
                                            "bank_code": p["iban"][4:10], "state": "active", "created_at": now} for p in persons]))
        with engine.begin() as conn:
            for model, rows in tables:
                conn.execute(insert(model), rows)


# A stage run after the statement on the same store, for another package's part of the day (e.g. the repair
# helper's card-transaction import): append (name, fn); fn(session, run) does the work and returns the rows it
# handled, which are reported as rows/s against the same baseline.
AFTER_STATEMENT: list[tuple[str, Callable[[Any, dict[str, Any]], int]]] = []


def _baseline(engine, n: int) -> tuple[float, float]:
    """Rows/s of a bare Core insert and a bare read of n payment-sized rows (a scratch table), on this store."""
    from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, insert, select

    meta = MetaData()
    scratch = Table("bench_baseline", meta, Column("id", Integer, primary_key=True), Column("e2e", String(35)),
                    Column("amount", BigInteger), Column("name", String(140)), Column("iban", String(34)),
                    Column("state", String(12)))
    meta.drop_all(engine)
    meta.create_all(engine)
    rows = [{"id": i, "e2e": f"EMP-{i:012d}-01", "amount": 10_000_00 + i, "name": "Шевченко Олена", "iban": "UA" + "0" * 27,
             "state": "sent"} for i in range(1, n + 1)]
    t = time.perf_counter()
    with engine.begin() as conn:
        for start in range(0, n, 20_000):
            conn.execute(insert(scratch), rows[start:start + 20_000])
    ins = n / (time.perf_counter() - t)
    t = time.perf_counter()
    with engine.connect() as conn:
        got = len(conn.execute(select(scratch)).all())
    read = got / (time.perf_counter() - t)
    meta.drop_all(engine)
    return ins, read


def store_bench(n: int, db_url: str | None, out: Path | None) -> dict[str, float]:
    import os

    os.environ.setdefault("EVERYMETRE_SECOND_APPROVAL_ABOVE_KOPIYKAS", str(100_000_000))
    os.environ.setdefault("EVERYMETRE_STATEMENT_MAX_BYTES", str(1024 * 1024 * 1024))
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from everymetre.accounts.actions import do_create_user, load_principal
    from everymetre.config import get_settings
    from everymetre.payments import batches, ledger, reconcile
    from everymetre.payments.iso20022 import read_pain001
    from everymetre.store.db import make_engine, session_factory
    from everymetre.store.migrate import upgrade

    get_settings.cache_clear()
    tmp = tempfile.TemporaryDirectory()
    url = db_url or f"sqlite:///{tmp.name}/bench.db"
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        name = make_url(url).database or ""
        if not name.startswith("bench"):
            raise SystemExit(f"--db-url: the database {name!r} would be emptied; use one named bench_... made for this")
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    print(f"\nstore: {n:,} approved repair claims -> payouts, on {engine.dialect.name}")
    ins, read = _baseline(engine, n)
    print(f"{'baseline: bare insert':<30} {ins:12,.0f} rows/s")
    print(f"{'baseline: bare read':<30} {read:12,.0f} rows/s")
    sessions = session_factory(engine)
    with sessions() as session:
        decider = do_create_user(session, None, "commission@bench.org", "bench-password", "commission", all_oblasts=True).id
        pay1 = do_create_user(session, None, "pay1@bench.org", "bench-password", "payments", all_oblasts=True).id
        pay2 = do_create_user(session, None, "pay2@bench.org", "bench-password", "payments", all_oblasts=True).id
    t0 = time.perf_counter()
    _insert_claims(engine, n, decider)
    print(f"{'insert claims':<30} {time.perf_counter() - t0:8.2f} s  (set-up, not part of the day)")
    figures: list[tuple[str, float]] = []

    def step(name: str, fn: Callable[[], T], rows: int = n) -> T:
        t = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - t
        figures.append((name, seconds))
        rate = rows / seconds if seconds else float("inf")
        print(f"{name:<30} {seconds:8.2f} s {rate:12,.0f} rows/s   {rate / ins:6.3f} x bare insert")
        return result

    out_dir = out or Path(tmp.name)
    run: dict[str, Any] = {"payouts": n, "out": out_dir}
    with sessions() as session:
        p1, p2 = load_principal(session, pay1), load_principal(session, pay2)
        synced = step("post decisions to ledger", lambda: ledger.do_sync_decisions(session, p1))
        built = step("build batch", lambda: batches.do_build_batch(session, p1, date.today()))
        batch = built.batch
        assert batch is not None and batch.count == n and synced.posted == n, (synced, built.held)
        step("approve (two officers)", lambda: (batches.do_approve_batch(session, p1, batch.id),
                                                batches.do_approve_batch(session, p2, batch.id)))
        path = step("export pain.001 (XSD-valid)", lambda: batches.do_export_batch(session, p1, batch.id, out_dir / "batch.xml"))
        step("mark sent (+ledger)", lambda: batches.do_mark_sent(session, p1, batch.id))
        print(f"{'':<30} file {path.stat().st_size / 1e6:.1f} MB, UAH {batch.total_kopiykas / 100:,.2f}")

        def statement() -> bytes:
            entries = [StatementEntry(t.end_to_end_id, t.amount_kopiykas, EntryStatus.BOOKED, date.today()) if i % 100
                       else StatementEntry(t.end_to_end_id, t.amount_kopiykas, EntryStatus.REJECTED, date.today(),
                                           credit_debit="CRDT", reason_code="AC04")
                       for i, t in enumerate(read_pain001(path.read_bytes()), 1)]
            return build_camt053(entries, account_iban=batches.debtor_account().iban)

        camt = step("generate camt.053 (the bank)", statement)
        print(f"{'':<30} statement {len(camt) / 1e6:.1f} MB")
        rec = step("reconcile statement (stored)", lambda: reconcile.do_reconcile(session, p1, camt))
        assert rec.booked + rec.rejected == n and rec.rejected == n // 100 and not rec.open_lines, rec
        dup = step("same statement again", lambda: reconcile.do_reconcile(session, p1, camt))
        assert dup.duplicate
        run["statement"] = rec
        for name, fn in AFTER_STATEMENT:
            rows = fn(session, run)
            print(f"{name:<30} (hook: {rows:,} rows)")
        violations = step("ledger check", lambda: ledger.ledger_violations(session))
        print(f"{'':<30} {len(violations)} violation(s)")
    total = sum(s for name, s in figures if name not in ("generate camt.053 (the bank)", "same statement again", "ledger check"))
    print(f"{'the day (sync..reconcile)':<30} {total:8.2f} s {n / total:12,.0f} rows/s   {n / total / ins:6.3f} x bare insert")
    engine.dispose()
    tmp.cleanup()
    return dict(figures)


if __name__ == "__main__":
    sys.exit(main())
