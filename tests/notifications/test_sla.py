"""The SLA clock: 30 days from submission, paused while suspended, stopped by the decision; shown on the
officer's and the claimant's claim pages."""

from __future__ import annotations

from datetime import UTC, date, datetime

from everymetre.sla.clock import clock
from tests.store.test_claims_api import file_claim, move
from tests.web.conftest import web  # noqa: F401


def at(day: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, 10, 0, tzinfo=UTC)


def test_clock_pauses_while_suspended_and_stops_at_the_decision():
    moves = [(at(1), "draft", "submitted"), (at(1), "submitted", "auto_checked"), (at(2), "auto_checked", "assigned")]
    c = clock(moves, date(2026, 3, 11))
    assert (c.due_on, c.days_left, c.paused, c.overdue) == (date(2026, 3, 31), 20, False, False)
    moves += [(at(5), "assigned", "suspended"), (at(15), "suspended", "assigned")]  # 10 days waiting for documents
    c = clock(moves, date(2026, 4, 5))
    assert (c.due_on, c.paused_days, c.days_left) == (date(2026, 4, 10), 10, 5)
    assert clock(moves, date(2026, 4, 12)).overdue
    paused = clock(moves[:4], date(2026, 3, 25))  # suspended since the 5th, still waiting
    assert paused.paused and paused.paused_days == 20 and not paused.overdue
    done = clock([*moves, (at(8, 4), "assessed", "approved")], date(2026, 6, 1))
    assert done.stopped and done.days_left == 2 and not done.overdue
    assert clock([(at(1), "draft", "withdrawn")], date(2026, 3, 2)) is None


def test_days_left_on_the_pages(client, auth, web):  # noqa: F811
    c = file_claim(client, auth)
    ref = c["reference"]
    assert "Днів до рішення: 30" in web("officer").get(f"/staff/claims/{ref}").text
    assert "Днів до рішення: 30" in web("citizen").get(f"/my/claims/{ref}").text
    c = move(client, auth, "officer", c, "assigned")
    move(client, auth, "officer", c, "suspended", documents_requested=["Довідка"])
    assert "строк ухвалення рішення зупинено" in web("citizen").get(f"/my/claims/{ref}").text
