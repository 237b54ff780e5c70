"""The payments officer's whole day in Chromium at 360 px, each new page passing axe under the real CSP: build,
another officer approves, download the pain.001 file, mark it sent, upload the bank's camt.053 (one payment
booked, one returned AC04, one entry that is not ours), read the result, the exceptions queue, dismiss the
unknown entry, and cancel the next batch with a reason."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit

import pytest

from everymetre.payments import batches
from everymetre.payments.camt053 import EntryStatus, StatementEntry, build_camt053
from everymetre.payments.iso20022 import read_pain001, validate_pain001
from tests.conftest import PASSWORD
from tests.payments.store_helpers import decided_claim, ensure_user
from tests.web.browser.test_journeys import main_text, sign_in

pytestmark = pytest.mark.browser


def test_payments_officers_day_at_360px(open_page, db, users, tmp_path):
    a = decided_claim(db, users["commission"], 10_000_000)
    b = decided_claim(db, users["commission"], 7_000_000)
    officer = open_page()
    sign_in(officer, "payments")
    officer.page.wait_for_url("**/staff/queue")
    officer.goto("/staff/payments")
    officer.page.get_by_role("button", name="Сформувати партію").click()
    officer.page.wait_for_url("**/staff/payments/*?done=built")
    batch_path = urlsplit(officer.page.url).path
    officer.check("built, with the cancel form")

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

    officer.goto(batch_path)
    officer.check("approved: the file section")
    with officer.page.expect_download() as dl:
        officer.page.get_by_role("button", name="Завантажити файл для банку").click()
    xml = (tmp_path / "batch.xml")
    dl.value.save_as(xml)
    validate_pain001(xml.read_bytes())
    officer.goto(batch_path)
    officer.page.get_by_role("button", name="Позначити як надіслану до банку").click()
    officer.page.wait_for_url("**?done=sent")
    officer.check("sent")
    assert "Скасувати партію" not in main_text(officer)

    t = {x.amount_kopiykas: x for x in read_pain001(xml.read_bytes())}
    statement = tmp_path / "statement.xml"
    statement.write_bytes(build_camt053([
        StatementEntry(t[10_000_000].end_to_end_id, 10_000_000, EntryStatus.BOOKED, date(2026, 2, 2)),
        StatementEntry(t[7_000_000].end_to_end_id, 7_000_000, EntryStatus.REJECTED, date(2026, 2, 2), credit_debit="CRDT",
                       reason_code="AC04"),
        StatementEntry("EMP-NOT-OURS", 1_500, EntryStatus.BOOKED, date(2026, 2, 2))], account_iban=batches.debtor_account().iban))
    officer.page.get_by_role("link", name="Завантажити виписку банку").click()
    officer.page.wait_for_url("**/staff/payments/statements")
    officer.check()
    officer.page.get_by_label("Файл виписки (XML)").set_input_files(str(statement))
    officer.page.get_by_role("button", name="Завантажити виписку").click()
    officer.page.wait_for_url("**/staff/payments/statements/*?done=uploaded")
    officer.check()
    text = main_text(officer)
    assert "Рахунок закрито" in text and b.reference in text and a.reference in text and "EMP-NOT-OURS" in text
    statement_path = urlsplit(officer.page.url).path

    officer.goto("/staff/payments/exceptions")
    officer.check()
    text = main_text(officer)
    assert "Платежі, які повернув банк" in text and "Виправити рахунок отримувача" in text
    assert officer.page.get_by_role("link", name="Виправити рахунок отримувача").get_attribute("href") == f"/staff/claims/{b.reference}/payout-account"
    officer.page.get_by_role("link", name="Зіставити з платежем або відхилити").click()
    officer.page.wait_for_url(f"**{statement_path}#entry-*")
    officer.page.get_by_label("Або відхиліть, пояснивши чому").fill("Комісія банку")
    officer.page.get_by_role("button", name="Відхилити запис").click()
    officer.page.wait_for_url("**?done=dismissed*")
    officer.check("entry dismissed")
    officer.goto("/staff/payments/exceptions")
    assert "Зіставити з платежем або відхилити" not in main_text(officer)

    # the returned claim is payable again once its owner gives a new account: the next batch, cancelled with a reason
    from everymetre.accounts.actions import load_principal
    from everymetre.claims.payout_accounts import do_set_payout_account
    from everymetre.kernel.iban import make_ua_iban

    do_set_payout_account(db, load_principal(db, users["officer"]), b.reference, make_ua_iban("305299", 4_400_000),
                          "305299", reason="Рахунок закрито: новий рахунок від власника")
    officer.goto("/staff/payments")
    officer.page.get_by_role("button", name="Сформувати партію").click()
    officer.page.wait_for_url("**/staff/payments/*?done=built")
    officer.page.get_by_role("button", name="Скасувати партію").click()  # no reason: the form says so
    officer.page.wait_for_load_state()
    assert "Скажіть, чому партію скасовано" in main_text(officer) or officer.page.url.endswith("?done=built")
    officer.page.get_by_label("Чому партію скасовано").fill("Спершу виправити рахунок отримувача")
    officer.page.get_by_role("button", name="Скасувати партію").click()
    officer.page.wait_for_url("**?done=cancelled")
    officer.check("cancelled")
