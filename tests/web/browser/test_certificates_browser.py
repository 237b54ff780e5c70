"""A notary's whole purchase in Chromium: two co-owners combine their certificates for one home (the booking
waits in the funding queue, then money arrives), the old ownership ended, the contract recorded; the public
check answers for the real certificate and reveals nothing for a wrong date of birth. Every page passes axe,
fits 360 px and runs under the real CSP."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from everymetre.claims.models import Person
from everymetre.kernel.iban import make_ua_iban
from everymetre.kernel.identifiers import make_rnokpp
from everymetre.payments import certificate_fund, ledger
from everymetre.payments.models import Certificate
from everymetre.store.tx import atomic
from tests.payments.store_helpers import decided_claim
from tests.web.browser.test_journeys import main_text, sign_in

pytestmark = pytest.mark.browser


def test_notary_buys_a_home_with_two_certificates(open_page, db, users, principal):
    claim = decided_claim(db, users["commission"], 300_000_000, kind="destroyed_housing_application",
                          submitted_by=users["citizen"], owners=[("Коваль Іван", 1, 2), ("Коваль Марія", 1, 2)])
    with atomic(db):
        for i, o in enumerate(sorted(claim.owners, key=lambda o: o.id)):
            o.person.birth_date = date(1961 + i, 3, 4)
            o.person.rnokpp = make_rnokpp(o.person.birth_date, 40 + i, i == 0)
        ledger.post_decision(db, claim, users["commission"])  # the decision issues one certificate per co-owner
    certs = db.scalars(select(Certificate).where(Certificate.claim_id == claim.id).order_by(Certificate.id)).all()
    holders = [db.get(Person, c.holder_person_id) for c in certs]
    numbers = [c.number for c in certs]
    db.rollback()

    n = open_page()
    sign_in(n, "notary")
    n.page.wait_for_url("**/notary")
    n.check()
    n.page.get_by_role("link", name="Забронювати сертифікати для житла").click()
    n.check()
    p = n.page
    p.get_by_label("Номер сертифіката", exact=True).fill(numbers[0])
    p.locator("#rnokpp1").fill(holders[0].rnokpp)
    p.get_by_label("Номер другого сертифіката").fill(numbers[1])
    p.locator("#rnokpp2").fill(holders[1].rnokpp)
    p.get_by_label("Повне ім'я продавця").fill("Бойко Андрій Петрович")
    p.get_by_label("РНОКПП продавця").fill(make_rnokpp(date(1970, 1, 1), 77, True))
    p.get_by_label("Рахунок продавця (IBAN)").fill(make_ua_iban("305299", 26_000_991))
    p.get_by_label("Реєстраційний номер житла").fill("2718281828")
    p.get_by_label("Адреса").fill("Київ, вул. Хрещатик, 1, кв. 5")
    p.get_by_label("Код КАТОТТГ громади").fill("UA80000000000093317")
    p.get_by_label("Площа, м²").fill("61,5")
    p.get_by_label("Ціна, грн").fill("3 200 000")
    p.get_by_role("button", name="Подати бронювання").click()
    p.wait_for_url("**/notary/reservations/*?done=filed")
    n.check("queued")
    text = main_text(n)
    assert "Очікує коштів" in text and "Місце в черзі на фінансування" in text and "200 000,00 грн" in text  # the buyers' part
    reservation = p.url.split("?")[0]

    # the paying agent gets money (the payments officer's page): the booking is confirmed
    pay = open_page()
    sign_in(pay, "payments")
    pay.goto("/staff/certificates/fund")
    pay.check()
    pay.page.get_by_label("Сума, грн").fill("3 000 000")
    pay.page.get_by_label("Номер переказу").fill("ALLOC-2026-1")
    pay.page.get_by_role("button", name="Записати").click()
    pay.page.wait_for_url("**/staff/certificates/fund?done=1")
    pay.check("funded")

    n.goto(reservation.removeprefix(n.base))
    n.check("confirmed")
    assert "Кошти зарезервовано" in main_text(n)
    p.get_by_label("Витяг з реєстру (номер)").fill("Витяг ДРРП 31415")
    p.get_by_label("Дата витягу").fill(date.today().isoformat())
    p.get_by_role("button", name="Записати припинення права власності").click()
    p.wait_for_url("**?done=recorded")
    n.check("terminated")
    p.get_by_label("Номер договору").fill("Д-2026/15")
    p.get_by_label("Дата підписання").fill(date.today().isoformat())
    p.get_by_role("button", name="Записати договір").click()
    p.wait_for_url("**?done=recorded")
    n.check("signed")
    assert "Договір підписано" in main_text(n)
    db.rollback()
    states = db.execute(select(Certificate.number, Certificate.state, Certificate.reservation_id)).all()
    assert {s for _n, s, _r in states if _n in numbers} == {"contract_signed"}, states
    assert certificate_fund.fund_balance(db) == 0
    db.rollback()

    # the public check: the real certificate answers, a wrong date of birth reveals nothing
    pub = open_page()
    pub.goto(f"/public/certificate-check?number={numbers[0]}")
    pub.check()
    pub.page.get_by_label("Дата народження власника").fill(holders[0].birth_date.isoformat())
    pub.page.get_by_role("button", name="Перевірити").click()
    pub.check("found")
    assert "Зарезервований для купівлі" in main_text(pub) and "1 500 000,00 грн" in main_text(pub)
    pub.page.get_by_label("Дата народження власника").fill("1990-01-01")
    pub.page.get_by_role("button", name="Перевірити").click()
    pub.check("no match")
    text = main_text(pub)
    assert "Немає сертифіката з таким номером і датою народження" in text and "1 500 000" not in text
