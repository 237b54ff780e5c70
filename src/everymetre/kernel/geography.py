"""Ukraine's oblasts as everymetre names them.

Each oblast has a stable ASCII code (used in the database, the API and `--oblast`), its Ukrainian and English
names, and the main hromadas (cities) used for demo data. Crimea and Sevastopol are not listed: territory
occupied before 24 February 2022 is outside the programme (docs/domain.md, eligibility).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Oblast:
    code: str
    name_uk: str
    name_en: str
    cities: tuple[str, ...]
    # relative share of war-damage reports, for realistic demo data (illustrative, not official figures)
    damage_weight: float


OBLASTS: tuple[Oblast, ...] = (
    Oblast("vinnytska", "Вінницька", "Vinnytsia", ("Вінниця", "Жмеринка", "Могилів-Подільський"), 0.5),
    Oblast("volynska", "Волинська", "Volyn", ("Луцьк", "Ковель", "Володимир"), 0.2),
    Oblast("dnipropetrovska", "Дніпропетровська", "Dnipropetrovsk", ("Дніпро", "Кривий Ріг", "Нікополь", "Павлоград"), 6.0),
    Oblast("donetska", "Донецька", "Donetsk", ("Краматорськ", "Слов'янськ", "Покровськ", "Костянтинівка"), 9.0),
    Oblast("zhytomyrska", "Житомирська", "Zhytomyr", ("Житомир", "Коростень", "Малин"), 2.0),
    Oblast("zakarpatska", "Закарпатська", "Zakarpattia", ("Ужгород", "Мукачево"), 0.1),
    Oblast("zaporizka", "Запорізька", "Zaporizhzhia", ("Запоріжжя", "Оріхів", "Гуляйполе"), 7.0),
    Oblast("ivano-frankivska", "Івано-Франківська", "Ivano-Frankivsk", ("Івано-Франківськ", "Калуш", "Коломия"), 0.3),
    Oblast("kyivska", "Київська", "Kyiv Oblast", ("Буча", "Ірпінь", "Гостомель", "Бородянка", "Бориспіль"), 12.0),
    Oblast("kirovohradska", "Кіровоградська", "Kirovohrad", ("Кропивницький", "Олександрія"), 0.5),
    Oblast("luhanska", "Луганська", "Luhansk", ("Сєвєродонецьк", "Лисичанськ"), 1.0),
    Oblast("lvivska", "Львівська", "Lviv", ("Львів", "Дрогобич", "Яворів"), 0.8),
    Oblast("mykolaivska", "Миколаївська", "Mykolaiv", ("Миколаїв", "Вознесенськ", "Снігурівка"), 6.0),
    Oblast("odeska", "Одеська", "Odesa", ("Одеса", "Ізмаїл", "Білгород-Дністровський"), 4.0),
    Oblast("poltavska", "Полтавська", "Poltava", ("Полтава", "Кременчук", "Миргород"), 1.0),
    Oblast("rivnenska", "Рівненська", "Rivne", ("Рівне", "Дубно"), 0.2),
    Oblast("sumska", "Сумська", "Sumy", ("Суми", "Охтирка", "Шостка", "Конотоп"), 5.0),
    Oblast("ternopilska", "Тернопільська", "Ternopil", ("Тернопіль", "Чортків"), 0.2),
    Oblast("kharkivska", "Харківська", "Kharkiv", ("Харків", "Ізюм", "Чугуїв", "Куп'янськ", "Балаклія"), 16.0),
    Oblast("khersonska", "Херсонська", "Kherson", ("Херсон", "Берислав", "Нова Каховка"), 8.0),
    Oblast("khmelnytska", "Хмельницька", "Khmelnytskyi", ("Хмельницький", "Кам'янець-Подільський"), 0.4),
    Oblast("cherkaska", "Черкаська", "Cherkasy", ("Черкаси", "Умань", "Сміла"), 0.5),
    Oblast("chernivetska", "Чернівецька", "Chernivtsi", ("Чернівці",), 0.1),
    Oblast("chernihivska", "Чернігівська", "Chernihiv", ("Чернігів", "Ніжин", "Прилуки"), 7.0),
    Oblast("kyiv-city", "м. Київ", "Kyiv City", ("Київ",), 11.5),
)

BY_CODE: dict[str, Oblast] = {o.code: o for o in OBLASTS}
_LOOKUP: dict[str, str] = {}
for _o in OBLASTS:
    for _key in (_o.code, _o.name_uk, _o.name_en):
        _LOOKUP[_key.casefold()] = _o.code


def resolve_oblast(name: str) -> str:
    """Return the oblast code for a code, Ukrainian or English name (any case); raise KeyError if unknown."""
    key = name.strip().casefold()
    if key.endswith(" oblast") and key not in _LOOKUP:
        key = key.removesuffix(" oblast")
    if key.endswith(" область") and key not in _LOOKUP:
        key = key.removesuffix(" область")
    try:
        return _LOOKUP[key]
    except KeyError:
        raise KeyError(
            f"unknown oblast {name!r}; use one of: {', '.join(o.code for o in OBLASTS)}"
        ) from None
