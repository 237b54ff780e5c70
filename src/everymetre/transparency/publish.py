"""Open data: the public statistics as CSV and Parquet, a Frictionless `datapackage.json` describing every
file (fields, types, units, licence) and a data dictionary in plain words. Suppressed cells are empty.

`everymetre publish --out DIR` writes them (run it from a scheduler to refresh); the public pages link the
same files, built on request.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from everymetre.transparency.statistics import (
    CATEGORIES,
    CERTIFICATE_STATES,
    Published,
    Statistics,
    compute,
)

LICENCE = {"name": "CC-BY-4.0", "title": "Creative Commons Attribution 4.0",
           "path": "https://creativecommons.org/licenses/by/4.0/"}

COLUMN_MEANING = {
    "in_progress": "filed and not yet decided",
    "approved": "awarded, no payment booked yet",
    "paid": "awarded and at least one payment booked",
    "rejected": "refused, at first decision or on appeal",
    "appealed": "a decision under appeal now",
    "closed": "withdrawn by the claimant or marked a duplicate",
    "filed": "claims filed (every claim that is not a draft)",
    "total": "the row's total",
    "outstanding": "issued, not yet redeemed",
    "redeemed": "redeemed: a home bought with it",
    "lapsed": "reservation lapsed or the certificate expired",
}
DIMENSION_MEANING = {
    "oblast": "the oblast of the damaged home (everymetre's code; 'total' for the whole country)",
    "month": "the month the claim was filed, Europe/Kyiv (YYYY-MM)",
    "claim_kind": "damage_report, repair_application (both lead to a repair payment) or "
                  "destroyed_housing_application (leads to a housing certificate)",
    "hromada": "the hromada (city or community) of the damaged home",
}
UNIT_MEANING = {"claims": "claims (each names at least one person)", "kopiykas": "kopiykas (1/100 hryvnia)",
                "certificates": "housing certificates"}
TITLES = {
    "claims_by_oblast": "Claims by oblast and outcome", "claims_by_month": "Claims by month filed and outcome",
    "claims_by_kind": "Claims by kind and outcome", "money_by_oblast": "Money awarded (unpaid) and paid, by oblast",
    "money_by_month": "Money awarded (unpaid) and paid, by month filed", "money_by_kind": "Money awarded (unpaid) and paid, by claim kind",
    "claims_by_hromada": "Claims filed by hromada", "certificates_by_oblast": "Housing certificates by oblast",
    "timeliness_by_oblast": "Time to first decision, by oblast (its commission)",
}


def _fields(t: Published) -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = [{"name": t.dimension, "type": "string", "description": DIMENSION_MEANING.get(t.dimension, "")}]
    if t.row_groups:
        fields.append({"name": "oblast", "type": "string", "description": DIMENSION_MEANING["oblast"]})
    money = t.unit == "kopiykas"
    for c in [*t.cols, *(["total"] if any(len(r) > len(t.cols) for r in t.values) else [])]:
        what = COLUMN_MEANING.get(c, c)
        if money:
            what = {"approved": "money awarded to claims not yet paid", "paid": "money paid (booked payments)",
                    "total": "the row's total"}.get(c, what)
        fields.append({"name": c, "type": "integer", "unit": t.unit,
                       "description": f"{what}; {UNIT_MEANING[t.unit]}; empty where suppressed"})
    return fields


def timeliness_records(stats: Statistics) -> list[dict[str, Any]]:
    return [{"oblast": x.group, "decided": x.decided, "median_days": x.median_days,
             "within_30_days_share": x.within_30_share} for x in stats.timeliness]


TIMELINESS_FIELDS = [
    {"name": "oblast", "type": "string", "description": DIMENSION_MEANING["oblast"]},
    {"name": "decided", "type": "integer", "unit": "claims", "description": "claims with a first decision; empty where fewer than k"},
    {"name": "median_days", "type": "number", "unit": "days", "description": "median days from filing to first decision"},
    {"name": "within_30_days_share", "type": "number", "unit": "ratio 0..1",
     "description": "share decided within the legal 30 days; empty where it would reveal fewer than k claims"},
]


def frames(stats: Statistics) -> dict[str, tuple[pl.DataFrame, list[dict[str, Any]]]]:
    out: dict[str, tuple[pl.DataFrame, list[dict[str, Any]]]] = {}
    for name, t in stats.tables.items():
        fields = _fields(t)
        schema = {f["name"]: (pl.Utf8 if f["type"] == "string" else pl.Int64) for f in fields}
        out[name] = (pl.DataFrame(t.records(), schema=schema), fields)
    schema_t = {"oblast": pl.Utf8, "decided": pl.Int64, "median_days": pl.Float64, "within_30_days_share": pl.Float64}
    out["timeliness_by_oblast"] = (pl.DataFrame(timeliness_records(stats), schema=schema_t), TIMELINESS_FIELDS)
    return out


def csv_bytes(df: pl.DataFrame) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(df.columns)
    for row in df.iter_rows():
        w.writerow(["" if v is None else v for v in row])
    return buf.getvalue().encode()


def datapackage(stats: Statistics, names: list[str]) -> dict[str, Any]:
    fr = frames(stats)
    resources = []
    for name in names:
        _, fields = fr[name]
        for fmt, media in (("csv", "text/csv"), ("parquet", "application/vnd.apache.parquet")):
            res: dict[str, Any] = {"name": f"{name}-{fmt}".replace("_", "-"), "path": f"{name}.{fmt}", "format": fmt,
                                   "mediatype": media, "title": TITLES.get(name, name), "licenses": [LICENCE],
                                   "schema": {"fields": fields, "missingValues": [""]}}
            if fmt == "csv":
                res["encoding"] = "utf-8"
                res["dialect"] = {"delimiter": ",", "header": True}
            resources.append(res)
    return {"name": "everymetre-statistics", "title": "everymetre: war-damage housing compensation, public statistics",
            "profile": "data-package", "licenses": [LICENCE], "created": stats.as_of.isoformat(timespec="seconds"),
            "description": (f"Counts of claims by outcome and breakdown, money awarded and paid, time to decision, "
                            f"housing certificates. Any cell counting fewer than {stats.k} people is suppressed (empty), "
                            "with complementary suppression so that no suppressed cell can be derived from the totals."),
            "k": stats.k, "resources": resources}


def dictionary(stats: Statistics) -> str:
    lines = ["# Data dictionary", "", (f"Suppression: cells counting fewer than {stats.k} claims are empty, and so are "
             "enough other cells that none of them can be derived from the totals (see everymetre.transparency."
             "suppression). Money cells are empty wherever their count cell is."), "",
             f"Licence: {LICENCE['title']} ({LICENCE['path']}).", ""]
    for name, (_, fields) in frames(stats).items():
        lines += [f"## {name}.csv / {name}.parquet: {TITLES.get(name, name)}", "", "| column | type | unit | meaning |",
                  "| --- | --- | --- | --- |"]
        lines += [f"| {f['name']} | {f['type']} | {f.get('unit', '')} | {f['description']} |" for f in fields]
        lines.append("")
    lines += ["Outcome categories are exclusive: every filed claim is in exactly one, by its state now: "
              + "; ".join(f"{c}: {COLUMN_MEANING[c]}" for c in CATEGORIES) + ".",
              "Certificate states: " + "; ".join(f"{c}: {COLUMN_MEANING[c]}" for c in CERTIFICATE_STATES) + ".", ""]
    return "\n".join(lines)


def write_package(session: Session, out_dir: Path, k: int) -> list[Path]:
    stats = compute(session, k)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    fr = frames(stats)
    for name, (df, _) in fr.items():
        (out_dir / f"{name}.csv").write_bytes(csv_bytes(df))
        df.write_parquet(out_dir / f"{name}.parquet")
        written += [out_dir / f"{name}.csv", out_dir / f"{name}.parquet"]
    (out_dir / "datapackage.json").write_text(json.dumps(datapackage(stats, list(fr)), indent=2, ensure_ascii=False))
    (out_dir / "data-dictionary.md").write_text(dictionary(stats))
    return [*written, out_dir / "datapackage.json", out_dir / "data-dictionary.md"]
