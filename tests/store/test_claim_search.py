"""Finding a claim: GET /api/v1/claims?q= by reference, RNOKPP, name in any spelling, address, registry number,
only within the caller's scope; the staff queue's search box shows the same."""

from __future__ import annotations

import re
from datetime import date

import pytest

from tests.factories import claim_body, owner

API = "/api/v1"


def file(client, auth, who="citizen", name="Шевченко Олександр Іванович", oblast="kharkivska", hromada="Харків",
         street="вул. Сумська", building="12а", registry="1234567890123", **kw):
    o = owner(name, born=date(1975, 2, 3), male=True, is_applicant=True)
    body = claim_body(owners=[o], property={**claim_body()["property"], "oblast": oblast, "hromada": hromada,
                                            "street": street, "building": building, "registry_number": registry}, **kw)
    r = client.post(f"{API}/claims", json=body, headers=auth(who))
    assert r.status_code == 201, r.text
    return {**r.json(), "rnokpp": o["rnokpp"]}


def found(client, auth, q, who="officer"):
    r = client.get(f"{API}/claims", params={"q": q}, headers=auth(who))
    assert r.status_code == 200, r.text
    return [c["reference"] for c in r.json()["items"]]


def test_search_by_every_kind_of_key_and_spelling(client, auth):
    a = file(client, auth)
    b = file(client, auth, name="Коваленко Марія Петрівна", hromada="Чугуїв", street="просп. Миру", building="7",
             registry="99887766")
    ra, rb = a["reference"], b["reference"]
    assert found(client, auth, ra) == [ra]
    assert found(client, auth, ra.lower()) == [ra]
    assert found(client, auth, a["rnokpp"]) == [ra]
    for spelling in ("Шевченко", "shevchenko", "SHEVCHENKO", "Шевченко Олександр", "Olexandr Shevchenko",
                     "Oleksandr", "шевч", "Shevchenko Oleksandr Ivanovych"):
        assert found(client, auth, spelling) == [ra], spelling
    assert found(client, auth, "Kovalenko Mariia") == [rb]
    assert found(client, auth, "Maria Kovalenko") == [rb]
    assert found(client, auth, "Сумська 12а") == [ra]
    assert found(client, auth, "Sumska") == [ra]
    assert found(client, auth, "Chuhuiv") == [rb]
    assert found(client, auth, "1234567890123") == [ra]
    assert found(client, auth, "99887766") == [rb]
    assert found(client, auth, "Харків") == [ra]
    assert found(client, auth, "Шевченко Чугуїв") == []  # every word must match the same claim
    assert found(client, auth, "Петренко") == []
    assert found(client, auth, "%%") == [] and found(client, auth, "__") == []
    assert found(client, auth, "Олександр Шевч") == [ra]  # the last word typed may be the start of one
    assert found(client, auth, "Шевч Олександр") == []  # the others are whole words
    for short in ("ш", " 7 ", "%"):  # one character would match most of the store
        r = client.get(f"{API}/claims", params={"q": short}, headers=auth("officer"))
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "q", r.text
    assert found(client, auth, "EM-2020-0000001") == []


def test_search_stays_within_the_callers_scope(client, auth):
    kh = file(client, auth)
    lv = file(client, auth, "citizen2", oblast="lvivska", hromada="Львів")
    assert found(client, auth, "Шевченко", "officer") == [kh["reference"]]
    assert found(client, auth, "Шевченко", "officer_lviv") == [lv["reference"]]
    assert found(client, auth, lv["reference"], "officer") == []
    assert sorted(found(client, auth, "Шевченко", "auditor")) == sorted([kh["reference"], lv["reference"]])
    assert found(client, auth, "Шевченко", "citizen") == [kh["reference"]]
    assert found(client, auth, lv["rnokpp"], "citizen") == []


def test_search_follows_a_changed_draft(client, auth):
    c = file(client, auth, submit=False)
    assert found(client, auth, "Шевченко", "citizen") == [c["reference"]]
    assert client.get(f"{API}/claims", params={"q": "x" * 201}, headers=auth("officer")).status_code == 422


def test_keys_written_at_filing_are_the_reindexed_keys(db, client, auth):
    """Filing writes the keys from the objects in hand (claims.search.index_new_claim); they are the keys a
    re-index reads back from the store (index_claims), owners, names in both spellings and address alike."""
    from sqlalchemy import select

    from everymetre.claims.models import ClaimSearch, ClaimSearchWord
    from everymetre.claims.search import _rows

    body = claim_body(owners=[owner("Шевченко Олена Петрівна", share="1/2", is_applicant=True),
                              owner("Шевченко Іван Андрійович", date(1978, 11, 2), True, share="1/2")])
    body["property"]["registry_number"] = "0012345678901"
    r = client.post("/api/v1/claims", json=body, headers=auth("citizen"))
    assert r.status_code == 201, r.text
    stored = dict(db.execute(select(ClaimSearch.claim_id, ClaimSearch.keys)).tuples().all())
    assert len(stored) == 1
    (cid, keys), = stored.items()
    assert keys == _rows(db, [cid])[0]["keys"] and " 12345678901 " in keys
    words = set(db.execute(select(ClaimSearchWord.word_key, ClaimSearchWord.oblast, ClaimSearchWord.claim_id)).tuples())
    assert words == {(k, body["property"]["oblast"], cid) for k in keys.split()}


def test_keys_written_at_bulk_filing_are_the_reindexed_keys(db, principal):
    """A bulk filing (claims.bulk.do_file_bulk) writes the keys from the rows in hand, as a re-index would."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from everymetre.claims.bulk import Filing, do_file_bulk
    from everymetre.claims.models import Claim, ClaimSearch, ClaimSearchWord
    from everymetre.claims.schemas import ClaimCreate
    from everymetre.claims.search import _rows, word_key

    bodies = [claim_body(owners=[owner("Шевченко Олена Петрівна", share="1/2", is_applicant=True),
                                 owner("Коваль-Шевченко Іван Андрійович", date(1978, 11, 2), True, share="1/2")]),
              claim_body()]
    bodies[0]["property"].update(registry_number="0012345678901", building="12а", apartment="007")
    ids = do_file_bulk(db, principal("officer"), [Filing(ClaimCreate(**b), datetime(2024, 3, 20, tzinfo=UTC)) for b in bodies])
    stored = dict(db.execute(select(ClaimSearch.claim_id, ClaimSearch.keys)).tuples().all())
    assert sorted(stored) == sorted(ids)
    assert stored == {r["claim_id"]: r["keys"] for r in _rows(db, ids)}
    assert " 12345678901 " in stored[ids[0]] and " 7 " in stored[ids[0]]
    assert word_key("0000") is None and word_key("0042") == "42" and word_key("12а") == "12a"
    words = set(db.execute(select(ClaimSearchWord.oblast, ClaimSearchWord.claim_id, ClaimSearchWord.word_key)).tuples())
    assert words == {(o, cid, k) for cid, keys in stored.items()
                     for o in db.execute(select(Claim.oblast).where(Claim.id == cid)).scalars() for k in keys.split()}


def test_search_pages_merge_the_oblasts_in_order(client, auth):
    """A search over several oblasts is one list in claim order: pages by cursor lose and repeat nothing, for a
    national role and an officer alike; the page's other sorts and filters apply to the matches."""
    return _merge_case(client, auth)


def addresses(client, auth):
    """Five claims on "вул. Шевченка 12" in three oblasts (in claim order) and one on number 14."""
    refs = [file(client, auth, oblast=o, hromada=h, street="вул. Шевченка", building="12", registry="555")["reference"]
            for o, h in [("kharkivska", "Харків"), ("lvivska", "Львів"), ("kharkivska", "Чугуїв"), ("lvivska", "Львів"),
                         ("kyivska", "Бровари")]]
    file(client, auth, oblast="lvivska", hromada="Львів", street="вул. Шевченка", building="14")
    return refs


def _merge_case(client, auth):
    refs = addresses(client, auth)
    seen, cursor = [], None
    while True:
        params = {"q": "12 Шевченка", "limit": 2, **({"cursor": cursor} if cursor else {})}
        body = client.get(f"{API}/claims", params=params, headers=auth("auditor")).json()
        seen += [c["reference"] for c in body["items"]]
        if not (cursor := body["next_cursor"]):
            break
    assert seen == refs
    assert found(client, auth, "Шевченка 12 Львів", "auditor") == [refs[1], refs[3]]
    assert found(client, auth, "12 Шевченка", "officer_lviv") == [refs[1], refs[3]]
    assert found(client, auth, "Шевченка 12 Бров", "auditor") == [refs[4]]


def test_search_page_and_count_come_from_one_walk(db, client, auth, principal, monkeypatch):
    """The staff queue's search page: its count is the matches' (capped like the queue's: "N+"), its pages are
    the matches in order, a page past the last is empty and still counted; a state filter narrows both."""
    from everymetre.claims import queue
    from everymetre.claims.access import QueueFilter

    refs = addresses(client, auth)
    auditor = principal("auditor")

    def refs_of(result):
        return [c.reference for c in result.rows]

    first = queue.queue_page(db, auditor, QueueFilter(q="12 Шевченка"), per_page=2)
    assert refs_of(first) == refs[:2] and first.has_next and (first.total, first.total_capped) == (5, False)
    last = queue.queue_page(db, auditor, QueueFilter(q="12 Шевченка"), page=3, per_page=2)
    assert refs_of(last) == refs[4:] and not last.has_next and last.total == 5
    newest = queue.queue_page(db, auditor, QueueFilter(q="12 Шевченка"), sort="newest", per_page=2)
    assert refs_of(newest) == refs[:2:-1][:2] and newest.total == 5
    waiting = queue.queue_page(db, auditor, QueueFilter(q="12 Шевченка"), sort="waiting", per_page=10)
    assert sorted(refs_of(waiting)) == sorted(refs) and waiting.total == 5
    monkeypatch.setattr(queue, "COUNT_CAP", 3)
    capped = queue.queue_page(db, auditor, QueueFilter(q="12 Шевченка"), per_page=2)
    assert refs_of(capped) == refs[:2] and (capped.total, capped.total_capped) == (3, True)
    past = queue.queue_page(db, auditor, QueueFilter(q="12 Шевченка"), page=4, per_page=2)
    assert past.rows == [] and (past.total, past.total_capped) == (3, True)
    state = first.rows[0].state  # every claim just filed is in it
    assert queue.queue_page(db, auditor, QueueFilter(q="12 Шевченка", states=["rejected"])).total == 0
    in_state = queue.queue_page(db, auditor, QueueFilter(q="12 Шевченка", states=[state]), per_page=2)
    assert refs_of(in_state) == refs[:2] and in_state.total == 3


def test_a_search_with_no_filter_reads_the_word_index_alone(db, client, auth, principal):
    """With nothing but the caller's oblasts to narrow it, a search's walk reads no claim row (the word index
    holds each claim's oblast); with a filter on the claims, it joins them."""
    from sqlalchemy import event

    from everymetre.claims.access import QueueFilter
    from everymetre.claims.queue import list_claims

    refs = addresses(client, auth)
    seen: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", listener)
    try:
        rows, _ = list_claims(db, principal("officer_lviv"), QueueFilter(q="12 Шевченка"))
        walks = [s for s in seen if "claim_search_words" in s]
        seen.clear()
        state = rows[0].state
        filtered, _ = list_claims(db, principal("officer_lviv"), QueueFilter(q="12 Шевченка", states=[state]))
        joined = [s for s in seen if "claim_search_words" in s]
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert [c.reference for c in rows] == [c.reference for c in filtered] == [refs[1], refs[3]]
    assert walks and not any(re.search(r"\bclaims\b", s) for s in walks)
    assert any(re.search(r"\bclaims\b", s) for s in joined)


def test_a_prefix_expands_to_its_keys_in_one_statement(db, client, auth):
    """The keys a prefix starts, in order, stopping after MAX_EXPANSIONS + 1 (more: walked as one range)."""
    from sqlalchemy import event, insert

    from everymetre.claims.models import ClaimSearchWord
    from everymetre.claims.search import MAX_EXPANSIONS, _expansions

    c = file(client, auth)
    cid = int(c["reference"].rsplit("-", 1)[1])
    keys = [f"zq{i:02d}" for i in range(MAX_EXPANSIONS + 4)] + ["zr", "zp9"]
    db.execute(insert(ClaimSearchWord), [{"word_key": k, "oblast": "kharkivska", "claim_id": cid} for k in keys])
    seen: list[str] = []
    engine = db.get_bind()

    def listener(conn, cursor, statement, *_):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert _expansions(db, "zq") == sorted(keys)[1:MAX_EXPANSIONS + 2]
        assert len(seen) == 1
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert _expansions(db, "zq0") == [f"zq{i:02d}" for i in range(10)]
    assert _expansions(db, "zr") == ["zr"] and _expansions(db, "zs") == []
    db.rollback()


@pytest.mark.parametrize("sparse", [False, True])
def test_common_words_are_walked_per_oblast_or_joined_once(db, client, auth, principal, monkeypatch, sparse):
    """Words too common to count: a sample of the rarest one's claims says whether the matches are common among
    them (walked per oblast, stopping at the page) or few (one statement joining every word's range); both find
    the same claims in the same order, page by page, and every statement they run is planned on an index."""
    from sqlalchemy import event

    from everymetre.claims import search
    from everymetre.claims.access import QueueFilter
    from everymetre.claims.queue import list_claims
    from tests.store.test_queue_plans import capture, problems

    refs = addresses(client, auth)
    monkeypatch.setattr(search, "COUNT_CAP", 0)  # every word "too common to count"
    monkeypatch.setattr(search, "DENSE", 0 if sparse else 1)  # 0: any sample is sparse; 1: only one with a miss
    joined = []
    real = search._joined
    monkeypatch.setattr(search, "_joined", lambda *a, **kw: joined.append(1) or real(*a, **kw))
    seen, listener = capture(db)
    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", listener)
    try:
        pages, cursor = [], None
        while True:
            rows, cursor = list_claims(db, principal("auditor"), QueueFilter(q="12 Шевченка"), cursor, limit=2)
            pages.append([c.reference for c in rows])
            if not cursor:
                break
        lviv, _ = list_claims(db, principal("officer_lviv"), QueueFilter(q="12 Шевченка"))
        state = lviv[0].state
        narrowed, _ = list_claims(db, principal("auditor"), QueueFilter(q="12 Шевченка", states=[state],
                                                                       oblasts=["lvivska", "kyivska"]))
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert pages == [refs[:2], refs[2:4], refs[4:]]
    assert [c.reference for c in lviv] == [refs[1], refs[3]]
    assert [c.reference for c in narrowed] == [refs[1], refs[3], refs[4]]
    assert bool(joined) is sparse
    bad = problems(db, seen)
    assert not bad, bad[0]
