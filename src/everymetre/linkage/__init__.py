"""Record linkage across all claims: the same person, the same home, the same bank account and phone.

Public API:

* :class:`ClaimLinker`, :class:`LinkageResult`, :class:`ReviewDecision` — run linkage, get pairs, clusters
  and findings; feed reviewer decisions back.
* :class:`ModelConfig`, :func:`build_settings` — the Splink model (DuckDB by default, Spark optional).
* :data:`INPUT_SCHEMA`, :func:`coerce_records`, :func:`derive_features` — input and normalised columns.
* :func:`compute_findings`, :data:`FINDING_KINDS`, :data:`FINDINGS_SCHEMA`, :data:`PAIRS_SCHEMA`.
* :func:`pairwise_scores` — precision/recall/F1 against ground truth; :mod:`.synthetic` for test data.
"""

from everymetre.linkage.evaluation import PairwiseScores, pairwise_scores
from everymetre.linkage.features import INPUT_SCHEMA, coerce_records, derive_features, parse_share
from everymetre.linkage.findings import FINDING_KINDS, FINDINGS_SCHEMA, compute_findings
from everymetre.linkage.model import ModelConfig, build_settings
from everymetre.linkage.pipeline import CLUSTERS_SCHEMA, PAIRS_SCHEMA, ClaimLinker, LinkageResult, ReviewDecision

__all__ = [
    "ClaimLinker",
    "LinkageResult",
    "ReviewDecision",
    "ModelConfig",
    "build_settings",
    "INPUT_SCHEMA",
    "coerce_records",
    "derive_features",
    "parse_share",
    "compute_findings",
    "FINDING_KINDS",
    "FINDINGS_SCHEMA",
    "PAIRS_SCHEMA",
    "CLUSTERS_SCHEMA",
    "PairwiseScores",
    "pairwise_scores",
]
