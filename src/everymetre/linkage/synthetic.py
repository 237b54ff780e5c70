"""A synthetic population of person-in-claim records with ground truth, for testing and benchmarking linkage.

The generator is vectorised (numpy + polars; Python loops run only over *distinct* strings or over the small
set of injected variants) and makes 1,000,000 records in seconds.

What it models:

* Households own one dwelling each (house or apartment, with a registry object number most of the time) and
  have 1–4 co-owners of one family (same surname family, feminine forms for women, sometimes a spouse with
  another surname); co-owners' shares add up to one and are written as "1/2" or 0.5.
* Names come from :mod:`everymetre.demo.vocab` (common names, heavily weighted) plus a long tail of generated
  surnames, and birth dates span 1933–2005, so that same-name-same-birth-date strangers exist as in a real
  population.
* Formatting noise on every record: "вул."/"вулиця", "буд. 12а"/"12-А", "кв. 5"/"5", phone formats.
* Injected patterns (column ``injected``):
  - ``duplicate``: the same person filing again for the same home, with Latin transliteration or an
    unofficial Latin spelling, typos, swapped day and month of birth, missing RNOKPP, another phone;
  - ``multi_destroyed``: the same person filing destroyed-housing applications for a second, other home;
  - ``repeat_linked`` / ``repeat_unlinked``: a later re-damage claim for the same home, linked to the earlier
    claim or not;
  - ``foreign_home``: an unrelated person claiming someone else's home;
  - ``shared_iban``: unrelated claimants giving one bank account;
  - ``share_inflated``: a co-owner claiming the whole home (share 1) while others hold shares.
* Ground truth: ``true_person_id`` and ``true_property_id`` for every record.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from everymetre.demo.vocab import FEMALE_GIVEN, MALE_GIVEN, PATRONYMICS, STREET_KINDS, STREETS, SURNAMES
from everymetre.kernel.geography import OBLASTS
from everymetre.kernel.identifiers import RNOKPP_WEIGHTS
from everymetre.kernel.translit import translit_uk

__all__ = ["TRUTH_COLUMNS", "SyntheticConfig", "generate_population"]

TRUTH_COLUMNS = ("true_person_id", "true_property_id", "injected")

_EPOCH = np.datetime64("1899-12-31")
_RNOKPP_WEIGHTS = np.array(RNOKPP_WEIGHTS, dtype=np.int64)


@dataclass(frozen=True)
class SyntheticConfig:
    """Rates of the injected patterns, as fractions of all records."""

    duplicate_rate: float = 0.06
    multi_destroyed_rate: float = 0.004
    repeat_rate: float = 0.03
    repeat_unlinked_share: float = 0.35
    foreign_home_rate: float = 0.003
    shared_iban_rate: float = 0.004
    share_inflated_rate: float = 0.003
    tail_surnames: int = 20_000
    common_surname_share: float = 0.45


# --- small helpers -------------------------------------------------------------------------------------


def _strings(values: np.ndarray) -> pl.Series:
    """A polars String series from a numpy array that may hold None."""
    return pl.Series([None if v is None else str(v) for v in values.tolist()], dtype=pl.String)


def _weighted_choice(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    p = weights / weights.sum()
    return rng.choice(len(weights), size=size, p=p)


def _tail_surnames(n: int, seed: int) -> list[tuple[str, str]]:
    """Generate n distinct plausible Ukrainian surnames (masculine, feminine)."""
    r = random.Random(seed)
    onsets = ["Б", "В", "Г", "Д", "З", "К", "Л", "М", "Н", "П", "Р", "С", "Т", "Х", "Ц", "Ч", "Ш", "Бр", "Гр",
              "Кр", "Пр", "Тр", "Ст", "Сл", "Дз", "Жу", "Ящ", "Юх", "Єр", "Яц", "Ю", "Я", "Ол", "Ос", "Ів"]
    vowels = ["а", "о", "у", "е", "и", "і", "я"]
    middles = ["л", "р", "н", "в", "с", "т", "д", "х", "ш", "м", "к", "ч", "ц", "з", "б", "п", "г", "ль", "рк",
               "нч", "ст", "вч", "щ"]
    suffixes = [("енко", "енко"), ("ук", "ук"), ("чук", "чук"), ("юк", "юк"), ("ишин", "ишин"), ("ко", "ко"),
                ("ець", "ець"), ("ський", "ська"), ("цький", "цька"), ("ов", "ова"), ("ів", "ів"),
                ("ич", "ич"), ("як", "як"), ("ан", "ан"), ("ей", "ей")]
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    while len(out) < n:
        root = r.choice(onsets) + r.choice(vowels) + r.choice(middles)
        if r.random() < 0.4:
            root += r.choice(vowels) + r.choice(middles)
        masc, fem = r.choice(suffixes)
        if masc not in seen and (root + masc) not in seen:
            name = root + masc
            seen.add(name)
            out.append((name, root + fem))
    return out


_LATIN_VARIANTS: tuple[tuple[str, str], ...] = (
    ("ks", "x"), ("kh", "h"), ("ii", "iy"), ("ii", "ij"), ("yi", "i"), ("ia", "ya"), ("iu", "yu"),
    ("ie", "ye"), ("y", "i"), ("h", "g"), ("ts", "tz"), ("shch", "sch"), ("zh", "j"), ("v", "w"),
)


def _unofficial_latin(text: str, r: random.Random) -> str:
    """A Latin spelling as people and foreign documents write it (Olexandr, Yuriy, Hrigorij)."""
    s = translit_uk(text) or text
    options = [(a, b) for a, b in _LATIN_VARIANTS if a in s.lower()]
    r.shuffle(options)
    for a, b in options[: r.randint(1, 2)]:
        low = s.lower()
        i = low.find(a)
        if i >= 0:
            piece = b if not s[i].isupper() else b[0].upper() + b[1:]
            s = s[:i] + piece + s[i + len(a):]
    return s


def _typo(text: str, r: random.Random) -> str:
    if len(text) < 4:
        return text
    i = r.randrange(1, len(text) - 1)
    kind = r.random()
    if kind < 0.33:  # deletion
        return text[:i] + text[i + 1:]
    if kind < 0.66:  # transposition
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    alphabet = "абвгдеєжзиіїйклмнопрстуфхцчшщьюя" if any("а" <= c.lower() <= "я" for c in text) else "abcdefghiklmnoprstuvyz"
    return text[:i] + r.choice(alphabet) + text[i + 1:]


def _rnokpp(dob: np.ndarray, male: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Valid RNOKPP strings: days since 31 Dec 1899, a serial whose last digit is odd for men, a check digit."""
    days = (dob - _EPOCH).astype(np.int64)
    serial = rng.integers(0, 1000, size=len(dob))
    sex_digit = rng.integers(0, 5, size=len(dob)) * 2 + male.astype(np.int64)
    first9 = days * 10_000 + serial * 10 + sex_digit
    digits = np.stack([(first9 // 10 ** (8 - k)) % 10 for k in range(9)], axis=1)
    check = (digits @ _RNOKPP_WEIGHTS) % 11 % 10
    values = first9 * 10 + check
    return np.char.zfill(values.astype(str), 10)


def _fmt_phone(numbers: np.ndarray, style: np.ndarray) -> np.ndarray:
    s = pl.Series(numbers).cast(pl.String).str.zfill(9)
    spaced = ("+38 (0" + s.str.slice(0, 2) + ") " + s.str.slice(2, 3) + "-" + s.str.slice(5, 2) + "-"
              + s.str.slice(7, 2))
    out = pl.select(
        pl.when(pl.lit(style) == 0).then("+380" + s).when(pl.lit(style) == 1).then("0" + s).otherwise(spaced)
    ).to_series()
    return out.to_numpy()


def _fmt_street(kind_idx: np.ndarray, street_idx: np.ndarray, style: np.ndarray) -> np.ndarray:
    long_forms = {"вул.": "вулиця", "просп.": "проспект", "пров.": "провулок", "бульв.": "бульвар"}
    kinds = np.array(STREET_KINDS)
    streets = np.array(STREETS)
    k = kinds[kind_idx]
    k_long = np.array([long_forms[x] for x in STREET_KINDS])[kind_idx]
    name = streets[street_idx]
    a = np.char.add(np.char.add(k, " "), name)
    b = np.char.add(np.char.add(k_long, " "), name)
    c = np.char.add(np.char.add(name, " "), k)
    return np.where(style == 0, a, np.where(style == 1, b, c))


def _fmt_building(number: np.ndarray, letter: np.ndarray, fraction: np.ndarray, style: np.ndarray) -> np.ndarray:
    num = number.astype(str)
    letters = np.array(["", "а", "б", "в"])[letter]
    frac = np.where(fraction > 0, np.char.add("/", fraction.astype(str)), "")
    base_plain = np.char.add(np.char.add(num, letters), frac)
    base_dash = np.char.add(np.char.add(num, np.where(letter > 0, np.char.add("-", np.char.upper(letters)), "")), frac)
    prefixed = np.char.add("буд. ", base_plain)
    return np.where(style == 0, base_plain, np.where(style == 1, base_dash, prefixed))


def _fmt_apartment(apt: np.ndarray, style: np.ndarray) -> np.ndarray:
    s = apt.astype(str)
    out = np.where(style == 0, s, np.where(style == 1, np.char.add("кв. ", s), np.char.add("кв.", s)))
    return np.where(apt > 0, out, "")


def _fmt_share(num: np.ndarray, den: np.ndarray, style: np.ndarray) -> np.ndarray:
    frac = np.char.add(np.char.add(num.astype(str), "/"), den.astype(str))
    dec = np.char.mod("%.4g", num / den)
    return np.where(style == 0, frac, dec)


# --- the generator ---------------------------------------------------------------------------------------


def generate_population(n_records: int, seed: int = 0, config: SyntheticConfig | None = None) -> pl.DataFrame:
    """Generate ``n_records`` person-in-claim records with ground truth columns ``true_person_id``,
    ``true_property_id`` and ``injected`` (the pattern a record was injected for, or null)."""
    cfg = config or SyntheticConfig()
    rng = np.random.default_rng(seed)
    pyrng = random.Random(seed)

    n_dup = int(n_records * cfg.duplicate_rate)
    n_multi = int(n_records * cfg.multi_destroyed_rate)
    n_repeat = int(n_records * cfg.repeat_rate)
    n_foreign = int(n_records * cfg.foreign_home_rate)
    n_base = n_records - n_dup - n_multi - n_repeat - n_foreign
    if n_base <= 0:
        raise ValueError("n_records too small for the configured rates")

    # --- households and their dwellings
    n_house = int(n_base / 1.6) + 16
    size = rng.choice([1, 2, 3, 4], size=n_house, p=[0.45, 0.35, 0.15, 0.05])
    filer_prob = 0.85
    oblast_w = np.array([o.damage_weight for o in OBLASTS])
    oblast_idx = _weighted_choice(rng, oblast_w, n_house)
    n_cities = np.array([len(o.cities) for o in OBLASTS])
    city_pick = (rng.random(n_house) ** 1.8 * n_cities[oblast_idx]).astype(np.int64)  # main city more often
    city_table = [(oi, ci) for oi, o in enumerate(OBLASTS) for ci in range(len(o.cities))]
    offsets = np.concatenate([[0], np.cumsum(n_cities)[:-1]])
    city_id = offsets[oblast_idx] + np.minimum(city_pick, n_cities[oblast_idx] - 1)
    city_name_arr = np.array([OBLASTS[oi].cities[ci] for oi, ci in city_table])
    oblast_code_arr = np.array([o.code for o in OBLASTS])

    street_idx = rng.integers(0, len(STREETS), size=n_house)
    # one kind per street name and city (there is no "вул. Садова" next to a "пров. Садова" here)
    kind_idx = (city_id * 7919 + street_idx * 104729) % len(STREET_KINDS)
    is_apartment = rng.random(n_house) < 0.45
    bnum = (rng.pareto(1.2, size=n_house) * 8 + 1).astype(np.int64) % 300 + 1
    bletter = np.where(rng.random(n_house) < 0.1, rng.integers(1, 4, size=n_house), 0)
    bfrac = np.where(rng.random(n_house) < 0.05, rng.integers(1, 5, size=n_house), 0)
    apt = np.where(is_apartment, rng.integers(1, 400, size=n_house), 0)
    # addresses are unique: a household drawing an address already taken moves to a higher building number
    addr = (((city_id * 64 + street_idx) * 4096 + bnum) * 4 + bletter) * 8 * 512 + bfrac * 512 + apt
    for _ in range(50):
        _, first_pos, inverse = np.unique(addr, return_index=True, return_inverse=True)
        taken = np.arange(n_house) != first_pos[inverse]
        if not taken.any():
            break
        bnum = np.where(taken, rng.integers(1, 4000, size=n_house), bnum)
        addr = (((city_id * 64 + street_idx) * 4096 + bnum) * 4 + bletter) * 8 * 512 + bfrac * 512 + apt
    has_registry = rng.random(n_house) < 0.6
    registry = np.char.zfill(rng.integers(10**9, 3 * 10**12, size=n_house).astype(str), 13)
    area = np.round(np.where(is_apartment, rng.normal(55, 15, n_house), rng.normal(95, 30, n_house)).clip(18, 400), 1)
    damage_day = rng.integers(0, 700, size=n_house)
    household_claim_kind = rng.choice(3, size=n_house, p=[0.5, 0.35, 0.15])

    # --- people: one row per household member
    member_house = np.repeat(np.arange(n_house), size)
    member_rank = np.arange(len(member_house)) - np.repeat(np.cumsum(size) - size, size)
    n_people = len(member_house)
    male = rng.random(n_people) < 0.48
    # head (rank 0) and spouse (rank 1) of opposite sexes, mostly
    male = np.where(member_rank == 1, ~male[np.maximum(np.arange(n_people) - 1, 0)], male)

    tail = _tail_surnames(cfg.tail_surnames, seed)
    sur_masc = np.array([s[0] for s in SURNAMES] + [t[0] for t in tail])
    sur_fem = np.array([s[1] for s in SURNAMES] + [t[1] for t in tail])
    common_w = np.array([s[2] for s in SURNAMES], dtype=float)
    tail_w = 1.0 / np.arange(1, len(tail) + 1) ** 0.7
    sur_w = np.concatenate([common_w / common_w.sum() * cfg.common_surname_share,
                            tail_w / tail_w.sum() * (1 - cfg.common_surname_share)])
    house_surname = _weighted_choice(rng, sur_w, n_house)
    surname_idx = house_surname[member_house]
    other_name = rng.random(n_people) < 0.1  # spouse who kept another surname
    surname_idx = np.where((member_rank == 1) & other_name, _weighted_choice(rng, sur_w, n_people), surname_idx)
    surname = np.where(male, sur_masc[surname_idx], sur_fem[surname_idx])

    m_names = np.array([g for g, _ in MALE_GIVEN])
    f_names = np.array([g for g, _ in FEMALE_GIVEN])
    given = np.where(male, m_names[_weighted_choice(rng, np.array([w for _, w in MALE_GIVEN], float), n_people)],
                     f_names[_weighted_choice(rng, np.array([w for _, w in FEMALE_GIVEN], float), n_people)])
    patr_idx = rng.integers(0, len(PATRONYMICS), size=n_people)
    patronymic = np.where(male, np.array([p[0] for p in PATRONYMICS])[patr_idx], np.array([p[1] for p in PATRONYMICS])[patr_idx])
    dob = np.datetime64("1933-01-01") + rng.integers(0, 365 * 72, size=n_people).astype("timedelta64[D]")
    rnokpp = _rnokpp(dob, male, rng)
    phone_num = rng.integers(50_000_0000, 99_999_9999, size=n_people)
    iban = np.char.add(np.char.add("UA", np.char.zfill(rng.integers(10, 99, size=n_people).astype(str), 2)),
                       np.char.add("322001", np.char.zfill(rng.integers(0, 10**18, size=n_people).astype(str), 19)))
    share_den = size[member_house]

    # --- base records: members who file, one claim each
    files = (rng.random(n_people) < filer_prob) | (member_rank == 0)
    base_people = np.flatnonzero(files)[:n_base]
    if len(base_people) < n_base:
        raise RuntimeError("household sizing produced too few filers")

    person = [base_people]
    kinds: list[np.ndarray] = [np.full(n_base, 0, dtype=np.int8)]  # 0 = base
    house_of = [member_house[base_people]]

    # duplicates: same person, same home, another claim
    dup_people = rng.choice(base_people, size=n_dup, replace=True)
    person.append(dup_people)
    kinds.append(np.full(n_dup, 1, dtype=np.int8))
    house_of.append(member_house[dup_people])
    # multi destroyed: same person claims another (fictitious) home as destroyed
    multi_people = rng.choice(base_people, size=n_multi, replace=False) if n_multi else np.empty(0, np.int64)
    person.append(multi_people)
    kinds.append(np.full(n_multi, 2, dtype=np.int8))
    house_of.append(np.full(n_multi, -1, dtype=np.int64))
    # repeat damage: a household member files again after a later damage
    rep_people = rng.choice(base_people, size=n_repeat, replace=False) if n_repeat else np.empty(0, np.int64)
    person.append(rep_people)
    kinds.append(np.full(n_repeat, 3, dtype=np.int8))
    house_of.append(member_house[rep_people])
    # foreign home: an unrelated person claims another household's home
    foreign_people = rng.choice(base_people, size=n_foreign, replace=False) if n_foreign else np.empty(0, np.int64)
    victims = rng.integers(0, n_house, size=n_foreign)
    person.append(foreign_people)
    kinds.append(np.full(n_foreign, 4, dtype=np.int8))
    house_of.append(victims)

    pid = np.concatenate(person)
    kind = np.concatenate(kinds)
    hid = np.concatenate(house_of)
    n = len(pid)
    # fictitious homes for multi-destroyed claims get new ids beyond the household range
    fict = np.flatnonzero(hid < 0)
    new_house = n_house + np.arange(len(fict))
    hid[fict] = new_house

    def house_attr(arr: np.ndarray, fill_fn) -> np.ndarray:  # extend household arrays for fictitious homes
        extra = fill_fn(len(fict))
        return np.concatenate([arr, extra])

    oblast_h = house_attr(oblast_idx, lambda k: _weighted_choice(rng, oblast_w, k))
    city_h = house_attr(city_id, lambda k: offsets[oblast_h[n_house:]] if k else np.empty(0, np.int64))
    street_h = house_attr(street_idx, lambda k: rng.integers(0, len(STREETS), size=k))
    kind_h = house_attr(kind_idx, lambda k: rng.integers(0, len(STREET_KINDS), size=k))
    bnum_h = house_attr(bnum, lambda k: rng.integers(1, 200, size=k))
    blet_h = house_attr(bletter, lambda k: np.zeros(k, np.int64))
    bfrac_h = house_attr(bfrac, lambda k: np.zeros(k, np.int64))
    apt_h = house_attr(apt, lambda k: np.zeros(k, np.int64))
    hasreg_h = house_attr(has_registry, lambda k: rng.random(k) < 0.6)
    reg_h = house_attr(registry, lambda k: np.char.zfill(rng.integers(3 * 10**12, 4 * 10**12, size=k).astype(str), 13)
                       if k else np.empty(0, registry.dtype))
    area_h = house_attr(area, lambda k: np.round(rng.normal(100, 25, k).clip(30, 300), 1))  # type: ignore[attr-defined]  # numpy stubs type normal() with a size as float
    is_apt_h = house_attr(is_apartment, lambda k: np.zeros(k, bool))
    dday_h = house_attr(damage_day, lambda k: rng.integers(0, 700, size=k))
    ckind_h = house_attr(household_claim_kind, lambda k: np.full(k, 2))

    # --- assemble record-level columns
    claim_kind_idx = ckind_h[hid].copy()
    claim_kind_idx[kind == 2] = 2
    # a person with a multi-destroyed claim also has the first claim as destroyed-housing
    first_claims_of_multi = np.flatnonzero(np.isin(pid, multi_people) & (kind == 0))
    claim_kind_idx[first_claims_of_multi] = 2
    claim_kind_idx[kind == 1] = np.where(rng.random((kind == 1).sum()) < 0.5, claim_kind_idx[kind == 1], rng.integers(0, 3, (kind == 1).sum()))
    damage = np.datetime64("2022-02-24") + dday_h[hid].astype("timedelta64[D]")
    rep = kind == 3
    damage[rep] = damage[rep] + rng.integers(30, 400, size=rep.sum()).astype("timedelta64[D]")
    claim_kind_idx[rep] = rng.choice(2, size=rep.sum())

    claim_ref = np.char.add("UA-", np.char.zfill(rng.permutation(n).astype(str), 8))
    record_id = np.char.add("R", np.char.zfill(np.arange(n).astype(str), 8))

    styles = rng.integers(0, 3, size=(n, 5))
    street = _fmt_street(kind_h[hid], street_h[hid], styles[:, 0])
    building = _fmt_building(bnum_h[hid], blet_h[hid], bfrac_h[hid], styles[:, 1])
    apartment = _fmt_apartment(apt_h[hid], styles[:, 2])
    phone_style = styles[:, 3]
    share_num = np.ones(n, dtype=np.int64)
    share_den_rec = np.where(kind == 4, 1, np.where(kind == 2, 1, share_den[pid]))
    share_style = styles[:, 4] % 2

    rec_surname = surname[pid].astype(object)
    rec_given = given[pid].astype(object)
    rec_patr = patronymic[pid].astype(object)
    rec_dob = dob[pid].copy()
    rec_rnokpp = rnokpp[pid].astype(object)
    rec_phone_num = phone_num[pid].copy()
    rec_iban = iban[pid].astype(object)

    # missing values in ordinary records
    rec_rnokpp[rng.random(n) < 0.05] = None
    no_phone = rng.random(n) < 0.08
    no_iban = (claim_kind_idx == 0) & (rng.random(n) < 0.6)
    no_dob = rng.random(n) < 0.01
    rec_patr[rng.random(n) < 0.04] = None

    # --- variants on repeated filings by the same person (duplicates, multi, repeats)
    varied = np.flatnonzero((kind == 1) | (kind == 2) | (kind == 3))
    u = rng.random((len(varied), 8))
    for j, i in enumerate(varied.tolist()):
        uu = u[j]
        if uu[0] < 0.25:  # official Latin
            rec_surname[i] = translit_uk(rec_surname[i])
            rec_given[i] = translit_uk(rec_given[i])
            rec_patr[i] = translit_uk(rec_patr[i]) if rec_patr[i] else None
        elif uu[0] < 0.4:  # unofficial Latin
            rec_surname[i] = _unofficial_latin(rec_surname[i], pyrng)
            rec_given[i] = _unofficial_latin(rec_given[i], pyrng)
            rec_patr[i] = _unofficial_latin(rec_patr[i], pyrng) if rec_patr[i] else None
        if uu[1] < 0.12:
            rec_surname[i] = _typo(rec_surname[i], pyrng)
        if uu[2] < 0.08:
            rec_given[i] = _typo(rec_given[i], pyrng)
        if uu[3] < 0.3:
            rec_rnokpp[i] = None
        if uu[4] < 0.2:
            rec_phone_num[i] = rng.integers(50_000_0000, 99_999_9999)
        if uu[5] < 0.1:
            d = rec_dob[i].astype(date)
            if d.day <= 12 and d.day != d.month:
                rec_dob[i] = np.datetime64(date(d.year, d.day, d.month))
        elif uu[5] < 0.14:
            rec_dob[i] = rec_dob[i] + np.timedelta64(int(pyrng.choice([-1, 1, 10, -10])), "D")
        if uu[6] < 0.05:
            rec_patr[i] = None
    # the multi-destroyed and repeat claims keep contacts more often than plain duplicates: nothing more to do

    # --- shared IBAN: groups of 3-8 unrelated claimants give one account
    n_shared = int(n * cfg.shared_iban_rate)
    injected = np.full(n, None, dtype=object)
    injected[kind == 1] = "duplicate"
    injected[kind == 2] = "multi_destroyed"
    injected[rep] = np.where(rng.random(rep.sum()) < cfg.repeat_unlinked_share, "repeat_unlinked", "repeat_linked")
    injected[kind == 4] = "foreign_home"
    if n_shared:
        candidates = rng.choice(np.flatnonzero(kind == 0), size=n_shared, replace=False)
        group = np.arange(n_shared) // 5
        first = candidates[np.searchsorted(group, group)]  # first member of each group
        rec_iban[candidates] = rec_iban[first]
        no_iban[candidates] = False
        injected[candidates] = "shared_iban"
    # share inflated: a co-owner of a multi-owner home says share 1
    n_infl = int(n * cfg.share_inflated_rate)
    multi_owner = np.flatnonzero((kind == 0) & (share_den_rec > 1) & (injected == None))  # noqa: E711
    if n_infl and len(multi_owner):
        infl = rng.choice(multi_owner, size=min(n_infl, len(multi_owner)), replace=False)
        share_den_rec[infl] = 1
        injected[infl] = "share_inflated"

    rec_iban[no_iban] = None
    phone = _fmt_phone(rec_phone_num, phone_style).astype(object)
    phone[no_phone] = None

    # previous claim for repeats: the person's base claim
    base_pos = np.full(n_people, -1, dtype=np.int64)
    base_pos[pid[kind == 0]] = np.flatnonzero(kind == 0)
    is_redamage = np.zeros(n, dtype=bool)
    previous = np.full(n, None, dtype=object)
    linked = injected == "repeat_linked"
    is_redamage[linked] = True
    prev_pos = base_pos[pid[linked]]
    previous[np.flatnonzero(linked)[prev_pos >= 0]] = claim_ref[prev_pos[prev_pos >= 0]]
    unlinked = injected == "repeat_unlinked"
    is_redamage[unlinked] = rng.random(unlinked.sum()) < 0.3  # marked re-damaged but no reference

    registry_col = np.where(hasreg_h[hid], reg_h[hid], None).astype(object)  # type: ignore[call-overload]  # an object array with None for missing (the stubs reject None)
    registry_col[(kind == 1) & (rng.random(n) < 0.15)] = None
    claim_kinds = np.array(["damage_report", "repair_application", "destroyed_housing_application"])
    property_kind = np.where(is_apt_h[hid], "apartment", "house")
    dob_col = rec_dob.astype("datetime64[D]")
    dob_col[no_dob] = np.datetime64("NaT")

    df = pl.DataFrame(
        {
            "record_id": record_id,
            "claim_ref": claim_ref,
            "person_key": pl.Series("person_key", [None] * n, dtype=pl.String),
            "surname": _strings(rec_surname),
            "given_name": _strings(rec_given),
            "patronymic": _strings(rec_patr),
            "birth_date": pl.Series(dob_col, dtype=pl.Date),
            "rnokpp": _strings(rec_rnokpp),
            "phone": _strings(phone),
            "iban": _strings(rec_iban),
            "oblast": oblast_code_arr[oblast_h[hid]],
            "city": city_name_arr[city_h[hid]],
            "street": street,
            "building": building,
            "apartment": _strings(np.where(apartment == "", None, apartment)),  # type: ignore[call-overload]  # an object array with None for missing (the stubs reject None)
            "registry_number": _strings(registry_col),
            "property_kind": property_kind,
            "area_m2": area_h[hid],
            "damage_date": pl.Series(damage.astype("datetime64[D]"), dtype=pl.Date),
            "claim_kind": claim_kinds[claim_kind_idx],
            "share": _fmt_share(share_num, share_den_rec, share_style),
            "is_redamage": is_redamage,
            "previous_claim_ref": _strings(previous),
            "true_person_id": pid,
            "true_property_id": hid,
            "injected": _strings(injected),
        }
    )
    # shuffle so that injected records are not at the end
    return df.sample(fraction=1.0, shuffle=True, seed=seed)
