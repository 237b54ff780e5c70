"""A reused photo as the officer sees it: both photos side by side, at 360 px, axe-clean under the real CSP."""

from __future__ import annotations

import pytest

from tests.web.browser.test_journeys import main_text, sign_in
from tests.web.test_photo_reuse import _file_with_photo, picture

pytestmark = pytest.mark.browser


def test_reused_photo_side_by_side_on_a_phone(open_page, client, auth):
    first = _file_with_photo(client, auth, "citizen", picture(11))
    again = _file_with_photo(client, auth, "citizen2", picture(11, size=(800, 600), quality=60))
    c = open_page()
    sign_in(c, "officer")
    c.page.wait_for_url("**/staff/queue")
    c.goto(f"/staff/claims/{again}")
    c.check()
    assert f"на заяві {first}" in main_text(c)
    images = c.page.locator(".inconsistencies img")
    assert images.count() == 2
    for i in range(2):
        images.nth(i).scroll_into_view_if_needed()  # lazy previews load when seen
        images.nth(i).element_handle().wait_for_element_state("visible")
        c.page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=images.nth(i).element_handle())
