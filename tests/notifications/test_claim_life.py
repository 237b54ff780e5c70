"""One claim's whole life reaches the claimant by e-mail, in order, through a real SMTP server; nothing is sent
inside a request; the inbox has the same messages."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from everymetre.config import get_settings
from everymetre.notifications.models import Notification
from everymetre.notifications.worker import run
from tests.store.test_claims_api import ACT, file_claim, move


def deliver() -> None:
    report = run(get_settings(), once=True, say=lambda _: None)
    assert report.failed == 0, report.errors


def test_a_claims_whole_life_by_mail_in_order(client, auth, db, smtp):
    c = file_claim(client, auth)
    ref = c["reference"]
    assert smtp.messages == []  # the request only wrote the outbox
    rows = db.scalars(select(Notification).where(Notification.reference == ref)).all()
    assert {(n.channel, n.status) for n in rows} == {("inbox", "sent"), ("email", "pending")}
    deliver()
    assert len(smtp.messages) == 1
    c = move(client, auth, "officer", c, "assigned")  # taking it for verification tells nobody
    deadline = date.today() + timedelta(days=19)
    c = move(client, auth, "officer", c, "suspended", documents_requested=["Витяг з реєстру"], deadline=deadline.isoformat())
    c = move(client, auth, "citizen", c, "assigned", reason="Додала витяг")
    c = move(client, auth, "inspector", c, "inspection_scheduled", inspection_date=date.today().isoformat())
    deliver()
    c = move(client, auth, "inspector", c, "inspected", inspection_act=ACT)
    c = move(client, auth, "officer", c, "assessed")
    c = move(client, auth, "commission", c, "approved", decision={"reasons": "Пошкодження підтверджено"})
    deliver()
    deliver()  # nothing is sent twice
    subjects = [str(m["Subject"]) for m in smtp.messages]
    assert len(subjects) == 6, subjects
    assert all(ref in s for s in subjects)
    assert subjects[0] == f"Заяву {ref} прийнято"
    assert "потрібні документи до" in subjects[1] and str(deadline.year) in subjects[1]
    assert "розгляд продовжено" in subjects[2]
    assert "обстеження" in subjects[3]
    assert "розраховано суму" in subjects[4]
    assert "компенсацію призначено" in subjects[5] and "37\u00a0375,13\u00a0грн" in subjects[5]
    assert {str(m["To"]) for m in smtp.messages} == {"citizen@test.org"}
    assert len(set(smtp.ids())) == 6
    body = smtp.messages[1].get_content()
    assert "Витяг з реєстру" in body and ref in body
    assert "оскаржте рішення до" in smtp.messages[5].get_content()
    db.rollback()
    sent = db.scalars(select(Notification).where(Notification.reference == ref, Notification.channel == "email")
                      .order_by(Notification.id)).all()
    assert [n.status for n in sent] == ["sent"] * 6 and all(n.attempts == 1 for n in sent)
    assert [n.message_id for n in sent] == smtp.ids()
    inbox = db.scalars(select(Notification.kind).where(Notification.reference == ref, Notification.channel == "inbox")
                       .order_by(Notification.id)).all()
    assert inbox == ["submitted", "documents_requested", "resumed", "inspection_scheduled", "assessed", "approved"]


def test_english_for_an_english_account(client, auth, db, users, smtp):
    from sqlalchemy import update

    from everymetre.accounts.models import User

    db.execute(update(User).where(User.id == users["citizen2"]).values(locale="en"))
    db.commit()
    try:
        c = file_claim(client, auth, "citizen2")
        deliver()
        assert [str(m["Subject"]) for m in smtp.messages] == [f"Claim {c['reference']} received"]
        assert smtp.messages[0]["Content-Language"] == "en"
    finally:
        db.execute(update(User).where(User.id == users["citizen2"]).values(locale="uk"))
        db.commit()


def test_no_smtp_url_means_no_mail_rows(client, auth, db):
    c = file_claim(client, auth)
    rows = db.scalars(select(Notification.channel).where(Notification.reference == c["reference"])).all()
    assert rows == ["inbox"]


def test_refused_address_fails_and_server_down_retries(client, auth, db, smtp, monkeypatch):
    smtp.refuse.add("citizen@test.org")
    c = file_claim(client, auth)
    report = run(get_settings(), once=True, say=lambda _: None)
    assert report.failed == 1 and report.sent == 0
    n = db.scalar(select(Notification).where(Notification.reference == c["reference"], Notification.channel == "email"))
    assert n.status == "failed" and "550" in n.last_error
    # a server that does not answer: the message waits and is retried with back-off
    from tests.notifications.conftest import free_port

    monkeypatch.setenv("EVERYMETRE_SMTP_URL", f"smtp://127.0.0.1:{free_port()}")
    monkeypatch.setenv("EVERYMETRE_WORKER_BACKOFF_SECONDS", "60")
    get_settings.cache_clear()
    c2 = file_claim(client, auth, "citizen2")
    report = run(get_settings(), once=True, say=lambda _: None)
    assert report.retried == 1 and report.sent == 0
    db.rollback()
    n2 = db.scalar(select(Notification).where(Notification.reference == c2["reference"], Notification.channel == "email"))
    assert n2.status == "pending" and n2.attempts == 1 and n2.next_attempt_at > n2.created_at + timedelta(seconds=50)
