from __future__ import annotations

import pytest

from everymetre.payments.certificate_number import (
    CertificateNumberError,
    damm_check_digit,
    damm_is_valid,
    make_certificate_number,
    parse_certificate_number,
    validate_certificate_number,
)

SAMPLES = [(2026, 1234), (2023, 1), (2024, 9_999_999), (2025, 5_050_505), (2030, 1_234_567), (2099, 9_090_909)]


def test_known_damm_values() -> None:
    assert damm_check_digit("572") == 4  # Damm's published example
    assert damm_is_valid("5724")
    assert not damm_is_valid("5723")


def test_format_and_round_trip() -> None:
    n = make_certificate_number(2026, 1234)
    assert n == "HC-2026-0001234-6"
    c = parse_certificate_number(n)
    assert (c.year, c.serial, c.check_digit) == (2026, 1234, 6)
    assert validate_certificate_number(" hc-2026-0001234-6 ") == n


def _digit_positions(text: str) -> list[int]:
    return [i for i, ch in enumerate(text) if ch.isdigit()]


def _is_accepted(text: str) -> bool:
    try:
        validate_certificate_number(text)
    except CertificateNumberError:
        return False
    return True


@pytest.mark.parametrize(("year", "serial"), SAMPLES)
def test_every_single_digit_substitution_is_caught(year: int, serial: int) -> None:
    good = make_certificate_number(year, serial)
    for i in _digit_positions(good):
        for d in "0123456789":
            if d != good[i]:
                bad = good[:i] + d + good[i + 1 :]
                assert not _is_accepted(bad), bad


@pytest.mark.parametrize(("year", "serial"), SAMPLES)
def test_every_adjacent_transposition_is_caught(year: int, serial: int) -> None:
    good = make_certificate_number(year, serial)
    digits = "".join(ch for ch in good if ch.isdigit())
    # adjacent in the digit sequence, including across the hyphens (year|serial, serial|check)
    for i in range(len(digits) - 1):
        if digits[i] == digits[i + 1]:
            continue
        swapped = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
        bad = f"HC-{swapped[:4]}-{swapped[4:11]}-{swapped[11]}"
        assert not _is_accepted(bad), bad


def test_damm_detects_all_errors_exhaustively_on_short_payloads() -> None:
    # the property itself, over every 3-digit payload
    for n in range(1000):
        payload = f"{n:03d}"
        full = payload + str(damm_check_digit(payload))
        for i in range(4):
            for d in "0123456789":
                if d != full[i]:
                    assert not damm_is_valid(full[:i] + d + full[i + 1 :])
        for i in range(3):
            if full[i] != full[i + 1]:
                assert not damm_is_valid(full[:i] + full[i + 1] + full[i] + full[i + 2 :])


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("HC-2026-0001234-5", "check digit is 5 but should be 6"),
        ("XX-2026-0001234-6", "prefix must be 'HC'"),
        ("HC-26-0001234-6", "year must be 4 digits"),
        ("HC-2026-1234-6", "serial must be 7 digits"),
        ("HC-2026-0001234", "expected 4 parts"),
        ("HC-2026-0001234-X", "check digit must be one digit"),
        ("HC-2019-0001234-6", "outside"),
        ("HC-2026-0000000-0", "never issued"),
    ],
)
def test_invalid_numbers_say_why(text: str, fragment: str) -> None:
    with pytest.raises(CertificateNumberError) as exc:
        validate_certificate_number(text)
    assert fragment in str(exc.value)


def test_make_rejects_out_of_range() -> None:
    with pytest.raises(CertificateNumberError):
        make_certificate_number(2026, 0)
    with pytest.raises(CertificateNumberError):
        make_certificate_number(2026, 10_000_000)
    with pytest.raises(CertificateNumberError):
        make_certificate_number(2021, 1)
