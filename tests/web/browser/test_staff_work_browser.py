"""In Chromium at 360 px under the real CSP, axe-clean: the queue's search box, naming an inspector, the
inspector's day list on a phone (tap-to-call, coordinates), and the interactive API docs from local files."""

from __future__ import annotations

import pytest

from tests.web.browser.test_journeys import main_text, sign_in
from tests.workload.test_workload import DAY, scheduled_claim

pytestmark = pytest.mark.browser


def test_search_name_inspector_and_day_list_on_a_phone(open_page, client, auth, users):
    c = scheduled_claim(client, auth)
    officer = open_page()
    sign_in(officer, "officer")
    officer.page.wait_for_url("**/staff/queue")
    officer.page.get_by_label("Знайти заяву").fill("Shevchenko Olena")
    officer.page.get_by_role("button", name="Шукати").click()
    officer.check("search results")
    officer.page.get_by_role("link", name=c["reference"]).click()
    officer.check()
    officer.page.get_by_label("Призначити інспектора").select_option(str(users["inspector"]))
    officer.page.get_by_role("button", name="Призначити інспектора").click()
    officer.page.wait_for_url(f"**/staff/claims/{c['reference']}?assigned=1*")
    assert "Інспектор: inspector@test.org" in main_text(officer)
    officer.check("inspector named")

    inspector = open_page()
    sign_in(inspector, "inspector")
    inspector.page.wait_for_url("**/staff/queue")
    inspector.goto(f"/staff/inspections?date={DAY.isoformat()}")
    inspector.check()
    call = inspector.page.get_by_role("link", name="+380 50 123-45-67")
    assert call.get_attribute("href") == "tel:+380501234567"
    assert inspector.page.get_by_role("link", name="50.00050, 36.22920").get_attribute("href").startswith("geo:50.0005")
    inspector.page.get_by_role("link", name="Наступний день").click()
    inspector.check("next day")
    assert "Цього дня обстежень немає." in main_text(inspector)


def test_api_docs_render_from_local_assets(open_page):
    c = open_page()
    requests: list[str] = []
    c.page.on("request", lambda r: requests.append(r.url))
    c.goto("/docs")
    c.page.wait_for_selector(".opblock-tag", timeout=20_000)  # Swagger UI drew the operations from /openapi.json
    assert c.page.get_by_text("/api/v1/claims", exact=True).first.is_visible()
    assert not c.console_errors, c.console_errors
    assert requests and all(u.startswith(c.base) for u in requests), [u for u in requests if not u.startswith(c.base)]
