"""Writing validated rows to the store in batches, one transaction per batch, with the audit trail.

Each imported row becomes one person (the applicant), one property, one claim in state ``submitted`` (channel
``import``, its source and source record id), one ownership, and the claim's hash-chained audit trail
(``claim.created``, then ``claim.transition`` draft -> submitted, no actor, the payloads naming the source and
the file) with its chain head: the same rows the demo generator writes, so ``everymetre audit verify`` holds.

A batch is one transaction: a crash or Ctrl-C leaves whole batches or nothing of a batch. Idempotent: rows
whose (source, source record id) is already in the store are skipped and counted as already imported, so a
re-run after a crash completes the file and a second run changes nothing.

Backends: PostgreSQL gets ``COPY ... FROM STDIN (FORMAT csv)`` fed by polars' CSV writer (ids allocated from
the sequences in one query per batch; an advisory lock per source serialises two importers of one source);
SQLite gets ``executemany`` under ``BEGIN IMMEDIATE`` (ids from max(id) + 1 under the write lock).
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from time import perf_counter
from typing import Any

import polars as pl
from sqlalchemy import Engine

from everymetre.audit.chain import GENESIS, canonical_json, event_hashes
from everymetre.claims.search import claim_keys, index_missing
from everymetre.config import get_settings
from everymetre.importer.mapping import Mapping
from everymetre.importer.readers import ROW, detect_format, read_input
from everymetre.importer.validate import REJECT_SCHEMA, Validated, reject_rows, validate
from everymetre.kernel.identifiers import parse_claim_reference
from everymetre.sla.due import after_move

COLUMNS = {
    "persons": ("id", "full_name", "full_name_latin", "birth_date", "rnokpp", "phone", "iban", "created_at"),
    "properties": ("id", "kind", "oblast", "hromada", "street", "building", "apartment", "registry_number",
                   "total_area_m2", "heritage"),
    "claims": ("id", "ref_year", "kind", "state", "version", "oblast", "property_id", "filed_as_representative",
               "channel", "source", "source_record_id", "damage_date", "description", "priority_mask", "is_redamage",
               "previous_claim_id", "created_at", "submitted_at", "state_changed_at", "decision_due_on"),
    "ownerships": ("claim_id", "person_id", "share_numerator", "share_denominator", "is_applicant"),
    "audit_events": ("chain", "seq", "claim_id", "action", "at", "payload", "prev_hash", "hash"),
    "audit_chains": ("chain", "last_seq", "last_hash"),
    "claim_search": ("claim_id", "keys"),
    "claim_search_words": ("word_key", "oblast", "claim_id"),
}


@dataclass
class ImportReport:
    source: str
    file: str
    read: int = 0
    imported: int = 0
    already: int = 0
    rejected: int = 0  # rows
    reject_lines: int = 0  # one per failing field
    batches: int = 0
    rejects_path: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return sum(self.timings.values())


@dataclass(frozen=True)
class _Context:
    source: str
    file: str
    now: datetime
    created_pg: str
    created_sqlite: str
    ref_year: int
    payload_submitted: str
    created_parts: tuple[str, ...]  # the claim.created payload around its five per-row values
    due_on: date  # the decision clock starts with the submission (sla.due)


def _context(source: str, file: str, now: datetime) -> _Context:
    now = now.astimezone(UTC)
    # the claim.created payload is canonical JSON (sorted keys, no spaces, non-ASCII kept): its constant parts
    # are written here, the row's values spliced in between (plain text: dates, codes, and the record id, which
    # has no control characters and whose quotes and backslashes are escaped as json.dumps does)
    parts = ('{"after":{"damage_date":"', f'","file":{canonical_json(file)},"kind":"', '","oblast":"',
             '","reference":"', f'","source":{canonical_json(source)},"source_record_id":"', '"}}')
    return _Context(
        source=source, file=file, now=now,
        created_pg=now.isoformat(), created_sqlite=now.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds"),
        ref_year=now.year,
        payload_submitted=canonical_json({"from": "draft", "to": "submitted", "channel": "import", "source": source,
                                          "file": file}),
        created_parts=tuple(parts),
        due_on=after_move("draft", "submitted", now, now, None, 0, get_settings().decision_due_days)[0] or now.date(),
    )


def created_payload(ctx: _Context, damage: pl.Expr, kind: pl.Expr, oblast: pl.Expr, reference: pl.Expr,
                    srid: pl.Expr) -> pl.Expr:
    """The claim.created payload, as canonical_json would write it, built column-wise."""
    parts = ctx.created_parts
    esc = srid.str.replace_all("\\", "\\\\", literal=True).str.replace_all('"', '\\"', literal=True)
    return pl.concat_str([pl.lit(parts[0]), damage.cast(pl.String), pl.lit(parts[1]), kind, pl.lit(parts[2]), oblast,
                          pl.lit(parts[3]), reference, pl.lit(parts[4]), esc, pl.lit(parts[5])])


def run_import(engine: Engine, path: Path, mapping: Mapping, source: str, fmt: str | None = None,
               rejects_path: Path | None = None, batch_size: int = 20_000, today: date | None = None,
               now: datetime | None = None, on_progress: Callable[[int], None] | None = None,
               on_start: Callable[[int], None] | None = None, jobs: int = 2,
               defer_indexes: bool = False) -> ImportReport:
    """Import `path`; `jobs` batches are written at once on PostgreSQL (each on its own connection). With
    `defer_indexes` (PostgreSQL) the secondary indexes are dropped for the write and built after it
    (importer.indexes)."""
    now = now or datetime.now(UTC)
    today = today or now.date()
    report = ImportReport(source=source, file=path.name)
    t = perf_counter()
    fmt = detect_format(path, fmt, mapping)
    df = read_input(path, fmt, mapping)
    report.read = df.height
    report.timings["read"] = perf_counter() - t

    t = perf_counter()
    checked = validate(df, mapping, today)
    report.timings["validate"] = perf_counter() - t

    t = perf_counter()
    backend = _backend(engine)
    good, db_prev, in_file = _resolve_previous(checked, backend, source)
    rejects = checked.rejects
    if len(db_prev.extra_rejects):
        rejects = pl.concat([checked.rejects, db_prev.extra_rejects]).sort("row")
    report.rejected = rejects["row"].n_unique() if len(rejects) else 0
    report.reject_lines = len(rejects)
    if len(rejects):
        report.rejects_path = rejects_path or Path(f"{path.stem}.rejects.csv")
    elif rejects_path is not None:
        report.rejects_path = rejects_path
    if report.rejects_path is not None:
        rejects.write_csv(report.rejects_path)
    report.timings["resolve"] = perf_counter() - t

    ctx = _context(source, path.name, now)
    crash_after = get_settings().crash_after_batches
    if on_start:
        on_start(good.height)
    t = perf_counter()
    run_ids: dict[str, int] = {}
    prev_map = dict(db_prev.ids)
    timings = report.timings
    jobs = max(1, jobs)

    def done(result: tuple[int, int], rows: int) -> None:
        report.imported += result[0]
        report.already += result[1]
        report.batches += 1
        if crash_after and report.batches >= crash_after:
            os._exit(9)
        if on_progress:
            on_progress(rows)

    if backend.parallel and in_file:  # rows naming an earlier row of the file go last (see _write_parallel)
        good = good.sort(pl.col("v_previous").is_in(list(in_file)).fill_null(False), maintain_order=True)
    starts = range(0, good.height, batch_size)
    if backend.parallel:
        from everymetre.importer import indexes

        indexes.restore(engine, jobs)  # any left out by an earlier run stopped before its rebuild
        if defer_indexes:
            indexes.drop(engine)
        _write_parallel(engine, good, starts, batch_size, jobs, ctx, prev_map, in_file, run_ids, timings, done)
    else:
        with backend:
            for start in starts:
                batch = good.slice(start, batch_size)
                done(backend.write_batch(batch, ctx, prev_map, in_file, run_ids, timings), batch.height)
    report.timings["write"] = perf_counter() - t
    if backend.parallel and defer_indexes:  # the search keys read ownerships by claim: its index first
        t = perf_counter()
        indexes.restore(engine, jobs, skip=("claim_search",))
        report.timings["build_indexes"] = perf_counter() - t
    t = perf_counter()
    with engine.begin() as conn:
        index_missing(conn)
    report.timings["search_index"] = perf_counter() - t
    if backend.parallel and defer_indexes:  # the trigram index, built once over all the keys
        t = perf_counter()
        indexes.restore(engine, jobs)
        report.timings["build_search_index"] = perf_counter() - t
    return report


def _write_parallel(engine: Engine, good: pl.DataFrame, starts: range, batch_size: int, jobs: int, ctx: _Context,
                    prev_map: dict[str, int], in_file: set[str], run_ids: dict[str, int], timings: dict[str, float],
                    done: Callable[[tuple[int, int], int], None]) -> None:
    """PostgreSQL: `jobs` connections COPY batches at the same time (the server works on each in its own
    process). A batch naming an earlier row of the file as its previous claim waits for the batches before it
    (the foreign key needs that claim committed); `run_import` puts such rows (repeat damage reported in the
    same file, about 1 %) after all others, so only the last batches wait."""
    import threading
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    local = threading.local()
    backends: list[_Backend] = []
    lock = threading.Lock()

    def work(batch: pl.DataFrame) -> tuple[int, int]:
        b = getattr(local, "backend", None)
        if b is None:
            b = local.backend = _backend(engine).__enter__()
            with lock:
                backends.append(b)
        own: dict[str, float] = {}
        out = b.write_batch(batch, ctx, prev_map, in_file, run_ids, own)
        with lock:
            for k, v in own.items():
                timings[k] = timings.get(k, 0.0) + v
        return out

    guard = _Backend(engine).__enter__()  # one import of a source at a time: a session lock for the run
    key = f"everymetre.import-run:{ctx.source}"
    try:
        guard.raw.driver_connection.execute("SELECT pg_advisory_lock(hashtext(%s))", (key,))
        guard.raw.driver_connection.commit()
        pending: dict = {}
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            try:
                for start in starts:
                    batch = good.slice(start, batch_size)
                    needs_earlier = bool(in_file) and batch["v_previous"].is_in(list(in_file)).any()
                    while pending and (len(pending) >= jobs * 2 or needs_earlier):
                        finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                        for f in finished:
                            done(f.result(), pending.pop(f))
                    pending[pool.submit(work, batch)] = batch.height
                while pending:
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for f in finished:
                        done(f.result(), pending.pop(f))
            finally:
                for f in pending:
                    f.cancel()
                wait(pending)
                for b in backends:
                    b.__exit__(None, None, None)
    finally:
        try:  # the connection goes back to the pool, and the lock would stay with it
            guard.raw.driver_connection.execute("SELECT pg_advisory_unlock(hashtext(%s))", (key,))
            guard.raw.driver_connection.commit()
        finally:
            guard.__exit__(None, None, None)


# ------------------------------------------------------------------------------------ previous claims


@dataclass
class _Prev:
    ids: dict[str, int]
    extra_rejects: pl.DataFrame


def _resolve_previous(checked: Validated, backend: _Backend, source: str) -> tuple[pl.DataFrame, _Prev, set[str]]:
    """Earlier claims named in `previous`: a reference or a source record id in the store, or an earlier good
    row of this file. Rows naming something else are rejected (and so are rows naming those, and so on)."""
    good = checked.good
    if "v_previous" not in good.columns or good["v_previous"].null_count() == good.height:
        return good, _Prev({}, pl.DataFrame(schema=REJECT_SCHEMA)), set()
    wanted = good["v_previous"].drop_nulls().unique().to_list()
    refs = {w: parse_claim_reference(w) for w in wanted}
    ids = backend.lookup_previous(source, {w: r for w, r in refs.items() if r}, [w for w, r in refs.items() if not r])
    extra: list[pl.DataFrame] = []
    while True:
        first_row = dict(zip(good["v_source_record_id"].to_list(), good[ROW].to_list(), strict=True))
        prev = good["v_previous"].to_list()
        rows = good[ROW].to_list()
        bad = [i for i, (p, r) in enumerate(zip(prev, rows, strict=True))
               if p is not None and p not in ids and not (p in first_row and first_row[p] < r)]
        if not bad:
            break
        extra.append(reject_rows([rows[i] for i in bad], [good["v_source_record_id"][i] for i in bad], "previous",
                                 [f"no earlier claim with reference or source record id {prev[i]!r} "
                                  "(in the store, or in a good row earlier in this file)" for i in bad]))
        good = good.filter(~pl.col(ROW).is_in([rows[i] for i in bad]))
    in_file = set(good["v_previous"].drop_nulls().unique().to_list()) - set(ids)
    return good, _Prev(ids, pl.concat(extra) if extra else pl.DataFrame(schema=REJECT_SCHEMA)), in_file


# ------------------------------------------------------------------------------------------ the rows


def _frames(batch: pl.DataFrame, person_ids: list[int], property_ids: list[int], claim_ids: list[int], ctx: _Context,
            prev_map: dict[str, int], in_file: set[str], run_ids: dict[str, int], sqlite: bool,
            timings: dict[str, float]) -> dict[str, pl.DataFrame]:
    t = perf_counter()
    n = batch.height
    cols = batch.columns
    created = ctx.created_sqlite if sqlite else ctx.created_pg

    def col(name: str, default=None, dtype=pl.String) -> pl.Expr:
        return pl.col(f"v_{name}") if f"v_{name}" in cols else pl.lit(default, dtype=dtype)

    b = batch.with_columns(
        person_id=pl.Series(person_ids, dtype=pl.Int64),
        property_id=pl.Series(property_ids, dtype=pl.Int64),
        claim_id=pl.Series(claim_ids, dtype=pl.Int64),
    )
    if in_file:  # this batch's ids for record ids that later rows name as their previous claim
        for s, c in zip(b["v_source_record_id"].to_list(), claim_ids, strict=True):
            if s in in_file:
                run_ids[s] = c
    if "v_previous" in cols:
        lookup = {**prev_map, **dict(run_ids.items())}
        b = b.with_columns(previous_claim_id=pl.col("v_previous").replace_strict(lookup, default=None, return_dtype=pl.Int64))
    else:
        b = b.with_columns(previous_claim_id=pl.lit(None, dtype=pl.Int64))
    b = b.with_columns(
        chain=pl.concat_str([pl.lit("claim:"), pl.col("claim_id").cast(pl.String)]),
        reference=pl.concat_str([pl.lit(f"EM-{ctx.ref_year:04d}-"), pl.col("claim_id").cast(pl.String).str.zfill(7)]),
    )
    b = b.with_columns(payload=created_payload(ctx, pl.col("v_damage_date"), pl.col("v_claim_kind"), pl.col("v_oblast"),
                                               pl.col("reference"), pl.col("v_source_record_id")))
    date_t = pl.String if sqlite else pl.Date
    persons = b.select(
        pl.col("person_id").alias("id"), pl.col("v_full_name").alias("full_name"),
        col("full_name_latin").alias("full_name_latin"), col("birth_date", dtype=pl.Date).cast(date_t).alias("birth_date"),
        col("rnokpp").alias("rnokpp"), col("phone").alias("phone"), col("iban").alias("iban"),
        pl.lit(created).alias("created_at"))
    properties = b.select(
        pl.col("property_id").alias("id"), pl.col("v_property_kind").alias("kind"), pl.col("v_oblast").alias("oblast"),
        col("hromada").fill_null("").alias("hromada"), col("street").fill_null("").alias("street"),
        col("building").fill_null("").alias("building"), col("apartment").alias("apartment"),
        col("registry_number").alias("registry_number"), pl.col("v_total_area_m2").alias("total_area_m2"),
        pl.lit(False).alias("heritage"))
    claims = b.select(
        pl.col("claim_id").alias("id"), pl.lit(ctx.ref_year).alias("ref_year"), pl.col("v_claim_kind").alias("kind"),
        pl.lit("submitted").alias("state"), pl.lit(2).alias("version"), pl.col("v_oblast").alias("oblast"),
        pl.col("property_id"), pl.lit(False).alias("filed_as_representative"), pl.lit("import").alias("channel"),
        pl.lit(ctx.source).alias("source"), pl.col("v_source_record_id").alias("source_record_id"),
        pl.col("v_damage_date").cast(date_t).alias("damage_date"), col("description").fill_null("").alias("description"),
        pl.lit(0).alias("priority_mask"),
        (pl.col("v_is_redamage") | pl.col("previous_claim_id").is_not_null()).alias("is_redamage"),
        pl.col("previous_claim_id"), pl.lit(created).alias("created_at"), pl.lit(created).alias("submitted_at"),
        pl.lit(created).alias("state_changed_at"), pl.lit(ctx.due_on).cast(date_t).alias("decision_due_on"))
    ownerships = b.select(
        pl.col("claim_id"), pl.col("person_id"), col("share_num", 1, pl.Int64).alias("share_numerator"),
        col("share_den", 1, pl.Int64).alias("share_denominator"), pl.lit(True).alias("is_applicant"))
    timings["frames"] = timings.get("frames", 0.0) + perf_counter() - t

    t = perf_counter()
    chains = b["chain"].to_list()
    payloads = b["payload"].to_list()
    h1 = event_hashes(GENESIS, chains, 1, ctx.now, None, "claim.created", payloads)
    h2 = event_hashes(h1, chains, 2, ctx.now, None, "claim.transition", ctx.payload_submitted)
    timings["hash"] = timings.get("hash", 0.0) + perf_counter() - t

    t = perf_counter()
    at = ctx.created_sqlite if sqlite else ctx.created_pg
    h1s, h2s = pl.Series(h1, dtype=pl.String), pl.Series(h2, dtype=pl.String)
    base = b.select("chain", "claim_id", "payload")
    ev1 = base.select("chain", pl.lit(1).alias("seq"), "claim_id", pl.lit("claim.created").alias("action"),
                      pl.lit(at).alias("at"), "payload", pl.lit(GENESIS).alias("prev_hash"), h1s.alias("hash"))
    ev2 = base.select("chain", pl.lit(2).alias("seq"), "claim_id", pl.lit("claim.transition").alias("action"),
                      pl.lit(at).alias("at"), pl.lit(ctx.payload_submitted).alias("payload"), h1s.alias("prev_hash"),
                      h2s.alias("hash"))
    events = pl.concat([ev1, ev2])
    heads = base.select("chain", pl.lit(2).alias("last_seq"), h2s.alias("last_hash"))
    timings["frames"] = timings.get("frames", 0.0) + perf_counter() - t
    search, words = _search_frames(b, timings)
    assert n == persons.height
    return {"persons": persons, "properties": properties, "claims": claims, "ownerships": ownerships,
            "audit_events": events, "audit_chains": heads, "claim_search": search, "claim_search_words": words}


def _text_keys(text: str | None) -> tuple[str, ...]:
    if text and text.isascii() and text.isdigit():  # an RNOKPP or registry number: one word, its own key (word_key)
        return (text.lstrip("0"),) if text.lstrip("0") else ()
    return tuple(claim_keys([text], [], {}).split()) if text else ()


def _search_frames(b: pl.DataFrame, timings: dict[str, float]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The batch's search keys and word index (claims.search), from the rows in hand: written with the claims,
    in their transaction, as `index_claims` would write them (so a search finds an imported claim at once)."""
    t = perf_counter()
    cols = b.columns
    # claim_keys(names, rnokpps, home) row by row, with each distinct text folded once (streets, towns, buildings
    # and names repeat): the union of its texts' keys, sorted, space-padded
    parts = ["full_name", "full_name_latin", "rnokpp", "registry_number", "street", "building", "apartment", "hromada"]
    per_column = []
    for c in parts:
        values = b[f"v_{c}"].to_list() if f"v_{c}" in cols else [None] * b.height
        if c == "registry_number":  # its digits only, as claim_keys takes it
            values = [re.sub(r"\D", "", v) if v else None for v in values]
        folded: dict[str | None, tuple[str, ...]] = {}
        per_column.append([folded[v] if v in folded else folded.setdefault(v, _text_keys(v)) for v in values])
    keys = [" " + " ".join(sorted(set().union(*row))) + " " for row in zip(*per_column, strict=True)]
    search = pl.DataFrame({"claim_id": b["claim_id"], "keys": pl.Series(keys, dtype=pl.String)})
    words = (search.select(pl.col("keys").str.strip_chars(" ").str.split(" ").alias("word_key"),
                           b["v_oblast"].alias("oblast"), "claim_id")
             .explode("word_key")
             .filter(pl.col("word_key").str.len_chars().is_between(1, 100))
             .sort("word_key", "oblast", "claim_id"))  # primary-key order: each index page is written once
    timings["search_keys"] = timings.get("search_keys", 0.0) + perf_counter() - t
    return search, words


# ------------------------------------------------------------------------------------------ backends


class _Backend:
    parallel = False

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.raw: Any = None  # the DBAPI connection while entered (psycopg or sqlite3)

    def __enter__(self) -> _Backend:
        self.raw = self.engine.raw_connection()
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.raw.rollback()
        finally:
            self.raw.close()

    def lookup_previous(self, source: str, refs: dict[str, tuple[int, int]], srids: list[str]) -> dict[str, int]:
        raise NotImplementedError

    def write_batch(self, batch, ctx, prev_map, in_file, run_ids, timings) -> tuple[int, int]:
        raise NotImplementedError


def _backend(engine: Engine) -> _Backend:
    return _Postgres(engine) if engine.dialect.name == "postgresql" else _SQLite(engine)


class _Postgres(_Backend):
    parallel = True

    def lookup_previous(self, source, refs, srids):
        out: dict[str, int] = {}
        with self.engine.raw_connection() as raw:
            cur = raw.cursor()
            if refs:
                cur.execute("SELECT id, ref_year FROM claims WHERE id = ANY(%s)", ([i for _, i in refs.values()],))
                found = {(y, i) for i, y in cur.fetchall()}
                out.update({w: i for w, (y, i) in refs.items() if (y, i) in found})
            if srids:
                cur.execute("SELECT source_record_id, id FROM claims WHERE source = %s AND source_record_id = ANY(%s)",
                            (source, srids))
                out.update(dict(cur.fetchall()))
            raw.rollback()
        return out

    def write_batch(self, batch, ctx, prev_map, in_file, run_ids, timings):
        conn = self.raw.driver_connection
        t = perf_counter()
        with conn.transaction(), conn.cursor() as cur:
            srids = batch["v_source_record_id"].to_list()
            cur.execute("SELECT source_record_id FROM claims WHERE source = %s AND source_record_id = ANY(%s)",
                        (ctx.source, srids))
            existing = [r[0] for r in cur.fetchall()]
            if existing:
                batch = batch.filter(~pl.col("v_source_record_id").is_in(existing))
            n = batch.height
            if n:
                ids = _pg_ids(cur, n)
                timings["write:ids"] = timings.get("write:ids", 0.0) + perf_counter() - t
                frames = _frames(batch, ids[0], ids[1], ids[2], ctx, prev_map, in_file, run_ids, False, timings)
                for table, frame in frames.items():
                    t = perf_counter()
                    buf = io.BytesIO()
                    frame.write_csv(buf, include_header=False)
                    timings["csv"] = timings.get("csv", 0.0) + perf_counter() - t
                    t = perf_counter()
                    with cur.copy(f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN (FORMAT csv)") as copy:
                        copy.write(buf.getbuffer())
                    timings[f"copy:{table}"] = timings.get(f"copy:{table}", 0.0) + perf_counter() - t
            t = perf_counter()
        timings["commit"] = timings.get("commit", 0.0) + perf_counter() - t
        return n, len(existing)


_SEQUENCES = ("persons_id_seq", "properties_id_seq", "claims_id_seq")


def _pg_ids(cur, n: int) -> list[list[int]]:
    """n fresh ids from each sequence, taken with nextval so that other writers can go on at the same time.
    Usually they come out contiguous (then only the bounds cross the wire); if another session took some in
    between, the ids themselves are fetched."""
    out = []
    for seq in _SEQUENCES:
        lo, hi, every = cur.execute(
            f"SELECT min(v), max(v), CASE WHEN max(v) - min(v) + 1 = count(*) THEN NULL ELSE array_agg(v ORDER BY v) END "
            f"FROM (SELECT nextval('{seq}') AS v FROM generate_series(1, %s)) s", (n,)).fetchone()
        out.append(list(range(lo, hi + 1)) if every is None else list(every))
    return out


class _SQLite(_Backend):
    def lookup_previous(self, source, refs, srids):
        import json

        out: dict[str, int] = {}
        with self.engine.raw_connection() as raw:
            cur = raw.cursor()
            if refs:
                cur.execute("SELECT id, ref_year FROM claims WHERE id IN (SELECT value FROM json_each(?))",
                            (json.dumps([i for _, i in refs.values()]),))
                found = {(y, i) for i, y in cur.fetchall()}
                out.update({w: i for w, (y, i) in refs.items() if (y, i) in found})
            if srids:
                cur.execute("SELECT source_record_id, id FROM claims WHERE source = ? AND source_record_id IN "
                            "(SELECT value FROM json_each(?))", (source, json.dumps(srids, ensure_ascii=False)))
                out.update(dict(cur.fetchall()))
        return out

    def write_batch(self, batch, ctx, prev_map, in_file, run_ids, timings):
        import json

        con = self.raw.driver_connection
        cur = con.cursor()
        t = perf_counter()
        cur.execute("BEGIN IMMEDIATE")
        try:
            cur.execute("SELECT source_record_id FROM claims WHERE source = ? AND source_record_id IN "
                        "(SELECT value FROM json_each(?))",
                        (ctx.source, json.dumps(batch["v_source_record_id"].to_list(), ensure_ascii=False)))
            existing = [r[0] for r in cur.fetchall()]
            if existing:
                batch = batch.filter(~pl.col("v_source_record_id").is_in(existing))
            n = batch.height
            if n:
                first = {tb: (cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {tb}").fetchone()[0] or 0) + 1
                         for tb in ("persons", "properties", "claims")}
                timings["write:ids"] = timings.get("write:ids", 0.0) + perf_counter() - t
                rng = {tb: list(range(first[tb], first[tb] + n)) for tb in first}
                frames = _frames(batch, rng["persons"], rng["properties"], rng["claims"], ctx, prev_map, in_file,
                                 run_ids, True, timings)
                for table, frame in frames.items():
                    t = perf_counter()
                    cols = COLUMNS[table]
                    cur.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                                    frame.iter_rows())
                    timings[f"insert:{table}"] = timings.get(f"insert:{table}", 0.0) + perf_counter() - t
            t = perf_counter()
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        timings["commit"] = timings.get("commit", 0.0) + perf_counter() - t
        return n, len(existing)
