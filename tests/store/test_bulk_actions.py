"""claims.bulk: many claims filed and moved with the one-claim actions' rules (lifecycle, permissions, versions,
audit, ledger, outbox), one transaction per call, nothing half-written when one claim is refused."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select, text

from everymetre.claims.bulk import BulkMove, Filing, do_file_bulk, do_move_bulk
from everymetre.claims.lifecycle import State
from everymetre.claims.models import Claim, Decision
from everymetre.claims.schemas import ClaimCreate, DecisionIn, InspectionActIn
from everymetre.kernel.errors import Forbidden, GuardFailed, StaleVersion, ValidationFailed
from tests.factories import claim_body

ACT = InspectionActIn(inspected_on=date(2024, 4, 1), damage_category="moderate",  # type: ignore[arg-type]
                      works=[{"description": "Заміна вікна", "quantity": "2", "unit": "шт", "unit_price_kopiykas": 850_000}])  # type: ignore[list-item]
AT = datetime(2024, 4, 2, 10, tzinfo=UTC)


def _file(db, officer, n: int = 3) -> list[int]:
    return do_file_bulk(db, officer, [Filing(ClaimCreate(**claim_body()), datetime(2024, 3, 20, tzinfo=UTC)) for _ in range(n)])


def _versions(db, ids):
    return dict(db.execute(select(Claim.id, Claim.version).where(Claim.id.in_(ids))).tuples().all())


def test_filed_in_bulk_like_one_at_a_time(db, principal):
    ids = _file(db, principal("officer"))
    rows = db.execute(select(Claim.state, Claim.channel, Claim.version).where(Claim.id.in_(ids))).all()
    assert rows == [("auto_checked", "cnap", 1)] * 3
    actions = db.execute(text("SELECT action FROM audit_events WHERE claim_id = :c ORDER BY seq"), {"c": ids[0]}).scalars().all()
    assert actions == ["claim.created", "claim.transition", "claim.transition"]
    # the outbox heard about each submission, as for one claim filed by do_create_claim
    assert db.scalar(text("SELECT COUNT(DISTINCT claim_id) FROM notifications WHERE kind = 'submitted'")) == 3


def test_only_officers_file_in_bulk_and_bad_input_is_refused(db, principal):
    with pytest.raises(Forbidden):
        _file(db, principal("citizen"))
    body = claim_body(damage_date="2021-12-31")
    with pytest.raises(ValidationFailed):
        do_file_bulk(db, principal("officer"), [Filing(ClaimCreate(**body), AT)])
    assert db.scalar(select(func.count()).select_from(Claim)) == 0


def test_moves_check_the_lifecycle_for_every_claim_and_write_nothing_on_a_refusal(db, principal):
    ids = _file(db, principal("officer"))
    with pytest.raises(GuardFailed, match="another officer must verify"):  # segregation: the filer may not verify
        do_move_bulk(db, principal("officer"), [BulkMove(i, State.ASSIGNED, 1, at=AT) for i in ids])
    with pytest.raises(Forbidden):  # out of the Lviv officer's oblasts
        do_move_bulk(db, principal("officer_lviv"), [BulkMove(i, State.ASSIGNED, 1, at=AT) for i in ids])
    with pytest.raises(Forbidden):  # claimants move their own claims one at a time
        do_move_bulk(db, principal("citizen"), [BulkMove(ids[0], State.WITHDRAWN, 1, reason="x")])
    assert set(_versions(db, ids).values()) == {1}


def test_through_to_decision_and_the_ledger(db, principal, engine):
    from everymetre.claims.assessment import do_compute
    from everymetre.payments.ledger import ledger_violations

    ids = _file(db, principal("officer"))
    # the suite has one officer for these oblasts, who may not verify what they filed: as if filed at the portal
    db.execute(text("UPDATE claims SET submitted_by_id = NULL, channel = 'portal'"))
    db.commit()
    officer, inspector, commission = principal("officer"), principal("inspector"), principal("commission")
    do_move_bulk(db, officer, [BulkMove(i, State.ASSIGNED, 1, at=AT) for i in ids])
    do_move_bulk(db, inspector, [BulkMove(i, State.REMOTE_VERIFIED, 2, at=AT,
                                          inspection_act=InspectionActIn(**{**ACT.model_dump(), "method": "remote_photo"})) for i in ids])
    with pytest.raises(StaleVersion):  # a version the claim is no longer at: nothing moves
        do_move_bulk(db, commission, [BulkMove(ids[0], State.APPROVED, 2, decision=DecisionIn(reasons="ok"))])
    do_compute(engine)
    db.expire_all()
    v = _versions(db, ids)
    with pytest.raises(Forbidden):  # the inspector may not decide
        do_move_bulk(db, inspector, [BulkMove(i, State.APPROVED, v[i], decision=DecisionIn(reasons="ok")) for i in ids])
    do_move_bulk(db, commission, [BulkMove(i, State.APPROVED, v[i], decision=DecisionIn(reasons="Підтверджено.")) for i in ids])
    decisions = db.scalars(select(Decision).where(Decision.claim_id.in_(ids))).all()
    assert len(decisions) == 3 and all(d.ruleset_hash and d.rule_inputs and d.rule_result for d in decisions)
    assert all(d.amount_kopiykas == d.rule_result["amount_kopiykas"] for d in decisions)
    assert not ledger_violations(db)  # each award is a payable in the ledger
    notices = db.execute(text("SELECT kind, COUNT(*) FROM notifications GROUP BY kind")).tuples().all()
    assert {"assessed": 3, "approved": 3}.items() <= dict(notices).items()


def test_a_bulk_decision_gets_its_pdf_on_first_download(db, principal, engine, client, auth):
    """Bulk decisions render no document; the first download makes it with the one-claim renderer, stores it and
    records its hash (one `decision.document` event, in the request's transaction); later downloads serve the
    same bytes, and the audit trail still verifies."""
    import hashlib

    from everymetre.audit.verify import verify
    from everymetre.claims.assessment import do_compute
    from everymetre.documents import decision_pdf
    from everymetre.kernel.identifiers import claim_reference

    ids = _file(db, principal("officer"), 2)
    db.execute(text("UPDATE claims SET submitted_by_id = NULL, channel = 'portal'"))
    db.commit()
    do_move_bulk(db, principal("officer"), [BulkMove(i, State.ASSIGNED, 1, at=AT) for i in ids])
    do_move_bulk(db, principal("inspector"), [BulkMove(i, State.REMOTE_VERIFIED, 2, at=AT,
                                                       inspection_act=InspectionActIn(**{**ACT.model_dump(), "method": "remote_photo"})) for i in ids])
    do_compute(engine)
    db.expire_all()
    v = _versions(db, ids)
    do_move_bulk(db, principal("commission"), [BulkMove(i, State.APPROVED, v[i], decision=DecisionIn(reasons="Підтверджено."))
                                               for i in ids])

    def documents(cid: int) -> list[str]:
        db.rollback()
        return list(db.execute(text("SELECT payload FROM audit_events WHERE claim_id = :c AND action = 'decision.document' "
                                    "ORDER BY seq"), {"c": cid}).scalars())

    assert documents(ids[0]) == []  # none made by the bulk decision
    ref = claim_reference(db.get(Claim, ids[0]).ref_year, ids[0])  # type: ignore[union-attr]
    first = client.get(f"/api/v1/claims/{ref}/decision.pdf", headers=auth("commission"))
    assert first.status_code == 200 and first.content.startswith(b"%PDF")
    digest = hashlib.sha256(first.content).hexdigest()
    assert first.headers["X-Content-SHA256"] == digest
    (payload,) = documents(ids[0])
    assert '"sha256":"' + digest + '"' in payload and '"outcome":"approved"' in payload
    again = client.get(f"/api/v1/claims/{ref}/decision.pdf", headers=auth("commission"))
    assert again.status_code == 200 and again.content == first.content and len(documents(ids[0])) == 1
    assert documents(ids[1]) == []  # made only for the claim asked for
    # the one-claim decision's renderer, on the same rows
    claim = db.get(Claim, ids[0])
    decision = db.scalars(select(Decision).where(Decision.claim_id == ids[0])).one()
    from everymetre.claims.models import InspectionAct

    act = db.scalars(select(InspectionAct).where(InspectionAct.claim_id == ids[0])).one()
    from everymetre.config import get_settings

    assert decision_pdf.build(claim, decision, act, get_settings().appeal_window_days) == first.content  # type: ignore[arg-type]
    report = verify(db)
    assert report.problem is None and report.events > 0, report.problem
