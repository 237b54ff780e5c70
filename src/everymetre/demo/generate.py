"""Synthetic, realistic demo data written in bulk (100,000 claims in well under two minutes on SQLite).

Claims get Ukrainian names and addresses, plausible areas and dates across the oblasts (weighted to where
the damage was), co-owners who are family members, a spread of lifecycle states with the inspection acts,
decisions and hash-chained audit trails those states imply, and some repeat damage linked to the earlier
claim. Bulk inserts bypass the per-claim services for speed but write exactly what they would.
"""

from __future__ import annotations

import itertools
import random
from bisect import bisect
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, insert, select

from everymetre.accounts.models import User
from everymetre.audit.chain import NewEvent, chain_rows
from everymetre.audit.models import AuditChain, AuditEvent
from everymetre.audit.record import claim_chain
from everymetre.claims.models import Claim, Decision, InspectionAct, Ownership, Person, Property
from everymetre.claims.search import index_claims
from everymetre.demo import vocab
from everymetre.kernel.geography import OBLASTS
from everymetre.kernel.iban import make_ua_iban
from everymetre.kernel.identifiers import claim_reference, make_rnokpp
from everymetre.sla.due import from_moves
from everymetre.store.db import advance_sequences

DEMO_PASSWORD = "everymetre-demo"
DEMO_STAFF = (
    ("officer@demo.everymetre.org", "officer", "Олена Коваль"),
    ("inspector@demo.everymetre.org", "inspector", "Тарас Мельник"),
    ("commission@demo.everymetre.org", "commission", "Ірина Бондаренко"),
    ("commission2@demo.everymetre.org", "commission", "Василь Гончаренко"),
    ("payments@demo.everymetre.org", "payments", "Світлана Ткаченко"),
    ("auditor@demo.everymetre.org", "auditor", "Андрій Шевчук"),
    ("admin@demo.everymetre.org", "admin", "Адміністратор"),
    ("citizen@demo.everymetre.org", "claimant", "Марія Петренко"),
)
WAR_START = date(2022, 2, 24)

# (state, weight) and the path of states that leads to it from draft
STATE_WEIGHTS = (
    ("draft", 3), ("auto_checked", 14), ("assigned", 12), ("suspended", 6), ("inspection_scheduled", 10),
    ("inspected", 7), ("remote_verified", 4), ("assessed", 8), ("approved", 18), ("rejected", 5),
    ("appealed", 3), ("upheld", 2), ("revised", 2), ("withdrawn", 3), ("duplicate", 3),
)
PATHS: dict[str, list[str]] = {
    "draft": ["draft"],
    "auto_checked": ["draft", "submitted", "auto_checked"],
}
PATHS["assigned"] = PATHS["auto_checked"] + ["assigned"]
PATHS["suspended"] = PATHS["assigned"] + ["suspended"]
PATHS["inspection_scheduled"] = PATHS["assigned"] + ["inspection_scheduled"]
PATHS["inspected"] = PATHS["inspection_scheduled"] + ["inspected"]
PATHS["remote_verified"] = PATHS["assigned"] + ["remote_verified"]
PATHS["assessed"] = PATHS["inspected"] + ["assessed"]
PATHS["approved"] = PATHS["assessed"] + ["approved"]
PATHS["rejected"] = PATHS["assessed"] + ["rejected"]
PATHS["appealed"] = PATHS["rejected"] + ["appealed"]
PATHS["upheld"] = PATHS["appealed"] + ["upheld"]
PATHS["revised"] = PATHS["appealed"] + ["revised"]
PATHS["withdrawn"] = PATHS["assigned"] + ["withdrawn"]
PATHS["duplicate"] = PATHS["auto_checked"] + ["duplicate"]

WORKS = (
    ("Заміна вікна металопластикового", "шт", 850_000), ("Ремонт покрівлі (металочерепиця)", "м2", 95_000),
    ("Заміна вхідних дверей", "шт", 1_200_000), ("Відновлення штукатурки фасаду", "м2", 45_000),
    ("Заміна скла", "м2", 120_000), ("Ремонт несучої стіни (цегла)", "м3", 650_000),
)
BANK_CODES = ("300528", "305299", "322001", "320649", "380805", "351005")


class _Weighted:
    def __init__(self, items: tuple[tuple[Any, ...], ...], weight_index: int = -1) -> None:
        self.items = items
        self.cum = list(itertools.accumulate(i[weight_index] for i in items))

    def pick(self, rnd: random.Random) -> tuple[Any, ...]:
        return self.items[bisect(self.cum, rnd.random() * self.cum[-1])]


_MALE = _Weighted(vocab.MALE_GIVEN)
_FEMALE = _Weighted(vocab.FEMALE_GIVEN)
_SURNAME = _Weighted(vocab.SURNAMES)
_OBLAST = _Weighted(tuple((o, o.damage_weight) for o in OBLASTS))
_STATE = _Weighted(STATE_WEIGHTS)


DEMO_DOMAIN = "@demo.everymetre.org"


def has_claims(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(Claim.id).limit(1)).first() is not None


def real_data(engine: Engine) -> str | None:
    """What makes the database not a demo one (claims that are not demo data, or any account that is not a demo
    account), in words; None if it is empty or holds only demo data."""
    with engine.connect() as conn:
        users = conn.execute(select(func.count()).select_from(User).where(~User.email.endswith(DEMO_DOMAIN))).scalar()
        demo_users = conn.execute(select(func.count()).select_from(User).where(User.email.endswith(DEMO_DOMAIN))).scalar()
        claims = conn.execute(select(Claim.id).limit(1)).first() is not None
    if users:
        return f"{users:,} account(s) that are not demo accounts"
    if claims and not demo_users:
        return "claims that are not demo data"
    return None


def demo_accounts(engine: Engine) -> list[str]:
    """The active demo accounts (published password) in the database."""
    with engine.connect() as conn:
        return list(conn.execute(select(User.email).where(User.email.endswith(DEMO_DOMAIN), User.is_active.is_(True))
                                 .order_by(User.email)).scalars())


def ensure_demo_users(engine: Engine) -> dict[str, int]:
    """Create the demo accounts (staff in every oblast) if missing, audited like any; return e-mail -> id."""
    from everymetre.accounts.actions import do_create_user
    from everymetre.store.db import session_factory

    codes = [o.code for o in OBLASTS]
    ids: dict[str, int] = {}
    with session_factory(engine)() as session:
        for email, role, name in DEMO_STAFF:
            uid = session.scalar(select(User.id).where(User.email == email))
            if uid is None:
                scoped = role not in ("claimant", "auditor", "admin")
                uid = do_create_user(session, None, email, DEMO_PASSWORD, role, codes if scoped else [], full_name=name).id
            ids[email] = uid
    return ids


def generate(engine: Engine, n_claims: int, seed: int = 2022, chunk: int = 2000,
             on_progress: Callable[[int], None] | None = None, now: datetime | None = None) -> list[tuple[str, str]]:
    """Write `n_claims` claims; returns the demo sign-ins as (email, role)."""
    users = ensure_demo_users(engine)
    now = now or datetime.now(UTC)
    rnd = random.Random(seed)
    staff = {role: users[email] for email, role, _ in DEMO_STAFF if role not in ("claimant",)}
    staff["commission2"] = users["commission2@demo.everymetre.org"]
    citizen = users["citizen@demo.everymetre.org"]
    with engine.connect() as conn:
        next_ids: dict[type, int] = {m: (conn.execute(select(func.max(m.id))).scalar() or 0) + 1 for m in (Person, Property, Claim, Ownership, InspectionAct, Decision)}
        citizen_person = conn.execute(select(User.person_id).where(User.id == citizen)).scalar()
    gen = _Generator(rnd, now, staff, citizen, citizen_person, next_ids)
    done = 0
    while done < n_claims:
        size = min(chunk, n_claims - done)
        rows = gen.batch(size)
        with engine.begin() as conn:
            for model in (Person, Property, Claim, Ownership, InspectionAct, Decision, AuditEvent, AuditChain):
                if rows[model]:
                    conn.execute(insert(model), rows[model])
            index_claims(conn, [c["id"] for c in rows[Claim]])
            if gen.citizen_person_new is not None:
                conn.execute(User.__table__.update().where(User.id == citizen).values(person_id=gen.citizen_person_new))
                gen.citizen_person_new = None
        done += size
        if on_progress:
            on_progress(size)
    advance_sequences(engine)  # explicit ids were written: later inserts draw from the sequences past them
    return [(email, role) for email, role, _ in DEMO_STAFF]


class _Generator:
    def __init__(self, rnd: random.Random, now: datetime, staff: dict[str, int], citizen: int,
                 citizen_person: int | None, next_ids: dict[type, int]) -> None:
        self.rnd, self.now, self.staff, self.citizen = rnd, now, staff, citizen
        self.citizen_person = citizen_person
        self.citizen_person_new: int | None = None
        self.citizen_claims = 0 if citizen_person is None else 6
        self.ids = next_ids
        self.recent: list[tuple[int, int, date, str, list[int]]] = []  # (claim id, property id, damage date, oblast, owner ids)

    def _id(self, model: type) -> int:
        i = self.ids[model]
        self.ids[model] = i + 1
        return i

    def person(self, rows: list[dict], surname: tuple[str, str, int] | None = None, female: bool | None = None,
               born: date | None = None) -> int:
        r = self.rnd
        female = r.random() < 0.55 if female is None else female
        given = (_FEMALE if female else _MALE).pick(r)[0]
        sur = (surname or _SURNAME.pick(r))[1 if female else 0]
        patr = r.choice(vocab.PATRONYMICS)[1 if female else 0]
        born = born or date(1940, 1, 1) + timedelta(days=r.randrange(0, 365 * 64))
        pid = self._id(Person)
        rows.append(dict(id=pid, full_name=f"{sur} {given} {patr}", full_name_latin=None, birth_date=born,
                         rnokpp=make_rnokpp(born, r.randrange(1000), not female),
                         phone=f"+380{r.choice((50, 66, 67, 68, 73, 93, 95, 96, 97, 98, 99))}{r.randrange(10**7):07d}",
                         email=None, iban=make_ua_iban(r.choice(BANK_CODES), r.randrange(10**14)) if r.random() < 0.8 else None,
                         created_at=self.now))
        return pid

    def batch(self, size: int) -> dict[type, list[dict]]:
        r = self.rnd
        rows: dict[type, list[dict]] = {m: [] for m in (Person, Property, Claim, Ownership, InspectionAct, Decision, AuditEvent, AuditChain)}
        for _ in range(size):
            redamage = self.recent and r.random() < 0.04
            claim_id = self._id(Claim)
            if redamage:
                prev_id, prop_id, prev_damage, oblast, owner_ids = r.choice(self.recent)
                owners = [(pid, 1, len(owner_ids)) for pid in owner_ids]
                damage = min(prev_damage + timedelta(days=r.randrange(30, 500)), (self.now - timedelta(days=3)).date())
                kind = "repair_application"
            else:
                prev_id = None
                o = _OBLAST.pick(r)[0]
                oblast = o.code
                kind_p = r.random()
                pkind = "apartment" if kind_p < 0.5 else ("house" if kind_p < 0.95 else "room")
                area = {"apartment": (28, 120), "house": (45, 260), "room": (11, 30)}[pkind]
                area_m2 = Decimal(r.randrange(area[0] * 100, area[1] * 100)) / 100
                prop_id = self._id(Property)
                rows[Property].append(dict(
                    id=prop_id, kind=pkind, oblast=oblast, hromada=r.choice(o.cities),
                    street=f"{r.choice(vocab.STREET_KINDS)} {r.choice(vocab.STREETS)}",
                    building=str(r.randrange(1, 180)) + (r.choice("аб") if r.random() < 0.08 else ""),
                    apartment=str(r.randrange(1, 220)) if pkind != "house" else None,
                    registry_number=str(r.randrange(10**12, 10**13)) if r.random() < 0.7 else None,
                    total_area_m2=area_m2, year_built=r.randrange(1950, 2021),
                    rooms=max(1, min(8, int(area_m2 // 22))) if pkind != "room" else 1, latitude=None, longitude=None,
                    common_parts_damaged=(r.random() < 0.4) if pkind != "house" else None,
                    own_street_entrance=(r.random() < 0.05) if pkind != "house" else None, heritage=r.random() < 0.01))
                owners = self._owners(rows)
                span = ((self.now - timedelta(days=10)).date() - WAR_START).days
                damage = WAR_START + timedelta(days=int(span * r.random() ** 1.8))
                kind = "destroyed_housing_application" if r.random() < 0.12 else r.choice(("repair_application", "damage_report"))
            target = _STATE.pick(r)[0]
            path = PATHS[target]
            created = datetime.combine(damage, datetime.min.time(), UTC) + timedelta(days=r.randrange(0, 60), seconds=r.randrange(86400))
            created = min(created, self.now - timedelta(days=len(path) * 2))
            created = max(created, datetime.combine(damage, datetime.min.time(), UTC))
            step_times = [created]
            for _ in path[1:]:
                step_times.append(min(step_times[-1] + timedelta(days=r.randrange(0, 12), seconds=r.randrange(3600)), self.now))
            submitter = None
            if self.citizen_person is None or self.citizen_claims < 6:  # the demo citizen's own claims
                submitter = self.citizen
                self.citizen_claims += 1
            claim = dict(
                id=claim_id, ref_year=created.year, kind=kind, state=target, version=len(path), oblast=oblast,
                property_id=prop_id, submitted_by_id=submitter, filed_as_representative=False,
                channel=r.choice(("portal", "portal", "portal", "cnap", "notary")), source=None, source_record_id=None,
                damage_date=damage, description=r.choice(vocab.DAMAGE_DESCRIPTIONS),
                priority_mask=(1 if r.random() < 0.07 else 0) | (2 if r.random() < 0.05 else 0) | (4 if r.random() < 0.08 else 0),
                is_redamage=bool(redamage), previous_claim_id=prev_id, duplicate_of_id=None, assignee_id=None,
                inspector_id=None, decided_by_id=None, decided_at=None, assessed_amount_kopiykas=None,
                awarded_amount_kopiykas=None, suspension_deadline=None, documents_requested=None, inspection_date=None,
                review_flag=None, created_at=created, submitted_at=step_times[1] if len(path) > 1 else None,
                state_changed_at=step_times[-1],
            )
            claim["decision_due_on"], claim["decision_paused_days"] = from_moves(
                zip(step_times[1:], path, path[1:], strict=False), 30)
            if submitter is not None and self.citizen_person is None:
                self.citizen_person = self.citizen_person_new = owners[0][0]
            for pid, num, den in owners:
                rows[Ownership].append(dict(id=self._id(Ownership), claim_id=claim_id, person_id=pid,
                                            share_numerator=num, share_denominator=den, is_applicant=pid == owners[0][0]))
            events = self._walk(claim, path, step_times, rows)
            self._chain(claim_id, events, rows)
            rows[Claim].append(claim)
            if not redamage:
                self.recent.append((claim_id, prop_id, damage, oblast, [p for p, _, _ in owners]))
                if len(self.recent) > 5000:
                    self.recent.pop(0)
        return rows

    def _owners(self, rows: dict[type, list[dict]]) -> list[tuple[int, int, int]]:
        r = self.rnd
        n = r.choices((1, 2, 3, 4), weights=(55, 33, 9, 3))[0]
        family = _SURNAME.pick(r)
        first = self.person(rows[Person], family)
        ids = [first] + [self.person(rows[Person], family) for _ in range(n - 1)]
        if n == 2 and r.random() < 0.5:
            return [(ids[0], 1, 2), (ids[1], 1, 2)]
        return [(pid, 1, n) for pid in ids]

    def _walk(self, claim: dict, path: list[str], times: list[datetime], rows: dict[type, list[dict]]) -> list[tuple]:
        """Events for each step of the path, and the rows (acts, decisions) the steps imply."""
        r, s = self.rnd, self.staff
        events: list[tuple] = [("claim.created", {"after": {"reference": claim_reference(claim["ref_year"], claim["id"]),
                                                            "kind": claim["kind"], "damage_date": claim["damage_date"],
                                                            "oblast": claim["oblast"]}}, claim["submitted_by_id"], times[0])]
        for prev, state, at in zip(path, path[1:], times[1:], strict=False):
            payload: dict[str, Any] = {"from": prev, "to": state}
            actor: int | None = s["officer"]
            if state == "submitted":
                actor = claim["submitted_by_id"]
            elif state == "auto_checked":
                actor = None
                payload["checks"] = [{"check": "all", "ok": True, "detail": "no problems found"}]
            elif state == "assigned":
                claim["assignee_id"] = s["officer"]
            elif state == "suspended":
                claim["documents_requested"] = ["Витяг з Державного реєстру речових прав на нерухоме майно"]
                claim["suspension_deadline"] = at.date() + timedelta(days=30)
                payload.update(documents_requested=claim["documents_requested"], deadline=claim["suspension_deadline"])
            elif state == "inspection_scheduled":
                claim["inspection_date"] = at.date() + timedelta(days=r.randrange(1, 20))
                payload["inspection_date"] = claim["inspection_date"]
            elif state in ("inspected", "remote_verified"):
                actor = s["inspector"]
                works: list[dict[str, Any]] = []
                for desc, unit, price in r.sample(WORKS, r.randrange(1, 4)):
                    qty = r.randrange(1, 30)
                    works.append({"description": desc, "quantity": str(qty), "unit": unit, "unit_price_kopiykas": price,
                                  "total_kopiykas": qty * price})
                total = sum(w["total_kopiykas"] for w in works)
                category = "destroyed" if claim["kind"] == "destroyed_housing_application" else r.choice(("minor", "moderate", "severe"))
                rows[InspectionAct].append(dict(
                    id=self._id(InspectionAct), claim_id=claim["id"], inspector_id=actor,
                    method="on_site" if state == "inspected" else "remote_photo", inspected_on=at.date(),
                    damage_category=category, damaged_elements=["вікна", "покрівля"], works=works,
                    works_total_kopiykas=total, technical_report_required=category in ("severe", "destroyed"),
                    notes="", created_at=at))
                claim["inspector_id"] = actor
                payload["works_total_kopiykas"] = total
                claim["_works_total"] = total
            elif state == "assessed":
                claim["assessed_amount_kopiykas"] = claim["_works_total"]
                payload["assessed_amount_kopiykas"] = claim["_works_total"]
            elif state in ("approved", "rejected", "upheld", "revised"):
                actor = s["commission"] if state in ("approved", "rejected") else s["commission2"]
                amount = None if state == "rejected" else (claim["awarded_amount_kopiykas"] if state == "upheld" else claim["assessed_amount_kopiykas"])
                reasons = "Право власності та пошкодження підтверджено." if amount else "Не підтверджено право власності."
                rows[Decision].append(dict(id=self._id(Decision), claim_id=claim["id"],
                                           stage="first" if state in ("approved", "rejected") else "appeal",
                                           outcome=state, amount_kopiykas=amount, reasons=reasons, decided_by_id=actor,
                                           decided_at=at, ruleset_hash=None, rule_inputs=None, rule_result=None))
                claim["awarded_amount_kopiykas"] = amount
                claim["decided_by_id"], claim["decided_at"] = actor, at
                payload["decision"] = {"outcome": state, "amount_kopiykas": amount, "reasons": reasons}
            elif state in ("appealed", "withdrawn"):
                actor = claim["submitted_by_id"]
                payload["reason"] = "Не погоджуюся з рішенням." if state == "appealed" else "Житло відновлено власним коштом."
            elif state == "duplicate":
                payload["duplicate_of"] = "unknown (demo)"
            events.append(("claim.transition", payload, actor, at))
        claim.pop("_works_total", None)
        return events

    def _chain(self, claim_id: int, events: list[tuple], rows: dict[type, list[dict]]) -> None:
        chain = claim_chain(claim_id)
        trail = [NewEvent(action, payload, actor, at) for action, payload, actor, at in events]
        new_rows, seq, head = chain_rows(chain, trail, self.now, claim_id)
        rows[AuditEvent].extend(new_rows)
        rows[AuditChain].append(dict(chain=chain, last_seq=seq, last_hash=head))
