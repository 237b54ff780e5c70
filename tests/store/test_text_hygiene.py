"""No text field takes control or text-direction override characters (NUL among them: PostgreSQL cannot store
it, and it was a 500 there): the API's schemas, the page forms and the importer refuse them with a field path."""

from __future__ import annotations

import copy
import types
import typing
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from everymetre.claims.schemas import ClaimCreate, TransitionIn
from everymetre.kernel.text import BIDI, CONTROL, text_problem
from tests.factories import claim_body
from tests.store.test_claims_api import ACT, API

BAD = ["\x00", "\x1b", "\x1b[31m", "\x07", "\x7f", "\x85", "\u202e", "\u202a", "\u2066", "\u2069"]
LINE_ONLY_BAD = ["\n", "\t", "\r"]
TRANSITION = {"to": "inspected", "reason": "причина", "expected_version": 1, "documents_requested": ["Витяг"],
              "inspection_act": {**ACT, "notes": "нотатки"}, "decision": {"reasons": "Підстави"},
              "duplicate_of": "EM-2026-0000001"}
MULTILINE = {"description", "notes", "reasons", "reason", "amount_reason"}


def _text_paths(model: type[BaseModel], prefix: tuple = ()) -> list[tuple]:
    """Every text field of a request model, as a path into its body (lists by their first item)."""
    out = []
    for name, info in model.model_fields.items():
        out += _paths_of(info.annotation, (*prefix, name))
    return out


def _paths_of(tp: Any, path: tuple) -> list[tuple]:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _paths_of(typing.get_args(tp)[0], path)
    if origin in (typing.Union, types.UnionType):
        return [p for arg in typing.get_args(tp) for p in _paths_of(arg, path)]
    if origin is list:
        return _paths_of(typing.get_args(tp)[0], (*path, 0))
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return _text_paths(tp, path)
    if tp is str:
        return [path]
    return []


CLAIM_PATHS = _text_paths(ClaimCreate)
TRANSITION_PATHS = _text_paths(TransitionIn)


def test_every_text_field_is_found() -> None:
    assert ("owners", 0, "full_name") in CLAIM_PATHS and ("property", "street") in CLAIM_PATHS
    assert ("description",) in CLAIM_PATHS and ("inspection_act", "works", 0, "unit") in TRANSITION_PATHS
    assert len(CLAIM_PATHS) >= 15 and len(TRANSITION_PATHS) >= 8


def _put(body: Any, path: tuple, value: str) -> None:
    for key in path[:-1]:
        if isinstance(body, list):
            body = body[key]
        else:
            body = body.setdefault(key, [{}] if isinstance(key, int) else {})
    if isinstance(body, list):
        body[path[-1]] = value
    else:
        body[path[-1]] = [value] if isinstance(body.get(path[-1]), list) else value


FIELDS = [("claim", p) for p in CLAIM_PATHS] + [("transition", p) for p in TRANSITION_PATHS]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=st.sampled_from(FIELDS), bad=st.sampled_from(BAD + LINE_ONLY_BAD), before=st.text(max_size=5),
       after=st.text(max_size=5))
def test_bad_characters_in_any_api_text_field_are_422_with_its_path(client, auth, target, bad, before, after) -> None:
    kind, path = target
    if bad in LINE_ONLY_BAD and path[-1] in MULTILINE:
        bad = "\x00"
    value = f"Ім'я{before}{bad}{after}я"
    if kind == "claim":
        body = claim_body()
        _put(body, path, value)
        r = client.post(f"{API}/claims", json=body, headers=auth("citizen"))
    else:
        body = copy.deepcopy({**TRANSITION, "inspection_act": {**ACT, "works": [ACT["works"][0]]}})
        _put(body, path, value)
        r = client.post(f"{API}/claims/EM-2026-0000001/transitions", json=body, headers=auth("officer"))
    assert r.status_code == 422, (path, repr(value), r.status_code, r.text)
    fields = [e["field"] for e in r.json()["errors"]]
    assert "body." + ".".join(str(p) for p in path) in fields, (path, fields)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Z"), exclude_characters="\u2066\u2067\u2068\u2069\u202a\u202b\u202c\u202d\u202e"), min_size=1, max_size=60),
       description=st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200).filter(
           lambda s: text_problem(s, multiline=True) is None))
def test_clean_text_is_stored_as_given(client, auth, name, description) -> None:
    body = claim_body(description=description)
    body["owners"][0]["full_name"] = f"Коваль {name}"
    r = client.post(f"{API}/claims", json=body, headers=auth("citizen"))
    assert r.status_code == 201, r.text
    got = client.get(f"{API}/claims/{r.json()['reference']}", headers=auth("officer")).json()
    assert got["owners"][0]["full_name"] == f"Коваль {name}".strip()
    assert got["description"] == description.strip()


def test_nul_in_a_name_is_422_not_500(client, auth) -> None:
    body = claim_body()
    body["owners"][0]["full_name"] = "Шевченко\x00Олена"
    r = client.post(f"{API}/claims", json=body, headers=auth("citizen"))
    assert r.status_code == 422 and r.json()["errors"][0] == {"field": "body.owners.0.full_name", "message": CONTROL}
    body["owners"][0]["full_name"] = "Шевченко \u202eанелО"
    r = client.post(f"{API}/claims", json=body, headers=auth("citizen"))
    assert r.status_code == 422 and r.json()["errors"][0]["message"] == BIDI
    # multi-line texts keep their line breaks and tabs
    r = client.post(f"{API}/claims", json=claim_body(description="Рядок 1\r\n\tРядок 2"), headers=auth("citizen"))
    assert r.status_code == 201 and r.json()["description"] == "Рядок 1\r\n\tРядок 2"


def test_strict_booleans(client, auth) -> None:
    for value in (0, 1, "false", "yes"):
        r = client.post(f"{API}/claims", json=claim_body(submit=value), headers=auth("citizen"))
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.submit", (value, r.text)


def test_importer_rejects_with_the_field(tmp_path: Path) -> None:
    from everymetre.importer.mapping import parse_mapping
    from everymetre.importer.validate import validate

    mapping = parse_mapping({"fields": {"source_record_id": "id", "full_name": "name", "oblast": "o",
                                        "property_kind": "k", "total_area_m2": "a", "damage_date": "d",
                                        "street": "s", "description": "desc"}}, Path("m.toml"))
    rows = [("1", "Коваль Іван", "вул. Сумська", "Вибито вікна\nі двері"),
            ("2", "Коваль\x00Іван", "вул. Сумська", ""),
            ("3", "Коваль Іван", "вул. \u202eСумська", ""),
            ("4", "Коваль Іван", "вул. Сумська", "опис \x1b[31m"),
            ("5", "Коваль\tІван", "вул. Сумська", "")]
    df = pl.DataFrame({"__row": [1, 2, 3, 4, 5], "id": [r[0] for r in rows], "name": [r[1] for r in rows],
                       "o": ["kyivska"] * 5, "k": ["house"] * 5, "a": ["50"] * 5, "d": ["2023-05-01"] * 5,
                       "s": [r[2] for r in rows], "desc": [r[3] for r in rows]})
    out = validate(df, mapping, date(2026, 1, 1))
    assert out.good["__row"].to_list() == [1]
    rejects = {(r["row"], r["field"]): r["reason"] for r in out.rejects.iter_rows(named=True)}
    assert rejects == {(2, "full_name"): CONTROL, (3, "street"): BIDI, (4, "description"): CONTROL,
                       (5, "full_name"): CONTROL}
