"""The staff queue's search box and its oblast filter in Ukrainian alphabetical order."""

from __future__ import annotations

import re

from everymetre.claims.pages.text import uk_collation_key
from tests.store.test_claim_search import addresses, file


def test_queue_search_box_finds_by_latin_name(web, client, auth):
    a = file(client, auth)
    file(client, auth, name="Коваленко Марія Петрівна")
    page = web("officer").get("/staff/queue?q=Shevchenko").text
    assert 'name="q"' in page and 'value="Shevchenko"' in page
    assert a["reference"] in page
    assert len(set(re.findall(r"/staff/claims/(EM-[0-9-]+)", page))) == 1
    empty = web("officer").get("/staff/queue?q=Петренко").text
    assert "/staff/claims/EM-" not in empty


def test_oblast_filter_sorted_in_ukrainian(web):
    page = web("auditor").get("/staff/queue", headers={"Accept-Language": "uk"}).text
    select = page[page.index('name="oblast"'):]
    select = select[:select.index("</select>")]
    names = [n.strip() for n in re.findall(r"<option value=\"[a-z_-]+\"[^>]*>([^<]+)</option>", select)]
    assert "Івано-Франківська" in names and "Вінницька" in names
    assert names == sorted(names, key=uk_collation_key)
    assert names.index("Запорізька") < names.index("Івано-Франківська") < names.index("Київська")


def test_collation_key_orders_the_ukrainian_alphabet():
    words = ["Яготин", "Ґорґани", "Євпаторія", "Іршава", "Їжаківка", "Йосипівка", "Гадяч", "Жмеринка", "Ірпінь"]
    assert sorted(words, key=uk_collation_key) == ["Гадяч", "Ґорґани", "Євпаторія", "Жмеринка", "Ірпінь", "Іршава",
                                                   "Їжаківка", "Йосипівка", "Яготин"]


def test_queue_search_sorts_and_filters_its_matches(web, client, auth):
    refs = addresses(client, auth)
    page = web("auditor").get("/staff/queue", params={"q": "12 Шевченка", "sort": "newest"}).text
    shown = list(dict.fromkeys(re.findall(r"/staff/claims/(EM-[0-9-]+)", page)))
    assert shown == refs[::-1]
    page = web("auditor").get("/staff/queue", params={"q": "12 Шевченка", "sort": "waiting", "oblast": "lvivska"}).text
    assert set(re.findall(r"/staff/claims/(EM-[0-9-]+)", page)) == {refs[1], refs[3]}
    short = web("auditor").get("/staff/queue", params={"q": "ш"}).text
    assert 'id="q-error"' in short and 'aria-invalid="true"' in short
