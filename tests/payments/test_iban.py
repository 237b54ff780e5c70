from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from everymetre.kernel.iban import (
    IBANError,
    format_iban,
    is_valid_iban,
    make_ua_iban,
    parse_ua_iban,
    validate_iban,
)

NBU_EXAMPLE = "UA213223130000026007233566001"


@pytest.mark.parametrize(
    "text",
    [NBU_EXAMPLE, "ua21 3223 1300 0002 6007 2335 6600 1", " UA21-3223-1300-0002-6007-2335-6600-1 ", "DE89370400440532013000",
     "GB82WEST12345698765432", "PL61109010140000071219812874"],
)
def test_valid_ibans(text: str) -> None:
    assert is_valid_iban(text)
    assert validate_iban(text) == validate_iban(validate_iban(text))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("UA21322313000002600723356600", "must be 29 characters, got 28 (1 missing)"),
        ("UA2132231300000260072335660011", "got 30 (1 too many)"),
        ("UA213223130000026007233566002", "checksum failed"),
        ("UA21322313000002600723356600X", "only digits after 'UA'"),
        ("UA21322313000002600723356600!", "invalid character '!' at position 29"),
        ("U1213223130000026007233566001", "two-letter country code"),
        ("UAX13223130000026007233566001", "check digits"),
        ("UA003223130000026007233566001", "never valid"),
    ],
)
def test_invalid_ibans_say_why(text: str, fragment: str) -> None:
    with pytest.raises(IBANError, match=None) as exc:
        validate_iban(text)
    assert fragment in str(exc.value)


def test_parse_ua_iban_parts() -> None:
    p = parse_ua_iban(NBU_EXAMPLE)
    assert (p.bank_code, p.account, p.check_digits) == ("322313", "0000026007233566001", "21")
    assert p.formatted() == format_iban(NBU_EXAMPLE) == "UA21 3223 1300 0002 6007 2335 6600 1"
    with pytest.raises(IBANError, match="Ukrainian"):
        parse_ua_iban("DE89370400440532013000")


@given(st.integers(0, 999_999), st.integers(0, 10**19 - 1))
def test_generated_ua_ibans_are_valid(bank: int, account: int) -> None:
    iban = make_ua_iban(f"{bank:06d}", account)
    assert len(iban) == 29 and iban.startswith("UA")
    assert validate_iban(iban) == iban
    assert parse_ua_iban(iban).account == f"{account:019d}"


@given(st.integers(0, 10**19 - 1), st.integers(4, 28), st.integers(1, 9))
def test_single_digit_change_is_caught(account: int, pos: int, delta: int) -> None:
    iban = make_ua_iban("322313", account)
    digit = (int(iban[pos]) + delta) % 10
    assert not is_valid_iban(iban[:pos] + str(digit) + iban[pos + 1 :])


def test_make_ua_iban_rejects_bad_input() -> None:
    with pytest.raises(IBANError, match="6 digits"):
        make_ua_iban("12345", 1)
    with pytest.raises(IBANError, match="1 to 19 digits"):
        make_ua_iban("123456", "1" * 20)
