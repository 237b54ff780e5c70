"""Assessment: the amount a claim is worth under the rules in force (filled in by the rules engine)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from everymetre.domain.errors import ValidationFailed
from everymetre.store.models import Claim, InspectionAct


def assess(session: Session, claim: Claim, now: datetime) -> tuple[int, dict[str, Any]]:
    act = session.scalar(select(InspectionAct).where(InspectionAct.claim_id == claim.id).order_by(InspectionAct.id.desc()).limit(1))
    if act is None:
        raise ValidationFailed("The claim has no inspection act to assess.", field="inspection_act")
    return act.works_total_kopiykas, {"basis": "inspection act works total"}


def decision_record(session: Session, claim: Claim) -> dict[str, Any]:
    return {}
