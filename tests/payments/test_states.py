"""The payments state machines (payments.states): the move tables agree with the database's CHECK constraints,
every state is reachable, refusals name where a move can be made from, and every move names a permission."""

from __future__ import annotations

import re

import pytest

from everymetre.accounts.permissions import PERMISSIONS
from everymetre.kernel.errors import ErrorCode, InvalidTransition
from everymetre.payments.certificate_models import CertificateReservation
from everymetre.payments.models import Certificate, Payment, PaymentBatch, StatementLine
from everymetre.payments.states import (
    BATCH,
    CERTIFICATE,
    PAYMENT,
    PAYOUT,
    STATEMENT_ENTRY,
    BatchState,
    Machine,
    ReservationState,
)

MACHINES = [BATCH, PAYMENT, PAYOUT, CERTIFICATE, STATEMENT_ENTRY]


def _check_states(model) -> set[str]:
    for c in model.__table__.constraints:
        text = str(getattr(c, "sqltext", ""))
        if text.startswith("state IN ("):
            return set(re.findall(r"'([a-z_]+)'", text))
    raise AssertionError(f"{model.__tablename__} has no state CHECK")


@pytest.mark.parametrize(("machine", "model"), [(BATCH, PaymentBatch), (PAYMENT, Payment), (STATEMENT_ENTRY, StatementLine),
                                              (CERTIFICATE, Certificate)])
def test_tables_match_the_database(machine: Machine, model) -> None:
    assert set(machine.states) == _check_states(model)


def test_reservation_states_match_the_database() -> None:
    assert {s.value for s in ReservationState} == _check_states(CertificateReservation)


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.noun)
def test_every_state_reached_and_every_move_authorised(machine: Machine) -> None:
    reached = set(machine.initial) | {m.target for m in machine.moves.values()}
    assert reached == set(machine.states)
    assert all(m.action in PERMISSIONS for m in machine.moves.values())


def test_refusal_names_the_states_a_move_needs() -> None:
    assert BATCH.can(BatchState.BUILT, BatchState.APPROVED)
    with pytest.raises(InvalidTransition, match="Batch 7 is sent; only a batch that is built or approved or exported can be cancelled") as e:
        BATCH.move(BatchState.SENT, BatchState.CANCELLED, "7")
    assert e.value.code is ErrorCode.INVALID_TRANSITION
    assert e.value.params == {"machine": "batch", "state": "sent", "target": "cancelled", "allowed": ["built", "approved", "exported"]}


def test_documented_machines_are_the_move_tables() -> None:
    """docs/architecture.md draws each payments state machine; the drawing is the table, roles included."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "architecture.md").read_text()
    section = doc.split("## The payment state machines", 1)[1].split("\n## ", 1)[0]
    blocks = [b.split("```", 1)[0] for b in section.split("stateDiagram-v2")[1:]]
    assert len(blocks) == len(MACHINES)
    for machine, block in zip(MACHINES, blocks, strict=True):
        documented = {}
        for line in (raw.strip() for raw in block.splitlines()):
            if "-->" in line:
                edge, label = line.split(": ", 1)
                action, roles = label.split(" (", 1)
                documented[tuple(edge.split(" --> "))] = (action, sorted(roles.rstrip(")").split(", ")))
        actual = {k: (m.action.value, sorted(r.value for r in PERMISSIONS[m.action].roles)) for k, m in machine.moves.items()}
        assert documented == actual, machine.noun
