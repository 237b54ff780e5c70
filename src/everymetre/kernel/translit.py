"""Name and address normalisation for record linkage.

* :func:`translit_uk` — the official Ukrainian-to-Latin transliteration (Resolution of the Cabinet of
  Ministers of Ukraine No. 55 of 27 January 2010): Олександр -> Oleksandr, Щербак -> Shcherbak,
  Юрій -> Yurii, Їжакевич -> Yizhakevych, with the word-initial forms of є, ї, й, ю, я, "зг" -> "zgh",
  and the soft sign and apostrophe omitted. A few Russian letters (ы, э, ъ, ё) that appear in legacy
  records are mapped too, so that no Cyrillic survives.
* :func:`match_key` — a phonetic-ish key that folds the Latin spelling variants people and foreign
  documents produce (x/ks, y/i/j, kh/h, g/h, ts/tz/c, shch/sch, w/v, ph/f, double letters), so that
  Oleksandr / Olexandr / Oleksander and Yurii / Yuriy / Jurij get equal or very close keys.
* :func:`consonant_key` — the consonant skeleton of the match key (Oleksandr and Alexander share it).
* Address helpers: :func:`normalise_street`, :func:`normalise_building`, :func:`normalise_apartment`
  and :func:`address_key`.

Everything here is pure Python on one value; the linkage code maps these over the *distinct* values of a
column, which is what keeps it fast on millions of rows.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = [
    "address_key",
    "consonant_key",
    "match_key",
    "name_key",
    "normalise_apartment",
    "normalise_building",
    "normalise_city",
    "normalise_iban",
    "normalise_phone",
    "normalise_registry_number",
    "normalise_rnokpp",
    "normalise_street",
    "surname_family_key",
    "translit_uk",
]

# --- Resolution 55 (2010) --------------------------------------------------------------------------------

# letter -> (form at the start of a word, form elsewhere)
_KMU55: dict[str, tuple[str, str]] = {
    "а": ("a", "a"), "б": ("b", "b"), "в": ("v", "v"), "г": ("h", "h"), "ґ": ("g", "g"),
    "д": ("d", "d"), "е": ("e", "e"), "є": ("ye", "ie"), "ж": ("zh", "zh"), "з": ("z", "z"),
    "и": ("y", "y"), "і": ("i", "i"), "ї": ("yi", "i"), "й": ("y", "i"), "к": ("k", "k"),
    "л": ("l", "l"), "м": ("m", "m"), "н": ("n", "n"), "о": ("o", "o"), "п": ("p", "p"),
    "р": ("r", "r"), "с": ("s", "s"), "т": ("t", "t"), "у": ("u", "u"), "ф": ("f", "f"),
    "х": ("kh", "kh"), "ц": ("ts", "ts"), "ч": ("ch", "ch"), "ш": ("sh", "sh"),
    "щ": ("shch", "shch"), "ь": ("", ""), "ю": ("yu", "iu"), "я": ("ya", "ia"),
    # not Ukrainian, but found in legacy (Russian-language) records
    "ы": ("y", "y"), "э": ("e", "e"), "ъ": ("", ""), "ё": ("yo", "io"),
}
_APOSTROPHES = "'’ʼ`´‘"


def _is_letter(ch: str) -> bool:
    return ch.isalpha()


def translit_uk(text: str | None) -> str | None:
    """Transliterate Ukrainian Cyrillic to Latin by Resolution 55 of 2010; other characters pass through.

    Case is kept: a capital multi-letter form is written "Shch" inside a capitalised word and "SHCH" in an
    all-capitals word.

    >>> translit_uk("Олександр"), translit_uk("Щербак"), translit_uk("Юрій"), translit_uk("Згорани")
    ('Oleksandr', 'Shcherbak', 'Yurii', 'Zghorany')
    """
    if text is None:
        return None
    text = unicodedata.normalize("NFC", text)
    # every rule looks only inside a word (a space is neither a letter nor an apostrophe): words one by one,
    # each cached (names and streets repeat)
    return " ".join(map(_translit_word, text.split(" "))) if " " in text else _translit_word(text)


@lru_cache(maxsize=100_000)
def _translit_word(text: str) -> str:
    out: list[str] = []
    n = len(text)
    for i, ch in enumerate(text):
        if ch in _APOSTROPHES:
            # apostrophe inside a word is omitted (Мар'яна -> Mariana); elsewhere keep the quote
            if 0 < i < n - 1 and _is_letter(text[i - 1]) and _is_letter(text[i + 1]):
                continue
            out.append(ch)
            continue
        low = ch.lower()
        forms = _KMU55.get(low)
        if forms is None:
            out.append(ch)
            continue
        # word-initial: no letter (apostrophes aside) right before it
        j = i - 1
        while j >= 0 and text[j] in _APOSTROPHES:
            j -= 1
        initial = j < 0 or not _is_letter(text[j])
        if low == "г" and i > 0 and text[i - 1].lower() == "з":
            latin = "gh"  # зг -> zgh, to tell it from ж (zh)
        else:
            latin = forms[0] if initial else forms[1]
        if ch != low and latin:  # upper case
            neighbours = [c for c in (text[i - 1] if i > 0 else "", text[i + 1] if i + 1 < n else "") if c.isalpha()]
            all_caps = bool(neighbours) and all(c.isupper() for c in neighbours)
            latin = latin.upper() if all_caps else latin[0].upper() + latin[1:]
        out.append(latin)
    return "".join(out)


# --- match keys ------------------------------------------------------------------------------------------

# applied in order to a lower-case ASCII string; upper-case letters are temporary placeholders
_FOLDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), r)
    for p, r in (
        (r"shtch|shch|sch|szcz", "S"),  # щ
        (r"tch|ch|cz", "C"),  # ч
        (r"sh|sz", "S"),  # ш (merged with щ on purpose: both are often written sh)
        (r"zh|zs", "Z"),  # ж
        (r"kh|gh|ch", "h"),  # х, and зг written zgh
        (r"x", "ks"),
        (r"ph", "f"),
        (r"w", "v"),
        (r"q", "k"),
        (r"ck", "k"),
        (r"tz|ts|tc", "c"),
        (r"g", "h"),  # Hryhorii / Grigoriy, Oleh / Oleg
        (r"j", "i"),
        (r"y", "i"),
        (r"(.)\1+", r"\1"),  # double letters
    )
)
_PLACEHOLDERS = str.maketrans({"S": "sh", "C": "ch", "Z": "zh"})
_NON_LETTERS = re.compile(r"[^a-z]+")


def _ascii_lower(text: str) -> str:
    latin = translit_uk(text) or ""
    decomposed = unicodedata.normalize("NFKD", latin)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


@lru_cache(maxsize=200_000)
def match_key(text: str | None) -> str | None:
    """A folded Latin key for a name in any script: equal for common spelling variants.

    >>> match_key("Олександр") == match_key("Olexandr") == match_key("Oleksandr")
    True
    >>> match_key("Юрій") == match_key("Yuriy") == match_key("Jurij")
    True
    """
    if text is None:
        return None
    s = _NON_LETTERS.sub("", _ascii_lower(text))
    if not s:
        return None
    for pattern, repl in _FOLDS:
        s = pattern.sub(repl, s)
    s = s.translate(_PLACEHOLDERS)
    # "-ii" / "-iy" endings were folded to "i" by the double-letter rule; "ie"/"ye" at the start -> "e"
    if s.startswith("ie") and len(s) > 3:
        s = s[1:]
    return s


@lru_cache(maxsize=200_000)
def consonant_key(text: str | None) -> str | None:
    """The consonants of the match key after its first letter (Oleksandr and Alexander both give "lksndr")."""
    key = match_key(text)
    if key is None:
        return None
    skeleton = re.sub(r"[aeiou]", "", key[1:])
    return skeleton or key


@lru_cache(maxsize=200_000)
def name_key(text: str | None) -> str | None:
    """A readable normalised Latin form of a name: official transliteration, lower case, letters only."""
    if text is None:
        return None
    s = _NON_LETTERS.sub("", _ascii_lower(text))
    return s or None


_FEMININE_ENDINGS: tuple[tuple[str, str], ...] = (
    ("ska", "sk"), ("ski", "sk"), ("cka", "ck"), ("cki", "ck"), ("ova", "ov"), ("eva", "ev"),
    ("ina", "in"), ("iva", "iv"),
)


@lru_cache(maxsize=200_000)
def surname_family_key(text: str | None) -> str | None:
    """Match key of a surname with the gender ending removed: Петров and Петрова, Вишневський and
    Вишневська share it. Used to tell family members (related) from unrelated people."""
    key = match_key(text)
    if key is None:
        return None
    for ending, stem in _FEMININE_ENDINGS:
        if key.endswith(ending) and len(key) > len(ending) + 1:
            return key[: -len(ending)] + stem
    # masculine adjectival endings -skyi/-ckyi fold to "ski"/"cki" above via y->i and doubles
    return key


# --- addresses -------------------------------------------------------------------------------------------

_STREET_KINDS: dict[str, str] = {}
for _canonical, _variants in {
    "vul": ("вул", "вулиця", "ул", "улица", "vul", "vulytsia", "vulitsa", "vulica", "street", "st", "str"),
    "prosp": ("просп", "проспект", "пр-т", "пр", "prosp", "prospekt", "avenue", "ave", "av"),
    "prov": ("пров", "провулок", "пер", "переулок", "prov", "provulok", "lane", "ln"),
    "bulv": ("бульв", "бульвар", "б-р", "бул", "bulv", "bulvar", "boulevard", "blvd"),
    "pl": ("пл", "площа", "площадь", "pl", "ploshcha", "square", "sq"),
    "shose": ("шосе", "шоссе", "shose", "highway", "hwy"),
    "uzviz": ("узвіз", "uzviz"),
    "proizd": ("проїзд", "proizd", "proyizd"),
    "mkr": ("мкр", "мікрорайон", "мкрн", "mkr", "mikroraion"),
    "tupyk": ("тупик", "tupyk"),
}.items():
    for _v in _variants:
        _STREET_KINDS[_v] = _canonical

_TOKEN = re.compile(r"[\w'’ʼ-]+", re.UNICODE)


def normalise_street(street: str | None) -> tuple[str | None, str | None]:
    """Split a street into (kind, name key): "вул. Шевченка", "вулиця Шевченка", "Shevchenka st." and
    "vul. T. Shevchenka" all give ("vul", "shevchenka"). The kind is None when not written; the name key is
    the match key of the remaining words (initials dropped), joined by spaces."""
    if street is None:
        return None, None
    text = unicodedata.normalize("NFC", street).strip().lower()
    if not text:
        return None, None
    tokens = _TOKEN.findall(text.replace(".", ". "))
    kind: str | None = None
    words: list[str] = []
    for position, token in enumerate(tokens):
        bare = token.strip("-'’ʼ")
        canonical = _STREET_KINDS.get(bare)
        # a kind word only at the start or the end: "Набережна" and "Площа Ринок" may be names
        if canonical and kind is None and (position == 0 or position == len(tokens) - 1) and len(tokens) > 1:
            kind = canonical
            continue
        if len(bare) == 1:  # an initial, as in "вул. Т. Шевченка"
            continue
        key = match_key(bare)
        if key:
            words.append(key)
    return kind, (" ".join(words) or None)


_BUILDING_PREFIX = re.compile(
    r"^(?:буд(?:инок)?|будин|д(?:ім)?|дом|b(?:ud(?:ynok)?)?|bldg|building|house|no|n|№|#)\.?\s*",
    re.IGNORECASE,
)
_APARTMENT_PREFIX = re.compile(
    r"^(?:кв(?:артира)?|квар|kv(?:artyra)?|apt|apartment|flat|ap|app)\.?\s*(?:№\s*)?", re.IGNORECASE
)
_BLOCK_WORD = re.compile(r"(?:корпус|корп|к|korpus|korp|block|bl)\.?\s*(\d+)", re.IGNORECASE)
_LETTER_TO_LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "h", "д": "d", "е": "e", "є": "e", "ж": "zh", "з": "z",
    "и": "y", "і": "i", "ї": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p",
    "р": "r", "с": "s", "т": "t", "у": "u",
}


def normalise_building(building: str | None) -> str | None:
    """Normalise a building number: "буд. 12а", "12-А", "12 а", "д.12А" -> "12a"; "12/1", "12 / 1" -> "12/1";
    "12 корп. 2" -> "12k2". Cyrillic letters become their Latin letter, so 12а and 12a agree."""
    if building is None:
        return None
    s = unicodedata.normalize("NFC", str(building)).strip().lower()
    s = _BUILDING_PREFIX.sub("", s).strip()
    s = _BLOCK_WORD.sub(lambda m: f"k{m.group(1)}", s)
    s = re.sub(r"\s*/\s*", "/", s)
    s = re.sub(r"[\s\-.,\"'«»]+", "", s)
    s = "".join(_LETTER_TO_LATIN.get(c, c) for c in s)
    return s or None


def normalise_apartment(apartment: str | None) -> str | None:
    """Normalise an apartment number: "кв. 5", "квартира 5", "kv.5", "apt 5", "5" -> "5"; blank -> None."""
    if apartment is None:
        return None
    s = unicodedata.normalize("NFC", str(apartment)).strip().lower()
    s = _APARTMENT_PREFIX.sub("", s).strip()
    s = re.sub(r"[\s\-.,\"'«»]+", "", s)
    s = "".join(_LETTER_TO_LATIN.get(c, c) for c in s)
    s = s.lstrip("0") or ("0" if s else "")
    return s or None


_CITY_PREFIX = re.compile(
    r"^(?:м|місто|с|село|смт|селище|сел|m|misto|s|selo|smt|city|town|village)\.?\s+", re.IGNORECASE
)


def normalise_city(city: str | None) -> str | None:
    """Match key of a settlement without "м."/"с."/"смт" prefixes: "м. Київ", "Kyiv", "Kiev" -> "kiiv"/"kiev"
    (Kyiv and Kiev still differ in one letter; compare with a string distance)."""
    if city is None:
        return None
    s = _CITY_PREFIX.sub("", unicodedata.normalize("NFC", city).strip())
    return match_key(s)


def address_key(
    city: str | None,
    street: str | None,
    building: str | None,
    apartment: str | None,
) -> str | None:
    """One key for a dwelling: city|street name|building|apartment, after normalisation; None when the
    street or building is missing (such records can only be linked through the registry number)."""
    _, street_key = normalise_street(street)
    b = normalise_building(building)
    if street_key is None or b is None:
        return None
    return "|".join((normalise_city(city) or "", street_key, b, normalise_apartment(apartment) or ""))


# --- contact and identifier normalisation ------------------------------------------------------------------


def normalise_phone(phone: str | None) -> str | None:
    """Ukrainian phone to +380XXXXXXXXX: "+38 (050) 123-45-67", "0501234567", "380501234567" all agree."""
    if phone is None:
        return None
    digits = re.sub(r"\D", "", str(phone))
    if len(digits) < 9:
        return None
    return "+380" + digits[-9:]


def normalise_iban(iban: str | None) -> str | None:
    """IBAN upper-cased without spaces; None when blank."""
    if iban is None:
        return None
    s = re.sub(r"[\s-]", "", str(iban)).upper()
    return s or None


def normalise_rnokpp(value: str | None) -> str | None:
    """A 10-digit RNOKPP, or None for anything else (blank, refusal marks, wrong length)."""
    if value is None:
        return None
    digits = re.sub(r"\D", "", str(value))
    return digits if len(digits) == 10 else None


def normalise_registry_number(value: str | None) -> str | None:
    """The State Register of Real Property Rights object number: digits only; None when blank."""
    if value is None:
        return None
    digits = re.sub(r"\D", "", str(value))
    return digits.lstrip("0") or None
