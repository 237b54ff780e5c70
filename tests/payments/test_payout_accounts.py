"""The claimant's payout account (claims.payout_accounts): validated (ISO 13616, Ukrainian, a participating bank,
the chosen bank the IBAN's), masked in every answer, corrected by the claimant or an officer with a trail that
proves which account was used, and asked for again when the bank returns a payment — which is then paid again
with a new payment to the new account, the ledger balanced."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from typer.testing import CliRunner

from everymetre.accounts.actions import SYSTEM, load_principal
from everymetre.claims import payout_accounts
from everymetre.claims.models import Claim, PayoutAccount
from everymetre.config import DEFAULT_PAYOUT_BANKS
from everymetre.kernel.errors import ErrorCode, ValidationFailed
from everymetre.kernel.iban import IBANError, make_ua_iban, mask_iban, parse_ua_iban
from everymetre.payments import batches, ledger, queries, reconcile
from everymetre.payments.models import Payment
from tests.factories import claim_body, owner
from tests.payments.store_helpers import decided_claim, ensure_user
from tests.payments.test_store_batches import run_batch, statement
from tests.store.test_claims_api import ACT, move

API = "/api/v1"
PRIVAT = "305299"
BANKS = {code for code, _ in DEFAULT_PAYOUT_BANKS}


# ------------------------------------------------------------------------------------------------ validation (pure)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=40),
                 st.from_regex(r"UA[0-9]{2}[0-9]{25}", fullmatch=True),
                 st.builds(make_ua_iban, st.sampled_from([*sorted(BANKS), "300528", "351005"]),
                           st.integers(0, 10**19 - 1))))
def test_an_account_is_accepted_exactly_when_it_is_a_ukrainian_iban_at_a_participating_bank(text):
    try:
        ua = parse_ua_iban(text)
    except IBANError:
        ua = None
    try:
        iban, bank = payout_accounts.check_account(text)
    except ValidationFailed as exc:
        assert ua is None or ua.bank_code not in BANKS
        assert exc.code is (ErrorCode.IBAN_INVALID if ua is None else ErrorCode.BANK_NOT_PARTICIPATING)
        assert exc.detail  # a sentence saying what is wrong
    else:
        assert ua is not None and (iban, bank) == (ua.iban, ua.bank_code) and len(iban) == 29 and bank in BANKS


@given(st.sampled_from(sorted(BANKS)), st.sampled_from(sorted(BANKS)), st.integers(0, 10**19 - 1))
def test_the_chosen_bank_must_be_the_ibans(chosen, actual, account):
    iban = make_ua_iban(actual, account)
    if chosen == actual:
        assert payout_accounts.check_account(iban, chosen) == (iban, actual)
    else:
        with pytest.raises(ValidationFailed) as caught:
            payout_accounts.check_account(iban, chosen)
        assert caught.value.code is ErrorCode.BANK_IBAN_MISMATCH
        assert caught.value.params == {"bank_code": chosen, "iban_bank_code": actual}


def test_foreign_and_mistyped_ibans_are_refused():
    with pytest.raises(ValidationFailed) as caught:
        payout_accounts.check_account("DE89370400440532013000")
    assert caught.value.code is ErrorCode.IBAN_INVALID and "Ukrainian" in caught.value.detail
    good = make_ua_iban(PRIVAT, 26_007_233_566_001)
    typo = good[:-1] + str((int(good[-1]) + 1) % 10)
    with pytest.raises(ValidationFailed) as caught:
        payout_accounts.check_account(typo)
    assert "checksum" in caught.value.detail


@given(st.sampled_from(sorted(BANKS)), st.integers(0, 10**19 - 1))
def test_masked_shows_country_check_digits_and_last_four_only(bank, account):
    iban = make_ua_iban(bank, account)
    masked = mask_iban(iban)
    assert masked == f"{iban[:4]} **** **** {iban[-4:]}"
    assert iban[4:-4] not in masked.replace(" ", "")


# ------------------------------------------------------------------------------------------------ the API


def _file(client, auth, **owner_extra) -> dict:
    r = client.post(f"{API}/claims", json=claim_body(owners=[owner(is_applicant=True, **owner_extra)]), headers=auth("citizen"))
    return r


def _all_text(client, auth, ref: str) -> str:
    parts = [client.get(f"{API}/claims/{ref}", headers=auth(k)).text for k in ("citizen", "officer", "auditor")]
    parts += [client.get(f"{API}/claims/{ref}/events", headers=auth(k)).text for k in ("citizen", "auditor")]
    parts += [client.get(f"{API}/claims/{ref}/payout-account", headers=auth(k)).text for k in ("citizen", "officer")]
    parts.append(client.get(f"{API}/claims/{ref}/payout", headers=auth("citizen")).text)
    return "\n".join(parts)


def test_the_claim_takes_the_account_and_no_answer_shows_it_whole(client, auth, db):
    iban = make_ua_iban(PRIVAT, 26_007_233_566_001)
    r = _file(client, auth, iban=iban, bank_code=PRIVAT)
    assert r.status_code == 201, r.text
    ref = r.json()["reference"]
    acc = db.scalar(select(PayoutAccount))
    assert (acc.iban, acc.bank_code, acc.state) == (iban, PRIVAT, "active")
    shown = client.get(f"{API}/claims/{ref}/payout-account", headers=auth("citizen")).json()
    assert shown["needs_account"] is None
    assert shown["owners"][0]["iban_masked"] == mask_iban(iban) and shown["owners"][0]["bank_name"] == "ПриватБанк"
    text = _all_text(client, auth, ref)
    assert iban not in text and iban[4:-4] not in text  # masked on every answer, the trail included
    events = client.get(f"{API}/claims/{ref}/events", headers=auth("auditor")).json()
    filed = events[0]["payload"]["after"]["owners"][0]
    assert filed["iban_masked"] == mask_iban(iban) and filed["iban_sha256"] == payout_accounts.fingerprint(iban)


@pytest.mark.parametrize(("extra", "code"), [
    ({"iban": make_ua_iban("300528", 1), "bank_code": "300528"}, "bank_not_participating"),
    ({"iban": make_ua_iban(PRIVAT, 1), "bank_code": "300465"}, "bank_iban_mismatch"),
])
def test_the_claim_refuses_a_wrong_account(client, auth, extra, code):
    r = _file(client, auth, **extra)
    assert r.status_code == 422 and r.json()["code"] == code, r.text
    assert r.json()["errors"][0]["field"] == "owners[0].iban"


def test_a_mistyped_iban_is_refused_at_the_schema(client, auth):
    good = make_ua_iban(PRIVAT, 5)
    r = _file(client, auth, iban=good[:-1] + str((int(good[-1]) + 1) % 10))
    assert r.status_code == 422 and "checksum" in r.text


def test_claimant_and_officer_correct_it_with_a_trail(client, auth, db):
    first = make_ua_iban(PRIVAT, 111)
    ref = _file(client, auth, iban=first, bank_code=PRIVAT).json()["reference"]
    second = make_ua_iban("300465", 222)
    url = f"{API}/claims/{ref}/payout-account"
    r = client.put(url, json={"iban": second, "bank_code": "300465", "reason": "новий банк"}, headers=auth("citizen"))
    assert r.status_code == 200 and r.json()["owners"][0]["iban_masked"] == mask_iban(second), r.text
    third = make_ua_iban("322001", 333)
    r = client.put(url, json={"iban": third, "bank_code": "322001"}, headers=auth("officer"))
    assert r.status_code == 200
    # refusals: another claimant, read-only staff, another oblast's officer, bad input
    body = {"iban": make_ua_iban(PRIVAT, 444), "bank_code": PRIVAT}
    assert client.put(url, json=body, headers=auth("citizen2")).status_code == 404
    assert client.put(url, json=body, headers=auth("officer_lviv")).status_code == 404
    for ro in ("auditor", "commission", "payments", "admin", "inspector"):
        assert client.put(url, json=body, headers=auth(ro)).status_code == 403, ro
    assert client.put(url, json=body).status_code == 401
    r = client.put(url, json={"iban": make_ua_iban(PRIVAT, 5), "bank_code": "300465"}, headers=auth("citizen"))
    assert r.status_code == 422 and r.json()["code"] == "bank_iban_mismatch"
    rows = db.scalars(select(PayoutAccount).order_by(PayoutAccount.id)).all()
    assert [(a.iban, a.state) for a in rows] == [(first, "replaced"), (second, "replaced"), (third, "active")]
    events = [e for e in client.get(f"{API}/claims/{ref}/events", headers=auth("auditor")).json()
              if e["action"] == "claim.payout_account_set"]
    assert [e["payload"]["by_role"] for e in events] == ["claimant", "officer"]
    assert events[0]["payload"]["before"]["iban_sha256"] == payout_accounts.fingerprint(first)  # proves the old one
    assert events[1]["payload"]["before"]["iban_masked"] == mask_iban(second)
    assert events[1]["payload"]["after"]["iban_sha256"] == payout_accounts.fingerprint(third)
    assert events[0]["payload"]["reason"] == "новий банк"
    assert all(a.iban not in str(events) for a in rows)


def test_each_co_owner_gives_their_own_account_and_the_payee_is_paid(client, auth, db, principal):
    a, b = make_ua_iban(PRIVAT, 1), make_ua_iban("300465", 2)
    co = owner("Шевченко Іван Андрійович", date(1978, 11, 2), male=True, share="1/2")
    body = claim_body(owners=[owner(is_applicant=True, share="1/2", iban=a, bank_code=PRIVAT), co])
    ref = client.post(f"{API}/claims", json=body, headers=auth("citizen")).json()["reference"]
    r = client.put(f"{API}/claims/{ref}/payout-account", headers=auth("citizen"),
                   json={"iban": b, "bank_code": "300465", "owner_rnokpp": co["rnokpp"]})
    assert r.status_code == 200, r.text
    shown = {o["owner"]: (o["is_payee"], o["iban_masked"]) for o in r.json()["owners"]}
    assert shown == {"Шевченко Олена Петрівна": (True, mask_iban(a)), "Шевченко Іван Андрійович": (False, mask_iban(b))}
    r = client.put(f"{API}/claims/{ref}/payout-account", headers=auth("citizen"),
                   json={"iban": b, "owner_rnokpp": "1234567899"})
    assert r.status_code == 422


# ------------------------------------------------------------------------------------------------ returned -> paid again


def _approved_through_the_api(client, auth, iban: str) -> dict:
    r = _file(client, auth, iban=iban, bank_code=PRIVAT)
    assert r.status_code == 201, r.text
    c = r.json()
    c = move(client, auth, "officer", c, "assigned")
    c = move(client, auth, "inspector", c, "inspection_scheduled", inspection_date=date.today().isoformat())
    c = move(client, auth, "inspector", c, "inspected", inspection_act=ACT)
    c = move(client, auth, "officer", c, "assessed")
    return move(client, auth, "commission", c, "approved", decision={"reasons": "Пошкодження підтверджено"})


def test_a_returned_payment_needs_a_new_account_then_is_paid_again(client, auth, db, principal, tmp_path):
    old = make_ua_iban(PRIVAT, 26_000_001)
    c = _approved_through_the_api(client, auth, old)
    ref = c["reference"]
    builder = principal("payments")
    _, batch = run_batch(db, builder, tmp_path / "b1.xml")
    pay = db.scalar(select(Payment).where(Payment.batch_id == batch.id))
    assert pay.creditor_iban == old and pay.amount_kopiykas == c["awarded_amount_kopiykas"]
    # the bank returns it (a real camt.053, schema-validated by the parser)
    report = reconcile.do_reconcile(db, SYSTEM, statement(tmp_path / "b1.xml", rejected={pay.end_to_end_id}))
    assert report.rejected == 1
    assert client.get(f"{API}/claims/{ref}/payout", headers=auth("citizen")).json()["stage"] == "needs_account"
    assert client.get(f"{API}/claims/{ref}/payout-account", headers=auth("citizen")).json()["needs_account"] == "returned"
    assert payout_accounts.accounts_to_correct(db, builder)["items"][0]["claim_reference"] == ref
    # no batch takes it meanwhile
    held = batches.do_build_batch(db, builder)
    assert held.batch is None and held.held["needs a new account"] == 1
    assert ledger.ledger_violations(db) == []
    # the claimant gives a new account; the next batch pays it again, with a new payment, to the new account
    new = make_ua_iban("300465", 26_000_002)
    r = client.put(f"{API}/claims/{ref}/payout-account", json={"iban": new, "bank_code": "300465"}, headers=auth("citizen"))
    assert r.status_code == 200 and r.json()["needs_account"] is None
    db.rollback()  # end this session's read: the correction was committed by the API's
    assert payout_accounts.accounts_to_correct(db, builder)["total"] == 0
    _, batch2 = run_batch(db, principal("payments"), tmp_path / "b2.xml")
    again = db.scalar(select(Payment).where(Payment.batch_id == batch2.id))
    assert (again.creditor_iban, again.end_to_end_id.endswith("-02"), again.amount_kopiykas) == (new, True, pay.amount_kopiykas)
    assert reconcile.do_reconcile(db, SYSTEM, statement(tmp_path / "b2.xml")).booked == 1
    status = queries.payout_status(db, builder, ref)
    assert [p["state"] for p in status["payments"]] == ["rejected", "booked"] and status["repair"] is not None
    assert ledger.ledger_violations(db) == []
    from everymetre.cli.main import app

    result = CliRunner().invoke(app, ["ledger", "check"])
    assert result.exit_code == 0, result.output
    events = [e["action"] for e in client.get(f"{API}/claims/{ref}/events", headers=auth("auditor")).json()]
    assert "claim.payout_account_returned" in events and events.index("claim.payout_account_returned") < \
        events.index("claim.payout_account_set")


def test_a_return_to_an_account_from_before_payout_accounts_is_asked_again(db, users, principal, tmp_path):
    claim = decided_claim(db, users["commission"], 10_000_000)  # the person's IBAN only (imported, older claims)
    _, batch = run_batch(db, principal("payments"), tmp_path / "b.xml")
    pay = db.scalar(select(Payment).where(Payment.batch_id == batch.id))
    reconcile.do_reconcile(db, SYSTEM, statement(tmp_path / "b.xml", rejected={pay.end_to_end_id}))
    db.expire_all()
    acc = db.scalar(select(PayoutAccount).where(PayoutAccount.claim_id == claim.id))
    assert (acc.iban, acc.state, acc.returned_payment) == (pay.creditor_iban, "returned", pay.end_to_end_id)
    assert payout_accounts.needs_account(db, db.get(Claim, claim.id)) == "returned"
    other = load_principal(db, ensure_user(db, "payments2@test.org", "payments", ["kharkivska", "kyivska"]))
    assert batches.do_build_batch(db, other).held["needs a new account"] == 1


def test_accounts_to_correct_is_scoped_and_for_payments_staff(db, users, principal, tmp_path):
    decided_claim(db, users["commission"], 10_000_000)
    _, batch = run_batch(db, principal("payments"), tmp_path / "b.xml")
    pay = db.scalar(select(Payment).where(Payment.batch_id == batch.id))
    reconcile.do_reconcile(db, SYSTEM, statement(tmp_path / "b.xml", rejected={pay.end_to_end_id}))
    listed = payout_accounts.accounts_to_correct(db, principal("payments"))
    item = listed["items"][0]
    assert listed["total"] == 1 and re.fullmatch(r"UA\d\d \*{4} \*{4} \d{4}", item["iban_masked"])
    assert item["correct_url"] == f"/staff/claims/{item['claim_reference']}/payout-account"
    lviv = load_principal(db, ensure_user(db, "payments.lviv@test.org", "payments", ["lvivska"]))
    assert payout_accounts.accounts_to_correct(db, lviv)["total"] == 0
    from everymetre.kernel.errors import Forbidden

    with pytest.raises(Forbidden):
        payout_accounts.accounts_to_correct(db, principal("citizen"))
