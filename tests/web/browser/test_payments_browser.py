"""The payments pages in Chromium: the batch list, a batch (built, then approved) and a claim page with its
Payment panel each pass axe-core, fit 360 px and run under the real CSP."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit

import pytest

from everymetre.payments import certificate_fund, certificates
from tests.conftest import PASSWORD
from tests.payments.store_helpers import decided_claim, ensure_user
from tests.web.browser.test_journeys import main_text, sign_in

pytestmark = pytest.mark.browser


def test_payments_pages_accessible_at_360px(open_page, db, users, principal):
    repair = decided_claim(db, users["commission"], 10_000_000, submitted_by=users["citizen"])
    destroyed = decided_claim(db, users["commission"], 150_000_000, kind="destroyed_housing_application",
                              submitted_by=users["citizen"], owners=[("Коваль Іван", 1, 2), ("Коваль Марія", 1, 2)])
    cert = certificates.do_issue_certificate(db, principal("payments"), destroyed.reference, today=date(2026, 1, 10))[0]
    certificate_fund.do_record_fund(db, principal("payments"), cert.value_kopiykas, "B-1", date(2026, 1, 12))
    certificates.do_reserve_funds(db, principal("payments"), cert.number, date(2026, 1, 12))

    officer = open_page()
    sign_in(officer, "payments")
    officer.goto("/staff/payments")
    officer.check()
    officer.page.get_by_role("button", name="Сформувати партію").click()
    officer.page.wait_for_url("**/staff/payments/*?done=built")
    officer.check()
    assert repair.reference in main_text(officer) and "100 000,00 грн" in main_text(officer)
    batch_path = urlsplit(officer.page.url).path
    # another payments officer approves it: the builder never does
    ensure_user(db, "payments2@test.org", "payments", ["kharkivska", "kyivska"])
    approver = open_page()
    approver.goto("/signin")
    approver.page.get_by_label("Електронна пошта").fill("payments2@test.org")
    approver.page.get_by_label("Пароль").fill(PASSWORD)
    approver.page.get_by_role("button", name="Увійти").click()
    approver.page.wait_for_url("**/staff/queue")
    approver.goto(batch_path)
    approver.page.get_by_role("button", name="Затвердити партію").click()
    approver.page.wait_for_url("**?done=approved")
    approver.check("approved")
    approver.goto("/staff/payments")
    approver.check("with a batch")

    citizen = open_page()
    sign_in(citizen, "citizen")
    citizen.page.wait_for_url("**/my")
    citizen.goto(f"/my/claims/{destroyed.reference}")
    citizen.check()
    assert cert.number in main_text(citizen) and "750 000,00 грн" in main_text(citizen)
    citizen.goto(f"/my/claims/{repair.reference}")
    citizen.check()
    assert "Виплата" in main_text(citizen)
