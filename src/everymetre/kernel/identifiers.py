"""Identifiers with check rules: the taxpayer number RNOKPP and the claim reference."""

from __future__ import annotations

import re
from datetime import date, timedelta

RNOKPP_WEIGHTS = (-1, 5, 7, 9, 4, 6, 10, 5, 7)  # of the first nine digits; the check digit is the sum mod 11 mod 10
_RNOKPP_EPOCH = date(1899, 12, 31)


def rnokpp_check_digit(first_nine: str) -> int:
    """The 10th digit of an RNOKPP: weighted sum of the first nine, mod 11, mod 10."""
    total = sum(int(d) * w for d, w in zip(first_nine, RNOKPP_WEIGHTS, strict=True))
    return total % 11 % 10


def rnokpp_problem(value: str) -> str | None:
    """None if `value` is a well-formed RNOKPP, else a sentence saying what is wrong."""
    if not re.fullmatch(r"\d{10}", value or ""):
        return "the taxpayer number (RNOKPP) must be exactly 10 digits"
    if rnokpp_check_digit(value[:9]) != int(value[9]):
        return "the taxpayer number (RNOKPP) has a wrong check digit: please check it for a typo"
    return None


def rnokpp_birth_date(value: str) -> date:
    """The birth date encoded in the first five digits (days since 31 Dec 1899)."""
    return _RNOKPP_EPOCH + timedelta(days=int(value[:5]))


def make_rnokpp(birth: date, serial: int, male: bool) -> str:
    """A valid RNOKPP for a birth date (used by demo data and tests). `serial` picks digits 6-8."""
    days = (birth - _RNOKPP_EPOCH).days
    ninth = (serial % 5) * 2 + (1 if male else 0)
    nine = f"{days:05d}{serial % 1000:03d}{ninth}"
    return nine + str(rnokpp_check_digit(nine))


_REFERENCE = re.compile(r"EM-(\d{4})-(\d{7,19})")
MAX_ID = 2**63 - 1  # ids are BIGINT: a larger number names no record


def mask(value: str | None, keep: int = 2) -> str | None:
    """An identifier shown without revealing it: the first and last `keep` characters, stars between
    ('1234567890' -> '12******90'). Empty or missing values come back as they are."""
    if not value:
        return value
    return value[:keep] + "*" * max(len(value) - 2 * keep, 0) + value[-keep:]


def claim_reference(year: int, claim_id: int) -> str:
    """`EM-YYYY-NNNNNNN`: the year the claim was opened and its number (the store's id)."""
    return f"EM-{year:04d}-{claim_id:07d}"


def parse_claim_reference(reference: str) -> tuple[int, int] | None:
    """(year, id) for a well-formed reference, else None."""
    m = _REFERENCE.fullmatch(reference.strip().upper())
    if not m or int(m.group(2)) > MAX_ID:
        return None
    return int(m.group(1)), int(m.group(2))
