"""What the payments modules share: dates, amounts in words, crash-test checkpoints, and the permission
subject of a claim or a batch (for `accounts.permissions.require`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.accounts.permissions import Subject
from everymetre.claims.access import is_party
from everymetre.claims.models import Claim
from everymetre.kernel.identifiers import claim_reference
from everymetre.payments.models import Certificate, Payment
from everymetre.payments.states import DEAD_PAYMENT

Checkpoint = Callable[[str], None]


def no_checkpoint(_step: str) -> None:
    return None


def today_utc() -> date:
    return datetime.now(UTC).date()


def uah(kopiykas: int) -> str:
    return f"UAH {kopiykas / 100:,.2f}"


def claim_subject(principal: Principal, claim: Claim) -> Subject:
    """A claim as the permission table judges it: its oblast, whether the actor is a party, who decided it."""
    decided = frozenset({claim.decided_by_id}) if claim.decided_by_id is not None else frozenset()
    return Subject(oblasts=frozenset({claim.oblast}), is_party=is_party(principal, claim), decided_by=decided,
                   decided_refs=(claim.reference,))


def batch_subject(session: Session, principal: Principal, batch_id: int, built_by_id: int | None = None,
                  approved_by_id: int | None = None) -> Subject:
    """A batch as the permission table judges it: the oblasts of the claims it pays, and which of them the actor
    decided (named in the refusal, at most five)."""
    live = (Payment.batch_id == batch_id, Payment.state.not_in(DEAD_PAYMENT))
    oblasts = frozenset(session.scalars(select(Claim.oblast).join(Payment, Payment.claim_id == Claim.id)
                                        .where(*live).distinct()))
    own: list[tuple[int, int]] = []
    me = principal.user_id
    if me is not None:
        own = [(i, y) for i, y in session.execute(
            select(Claim.id, Claim.ref_year).join(Payment, Payment.claim_id == Claim.id)
            .where(*live, Claim.decided_by_id == me).order_by(Claim.id).limit(5))]
    return Subject(oblasts=oblasts, decided_by=frozenset({me}) if own and me is not None else frozenset(),
                   decided_refs=tuple(claim_reference(y, i) for i, y in own), built_by_id=built_by_id,
                   approved_by_id=approved_by_id)


def seller_amount(cert: Certificate) -> int:
    """The programme pays the contract price up to the certificate's value, never more."""
    price = cert.contract_price_kopiykas or cert.value_kopiykas
    return min(price, cert.value_kopiykas)
