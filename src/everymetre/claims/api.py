"""The claims API under /api/v1: file, read, move, assessment, audit trail, evidence. Thin: parse, call one
action, shape the answer."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from sqlalchemy import select

from everymetre.accounts.actions import Principal
from everymetre.api.deps import AuthDep, IdPath, SettingsDep, client_address
from everymetre.api.problems import problem_responses
from everymetre.claims import access, awards, identity, payout_accounts, queue, representatives
from everymetre.claims import actions as claims_service
from everymetre.claims import evidence as evidence_service
from everymetre.claims.lifecycle import ClaimKind, State
from everymetre.claims.models import Claim, Evidence
from everymetre.claims.schemas import (
    AttorneyCheckIn,
    AwardReviewIn,
    ClaimCreate,
    ClaimPage,
    ClaimPublic,
    ClaimSummary,
    EventPublic,
    EvidencePublic,
    IdentityIn,
    IdentityPublic,
    MovePublic,
    OwnerPublic,
    PayoutAccountIn,
    PayoutAccountPublic,
    PropertyPublic,
    RepresentativeIn,
    TransitionIn,
)
from everymetre.claims.trail import summary_en, visible_trail
from everymetre.claims.values import PriorityGroup
from everymetre.kernel.errors import NotFound

router = APIRouter(prefix="/api/v1")
PROBLEM_RESPONSES = problem_responses({404: "No such claim that you can see", 409: "Stale version or move not allowed now"})


def summary(claim: Claim) -> ClaimSummary:
    return ClaimSummary(
        reference=claim.reference, kind=claim.kind, state=claim.state, version=claim.version, oblast=claim.oblast,
        hromada=claim.home.hromada, damage_date=claim.damage_date, priority_groups=PriorityGroup.unmask(claim.priority_mask),
        submitted_at=claim.submitted_at, state_changed_at=claim.state_changed_at,
        suspension_deadline=claim.suspension_deadline, review_flag=claim.review_flag,
    )


def public(session, principal: Principal, claim: Claim, just_filed: bool = False) -> ClaimPublic:
    """The claim as the API shows it; `just_filed` for a claim this request created (no award can wait on it)."""
    p = claim.home
    previous = session.get(Claim, claim.previous_claim_id) if claim.previous_claim_id else None
    return ClaimPublic(
        **summary(claim).model_dump(),
        description=claim.description,
        property=PropertyPublic(kind=p.kind, oblast=p.oblast, hromada=p.hromada, street=p.street, building=p.building,
                                apartment=p.apartment, registry_number=p.registry_number, total_area_m2=p.total_area_m2,
                                year_built=p.year_built, rooms=p.rooms, latitude=p.latitude, longitude=p.longitude),
        owners=[OwnerPublic(full_name=o.person.full_name, birth_date=o.person.birth_date,
                            rnokpp_masked=claims_service.mask_rnokpp(o.person.rnokpp), share=str(o.share),
                            is_applicant=o.is_applicant) for o in claim.owners],
        filed_as_representative=claim.filed_as_representative, channel=claim.channel,
        representative=representatives.public_view(claim), is_redamage=claim.is_redamage,
        previous_claim=previous.reference if previous else None, documents_requested=claim.documents_requested,
        assessed_amount_kopiykas=claim.assessed_amount_kopiykas, awarded_amount_kopiykas=claim.awarded_amount_kopiykas,
        available_moves=[MovePublic(to=m.target.value, label_en=m.label_en, label_uk=m.label_uk,
                                    needs=sorted(n.value for n in m.needs))
                         for m in access.moves_for(principal, claim)],
        pending_award=None if just_filed else awards.pending_award_view(session, principal, claim),
    )


@router.post("/claims", status_code=201, response_model=ClaimPublic, tags=["claims"], responses=PROBLEM_RESPONSES)
def create_claim(body: ClaimCreate, auth: AuthDep, response: Response) -> ClaimPublic:
    """File a claim for a damaged or destroyed home. With `submit: true` it is submitted and checked at once."""
    claim = claims_service.do_create_claim(auth.session, auth.principal, body)
    response.headers["Location"] = f"/api/v1/claims/{claim.reference}"
    return public(auth.session, auth.principal, claim, just_filed=True)


@router.get("/claims", response_model=ClaimPage, tags=["claims"], responses=PROBLEM_RESPONSES)
def list_claims(
    auth: AuthDep,
    state: Annotated[list[State], Query(description="One or more states")] = [],  # noqa: B006
    oblast: Annotated[list[str], Query(description="Oblast codes")] = [],  # noqa: B006
    kind: Annotated[list[ClaimKind], Query()] = [],  # noqa: B006
    priority: Annotated[list[Literal["combatant", "disability", "large_family"]], Query(description="Priority groups")] = [],  # noqa: B006
    min_days_waiting: Annotated[int | None, Query(ge=0, le=3650, description="In the current state at least this many days")] = None,
    deadline_within_days: Annotated[int | None, Query(ge=0, le=3650)] = None,
    review_flagged: bool | None = None,
    assigned_to_me: bool = False,
    overdue: Annotated[bool, Query(description="Only claims past their decision deadline (the clock pauses while a "
                                               "claim is suspended and stops at the decision)")] = False,
    q: Annotated[str, Query(max_length=200, description="Search: reference, RNOKPP, owner's name (Cyrillic or Latin, "
                                                        "any spelling), address or registry number")] = "",
    cursor: Annotated[str | None, Query(max_length=100, json_schema_extra={"pattern": access.CURSOR_PATTERN},
                                        description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ClaimPage:
    """Claims you may see (staff: your oblasts; claimants: your own), oldest first, a page at a time."""
    from everymetre.kernel.errors import ValidationFailed

    try:
        PriorityGroup.mask(list(priority))
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="priority") from None
    from everymetre.claims.search import check

    check(q)
    flt = access.QueueFilter(states=[s.value for s in state], oblasts=oblast, kinds=[k.value for k in kind],
                                     priority=list(priority), min_days_waiting=min_days_waiting,
                                     deadline_within_days=deadline_within_days, review_flagged=review_flagged,
                                     assigned_to_me=assigned_to_me, overdue=overdue, q=q)
    rows, next_cursor = queue.list_claims(auth.session, auth.principal, flt, cursor, limit)
    return ClaimPage(items=[summary(c) for c in rows], next_cursor=next_cursor)


@router.get("/claims/{reference}", response_model=ClaimPublic, tags=["claims"], responses=PROBLEM_RESPONSES)
def get_claim(reference: str, auth: AuthDep) -> ClaimPublic:
    return public(auth.session, auth.principal, access.get_claim(auth.session, auth.principal, reference))


@router.post("/claims/{reference}/transitions", response_model=ClaimPublic, tags=["claims"], responses=PROBLEM_RESPONSES)
def transition(reference: str, body: TransitionIn, auth: AuthDep) -> ClaimPublic:
    """Move the claim to another state. `expected_version` must be the version you read (else 409).
    Suspension needs `documents_requested` (deadline defaults to 30 days); inspected / remote_verified need
    `inspection_act`; approved / rejected / upheld / revised need `decision`; appealed needs `reason`."""
    claim = claims_service.do_transition(auth.session, auth.principal, reference, body)
    return public(auth.session, auth.principal, claim)


@router.get("/claims/{reference}/payout-account", response_model=PayoutAccountPublic, tags=["claims", "payments"],
            responses=PROBLEM_RESPONSES)
def get_payout_account(reference: str, auth: AuthDep) -> PayoutAccountPublic:
    """The accounts the claim's money is paid to, masked (`UA21 **** **** 1234`), whose is paid, and
    `needs_account`: `returned` when the bank returned a payment (give a new account), `missing` when none was
    given; the participating banks to choose from."""
    claim = access.get_claim(auth.session, auth.principal, reference)
    return PayoutAccountPublic(**payout_accounts.account_status(auth.session, claim))


@router.put("/claims/{reference}/payout-account", response_model=PayoutAccountPublic, tags=["claims", "payments"],
            responses=PROBLEM_RESPONSES)
def put_payout_account(reference: str, body: PayoutAccountIn, auth: AuthDep) -> PayoutAccountPublic:
    """Give or correct the payout account (the claimant, or an officer of the claim's oblast): a Ukrainian IBAN at
    a participating bank; `bank_code`, if given, must be the IBAN's. The old account is kept (replaced) and the
    change audited. After a returned payment, the next payment batch pays the new account."""
    payout_accounts.do_set_payout_account(auth.session, auth.principal, reference, body.iban, body.bank_code,
                                          body.owner_rnokpp, body.reason)
    claim = access.get_claim(auth.session, auth.principal, reference)
    return PayoutAccountPublic(**payout_accounts.account_status(auth.session, claim))


@router.post("/claims/{reference}/award-approval", response_model=ClaimPublic, tags=["claims"], responses=PROBLEM_RESPONSES)
def review_award(reference: str, body: AwardReviewIn, auth: AuthDep) -> ClaimPublic:
    """A second commission member approves (`approve: true`: the claim moves to the decision with this award) or
    refuses (the claim is decided again) an award waiting for them (`pending_award` on the claim). Not the member
    who made it, nor the claim's inspector (409 with the segregation code)."""
    claim = awards.do_review_award(auth.session, auth.principal, reference, body.approve, body.reason)
    return public(auth.session, auth.principal, claim)


@router.post("/claims/{reference}/power-of-attorney", response_model=ClaimPublic, tags=["claims"],
             responses=PROBLEM_RESPONSES)
def check_power_of_attorney(reference: str, body: AttorneyCheckIn, auth: AuthDep) -> ClaimPublic:
    """An officer of the claim's oblast (not the one who filed it) accepts or refuses (`reason` required) the
    power of attorney a representative filed the claim with. A document dated in the future or expired cannot be
    accepted (422 `power_of_attorney_not_valid`). Until accepted, the claim cannot be verified further (409
    `power_of_attorney_unchecked` on the move)."""
    representatives.do_check_power_of_attorney(auth.session, auth.principal, reference, body)
    return public(auth.session, auth.principal, access.get_claim(auth.session, auth.principal, reference))


@router.put("/claims/{reference}/representative", response_model=ClaimPublic, tags=["claims"],
            responses=PROBLEM_RESPONSES)
def replace_power_of_attorney(reference: str, body: RepresentativeIn, auth: AuthDep) -> ClaimPublic:
    """The representative who filed the claim (their own details), or a verified owner, gives a new power of
    attorney in place of one an officer refused or one that has expired. It is unchecked again: an officer checks
    it before the claim is verified further; the old document stays in the claim's trail. An accepted or unchecked
    document that is still valid is not replaced (409 `power_of_attorney_not_replaceable`); a document dated in the
    future or expired is refused (422); staff 403, others' claims 404."""
    representatives.do_replace_power_of_attorney(auth.session, auth.principal, reference, body)
    return public(auth.session, auth.principal, access.get_claim(auth.session, auth.principal, reference))


@router.get("/me/identity", response_model=IdentityPublic, tags=["claims", "auth"], responses=PROBLEM_RESPONSES)
def get_identity(auth: AuthDep, settings: SettingsDep) -> IdentityPublic:
    """Whether your (claimant) account is verified as a person, and which second factor the programme uses."""
    st = identity.status(auth.session, settings, auth.principal)
    return IdentityPublic(verified=st.verified, rnokpp_masked=st.rnokpp_masked, through=st.through,
                          verified_at=st.at, second_factor=st.factor)


@router.post("/me/identity", response_model=IdentityPublic, tags=["claims", "auth"],
             responses={**PROBLEM_RESPONSES, 429: {"description": "Too many failed attempts: wait as long as "
                                                                  "Retry-After says"}})
def verify_identity(body: IdentityIn, auth: AuthDep, settings: SettingsDep, request: Request) -> IdentityPublic:
    """Verify your claimant account as the person with this RNOKPP and date of birth (when the programme's second
    factor is `birth_date`; with `oidc` it happens at the identity provider's sign-in). Then `GET /claims` lists
    every claim naming you, whoever filed it. An unknown number and a wrong date get the same 422
    (`identity_not_matched`) and count like failed sign-ins; a person verified on another account: 409."""
    identity.do_verify_identity(auth.session, settings, auth.principal, body.rnokpp, body.birth_date,
                                client_address(request))
    return get_identity(auth, settings)


@router.get("/claims/{reference}/assessment", tags=["claims"], responses=PROBLEM_RESPONSES)
def claim_assessment(reference: str, auth: AuthDep) -> dict:
    """The amount with its explanation: every step with its formula, inputs, the parameter value used, its
    effective date and legal reference (in Ukrainian and English), and the rule set's hash."""
    from everymetre.claims.assessment import explain

    claim = access.get_claim(auth.session, auth.principal, reference)
    record = explain(auth.session, claim)
    if record is None:
        raise NotFound(f"Claim {claim.reference} has not been assessed yet.")
    return record


@router.get("/claims/{reference}/events", response_model=list[EventPublic], tags=["audit"], responses=PROBLEM_RESPONSES)
def claim_events(reference: str, auth: AuthDep) -> list[EventPublic]:
    """The claim's audit trail: everything for staff; for an applicant, their own trail in words with the
    staff-only facts (automatic-check results, linkage flags, staff ids) left out."""
    claim = access.get_claim(auth.session, auth.principal, reference)
    return [EventPublic(seq=e.seq, at=e.at, actor_id=e.actor_id, actor=e.actor, action=e.action, summary=summary_en(e),
                        payload=e.payload, hash=e.hash) for e in visible_trail(auth.session, claim, auth.principal)]


@router.post("/claims/{reference}/evidence", status_code=201, response_model=EvidencePublic, tags=["evidence"],
             responses={**PROBLEM_RESPONSES, 413: {"description": "File too large"}, 415: {"description": "Not a photo or PDF"}})
def upload_evidence(reference: str, auth: AuthDep,
                    file: Annotated[UploadFile, File(description="JPEG, PNG, WebP photo or PDF, up to 20 MB (not empty)",
                                                     json_schema_extra={"minLength": 1})],
                    kind: Annotated[Literal["photo_closeup", "photo_wide", "document", "photo", "power_of_attorney"],
                                    Form(description="What the file shows")] = "photo") -> EvidencePublic:
    data = file.file.read(evidence_service.get_settings().evidence_max_bytes + 1)
    ev = evidence_service.do_add_evidence(auth.session, auth.principal, reference, file.filename or "upload", data, kind)
    return EvidencePublic.model_validate(ev, from_attributes=True)


@router.get("/claims/{reference}/evidence", response_model=list[EvidencePublic], tags=["evidence"], responses=PROBLEM_RESPONSES)
def list_evidence(reference: str, auth: AuthDep) -> list[EvidencePublic]:
    claim = access.get_claim(auth.session, auth.principal, reference)
    rows = auth.session.scalars(select(Evidence).where(Evidence.claim_id == claim.id).order_by(Evidence.id))
    return [EvidencePublic.model_validate(e, from_attributes=True) for e in rows]


@router.get("/claims/{reference}/evidence/{evidence_id}", tags=["evidence"], responses=PROBLEM_RESPONSES,
            response_class=Response)
def download_evidence(reference: str, evidence_id: IdPath, auth: AuthDep) -> Response:
    """The file as uploaded, with the type found from its content, in a sandbox: never run by a browser."""
    return evidence_file_response(evidence_service.get_evidence(auth.session, auth.principal, reference, evidence_id))


def evidence_file_response(ev: Evidence) -> Response:
    """Serve an evidence file (API and pages alike): its sniffed type, sandboxed, images inline, documents saved."""
    disposition = "inline" if ev.content_type.startswith("image/") else "attachment"
    return Response(evidence_service.read_blob(ev), media_type=ev.content_type, headers={
        "Content-Disposition": f'{disposition}; filename="evidence-{ev.id}"',
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Cache-Control": "private, max-age=3600",
    })
