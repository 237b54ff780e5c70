"""Deadlines of the two payouts, as pure date arithmetic (docs/domain.md, "Two payouts").

* Repair payment: tier A (<= UAH 200,000) is spent within 12 months of the transfer, tier B within 18;
  the owner files the final report within 15 working days; unspent money returns to the budget.
* Housing certificate: funds reserved within 5 business days of issue; the reservation lapses if the
  purchase is not signed within 30 days; the seller is paid within 5 days of the contract; the certificate
  is valid for 5 years.

Conventions (documented, configurable through :class:`ScheduleRules` where the law was not found):

* "within N months/years from date D" ends on the same day-of-month N months later, or on the last day of
  that month when it has no such day (31 Jan + 1 month = 28/29 Feb; 29 Feb + 5 years = 28 Feb) — the
  Ukrainian Civil Code's art. 254 reading. The returned date is the **last day on which the act is still
  on time**.
* Working days are Monday-Friday minus the configured holidays. Ukraine's public holidays (suspended under
  martial law since 2022) are not built in: pass them in ``ScheduleRules.holidays``.
* "N working days after D" counts from the next day: D itself never counts.
* Whether "the seller is paid in 5 days" means calendar or working days was not found: calendar by default,
  ``seller_payment_working_days=True`` switches.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

__all__ = [
    "DEFAULT_RULES",
    "RepairTier",
    "ScheduleRules",
    "add_months",
    "add_working_days",
    "add_years",
    "certificate_expiry_date",
    "final_report_due",
    "funds_reservation_due",
    "is_working_day",
    "reservation_lapse_date",
    "seller_payment_due",
    "spending_window_end",
    "tier_for_amount",
]


class RepairTier(StrEnum):
    A = "A"  # <= UAH 200,000: 12 months
    B = "B"  # up to UAH 350,000 (apartment) / 500,000 (house): 18 months, interim report


@dataclass(frozen=True, slots=True)
class ScheduleRules:
    tier_a_months: int = 12
    tier_b_months: int = 18
    tier_a_max_kopiykas: int = 200_000_00
    final_report_working_days: int = 15
    funds_reservation_working_days: int = 5
    reservation_lapse_days: int = 30
    certificate_validity_years: int = 5
    seller_payment_days: int = 5
    seller_payment_working_days: bool = False
    holidays: frozenset[date] = field(default_factory=frozenset)

    def with_holidays(self, holidays: Iterable[date]) -> ScheduleRules:
        from dataclasses import replace

        return replace(self, holidays=frozenset(holidays))


DEFAULT_RULES = ScheduleRules()


def add_months(start: date, months: int) -> date:
    """``start`` plus ``months`` calendar months, clamped to the last day of the target month."""
    index = start.year * 12 + (start.month - 1) + months
    year, month0 = divmod(index, 12)
    day = min(start.day, calendar.monthrange(year, month0 + 1)[1])
    return date(year, month0 + 1, day)


def add_years(start: date, years: int) -> date:
    return add_months(start, 12 * years)


def is_working_day(day: date, holidays: Iterable[date] | frozenset[date] = frozenset()) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_working_days(start: date, days: int, holidays: Iterable[date] | frozenset[date] = frozenset()) -> date:
    """The ``days``-th working day after ``start`` (``start`` itself does not count)."""
    if days < 0:
        raise ValueError(f"working days must be >= 0, got {days}")
    hol = holidays if isinstance(holidays, frozenset) else frozenset(holidays)
    current = start
    remaining = days
    while remaining:
        current += timedelta(days=1)
        if is_working_day(current, hol):
            remaining -= 1
    return current


def tier_for_amount(amount_kopiykas: int, rules: ScheduleRules = DEFAULT_RULES) -> RepairTier:
    """Tier A if the repair amount is at most UAH 200,000, else tier B."""
    if isinstance(amount_kopiykas, bool) or not isinstance(amount_kopiykas, int) or amount_kopiykas <= 0:
        raise ValueError(f"amount must be a positive integer of kopiykas, got {amount_kopiykas!r}")
    return RepairTier.A if amount_kopiykas <= rules.tier_a_max_kopiykas else RepairTier.B


def spending_window_end(transfer_date: date, tier: RepairTier | str, rules: ScheduleRules = DEFAULT_RULES) -> date:
    """Last day the repair money may be spent: 12 (tier A) or 18 (tier B) months after the transfer."""
    t = RepairTier(tier)
    return add_months(transfer_date, rules.tier_a_months if t is RepairTier.A else rules.tier_b_months)


def final_report_due(completed_on: date, rules: ScheduleRules = DEFAULT_RULES) -> date:
    """Last day to file the final repair report: 15 working days after ``completed_on``.

    ``completed_on`` is the day the works were completed or, at the latest, the spending window's end.
    """
    return add_working_days(completed_on, rules.final_report_working_days, rules.holidays)


def funds_reservation_due(issued_on: date, rules: ScheduleRules = DEFAULT_RULES) -> date:
    """Last day to reserve a certificate's funds: 5 working days after issue."""
    return add_working_days(issued_on, rules.funds_reservation_working_days, rules.holidays)


def reservation_lapse_date(reserved_on: date, rules: ScheduleRules = DEFAULT_RULES) -> date:
    """Last day to sign the purchase; the reservation lapses the day after (30 calendar days)."""
    return reserved_on + timedelta(days=rules.reservation_lapse_days)


def certificate_expiry_date(issued_on: date, rules: ScheduleRules = DEFAULT_RULES) -> date:
    """Last day the certificate is valid: 5 years after issue (29 Feb -> 28 Feb)."""
    return add_years(issued_on, rules.certificate_validity_years)


def seller_payment_due(contract_signed_on: date, rules: ScheduleRules = DEFAULT_RULES) -> date:
    """Last day to pay the seller: 5 days (calendar by default, see the module notes) after the contract."""
    if rules.seller_payment_working_days:
        return add_working_days(contract_signed_on, rules.seller_payment_days, rules.holidays)
    return contract_signed_on + timedelta(days=rules.seller_payment_days)
