"""Linkage findings over the JSON API (/api/v1/findings): list, read side by side, review.

Staff see the findings that name a claim in their oblasts (national roles see all); officers and commission
members review them. The service layer (`everymetre.linkage.service`) decides all of that.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from everymetre.api.deps import AuthDep, IdPath
from everymetre.api.problems import problem_responses
from everymetre.linkage import service
from everymetre.linkage.models import FINDING_STATUSES

router = APIRouter(prefix="/api/v1", tags=["linkage"])
RESPONSES = problem_responses({403: "Not allowed for your role", 404: "No such finding that you can see"})


class FindingSummary(BaseModel):
    id: int
    kind: str = Field(description="person_multiple_destroyed_claims, home_claimed_by_unrelated, shares_do_not_add_up, "
                                  "iban_shared_by_unrelated, repeat_damage_unlinked, duplicate_claim, household_same_loss "
                                  "(members of one household claiming one loss separately) or conflicting_claim_categories "
                                  "(one home in claim categories that must not both be paid)")
    score: float = Field(description="0-1, higher is more suspicious; orders the queue, not a probability")
    status: Literal["open", "confirmed", "dismissed", "override_requested", "overridden"]
    claim_refs: list[str]
    records: int
    created_at: datetime
    updated_at: datetime


class FindingPage(BaseModel):
    items: list[FindingSummary]
    total: int
    limit: int
    offset: int


class RecordSide(BaseModel):
    record_id: str
    source_record_id: str = Field(description="As given at import, or the claim reference")
    source: str | None
    claim_ref: str
    claim_state: str | None
    review_flag: str | None
    oblast: str
    in_scope: bool = Field(description="The claim is in your oblasts (outside them, contacts are masked)")
    values: dict[str, str | None]
    agreeing: list[str] = Field(description="Fields on which this record agrees with a linked record")


class PairPublic(BaseModel):
    a: str
    b: str
    probability: float
    agreeing: list[str]
    evidence: str | None = None
    source: str | None = None


class FindingDetail(FindingSummary):
    evidence: dict[str, Any]
    pairs: list[PairPublic]
    record_sides: list[RecordSide]
    fields: list[dict[str, str]] = Field(description="Fields shown side by side and the comparison that highlights each")
    can_review: bool
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_note: str | None


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [
        {"decision": "not_a_match", "note": "Namesakes: different RNOKPP and birth year; checked in the registry."}]})

    decision: Literal["match", "not_a_match"] = Field(
        description="match: the finding is real (same person / a real problem) and is confirmed; not_a_match: a false "
                    "alarm, dismissed — and for person findings the next runs keep these records apart")
    note: str = Field("", max_length=2000)


class ReviewOut(BaseModel):
    finding_id: int
    status: str
    decision: str
    pairs_decided: int
    flagged: int = 0
    cleared: int = 0
    moved_to_duplicate: list[str] = Field(default_factory=list, description="Claims moved to `duplicate` (a confirmed "
                                          "duplicate_claim or household_same_loss: every claim but the earliest)")
    duplicate_of: str | None = None
    not_moved: list[dict[str, str]] = Field(default_factory=list, description="Later claims left where they are, and why")


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [
        {"reason": "Second damage after the repair paid under EM-2023-0000412; inspection act of 12 May 2024."}]})

    reason: str = Field(min_length=1, max_length=2000, description="Why the claims may be paid (kept with the override)")


class OverrideOut(BaseModel):
    finding_id: int
    status: Literal["override_requested", "overridden"]
    second_person_needed: bool = Field(description="Money would move: a second commission member or admin must "
                                                   "override as well")
    flagged: int = 0
    cleared: int = 0


def _summary(f: Any) -> FindingSummary:
    return FindingSummary(id=f.id, kind=f.kind, score=f.score, status=f.status, claim_refs=list(f.claim_refs),
                          records=len(f.record_ids), created_at=f.created_at, updated_at=f.updated_at)


@router.get("/findings", response_model=FindingPage, responses=RESPONSES)
def list_findings(
    auth: AuthDep,
    status: Annotated[Literal["open", "confirmed", "dismissed", "override_requested", "overridden"] | None, Query()] = None,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    include_past: Annotated[bool, Query(description="Also findings the latest run did not produce again")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> FindingPage:
    """Linkage findings naming a claim in your oblasts, most suspicious first (staff only)."""
    assert status is None or status in FINDING_STATUSES
    rows, total = service.list_findings(auth.session, auth.principal, status=status, kind=kind,
                                        current_only=not include_past, limit=limit, offset=offset)
    return FindingPage(items=[_summary(f) for f in rows], total=total, limit=limit, offset=offset)


@router.get("/findings/{finding_id}", response_model=FindingDetail, responses=RESPONSES)
def get_finding(finding_id: IdPath, auth: AuthDep) -> FindingDetail:
    """One finding: its records side by side with the fields on which they agree, and the linking pairs."""
    d = service.finding_detail(auth.session, auth.principal, finding_id)
    return FindingDetail(**_summary(d["finding"]).model_dump(), evidence=d["evidence"],
                         pairs=[PairPublic(**p) for p in d["pairs"]],
                         record_sides=[RecordSide(**{k: v for k, v in r.items() if k != "claim_id"}) for r in d["records"]],
                         fields=d["fields"], can_review=d["can_review"], reviewed_by=d["reviewed_by"],
                         reviewed_at=d["reviewed_at"], review_note=d["review_note"])


@router.post("/findings/{finding_id}/review", response_model=ReviewOut, responses=RESPONSES)
def review_finding(finding_id: IdPath, body: ReviewIn, auth: AuthDep) -> ReviewOut:
    """Confirm (match) or dismiss (not_a_match) a finding; officers and commission members only. Audited; the
    claims' review flags follow at once and the decision holds in every later run."""
    out = service.do_review(auth.session, auth.principal, body.decision, finding_id=finding_id, note=body.note)
    return ReviewOut(finding_id=finding_id, status=out["status"], decision=body.decision,
                     pairs_decided=len(out["pairs"]), flagged=out.get("flagged", 0), cleared=out.get("cleared", 0),
                     moved_to_duplicate=out.get("moved_to_duplicate", []), duplicate_of=out.get("duplicate_of"),
                     not_moved=out.get("not_moved", []))


@router.post("/findings/{finding_id}/override", response_model=OverrideOut,
             responses=problem_responses({403: "Only commission members and admins, in their oblasts",
                                          404: "No such finding that you can see",
                                          409: "Nothing to override, or you asked for this override yourself",
                                          422: "No reason given"}))
def override_finding(finding_id: IdPath, body: OverrideIn, auth: AuthDep) -> OverrideOut:
    """Let a legitimately repeated claim through the finding's hold (repeat damage after a repair, say), with a
    reason; commission members and admins only. Audited. When one of the claims already carries an award, the
    first override is a request and a second, different person must give it."""
    out = service.do_override(auth.session, auth.principal, finding_id, body.reason)
    return OverrideOut(finding_id=finding_id, status=out["status"], second_person_needed=out["second_person_needed"],
                       flagged=out.get("flagged", 0), cleared=out.get("cleared", 0))
