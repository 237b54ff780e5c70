"""everymetre.rules: pure compensation rules (Resolution 381 repair payment, Resolution 600 housing certificate).

No database, web or I/O other than reading the package's own YAML parameter files.  See README.md.

    from everymetre.rules import RuleSet, ClaimFacts, assess
    rs = RuleSet.load()
    result = assess(ClaimFacts(...), rs)         # one claim, with an explanation
    table = assess_frame(frame, rs)              # many claims, exactly the same answers
"""

from everymetre.rules.assess import (
    DECISION_FORMAT,
    Recheck,
    RuleSetMismatch,
    assess,
    decision_record,
    params_needed,
    recheck,
)
from everymetre.rules.eligibility import age_on
from everymetre.rules.model import (
    MAX_AREA_M2,
    MAX_WORKS_KOPIYKAS,
    PAYOUT_KINDS,
    PROPERTY_KINDS,
    REASON_BITS,
    REASONS,
    Assessment,
    ClaimFacts,
    InvalidClaim,
    OwnerPart,
    ParamUse,
    Step,
    reasons_from_mask,
)
from everymetre.rules.money import format_uah, format_uah_uk, round_half_up_div, split_by_shares
from everymetre.rules.parameters import (
    DEFAULT_PARAMS_DIR,
    OverrideError,
    Parameter,
    ParameterError,
    ParameterFileError,
    ParamValue,
    RulesNotInForce,
)
from everymetre.rules.ruleset import RuleSet
from everymetre.rules.simulate import BudgetChange, parse_effective_from, parse_overrides, simulate_budget
from everymetre.rules.vectorised import COLUMNS, assess_frame, facts_frame

__all__ = [
    "COLUMNS",
    "DECISION_FORMAT",
    "DEFAULT_PARAMS_DIR",
    "MAX_AREA_M2",
    "MAX_WORKS_KOPIYKAS",
    "PAYOUT_KINDS",
    "PROPERTY_KINDS",
    "REASONS",
    "REASON_BITS",
    "Assessment",
    "BudgetChange",
    "ClaimFacts",
    "InvalidClaim",
    "OverrideError",
    "OwnerPart",
    "ParamUse",
    "ParamValue",
    "Parameter",
    "ParameterError",
    "ParameterFileError",
    "Recheck",
    "RuleSet",
    "RuleSetMismatch",
    "RulesNotInForce",
    "Step",
    "age_on",
    "assess",
    "assess_frame",
    "decision_record",
    "facts_frame",
    "format_uah",
    "format_uah_uk",
    "params_needed",
    "parse_effective_from",
    "parse_overrides",
    "reasons_from_mask",
    "recheck",
    "round_half_up_div",
    "simulate_budget",
    "split_by_shares",
]
