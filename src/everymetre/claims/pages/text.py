"""Words for the codes the store keeps: states, kinds, categories, audit actions (translated when shown)."""

from __future__ import annotations

from datetime import date, timedelta

from everymetre.claims.lifecycle import Move
from everymetre.claims.models import Claim
from everymetre.config import Settings
from everymetre.kernel.geography import BY_CODE, OBLASTS
from everymetre.web.i18n import N_, day, gettext, language

STATES = {
    "draft": N_("Draft, not yet sent"),
    "submitted": N_("Sent"),
    "auto_checked": N_("Received and checked automatically"),
    "assigned": N_("Being verified by an officer"),
    "suspended": N_("On hold: documents needed"),
    "inspection_scheduled": N_("Inspection arranged"),
    "inspected": N_("Inspected"),
    "remote_verified": N_("Verified remotely"),
    "assessed": N_("Amount calculated, awaiting the commission"),
    "approved": N_("Approved"),
    "rejected": N_("Refused"),
    "appealed": N_("Appeal under review"),
    "upheld": N_("Appeal decided: decision stands"),
    "revised": N_("Appeal decided: decision changed"),
    "withdrawn": N_("Withdrawn"),
    "duplicate": N_("Closed as a duplicate"),
}

NEXT_STEP = {
    "draft": N_("Finish the form and send it. Nothing happens until you send it."),
    "submitted": N_("We are checking your claim automatically."),
    "auto_checked": N_("An officer will take your claim for verification."),
    "assigned": N_("An officer is verifying your claim. They may arrange an inspection or ask for documents."),
    "suspended": N_("Send the documents asked for below. Your claim waits until you do."),
    "inspection_scheduled": N_("An inspector will visit your home on the date shown."),
    "inspected": N_("The inspection is done. An officer will calculate the amount."),
    "remote_verified": N_("The damage was confirmed from photos. An officer will calculate the amount."),
    "assessed": N_("The commission will decide on your claim."),
    "approved": N_("Your claim is approved. If you disagree with the amount, you may appeal."),
    "rejected": N_("Your claim was refused. You may appeal if you disagree."),
    "appealed": N_("Another commission member is reviewing your appeal."),
    "upheld": N_("The appeal is decided. The first decision stands."),
    "revised": N_("The appeal is decided. The decision was changed."),
    "withdrawn": N_("You withdrew this claim. Nothing more will happen."),
    "duplicate": N_("This claim repeats another one, which continues instead."),
}

CLAIM_KINDS = {
    "damage_report": N_("Report of damage"),
    "repair_application": N_("Money to repair a damaged home"),
    "destroyed_housing_application": N_("Housing certificate for a destroyed home"),
}
PROPERTY_KINDS = {"house": N_("House"), "apartment": N_("Apartment"), "room": N_("Room")}
PRIORITY = {"combatant": N_("Combatant"), "disability": N_("Person with a disability"),
            "large_family": N_("Large family")}
DAMAGE_CATEGORIES = {"minor": N_("Minor"), "moderate": N_("Moderate"), "severe": N_("Severe"),
                     "destroyed": N_("Destroyed")}
METHODS = {"on_site": N_("On site"), "remote_photo": N_("Remotely, from photos"),
           "remote_satellite": N_("Remotely, from satellite imagery")}
EVIDENCE_KINDS = {"photo": N_("Photo"), "photo_closeup": N_("Close-up photo"), "photo_wide": N_("Wide photo"),
                  "document": N_("Document (PDF)"), "power_of_attorney": N_("Power of attorney (scan)")}
ELEMENTS = (N_("Windows"), N_("Roof"), N_("Doors"), N_("Walls"), N_("Facade"), N_("Balcony"), N_("Heating"),
            N_("Wiring"), N_("Floors"), N_("Ceiling"))
ACTIONS = {
    "claim.created": N_("Claim started"),
    "claim.draft_updated": N_("Draft changed"),
    "claim.transition": N_("Status changed"),
    "evidence.added": N_("File added"),
    "claim.payout_account_set": N_("Payout account changed"),
    "claim.payout_account_returned": N_("The bank returned the payment: a new account is needed"),
    "claim.award_proposed": N_("Award proposed: waits for a second commission member"),
    "claim.award_approved": N_("Award approved by a second commission member"),
    "claim.award_refused": N_("Award refused by a second commission member"),
    "claim.power_of_attorney_checked": N_("The representative's power of attorney was checked"),
    "claim.power_of_attorney_replaced": N_("A new power of attorney was given: it waits for an officer's check"),
}


def t(table: dict[str, str], code: str | None) -> str:
    if code is None:
        return "—"
    return gettext(table[code]) if code in table else code


def oblast_name(code: str) -> str:
    o = BY_CODE.get(code)
    if o is None:
        return code
    return o.name_uk if language() == "uk" else o.name_en


UK_ALPHABET = "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя"
_UK_ORDER = {ch: i for i, ch in enumerate(UK_ALPHABET)}


def uk_collation_key(value: str) -> tuple[tuple[int, ...], str]:
    """Sort key in Ukrainian alphabetical order (а б в г ґ д е є ж з и і ї й ...; Python's code-point order puts
    є, і, ї, ґ after я): letters only, case and punctuation ignored at first, then the text itself."""
    letters = tuple(_UK_ORDER.get(ch, 100 + ord(ch)) for ch in value.casefold() if ch.isalnum())
    return letters, value


def sorted_by_name(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(code, name) pairs sorted by name in the page's language's alphabetical order."""
    if language() == "uk":
        return sorted(pairs, key=lambda c: uk_collation_key(c[1]))
    return sorted(pairs, key=lambda c: (c[1].casefold(), c[1]))


def oblast_choices(codes: list[str] | None = None) -> list[tuple[str, str]]:
    """The oblasts (all, or these codes) as (code, name), sorted by name in the page's language."""
    chosen = [o.code for o in OBLASTS] if codes is None else [c for c in codes if c in BY_CODE]
    return sorted_by_name([(c, oblast_name(c)) for c in chosen])


def move_label(move: Move) -> str:
    return move.label_uk if language() == "uk" else move.label_en


def decision_due(claim: Claim, settings: Settings) -> date | None:
    """The last day for a decision: `decision_due_days` calendar days from submission."""
    if claim.submitted_at is None:
        return None
    return claim.submitted_at.date() + timedelta(days=settings.decision_due_days)


def appeal_until(claim: Claim, settings: Settings) -> date | None:
    if claim.decided_at is None:
        return None
    return claim.decided_at.date() + timedelta(days=settings.appeal_window_days)


def deadline_line(claim: Claim, settings: Settings) -> str:
    """What the claimant is waiting for and by when, in one sentence (or '')."""
    state = claim.state
    if state == "suspended" and claim.suspension_deadline:
        return gettext("Send the documents by %(date)s.", date=day(claim.suspension_deadline))
    if state == "inspection_scheduled" and claim.inspection_date:
        return gettext("Inspection on %(date)s.", date=day(claim.inspection_date))
    if state in ("approved", "rejected") and (until := appeal_until(claim, settings)):
        return gettext("You may appeal until %(date)s.", date=day(until))
    due = decision_due(claim, settings)
    if due and state in ("submitted", "auto_checked", "assigned", "inspection_scheduled", "inspected",
                         "remote_verified", "assessed"):
        return gettext("A decision is due by %(date)s (%(days)s days from sending).", date=day(due),
                       days=settings.decision_due_days)
    return ""
