"""Finding a claim by what staff know: its reference, an owner's RNOKPP or name (Cyrillic or Latin, in any of
the spellings people and foreign documents produce), the address or the registry number.

Each claim's searchable text is folded into keys (`kernel.translit.match_key`, the linkage's spelling keys:
Олександр, Oleksandr and Olexandr are one key) and kept in `claim_search`. A query is folded the same way, and
every word of it must start a word of the claim's keys. On PostgreSQL a pg_trgm GIN index serves the match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, delete, false, insert, select
from sqlalchemy.orm import Session

from everymetre.claims.models import Claim, ClaimSearch, Ownership, Person, Property
from everymetre.kernel.identifiers import parse_claim_reference
from everymetre.kernel.translit import match_key, translit_uk

WORD = re.compile(r"[^\W_]+(?:['’ʼ][^\W_]+)*")
MAX_QUERY_WORDS = 8
CHUNK = 5000


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
        select(Claim.id, Property.street, Property.building, Property.apartment, Property.hromada,
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
        out.append({"claim_id": h["id"], "keys": claim_keys(names, [r for _, _, r in owners], dict(h))})
    return out


def index_claims(conn: Connection | Session, claim_ids: Iterable[int]) -> int:
    """(Re)write the search keys of these claims, in the caller's transaction. Returns how many were written."""
    ids = sorted(set(claim_ids))
    n = 0
    for i in range(0, len(ids), CHUNK):
        part = ids[i:i + CHUNK]
        rows = _rows(conn, part)
        conn.execute(delete(ClaimSearch).where(ClaimSearch.claim_id.in_(part)))
        if rows:
            conn.execute(insert(ClaimSearch), rows)
        n += len(rows)
    return n


def index_new_claims(conn: Connection | Session, rows: list[dict[str, Any]]) -> None:
    """Write the search keys of claims just filed (`{"claim_id", "keys"}` made by `claim_keys` from the rows in
    hand, no reading back), in the caller's transaction."""
    from everymetre.store.bulk import insert_rows

    insert_rows(conn, ClaimSearch.__table__, rows)


def index_new_claim(session: Session, claim: Claim) -> None:
    """Write the search keys of a claim just filed, from the objects in hand (no reading back: one INSERT)."""
    home = claim.home
    names = [n for o in claim.owners for n in (o.person.full_name, o.person.full_name_latin)]
    keys = claim_keys(names, [o.person.rnokpp for o in claim.owners],
                      {"street": home.street, "building": home.building, "apartment": home.apartment,
                       "hromada": home.hromada, "registry_number": home.registry_number})
    session.execute(insert(ClaimSearch), [{"claim_id": claim.id, "keys": keys}])


def index_missing(conn: Connection | Session, rebuild: bool = False) -> int:
    """Index every claim that has no search keys yet (or, with `rebuild`, every claim)."""
    stmt = select(Claim.id).order_by(Claim.id)
    if not rebuild:
        stmt = stmt.where(~select(ClaimSearch.claim_id).where(ClaimSearch.claim_id == Claim.id).exists())
    ids = list(conn.execute(stmt).scalars())
    return index_claims(conn, ids)


def query_keys(q: str) -> list[str]:
    """The keys a query must match, longest first (the most selective word leads the index scan)."""
    keys = {k for w in WORD.findall(q)[:MAX_QUERY_WORDS] if (k := word_key(w))}
    return sorted(keys, key=lambda k: (-len(k), k))


def condition(q: str) -> ColumnElement[bool]:
    """The SQL condition on `Claim` that it matches the query: by reference, or every word a key prefix."""
    q = q.strip()
    parsed = parse_claim_reference(q)
    if parsed is not None:
        return and_(Claim.id == parsed[1], Claim.ref_year == parsed[0])
    keys = query_keys(q)
    if not keys:
        return false()
    match = and_(*(ClaimSearch.keys.like(f"% {k}%") for k in keys))
    return Claim.id.in_(select(ClaimSearch.claim_id).where(match))
