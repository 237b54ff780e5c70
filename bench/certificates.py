"""Benchmark housing certificates through the store: issue, reservation with a funding queue, contract, payment.

Usage: .venv/bin/python bench/certificates.py [--certificates N] [--db-url URL]

N approved destroyed-housing claims (one owner each, UAH 1.4-2 million) are inserted into a fresh database (a
temporary SQLite file, or --db-url, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/bench_cert: its schema is
dropped and recreated), then each stage is timed on its own:

* issue: `everymetre pay sync` (`ledger.do_sync_decisions`), the catch-up that issues the certificates of
  decided claims that have none, set-based (`certificate_issue.issue_many`, which a bulk decision uses too);
* filing: one notary's system filing a reservation per certificate through the bulk filing
  (`reservation_bulk.do_file_reservations`, what `POST /api/v1/reservations/bulk` calls), 5,000 per request,
  with the agent's fund first given 1/11 of the total: the queue left waiting is 10 times the funds;
* queue confirmation: the rest of the money arrives and the whole queue is confirmed at once (set-based);
* contract: the end of ownership and the contract for every reservation, through the notary system's bulk
  steps (`POST /api/v1/reservations/terminations/bulk`, `POST /api/v1/contracts/bulk`), 5,000 per request;
* payment: the seller payments' batch built, approved by two officers, exported (pain.001, XSD-checked), sent,
  the bank's camt.053 reconciled, and the sweep redeeming every paid certificate (set-based);
* then `ledger check` and `audit verify`.

The baseline, measured in the same run: a bare executemany INSERT of the same N certificate rows into a copy of
the table. Each stage prints its time, its time per certificate and its ratio to that baseline.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from everymetre.kernel.iban import make_ua_iban
from everymetre.kernel.identifiers import make_rnokpp


def _insert_claims(engine, n: int, decider: int, chunk: int = 10_000) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import insert

    from everymetre.audit.chain import NewEvent
    from everymetre.audit.record import append_bulk
    from everymetre.claims.models import Claim, Decision, Ownership, Person, Property

    rng = random.Random(11)
    now = datetime.now(UTC)
    for start in range(1, n + 1, chunk):
        rows: dict[type, list[dict]] = {Person: [], Property: [], Claim: [], Ownership: [], Decision: []}
        for i in range(start, min(n + 1, start + chunk)):
            amount = rng.randint(1_400_000_00, 2_000_000_00)
            born = date(1940, 1, 1) + (date(2000, 1, 1) - date(1940, 1, 1)) * rng.random()
            rows[Person].append({"id": i, "full_name": f"Власник {i}", "created_at": now, "birth_date": born,
                                 "rnokpp": make_rnokpp(born, i % 1000, i % 2 == 0)})
            rows[Property].append({"id": i, "kind": "apartment", "oblast": "kharkivska", "hromada": "Харків",
                                   "street": "вул. Сумська", "building": str(i), "total_area_m2": 54, "heritage": False})
            rows[Claim].append({"id": i, "ref_year": 2026, "kind": "destroyed_housing_application", "state": "approved",
                                "version": 1, "oblast": "kharkivska", "property_id": i, "filed_as_representative": False,
                                "channel": "import", "damage_date": date(2024, 3, 15), "description": "", "priority_mask": 0,
                                "is_redamage": False, "decided_by_id": decider, "decided_at": now,
                                "assessed_amount_kopiykas": amount, "awarded_amount_kopiykas": amount, "created_at": now,
                                "state_changed_at": now})
            rows[Ownership].append({"id": i, "claim_id": i, "person_id": i, "share_numerator": 1, "share_denominator": 1,
                                    "is_applicant": True})
            rows[Decision].append({"id": i, "claim_id": i, "stage": "first", "outcome": "approved", "amount_kopiykas": amount,
                                   "reasons": "bench", "decided_by_id": decider, "decided_at": now})
        with engine.begin() as conn:
            for model, batch in rows.items():
                conn.execute(insert(model), batch)
            # each claim's trail starts as an import's does (audit verify checks every claim has one)
            append_bulk(conn, {f"claim:{c['id']}": [NewEvent("claim.imported", {"bench": True}, decider)] for c in rows[Claim]},
                        {f"claim:{c['id']}": c["id"] for c in rows[Claim]}, new_chains=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--certificates", type=int, default=100_000)
    parser.add_argument("--db-url", default=None)
    args = parser.parse_args()
    n = args.certificates
    os.environ.setdefault("EVERYMETRE_SECOND_APPROVAL_ABOVE_KOPIYKAS", str(10**15))
    from sqlalchemy import Column, MetaData, Table, insert, select, text

    from everymetre.accounts.actions import SYSTEM, do_create_user, load_principal
    from everymetre.audit.verify import verify
    from everymetre.claims.models import Person
    from everymetre.payments import (
        batches,
        certificate_fund,
        ledger,
        payouts,
        reconcile,
        reservation_bulk,
        reservations,
    )
    from everymetre.payments.camt053 import EntryStatus, StatementEntry, build_camt053
    from everymetre.payments.iso20022 import read_pain001
    from everymetre.payments.models import Certificate
    from everymetre.store.db import make_engine, session_factory
    from everymetre.store.migrate import upgrade

    tmp = tempfile.TemporaryDirectory()
    url = args.db_url or f"sqlite:///{tmp.name}/bench.db"
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    sessions = session_factory(engine)
    with sessions() as s:
        decider = do_create_user(s, None, "commission@bench.org", "bench-password", "commission", all_oblasts=True).id
        pay1 = do_create_user(s, None, "pay1@bench.org", "bench-password", "payments", all_oblasts=True).id
        pay2 = do_create_user(s, None, "pay2@bench.org", "bench-password", "payments", all_oblasts=True).id
        notary_id = do_create_user(s, None, "notary@bench.org", "bench-password", "notary").id
    t = time.perf_counter()
    _insert_claims(engine, n, decider)
    print(f"{n:,} approved destroyed-housing claims on {engine.dialect.name} "
          f"(set-up {time.perf_counter() - t:.1f} s, not timed below)")
    times: dict[str, float] = {}

    def stage(name: str, fn):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        out = fn()
        times[name] = time.perf_counter() - t0
        return out

    with sessions() as s:
        def issue() -> None:
            report = ledger.do_sync_decisions(s, SYSTEM)
            assert report.certificates_issued == n, report

        stage("issue (pay sync)", issue)
        rows = [dict(r._mapping) for r in s.execute(select(Certificate.__table__))]
        s.rollback()
        assert len(rows) == n, len(rows)
        # the same columns and types, without the constraints and indexes
        copy = Table("bench_copy", MetaData(), *[Column(c.name, c.type, primary_key=c.primary_key)
                                                 for c in Certificate.__table__.columns])
        copy.create(engine)

        def baseline() -> None:
            with engine.begin() as conn:
                conn.execute(insert(copy), rows)

        stage("baseline: bare insert", baseline)
        holders = dict(s.execute(select(Certificate.number, Person.rnokpp).join(Person, Person.id == Certificate.holder_person_id)).all())
        total = sum(r["value_kopiykas"] for r in rows)
        p1, p2, notary = load_principal(s, pay1), load_principal(s, pay2), load_principal(s, notary_id)
        certificate_fund.do_record_fund(s, p1, total // 11, "BENCH-1")
        seller = make_rnokpp(date(1950, 1, 1), 999, True)
        iban = make_ua_iban("305299", 26_000_000_123)

        filings = [reservations.Filing((reservations.Buyer(number, rnokpp),), "Продавець Тестовий", seller, iban, number[-9:],
                                       "Київ, вул. Хрещатик, 1", "UA80000000000093317", Decimal("54"), "apartment",
                                       2_000_000_00) for number, rnokpp in holders.items()]

        def file_all() -> list[int]:
            out: list[int] = []
            for i in range(0, len(filings), reservation_bulk.MOST):
                out += reservation_bulk.do_file_reservations(s, notary, filings[i:i + reservation_bulk.MOST])
            return out

        ids = stage("filing (queue 10x the fund)", file_all)
        view = certificate_fund.fund_view(s, p1, limit=1)
        print(f"  after filing: {n - view['queued']:,} confirmed, {view['queued']:,} queued "
              f"(UAH {view['queued_kopiykas'] / 100:,.0f} waiting, fund left UAH {view['balance_kopiykas'] / 100:,.0f})")
        s.rollback()
        stage("queue confirmation", lambda: certificate_fund.do_record_fund(s, p1, total, "BENCH-2"))

        def contracts() -> None:
            step = reservation_bulk.Step
            for i in range(0, len(ids), reservation_bulk.MOST):
                part = ids[i:i + reservation_bulk.MOST]
                reservation_bulk.do_record_terminations(s, notary, [step(rid, f"Витяг {rid}", date.today()) for rid in part])
                reservation_bulk.do_record_contracts(s, notary, [step(rid, f"Д-{rid}", date.today()) for rid in part])

        stage("contract (2 steps each)", contracts)
        path = Path(tmp.name) / "sellers.xml"

        def pay() -> None:
            built = batches.do_build_batch(s, p1, date.today()).batch
            assert built is not None and built.count == n, built
            batches.do_approve_batch(s, p2, built.id)
            batches.do_export_batch(s, p1, built.id, path)
            batches.do_mark_sent(s, p1, built.id)
            entries = [StatementEntry(x.end_to_end_id, x.amount_kopiykas, EntryStatus.BOOKED, date.today())
                       for x in read_pain001(path.read_bytes())]
            reconcile.do_reconcile(s, SYSTEM, build_camt053(entries, account_iban=batches.debtor_account().iban))
            report = payouts.do_sweep(s, SYSTEM)
            assert report.certificates_redeemed == n, report

        stage("payment (batch..redeemed)", pay)
        violations = stage("ledger check", lambda: ledger.ledger_violations(s))
        s.rollback()
        audit = stage("audit verify", lambda: verify(s))
    base = times["baseline: bare insert"]
    print(f"\n{'stage':<30} {'seconds':>9} {'µs/cert':>9} {'x baseline':>11}")
    for name, sec in times.items():
        print(f"{name:<30} {sec:9.2f} {sec / n * 1e6:9.0f} {sec / base:11.1f}")
    print(f"\nledger check: {len(violations)} violation(s); audit verify: {audit.problem or 'ok'} ({audit.events:,} events)")
    engine.dispose()
    tmp.cleanup()
    return 0 if not violations and audit.problem is None else 1


if __name__ == "__main__":
    sys.exit(main())
