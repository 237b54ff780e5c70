"""The error page with its support reference (the request id): fits 360 px, axe-clean, in Ukrainian and English."""

from __future__ import annotations


def test_error_page_shows_a_reference_that_fits_a_phone(open_page):
    c = open_page()
    c.goto("/no/such/page")
    c.check("error page, uk")
    ref = c.page.locator("code.request-id")
    assert len(ref.inner_text()) == 32 and "назвіть цей номер" in c.page.locator("main").inner_text()
    c.page.get_by_role("link", name="English").click()
    c.check("error page, en")
    assert "give them this reference" in c.page.locator("main").inner_text()
