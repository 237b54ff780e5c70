"""Housing certificates beyond the single purchase: the RD4U export carries every co-owner's certificate, the
holder hears of a revocation, the sweep escalates bookings past the 5-working-day confirmation target, and
the set-based paths (many decisions' certificates at once, a notary system's bulk filing and contracts, the
sweep) keep every check and audit event the single actions make."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import func, select, text, update

from everymetre.accounts.actions import SYSTEM, load_principal
from everymetre.audit.models import AuditEvent
from everymetre.audit.verify import verify
from everymetre.claims.bulk import BulkMove, do_move_bulk
from everymetre.claims.lifecycle import State
from everymetre.claims.models import Claim, Decision, Person
from everymetre.claims.schemas import DecisionIn
from everymetre.kernel.errors import DomainError, Forbidden, GuardFailed, NotFound
from everymetre.notifications.models import Notification
from everymetre.notifications.texts import render
from everymetre.payments import certificate_fund, ledger, payouts, reconcile, reservation_bulk, reservations
from everymetre.payments.certificate_models import CertificateReservation
from everymetre.payments.certificate_number import validate_certificate_number
from everymetre.payments.models import Certificate
from everymetre.store.tx import atomic
from everymetre.transparency.rd4u import records, schema
from tests.notifications.test_payment_notices import kinds
from tests.payments.store_helpers import decided_claim
from tests.payments.test_certificate_purchases import (
    DAY,
    DESTROYED,
    HOME,
    SELLER_IBAN,
    SELLER_RNOKPP,
    destroyed,
    filing,
)
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


def _events(db, cert_ids):
    rows = db.execute(select(AuditEvent.action, AuditEvent.payload).where(AuditEvent.chain.in_([f"certificate:{i}" for i in cert_ids]))
                      .order_by(AuditEvent.chain, AuditEvent.seq)).all()
    return [(a, json.loads(p) if isinstance(p, str) else p) for a, p in rows]


def test_many_decisions_issue_as_one_decision_does(db, users, principal):
    """`pay sync` (and a bulk decision) issue set-based what the decision's hook issues for one claim: one
    certificate per co-owner for their exact part, numbered, with its event and the claimant's notice; a
    claim under review gets none; a revision goes through the single path and replaces."""
    owners = [("Коваль Іван", 1, 3), ("Коваль Марія", 2, 3)]
    _one, single = destroyed(db, users, 300_000_000_01, owners, n=31)  # the hook, one claim
    many = [decided_claim(db, users["commission"], 300_000_000_01, kind=DESTROYED, owners=owners, submitted_by=users["citizen"])
            for _ in range(3)]
    held = decided_claim(db, users["commission"], 100_000_000, kind=DESTROYED, review_flag="possible_duplicate")
    report = ledger.do_sync_decisions(db, SYSTEM)
    assert report.certificates_issued == 6
    assert ledger.do_sync_decisions(db, SYSTEM).certificates_issued == 0  # idempotent
    db.expire_all()
    for claim in many:
        rows = db.scalars(select(Certificate).where(Certificate.claim_id == claim.id).order_by(Certificate.id)).all()
        assert [(r.value_kopiykas, r.state, r.holder_person_id) for r in rows] == [*[(10000000000, "issued", o.person_id) for o in sorted(claim.owners, key=lambda o: o.id)][:1], (20000000001, "issued", sorted(claim.owners, key=lambda o: o.id)[1].person_id)]
        assert all(validate_certificate_number(r.number) == r.number and r.decision_id for r in rows)
        assert [r.shares[0].amount_kopiykas for r in rows] == [100_000_000_00, 200_000_000_01]
        # the same event the single issue writes, field for field (but the claim's reference and the number)
        (a1, p1), = _events(db, [rows[0].id])
        (a0, p0), = _events(db, [single[0].id])
        assert a1 == a0 == "certificate.issued"
        assert p1.keys() == p0.keys() and p1["share"] == p0["share"] == "1/3" and p1["value_kopiykas"] == p0["value_kopiykas"]
        assert kinds(db, claim.id).count("certificate_issued") == 2
    numbers = db.scalars(select(Certificate.serial).order_by(Certificate.serial)).all()
    assert numbers == list(range(numbers[0], numbers[0] + 8))  # one sequence with the single path's
    assert db.scalar(select(func.count()).select_from(Certificate).where(Certificate.claim_id == held.id)) == 0
    # a revision through the set-based entry: the single path replaces, never a second live certificate
    with atomic(db):
        c = db.get(Claim, many[0].id)
        c.state, c.awarded_amount_kopiykas = "revised", 330_000_000_00
        db.add(Decision(claim_id=c.id, stage="appeal", outcome="revised", amount_kopiykas=330_000_000_00, reasons="appeal",
                        decided_by_id=users["commission2"], decided_at=c.decided_at))
        db.flush()
        got = ledger.post_certificates(db, [c.id, many[1].id], users["commission2"])
    assert len(got.issued_numbers) == 2 and len(got.revoked) == 2
    states = db.scalars(select(Certificate.state).where(Certificate.claim_id == many[0].id).order_by(Certificate.id)).all()
    assert states == ["revoked", "revoked", "issued", "issued"]
    assert ledger.ledger_violations(db) == []


def test_a_bulk_decision_issues_the_certificates(db, users, principal):
    # (under the award controls' second-approval amount, UAH 300,000: a bigger award is decided on its own)
    claims = [decided_claim(db, users["commission"], 25_000_000, kind=DESTROYED, state="assessed",
                            owners=[("Бондар Олег", 1, 2), ("Бондар Ірина", 1, 2)]) for _ in range(2)]
    db.execute(update(Claim).where(Claim.id.in_([c.id for c in claims])).values(decided_by_id=None, decided_at=None))
    db.commit()
    versions = dict(db.execute(select(Claim.id, Claim.version).where(Claim.id.in_([c.id for c in claims]))).all())
    do_move_bulk(db, principal("commission"), [BulkMove(c.id, State.APPROVED, versions[c.id], decision=DecisionIn(reasons="Так."))
                                                for c in claims])
    rows = db.execute(select(Certificate.claim_id, Certificate.value_kopiykas, Certificate.issued_by_id)
                      .order_by(Certificate.id)).all()
    assert rows == [(c.id, 12_500_000, users["commission"]) for c in claims for _ in range(2)]
    assert verify(db).problem is None


def _booked(db, users, n, value=50_000_000, owners=None):
    return destroyed(db, users, value, owners or [("Олена Бук", 1, 1)], n=n)[1]


def test_bulk_filing_keeps_every_rule_and_is_all_or_nothing(db, users, principal):
    notary = principal("notary")
    a, b, c, d = (_booked(db, users, 40 + i) for i in range(4))
    pair = _booked(db, users, 44, 80_000_000, [("Коваль Іван", 1, 2), ("Коваль Марія", 1, 2)])
    certificate_fund.do_record_fund(db, principal("payments"), 100_000_000, "BULK-1", DAY)
    # refusals, each naming its item; nothing is written
    bad = [
        (filing(db, b, 50_000_000, property_katottg=sorted(reservations.excluded_hromadas())[0]), "home_excluded"),
        (reservations.Filing((reservations.Buyer(b[0].number, SELLER_RNOKPP),), "П", SELLER_RNOKPP, SELLER_IBAN, **HOME,
                             price_kopiykas=50_000_000), "certificate_not_usable"),  # not the holder
        (filing(db, a, 50_000_000), "certificate_not_usable"),  # the same certificate in two items
    ]
    for f, code in bad:
        with pytest.raises(DomainError) as exc:
            reservation_bulk.do_file_reservations(db, notary, [filing(db, a, 50_000_000), f], DAY)
        assert exc.value.params["item"] == 2 and exc.value.detail.startswith("Item 2: ") and exc.value.code == code, exc.value
    with pytest.raises(Forbidden):
        reservation_bulk.do_file_reservations(db, principal("payments"), [filing(db, a, 50_000_000)], DAY)
    assert db.scalar(select(func.count()).select_from(CertificateReservation)) == 0
    assert {x.state for x in db.scalars(select(Certificate))} == {"issued"}
    # filed: a related-party sale goes to review; co-owners combine; the queue confirms in order while money lasts
    holder_c = db.get(Person, c[0].holder_person_id).rnokpp
    ids = reservation_bulk.do_file_reservations(db, notary, [
        filing(db, a, 60_000_000), filing(db, b, 50_000_000), filing(db, c, 50_000_000, seller_rnokpp=holder_c),
        filing(db, pair, 80_000_000), filing(db, d, 50_000_000)], DAY)
    db.expire_all()
    got = [db.get(CertificateReservation, i) for i in ids]
    assert [(r.state, r.buyer_part_kopiykas, r.related_party) for r in got] == [
        ("confirmed", 10_000_000, False), ("confirmed", 0, False), ("review", 0, True), ("queued", 0, False),
        ("queued", 0, False)]
    assert certificate_queries_position(db, got[3]) == (1, 0) and certificate_queries_position(db, got[4]) == (2, 80_000_000)
    # the events the single filing writes
    actions = db.execute(text("SELECT chain, action FROM audit_events WHERE chain LIKE 'reservation:%' ORDER BY id")).all()
    assert sorted(actions) == sorted((f"reservation:{i}", "reservation.filed") for i in ids)
    assert [a for a, _ in _events(db, [pair[0].id])] == ["certificate.issued", "certificate.reservation_filed"]
    assert [a for a, _ in _events(db, [a[0].id])] == ["certificate.issued", "certificate.reservation_filed",
                                                       "certificate.funds_reserved"]
    # the bulk steps: ownership ended and contracts, only on the notary's own confirmed filings
    step = reservation_bulk.Step
    with pytest.raises(GuardFailed) as exc:
        reservation_bulk.do_record_terminations(db, notary, [step(ids[0], "В-1", DAY), step(ids[3], "В-2", DAY)], DAY)
    assert exc.value.params["item"] == 2
    with pytest.raises(NotFound):
        reservation_bulk.do_record_terminations(db, principal("notary2"), [step(ids[0], "В-1", DAY)], DAY)
    with pytest.raises(GuardFailed):  # the contract before the end of ownership
        reservation_bulk.do_record_contracts(db, notary, [step(ids[0], "Д-1", DAY)], DAY)
    assert reservation_bulk.do_record_terminations(db, notary, [step(ids[0], "В-1", DAY), step(ids[1], "В-2", DAY)], DAY) == 2
    with pytest.raises(GuardFailed, match="lapsed"):
        reservation_bulk.do_record_contracts(db, notary, [step(ids[0], "Д-1", DAY + timedelta(days=40))], DAY + timedelta(days=40))
    assert reservation_bulk.do_record_contracts(db, notary, [step(ids[0], "Д-1", DAY), step(ids[1], "Д-2", DAY)], DAY) == 2
    db.expire_all()
    cert = db.get(Certificate, a[0].id)
    assert (cert.state, cert.contract_number, cert.contract_price_kopiykas, cert.seller_iban) == (
        "contract_signed", "Д-1", 50_000_000, SELLER_IBAN)
    assert db.get(CertificateReservation, ids[1]).state == "contract_signed"
    assert [a for a, _ in _events(db, [b[0].id])][-2:] == ["certificate.ownership_terminated", "certificate.contract_signed"]
    assert ledger.ledger_violations(db) == [] and verify(db).problem is None


def certificate_queries_position(db, res):
    return certificate_fund.queue_position(db, res)


def test_the_holder_is_told_of_a_revocation_and_of_a_replacement(db, users, principal):
    claim, certs = destroyed(db, users, 100_000_000, [("Олена Бук", 1, 1)], n=51)
    with atomic(db):  # revised on appeal: replaced
        c = db.get(Claim, claim.id)
        c.state, c.awarded_amount_kopiykas = "revised", 120_000_000
        db.add(Decision(claim_id=c.id, stage="appeal", outcome="revised", amount_kopiykas=120_000_000, reasons="appeal",
                        decided_by_id=users["commission2"], decided_at=c.decided_at))
        db.flush()
        ledger.post_decision(db, c, users["commission2"])
    assert kinds(db, claim.id) == ["certificate_issued", "certificate_replaced", "certificate_issued"]
    new = db.scalar(select(Certificate).where(Certificate.claim_id == claim.id, Certificate.state == "issued"))
    with atomic(db):  # overturned: revoked
        c = db.get(Claim, claim.id)
        c.state, c.awarded_amount_kopiykas = "rejected", None
        db.flush()
        ledger.post_decision(db, c, users["commission2"])
    assert kinds(db, claim.id)[-1] == "certificate_revoked"
    notes = {n.kind: n for n in db.scalars(select(Notification).where(Notification.claim_id == claim.id))}
    revoked, replaced = notes["certificate_revoked"], notes["certificate_replaced"]
    assert revoked.user_id == users["citizen"] and revoked.language == "uk"
    assert new.number in revoked.subject and "скасовано" in revoked.subject and claim.reference in revoked.body
    assert certs[0].number in replaced.subject and "новий сертифікат" in replaced.body
    en = render("certificate_revoked", "en", {"ref": claim.reference, "number": new.number})
    assert "overturned on appeal" in en.body and new.number in en.sms


def test_the_sweep_escalates_bookings_past_the_confirmation_target(db, users, principal, client, auth):
    notary = principal("notary")
    a = _booked(db, users, 61)
    b = _booked(db, users, 62)
    certificate_fund.do_record_fund(db, principal("payments"), 50_000_000, "ESC-1", DAY)
    first = reservations.do_file_reservation(db, notary, filing(db, a, 50_000_000), DAY)
    late = reservations.do_file_reservation(db, notary, filing(db, b, 50_000_000), DAY)
    assert (first.state, late.state) == ("confirmed", "queued")
    due = late.confirm_due
    assert payouts.do_sweep(db, SYSTEM, due).reservations_escalated == 0  # on its last day it is not late
    assert payouts.do_sweep(db, SYSTEM, due + timedelta(days=1)).reservations_escalated == 1
    assert payouts.do_sweep(db, SYSTEM, due + timedelta(days=2)).reservations_escalated == 0  # once
    db.expire_all()
    assert db.get(CertificateReservation, late.id).escalated_on == due + timedelta(days=1)
    assert db.get(CertificateReservation, first.id).escalated_on is None
    view = certificate_fund.fund_view(db, principal("payments"), due + timedelta(days=2))
    assert view["escalated"] == 1 and [e["reservation_id"] for e in view["escalations"]] == [late.id]
    assert view["escalations"][0]["notary"] == "notary@test.org" and view["queue"][0]["escalated_on"] == due + timedelta(days=1)
    # the notary is told, once, in their own inbox
    notes = db.scalars(select(Notification).where(Notification.kind == "reservation_escalated")).all()
    assert [(n.user_id, n.channel, n.claim_id) for n in notes] == [(users["notary"], "inbox", None)]
    assert str(late.id) in notes[0].subject and b[0].number in notes[0].body
    actions = db.execute(text("SELECT action FROM audit_events WHERE chain = :c ORDER BY seq"), {"c": f"reservation:{late.id}"}).scalars().all()
    assert actions == ["reservation.filed", "reservation.escalated"]
    # the payments officer sees it in the API (and on the fund page: tests/web); the notary on the reservation
    api = client.get("/api/v1/fund", headers=auth("payments")).json()
    assert api["escalated"] == 1 and api["escalations"][0]["reservation_id"] == late.id
    mine = client.get(f"/api/v1/reservations/{late.id}", headers=auth("notary")).json()
    assert mine["escalated_on"] == (due + timedelta(days=1)).isoformat()
    # money arrives: confirmed, it leaves the escalations
    certificate_fund.do_record_fund(db, principal("payments"), 50_000_000, "ESC-2", due + timedelta(days=3))
    assert certificate_fund.fund_view(db, principal("payments"))["escalated"] == 0


def test_expiry_in_a_booking_frees_the_partner_and_lapses_many_at_once(db, users, principal):
    notary = principal("notary")
    x, y = _booked(db, users, 81), _booked(db, users, 82)
    lone = _booked(db, users, 83)
    later = [_booked(db, users, 84 + i) for i in range(3)]
    certificate_fund.do_record_fund(db, principal("payments"), 300_000_000, "EXP-1", DAY)
    combined = reservations.do_file_reservation(db, notary, filing(db, x + y, 100_000_000), DAY)
    singles = [reservations.do_file_reservation(db, notary, filing(db, c, 50_000_000), DAY) for c in later]
    assert {r.state for r in [combined, *singles]} == {"confirmed"}
    # x was issued earlier than y: it expires while the booking is open; y goes back to its holder, funds returned
    with atomic(db):
        db.execute(update(Certificate).where(Certificate.id == x[0].id).values(expires_on=DAY + timedelta(days=10)))
        db.execute(update(Certificate).where(Certificate.id == lone[0].id).values(expires_on=DAY + timedelta(days=10)))
    r = payouts.do_sweep(db, SYSTEM, DAY + timedelta(days=11))
    assert (r.certificates_expired, r.reservations_lapsed) == (2, 0)
    db.expire_all()
    assert [db.get(Certificate, c[0].id).state for c in (x, y, lone)] == ["expired", "reservation_lapsed", "expired"]
    assert db.get(CertificateReservation, combined.id).state == "cancelled"
    assert certificate_fund.fund_balance(db) == 300_000_000 - 150_000_000
    # the three others lapse together after their 30 days, every certificate's money back
    r = payouts.do_sweep(db, SYSTEM, DAY + timedelta(days=31))
    assert (r.reservations_lapsed, r.released_kopiykas) == (3, 150_000_000)
    db.expire_all()
    assert {db.get(CertificateReservation, s.id).state for s in singles} == {"lapsed"}
    assert [a for a, _ in _events(db, [later[0][0].id])][-1] == "certificate.reservation_lapsed"
    assert kinds(db, later[0][0].claim_id)[-1] == "certificate_lapsed"
    assert certificate_fund.fund_balance(db) == 300_000_000
    assert ledger.ledger_violations(db) == [] and verify(db).problem is None
