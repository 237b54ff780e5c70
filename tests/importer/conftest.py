"""Helpers for the importer tests: small input files in three formats and a mapping made in the test."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from everymetre.kernel.iban import make_ua_iban
from everymetre.kernel.identifiers import make_rnokpp

FULL_MAPPING = """
[source]
name = "{source}"

[fields]
source_record_id = "id"
surname = "surname"
given_name = "given"
patronymic = "patronymic"
birth_date = {{ column = "born", format = "%d.%m.%Y" }}
rnokpp = "rnokpp"
phone = "phone"
iban = "iban"
share = "share"
oblast = "oblast"
hromada = "city"
street = "street"
building = "building"
apartment = "apartment"
registry_number = "registry"
property_kind = {{ column = "kind", values = {{ "будинок" = "house", "квартира" = "apartment" }} }}
total_area_m2 = "area"
damage_date = {{ column = "damaged", format = "%d.%m.%Y" }}
claim_kind = "claim_kind"
is_redamage = "redamage"
previous = "previous"
"""


def person_row(i: int, **over) -> dict:
    born = date(1950 + i % 50, 1 + i % 12, 1 + i % 28)
    row = {
        "id": f"R-{i:04d}", "surname": "Шевченко", "given": "Олена", "patronymic": "Петрівна",
        "born": born.strftime("%d.%m.%Y"), "rnokpp": make_rnokpp(born, i, i % 2 == 0), "phone": "+380 50 123 45 67",
        "iban": make_ua_iban("300528", 1000 + i), "share": "1", "oblast": "Харківська", "city": "Харків",
        "street": "вул. Сумська", "building": str(1 + i), "apartment": "", "registry": "", "kind": "будинок",
        "area": "84,50", "damaged": "15.03.2024", "claim_kind": "repair_application", "redamage": "", "previous": "",
    }
    row.update(over)
    return row


def write_input(path: Path, rows: list[dict]) -> Path:
    df = pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.String))
    if path.suffix == ".csv":
        df.write_csv(path)
    elif path.suffix == ".parquet":
        df.write_parquet(path)
    else:
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture()
def mapping_file(tmp_path: Path):
    def make(source: str = "test-source", text: str | None = None) -> Path:
        p = tmp_path / "mapping.toml"
        p.write_text(text if text is not None else FULL_MAPPING.format(source=source), encoding="utf-8")
        return p

    return make
