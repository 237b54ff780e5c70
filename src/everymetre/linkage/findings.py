"""Findings for the review queue, computed from person and property clusters.

Kinds (:data:`FINDING_KINDS`):

* ``person_multiple_destroyed_claims`` — one person holds two or more destroyed-housing applications;
* ``home_claimed_by_unrelated`` — one home is claimed by people of two or more surname families;
* ``shares_do_not_add_up`` — co-owners' shares of one home add up to more than the whole, or one person
  declares different shares in different claims;
* ``iban_shared_by_unrelated`` — one bank account is given by people of two or more surname families;
* ``repeat_damage_unlinked`` — a claim on a home that already has a claim for earlier damage, without a
  (valid) link to it;
* ``household_same_loss`` and ``conflicting_claim_categories`` — see :mod:`.households` (members of one
  household claiming one loss separately; one home in claim categories that must not both be paid).

"Related" means sharing a surname family key (Петров/Петрова, transliterations and feminine forms folded), a
deliberately simple rule: a spouse who kept another surname looks unrelated, and the reviewer decides.
Scores are in (0, 1], higher is more suspicious; they order the queue, they are not probabilities.
"""

from __future__ import annotations

import polars as pl

from everymetre.linkage.households import HOUSEHOLD_KINDS, conflicting_categories, household_same_loss

__all__ = ["FINDINGS_SCHEMA", "FINDING_KINDS", "compute_findings"]

FINDING_KINDS = (
    "person_multiple_destroyed_claims",
    "home_claimed_by_unrelated",
    "shares_do_not_add_up",
    "iban_shared_by_unrelated",
    "repeat_damage_unlinked",
    *HOUSEHOLD_KINDS,
)

FINDINGS_SCHEMA: dict[str, pl.DataType] = {
    "finding_id": pl.String(),
    "kind": pl.String(),
    "score": pl.Float64(),
    "record_ids": pl.List(pl.String()),
    "claim_refs": pl.List(pl.String()),
    "person_clusters": pl.List(pl.String()),
    "property_cluster": pl.String(),
    "evidence": pl.String(),  # JSON object
}

_SHARE_TOLERANCE = 1e-3


def _json(struct_cols: list[str]) -> pl.Expr:
    return pl.struct(struct_cols).struct.json_encode()


def _finish(df: pl.DataFrame, kind: str, evidence_cols: list[str]) -> pl.DataFrame:
    if df.height == 0:
        return pl.DataFrame(schema=FINDINGS_SCHEMA)
    if "property_cluster" not in df.columns:
        df = df.with_columns(pl.lit(None, dtype=pl.String).alias("property_cluster"))
    return df.with_columns(
        kind=pl.lit(kind),
        finding_id=pl.lit(kind + ":") + pl.col("record_ids").list.first(),
        evidence=_json(evidence_cols),
    ).select(list(FINDINGS_SCHEMA)).cast(FINDINGS_SCHEMA)  # type: ignore[arg-type]


def compute_findings(records: pl.DataFrame, person_link_fields: pl.DataFrame | None = None) -> pl.DataFrame:
    """Compute all findings.

    ``records`` needs: record_id, claim_ref, person_cluster, property_cluster, surname_f (surname family key),
    claim_kind, share_f (float), is_redamage, previous_claim_ref, damage_date, iban_n; with given_k, patronymic_k
    and phone_n the household findings, with property_kind the category conflicts.
    ``person_link_fields`` (person_cluster, linked_by: list of field names) adds to the evidence which fields
    tied a person's records together.
    Returns a DataFrame with :data:`FINDINGS_SCHEMA`, most suspicious first.
    """
    family = (
        records.filter(pl.col("surname_f").is_not_null())
        .group_by("person_cluster", "surname_f")
        .len()
        .sort("len", "surname_f", descending=[True, False])
        .unique("person_cluster", keep="first", maintain_order=True)
        .select("person_cluster", pl.col("surname_f").alias("family"))
    )
    recs = records.join(family, on="person_cluster", how="left")
    if person_link_fields is not None:
        recs = recs.join(person_link_fields, on="person_cluster", how="left")
    else:
        recs = recs.with_columns(pl.lit(None, dtype=pl.List(pl.String)).alias("linked_by"))

    parts = [
        _multiple_destroyed(recs),
        _home_unrelated(recs),
        _shares(recs),
        _iban_unrelated(recs),
        _repeat_unlinked(recs),
    ]
    if {"given_k", "patronymic_k", "phone_n"} <= set(recs.columns):
        parts.append(_finish(household_same_loss(recs), "household_same_loss",
                             ["people", "claims", "household_ties", "damage_dates", "shares_total"]))
    if "property_kind" in recs.columns:
        parts.append(_finish(conflicting_categories(recs), "conflicting_claim_categories",
                             ["conflicts", "claims_by_category"]))
    return pl.concat(parts).sort(["score", "kind", "finding_id"], descending=[True, False, False])


def _multiple_destroyed(recs: pl.DataFrame) -> pl.DataFrame:
    g = (
        recs.filter(pl.col("claim_kind") == "destroyed_housing_application")
        .group_by("person_cluster")
        .agg(
            record_ids=pl.col("record_id").sort(),
            claim_refs=pl.col("claim_ref").unique().sort(),
            homes=pl.col("property_cluster").unique().sort(),
            linked_by=pl.col("linked_by").first(),
        )
        .with_columns(
            destroyed_housing_claims=pl.col("claim_refs").list.len(),
            distinct_homes=pl.col("homes").list.len(),
        )
        .filter(pl.col("destroyed_housing_claims") >= 2)
        .with_columns(
            score=pl.min_horizontal(
                pl.lit(1.0),
                0.6 + 0.15 * (pl.col("distinct_homes") - 1) + 0.05 * (pl.col("destroyed_housing_claims") - 2),
            ),
            person_clusters=pl.concat_list(pl.col("person_cluster")),
            same_person_by=pl.col("linked_by"),
        )
    )
    return _finish(g, "person_multiple_destroyed_claims",
                   ["destroyed_housing_claims", "distinct_homes", "homes", "same_person_by"])


def _home_unrelated(recs: pl.DataFrame) -> pl.DataFrame:
    g = (
        recs.group_by("property_cluster")
        .agg(
            record_ids=pl.col("record_id").sort(),
            claim_refs=pl.col("claim_ref").unique().sort(),
            person_clusters=pl.col("person_cluster").unique().sort(),
            surname_families=pl.col("family").drop_nulls().unique().sort(),
        )
        .with_columns(people=pl.col("person_clusters").list.len(), families=pl.col("surname_families").list.len())
        .filter(pl.col("families") >= 2)
        .with_columns(score=pl.min_horizontal(pl.lit(1.0), 0.5 + 0.15 * (pl.col("families") - 1)))
    )
    return _finish(g, "home_claimed_by_unrelated", ["people", "surname_families"])


def _shares(recs: pl.DataFrame) -> pl.DataFrame:
    per_person = (
        recs.filter(pl.col("share_f").is_not_null())
        .group_by("property_cluster", "person_cluster")
        .agg(
            hi=pl.col("share_f").max(),
            lo=pl.col("share_f").min(),
            record_ids=pl.col("record_id"),
            claim_refs=pl.col("claim_ref"),
        )
    )
    g = (
        per_person.group_by("property_cluster")
        .agg(
            total_share=pl.col("hi").sum(),
            inconsistent_people=((pl.col("hi") - pl.col("lo")) > _SHARE_TOLERANCE).sum(),
            shares=pl.concat_str([pl.col("person_cluster"), pl.col("hi").round(4).cast(pl.String)], separator="="),
            record_ids=pl.col("record_ids").list.explode(keep_nulls=False, empty_as_null=False).sort(),
            claim_refs=pl.col("claim_refs").list.explode(keep_nulls=False, empty_as_null=False).unique().sort(),
            person_clusters=pl.col("person_cluster").sort(),
        )
        .filter((pl.col("total_share") > 1 + _SHARE_TOLERANCE) | (pl.col("inconsistent_people") > 0))
        .with_columns(
            total_share=pl.col("total_share").round(4),
            score=pl.min_horizontal(
                pl.lit(1.0),
                pl.when(pl.col("total_share") > 1 + _SHARE_TOLERANCE).then(0.5 + (pl.col("total_share") - 1)).otherwise(0.45)
                + 0.05 * pl.col("inconsistent_people"),
            ),
        )
    )
    return _finish(g, "shares_do_not_add_up", ["total_share", "inconsistent_people", "shares"])


def _iban_unrelated(recs: pl.DataFrame) -> pl.DataFrame:
    g = (
        recs.filter(pl.col("iban_n").is_not_null())
        .group_by("iban_n")
        .agg(
            record_ids=pl.col("record_id").sort(),
            claim_refs=pl.col("claim_ref").unique().sort(),
            person_clusters=pl.col("person_cluster").unique().sort(),
            surname_families=pl.col("family").drop_nulls().unique().sort(),
        )
        .with_columns(people=pl.col("person_clusters").list.len(), families=pl.col("surname_families").list.len())
        .filter(pl.col("families") >= 2)
        .with_columns(
            score=pl.min_horizontal(pl.lit(1.0), 0.5 + 0.1 * (pl.col("people") - 1)),
            iban=pl.col("iban_n"),
        )
    )
    return _finish(g, "iban_shared_by_unrelated", ["iban", "people", "surname_families"])


def _repeat_unlinked(recs: pl.DataFrame) -> pl.DataFrame:
    claims = (
        recs.filter(pl.col("damage_date").is_not_null())
        .group_by("claim_ref")
        .agg(
            property_cluster=pl.col("property_cluster").first(),
            damage_date=pl.col("damage_date").min(),
            previous_claim_ref=pl.col("previous_claim_ref").drop_nulls().first(),
            is_redamage=pl.col("is_redamage").fill_null(False).any(),
            record_ids=pl.col("record_id"),
            person_clusters=pl.col("person_cluster"),
        )
    )
    known = claims.select(pl.col("claim_ref").alias("previous_claim_ref"), pl.lit(True).alias("previous_known"))
    unlinked = (
        claims.join(known, on="previous_claim_ref", how="left")
        .filter(pl.col("previous_known").is_null())
        .drop("previous_known")
    )
    earlier = claims.select(
        "property_cluster",
        pl.col("claim_ref").alias("earlier_claim"),
        pl.col("damage_date").alias("earlier_date"),
        pl.col("record_ids").alias("earlier_records"),
        pl.col("person_clusters").alias("earlier_people"),
    )
    g = (
        unlinked.join(earlier, on="property_cluster", how="inner")
        .filter(pl.col("earlier_date") < pl.col("damage_date"))
        .group_by("claim_ref")
        .agg(
            pl.col("property_cluster").first(),
            pl.col("damage_date").first(),
            pl.col("is_redamage").first(),
            pl.col("previous_claim_ref").first(),
            own_records=pl.col("record_ids").first(),
            earlier_records=pl.col("earlier_records").list.explode(keep_nulls=False, empty_as_null=False),
            earlier_claims=pl.col("earlier_claim").sort(),
            earliest_damage=pl.col("earlier_date").min(),
            own_people=pl.col("person_clusters").first(),
            earlier_people=pl.col("earlier_people").list.explode(keep_nulls=False, empty_as_null=False),
        )
        .with_columns(
            record_ids=pl.concat_list("own_records", "earlier_records").list.unique().list.sort(),
            claim_refs=pl.concat_list(pl.col("claim_ref"), pl.col("earlier_claims")).list.unique().list.sort(),
            person_clusters=pl.concat_list("own_people", "earlier_people").list.unique().list.sort(),
            score=pl.when(pl.col("is_redamage")).then(0.8).otherwise(0.6),
            claim=pl.col("claim_ref"),
            marked_redamage=pl.col("is_redamage"),
            damage_date=pl.col("damage_date").cast(pl.String),
            earliest_damage=pl.col("earliest_damage").cast(pl.String),
        )
    )
    out = _finish(
        g, "repeat_damage_unlinked",
        ["claim", "damage_date", "marked_redamage", "previous_claim_ref", "earlier_claims", "earliest_damage"],
    )
    if out.height:  # one finding per later claim: name it by that claim
        out = out.with_columns(finding_id=pl.lit("repeat_damage_unlinked:") + pl.col("evidence").str.json_path_match("$.claim"))
    return out
