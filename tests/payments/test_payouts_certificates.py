"""Repair payouts (window, reports, sweep) and housing certificates (issue, split, reserve, contract, seller
payment through the batch, redemption once and never above value, lapse and expiry)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from everymetre.accounts.actions import SYSTEM, load_principal
from everymetre.kernel.errors import Conflict, GuardFailed, InvalidTransition, NotFound
from everymetre.kernel.iban import make_ua_iban
from everymetre.payments import certificate_fund, certificates, ledger, payouts, queries, reconcile, repair_reports
from everymetre.payments.certificate_number import validate_certificate_number
from everymetre.payments.models import Certificate, LedgerPosting, Payment, RepairPayout
from tests.payments.store_helpers import decided_claim, photo
from tests.payments.test_store_batches import run_batch, statement

DESTROYED = "destroyed_housing_application"
BOOKED_ON = date(2026, 2, 2)


def paid_repair(db, users, principal, tmp_path, amount):
    claim = decided_claim(db, users["commission"], amount, submitted_by=users["citizen"])
    run_batch(db, principal("payments"), tmp_path / "b.xml")
    reconcile.do_reconcile(db, SYSTEM, statement(tmp_path / "b.xml", booking=BOOKED_ON))
    return claim


def test_repair_lifecycle_closes_and_returns_unspent(db, users, principal, tmp_path):
    claim = paid_repair(db, users, principal, tmp_path, 30_000_000)  # tier B: 18 months, 70 % now, interim report
    ref = claim.reference
    payouts.do_record_spending(db, SYSTEM, ref, 20_000_000, BOOKED_ON + timedelta(days=30))
    with pytest.raises(InvalidTransition, match="interim"):
        repair_reports.do_file_repair_report(db, principal("citizen"), ref, "final", [photo()], on=BOOKED_ON + timedelta(days=40))
    interim = repair_reports.do_file_repair_report(db, principal("citizen"), ref, "interim", [photo()],
                                                   on=BOOKED_ON + timedelta(days=60))
    with pytest.raises(NotFound):  # another claimant cannot even see it
        repair_reports.do_decide_repair_report(db, principal("citizen2"), ref, interim.id, True)
    repair_reports.do_decide_repair_report(db, principal("officer"), ref, interim.id, True, on=BOOKED_ON + timedelta(days=61))
    run_batch(db, principal("payments"), tmp_path / "b2.xml")  # the second 30 %
    reconcile.do_reconcile(db, SYSTEM, statement(tmp_path / "b2.xml", booking=BOOKED_ON + timedelta(days=70)))
    payouts.do_record_spending(db, SYSTEM, ref, 5_000_000, BOOKED_ON + timedelta(days=90))
    final = repair_reports.do_file_repair_report(db, principal("citizen"), ref, "final", [photo()], on=BOOKED_ON + timedelta(days=100))
    report = repair_reports.do_decide_repair_report(db, principal("officer"), ref, final.id, True, on=BOOKED_ON + timedelta(days=110))
    payout = db.scalar(select(RepairPayout).where(RepairPayout.claim_id == claim.id))
    assert report.state == "accepted"
    assert (payout.state, payout.amount_kopiykas, payout.spent_kopiykas, payout.returned_kopiykas) == ("closed", 30_000_000, 25_000_000, 5_000_000)
    status = queries.payout_status(db, principal("citizen"), ref)
    assert status["repair"]["state"] == "closed" and status["repair"]["spend_by"] == date(2027, 8, 2)
    assert ledger.ledger_violations(db) == []


def test_sweep_returns_unspent_balance_when_the_final_report_is_late(db, users, principal, tmp_path):
    claim = paid_repair(db, users, principal, tmp_path, 10_000_000)  # tier A: 12 months
    payouts.do_record_spending(db, SYSTEM, claim.reference, 4_000_000, BOOKED_ON + timedelta(days=10))
    window_end = date(2027, 2, 2)
    report_due = date(2027, 2, 23)  # 15 working days after the window's end
    assert payouts.do_sweep(db, SYSTEM, window_end + timedelta(days=1)).payouts_expired == 0  # the report is still due
    assert payouts.do_sweep(db, SYSTEM, report_due).payouts_expired == 0  # the last day is still in time
    r = payouts.do_sweep(db, SYSTEM, report_due + timedelta(days=1))
    assert (r.payouts_expired, r.returned_kopiykas) == (1, 6_000_000)
    assert payouts.do_sweep(db, SYSTEM, report_due + timedelta(days=2)).payouts_expired == 0  # once
    db.rollback()
    payout = db.scalar(select(RepairPayout).where(RepairPayout.claim_id == claim.id))
    assert (payout.state, payout.returned_kopiykas) == ("expired_balance_returned", 6_000_000)
    kinds = sorted(db.scalars(select(LedgerPosting.kind).where(LedgerPosting.kind.in_(("balance_returned", "returned_to_budget")))))
    assert kinds == ["balance_returned"] * 2 + ["returned_to_budget"] * 2
    with pytest.raises(InvalidTransition):
        payouts.do_record_spending(db, SYSTEM, claim.reference, 1, window_end)
    assert ledger.ledger_violations(db) == []


def test_split_value_is_exact():
    from fractions import Fraction as Fr

    assert certificates.split_value(100, [Fr(1, 3)] * 3) == [34, 33, 33]
    assert certificates.split_value(2_000_000_01, [Fr(1, 2), Fr(1, 4), Fr(1, 4)]) == [1_000_000_01, 500_000_00, 500_000_00]
    assert sum(certificates.split_value(7, [Fr(2, 7), Fr(5, 7)])) == 7


def issued(db, users, principal, value=200_000_000, owners=None):
    claim = decided_claim(db, users["commission"], value, kind=DESTROYED, submitted_by=users["citizen"],
                          owners=owners or [("Коваль Іван", 1, 1)])
    certs = certificates.do_issue_certificate(db, principal("payments"), claim.reference, date(2026, 1, 10))
    certificate_fund.do_record_fund(db, principal("payments"), 10**12, f"T-{claim.id}", date(2026, 1, 10))
    return claim, certs[-1]  # one certificate per co-owner: the last (the larger share, by default)


def test_certificate_issue_split_and_number(db, users, principal):
    claim, cert = issued(db, users, principal, 100_000_000_01, [("Коваль Іван", 1, 3), ("Коваль Марія", 2, 3)])
    assert validate_certificate_number(cert.number) == cert.number and cert.number.startswith("HC-2026-")
    values = db.scalars(select(Certificate.value_kopiykas).where(Certificate.claim_id == claim.id).order_by(Certificate.id)).all()
    assert values == [33_333_333_34, 66_666_666_67]  # one certificate per co-owner, C x share, exactly
    assert cert.expires_on == date(2031, 1, 10)
    with pytest.raises(Conflict):
        certificates.do_issue_certificate(db, principal("payments"), claim.reference, date(2026, 1, 10))
    view = queries.certificate_view(db, principal("citizen"), cert.number)
    assert view["value_kopiykas"] == 66_666_666_67 and [s["share"] for s in view["shares"]] == ["2/3"]
    with pytest.raises(NotFound):
        queries.certificate_view(db, principal("citizen2"), cert.number)
    with pytest.raises(NotFound):  # a mistyped number fails its check digit
        queries.certificate_view(db, principal("citizen"), cert.number[:-1] + str((int(cert.number[-1]) + 1) % 10))


def test_certificate_needs_clear_claim_and_other_issuer(db, users, principal):
    flagged = decided_claim(db, users["commission"], 1_000_000, kind=DESTROYED, review_flag="fraud")
    with pytest.raises(GuardFailed, match="review"):
        certificates.do_issue_certificate(db, principal("payments"), flagged.reference)
    repair = decided_claim(db, users["commission"], 1_000_000)
    with pytest.raises(Exception, match="destroyed"):
        certificates.do_issue_certificate(db, principal("payments"), repair.reference)


def test_certificate_redeemed_once_never_above_value(db, users, principal, tmp_path, pay2):
    claim, cert = issued(db, users, principal, 200_000_000)
    p = principal("payments")
    certificates.do_reserve_funds(db, p, cert.number, date(2026, 1, 12))
    certificates.do_terminate_ownership(db, principal("officer"), cert.number, "РРП 12345678", date(2026, 1, 20))
    seller_iban = make_ua_iban("305299", 26_000_123)
    # the flat costs more than the certificate: the programme pays the value, never more
    certificates.do_sign_contract(db, principal("officer"), cert.number, "Д-2026/77", 250_000_000, "Бойко Андрій", seller_iban,
                         date(2026, 2, 1))
    _, _batch = run_batch(db, p, tmp_path / "s.xml", second=load_principal(db, pay2))  # UAH 2m: two approvers
    seller = db.scalar(select(Payment).where(Payment.certificate_id == cert.id))
    assert (seller.amount_kopiykas, seller.creditor_iban, seller.state) == (200_000_000, seller_iban, "sent")
    reconcile.do_reconcile(db, SYSTEM, statement(tmp_path / "s.xml", booking=date(2026, 2, 4)))
    db.rollback()
    assert db.get(Certificate, cert.id).state == "paid_to_seller"
    done = certificates.do_redeem(db, p, cert.number, date(2026, 2, 5))
    assert (done.state, done.redeemed_kopiykas) == ("redeemed", 200_000_000)
    with pytest.raises(Conflict, match="already redeemed"):
        certificates.do_redeem(db, p, cert.number, date(2026, 2, 6))
    assert ledger.ledger_violations(db) == []
    # the database refuses redemption above the value
    with pytest.raises(IntegrityError):
        db.execute(update(Certificate).where(Certificate.id == cert.id).values(redeemed_kopiykas=200_000_001))
        db.flush()
    db.rollback()
    # and a second seller payment for the same certificate
    with pytest.raises(IntegrityError):
        db.add(Payment(end_to_end_id="EMC-X", purpose="certificate", claim_id=claim.id, certificate_id=cert.id,
                       amount_kopiykas=1, creditor_name="x", creditor_iban=seller_iban, state="pending"))
        db.flush()
    db.rollback()


def test_cheaper_purchase_releases_the_rest(db, users, principal, tmp_path, pay2):
    _, cert = issued(db, users, principal, 200_000_000)
    p = principal("payments")
    certificates.do_reserve_funds(db, p, cert.number, date(2026, 1, 12))
    certificates.do_terminate_ownership(db, p, cert.number, "РРП 1", date(2026, 1, 13))
    certificates.do_sign_contract(db, p, cert.number, "Д-1", 150_000_000, "Бойко Андрій", make_ua_iban("305299", 1), date(2026, 1, 14))
    run_batch(db, p, tmp_path / "s.xml", second=load_principal(db, pay2))
    reconcile.do_reconcile(db, SYSTEM, statement(tmp_path / "s.xml"))
    done = certificates.do_redeem(db, p, cert.number)
    assert done.redeemed_kopiykas == 150_000_000
    released = db.scalar(select(LedgerPosting.debit).where(LedgerPosting.kind == "certificate_released", LedgerPosting.debit > 0))
    assert released == 50_000_000
    assert ledger.ledger_violations(db) == []


def test_reservation_lapses_after_30_days(db, users, principal):
    _, cert = issued(db, users, principal)
    certificates.do_reserve_funds(db, principal("payments"), cert.number, date(2026, 1, 12))
    assert payouts.do_sweep(db, SYSTEM, date(2026, 2, 11)).reservations_lapsed == 0  # day 30: still in time
    with pytest.raises(GuardFailed, match="lapsed"):
        certificates.do_terminate_ownership(db, principal("officer"), cert.number, "РРП 1", date(2026, 2, 12))
    r = payouts.do_sweep(db, SYSTEM, date(2026, 2, 12))
    assert (r.reservations_lapsed, r.released_kopiykas) == (1, cert.value_kopiykas)
    db.rollback()
    assert db.get(Certificate, cert.id).state == "reservation_lapsed"
    assert payouts.do_sweep(db, SYSTEM, date(2026, 3, 1)).reservations_lapsed == 0
    assert ledger.ledger_violations(db) == []


def test_certificate_expires_after_5_years(db, users, principal):
    _, cert = issued(db, users, principal)
    assert payouts.do_sweep(db, SYSTEM, date(2031, 1, 10)).certificates_expired == 0
    assert payouts.do_sweep(db, SYSTEM, date(2031, 1, 11)).certificates_expired == 1
    db.rollback()
    assert db.get(Certificate, cert.id).state == "expired"
