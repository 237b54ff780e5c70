"""The claim form says which photos the law still asks for, and will not send the claim without them."""

from __future__ import annotations

from tests.factories import jpeg_with_exif
from tests.store.test_evidence_rules import photo_rule  # noqa: F401  (the fixture)
from tests.web.test_citizen_pages import fill_claim


def test_form_says_which_photos_are_missing(web, photo_rule):  # noqa: F811
    photo_rule(1, 1)
    b = web("citizen")
    base, ref = fill_claim(b)  # uploads one wide view
    page = b.get(f"{base}/evidence").text
    assert "Фото пошкоджень зблизька: 0 з 1" in page and "Загальний вигляд житла: 1 з 1" in page
    check = b.get(f"{base}/check").text
    assert "Додайте фото, яких вимагає закон" in check and f'action="{base}/check"' not in check
    r = b.post(f"{base}/check", {}, token_from=f"{base}/check")
    assert r.status_code == 400
    assert "Додайте фото, яких вимагає закон" in r.text and 'href="#evidence"' in r.text
    r = b.post(f"{base}/evidence", {"kind": "photo_closeup"}, token_from=f"{base}/evidence",
               files=[("files", ("close.jpg", jpeg_with_exif(), "image/jpeg"))])
    assert r.status_code == 303
    assert f'action="{base}/check"' in b.get(f"{base}/check").text
    r = b.post(f"{base}/check", {}, token_from=f"{base}/check")
    assert r.status_code == 303 and r.headers["location"] == f"/my/claims/{ref}?done=submitted"
