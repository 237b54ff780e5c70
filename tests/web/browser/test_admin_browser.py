"""The admin area in Chromium at 360 px under the real CSP, axe-clean: an administrator finds an account, adds a
staff member (the one-time link), changes a role and oblasts, deactivates with confirmation and changes a
programme setting; an auditor searches the audit trail."""

from __future__ import annotations

import uuid

import pytest

from tests.web.browser.test_journeys import main_text, sign_in

pytestmark = pytest.mark.browser


def test_admin_area_on_a_phone(open_page, users):
    c = open_page()
    sign_in(c, "admin")
    c.page.wait_for_url("**/staff/queue")
    c.page.get_by_role("link", name="Адміністрування").click()
    c.page.wait_for_url("**/admin/users")
    c.check()
    c.page.get_by_label("Електронна пошта або ім'я містить").fill("lviv")
    c.page.get_by_role("button", name="Показати").click()
    c.check("searched")
    assert "officer.lviv@test.org" in main_text(c)

    email = f"browser.{uuid.uuid4().hex[:8]}@test.org"
    c.page.get_by_role("link", name="Облікові записи", exact=True).click()
    c.page.get_by_role("link", name="Додати працівника").click()
    c.check()
    c.page.get_by_role("button", name="Додати працівника").click()  # nothing filled in: the browser asks first
    assert c.page.url.endswith("/admin/users/new")
    c.page.get_by_label("Електронна пошта").fill(email)
    c.page.get_by_label("Роль", exact=True).select_option("officer")
    c.page.get_by_role("button", name="Додати працівника").click()
    c.page.wait_for_selector(".error-summary")
    c.check("no oblast")
    assert "Оберіть області" in main_text(c)
    c.page.get_by_label("Харківська").check()
    c.page.get_by_role("button", name="Додати працівника").click()
    c.page.wait_for_selector("pre.cmd")
    c.check("link shown")
    assert "/password/reset?token=" in main_text(c)

    c.goto("/admin/users?q=" + email)
    c.page.get_by_role("link", name=email).click()
    c.check()
    c.page.get_by_label("Роль", exact=True).select_option("inspector")
    c.page.get_by_label("Київська").check()
    c.page.get_by_role("button", name="Зберегти роль і області").click()
    c.page.wait_for_selector("p.notice")
    c.check("role changed")
    assert "Інспектор" in main_text(c)
    c.page.get_by_label(f"Так, закрити обліковий запис {email}").check()
    c.page.get_by_role("button", name="Деактивувати", exact=True).click()
    c.page.wait_for_url("**done=deactivated")
    c.check("deactivated")

    c.page.get_by_role("link", name="Налаштування програми").click()
    c.check()
    c.page.get_by_label("Скільки загальних фото житла потрібно, щоб подати заяву").fill("2")
    c.page.get_by_role("button", name="Зберегти налаштування").click()
    c.page.wait_for_url("**/admin/settings?done=1")
    c.check("saved")

    a = open_page()
    sign_in(a, "auditor")
    a.page.wait_for_url("**/staff/queue")
    a.page.get_by_role("link", name="Журнал аудиту").click()
    a.check()
    a.page.get_by_label("Заява або обліковий запис").fill(email)
    a.page.get_by_role("button", name="Шукати в журналі").click()
    a.check("searched")
    text = main_text(a)
    assert "Обліковий запис деактивовано" in text and "Обліковий запис створено" in text
    a.page.get_by_text("Запис у тому вигляді, як збережено").first.click()
    a.check("record opened")
