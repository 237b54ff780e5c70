"""The repair-money pages in Chromium at 360 px under the real CSP, axe-clean: the owner's claim page with its
Payment panel (what to do next and by when, card spending counted or "not counted: ..."), the owner's interim
report form sent with a photo, the officer's check page returning it with a reason, and the owner seeing why."""

from __future__ import annotations

import pytest

from everymetre.accounts.actions import SYSTEM
from everymetre.payments import card_transactions, reconcile
from everymetre.payments.models import Payment
from tests.payments.store_helpers import decided_claim, photo
from tests.payments.test_store_batches import run_batch, statement
from tests.web.browser.test_journeys import main_text, sign_in

pytestmark = pytest.mark.browser


def test_repair_pages_accessible_at_360px(open_page, db, users, principal, tmp_path):
    from sqlalchemy import select

    claim = decided_claim(db, users["commission"], 30_000_000, submitted_by=users["citizen"])  # tier B
    run_batch(db, principal("payments"), tmp_path / "b.xml")
    reconcile.do_reconcile(db, SYSTEM, statement(tmp_path / "b.xml"))
    e2e = db.scalar(select(Payment.end_to_end_id).where(Payment.claim_id == claim.id))
    card_transactions.do_import_card_transactions(db, SYSTEM, (
        "transaction_id,account,date,amount,mcc,merchant\n"
        f"B1,{e2e},2026-02-10,15000.00,5211,Епіцентр\nB2,{e2e},2026-02-11,300.00,5812,Кав'ярня\n").encode())
    ref = claim.reference

    citizen = open_page()
    sign_in(citizen, "citizen")
    citizen.page.wait_for_url("**/my")
    citizen.goto(f"/my/claims/{ref}")
    citizen.check()
    text = main_text(citizen)
    assert "проміжний звіт" in text and "не зараховано" in text and "5812" in text
    citizen.page.get_by_role("link", name="Надіслати проміжний звіт").click()
    citizen.page.wait_for_url(f"**/my/claims/{ref}/repair-report")
    citizen.check()
    path = tmp_path / "works.jpg"
    path.write_bytes(photo().data)
    citizen.page.get_by_label("Фото робіт і чеки").set_input_files(str(path))
    citizen.page.get_by_label("Що зроблено").fill("Замінено вікна")
    citizen.page.get_by_role("button", name="Надіслати звіт").click()
    citizen.page.get_by_text("Ваш звіт про ремонт надіслано").wait_for()  # sent by XHR with a progress bar
    citizen.check("report sent")
    assert "перевіряється" in main_text(citizen)

    officer = open_page()
    sign_in(officer, "officer")
    officer.page.get_by_role("link", name="Звіти про ремонт").click()  # the menu: reports waiting for a check
    officer.page.wait_for_url("**/staff/repair-reports")
    officer.check()
    officer.page.get_by_role("link", name=ref).click()
    officer.page.wait_for_url(f"**/staff/claims/{ref}/repair-reports")
    officer.check()
    officer.page.get_by_label("Повернути власникові").check()
    officer.page.get_by_label("Чому повернуто").fill("Немає фото даху")
    officer.page.get_by_role("button", name="Зберегти рішення").click()
    officer.page.wait_for_url("**?done=returned")
    officer.check("returned")

    citizen.goto(f"/my/claims/{ref}")
    citizen.check("returned")
    assert "Немає фото даху" in main_text(citizen)
