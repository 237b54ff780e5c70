"""Public pages, no sign-in: the programme's statistics (suppressed; SVG charts with their numbers beside
them), the open data downloads, and the public log (its signed head, a decision's inclusion proof)."""

from __future__ import annotations

import json
import threading
import time
from datetime import date
from typing import Any

from babel.dates import format_date
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from everymetre.kernel.identifiers import parse_claim_reference
from everymetre.transparency import log
from everymetre.transparency.charts import bar_chart
from everymetre.transparency.publish import (
    TITLES,
    csv_bytes,
    datapackage,
    dictionary,
    frames,
)
from everymetre.transparency.signing import key_id, log_key, raw_public
from everymetre.transparency.statistics import (
    CATEGORIES,
    PAYOUT_KIND,
    Published,
    compute,
)
from everymetre.web import i18n
from everymetre.claims.pages import text
from everymetre.web.common import DB, PageError, SettingsDep, render, request_language
from everymetre.web.i18n import N_, gettext

router = APIRouter(include_in_schema=False)
_cache_lock = threading.Lock()

CATEGORY_WORDS = {"in_progress": N_("Being considered"), "approved": N_("Awarded, not yet paid"), "paid": N_("Paid"),
                  "rejected": N_("Refused"), "appealed": N_("Under appeal"), "closed": N_("Withdrawn or duplicate"),
                  "filed": N_("Claims filed"), "total": N_("Total")}
CERTIFICATE_WORDS = {"outstanding": N_("Issued, not yet used"), "redeemed": N_("Home bought"),
                     "lapsed": N_("Lapsed or expired")}
PAYOUT_WORDS = {"repair": N_("repair payment"), "certificate": N_("housing certificate")}
TABLE_TITLES = {"claims_by_oblast": N_("Claims by oblast"), "claims_by_month": N_("Claims by month filed"),
                "claims_by_kind": N_("Claims by kind"), "money_by_oblast": N_("Money by oblast"),
                "certificates_by_oblast": N_("Housing certificates by oblast"),
                "claims_by_hromada": N_("Claims filed by hromada"), "money_by_month": N_("Money by month filed"),
                "money_by_kind": N_("Money by claim kind"), "timeliness_by_oblast": N_("Time to the first decision, by oblast")}
SUPPRESSED = N_("hidden: too few people")


def _row_label(dimension: str, code: str) -> str:
    if code == "total":
        return gettext("Whole country")
    if dimension == "oblast":
        return text.oblast_name(code)
    if dimension == "month":
        try:
            return format_date(date.fromisoformat(code + "-01"), format="LLLL y", locale=i18n._babel_locale())
        except ValueError:
            return code
    if dimension == "claim_kind":
        kind = text.t(text.CLAIM_KINDS, code)
        payout = PAYOUT_KIND.get(code)
        return f"{kind} ({gettext(PAYOUT_WORDS[payout])})" if payout else kind
    return code


def _view(t: Published, words: dict[str, str], money: bool = False, chart_col: int = -1) -> dict[str, Any]:
    fmt = i18n.money if money else (lambda v: i18n.number(v, 0))
    labels = [_row_label(t.dimension, r) for r in t.rows] + [_row_label(t.dimension, "total")]
    cols = [gettext(words.get(c, c)) for c in t.cols] + ([gettext(CATEGORY_WORDS["total"])] if len(t.values[0]) > len(t.cols) else [])
    rows = [{"label": lab, "cells": [fmt(v) if v is not None else None for v in vals]} for lab, vals in zip(labels, t.values, strict=True)]
    title = gettext(TABLE_TITLES.get(t.name, t.name))
    chart_title = f"{title}: {cols[chart_col]}"
    chart = bar_chart(f"chart-{t.name}", chart_title, labels[:-1], [r[chart_col] for r in t.values[:-1]], fmt,
                      gettext(SUPPRESSED)) if t.rows else None
    return {"id": t.name, "title": title, "cols": cols, "rows": rows, "chart": chart, "chart_title": chart_title}


def _hromadas(t: Published) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name, group, vals in zip(t.rows, t.row_groups, t.values, strict=True):
        if not out or out[-1]["oblast"] != group:
            out.append({"oblast": group, "label": text.oblast_name(group), "rows": []})
        out[-1]["rows"].append({"label": name, "value": i18n.number(vals[0], 0) if vals[0] is not None else None})
    return out


def _summary(stats: Any) -> list[tuple[str, str | None]]:
    nat = stats.tables["claims_by_oblast"].values[-1]
    by = dict(zip(CATEGORIES, nat, strict=False))
    money = dict(zip(("approved", "paid", "total"), stats.tables["money_by_oblast"].values[-1], strict=True))

    def add(*names: str) -> int | None:
        vals = [by[n] for n in names]
        return None if any(v is None for v in vals) else sum(v for v in vals if v is not None)

    def n(v: int | None) -> str | None:
        return None if v is None else i18n.number(v, 0)

    return [(gettext("Claims filed"), n(nat[-1])),
            (gettext("Decided"), n(add("approved", "paid", "rejected", "appealed"))),
            (gettext("Awarded (paid or not yet)"), n(add("approved", "paid"))),
            (gettext("Refused"), n(by["rejected"])), (gettext("Under appeal now"), n(by["appealed"])),
            (gettext("Paid"), n(by["paid"])),
            (gettext("Money awarded"), None if money["total"] is None else i18n.money(money["total"])),
            (gettext("Money paid"), None if money["paid"] is None else i18n.money(money["paid"]))]


def _statistics(request: Request, session: Any, settings: Any) -> Any:
    """The statistics, recomputed at most every EVERYMETRE_PUBLIC_CACHE_SECONDS per worker (they read every
    claim; a public page must not let each visitor start that)."""
    with _cache_lock:  # one computation at a time per worker; the others wait for its result
        cached = getattr(request.app.state, "public_statistics", None)
        now = time.monotonic()
        if cached is not None and cached[1] == settings.public_min_count and now - cached[0] < settings.public_cache_seconds:
            return cached[2]
        stats = compute(session, settings.public_min_count)
        request.app.state.public_statistics = (now, settings.public_min_count, stats)
        return stats


@router.get("/public")
def public_index(request: Request) -> Response:
    return render(request, "public/index.html")


@router.get("/public/statistics")
def statistics_page(request: Request, session: DB, settings: SettingsDep) -> Response:
    i18n.set_language(request_language(request))
    stats = _statistics(request, session, settings)
    t = stats.tables
    views = [_view(t["claims_by_oblast"], CATEGORY_WORDS), _view(t["claims_by_month"], CATEGORY_WORDS),
             _view(t["claims_by_kind"], CATEGORY_WORDS)]
    money = _view(t["money_by_oblast"], {"approved": N_("Awarded, not yet paid"), "paid": N_("Paid")}, money=True, chart_col=1)
    certificates = _view(t["certificates_by_oblast"], CERTIFICATE_WORDS, chart_col=1)
    timeliness = [{"label": _row_label("oblast", x.group), "decided": None if x.decided is None else i18n.number(x.decided, 0),
                   "median": None if x.median_days is None else i18n.number(x.median_days, 1),
                   "share": None if x.within_30_share is None else i18n.number(100 * x.within_30_share, 1) + " %"}
                  for x in stats.timeliness]
    return render(request, "public/statistics.html", {
        "stats": stats, "summary": _summary(stats), "views": views, "money": money, "certificates": certificates,
        "timeliness": timeliness, "hromadas": _hromadas(t["claims_by_hromada"]),
        "files": [(f, gettext(TABLE_TITLES[f])) for f in TITLES],
        "suppressed": gettext(SUPPRESSED)})


@router.get("/public/data/{name}")
def download(name: str, request: Request, session: DB, settings: SettingsDep) -> Response:
    stats = _statistics(request, session, settings)
    fr = frames(stats)
    if name == "datapackage.json":
        return Response(json.dumps(datapackage(stats, list(fr)), indent=2, ensure_ascii=False), media_type="application/json")
    if name == "data-dictionary.md":
        return Response(dictionary(stats), media_type="text/markdown; charset=utf-8")
    stem, _, ext = name.rpartition(".")
    if stem not in fr or ext not in ("csv", "parquet"):
        raise PageError(404, N_("Page not found"))
    df = fr[stem][0]
    if ext == "csv":
        return Response(csv_bytes(df), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    import io

    buf = io.BytesIO()
    df.write_parquet(buf)
    return Response(buf.getvalue(), media_type="application/vnd.apache.parquet",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _proofs(session: Any, settings: Any, reference: str) -> tuple[Any, list[dict[str, Any]]]:
    head = log.latest_head(session, settings)
    found = []
    if head is not None and reference:
        leaves = log.leaves_for(session, reference)
        if leaves:
            tree = log.tree(session, head.tree_size)
            for item in leaves:
                if item["index"] < head.tree_size:
                    path = [p.hex() for p in tree.inclusion_proof(item["index"], head.tree_size)]
                    found.append({**item, "content": json.loads(item["leaf"]), "audit_path": path,
                                  "tree_head": head.as_dict()})
    return head, found


@router.get("/public/log")
def log_page(request: Request, session: DB, settings: SettingsDep,
             reference: str = Query("", max_length=40)) -> Response:
    import base64

    i18n.set_language(request_language(request))
    ref = reference.strip().upper()
    head, found = _proofs(session, settings, ref)
    pub = log_key(settings).public_key()
    error = None
    if ref and parse_claim_reference(ref) is None and not ref.startswith("EMPAY"):
        error = gettext("A claim reference looks like EM-2026-0000042.")
    elif ref and not found:
        error = gettext("Nothing in the public log for %(ref)s yet. Decisions appear in it within minutes.", ref=ref)
    return render(request, "public/log.html", {
        "head": head, "reference": ref, "found": found, "error": error,
        "public_key": base64.b64encode(raw_public(pub)).decode(), "key_id": key_id(pub),
        "base": str(request.base_url).rstrip("/")})


@router.get("/public/log/proof/{index}.json")
def proof_download(index: int, session: DB, settings: SettingsDep) -> Response:
    """A leaf with its audit path and the signed head: `everymetre log verify --url BASE --leaf FILE` checks it."""
    item = log.leaf_at(session, index) if 0 <= index < 2**63 else None
    head = log.latest_head(session, settings)
    if item is None or head is None or index >= head.tree_size:
        raise PageError(404, N_("Page not found"))
    path = [p.hex() for p in log.tree(session, head.tree_size).inclusion_proof(index, head.tree_size)]
    body = {**item, "audit_path": path, "tree_head": head.as_dict()}
    return Response(json.dumps(body, indent=2, ensure_ascii=False), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="everymetre-log-leaf-{index}.json"'})
