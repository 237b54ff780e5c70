"""Money as integer kopiykas, and its exact decimal text form for ISO 20022 files.

Never floats: ``format_kopiykas(123456) == "1234.56"`` is built from integer division, and
``parse_amount("1234.56") == 123456`` reads the digits, so a round trip is exact for every integer.
"""

from __future__ import annotations

import re

__all__ = ["MAX_KOPIYKAS", "AmountError", "format_kopiykas", "parse_amount"]

# ISO 20022 amounts are xs:decimal with totalDigits 18: with two fraction digits, 16 integer digits.
MAX_KOPIYKAS = 10**18 - 1

_AMOUNT = re.compile(r"\+?(\d+)(?:\.(\d*))?")


class AmountError(ValueError):
    """An amount that is not an exact, non-negative number of kopiykas."""


def format_kopiykas(kopiykas: int) -> str:
    """``123456`` -> ``"1234.56"``; ``5`` -> ``"0.05"``. Rejects bool, float and negatives."""
    if isinstance(kopiykas, bool) or not isinstance(kopiykas, int):
        raise AmountError(f"amount must be an int of kopiykas, got {type(kopiykas).__name__} {kopiykas!r}")
    if kopiykas < 0:
        raise AmountError(f"amount must not be negative, got {kopiykas}")
    if kopiykas > MAX_KOPIYKAS:
        raise AmountError(f"amount {kopiykas} exceeds the 18-digit ISO 20022 limit")
    hryvnias, kop = divmod(kopiykas, 100)
    return f"{hryvnias}.{kop:02d}"


def parse_amount(text: str) -> int:
    """Exact decimal text -> kopiykas. ``"1234.5"`` -> 123450; ``"1.234"`` raises (not whole kopiykas)."""
    s = text.strip()
    m = _AMOUNT.fullmatch(s)
    if m is None:
        raise AmountError(f"{text!r} is not a non-negative decimal amount")
    whole, frac = m.group(1), (m.group(2) or "")
    if len(frac) > 2:
        if frac[2:].strip("0"):
            raise AmountError(f"{text!r} has fractions of a kopiyka")
        frac = frac[:2]
    return int(whole) * 100 + int(frac.ljust(2, "0"))
