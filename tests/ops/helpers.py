"""A whole claim's life through the API (filed with RNOKPP, IBAN and phone; evidence; suspended and answered;
inspected, assessed, approved, appealed, revised), for the logs, metrics and restore tests."""

from __future__ import annotations

import itertools
from datetime import date

from everymetre.kernel.iban import make_ua_iban
from tests.factories import claim_body, jpeg_with_exif, owner
from tests.store.test_claims_api import ACT, move

API = "/api/v1"
PHONE = "+380501234567"
IBAN = make_ua_iban("322313", 26007233566001)
_photos = itertools.count(1)


def claim_life(client, auth) -> tuple[dict, dict]:
    """Run one claim from filing to a revised decision. Returns (the final claim, the personal data sent)."""
    applicant = owner(is_applicant=True, phone=PHONE, iban=IBAN, email="olena.shevchenko@example.org")
    r = client.post(f"{API}/claims", json=claim_body(owners=[applicant]), headers=auth("citizen"))
    assert r.status_code == 201, r.text
    c = r.json()
    ref = c["reference"]
    up = client.post(f"{API}/claims/{ref}/evidence", files={"file": ("photo.jpg", jpeg_with_exif(lat=50.0 + next(_photos) / 1e4), "image/jpeg")},
                     data={"kind": "photo"}, headers=auth("citizen"))
    assert up.status_code == 201, up.text
    c = move(client, auth, "officer", c, "assigned")
    c = move(client, auth, "officer", c, "suspended", documents_requested=["Витяг з реєстру"])
    c = move(client, auth, "citizen", c, "assigned", reason="Додала витяг")
    c = move(client, auth, "inspector", c, "inspection_scheduled", inspection_date=date.today().isoformat())
    c = move(client, auth, "inspector", c, "inspected", inspection_act=ACT)
    c = move(client, auth, "officer", c, "assessed")
    c = move(client, auth, "commission", c, "approved", decision={"reasons": "Пошкодження підтверджено"})
    assert client.get(f"{API}/claims/{ref}/payout", headers=auth("citizen")).status_code == 200
    c = move(client, auth, "citizen", c, "appealed", reason="Сума замала")
    # above the computed amount: a reason, and a third member's approval (claims.awards)
    c = move(client, auth, "commission2", c, "revised", decision={"reasons": "Враховано двері", "amount_kopiykas": 4_937_513,
                                                                  "amount_reason": "Двері не увійшли до кошторису"})
    assert c["state"] == "appealed" and c["pending_award"]["second_approval_because"] == ["above_computed"]
    r = client.post(f"{API}/claims/{c['reference']}/award-approval", json={"approve": True, "reason": "Перевірено"},
                    headers=auth("commission3"))
    assert r.status_code == 200, r.text
    c = r.json()
    assert client.get(f"{API}/claims/{ref}/events", headers=auth("auditor")).status_code == 200
    return c, {"rnokpp": applicant["rnokpp"], "iban": IBAN, "phone": PHONE, "email": applicant["email"]}
