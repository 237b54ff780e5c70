"""Claims decided straight into the store (fast), and the second payments officer the approval rules need."""

from __future__ import annotations

import itertools
import os
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from everymetre.accounts.models import User
from everymetre.claims.models import Claim, Decision, Ownership, Person, Property
from everymetre.config import get_settings
from everymetre.kernel.iban import make_ua_iban

_n = itertools.count(1)


def decided_claim(db: Session, decided_by: int, amount: int = 10_000_000, *, kind: str = "repair_application",
                  state: str = "approved", oblast: str = "kharkivska", owners: list[tuple[str, int, int]] | None = None,
                  iban: bool = True, review_flag: str | None = None, submitted_by: int | None = None) -> Claim:
    """A claim decided with `amount` kopiykas; owners as (name, share numerator, denominator)."""
    now = datetime.now(UTC)
    n = next(_n)
    home = Property(kind="house", oblast=oblast, hromada="Харків", street="вул. Сумська", building=str(n),
                    total_area_m2=84, rooms=3)
    claim = Claim(ref_year=2026, kind=kind, state=state, oblast=oblast, home=home, damage_date=date(2024, 3, 15),
                  decided_by_id=decided_by, decided_at=now, assessed_amount_kopiykas=amount, awarded_amount_kopiykas=amount,
                  review_flag=review_flag, submitted_by_id=submitted_by, submitted_at=now)
    for i, (name, num, den) in enumerate(owners or [("Шевченко Олена Петрівна", 1, 1)]):
        person = Person(full_name=name, iban=make_ua_iban("322313", 10_000 * n + i) if iban else None)
        claim.owners.append(Ownership(person=person, share_numerator=num, share_denominator=den, is_applicant=i == 0))
    db.add(claim)
    db.flush()
    db.add(Decision(claim_id=claim.id, stage="first", outcome=state if state in ("approved", "rejected") else "approved",
                    amount_kopiykas=amount, reasons="test", decided_by_id=decided_by, decided_at=now))
    db.commit()
    return claim


def ensure_user(db: Session, email: str, role: str, oblasts: list[str]) -> int:
    from everymetre.accounts.actions import do_create_user

    uid = db.scalar(select(User.id).where(User.email == email))
    db.rollback()  # end the read: a sign-in (which writes its session) must not leave this snapshot stale
    if uid is None:
        uid = do_create_user(db, None, email, "correct horse battery", role, oblasts).id
    return uid


LIMIT = "EVERYMETRE_SECOND_APPROVAL_ABOVE_KOPIYKAS"


@pytest.fixture()
def approval_limit():
    """approval_limit(kopiykas): batches above it need two approvals, for this test (settings are read once)."""
    old = os.environ.get(LIMIT)

    def set_limit(kopiykas: int) -> None:
        os.environ[LIMIT] = str(kopiykas)
        get_settings.cache_clear()

    yield set_limit
    if old is None:
        os.environ.pop(LIMIT, None)
    else:
        os.environ[LIMIT] = old
    get_settings.cache_clear()


def photo(name: str = "works.jpg", size: tuple[int, int] = (64, 48), fmt: str = "JPEG"):
    """A small real photo (JPEG by default) as a repair report's upload."""
    import io

    from PIL import Image

    from everymetre.payments.repair_reports import Upload

    buf = io.BytesIO()
    Image.new("RGB", size, (120, 90, 60)).save(buf, fmt)
    return Upload(name, buf.getvalue())
