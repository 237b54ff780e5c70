"""Finding a claim by what staff know: its reference, an owner's RNOKPP or name (Cyrillic or Latin, in any of
the spellings people and foreign documents produce), the address or the registry number.

Each claim's searchable text is folded into keys (`kernel.translit.match_key`, the linkage's spelling keys:
Олександр, Oleksandr and Olexandr are one key), kept as one string in `claim_search` and as a word index in
`claim_search_words` (word key, oblast, claim id). A query is folded the same way: every word of it must be a
word of the claim, the last one typed may be the start of one ("Шевченко Ол").

How a search stays fast at a million claims (`matching_ids`): each oblast's claims with a word are one range of
the word index, in claim-id order. Per oblast in the caller's scope, the search counts (up to COUNT_CAP) how
many claims each query word has there, skips the oblasts where a word has none, and walks the rarest word's
range in claim-id order, joining the other words' ranges (a merge or index probes) and the claims row (the
queue's other filters), stopping at the page. The oblasts' walks are merged in order (UNION ALL, each LIMITed),
so a page reads about a page of matches per oblast, however common each word is on its own. A prefix is
expanded to the (at most MAX_EXPANSIONS) keys it starts, each its own ordered range.

That walk is right when the matches are common among the rarest word's claims. When every word is too common to
count and few claims have them all (a street, a building number and "вул."), each oblast's walk would read its
whole part of the ranges: a sample of the rarest word's claims (`_sparse`) finds that out, and one statement
then joins every word's range once (`_joined`), the planner choosing the order from the word index's statistics
(migration 0023). With no filter but the oblasts, no claim row is read (the word index holds the oblast).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session

from everymetre.claims.models import Claim, ClaimSearch, ClaimSearchWord, Ownership, Person, Property
from everymetre.kernel.errors import ValidationFailed
from everymetre.kernel.geography import OBLASTS
from everymetre.kernel.identifiers import parse_claim_reference
from everymetre.kernel.translit import match_key, translit_uk

WORD = re.compile(r"[^\W_]+(?:['’ʼ][^\W_]+)*")
MAX_QUERY_WORDS = 8
CHUNK = 5000
SMALL = 20  # claims written in one statement (keys and words together) on PostgreSQL
MIN_QUERY = 2  # characters: shorter is refused (422), it would match nearly everything
COUNT_CAP = 2_000  # a word's claims are counted up to this in all, per oblast (to pick the rarest word)
MAX_EXPANSIONS = 16  # a prefix starting more keys than this is walked as one range (sorted) or only checked
SAMPLE = 500  # a search of common words samples this many claims of the rarest one ...
DENSE = 20  # ... and, if fewer than 1 in DENSE have every word, reads the words' ranges once, not per oblast,
JOIN_CAP = 40_000  # ... when one of them has at most this many claims (each counted up to it)
_WORDS = ClaimSearchWord.__table__
# The word index's aliases, made once: a query joins it once per word, and each branch of a search (one per oblast)
# reuses the same names (each SELECT of a UNION is its own scope). Building an alias's columns costs more than
# running its part of the query, and an ORM alias more still.
_ALIAS = [_WORDS.alias(f"w{i}") for i in range(MAX_QUERY_WORDS + 2)]


@lru_cache(maxsize=100_000)
def word_key(word: str) -> str | None:
    """The key of one word: digits kept (leading zeros dropped), letters folded by the linkage's spelling key.
    (Cached: names, streets and towns repeat across claims.)"""
    if word.isascii() and word.isdigit():  # a number (RNOKPP, registry, building): itself without leading zeros
        return word.lstrip("0") or None
    if any(ch.isdigit() for ch in word):
        latin = (translit_uk(word.lower()) or "").lower()
        key = re.sub(r"[^0-9a-z]", "", latin).lstrip("0")
        return key or None
    return match_key(word)


def keys_of(texts: Iterable[str | None]) -> str:
    """The space-padded set of word keys of these texts (names, address parts, numbers)."""
    out: set[str] = set()
    for t in texts:
        if t:
            for w in WORD.findall(t):
                if k := word_key(w):
                    out.add(k)
    return " " + " ".join(sorted(out)) + " "


def claim_keys(names: Iterable[str | None], rnokpps: Iterable[str | None], home: dict[str, Any]) -> str:
    registry = re.sub(r"\D", "", home.get("registry_number") or "")
    return keys_of([*names, *rnokpps, registry, home.get("street"), home.get("building"), home.get("apartment"),
                    home.get("hromada")])


def _rows(conn: Connection | Session, claim_ids: list[int]) -> list[dict[str, Any]]:
    homes = conn.execute(
        select(Claim.id, Claim.oblast, Property.street, Property.building, Property.apartment, Property.hromada,
               Property.registry_number).join(Property, Property.id == Claim.property_id).where(Claim.id.in_(claim_ids))
    ).mappings().all()
    people: dict[int, list[tuple[str | None, str | None, str | None]]] = {}
    for cid, name, latin, rnokpp in conn.execute(
            select(Ownership.claim_id, Person.full_name, Person.full_name_latin, Person.rnokpp)
            .join(Person, Person.id == Ownership.person_id).where(Ownership.claim_id.in_(claim_ids))):
        people.setdefault(cid, []).append((name, latin, rnokpp))
    out = []
    for h in homes:
        owners = people.get(h["id"], [])
        names = [n for name, latin, _ in owners for n in (name, latin)]
        out.append({"claim_id": h["id"], "oblast": h["oblast"],
                    "keys": claim_keys(names, [r for _, _, r in owners], dict(h))})
    return out


def word_rows(claim_id: int, oblast: str, keys: str) -> list[dict[str, Any]]:
    """The word-index rows of one claim's keys."""
    return [{"word_key": k, "oblast": oblast, "claim_id": claim_id} for k in keys.split() if len(k) <= 100]


def _write(conn: Connection | Session, rows: list[dict[str, Any]]) -> None:
    keys = [{"claim_id": r["claim_id"], "keys": r["keys"]} for r in rows]
    words = [w for r in rows for w in word_rows(r["claim_id"], r["oblast"], r["keys"])]
    bind = conn.get_bind() if isinstance(conn, Session) else conn
    if words and len(rows) <= SMALL and bind.dialect.name == "postgresql":
        # one request's claims: the keys and the word index in one statement (one round trip, not two)
        from everymetre.store.bulk import unnest_insert

        keys_sql, keys_params = unnest_insert(conn, ClaimSearch.__table__, keys, "k_")
        words_sql, words_params = unnest_insert(conn, ClaimSearchWord.__table__, words, "w_")
        conn.execute(text(f"WITH new_keys AS ({keys_sql}) {words_sql}"), {**keys_params, **words_params})
        return
    conn.execute(insert(ClaimSearch), keys)
    if words:
        conn.execute(insert(ClaimSearchWord), words)


def words_from_keys(conn: Connection) -> None:
    """Fill the word index from the keys in claim_search (the migration that adds it; a bulk copy)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(
            "INSERT INTO claim_search_words (word_key, oblast, claim_id) SELECT DISTINCT w, c.oblast, s.claim_id "
            "FROM claim_search s JOIN claims c ON c.id = s.claim_id, unnest(string_to_array(btrim(s.keys), ' ')) w "
            "WHERE w <> '' AND length(w) <= 100 ON CONFLICT DO NOTHING"))
        return
    rows = conn.execute(select(ClaimSearch.claim_id, Claim.oblast, ClaimSearch.keys)
                        .join(Claim, Claim.id == ClaimSearch.claim_id)).all()
    words = [w for cid, oblast, keys in rows for w in word_rows(cid, oblast, keys)]
    for i in range(0, len(words), CHUNK):
        conn.execute(insert(ClaimSearchWord), words[i:i + CHUNK])


def index_claims(conn: Connection | Session, claim_ids: Iterable[int]) -> int:
    """(Re)write the search keys of these claims, in the caller's transaction. Returns how many were written."""
    ids = sorted(set(claim_ids))
    n = 0
    for i in range(0, len(ids), CHUNK):
        part = ids[i:i + CHUNK]
        rows = _rows(conn, part)
        conn.execute(delete(ClaimSearch).where(ClaimSearch.claim_id.in_(part)))
        conn.execute(delete(ClaimSearchWord).where(ClaimSearchWord.claim_id.in_(part)))
        if rows:
            _write(conn, rows)
        n += len(rows)
    return n


def index_new_claims(conn: Connection | Session, rows: list[dict[str, Any]]) -> None:
    """Write the search keys and word index of claims just filed (`{"claim_id", "oblast", "keys"}` made by
    `claim_keys` from the rows in hand, no reading back), in the caller's transaction."""
    from everymetre.store.bulk import insert_rows

    insert_rows(conn, ClaimSearch.__table__, [{"claim_id": r["claim_id"], "keys": r["keys"]} for r in rows])
    insert_rows(conn, ClaimSearchWord.__table__, [w for r in rows for w in word_rows(r["claim_id"], r["oblast"], r["keys"])])


def index_new_claim(session: Session, claim: Claim) -> None:
    """Write the search keys of a claim just filed, from the objects in hand (no reading back: one INSERT)."""
    home = claim.home
    names = [n for o in claim.owners for n in (o.person.full_name, o.person.full_name_latin)]
    keys = claim_keys(names, [o.person.rnokpp for o in claim.owners],
                      {"street": home.street, "building": home.building, "apartment": home.apartment,
                       "hromada": home.hromada, "registry_number": home.registry_number})
    _write(session, [{"claim_id": claim.id, "oblast": claim.oblast, "keys": keys}])


def index_missing(conn: Connection | Session, rebuild: bool = False) -> int:
    """Index every claim that has no search keys yet (or, with `rebuild`, every claim)."""
    stmt = select(Claim.id).order_by(Claim.id)
    if not rebuild:
        stmt = stmt.where(~select(ClaimSearch.claim_id).where(ClaimSearch.claim_id == Claim.id).exists())
    ids = list(conn.execute(stmt).scalars())
    return index_claims(conn, ids)


@dataclass
class Query:
    reference: tuple[int, int] | None = None
    exact: list[str] = field(default_factory=list)  # keys that must be words of the claim
    prefix: str | None = None  # the last word typed: a key that must start a word of the claim


def check(q: str) -> None:
    """Refuse a query too short to mean anything (one character would match most of the store)."""
    if 0 < len(q.strip()) < MIN_QUERY:
        raise ValidationFailed(f"Type at least {MIN_QUERY} characters to search.", field="q")


def parse(q: str) -> Query:
    q = q.strip()
    if (ref := parse_claim_reference(q)) is not None:
        return Query(reference=ref)
    keys = [k for w in WORD.findall(q)[:MAX_QUERY_WORDS] if (k := word_key(w))]
    if not keys:
        return Query()
    last = keys[-1]
    return Query(exact=sorted(set(keys[:-1]) - {last}), prefix=last)


def _upper(prefix: str) -> str:
    """The least string above every string that starts with `prefix` (the keys are ASCII: byte order)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _in_range(col: Any, prefix: str) -> ColumnElement[bool]:
    return and_(col >= prefix, col < _upper(prefix))


def condition(q: str) -> ColumnElement[bool]:
    """The SQL condition on `Claim` that it matches the query (by reference, or by its words). Correct anywhere;
    fast only in `matching_ids`, which walks the word index a page at a time."""
    parsed = parse(q)
    if parsed.reference is not None:
        return and_(Claim.id == parsed.reference[1], Claim.ref_year == parsed.reference[0])
    if parsed.prefix is None:
        return false()
    conds: list[ColumnElement[bool]] = []
    for i, k in enumerate(parsed.exact):
        w = _ALIAS[i]
        conds.append(exists().where(w.c.claim_id == Claim.id, w.c.word_key == k))
    w = _ALIAS[len(parsed.exact)]
    conds.append(exists().where(w.c.claim_id == Claim.id, _in_range(w.c.word_key, parsed.prefix)))
    return and_(*conds)


def _expansions(session: Session, prefix: str) -> list[str]:
    """The keys starting with `prefix`, up to MAX_EXPANSIONS + 1, by a loose scan of the word index: one
    statement (a recursive step per key, each the next key above the last, an index probe)."""
    w, nxt = _ALIAS[0], _ALIAS[1]
    least = select(func.min(w.c.word_key)).where(w.c.word_key >= prefix, w.c.word_key < _upper(prefix))
    # min() as a scalar subquery: PostgreSQL reads it as one index probe (beside another column, it would
    # aggregate the whole range)
    first = select(least.scalar_subquery().label("k"), literal(1).label("n")).cte("expansions", recursive=True)
    step = select(func.min(nxt.c.word_key)).where(nxt.c.word_key > first.c.k, nxt.c.word_key < _upper(prefix))
    keys = first.union_all(select(step.scalar_subquery(), first.c.n + 1)
                           .where(first.c.k.is_not(None), first.c.n <= MAX_EXPANSIONS))
    return list(session.scalars(select(keys.c.k).where(keys.c.k.is_not(None)).order_by(keys.c.n)))


def _counts(session: Session, parsed: Query, oblasts: list[str]) -> dict[tuple[str, bool], dict[str, int] | None]:
    """Per query word: its claims per oblast, each word's counted up to COUNT_CAP in all (None: more than that,
    the per-oblast figures only partly known). One statement, index-only ranges."""
    words = [(k, False) for k in parsed.exact] + [(parsed.prefix, True)]
    parts = []
    for i, (k, is_prefix) in enumerate(words):
        w = _ALIAS[i]
        cond = _in_range(w.c.word_key, k) if is_prefix else w.c.word_key == k  # type: ignore[arg-type]
        sub = select(w.c.oblast).where(cond, w.c.oblast.in_(oblasts)).limit(COUNT_CAP + 1).subquery()
        parts.append(select(literal(i).label("i"), sub.c.oblast, func.count().label("n")).group_by(sub.c.oblast))
    found: list[dict[str, int]] = [{} for _ in words]
    for i, oblast, n in session.execute(union_all(*parts)).tuples():
        found[i][oblast] = n
    return {word: (None if sum(found[i].values()) > COUNT_CAP else found[i])  # type: ignore[misc]
            for i, word in enumerate(words)}


def _present(session: Session, parsed: Query, counts: dict[tuple[str, bool], dict[str, int] | None],
             oblasts: list[str], expand: Any) -> set[str]:
    """The oblasts where every word too common to count has a claim (one index probe per word and oblast; a
    prefix by its keys, when it starts at most MAX_EXPANSIONS): a street or hromada is in few oblasts."""
    out = set(oblasts)
    for (k, is_prefix), c in counts.items():
        if c is not None:
            continue
        keys = expand(k) if is_prefix else [k]
        if len(keys) > MAX_EXPANSIONS:
            continue
        w = _ALIAS[0]
        probes = [select(literal(o).label("o")).where(exists().where(w.c.word_key.in_(keys), w.c.oblast == o))
                  for o in sorted(out)]
        out &= set(session.scalars(union_all(*probes))) if probes else set()
    return out


def scope_oblasts(oblasts: Iterable[str] | None) -> list[str]:
    """The oblasts a search walks: these, or (None: a national role) every oblast."""
    return sorted(oblasts) if oblasts is not None else sorted(o.code for o in OBLASTS)


def matching_ids(session: Session, base: Select | None, q: str, oblasts: list[str], limit: int, offset: int = 0,
                 after: int | None = None, descending: bool = False) -> list[int]:
    """The ids of the claims of `base` (the queue's claims, filtered, without the search) that match `q`, in
    claim-id order (or reversed), `limit` of them after `offset` (or after the id `after`). `base` None: every
    claim of `oblasts` (no other filter), read from the word index alone, without a probe of each claim's row."""
    parsed = parse(q)
    order = (lambda c: c.desc()) if descending else (lambda c: c.asc())
    if parsed.reference is not None:
        stmt = (base if base is not None else select(Claim).where(Claim.oblast.in_(oblasts)))
        stmt = stmt.where(condition(q)).with_only_columns(Claim.id)
        return list(session.scalars(stmt.where(Claim.id > after) if after is not None else stmt))[offset:offset + limit]
    if parsed.prefix is None or not oblasts:
        return []
    if session.get_bind().dialect.name == "postgresql":
        # Planned for these words, every time: psycopg prepares a statement run five times, and PostgreSQL may
        # then keep a generic plan, made without the words, for a million claims a walk from the wrong word.
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    counts = _counts(session, parsed, oblasts)
    expansions: list[str] | None = None
    expanded: dict[str, list[str]] = {}

    def expand(prefix: str) -> list[str]:
        if prefix not in expanded:
            expanded[prefix] = _expansions(session, prefix)
        return expanded[prefix]

    present = _present(session, parsed, counts, oblasts, expand)
    plan: list[tuple[str, str, bool]] = []  # (oblast, its rarest word, whether that is the prefix)
    for oblast in oblasts:
        known = {word: (c.get(oblast, 0) if c is not None else COUNT_CAP + 1) for word, c in counts.items()}
        if any(c is not None and oblast not in c for c in counts.values()) or oblast not in present:
            continue  # a word no claim of this oblast has
        (drive, drive_prefix), _ = min(known.items(), key=lambda kv: (kv[1], kv[0][1]))
        plan.append((oblast, drive, drive_prefix))
    if not plan:
        return []
    if parsed.exact and len(plan) > 1:
        counted = [k for (k, is_prefix), c in counts.items() if c is not None and not is_prefix]
        first = counted[0] if counted else (None if any(c is not None for c in counts.values())
                                            else _sparse(session, parsed, plan))
        if first is not None or any(c is not None for c in counts.values()):
            where = None if len(plan) == len(scope_oblasts(None)) else [o for o, _, _ in plan]
            return _joined(session, base, parsed, first or parsed.exact[0], where, limit, offset, after, descending,
                           expand)
    branches = []
    for oblast, drive, drive_prefix in plan:
        if drive_prefix and expansions is None:
            expansions = expand(drive)
            if not expansions:
                return []
        drives: list[str | None] = [drive]
        if drive_prefix:
            drives = list(expansions) if expansions and len(expansions) <= MAX_EXPANSIONS else [None]  # None: range
        for key in drives:
            w = _ALIAS[0]
            stmt = (base.join(w, w.c.claim_id == Claim.id) if base is not None else select(w)).where(w.c.oblast == oblast)
            stmt = stmt.where(w.c.word_key == key if key is not None else _in_range(w.c.word_key, drive))
            for j, other in enumerate(parsed.exact, start=2):
                if other != drive or drive_prefix:
                    x = _ALIAS[j]
                    stmt = stmt.join(x, and_(x.c.claim_id == w.c.claim_id, x.c.oblast == oblast, x.c.word_key == other))
            if not drive_prefix:  # a probe per claim walked (a LIMITed subquery: never a hash of the national range)
                p = _ALIAS[1]
                probe = select(p.c.claim_id).where(p.c.claim_id == w.c.claim_id, _in_range(p.c.word_key, parsed.prefix))
                stmt = stmt.where(probe.limit(1).scalar_subquery().is_not(None))
            if after is not None:
                stmt = stmt.where(w.c.claim_id < after if descending else w.c.claim_id > after)
            branches.append(stmt.with_only_columns(w.c.claim_id.label("id")).order_by(order(w.c.claim_id))
                            .limit(offset + limit).subquery())
    if not branches:
        return []
    merged = (select(*branches[0].c) if len(branches) == 1
              else select(*union_all(*(select(*b.c) for b in branches)).subquery().c)).subquery()
    stmt = select(merged.c.id).group_by(merged.c.id).order_by(order(merged.c.id)).offset(offset).limit(limit)
    return list(session.scalars(stmt))


def _sparse(session: Session, parsed: Query, plan: list[tuple[str, str, bool]]) -> str | None:
    """When the claims with every word are few among those with the rarest (all common) and the rarest exact
    word has at most JOIN_CAP claims: that word (to join the others from). Of the first SAMPLE claims of the
    first oblast's rarest word, fewer than one in DENSE have the others. One statement: an index-only range, a
    probe per word of each sampled claim, and each exact word's claims counted up to JOIN_CAP + 1."""
    assert parsed.prefix is not None
    oblast, drive, _ = next(((o, d, p) for o, d, p in plan if not p), (plan[0][0], parsed.exact[0], False))
    w = _ALIAS[0]
    sample = (select(w.c.claim_id).where(w.c.word_key == drive, w.c.oblast == oblast).order_by(w.c.claim_id)
              .limit(SAMPLE).subquery())
    conds = [exists().where(x.c.claim_id == sample.c.claim_id, x.c.word_key == other)
             for x, other in zip(_ALIAS[2:], [k for k in parsed.exact if k != drive], strict=False)]
    p = _ALIAS[1]
    conds.append(exists().where(p.c.claim_id == sample.c.claim_id, _in_range(p.c.word_key, parsed.prefix)))
    sizes = []
    for x, k in zip(_ALIAS[2:], parsed.exact, strict=False):
        sub = select(x.c.claim_id).where(x.c.word_key == k).limit(JOIN_CAP + 1).subquery()
        sizes.append(select(func.count()).select_from(sub).scalar_subquery())
    total, matched, *counted = session.execute(
        select(func.count(), func.count().filter(and_(*conds)), *sizes).select_from(sample)).one()
    rarest, n = min(zip(parsed.exact, counted, strict=True), key=lambda kv: kv[1])
    return rarest if matched * DENSE < total and n <= JOIN_CAP else None


def _joined(session: Session, base: Select | None, parsed: Query, first: str, oblasts: list[str] | None, limit: int,
            offset: int, after: int | None, descending: bool, expand: Any) -> list[int]:
    """The matches as one statement over the oblasts (None: every oblast): the claims of the exact word `first`
    joined to the others on (claim id, word), the planner picking the order (the rarest ranges read once and
    hashed, the rest probed), the matches sorted. For few matches among common words it reads each word's
    range once, where the walks per oblast, each stopping at a page, would read them once per oblast."""
    assert parsed.prefix is not None
    keys = expand(parsed.prefix)
    if not keys:
        return []
    order = (lambda c: c.desc()) if descending else (lambda c: c.asc())
    w = _ALIAS[0]
    stmt = (base.join(w, w.c.claim_id == Claim.id) if base is not None else select(w)).where(w.c.word_key == first)
    if oblasts is not None:
        stmt = stmt.where(w.c.oblast.in_(oblasts))
    for x, other in zip(_ALIAS[2:], [k for k in parsed.exact if k != first], strict=False):
        stmt = stmt.join(x, and_(x.c.claim_id == w.c.claim_id, x.c.word_key == other))
    p = _ALIAS[1]
    stmt = stmt.where(exists().where(p.c.claim_id == w.c.claim_id, p.c.word_key.in_(keys) if len(keys) <= MAX_EXPANSIONS
                                     else _in_range(p.c.word_key, parsed.prefix)))
    if after is not None:
        stmt = stmt.where(w.c.claim_id < after if descending else w.c.claim_id > after)
    stmt = stmt.with_only_columns(w.c.claim_id).order_by(order(w.c.claim_id)).offset(offset).limit(limit)
    return list(session.scalars(stmt))
