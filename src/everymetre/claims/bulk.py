"""Claim actions for volume: filing many claims and moving many claims in one transaction each.

The same rules as the one-claim actions (`claims.actions`): the same Pydantic schemas validate the input, the
permission table (`require`) and the lifecycle (`lifecycle.authorise`, one call per claim with its facts) say
who may do what, each claim's audit events go on its own chain (`audit.append_bulk`, which also feeds the
notifications outbox), decisions are posted to the ledger in the same transaction. What differs is only how
the rows are written: one INSERT / UPDATE per table per call instead of one per claim, with every UPDATE
checking the version it read (a claim changed meanwhile fails the whole call, nothing half-written).

Not done here (the one-claim path does it): the decision's PDF document (made on its first download instead:
`documents.service.latest`),
linking a claimant's account to their person record, and moves made by claimants (appeal, withdraw).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.accounts.permissions import Action, Subject, require
from everymetre.accounts.roles import Role
from everymetre.audit.chain import canonical_json
from everymetre.audit.record import NewEvent, append_bulk, claim_chain
from everymetre.claims.access import policy
from everymetre.claims.actions import OPEN_STATES, _age, mask_rnokpp
from everymetre.claims.evidence_rules import required as photos_required
from everymetre.claims.lifecycle import DECIDED, ClaimFacts, MoveRequest, State, authorise, damage_date_problem
from everymetre.claims.models import Claim, Decision, Evidence, InspectionAct, Ownership, Person, Property
from everymetre.claims.schemas import ClaimCreate, DecisionIn, InspectionActIn
from everymetre.claims.search import claim_keys, index_new_claims
from everymetre.claims.values import parse_share
from everymetre.config import get_settings
from everymetre.kernel.errors import Conflict, ErrorCode, Forbidden, StaleVersion, ValidationFailed
from everymetre.kernel.identifiers import claim_reference, rnokpp_birth_date
from everymetre.kernel.translit import translit_uk
from everymetre.sla.due import after_move
from everymetre.store.bulk import insert_rows, new_ids, update_rows
from everymetre.store.tx import atomic
from everymetre.store.types import utcnow

_CHUNK = 5000  # ids per IN (...) lookup
_share = lru_cache(maxsize=256)(parse_share)  # a few dozen texts ("1", "1/2", ...) across a whole filing


@dataclass(frozen=True, slots=True)
class Photo:
    """A photo filed with every claim of a bulk filing (stored once: blobs are content-addressed)."""

    kind: str  # photo_closeup | photo_wide
    filename: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Filing:
    data: ClaimCreate
    at: datetime  # when it was filed (now for live filings; the demo back-dates)


def do_file_bulk(session: Session, principal: Principal, filings: Sequence[Filing], photos: Sequence[Photo] = ()) -> list[int]:
    """File and submit many claims at a service centre (an officer; `do_create_claim` for one, by anyone):
    each is validated as one would be, gets its photos, its automatic checks and its audit trail
    (created, evidence.added, submitted, auto_checked). Returns the new claim ids, in order."""
    from everymetre.claims.evidence import ensure_thumbnail, sniff, store_blob

    if principal.role is not Role.OFFICER:
        raise Forbidden("Only an officer files claims in bulk (at a service centre); a claimant files one at a time.")
    need = {k: n for k, n in photos_required(session).items() if n > 0}
    have: dict[str, int] = defaultdict(int)
    for p in photos:
        have[p.kind] += 1
    if missing := [k for k, n in need.items() if have[k] < n]:
        raise ValidationFailed(f"Add the photos the law asks for before submitting: {', '.join(missing)}.", field="evidence")
    for f in filings:
        require(principal.actor, Action.CLAIM_FILE, Subject(frozenset({f.data.property.oblast})))
        if f.data.representative is not None:  # its power of attorney is a row of its own: do_create_claim files it
            raise ValidationFailed("A claim filed by a representative is filed on its own, not in bulk.",
                                   field="representative")
        if problem := damage_date_problem(f.data.damage_date, f.at.date()):
            raise ValidationFailed(problem, field="damage_date")
    stored = []
    for p in photos:
        sniffed = sniff(p.data)
        digest = store_blob(p.data)
        ensure_thumbnail(digest, sniffed.content_type)
        stored.append((p, sniffed, digest))
    if not filings:
        return []
    with atomic(session):
        dup_registry = _open_registry_numbers(session, [f.data.property.registry_number for f in filings])
        homes = [f.data.property.model_dump() for f in filings]
        props = insert_returning_ids(session, Property, homes)
        claim_rows = []
        for f, pid in zip(filings, props, strict=True):
            d = f.data
            claim_rows.append(dict(
                ref_year=f.at.year, kind=d.kind.value, state=State.AUTO_CHECKED.value, version=1, oblast=d.property.oblast,
                property_id=pid, submitted_by_id=principal.user_id, filed_as_representative=d.filed_as_representative,
                channel="cnap", damage_date=d.damage_date, description=d.description, priority_mask=d.priority_mask,
                is_redamage=False, created_at=f.at, submitted_at=f.at, state_changed_at=f.at,
                decision_due_on=after_move("draft", "submitted", f.at, f.at, None, 0, get_settings().decision_due_days)[0],
                decision_paused_days=0,
                review_flag="possible_duplicate" if d.property.registry_number in dup_registry else None))
        ids = insert_returning_ids(session, Claim, claim_rows)
        people = [dict(full_name=o.full_name, full_name_latin=o.full_name_latin or translit_uk(o.full_name),
                       birth_date=o.birth_date, rnokpp=o.rnokpp, phone=o.phone, email=o.email, iban=o.iban, created_at=f.at)
                  for f in filings for o in f.data.owners]
        person_ids = iter(insert_returning_ids(session, Person, people))
        owns, evidence, events, claim_ids, search = [], [], {}, {}, []
        seen_registry: set[str] = set()
        # the payloads every claim of the filing shares, with their canonical text made once
        added = _texts([{"after": {"sha256": digest, "content_type": s.content_type, "size": len(p.data), "kind": p.kind}}
                        for p, s, digest in stored])
        submitted, all_ok = _texts([{"from": "draft", "to": "submitted", "channel": "cnap"},
                                    {"from": "submitted", "to": "auto_checked",
                                     "checks": [{"check": "all", "ok": True, "detail": "no problems found"}]}])
        for f, cid, home in zip(filings, ids, homes, strict=True):
            d, at = f.data, f.at
            checks = []
            for o in d.owners:
                pid = next(person_ids)
                share = _share(o.share)
                owns.append(dict(claim_id=cid, person_id=pid, share_numerator=share.numerator,
                                 share_denominator=share.denominator, is_applicant=o.is_applicant))
                if o.is_applicant and _age(o.birth_date, at.date()) < 18:
                    checks.append({"check": "applicant_adult", "ok": False, "detail": "the applicant is under 18"})
                if rnokpp_birth_date(o.rnokpp) != o.birth_date:
                    checks.append({"check": "rnokpp_matches_birth_date", "ok": False,
                                   "detail": f"{o.full_name}: the taxpayer number encodes another birth date"})
            names = [n for o in d.owners for n in (o.full_name, o.full_name_latin or translit_uk(o.full_name))]
            search.append({"claim_id": cid, "oblast": d.property.oblast,
                           "keys": claim_keys(names, [o.rnokpp for o in d.owners], home)})
            reg = d.property.registry_number
            if reg and (reg in dup_registry or reg in seen_registry):
                checks.append({"check": "same_home_open_claim", "ok": False,
                               "detail": "another open claim names the same registry object number"})
            if reg:
                seen_registry.add(reg)
            body = d.model_dump(mode="json", exclude={"submit"})
            for owner in body["owners"]:
                owner["rnokpp"] = mask_rnokpp(owner["rnokpp"])
            trail = [NewEvent("claim.created", {"after": {"reference": claim_reference(at.year, cid), **body}}, principal.user_id, at)]
            for p, sniffed, digest in stored:
                evidence.append(dict(claim_id=cid, sha256=digest, content_type=sniffed.content_type, size_bytes=len(p.data),
                                     original_name=p.filename, kind=p.kind, taken_at=sniffed.taken_at,
                                     latitude=sniffed.latitude, longitude=sniffed.longitude,
                                     uploaded_by_id=principal.user_id, uploaded_at=at))
            trail += [NewEvent("evidence.added", payload, principal.user_id, at, text) for payload, text in added]
            trail.append(NewEvent("claim.transition", submitted[0], principal.user_id, at, submitted[1]))
            trail.append(NewEvent("claim.transition", {"from": "submitted", "to": "auto_checked", "checks": checks}, None, at)
                         if checks else NewEvent("claim.transition", all_ok[0], None, at, all_ok[1]))
            events[claim_chain(cid)], claim_ids[claim_chain(cid)] = trail, cid
        insert_rows(session, Ownership.__table__, owns)
        if evidence:
            insert_rows(session, Evidence.__table__, evidence)
        append_bulk(session, events, claim_ids, new_chains=True)
        index_new_claims(session, search)  # the keys `index_claims` would read back, from the rows in hand
    return list(ids)


def _texts(payloads: Sequence[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
    return [(p, canonical_json(p)) for p in payloads]


def insert_returning_ids(session: Session, model: Any, rows: Sequence[dict[str, Any]]) -> list[int]:
    """INSERT the rows set-based (store.bulk) with fresh ids; returns the ids in row order."""
    ids = new_ids(session, model.__table__, len(rows))
    insert_rows(session, model.__table__, [{"id": i, **r} for i, r in zip(ids, rows, strict=True)])
    return ids


def _open_registry_numbers(session: Session, numbers: Sequence[str | None]) -> set[str]:
    wanted = sorted({n for n in numbers if n})
    found: set[str] = set()
    for i in range(0, len(wanted), _CHUNK):
        found.update(n for n in session.execute(
            select(Property.registry_number).join(Claim, Claim.property_id == Property.id)
            .where(Property.registry_number.in_(wanted[i:i + _CHUNK]), Claim.state.in_(OPEN_STATES),
                   Claim.is_redamage.is_(False))).scalars() if n)
    return found


# ---------------------------------------------------------------------------------------------- moving


@dataclass(frozen=True, slots=True)
class BulkMove:
    """One claim's move, as `TransitionIn` says it for one claim (the claim by id)."""

    claim_id: int
    to: State
    expected_version: int
    reason: str = ""
    documents_requested: tuple[str, ...] = ()
    deadline: date | None = None
    inspection_date: date | None = None
    inspection_act: InspectionActIn | None = None
    decision: DecisionIn | None = None
    duplicate_of: int | None = None  # claim id
    at: datetime | None = None  # when (default now); the demo back-dates


# what each move writes on the claim besides state, version and state_changed_at
_COLUMNS: dict[State, tuple[str, ...]] = {
    State.ASSIGNED: ("assignee_id", "documents_requested", "suspension_deadline"),
    State.SUSPENDED: ("documents_requested", "suspension_deadline"),
    State.INSPECTION_SCHEDULED: ("inspection_date",),
    State.INSPECTED: ("inspector_id",),
    State.REMOTE_VERIFIED: ("inspector_id",),
    State.DUPLICATE: ("duplicate_of_id",),
    **dict.fromkeys(DECIDED, ("awarded_amount_kopiykas", "decided_by_id", "decided_at")),
}
_READ = (Claim.id, Claim.ref_year, Claim.kind, Claim.state, Claim.version, Claim.oblast, Claim.inspector_id,
         Claim.decided_by_id, Claim.decided_at, Claim.channel, Claim.submitted_by_id, Claim.assessed_amount_kopiykas,
         Claim.awarded_amount_kopiykas, Claim.assessment, Claim.damage_date, Claim.suspension_deadline,
         Claim.documents_requested, Claim.submitted_at, Claim.state_changed_at, Claim.decision_paused_days)


def do_move_bulk(session: Session, principal: Principal, moves: Sequence[BulkMove], propose: bool = False) -> int:
    """Make many staff moves in one transaction: every move authorised by the lifecycle for this principal
    as `do_transition` would, the claims written with one UPDATE per kind of move (each checking the version
    its move expected), inspection acts and decisions inserted, decisions posted to the ledger, the audit
    events appended per claim. Returns the number of claims moved.

    An award that needs a second commission member (claims.awards: above the computed amount, the tier cap or
    the configured amount) refuses the whole call, unless `propose`: then, as `do_transition` does for one
    claim, its decision is recorded pending and the claim stays where it is (`claim.award_proposed`) until a
    second member approves it (`claims.bulk_awards.do_review_awards_bulk`, or `do_review_award` for one). A claim
    whose award already waits for a second member cannot be decided again (`AWARD_PENDING`)."""
    from everymetre.payments.ledger import committed_amounts, decision_posts, post, post_certificates
    from everymetre.payments.states import COMMITTED_CLAIMS, DESTROYED

    if principal.role in (Role.CLAIMANT, Role.SYSTEM) or principal.user_id is None:
        raise Forbidden("Bulk moves are made by a staff member; claimants move their own claims one at a time.")
    if not moves:
        return 0
    now = utcnow()
    pol = policy()
    uid = principal.user_id
    with atomic(session):
        current = _read(session, [m.claim_id for m in moves])
        updates: dict[State, list[dict[str, Any]]] = defaultdict(list)
        acts: list[dict[str, Any]] = []
        decisions: list[dict[str, Any]] = []
        events: dict[str, list[NewEvent]] = {}
        claim_ids: dict[str, int | None] = {}
        decided: list[tuple[int, int, int]] = []
        homes: list[int] = []  # destroyed-housing decisions: their certificates
        deciding = [m.claim_id for m in moves if m.to in DECIDED and m.claim_id in current]
        rules_of = _decision_records(session, [current[cid] for cid in deciding])
        if deciding and (waiting := pending_awards(session, deciding)):
            cid = min(waiting)
            ref = claim_reference(current[cid].ref_year, cid)
            raise Conflict(f"An award on claim {ref} waits for a second commission member: approve or refuse it first.",
                           ErrorCode.AWARD_PENDING, reference=ref)
        ruleset = None
        if deciding:
            from everymetre.claims.assessment import current_ruleset

            ruleset = current_ruleset()
        proposed: list[dict[str, Any]] = []
        originals: set[int] | None = None
        for m in moves:
            c = current.get(m.claim_id)
            if c is None:
                raise ValidationFailed(f"No claim with id {m.claim_id}.", field="claim_id")
            ref = claim_reference(c.ref_year, c.id)
            if c.version != m.expected_version:
                raise StaleVersion(f"Claim {ref} is at version {c.version}, not {m.expected_version}: someone changed it.",
                                   current_version=c.version)
            at = m.at or now
            facts = ClaimFacts(state=State(c.state), oblast=c.oblast, inspector_id=c.inspector_id,
                               decided_by_id=c.decided_by_id, decided_at=c.decided_at,
                               filed_by_id=c.submitted_by_id if c.channel == "cnap" else None)
            request = MoveRequest(target=m.to, suspension_documents=m.documents_requested, suspension_deadline=m.deadline,
                                  has_inspection_act=m.inspection_act is not None, has_decision=m.decision is not None,
                                  appeal_grounds=m.reason, duplicate_of=str(m.duplicate_of) if m.duplicate_of else None,
                                  inspection_date=m.inspection_date)
            move = authorise(principal.actor, facts, request, at, pol)
            due, paused = after_move(c.state, m.to.value, at, c.submitted_at, c.state_changed_at,
                                     c.decision_paused_days or 0, get_settings().decision_due_days)
            row: dict[str, Any] = {"id": c.id, "version": c.version, "state": m.to.value, "state_changed_at": at,
                                   "decision_due_on": due, "decision_paused_days": paused}
            detail: dict[str, Any] = {}
            if m.to is State.ASSIGNED:
                if move.source is State.AUTO_CHECKED:
                    row.update(assignee_id=uid, documents_requested=c.documents_requested, suspension_deadline=c.suspension_deadline)
                    detail = {"assignee_id": uid}
                else:
                    row.update(assignee_id=uid, documents_requested=None, suspension_deadline=None)
                    detail = {"resumed_after": {"documents_requested": c.documents_requested, "deadline": c.suspension_deadline}}
            elif m.to is State.SUSPENDED:
                docs = [d for d in m.documents_requested if d.strip()]
                deadline = m.deadline or at.date() + timedelta(days=pol.suspension_default_days)
                row.update(documents_requested=docs, suspension_deadline=deadline)
                detail = {"documents_requested": docs, "deadline": deadline}
            elif m.to is State.INSPECTION_SCHEDULED:
                row["inspection_date"] = m.inspection_date
                detail = {"inspection_date": m.inspection_date}
            elif m.to in (State.INSPECTED, State.REMOTE_VERIFIED):
                act = cast(InspectionActIn, m.inspection_act)
                dumped = act.model_dump(mode="json")  # the event's and the row's works, dumped once
                acts.append(_act_row(c, uid, act, m.to, at, dumped["works"]))
                row["inspector_id"] = uid
                detail = {"inspection_act": dumped, "works_total_kopiykas": act.works_total_kopiykas}
            elif m.to is State.DUPLICATE:
                if originals is None:  # the claims named as originals, read once for the whole call
                    originals = _exists(session, [x.duplicate_of for x in moves if x.duplicate_of])
                if m.duplicate_of == c.id or m.duplicate_of not in originals:
                    raise ValidationFailed("Give the claim this one duplicates (another claim).", field="duplicate_of")
                row["duplicate_of_id"] = m.duplicate_of
                detail = {"duplicate_of": m.duplicate_of}
            elif m.to in DECIDED:
                detail, amount, rules, because = _decide(c, m, rules_of, at, ruleset, propose)
                decision_row = dict(claim_id=c.id, stage=detail["stage"], outcome=m.to.value, amount_kopiykas=amount,
                                    reasons=cast(DecisionIn, m.decision).reasons, decided_by_id=uid, decided_at=at,
                                    approval="pending" if because else "final",
                                    approval_needed_because=list(because) if because else None, **rules)
                decisions.append(decision_row)
                if because:  # waits for a second member: the claim stays, its version and time move
                    proposed.append({"id": c.id, "version": c.version, "state_changed_at": at})
                    events[claim_chain(c.id)] = [NewEvent("claim.award_proposed", {
                        "from": c.state, "to": m.to.value, "reason": m.reason, "decision": detail}, uid, at)]
                    claim_ids[claim_chain(c.id)] = c.id
                    continue
                row.update(awarded_amount_kopiykas=amount, decided_by_id=uid, decided_at=at)
                detail = {"decision": detail}
                if c.kind != DESTROYED:
                    decided.append((c.id, c.ref_year, (amount or 0) if m.to.value in COMMITTED_CLAIMS else 0))
                else:
                    homes.append(c.id)
            updates[m.to].append(row)
            events[claim_chain(c.id)] = [NewEvent("claim.transition", {"from": c.state, "to": m.to.value, "reason": m.reason,
                                                                       **detail}, uid, at)]
            claim_ids[claim_chain(c.id)] = c.id
        if len(events) != len(moves):
            raise ValidationFailed("A claim is named twice in one bulk move.", field="claim_id")
        if proposed and update_rows(session, Claim.__table__, ["id", "version"], proposed,
                                    fixed="version = {t}version + 1") != len(proposed):
            raise StaleVersion("Claims changed while being moved; nothing was saved. Reload and try again.")
        for target, rows in updates.items():
            cols = ("id", "version", "state", "state_changed_at", "decision_due_on", "decision_paused_days",
                    *_COLUMNS.get(target, ()))
            done = update_rows(session, Claim.__table__, ["id", "version"], [{k: r.get(k) for k in cols} for r in rows],
                               fixed="version = {t}version + 1")
            if done != len(rows):
                raise StaleVersion("Claims changed while being moved; nothing was saved. Reload and try again.")
        if acts:
            insert_rows(session, InspectionAct.__table__, acts)
        if decisions:
            # one INSERT per set of columns (pending decisions carry why they wait; the rest leave it empty)
            latest = dict(zip([d["claim_id"] for d in decisions], insert_returning_ids(session, Decision, decisions), strict=True))
            committed = committed_amounts(session, [d[0] for d in decided]) if decided else {}
            post(session, decision_posts([(cid, y, a, latest[cid]) for cid, y, a in decided], committed), uid)
        if homes:  # as each decision's hook does (ledger.post_decision), for all of them at once
            post_certificates(session, homes, uid)
        append_bulk(session, events, claim_ids)
    return len(moves)


def _read(session: Session, ids: Sequence[int]) -> dict[int, Any]:
    out: dict[int, Any] = {}
    wanted = sorted(set(ids))
    for i in range(0, len(wanted), _CHUNK):
        out.update({r.id: r for r in session.execute(
            select(*_READ, Property.kind.label("home_kind")).join(Property, Property.id == Claim.property_id)
            .where(Claim.id.in_(wanted[i:i + _CHUNK])))})
    return out


def _exists(session: Session, ids: Sequence[int | None]) -> set[int]:
    wanted = sorted({i for i in ids if i})
    found: set[int] = set()
    for i in range(0, len(wanted), _CHUNK):
        found.update(session.execute(select(Claim.id).where(Claim.id.in_(wanted[i:i + _CHUNK]))).scalars())
    return found


def _act_row(c: Any, inspector_id: int, act: InspectionActIn, target: State, at: datetime,
             works: list[dict[str, Any]]) -> dict[str, Any]:
    remote = act.method.value != "on_site"
    if (target is State.REMOTE_VERIFIED) != remote:
        raise ValidationFailed("An on-site inspection moves the claim to 'inspected'; a remote one to 'remote_verified'.",
                               field="inspection_act.method")
    if act.inspected_on > at.date():
        raise ValidationFailed("The inspection date cannot be in the future.", field="inspection_act.inspected_on")
    if act.inspected_on < c.damage_date:
        raise ValidationFailed("The inspection cannot be before the damage.", field="inspection_act.inspected_on")
    return dict(claim_id=c.id, inspector_id=inspector_id, method=act.method.value, inspected_on=act.inspected_on,
                damage_category=act.damage_category.value, damaged_elements=list(act.damaged_elements),
                works=[{**d, "total_kopiykas": w.total_kopiykas} for w, d in zip(act.works, works, strict=True)],
                works_total_kopiykas=act.works_total_kopiykas, technical_report_required=act.technical_report_required,
                notes=act.notes, created_at=at)


def _decide(c: Any, m: BulkMove, rules_of: dict[int, dict[str, Any]], at: datetime, ruleset: Any,
            propose: bool) -> tuple[dict[str, Any], int | None, dict[str, Any], tuple[str, ...]]:
    """As `claims.actions._decide`: the amount, the rules' record the decision keeps, and why the award needs a
    second commission member (empty: it stands)."""
    from everymetre.claims.awards import award_check

    decision = cast(DecisionIn, m.decision)
    stage = "appeal" if m.to in (State.UPHELD, State.REVISED) else "first"
    ref = claim_reference(c.ref_year, c.id)
    if m.to is State.REJECTED:
        amount = None
    elif m.to is State.UPHELD:
        amount = c.awarded_amount_kopiykas
    else:
        amount = decision.amount_kopiykas if decision.amount_kopiykas is not None else c.assessed_amount_kopiykas
        if amount is None:
            raise ValidationFailed(f"Give the amount awarded for {ref}: it has no assessed amount.",
                                   field="decision.amount_kopiykas")
    computed = c.assessed_amount_kopiykas
    because: tuple[str, ...] = ()
    if amount is not None and m.to is not State.UPHELD:
        # the award controls (claims.awards), as for one claim: another amount than the rules' needs its reason;
        # one above the computed amount, the tier cap or the configured amount needs a second member
        award = award_check(c.kind, computed, c.home_kind, amount, at.date(), ruleset)
        if computed is not None and amount != computed and not (decision.amount_reason or "").strip():
            raise ValidationFailed(f"The award for {ref} differs from the computed amount: "
                                   "give the reason for the amount.", field="decision.amount_reason",
                                   code=ErrorCode.AWARD_REASON_NEEDED, amount=amount, computed=computed)
        because = award.second_approval_because
        if because and not propose:
            raise Conflict(f"The award for {ref} needs a second commission member's approval: propose it "
                           "(then a second member approves), or decide it on its own.", ErrorCode.AWARD_PENDING,
                           reference=ref, second_approval_because=list(because))
    rules = {**rules_of.get(c.id, {}), "computed_amount_kopiykas": computed,
             "amount_reason": (decision.amount_reason or None) if amount is not None else None}
    summary = {"stage": stage, "outcome": m.to.value, "amount_kopiykas": amount, "reasons": decision.reasons,
               "computed_amount_kopiykas": computed, "amount_reason": decision.amount_reason or None,
               "ruleset_hash": rules.get("ruleset_hash")}
    if because:
        summary.update(award.as_dict(), approval="pending")
    return summary, amount, rules, because


def pending_awards(session: Session, claim_ids: Sequence[int]) -> set[int]:
    """Which of these claims have an award waiting for a second commission member."""
    wanted = sorted(set(claim_ids))
    found: set[int] = set()
    for i in range(0, len(wanted), _CHUNK):
        found.update(session.execute(select(Decision.claim_id).where(
            Decision.claim_id.in_(wanted[i:i + _CHUNK]), Decision.approval == "pending")).scalars())
    return found


def _decision_records(session: Session, claims: Sequence[Any]) -> dict[int, dict[str, Any]]:
    """claim id -> what its decision stores from the rules (hash, inputs, result), as `assessment.decision_record`
    gives for one claim: a bulk assessment's record is completed by the one-claim rules on the same facts
    (with the co-owners), and must give the same amount."""
    from everymetre.claims.assessment import ruleset_by_hash
    from everymetre.rules import DECISION_FORMAT
    from everymetre.rules import ClaimFacts as RuleFacts
    from everymetre.rules import assess as rules_assess
    from everymetre.rules import decision_record as rules_record

    bulk = [c for c in claims if c.assessment and c.assessment.get("format") != DECISION_FORMAT]
    owners: dict[int, list[tuple[str, Fraction]]] = defaultdict(list)
    ids = sorted(c.id for c in bulk)
    for i in range(0, len(ids), _CHUNK):
        for cid, pid, num, den in session.execute(
                select(Ownership.claim_id, Ownership.person_id, Ownership.share_numerator, Ownership.share_denominator)
                .where(Ownership.claim_id.in_(ids[i:i + _CHUNK])).order_by(Ownership.claim_id, Ownership.id)):
            owners[cid].append((str(pid), Fraction(num, den)))
    out: dict[int, dict[str, Any]] = {}
    rulesets: dict[str, Any] = {}
    for c in claims:
        record = c.assessment
        if not record:
            continue
        if record.get("format") != DECISION_FORMAT:
            digest = record["ruleset_hash"]
            rs = rulesets.get(digest) or rulesets.setdefault(digest, ruleset_by_hash(session, digest))
            facts = RuleFacts.from_dict({**record["facts"], "co_owners": owners[c.id]})
            result = rules_assess(facts, rs)
            if (result.amount_kopiykas if result.eligible else 0) != record["result"]["amount_kopiykas"]:
                raise ValidationFailed(f"Claim {claim_reference(c.ref_year, c.id)} changed since its bulk assessment; "
                                       "assess it again.", field="assessment")
            record = rules_record(facts, result)
        out[c.id] = {"ruleset_hash": record["ruleset_hash"], "rule_inputs": record["facts"], "rule_result": record["assessment"]}
    return out
