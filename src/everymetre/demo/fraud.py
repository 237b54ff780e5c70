"""Demo data with duplicates and fraud patterns, and the ground truth to score the linkage against.

`everymetre demo --claims N --with-fraud` loads N person-in-claim records from
:func:`everymetre.linkage.synthetic.generate_population` into the store in bulk: one claim, one home and one
person row per record (as a register fills up when nobody links filings), imported from source
``synthetic`` with the generator's record id as ``source_record_id``, submitted and automatically checked,
with the hash-chained audit trail that implies (the same pattern as :mod:`everymetre.demo.generate`).

The truth (record id as the linkage sees it -> true person, true home, injected pattern) goes to
``EVERYMETRE_DATA_DIR/demo-truth.parquet``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine, bindparam, func, insert, select

from everymetre.audit.chain import NewEvent, chain_rows
from everymetre.audit.models import AuditChain, AuditEvent
from everymetre.audit.record import claim_chain
from everymetre.claims.models import Claim, Ownership, Person, Property
from everymetre.claims.search import index_claims
from everymetre.kernel.identifiers import claim_reference
from everymetre.sla.due import kyiv_day
from everymetre.store.db import advance_sequences

SOURCE = "synthetic"
TRUTH_FILE = "demo-truth.parquet"


@dataclass
class FraudDemo:
    claims: int
    injected: dict[str, int]
    truth_path: Path | None


def _share(text: str | None) -> tuple[int, int]:
    try:
        f = Fraction(str(text).strip()).limit_denominator(1000) if text else Fraction(1)
    except (ValueError, ZeroDivisionError):
        f = Fraction(1)
    if not 0 < f <= 1:
        f = Fraction(1)
    return f.numerator, f.denominator


def load_fraud_population(engine: Engine, n_claims: int, seed: int = 2022, data_dir: Path | None = None,
                          chunk: int = 5000, on_progress: Callable[[int], None] | None = None,
                          now: datetime | None = None) -> FraudDemo:
    """Write `n_claims` synthetic claims with injected duplicates and fraud patterns; write the truth file to
    `data_dir` (skipped when None)."""
    from everymetre.linkage.synthetic import generate_population

    now = now or datetime.now(UTC)
    pop = generate_population(n_claims, seed=seed) if n_claims else None
    if pop is None or pop.height == 0:
        return FraudDemo(0, {}, None)
    with engine.connect() as conn:
        ids = {m: (conn.execute(select(func.max(m.id))).scalar() or 0) + 1 for m in (Person, Property, Claim, Ownership)}
        taken = set(conn.execute(select(Claim.source_record_id).where(Claim.source == SOURCE)).scalars())
    if taken:  # a second load: keep source record ids unique within the source
        pop = pop.with_columns(record_id=pl.col("record_id") + f"-s{seed}-c{ids[Claim]}")
    n = pop.height
    claim_ids = list(range(ids[Claim], ids[Claim] + n))
    pop = pop.with_columns(pl.Series("claim_id", claim_ids, dtype=pl.Int64))
    # a claim is opened a few days after the damage (never in the future)
    days_after = (pl.int_range(pl.len()) * 7919 % 40).cast(pl.Int64)
    pop = pop.with_columns(opened=pl.min_horizontal(pl.col("damage_date") + pl.duration(days=days_after),
                                                    pl.lit(now.date() - timedelta(days=2))))
    pop = pop.with_columns(ref_year=pl.col("opened").dt.year().cast(pl.Int64))
    refs = {r: claim_reference(y, c) for r, y, c in zip(pop["claim_ref"], pop["ref_year"], pop["claim_id"], strict=True)}
    ref_to_id = dict(zip(pop["claim_ref"], pop["claim_id"], strict=True))
    shares = {s: _share(s) for s in pop["share"].unique().to_list()}

    links: list[tuple[int, int]] = []
    done = 0
    rows_iter = pop.iter_rows(named=True)
    while done < n:
        size = min(chunk, n - done)
        persons: list[dict] = []
        props: list[dict] = []
        claims: list[dict] = []
        owners: list[dict] = []
        events: list[dict] = []
        heads: list[dict] = []
        for _ in range(size):
            r = next(rows_iter)
            pid, hid, cid, oid = ids[Person], ids[Property], r["claim_id"], ids[Ownership]
            ids[Person] += 1
            ids[Property] += 1
            ids[Ownership] += 1
            full_name = " ".join(p for p in (r["surname"], r["given_name"], r["patronymic"]) if p)
            persons.append(dict(id=pid, full_name=full_name[:200], full_name_latin=None, birth_date=r["birth_date"],
                                rnokpp=r["rnokpp"], phone=(r["phone"] or None) and r["phone"][:20], email=None,
                                iban=r["iban"], created_at=now))
            props.append(dict(id=hid, kind=r["property_kind"], oblast=r["oblast"], hromada=r["city"], street=r["street"],
                              building=r["building"] or "", apartment=r["apartment"], registry_number=r["registry_number"],
                              total_area_m2=Decimal(str(round(r["area_m2"], 2))), year_built=None, rooms=None,
                              latitude=None, longitude=None, common_parts_damaged=None, own_street_entrance=None,
                              heritage=False))
            opened: date = r["opened"]
            created = datetime.combine(opened, time(9, 0), UTC) + timedelta(seconds=(cid * 37) % 28800)
            num, den = shares[r["share"]]
            prev = ref_to_id.get(r["previous_claim_ref"]) if r["previous_claim_ref"] else None
            claims.append(dict(
                id=cid, ref_year=r["ref_year"], kind=r["claim_kind"], state="auto_checked", version=3, oblast=r["oblast"],
                property_id=hid, submitted_by_id=None, filed_as_representative=False, channel="import", source=SOURCE,
                source_record_id=r["record_id"], damage_date=r["damage_date"], description="", priority_mask=0,
                is_redamage=bool(r["is_redamage"]), previous_claim_id=None, duplicate_of_id=None, assignee_id=None,
                inspector_id=None, decided_by_id=None, decided_at=None, assessed_amount_kopiykas=None,
                awarded_amount_kopiykas=None, suspension_deadline=None, documents_requested=None, inspection_date=None,
                review_flag=None, created_at=created, submitted_at=created, state_changed_at=created,
                decision_due_on=kyiv_day(created) + timedelta(days=30)))
            if prev is not None:
                links.append((cid, prev))
            owners.append(dict(id=oid, claim_id=cid, person_id=pid, share_numerator=num, share_denominator=den,
                               is_applicant=True))
            chain = claim_chain(cid)
            trail: list[tuple[str, dict[str, Any]]] = [
                ("claim.created", {"after": {"reference": refs[r["claim_ref"]], "kind": r["claim_kind"],
                                             "damage_date": r["damage_date"], "oblast": r["oblast"],
                                             "source": SOURCE, "source_record_id": r["record_id"]}}),
                ("claim.transition", {"from": "draft", "to": "submitted", "channel": "import"}),
                ("claim.transition", {"from": "submitted", "to": "auto_checked",
                                      "checks": [{"check": "all", "ok": True, "detail": "no problems found"}]}),
            ]
            rows, seq, head = chain_rows(chain, [NewEvent(a, p, None) for a, p in trail], created, cid)
            events.extend(rows)
            heads.append(dict(chain=chain, last_seq=seq, last_hash=head))
        with engine.begin() as conn:
            conn.execute(insert(Person), persons)
            conn.execute(insert(Property), props)
            conn.execute(insert(Claim), claims)
            conn.execute(insert(Ownership), owners)
            index_claims(conn, [c["id"] for c in claims])
            conn.execute(insert(AuditEvent), events)
            conn.execute(insert(AuditChain), heads)
        done += size
        if on_progress:
            on_progress(size)
    if links:  # re-damage claims point at their earlier claim, which may have been written later
        t = Claim.__table__
        with engine.begin() as conn:
            conn.execute(t.update().where(t.c.id == bindparam("cid")).values(previous_claim_id=bindparam("prev")),
                         [{"cid": c, "prev": p} for c, p in links])

    advance_sequences(engine)  # explicit ids were written: later inserts draw from the sequences past them
    truth = pop.select(
        pl.col("record_id"), pl.col("claim_id"),
        pl.struct("claim_ref").map_elements(lambda s: refs[s["claim_ref"]], return_dtype=pl.String).alias("claim_ref"),
        "true_person_id", "true_property_id", "injected",
    )
    path = None
    if data_dir is not None:
        path = Path(data_dir) / TRUTH_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and taken:  # add to the truth of an earlier load
            truth = pl.concat([pl.read_parquet(path), truth], how="vertical_relaxed")
        truth.write_parquet(path)
    counts = dict(pop.group_by("injected").len().drop_nulls("injected").iter_rows())
    return FraudDemo(n, counts, path)

