"""SMS (segment counting, the gateway adapter against a real local HTTP server), the SMTP URL, scheduled jobs
once per period, deadline reminders 7 and 1 days ahead, and the hook's cost."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from everymetre.config import get_settings
from everymetre.notifications.jobs import JOBS, Job, deadline_reminders, period_of, run_due_jobs
from everymetre.notifications.mail import SmtpUrlError, parse_smtp_url
from everymetre.notifications.models import JobRun, Notification
from everymetre.notifications.sms import segments
from everymetre.notifications.texts import LANGUAGES, TEXTS, render
from everymetre.notifications.worker import run
from tests.factories import owner
from tests.store.test_claims_api import file_claim, move


def test_sms_segments_gsm7_and_ucs2():
    assert segments("a" * 160) == segments("a" * 160) and segments("a" * 160).parts == 1
    assert (segments("a" * 161).parts, segments("a" * 161).per_part) == (2, 153)
    assert segments("a" * 306).parts == 2 and segments("a" * 307).parts == 3
    assert segments("€" * 80).units == 160 and segments("€" * 81).parts == 2  # the extension table takes two
    uk = segments("Ї" * 70)
    assert (uk.encoding, uk.parts) == ("UCS-2", 1)
    assert (segments("Ї" * 71).parts, segments("Ї" * 71).per_part) == (2, 67)
    assert segments("Ї" * 134).parts == 2 and segments("Ї" * 135).parts == 3
    assert segments("a" * 159 + "ї").encoding == "UCS-2"  # one Cyrillic letter makes the whole text UCS-2
    assert segments("😀" * 35).units == 70 and segments("😀" * 36).parts == 2


@pytest.mark.parametrize("kind", sorted(TEXTS))
def test_every_sms_fits_two_parts_and_names_the_reference(kind):
    params = {"ref": "EM-2026-0001234", "documents": ["Витяг з реєстру речових прав"], "deadline": "2026-12-20",
              "date": "2026-12-03", "until": "2027-01-31", "amount": 123_456_789, "number": "HC-2026-00001234-7",
              "days": 7, "reasons": "Пошкодження не підтверджено"}
    for lang in LANGUAGES:
        text = render(kind, lang, params)
        assert segments(text.sms).parts <= 2, (kind, lang, text.sms, segments(text.sms))
        if kind.startswith("certificate_") and "{ref}" not in TEXTS[kind][lang].sms:
            assert params["number"] in text.sms
        else:
            assert params["ref"] in text.sms and params["ref"] in text.subject
        assert params["ref"] in text.body


def test_smtp_url_forms():
    t = parse_smtp_url("smtps://mailer:p%40ss@mail.example.org:465")
    assert (t.scheme, t.host, t.port, t.user, t.password) == ("smtps", "mail.example.org", 465, "mailer", "p@ss")
    assert parse_smtp_url("smtp://127.0.0.1:2525").port == 2525
    with pytest.raises(SmtpUrlError):
        parse_smtp_url("http://mail.example.org")


def test_sms_through_the_gateway(client, auth, db, sms_gateway):
    c = file_claim(client, auth, owners=[owner(is_applicant=True, phone="+380 50 123-45-67")])
    report = run(get_settings(), once=True, say=lambda _: None)
    assert report.sent == 1 and report.failed == 0
    headers, body = sms_gateway.requests[0]
    assert headers["Authorization"] == "Bearer test-key"
    assert body["recipients"] == ["380501234567"] and c["reference"] in body["sms"]["text"]
    n = db.scalar(select(Notification).where(Notification.channel == "sms"))
    assert n.status == "sent" and n.provider_id == "gw-1"
    # a refused number is not retried; a gateway error is
    sms_gateway.answer = (200, {"response_code": 406, "response_status": "NOT_ALLOWED_RECIPIENT_COUNTRY"})
    move(client, auth, "officer", c, "assigned")
    c = client.get(f"/api/v1/claims/{c['reference']}", headers=auth("officer")).json()
    sms_gateway.answer = (503, {})
    move(client, auth, "officer", c, "suspended", documents_requested=["Витяг"])
    report = run(get_settings(), once=True, say=lambda _: None)
    assert report.retried + report.failed >= 1 and report.sent == 0


def test_each_job_once_per_period(db):
    calls: list[date] = []

    def job(session, today):
        calls.append(today)
        return "ok"

    jobs = (Job("probe", "0 3 * * *", job),)
    at = datetime(2026, 5, 10, 1, 0, tzinfo=UTC)  # 04:00 in Kyiv (summer time): today's 03:00 has passed
    assert period_of(jobs[0], at).isoformat() == "2026-05-10T03:00:00+03:00"
    assert run_due_jobs(db, "w1", at, jobs) == [("probe", "2026-05-10T03:00:00+03:00", "ok")]
    assert run_due_jobs(db, "w2", at + timedelta(hours=5), jobs) == []  # another worker, same period
    assert run_due_jobs(db, "w1", at + timedelta(days=1), jobs)[0][1] == "2026-05-11T03:00:00+03:00"
    assert calls == [date(2026, 5, 10), date(2026, 5, 11)]


def test_a_run_that_died_is_taken_again_after_its_lease(db):
    from everymetre.notifications.jobs import take

    at = datetime(2026, 5, 10, 1, 0, tzinfo=UTC)
    assert take(db, "probe", "p", "w1", at)  # w1 takes it and dies before finishing
    assert not take(db, "probe", "p", "w2", at + timedelta(minutes=1))
    assert take(db, "probe", "p", "w2", at + timedelta(hours=1))


def test_deadline_reminders_7_and_1_days_ahead_once(client, auth, db):
    today = date.today()
    refs = {}
    for days in (7, 1, 3):
        c = move(client, auth, "officer", file_claim(client, auth), "assigned")
        c = move(client, auth, "officer", c, "suspended", documents_requested=["Довідка"],
                 deadline=(today + timedelta(days=days)).isoformat())
        refs[days] = c["reference"]
    assert "2 claim(s) reminded (2 new" in deadline_reminders(db, today)
    assert "(0 new" in deadline_reminders(db, today)  # a second run queues nothing again
    rows = db.execute(select(Notification.reference, Notification.subject).where(
        Notification.kind == "deadline_reminder")).all()
    assert sorted(r.reference for r in rows) == sorted([refs[7], refs[1]])
    assert any("залишилось 7 дн." in r.subject for r in rows)


def test_no_query_for_events_nobody_hears_about(client, auth, db, engine):
    from sqlalchemy import event

    c = file_claim(client, auth)
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        move(client, auth, "officer", c, "assigned")  # no notification for taking a claim
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert seen and not [s for s in seen if "notifications" in s or "LEFT OUTER JOIN ownerships" in s]
    assert db.scalar(select(func.count()).select_from(Notification).where(Notification.kind == "submitted")) == 1
    assert {j.name for j in JOBS} == {"claims_sweep", "pay_sweep", "deadline_reminders", "public_log_sync", "heartbeat"}
    assert db.scalar(select(func.count()).select_from(JobRun)) == 0


def test_a_slow_batch_renews_its_lease(engine, db, smtp, monkeypatch):
    """Sending takes longer than half the lease: the worker extends it, so no other worker takes those rows."""
    import everymetre.notifications.delivery as delivery
    from tests.notifications.helpers import insert_outbox

    insert_outbox(engine, 3, "slow")
    monkeypatch.setenv("EVERYMETRE_WORKER_LEASE_SECONDS", "2")
    get_settings.cache_clear()
    renewed: list[int] = []
    real_send, real_renew = delivery.Channels.send, delivery._renew

    def slow_send(self, n):
        import time

        time.sleep(0.6)
        return real_send(self, n)

    def renew(session, token, ids, lease):
        renewed.append(len(ids))
        real_renew(session, token, ids, lease)
        assert not delivery.claim_batch(db, "other", 10, 2)  # meanwhile another worker finds nothing to take

    monkeypatch.setattr(delivery.Channels, "send", slow_send)
    monkeypatch.setattr(delivery, "_renew", renew)
    report = run(get_settings(), once=True, say=lambda _: None)
    assert report.sent == 3 and renewed and len(set(smtp.ids())) == 3 and len(smtp.ids()) == 3
