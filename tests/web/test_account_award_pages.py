"""The payout account and award pages: the claimant's and the officer's account forms (masked, Ukrainian,
the refusals by their code), the second commission member's approval form, the batch page's flag."""

from __future__ import annotations

import json

from sqlalchemy import select

from everymetre.claims.models import Claim
from everymetre.payments import batches
from tests.payments.store_helpers import decided_claim
from tests.store.test_award_controls import assessed


def test_staff_pages_propose_and_approve(web, client, auth, db):
    c = assessed(client, auth)
    ref = c["reference"]
    member = web("commission")
    form = {"to": "approved", "expected_version": c["version"], "decision_reasons": "Пошкодження підтверджено",
            "amount": "500000"}
    r = member.post(f"/staff/claims/{ref}/move", form, token_from=f"/staff/claims/{ref}")
    assert r.status_code == 400 and "Причина іншої суми" in r.text  # the reason is asked for, in Ukrainian
    r = member.post(f"/staff/claims/{ref}/move", {**form, "decision_amount_reason": "Повна відбудова"},
                    token_from=f"/staff/claims/{ref}")
    assert r.status_code == 303 and r.headers["location"].endswith("done=award_pending")
    page = member.get(f"/staff/claims/{ref}").text
    assert "Сума, що чекає на друге погодження" in page and "більше за граничну суму категорії" in page
    assert 'action="/staff/claims/' + ref + '/award-approval"' not in page  # the proposer gets no form
    r = member.post(f"/staff/claims/{ref}/award-approval", {"award": "approve", "approval_reason": "так"},
                    token_from=f"/staff/claims/{ref}")
    assert r.status_code == 409 and "інший член комісії" in r.text
    second = web("commission2")
    page = second.get(f"/staff/claims/{ref}").text
    assert f'action="/staff/claims/{ref}/award-approval"' in page
    r = second.post(f"/staff/claims/{ref}/award-approval", {"award": "approve", "approval_reason": ""},
                    token_from=f"/staff/claims/{ref}")
    assert r.status_code == 400 and "Вкажіть причину." in r.text
    r = second.post(f"/staff/claims/{ref}/award-approval", {"award": "approve", "approval_reason": "Перевірено"},
                    token_from=f"/staff/claims/{ref}")
    assert r.status_code == 303
    db.expire_all()
    claim = db.get(Claim, int(ref.rsplit("-", 1)[1]))
    assert claim.state == "approved" and claim.awarded_amount_kopiykas == 50_000_000


def test_batch_page_shows_the_flag(web, db, users):
    odd = decided_claim(db, users["commission"], 999_999_900)
    odd = db.get(Claim, odd.id)
    odd.assessed_amount_kopiykas = 240_000
    db.commit()
    from everymetre.accounts.actions import load_principal

    batch = batches.do_build_batch(db, load_principal(db, users["payments"])).batch
    page = web("payments").get(f"/staff/payments/{batch.id}").text
    assert "Відрізняється від розрахованої суми: 2\u00a0400,00 грн" in page
    assert "відрізняється від розрахованої за правилами" in page


# ------------------------------------------------------------------------------------------------ payout account pages


def _returned(db, users, principal, tmp_path):
    from everymetre.accounts.actions import SYSTEM
    from everymetre.payments import reconcile
    from everymetre.payments.models import Payment
    from tests.payments.test_store_batches import run_batch, statement

    claim = decided_claim(db, users["commission"], 10_000_000, submitted_by=users["citizen"])
    _, batch = run_batch(db, principal("payments"), tmp_path / "b.xml")
    pay = db.scalar(select(Payment).where(Payment.batch_id == batch.id))
    reconcile.do_reconcile(db, SYSTEM, statement(tmp_path / "b.xml", rejected={pay.end_to_end_id}))
    return claim, pay


def test_claimant_sees_the_returned_payment_and_gives_a_new_account(web, db, users, principal, tmp_path):
    from everymetre.audit.models import AuditEvent
    from everymetre.kernel.iban import make_ua_iban, mask_iban

    claim, pay = _returned(db, users, principal, tmp_path)
    ref = claim.reference
    b = web("citizen")
    page = b.get(f"/my/claims/{ref}").text
    assert "Банк повернув платіж" in page and "рахунок закрито" in page and "Вказати новий рахунок" in page
    assert pay.creditor_iban not in page
    form = b.get(f"/my/claims/{ref}/payout-account").text
    assert mask_iban(pay.creditor_iban) in form and pay.creditor_iban not in form and "Що робити" in form
    new = make_ua_iban("300465", 4242)
    url = f"/my/claims/{ref}/payout-account"
    r = b.post(url, {"bank_code": "305299", "iban": new}, token_from=url)
    assert r.status_code == 400 and "належить іншому банку" in r.text and new in r.text  # kept for correcting
    r = b.post(url, {"bank_code": "300528", "iban": make_ua_iban("300528", 1)}, token_from=url)
    assert r.status_code == 400 and "не бере участі" in r.text
    r = b.post(url, {"bank_code": "300465", "iban": "UA00 1234"}, token_from=url)
    assert r.status_code == 400 and "Це не правильний український IBAN" in r.text
    r = b.post(url, {"bank_code": "", "iban": ""}, token_from=url)
    assert r.status_code == 400 and "Оберіть банк." in r.text
    r = b.post(url, {"bank_code": "300465", "iban": new.lower()[:10] + " " + new[10:]}, token_from=url)
    assert r.status_code == 303 and r.headers["location"] == f"/my/claims/{ref}?done=account"
    page = b.get(f"/my/claims/{ref}?done=account").text
    assert "Рахунок збережено" in page and "Вказати новий рахунок" not in page  # the trail keeps what happened
    assert "Змінено рахунок для виплати" in page and "Банк повернув платіж: потрібен новий рахунок" in page
    assert web("citizen2").get(url).status_code == 404
    db.rollback()  # a fresh read of what the pages wrote
    event = json.loads(db.scalar(select(AuditEvent.payload).where(AuditEvent.action == "claim.payout_account_set")))
    assert event["before"]["state"] == "returned" and event["after"]["iban_masked"] == mask_iban(new)


def test_officer_corrects_the_account_read_only_staff_may_not(web, db, users, principal, tmp_path):
    from everymetre.kernel.iban import make_ua_iban

    claim, _pay = _returned(db, users, principal, tmp_path)
    ref = claim.reference
    url = f"/staff/claims/{ref}/payout-account"
    page = web("officer").get(f"/staff/claims/{ref}").text
    assert "Банк повернув платіж: потрібен новий рахунок." in page and f'href="{url}"' in page
    body = {"bank_code": "322001", "iban": make_ua_iban("322001", 7)}
    r = web("auditor").post(url, body, token_from=url)
    assert r.status_code == 403
    r = web("officer").post(url, {**body, "reason": "клієнт приніс довідку банку"}, token_from=url)
    assert r.status_code == 303 and r.headers["location"].endswith("?done=account")
    assert "Рахунок для виплати збережено." in web("officer").get(r.headers["location"]).text


def test_the_web_form_asks_for_the_account(web, db):
    from datetime import date

    from tests.web.test_citizen_pages import HOME, owner_fields, start_form

    b = web("citizen")
    base = start_form(b)
    b.post(f"{base}/home", {**HOME, "action": "continue"}, token_from=f"{base}/home")
    row = {**owner_fields(0, "Шевченко Олена Петрівна", date(1980, 5, 17), 11, "1"), "action": "continue"}
    r = b.post(f"{base}/owners", {**row, "owners-0-bank_code": "300465"}, token_from=f"{base}/owners")
    assert r.status_code == 400 and "належить іншому банку" in r.text
    r = b.post(f"{base}/owners", {**row, "owners-0-iban": "", "owners-0-bank_code": ""}, token_from=f"{base}/owners")
    assert r.status_code == 303  # the kind is chosen later: the account is asked for before submitting
    b.post(f"{base}/event", [("claim_kind", "repair_application"), ("damage_date", "2024-03-15"), ("description", ""),
                             ("previous_claim", ""), ("action", "continue")], token_from=f"{base}/event")
    r = b.post(f"{base}/check", {}, token_from=f"{base}/check")
    assert r.status_code == 400 and "Вкажіть IBAN спеціального рахунку" in r.text and 'id="owners-0-iban"' in r.text
    r = b.post(f"{base}/owners", row, token_from=f"{base}/owners")
    assert r.status_code == 303
    check = b.get(f"{base}/check").text
    iban = row["owners-0-iban"]
    assert f"{iban[:4]} **** **** {iban[-4:]}" in check and iban not in check
