"""The programme test (#12): claims of every kind through their whole life through the API, as the people and
systems who use it would, on the test store (SQLite or PostgreSQL):

filing with a payout account, the automatic checks, verification, inspection, assessment by the rules, the
commission's decision (a few refused, one award off the computed amount with its reason and a second member's
approval), an appeal; a payment batch built, approved by two officers, its pain.001 downloaded and sent; the
bank's camt.053 with one return; the claimant giving a new account; a second batch paying them again; spending
from the bank's card file; final repair reports filed, one returned and filed again, accepted (the payout closes
and the unspent balance returns to the budget); a destroyed home's certificate issued and answered by the
public check. It ends with every invariant check passing and the ledger balancing to the kopiyka against the
payments booked and the balances returned.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from everymetre.audit.verify import verify
from everymetre.claims.assessment import recheck_decisions
from everymetre.kernel.iban import make_ua_iban
from everymetre.payments import batches
from everymetre.payments.camt053 import EntryStatus, StatementEntry, build_camt053
from everymetre.payments.iso20022 import read_pain001, validate_pain001
from everymetre.payments.ledger import ledger_violations
from everymetre.payments.models import LedgerPosting, Payment, RepairPayout
from tests.factories import claim_body, jpeg_with_exif, owner
from tests.payments.test_payday_api import officer_headers
from tests.store.test_claims_api import ACT, move

API = "/api/v1"
REPAIRS = 24  # repair claims (each with its own owner and account); plus damage reports and a destroyed home
BANK = "305299"  # a participating bank (config.DEFAULT_PAYOUT_BANKS)


def _file(client, auth, i: int, kind: str = "repair_application") -> dict:
    person = owner(name=f"Програмна Особа {i}", is_applicant=True, iban=make_ua_iban(BANK, 7_000_000 + i), bank_code=BANK)
    body = claim_body(kind=kind, owners=[person], submit=False)
    body["property"]["building"] = f"{i}п"
    body["property"]["registry_number"] = f"{9_100_000_000 + i}"
    r = client.post(f"{API}/claims", json=body, headers=auth("citizen"))
    assert r.status_code == 201, r.text
    ref = r.json()["reference"]
    for view in ("photo_closeup", "photo_wide"):
        e = client.post(f"{API}/claims/{ref}/evidence", data={"kind": view}, headers=auth("citizen"),
                        files={"file": ("home.jpg", jpeg_with_exif(), "image/jpeg")})
        assert e.status_code == 201, e.text
    return move(client, auth, "citizen", r.json(), "submitted", reason="")


def _to_assessed(client, auth, c: dict) -> dict:
    c = move(client, auth, "officer", c, "assigned")
    c = move(client, auth, "inspector", c, "inspection_scheduled", inspection_date=date.today().isoformat())
    c = move(client, auth, "inspector", c, "inspected", inspection_act=ACT)
    return move(client, auth, "officer", c, "assessed")


def _statement(entries: list[StatementEntry]) -> bytes:
    return build_camt053(entries, account_iban=batches.debtor_account().iban)


def _pay_day(client, builder: dict, second: dict) -> list:
    """Build, two approvals (the builder's first, another officer's releasing one), the file, sent."""
    r = client.post(f"{API}/payment-batches", headers=builder)
    assert r.status_code == 201, r.text
    bid = r.json()["batch"]["id"]
    client.post(f"{API}/payment-batches/{bid}/approve", json={}, headers=builder)
    r = client.post(f"{API}/payment-batches/{bid}/approve", json={}, headers=second)
    assert r.status_code == 200 and r.json()["state"] == "approved", r.text
    f = client.get(f"{API}/payment-batches/{bid}/file", headers=builder)
    assert f.status_code == 200
    validate_pain001(f.content)
    assert client.post(f"{API}/payment-batches/{bid}/send", headers=builder).json()["state"] == "sent"
    return read_pain001(f.content)


def test_the_programme_end_to_end_through_the_api(client, auth, db, users):
    # --- filing and deciding
    claims = [_to_assessed(client, auth, _file(client, auth, i)) for i in range(REPAIRS)]
    report = _to_assessed(client, auth, _file(client, auth, 900, kind="damage_report"))
    assert report["state"] == "assessed"
    decided = []
    for i, c in enumerate(claims):
        if i % 8 == 7:  # refused on the evidence
            decided.append(move(client, auth, "commission", c, "rejected", decision={"reasons": "Не підтверджено."}))
        elif i == 3:  # another amount than the rules' needs its reason
            r = client.post(f"{API}/claims/{c['reference']}/transitions", headers=auth("commission"), json={
                "to": "approved", "reason": "", "expected_version": c["version"],
                "decision": {"reasons": "Підтверджено", "amount_kopiykas": c["assessed_amount_kopiykas"] - 100_000}})
            assert r.status_code == 422 and r.json()["code"] == "award_reason_needed"
            decided.append(move(client, auth, "commission", c, "approved", decision={
                "reasons": "Підтверджено", "amount_kopiykas": c["assessed_amount_kopiykas"] - 100_000,
                "amount_reason": "Частину робіт оплачено страховою виплатою."}))
        else:
            decided.append(move(client, auth, "commission", c, "approved", decision={"reasons": "Підтверджено актом."}))
    # an appeal of a refusal, decided by another member: the decision stands
    refused = next(c for c in decided if c["state"] == "rejected")
    appealed = move(client, auth, "citizen", refused, "appealed", reason="Додаю витяг з реєстру.")
    move(client, auth, "commission2", appealed, "upheld", decision={"reasons": "Підстав для зміни немає."})
    approved = [c for c in decided if c["state"] == "approved"]
    awards = {c["reference"]: c["awarded_amount_kopiykas"] for c in approved}
    assert len(approved) == REPAIRS - REPAIRS // 8

    # --- the first payment day, with one transfer returned by the bank
    builder = auth("payments")
    _, second = officer_headers(db, "payments2@test.org", ["kharkivska"])
    transfers = _pay_day(client, builder, second)
    assert sorted(t.amount_kopiykas for t in transfers) == sorted(awards.values())
    dead = transfers[0]
    entries = [StatementEntry(t.end_to_end_id, t.amount_kopiykas, EntryStatus.BOOKED, date.today()) for t in transfers[1:]]
    entries.append(StatementEntry(dead.end_to_end_id, dead.amount_kopiykas, EntryStatus.REJECTED, date.today(),
                                  credit_debit="CRDT", reason_code="AC04"))
    r = client.post(f"{API}/bank-statements", headers=builder, files={"file": ("s1.xml", _statement(entries), "application/xml")})
    assert r.status_code == 201 and (r.json()["booked"], r.json()["rejected"]) == (len(transfers) - 1, 1), r.text
    queue = client.get(f"{API}/payment-exceptions", headers=builder).json()
    assert queue["total"] == 1
    ref = next(g["items"][0]["claim_reference"] for g in queue["groups"] if g["total"])

    # --- nothing is paid to the dead account; the claimant gives a new one; the next day pays them again
    assert client.post(f"{API}/payment-batches", headers=builder).json().get("batch") is None
    r = client.put(f"{API}/claims/{ref}/payout-account", headers=auth("citizen"),
                   json={"iban": make_ua_iban(BANK, 8_800_000), "bank_code": BANK, "reason": "Рахунок закрито"})
    assert r.status_code == 200, r.text
    again = _pay_day(client, builder, second)
    assert [t.amount_kopiykas for t in again] == [awards[ref]] and again[0].end_to_end_id != dead.end_to_end_id
    r = client.post(f"{API}/bank-statements", headers=builder, files={"file": ("s2.xml", _statement([
        StatementEntry(again[0].end_to_end_id, awards[ref], EntryStatus.BOOKED, date.today())]), "application/xml")})
    assert r.status_code == 201 and r.json()["booked"] == 1

    # --- spending from the bank's card file (one row of a category that does not count), then final reports
    payouts = {p.claim_id: p for p in db.scalars(select(RepairPayout))}
    db.rollback()
    assert len(payouts) == len(approved)
    e2e = {p.claim_id: db.scalar(select(Payment.end_to_end_id).where(Payment.id == p.payment_id)) for p in payouts.values()}
    rows = ["transaction_id,account,date,amount,mcc,merchant"]
    for n, (cid, p) in enumerate(sorted(payouts.items())):
        spent = p.amount_kopiykas // 2
        rows.append(f"P-{n},{e2e[cid]},{date.today().isoformat()},{spent // 100}.{spent % 100:02d},5211,Будматеріали")
    rows.append(f"P-X,{e2e[min(payouts)]},{date.today().isoformat()},100.00,5812,Кафе")
    r = client.post(f"{API}/card-transactions", headers=builder,
                    files={"file": ("cards.csv", ("\n".join(rows) + "\n").encode(), "text/csv")})
    assert r.status_code in (200, 201), r.text
    refs = {c["reference"]: int(c["reference"].rsplit("-", 1)[1]) for c in approved}
    closing = sorted(refs)[:4]
    for n, cref in enumerate(closing):
        files = [("files", ("done.jpg", jpeg_with_exif(), "image/jpeg"))]
        r = client.post(f"{API}/claims/{cref}/repair-reports", headers=auth("citizen"), data={"kind": "final"}, files=files)
        assert r.status_code == 201, r.text
        rid = r.json()["id"]
        if n == 0:  # returned with a reason, then filed again
            d = client.post(f"{API}/claims/{cref}/repair-reports/{rid}/decision", headers=auth("officer"),
                            json={"accept": False, "reason": "Додайте фото зблизька."})
            assert d.status_code == 200, d.text
            r = client.post(f"{API}/claims/{cref}/repair-reports", headers=auth("citizen"), data={"kind": "final"}, files=files)
            assert r.status_code == 201, r.text
            rid = r.json()["id"]
        assert client.post(f"{API}/claims/{cref}/repair-reports/{rid}/decision", headers=auth("auditor"),
                           json={"accept": True}).status_code == 403  # read-only stays read-only
        d = client.post(f"{API}/claims/{cref}/repair-reports/{rid}/decision", headers=auth("officer"), json={"accept": True})
        assert d.status_code == 200, d.text
    db.rollback()
    closed = {p.claim_id: p for p in db.scalars(select(RepairPayout).where(RepairPayout.state == "closed"))}
    assert set(closed) == {refs[r] for r in closing}
    assert all(p.returned_kopiykas == p.amount_kopiykas - p.spent_kopiykas > 0 for p in closed.values())

    # --- a destroyed home: its award needs a second member; approved, it issues the owner's certificate, which
    # the public check answers for the holder's date of birth (and nothing for another date)
    home = _file(client, auth, 950, kind="destroyed_housing_application")
    home = _to_assessed(client, auth, home)
    r = client.post(f"{API}/claims/{home['reference']}/transitions", headers=auth("commission"), json={
        "to": "approved", "reason": "", "expected_version": home["version"], "decision": {"reasons": "Житло знищено."}})
    assert r.status_code == 200, r.text
    if r.json()["state"] != "approved":  # above the configured amount: a second member approves
        a = client.post(f"{API}/claims/{home['reference']}/award-approval", headers=auth("commission2"),
                        json={"approve": True, "reason": "Сума відповідає розрахунку."})
        assert a.status_code == 200 and a.json()["state"] == "approved", a.text
    payout = client.get(f"{API}/claims/{home['reference']}/payout", headers=auth("citizen")).json()
    number = next(iter(payout.get("certificates") or [payout.get("certificate") or {}]))["number"]
    born = next(o for o in claim_body()["owners"])["birth_date"]
    ok = client.post(f"{API}/public/certificate-check", json={"number": number, "birth_date": born})
    assert ok.status_code == 200 and ok.json()["status"] == "valid", ok.text
    wrong = client.post(f"{API}/public/certificate-check", json={"number": number, "birth_date": "1901-01-01"})
    assert wrong.status_code == 404

    # --- the invariants, and the ledger to the kopiyka
    assert ledger_violations(db) == []
    audit = verify(db)
    assert audit.problem is None and audit.events > 0, audit.problem
    assert all(finding is None for _, finding in recheck_decisions(db))
    booked = db.scalar(select(func.sum(Payment.amount_kopiykas)).where(Payment.state == "booked")) or 0
    returned = sum(p.returned_kopiykas for p in closed.values())
    assert booked == sum(awards.values())  # every award paid once, the returned transfer paid again

    def net(account_like: str) -> int:
        row = db.execute(select(func.sum(LedgerPosting.credit) - func.sum(LedgerPosting.debit))
                         .where(LedgerPosting.account.like(account_like))).scalar()
        return int(row or 0)

    assert net("claim_payable:%") == 0  # everything awarded was paid out
    assert net("bank_clearing") == booked - returned  # what left the programme, less the balances that came back
