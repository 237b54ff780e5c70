"""An override of a linkage hold: a commission member or an admin lets a legitimately repeated claim through
(the same home damaged again after its repair, a co-owner's own claim the register confirms) with a reason.

Recorded on the finding (status ``overridden``, the reason and who, in its evidence under ``override``) and on
the audit chains (the finding's, and each claim's review-flag change); the hold is lifted at once and stays
lifted in every later run (findings keep their status by fingerprint; a new claim on the home makes a new
finding, which holds again). When money would move — one of the finding's claims already carries an award —
one person's override is only a request (``override_requested``, the claims stay held) and a second,
different commission member or admin must give it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.accounts.permissions import Action, Subject, require
from everymetre.audit.record import NewEvent, append_bulk, record
from everymetre.claims.models import Claim
from everymetre.kernel.errors import ErrorCode, GuardFailed, ValidationFailed
from everymetre.linkage.queries import get_finding, latest_run
from everymetre.linkage.writing import reflag
from everymetre.store.tx import atomic
from everymetre.store.types import utcnow

__all__ = ["MIN_REASON", "do_override"]

MIN_REASON = 10  # characters: "repaired" is not a reason a later reader can check


def do_override(session: Session, principal: Principal, finding_id: int, reason: str) -> dict[str, Any]:
    """Override finding ``finding_id``'s hold on its claims (see the module doc). Returns the finding's new
    status, whether a second person is needed, and the flags changed."""
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise ValidationFailed(f"Say why these claims may be paid (at least {MIN_REASON} characters): the reason is "
                               "kept with the override.", field="reason")
    now = utcnow()
    with atomic(session):
        finding = get_finding(session, principal, finding_id)
        claim_ids = [int(c) for c in finding.claim_ids]
        claims = session.execute(select(Claim.id, Claim.oblast, Claim.awarded_amount_kopiykas)
                                 .where(Claim.id.in_(claim_ids))).all()
        require(principal.actor, Action.FINDING_OVERRIDE, Subject(oblasts=frozenset(c.oblast for c in claims)))
        if finding.status not in ("open", "confirmed", "override_requested"):
            raise GuardFailed(f"This finding is {finding.status}: there is no hold to override.",
                              ErrorCode.INVALID_TRANSITION)
        money = any((c.awarded_amount_kopiykas or 0) > 0 for c in claims)
        evidence = dict(finding.evidence or {})
        asked = evidence.get("override") if finding.status == "override_requested" else None
        before = finding.status
        entry = {"by": principal.user_id, "reason": reason, "at": now.isoformat()}
        if money and asked is None:
            evidence["override"] = {"requested": entry, "money_moves": True}
            finding.status = "override_requested"
            event = "finding.override_requested"
        else:
            if asked is not None and asked.get("requested", {}).get("by") == principal.user_id:
                raise GuardFailed("Segregation of duties: you asked for this override, so another commission member "
                                  "or admin must give it.", ErrorCode.SEGREGATION_FIRST_APPROVER)
            evidence["override"] = {**(asked or {}), "given": entry, "money_moves": money}
            finding.status = "overridden"
            finding.reviewed_by_id, finding.reviewed_at, finding.review_note = principal.user_id, now, reason
            event = "finding.overridden"
        finding.evidence = evidence
        finding.updated_at = now
        session.flush()
        record(session, f"finding:{finding.id}", event, principal.user_id,
               {"before": before, "after": finding.status, "reason": reason, "money_moves": money,
                "claims": list(finding.claim_refs)}, at=now)
        result: dict[str, Any] = {"finding_id": finding.id, "status": finding.status,
                                  "second_person_needed": finding.status == "override_requested"}
        run = latest_run(session)
        if run is not None and finding.status == "overridden":
            events: dict[str, list[NewEvent]] = {}
            conn = session.connection()
            flags = reflag(conn, run.id, run.flag_score, events, now, only_claims=claim_ids, actor=principal.user_id,
                           reason=f"finding {finding.id} overridden: {reason}")
            append_bulk(conn, events, flags.pop("_claim_ids"), now)
            result.update(flagged=flags["flagged"], cleared=flags["cleared"])
    return result
