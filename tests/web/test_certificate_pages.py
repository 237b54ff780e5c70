"""Certificate pages without a browser: the holder's PDF (with its QR code's link), the public check's answers
(the same words for a wrong date of birth as for an unknown number; 429 with Retry-After past the limit), and
the pages' refusals."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update

from everymetre.accounts.models import User
from everymetre.claims.models import Person
from everymetre.payments import certificate_pdf, ledger
from everymetre.payments.models import Certificate
from everymetre.store.tx import atomic
from tests.payments.store_helpers import decided_claim


def issued(db, users):
    claim = decided_claim(db, users["commission"], 200_000_000, kind="destroyed_housing_application",
                          submitted_by=users["citizen"], owners=[("Коваль Іван", 1, 2), ("Коваль Марія", 1, 2)])
    with atomic(db):
        for o in claim.owners:
            o.person.birth_date = date(1962, 2, 3)
        ledger.post_decision(db, claim, users["commission"])
    db.execute(update(User).where(User.id == users["citizen"]).values(person_id=claim.owners[0].person_id))
    db.commit()
    cert = db.scalar(select(Certificate).where(Certificate.holder_person_id == claim.owners[0].person_id))
    return claim, cert


def test_holder_downloads_the_pdf_and_sees_what_next(web, db, users):
    claim, cert = issued(db, users)
    citizen = web("citizen")
    page = citizen.get(f"/my/claims/{claim.reference}").text
    assert cert.number in page and f"/my/certificates/{cert.number}.pdf" in page and "нотаріуса" in page
    r = citizen.get(f"/my/certificates/{cert.number}.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF")
    assert web("citizen2").get(f"/my/certificates/{cert.number}.pdf").status_code == 404
    assert web("notary").get(f"/my/certificates/{cert.number}.pdf").status_code == 404
    assert certificate_pdf.check_url("https://e.gov.ua/", cert.number).endswith(f"/public/certificate-check?number={cert.number}")


def test_public_check_page_answers_alike_for_wrong_birth_date(web, db, users):
    _claim, cert = issued(db, users)
    born = db.get(Person, cert.holder_person_id).birth_date
    anon = web()
    ok = anon.post("/public/certificate-check", {"number": cert.number, "birth_date": born.isoformat()},
                   token_from="/public/certificate-check")
    assert ok.status_code == 200 and "Дійсний" in ok.text and "1 000 000,00" in ok.text.replace("\u00a0", " ")
    wrong = anon.post("/public/certificate-check", {"number": cert.number, "birth_date": "1990-01-01"},
                      token_from="/public/certificate-check")
    unknown = anon.post("/public/certificate-check", {"number": "HC-2026-0000009-9", "birth_date": born.isoformat()},
                        token_from="/public/certificate-check")
    for r in (wrong, unknown):
        assert r.status_code == 200 and "Немає сертифіката з таким номером" in r.text and "Дійсний" not in r.text
        assert "Коваль" not in r.text and "1 000 000" not in r.text.replace("\u00a0", " ")


def test_notary_and_fund_pages_refuse_others(web, db, users):
    assert web("citizen").get("/notary").status_code == 403
    assert web("officer").get("/notary").status_code == 403
    assert web("notary").get("/staff/certificates/fund").status_code == 403
    assert web("officer").get("/staff/certificates/fund").status_code == 403  # fund.read: payments, auditor, admin
    assert web("payments").get("/staff/certificates/fund").status_code == 200
    assert web("auditor").post("/staff/certificates/fund/allocations", {"amount": "1", "reference": "X"},
                               token_from="/staff/certificates/fund").status_code == 403


def test_escalated_bookings_show_on_the_fund_page_and_to_the_notary(web, db, users, principal):
    from datetime import timedelta

    from everymetre.accounts.actions import SYSTEM
    from everymetre.payments import payouts, reservations
    from tests.payments.test_certificate_purchases import DAY, destroyed, filing

    _, certs = destroyed(db, users, 50_000_000, [("Олена Бук", 1, 1)], n=71)
    res = reservations.do_file_reservation(db, principal("notary"), filing(db, certs, 50_000_000), DAY)
    page = web("payments").get("/staff/certificates/fund").text
    assert f"№ {res.id}" not in page  # waiting, not yet past its target
    payouts.do_sweep(db, SYSTEM, res.confirm_due + timedelta(days=1))
    page = web("payments").get("/staff/certificates/fund").text
    assert "Передано вище: не підтверджено за 5 робочих днів" in page and f"№ {res.id}" in page and "notary@test.org" in page
    mine = web("notary").get(f"/notary/reservations/{res.id}").text
    assert "Передано службі виплат" in mine
