"""Pairwise precision, recall and F1 of a clustering against the truth."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

__all__ = ["PairwiseScores", "pairwise_scores"]


@dataclass(frozen=True)
class PairwiseScores:
    true_positive_pairs: int
    predicted_pairs: int
    true_pairs: int

    @property
    def precision(self) -> float:
        return self.true_positive_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.true_positive_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _pairs(df: pl.DataFrame, by: list[str]) -> int:
    sizes = df.group_by(by).len()["len"].cast(pl.Int64)
    return int((sizes * (sizes - 1) // 2).sum())


def pairwise_scores(predicted: pl.Series, truth: pl.Series) -> PairwiseScores:
    """Compare two clusterings of the same records (one label per record, same order): a pair of records is
    predicted if both share a predicted label and true if both share a true label."""
    df = pl.DataFrame({"p": predicted, "t": truth})
    return PairwiseScores(
        true_positive_pairs=_pairs(df, ["p", "t"]),
        predicted_pairs=_pairs(df, ["p"]),
        true_pairs=_pairs(df, ["t"]),
    )
