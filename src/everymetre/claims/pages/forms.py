"""From HTML form fields to the API's own request schemas, and their errors back to plain words per field.

The pages never judge input themselves: they collect the fields, build `PropertyIn`, `OwnerIn`, `ClaimCreate`,
`TransitionIn`, `InspectionActIn`, `DecisionIn` (the same models the JSON API uses) and show what those say.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from everymetre.claims.lifecycle import ClaimKind, damage_date_problem
from everymetre.claims.payout_accounts import check_account
from everymetre.claims.schemas import ClaimCreate, OwnerIn, PropertyIn, RepresentativeIn
from everymetre.claims.values import PriorityGroup, parse_share, shares_problem
from everymetre.kernel.errors import DomainError, ErrorCode
from everymetre.kernel.text import text_problem
from everymetre.web.i18n import N_, gettext

HOME_FIELDS = ("kind", "oblast", "hromada", "street", "building", "apartment", "registry_number", "total_area_m2",
               "rooms", "year_built", "latitude", "longitude")
OWNER_FIELDS = ("full_name", "birth_date", "rnokpp", "share", "phone", "email", "bank_code", "iban")
REP_FIELDS = ("full_name", "rnokpp", "phone", "email", "document_type", "document_number", "issued_on", "valid_until",
              "notary_name")
EVENT_FIELDS = ("claim_kind", "damage_date", "description", "previous_claim")
WORK_FIELDS = ("description", "quantity", "unit", "unit_price")
MAX_OWNERS = 20
MAX_WORKS = 200

_MESSAGES = {
    "missing": N_("Fill this in."),
    "string_too_short": N_("Fill this in."),
    "string_too_long": N_("This is too long."),
    "string_pattern_mismatch": N_("Check the format of this answer."),
    "float_parsing": N_("Write a number, for example 50.4501."),
    "float_type": N_("Write a number, for example 50.4501."),
    "decimal_parsing": N_("Write a number, for example 84.5."),
    "decimal_type": N_("Write a number, for example 84.5."),
    "decimal_max_places": N_("Too many digits after the decimal point."),
    "int_parsing": N_("Write a whole number."),
    "int_type": N_("Write a whole number."),
    "date_parsing": N_("Write a date as year-month-day, for example 2024-03-15."),
    "date_from_datetime_parsing": N_("Write a date as year-month-day, for example 2024-03-15."),
    "date_type": N_("Write a date as year-month-day, for example 2024-03-15."),
    "enum": N_("Choose one of the options."),
    "literal_error": N_("Choose one of the options."),
    "greater_than": N_("This number is too small."),
    "greater_than_equal": N_("This number is too small."),
    "less_than": N_("This number is too large."),
    "less_than_equal": N_("This number is too large."),
    "too_long": N_("There are too many of these."),
    "too_short": N_("Add at least one."),
    "extra_forbidden": N_("This field is not expected."),
}


# refusals by their code, in the reader's language (never the English detail)
WORDS = {
    ErrorCode.IBAN_INVALID: N_("This is not a valid Ukrainian IBAN: it has 29 characters, starts with UA and its check "
                               "digits must match. Copy it from your bank's app or contract."),
    ErrorCode.BANK_NOT_PARTICIPATING: N_("This account is at a bank that does not take part in eRecovery. Open the "
                                         "special account at one of the banks in the list."),
    ErrorCode.BANK_IBAN_MISMATCH: N_("The IBAN belongs to another bank than the one you chose. Check the bank and "
                                     "the account number."),
    ErrorCode.NOT_A_PARTY: N_("Only an owner or the representative who filed this claim may change its account."),
    ErrorCode.OUT_OF_SCOPE: N_("This claim is outside your oblasts."),
    ErrorCode.ROLE_NOT_ALLOWED: N_("Your role may not do this."),
    ErrorCode.SEGREGATION_PROPOSED: N_("You made this award, so another commission member must approve or refuse it."),
    ErrorCode.SEGREGATION_INSPECTED: N_("You inspected this claim, so another commission member must approve the award."),
    ErrorCode.SEGREGATION_FIRST_DECIDER: N_("You made the decision that was appealed, so another commission member "
                                            "must approve this award."),
    ErrorCode.NO_AWARD_PENDING: N_("No award waits for approval on this claim."),
    ErrorCode.INVALID_TRANSITION: N_("This can no longer be done: the claim has moved on. Reload the page."),
    ErrorCode.AWARD_REASON_NEEDED: N_("The amount differs from the amount the rules computed: say why in the reason "
                                      "for the amount."),
    ErrorCode.AWARD_PENDING: N_("An award on this claim waits for a second commission member: approve or refuse it "
                                "first."),
}


def words_for(exc: DomainError) -> str:
    if exc.code in WORDS:
        return gettext(WORDS[exc.code])
    if exc.code is ErrorCode.VALIDATION and getattr(exc, "field", "") == "reason":
        return gettext("Give the reason.")
    return gettext("Some details need correcting")


def message(error: dict[str, Any]) -> str:
    """One pydantic error in plain words, in the page's language (domain sentences are translated too)."""
    kind = str(error.get("type", ""))
    if kind in _MESSAGES:
        return gettext(_MESSAGES[kind])
    return translate_domain(str(error.get("msg", "")).removeprefix("Value error, "))


_RANGE = re.compile(r"share '(.+)' must be more than 0 and at most 1")
_SUM = re.compile(r"co-owners' shares add up to (.+), not 1")
_FRACTION = re.compile(r"share '(.+)' is not a fraction such as 1/2 or 0.25")


def translate_domain(msg: str) -> str:
    """Domain sentences carry values; translate the known shapes, the fixed sentences through the catalogue."""
    for pattern, template in ((_RANGE, N_("The share %(value)s must be more than 0 and at most 1.")),
                              (_SUM, N_("The owners' shares add up to %(value)s; together they must make 1.")),
                              (_FRACTION, N_("The share %(value)s is not a fraction such as 1/2."))):
        if m := pattern.fullmatch(msg):
            return gettext(template, value=m.group(1))
    return gettext(msg)


def errors_by_field(exc: ValidationError, prefix: str = "") -> dict[str, str]:
    """{'home-total_area_m2': 'This number is too small.', ...}; whole-model errors under prefix + 'form'."""
    out: dict[str, str] = {}
    for e in exc.errors():
        loc = [str(p) for p in e.get("loc", ())]
        key = prefix + ("-".join(loc) if loc else "form")
        out.setdefault(key, message(e))  # type: ignore[arg-type]
    return out


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


MULTILINE_FIELDS = frozenset({"description", "reason", "reasons", "notes", "note"})


def hygiene_errors(answers: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Fields holding control or text-direction override characters, as {field: message in the page's
    language}; checked before anything is saved (a draft too: PostgreSQL cannot even store a NUL)."""
    errors: dict[str, str] = {}
    for name, value in answers.items():
        if isinstance(value, str):
            if problem := text_problem(value, multiline=name in MULTILINE_FIELDS):
                errors[prefix + name] = gettext(problem)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    errors.update(hygiene_errors(item, prefix=f"{prefix}{name}-{i}-"))
                elif isinstance(item, str) and (problem := text_problem(item)):
                    errors[f"{prefix}{name}"] = gettext(problem)
    return errors


def _blank_none(data: dict[str, str]) -> dict[str, Any]:
    return {k: (v if v != "" else None) for k, v in data.items()}


# ------------------------------------------------------------------------------------------------ home


def home_answers(form: FormData) -> dict[str, str]:
    return {f: text(form, f) for f in HOME_FIELDS}


def check_home(answers: dict[str, str]) -> tuple[PropertyIn | None, dict[str, str]]:
    data = dict.fromkeys(HOME_FIELDS) | _blank_none(answers)  # a draft never saved has no answers yet
    for required in ("kind", "oblast", "hromada", "street", "building", "total_area_m2"):
        data[required] = data[required] or ""
    if data["total_area_m2"]:
        data["total_area_m2"] = str(data["total_area_m2"]).replace(",", ".")
    for coord in ("latitude", "longitude"):
        if data[coord]:
            data[coord] = str(data[coord]).replace(",", ".")
    try:
        return PropertyIn(**data), {}
    except ValidationError as exc:
        errors = errors_by_field(exc)
        if "form" in errors and "apartment" in errors["form"].lower():
            errors["apartment"] = errors.pop("form")
        if "form" in errors and "latitude" in errors["form"].lower():
            errors["latitude"] = errors.pop("form")
        if "oblast" in errors:
            errors["oblast"] = gettext("Choose the oblast from the list.")
        return None, errors


# ------------------------------------------------------------------------------------------------ owners


def owner_rows(form: FormData) -> list[dict[str, str]]:
    rows = []
    for i in range(MAX_OWNERS):
        row = {f: text(form, f"owners-{i}-{f}") for f in OWNER_FIELDS}
        if f"owners-{i}-full_name" not in form:
            break
        rows.append(row)
    return rows


def owners_answers(form: FormData) -> dict[str, Any]:
    return {"rows": owner_rows(form), "representative": text(form, "representative") == "yes",
            "rep": {f: text(form, f"rep-{f}") for f in REP_FIELDS}}


def check_representative(answers: dict[str, Any]) -> tuple[RepresentativeIn | None, dict[str, str]]:
    """The representative's details and power of attorney ("I act for the owner"), or their errors as rep-*."""
    data = dict.fromkeys(REP_FIELDS, "") | {k: v for k, v in (answers.get("rep") or {}).items() if k in REP_FIELDS}
    for optional in ("phone", "email"):
        if not data[optional]:
            data[optional] = None
    for day in ("issued_on", "valid_until"):
        data[day] = data[day] or ""
    try:
        return RepresentativeIn(**data), {}
    except ValidationError as exc:
        errors = errors_by_field(exc, prefix="rep-")
        if "rep-form" in errors:  # the dates (schemas.attorney_date_problem), said in the page's words
            errors.pop("rep-form")
            issued, until = date.fromisoformat(data["issued_on"]), date.fromisoformat(data["valid_until"])
            if issued > date.today():
                errors["rep-issued_on"] = gettext("The date of issue cannot be in the future.")
            elif until < issued:
                errors["rep-valid_until"] = gettext("The power of attorney cannot expire before it was issued.")
            else:
                errors["rep-valid_until"] = gettext("This power of attorney has expired: a valid one is needed.")
        return None, errors


def _owner_in(row: dict[str, str], is_applicant: bool) -> dict[str, Any]:
    data = _blank_none(row)
    data["share"] = data["share"] or "1"
    for required in ("full_name", "birth_date", "rnokpp"):
        data[required] = data[required] or ""
    return {**data, "is_applicant": is_applicant}


def check_owners(answers: dict[str, Any]) -> tuple[list[OwnerIn] | None, dict[str, str]]:
    rows: list[dict[str, str]] = answers.get("rows") or []
    representative = bool(answers.get("representative"))
    errors: dict[str, str] = {}
    owners: list[OwnerIn] = []
    if not rows:
        return None, {"form": gettext("Add at least one owner.")}
    for i, row in enumerate(rows):
        try:
            owners.append(OwnerIn(**_owner_in(row, is_applicant=(i == 0 and not representative))))
        except ValidationError as exc:
            errors.update(errors_by_field(exc, prefix=f"owners-{i}-"))
    for i, o in enumerate(owners):
        if o.iban:  # a Ukrainian IBAN at a participating bank, of the bank chosen (claims.payout_accounts)
            try:
                check_account(o.iban, o.bank_code)
            except DomainError as exc:
                field = "bank_code" if exc.code is ErrorCode.BANK_IBAN_MISMATCH else "iban"
                errors[f"owners-{i}-{field}"] = words_for(exc)
        elif o.bank_code:
            errors[f"owners-{i}-iban"] = gettext("Enter the IBAN of the account at the bank you chose.")
    if representative:
        _, rep_errors = check_representative(answers)
        errors.update(rep_errors)
    if errors:
        return None, errors
    try:
        problem = shares_problem([parse_share(o.share) for o in owners])
    except ValueError as exc:
        problem = str(exc)
    if problem:
        return None, {"form": translate_domain(problem)}
    numbers = [o.rnokpp for o in owners]
    if len(set(numbers)) != len(numbers):
        return None, {"form": gettext("The same taxpayer number appears twice among the owners.")}
    if representative and (answers.get("rep") or {}).get("rnokpp", "").replace(" ", "") in numbers:
        return None, {"rep-rnokpp": gettext("You are one of the owners: choose “I am an owner”.")}
    return owners, {}


# ------------------------------------------------------------------------------------------------ event


def event_answers(form: FormData) -> dict[str, Any]:
    answers: dict[str, Any] = {f: text(form, f) for f in EVENT_FIELDS}
    answers["priority_groups"] = [p for p in form.getlist("priority_groups") if p in PriorityGroup.names()]
    return answers


def check_event(answers: dict[str, Any], today: date) -> dict[str, str]:
    errors: dict[str, str] = {}
    if answers.get("claim_kind") not in ("damage_report", "repair_application", "destroyed_housing_application"):
        errors["claim_kind"] = gettext("Choose what you are applying for.")
    try:
        damage = date.fromisoformat(answers.get("damage_date") or "")
    except ValueError:
        errors["damage_date"] = gettext(_MESSAGES["date_parsing"])
    else:
        if problem := damage_date_problem(damage, today):
            errors["damage_date"] = gettext(problem)
    if len(answers.get("description") or "") > 5000:
        errors["description"] = gettext(_MESSAGES["string_too_long"])
    return errors


# ------------------------------------------------------------------------------------------------ all


def claim_from_answers(data: dict[str, Any]) -> tuple[ClaimCreate | None, str | None, dict[str, str]]:
    """The draft's ClaimCreate, or the first step that needs attention and its errors."""
    home, errors = check_home(data.get("home") or {})
    if home is None:
        return None, "home", errors
    owners, errors = check_owners(data.get("owners") or {})
    if owners is None:
        return None, "owners", errors
    event = data.get("event") or {}
    answers = data.get("owners") or {}
    representative = check_representative(answers)[0] if answers.get("representative") else None
    try:
        claim = ClaimCreate(kind=event.get("claim_kind") or "", damage_date=event.get("damage_date") or "",
                            description=event.get("description") or "",
                            priority_groups=event.get("priority_groups") or [], property=home, owners=owners,
                            filed_as_representative=bool(answers.get("representative")),
                            representative=representative,
                            previous_claim=(event.get("previous_claim") or "").upper() or None, submit=False)
    except ValidationError as exc:
        errs = errors_by_field(exc)
        mapped = {("claim_kind" if k == "kind" else k): v for k, v in errs.items()}
        return None, "event", mapped
    if claim.kind is not ClaimKind.DESTROYED_HOUSING_APPLICATION and not owners[0].iban:
        # the money is paid to the first owner (the applicant): without an account it could never go out
        return None, "owners", {"owners-0-iban": gettext("Enter the IBAN of the special eRecovery account the money "
                                                         "is paid to, and choose its bank.")}
    return claim, None, {}
