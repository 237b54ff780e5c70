"""Staff pages through HTTP: the queue (scoped, filtered, counted), the claim page and every kind of move."""

from __future__ import annotations

import re
from datetime import date, timedelta

from tests.factories import jpeg_with_exif
from tests.store.test_claims_api import file_claim


def version(page: str) -> str:
    return re.search(r'name="expected_version" value="(\d+)"', page).group(1)


def test_queue_scoped_filtered_and_counted(web, client, auth):
    kharkiv = [file_claim(client, auth, priority_groups=["combatant"] if i % 2 else [])["reference"] for i in range(3)]
    lviv = file_claim(client, auth, property={"kind": "house", "oblast": "lvivska", "hromada": "Львів",
                                              "street": "вул. Городоцька", "building": "1",
                                              "total_area_m2": "50"})["reference"]
    officer = web("officer")
    page = officer.get("/staff/queue").text
    assert all(ref in page for ref in kharkiv) and lviv not in page  # scoped to the officer's oblasts
    assert "Знайдено 3 заяви." in page
    page = officer.get("/staff/queue?state=auto_checked&priority=combatant").text
    assert kharkiv[1] in page and kharkiv[0] not in page
    page = officer.get("/staff/queue?view=all&sort=newest").text
    assert page.index(kharkiv[2]) < page.index(kharkiv[0])
    assert officer.get("/staff/queue?state=approved").text.count("/staff/claims/") == 0
    assert lviv in web("officer_lviv").get("/staff/queue").text
    # a claimant is not staff
    assert web("citizen").get("/staff/queue").status_code == 403


def test_whole_lifecycle_through_staff_pages(web, client, auth):
    c = file_claim(client, auth, property={"kind": "house", "oblast": "kharkivska", "hromada": "Харків",
                                           "street": "вул. Сумська", "building": "12а", "total_area_m2": "84.50",
                                           "latitude": 50.0005, "longitude": 36.2292})
    ref = c["reference"]
    client.post(f"/api/v1/claims/{ref}/evidence", headers=auth("citizen"),
                files={"file": ("p.jpg", jpeg_with_exif(), "image/jpeg")})
    officer, inspector, commission = web("officer"), web("inspector"), web("commission")
    page = officer.get(f"/staff/claims/{ref}").text
    assert "openstreetmap.org/?mlat=50.0005" in page and "/files/" in page and "0 м від координат житла" in page
    assert "Шевченко Олена Петрівна" in page and "******" in page  # the taxpayer number is masked

    r = officer.post(f"/staff/claims/{ref}/move", {"to": "assigned", "expected_version": version(page)},
                     token_from=f"/staff/claims/{ref}")
    assert r.status_code == 303, r.text
    page = officer.get(f"/staff/claims/{ref}").text
    # suspension needs the documents asked for: refused without, with the reason in words
    r = officer.post(f"/staff/claims/{ref}/move", {"to": "suspended", "expected_version": version(page),
                                                   "documents_requested": "", "deadline": ""},
                     token_from=f"/staff/claims/{ref}")
    assert r.status_code == 400 and "Назвіть хоча б один документ" in r.text
    r = officer.post(f"/staff/claims/{ref}/move", {"to": "suspended", "expected_version": version(page),
                                                   "documents_requested": "Витяг з реєстру\nДовідка",
                                                   "deadline": (date.today() + timedelta(days=10)).isoformat()},
                     token_from=f"/staff/claims/{ref}")
    assert r.status_code == 303
    page = officer.get(f"/staff/claims/{ref}").text
    r = officer.post(f"/staff/claims/{ref}/move", {"to": "assigned", "expected_version": version(page)},
                     token_from=f"/staff/claims/{ref}")
    page = inspector.get(f"/staff/claims/{ref}").text
    r = inspector.post(f"/staff/claims/{ref}/move", {"to": "inspection_scheduled", "expected_version": version(page),
                                                     "inspection_date": date.today().isoformat()},
                       token_from=f"/staff/claims/{ref}")
    assert r.status_code == 303
    act = inspector.get(f"/staff/claims/{ref}/act").text
    fields = {"expected_version": version(act), "method": "on_site", "inspected_on": date.today().isoformat(),
              "damage_category": "moderate", "elements": "Вікна", "other_elements": "", "notes": "",
              "works-0-description": "Заміна вікна", "works-0-quantity": "3", "works-0-unit": "шт",
              "works-0-unit_price": "8500,00"}
    r = inspector.post(f"/staff/claims/{ref}/act", {**fields, "action": "add_row"}, token_from=f"/staff/claims/{ref}/act")
    assert 'id="works-1-description"' in r.text and "25\u00a0500,00 грн" in r.text
    fields.update({"works-1-description": "Ремонт покрівлі", "works-1-quantity": "12,5", "works-1-unit": "м2",
                   "works-1-unit_price": "950.01"})
    r = inspector.post(f"/staff/claims/{ref}/act", {**fields, "works-1-unit_price": "abc", "action": "file"},
                       token_from=f"/staff/claims/{ref}/act")
    assert r.status_code == 400 and 'href="#works-1-unit_price"' in r.text
    r = inspector.post(f"/staff/claims/{ref}/act", {**fields, "action": "file"}, token_from=f"/staff/claims/{ref}/act")
    assert r.status_code == 303, r.text
    page = officer.get(f"/staff/claims/{ref}").text
    r = officer.post(f"/staff/claims/{ref}/move", {"to": "assessed", "expected_version": version(page)},
                     token_from=f"/staff/claims/{ref}")
    assert r.status_code == 303
    page = commission.get(f"/staff/claims/{ref}").text
    assert "37\u00a0375,13 грн" in page  # 3 x 8,500.00 + 12.5 x 950.01 (half up)
    r = commission.post(f"/staff/claims/{ref}/move", {"to": "approved", "expected_version": version(page),
                                                      "decision_reasons": "Пошкодження підтверджено", "amount": ""},
                        token_from=f"/staff/claims/{ref}")
    assert r.status_code == 303, r.text
    mine = web("citizen").get(f"/my/claims/{ref}").text
    assert "Схвалено" in mine and "37\u00a0375,13 грн" in mine and "Пошкодження підтверджено" in mine


def test_stale_version_and_forbidden_moves_are_explained(web, client, auth):
    c = file_claim(client, auth)
    ref = c["reference"]
    officer = web("officer")
    r = officer.post(f"/staff/claims/{ref}/move", {"to": "assigned", "expected_version": "99"},
                     token_from=f"/staff/claims/{ref}")
    assert r.status_code == 409 and "version" in r.text  # a refusal, as in the API (409 stale, 403 role)
    r = web("commission").post(f"/staff/claims/{ref}/move", {"to": "assigned", "expected_version": c["version"]},
                               token_from="/staff/queue")
    assert r.status_code == 403 and "Only officer" in r.text
    assert web("officer_lviv").get(f"/staff/claims/{ref}").status_code == 404
    assert web("commission").get(f"/staff/claims/{ref}/act").status_code == 409


def test_english_money_and_dates(web, client, auth):
    c = file_claim(client, auth)
    officer = web("officer")
    officer.get("/lang/en?next=/")
    page = officer.get(f"/staff/claims/{c['reference']}").text
    assert "15 March 2024" in page and "Take for verification" in page
