"""Findings into the store: upserted by fingerprint, linked to their claims (with each claim's oblast), review
flags set and cleared, every change appended to the audit chains in bulk."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, select, update

from everymetre.audit.record import NewEvent, append_bulk, claim_chain
from everymetre.claims.models import Claim
from everymetre.linkage.common import FLAG_PREFIX, MAX_PAIRS_PER_FINDING, chunks
from everymetre.linkage.models import RELEASED_STATUSES, LinkageFinding, LinkageFindingClaim
from everymetre.store.bulk import insert_rows, new_ids, update_rows
from everymetre.store.db import SQLITE_WRITE
from everymetre.store.types import utcnow

__all__ = ["finding_pairs", "fingerprint", "reflag", "write_findings"]


def finding_pairs(findings: pl.DataFrame, pairs: pl.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """finding_id -> the scored person pairs among its records (at most MAX_PAIRS_PER_FINDING)."""
    if findings.height == 0 or pairs.height == 0:
        return {}
    rec = findings.select("finding_id", "record_ids").explode("record_ids").rename({"record_ids": "rid"})
    p = (
        pairs.join(rec.rename({"rid": "record_id_l"}), on="record_id_l")
        .join(rec.rename({"rid": "record_id_r"}), on=["record_id_r", "finding_id"])
        .sort("match_probability", descending=True)
        .group_by("finding_id")
        .head(MAX_PAIRS_PER_FINDING)
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for r in p.iter_rows(named=True):
        out.setdefault(r["finding_id"], []).append({
            "a": r["record_id_l"], "b": r["record_id_r"], "probability": round(r["match_probability"], 6),
            "agreeing": list(r["agreeing_fields"] or []), "evidence": r["evidence"], "source": r["source"]})
    return out


def fingerprint(kind: str, record_ids: Iterable[str]) -> str:
    return hashlib.sha256((kind + "|" + "\x1f".join(sorted(record_ids))).encode()).hexdigest()


def write_findings(engine: Engine, run_id: int, findings: pl.DataFrame, pairs: pl.DataFrame, records: pl.DataFrame,
                    flag_score: float) -> dict[str, int]:
    now = utcnow()
    claim_of = dict(zip(records["claim_ref"], records["claim_id"], strict=True))
    oblast_of = dict(zip(records["claim_id"], records["claim_oblast"], strict=True))
    linking = finding_pairs(findings, pairs)
    wanted: dict[str, dict[str, Any]] = {}
    for f in findings.iter_rows(named=True):
        fp = fingerprint(f["kind"], f["record_ids"])
        evidence = json.loads(f["evidence"]) if f["evidence"] else {}
        evidence = {**evidence, "person_clusters": f["person_clusters"], "property_cluster": f["property_cluster"],
                    "pairs": linking.get(f["finding_id"], [])}
        claim_ids = sorted({claim_of[r] for r in f["claim_refs"] if r in claim_of})
        wanted[fp] = dict(fingerprint=fp, kind=f["kind"], score=float(f["score"]), claim_ids=claim_ids,
                          claim_refs=list(f["claim_refs"]), record_ids=list(f["record_ids"]), evidence=evidence)
    # on SQLite the write lock from the start (BEGIN IMMEDIATE): the new findings' ids follow the largest one
    with engine.execution_options(**{SQLITE_WRITE: True}).begin() as conn:
        existing: dict[str, tuple[int, float, Any]] = {}
        for part in chunks(list(wanted), 5000):
            for r in conn.execute(select(LinkageFinding.fingerprint, LinkageFinding.id, LinkageFinding.score,
                                         LinkageFinding.evidence).where(LinkageFinding.fingerprint.in_(part))):
                existing[r.fingerprint] = (r.id, r.score, r.evidence)
        new = [w for fp, w in wanted.items() if fp not in existing]
        # set-based: ids drawn at once, then COPY on PostgreSQL / one executemany on SQLite (store.bulk); no
        # INSERT ... RETURNING, which SQLite runs one row at a time when the order of the ids must be kept
        ids = new_ids(conn, LinkageFinding.__table__, len(new))
        new_ids_rows = list(zip(ids, new, strict=True))
        insert_rows(conn, LinkageFinding.__table__, [
            dict(id=fid, fingerprint=w["fingerprint"], kind=w["kind"], score=w["score"], status="open",
                 claim_ids=w["claim_ids"], claim_refs=w["claim_refs"], record_ids=w["record_ids"],
                 evidence=w["evidence"], first_run_id=run_id, last_run_id=run_id, created_at=now, updated_at=now,
                 reviewed_by_id=None, reviewed_at=None, review_note=None)
            for fid, w in new_ids_rows])
        seen_ids = [existing[fp][0] for fp in wanted if fp in existing]
        for part in chunks(seen_ids):
            conn.execute(update(LinkageFinding).where(LinkageFinding.id.in_(part)).values(last_run_id=run_id))
        changed = [dict(id=existing[fp][0], score=w["score"], evidence=w["evidence"], updated_at=now)
                   for fp, w in wanted.items() if fp in existing
                   and (abs(existing[fp][1] - w["score"]) > 1e-9 or existing[fp][2] != w["evidence"])]
        update_rows(conn, LinkageFinding.__table__, ["id"], changed)
        insert_rows(conn, LinkageFindingClaim.__table__, [
            dict(finding_id=fid, claim_id=cid, oblast=oblast_of.get(cid, "")) for fid, w in new_ids_rows
            for cid in w["claim_ids"]])
        events: dict[str, list[NewEvent]] = {}
        for fid, w in new_ids_rows:
            events[f"finding:{fid}"] = [NewEvent("finding.opened", {"kind": w["kind"], "score": w["score"], "run_id": run_id,
                                                                    "claims": w["claim_refs"], "records": w["record_ids"]}, None)]
        flags = reflag(conn, run_id, flag_score, events, now)
        append_bulk(conn, events, flags.pop("_claim_ids"), now)
    return {"new": len(new_ids_rows), "seen_again": len(seen_ids), "rescored": len(changed), **flags}


def reflag(conn: Connection, run_id: int, flag_score: float,
            events: dict[str, list[NewEvent]], now: datetime,
            only_claims: list[int] | None = None, actor: int | None = None, reason: str = "linkage run") -> dict[str, Any]:
    """Set "linkage:<kind>" on claims in a current, not dismissed or overridden finding scoring >= flag_score (the highest
    scoring kind wins); clear linkage flags no finding supports any more. Other flags are left alone."""
    f, fc = LinkageFinding, LinkageFindingClaim
    stmt = (select(fc.claim_id, f.kind, f.score, f.id).join(f, f.id == fc.finding_id)
            .where(f.last_run_id == run_id, f.status.not_in(RELEASED_STATUSES), f.score >= flag_score))
    flag_rows: list[Any] = []
    for part in ([only_claims] if only_claims is None else list(chunks(only_claims))):
        s = stmt if part is None else stmt.where(fc.claim_id.in_(part))
        flag_rows.extend(conn.execute(s).all())
    desired: dict[int, tuple[float, str, list[int]]] = {}
    for claim_id, kind, score, fid in flag_rows:
        best = desired.get(claim_id)
        ids = (best[2] if best else []) + [fid]
        if best is None or (score, kind) > (best[0], best[1][len(FLAG_PREFIX):]):
            desired[claim_id] = (score, FLAG_PREFIX + kind, ids)
        else:
            desired[claim_id] = (best[0], best[1], ids)
    current: dict[int, str | None] = {}
    cstmt = select(Claim.id, Claim.review_flag)
    if only_claims is None:
        # every claim holding a flag (few), not the claims to flag by id (hundreds of thousands of IN lists at
        # 1,000,000 claims): a claim to flag that holds none is unflagged (the findings' claims exist: the FK)
        current.update(conn.execute(cstmt.where(Claim.review_flag.is_not(None))).all())
        for claim_id in desired:
            current.setdefault(claim_id, None)
    else:
        for part in chunks(sorted(set(only_claims))):
            current.update(conn.execute(cstmt.where(Claim.id.in_(part))).all())
    changes = []
    for claim_id, flag in current.items():
        want = desired.get(claim_id)
        if flag is not None and not flag.startswith(FLAG_PREFIX):
            continue  # another check's flag (e.g. possible_duplicate) already holds the claim
        new_flag = want[1] if want else None
        if new_flag != flag:
            changes.append((claim_id, flag, new_flag, want[2] if want else []))
    update_rows(conn, Claim.__table__, ["id"], [{"id": cid, "review_flag": new} for cid, _, new, _ in changes])
    claim_ids: dict[str, int | None] = {}
    for cid, old, new, fids in changes:
        chain = claim_chain(cid)
        claim_ids[chain] = cid
        events.setdefault(chain, []).append(NewEvent("claim.review_flag", {"before": old, "after": new, "findings": sorted(fids),
                                                                           "run_id": run_id, "reason": reason}, actor))
    return {"flagged": sum(1 for c in changes if c[2] is not None), "cleared": sum(1 for c in changes if c[2] is None),
            "flagged_claims": len([c for c, f in current.items() if c in desired and (f is None or f.startswith(FLAG_PREFIX))]),
            "_claim_ids": claim_ids}
