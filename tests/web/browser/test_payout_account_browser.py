"""The payout account pages in Chromium at 360 px with axe: a claimant whose payment the bank returned sees
what happened and gives a new account (a wrong one is refused in Ukrainian first); the officer's form too."""

from __future__ import annotations

import pytest

from everymetre.accounts.actions import SYSTEM
from everymetre.kernel.iban import make_ua_iban
from everymetre.payments import reconcile
from everymetre.payments.models import Payment
from tests.payments.store_helpers import decided_claim
from tests.payments.test_store_batches import run_batch, statement
from tests.web.browser.test_journeys import main_text, sign_in

pytestmark = pytest.mark.browser


def test_returned_payment_new_account_at_360px(open_page, db, users, principal, tmp_path):
    from sqlalchemy import select

    claim = decided_claim(db, users["commission"], 10_000_000, submitted_by=users["citizen"])
    _, batch = run_batch(db, principal("payments"), tmp_path / "b.xml")
    pay = db.scalar(select(Payment).where(Payment.batch_id == batch.id))
    reconcile.do_reconcile(db, SYSTEM, statement(tmp_path / "b.xml", rejected={pay.end_to_end_id}))

    citizen = open_page()
    sign_in(citizen, "citizen")
    citizen.page.wait_for_url("**/my")
    citizen.goto(f"/my/claims/{claim.reference}")
    citizen.check()
    text = main_text(citizen)
    assert "Банк повернув платіж" in text and "рахунок закрито" in text and pay.creditor_iban not in text
    citizen.page.get_by_role("link", name="Вказати новий рахунок").click()
    citizen.page.wait_for_url("**/payout-account")
    citizen.check()
    assert "Що робити" in main_text(citizen) and f"{pay.creditor_iban[:4]} **** **** {pay.creditor_iban[-4:]}" in main_text(citizen)
    citizen.page.get_by_label("Банк", exact=True).select_option("300465")
    citizen.page.get_by_label("Номер рахунку (IBAN)").fill(make_ua_iban("305299", 99))
    citizen.page.get_by_role("button", name="Зберегти рахунок").click()
    citizen.page.wait_for_load_state()
    citizen.check("refused")
    assert "належить іншому банку" in main_text(citizen)
    citizen.page.get_by_label("Номер рахунку (IBAN)").fill(make_ua_iban("300465", 99))
    citizen.page.get_by_role("button", name="Зберегти рахунок").click()
    citizen.page.wait_for_url("**done=account")
    citizen.check("saved")
    assert "Рахунок збережено" in main_text(citizen)

    officer = open_page()
    sign_in(officer, "officer")
    officer.goto(f"/staff/claims/{claim.reference}/payout-account")
    officer.check()
    assert "Рахунок для виплати" in main_text(officer)
