"""Payment sent, booked and returned, and housing certificates, reach the claimant (from the payments' own
audit events: a batch's, a bank statement's, a certificate's)."""

from __future__ import annotations

from sqlalchemy import select

from everymetre.accounts.actions import SYSTEM
from everymetre.notifications.models import Notification
from everymetre.payments import certificates as svc
from everymetre.payments.models import Payment
from everymetre.payments.reconcile import do_reconcile
from tests.payments.store_helpers import decided_claim
from tests.payments.test_store_batches import run_batch, statement


def kinds(db, claim_id):
    db.rollback()
    return db.scalars(select(Notification.kind).where(Notification.claim_id == claim_id, Notification.channel == "inbox")
                      .order_by(Notification.id)).all()


def test_payment_sent_booked_and_returned(db, users, principal, tmp_path):
    a = decided_claim(db, users["commission"], 10_000_000, submitted_by=users["citizen"])
    b = decided_claim(db, users["commission"], 30_000_000, submitted_by=users["citizen2"])
    _, _batch = run_batch(db, principal("payments"), tmp_path / "b.xml")
    assert kinds(db, a.id) == ["payment_sent"] and kinds(db, b.id) == ["payment_sent"]
    pay_b = db.scalar(select(Payment).where(Payment.claim_id == b.id))
    xml = statement(tmp_path / "b.xml", rejected={pay_b.end_to_end_id})
    do_reconcile(db, SYSTEM, xml)
    do_reconcile(db, SYSTEM, xml)  # the same statement again tells nobody again
    assert kinds(db, a.id) == ["payment_sent", "payment_booked"]
    assert kinds(db, b.id) == ["payment_sent", "payment_returned"]
    n = db.scalar(select(Notification).where(Notification.claim_id == a.id, Notification.kind == "payment_booked"))
    assert n.user_id == users["citizen"] and "100\u00a0000,00\u00a0грн" in n.subject and a.reference in n.subject


def test_certificate_issued_and_reserved(db, users, principal):
    c = decided_claim(db, users["commission"], 150_000_000, kind="destroyed_housing_application",
                      submitted_by=users["citizen"])
    cert = svc.do_issue_certificate(db, principal("payments"), c.reference)[0]
    from everymetre.payments.certificate_fund import do_record_fund

    do_record_fund(db, principal("payments"), cert.value_kopiykas, "N-1")
    svc.do_reserve_funds(db, principal("payments"), cert.number)
    assert kinds(db, c.id) == ["certificate_issued", "certificate_reserved"]
    issued = db.scalar(select(Notification).where(Notification.kind == "certificate_issued"))
    assert cert.number in issued.subject and c.reference in issued.body
