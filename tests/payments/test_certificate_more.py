"""Housing certificates beyond the single purchase: the RD4U export carries every co-owner's certificate, the
holder hears of a revocation, the sweep escalates bookings past the 5-working-day confirmation target, and
the set-based paths (many decisions' certificates at once, a notary system's bulk filing and contracts, the
sweep) keep every check and audit event the single actions make."""

from __future__ import annotations

from datetime import timedelta

from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import select

from everymetre.accounts.actions import SYSTEM, load_principal
from everymetre.audit.verify import verify
from everymetre.payments import certificate_fund, ledger, payouts, reconcile, reservations
from everymetre.payments.models import Certificate
from everymetre.transparency.rd4u import records, schema
from tests.payments.test_certificate_purchases import DAY, destroyed, filing
from tests.payments.test_store_batches import run_batch, statement


def test_rd4u_export_carries_every_co_owners_certificate(db, users, principal, tmp_path, pay2):
    claim, certs = destroyed(db, users, 150_000_000, [("Коваль Іван", 1, 3), ("Коваль Марія", 2, 3)], n=21)
    notary = principal("notary")
    certificate_fund.do_record_fund(db, principal("payments"), 150_000_000, "RD-1", DAY)
    # the home costs less than the two certificates: 30m of their 150m goes back to the fund
    res = reservations.do_file_reservation(db, notary, filing(db, certs, 120_000_000), DAY)
    reservations.do_record_termination(db, notary, res.id, "Витяг 7", DAY, DAY)
    reservations.do_record_contract(db, notary, res.id, "Д-7", DAY, DAY)
    run_batch(db, principal("payments"), tmp_path / "s.xml", second=load_principal(db, pay2))
    reconcile.do_reconcile(db, SYSTEM, statement(tmp_path / "s.xml"))
    payouts.do_sweep(db, SYSTEM, DAY + timedelta(days=2))
    db.expire_all()
    rows = db.scalars(select(Certificate).where(Certificate.claim_id == claim.id).order_by(Certificate.id)).all()
    assert [(c.state, c.redeemed_kopiykas) for c in rows] == [("redeemed", 40_000_000), ("redeemed", 80_000_000)]
    recs = [r for r in records(db) if r["claim"]["reference"] == claim.reference]
    validator = Draft202012Validator(schema(), format_checker=FormatChecker())
    assert len(recs) == 2 and all(validator.is_valid(r) for r in recs), [e.message for r in recs for e in validator.iter_errors(r)]
    by_holder = {c.holder_person_id: c for c in rows}
    for rec in recs:
        person_id = int(rec["record_id"].split("/")[1])
        mine = by_holder[person_id]
        # each co-owner's record names their own certificate, not the first one of the claim
        assert rec["housing_certificates"] == [{"number": mine.number, "state": "redeemed", "value_kopiykas": mine.value_kopiykas,
                                                "issued_on": mine.issued_on.isoformat(), "valid_until": mine.expires_on.isoformat()}]
        assert rec["compensation_received"]["items"] == [
            {"kind": "housing_certificate", "amount_kopiykas": mine.redeemed_kopiykas, "certificate_number": mine.number,
             "paid_on": (mine.paid_on or mine.redeemed_on).isoformat()}]
    assert sum(r["compensation_received"]["total_kopiykas"] for r in recs) == 120_000_000
    assert ledger.ledger_violations(db) == [] and verify(db).problem is None
