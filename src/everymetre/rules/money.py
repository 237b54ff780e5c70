"""Money in the rules: integer kopiykas, one rounding rule, one split rule.

THE ROUNDING RULE (the only place money is rounded)
    Every money result is first written as an exact fraction of two non-negative integers
    (``numerator / denominator`` kopiykas) and then rounded ONCE, half up (ties away from zero,
    Decimal's ROUND_HALF_UP), to a whole kopiyka by :func:`round_half_up_div`.  Both the one-claim
    path and the vectorised path call this same function; it works on Python ``int`` and on NumPy
    ``int64`` arrays alike because it only uses ``+``, ``*`` and ``//``.

    The certificate has these money results, each rounded once:
      1. the adjusted price of 1 m²   P = Vavg x Kregion x Krooms x Kyear        (kopiykas per m²)
      2. the market-based value       P x S_eff                                   (kopiykas)
      3. the floor                    regional construction cost per m² x area    (kopiykas)
    The repair payment needs no rounding at all: it is the commission's costed total (already whole
    kopiykas), possibly capped at a whole-kopiyka cap.

THE SPLIT RULE
    A total is split between co-owners by :func:`split_by_shares`, the largest-remainder (Hamilton)
    method: each owner gets ``floor(total x share)``; the kopiykas left over (fewer than the number of
    owners) go one each to the owners with the largest fractional remainders, ties to the owner listed
    first.  The parts always add up exactly to the total.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import TypeVar

import numpy as np

__all__ = [
    "AREA_SCALE",
    "COEFFICIENT_DECIMALS",
    "COEFFICIENT_SCALE",
    "KOPIYKAS_PER_UAH",
    "decimal_to_scaled_int",
    "format_uah",
    "format_uah_uk",
    "round_half_up_div",
    "split_by_shares",
]

KOPIYKAS_PER_UAH = 100
#: coefficients (Kregion, Krooms, Kyear) carry at most 4 decimal places and are used as integers x 10^4
COEFFICIENT_DECIMALS = 4
COEFFICIENT_SCALE = 10**COEFFICIENT_DECIMALS
#: areas carry at most 2 decimal places (0.01 m²) and are used as integers x 100
AREA_SCALE = 100

N = TypeVar("N", int, np.ndarray)


def round_half_up_div(numerator: N, denominator: int) -> N:
    """``numerator / denominator`` rounded half up to an integer.  THE rounding rule of the rules package.

    ``numerator`` is a non-negative ``int`` or a NumPy integer array (every element non-negative);
    ``denominator`` a positive ``int``.  ``floor((2n + d) / 2d)`` equals ROUND_HALF_UP of ``n / d``
    for ``n >= 0``.  Callers keep ``2n + d`` inside int64 when passing arrays (the vectorised path
    checks its bounds before calling).
    """
    if isinstance(denominator, bool) or not isinstance(denominator, int) or denominator <= 0:
        raise ValueError(f"denominator must be a positive int, got {denominator!r}")
    if isinstance(numerator, np.ndarray):
        if numerator.dtype.kind not in "iu":
            raise TypeError(f"numerator array must be integer, got {numerator.dtype}")
        if numerator.size and int(numerator.min()) < 0:
            raise ValueError("money numerators must not be negative")
        return (2 * numerator + denominator) // (2 * denominator)
    if isinstance(numerator, bool) or not isinstance(numerator, int):
        raise TypeError(f"numerator must be an int, got {type(numerator).__name__}")
    if numerator < 0:
        raise ValueError("money numerators must not be negative")
    return (2 * numerator + denominator) // (2 * denominator)


def decimal_to_scaled_int(value: Decimal, decimals: int, what: str) -> int:
    """Exact ``value x 10^decimals`` as an int; ValueError if ``value`` has more decimal places."""
    scaled = value.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{what} {value} has more than {decimals} decimal places")
    return int(scaled)


def split_by_shares(total: int, shares: Sequence[Fraction]) -> list[int]:
    """Split ``total`` kopiykas by ``shares`` (adding up to 1) so that the parts add up exactly to ``total``.

    >>> split_by_shares(100, [Fraction(1, 3)] * 3)
    [34, 33, 33]
    """
    if sum(shares, Fraction(0)) != 1:
        raise ValueError(f"shares add up to {sum(shares, Fraction(0))}, not 1")
    exact = [total * s for s in shares]
    parts = [int(e.numerator // e.denominator) for e in exact]
    left = total - sum(parts)
    order = sorted(range(len(shares)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += 1
    return parts


def _grouped(kopiykas: int, sep: str) -> tuple[str, str]:
    hryvnias, kop = divmod(kopiykas, KOPIYKAS_PER_UAH)
    return f"{hryvnias:,}".replace(",", sep), f"{kop:02d}"


def format_uah(kopiykas: int) -> str:
    """``349654400`` -> ``"UAH 3,496,544.00"``."""
    sign = "-" if kopiykas < 0 else ""
    whole, frac = _grouped(abs(kopiykas), ",")
    return f"{sign}UAH {whole}.{frac}"


def format_uah_uk(kopiykas: int) -> str:
    """``349654400`` -> ``"3 496 544,00 грн"`` (Ukrainian style, non-breaking spaces between groups)."""
    sign = "-" if kopiykas < 0 else ""
    whole, frac = _grouped(abs(kopiykas), "\u00a0")
    return f"{sign}{whole},{frac}\u00a0грн"
