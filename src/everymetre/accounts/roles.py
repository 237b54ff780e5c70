"""Who can act: the roles and the acting identity the rules judge. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    CLAIMANT = "claimant"
    OFFICER = "officer"
    INSPECTOR = "inspector"
    COMMISSION = "commission"
    PAYMENTS = "payments"
    AUDITOR = "auditor"
    ADMIN = "admin"
    NOTARY = "notary"  # a notary or administrative-centre staff acting as one: own filings only, no oblast
    SYSTEM = "system"  # automatic checks and scheduled jobs; never a person's account


STAFF_ROLES = frozenset({Role.OFFICER, Role.INSPECTOR, Role.COMMISSION, Role.PAYMENTS, Role.AUDITOR, Role.ADMIN})
# Roles that see every oblast without being listed against each one.
NATIONAL_ROLES = frozenset({Role.AUDITOR, Role.ADMIN})


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting. `oblasts` scopes staff; national roles and the system cover every oblast."""

    user_id: int | None
    role: Role
    oblasts: frozenset[str] = frozenset()
    all_oblasts: bool = False

    def covers(self, oblast: str) -> bool:
        return self.all_oblasts or oblast in self.oblasts
