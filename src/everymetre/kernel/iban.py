"""IBAN validation (ISO 13616, mod-97 check digits) with Ukrainian specifics.

A Ukrainian IBAN is 29 characters: ``UA`` + 2 check digits + 6-digit bank code (MFO) + 19-character
account number (digits in practice; ISO 13616 allows alphanumerics, we accept digits only for UA as the
National Bank of Ukraine's format defines it). Other countries are checked generically: country code,
check digits, total length where we know it, and the mod-97 checksum.

Validation errors say *what* is wrong (length, character, checksum) so an applicant or an operator can
fix the number, not just "invalid IBAN".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "UA_IBAN_LENGTH",
    "IBANError",
    "UkrainianIBAN",
    "format_iban",
    "iban_check_digits",
    "is_valid_iban",
    "make_ua_iban",
    "mask_iban",
    "normalize_iban",
    "parse_ua_iban",
    "validate_iban",
]

UA_IBAN_LENGTH = 29

# Total IBAN lengths for the countries we are likely to see (SWIFT IBAN registry). Countries not listed are
# accepted on the generic rules (4..34 characters, mod-97).
_COUNTRY_LENGTHS: dict[str, int] = {
    "UA": 29, "PL": 28, "DE": 22, "FR": 27, "GB": 22, "LT": 20, "LV": 21, "EE": 20, "CZ": 24, "SK": 24,
    "RO": 24, "MD": 24, "HU": 28, "AT": 20, "NL": 18, "BE": 16, "IT": 27, "ES": 24, "CH": 21, "IE": 22,
}

_ALNUM = re.compile(r"[A-Z0-9]+")
_CANONICAL = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}")
_SEPARATORS = re.compile(r"[\s\-]+")


class IBANError(ValueError):
    """Raised when a string is not a valid IBAN; the message says exactly what is wrong."""


@dataclass(frozen=True, slots=True)
class UkrainianIBAN:
    """The parts of a Ukrainian IBAN."""

    iban: str
    check_digits: str
    bank_code: str  # 6-digit MFO
    account: str  # 19 characters

    def formatted(self) -> str:
        return format_iban(self.iban)


def normalize_iban(text: str) -> str:
    """Remove spaces/hyphens (including non-breaking spaces) and upper-case."""
    if not isinstance(text, str):
        raise IBANError(f"IBAN must be a string, got {type(text).__name__}")
    return _SEPARATORS.sub("", text.replace("\u00a0", " ")).upper()


def format_iban(iban: str) -> str:
    """Print form: groups of four characters (``UA21 3223 1300 ...``)."""
    n = normalize_iban(iban)
    return " ".join(n[i : i + 4] for i in range(0, len(n), 4))


_LETTER_VALUES = str.maketrans({chr(c): str(c - 55) for c in range(ord("A"), ord("Z") + 1)})


def _mod97(text: str) -> int:
    """Mod 97 of the IBAN digit string (letters A=10 .. Z=35); ``text`` must be [A-Z0-9]+."""
    return int(text.translate(_LETTER_VALUES)) % 97


def iban_check_digits(country: str, bban: str) -> str:
    """The two ISO 13616 check digits for ``country`` + ``bban``."""
    country = country.upper()
    bban = normalize_iban(bban)
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise IBANError(f"country code must be two letters, got {country!r}")
    if not bban or not _ALNUM.fullmatch(bban):
        raise IBANError(f"BBAN must be letters and digits, got {bban!r}")
    return f"{98 - _mod97(bban + country + '00'):02d}"


def validate_iban(text: str) -> str:
    """Return the normalised IBAN or raise :class:`IBANError` saying what is wrong."""
    iban = text if isinstance(text, str) and _CANONICAL.fullmatch(text) else normalize_iban(text)
    # fast path for the common, valid case; the checks below only run to explain a failure
    if (
        _CANONICAL.fullmatch(iban)
        and _COUNTRY_LENGTHS.get(iban[:2], len(iban)) == len(iban)
        and (iban[:2] != "UA" or iban[4:].isdigit())
        and iban[2:4] not in ("00", "01", "99")
        and _mod97(iban[4:] + iban[:4]) == 1
    ):
        return iban
    if not iban:
        raise IBANError("IBAN is empty")
    bad = [(i + 1, ch) for i, ch in enumerate(iban) if not ("A" <= ch <= "Z" or "0" <= ch <= "9")]
    if bad:
        pos, ch = bad[0]
        raise IBANError(f"IBAN contains an invalid character {ch!r} at position {pos}; only letters and digits are allowed")
    country = iban[:2]
    if len(iban) < 2 or not country.isalpha():
        raise IBANError(f"IBAN must start with a two-letter country code, got {iban[:2]!r}")
    if len(iban) < 5:
        raise IBANError(f"IBAN is too short ({len(iban)} characters)")
    if not iban[2:4].isdigit():
        raise IBANError(f"IBAN check digits (positions 3-4) must be digits, got {iban[2:4]!r}")
    expected_len = _COUNTRY_LENGTHS.get(country)
    if expected_len is not None and len(iban) != expected_len:
        raise IBANError(
            f"{country} IBAN must be {expected_len} characters, got {len(iban)}"
            + (f" ({expected_len - len(iban)} missing)" if len(iban) < expected_len else f" ({len(iban) - expected_len} too many)")
        )
    if len(iban) > 34:
        raise IBANError(f"IBAN is too long ({len(iban)} characters, at most 34)")
    if country == "UA":
        rest = iban[4:]
        nondigit = [(i + 5, ch) for i, ch in enumerate(rest) if not ch.isdigit()]
        if nondigit:
            pos, ch = nondigit[0]
            raise IBANError(f"Ukrainian IBAN must have only digits after 'UA', found {ch!r} at position {pos}")
    if iban[2:4] in ("00", "01", "99"):
        raise IBANError(f"IBAN check digits {iban[2:4]!r} are never valid (must be 02..98)")
    if _mod97(iban[4:] + iban[:4]) != 1:
        expected = iban_check_digits(country, iban[4:])
        raise IBANError(
            f"IBAN checksum failed: check digits are {iban[2:4]}, but the rest of the number needs {expected}; "
            "a character is probably mistyped"
        )
    return iban


def mask_iban(iban: str | None) -> str:
    """An IBAN shown without revealing it: the country and check digits, then the last four
    (``UA21 **** **** 1234``). Anything that is not an IBAN shows only its last four characters."""
    if not iban:
        return ""
    n = _SEPARATORS.sub("", str(iban)).upper()
    if len(n) < 8:
        return "****"
    return f"{n[:4]} **** **** {n[-4:]}"


def is_valid_iban(text: str) -> bool:
    try:
        validate_iban(text)
    except IBANError:
        return False
    return True


def parse_ua_iban(text: str) -> UkrainianIBAN:
    """Validate a Ukrainian IBAN and split it into bank code (MFO) and account number."""
    iban = validate_iban(text)
    if not iban.startswith("UA"):
        raise IBANError(f"expected a Ukrainian IBAN (starting with 'UA'), got country {iban[:2]!r}")
    return UkrainianIBAN(iban=iban, check_digits=iban[2:4], bank_code=iban[4:10], account=iban[10:])


def make_ua_iban(bank_code: str | int, account: str | int) -> str:
    """Build a valid Ukrainian IBAN from a 6-digit bank code (MFO) and an account number.

    The account number is left-padded with zeros to 19 digits (as Ukrainian banks do). For demo data and tests.
    """
    bank = str(bank_code).strip()
    acct = str(account).strip()
    if not re.fullmatch(r"\d{6}", bank):
        raise IBANError(f"bank code (MFO) must be exactly 6 digits, got {bank!r}")
    if not re.fullmatch(r"\d{1,19}", acct):
        raise IBANError(f"account number must be 1 to 19 digits, got {acct!r}")
    bban = bank + acct.zfill(19)
    return "UA" + iban_check_digits("UA", bban) + bban
