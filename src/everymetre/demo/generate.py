"""Synthetic, realistic demo data made by the real actions (issue #12).

Claims get Ukrainian names and addresses, plausible areas and dates across the oblasts (weighted to where the
damage was), co-owners who are family members, and a spread of lifecycle states. Nothing is written around
the rules: each stage below is one small function calling the action a person would use (or its bulk form in
`claims.bulk`, which applies the same validation, lifecycle moves and audit trail):

  file      a service-centre officer files and submits claims with their photos   claims.bulk.do_file_bulk
  verify    the officer takes them, asks for documents, schedules inspections      claims.bulk.do_move_bulk
  inspect   the inspector files acts (on site or remote)                           claims.bulk.do_move_bulk
  compute   the rules assess every inspected claim                                 claims.assessment.do_compute
  decide    commission members approve at the computed amount, or reject           claims.bulk.do_move_bulk
            (the ledger's payable is posted in the same transaction)
  citizen   the demo citizen's own claims, one at a time, appeals included         claims.actions.* (one claim)
  certify   housing certificates issued, reserved, contracts signed                payments.certificates.*
  pay       a batch built, approved by two other payments officers, exported,      payments.batches.*
            sent, and a generated camt.053 reconciled with a few returns           payments.reconcile.do_reconcile
  payouts   repair payouts taken through spending, reports, verification, close    payments.payouts.*

so `everymetre ledger check`, `audit verify` and `rules recheck` pass on a fresh demo store.
"""

from __future__ import annotations

import gc
import io
import itertools
import random
import tempfile
from bisect import bisect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal, load_principal
from everymetre.accounts.models import User
from everymetre.claims.bulk import BulkMove, Filing, Photo, do_file_bulk, do_move_bulk
from everymetre.claims.lifecycle import ClaimKind, State
from everymetre.claims.models import Claim, Decision
from everymetre.claims.schemas import (
    ClaimCreate,
    DecisionIn,
    InspectionActIn,
    OwnerIn,
    PriorityName,
    PropertyIn,
    WorkItem,
)
from everymetre.claims.values import DamageCategory, InspectionMethod, PropertyKind
from everymetre.demo import vocab
from everymetre.kernel.geography import OBLASTS
from everymetre.kernel.iban import make_ua_iban
from everymetre.kernel.identifiers import make_rnokpp
from everymetre.store.db import analyze, session_factory
from everymetre.store.types import utcnow

DEMO_PASSWORD = "everymetre-demo"
DEMO_STAFF = (
    ("officer@demo.everymetre.org", "officer", "Олена Коваль"),
    ("inspector@demo.everymetre.org", "inspector", "Тарас Мельник"),
    ("commission@demo.everymetre.org", "commission", "Ірина Бондаренко"),
    ("commission2@demo.everymetre.org", "commission", "Василь Гончаренко"),
    ("commission3@demo.everymetre.org", "commission", "Оксана Литвиненко"),  # a second approval on an appeal
    ("cnap@demo.everymetre.org", "officer", "Наталія Савченко"),  # files claims at a service centre
    ("payments@demo.everymetre.org", "payments", "Світлана Ткаченко"),
    ("payments2@demo.everymetre.org", "payments", "Олег Кравчук"),  # the second approval of a batch
    ("auditor@demo.everymetre.org", "auditor", "Андрій Шевчук"),
    ("admin@demo.everymetre.org", "admin", "Адміністратор"),
    ("citizen@demo.everymetre.org", "claimant", "Марія Петренко"),
)
WAR_START = date(2022, 2, 24)
PRIORITY_ODDS: tuple[tuple[PriorityName, float], ...] = (("combatant", 0.07), ("disability", 0.05), ("large_family", 0.08))

# (state, weight): where the claims filed at service centres end up. Drafts, appeals and withdrawals are the
# claimant's moves: the demo citizen's own claims show them (`_citizen`).
STATE_WEIGHTS = (
    ("auto_checked", 14), ("assigned", 12), ("suspended", 6), ("inspection_scheduled", 10),
    ("inspected", 7), ("remote_verified", 4), ("assessed", 8), ("approved", 26), ("rejected", 5), ("duplicate", 3),
)
AFTER_COMPUTE = frozenset({"assessed", "approved", "rejected"})  # inspected before `compute` runs
WORKS = (
    ("Заміна вікна металопластикового", "шт", 850_000), ("Ремонт покрівлі (металочерепиця)", "м2", 95_000),
    ("Заміна вхідних дверей", "шт", 1_200_000), ("Відновлення штукатурки фасаду", "м2", 45_000),
    ("Заміна скла", "м2", 120_000), ("Ремонт несучої стіни (цегла)", "м3", 650_000),
)
BANK_CODES = ("305299", "300465", "322001", "380805", "320478", "334851")  # participating banks (config.DEFAULT_PAYOUT_BANKS)


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


# ---------------------------------------------------------------------------------------------- the run


def generate(engine: Engine, n_claims: int, seed: int = 2022, chunk: int = 10_000,
             on_progress: Callable[[int], None] | None = None, now: datetime | None = None) -> list[tuple[str, str]]:
    """Make `n_claims` claims through the actions (see the module's text); returns the demo sign-ins."""
    with _few_collections():
        return _generate(engine, n_claims, seed, chunk, on_progress, now)


@contextmanager
def _few_collections() -> Iterator[None]:
    """The bulk actions make millions of short-lived rows (dicts, tuples: no reference cycles), each counted
    towards Python's cyclic garbage collector, whose passes walk ever more live objects as the run goes on:
    collect a hundred times less often while the demo runs (at 20,000 claims: 2 full passes instead of 32)."""
    before = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _generate(engine: Engine, n_claims: int, seed: int, chunk: int, on_progress: Callable[[int], None] | None,
              now: datetime | None) -> list[tuple[str, str]]:
    users = ensure_demo_users(engine)
    now = now or utcnow()
    rnd = random.Random(seed)
    make = session_factory(engine)
    with make() as session:
        who = {email.split("@")[0]: _principal(session, uid) for email, uid in users.items()}
    gen = _Generator(rnd, now)
    citizen_n = min(len(CITIZEN_CLAIMS), n_claims)
    later: list[tuple[int, int, str, datetime, date]] = []  # claims to inspect after compute
    done = citizen_n
    while done < n_claims:
        size = min(chunk, n_claims - done)
        plans = [gen.plan() for _ in range(size)]
        with make() as session:
            ids = _file(session, who["cnap"], plans)
            versions = _verify(session, who["officer"], plans, ids, gen)
            later += _inspect(session, who["inspector"], plans, ids, versions, gen)
        done += size
        if on_progress:
            on_progress(size)
    _compute(engine)
    with make() as session:
        _inspect_after_compute(session, who["inspector"], later, gen)
        _decide(session, who["commission"], who["commission2"], gen)
        _citizen(session, who, gen, citizen_n)
        _certify(session, who["payments"], who["officer"], gen)
        _pay(session, who["payments"], who["payments2"], gen)
        _payouts(session, who["payments"], who["commission"], who["officer"], gen)
    if on_progress and citizen_n:
        on_progress(citizen_n)
    return [(email, role) for email, role, _ in DEMO_STAFF]


def _principal(session: Session, user_id: int) -> Principal:
    p = load_principal(session, user_id)
    assert p is not None  # just made by ensure_demo_users
    return p


class _Plan:
    """One claim to be: what is filed, where it should end up, and when each step happened."""

    __slots__ = ("category", "data", "target", "times")

    def __init__(self, data: ClaimCreate, target: str, times: list[datetime], category: str) -> None:
        self.data, self.target, self.times, self.category = data, target, times, category


M = TypeVar("M", bound=BaseModel)
CHECK_EVERY = 500  # one generated input in this many is validated by its schema (and must come out unchanged)


def _built(model: M, schema: type[M], gen: _Generator) -> M:
    """A schema's input the generator built valid by construction (`model_construct`: its values already in
    the form validation gives them, so no per-row validation). Every CHECK_EVERY-th one is validated from its
    dump, and must come back the same: a generator that drifts from the schema fails the run, not the data."""
    gen.made += 1
    if gen.made % CHECK_EVERY == 1:
        checked = schema.model_validate(model.model_dump())
        if checked.model_dump(mode="json") != model.model_dump(mode="json") or checked != model:
            raise RuntimeError(f"generated {schema.__name__} differs once validated: {model!r}")
    return model


class _Generator:
    def __init__(self, rnd: random.Random, now: datetime) -> None:
        self.rnd, self.now = rnd, now
        self.made = 0  # inputs built (`_built`)
        self.recent: list[tuple[str, str, date, str]] = []  # homes filed (registry number, ...) for re-damage

    def person(self, surname: tuple[str, str, int], share: str, applicant: bool) -> dict[str, Any]:
        r = self.rnd
        female = r.random() < 0.55
        given = (_FEMALE if female else _MALE).pick(r)[0]
        sur = surname[1 if female else 0]
        patr = r.choice(vocab.PATRONYMICS)[1 if female else 0]
        born = date(1940, 1, 1) + timedelta(days=r.randrange(0, 365 * 64))
        return dict(full_name=f"{sur} {given} {patr}", birth_date=born, rnokpp=make_rnokpp(born, r.randrange(1000), not female),
                    phone=f"+380{r.choice((50, 66, 67, 68, 73, 93, 95, 96, 97, 98, 99))}{r.randrange(10**7):07d}",
                    iban=make_ua_iban(r.choice(BANK_CODES), r.randrange(10**14)) if applicant or r.random() < 0.6 else None,
                    share=share, is_applicant=applicant)

    def plan(self, target: str | None = None) -> _Plan:
        r = self.rnd
        o = _OBLAST.pick(r)[0]
        pkind = "apartment" if (k := r.random()) < 0.5 else ("house" if k < 0.95 else "room")
        lo, hi = {"apartment": (28, 120), "house": (45, 260), "room": (11, 30)}[pkind]
        area = Decimal(r.randrange(lo * 100, hi * 100)) / 100
        home = dict(kind=pkind, oblast=o.code, hromada=r.choice(o.cities),
                    street=f"{r.choice(vocab.STREET_KINDS)} {r.choice(vocab.STREETS)}",
                    building=str(r.randrange(1, 180)) + (r.choice("аб") if r.random() < 0.08 else ""),
                    apartment=str(r.randrange(1, 220)) if pkind != "house" else None,
                    registry_number=str(r.randrange(10**12, 10**13)) if r.random() < 0.7 else None,
                    total_area_m2=area, year_built=r.randrange(1950, 2021),
                    rooms=max(1, min(8, int(area // 22))) if pkind != "room" else 1,
                    common_parts_damaged=(r.random() < 0.4) if pkind != "house" else None,
                    own_street_entrance=(r.random() < 0.05) if pkind != "house" else None, heritage=r.random() < 0.01)
        n = r.choices((1, 2, 3, 4), weights=(55, 33, 9, 3))[0]
        family = _SURNAME.pick(r)
        shares = ["1/2", "1/2"] if n == 2 and r.random() < 0.5 else [f"1/{n}" if n > 1 else "1"] * n
        owners = [self.person(family, s, i == 0) for i, s in enumerate(shares)]
        span = ((self.now - timedelta(days=40)).date() - WAR_START).days
        damage = WAR_START + timedelta(days=int(span * r.random() ** 1.8))
        kind = "destroyed_housing_application" if r.random() < 0.12 else r.choice(("repair_application", "damage_report"))
        groups: list[PriorityName] = [g for g, p in PRIORITY_ODDS if r.random() < p]
        data = _built(ClaimCreate.model_construct(
            kind=ClaimKind(kind), damage_date=damage, description=r.choice(vocab.DAMAGE_DESCRIPTIONS),
            priority_groups=groups, property=PropertyIn.model_construct(**{**home, "kind": PropertyKind(pkind)}),
            owners=[OwnerIn.model_construct(**o) for o in owners]), ClaimCreate, self)
        filed = datetime.combine(damage, datetime.min.time(), UTC) + timedelta(days=r.randrange(0, 30), seconds=r.randrange(86400))
        times = [filed]
        for _ in range(4):  # filed, taken, scheduled / asked, inspected: a few days apart, never in the future
            times.append(min(times[-1] + timedelta(days=r.randrange(1, 6), seconds=r.randrange(3600)), self.now - timedelta(minutes=5)))
        category = "destroyed" if kind == "destroyed_housing_application" else r.choice(("minor", "moderate", "severe"))
        return _Plan(data, target or _STATE.pick(r)[0], times, category)

    def act(self, plan_category: str, on: date, remote: bool) -> InspectionActIn:
        r = self.rnd
        works = [WorkItem.model_construct(description=d, quantity=Decimal(r.randrange(1, 30)), unit=u, unit_price_kopiykas=p)
                 for d, u, p in r.sample(WORKS, r.randrange(1, 4))]
        return _built(InspectionActIn.model_construct(
            method=InspectionMethod.REMOTE_PHOTO if remote else InspectionMethod.ON_SITE, inspected_on=on,
            damage_category=DamageCategory(plan_category), damaged_elements=["вікна", "покрівля"], works=works,
            technical_report_required=plan_category in ("severe", "destroyed")), InspectionActIn, self)


# ---------------------------------------------------------------------------------------------- the stages

_PHOTO_CACHE: list[Photo] = []


def demo_photos() -> list[Photo]:
    """A close-up and a wide view (small generated JPEGs; stored once, as every upload is, by their hash)."""
    if not _PHOTO_CACHE:
        from PIL import Image

        for kind, colour in (("photo_closeup", (120, 90, 70)), ("photo_wide", (90, 110, 130))):
            buf = io.BytesIO()
            Image.new("RGB", (64, 48), colour).save(buf, "JPEG", quality=70)
            _PHOTO_CACHE.append(Photo(kind, f"{kind}.jpg", buf.getvalue()))
    return _PHOTO_CACHE


def _file(session: Session, cnap: Principal, plans: list[_Plan]) -> list[int]:
    """Filed and submitted at a service centre, with the photos the law asks for."""
    return do_file_bulk(session, cnap, [Filing(p.data, p.times[0]) for p in plans], demo_photos())


def _verify(session: Session, officer: Principal, plans: list[_Plan], ids: list[int], gen: _Generator) -> dict[int, int]:
    """The officer takes each claim (or marks a duplicate), then asks for documents or schedules an inspection."""
    first, second = [], []
    versions = dict.fromkeys(ids, 1)
    for p, cid in zip(plans, ids, strict=True):
        if p.target == "auto_checked":
            continue
        if p.target == "duplicate":
            if cid - 1 in versions:
                first.append(BulkMove(cid, State.DUPLICATE, 1, duplicate_of=cid - 1, at=p.times[1]))
                continue
            p.target = "auto_checked"
            continue
        first.append(BulkMove(cid, State.ASSIGNED, 1, at=p.times[1]))
        if p.target == "suspended":
            second.append(BulkMove(cid, State.SUSPENDED, 2, documents_requested=(DOCUMENT,), at=p.times[2]))
        elif p.target not in ("assigned", "remote_verified"):
            second.append(BulkMove(cid, State.INSPECTION_SCHEDULED, 2, at=p.times[2],
                                   inspection_date=p.times[2].date() + timedelta(days=gen.rnd.randrange(1, 5))))
    do_move_bulk(session, officer, first)
    do_move_bulk(session, officer, second)
    for m in first:
        versions[m.claim_id] = 2
    for m in second:
        versions[m.claim_id] = 3
    return versions


def _inspect(session: Session, inspector: Principal, plans: list[_Plan], ids: list[int], versions: dict[int, int],
             gen: _Generator) -> list[tuple[int, int, str, datetime, date]]:
    """Acts for the claims that go on to be assessed; those that stay inspected wait until after compute."""
    moves, later = [], []
    for p, cid in zip(plans, ids, strict=True):
        if p.target not in ("inspected", "remote_verified", *AFTER_COMPUTE):
            continue
        at = p.times[3]
        on = max(p.data.damage_date, at.date() - timedelta(days=gen.rnd.randrange(0, 2)))
        if p.target in ("inspected", "remote_verified"):
            later.append((cid, versions[cid], p.category, at, on))
            continue
        # assessed / approved / rejected: compute and the commission take it from here
        moves.append(BulkMove(cid, State.INSPECTED, versions[cid], inspection_act=gen.act(p.category, on, False), at=at))
    do_move_bulk(session, inspector, moves)
    return later


def _inspect_after_compute(session: Session, inspector: Principal, later: list[tuple[int, int, str, datetime, date]],
                           gen: _Generator) -> None:
    moves = []
    for cid, version, category, at, on in later:
        remote = version == 2  # taken but not scheduled: verified remotely
        moves.append(BulkMove(cid, State.REMOTE_VERIFIED if remote else State.INSPECTED, version,
                              inspection_act=gen.act(category, on, remote), at=at))
    for i in range(0, len(moves), 5000):
        do_move_bulk(session, inspector, moves[i:i + 5000])


def _compute(engine: Engine) -> None:
    """The rules assess every inspected claim (`everymetre compute`), on fresh planner statistics (`analyze`)."""
    from everymetre.claims.assessment import do_compute

    analyze(engine, "claims")
    do_compute(engine)


def _decide(session: Session, commission: Principal, second: Principal, gen: _Generator) -> None:
    """Commission decisions on most assessed claims: approved at exactly the computed amount (a few with a
    recorded reason for a lower amount), rejected where the rules found no entitlement or on the evidence. An award
    the award controls send to a second member (claims.awards) is proposed, then approved by `second`, in bulk
    (claims.bulk_awards) like the rest."""
    from everymetre.claims.bulk_awards import do_review_awards_bulk

    rows = session.execute(select(Claim.id, Claim.version, Claim.assessed_amount_kopiykas)
                           .where(Claim.state == State.ASSESSED.value).order_by(Claim.id)).all()
    moves = []
    for i, (cid, version, amount) in enumerate(rows):
        roll = gen.rnd.random()
        if roll < 0.2:
            continue  # stays assessed: the commission has not met on it yet
        if not amount or roll < 0.27:
            reason = NO_ENTITLEMENT if not amount else NOT_PROVEN
            moves.append(BulkMove(cid, State.REJECTED, version, decision=DecisionIn(reasons=reason)))
            continue
        if i % 97 == 5:  # a few awards off the computed amount, each with its reason
            decision = DecisionIn(reasons=APPROVED, amount_kopiykas=amount * 9 // 10, amount_reason=OFF_AMOUNT)
        else:
            decision = DecisionIn(reasons=APPROVED)
        moves.append(BulkMove(cid, State.APPROVED, version, decision=decision))
    for i in range(0, len(moves), 5000):
        do_move_bulk(session, commission, moves[i:i + 5000], propose=True)
    waiting = list(session.execute(select(Decision.claim_id).where(Decision.approval == "pending")
                                   .order_by(Decision.claim_id)).scalars())
    for i in range(0, len(waiting), 5000):
        do_review_awards_bulk(session, second, waiting[i:i + 5000], approve=True,
                              reason="Сума відповідає розрахунку за правилами.")


CITIZEN_CLAIMS = ("draft", "auto_checked", "approved", "upheld", "revised", "withdrawn")


def _citizen(session: Session, who: dict[str, Principal], gen: _Generator, n: int) -> None:
    """The demo citizen's own claims, through the one-claim actions (the portal's path): draft, photos,
    submit, inspection, assessment, decision (with its PDF), appeal, the appeal's decision, withdrawal."""
    from everymetre.claims.actions import do_create_claim, do_transition
    from everymetre.claims.awards import do_review_award, pending_decision
    from everymetre.claims.evidence import do_add_evidence
    from everymetre.claims.schemas import TransitionIn

    citizen = who["citizen"]
    me = None  # the citizen is the applicant of each of their claims (one person record)
    for target in CITIZEN_CLAIMS[:n]:
        p = gen.plan(target)
        me = me or p.data.owners[0].model_copy(update={"share": "1", "is_applicant": True})
        data = ClaimCreate(**{**p.data.model_dump(), "submit": False, "owners": [me.model_dump()]})
        claim = do_create_claim(session, citizen, data)
        citizen = _principal(session, citizen.user_id or 0)  # linked to their person record on the first claim
        ref, v = claim.reference, 1
        if target == "draft":
            continue
        for photo in demo_photos():
            do_add_evidence(session, citizen, ref, photo.filename, photo.data, kind=photo.kind)

        def move(actor: Principal, to: State, ref: str = ref, approver: str = "commission2", **kw: Any) -> None:
            nonlocal v
            claim = do_transition(session, actor, ref, TransitionIn(to=to, expected_version=v, **kw))
            if kw.get("decision") is not None and pending_decision(session, claim.id) is not None:
                claim = do_review_award(session, who[approver], ref, approve=True,
                                        reason="Сума відповідає розрахунку за правилами.")
            v = claim.version

        move(citizen, State.SUBMITTED)
        if target == "auto_checked":
            continue
        if target == "withdrawn":
            move(citizen, State.WITHDRAWN, reason="Житло відновлено власним коштом.")
            continue
        move(who["officer"], State.ASSIGNED)
        move(who["officer"], State.INSPECTION_SCHEDULED, inspection_date=utcnow().date())
        move(who["inspector"], State.INSPECTED, inspection_act=gen.act(p.category, utcnow().date(), False))
        move(who["officer"], State.ASSESSED)
        rejected = target == "revised"
        move(who["commission"], State.REJECTED if rejected else State.APPROVED,
             decision=DecisionIn(reasons=NOT_PROVEN if rejected else APPROVED))
        if target == "approved":
            continue
        move(citizen, State.APPEALED, reason="Не погоджуюся з рішенням: право власності підтверджено витягом з реєстру.")
        move(who["commission2"], State(target), approver="commission3",
             decision=DecisionIn(reasons="Розглянуто скаргу та додані документи."))


def _certify(session: Session, payments: Principal, officer: Principal, gen: _Generator) -> None:
    """Housing certificates at every stage. The decisions issued them (one per co-owner, payments.certificate_issue);
    a claim a review held gets its certificates here. Then money for the paying agent's fund, and some
    certificates reserved, their homes' registrations ended and contracts signed (the seller paid by the batch)."""
    from everymetre.kernel.identifiers import claim_reference
    from everymetre.payments.certificate_fund import do_record_fund
    from everymetre.payments.certificates import (
        do_issue_certificate,
        do_reserve_funds,
        do_sign_contract,
        do_terminate_ownership,
    )
    from everymetre.payments.models import Certificate

    refs = session.execute(select(Claim.id, Claim.ref_year).where(
        Claim.kind == "destroyed_housing_application", Claim.state == State.APPROVED.value,
        Claim.awarded_amount_kopiykas > 0, Claim.review_flag.is_(None)).order_by(Claim.id).limit(CERTIFICATES)).all()
    certs: list[tuple[int, str, int]] = []
    for cid, year in refs:
        issued: list[tuple[int, str, int]] = [
            (int(c), str(n), int(v)) for c, n, v in session.execute(
                select(Certificate.claim_id, Certificate.number, Certificate.value_kopiykas)
                .where(Certificate.claim_id == cid, Certificate.state != "revoked"))]
        if not issued:
            issued = [(c.claim_id, c.number, c.value_kopiykas)
                      for c in do_issue_certificate(session, payments, claim_reference(year, cid))]
        certs += [(int(c), str(n), int(v)) for c, n, v in issued]
    to_reserve = [c for i, c in enumerate(certs) if i % 3 != 0]  # a third stay issued, waiting for a home
    if to_reserve:
        do_record_fund(session, payments, sum(v for _, _, v in to_reserve), f"DEMO-{gen.rnd.randrange(10**8)}")
    for i, (cid, number, value) in enumerate(certs):
        if i % 3 == 0:
            continue
        do_reserve_funds(session, payments, number)
        if i % 3 == 1:
            continue
        do_terminate_ownership(session, officer, number, f"ДРРП {gen.rnd.randrange(10**7, 10**8)}")
        do_sign_contract(session, officer, number, f"ДКП-{cid}-{i}", value, "ТОВ «Житлобуд»",
                         make_ua_iban("305299", 26_000_000 + cid * 10 + i % 10))


def _pay(session: Session, builder: Principal, approver: Principal, gen: _Generator) -> None:
    """One payment batch of everything payable: built, approved (a second officer releases it), exported,
    sent; then the bank's camt.053 for it, with a few transfers returned, reconciled."""
    from everymetre.payments.batches import (
        debtor_account,
        do_approve_batch,
        do_build_batch,
        do_export_batch,
        do_mark_sent,
        second_approval_above,
    )
    from everymetre.payments.camt053 import EntryStatus, StatementEntry, build_camt053
    from everymetre.payments.models import Payment
    from everymetre.payments.reconcile import do_reconcile

    report = do_build_batch(session, builder)
    if report.batch is None:
        return
    bid = report.batch.id
    if report.batch.total_kopiykas > second_approval_above():  # two approvals: the second (releasing) not the builder's
        do_approve_batch(session, builder, bid)
    do_approve_batch(session, approver, bid)
    with tempfile.TemporaryDirectory() as tmp:
        do_export_batch(session, approver, bid, Path(tmp) / f"batch-{bid}.xml")
    do_mark_sent(session, approver, bid)
    payments = session.execute(select(Payment.end_to_end_id, Payment.amount_kopiykas).where(Payment.batch_id == bid)
                               .order_by(Payment.id)).all()
    today = utcnow().date()
    entries = [StatementEntry(e2e, int(amount), EntryStatus.REJECTED, today, credit_debit="CRDT",
                              reason_code=gen.rnd.choice(("AC01", "AC04", "AM05")))
               if i % 50 == 7 else StatementEntry(e2e, int(amount), EntryStatus.BOOKED, today)
               for i, (e2e, amount) in enumerate(payments)]
    if entries:
        do_reconcile(session, approver, build_camt053(entries, account_iban=debtor_account().iban))


def _payouts(session: Session, payments: Principal, checker: Principal, officer: Principal, gen: _Generator) -> None:
    """Repair payouts at every stage: money spent (the bank's card file), tier B's interim report filed and
    accepted (its 30 % then waits for the next batch), a final report filed, one accepted (closed, the unspent
    balance back in the budget). An officer files the reports for the owners (as at a service centre)."""
    from everymetre.kernel.identifiers import claim_reference
    from everymetre.payments.card_transactions import do_import_card_transactions
    from everymetre.payments.models import Payment, RepairPayout
    from everymetre.payments.repair_reports import Upload, do_decide_repair_report, do_file_repair_report

    rows = session.execute(select(RepairPayout.claim_id, RepairPayout.amount_kopiykas, RepairPayout.tier, Claim.ref_year,
                                  Payment.end_to_end_id, RepairPayout.transferred_on)
                           .join(Claim, Claim.id == RepairPayout.claim_id).join(Payment, Payment.id == RepairPayout.payment_id)
                           .order_by(RepairPayout.id).limit(PAYOUTS)).all()
    lines = ["transaction_id,account,date,amount,mcc,merchant"]
    for i, (cid, amount, _tier, _year, e2e, on) in enumerate(rows):
        if i % 5:
            spent = max(1, int(amount) * 3 // 4)
            lines.append(f"DEMO-{cid}-1,{e2e},{on.isoformat()},{spent // 100}.{spent % 100:02d},5211,Епіцентр К")
            lines.append(f"DEMO-{cid}-2,{e2e},{on.isoformat()},12.50,5812,Кав'ярня")  # not counted: not a repair
    if len(lines) > 1:
        do_import_card_transactions(session, payments, ("\n".join(lines) + "\n").encode(), "demo-card-file.csv")
    photos = [Upload(p.filename, p.data) for p in demo_photos()]
    for i, (cid, _amount, tier, year, _e2e, _on) in enumerate(rows):
        ref = claim_reference(year, cid)
        stage = i % 5
        if stage < 2:
            continue  # funds transferred (nothing spent yet), or spending
        kind = "interim" if tier == "B" else "final"
        report = do_file_repair_report(session, officer, ref, kind, photos, note="Звіт про ремонт з фото.")
        if stage == 2:
            continue  # filed, waiting for the officer's check
        if stage == 3:
            do_decide_repair_report(session, checker, ref, report.id, False, reason="Додайте фото виконаних робіт зблизька.")
            continue
        do_decide_repair_report(session, checker, ref, report.id, True)


DOCUMENT = "Витяг з Державного реєстру речових прав на нерухоме майно"
APPROVED = "Право власності та пошкодження підтверджено актом обстеження."
OFF_AMOUNT = "Сума зменшена: частину робіт виконано за кошти страхової виплати."
NO_ENTITLEMENT = "За правилами програми права на компенсацію немає."
NOT_PROVEN = "Не підтверджено право власності."
CERTIFICATES = 30
PAYOUTS = 50
