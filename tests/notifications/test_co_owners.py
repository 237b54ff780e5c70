"""Notices about a claim reach its co-owners whose accounts are verified as them (claims.identity), through a real
SMTP server: the claim's news to every verified co-owner, a certificate's only to the co-owner holding it; each in
their own language and channels; the filer who is also a co-owner is told once."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, timedelta

from sqlalchemy import select, update

from everymetre.accounts.actions import do_create_user
from everymetre.accounts.models import User
from everymetre.api.security import issue_token
from everymetre.claims.models import Person
from everymetre.config import get_settings
from everymetre.kernel.identifiers import make_rnokpp
from everymetre.notifications.models import Notification
from everymetre.payments import certificates as svc
from tests.conftest import PASSWORD
from tests.factories import claim_body, owner
from tests.notifications.test_claim_life import deliver
from tests.payments.store_helpers import decided_claim
from tests.store.test_claims_api import ACT, move

API = "/api/v1"
FILER_BORN, OLENA_BORN, IVAN_BORN = date(1960, 2, 11), date(1964, 7, 30), date(1990, 12, 5)


def account(db, client, rnokpp: str, born: date, locale: str = "uk", email_on: bool = True) -> tuple[int, str, dict]:
    """A claimant account verified (through the API, the second factor) as the person with `rnokpp`."""
    email = f"co.{uuid.uuid4().hex[:10]}@test.org"
    user = do_create_user(db, None, email, PASSWORD, "claimant")
    db.execute(update(User).where(User.id == user.id).values(locale=locale))
    db.commit()
    header = {"Authorization": f"Bearer {issue_token(db, get_settings(), user.id)}"}
    if not email_on:
        assert client.put(f"{API}/me/notification-channels", json={"email": False, "sms": False},
                          headers=header).status_code == 200
    r = client.post(f"{API}/me/identity", json={"rnokpp": rnokpp, "birth_date": born.isoformat()}, headers=header)
    assert r.status_code == 200, r.text
    return user.id, email, header


def inbox(db, claim_id: int) -> Counter:
    db.rollback()
    return Counter(db.execute(select(Notification.user_id, Notification.kind)
                              .where(Notification.claim_id == claim_id, Notification.channel == "inbox")).tuples().all())


def test_the_claims_news_reaches_every_verified_co_owner_once(client, auth, db, users, smtp):
    filer_rn, olena_rn, ivan_rn = (make_rnokpp(FILER_BORN, 11, True), make_rnokpp(OLENA_BORN, 12, False),
                                   make_rnokpp(IVAN_BORN, 13, True))
    r = client.post(f"{API}/claims", headers=auth("citizen"), json=claim_body(owners=[
        owner("Бондар Петро Іванович", FILER_BORN, share="1/2", rnokpp=filer_rn, is_applicant=True),
        owner("Бондар Олена Петрівна", OLENA_BORN, share="1/4", rnokpp=olena_rn),
        owner("Бондар Іван Петрович", IVAN_BORN, share="1/4", rnokpp=ivan_rn)]))
    assert r.status_code == 201, r.text
    c = r.json()
    ref, cid = c["reference"], int(c["reference"].rsplit("-", 1)[1])
    olena, olena_mail, olena_h = account(db, client, olena_rn, OLENA_BORN, locale="en")
    ivan, _, _ = account(db, client, ivan_rn, IVAN_BORN, email_on=False)  # the inbox only, by his choice
    # the filer verifies as the applicant: a co-owner too, and still told once
    filer_h = auth("citizen")
    assert client.post(f"{API}/me/identity", json={"rnokpp": filer_rn, "birth_date": FILER_BORN.isoformat()},
                       headers=filer_h).status_code == 200
    try:
        c = move(client, auth, "officer", c, "assigned")
        c = move(client, auth, "officer", c, "suspended", documents_requested=["Витяг з реєстру"],
                 deadline=(date.today() + timedelta(days=19)).isoformat())
        c = move(client, auth, "citizen", c, "assigned", reason="Додали витяг")
        c = move(client, auth, "inspector", c, "inspection_scheduled", inspection_date=date.today().isoformat())
        c = move(client, auth, "inspector", c, "inspected", inspection_act=ACT)
        c = move(client, auth, "officer", c, "assessed")
        c = move(client, auth, "commission", c, "approved", decision={"reasons": "Пошкодження підтверджено"})
        deliver()
        deliver()  # nothing twice

        told = ["documents_requested", "resumed", "inspection_scheduled", "assessed", "approved"]
        counts = inbox(db, cid)
        assert counts == Counter({(users["citizen"], "submitted"): 1, **{(u, k): 1 for u in (users["citizen"], olena, ivan)
                                                                         for k in told}})
        by_to = Counter(str(m["To"]) for m in smtp.messages)
        assert by_to == {"citizen@test.org": 6, olena_mail: 5}  # Ivan chose the inbox only
        olenas = [m for m in smtp.messages if str(m["To"]) == olena_mail]
        assert all(m["Content-Language"] == "en" and ref in str(m["Subject"]) for m in olenas)
        assert str(olenas[0]["Subject"]).startswith(f"Claim {ref}")
        assert "Витяг з реєстру" in olenas[0].get_content()
        assert len(set(smtp.ids())) == len(smtp.messages)  # every message its own id
        theirs = client.get(f"{API}/me/notifications", headers=olena_h).json()
        assert sorted(n["kind"] for n in theirs) == sorted(told)
    finally:
        db.execute(update(User).where(User.id == users["citizen"]).values(verified_rnokpp=None, verified_at=None,
                                                                            verified_through=None))
        db.commit()


def test_a_certificates_notice_reaches_the_co_owner_who_holds_it(client, db, users, principal, smtp):
    c = decided_claim(db, users["commission"], 150_000_000, kind="destroyed_housing_application",
                      submitted_by=users["citizen"], owners=[("Шевченко Олена Петрівна", 1, 2),
                                                             ("Шевченко Андрій Петрович", 1, 2)])
    andriy_rn = make_rnokpp(IVAN_BORN, 21, True)
    second = sorted(c.owners, key=lambda o: o.id)[1].person_id
    db.execute(update(Person).where(Person.id == second).values(rnokpp=andriy_rn, birth_date=IVAN_BORN))
    db.commit()
    andriy, andriy_mail, _ = account(db, client, andriy_rn, IVAN_BORN)
    certs = svc.do_issue_certificate(db, principal("payments"), c.reference)
    assert len(certs) == 2
    mine = next(x for x in certs if x.holder_person_id == second)
    other = next(x for x in certs if x.holder_person_id != second)
    deliver()
    db.rollback()
    rows = db.execute(select(Notification.user_id, Notification.subject)
                      .where(Notification.claim_id == c.id, Notification.channel == "inbox",
                             Notification.kind == "certificate_issued")).all()
    assert sorted(u for u, _ in rows) == sorted([users["citizen"], users["citizen"], andriy])  # the filer hears both
    (andriys,) = [s for u, s in rows if u == andriy]
    assert mine.number in andriys and other.number not in andriys
    to_andriy = [m for m in smtp.messages if str(m["To"]) == andriy_mail]
    assert len(to_andriy) == 1 and mine.number in str(to_andriy[0]["Subject"])

    # the other co-owner's certificate revoked: Andriy is not told; his own revoked: he is
    from everymetre.payments.certificate_issue import revoke
    from everymetre.store.tx import atomic

    with atomic(db):
        revoke(db, db.merge(other), users["admin"], date.today(), "admin")
    with atomic(db):
        revoke(db, db.merge(mine), users["admin"], date.today(), "admin")
    db.rollback()
    revoked = db.execute(select(Notification.user_id, Notification.subject)
                         .where(Notification.claim_id == c.id, Notification.channel == "inbox",
                                Notification.kind == "certificate_revoked")).all()
    assert sorted(u for u, _ in revoked) == sorted([users["citizen"], users["citizen"], andriy])
    assert [s for u, s in revoked if u == andriy] == [s for u, s in revoked if mine.number in s and u == andriy]
    assert all(mine.number in s for u, s in revoked if u == andriy)
