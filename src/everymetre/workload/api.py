"""Workload API under /api/v1: name a claim's inspector; an inspector's day list."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from everymetre.accounts.permissions import Action, Subject, require
from everymetre.api.deps import AuthDep
from everymetre.api.problems import problem_responses
from everymetre.claims import access
from everymetre.workload import actions

router = APIRouter(prefix="/api/v1", tags=["workload"])
RESPONSES = problem_responses({403: "Not an officer of this oblast", 404: "No such claim that you can see",
                               409: "Stale version, or the claim is not waiting for an inspection"})


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={
        "examples": [{"inspector": "inspector@example.org", "expected_version": 3}]})
    inspector: str = Field(min_length=1, max_length=254, description="The inspector's e-mail (or user id)")
    expected_version: int = Field(ge=1)


class InspectorOut(BaseModel):
    id: int
    email: str
    full_name: str


class Assigned(BaseModel):
    reference: str
    version: int
    state: str
    inspection_date: date | None
    inspector: InspectorOut


class OwnerContact(BaseModel):
    full_name: str
    phone: str | None


class VisitOut(BaseModel):
    reference: str
    state: str
    inspection_date: date
    oblast: str
    hromada: str
    address: str
    latitude: float | None
    longitude: float | None
    inspector_id: int | None
    owners: list[OwnerContact]


@router.post("/claims/{reference}/inspector", response_model=Assigned, responses=RESPONSES)
def assign_inspector(reference: str, body: AssignIn, auth: AuthDep) -> Assigned:
    """Name the inspector of a claim waiting for its inspection (officers of the claim's oblast). Audited."""
    who: int | str = int(body.inspector) if body.inspector.isdigit() else body.inspector
    claim = actions.do_assign_inspector(auth.session, auth.principal, reference, who, body.expected_version)
    user = next(i for i in actions.inspectors_for(auth.session, claim.oblast) if i.id == claim.inspector_id)
    return Assigned(reference=claim.reference, version=claim.version, state=claim.state,
                    inspection_date=claim.inspection_date,
                    inspector=InspectorOut(id=user.id, email=user.email, full_name=user.full_name))


@router.get("/claims/{reference}/inspectors", response_model=list[InspectorOut], responses=RESPONSES)
def candidate_inspectors(reference: str, auth: AuthDep) -> list[InspectorOut]:
    """The inspectors who may be named for this claim (active, working in its oblast)."""
    claim = access.get_claim(auth.session, auth.principal, reference)
    require(auth.principal.actor, Action.INSPECTOR_ASSIGN, Subject(frozenset({claim.oblast})))
    return [InspectorOut(id=i.id, email=i.email, full_name=i.full_name)
            for i in actions.inspectors_for(auth.session, claim.oblast)]


@router.get("/inspections", response_model=list[VisitOut], responses=RESPONSES)
def inspections(auth: AuthDep, day: date | None = Query(None, alias="date", description="YYYY-MM-DD; today if left out"),
                inspector: str | None = Query(None, max_length=254, description="Officers: one inspector's e-mail")
                ) -> list[VisitOut]:
    """The inspections on a day in order of place, with the owners' phones and the home's coordinates.
    Inspectors get their own; officers those of their oblasts (or of one inspector)."""
    inspector_id = actions.get_inspector_id(auth.session, inspector) if inspector else None
    visits = actions.day_list(auth.session, auth.principal, day or date.today(), inspector_id)
    return [VisitOut(reference=v.claim.reference, state=v.claim.state, inspection_date=v.claim.inspection_date,
                     oblast=v.claim.oblast, hromada=v.claim.home.hromada, address=v.claim.home.address_line(),
                     latitude=v.claim.home.latitude, longitude=v.claim.home.longitude,
                     inspector_id=v.claim.inspector_id,
                     owners=[OwnerContact(full_name=n, phone=p) for n, p in v.owners]) for v in visits]
