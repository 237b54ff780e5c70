"""The programme test (#12, #13): a few hundred claims of every kind through their whole life through the API,
as the people and systems who use it would, on the test store (SQLite or PostgreSQL).

Repair claims: filed with a payout account (some with photos), the automatic checks, verification, inspection,
assessment by the rules, the commission's decision (some refused, one award off the computed amount with its
reason, an appeal of a refusal upheld); a payment day (batch, two approvals, pain.001, sent) and the bank's
camt.053 with one return; the claimant gives a new account and the next day pays them again; spending from the
bank's card file (one row of a category that does not count); tier A closes on its final report (one returned
once and filed again), tier B is paid 70 %, files an interim report, is paid the other 30 % once it is
accepted, then closes on its final report; some owners never file the final report and, when the clock passes
its deadline (`pay sweep --today`), their unspent balance returns to the budget.

Destroyed homes: approved (a second member approves the award above the configured amount), a certificate per
co-owner; the paying agent's fund is short at first (one booking waits in the queue), then confirms; notaries
book, record the end of ownership and the contract; the sellers are paid in a batch and the statement and the
sweep redeem the certificates — one purchase combines two co-owners' certificates; one booking lapses after 30
days, one certificate expires after 5 years unused, one is revoked when its decision is overturned on appeal.

It ends with `ledger check`, `audit verify` and `rules recheck` exiting 0, and the ledger balancing to the
kopiyka against the awards paid, the balances returned and the certificates redeemed against the fund.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from everymetre.claims.models import Person
from everymetre.kernel.iban import make_ua_iban
from everymetre.payments.models import Certificate, LedgerPosting, Payment, RepairPayout
from everymetre.payments.schedule import final_report_due
from tests.factories import owner
from tests.payments import programme_steps as s
from tests.payments.programme_steps import API, BANK, TODAY
from tests.payments.test_payday_api import officer_headers
from tests.store.test_claims_api import move

REPAIRS = 240  # repair claims, each with its own owner and account
HOMES = 10  # destroyed homes (one held by two co-owners)
REFUSED = {i for i in range(REPAIRS) if i % 12 == 11}
TIER_B = {i for i in range(REPAIRS) if i % 4 == 1}  # works above UAH 200,000: 70 % now, 30 % after the interim report
PHOTOS = {i for i in range(REPAIRS) if i % 10 == 0}  # filed with photos of the damage
MISSED = {i for i in range(REPAIRS) if i % 9 == 4} - REFUSED  # never file the final report
OFF_COMPUTED = 3  # the award that differs from the rules' amount (with its reason)
CO_OWNED, LAPSES, EXPIRES, OVERTURNED, QUEUED = 0, 1, 2, 3, 4  # the destroyed homes with a story of their own


def repair_act(i: int) -> dict:
    if i in TIER_B:  # 26-29 windows at UAH 8,500 and the roof: UAH 230,000-260,000
        return s.act(26 + i % 4, 10 + i % 7)
    return s.act(2 + i % 5, 5 + i % 11)


def net(db, account_like: str) -> int:
    """Credits less debits of the accounts named like `account_like`."""
    row = db.execute(select(func.coalesce(func.sum(LedgerPosting.credit), 0) - func.coalesce(func.sum(LedgerPosting.debit), 0))
                     .where(LedgerPosting.account.like(account_like))).scalar()
    return int(row or 0)


def test_the_programme_end_to_end_through_the_api(client, auth, db, users):
    builder = auth("payments")
    _, second = officer_headers(db, "payments2@test.org", ["kharkivska", "kyivska"])

    # --- repair claims: filing, checks, inspection, assessment, decision
    claims = [s.to_assessed(client, auth, s.file_claim(client, auth, i, photos=i in PHOTOS), repair_act(i)) for i in range(REPAIRS)]
    assessed = {c["reference"]: c["assessed_amount_kopiykas"] for c in claims}
    assert all(v > 20_000_000 for i, v in enumerate(assessed.values()) if i in TIER_B)  # tier B: above UAH 200,000
    decided = {}
    for i, c in enumerate(claims):
        if i in REFUSED:
            decided[i] = move(client, auth, "commission", c, "rejected", decision={"reasons": "Не підтверджено."})
        elif i == OFF_COMPUTED:  # another amount than the rules' needs its reason
            r = client.post(f"{API}/claims/{c['reference']}/transitions", headers=auth("commission"), json={
                "to": "approved", "reason": "", "expected_version": c["version"],
                "decision": {"reasons": "Підтверджено", "amount_kopiykas": c["assessed_amount_kopiykas"] - 100_000}})
            assert r.status_code == 422 and r.json()["code"] == "award_reason_needed"
            decided[i] = s.approve(client, auth, c, amount_kopiykas=c["assessed_amount_kopiykas"] - 100_000,
                                   amount_reason="Частину робіт оплачено страховою виплатою.")
        else:
            decided[i] = s.approve(client, auth, c)
    refused = decided[min(REFUSED)]  # an appeal of a refusal, decided by another member: the decision stands
    appealed = move(client, auth, "citizen", refused, "appealed", reason="Додаю витяг з реєстру.")
    move(client, auth, "commission2", appealed, "upheld", decision={"reasons": "Підстав для зміни немає."})
    awards = {c["reference"]: c["awarded_amount_kopiykas"] for i, c in decided.items() if c["state"] == "approved"}
    index = {c["reference"]: i for i, c in decided.items()}
    assert len(awards) == REPAIRS - len(REFUSED)
    assert awards[decided[OFF_COMPUTED]["reference"]] == assessed[decided[OFF_COMPUTED]["reference"]] - 100_000
    first_share = {ref: a if index[ref] not in TIER_B else a * 70 // 100 for ref, a in awards.items()}
    refs = {int(ref.rsplit("-", 1)[1]): ref for ref in awards}

    def claim_of(t) -> str | None:  # a repair transfer's claim (EMP-<claim>-<try>, EMS- for the second payment)
        kind, number, _ = t.end_to_end_id.split("-")
        return refs[int(number)] if kind in ("EMP", "EMS") else None

    # --- destroyed homes: approved (a second member approves the award), a certificate per co-owner
    homes = []
    for n in range(HOMES):
        people = None
        if n == CO_OWNED:
            people = [owner(name=f"Співвласниця {n}", is_applicant=True, share="1/2"), owner(name=f"Співвласник {n}", share="1/2", male=True)]
        else:
            people = [owner(name=f"Власник Знищеного {n}", is_applicant=True)]
        h = s.to_assessed(client, auth, s.file_claim(client, auth, 5_000 + n, "destroyed_housing_application", people), s.act(3, 10))
        homes.append(s.approve(client, auth, h, reasons="Житло знищено."))
    ids = {int(h["reference"].rsplit("-", 1)[1]): n for n, h in enumerate(homes)}
    for h in homes:
        h["certificates"] = {}
    for cert, name in db.execute(select(Certificate, Person.full_name).join(Person, Person.id == Certificate.holder_person_id)):
        # each holder's own copy (their documents in the app)
        homes[ids[cert.claim_id]]["certificates"][cert.number] = {"value_kopiykas": cert.value_kopiykas, "holder": name}
    db.rollback()
    assert [len(h["certificates"]) for h in homes] == [2 if n == CO_OWNED else 1 for n in range(HOMES)]
    for h in homes:
        assert sum(c["value_kopiykas"] for c in h["certificates"].values()) == h["awarded_amount_kopiykas"]
        born = h["owners_filed"][0]["birth_date"]
        mine = next(x for x, c in h["certificates"].items() if c["holder"] == h["owners_filed"][0]["full_name"])
        ok = client.post(f"{API}/public/certificate-check", json={"number": mine, "birth_date": born})
        assert ok.status_code == 200 and ok.json()["status"] == "valid", ok.text
    wrong = client.post(f"{API}/public/certificate-check", json={"number": mine, "birth_date": "1901-01-01"})
    assert wrong.status_code == 404 and "value_kopiykas" not in wrong.text

    # the revocation: the decision overturned on appeal (revised to nothing) revokes the unused certificate
    h = homes[OVERTURNED]
    h = move(client, auth, "citizen", h, "appealed", reason="Оскаржую розмір.")
    h = move(client, auth, "commission3", h, "revised", decision={
        "reasons": "Житло придатне для відновлення: не знищене.", "amount_kopiykas": 0,
        "amount_reason": "Повторне обстеження: пошкоджене, а не знищене."})
    assert h["state"] == "revised" and h["awarded_amount_kopiykas"] == 0
    number = next(iter(homes[OVERTURNED]["certificates"]))
    assert client.get(f"{API}/certificates/{number}", headers=auth("payments")).json()["state"] == "revoked"

    # the paying agent's fund: short at first, so the last booking waits in the queue
    to_buy = [n for n in range(HOMES) if n not in (OVERTURNED, EXPIRES)]
    values = {n: sum(c["value_kopiykas"] for c in homes[n]["certificates"].values()) for n in to_buy}
    first = sum(v for n, v in values.items() if n != QUEUED)
    r = client.post(f"{API}/fund/allocations", headers=builder, json={"amount_kopiykas": first, "reference": "MINFIN-1"})
    assert r.status_code == 201, r.text
    bookings = {}
    for n in [x for x in to_buy if x != QUEUED] + [QUEUED]:
        bookings[n] = s.reserve(client, auth, homes[n], sorted(homes[n]["certificates"]), n, extra=1_000_000 * n)
    assert {n: b["state"] for n, b in bookings.items()} == {n: "queued" if n == QUEUED else "confirmed" for n in to_buy}
    assert (bookings[QUEUED]["queue_position"], bookings[QUEUED]["ahead_kopiykas"]) == (1, 0)
    assert bookings[CO_OWNED]["certificates_kopiykas"] == values[CO_OWNED] and len(bookings[CO_OWNED]["certificates"]) == 2
    fund = client.get(f"{API}/fund", headers=builder).json()
    assert (fund["balance_kopiykas"], fund["queued"], fund["shortfall_kopiykas"]) == (0, 1, values[QUEUED])
    r = client.post(f"{API}/fund/allocations", headers=builder, json={"amount_kopiykas": values[QUEUED], "reference": "MINFIN-2"})
    assert r.status_code == 201 and r.json()["confirmed"] == 1, r.text
    for n in to_buy:
        if n != LAPSES:
            s.complete_purchase(client, auth, bookings[n]["id"], n)

    # --- the first payment day: repair money (tier B's 70 %) and the sellers; one repair transfer returned
    transfers = s.pay_day(client, builder, second)
    repair = [t for t in transfers if claim_of(t)]
    sellers = [t for t in transfers if not claim_of(t)]
    assert sorted(t.amount_kopiykas for t in repair) == sorted(first_share.values())
    bought = [n for n in to_buy if n != LAPSES]
    assert sorted(t.amount_kopiykas for t in sellers) == sorted(c["value_kopiykas"] for n in bought for c in homes[n]["certificates"].values())
    dead = repair[0]
    s.statement(client, builder, transfers, rejected={dead.end_to_end_id}, name="s1.xml")
    queue = client.get(f"{API}/payment-exceptions", headers=builder).json()
    assert queue["total"] == 1
    ref = next(g["items"][0]["claim_reference"] for g in queue["groups"] if g["total"])
    assert ref == claim_of(dead)
    assert client.get(f"{API}/claims/{ref}/payout", headers=auth("citizen")).json()["stage"] == "needs_account"

    # nothing is paid to the dead account; the claimant gives a new one; the next day pays them again
    assert client.post(f"{API}/payment-batches", headers=builder).json().get("batch") is None
    r = client.put(f"{API}/claims/{ref}/payout-account", headers=auth("citizen"),
                   json={"iban": make_ua_iban(BANK, 8_800_000), "bank_code": BANK, "reason": "Рахунок закрито"})
    assert r.status_code == 200, r.text
    again = s.pay_day(client, builder, second)
    assert [(claim_of(t), t.amount_kopiykas) for t in again] == [(ref, first_share[ref])]
    assert again[0].end_to_end_id != dead.end_to_end_id
    s.statement(client, builder, again, name="s2.xml")

    # --- spending from the bank's card file: half of what landed, and one row of a category that does not count
    payouts = {p.claim_id: p for p in db.scalars(select(RepairPayout))}
    accounts = dict(db.execute(select(Payment.claim_id, Payment.end_to_end_id).join(RepairPayout, RepairPayout.payment_id == Payment.id)).all())
    db.rollback()
    assert len(payouts) == len(awards)
    assert Counter(p.tier for p in payouts.values()) == Counter("B" if index[r] in TIER_B else "A" for r in awards)
    spent = {cid: p.amount_kopiykas // 2 for cid, p in payouts.items()}
    rows = [(f"P-{cid}", accounts[cid], k, "5211") for cid, k in sorted(spent.items())]
    rows.append(("P-X", accounts[min(payouts)], 10_000, "5812"))
    r = client.post(f"{API}/card-transactions", headers=builder, files={"file": ("cards.csv", s.card_file(rows), "text/csv")})
    assert r.status_code == 200, r.text
    assert (r.json()["counted"], r.json()["not_counted"], r.json()["counted_kopiykas"]) == (len(spent), 1, sum(spent.values()))
    again_file = client.post(f"{API}/card-transactions", headers=builder, files={"file": ("cards.csv", s.card_file(rows), "text/csv")})
    assert again_file.json()["already"] == len(rows) and again_file.json()["counted"] == 0  # idempotent

    # --- tier B: the interim report accepted, then the other 30 % in the next batch
    tier_b = sorted(refs[cid] for cid, p in payouts.items() if p.tier == "B")
    for n, ref in enumerate(tier_b):
        if n == 0:  # returned once, then filed again
            s.report(client, auth, ref, "interim", accept=False, reason="Додайте чеки на матеріали.")
        s.report(client, auth, ref, "interim")
    seconds = s.pay_day(client, builder, second)
    assert sorted((claim_of(t), t.amount_kopiykas) for t in seconds) == sorted((ref, awards[ref] - first_share[ref]) for ref in tier_b)
    s.statement(client, builder, seconds, name="s3.xml")

    # --- final reports: filed and accepted (the payout closes, its unspent balance returns), except the owners who miss
    closing = sorted(ref for ref in awards if index[ref] not in MISSED)
    for n, ref in enumerate(closing):
        if n == 0:
            s.report(client, auth, ref, "final", accept=False, reason="Додайте фото зблизька.")
        s.report(client, auth, ref, "final")
    status = client.get(f"{API}/claims/{closing[0]}/payout", headers=auth("citizen")).json()
    assert status["stage"] == "closed" and status["repair"]["left_kopiykas"] == 0

    # --- time passes (the product's clock: `everymetre pay sweep --today`)
    # day 31: the confirmed booking without a contract lapses and its money goes back to the agent's fund
    said = s.sweep(TODAY + timedelta(days=31))  # the paid certificates are redeemed by the same run
    assert "reservations lapsed: 1;" in said and f"certificates redeemed: {sum(len(homes[n]['certificates']) for n in bought)};" in said
    lapsed = client.get(f"{API}/reservations/{bookings[LAPSES]['id']}", headers=auth("notary")).json()
    assert lapsed["state"] == "lapsed" and {c["state"] for c in lapsed["certificates"]} == {"reservation_lapsed"}
    # the final-report deadlines pass: the payouts whose report never came return their balance
    db.rollback()
    last_due = max(final_report_due(p.window_end) for p in payouts.values())
    said = s.sweep(last_due + timedelta(days=1))
    assert f"repair payouts expired: {len(MISSED)}," in said and "certificates expired: 0 " in said
    # five years: the certificate never used expires (and so does the one whose booking lapsed)
    expires = db.scalar(select(func.max(Certificate.expires_on)))
    db.rollback()
    assert "certificates expired: 2 " in s.sweep(expires + timedelta(days=1))

    # --- the end states, counted
    db.rollback()
    final = {p.claim_id: p for p in db.scalars(select(RepairPayout))}
    missed_ids = {cid for cid, ref in refs.items() if index[ref] in MISSED}
    assert Counter(p.state for p in final.values()) == Counter({"closed": len(awards) - len(missed_ids),
                                                                  "expired_balance_returned": len(missed_ids)})
    assert {cid for cid, p in final.items() if p.state == "expired_balance_returned"} == missed_ids
    assert any(payouts[cid].tier == "B" for cid in missed_ids) and any(payouts[cid].tier == "A" for cid in missed_ids)
    for cid, p in final.items():
        assert p.amount_kopiykas == awards[refs[cid]]  # tier B: both payments landed
        assert (p.spent_kopiykas, p.returned_kopiykas) == (spent[cid], p.amount_kopiykas - spent[cid])
    certs = {c.number: c for c in db.scalars(select(Certificate))}
    states = Counter(c.state for c in certs.values())
    assert states == Counter({"redeemed": sum(len(homes[n]["certificates"]) for n in bought), "revoked": 1, "expired": 2})
    assert all(c.redeemed_kopiykas == c.value_kopiykas for c in certs.values() if c.state == "redeemed")
    expired = {x for x, c in certs.items() if c.state == "expired"}
    assert expired == set(homes[EXPIRES]["certificates"]) | set(homes[LAPSES]["certificates"])
    for n in bought:
        assert client.get(f"{API}/reservations/{bookings[n]['id']}", headers=auth("notary")).json()["state"] == "completed"

    # --- the invariants: the three checks an operator runs, and the ledger to the kopiyka
    s.cli("ledger", "check")
    s.cli("audit", "verify")
    s.cli("rules", "recheck")
    booked_repair = db.scalar(select(func.sum(Payment.amount_kopiykas)).where(Payment.state == "booked", Payment.purpose == "repair"))
    booked_sellers = db.scalar(select(func.sum(Payment.amount_kopiykas)).where(Payment.state == "booked", Payment.purpose == "certificate"))
    redeemed = sum(c.redeemed_kopiykas for c in certs.values())
    returned = sum(p.returned_kopiykas for p in final.values())
    allocated = first + values[QUEUED]
    assert booked_repair == sum(awards.values())  # every award paid once in full, the returned transfer paid again
    assert booked_sellers == redeemed == sum(values[n] for n in bought)
    assert returned == sum(awards.values()) - sum(spent.values())
    assert net(db, "claim_payable:%") == 0  # everything awarded was paid out
    assert net(db, "certificate_reserved:%") == 0  # nothing left reserved
    assert net(db, "returned_funds") == 0  # every returned balance went back to the budget
    assert net(db, "bank_clearing") == booked_repair + booked_sellers - returned  # what left, less what came back
    assert net(db, "agent_fund") == allocated - redeemed  # the fund keeps what was allocated and not paid to sellers
    assert net(db, "programme_budget") == -(sum(awards.values()) + allocated - returned)
    assert client.get(f"{API}/fund", headers=builder).json()["balance_kopiykas"] == allocated - redeemed
