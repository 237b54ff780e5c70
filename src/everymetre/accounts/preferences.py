"""A person's own choices about their account: the channels that carry news of their claims (e-mail, SMS; the
inbox on "My claims" is always on)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.accounts.models import User
from everymetre.audit.record import record, user_chain
from everymetre.kernel.errors import NotFound
from everymetre.store.tx import atomic


@dataclass(frozen=True, slots=True)
class Channels:
    email: bool
    sms: bool


def channels(session: Session, principal: Principal) -> Channels:
    user = session.get(User, principal.user_id) if principal.user_id is not None else None
    if user is None:
        raise NotFound("There is no account to read choices of.")
    return Channels(email=user.notify_email, sms=user.notify_sms)


def do_set_channels(session: Session, principal: Principal, email: bool, sms: bool) -> Channels:
    """The signed-in person chooses their channels; audited on their account's chain (before and after)."""
    with atomic(session):
        user = session.get(User, principal.user_id, with_for_update=True) if principal.user_id is not None else None
        if user is None:
            raise NotFound("There is no account to set choices of.")
        before = {"email": user.notify_email, "sms": user.notify_sms}
        after = {"email": bool(email), "sms": bool(sms)}
        if before != after:
            user.notify_email, user.notify_sms = after["email"], after["sms"]
            record(session, user_chain(user.id), "user.channels_set", user.id, {"before": before, "after": after})
    return Channels(**after)
