"""The steps of the programme test (tests/payments/test_programme.py), each made through the API as the people
and systems who use it would, plus the clock (`everymetre pay sweep --today`) and the invariant commands.

One claimant account files every claim and the staff accounts are the suite's (tests/conftest.py): every
request reuses their tokens, so no password is hashed per claim. Photos are one small JPEG, made once.
"""

from __future__ import annotations

from datetime import date
from functools import cache

from typer.testing import CliRunner

from everymetre.kernel.iban import make_ua_iban
from everymetre.kernel.identifiers import make_rnokpp
from everymetre.payments import batches
from everymetre.payments.camt053 import EntryStatus, StatementEntry, build_camt053
from everymetre.payments.iso20022 import read_pain001, validate_pain001
from tests.factories import claim_body, jpeg_with_exif, owner
from tests.store.test_claims_api import move

API = "/api/v1"
BANK = "305299"  # a participating bank (config.DEFAULT_PAYOUT_BANKS)
TODAY = date.today()


@cache
def photo() -> bytes:
    return jpeg_with_exif()


def act(windows: int, roof_m2: int, unit_kopiykas: int = 850_000) -> dict:
    """An on-site inspection act: `windows` windows and `roof_m2` of roof (amounts differ claim by claim)."""
    return {"method": "on_site", "inspected_on": TODAY.isoformat(), "damage_category": "moderate",
            "damaged_elements": ["вікна", "покрівля"],
            "works": [{"description": "Заміна вікна", "quantity": str(windows), "unit": "шт", "unit_price_kopiykas": unit_kopiykas},
                      {"description": "Ремонт покрівлі", "quantity": str(roof_m2), "unit": "м2", "unit_price_kopiykas": 95_001}]}


def file_claim(client, auth, i: int, kind: str = "repair_application", owners: list[dict] | None = None,
               photos: bool = False) -> dict:
    """A claim filed and submitted by the claimant with the payout account (the automatic checks run on submit)."""
    people = owners or [owner(name=f"Програмна Особа {i}", born=date(1960 + i % 40, 1 + i % 12, 1 + i % 28), is_applicant=True,
                              iban=make_ua_iban(BANK, 7_000_000 + i), bank_code=BANK)]
    body = claim_body(kind=kind, owners=people, submit=not photos)
    body["property"]["building"] = f"{i}п"
    body["property"]["registry_number"] = f"{9_100_000_000 + i}"
    r = client.post(f"{API}/claims", json=body, headers=auth("citizen"))
    assert r.status_code == 201, r.text
    c = r.json()
    if photos:  # photos of the damage, then submitted
        for view in ("photo_closeup", "photo_wide"):
            e = client.post(f"{API}/claims/{c['reference']}/evidence", data={"kind": view}, headers=auth("citizen"),
                            files={"file": ("home.jpg", photo(), "image/jpeg")})
            assert e.status_code == 201, e.text
        c = move(client, auth, "citizen", c, "submitted", reason="")
    assert c["state"] == "auto_checked", c
    c["owners_filed"] = people
    return c


def to_assessed(client, auth, c: dict, inspection: dict) -> dict:
    people = c["owners_filed"]
    c = move(client, auth, "officer", c, "assigned")
    c = move(client, auth, "inspector", c, "inspection_scheduled", inspection_date=TODAY.isoformat())
    c = move(client, auth, "inspector", c, "inspected", inspection_act=inspection)
    c = move(client, auth, "officer", c, "assessed")
    c["owners_filed"] = people
    return c


def approve(client, auth, c: dict, **decision) -> dict:
    """The commission's approval; above the configured amount a second member approves the award."""
    r = client.post(f"{API}/claims/{c['reference']}/transitions", headers=auth("commission"), json={
        "to": "approved", "reason": "", "expected_version": c["version"],
        "decision": {"reasons": "Пошкодження підтверджено актом.", **decision}})
    assert r.status_code == 200, r.text
    out = r.json()
    if out["state"] != "approved":
        assert out["pending_award"]["second_approval_because"], out
        a = client.post(f"{API}/claims/{c['reference']}/award-approval", headers=auth("commission2"),
                        json={"approve": True, "reason": "Сума відповідає розрахунку."})
        assert a.status_code == 200 and a.json()["state"] == "approved", a.text
        out = a.json()
    out["owners_filed"] = c["owners_filed"]
    return out


def pay_day(client, builder: dict, second: dict) -> list:
    """Build, two approvals (the builder's first, another officer's releasing one), the pain.001 file, sent."""
    r = client.post(f"{API}/payment-batches", headers=builder)
    assert r.status_code == 201, r.text
    bid = r.json()["batch"]["id"]
    client.post(f"{API}/payment-batches/{bid}/approve", json={}, headers=builder)
    r = client.post(f"{API}/payment-batches/{bid}/approve", json={}, headers=second)
    assert r.status_code == 200 and r.json()["state"] == "approved", r.text
    f = client.get(f"{API}/payment-batches/{bid}/file", headers=builder)
    assert f.status_code == 200
    validate_pain001(f.content)
    assert client.post(f"{API}/payment-batches/{bid}/send", headers=builder).json()["state"] == "sent"
    return read_pain001(f.content)


def statement(client, headers, transfers: list, rejected: set[str] = frozenset(), name: str = "s.xml") -> dict:
    """The bank's camt.053 for `transfers`: all booked except `rejected` (end-to-end ids, returned AC04)."""
    entries = [StatementEntry(t.end_to_end_id, t.amount_kopiykas, EntryStatus.BOOKED, TODAY) for t in transfers
               if t.end_to_end_id not in rejected]
    entries += [StatementEntry(t.end_to_end_id, t.amount_kopiykas, EntryStatus.REJECTED, TODAY, credit_debit="CRDT",
                               reason_code="AC04") for t in transfers if t.end_to_end_id in rejected]
    data = build_camt053(entries, account_iban=batches.debtor_account().iban)
    r = client.post(f"{API}/bank-statements", headers=headers, files={"file": (name, data, "application/xml")})
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["booked"], out["rejected"]) == (len(transfers) - len(rejected), len(rejected)), out
    return out


def card_file(rows: list[tuple[str, str, int, str]]) -> bytes:
    """The bank's card-transaction CSV: (transaction id, card account, kopiykas, merchant category)."""
    lines = ["transaction_id,account,date,amount,mcc,merchant"]
    lines += [f"{tid},{account},{TODAY.isoformat()},{k // 100}.{k % 100:02d},{mcc},Будматеріали" for tid, account, k, mcc in rows]
    return ("\n".join(lines) + "\n").encode()


def report(client, auth, ref: str, kind: str, accept: bool = True, reason: str = "") -> dict:
    """The claimant files a repair report (photos); an officer accepts it or returns it with the reason."""
    r = client.post(f"{API}/claims/{ref}/repair-reports", headers=auth("citizen"), data={"kind": kind},
                    files=[("files", ("works.jpg", photo(), "image/jpeg"))])
    assert r.status_code == 201, r.text
    d = client.post(f"{API}/claims/{ref}/repair-reports/{r.json()['id']}/decision", headers=auth("officer"),
                    json={"accept": accept, "reason": reason})
    assert d.status_code == 200 and d.json()["state"] == ("accepted" if accept else "returned"), d.text
    return d.json()


def seller(n: int) -> dict:
    return {"seller_name": f"Продавець Житла {n}", "seller_rnokpp": make_rnokpp(date(1955, 3, 1 + n % 28), 600 + n, True),
            "seller_iban": make_ua_iban(BANK, 55_000_000 + n)}


def reserve(client, auth, c: dict, numbers: list[str], n: int, extra: int = 0) -> dict:
    """A notary books the claim's certificates (co-owners combining theirs) against a home outside the combat
    zones, at the certificates' total plus `extra` paid by the buyers."""
    by_holder = {o["full_name"]: o["rnokpp"] for o in c["owners_filed"]}
    certs = c["certificates"]
    total = sum(certs[x]["value_kopiykas"] for x in numbers)
    body = {"certificates": [{"number": x, "holder_rnokpp": by_holder[certs[x]["holder"]]} for x in numbers], **seller(n),
            "property_registry_number": f"77{n:06d}", "property_address": f"Київ, вул. Нова, {n}, кв. 1",
            "property_katottg": "UA80000000000093317", "property_area_m2": "61.50", "property_kind": "apartment",
            "price_kopiykas": total + extra}
    r = client.post(f"{API}/reservations", json=body, headers=auth("notary"))
    assert r.status_code == 201, r.text
    return r.json()


def complete_purchase(client, auth, rid: int, n: int) -> dict:
    """The notary records the end of the destroyed home's registration, then the signed contract."""
    r = client.post(f"{API}/reservations/{rid}/ownership-termination", headers=auth("notary"),
                    json={"extract": f"ДРРП {40_000_000 + n}, припинено у зв'язку зі знищенням", "extract_on": TODAY.isoformat()})
    assert r.status_code == 200 and r.json()["state"] == "ownership_terminated", r.text
    r = client.post(f"{API}/reservations/{rid}/contracts", headers=auth("notary"),
                    json={"contract_number": f"ДКП-{n}/{TODAY.year}", "signed_on": TODAY.isoformat()})
    assert r.status_code == 200 and r.json()["state"] == "contract_signed", r.text
    return r.json()


def cli(*args: str) -> str:
    """An `everymetre` command on the test store; it must exit 0."""
    from everymetre.cli.main import app

    r = CliRunner().invoke(app, list(args))
    assert r.exit_code == 0, (args, r.output)
    return " ".join(r.output.split())  # as one line, however the console wrapped it


def sweep(on: date) -> str:
    """Time passing: the deadlines the system enforces, as of `on` (`everymetre pay sweep --today`)."""
    return cli("pay", "sweep", "--today", on.isoformat())
