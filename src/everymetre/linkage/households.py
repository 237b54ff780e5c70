"""Households and claim categories: the UNCC lesson (USD 80 million paid twice because members of one family
each claimed the same loss).

Kinds (added to :data:`.findings.FINDING_KINDS`):

* ``household_same_loss`` — two or more *different* people (person clusters) who are plausibly one household
  file separate claims for the same home (property cluster: same address or registry object number) and the
  same loss (the same damage date, or a date missing on one side) and the same kind of payment (two repair
  claims, or two destroyed-housing claims; a damage report is not paid). "One household" is any of: the same
  surname family (Петренко / Петренкова, transliterations folded), a patronymic made from the other's given
  name (parent and child: Іван → Іванович / Іванівна), the same phone, the same bank account, or one of
  them a co-owner named on the other's claim. Co-owners each claiming their own share (the filers' shares add
  up to at most the whole) split one award and are no finding. A linked re-damage claim (its previous claim is the other) is
  a new loss, not this finding.
* ``conflicting_claim_categories`` — one home carries claims that must not both be paid: a repair claim and
  a destroyed-housing (certificate) claim for the same loss, or the same home claimed as a house in one claim
  and as an apartment in another. A destroyed-housing claim linked as re-damage to an earlier repair claim
  (the home repaired, then destroyed) is not a conflict.

Both put their claims in review (a payment hold) like the other kinds when they score at or above the flag
score; the evidence names the claims, the people and what ties them together.
"""

from __future__ import annotations

import polars as pl

__all__ = ["HOUSEHOLD_KINDS", "conflicting_categories", "household_same_loss"]

HOUSEHOLD_KINDS = ("household_same_loss", "conflicting_claim_categories")

_REPAIR, _DESTROYED = "repair_application", "destroyed_housing_application"


def _stem(col: str) -> pl.Expr:
    """A given name's stem for the patronymic test (Микола -> mykol: Миколайович, Миколаївна)."""
    k = pl.col(col)
    return pl.when(k.str.len_chars() >= 5).then(k.str.slice(0, k.str.len_chars() - 1)).otherwise(k)


def household_same_loss(recs: pl.DataFrame) -> pl.DataFrame:
    """``recs`` as for :func:`.findings.compute_findings` (plus given_k, patronymic_k, phone_n); returns
    rows of FINDINGS_SCHEMA's columns (record_ids, claim_refs, person_clusters, property_cluster, score and
    the evidence columns) before ``_finish``."""
    # claims that are paid (a damage report is not): a report followed by an application is the usual path; only
    # homes with two or more of them can hold a finding
    paid = recs.filter(pl.col("property_cluster").is_not_null() & pl.col("claim_kind").is_in([_REPAIR, _DESTROYED]))
    paid = paid.join(paid.group_by("property_cluster").agg(pl.col("claim_ref").n_unique().alias("_n"))
                     .filter(pl.col("_n") >= 2).select("property_cluster"), on="property_cluster", how="semi")
    people = (
        paid
        .group_by("claim_ref", "person_cluster")
        .agg(
            pl.col("property_cluster").first(),
            pl.col("claim_kind").first(),
            pl.col("record_id").sort(),
            pl.col("damage_date").first(),
            pl.col("previous_claim_ref").drop_nulls().first(),
            pl.col("surname_f").drop_nulls().first(),
            pl.col("given_k").drop_nulls().first(),
            pl.col("patronymic_k").drop_nulls().first(),
            pl.col("phone_n").drop_nulls().first(),
            pl.col("iban_n").drop_nulls().first(),
            pl.col("share_f").max(),
        )
    )
    # who is named on each claim (co-owners): a person of claim A named on claim B ties A's filer to B's
    on_claim = people.group_by("claim_ref").agg(pl.col("person_cluster").alias("named"))
    multi = people.group_by("property_cluster").agg(pl.col("claim_ref").n_unique().alias("n")).filter(pl.col("n") >= 2)
    people = people.join(multi.select("property_cluster"), on="property_cluster", how="semi")
    if people.height == 0:
        return pl.DataFrame()
    left = people.join(on_claim, on="claim_ref", how="left")
    right = left.rename({c: f"{c}_r" for c in left.columns if c != "property_cluster"})
    pairs = (
        left.join(right, on="property_cluster", how="inner")
        .filter((pl.col("claim_ref") < pl.col("claim_ref_r")) & (pl.col("person_cluster") != pl.col("person_cluster_r"))
                # the same kind of payment twice (a repair and a certificate: conflicting_claim_categories)
                & (pl.col("claim_kind") == pl.col("claim_kind_r")))
        # the same loss: the same damage date, or no date on one side; a linked re-damage claim is a new loss
        .filter((pl.col("damage_date") == pl.col("damage_date_r")) | pl.col("damage_date").is_null()
                | pl.col("damage_date_r").is_null())
        .filter(pl.col("previous_claim_ref").ne_missing(pl.col("claim_ref_r"))
                & pl.col("previous_claim_ref_r").ne_missing(pl.col("claim_ref")))
    )
    # the two people must not be named together on one of the two claims (then it is one claim's co-owners)
    pairs = pairs.filter(~(pl.col("named").list.contains(pl.col("person_cluster_r"))
                           & pl.col("named_r").list.contains(pl.col("person_cluster"))))
    ties = [
        ("same_surname_family", pl.col("surname_f") == pl.col("surname_f_r")),
        ("parent_and_child", (pl.col("patronymic_k").str.starts_with(_stem("given_k_r"))
                              & (pl.col("given_k_r").str.len_chars() >= 3))
         | (pl.col("patronymic_k_r").str.starts_with(_stem("given_k")) & (pl.col("given_k").str.len_chars() >= 3))),
        ("same_phone", pl.col("phone_n") == pl.col("phone_n_r")),
        ("same_bank_account", pl.col("iban_n") == pl.col("iban_n_r")),
        ("co_owner_on_other_claim", pl.col("named").list.contains(pl.col("person_cluster_r"))
         | pl.col("named_r").list.contains(pl.col("person_cluster"))),
    ]
    pairs = pairs.with_columns(
        tied_by=pl.concat_list([pl.when(expr.fill_null(False)).then(pl.lit(name)).otherwise(pl.lit(None, dtype=pl.String))
                                for name, expr in ties]).list.drop_nulls(),
        same_date=pl.col("damage_date").is_not_null() & (pl.col("damage_date") == pl.col("damage_date_r")),
    ).filter(pl.col("tied_by").list.len() > 0)
    if pairs.height == 0:
        return pl.DataFrame()
    g = (
        pairs.group_by("property_cluster")
        .agg(
            record_ids=pl.concat_list("record_id", "record_id_r").list.explode(keep_nulls=False, empty_as_null=False).unique().sort(),
            claim_refs=pl.concat_list("claim_ref", "claim_ref_r").list.explode(keep_nulls=False, empty_as_null=False).unique().sort(),
            person_clusters=pl.concat_list("person_cluster", "person_cluster_r").list.explode(keep_nulls=False, empty_as_null=False).unique().sort(),
            household_ties=pl.col("tied_by").list.explode(keep_nulls=False, empty_as_null=False).unique().sort(),
            damage_dates=pl.concat_list("damage_date", "damage_date_r").list.explode(keep_nulls=False, empty_as_null=False)
            .drop_nulls().unique().sort(),
            all_same_date=pl.col("same_date").all(),
        )
        .with_columns(
            people=pl.col("person_clusters").list.len(),
            claims=pl.col("claim_refs").list.len(),
            damage_dates=pl.col("damage_dates").cast(pl.List(pl.String)),
        )
    )
    # the shares the filers declare: complementary shares (adding up to at most the whole: co-owners each
    # claiming their own share) split one award, they do not double it, and are no finding
    shares = (
        g.select("property_cluster", "person_clusters").explode("person_clusters")
        .join(people.group_by("property_cluster", "person_cluster").agg(pl.col("share_f").max()),
              left_on=["property_cluster", "person_clusters"], right_on=["property_cluster", "person_cluster"], how="left")
        .group_by("property_cluster")
        .agg(shares_total=pl.when(pl.col("share_f").is_null().any()).then(None).otherwise(pl.col("share_f").sum().round(4)))
    )
    complementary = pl.col("shares_total").is_not_null() & (pl.col("shares_total") <= 1 + 1e-3)
    g = g.join(shares, on="property_cluster", how="left").filter(~complementary).with_columns(score=pl.min_horizontal(
        pl.lit(1.0),
        pl.when(pl.col("all_same_date")).then(0.7).otherwise(0.6)
        + 0.05 * (pl.col("household_ties").list.len() - 1) + 0.05 * (pl.col("claims") - 2)))
    return g


def conflicting_categories(recs: pl.DataFrame) -> pl.DataFrame:
    """``recs`` as for :func:`household_same_loss` (plus property_kind); rows before ``_finish``."""
    claims = (
        recs.filter(pl.col("property_cluster").is_not_null())
        .group_by("claim_ref")
        .agg(
            pl.col("property_cluster").first(),
            pl.col("claim_kind").first(),
            pl.col("property_kind").first(),
            pl.col("damage_date").first(),
            pl.col("previous_claim_ref").drop_nulls().first(),
            record_ids=pl.col("record_id").sort(),
            person_clusters=pl.col("person_cluster").unique(),
        )
    )
    # a destroyed-housing claim linked as re-damage to an earlier claim on the home is the next loss, not a conflict
    linked = claims.select("claim_ref", "property_cluster").rename({"claim_ref": "previous_claim_ref"})
    claims = claims.join(linked.with_columns(pl.lit(True).alias("_linked")), on=["previous_claim_ref", "property_cluster"],
                         how="left")
    payable = claims.filter(pl.col("claim_kind").is_in([_REPAIR, _DESTROYED]) & pl.col("_linked").is_null())
    kinds = (
        payable.group_by("property_cluster")
        .agg(kinds=pl.col("claim_kind").unique().sort(), refs=pl.col("claim_ref").unique().sort())
        .filter(pl.col("kinds").list.len() >= 2)
        .select("property_cluster", pl.col("refs").alias("kind_refs"), pl.lit(True).alias("repair_and_destroyed"))
    )
    homes = (
        claims.filter(pl.col("property_kind").is_in(["house", "apartment"]))
        .group_by("property_cluster")
        .agg(pkinds=pl.col("property_kind").unique().sort(), refs=pl.col("claim_ref").unique().sort())
        .filter(pl.col("pkinds").list.len() >= 2)
        .select("property_cluster", pl.col("refs").alias("home_refs"), pl.lit(True).alias("house_and_apartment"))
    )
    conflicted = kinds.join(homes, on="property_cluster", how="full", coalesce=True)
    if conflicted.height == 0:
        return pl.DataFrame()
    per_home = claims.join(conflicted.select("property_cluster"), on="property_cluster", how="semi").group_by(
        "property_cluster").agg(
        record_ids=pl.col("record_ids").list.explode(keep_nulls=False, empty_as_null=False).unique().sort(),
        person_clusters=pl.col("person_clusters").list.explode(keep_nulls=False, empty_as_null=False).unique().sort(),
        claims_by_category=pl.concat_str([pl.col("claim_ref"), pl.col("claim_kind"), pl.col("property_kind").fill_null("")],
                                         separator=" ").sort(),
    )
    g = (
        conflicted.join(per_home, on="property_cluster", how="inner")
        .with_columns(
            repair_and_destroyed=pl.col("repair_and_destroyed").fill_null(False),
            house_and_apartment=pl.col("house_and_apartment").fill_null(False),
            claim_refs=pl.concat_list(pl.col("kind_refs").fill_null([]), pl.col("home_refs").fill_null([])).list.unique().list.sort(),
        )
        .with_columns(
            conflicts=pl.concat_list(
                pl.when(pl.col("repair_and_destroyed")).then(pl.lit("repair_and_destroyed")).otherwise(pl.lit(None, dtype=pl.String)),
                pl.when(pl.col("house_and_apartment")).then(pl.lit("house_and_apartment")).otherwise(pl.lit(None, dtype=pl.String)),
            ).list.drop_nulls(),
            score=pl.min_horizontal(pl.lit(1.0), 0.7 + 0.1 * (pl.col("repair_and_destroyed").cast(pl.Int8)
                                                              + pl.col("house_and_apartment").cast(pl.Int8) - 1)),
        )
    )
    return g
