"""Notifications over the JSON API: the signed-in person's inbox, and what was sent about a claim."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from everymetre.accounts import preferences
from everymetre.api.deps import AuthDep
from everymetre.api.problems import problem_responses
from everymetre.notifications import views

router = APIRouter(prefix="/api/v1", tags=["notifications"])


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    reference: str | None = Field(description="The claim the message is about")
    kind: str = Field(description="What it tells: submitted, documents_requested, deadline_reminder, approved, ...")
    channel: Literal["email", "sms", "inbox"]
    address: str | None = Field(description="The e-mail address or phone number it went to (none for the inbox)")
    language: str
    subject: str
    body: str
    status: Literal["pending", "sending", "sent", "failed"]
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    message_id: str = Field(description="The e-mail's Message-ID (the same on every resend)")
    last_error: str | None


@router.get("/me/notifications", response_model=list[NotificationOut], responses=problem_responses({}))
def my_notifications(auth: AuthDep, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[NotificationOut]:
    """The signed-in person's in-app messages, newest first."""
    return [NotificationOut.model_validate(n) for n in views.inbox(auth.session, auth.principal, limit)]


class ChannelsIO(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"email": True, "sms": False}]})

    email: bool = Field(description="Send news of my claims by e-mail too", strict=True)
    sms: bool = Field(description="Send news of my claims by SMS to the phone in the claim too", strict=True)


@router.get("/me/notification-channels", response_model=ChannelsIO, responses=problem_responses({}))
def my_channels(auth: AuthDep) -> ChannelsIO:
    """The channels the signed-in person chose (the in-app inbox is always on)."""
    c = preferences.channels(auth.session, auth.principal)
    return ChannelsIO(email=c.email, sms=c.sms)


@router.put("/me/notification-channels", response_model=ChannelsIO, responses=problem_responses({}))
def set_my_channels(body: ChannelsIO, auth: AuthDep) -> ChannelsIO:
    """Choose the channels for news of one's claims; audited on the account's trail."""
    c = preferences.do_set_channels(auth.session, auth.principal, email=body.email, sms=body.sms)
    return ChannelsIO(email=c.email, sms=c.sms)


@router.get("/claims/{reference}/notifications", response_model=list[NotificationOut],
            responses=problem_responses({404: "No claim by that reference that you can see"}))
def claim_notifications(reference: str, auth: AuthDep) -> list[NotificationOut]:
    """What was sent about the claim, to whom, on which channel and when (a claimant sees their own)."""
    return [NotificationOut.model_validate(n) for n in views.for_claim(auth.session, auth.principal, reference)]
