"""Housing certificate numbers: unique, human-readable and checkable.

Format: ``HC-YYYY-NNNNNNN-C`` — ``HC``, the year of issue, a 7-digit serial (unique within the year; the
database sequence guarantees uniqueness, this module guarantees the number can be checked by eye or by a
seller's bank without a look-up) and one check digit, e.g. ``HC-2026-0001234-6``.

Check digit: the **Damm algorithm** over the 11 digits ``YYYY`` + ``NNNNNNN``. Why Damm rather than the
alternatives:

* it detects *every* single-digit substitution and *every* adjacent transposition (proved by its totally
  anti-symmetric quasigroup; our tests verify it exhaustively on sample numbers) — including a transposition
  across the hyphen between year and serial, since the check covers both;
* the check character is always one decimal digit, unlike ISO 7064 MOD 11-2 (which needs ``X``, awkward to
  dictate on the phone and easy to confuse) or MOD 97-10 (two digits, longer numbers);
* Luhn misses the ``09 <-> 90`` transposition, so it does not meet the requirement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "MAX_SERIAL",
    "PREFIX",
    "SERIAL_DIGITS",
    "CertificateNumber",
    "CertificateNumberError",
    "damm_check_digit",
    "damm_is_valid",
    "make_certificate_number",
    "parse_certificate_number",
    "validate_certificate_number",
]

PREFIX = "HC"
SERIAL_DIGITS = 7
MAX_SERIAL = 10**SERIAL_DIGITS - 1
MIN_YEAR = 2022  # the programme covers damage from 24 February 2022
MAX_YEAR = 2099

# Damm's totally anti-symmetric quasigroup of order 10 (H. Michael Damm, 2004).
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)

_FORMAT = re.compile(r"([A-Z]{2})-(\d{4})-(\d{7})-(\d)")


class CertificateNumberError(ValueError):
    """The text is not a well-formed housing certificate number; the message says why."""


@dataclass(frozen=True, slots=True)
class CertificateNumber:
    year: int
    serial: int
    check_digit: int

    def __str__(self) -> str:
        return f"{PREFIX}-{self.year:04d}-{self.serial:0{SERIAL_DIGITS}d}-{self.check_digit}"


def _damm_interim(digits: str) -> int:
    interim = 0
    for ch in digits:
        interim = _DAMM[interim][ord(ch) - 48]
    return interim


def damm_check_digit(digits: str) -> int:
    """The Damm check digit for a string of decimal digits."""
    if not digits.isdigit() or not digits.isascii():
        raise CertificateNumberError(f"Damm check digit needs decimal digits, got {digits!r}")
    return _damm_interim(digits)


def damm_is_valid(digits_with_check: str) -> bool:
    """True if the digit string ends in its correct Damm check digit."""
    return digits_with_check.isascii() and digits_with_check.isdigit() and _damm_interim(digits_with_check) == 0


def make_certificate_number(year: int, serial: int) -> str:
    """Certificate number for ``serial`` (1..9,999,999) issued in ``year``."""
    if isinstance(year, bool) or not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
        raise CertificateNumberError(f"year must be an integer between {MIN_YEAR} and {MAX_YEAR}, got {year!r}")
    if isinstance(serial, bool) or not isinstance(serial, int) or not 1 <= serial <= MAX_SERIAL:
        raise CertificateNumberError(f"serial must be an integer between 1 and {MAX_SERIAL}, got {serial!r}")
    payload = f"{year:04d}{serial:0{SERIAL_DIGITS}d}"
    return str(CertificateNumber(year, serial, _damm_interim(payload)))


def parse_certificate_number(text: str) -> CertificateNumber:
    """Parse and check a certificate number (spaces around it and lower case are tolerated)."""
    if not isinstance(text, str):
        raise CertificateNumberError(f"certificate number must be a string, got {type(text).__name__}")
    norm = text.strip().upper().replace("\u2010", "-").replace("\u2013", "-").replace(" ", "")
    m = _FORMAT.fullmatch(norm)
    if m is None:
        parts = norm.split("-")
        if len(parts) != 4:
            raise CertificateNumberError(
                f"{text!r} is not a certificate number: expected 4 parts like HC-2026-0001234-6, got {len(parts)}"
            )
        prefix, year, serial, check = parts
        if prefix != PREFIX:
            raise CertificateNumberError(f"{text!r}: prefix must be {PREFIX!r}, got {prefix!r}")
        if not (len(year) == 4 and year.isdigit()):
            raise CertificateNumberError(f"{text!r}: year must be 4 digits, got {year!r}")
        if not (len(serial) == SERIAL_DIGITS and serial.isdigit()):
            raise CertificateNumberError(f"{text!r}: serial must be {SERIAL_DIGITS} digits, got {serial!r}")
        raise CertificateNumberError(f"{text!r}: check digit must be one digit, got {check!r}")
    prefix, year_s, serial_s, check_s = m.groups()
    if prefix != PREFIX:
        raise CertificateNumberError(f"{text!r}: prefix must be {PREFIX!r}, got {prefix!r}")
    year, serial, check = int(year_s), int(serial_s), int(check_s)
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise CertificateNumberError(f"{text!r}: year {year} is outside {MIN_YEAR}..{MAX_YEAR}")
    if serial == 0:
        raise CertificateNumberError(f"{text!r}: serial 0000000 is never issued")
    expected = _damm_interim(year_s + serial_s)
    if expected != check:
        raise CertificateNumberError(
            f"{text!r}: check digit is {check} but should be {expected}; a digit is probably mistyped or two are swapped"
        )
    return CertificateNumber(year, serial, check)


def validate_certificate_number(text: str) -> str:
    """Return the canonical form of a valid certificate number, or raise :class:`CertificateNumberError`."""
    return str(parse_certificate_number(text))
