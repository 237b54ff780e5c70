"""Transliteration (Resolution 55 of 2010), match keys and address normalisation."""

from __future__ import annotations

import pytest

from everymetre.kernel.translit import (
    address_key,
    consonant_key,
    match_key,
    normalise_apartment,
    normalise_building,
    normalise_phone,
    normalise_street,
    surname_family_key,
    translit_uk,
)


@pytest.mark.parametrize(
    ("cyrillic", "latin"),
    [
        ("Олександр", "Oleksandr"),
        ("Щербак", "Shcherbak"),
        ("Юрій", "Yurii"),
        ("Згорани", "Zghorany"),
        ("Єнакієве", "Yenakiieve"),
        ("Їжакевич", "Yizhakevych"),
        ("Йосипівка", "Yosypivka"),
        ("Яготин", "Yahotyn"),
        ("Костянтин", "Kostiantyn"),
        ("Мар'яна", "Mariana"),
        ("Ольга", "Olha"),
        ("Гоща", "Hoshcha"),
        ("Ґалаґан", "Galagan"),
        ("Харків", "Kharkiv"),
        ("Стрий", "Stryi"),
        ("ЩЕРБАК", "SHCHERBAK"),
        ("Дніпро-2", "Dnipro-2"),
    ],
)
def test_official_transliteration(cyrillic: str, latin: str) -> None:
    assert translit_uk(cyrillic) == latin


def test_word_initial_forms_apply_per_word() -> None:
    assert translit_uk("Юрій Юрійович") == "Yurii Yuriiovych"
    assert translit_uk("Марія Яковенко") == "Mariia Yakovenko"


@pytest.mark.parametrize(
    "variants",
    [
        ("Олександр", "Oleksandr", "Olexandr", "OLEKSANDR"),
        ("Юрій", "Yurii", "Yuriy", "Jurij", "Iurii"),
        ("Харченко", "Kharchenko", "Harchenko"),
        ("Григорій", "Hryhorii", "Grigoriy", "Hrihorij"),
        ("Євген", "Yevhen", "Ievgen", "Evgen"),
        ("Щербак", "Shcherbak", "Scherbak"),
        ("Кравець", "Kravets", "Kravetz", "Krawets"),
    ],
)
def test_match_key_folds_spelling_variants(variants: tuple[str, ...]) -> None:
    assert len({match_key(v) for v in variants}) == 1


def test_match_key_keeps_different_names_apart() -> None:
    assert match_key("Олександр") != match_key("Олексій")
    assert match_key("Іван") != match_key("Іванна")
    assert consonant_key("Олександр") == consonant_key("Alexander")


def test_surname_family_key_folds_feminine_forms() -> None:
    assert surname_family_key("Петров") == surname_family_key("Петрова") == surname_family_key("Petrova")
    assert surname_family_key("Вишневський") == surname_family_key("Вишневська")
    assert surname_family_key("Шевченко") != surname_family_key("Шевчук")


@pytest.mark.parametrize(
    "street",
    ["вул. Шевченка", "вулиця Шевченка", "вул Т. Шевченка", "Шевченка вул.", "vul. Shevchenka", "Shevchenka st."],
)
def test_street_variants(street: str) -> None:
    assert normalise_street(street) == ("vul", "shevchenka")


def test_street_kind_only_at_the_edges() -> None:
    assert normalise_street("вул. Набережна") == ("vul", "naberezhna")
    assert normalise_street("просп. Героїв України")[0] == "prosp"
    assert normalise_street("Площа") == (None, match_key("Площа"))  # a lone kind word is the name


@pytest.mark.parametrize(
    ("raw", "normal"),
    [("12а", "12a"), ("12-А", "12a"), ("буд. 12а", "12a"), ("12 а", "12a"), ("д.12А", "12a"), ("12a", "12a"),
     ("12/1", "12/1"), ("12 / 1", "12/1"), ("будинок 7", "7"), ("№ 7", "7"), ("12 корп. 2", "12k2")],
)
def test_building_numbers(raw: str, normal: str) -> None:
    assert normalise_building(raw) == normal


@pytest.mark.parametrize(("raw", "normal"), [("кв. 5", "5"), ("квартира 5", "5"), ("кв.05", "5"), ("apt 5", "5"),
                                              ("5", "5"), ("", None), (None, None)])
def test_apartments(raw: str | None, normal: str | None) -> None:
    assert normalise_apartment(raw) == normal


def test_address_key_agrees_across_formats() -> None:
    a = address_key("м. Київ", "вул. Шевченка", "буд. 12а", "кв. 5")
    b = address_key("Київ", "вулиця Шевченка", "12-А", "5")
    c = address_key("Kyiv", "vul. Shevchenka", "12a", "kv. 5")
    assert a == b == c
    assert address_key("Київ", "вул. Шевченка", "12б", "5") != a
    assert address_key("Київ", None, "12", None) is None


def test_phone_formats() -> None:
    assert normalise_phone("+38 (050) 123-45-67") == normalise_phone("0501234567") == "+380501234567"
    assert normalise_phone("12") is None


def test_names_of_several_words_transliterate_as_the_whole_text():
    """translit_uk goes word by word (cached): the same as the whole text, spaces kept, context rules inside words."""
    from everymetre.kernel.translit import _translit_word

    for text in ("Шевченко Олена Петрівна", "ЩЕРБАК  Юрій", "Мар'яна Згорани", "вул. Зелена 12а", " Є ", "'Ярина' Ївга"):
        assert translit_uk(text) == _translit_word.__wrapped__(text)
