"""What the reviewers' pages call the linkage's codes: finding kinds, statuses, evidence fields and their coded
values, the fields shown side by side, the model's comparisons and levels. Marked for the catalogue (``N_``) and
translated on the page with ``t(table, code)``; a code missing here is shown as it is (and caught by the test
that every kind and evidence key has a label)."""

from __future__ import annotations

from everymetre.web.i18n import N_

__all__ = ["EVIDENCE", "FIELDS", "KINDS", "LEVELS", "STATUSES", "VALUES", "evidence_text", "t_status"]

KINDS = {
    "person_multiple_destroyed_claims": N_("One person, several destroyed-home claims"),
    "duplicate_claim": N_("The same claim filed twice"),
    "home_claimed_by_unrelated": N_("One home claimed by unrelated people"),
    "shares_do_not_add_up": N_("Ownership shares do not add up"),
    "iban_shared_by_unrelated": N_("One bank account for unrelated people"),
    "repeat_damage_unlinked": N_("Repeat damage not linked to the earlier claim"),
    "household_same_loss": N_("One household, one loss, separate claims"),
    "conflicting_claim_categories": N_("One home in claim categories that exclude each other"),
}
STATUSES = {
    "open": N_("Open"),
    "confirmed": N_("Confirmed"),
    "dismissed": N_("Dismissed"),
    "override_requested": N_("Override asked for, awaiting a second person"),
    "overridden": N_("Let through (override)"),
}
EVIDENCE = {
    "destroyed_housing_claims": N_("Destroyed-home claims"),
    "distinct_homes": N_("Different homes"),
    "homes": N_("Homes"),
    "same_person_by": N_("One person by"),
    "people": N_("People"),
    "surname_families": N_("Surname families"),
    "total_share": N_("Shares in total"),
    "inconsistent_people": N_("People declaring different shares"),
    "shares": N_("Shares"),
    "iban": N_("Bank account (IBAN)"),
    "claim": N_("Claim"),
    "damage_date": N_("Damage date"),
    "marked_redamage": N_("Marked as repeat damage"),
    "previous_claim_ref": N_("Earlier claim named"),
    "earlier_claims": N_("Earlier claims on the home"),
    "earliest_damage": N_("Earliest damage"),
    "claim_kind": N_("Kind of claim"),
    "claims": N_("Claims"),
    "damage_dates": N_("Damage dates"),
    "household_ties": N_("One household by"),
    "shares_total": N_("Shares the filers declare, in total"),
    "conflicts": N_("What excludes each other"),
    "claims_by_category": N_("Claims by category"),
}
#: coded values inside the evidence (ties, conflicts, claim and home kinds, yes / no)
VALUES = {
    "same_surname_family": N_("the same surname family"),
    "parent_and_child": N_("a patronymic made from the other's given name (parent and child)"),
    "same_phone": N_("the same phone"),
    "same_bank_account": N_("the same bank account"),
    "co_owner_on_other_claim": N_("named as a co-owner on the other's claim"),
    "repair_and_destroyed": N_("a repair claim and a destroyed-home claim for one loss"),
    "house_and_apartment": N_("claimed as a house and as an apartment"),
    "damage_report": N_("Report of damage"),
    "repair_application": N_("Money to repair a damaged home"),
    "destroyed_housing_application": N_("Housing certificate for a destroyed home"),
    "house": N_("House"),
    "apartment": N_("Apartment"),
    "room": N_("Room"),
    "True": N_("yes"),
    "False": N_("no"),
}
#: the fields shown side by side (queries.COMPARE_FIELDS) and the comparisons named in "one person by"
FIELDS = {
    "surname": N_("Surname"),
    "given_name": N_("Given name"),
    "patronymic": N_("Patronymic"),
    "birth_date": N_("Birth date"),
    "rnokpp": N_("Taxpayer number (RNOKPP)"),
    "phone": N_("Phone"),
    "iban": N_("Bank account (IBAN)"),
    "home": N_("Home address or registry number"),
    "oblast": N_("Oblast"),
    "city": N_("City or hromada"),
    "street": N_("Street"),
    "building": N_("Building"),
    "apartment": N_("Apartment"),
    "registry_number": N_("Registry object number"),
    "property_kind": N_("Kind of home"),
    "area_m2": N_("Area, m²"),
    "share": N_("Share"),
    "claim_kind": N_("Kind of claim"),
    "damage_date": N_("Damage date"),
    "is_redamage": N_("Repeat damage"),
    "previous_claim_ref": N_("Earlier claim"),
}
#: the model's comparison levels as named in a pair's evidence ("surname: exact; birth_date: ...")
LEVELS = {
    "exact": N_("exact"),
    "same spelling key": N_("same spelling key"),
    "swapped with the other name": N_("swapped with the other name"),
    "the same as the other record's other name": N_("the same as the other record's other name"),
    "jaro-winkler >= 0.92": N_("very similar spelling"),
    "jaro-winkler >= 0.90": N_("very similar spelling"),
    "jaro-winkler >= 0.80": N_("similar spelling"),
    "same consonants": N_("same consonants"),
    "day and month swapped": N_("day and month swapped"),
    "one character differs": N_("one character differs"),
    "one digit differs": N_("one digit differs"),
    "same registry number": N_("same registry number"),
    "same address": N_("same address"),
    "same building": N_("same building"),
    "same street and building, another spelling of the place": N_("same street and building, another spelling of the place"),
    "same street": N_("same street"),
    "same city": N_("same city"),
}


def evidence_text(text: str | None) -> str:
    """A pair's evidence ("surname: exact; birth_date: day and month swapped") in the page's language."""
    from everymetre.web.i18n import gettext as _

    parts = []
    for part in (text or "").split("; "):
        name, _sep, level = part.partition(": ")
        if not part:
            continue
        parts.append(f"{_(FIELDS[name]) if name in FIELDS else name}: {_(LEVELS[level]) if level in LEVELS else level}")
    return "; ".join(parts)


def t_status(status: str) -> str:
    from everymetre.web.i18n import gettext as _

    return _(STATUSES[status]) if status in STATUSES else status
