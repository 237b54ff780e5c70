"""Claim vocabulary shared by every adapter: property kinds, priority groups, damage categories, shares."""

from __future__ import annotations

from enum import IntFlag, StrEnum
from fractions import Fraction


class PropertyKind(StrEnum):
    HOUSE = "house"
    APARTMENT = "apartment"
    ROOM = "room"


class PriorityGroup(IntFlag):
    """Groups the programme serves first (docs/domain.md, eligibility). Stored as a bit mask."""

    COMBATANT = 1
    DISABILITY = 2
    LARGE_FAMILY = 4

    @classmethod
    def names(cls) -> list[str]:
        return [g.name.lower() for g in cls]  # type: ignore[union-attr]

    @classmethod
    def mask(cls, names: list[str]) -> int:
        out = 0
        for n in names:
            try:
                out |= cls[n.upper()]
            except KeyError:
                raise ValueError(f"unknown priority group {n!r}; use one of: {', '.join(cls.names())}") from None
        return out

    @classmethod
    def unmask(cls, mask: int) -> list[str]:
        return [g.name.lower() for g in cls if mask & g]  # type: ignore[union-attr]


class DamageCategory(StrEnum):
    MINOR = "minor"
    MODERATE = "moderate"
    SEVERE = "severe"
    DESTROYED = "destroyed"


class InspectionMethod(StrEnum):
    ON_SITE = "on_site"
    REMOTE_PHOTO = "remote_photo"
    REMOTE_SATELLITE = "remote_satellite"


def parse_share(text: str) -> Fraction:
    """'1/2', '0.5' or '1' -> Fraction in (0, 1]; ValueError with a plain message otherwise."""
    try:
        share = Fraction(str(text).strip())
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"share {text!r} is not a fraction such as 1/2 or 0.25") from None
    if not 0 < share <= 1:
        raise ValueError(f"share {text!r} must be more than 0 and at most 1")
    return share


def shares_problem(shares: list[Fraction]) -> str | None:
    total = sum(shares, Fraction(0))
    if total != 1:
        return f"co-owners' shares add up to {total}, not 1"
    return None
