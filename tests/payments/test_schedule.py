from __future__ import annotations

from datetime import date

import pytest

from everymetre.payments.schedule import (
    RepairTier,
    ScheduleRules,
    add_months,
    add_working_days,
    certificate_expiry_date,
    final_report_due,
    funds_reservation_due,
    reservation_lapse_date,
    seller_payment_due,
    spending_window_end,
    tier_for_amount,
)


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert add_months(date(2023, 5, 10), 12) == date(2024, 5, 10)
    assert add_months(date(2023, 8, 31), 18) == date(2025, 2, 28)


def test_spending_windows() -> None:
    assert spending_window_end(date(2023, 5, 10), RepairTier.A) == date(2024, 5, 10)
    assert spending_window_end(date(2023, 5, 10), "B") == date(2024, 11, 10)
    with pytest.raises(ValueError):
        spending_window_end(date(2023, 5, 10), "C")


def test_tier_for_amount() -> None:
    assert tier_for_amount(200_000_00) is RepairTier.A
    assert tier_for_amount(200_000_01) is RepairTier.B
    with pytest.raises(ValueError):
        tier_for_amount(0)


def test_working_days_skip_weekends_and_holidays() -> None:
    friday = date(2026, 1, 9)
    assert add_working_days(friday, 1) == date(2026, 1, 12)  # Monday
    assert add_working_days(friday, 0) == friday
    assert add_working_days(friday, 1, {date(2026, 1, 12)}) == date(2026, 1, 13)
    # 15 working days = 3 weeks
    assert final_report_due(date(2026, 1, 9)) == date(2026, 1, 30)
    rules = ScheduleRules().with_holidays([date(2026, 1, 14)])
    assert final_report_due(date(2026, 1, 9), rules) == date(2026, 2, 2)
    with pytest.raises(ValueError):
        add_working_days(friday, -1)


def test_certificate_dates() -> None:
    issued = date(2024, 2, 29)
    assert certificate_expiry_date(issued) == date(2029, 2, 28)
    assert funds_reservation_due(date(2026, 1, 9)) == date(2026, 1, 16)
    assert reservation_lapse_date(date(2026, 1, 10)) == date(2026, 2, 9)
    assert seller_payment_due(date(2026, 1, 9)) == date(2026, 1, 14)
    assert seller_payment_due(date(2026, 1, 9), ScheduleRules(seller_payment_working_days=True)) == date(2026, 1, 16)
