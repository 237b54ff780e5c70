"""A reviewer's match / not-a-match on a finding (or on one pair of records): stored, audited, applied at once
to the finding's status and its claims' flags, and used by every later run."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.audit.record import NewEvent, append_bulk, record
from everymetre.claims.models import Claim, Ownership
from everymetre.kernel.errors import Forbidden, NotFound, ValidationFailed
from everymetre.linkage.common import DUPLICATE_KINDS, PERSON_KINDS, REVIEWER_ROLES, chunks
from everymetre.linkage.extract import records_for_claims
from everymetre.linkage.models import DECISIONS, LinkageReviewDecision
from everymetre.linkage.queries import get_finding, latest_run, out_of_scope_claims
from everymetre.linkage.writing import reflag
from everymetre.store.tx import atomic
from everymetre.store.types import utcnow

__all__ = ["do_review"]


def _ownership_ids(session: Session, record_ids: Iterable[str], claim_ids: list[int] | None = None) -> dict[str, int]:
    """record id -> ownership id, for the given records (looked up through their claims)."""
    wanted = set(record_ids)
    if claim_ids is None:
        claim_ids = _claims_of_records(session, wanted)
    if not claim_ids:
        return {}
    recs = records_for_claims(session, claim_ids)
    return {r: o for r, o in zip(recs["record_id"], recs["ownership_id"], strict=True) if r in wanted}


def _claims_of_records(session: Session, record_ids: set[str]) -> list[int]:
    """Candidate claims for record ids: references (EM-YYYY-NNNNNNN#k) and source record ids (with or without
    a "source:" prefix or a "#k" suffix)."""
    from everymetre.kernel.identifiers import parse_claim_reference

    ids: set[int] = set()
    srids: set[str] = set()
    for rid in record_ids:
        base = rid.rsplit("#", 1)[0] if "#" in rid else rid
        parsed = parse_claim_reference(base)
        if parsed:
            ids.add(parsed[1])
        srids.update({rid, base, rid.split(":", 1)[-1], base.split(":", 1)[-1]})
    if srids:
        for part in chunks(sorted(srids)):
            ids.update(session.scalars(select(Claim.id).where(Claim.source_record_id.in_(part))))
    return sorted(ids)


def _claims_of_owners(session: Session, *ownership_ids: int) -> list[int]:
    return list(session.scalars(select(Ownership.claim_id).where(Ownership.id.in_(ownership_ids))))


def do_review(session: Session, principal: Principal, decision: str, *, finding_id: int | None = None,
              pair: tuple[str, str] | None = None, note: str = "") -> dict[str, Any]:
    """Record a reviewer's decision. On a finding: "match" confirms it, "not_a_match" dismisses it; for
    person findings (one person's several claims) the decision is also stored for every linking pair of
    records, so the next run follows it. On a pair: the decision for those two records alone. Flags of the
    claims concerned are recomputed at once (a dismissed finding no longer holds its claims). Audited."""
    if decision not in DECISIONS:
        raise ValidationFailed(f"decision must be 'match' or 'not_a_match', not {decision!r}", field="decision")
    if principal.role not in REVIEWER_ROLES:
        raise Forbidden("Only an officer or a commission member can review linkage findings.")
    if (finding_id is None) == (pair is None):
        raise ValidationFailed("Give either a finding or a pair of records.", field="finding_id")
    note = (note or "").strip()
    now = utcnow()
    with atomic(session):
        finding = None
        if finding_id is not None:
            finding = get_finding(session, principal, finding_id)
            claim_ids = [int(c) for c in finding.claim_ids]
            if out_of_scope_claims(session, principal, claim_ids):
                raise Forbidden("This finding also concerns claims outside your oblasts: a reviewer who may act on "
                                "all of its claims decides it.")
            pairs = [(p["a"], p["b"]) for p in finding.evidence.get("pairs", [])] if finding.kind in PERSON_KINDS else []
        else:
            assert pair is not None
            a, b = (str(pair[0]).strip(), str(pair[1]).strip())
            if not a or not b or a == b:
                raise ValidationFailed("A pair needs two different record ids.", field="pair")
            claim_ids = _claims_of_records(session, {a, b})
            own = _ownership_ids(session, {a, b}, claim_ids)
            if a not in own or b not in own:
                raise NotFound(f"No records {a!r} and {b!r} that you can see.")
            visible = set(session.scalars(select(Claim.id).where(Claim.id.in_(claim_ids), *(
                [] if principal.all_oblasts else [Claim.oblast.in_(sorted(principal.oblasts))]))))
            if not visible:
                raise NotFound(f"No records {a!r} and {b!r} that you can see.")
            pair_claims = sorted(set(_claims_of_owners(session, own[a], own[b])))
            if out_of_scope_claims(session, principal, pair_claims):
                raise Forbidden("These records are not both in claims of your oblasts: a reviewer who may act on "
                                "both decides them.")
            pairs = [(a, b)]
        own_ids = _ownership_ids(session, {r for p in pairs for r in p}, claim_ids) if pairs else {}
        stored = []
        for x, y in pairs:
            a, b = min(x, y), max(x, y)
            row = session.scalar(select(LinkageReviewDecision).where(LinkageReviewDecision.record_id_a == a,
                                                                     LinkageReviewDecision.record_id_b == b))
            before = row.decision if row else None
            if row is None:
                row = LinkageReviewDecision(record_id_a=a, record_id_b=b)
                session.add(row)
            row.ownership_id_a, row.ownership_id_b = own_ids.get(a), own_ids.get(b)
            row.decision, row.decided_by_id, row.decided_at, row.note = decision, principal.user_id, now, note  # type: ignore[assignment]  # reviewers are people: their user id is set
            row.finding_id = finding.id if finding else None
            stored.append({"a": a, "b": b, "before": before, "after": decision})
        session.flush()
        result: dict[str, Any] = {"decision": decision, "pairs": stored}
        if finding is not None:
            before = finding.status
            finding.status = "confirmed" if decision == "match" else "dismissed"
            finding.reviewed_by_id, finding.reviewed_at, finding.review_note = principal.user_id, now, note
            finding.updated_at = now
            session.flush()
            record(session, f"finding:{finding.id}", "finding.reviewed", principal.user_id,
                   {"decision": decision, "before": before, "after": finding.status, "note": note, "pairs": stored}, at=now)
            result.update(finding_id=finding.id, status=finding.status)
            if decision == "match" and finding.kind in DUPLICATE_KINDS:
                result.update(_mark_duplicates(session, principal, finding.id, claim_ids, note, now))
        else:
            row_id = session.scalar(select(LinkageReviewDecision.id).where(
                LinkageReviewDecision.record_id_a == stored[0]["a"], LinkageReviewDecision.record_id_b == stored[0]["b"]))
            record(session, f"linkage_decision:{row_id}", "linkage.pair_reviewed", principal.user_id,
                   {"decision": decision, "note": note, **stored[0]}, at=now)
        run = latest_run(session)
        if run is not None and finding is not None:
            events: dict[str, list[NewEvent]] = {}
            conn = session.connection()
            flags = reflag(conn, run.id, run.flag_score, events, now, only_claims=claim_ids, actor=principal.user_id,
                            reason=f"finding {finding.id} reviewed: {decision}")
            append_bulk(conn, events, flags.pop("_claim_ids"), now)
            result.update(flagged=flags["flagged"], cleared=flags["cleared"])
    return result


def _mark_duplicates(session: Session, principal: Principal, finding_id: int, claim_ids: list[int], note: str,
                     now: datetime) -> dict[str, Any]:
    """A confirmed duplicate: every later claim of the finding moves to ``duplicate`` of the earliest (by
    submission, then creation, then id) through the claims' own move (claims.actions.apply_transition: the
    lifecycle's move table and guards, the claim's audit event with the reviewer as actor), in the review's
    transaction. A claim the move table does not let this reviewer move from its state (already decided,
    withdrawn, or a commission member reviewing: officers mark duplicates) stays where it is; the answer says
    which and why."""
    from everymetre.claims.actions import apply_transition
    from everymetre.claims.lifecycle import MOVES, State
    from everymetre.claims.schemas import TransitionIn

    claims = sorted(session.scalars(select(Claim).where(Claim.id.in_(claim_ids))).all(),
                    key=lambda c: (c.submitted_at or c.created_at, c.created_at, c.id))
    moved: list[str] = []
    kept: list[dict[str, str]] = []
    if len(claims) < 2:
        return {"moved_to_duplicate": moved, "not_moved": kept}
    original = claims[0]
    for claim in claims[1:]:
        move = MOVES.get((State(claim.state), State.DUPLICATE))
        if claim.state == State.DUPLICATE.value:
            kept.append({"claim": claim.reference, "why": "already a duplicate"})
        elif move is None:
            kept.append({"claim": claim.reference, "why": f"a claim in state {claim.state} cannot be marked a duplicate"})
        elif principal.role not in move.roles:
            kept.append({"claim": claim.reference, "why": f"an officer marks duplicates, not a {principal.role.value}"})
        else:
            reason = f"duplicate of {original.reference} (linkage finding {finding_id})" + (f": {note}" if note else "")
            apply_transition(session, principal, claim.reference, TransitionIn(
                to=State.DUPLICATE, reason=reason[:5000], expected_version=claim.version,
                duplicate_of=original.reference), now)
            moved.append(claim.reference)
    return {"moved_to_duplicate": moved, "duplicate_of": original.reference, "not_moved": kept}
