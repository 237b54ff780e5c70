"""Assessment: what a claim is worth under the rules in force, with the explanation and the rule set kept.

The one-claim path (`assess`) runs when an officer moves a claim to `assessed`; `do_compute` assesses every
inspected claim in bulk through the vectorised path (the same answers, proved by tests/rules). Either way the
claim keeps the rules' decision record (rule-set hash, inputs, result) and the rule set itself is stored by
its hash, so `recheck_decisions` can recompute any past decision exactly, years later.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any, cast

import polars as pl
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from everymetre.accounts.actions import SYSTEM
from everymetre.audit.chain import canonical_json
from everymetre.audit.record import NewEvent, append_bulk, claim_chain
from everymetre.claims import lifecycle
from everymetre.claims.lifecycle import ClaimKind, State
from everymetre.claims.models import Claim, Decision, InspectionAct, Ownership, Person, Property, RuleSetRecord
from everymetre.kernel.errors import ValidationFailed
from everymetre.rules import (
    COLUMNS,
    DECISION_FORMAT,
    ClaimFacts,
    InvalidClaim,
    RuleSet,
    RulesNotInForce,
    assess_frame,
    recheck,
)
from everymetre.rules import assess as rules_assess
from everymetre.rules import decision_record as rules_record
from everymetre.rules.model import PayoutKind, PropertyKindName
from everymetre.store.bulk import update_rows
from everymetre.store.tx import atomic
from everymetre.store.types import utcnow


@lru_cache(maxsize=1)
def current_ruleset() -> RuleSet:
    return RuleSet.load()


def payout_kind(claim_kind: str) -> PayoutKind:
    """Destroyed homes get a housing certificate; everything else is assessed as a repair payment."""
    return "certificate" if claim_kind == ClaimKind.DESTROYED_HOUSING_APPLICATION else "repair"


def facts_for(session: Session, claim: Claim, on: date) -> ClaimFacts:
    act = session.scalar(select(InspectionAct).where(InspectionAct.claim_id == claim.id).order_by(InspectionAct.id.desc()).limit(1))
    if act is None:
        raise ValidationFailed("The claim has no inspection act to assess.", field="inspection_act")
    owners = sorted(claim.owners, key=lambda o: (not o.is_applicant, o.id))
    home = claim.home
    try:
        return ClaimFacts(
            # values from the store are checked by ClaimFacts itself (a missing birth date is an InvalidClaim)
            payout_kind=payout_kind(claim.kind), property_kind=cast(PropertyKindName, home.kind), oblast=claim.oblast,
            damage_date=claim.damage_date, assessment_date=on, birth_date=cast(date, owners[0].person.birth_date), owns=True,
            area_m2=Decimal(home.total_area_m2), rooms=home.rooms, year_built=home.year_built, heritage=home.heritage,
            works_total_kopiykas=act.works_total_kopiykas,
            co_owners=tuple((str(o.person_id), Fraction(o.share_numerator, o.share_denominator)) for o in claim.owners),
            common_parts_damaged=bool(home.common_parts_damaged), own_street_entrance=bool(home.own_street_entrance),
        )
    except InvalidClaim as exc:
        raise ValidationFailed(f"The claim cannot be assessed: {exc.problem}", field=f"property.{exc.field}") from None


def store_ruleset(session: Session, ruleset: RuleSet) -> None:
    if session.get(RuleSetRecord, ruleset.hash) is None:
        session.add(RuleSetRecord(hash=ruleset.hash, canonical=ruleset.canonical_json(), created_at=utcnow()))
        session.flush()


def assess(session: Session, claim: Claim, now: datetime) -> tuple[int, dict[str, Any]]:
    """Assess one claim (the `assessed` move): amount, and what the audit event should say."""
    ruleset = current_ruleset()
    facts = facts_for(session, claim, now.date())
    try:
        result = rules_assess(facts, ruleset)
    except RulesNotInForce as exc:
        raise ValidationFailed(f"No rules are in force for this claim: {exc}", field="assessment_date") from None
    store_ruleset(session, ruleset)
    claim.assessment = rules_record(facts, result)
    amount = result.amount_kopiykas if result.eligible else 0
    return amount, {"ruleset_hash": ruleset.hash, "eligible": result.eligible, "reasons": list(result.reasons),
                    "tier": result.tier}


def ruleset_by_hash(session: Session, digest: str) -> RuleSet:
    current = current_ruleset()
    if current.hash == digest:
        return current
    rec = session.get(RuleSetRecord, digest)
    if rec is None:
        raise ValidationFailed(f"rule set {digest} is not stored; the assessment cannot be reproduced", field="assessment")
    return RuleSet.from_canonical_json(rec.canonical, expected_hash=digest)


def explain(session: Session, claim: Claim) -> dict[str, Any] | None:
    """The claim's rules record with its explanation, changing nothing. A bulk assessment (`everymetre
    compute`) kept only the amounts; its explanation is the one-claim path on the same facts and rule set,
    which gives the same amount (tests/rules prove the two paths equal) — checked here."""
    record = claim.assessment
    if not record or record.get("format") == DECISION_FORMAT:
        return record
    facts = facts_for(session, claim, date.fromisoformat(record["facts"]["assessment_date"]))
    result = rules_assess(facts, ruleset_by_hash(session, record["ruleset_hash"]))
    if (result.amount_kopiykas if result.eligible else 0) != record["result"]["amount_kopiykas"]:
        raise ValidationFailed("The claim's data changed since its bulk assessment; assess it again.", field="assessment")
    return rules_record(facts, result)


def full_record(session: Session, claim: Claim) -> dict[str, Any] | None:
    """`explain`, keeping the full record on the claim (done when a decision is recorded)."""
    record = explain(session, claim)
    if record is not None and record is not claim.assessment:
        claim.assessment = record
    return record


def decision_record(session: Session, claim: Claim) -> dict[str, Any]:
    """What a decision stores from the rules: the hash, the inputs and the result of the assessment."""
    record = full_record(session, claim)
    if not record:
        return {}
    return {"ruleset_hash": record["ruleset_hash"], "rule_inputs": record["facts"], "rule_result": record["assessment"]}


# ------------------------------------------------------------------------------------------- many claims

_FRAME_SQL_COLUMNS = (
    Claim.id.label("claim_id"), Claim.kind, Claim.oblast, Claim.damage_date, Claim.version, Claim.state,
    Property.kind.label("property_kind"), Property.total_area_m2.label("area_m2"), Property.rooms, Property.year_built,
    Property.heritage, Property.common_parts_damaged, Property.own_street_entrance,
)


def claims_frame(session: Session, states: list[str] | None, on: date, need_act: bool = True) -> pl.DataFrame:
    """One row per claim in the rules' columns (COLUMNS) plus claim_id/version; applicant = first owner."""
    applicant = (
        select(Ownership.claim_id, func.min(Ownership.id).label("oid"))
        .where(Ownership.is_applicant.is_(True)).group_by(Ownership.claim_id).subquery()
    )
    any_owner = select(Ownership.claim_id, func.min(Ownership.id).label("oid")).group_by(Ownership.claim_id).subquery()
    latest_act = select(InspectionAct.claim_id, func.max(InspectionAct.id).label("aid")).group_by(InspectionAct.claim_id).subquery()
    owner_id = func.coalesce(applicant.c.oid, any_owner.c.oid)
    stmt = (
        select(*_FRAME_SQL_COLUMNS, Person.birth_date, InspectionAct.works_total_kopiykas)
        .join(Property, Claim.property_id == Property.id)
        .join(any_owner, any_owner.c.claim_id == Claim.id)
        .outerjoin(applicant, applicant.c.claim_id == Claim.id)
        .join(Ownership, Ownership.id == owner_id)
        .join(Person, Person.id == Ownership.person_id)
        .join(latest_act, latest_act.c.claim_id == Claim.id, isouter=not need_act)
        .outerjoin(InspectionAct, InspectionAct.id == latest_act.c.aid)
    )
    if states:
        stmt = stmt.where(Claim.state.in_(states))
    rows = session.execute(stmt.order_by(Claim.id)).all()
    names = ["claim_id", "kind", "oblast", "damage_date", "version", "state", "property_kind", "area_m2", "rooms", "year_built",
             "heritage", "common_parts_damaged", "own_street_entrance", "birth_date", "works_total_kopiykas"]
    cols: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    raw = dict(zip(names, cols, strict=True))
    n = len(rows)
    return pl.DataFrame({
        "claim_id": pl.Series(raw["claim_id"], dtype=pl.Int64),
        "version": pl.Series(raw["version"], dtype=pl.Int64),
        "state": pl.Series(raw["state"], dtype=pl.String),
        "payout_kind": pl.Series([payout_kind(k) for k in raw["kind"]], dtype=pl.String),
        "property_kind": pl.Series(raw["property_kind"], dtype=pl.String),
        "oblast": pl.Series(raw["oblast"], dtype=pl.String),
        "area_m2": pl.Series([str(a) for a in raw["area_m2"]], dtype=pl.String),
        "rooms": pl.Series(raw["rooms"], dtype=pl.Int64),
        "year_built": pl.Series(raw["year_built"], dtype=pl.Int64),
        "heritage": pl.Series(raw["heritage"], dtype=pl.Boolean),
        "works_total_kopiykas": pl.Series([w or 0 for w in raw["works_total_kopiykas"]], dtype=pl.Int64),
        "damage_date": pl.Series(raw["damage_date"], dtype=pl.Date),
        "assessment_date": pl.Series([on] * n, dtype=pl.Date),
        "birth_date": pl.Series(raw["birth_date"], dtype=pl.Date),
        "owns": pl.Series([True] * n, dtype=pl.Boolean),
        "sanctioned": pl.Series([False] * n, dtype=pl.Boolean),
        "convicted_109_114": pl.Series([False] * n, dtype=pl.Boolean),
        "territory_occupied_before_2022": pl.Series([False] * n, dtype=pl.Boolean),
        "common_parts_damaged": pl.Series([bool(x) for x in raw["common_parts_damaged"]], dtype=pl.Boolean),
        "own_street_entrance": pl.Series([bool(x) for x in raw["own_street_entrance"]], dtype=pl.Boolean),
    })


FACT_COLUMNS = list(COLUMNS)


@dataclass
class ComputeReport:
    assessed: int = 0
    eligible: int = 0
    total_kopiykas: int = 0


def do_compute(engine: Engine, on: date | None = None, chunk: int = 5000,
               progress: Callable[[int], None] | None = None, total: Callable[[int], None] | None = None) -> ComputeReport:
    """Assess every inspected (or remotely verified) claim: inspected -> assessed by the system, audited.

    Amounts come from the vectorised path in chunks; each chunk is one transaction (claims, their audit
    events and chain heads), so an interruption leaves whole chunks done and the rest for the next run.
    """
    ruleset = current_ruleset()
    now = utcnow()
    on = on or now.date()
    report = ComputeReport()
    with Session(engine) as session:
        frame = claims_frame(session, [State.INSPECTED.value, State.REMOTE_VERIFIED.value], on)
        store_ruleset(session, ruleset)
        session.commit()
    if total:
        total(frame.height)
    for start in range(0, frame.height, chunk):
        part = frame.slice(start, chunk)
        result = assess_frame(part.select(FACT_COLUMNS), ruleset)
        joined = part.hstack(result.select("eligible", "reasons", "amount_kopiykas", "tier"))
        with Session(engine) as session, atomic(session):
            _write_assessed(session, joined, ruleset, now)
        report.assessed += joined.height
        report.eligible += int(joined["eligible"].sum())
        report.total_kopiykas += int(joined.filter(pl.col("eligible"))["amount_kopiykas"].sum())
        if progress:
            progress(joined.height)
    return report


def _write_assessed(session: Session, rows: pl.DataFrame, ruleset: RuleSet, now: datetime) -> None:
    """Column-wise: the lifecycle decides once per (state, oblast) group, the payloads are rendered from their
    columns (the canonical JSON text `canonical_json` would give, keys sorted), and every table is written
    set-based (store.bulk / audit.append_bulk)."""
    for state, oblast in rows.select("state", "oblast").unique().iter_rows():
        # the lifecycle decides, as for one claim: the move exists from this state and the system may make it
        lifecycle.authorise(SYSTEM.actor, lifecycle.ClaimFacts(state=State(state), oblast=oblast),
                            lifecycle.MoveRequest(target=State.ASSESSED), now)
    amounts = rows.select(pl.when(pl.col("eligible")).then(pl.col("amount_kopiykas")).otherwise(0)).to_series().to_list()
    ids, versions, states = rows["claim_id"].to_list(), rows["version"].to_list(), rows["state"].to_list()
    eligible, reasons, tiers = rows["eligible"].to_list(), rows["reasons"].to_list(), rows["tier"].to_list()
    fact_cols = [c for c in rows.columns if c in COLUMNS]
    facts_cols = [[v.isoformat() if isinstance(v, date) else v for v in rows[c].to_list()] for c in fact_cols]
    js = json.dumps
    head = '{"assessed_amount_kopiykas":'
    tail_hash = js(ruleset.hash, ensure_ascii=False)
    reason = js("bulk assessment (everymetre compute)", ensure_ascii=False)
    to = State.ASSESSED.value
    events: dict[str, list[NewEvent]] = {}
    claim_ids: dict[str, int | None] = {}
    claim_updates = []
    all_facts = [dict(zip(fact_cols, vals, strict=True)) for vals in zip(*facts_cols, strict=True)]
    for i, (cid, version, state, ok, mask, tier, amount, facts) in enumerate(
            zip(ids, versions, states, eligible, reasons, tiers, amounts, all_facts, strict=True)):
        chain = claim_chain(cid)
        record = {"format": "bulk-1", "ruleset_hash": ruleset.hash, "facts": facts,
                  "result": {"eligible": ok, "reasons_mask": mask, "amount_kopiykas": amount, "tier": tier}}
        payload = {"from": state, "to": to, "reason": "bulk assessment (everymetre compute)",
                   "assessed_amount_kopiykas": amount, "ruleset_hash": ruleset.hash, "eligible": ok, "tier": tier}
        text = (f'{head}{amount},"eligible":{"true" if ok else "false"},"from":{js(state)},"reason":{reason},'
                f'"ruleset_hash":{tail_hash},"tier":{js(tier, ensure_ascii=False)},"to":"{to}"}}')
        if i == 0 and text != canonical_json(payload):  # the hand-rendered text is the canonical one, checked
            raise RuntimeError(f"bulk payload text differs from its canonical JSON: {text}")
        events[chain] = [NewEvent("claim.transition", payload, None, text=text)]
        claim_ids[chain] = cid
        claim_updates.append({"id": cid, "version": version, "assessed_amount_kopiykas": amount,
                              "assessment": record, "state": to, "state_changed_at": now})
    # set-based (store.bulk): COPY into a staging table and one UPDATE ... FROM on PostgreSQL
    done = update_rows(session, Claim.__table__, ["id", "version"], claim_updates, fixed="version = {t}version + 1",
                       also=f"{{t}}state IN ('{State.INSPECTED.value}', '{State.REMOTE_VERIFIED.value}')")
    if done != len(claim_updates):
        raise ValidationFailed("claims changed while being assessed; nothing in this chunk was saved — run compute again")
    append_bulk(session, events, claim_ids, at=now)


# ------------------------------------------------------------------------------------------- recheck


@dataclass
class RecheckFinding:
    claim_id: int
    decision_id: int
    differences: dict[str, tuple[Any, Any]]


def recheck_decisions(session: Session) -> Iterator[tuple[int, RecheckFinding | None]]:
    """Recompute every decision that stored a rules record, with the rule set of its own hash."""
    rulesets: dict[str, RuleSet] = {}
    stmt = select(Decision).where(Decision.ruleset_hash.is_not(None), Decision.rule_inputs.is_not(None)).order_by(Decision.id)
    for d in session.scalars(stmt.execution_options(yield_per=2000)):
        assert d.ruleset_hash is not None  # selected above
        rs = rulesets.get(d.ruleset_hash)
        if rs is None:
            rs = rulesets[d.ruleset_hash] = ruleset_by_hash(session, d.ruleset_hash)
        stored = {"format": DECISION_FORMAT, "ruleset_hash": d.ruleset_hash, "facts": d.rule_inputs,
                  "assessment": d.rule_result}
        result = recheck(stored, rs)
        yield d.id, (RecheckFinding(d.claim_id, d.id, result.differences) if result.differs else None)
