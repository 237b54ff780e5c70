"""Domain exceptions. Each carries a stable `code` and the parameters a caller needs to tell a person what
went wrong and what to do; callers branch on the code, never on the English sentence.

The API maps them to RFC 9457 problem responses (`status`, `slug`, plus `code` and the parameters), the pages
to a sentence in the reader's language chosen by `code` (see `web.errors`), the CLI to one line and an exit code.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Stable error codes. Add one when a caller needs to tell a case apart; never rename one."""

    BAD_REQUEST = "bad_request"
    NOT_FOUND = "not_found"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    ROLE_NOT_ALLOWED = "role_not_allowed"  # params: action, roles, role
    OUT_OF_SCOPE = "out_of_scope"  # params: oblasts (the ones outside the actor's assignment)
    NOT_A_PARTY = "not_a_party"
    INVALID_TRANSITION = "invalid_transition"
    STALE_VERSION = "stale_version"
    CONFLICT = "conflict"
    VALIDATION = "validation"
    RULE_FORBIDS = "rule_forbids"
    TOO_LARGE = "too_large"
    TOO_MANY_ATTEMPTS = "too_many_attempts"  # params: retry_after (seconds)
    RESET_LINK_INVALID = "reset_link_invalid"  # a password-reset link unknown, used or expired
    SIGNUP_LINK_INVALID = "signup_link_invalid"  # a sign-up confirmation link unknown, used or expired
    UNSUPPORTED_MEDIA = "unsupported_media"
    # segregation of duties (accounts.permissions.Segregation)
    SEGREGATION_INSPECTED = "segregation_inspected"  # you inspected it; someone else decides
    SEGREGATION_DECIDED = "segregation_decided"  # params: references; you decided it, someone else pays
    SEGREGATION_FIRST_DECIDER = "segregation_first_decider"  # an appeal goes to another commission member
    SEGREGATION_BUILT = "segregation_built"  # you built the batch; someone else approves it
    SEGREGATION_FIRST_APPROVER = "segregation_first_approver"  # you gave the first approval; someone else the second
    SEGREGATION_FILED = "segregation_filed"  # you filed it for the applicant; someone else verifies it
    SEGREGATION_PROPOSED = "segregation_proposed"  # you made the award; another commission member approves it
    SECOND_APPROVAL_NEEDED = "second_approval_needed"  # params: batch_id, total, threshold
    BATCH_NOT_BUILT = "batch_not_built"  # params: batch_id, state
    BATCH_TOTAL_CHANGED = "batch_total_changed"  # params: batch_id, total, reviewed
    BATCH_FILE_CHANGED = "batch_file_changed"  # params: batch_id; its payments changed after the file was written
    REVIEW_HOLD = "review_hold"  # params: reference, flag; an open review finding holds the claim's money
    NOTHING_AWARDED = "nothing_awarded"  # params: reference, state
    DEADLINE_PASSED = "deadline_passed"  # params: deadline (spending_window|reservation|certificate), last_day
    ALREADY_REDEEMED = "already_redeemed"  # params: number, on
    PAYMENT_IN_FLIGHT = "payment_in_flight"  # params: number; the seller's payment is with the bank
    BATCH_BUILT_MEANWHILE = "batch_built_meanwhile"  # another build took the same claims (or your open batch) first
    APPEAL_WINDOW_CLOSED = "appeal_window_closed"  # params: days, last_day
    IDEMPOTENCY_KEY_INVALID = "idempotency_key_invalid"  # the Idempotency-Key header is not 1-255 visible ASCII
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"  # the key was used for a different request
    IDEMPOTENCY_IN_PROGRESS = "idempotency_in_progress"  # the first request with the key is still being served
    INSPECTOR_UNSUITABLE = "inspector_unsuitable"  # params: reason (not_inspector | inactive | out_of_scope)
    NOT_AWAITING_INSPECTION = "not_awaiting_inspection"  # params: state; inspectors are named before the inspection
    SECOND_PAYMENT_PENDING = "second_payment_pending"  # params: reference; tier B's 30 % has not reached the account
    REPORT_NOT_FILED = "report_not_filed"  # params: report_id, state; only a filed repair report is checked
    CERTIFICATE_NOT_USABLE = "certificate_not_usable"  # params: number, state; not valid, or not held by the buyers
    HOME_EXCLUDED = "home_excluded"  # params: katottg; the home is in a combat-zone or occupied hromada
    EVIDENCE_MISSING = "evidence_missing"  # params: missing {kind: {"have": n, "need": m}}; photos needed to submit
    IBAN_INVALID = "iban_invalid"  # the payout account's IBAN is not a valid (Ukrainian, 29-character) IBAN
    BANK_NOT_PARTICIPATING = "bank_not_participating"  # params: bank_code; the IBAN's bank is not in the list
    BANK_IBAN_MISMATCH = "bank_iban_mismatch"  # params: bank_code, iban_bank_code; the chosen bank is not the IBAN's
    AWARD_REASON_NEEDED = "award_reason_needed"  # params: amount, computed; an award other than computed needs a reason
    AWARD_PENDING = "award_pending"  # params: reference; a decision awaits a second commission member
    NO_AWARD_PENDING = "no_award_pending"  # params: reference; nothing to approve or refuse
    SELF_ADMINISTRATION = "self_administration"  # an administrator changing their own role, oblasts or account
    LAST_ADMIN = "last_admin"  # the change would leave no active administrator
    POWER_OF_ATTORNEY_UNCHECKED = "power_of_attorney_unchecked"  # params: state; an officer accepts it before verifying
    POWER_OF_ATTORNEY_NOT_VALID = "power_of_attorney_not_valid"  # params: reason (expired | future_dated), on
    POWER_OF_ATTORNEY_NOT_REPLACEABLE = "power_of_attorney_not_replaceable"  # params: state; only a refused or
    # expired power of attorney is replaced (an accepted or unchecked valid one stands)
    IDENTITY_NOT_MATCHED = "identity_not_matched"  # the RNOKPP and the second factor match no record (unknown or wrong)
    IDENTITY_TAKEN = "identity_taken"  # the person is already verified on another account
    REMOTE_PHOTO_MISSING = "remote_photo_missing"  # params: have, need, within_m; photos taken at the home


class DomainError(Exception):
    status: int = 400
    slug: str = "bad-request"
    title: str = "The request cannot be carried out"
    default_code: ErrorCode = ErrorCode.BAD_REQUEST

    def __init__(self, detail: str, code: ErrorCode | None = None, **params: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code
        self.params = params

    @property
    def extra(self) -> dict[str, Any]:
        """What a problem response carries besides the standard members: the code and its parameters."""
        return {"code": self.code.value, **self.params}


class NotFound(DomainError):
    status, slug, title, default_code = 404, "not-found", "Not found", ErrorCode.NOT_FOUND


class Unauthenticated(DomainError):
    status, slug, title, default_code = 401, "unauthenticated", "Sign-in required", ErrorCode.UNAUTHENTICATED


class Forbidden(DomainError):
    status, slug, title, default_code = 403, "forbidden", "Not allowed for your role", ErrorCode.FORBIDDEN


class InvalidTransition(DomainError):
    status, slug, title = 409, "invalid-transition", "This move is not possible from the claim's current state"
    default_code = ErrorCode.INVALID_TRANSITION


class StaleVersion(DomainError):
    status, slug, title = 409, "stale-version", "The claim has changed since you loaded it"
    default_code = ErrorCode.STALE_VERSION


class Conflict(DomainError):
    status, slug, title, default_code = 409, "conflict", "Conflict with existing data", ErrorCode.CONFLICT


class ValidationFailed(DomainError):
    """Input that is well-formed but breaks a rule; `field` names where (dotted path)."""

    status, slug, title, default_code = 422, "validation", "Some details need correcting", ErrorCode.VALIDATION

    def __init__(self, detail: str, field: str | None = None, code: ErrorCode | None = None, **params: Any) -> None:
        super().__init__(detail, code, **params)
        self.field = field


class GuardFailed(DomainError):
    """The move exists and the role may make it, but a rule forbids it now (segregation, deadline...)."""

    status, slug, title, default_code = 409, "rule-forbids", "A programme rule forbids this move", ErrorCode.RULE_FORBIDS


class PayloadTooLarge(DomainError):
    status, slug, title, default_code = 413, "too-large", "The file is too large", ErrorCode.TOO_LARGE


class UnsupportedMedia(DomainError):
    status, slug, title = 415, "unsupported-file", "This kind of file is not accepted"
    default_code = ErrorCode.UNSUPPORTED_MEDIA


class TooManyAttempts(DomainError):
    """Too many failed sign-ins (or sign-ups) for an account or from an address: wait `retry_after` seconds."""

    status, slug, title = 429, "too-many-attempts", "Too many attempts"
    default_code = ErrorCode.TOO_MANY_ATTEMPTS

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.retry_after = retry_after
