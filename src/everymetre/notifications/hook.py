"""Which audit events someone must hear about. Pure and import-free: the audit appender asks `wants()` on every
write, so an event nobody is told about costs one set lookup and no query."""

from __future__ import annotations

from typing import Any

# claim.transition's target state -> the notification's kind
TRANSITION_KINDS = {
    "submitted": "submitted",
    "suspended": "documents_requested",
    "inspection_scheduled": "inspection_scheduled",
    "assessed": "assessed",
    "approved": "approved",
    "rejected": "rejected",
    "upheld": "upheld",
    "revised": "revised",
}
ACTION_KINDS = {
    "certificate.issued": "certificate_issued",
    "certificate.funds_reserved": "certificate_reserved",
    "certificate.reservation_lapsed": "certificate_lapsed",
    "certificate.expired": "certificate_lapsed",
    "certificate.revoked": "certificate_revoked",  # revised on appeal: certificate_replaced (kind_of)
    "batch.sent": "payment_sent",  # one per payment in the batch
    "statement.reconciled": "payment_booked",  # booked and returned payments, one each
}
ACTIONS = frozenset({"claim.transition", *ACTION_KINDS})


def kind_of(action: str, payload: dict[str, Any]) -> str | None:
    """The notification `action` with `payload` causes, or None."""
    if action == "claim.transition":
        to = payload.get("to")
        if to == "assigned":
            return "resumed" if "resumed_after" in payload else None
        return TRANSITION_KINDS.get(to) if isinstance(to, str) else None
    if action == "certificate.revoked" and payload.get("reason") == "revised":
        return "certificate_replaced"  # the revised decision issued its replacement (told as certificate_issued)
    return ACTION_KINDS.get(action)


def wants(action: str, payload: dict[str, Any]) -> bool:
    return action in ACTIONS and kind_of(action, payload) is not None
