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


# ------------------------------------------------------------------ the clock kept on the claim (sla.due)

from datetime import timedelta  # noqa: E402

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from everymetre.sla.due import from_moves  # noqa: E402

RUNNING = ["auto_checked", "assigned", "inspection_scheduled", "inspected", "assessed"]


@given(st.lists(st.tuples(st.integers(0, 20), st.sampled_from(["run", "suspend", "resume", "decide", "appeal"])),
                max_size=12), st.integers(0, 90))
def test_stored_clock_is_the_trail_clock(steps, later):
    """For any history, the two columns say what `clock()` reads from the trail: due while it runs, None while
    suspended or after a decision (and so overdue exactly when the trail clock says overdue)."""
    t = at(1)
    moves = [(t, "draft", "submitted"), (t, "submitted", "auto_checked")]
    state = "auto_checked"
    for gap, kind in steps:
        t += timedelta(days=gap, hours=gap)
        target = {"run": RUNNING[gap % len(RUNNING)], "suspend": "suspended", "resume": "assigned",
                  "decide": "approved", "appeal": "appealed"}[kind]
        if (kind == "resume") != (state == "suspended") or (kind == "appeal" and state != "approved"):
            continue
        moves.append((t, state, target))
        state = target
    today = (t + timedelta(days=later)).date()
    c = clock(moves, today)
    due, _ = from_moves(moves, 30)
    if c.stopped or c.paused:
        assert due is None
    else:
        assert due == c.due_on
        assert (due < today) == c.overdue


def test_overdue_filter_counts_and_pause(db, principal, client, auth, web):  # noqa: F811
    from everymetre.claims.actions import do_create_claim, do_transition
    from everymetre.claims.schemas import ClaimCreate, TransitionIn
    from everymetre.sla.clock import for_claim
    from everymetre.sla.due import kyiv_day
    from everymetre.sla.overdue import clear_cache, overdue_by_oblast
    from everymetre.store.types import utcnow
    from tests.factories import claim_body

    now = utcnow()
    old = do_create_claim(db, principal("citizen"), ClaimCreate(**claim_body()), now=now - timedelta(days=40))
    fresh = file_claim(client, auth)
    ref = old.reference
    assert old.decision_due_on == kyiv_day(now - timedelta(days=40)) + timedelta(days=30)
    listed = client.get("/api/v1/claims?overdue=true", headers=auth("officer")).json()["items"]
    assert [c["reference"] for c in listed] == [ref]
    everyone = {c["reference"] for c in client.get("/api/v1/claims", headers=auth("officer")).json()["items"]}
    assert {ref, fresh["reference"]} <= everyone
    assert client.get("/api/v1/claims?overdue=true", headers=auth("officer_lviv")).json()["items"] == []
    clear_cache()
    assert overdue_by_oblast(db) == {"kharkivska": 1}
    page = web("officer").get("/staff/queue?view=all&overdue=1").text
    assert ref in page and fresh["reference"] not in page
    assert "Прострочені рішення на сьогодні" in page and "Харківська" in page
    assert "Прострочені рішення" not in web("officer_lviv").get("/staff/queue").text  # another commission's
    # suspended: the clock is paused, not overdue; resumed 5 days later, the due date moves by those 5 days
    officer = principal("officer")
    claim = do_transition(db, officer, ref, TransitionIn(to="assigned", expected_version=old.version),
                          now=now - timedelta(days=20))
    claim = do_transition(db, officer, ref, TransitionIn(to="suspended", expected_version=claim.version,
                                                         documents_requested=["Довідка"]), now=now - timedelta(days=15))
    assert claim.decision_due_on is None
    assert client.get("/api/v1/claims?overdue=true", headers=auth("officer")).json()["items"] == []
    claim = do_transition(db, officer, ref, TransitionIn(to="assigned", expected_version=claim.version),
                          now=now - timedelta(days=10))
    trail = for_claim(db, claim.id)
    assert trail is not None and claim.decision_due_on == trail.due_on and claim.decision_paused_days == 5
    assert trail.overdue  # due five days ago
    clear_cache()
    assert overdue_by_oblast(db) == {"kharkivska": 1}
    assert [c["reference"] for c in client.get("/api/v1/claims?overdue=true", headers=auth("officer")).json()["items"]] == [ref]
