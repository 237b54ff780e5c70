"""Repair money after it lands, through the API: the bank's card file (counted, not counted, rejected, the same
file twice), tier A and tier B lives (interim report, the second payment through a batch and a statement, final
report, the officer's check, close), the late final report and repeat damage in the sweep, and the refusals."""

from __future__ import annotations

import io
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from everymetre.accounts.actions import SYSTEM
from everymetre.claims.models import Claim
from everymetre.payments import card_transactions, ledger, payouts, queries, reconcile
from everymetre.payments.models import CardTransaction, LedgerPosting, Payment, RepairPayout
from tests.payments.store_helpers import decided_claim, photo
from tests.payments.test_store_batches import run_batch, statement

BOOKED_ON = date(2026, 2, 2)
HEADER = "transaction_id,account,date,amount,mcc,merchant\n"


def paid(db, users, principal, tmp_path, amount, name="b.xml"):
    claim = decided_claim(db, users["commission"], amount, submitted_by=users["citizen"])
    run_batch(db, principal("payments"), tmp_path / name)
    reconcile.do_reconcile(db, SYSTEM, statement(tmp_path / name, booking=BOOKED_ON))
    db.expire_all()
    return claim, db.scalar(select(Payment).where(Payment.claim_id == claim.id))


def csv_file(*rows: str) -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode()


def upload(client, auth, data: bytes, who="payments"):
    return client.post("/api/v1/card-transactions", headers=auth(who), files={"file": ("card.csv", data, "text/csv")})


def report(client, auth, ref, kind, n=1, who="citizen", extra=None):
    files = [("files", (f"p{i}.jpg", photo().data, "image/jpeg")) for i in range(n)] + (extra or [])
    return client.post(f"/api/v1/claims/{ref}/repair-reports", headers=auth(who), data={"kind": kind, "note": "Вікна"},
                       files=files)


def payout_of(db, claim) -> RepairPayout:
    db.rollback()  # end the read: the API wrote on its own connection
    return db.scalar(select(RepairPayout).where(RepairPayout.claim_id == claim.id))


def test_tier_b_life_through_the_api(db, users, principal, client, auth, tmp_path):
    claim, pay1 = paid(db, users, principal, tmp_path, 30_000_000)  # tier B: 70 % now, 30 % after the interim report
    ref, e2e, iban = claim.reference, pay1.end_to_end_id, pay1.creditor_iban
    assert (pay1.amount_kopiykas, pay1.tranche) == (21_000_000, 1)
    p = payout_of(db, claim)
    assert (p.tier, p.amount_kopiykas, p.awarded_kopiykas) == ("B", 21_000_000, 30_000_000)

    data = csv_file(f"T1,{e2e},2026-02-10,100000.00,5211,Епіцентр", f"T2,{iban},2026-02-11,500.00,5812,Ресторан",
                    "T3,UA000000000000000000000000000,2026-02-11,10.00,5211,x", f"T4,{e2e},2026-02-12,12.345,5231,Фарби",
                    f"T5,{e2e},2026-02-12,70000,1520,Бригада")
    r = upload(client, auth, data)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["rows"], body["counted"], body["not_counted"], body["rejected"]) == (5, 2, 1, 2)
    assert body["counted_kopiykas"] == 17_000_000
    assert [(x["row"], x["reason"].split(":")[0]) for x in body["rejects"]] == [(4, "unknown card or account"), (5, "bad amount")]
    p = payout_of(db, claim)
    assert (p.state, p.spent_kopiykas) == ("spending", 17_000_000)
    seen = client.get(f"/api/v1/claims/{ref}/card-transactions", headers=auth("citizen")).json()
    assert {t["transaction_id"]: t["refusal"] for t in seen} == {"T1": None, "T2": "mcc", "T5": None}

    # the final report before the interim one is refused; the interim one with a photo and a PDF receipt lands
    assert report(client, auth, ref, "final").status_code == 409
    pdf = ("files", ("receipt.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "application/pdf"))
    r = report(client, auth, ref, "interim", extra=[pdf])
    assert r.status_code == 201, r.text
    interim = r.json()
    assert (interim["kind"], interim["state"], interim["files"]) == ("interim", "filed", 2)
    assert payout_of(db, claim).state == "interim_reported"
    # returned with a reason, filed again, accepted
    dec = f"/api/v1/claims/{ref}/repair-reports/{interim['id']}/decision"
    assert client.post(dec, headers=auth("officer"), json={"accept": False}).status_code == 422
    r = client.post(dec, headers=auth("officer"), json={"accept": False, "reason": "Немає фото даху"})
    assert r.status_code == 200 and r.json()["return_reason"] == "Немає фото даху"
    assert payout_of(db, claim).state == "spending"
    again = report(client, auth, ref, "interim").json()
    r = client.post(f"/api/v1/claims/{ref}/repair-reports/{again['id']}/decision", headers=auth("officer"), json={"accept": True})
    assert r.status_code == 200 and r.json()["state"] == "accepted"
    assert payout_of(db, claim).state == "interim_accepted"
    seen = client.get(f"/api/v1/claims/{ref}/payout", headers=auth("citizen"))
    assert seen.status_code == 200 and seen.json()["repair"]["state"] == "interim_accepted"
    assert seen.json()["repair"]["final_report_due"] == "2027-08-23"
    # the final report waits for the second payment
    r = report(client, auth, ref, "final")
    assert r.status_code == 409 and r.json()["code"] == "second_payment_pending"

    # the second 30 %: a real payment through the next batch and statement, posted as tranche_sent
    run_batch(db, principal("payments"), tmp_path / "b2.xml")
    pay2 = db.scalar(select(Payment).where(Payment.claim_id == claim.id, Payment.tranche == 2))
    assert (pay2.amount_kopiykas, pay2.end_to_end_id[:4], pay2.state) == (9_000_000, "EMS-", "sent")
    reconcile.do_reconcile(db, SYSTEM, statement(tmp_path / "b2.xml", booking=BOOKED_ON + timedelta(days=100)))
    p = payout_of(db, claim)
    assert (p.amount_kopiykas, p.second_paid_on) == (30_000_000, BOOKED_ON + timedelta(days=100))
    assert db.scalar(select(func.count()).select_from(LedgerPosting).where(LedgerPosting.kind == "tranche_sent")) == 2
    assert run_batch(db, principal("payments"), tmp_path / "b3.xml")[1] is None  # paid once

    r = report(client, auth, ref, "final", n=3)
    assert r.status_code == 201, r.text
    final = r.json()
    r = client.post(f"/api/v1/claims/{ref}/repair-reports/{final['id']}/decision", headers=auth("officer"), json={"accept": True})
    assert r.status_code == 200
    p = payout_of(db, claim)
    assert (p.state, p.spent_kopiykas, p.returned_kopiykas) == ("closed", 17_000_000, 13_000_000)
    status = client.get(f"/api/v1/claims/{ref}/payout", headers=auth("citizen")).json()
    assert status["repair"]["state"] == "closed"
    assert [(p["tranche"], p["amount_kopiykas"]) for p in status["payments"]] == [(1, 21_000_000), (2, 9_000_000)]
    # spending after the close is recorded as not counted
    body = upload(client, auth, csv_file(f"T9,{e2e},2026-06-01,1.00,5211,Епіцентр")).json()
    assert (body["counted"], body["not_counted"]) == (0, 1)
    assert ledger.ledger_violations(db) == []


def test_tier_a_final_report_returned_then_accepted(db, users, principal, client, auth, tmp_path):
    claim, pay = paid(db, users, principal, tmp_path, 10_000_000)
    ref = claim.reference
    assert (pay.amount_kopiykas, payout_of(db, claim).tier) == (10_000_000, "A")
    upload(client, auth, csv_file(f"A1,{pay.end_to_end_id},2026-03-01,60000.00,5211,Епіцентр"))
    assert report(client, auth, ref, "interim").status_code == 409  # tier A has no interim report
    too_many = report(client, auth, ref, "final", n=11)
    assert too_many.status_code in (413, 422)
    final = report(client, auth, ref, "final").json()
    dec = f"/api/v1/claims/{ref}/repair-reports/{final['id']}/decision"
    assert client.post(dec, headers=auth("officer"), json={"accept": False, "reason": "Фото нечіткі"}).status_code == 200
    assert payout_of(db, claim).state == "spending"
    assert client.post(dec, headers=auth("officer"), json={"accept": True}).status_code == 409  # already answered
    final = report(client, auth, ref, "final").json()
    r = client.post(f"/api/v1/claims/{ref}/repair-reports/{final['id']}/decision", headers=auth("commission"), json={"accept": True})
    assert r.status_code == 200, r.text
    p = payout_of(db, claim)
    assert (p.state, p.spent_kopiykas, p.returned_kopiykas) == ("closed", 6_000_000, 4_000_000)
    assert ledger.ledger_violations(db) == []


def test_refusals(db, users, principal, client, auth, tmp_path):
    claim, pay = paid(db, users, principal, tmp_path, 10_000_000)
    ref = claim.reference
    assert report(client, auth, ref, "final", who="citizen2").status_code == 404  # another's claim: not even seen
    assert client.get(f"/api/v1/claims/{ref}/repair-reports", headers=auth("citizen2")).status_code == 404
    final = report(client, auth, ref, "final").json()
    dec = f"/api/v1/claims/{ref}/repair-reports/{final['id']}/decision"
    for who in ("auditor", "citizen", "payments"):  # read-only, the owner, the payer: none verifies
        assert client.post(dec, headers=auth(who), json={"accept": True}).status_code in (403, 404), who
    for who in ("citizen", "officer", "auditor"):
        assert upload(client, auth, csv_file(f"X1,{pay.end_to_end_id},2026-03-01,1.00,5211,x"), who).status_code == 403, who
    bad = client.post(f"/api/v1/claims/{ref}/repair-reports", headers=auth("citizen"), data={"kind": "final"},
                      files=[("files", ("x.jpg", b"not a photo at all", "image/jpeg"))])
    assert bad.status_code == 415
    assert payout_of(db, claim).state == "final_reported"
    assert upload(client, auth, b"id,when\n1,2\n").status_code == 422  # not the documented header


def test_same_file_twice_counts_once(db, users, principal, tmp_path):
    claim, pay = paid(db, users, principal, tmp_path, 10_000_000)
    data = csv_file(*(f"R{i},{pay.end_to_end_id},2026-03-{1 + i % 28:02d},100.00,{('5211', '5231', '1520', '5999')[i % 4]},М"
                      for i in range(200)), f"R0,{pay.end_to_end_id},2026-03-01,100.00,5211,М")  # R0 twice in the file
    first = card_transactions.do_import_card_transactions(db, SYSTEM, data)
    assert (first.counted, first.refused, first.already, first.rejected) == (150, 50, 1, 0)
    second = card_transactions.do_import_card_transactions(db, SYSTEM, data)
    assert (second.counted, second.refused, second.already) == (0, 0, 201)
    assert payout_of(db, claim).spent_kopiykas == 150 * 100_00
    assert db.scalar(select(func.count()).select_from(CardTransaction)) == 200


def test_spending_over_the_balance_or_outside_the_window_is_not_counted(db, users, principal, tmp_path):
    _claim, pay = paid(db, users, principal, tmp_path, 1_000_000)  # UAH 10,000
    e2e = pay.end_to_end_id
    r = card_transactions.do_import_card_transactions(db, SYSTEM, csv_file(
        f"W1,{e2e},2026-02-01,1.00,5211,до переказу", f"W2,{e2e},2026-03-01,6000.00,5211,М", f"W3,{e2e},2026-03-02,6000.00,5211,М",
        f"W4,{e2e},2027-02-03,1.00,5211,після вікна"))
    assert (r.counted, r.refused) == (1, 3)
    refusals = dict(db.execute(select(CardTransaction.bank_transaction_id, CardTransaction.refusal)).tuples().all())
    assert refusals == {"W1": "window", "W2": None, "W3": "balance", "W4": "window"}


def test_repeat_damage_closes_the_earlier_card(db, users, principal, tmp_path):
    claim, pay = paid(db, users, principal, tmp_path, 10_000_000)
    card_transactions.do_import_card_transactions(db, SYSTEM, csv_file(f"D1,{pay.end_to_end_id},2026-03-01,25000.00,5211,М"))
    assert payouts.do_sweep(db, SYSTEM, BOOKED_ON + timedelta(days=40)).payouts_redamaged == 0
    old = db.get(Claim, claim.id)
    again = Claim(ref_year=2026, kind="repair_application", state="submitted", oblast=old.oblast, property_id=old.property_id,
                  damage_date=date(2026, 4, 1), is_redamage=True, previous_claim_id=old.id)
    db.add(again)
    db.commit()
    r = payouts.do_sweep(db, SYSTEM, BOOKED_ON + timedelta(days=60))
    assert (r.payouts_redamaged, r.returned_kopiykas) == (1, 7_500_000)
    assert payouts.do_sweep(db, SYSTEM, BOOKED_ON + timedelta(days=61)).payouts_redamaged == 0  # once
    p = payout_of(db, claim)
    assert (p.state, p.returned_kopiykas) == ("redamaged", 7_500_000)
    assert queries.payout_status(db, principal("citizen"), claim.reference)["repair"]["state"] == "redamaged"
    r2 = card_transactions.do_import_card_transactions(db, SYSTEM, csv_file(f"D2,{pay.end_to_end_id},2026-04-10,1.00,5211,М"))
    assert (r2.counted, r2.refused) == (0, 1)
    assert ledger.ledger_violations(db) == []


AMOUNTS = st.one_of(st.from_regex(r"\A-?\d{0,15}(\.\d{0,4})?\Z"), st.text(max_size=8), st.sampled_from(["0", "0.00", "1e3", " "]))


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amount=AMOUNTS, mcc=st.text(max_size=6), day=st.text(max_size=12))
def test_bad_rows_are_rejected_with_their_line(amount, mcc, day):
    """Pure parse: a row lands only with a positive amount of at most 2 decimals, a 4-digit MCC and an ISO date."""
    line = f"H1,EMP-1,{day},{amount},{mcc},М".replace("\n", " ").replace("\r", " ").replace('"', "")
    good, rejects = card_transactions.parse((HEADER + line + "\n").encode())
    import re

    ok_amount = re.fullmatch(r"[0-9]{1,13}(\.[0-9]{1,2})?", amount.strip()) and float(amount) > 0
    ok = bool(ok_amount) and bool(re.fullmatch(r"[0-9]{4}", mcc.strip())) and _iso(day.strip()) and line.count(",") == 5
    assert good.height + len(rejects) == 1
    if ok:
        assert good.height == 1 and good["amount"][0] == round(float(amount) * 100)
    else:
        assert good.height == 0 and rejects and rejects[0].row == 2


def _iso(text: str) -> bool:
    try:
        return date.fromisoformat(text).isoformat() == text
    except ValueError:
        return False


def test_example_file_parses():
    from pathlib import Path

    good, rejects = card_transactions.parse(Path("examples/card_transactions.csv").read_bytes())
    assert good.height >= 5 and [r.reason.split(":")[0] for r in rejects] == []
    out = io.StringIO()
    card_transactions.write_rejects([card_transactions.Reject(3, "X", "bad amount")], out)
    assert out.getvalue().splitlines() == ["row,transaction_id,reason", "3,X,bad amount"]
