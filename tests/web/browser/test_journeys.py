"""End to end in Chromium: a citizen files a claim with a photo, staff take it to a decision, the citizen
sees it. Every page on the way passes axe-core, fits 360 px and runs under the real CSP."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from everymetre.kernel.iban import make_ua_iban
from everymetre.kernel.identifiers import make_rnokpp
from tests.conftest import PASSWORD, STAFF
from tests.factories import jpeg_with_exif

pytestmark = pytest.mark.browser


def sign_in(c, key: str) -> None:
    c.goto("/signin")
    c.check()
    c.page.get_by_label("Електронна пошта").fill(STAFF[key][0])
    c.page.get_by_label("Пароль").fill(PASSWORD)
    c.page.get_by_role("button", name="Увійти").click()


def main_text(c) -> str:
    return c.page.locator("main").inner_text().replace("\u00a0", " ")


def open_claim(c, ref: str) -> None:
    c.goto("/staff/queue?view=all")
    c.check()
    c.page.get_by_role("link", name=ref).click()
    c.check()


def test_claim_from_filing_to_decision(open_page, tmp_path: Path):
    citizen = open_page()
    p = citizen.page
    citizen.goto("/")
    citizen.check()
    p.get_by_role("link", name="Створити обліковий запис").first.click()
    citizen.check()
    p.get_by_label("Ваше прізвище, ім’я, по батькові").fill("Шевченко Олена Петрівна")
    p.get_by_label("Електронна пошта").fill("olena.browser@example.org")
    p.get_by_label("Пароль", exact=True).fill("a long pass phrase")
    p.get_by_label("Пароль ще раз").fill("a long pass phrase")
    p.get_by_role("button", name="Створити обліковий запис").click()
    p.wait_for_url("**/my")
    citizen.check()
    p.get_by_role("link", name="Подати нову заяву").click()
    citizen.check()
    p.get_by_role("button", name="Почати").click()

    # 1. the home
    p.wait_for_url("**/home")
    citizen.check()
    p.get_by_role("button", name="Зберегти й продовжити").click()  # nothing filled: errors, linked from a summary
    citizen.check("errors")
    assert p.locator(".error-summary").is_visible()
    assert p.evaluate("document.activeElement.classList.contains('error-summary')")
    p.get_by_label("Будинок").check()
    p.get_by_label("Область").select_option("kharkivska")
    p.get_by_label("Місто, селище чи село").fill("Харків")
    p.get_by_label("Вулиця").fill("вул. Сумська")
    p.get_by_label("Номер будинку").fill("12а")
    p.get_by_label("Загальна площа, м²").fill("84,5")
    p.get_by_label("Широта").fill("50.0005")
    p.get_by_label("Довгота").fill("36.2292")
    p.get_by_role("button", name="Зберегти й продовжити").click()

    # 2. owners: a co-owner row added and filled without any script
    p.wait_for_url("**/owners")
    citizen.check()
    p.get_by_label("Дата народження").fill("1980-05-17")
    p.get_by_label("РНОКПП (ідентифікаційний код)").fill(make_rnokpp(date(1980, 5, 17), 41, False))
    p.get_by_label("Частка власності").fill("1/2")
    p.get_by_label("Банк рахунку для виплати").select_option("305299")
    p.get_by_label("Рахунок для виплати (IBAN)").fill(make_ua_iban("305299", 26_007_233_566_001))
    p.get_by_role("button", name="Додати ще власника").click()
    citizen.check("two owners")
    second = p.locator("fieldset.owner").nth(1)
    second.get_by_label("Прізвище, ім’я, по батькові").fill("Шевченко Іван Андрійович")
    second.get_by_label("Дата народження").fill("1978-11-02")
    second.get_by_label("РНОКПП (ідентифікаційний код)").fill(make_rnokpp(date(1978, 11, 2), 42, True))
    second.get_by_label("Частка власності").fill("1/2")
    p.get_by_role("button", name="Зберегти й продовжити").last.click()

    # 3. what happened
    p.wait_for_url("**/event")
    citizen.check()
    p.get_by_label("Кошти на ремонт пошкодженого житла").check()
    p.get_by_label("Коли житло пошкоджено?").fill("2024-03-15")
    p.get_by_label("Що сталося і що пошкоджено?").fill("Вибуховою хвилею вибито вікна.")
    p.get_by_role("button", name="Зберегти й продовжити").click()

    # 4. a photo, uploaded with progress by the script, its EXIF date and place shown back
    p.wait_for_url("**/evidence")
    citizen.check()
    photo = tmp_path / "house.jpg"
    photo.write_bytes(jpeg_with_exif())
    p.get_by_label("Виберіть фото або документи PDF").set_input_files(str(photo))
    p.get_by_role("button", name="Завантажити").click()
    p.wait_for_selector(".gallery img")
    citizen.check("with a photo")
    gallery = p.locator(".gallery").inner_text()
    assert "50.00050, 36.22920" in gallery and "2024" in gallery and "0 м від координат житла" in gallery
    p.get_by_role("button", name="Продовжити").click()

    # 5. check your answers, then send
    p.wait_for_url("**/check")
    citizen.check()
    assert "Шевченко Іван Андрійович" in p.content()
    p.get_by_role("button", name="Подати заяву").click()
    p.wait_for_url(re.compile(r".*/my/claims/EM-\d{4}-\d+\?done=submitted"))
    citizen.check()
    ref = re.search(r"EM-\d{4}-\d+", p.url).group(0)
    assert "Отримано та автоматично перевірено" in p.content()

    # the officer takes it for verification
    officer = open_page()
    sign_in(officer, "officer")
    open_claim(officer, ref)
    assert officer.page.locator(".gallery img").count() == 1
    officer.page.get_by_role("button", name="Взяти на перевірку").click()
    officer.page.wait_for_url("**?done=assigned")
    officer.check()

    # the inspector schedules the inspection and files the act from a phone-sized screen
    inspector = open_page()
    sign_in(inspector, "inspector")
    open_claim(inspector, ref)
    form = inspector.page.locator("form.move", has=inspector.page.get_by_role("button", name="Призначити обстеження"))
    form.get_by_label("Дата обстеження").fill(date.today().isoformat())
    form.get_by_role("button", name="Призначити обстеження").click()
    inspector.page.wait_for_url("**?done=inspection_scheduled")
    inspector.page.get_by_role("link", name="Скласти акт обстеження").click()
    inspector.check()
    ip = inspector.page
    ip.get_by_label("На місці").check()
    ip.get_by_label("Середні").check()
    ip.get_by_label("Вікна").check()
    ip.get_by_label("Робота або матеріал").fill("Заміна вікна")
    ip.get_by_label("Кількість").fill("3")
    ip.get_by_label("Одиниця").fill("шт")
    ip.get_by_label("Ціна за одиницю, грн").fill("8500")
    ip.get_by_role("button", name="Додати позицію").click()
    inspector.check("two rows")
    assert ip.evaluate("document.activeElement.id") == "works-1-description"
    ip.keyboard.type("Ремонт покрівлі")
    ip.locator("#works-1-quantity").fill("12,5")
    ip.locator("#works-1-unit").fill("м2")
    ip.locator("#works-1-unit_price").fill("950.01")
    box = ip.get_by_role("button", name="Скласти акт").bounding_box()
    assert box and box["height"] >= 44  # a touch target
    ip.get_by_role("button", name="Скласти акт").click()
    ip.wait_for_url("**?done=inspected")
    inspector.check()

    # the officer assesses; a commission member decides
    officer.page.reload()
    officer.page.get_by_role("button", name="Розрахувати суму").click()
    officer.page.wait_for_url("**?done=assessed")
    commission = open_page()
    sign_in(commission, "commission")
    open_claim(commission, ref)
    assert "37 375,13 грн" in main_text(commission)
    cp = commission.page
    form = cp.locator("form.move", has=cp.get_by_role("button", name="Схвалити"))
    form.get_by_label("Підстави рішення").fill("Пошкодження підтверджено актом.")
    form.get_by_role("button", name="Схвалити").click()
    cp.wait_for_url("**?done=approved")
    commission.check()

    # the citizen sees the decision, the amount and the appeal deadline
    citizen.goto("/my")
    citizen.check()
    with citizen.page.expect_navigation():  # the claim's page, not the list still unloading
        citizen.page.get_by_role("link", name=ref).click()
    citizen.check()
    text = main_text(citizen)
    assert "Схвалено" in text and "37 375,13 грн" in text and "Ви можете оскаржити до" in text
    assert "Пошкодження підтверджено актом." in text


def test_keyboard_only_sign_in_and_english(open_page):
    c = open_page()
    p = c.page
    c.goto("/signin")
    p.keyboard.press("Tab")
    assert p.evaluate("document.activeElement.className") == "skip"
    assert p.locator(".skip").bounding_box()["x"] >= 0  # the skip link shows when focused
    p.keyboard.press("Enter")
    assert p.evaluate("location.hash") == "#main"
    # Tab order reaches the e-mail field; the focused field has a visible outline
    for _ in range(10):
        p.keyboard.press("Tab")
        if p.evaluate("document.activeElement.id") == "email":
            break
    assert p.evaluate("document.activeElement.id") == "email"
    outline = p.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    p.keyboard.type(STAFF["citizen"][0])
    p.keyboard.press("Tab")
    p.keyboard.type(PASSWORD)
    p.keyboard.press("Enter")
    p.wait_for_url("**/my")
    c.check()
    p.get_by_role("link", name="English").click()
    p.wait_for_url("**/my")
    assert p.locator("html").get_attribute("lang") == "en"
    assert p.get_by_role("heading", name="My claims").is_visible()
    c.check("english")
    c.goto("/my")
    assert p.locator("html").get_attribute("lang") == "en"  # remembered


def test_queue_is_accessible_and_fits_a_phone(open_page, client, auth):
    from tests.store.test_claims_api import file_claim

    for _ in range(3):
        file_claim(client, auth)
    c = open_page()
    sign_in(c, "officer")
    c.page.wait_for_url("**/staff/queue")
    c.check()
    c.page.get_by_text("Фільтр і сортування").click()
    c.check("filters open")
    c.page.get_by_label("Сортувати").select_option("newest")
    c.page.get_by_role("button", name="Показати").click()
    c.check("sorted")
    assert c.page.locator("table.queue tbody tr").count() == 3
