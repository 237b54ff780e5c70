"""The programme settings kept in the store: each has a default in config.py (`EVERYMETRE_*`, the deployment's
choice) that an administrator may override from the admin pages or `everymetre programme set` (the same
action, `do_set_setting`, audited on the `programme` chain). Readers call `effective(session)` / `value()`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.accounts.permissions import Action, require
from everymetre.audit.record import record
from everymetre.config import Settings, get_settings
from everymetre.kernel.errors import ValidationFailed
from everymetre.programme.models import ProgrammeSetting
from everymetre.store.tx import atomic
from everymetre.store.types import utcnow
from everymetre.web.i18n import N_

CHAIN = "programme"


@dataclass(frozen=True, slots=True)
class Spec:
    key: str
    label: str  # for people (translated on the page)
    hint: str
    low: int
    high: int
    unit: str = ""


SPECS: dict[str, Spec] = {s.key: s for s in (
    Spec("photos_closeup_required", N_("Close-up photos of the damage needed to submit a claim"),
         N_("Resolution 380 of 26 March 2022 asks for photos of the damage; 0 turns the rule off."), 0, 20),
    Spec("photos_wide_required", N_("Wide views of the home needed to submit a claim"),
         N_("Photos that show the whole home and where it stands; 0 turns the rule off."), 0, 20),
    Spec("remote_photos_required", N_("Photos taken at the home needed to verify a claim remotely from photos"),
         N_("Photos whose own location is within the distance below of the home's coordinates; 0 turns the rule off."),
         0, 20),
    Spec("remote_photo_max_distance_m", N_("How near the home such a photo must be taken, in metres"),
         N_("The location in the photo's data (GPS) against the home's coordinates."), 1, 1000, "m"),
    Spec("photo_max_distance_m", N_("Distance from the home beyond which a photo's location is flagged, in metres"),
         N_("Officers see a photo taken farther than this from the home's coordinates as an inconsistency."),
         10, 100_000, "m"),
    Spec("linkage_match_percent", N_("Match probability from which two records are the same person, in per cent"),
         N_("The linkage reports a pair of records as one person at or above this; lower finds more duplicates and "
            "more false ones. Used by the next linkage run."), 50, 99, "%"),
    Spec("linkage_flag_percent", N_("Finding score from which the claims are held for a reviewer, in per cent"),
         N_("A duplicate or household finding scoring at least this puts its claims in review before any decision."),
         1, 99, "%"),
)}


def defaults(settings: Settings | None = None) -> dict[str, int]:
    s = settings or get_settings()
    return {key: int(getattr(s, key)) for key in SPECS}


def stored(session: Session) -> dict[str, ProgrammeSetting]:
    return {row.key: row for row in session.scalars(select(ProgrammeSetting).where(ProgrammeSetting.key.in_(list(SPECS))))}


PREFETCHED = "everymetre.programme_settings"  # session.info: the values read with a filing's other reads


def effective(session: Session, settings: Settings | None = None) -> dict[str, int]:
    """Every setting's value now: the stored one where an administrator set it, else the deployment's default
    (or, inside a filing that read them with its other reads, those: `claims.actions._prefetch`)."""
    if settings is None and (ahead := session.info.get(PREFETCHED)) is not None:
        return dict(ahead)
    values = defaults(settings)
    values.update({k: row.value for k, row in stored(session).items()})
    return values


def value(session: Session, key: str, settings: Settings | None = None) -> int:
    return effective(session, settings)[key]


def parse(key: str, raw: str | int) -> int:
    spec = SPECS.get(key)
    if spec is None:
        raise ValidationFailed(f"unknown setting {key!r}; use one of: {', '.join(SPECS)}", field="key")
    try:
        number = int(str(raw).strip())
    except ValueError:
        raise ValidationFailed(f"{key} must be a whole number", field=key) from None
    if not spec.low <= number <= spec.high:
        raise ValidationFailed(f"{key} must be from {spec.low} to {spec.high}", field=key, low=spec.low, high=spec.high)
    return number


def do_set_setting(session: Session, acting: Principal | None, key: str, raw: str | int) -> bool:
    """Set one programme setting (audited with its old and new value); False when it already had that value.
    `acting` is None for the operator's CLI."""
    if acting is not None:
        require(acting.actor, Action.PROGRAMME_CONFIGURE)
    number = parse(key, raw)
    now = utcnow()
    with atomic(session):
        row = session.get(ProgrammeSetting, key, with_for_update=True)
        before = row.value if row is not None else defaults()[key]
        if before == number:
            return False  # already so (stored, or the default nobody changed)
        if row is None:
            session.add(ProgrammeSetting(key=key, value=number, updated_at=now,
                                         updated_by=acting.user_id if acting else None))
        else:
            row.value, row.updated_at, row.updated_by = number, now, acting.user_id if acting else None
        record(session, CHAIN, "programme.setting_changed", acting.user_id if acting else None,
               {"key": key, "before": before, "after": number}, at=now)
    return True
