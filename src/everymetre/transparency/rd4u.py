"""Export to the Register of Damage for Ukraine (RD4U), category A3.1: damage or destruction of residential
property. One record per person and home (never one per family: the register's most common filing error),
as JSON Lines; every record validates against `rd4u_a3_1.schema.json` beside this file.

A record carries the person, the property and their ownership share, the damage (date, and the inspection's
category), what was claimed and what was awarded with how it was calculated (the rule set's hash and the
rules' own explanation), the person's part of the award, the compensation already received (booked
payments, and what each of the person's housing certificates paid a seller) so the register does not pay it
twice, the person's housing certificates themselves (a destroyed home's decision issues one per co-owner: each
record lists its own person's, with number, value and state), and the SHA-256 of every evidence file. Withdrawn claims and duplicates are not exported.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from everymetre.claims.lifecycle import STANDING_AWARDS
from everymetre.claims.models import Claim, Decision, Evidence, InspectionAct, Ownership, Person, Property
from everymetre.kernel.identifiers import claim_reference
from everymetre.payments.certificates import split_value
from everymetre.payments.models import Certificate, Payment

SCHEMA_PATH = Path(__file__).with_name("rd4u_a3_1.schema.json")
SCHEMA_VERSION = "everymetre-rd4u-a3.1/1"
EXCLUDED = ("draft", "withdrawn", "duplicate")
_DECIDED = {"approved": "approved", "rejected": "rejected", "upheld": "upheld on appeal", "revised": "revised on appeal",
            "appealed": "under appeal"}


def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


def _share(n: int, d: int) -> dict[str, Any]:
    return {"numerator": n, "denominator": d, "decimal": f"{n / d:.6f}"}


def records(session: Session, chunk: int = 5000) -> Iterator[dict[str, Any]]:
    ids = list(session.scalars(select(Claim.id).where(Claim.state.not_in(EXCLUDED)).order_by(Claim.id)))
    for i in range(0, len(ids), chunk):
        yield from _records(session, ids[i:i + chunk])
        session.expunge_all()


_CLAIM = (Claim.id, Claim.ref_year, Claim.kind, Claim.state, Claim.damage_date, Claim.description, Claim.submitted_at,
          Claim.created_at, Claim.assessed_amount_kopiykas, Claim.awarded_amount_kopiykas)
_HOME = (Property.kind, Property.oblast, Property.hromada, Property.street, Property.building, Property.apartment,
         Property.registry_number, Property.total_area_m2, Property.year_built, Property.rooms, Property.latitude,
         Property.longitude)
_OWNER = (Ownership.claim_id, Ownership.id, Ownership.share_numerator, Ownership.share_denominator,
          Ownership.is_applicant, Person.id, Person.full_name, Person.full_name_latin, Person.birth_date, Person.rnokpp)


def _records(session: Session, ids: list[int]) -> Iterator[dict[str, Any]]:
    """One chunk of claims, read as plain rows (no ORM objects for the big tables: the export reads them all)."""
    owners: dict[int, list[Any]] = defaultdict(list)
    for orow in session.execute(select(*_OWNER).join(Person, Person.id == Ownership.person_id)
                                .where(Ownership.claim_id.in_(ids))):
        owners[orow[0]].append(orow)
    decisions: dict[int, list[Decision]] = defaultdict(list)
    for d in session.scalars(select(Decision).where(Decision.claim_id.in_(ids), Decision.approval.in_(STANDING_AWARDS))
                             .order_by(Decision.decided_at, Decision.id)):
        decisions[d.claim_id].append(d)
    acts: dict[int, tuple[str, Any]] = {}
    for cid, category, on in session.execute(select(InspectionAct.claim_id, InspectionAct.damage_category,
                                                    InspectionAct.inspected_on).where(InspectionAct.claim_id.in_(ids))
                                             .order_by(InspectionAct.id)):
        acts[cid] = (category, on)  # the latest
    evidence: dict[int, list[Evidence]] = defaultdict(list)
    for e in session.scalars(select(Evidence).where(Evidence.claim_id.in_(ids)).order_by(Evidence.id)):
        evidence[e.claim_id].append(e)
    payments: dict[int, list[Payment]] = defaultdict(list)
    for p in session.scalars(select(Payment).where(Payment.claim_id.in_(ids), Payment.state == "booked").order_by(Payment.id)):
        payments[p.claim_id].append(p)
    certs: dict[int, list[Certificate]] = defaultdict(list)
    for c in session.scalars(select(Certificate).where(Certificate.claim_id.in_(ids)).order_by(Certificate.id)):
        certs[c.claim_id].append(c)
    q = select(*_CLAIM, *_HOME).join(Property, Property.id == Claim.property_id).where(Claim.id.in_(ids)).order_by(Claim.id)
    for row in session.execute(q):
        claim: dict[str, Any] = dict(zip(("id", "ref_year", "kind", "state", "damage_date", "description", "submitted_at", "created_at",
                          "assessed", "awarded"), row[:len(_CLAIM)], strict=True))
        home: dict[str, Any] = dict(zip(("kind", "oblast", "hromada", "street", "building", "apartment", "registry_number",
                         "total_area_m2", "year_built", "rooms", "latitude", "longitude"), row[len(_CLAIM):], strict=True))
        yield from _claim_records(claim, home, owners[claim["id"]], decisions[claim["id"]], acts.get(claim["id"]),
                                  evidence[claim["id"]], payments[claim["id"]], certs[claim["id"]])


def _claim_records(claim: dict[str, Any], home: dict[str, Any], owner_rows: list[Any], decisions: list[Decision],
                   act: tuple[str, Any] | None, evidence: list[Evidence], payments: list[Payment],
                   certs: list[Certificate]) -> Iterator[dict[str, Any]]:
    owners = sorted(owner_rows, key=lambda o: (not o[4], o[1]))  # the applicant first, then as entered
    shares = [Fraction(o[2], o[3]) for o in owners]
    reference = claim_reference(claim["ref_year"], claim["id"])
    last = decisions[-1] if decisions else None
    awarded = claim["awarded"] if claim["state"] in ("approved", "upheld", "revised") else None
    award_parts = split_value(awarded, shares) if awarded and shares else [None] * len(owners)
    repair_paid = sum(p.amount_kopiykas for p in payments if p.purpose == "repair")
    repair_parts = split_value(repair_paid, shares) if shares else []
    held: dict[int, list[dict[str, Any]]] = defaultdict(list)  # person -> their certificates on this claim
    used: dict[int, list[dict[str, Any]]] = defaultdict(list)  # person -> what their certificates paid a seller
    for cert in certs:
        for s in cert.shares:
            held[s.person_id].append({"number": cert.number, "state": cert.state, "value_kopiykas": s.amount_kopiykas,
                                      "issued_on": cert.issued_on.isoformat(), "valid_until": cert.expires_on.isoformat()})
        if cert.state not in ("paid_to_seller", "redeemed"):
            continue
        # the part that bought the home (a redeemed certificate's unused rest went back to the fund)
        spent = cert.redeemed_kopiykas if cert.state == "redeemed" else (cert.contract_price_kopiykas or cert.value_kopiykas)
        parts = split_value(spent, [Fraction(s.amount_kopiykas) for s in cert.shares]) if cert.shares else []
        for s, part in zip(cert.shares, parts, strict=True):
            if part > 0:
                used[s.person_id].append({"kind": "housing_certificate", "amount_kopiykas": part, "certificate_number": cert.number,
                                          "paid_on": (cert.paid_on or cert.redeemed_on or cert.issued_on).isoformat()})
    prop = {**home, "total_area_m2": f"{home['total_area_m2']:.2f}"}
    files = [{"sha256": e.sha256, "kind": e.kind, "content_type": e.content_type, "size_bytes": e.size_bytes,
              "taken_at": e.taken_at.isoformat() if e.taken_at else None} for e in evidence]
    decision = None
    if last is not None:
        decision = {"outcome": _DECIDED.get(claim["state"], last.outcome), "stage": last.stage,
                    "decided_on": last.decided_at.date().isoformat(), "amount_kopiykas": last.amount_kopiykas,
                    "calculation": {"ruleset_hash": last.ruleset_hash, "inputs": last.rule_inputs,
                                    "result": last.rule_result}}
    filed = (claim["submitted_at"] or claim["created_at"]).date().isoformat()
    for n, (_cid, _oid, num, den, applicant, person_id, name, latin, born, rnokpp) in enumerate(owners):
        received = []
        if repair_parts and repair_parts[n]:
            received.append({"kind": "repair_payment", "amount_kopiykas": repair_parts[n],
                             "paid_on": max(p.settled_on or p.created_at.date() for p in payments).isoformat()})
        received += used.get(person_id, [])
        yield {
            "schema": SCHEMA_VERSION,
            "category": "A3.1",
            "record_id": f"{reference}/{person_id}",
            "person": {"full_name": name, "full_name_latin": latin, "birth_date": born.isoformat() if born else None,
                       "tax_number": rnokpp, "is_applicant": bool(applicant)},
            "property": prop,
            "ownership_share": _share(num, den),
            "co_owners": len(owners),
            "damage": {"date": claim["damage_date"].isoformat(), "category": act[0] if act else None,
                       "inspected_on": act[1].isoformat() if act else None, "description": claim["description"]},
            "claim": {"reference": reference, "kind": claim["kind"], "state": claim["state"], "filed_on": filed,
                      "assessed_amount_kopiykas": claim["assessed"]},
            "awarded": {"amount_kopiykas": awarded, "person_part_kopiykas": award_parts[n], "decision": decision},
            "compensation_received": {"total_kopiykas": sum(r["amount_kopiykas"] for r in received), "items": received},
            "housing_certificates": held.get(person_id, []),
            "evidence": files,
            "currency": "UAH",
        }


def write_jsonl(session: Session, out: Path) -> int:
    n = 0
    tmp = out.with_name(out.name + ".part")
    with tmp.open("w", encoding="utf-8") as fh:
        for rec in records(session):
            fh.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")
            n += 1
    tmp.replace(out)
    return n
