"""The public certificate check (no sign-in): a certificate's number and its holder's date of birth answer
whether it is valid, reserved, redeemed, expired or revoked, its value and its last valid day; nothing else
about the holder. An unknown number and a wrong date of birth answer alike (the same words, the same query
and comparison, so a similar time). Every check from one address is counted with the sign-in throttle
(`accounts.throttle`, key ``certcheck:<address>``): past the limit the address is refused with 429 and
Retry-After for the lock time.
"""

from __future__ import annotations

import hmac
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from everymetre.accounts.throttle import Limit, address_key, count_attempt, refuse_if_locked
from everymetre.claims.models import Person
from everymetre.config import Settings
from everymetre.kernel.errors import NotFound
from everymetre.payments.certificate_number import CertificateNumberError, validate_certificate_number
from everymetre.payments.models import Certificate
from everymetre.payments.states import CertificateState

C = CertificateState
PUBLIC_STATUS = {
    C.ISSUED: "valid", C.RESERVATION_LAPSED: "valid",
    C.RESERVATION_FILED: "reserved", C.FUNDS_RESERVED: "reserved", C.OWNERSHIP_TERMINATED: "reserved",
    C.CONTRACT_SIGNED: "reserved", C.PAID_TO_SELLER: "reserved",
    C.REDEEMED: "redeemed", C.EXPIRED: "expired", C.REVOKED: "revoked",
}
NO_MATCH = "No certificate matches this number and date of birth. Check both and try again."
_NEVER = "0000-00-00"


def check_certificate(session: Session, settings: Settings, number: str, birth_date: date, address: str | None,
                      today: date | None = None) -> dict[str, Any]:
    """The public answer for a number and a date of birth, or NotFound (the same for every mismatch)."""
    key = address_key(address, "certcheck")
    refuse_if_locked(session, [key])
    count_attempt(session, settings, [Limit(key, settings.certificate_checks_per_address)], address)
    try:
        normal = validate_certificate_number((number or "").strip().upper())
    except CertificateNumberError:
        normal = ""  # still run the same query: a malformed number costs the same as a wrong one
    row = session.execute(select(Certificate.number, Certificate.state, Certificate.value_kopiykas, Certificate.expires_on,
                                 Certificate.issued_on, Person.birth_date)
                          .join(Person, Person.id == Certificate.holder_person_id)
                          .where(Certificate.number == normal)).first()
    session.rollback()  # a read only: end it
    given = birth_date.isoformat()
    held = row.birth_date.isoformat() if row is not None and row.birth_date is not None else _NEVER
    if not hmac.compare_digest(given.encode(), held.encode()) or row is None:
        raise NotFound(NO_MATCH)
    status = PUBLIC_STATUS.get(C(row.state), "valid")
    today = today or date.today()
    if status == "valid" and row.expires_on < today:
        status = "expired"  # the sweep has not run yet today
    return {"number": row.number, "status": status, "value_kopiykas": int(row.value_kopiykas),
            "issued_on": row.issued_on, "valid_until": row.expires_on}
