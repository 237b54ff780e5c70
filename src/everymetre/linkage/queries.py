"""What the API and the reviewers' page read: findings a staff member may see, one finding in detail."""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.accounts.permissions import Action, Subject, allowed
from everymetre.claims.lifecycle import STAFF_ROLES
from everymetre.claims.models import Claim
from everymetre.kernel.errors import Forbidden, NotFound
from everymetre.kernel.identifiers import mask
from everymetre.linkage.common import PERSON_KINDS, REVIEWER_ROLES
from everymetre.linkage.extract import records_for_claims
from everymetre.linkage.models import LinkageFinding, LinkageFindingClaim, LinkageRun

__all__ = [
    "COMPARE_FIELDS",
    "finding_detail",
    "get_finding",
    "latest_run",
    "list_findings",
    "masked_value",
    "out_of_scope_claims",
]


def latest_run(session: Session | Connection) -> LinkageRun | None:
    stmt = select(LinkageRun).where(LinkageRun.status == "finished").order_by(LinkageRun.id.desc()).limit(1)
    if isinstance(session, Session):
        return session.scalar(stmt)
    return None


def require_staff(principal: Principal) -> None:
    if principal.role not in STAFF_ROLES:
        raise NotFound("No such finding that you can see.")


def visible_condition(principal: Principal):
    """Condition: the finding names a claim in the principal's oblasts (national roles see all)."""
    if principal.all_oblasts:
        return None
    fc = LinkageFindingClaim
    return select(fc.finding_id).where(fc.finding_id == LinkageFinding.id,
                                       fc.oblast.in_(sorted(principal.oblasts))).exists()


def list_findings(session: Session, principal: Principal, *, status: str | None = None, kind: str | None = None,
                  current_only: bool = True, limit: int = 50, offset: int = 0) -> tuple[list[LinkageFinding], int]:
    """Findings this staff member may see, most suspicious first, and how many there are in all."""
    if principal.role not in STAFF_ROLES:
        raise Forbidden("Linkage findings are for staff.")
    stmt = select(LinkageFinding)
    cond = visible_condition(principal)
    if cond is not None:
        stmt = stmt.where(cond)
    if status:
        stmt = stmt.where(LinkageFinding.status == status)
    if kind:
        stmt = stmt.where(LinkageFinding.kind == kind)
    if current_only:
        run = latest_run(session)
        if run is None:
            return [], 0
        stmt = stmt.where(LinkageFinding.last_run_id == run.id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = list(session.scalars(stmt.order_by(LinkageFinding.score.desc(), LinkageFinding.id).limit(limit).offset(offset)))
    return rows, total


def get_finding(session: Session, principal: Principal, finding_id: int) -> LinkageFinding:
    require_staff(principal)
    stmt = select(LinkageFinding).where(LinkageFinding.id == finding_id)
    cond = visible_condition(principal)
    if cond is not None:
        stmt = stmt.where(cond)
    finding = session.scalar(stmt)
    if finding is None:
        raise NotFound(f"No finding {finding_id} that you can see.")
    return finding


#: fields of a person outside the viewer's oblasts shown as they are (the rest are masked): which oblast, and
#: facts of the claim that name nobody
UNMASKED_OUT_OF_SCOPE = frozenset({"oblast", "property_kind", "claim_kind", "damage_date", "is_redamage", "share"})


def masked_value(name: str, value: Any) -> Any:
    """A value of a record outside the viewer's oblasts: names by their first letter, a birth date by its year,
    identifiers and the address masked; the oblast and the claim's kind, date and share as they are."""
    if value is None or name in UNMASKED_OUT_OF_SCOPE:
        return value
    text = str(value)
    if name in ("surname", "given_name", "patronymic"):
        return text[:1] + "***"
    if name == "birth_date":
        return text[:4] + "-**-**"
    if name in ("phone", "iban", "registry_number"):
        return mask(text, 3)
    return "***"


def out_of_scope_claims(session: Session, principal: Principal, claim_ids: list[int]) -> list[int]:
    """Those of ``claim_ids`` outside the principal's oblasts (none for national roles)."""
    if principal.all_oblasts or not claim_ids:
        return []
    return sorted(session.scalars(select(Claim.id).where(Claim.id.in_(claim_ids),
                                                         Claim.oblast.not_in(sorted(principal.oblasts)))))


#: the fields shown side by side, and which comparison's agreement highlights each
COMPARE_FIELDS: tuple[tuple[str, str], ...] = (
    ("surname", "surname"), ("given_name", "given_name"), ("patronymic", "patronymic"), ("birth_date", "birth_date"),
    ("rnokpp", "rnokpp"), ("phone", "phone"), ("iban", "iban"), ("oblast", "home"), ("city", "home"),
    ("street", "home"), ("building", "home"), ("apartment", "home"), ("registry_number", "home"),
    ("property_kind", ""), ("area_m2", ""), ("share", ""), ("claim_kind", ""), ("damage_date", ""),
    ("is_redamage", ""), ("previous_claim_ref", ""),
)


def finding_detail(session: Session, principal: Principal, finding_id: int) -> dict[str, Any]:
    """Everything the reviewers' page needs: the finding, its records side by side (with each record's agreeing
    fields, to highlight), the linking pairs, and whether this principal may review it."""
    finding = get_finding(session, principal, finding_id)
    recs = records_for_claims(session, [int(c) for c in finding.claim_ids])
    recs = recs.filter(pl.col("record_id").is_in(finding.record_ids)) if finding.record_ids else recs
    states = dict(session.execute(select(Claim.id, Claim.state).where(Claim.id.in_([int(c) for c in finding.claim_ids]))).all())
    flags = dict(session.execute(select(Claim.id, Claim.review_flag).where(Claim.id.in_([int(c) for c in finding.claim_ids]))).all())
    pairs = list(finding.evidence.get("pairs", []))
    agreeing: dict[str, set[str]] = {}
    for p in pairs:
        for side in ("a", "b"):
            agreeing.setdefault(p[side], set()).update(p.get("agreeing", []))
    order = {r: i for i, r in enumerate(finding.record_ids)}
    records = []
    for r in sorted(recs.iter_rows(named=True), key=lambda r: order.get(r["record_id"], 10**9)):
        in_scope = principal.all_oblasts or r["claim_oblast"] in principal.oblasts
        values: dict[str, Any] = {}
        for name, _ in COMPARE_FIELDS:
            v = r[name]
            if name == "rnokpp":
                v = mask(v)
            elif not in_scope:
                v = masked_value(name, v)
            values[name] = None if v is None else str(v)
        records.append({"record_id": r["record_id"], "source_record_id": r["display_id"], "source": r["source"],
                        "claim_ref": r["claim_ref"], "claim_id": r["claim_id"], "claim_state": states.get(r["claim_id"]),
                        "review_flag": flags.get(r["claim_id"]), "oblast": r["claim_oblast"], "in_scope": in_scope,
                        "values": values, "agreeing": sorted(agreeing.get(r["record_id"], set()))})
    reviewers = {}
    if finding.reviewed_by_id:
        from everymetre.accounts.models import User

        u = session.get(User, finding.reviewed_by_id)
        reviewers[finding.reviewed_by_id] = (u.full_name or u.email) if u else str(finding.reviewed_by_id)
    return {
        "finding": finding, "id": finding.id, "kind": finding.kind, "score": finding.score, "status": finding.status,
        "claim_refs": list(finding.claim_refs), "record_ids": list(finding.record_ids),
        "evidence": {k: v for k, v in finding.evidence.items() if k != "pairs"}, "pairs": pairs, "records": records,
        "fields": [{"name": n, "compares": c} for n, c in COMPARE_FIELDS],
        "can_review": principal.role in REVIEWER_ROLES and all(r["in_scope"] for r in records),
        "person_kind": finding.kind in PERSON_KINDS,
        "can_override": finding.status in ("open", "confirmed", "override_requested") and allowed(
            principal.actor, Action.FINDING_OVERRIDE, Subject(oblasts=frozenset(r["oblast"] for r in records))),
        "reviewed_by": reviewers.get(finding.reviewed_by_id) if finding.reviewed_by_id else None,
        "reviewed_at": finding.reviewed_at, "review_note": finding.review_note,
    }
