"""The photos a claim needs: before it can be submitted, close-up views of the damage and wide views of the
home (Resolution 380 of 26 March 2022), as many of each as the programme configures: the administrator's stored
setting (`programme.settings`, the admin pages or `everymetre programme set`) over the deployment's default
(config.py: `photos_closeup_required`, `photos_wide_required`). A photo uploaded without saying which view it is
("photo") counts for neither: the applicant is asked to say.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import asin, cos, radians, sin, sqrt

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
    with session.no_autoflush:  # programme settings are not what a filing writes: reading them flushes nothing
        need = {k: n for k, n in required(session).items() if n > 0}
    have: dict[str, int] = {}
    if need and claim is not None and claim.id is not None:
        have = dict(session.execute(
            select(Evidence.kind, func.count()).where(Evidence.claim_id == claim.id, Evidence.kind.in_(list(need)),
                                                      Evidence.content_type.like("image/%")).group_by(Evidence.kind)
        ).tuples().all())
    return [PhotoRule(kind, n, have.get(kind, 0)) for kind, n in need.items()]


REMOTE_SENTENCE = ("Remote verification from photos needs a photo taken at the home: its own location (GPS in the "
                   "photo's data) within the set distance of the home's coordinates. Inspect on site, or use "
                   "satellite imagery.")


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    dlat, dlon = radians(lat2 - lat1), radians(lon2 - lon1)
    a = sin(dlat / 2) ** 2 + cos(radians(lat1)) * cos(radians(lat2)) * sin(dlon / 2) ** 2
    return 2 * 6_371_000 * asin(sqrt(a))


def photos_at_home(session: Session, claim: Claim, within_m: int) -> int:
    """How many of the claim's photos were taken within `within_m` metres of the home (by their EXIF GPS)."""
    home = claim.home
    if home is None or home.latitude is None or home.longitude is None:
        return 0
    hlat, hlon = home.latitude, home.longitude
    rows = session.execute(select(Evidence.latitude, Evidence.longitude).where(
        Evidence.claim_id == claim.id, Evidence.content_type.like("image/%"), Evidence.latitude.is_not(None),
        Evidence.longitude.is_not(None))).tuples()
    return len([1 for lat, lon in rows
                if lat is not None and lon is not None and _metres(lat, lon, hlat, hlon) <= within_m])


def check_remote_photos(session: Session, claim: Claim) -> None:
    """ValidationFailed (code remote_photo_missing) unless the claim has the photos taken at the home that remote
    verification from photos needs (the programme's `remote_photos_required` within `remote_photo_max_distance_m`)."""
    s = effective(session)
    need, within = s["remote_photos_required"], s["remote_photo_max_distance_m"]
    if need <= 0:
        return
    have = photos_at_home(session, claim, within)
    if have < need:
        raise ValidationFailed(REMOTE_SENTENCE, field="inspection_act.method", code=ErrorCode.REMOTE_PHOTO_MISSING,
                               have=have, need=need, within_m=within)


def check_photos(session: Session, claim: Claim) -> None:
    """ValidationFailed (field `evidence`, code evidence_missing) unless the claim has the photos it needs."""
    missing = [r for r in photo_rules(session, claim) if not r.met]
    if not missing:
        return
    parts = [f"{r.need - r.have} more {NAMES[r.kind][0] if r.need - r.have == 1 else NAMES[r.kind][1]}" for r in missing]
    raise ValidationFailed(f"{MISSING_SENTENCE} Still needed: {' and '.join(parts)}.", field="evidence",
                           code=ErrorCode.EVIDENCE_MISSING,
                           missing={r.kind: {"have": r.have, "need": r.need} for r in missing})
