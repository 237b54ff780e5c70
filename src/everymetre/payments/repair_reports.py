"""The owner's repair reports (Resolution 381) and the officer's check of them.

* Tier B files an **interim report** (photos of the works and receipts) while spending; when an officer accepts
  it the second payment (30 %) is due and the next payment batch carries it (`payments.tranches`). Returned with
  a reason, the payout goes back to spending and the owner files it again.
* Both tiers file a **final report** (up to ``Settings.repair_report_max_files`` photos, 10) no later than 15
  working days after the spending window's end (tier B once the second payment has landed). Accepted, the payout
  is verified and closed in one step and any unspent balance returns to the budget (ledger); returned with a
  reason, the owner files it again before the same deadline. A deadline missed is `payouts.do_sweep`'s.

Files go through the evidence checks of `claims.evidence` (type by content, size, decompression bombs, EXIF,
previews) and are stored as the claim's evidence (kinds ``repair_photo``, ``repair_receipt``). Every step is a
move of `payments.states.PAYOUT`, audited on the chain ``payout:ID``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.accounts.permissions import Action, require
from everymetre.claims.access import get_claim
from everymetre.claims.evidence import ensure_thumbnail, sniff, store_blob
from everymetre.claims.models import Evidence
from everymetre.config import get_settings
from everymetre.kernel.errors import (
    ErrorCode,
    GuardFailed,
    InvalidTransition,
    NotFound,
    PayloadTooLarge,
    ValidationFailed,
)
from everymetre.payments.common import claim_subject, today_utc
from everymetre.payments.ledger import post
from everymetre.payments.models import RepairPayout, RepairReport
from everymetre.payments.payouts import final_report_deadline, payout_event, payout_for, return_balance
from everymetre.payments.states import PAYOUT, Needs, PayoutState
from everymetre.store.tx import atomic
from everymetre.store.types import utcnow

PO = PayoutState
KINDS = ("interim", "final")
PDF = "application/pdf"


@dataclass(frozen=True, slots=True)
class Upload:
    filename: str
    data: bytes


def _checked(kind: str, files: list[Upload]) -> list[tuple[Upload, Any]]:
    """Each file sniffed by its bytes (claims.evidence.sniff): photos (and, in an interim report, PDF receipts)."""
    s = get_settings()
    if not files:
        raise ValidationFailed("Attach at least one photo of the works.", field="files")
    if len(files) > s.repair_report_max_files:
        raise ValidationFailed(f"A report holds at most {s.repair_report_max_files} files; {len(files)} were sent.",
                               field="files", limit=s.repair_report_max_files)
    out = []
    for f in files:
        if len(f.data) > s.evidence_max_bytes:
            raise PayloadTooLarge(f"{f.filename}: {len(f.data) / 1_048_576:.1f} MB; the limit is {s.evidence_max_bytes // 1_048_576} MB.")
        if not f.data:
            raise ValidationFailed(f"{f.filename}: the file is empty.", field="files")
        sniffed = sniff(f.data)
        if sniffed.content_type == PDF and kind == "final":
            raise ValidationFailed(f"{f.filename}: a final report holds photos only.", field="files")
        out.append((f, sniffed))
    if all(sn.content_type == PDF for _, sn in out):
        raise ValidationFailed("Attach at least one photo of the works (receipts alone are not enough).", field="files")
    return out


def _target(payout: RepairPayout, kind: str, reference: str) -> PO:
    if kind == "interim":
        move = PAYOUT.move(payout.state, PO.INTERIM_REPORTED)
        if Needs.TIER_B in move.needs and payout.tier != "B":
            raise InvalidTransition(f"Claim {reference} is tier A: it has no interim report; file the final report.",
                                    machine="payout", state=payout.state, target=PO.INTERIM_REPORTED.value, allowed=[])
        if payout.state == PO.INTERIM_REPORTED:
            raise InvalidTransition("The interim report is already with the officer.", machine="payout", state=payout.state,
                                    target=PO.INTERIM_REPORTED.value, allowed=list(PAYOUT.sources(PO.INTERIM_REPORTED)))
        return PO.INTERIM_REPORTED
    move = PAYOUT.move(payout.state, PO.FINAL_REPORTED)
    if Needs.TIER_A in move.needs and payout.tier == "B":
        raise InvalidTransition(f"The payout is {payout.state}; a final report cannot be filed now (tier B: the interim "
                                "report is accepted first).", machine="payout", state=payout.state,
                                target=PO.FINAL_REPORTED.value, allowed=[PO.INTERIM_ACCEPTED.value])
    if Needs.SECOND_PAID in move.needs and payout.second_paid_on is None:
        raise GuardFailed(f"The second payment for claim {reference} has not reached the account yet; file the final "
                          "report once it has.", ErrorCode.SECOND_PAYMENT_PENDING, reference=reference)
    return PO.FINAL_REPORTED


def do_file_repair_report(session: Session, principal: Principal, reference: str, kind: str, files: list[Upload],
                          note: str = "", redamaged: bool = False, on: date | None = None) -> RepairReport:
    """The owner (or an officer for them) files the interim (tier B) or final repair report with its files."""
    if kind not in KINDS:
        raise ValidationFailed("kind must be interim or final", field="kind")
    if len(note) > 2000:
        raise ValidationFailed("The note is longer than 2,000 characters.", field="note")
    on = on or today_utc()
    claim = get_claim(session, principal, reference)  # who may file is settled before a byte of the files is read
    require(principal.actor, Action.PAYOUT_REPORT, claim_subject(principal, claim))
    checked = _checked(kind, files)
    with atomic(session):
        payout, claim = payout_for(session, principal, reference, Action.PAYOUT_REPORT)
        target = _target(payout, kind, claim.reference)
        last_day = payout.window_end if kind == "interim" else final_report_deadline(payout)
        if on > last_day:
            raise GuardFailed(f"The {kind} report was due by {last_day.isoformat()}.", ErrorCode.DEADLINE_PASSED,
                              deadline="spending_window" if kind == "interim" else "final_report", last_day=last_day.isoformat())
        now = utcnow()
        evidence = []
        for f, sn in checked:
            digest = store_blob(f.data)
            ensure_thumbnail(digest, sn.content_type)
            ev = Evidence(claim_id=claim.id, sha256=digest, content_type=sn.content_type, size_bytes=len(f.data),
                          original_name=Path(f.filename or "upload").name[:255],
                          kind="repair_receipt" if sn.content_type == PDF else "repair_photo", taken_at=sn.taken_at,
                          latitude=sn.latitude, longitude=sn.longitude, uploaded_by_id=principal.user_id, uploaded_at=now)
            session.add(ev)
            evidence.append(ev)
        session.flush()
        report = RepairReport(payout_id=payout.id, claim_id=claim.id, kind=kind, state="filed", note=note.strip(),
                              redamaged=redamaged, evidence_ids=[e.id for e in evidence], filed_on=on,
                              filed_by_id=principal.user_id)
        session.add(report)
        payout.state = PAYOUT.move(payout.state, target).target
        if kind == "interim":
            payout.interim_reported_on = on
        else:
            payout.final_reported_on = on
        session.flush()
        payout_event(session, principal, payout, claim, f"payout.{kind}_reported",
                     {"report_id": report.id, "on": on.isoformat(), "spent_kopiykas": payout.spent_kopiykas,
                      "redamaged": redamaged, "files": [{"evidence_id": e.id, "sha256": e.sha256} for e in evidence]})
    return report


def do_decide_repair_report(session: Session, principal: Principal, reference: str, report_id: int, accept: bool,
                            reason: str = "", on: date | None = None) -> RepairReport:
    """An officer or commission member checks a filed report: accepted (interim: the second payment is due; final:
    the payout is verified and closed, the unspent balance returned) or returned with a reason."""
    reason = reason.strip()
    if not accept and not reason:
        raise ValidationFailed("Say why the report is returned: the owner sees it.", field="reason")
    on = on or today_utc()
    with atomic(session):
        payout, claim = payout_for(session, principal, reference, Action.PAYOUT_VERIFY)
        report = session.scalar(select(RepairReport).where(RepairReport.id == report_id, RepairReport.payout_id == payout.id)
                                .with_for_update())
        if report is None:
            raise NotFound(f"Claim {claim.reference} has no repair report {report_id}.")
        if report.state != "filed":
            raise InvalidTransition(f"Report {report_id} is already {report.state}.", ErrorCode.REPORT_NOT_FILED,
                                    report_id=report_id, state=report.state)
        filed_state = PO.INTERIM_REPORTED if report.kind == "interim" else PO.FINAL_REPORTED
        if payout.state != filed_state:
            raise InvalidTransition(f"The payout is {payout.state}; report {report_id} is no longer the one being checked.",
                                    ErrorCode.REPORT_NOT_FILED, report_id=report_id, state=payout.state)
        report.state, report.decided_on, report.decided_by_id = ("accepted" if accept else "returned"), on, principal.user_id
        report.return_reason = None if accept else reason[:2000]
        payload: dict[str, Any] = {"report_id": report.id, "kind": report.kind, "on": on.isoformat()}
        if report.kind == "interim":
            target = PO.INTERIM_ACCEPTED if accept else PO.SPENDING
            payout.state = PAYOUT.move(payout.state, target).target
            if accept:
                payout.interim_accepted_on = on
            payout_event(session, principal, payout, claim, "payout.interim_accepted" if accept else "payout.interim_returned",
                         payload | ({} if accept else {"reason": report.return_reason}))
        elif accept:
            payout.state = PAYOUT.move(payout.state, PO.VERIFIED).target
            payout.verified_on, payout.verified_by_id = on, principal.user_id
            payout_event(session, principal, payout, claim, "payout.verified", payload)
            posts = return_balance(payout, claim.reference)
            payout.state, payout.closed_on = PAYOUT.move(payout.state, PO.CLOSED).target, on
            session.flush()
            post(session, posts, principal.user_id)
            payout_event(session, principal, payout, claim, "payout.closed",
                         {"on": on.isoformat(), "spent_kopiykas": payout.spent_kopiykas, "returned_kopiykas": payout.returned_kopiykas})
        else:
            back = PO.INTERIM_ACCEPTED if payout.tier == "B" else PO.SPENDING
            payout.state = PAYOUT.move(payout.state, back).target
            payout.final_reported_on = None
            payout_event(session, principal, payout, claim, "payout.final_returned", payload | {"reason": report.return_reason})
        session.flush()
    return report


def repair_reports(session: Session, principal: Principal, reference: str) -> list[dict[str, Any]]:
    """A claim's repair reports, newest first, for whoever may see its payout (404 otherwise)."""
    claim = get_claim(session, principal, reference)
    require(principal.actor, Action.PAYOUT_READ, claim_subject(principal, claim))
    rows = session.scalars(select(RepairReport).where(RepairReport.claim_id == claim.id).order_by(RepairReport.id.desc())).all()
    return [{"id": r.id, "kind": r.kind, "state": r.state, "note": r.note, "redamaged": r.redamaged,
             "files": len(r.evidence_ids or []), "evidence_ids": list(r.evidence_ids or []), "filed_on": r.filed_on,
             "decided_on": r.decided_on, "return_reason": r.return_reason} for r in rows]
