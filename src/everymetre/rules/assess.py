"""One claim: facts -> Assessment with a readable explanation; stored decisions and their recheck."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from everymetre.rules import certificate, eligibility, repair
from everymetre.rules.model import Assessment, ClaimFacts, OwnerPart, Step
from everymetre.rules.money import format_uah, format_uah_uk, split_by_shares
from everymetre.rules.parameters import ParameterError
from everymetre.rules.ruleset import RuleSet

__all__ = ["DECISION_FORMAT", "Recheck", "RuleSetMismatch", "assess", "decision_record", "params_needed", "recheck"]

DECISION_FORMAT = "everymetre.rules.decision/1"


class RuleSetMismatch(ParameterError):
    """A stored decision was made under a rule set other than the one offered to recheck it."""


def params_needed(payout_kind: str) -> tuple[str, ...]:
    """Every parameter a payout kind needs in force on the assessment date."""
    return eligibility.PARAMS + (repair.PARAMS if payout_kind == "repair" else certificate.PARAMS)


def assess(facts: ClaimFacts, ruleset: RuleSet) -> Assessment:
    """Eligibility and amount of one claim under the rules in force on ``facts.assessment_date``.

    Raises ``RulesNotInForce`` if a parameter the payout needs has no value on that date (whether or
    not the claim turns out eligible, so that the vectorised path behaves the same).
    """
    on = facts.assessment_date
    p = ruleset.resolve(params_needed(facts.payout_kind), on)
    reasons, steps = eligibility.check(facts, p)
    eligible = not reasons
    amount, tier, months, interim, capped = 0, None, None, False, False
    if eligible and facts.payout_kind == "repair":
        r = repair.compute(facts, p)
        amount, tier, months, interim, capped = r.amount_kopiykas, r.tier, r.spending_months, r.interim_report_required, r.capped
        steps.extend(r.steps)
    elif eligible:
        c = certificate.compute(facts, ruleset, p)
        amount, months = c.amount_kopiykas, c.validity_months
        steps.extend(c.steps)
    else:
        steps.append(Step(
            "result.not_eligible",
            f"Not eligible ({', '.join(reasons)}): nothing is paid.",
            f"Право на компенсацію відсутнє ({', '.join(reasons)}): виплата не здійснюється.",
            "amount = 0 when any eligibility check fails", {}, format_uah(0)))
    parts = split_by_shares(amount, [s for _, s in facts.co_owners])
    split = tuple(OwnerPart(o, s, a) for (o, s), a in zip(facts.co_owners, parts, strict=True))
    if eligible and len(split) > 1:
        steps.append(Step(
            "split",
            "Split between co-owners by their shares: " + "; ".join(f"{x.owner_id} {x.share} -> {format_uah(x.amount_kopiykas)}" for x in split)
            + ". Kopiykas left by rounding down go one each to the largest remainders (first listed on a tie).",
            "Розподіл між співвласниками за їхніми частками: " + "; ".join(f"{x.owner_id} {x.share} -> {format_uah_uk(x.amount_kopiykas)}" for x in split)
            + ". Копійки, що залишилися після округлення вниз, отримують по одній власники з найбільшими залишками (за рівності — перший у списку).",
            "part_i = C x share_i (largest remainder)", {x.owner_id: str(x.share) for x in split},
            "; ".join(f"{x.owner_id}: {format_uah(x.amount_kopiykas)}" for x in split)))
    used = sorted({u.name for s in steps for u in s.params if u.illustrative})
    return Assessment(
        eligible=eligible,
        reasons=tuple(reasons),
        payout_kind=facts.payout_kind,
        amount_kopiykas=amount,
        tier=tier,  # type: ignore[arg-type]
        spending_months=months,
        interim_report_required=interim,
        capped=capped,
        split=split,
        steps=tuple(steps),
        ruleset_hash=ruleset.hash,
        assessment_date=on,
        illustrative_parameters=tuple(used),
    )


def decision_record(facts: ClaimFacts, assessment: Assessment) -> dict[str, Any]:
    """JSON-able record of a decision: rule-set hash, inputs and result (store it; recheck it later)."""
    return {
        "format": DECISION_FORMAT,
        "ruleset_hash": assessment.ruleset_hash,
        "facts": facts.to_dict(),
        "assessment": assessment.to_dict(),
    }


@dataclass(frozen=True, slots=True)
class Recheck:
    """Result of recomputing a stored decision: ``differs`` and which fields differ (stored vs now)."""

    differs: bool
    differences: dict[str, tuple[Any, Any]]
    recomputed: Assessment

    def __bool__(self) -> bool:  # ``if recheck(stored): ...`` reads as "if it differs"
        return self.differs


def recheck(stored: dict[str, Any], ruleset: RuleSet | None = None) -> Recheck:
    """Recompute a stored decision with the rule set of the same hash and report any difference.

    ``ruleset`` defaults to ``RuleSet.load()``; pass the stored rule set (``RuleSet.from_canonical_json``)
    for decisions made under an older or overridden one.  Raises ``RuleSetMismatch`` if its hash is not
    the stored one: a different rule set cannot confirm a decision.
    """
    if stored.get("format") != DECISION_FORMAT:
        raise ValueError(f"not a stored decision of format {DECISION_FORMAT!r}")
    rs = ruleset if ruleset is not None else RuleSet.load()
    if rs.hash != stored["ruleset_hash"]:
        raise RuleSetMismatch(
            f"the decision was made under rule set {stored['ruleset_hash']}, but the rule set offered is {rs.hash}"
        )
    facts = ClaimFacts.from_dict(stored["facts"])
    now = assess(facts, rs)
    before = stored["assessment"]
    after = now.to_dict()
    diffs = {k: (before.get(k), after[k]) for k in after if before.get(k) != after[k]}
    return Recheck(bool(diffs), diffs, now)

