"""Every message a page shows has a Ukrainian translation, and the catalogue compiles."""

from __future__ import annotations

from everymetre.web import catalog, i18n


def test_every_message_is_translated():
    assert catalog.missing("uk") == []


def test_catalogue_compiles_with_plurals():
    i18n.set_language("uk")
    assert i18n.ngettext("%(num)d day", "%(num)d days", 1) == "1 день"
    assert i18n.ngettext("%(num)d day", "%(num)d days", 3) == "3 дні"
    assert i18n.ngettext("%(num)d day", "%(num)d days", 11) == "11 днів"
    assert i18n.money(3_737_513) == "37\u00a0375,13 грн"
    i18n.set_language("en")
    assert i18n.money(3_737_513) == "UAH 37,375.13" and i18n.money(5) == "UAH 0.05"


def test_parse_money():
    assert i18n.parse_money("1 234,56") == 123456
    assert i18n.parse_money("1,234.56") == 123456
    assert i18n.parse_money("950.01") == 95001
    for bad in ("abc", "1.234", "-5", "NaN"):
        try:
            i18n.parse_money(bad)
        except ValueError:
            continue
        raise AssertionError(bad)
