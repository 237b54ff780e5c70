"""The photos a claim needs before it can be submitted: close-up views of the damage and wide views of the
home (Resolution 380 of 26 March 2022), as many of each as the programme configures: the administrator's stored
setting (`programme.settings`, the admin pages or `everymetre programme set`) over the deployment's default
(config.py: `photos_closeup_required`, `photos_wide_required`). A photo uploaded without saying which view it is
("photo") counts for neither: the applicant is asked to say.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from everymetre.claims.models import Claim, Evidence
from everymetre.kernel.errors import ErrorCode, ValidationFailed
from everymetre.programme.settings import effective

MISSING_SENTENCE = ("Add the photos the law asks for before submitting: close-up views of the damage and wide views "
                    "of the home.")
NAMES = {"photo_closeup": ("close-up photo", "close-up photos"), "photo_wide": ("wide view", "wide views")}


@dataclass(frozen=True, slots=True)
class PhotoRule:
    kind: str  # photo_closeup | photo_wide
    need: int
    have: int

    @property
    def met(self) -> bool:
        return self.have >= self.need


def required(session: Session) -> dict[str, int]:
    s = effective(session)
    return {"photo_closeup": s["photos_closeup_required"], "photo_wide": s["photos_wide_required"]}


def photo_rules(session: Session, claim: Claim | None) -> list[PhotoRule]:
    """Each required kind of photo with how many the claim has (only image files count)."""
    need = {k: n for k, n in required(session).items() if n > 0}
    have: dict[str, int] = {}
    if need and claim is not None and claim.id is not None:
        have = dict(session.execute(
            select(Evidence.kind, func.count()).where(Evidence.claim_id == claim.id, Evidence.kind.in_(list(need)),
                                                      Evidence.content_type.like("image/%")).group_by(Evidence.kind)
        ).tuples().all())
    return [PhotoRule(kind, n, have.get(kind, 0)) for kind, n in need.items()]


def check_photos(session: Session, claim: Claim) -> None:
    """ValidationFailed (field `evidence`, code evidence_missing) unless the claim has the photos it needs."""
    missing = [r for r in photo_rules(session, claim) if not r.met]
    if not missing:
        return
    parts = [f"{r.need - r.have} more {NAMES[r.kind][0] if r.need - r.have == 1 else NAMES[r.kind][1]}" for r in missing]
    raise ValidationFailed(f"{MISSING_SENTENCE} Still needed: {' and '.join(parts)}.", field="evidence",
                           code=ErrorCode.EVIDENCE_MISSING,
                           missing={r.kind: {"have": r.have, "need": r.need} for r in missing})
