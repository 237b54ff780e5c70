"""The decision PDF: made when the commission decides, in Ukrainian with real Cyrillic text, its SHA-256 in the
audit trail, downloadable by the claimant (page and API) and by nobody who cannot see the claim."""

from __future__ import annotations

import hashlib
import io
from datetime import date

from pypdf import PdfReader

from tests.store.test_claims_api import ACT, file_claim, move
from tests.web.conftest import web  # noqa: F401


def decided(client, auth) -> dict:
    c = move(client, auth, "officer", file_claim(client, auth), "assigned")
    c = move(client, auth, "inspector", c, "inspection_scheduled", inspection_date=date.today().isoformat())
    c = move(client, auth, "inspector", c, "inspected", inspection_act=ACT)
    c = move(client, auth, "officer", c, "assessed")
    return move(client, auth, "commission", c, "approved", decision={"reasons": "Пошкодження підтверджено"})


def test_decision_pdf_in_ukrainian_with_its_hash_in_the_trail(client, auth, web):  # noqa: F811
    c = decided(client, auth)
    ref = c["reference"]
    r = client.get(f"/api/v1/claims/{ref}/decision.pdf", headers=auth("citizen"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF")
    events = client.get(f"/api/v1/claims/{ref}/events", headers=auth("auditor")).json()
    doc = [e for e in events if e["action"] == "decision.document"]
    assert len(doc) == 1 and doc[0]["payload"]["sha256"] == hashlib.sha256(r.content).hexdigest()
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages)
    flat = " ".join(text.split())
    assert f"Заява {ref}" in flat and "Надати компенсацію" in flat and "Шевченко Олена Петрівна" in flat
    assert "Заміна вікна" in flat and "адміністративного суду" in flat
    assert "37 375,13 грн" in flat.replace("\u00a0", " ")
    page = web("citizen").get(f"/claims/{ref}/decision.pdf")
    assert page.status_code == 200 and page.content == r.content
    assert "/decision.pdf" in web("citizen").get(f"/my/claims/{ref}").text
    assert client.get(f"/api/v1/claims/{ref}/decision.pdf", headers=auth("citizen2")).status_code == 404


def test_no_document_before_a_decision(client, auth):
    c = file_claim(client, auth)
    assert client.get(f"/api/v1/claims/{c['reference']}/decision.pdf", headers=auth("citizen")).status_code == 404


def test_a_text_beyond_the_common_font_is_set_in_the_whole_font(client, auth, db):
    """Decisions are set in DejaVu cut down to Latin, Cyrillic and punctuation (decision_pdf.common_font: a
    third of the time); reasons in another script still come out, in the whole font."""
    from sqlalchemy import select

    from everymetre.claims.models import Claim, Decision, InspectionAct
    from everymetre.documents import decision_pdf

    ref = decided(client, auth)["reference"]
    claim = db.scalar(select(Claim).where(Claim.id == int(ref.rsplit("-", 1)[1])))
    decision = db.scalar(select(Decision).where(Decision.claim_id == claim.id))
    act = db.scalar(select(InspectionAct).where(InspectionAct.claim_id == claim.id))
    plain, missing = decision_pdf._build(claim, decision, act, 30, common=True)
    assert not missing and decision_pdf.build(claim, decision, act, 30) == plain
    decision.reasons = "Пошкодження підтверджено; ΩΨ Գյումրի 京"
    assert decision_pdf._build(claim, decision, act, 30, common=True)[1]  # the cut-down font lacks these
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(decision_pdf.build(claim, decision, act, 30))).pages)
    assert "ΩΨ Գյումրի" in text and "Пошкодження підтверджено" in text
    db.rollback()


def test_a_decision_recorded_after_the_document_gets_its_own(client, auth, db):
    """The document served is that of the claim's latest decision: once a later decision is on the trail (an
    appeal's decided in bulk, which renders none), the next download makes and records the document again."""
    from sqlalchemy import text

    from everymetre.audit.record import claim_chain, record
    from everymetre.documents.service import current_digest

    c = decided(client, auth)
    ref, cid = c["reference"], int(c["reference"].rsplit("-", 1)[1])
    first = client.get(f"/api/v1/claims/{ref}/decision.pdf", headers=auth("citizen"))
    assert first.status_code == 200 and current_digest(db, cid) == hashlib.sha256(first.content).hexdigest()
    record(db, claim_chain(cid), "claim.transition", None, {"from": "appealed", "to": "upheld", "decision": {"stage": "appeal"}},
           claim_id=cid)  # as a bulk move records a decision: no document
    db.commit()
    assert current_digest(db, cid) is None
    again = client.get(f"/api/v1/claims/{ref}/decision.pdf", headers=auth("citizen"))
    assert again.status_code == 200
    db.rollback()
    docs = db.execute(text("SELECT COUNT(*) FROM audit_events WHERE claim_id = :c AND action = 'decision.document'"),
                      {"c": cid}).scalar()
    assert docs == 2 and current_digest(db, cid) == hashlib.sha256(again.content).hexdigest()
