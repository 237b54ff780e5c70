"""What a claim page shows, built once for the applicant's and the staff's pages: timeline, evidence, moves."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.accounts.models import User
from everymetre.accounts.permissions import Action, Subject, allowed
from everymetre.claims.access import filer_id
from everymetre.claims.evidence import ensure_thumbnail
from everymetre.claims.lifecycle import ENDS_WITHOUT_MONEY, STANDING_AWARDS, AttorneyState, Move
from everymetre.claims.models import Claim, Decision, Evidence, InspectionAct
from everymetre.claims.pages import text
from everymetre.claims.trail import visible_trail
from everymetre.web import i18n
from everymetre.web.i18n import day, gettext, money


@dataclass
class TimelineEntry:
    at: datetime
    title: str
    who: str
    lines: list[str] = field(default_factory=list)


def _parse_day(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def timeline(session: Session, claim: Claim, viewer: Principal, staff_view: bool) -> list[TimelineEntry]:
    """The claim's trail in words; an applicant's leaves out what only staff see (`claims.trail`, as the API)."""
    events = visible_trail(session, claim, viewer)
    names: dict[int, str] = {}
    if staff_view:
        ids = {e.actor_id for e in events if e.actor_id is not None}
        if ids:
            names = {u.id: (u.full_name or u.email) for u in session.scalars(select(User).where(User.id.in_(ids)))}
    out = []
    for e in events:
        payload: dict[str, Any] = e.payload
        if e.actor == "automatic":
            who = gettext("Automatic")
        elif e.actor == "you":
            who = gettext("You")
        elif staff_view and e.actor_id is not None:
            who = names.get(e.actor_id, f"#{e.actor_id}")
        else:
            who = gettext("Applicant") if e.actor == "applicant" else gettext("Programme staff")
        entry = TimelineEntry(at=e.at, title=text.t(text.ACTIONS, e.action), who=who)
        if e.action == "claim.transition":
            entry.title = gettext("Status: %(state)s", state=text.t(text.STATES, payload.get("to")))
            if payload.get("reason"):
                entry.lines.append(gettext("Reason: %(text)s", text=payload["reason"]))
            if docs := payload.get("documents_requested"):
                entry.lines.append(gettext("Documents asked for: %(list)s", list="; ".join(docs)))
            if deadline := _parse_day(payload.get("deadline")):
                entry.lines.append(gettext("Deadline: %(date)s", date=day(deadline)))
            if when := _parse_day(payload.get("inspection_date")):
                entry.lines.append(gettext("Inspection date: %(date)s", date=day(when)))
            if "assessed_amount_kopiykas" in payload:
                entry.lines.append(gettext("Amount calculated: %(amount)s", amount=money(payload["assessed_amount_kopiykas"])))
            if decision := payload.get("decision"):
                if decision.get("amount_kopiykas") is not None:
                    entry.lines.append(gettext("Amount: %(amount)s", amount=money(decision["amount_kopiykas"])))
                entry.lines.append(gettext("Reasons: %(text)s", text=decision.get("reasons", "")))
            if payload.get("duplicate_of"):
                entry.lines.append(gettext("Duplicate of %(ref)s", ref=payload["duplicate_of"]))
            checks = [c for c in payload.get("checks") or [] if not c.get("ok")]
            if staff_view and checks:
                entry.lines += [gettext("Check failed: %(text)s", text=c.get("detail", "")) for c in checks]
        elif e.action == "evidence.added":
            after = payload.get("after") or {}
            entry.lines.append(text.t(text.EVIDENCE_KINDS, after.get("kind")))
        out.append(entry)
    if staff_view:  # what was sent to whom, and when, among the events
        from everymetre.notifications.views import sent_entries

        out = sorted(out + [TimelineEntry(*e) for e in sent_entries(session, claim.id)], key=lambda e: e.at)
    return out


@dataclass
class EvidenceView:
    id: int
    name: str
    kind: str
    is_image: bool
    content_type: str
    size_kb: int
    taken_at: datetime | None
    latitude: float | None
    longitude: float | None
    distance_m: int | None
    preview: bool = False  # a bounded thumbnail exists (pages never embed the full image)


# EXIF has no time zone: a phone writes local time, which we keep labelled UTC. Kyiv is up to 3 h ahead and the
# furthest zone 14 h: a photo is "from the future" only past that.
EXIF_CLOCK_SLACK = timedelta(hours=14)


@dataclass(frozen=True)
class Inconsistency:
    """Something in a photo's own data that disagrees with the claim, for the officer to look at."""

    kind: str  # "future_date" | "far_from_home"
    evidence_id: int
    name: str
    taken_at: datetime | None = None
    distance_m: int | None = None


def evidence_inconsistencies(items: list[EvidenceView], max_distance_m: int, now: datetime) -> list[Inconsistency]:
    """Photos dated after now (beyond any time zone), and photos taken farther than `max_distance_m` from the
    home's coordinates: shown on the staff claim page, never silently accepted."""
    out = []
    for ev in items:
        if ev.taken_at is not None and ev.taken_at > now + EXIF_CLOCK_SLACK:
            out.append(Inconsistency("future_date", ev.id, ev.name, taken_at=ev.taken_at))
        if ev.distance_m is not None and ev.distance_m > max_distance_m:
            out.append(Inconsistency("far_from_home", ev.id, ev.name, distance_m=ev.distance_m))
    return out


def _distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> int:
    from math import asin, cos, radians, sin, sqrt

    dlat, dlon = radians(lat2 - lat1), radians(lon2 - lon1)
    a = sin(dlat / 2) ** 2 + cos(radians(lat1)) * cos(radians(lat2)) * sin(dlon / 2) ** 2
    return int(2 * 6_371_000 * asin(sqrt(a)))


def evidence(session: Session, claim: Claim) -> list[EvidenceView]:
    home = claim.home
    out = []
    for ev in session.scalars(select(Evidence).where(Evidence.claim_id == claim.id).order_by(Evidence.id)):
        dist = None
        if ev.latitude is not None and ev.longitude is not None and home.latitude is not None and home.longitude is not None:
            dist = _distance_m(ev.latitude, ev.longitude, home.latitude, home.longitude)
        preview = ensure_thumbnail(ev.sha256, ev.content_type) is not None  # made once, normally at upload
        out.append(EvidenceView(ev.id, ev.original_name, ev.kind, ev.content_type.startswith("image/"), ev.content_type,
                                max(1, ev.size_bytes // 1024), ev.taken_at, ev.latitude, ev.longitude, dist, preview))
    return out


def latest_act(session: Session, claim: Claim) -> InspectionAct | None:
    return session.scalar(select(InspectionAct).where(InspectionAct.claim_id == claim.id)
                          .order_by(InspectionAct.id.desc()).limit(1))


def decisions(session: Session, claim: Claim) -> list[Decision]:
    # decisions that stand: an award waiting for a second member is shown on its own (claims.awards), a refused one in the trail
    return list(session.scalars(select(Decision).where(Decision.claim_id == claim.id, Decision.approval.in_(STANDING_AWARDS))
                                .order_by(Decision.id)))


@dataclass
class MoveView:
    to: str
    label: str
    needs: frozenset[str]
    danger: bool


def move_views(moves: list[Move]) -> list[MoveView]:
    return [MoveView(m.target.value, text.move_label(m), frozenset(n.value for n in m.needs),
                     m.target in ENDS_WITHOUT_MONEY) for m in moves]



@dataclass
class AssessmentStep:
    text: str
    formula: str
    result: str
    params: list[dict[str, Any]]


@dataclass
class AssessmentView:
    amount_kopiykas: int
    eligible: bool
    reasons: list[str]
    tier: str | None
    ruleset_hash: str
    steps: list[AssessmentStep]
    split: list[dict[str, Any]]


def assessment(session: Session, claim: Claim) -> AssessmentView | None:
    """How the amount was calculated, in the reader's language: each step, its formula, the parameter values
    with their effective dates and legal references (None before the claim is assessed)."""
    from everymetre.claims.assessment import explain
    from everymetre.rules import REASONS
    from everymetre.web.i18n import language

    record = explain(session, claim)
    if record is None:
        return None
    a = record["assessment"]
    uk = language() == "uk"
    steps = [AssessmentStep(text=s["text_uk"] if uk else s["text_en"], formula=s.get("formula", ""),
                            result=str(s.get("result", "")), params=list(s.get("params", [])))
             for s in a.get("steps", [])]
    reasons = [REASONS[r][1 if uk else 0] if r in REASONS else r for r in a.get("reasons", [])]
    return AssessmentView(amount_kopiykas=a["amount_kopiykas"] if a["eligible"] else 0, eligible=a["eligible"],
                          reasons=reasons, tier=a.get("tier"), ruleset_hash=record["ruleset_hash"], steps=steps,
                          split=list(a.get("split", [])))


# ------------------------------------------------------------------------------------------ who filed, for whom

ATTORNEY_TYPES = {"notarial": i18n.N_("Notarial power of attorney"),
                  "equated": i18n.N_("Power of attorney equated to a notarial one")}
ATTORNEY_STATES = {AttorneyState.UNCHECKED.value: i18n.N_("Not checked yet"),
                   AttorneyState.ACCEPTED.value: i18n.N_("Accepted by an officer"),
                   AttorneyState.REFUSED.value: i18n.N_("Refused by an officer")}


def filed_by(claim: Claim, principal: Principal) -> str:
    """Who filed the claim, in words of the page's language (channel, representative, the reader themselves)."""
    if claim.channel == "import":
        return i18n.gettext("Imported from the register.")
    if claim.channel == "cnap":
        return i18n.gettext("Filed at an administrative services centre (CNAP).")
    if claim.channel == "notary":
        return i18n.gettext("Filed by a notary.")
    if claim.filed_as_representative:
        if claim.submitted_by_id == principal.user_id:
            return i18n.gettext("Filed by you as the owners' representative.")
        if claim.power_of_attorney is not None:
            return i18n.gettext("Filed by a representative, %(name)s.", name=claim.power_of_attorney.full_name)
        return i18n.gettext("Filed by a representative.")
    if claim.submitted_by_id == principal.user_id:
        return i18n.gettext("Filed by you online.")
    return i18n.gettext("Filed online by the applicant.")


def attorney_view(claim: Claim) -> dict[str, Any] | None:
    row = claim.power_of_attorney
    if row is None:
        return None
    return {"row": row, "type": i18n.gettext(ATTORNEY_TYPES.get(row.document_type, row.document_type)),
            "state": i18n.gettext(ATTORNEY_STATES.get(row.state, row.state)), "replaced": False}


def can_check(principal: Principal, claim: Claim) -> bool:
    row = claim.power_of_attorney
    return (row is not None and row.state == AttorneyState.UNCHECKED.value and allowed(
        principal.actor, Action.POWER_OF_ATTORNEY_CHECK, Subject(frozenset({claim.oblast}), filed_by_id=filer_id(claim))))
