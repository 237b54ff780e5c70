"""Benchmark the pure payments path: build, validate and write a pain.001.001.09 file for N payments.

Usage: .venv/bin/python bench/payments.py [--payments N] [--out DIR] [--repeat R]

Times each stage separately (best of R runs) and prints throughput. Synthetic data: random amounts between
UAH 10,000 and 500,000, Ukrainian names, valid UA IBANs. Also parses a simulated camt.053 of the same size.
(The database part of the benchmark is added with the store.)
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TypeVar

from everymetre.domain.iban import make_ua_iban
from everymetre.payments.camt053 import EntryStatus, StatementEntry, build_camt053, parse_camt053
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
    now = datetime.now(timezone.utc)
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
    args = ap.parse_args(argv)
    n = args.payments
    if n < 1:
        ap.error("--payments must be at least 1")

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
    return 0


if __name__ == "__main__":
    sys.exit(main())
