"""Which person an account is: its verified RNOKPP (`users.verified_rnokpp`, unique), set once the person proved
it (claims.identity: the RNOKPP and the date of birth the claims hold; or, at an identity provider's sign-in, the
RNOKPP its ID token carries, docs/identity.md). Audited on the account's chain, `user.identity_verified`, and a
refusal because another account holds the person, `user.identity_refused`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from everymetre.accounts.models import User
from everymetre.accounts.roles import Role
from everymetre.audit.record import record, user_chain
from everymetre.config import Settings
from everymetre.kernel.errors import Conflict, ErrorCode
from everymetre.kernel.identifiers import mask, rnokpp_problem
from everymetre.store.types import utcnow

TAKEN = "This person's identity is already verified on another account. Sign in to that account, or ask the " \
        "service centre to close it."


def set_verified(session: Session, user: User, rnokpp: str, through: str, now: datetime | None = None) -> bool:
    """Mark `user` as the person with `rnokpp` (inside the caller's transaction); False if it already was. Another
    account verified as the same person: Conflict (identity_taken), recorded on this account's chain."""
    now = now or utcnow()
    if user.verified_rnokpp == rnokpp:
        return False
    holder = session.scalar(select(User.id).where(User.verified_rnokpp == rnokpp, User.id != user.id))
    if holder is not None or user.verified_rnokpp is not None:
        raise Conflict(TAKEN if holder is not None else "This account is already verified as another person.",
                       ErrorCode.IDENTITY_TAKEN)
    user.verified_rnokpp, user.verified_at, user.verified_through = rnokpp, now, through
    session.flush()
    record(session, user_chain(user.id), "user.identity_verified", user.id,
           {"through": through, "rnokpp": mask(rnokpp)}, at=now)
    return True


def rnokpp_from_oidc(settings: Settings, claims: dict[str, Any]) -> str | None:
    """The RNOKPP an identity provider's (verified) ID token carries in the configured claim, if a valid one."""
    raw = claims.get(settings.oidc_rnokpp_claim)
    value = str(raw).replace(" ", "") if isinstance(raw, str | int) else ""
    return value if value and rnokpp_problem(value) is None else None


def verify_at_oidc_sign_in(session: Session, settings: Settings, user: User, claims: dict[str, Any]) -> None:
    """With `EVERYMETRE_IDENTITY_SECOND_FACTOR=oidc`, a claimant signing in through the provider is verified as
    the person whose RNOKPP the ID token carries (the provider checked the person: BankID, Diia). Inside the
    sign-in's transaction; a person verified on another account does not stop the sign-in, it is only refused
    (and recorded) as a verification."""
    if settings.identity_second_factor != "oidc" or user.role != Role.CLAIMANT.value:
        return
    rnokpp = rnokpp_from_oidc(settings, claims)
    if rnokpp is None:
        return
    if user.verified_rnokpp not in (None, rnokpp) or session.scalar(
            select(User.id).where(User.verified_rnokpp == rnokpp, User.id != user.id)) is not None:
        record(session, user_chain(user.id), "user.identity_refused", user.id,
               {"through": "oidc", "rnokpp": mask(rnokpp), "because": "identity_taken"})
        return
    set_verified(session, user, rnokpp, "oidc")
