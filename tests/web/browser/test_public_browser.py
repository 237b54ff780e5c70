"""The public pages in Chromium, signed out: statistics (with charts and suppressed cells), the public log
with a decision found in it, in Ukrainian and English; each passes axe-core, fits 360 px, runs under CSP."""

from __future__ import annotations

import pytest

from everymetre.config import get_settings
from everymetre.transparency import log
from tests.payments.store_helpers import decided_claim
from tests.web.browser.test_journeys import main_text

pytestmark = pytest.mark.browser


def test_public_pages_accessible_at_360px(open_page, db, users):
    claims = [decided_claim(db, users["commission"], 10_000_000 + i) for i in range(14)]
    claims += [decided_claim(db, users["commission"], 0, state="rejected", oblast="kyivska") for _ in range(3)]
    log.sync(db, get_settings())

    visitor = open_page()
    visitor.goto("/public")
    visitor.check()
    visitor.goto("/public/statistics")
    visitor.check()
    text = main_text(visitor)
    assert "Уся країна" in text and "Харківська" in text
    assert visitor.page.locator("svg.chart").count() >= 4
    visitor.goto(f"/public/log?reference={claims[0].reference}")
    visitor.check()
    assert "100 000,00 грн" in main_text(visitor)
    visitor.page.get_by_role("link", name="English").click()
    visitor.page.wait_for_url("**/public/log?reference=*")
    visitor.check("en")
    assert "Public log of decisions and payments" in main_text(visitor)
    visitor.goto("/public/statistics")
    visitor.check("en")
    assert "Whole country" in main_text(visitor)
