"""Housing certificates end to end on the store: the decision issues one per co-owner, a revision replaces
them, a notary books them (co-owners combining) against a home, the funding queue confirms in order while the
agent's fund lasts, ownership ended, contract, the seller paid through the batch and the statement, redeemed
by the sweep; plus a lapsed reservation, an expiry, a revocation, the related-party review, the public check,
and `ledger check` / `audit verify` at the end."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from everymetre.accounts.actions import SYSTEM, load_principal
from everymetre.audit.record import record
from everymetre.audit.verify import verify
from everymetre.claims.models import Claim, Decision, Person
from everymetre.config import get_settings
from everymetre.kernel.errors import Forbidden, GuardFailed, NotFound, TooManyAttempts
from everymetre.kernel.iban import make_ua_iban
from everymetre.kernel.identifiers import make_rnokpp
from everymetre.payments import (
    certificate_check,
    certificate_fund,
    certificate_queries,
    certificates,
    ledger,
    payouts,
    reconcile,
    reservations,
)
from everymetre.payments.certificate_models import CertificateReservation
from everymetre.payments.models import Certificate, Payment
from everymetre.store.tx import atomic
from tests.payments.store_helpers import decided_claim
from tests.payments.test_store_batches import run_batch, statement

DESTROYED = "destroyed_housing_application"
DAY = date(2026, 3, 2)
SELLER_IBAN = make_ua_iban("305299", 26_000_777)
SELLER_RNOKPP = make_rnokpp(date(1970, 1, 1), 501, True)
HOME = dict(property_registry_number="2718281828", property_address="Київ, вул. Хрещатик, 1, кв. 5",
            property_katottg="UA80000000000093317", property_area_m2=Decimal("61.5"), property_kind="apartment")


def destroyed(db, users, value, owners, n=0):
    """An approved destroyed-housing claim whose decision issued its certificates (the decision's hook)."""
    claim = decided_claim(db, users["commission"], value, kind=DESTROYED, submitted_by=users["citizen"], owners=owners)
    with atomic(db):
        record(db, f"claim:{claim.id}", "claim.decided", users["commission"], {"to": "approved"}, claim_id=claim.id)
        for i, o in enumerate(sorted(claim.owners, key=lambda o: o.id)):
            o.person.birth_date = date(1960 + n, 1 + i, 10 + i)
            o.person.rnokpp = make_rnokpp(o.person.birth_date, 100 * n + i, i % 2 == 0)
        ledger.post_decision(db, claim, users["commission"])
    return claim, list(db.scalars(select(Certificate).where(Certificate.claim_id == claim.id).order_by(Certificate.id)))


def buyers(db, certs):
    return tuple(reservations.Buyer(c.number, db.get(Person, c.holder_person_id).rnokpp) for c in certs)


def filing(db, certs, price, **kw):
    f = dict(seller_name="Бойко Андрій", seller_rnokpp=SELLER_RNOKPP, seller_iban=SELLER_IBAN, **HOME, price_kopiykas=price)
    f.update(kw)
    return reservations.Filing(buyers(db, certs), **f)


def test_decision_issues_per_co_owner_and_revision_replaces(db, users):
    claim, certs = destroyed(db, users, 300_000_000_01, [("Коваль Іван", 1, 3), ("Коваль Марія", 2, 3)])
    assert [c.value_kopiykas for c in certs] == [100_000_000_00, 200_000_000_01]
    assert len({c.holder_person_id for c in certs}) == 2 and all(c.decision_id for c in certs)
    assert all(c.expires_on == c.issued_on.replace(year=c.issued_on.year + 5) for c in certs)
    # the database holds one live certificate per co-owner
    with pytest.raises(IntegrityError):
        db.add(Certificate(number="HC-2026-9999999-0", year=2026, serial=9_999_999, claim_id=claim.id,
                           holder_person_id=certs[0].holder_person_id, value_kopiykas=1, state="issued",
                           issued_on=DAY, expires_on=DAY, redeemed_kopiykas=0, bookings=0))
        db.flush()
    db.rollback()
    # a revised decision replaces them: the old ones revoked, one live per co-owner again
    with atomic(db):
        c = db.get(Claim, claim.id)
        c.state, c.awarded_amount_kopiykas = "revised", 330_000_000_00
        db.add(Decision(claim_id=c.id, stage="appeal", outcome="revised", amount_kopiykas=330_000_000_00, reasons="appeal",
                        decided_by_id=users["commission2"], decided_at=c.decided_at))
        db.flush()
        ledger.post_decision(db, c, users["commission2"])
    rows = db.scalars(select(Certificate).where(Certificate.claim_id == claim.id).order_by(Certificate.id)).all()
    assert [r.state for r in rows] == ["revoked", "revoked", "issued", "issued"]
    assert [r.value_kopiykas for r in rows[2:]] == [110_000_000_00, 220_000_000_00]
    assert rows[0].revoked_reason == "revised"
    # the claimant's payout status sees the certificates
    assert ledger.ledger_violations(db) == []


def test_co_owners_combine_through_the_queue_to_redeemed(db, users, principal, tmp_path, pay2):
    _, certs = destroyed(db, users, 150_000_000, [("Коваль Іван", 1, 2), ("Коваль Марія", 1, 2)])
    notary = principal("notary")
    # the fund is short: the booking waits in the queue, visible with its position
    certificate_fund.do_record_fund(db, principal("payments"), 100_000_000, "ALLOC-1", DAY)
    res = reservations.do_file_reservation(db, notary, filing(db, certs, 170_000_000), DAY)
    assert (res.state, res.certificates_kopiykas, res.buyer_part_kopiykas) == ("queued", 150_000_000, 20_000_000)
    assert certificate_fund.queue_position(db, res) == (1, 0)
    view = certificate_fund.fund_view(db, principal("payments"), DAY)
    assert (view["queued"], view["shortfall_kopiykas"]) == (1, 50_000_000)
    with pytest.raises(Forbidden):  # only the paying office reads the fund
        certificate_fund.fund_view(db, notary)
    with pytest.raises(NotFound):  # another notary does not see the filing
        reservations.get_reservation(db, principal("notary2"), res.id)
    # money arrives: confirmed
    out = certificate_fund.do_record_fund(db, principal("payments"), 60_000_000, "ALLOC-2", DAY + timedelta(days=1))
    assert (out["confirmed"], out["balance_kopiykas"]) == (1, 10_000_000)
    db.expire_all()
    res = db.get(CertificateReservation, res.id)
    assert res.state == "confirmed" and res.contract_due == DAY + timedelta(days=31)
    with pytest.raises(NotFound):  # another notary's filing does not exist for them
        reservations.do_record_termination(db, principal("notary2"), res.id, "Витяг 1", DAY)
    reservations.do_record_termination(db, notary, res.id, "Витяг ДРРП 123", DAY + timedelta(days=2), DAY + timedelta(days=2))
    reservations.do_record_contract(db, notary, res.id, "Д-2026/15", DAY + timedelta(days=3), DAY + timedelta(days=3))
    # the next batch pays the seller, one payment per certificate, each its value
    run_batch(db, principal("payments"), tmp_path / "s.xml", second=load_principal(db, pay2))
    pays = db.scalars(select(Payment).where(Payment.purpose == "certificate").order_by(Payment.id)).all()
    assert [(p.amount_kopiykas, p.creditor_iban, p.state) for p in pays] == [(75_000_000, SELLER_IBAN, "sent")] * 2
    reconcile.do_reconcile(db, SYSTEM, statement(tmp_path / "s.xml", booking=DAY + timedelta(days=5)))
    r = payouts.do_sweep(db, SYSTEM, DAY + timedelta(days=6))
    assert r.certificates_redeemed == 2
    db.expire_all()
    assert {c.state for c in db.scalars(select(Certificate))} == {"redeemed"}
    assert db.get(CertificateReservation, res.id).state == "completed"
    assert ledger.ledger_violations(db) == []
    assert verify(db).problem is None


def test_cheaper_home_releases_the_rest_and_queue_keeps_order(db, users, principal, tmp_path, pay2):
    _, a = destroyed(db, users, 100_000_000, [("Олена А", 1, 1)], n=1)
    _, b = destroyed(db, users, 40_000_000, [("Петро Б", 1, 1)], n=2)
    notary = principal("notary")
    first = reservations.do_file_reservation(db, notary, filing(db, a, 80_000_000), DAY)
    second = reservations.do_file_reservation(db, notary, filing(db, b, 40_000_000), DAY)
    assert certificate_fund.queue_position(db, second) == (2, 100_000_000)
    # 50m would fit the second but not the first: nobody is overtaken
    assert certificate_fund.do_record_fund(db, principal("payments"), 50_000_000, "A1", DAY)["confirmed"] == 0
    assert certificate_fund.do_record_fund(db, principal("payments"), 90_000_000, "A2", DAY)["confirmed"] == 2
    reservations.do_record_termination(db, notary, first.id, "В-1", DAY, DAY)
    reservations.do_record_contract(db, notary, first.id, "Д-1", DAY, DAY)
    run_batch(db, principal("payments"), tmp_path / "s.xml", second=load_principal(db, pay2))
    reconcile.do_reconcile(db, SYSTEM, statement(tmp_path / "s.xml"))
    payouts.do_sweep(db, SYSTEM, DAY + timedelta(days=3))
    db.expire_all()
    cert = db.get(Certificate, a[0].id)
    assert (cert.state, cert.redeemed_kopiykas) == ("redeemed", 80_000_000)
    # 20m of the first came back to the fund: 140 allocated - 100 - 40 reserved + 20 released
    assert certificate_fund.fund_balance(db) == 20_000_000
    assert ledger.ledger_violations(db) == []


def test_lapse_expiry_revocation_release_funds(db, users, principal):
    _, a = destroyed(db, users, 50_000_000, [("Олена А", 1, 1)], n=3)
    _, b = destroyed(db, users, 50_000_000, [("Петро Б", 1, 1)], n=4)
    _, c = destroyed(db, users, 50_000_000, [("Ганна В", 1, 1)], n=5)
    certificate_fund.do_record_fund(db, principal("payments"), 150_000_000, "A1", DAY)
    notary = principal("notary")
    ra = reservations.do_file_reservation(db, notary, filing(db, a, 50_000_000), DAY)
    reservations.do_file_reservation(db, notary, filing(db, b, 50_000_000), DAY)
    assert certificate_fund.fund_balance(db) == 50_000_000
    # lapsed: day 30 is in time, day 31 lapses and returns the money; the certificate can be booked again
    assert payouts.do_sweep(db, SYSTEM, DAY + timedelta(days=30)).reservations_lapsed == 0
    with pytest.raises(GuardFailed, match="lapsed"):
        reservations.do_record_termination(db, notary, ra.id, "В", DAY, DAY + timedelta(days=31))
    assert payouts.do_sweep(db, SYSTEM, DAY + timedelta(days=31)).reservations_lapsed == 2
    assert certificate_fund.fund_balance(db) == 150_000_000
    db.expire_all()
    assert db.get(Certificate, a[0].id).state == "reservation_lapsed"
    again = reservations.do_file_reservation(db, notary, filing(db, a, 50_000_000), DAY + timedelta(days=32))
    assert again.state == "confirmed"
    # revoked (an admin; reserved funds return)
    with pytest.raises(Forbidden):
        certificates.do_revoke_certificate(db, principal("payments"), a[0].number)
    certificates.do_revoke_certificate(db, principal("admin"), a[0].number, "overturned", DAY + timedelta(days=33))
    assert certificate_fund.fund_balance(db) == 150_000_000
    db.expire_all()
    assert db.get(CertificateReservation, again.id).state == "cancelled"
    with pytest.raises(GuardFailed):  # a revoked certificate cannot be booked
        reservations.do_file_reservation(db, notary, filing(db, a, 50_000_000), DAY + timedelta(days=34))
    # expired after 5 years
    expiry = db.get(Certificate, c[0].id).expires_on
    assert payouts.do_sweep(db, SYSTEM, expiry).certificates_expired == 0
    assert payouts.do_sweep(db, SYSTEM, expiry + timedelta(days=1)).certificates_expired >= 1
    db.expire_all()
    assert db.get(Certificate, c[0].id).state == "expired"
    assert ledger.ledger_violations(db) == []
    assert verify(db).problem is None


def test_booking_rules_refuse(db, users, principal):
    _, a = destroyed(db, users, 50_000_000, [("Олена А", 1, 1)], n=6)
    notary = principal("notary")
    with pytest.raises(Forbidden):  # only a notary files
        reservations.do_file_reservation(db, principal("officer"), filing(db, a, 50_000_000), DAY)
    with pytest.raises(GuardFailed, match="combat-zone or occupied"):
        reservations.do_file_reservation(db, notary, filing(db, a, 50_000_000, property_katottg="UA14160000000000000"), DAY)
    wrong = reservations.Filing((reservations.Buyer(a[0].number, SELLER_RNOKPP),), "Бойко", SELLER_RNOKPP, SELLER_IBAN,
                                **HOME, price_kopiykas=50_000_000)
    with pytest.raises(GuardFailed, match="held by the person"):
        reservations.do_file_reservation(db, notary, wrong, DAY)
    # the seller is the buyer: a related-party sale goes to review; refused, the certificate is free again
    holder = db.get(Person, a[0].holder_person_id).rnokpp
    res = reservations.do_file_reservation(db, notary, filing(db, a, 50_000_000, seller_rnokpp=holder), DAY)
    assert (res.state, res.related_party) == ("review", True)
    with pytest.raises(Forbidden):
        reservations.do_review_reservation(db, notary, res.id, True, "ok")
    reservations.do_review_reservation(db, principal("officer"), res.id, False, "Продаж самому собі")
    db.expire_all()
    assert db.get(Certificate, a[0].id).state == "issued"


def test_public_check_answers_only_with_the_right_birth_date(db, users, monkeypatch):
    _, a = destroyed(db, users, 50_000_000, [("Олена А", 1, 1)], n=7)
    born = db.get(Person, a[0].holder_person_id).birth_date
    number = a[0].number
    settings = get_settings()
    ok = certificate_check.check_certificate(db, settings, number, born, "10.0.0.1")
    assert (ok["status"], ok["value_kopiykas"]) == ("valid", 50_000_000) and set(ok) == {
        "number", "status", "value_kopiykas", "issued_on", "valid_until"}
    with pytest.raises(NotFound) as wrong:
        certificate_check.check_certificate(db, settings, number, born + timedelta(days=1), "10.0.0.1")
    with pytest.raises(NotFound) as unknown:
        certificate_check.check_certificate(db, settings, "HC-2026-0000001-9", born, "10.0.0.1")
    assert str(wrong.value) == str(unknown.value)
    from dataclasses import replace

    tight = replace(settings, certificate_checks_per_address=2)
    certificate_check.check_certificate(db, tight, number, born, "10.0.0.2")
    with pytest.raises(NotFound):
        certificate_check.check_certificate(db, tight, number, born - timedelta(days=1), "10.0.0.2")
    with pytest.raises(TooManyAttempts):
        certificate_check.check_certificate(db, tight, number, born, "10.0.0.2")


def test_returned_seller_payment_goes_to_exceptions_and_is_corrected(db, users, principal, tmp_path, pay2):
    _, a = destroyed(db, users, 50_000_000, [("Олена А", 1, 1)], n=8)
    certificate_fund.do_record_fund(db, principal("payments"), 50_000_000, "A1", DAY)
    notary = principal("notary")
    res = reservations.do_file_reservation(db, notary, filing(db, a, 50_000_000), DAY)
    reservations.do_record_termination(db, notary, res.id, "В", DAY, DAY)
    reservations.do_record_contract(db, notary, res.id, "Д", DAY, DAY)
    run_batch(db, principal("payments"), tmp_path / "s.xml")
    e2e = db.scalar(select(Payment.end_to_end_id).where(Payment.certificate_id == a[0].id))
    reconcile.do_reconcile(db, SYSTEM, statement(tmp_path / "s.xml", rejected={e2e}))
    rows = certificate_queries.returned_seller_payments(db, principal("payments"))
    assert [(r["number"], r["reason_code"]) for r in rows] == [(a[0].number, "AC04")]
    certificates.do_correct_seller_account(db, principal("payments"), a[0].number, "Бойко Андрій", make_ua_iban("305299", 5))
    assert certificate_queries.returned_seller_payments(db, principal("payments")) == []
    assert ledger.ledger_violations(db) == []
