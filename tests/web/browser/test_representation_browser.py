"""Who acts for whom, in Chromium at 360 px under the real CSP, axe-clean: a representative files a claim for an
owner with their power of attorney (the fields shown once "I act for the owner" is chosen, without a script), and
an owner confirms their identity and then finds the claim filed for them at a service centre."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

import pytest

from everymetre.accounts.actions import do_create_user
from everymetre.kernel.iban import make_ua_iban
from everymetre.kernel.identifiers import make_rnokpp
from tests.conftest import PASSWORD
from tests.factories import claim_body, owner
from tests.web.browser.test_journeys import main_text

pytestmark = pytest.mark.browser


def sign_in_as(c, email: str) -> None:
    c.goto("/signin")
    c.page.get_by_label("Електронна пошта").fill(email)
    c.page.get_by_label("Пароль").fill(PASSWORD)
    c.page.get_by_role("button", name="Увійти").click()
    c.page.wait_for_url("**/my")


def new_claimant(db) -> str:
    email = f"browser.{uuid.uuid4().hex[:10]}@test.org"
    do_create_user(db, None, email, PASSWORD, "claimant", full_name="Коваль Петро Іванович")
    return email


def test_representative_files_for_the_owner_on_a_phone(open_page, db):
    c = open_page()
    p = c.page
    sign_in_as(c, new_claimant(db))
    p.get_by_role("link", name="Подати нову заяву").click()
    p.get_by_role("button", name="Почати").click()
    p.wait_for_url("**/home")
    p.get_by_label("Будинок").check()
    p.get_by_label("Область").select_option("kharkivska")
    p.get_by_label("Місто, селище чи село").fill("Харків")
    p.get_by_label("Вулиця").fill("вул. Сумська")
    p.get_by_label("Номер будинку").fill("14")
    p.get_by_label("Загальна площа, м²").fill("61")
    p.get_by_role("button", name="Зберегти й продовжити").click()

    p.wait_for_url("**/owners")
    rep = p.locator("fieldset.rep-fields")
    assert not rep.is_visible()  # "I am an owner" is chosen: the representative's fields stay out of the way
    c.check()
    p.get_by_label("Я дію від імені власника за довіреністю").check()
    assert rep.is_visible()
    c.check("acting for the owner")
    owner_row = p.locator("fieldset.owner").first
    owner_row.get_by_label("Прізвище, ім’я, по батькові").fill("Мельник Ганна Степанівна")
    owner_row.get_by_label("Дата народження").fill("1950-04-12")
    owner_row.get_by_label("РНОКПП (ідентифікаційний код)").fill(make_rnokpp(date(1950, 4, 12), 91, False))
    owner_row.get_by_label("Частка власності").fill("1")
    owner_row.get_by_label("Банк рахунку для виплати").select_option("305299")
    owner_row.get_by_label("Рахунок для виплати (IBAN)").fill(make_ua_iban("305299", 26_007_233_566_091))
    rep.get_by_label("Ваше прізвище, ім’я, по батькові").fill("Коваль Петро Іванович")
    rep.get_by_label("Ваш податковий номер (РНОКПП)").fill(make_rnokpp(date(1975, 2, 3), 92, True))
    rep.get_by_label("Вид довіреності").select_option("notarial")
    rep.get_by_label("Серія та номер бланка").fill("НРМ 654321")
    rep.get_by_label("Дата видачі").fill((date.today() - timedelta(days=800)).isoformat())
    rep.get_by_label("Дійсний до").fill((date.today() - timedelta(days=5)).isoformat())
    rep.get_by_label("Нотаріус, який її посвідчив").fill("Іваненко Марія Олегівна")
    p.get_by_role("button", name="Зберегти й продовжити").last.click()
    p.wait_for_selector(".error-summary")
    c.check("expired power of attorney")
    assert "Строк дії цієї довіреності минув" in main_text(c)
    p.locator("fieldset.rep-fields").get_by_label("Дійсний до").fill((date.today() + timedelta(days=365)).isoformat())
    p.get_by_role("button", name="Зберегти й продовжити").last.click()

    p.wait_for_url("**/event")
    p.get_by_label("Кошти на ремонт пошкодженого житла").check()
    p.get_by_label("Коли житло пошкоджено?").fill("2024-03-15")
    p.get_by_role("button", name="Зберегти й продовжити").click()
    p.wait_for_url("**/evidence")
    p.get_by_role("button", name="Продовжити").click()
    p.wait_for_url("**/check")
    c.check()
    assert "Ви подаєте заяву як представник власників." in main_text(c) and "НРМ 654321" in main_text(c)
    p.get_by_role("button", name="Подати заяву").click()
    p.wait_for_url(re.compile(r".*/my/claims/EM-\d{4}-\d+\?done=submitted"))
    c.check()
    text = main_text(c)
    assert "Подано вами як представником власників." in text and "Ще не перевірено" in text


def test_owner_confirms_identity_and_finds_the_claim_filed_for_them(open_page, db, client, auth):
    born = date(1958, 10, 1)
    person = make_rnokpp(born, 93, False)
    r = client.post("/api/v1/claims", headers=auth("officer"),
                    json=claim_body(owners=[owner("Мельник Ганна Степанівна", born, rnokpp=person, is_applicant=True)]))
    assert r.status_code == 201, r.text
    ref = r.json()["reference"]
    c = open_page()
    p = c.page
    sign_in_as(c, new_claimant(db))
    c.check()
    assert ref not in main_text(c)
    p.get_by_role("link", name="Підтвердьте свою особу").click()
    p.wait_for_url("**/account/identity")
    c.check()
    p.get_by_label("Ваш податковий номер (РНОКПП)").fill(person)
    p.get_by_label("Ваша дата народження").fill((born + timedelta(days=1)).isoformat())
    p.get_by_role("button", name="Підтвердити").click()
    p.wait_for_selector(".error-summary")
    c.check("not matched")
    assert "не збігаються з нашими записами" in main_text(c)
    p.get_by_label("Ваша дата народження").fill(born.isoformat())
    p.get_by_role("button", name="Підтвердити").click()
    p.wait_for_url("**done=verified")
    c.check("verified")
    assert "Вашу особу підтверджено" in main_text(c) and person not in main_text(c)
    p.get_by_role("link", name="Перейти до моїх заяв").click()
    p.wait_for_url("**/my")
    c.check("with the claim")
    assert ref in main_text(c) and "Подано в ЦНАП." in main_text(c)


def test_representative_replaces_a_refused_power_of_attorney_on_a_phone(open_page, client, auth):
    """Refused by an officer, the power of attorney is replaced from the claim page at 360 px, axe-clean."""
    from tests.conftest import STAFF
    from tests.factories import representative

    r = client.post("/api/v1/claims", headers=auth("citizen"), json=claim_body(owners=[owner()], representative=representative()))
    assert r.status_code == 201, r.text
    ref = r.json()["reference"]
    r = client.post(f"/api/v1/claims/{ref}/power-of-attorney", headers=auth("officer"),
                    json={"accept": False, "reason": "Бланк не той"})
    assert r.status_code == 200, r.text

    c = open_page()
    p = c.page
    sign_in_as(c, STAFF["citizen"][0])
    c.goto(f"/my/claims/{ref}")
    c.check("refused")
    assert "Бланк не той" in main_text(c)
    p.get_by_role("link", name="Подати нову довіреність").click()
    p.wait_for_url(f"**/my/claims/{ref}/power-of-attorney")
    c.check("the form")
    p.get_by_label("Вид довіреності").select_option("notarial")
    p.get_by_label("Серія та номер бланка").fill("НРО 246810")
    p.get_by_label("Дата видачі").fill((date.today() - timedelta(days=3)).isoformat())
    p.get_by_label("Дійсний до").fill((date.today() - timedelta(days=1)).isoformat())
    p.get_by_label("Нотаріус, який її посвідчив").fill("Петренко Ольга Василівна")
    p.get_by_role("button", name="Надіслати нову довіреність").click()
    p.wait_for_selector(".error-summary")
    c.check("expired")
    p.get_by_label("Дійсний до").fill((date.today() + timedelta(days=365)).isoformat())
    p.get_by_role("button", name="Надіслати нову довіреність").click()
    p.wait_for_url(re.compile(r".*done=attorney.*"))
    c.check("sent")
    text = main_text(c)
    assert "Нову довіреність надіслано." in text and "НРО 246810" in text and "Ще не перевірено" in text
