"""A claim's trail as a reader may see it: staff see every event; an applicant sees their own trail with the
staff-only facts left out (automatic-check results, linkage flags and finding ids, staff ids, assignments).

One filter for the API (`GET /api/v1/claims/{ref}/events`) and the applicant's page timeline
(`claims.pages.views.timeline`), so what a claimant may learn is decided in one place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.accounts.roles import STAFF_ROLES, Role
from everymetre.audit.record import events_for_claim
from everymetre.claims.models import Claim

ActorKind = Literal["you", "applicant", "staff", "automatic"]

# What an applicant sees of each event they may see; every other action (claim.review_flag, linkage.*, ...)
# and every other key (checks, findings, assignee_id, inspection_act, ruleset_hash, ...) is for staff only.
CLAIMANT_ACTIONS: dict[str, frozenset[str]] = {
    "claim.created": frozenset({"after"}),
    "claim.draft_updated": frozenset({"after"}),
    "claim.transition": frozenset({"from", "to", "reason", "channel", "documents_requested", "deadline",
                                   "inspection_date", "assessed_amount_kopiykas", "decision", "duplicate_of",
                                   "resumed_after", "works_total_kopiykas"}),
    "evidence.added": frozenset({"after"}),
    "claim.payout_account_set": frozenset({"reason"}),  # the accounts themselves: GET .../payout-account (masked)
    "claim.payout_account_returned": frozenset({"reason"}),
    "claim.power_of_attorney_checked": frozenset({"to", "reason"}),  # the representative's document: accepted or not
    # a new document in place of the refused (or expired) one: both as filed, the RNOKPP masked
    "claim.power_of_attorney_replaced": frozenset({"from", "to", "refusal_reason", "old", "new"}),
}
CLAIMANT_DECISION_KEYS = frozenset({"stage", "outcome", "amount_kopiykas", "reasons"})
CLAIMANT_EVIDENCE_KEYS = frozenset({"evidence_id", "content_type", "size", "kind", "taken_at", "latitude", "longitude"})


@dataclass(frozen=True, slots=True)
class TrailEntry:
    seq: int  # staff: the chain's sequence number; applicants: the position in what they see (no gaps)
    at: datetime
    action: str
    actor: ActorKind
    actor_id: int | None  # staff only (an applicant sees their own id, never a staff member's)
    payload: dict[str, Any]
    hash: str | None  # staff only


def is_staff_view(viewer: Principal) -> bool:
    return viewer.role in STAFF_ROLES or viewer.role is Role.SYSTEM


def _actor(actor_id: int | None, viewer: Principal, claim: Claim) -> ActorKind:
    if actor_id is None:
        return "automatic"
    if actor_id == viewer.user_id:
        return "you"
    if actor_id == claim.submitted_by_id and claim.channel != "cnap":
        return "applicant"
    return "staff"


def _claimant_payload(action: str, payload: dict[str, Any]) -> dict[str, Any]:
    keep = CLAIMANT_ACTIONS[action]
    out = {k: v for k, v in payload.items() if k in keep}
    if isinstance(out.get("decision"), dict):
        out["decision"] = {k: v for k, v in out["decision"].items() if k in CLAIMANT_DECISION_KEYS}
    if action == "evidence.added" and isinstance(out.get("after"), dict):
        out["after"] = {k: v for k, v in out["after"].items() if k in CLAIMANT_EVIDENCE_KEYS}
    return out


def visible_trail(session: Session, claim: Claim, viewer: Principal) -> list[TrailEntry]:
    """The claim's events as `viewer` may see them (the caller has already checked the viewer may see the claim)."""
    staff = is_staff_view(viewer)
    out: list[TrailEntry] = []
    for e in events_for_claim(session, claim.id):
        payload: dict[str, Any] = json.loads(e.payload)
        actor = _actor(e.actor_id, viewer, claim)
        if staff:
            out.append(TrailEntry(e.seq, e.at, e.action, actor, e.actor_id, payload, e.hash))
        elif e.action in CLAIMANT_ACTIONS:
            out.append(TrailEntry(len(out) + 1, e.at, e.action, actor, e.actor_id if actor == "you" else None,
                                  _claimant_payload(e.action, payload), None))
    return out


def summary_en(entry: TrailEntry) -> str:
    """The event in words (English, for the API; pages build their own in the reader's language)."""
    p = entry.payload
    if entry.action == "claim.transition":
        return f"Status: {str(p.get('to', '')).replace('_', ' ')}"
    return {"claim.created": "Claim started", "claim.draft_updated": "Draft changed", "evidence.added": "File added",
            "claim.review_flag": "Review flag changed"}.get(entry.action, entry.action)
