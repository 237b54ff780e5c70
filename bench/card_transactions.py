"""Benchmark `everymetre pay card-transactions`: the bank's card file (1,000,000 rows by default) applied to
repair payouts, on SQLite and PostgreSQL, beside a bare read of the same file in the same run.

    .venv/bin/python bench/card_transactions.py [--rows 1000000] [--payouts 20000]
                                                [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_repair]
                                                [--no-pg] [--no-sqlite]

Set-up (not timed): a fresh store (SQLite file in a temporary directory; the PostgreSQL database's schema dropped
and made again), `--payouts` booked tier-A repair payouts written straight into the tables, and the CSV: the
payouts' end-to-end ids (and a tenth by IBAN), ~85 % counted merchant categories, ~10 % others (recorded as
not counted), ~1 % bad rows (amounts, dates, unknown cards) and ~1 % repeated transaction ids.
Timed: `do_import_card_transactions` end to end (parse and check, stage, set-based apply, audit) and, as the
baseline, a bare read of the same file (Python's csv module, every field touched). Then the same file again
(every row seen before: the idempotent path).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from everymetre.kernel.iban import make_ua_iban  # noqa: E402

MCCS = ["5211"] * 50 + ["5231"] * 15 + ["1520"] * 20 + ["5812", "5411", "5999", "4111", "5541"] * 2 + ["5211"] * 5
BOOKED = date(2026, 2, 2)


def _payouts(engine, n: int, decider: int, batch_builder: int, approver: int) -> list[tuple[str, str]]:
    from sqlalchemy import insert

    from everymetre.claims.models import Claim, Ownership, Person, Property
    from everymetre.payments.models import Payment, PaymentBatch, RepairPayout
    from everymetre.payments.schedule import spending_window_end

    now = datetime.now(UTC)
    accounts = []
    with engine.begin() as conn:
        conn.execute(insert(PaymentBatch), [{"id": 1, "message_id": "EMPAY-BENCH", "state": "sent", "created_by_id": batch_builder,
                                             "approved_by_id": approver, "requested_on": BOOKED, "count": n, "total_kopiykas": 0,
                                             "created_at": now}])
        for start in range(1, n + 1, 10_000):
            ids = range(start, min(n + 1, start + 10_000))
            ibans = {i: make_ua_iban("322313", 10**9 + i) for i in ids}
            conn.execute(insert(Person), [{"id": i, "full_name": "Шевченко Олена", "iban": ibans[i], "created_at": now} for i in ids])
            conn.execute(insert(Property), [{"id": i, "kind": "house", "oblast": "kharkivska", "hromada": "Харків", "street": "вул. Сумська",
                                             "building": str(i), "total_area_m2": 84, "heritage": False} for i in ids])
            conn.execute(insert(Claim), [{"id": i, "ref_year": 2026, "kind": "repair_application", "state": "approved", "version": 1,
                                          "oblast": "kharkivska", "property_id": i, "filed_as_representative": False, "channel": "import",
                                          "damage_date": date(2024, 3, 15), "description": "", "priority_mask": 0, "is_redamage": False,
                                          "decided_by_id": decider, "decided_at": now, "assessed_amount_kopiykas": 200_000_00,
                                          "awarded_amount_kopiykas": 200_000_00, "created_at": now, "state_changed_at": now} for i in ids])
            conn.execute(insert(Ownership), [{"id": i, "claim_id": i, "person_id": i, "share_numerator": 1, "share_denominator": 1,
                                              "is_applicant": True} for i in ids])
            conn.execute(insert(Payment), [{"id": i, "end_to_end_id": f"EMP-{i:012d}-01", "purpose": "repair", "tranche": 1, "claim_id": i,
                                            "amount_kopiykas": 200_000_00, "creditor_name": "Шевченко Олена", "creditor_iban": ibans[i],
                                            "state": "booked", "batch_id": 1, "created_at": now, "settled_on": BOOKED} for i in ids])
            conn.execute(insert(RepairPayout), [{"id": i, "claim_id": i, "payment_id": i, "tier": "A", "amount_kopiykas": 200_000_00,
                                                 "awarded_kopiykas": 200_000_00, "transferred_on": BOOKED,
                                                 "window_end": spending_window_end(BOOKED, "A"), "state": "funds_transferred",
                                                 "spent_kopiykas": 0, "returned_kopiykas": 0} for i in ids])
            accounts += [(f"EMP-{i:012d}-01", ibans[i]) for i in ids]
    return accounts


def make_file(path: Path, rows: int, accounts: list[tuple[str, str]], seed: int = 381) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["transaction_id", "account", "date", "amount", "mcc", "merchant"])
        for i in range(rows):
            e2e, iban = accounts[rng.randrange(len(accounts))]
            account = iban if rng.random() < 0.1 else e2e
            day = (BOOKED + timedelta(days=rng.randrange(1, 300))).isoformat()
            amount = f"{rng.randrange(50, 3000)}.{rng.randrange(100):02d}"
            txid = f"BNK-{i:09d}" if rng.random() > 0.01 or i == 0 else f"BNK-{rng.randrange(i):09d}"
            r = rng.random()
            if r < 0.003:
                amount = "12,50"
            elif r < 0.006:
                day = "2026-02-30"
            elif r < 0.01:
                account = "UA000000000000000000000000000"
            w.writerow([txid, account, day, amount, rng.choice(MCCS), "ТОВ Епіцентр К"])


def bare_read(path: Path) -> int:
    n = 0
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh):
            n += len("".join(row)) > 0
    return n - 1


def run(url: str, rows: int, n_payouts: int, tmp: Path) -> None:
    from sqlalchemy import func, select, text

    from everymetre.accounts.actions import SYSTEM, do_create_user
    from everymetre.payments.card_transactions import do_import_card_transactions
    from everymetre.payments.models import CardTransaction, RepairPayout
    from everymetre.store.db import make_engine, session_factory
    from everymetre.store.migrate import upgrade

    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    sessions = session_factory(engine)
    with sessions() as s:
        decider = do_create_user(s, None, "commission@bench.org", "bench-password", "commission", all_oblasts=True).id
        builder = do_create_user(s, None, "pay1@bench.org", "bench-password", "payments", all_oblasts=True).id
        approver = do_create_user(s, None, "pay2@bench.org", "bench-password", "payments", all_oblasts=True).id
    t = time.perf_counter()
    accounts = _payouts(engine, n_payouts, decider, builder, approver)
    path = tmp / "card.csv"
    make_file(path, rows, accounts)
    print(f"\n{engine.dialect.name}: {n_payouts:,} payouts, {rows:,}-row file ({path.stat().st_size / 1e6:.0f} MB) "
          f"set up in {time.perf_counter() - t:.1f} s (not timed)")
    data = path.read_bytes()
    t = time.perf_counter()
    read = bare_read(path)
    t_read = time.perf_counter() - t
    with sessions() as s:
        t = time.perf_counter()
        r = do_import_card_transactions(s, SYSTEM, data, path.name)
        t_imp = time.perf_counter() - t
    print(f"bare read (csv module)  {t_read:7.2f} s  {read / t_read:12,.0f} rows/s")
    print(f"import                  {t_imp:7.2f} s  {rows / t_imp:12,.0f} rows/s   import / bare read = {t_read / t_imp:.2f}")
    print("   " + ", ".join(f"{k} {v:.2f} s" for k, v in r.seconds.items() if k != "total"))
    print(f"   {r.counted:,} counted, {r.refused:,} not counted, {r.already:,} repeated, {r.rejected:,} rejected, "
          f"{r.payouts:,} payouts")
    with sessions() as s:
        t = time.perf_counter()
        again = do_import_card_transactions(s, SYSTEM, data, path.name)
        t_again = time.perf_counter() - t
        stored = s.scalar(select(func.count()).select_from(CardTransaction))
        spent = s.scalar(select(func.sum(RepairPayout.spent_kopiykas)))
        assert again.counted == 0 and stored == r.counted + r.refused, (again, stored)
        assert spent == r.counted_kopiykas
    print(f"same file again         {t_again:7.2f} s  {rows / t_again:12,.0f} rows/s   (all {again.already:,} seen before; "
          f"{again.rejected:,} rejected again)")
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--payouts", type=int, default=20_000)
    ap.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_repair"))
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--no-sqlite", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="everymetre-bench-card-") as d:
        tmp = Path(d)
        if not args.no_sqlite:
            run(f"sqlite:///{tmp}/bench.db", args.rows, args.payouts, tmp)
        if not args.no_pg:
            run(args.pg_url, args.rows, args.payouts, tmp)


if __name__ == "__main__":
    main()
