"""Times are stored in UTC and shown in Europe/Kyiv (summer time included); dates in the Ukrainian style."""

from __future__ import annotations

from datetime import UTC, datetime

from everymetre.web import i18n


def test_moment_and_day_in_kyiv_time():
    late = datetime(2026, 3, 12, 22, 30, tzinfo=UTC)  # winter: UTC+2, already the next day in Kyiv
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)  # summer: UTC+3
    try:
        i18n.set_language("uk")
        assert i18n.moment(late) == "13 бер. 2026 р., 00:30"
        assert i18n.day(late).replace("\u202f", " ") == "13 березня 2026 р."
        assert i18n.moment(summer).endswith("15:00")
        i18n.set_language("en")
        assert i18n.moment(late) == "13 Mar 2026, 00:30" and i18n.day(late) == "13 March 2026"
    finally:
        i18n.set_language("uk")
