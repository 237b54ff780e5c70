"""Payments pages through HTTP: the payments officer's batches (build, approve, segregation, second approval)
and the claimant's Payment panel (payout status, housing certificate; own claims only)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import update

from everymetre.accounts.actions import SYSTEM
from everymetre.accounts.models import User
from everymetre.payments import certificates, reconcile
from tests.conftest import PASSWORD
from tests.payments.store_helpers import approval_limit, decided_claim, ensure_user  # noqa: F401  (fixture)
from tests.payments.test_store_batches import run_batch, statement

NBSP = "\u00a0"


def uah(text: str) -> str:
    return text.replace(" ", NBSP) + " грн"


def second_payments_officer(web, db):
    uid = ensure_user(db, "payments2@test.org", "payments", ["kharkivska", "kyivska"])
    b = web()
    r = b.post("/signin", {"email": "payments2@test.org", "password": PASSWORD})
    assert r.status_code == 303, r.text
    return uid, b


def build(officer) -> str:
    r = officer.post("/staff/payments/build", {}, token_from="/staff/payments")
    assert r.status_code == 303, r.text
    return r.headers["location"]


def test_officer_builds_and_another_approves_a_batch(web, db, users):
    claim = decided_claim(db, users["commission"], 10_000_000)
    officer = web("payments")
    page = officer.get("/staff/payments").text
    assert 'href="/staff/payments" aria-current="page"' in page and "Сформувати партію" in page
    location = build(officer)
    assert location.startswith("/staff/payments/") and "done=built" in location
    batch_id = int(location.split("/")[-1].split("?")[0])
    # the builder may not approve their own batch, at any amount (segregation of duties)
    page = officer.get(location).text
    assert "Ви сформували цю партію." in page and "Затвердити партію" not in page
    own = officer.post(f"/staff/payments/{batch_id}/approve", {"expected_total_kopiykas": "10000000"}, token_from=location)
    assert own.status_code == 409 and "Ви сформували цю партію." in own.text
    _, second = second_payments_officer(web, db)
    page = second.get(location).text
    assert f'href="/staff/claims/{claim.reference}"' in page and "Шевченко Олена Петрівна" in page
    assert uah("100 000,00") in page and "UA" in page and "****" in page  # the IBAN is masked
    assert "payments@test.org" in page and "Затвердити партію" in page
    listing = second.get("/staff/payments").text
    assert f'href="/staff/payments/{batch_id}"' in listing and uah("100 000,00") in listing
    assert "Сформована, чекає на затвердження" in listing

    # approving a total other than the one on the page is refused, saying why
    stale = second.post(f"/staff/payments/{batch_id}/approve", {"expected_total_kopiykas": "1"},
                        token_from=f"/staff/payments/{batch_id}")
    assert stale.status_code == 409 and "Партія змінилася" in stale.text
    r = second.post(f"/staff/payments/{batch_id}/approve", {"expected_total_kopiykas": "10000000"},
                    token_from=f"/staff/payments/{batch_id}")
    assert r.status_code == 303 and r.headers["location"].endswith("done=approved")
    page = second.get(r.headers["location"]).text
    assert "Партію затверджено" in page and "Затвердити партію" not in page
    # the approved batch stays this officer's open batch until it is sent: building again leads back to it
    assert build(officer) == f"/staff/payments/{batch_id}?done=resumed"
    # without CSRF token the form is refused
    assert officer.client.post(f"/staff/payments/{batch_id}/approve", data={}).status_code == 403


def test_decider_sees_why_they_cannot_approve(web, db, users):
    pay2, second = second_payments_officer(web, db)
    mine = decided_claim(db, pay2)  # decided by the second payments user (a role change, say)
    decided_claim(db, users["commission"])
    location = build(web("payments"))
    page = second.get(location).text
    assert "Ви не можете затвердити цю партію." in page and mine.reference in page
    assert "розподіл обов’язків" in page and "Затвердити партію" not in page
    batch_id = location.split("/")[-1].split("?")[0]
    r = second.post(f"/staff/payments/{batch_id}/approve", {"expected_total_kopiykas": "20000000"},
                    token_from=location)
    assert r.status_code == 409 and mine.reference in r.text
    # an auditor sees the batch but is told only payments officers approve
    page = web("auditor").get(location).text
    assert "Затверджують партії лише працівники з виплат." in page


def test_second_approver_needed_above_threshold(web, db, users, approval_limit):  # noqa: F811
    approval_limit(15000000)
    decided_claim(db, users["commission"], 10_000_000)
    decided_claim(db, users["commission"], 10_000_000)
    officer = web("payments")
    location = build(officer)
    batch_id = location.split("/")[-1].split("?")[0]
    page = officer.get(location).text
    assert "двоє різних працівників з виплат" in page
    r = officer.post(f"/staff/payments/{batch_id}/approve", {"expected_total_kopiykas": "20000000"}, token_from=location)
    assert r.status_code == 303 and r.headers["location"].endswith("done=first_approval")
    page = officer.get(r.headers["location"]).text
    assert "Ваше затвердження записано" in page and "Перше затвердження: payments@test.org" in page
    assert "Ви вже затвердили цю партію" in page and "Затвердити партію" not in page
    again = officer.post(f"/staff/payments/{batch_id}/approve", {"expected_total_kopiykas": "20000000"},
                         token_from=location)
    assert again.status_code == 409 and "Ви вже затвердили цю партію" in again.text
    _, second = second_payments_officer(web, db)
    page = second.get(location).text
    assert "Затвердити партію" in page
    r = second.post(f"/staff/payments/{batch_id}/approve", {"expected_total_kopiykas": "20000000"}, token_from=location)
    assert r.status_code == 303 and r.headers["location"].endswith("done=approved")
    page = second.get(f"/staff/payments/{batch_id}").text
    assert "payments@test.org, payments2@test.org" in page


def test_claimant_sees_repair_payout(web, db, users, principal, tmp_path):
    claim = decided_claim(db, users["commission"], 10_000_000, submitted_by=users["citizen"])
    citizen = web("citizen")
    page = citizen.get(f"/my/claims/{claim.reference}").text
    assert 'id="payment-h"' in page and "наступною партією виплат" in page
    run_batch(db, principal("payments"), tmp_path / "b.xml")
    page = citizen.get(f"/my/claims/{claim.reference}").text
    assert "надіслано до банку" in page
    reconcile.do_reconcile(db, SYSTEM, statement(tmp_path / "b.xml", booking=date(2026, 2, 2)))
    page = citizen.get(f"/my/claims/{claim.reference}").text
    assert "зараховано на ваш рахунок єВідновлення 2 лютого 2026" in page
    assert "2 лютого 2027" in page  # tier A: 12 months to spend
    assert "остаточний звіт" in page
    citizen.get("/lang/en?next=/")
    page = citizen.get(f"/my/claims/{claim.reference}").text
    assert "was transferred to your eRecovery account on 2 February 2026" in page and "2 February 2027" in page
    # someone else's claim: not found, as for any claim
    assert web("citizen2").get(f"/my/claims/{claim.reference}").status_code == 404


def test_claimant_sees_housing_certificate(web, db, users, principal):
    claim = decided_claim(db, users["commission"], 150_000_000, kind="destroyed_housing_application",
                          submitted_by=users["citizen"], owners=[("Коваль Іван", 1, 2), ("Коваль Марія", 1, 2)])
    # the citizen is the first owner
    db.execute(update(User).where(User.id == users["citizen"]).values(person_id=claim.owners[0].person_id))
    db.commit()
    citizen = web("citizen")
    assert "сертифікат готується" in citizen.get(f"/my/claims/{claim.reference}").text
    certs = certificates.do_issue_certificate(db, principal("payments"), claim.reference, today=date(2026, 1, 10))
    cert = next(c for c in certs if c.holder_person_id == claim.owners[0].person_id)  # one per co-owner: the citizen's
    from everymetre.payments.certificate_fund import do_record_fund

    do_record_fund(db, principal("payments"), 150_000_000, "P-1", date(2026, 1, 12))
    certificates.do_reserve_funds(db, principal("payments"), cert.number, date(2026, 1, 12))
    page = citizen.get(f"/my/claims/{claim.reference}").text
    assert cert.number in page and "контрольна цифра" in page
    assert uah("750 000,00") + " (1/2)" in page  # the citizen's certificate: C x their share
    assert "Кошти зарезервовано" in page and "10 січня 2031" in page  # valid for 5 years
    assert "11 лютого 2026" in page  # the reservation deadline: 30 days
    assert web("citizen2").get(f"/my/claims/{claim.reference}").status_code == 404


def test_claimant_cannot_reach_staff_payments(web, db, users):
    citizen = web("citizen")
    assert citizen.get("/staff/payments").status_code == 403
    assert citizen.post("/staff/payments/build", {}, token_from="/my").status_code == 403
    signed_out = web().get("/staff/payments", follow_redirects=False)  # signed out: to the sign-in page
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/signin")
    assert web("officer").get("/staff/payments").status_code == 403  # staff, but not payments
    officer = web("payments")
    assert officer.get("/staff/payments/999999").status_code == 404
    # nothing to pay: building says so, and nothing is built
    assert build(officer) == "/staff/payments?done=nothing"
    page = officer.get("/staff/payments?done=nothing").text
    assert "Зараз вам нічого виплачувати" in page and "Партій ще немає." in page


def test_build_says_what_was_held_back(web, db, users):
    decided_claim(db, users["commission"], review_flag="fraud")
    decided_claim(db, users["payments"])  # decided by this payments officer: segregation
    location = build(web("payments"))
    assert location == "/staff/payments?done=nothing&held=segregation%3A1%2Creview%3A1"
    page = web("payments").get(location).text
    assert "1 з невирішеним сигналом перевірки" in page and "1, рішення щодо яких ухвалили ви" in page


def test_other_oblasts_batches_are_not_shown(web, db, users):
    """Issue 11: a payments officer of Kharkiv oblast sees neither the list entry nor the payees of a Kyiv batch."""
    decided_claim(db, users["commission"], 10_000_000, oblast="kyivska", owners=[("Бондар Ганна", 1, 1)])
    _, kyiv = second_payments_officer(web, db)  # covers Kharkiv and Kyiv oblasts
    location = build(kyiv)
    batch_id = location.split("/")[-1].split("?")[0]
    assert "Бондар Ганна" in kyiv.get(location).text
    kharkiv = web("payments")
    assert f'href="/staff/payments/{batch_id}"' not in kharkiv.get("/staff/payments").text
    page = kharkiv.get(f"/staff/payments/{batch_id}")
    assert page.status_code == 403 and "Бондар" not in page.text
    assert web("auditor").get(f"/staff/payments/{batch_id}").status_code == 200
