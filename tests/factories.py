"""Valid request bodies to start tests from; override what a test is about."""

from __future__ import annotations

import copy
import io
import itertools
from datetime import date
from typing import Any

from PIL import Image

from everymetre.kernel.identifiers import make_rnokpp

_serial = itertools.count(1)


def owner(name: str = "Шевченко Олена Петрівна", born: date = date(1980, 5, 17), male: bool = False, **kw: Any) -> dict:
    return {"full_name": name, "birth_date": born.isoformat(), "rnokpp": make_rnokpp(born, next(_serial), male),
            "share": "1", **kw}


def representative(**kw: Any) -> dict:
    """A representative block: their own details and a power of attorney valid today (issued a year ago, for three)."""
    today = date.today()
    return {"full_name": "Коваль Петро Іванович", "rnokpp": make_rnokpp(date(1975, 2, 3), next(_serial), True),
            "phone": "+380501112233", "document_type": "notarial", "document_number": "НРМ 123456",
            "issued_on": today.replace(year=today.year - 1, day=1).isoformat(),
            "valid_until": today.replace(year=today.year + 2, day=1).isoformat(),
            "notary_name": "Іваненко Марія Олегівна, приватний нотаріус Харківського МНО", **kw}


REPRESENTATIVE = representative()


def claim_body(**overrides: Any) -> dict:
    body = {
        "kind": "repair_application",
        "damage_date": "2024-03-15",
        "description": "Вибуховою хвилею вибито вікна.",
        "priority_groups": [],
        "property": {"kind": "house", "oblast": "kharkivska", "hromada": "Харків", "street": "вул. Сумська",
                     "building": "12а", "total_area_m2": "84.50", "year_built": 1978, "rooms": 3},
        "owners": [owner(is_applicant=True)],
        "submit": True,
    }
    for key, value in overrides.items():
        body[key] = value
    return copy.deepcopy(body)


def jpeg_with_exif(lat: float = 50.0005, lon: float = 36.2292, when: str = "2024:03:16 10:30:00") -> bytes:
    img = Image.new("RGB", (64, 48), (120, 80, 40))
    exif = Image.Exif()
    exif.get_ifd(0x8769)[36867] = when

    def dms(v: float) -> tuple:
        d = int(v)
        m = int((v - d) * 60)
        s = round(((v - d) * 60 - m) * 60, 4)
        return (float(d), float(m), float(s))

    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", dms(lat), "E", dms(lon)
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (10, 10), (0, 0, 0)).save(buf, "PNG")
    return buf.getvalue()


MINIMAL_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
               b"trailer<</Root 1 0 R>>\n%%EOF\n")
