"""The payments officer's day through the pages (HTTP, in Ukrainian): the bank file, marked sent, a statement with
one return and one unknown entry, its result page, the exceptions queue, resolving the unknown entry, cancelling;
and the refusals (a sent batch, a bad file, no reason, read-only roles)."""

from __future__ import annotations

import re
from datetime import date

from everymetre.payments import batches
from everymetre.payments.camt053 import EntryStatus, StatementEntry, build_camt053
from everymetre.payments.iso20022 import read_pain001, validate_pain001
from everymetre.payments.models import PaymentBatch
from tests.payments.store_helpers import decided_claim
from tests.web.test_payments_pages import build, second_payments_officer

ENGLISH = re.compile(r"\b(the|statement|payment|batch|returned|entry|bank)\b", re.IGNORECASE)


def visible_text(html: str) -> str:
    body = html.split("<main", 1)[-1].split("</main>", 1)[0]
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def approved_batch(web, db, users) -> tuple[object, str, int]:
    officer = web("payments")
    location = build(officer)
    batch_id = int(location.split("/")[-1].split("?")[0])
    _, second = second_payments_officer(web, db)
    total = db.get(PaymentBatch, batch_id).total_kopiykas
    db.rollback()
    r = second.post(f"/staff/payments/{batch_id}/approve", {"expected_total_kopiykas": str(total)}, token_from=location)
    assert r.status_code == 303, r.text
    return officer, f"/staff/payments/{batch_id}", batch_id


def test_the_day_after_approval_in_the_pages(web, db, users):
    a = decided_claim(db, users["commission"], 10_000_000)
    b = decided_claim(db, users["commission"], 7_000_000)
    officer, page_url, _ = approved_batch(web, db, users)
    page = officer.get(page_url).text
    assert "Завантажити файл для банку" in page and "Скасувати партію" in page
    f = officer.post(f"{page_url}/file", {}, token_from=page_url)
    assert f.status_code == 200 and f.headers["content-type"].startswith("application/xml")
    validate_pain001(f.content)
    page = officer.get(page_url).text
    assert "Позначити як надіслану до банку" in page
    r = officer.post(f"{page_url}/send", {}, token_from=page_url)
    assert r.status_code == 303 and r.headers["location"].endswith("done=sent")
    page = officer.get(r.headers["location"]).text
    assert "Партію записано як надіслану до банку" in page and "Скасувати партію" not in page
    # a sent batch: cancelling is refused, saying why
    refused = officer.post(f"{page_url}/cancel", {"reason": "запізно"}, token_from=page_url)
    assert refused.status_code == 409 and "не можна скасувати" in refused.text

    t = {x.amount_kopiykas: x for x in read_pain001(f.content)}
    stmt = build_camt053([
        StatementEntry(t[10_000_000].end_to_end_id, 10_000_000, EntryStatus.BOOKED, date(2026, 2, 2)),
        StatementEntry(t[7_000_000].end_to_end_id, 7_000_000, EntryStatus.REJECTED, date(2026, 2, 2), credit_debit="CRDT",
                       reason_code="AC04"),
        StatementEntry(None, 1_500, EntryStatus.BOOKED, date(2026, 2, 2))], account_iban=batches.debtor_account().iban)
    up = officer.post("/staff/payments/statements", {}, token_from="/staff/payments/statements",
                      files={"statement": ("statement.xml", stmt, "application/xml")})
    assert up.status_code == 303 and "done=uploaded" in up.headers["location"], up.text
    result = officer.get(up.headers["location"]).text
    text = visible_text(result)
    assert "Виписку записано" in text and "Рахунок закрито" in text and "Виправити рахунок отримувача" in text
    assert f'href="/staff/claims/{b.reference}"' in result and a.reference in result
    assert "Не відповідає жодному нашому платежу" in text
    assert not ENGLISH.search(text.replace("camt.053", "")), ENGLISH.findall(text)[:5]
    # the same file again records nothing, and says so
    again = officer.post("/staff/payments/statements", {}, token_from="/staff/payments/statements",
                         files={"statement": ("statement.xml", stmt, "application/xml")})
    assert "done=duplicate" in again.headers["location"]
    assert again.headers["location"].split("?")[0] == up.headers["location"].split("?")[0]

    # the exceptions queue: the returned payment (to the claim's page) and the unknown entry (to its statement)
    queue = officer.get("/staff/payments/exceptions").text
    assert "Платежі, які повернув банк" in queue and f'href="/staff/claims/{b.reference}/payout-account"' in queue
    m = re.search(r'href="(/staff/payments/statements/\d+#entry-(\d+))"', queue)
    assert m, queue
    entry_id = m.group(2)
    assert not ENGLISH.search(visible_text(queue)), ENGLISH.findall(visible_text(queue))[:5]
    statement_url = m.group(1).split("#")[0]
    # dismissing needs a reason; then the entry leaves the queue
    no_reason = officer.post(f"/staff/payments/statement-entries/{entry_id}/dismiss", {"reason": ""}, token_from=statement_url)
    assert no_reason.status_code == 422 and "Скажіть, чому" in no_reason.text
    bad_match = officer.post(f"/staff/payments/statement-entries/{entry_id}/match", {"end_to_end_id": "EMP-NONE"},
                             token_from=statement_url)
    assert bad_match.status_code == 422 and "Немає платежу з таким ідентифікатором" in bad_match.text
    ok = officer.post(f"/staff/payments/statement-entries/{entry_id}/dismiss", {"reason": "Комісія банку"},
                      token_from=statement_url)
    assert ok.status_code == 303 and "done=dismissed" in ok.headers["location"]
    assert "Комісія банку" in officer.get(statement_url).text
    assert f"#entry-{entry_id}" not in officer.get("/staff/payments/exceptions").text
    # an auditor reads the queue and the statement, and may neither upload nor resolve
    auditor = web("auditor")
    assert auditor.get("/staff/payments/exceptions").status_code == 200
    assert "Завантажити виписку" not in auditor.get("/staff/payments/statements").text
    denied = auditor.post("/staff/payments/statements", {}, token_from="/staff/payments/statements",
                          files={"statement": ("statement.xml", stmt, "application/xml")})
    assert denied.status_code == 403


def test_bad_statement_files_are_refused_in_words(web, db, users):
    officer = web("payments")
    for data, words in ((b"%PDF-1.4", "Файл не є XML"),
                        (b"<?xml version='1.0'?><Document xmlns='urn:other'/>", "Файл не є банківською випискою camt.053"),
                        (build_camt053([StatementEntry("EMP-X", 100, EntryStatus.BOOKED, date(2026, 2, 2), currency="EUR")],
                                       account_iban=batches.debtor_account().iban), "лише в гривнях")):
        r = officer.post("/staff/payments/statements", {}, token_from="/staff/payments/statements",
                         files={"statement": ("s.xml", data, "application/xml")})
        assert r.status_code in (415, 422) and words in r.text, (words, r.status_code)
    r = officer.post("/staff/payments/statements", {}, token_from="/staff/payments/statements")
    assert r.status_code == 400 and "Виберіть файл виписки" in r.text


def test_cancel_a_built_batch_with_a_reason(web, db, users):
    decided_claim(db, users["commission"], 10_000_000)
    officer = web("payments")
    location = build(officer)
    page_url = location.split("?")[0]
    no_reason = officer.post(f"{page_url}/cancel", {"reason": " "}, token_from=page_url)
    assert no_reason.status_code == 422 and "Скажіть, чому партію скасовано" in no_reason.text
    r = officer.post(f"{page_url}/cancel", {"reason": "Помилкова дата"}, token_from=page_url)
    assert r.status_code == 303 and r.headers["location"].endswith("done=cancelled")
    assert "Партію скасовано" in officer.get(r.headers["location"]).text
