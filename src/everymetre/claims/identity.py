"""Verifying a claimant's account as a person: the RNOKPP plus the second factor the programme configures
(`EVERYMETRE_IDENTITY_SECOND_FACTOR`, docs/identity.md). Once verified, "My claims" lists every claim (no longer
a draft) naming that person as applicant or co-owner, whoever filed it: a service centre, a representative, an
import (claims.access.is_party / visible_claims).

`birth_date`: the date of birth must be the one a claim or the register holds for that RNOKPP. An unknown RNOKPP
and a wrong date get the same answer and are counted like failed sign-ins (accounts.throttle: per account and
per client address; 429 with Retry-After once locked, before anything is looked up). `oidc`: verification happens
at the identity provider's sign-in (accounts.identity.verify_at_oidc_sign_in); this form is not offered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from everymetre.accounts import throttle
from everymetre.accounts.actions import Principal
from everymetre.accounts.identity import set_verified
from everymetre.accounts.models import User
from everymetre.accounts.permissions import Action, require
from everymetre.claims.models import Person
from everymetre.config import Settings
from everymetre.kernel.errors import ErrorCode, Forbidden, ValidationFailed
from everymetre.kernel.identifiers import mask, rnokpp_problem
from everymetre.store.tx import atomic
from everymetre.store.types import utcnow

NOT_MATCHED = "The taxpayer number and the date of birth do not match our records."


@dataclass(frozen=True, slots=True)
class Status:
    verified: bool
    rnokpp_masked: str | None
    through: str | None
    at: datetime | None
    factor: str  # the programme's second factor: birth_date | oidc


def status(session: Session, settings: Settings, principal: Principal) -> Status:
    require(principal.actor, Action.IDENTITY_VERIFY)
    user = session.get(User, principal.user_id)
    assert user is not None
    return Status(user.verified_rnokpp is not None, mask(user.verified_rnokpp), user.verified_through,
                  user.verified_at, settings.identity_second_factor)


def limits(settings: Settings, principal: Principal, address: str | None) -> list[throttle.Limit]:
    return [throttle.Limit(f"identity:{principal.user_id}", settings.signin_max_failures_account),
            throttle.Limit(throttle.address_key(address, "identity-address"), settings.signin_max_failures_address)]


def do_verify_identity(session: Session, settings: Settings, principal: Principal, rnokpp: str,
                       birth_date: date | None, address: str | None, now: datetime | None = None) -> bool:
    """Verify the signed-in claimant as the person with `rnokpp` born on `birth_date`; True if newly verified.

    Refusals: a malformed RNOKPP (422, it names no one), a locked key (429), no record with that RNOKPP and date
    of birth, unknown and wrong alike (422 identity_not_matched, counted), the person verified on another
    account (409 identity_taken). Audited on the account's chain (accounts.identity)."""
    now = now or utcnow()
    require(principal.actor, Action.IDENTITY_VERIFY)
    if settings.identity_second_factor != "birth_date":
        raise Forbidden("This programme verifies identity through its identity provider: sign in with it.",
                        ErrorCode.FORBIDDEN)
    rnokpp = rnokpp.replace(" ", "").strip()
    if problem := rnokpp_problem(rnokpp):
        raise ValidationFailed(problem, field="rnokpp")
    if birth_date is None:
        raise ValidationFailed("Give the date of birth.", field="birth_date")
    keys = limits(settings, principal, address)
    throttle.refuse_if_locked(session, [k.key for k in keys], now)
    matched = session.scalar(select(exists().where(Person.rnokpp == rnokpp, Person.birth_date == birth_date)))
    if not matched:
        throttle.count_attempt(session, settings, keys, address, now)
        raise ValidationFailed(NOT_MATCHED, field="rnokpp", code=ErrorCode.IDENTITY_NOT_MATCHED)
    with atomic(session):
        user = session.get(User, principal.user_id, with_for_update=True)
        assert user is not None
        session.execute(throttle.delete_key(keys[0].key))
        return set_verified(session, user, rnokpp, "birth_date", now)
