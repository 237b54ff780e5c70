"""Concurrent writers: same claim -> one wins, the other gets a stale-version error; different claims never
wait for each other's audit chain (PostgreSQL; SQLite has one writer at a time by design)."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from everymetre.accounts.actions import load_principal
from everymetre.audit.models import AuditChain
from everymetre.audit.record import claim_chain
from everymetre.claims import access
from everymetre.claims import actions as svc
from everymetre.claims.schemas import ClaimCreate, TransitionIn
from everymetre.kernel.errors import StaleVersion
from everymetre.store.db import is_postgres, session_factory
from tests.factories import claim_body


def _file(engine, users) -> str:
    with session_factory(engine)() as s:
        return svc.do_create_claim(s, load_principal(s, users["citizen"]), ClaimCreate.model_validate(claim_body())).reference


def test_same_claim_same_version_one_wins(engine, users, db):
    ref = _file(engine, users)
    with session_factory(engine)() as s:
        version = access.get_claim(s, load_principal(s, users["officer"]), ref).version
    results: list[str] = []
    barrier = threading.Barrier(2)

    def act() -> None:
        with session_factory(engine)() as s:
            p = load_principal(s, users["officer"])
            s.commit()  # end the read, so that on SQLite neither thread holds the write lock at the barrier
            barrier.wait()
            try:
                svc.do_transition(s, p, ref, TransitionIn(to="assigned", reason="", expected_version=version))
                results.append("ok")
            except StaleVersion:
                results.append("stale")

    threads = [threading.Thread(target=act) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == ["ok", "stale"]
    with session_factory(engine)() as s:
        claim = access.get_claim(s, load_principal(s, users["officer"]), ref)
        assert claim.version == version + 1
        head = s.scalar(select(AuditChain.last_seq).where(AuditChain.chain == claim_chain(claim.id)))
        assert head == 4  # created, submitted, auto_checked, assigned: the loser wrote nothing


def test_different_claims_do_not_wait_on_each_other(engine, users, db):
    if not is_postgres(engine):
        pytest.skip("SQLite serialises all writers by design; the per-chain lock matters on PostgreSQL")
    a, b = _file(engine, users), _file(engine, users)
    with session_factory(engine)() as s:
        p = load_principal(s, users["officer"])
        vb = access.get_claim(s, p, b).version
    # hold claim A's transaction open (its chain head locked), then move claim B in another session
    holder = session_factory(engine)()
    p_hold = load_principal(holder, users["officer"])
    claim_a = access.get_claim(holder, p_hold, a)
    holder.execute(select(AuditChain).where(AuditChain.chain == claim_chain(claim_a.id)).with_for_update())
    try:
        t0 = time.perf_counter()
        with session_factory(engine)() as s:
            svc.do_transition(s, load_principal(s, users["officer"]), b, TransitionIn(to="assigned", reason="", expected_version=vb))
        assert time.perf_counter() - t0 < 2.0
    finally:
        holder.rollback()
        holder.close()
