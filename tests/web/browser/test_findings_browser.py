"""The reviewers' finding pages in Chromium at 360 px under the real CSP, axe-clean and in Ukrainian: a household
finding with its evidence, and a commission member letting the claims through with a reason."""

from __future__ import annotations

import pytest

from tests.factories import claim_body
from tests.web.browser.test_journeys import main_text, sign_in

pytestmark = pytest.mark.browser


def test_household_finding_and_override_on_a_phone(open_page, client, auth, db):
    from everymetre.claims.access import claim_id_from_reference
    from everymetre.linkage.models import LinkageFinding, LinkageFindingClaim

    refs = [client.post("/api/v1/claims", json=claim_body(), headers=auth("citizen")).json()["reference"] for _ in range(2)]
    ids = [claim_id_from_reference(r) for r in refs]
    finding = LinkageFinding(
        fingerprint="browser-household-" + refs[0], kind="household_same_loss", score=0.7, status="open",
        claim_ids=ids, claim_refs=refs, record_ids=[f"{r}#1" for r in refs], first_run_id=1, last_run_id=1,
        evidence={"people": 2, "claims": 2, "household_ties": ["same_surname_family", "parent_and_child"],
                  "damage_dates": ["2022-03-05"], "shares_total": 2.0, "pairs": []})
    db.add(finding)
    db.flush()
    db.add_all([LinkageFindingClaim(finding_id=finding.id, claim_id=i, oblast="kharkivska") for i in ids])
    db.commit()

    c = open_page()
    sign_in(c, "commission")
    c.page.wait_for_url("**/staff/**")
    c.goto("/staff/findings?kind=household_same_loss")
    c.check("findings list")
    assert "Одне домогосподарство, одна втрата, окремі заяви" in main_text(c)
    c.goto(f"/staff/findings/{finding.id}")
    c.check("household finding")
    text = main_text(c)
    assert "те саме прізвище (родина)" in text and "Одне домогосподарство за" in text
    assert "household_same_loss" not in text and "same_surname_family" not in text
    c.page.get_by_label("Чому ці заяви можна виплатити").fill("Окремі частки підтверджено витягом з реєстру")
    c.page.get_by_role("button", name="Зняти утримання").click()
    c.page.wait_for_url(f"**/staff/findings/{finding.id}?done=override")
    c.check("overridden")
    assert "Пропущено (рішення про пропуск)" in main_text(c)
