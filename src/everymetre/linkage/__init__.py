"""Record linkage across all claims: the same person, the same home, the same bank account and phone.

Public API:

* :class:`ClaimLinker`, :class:`LinkageResult`, :class:`ReviewDecision` — run linkage, get pairs, clusters
  and findings; feed reviewer decisions back.
* :class:`ModelConfig`, :func:`build_settings` — the Splink model (DuckDB by default, Spark optional).
* :data:`INPUT_SCHEMA`, :func:`coerce_records`, :func:`derive_features` — input and normalised columns.
* :func:`compute_findings`, :data:`FINDING_KINDS`, :data:`FINDINGS_SCHEMA`, :data:`PAIRS_SCHEMA`.
* :func:`pairwise_scores` — precision/recall/F1 against ground truth; :mod:`.synthetic` for test data.
"""

from importlib import import_module
from typing import Any

# Loaded on first use: Splink and DuckDB are heavy, and the store, migrations and web app import
# everymetre.linkage.models without needing them.
_EXPORTS = {
    "PairwiseScores": "evaluation", "pairwise_scores": "evaluation",
    "INPUT_SCHEMA": "features", "coerce_records": "features", "derive_features": "features", "parse_share": "features",
    "FINDING_KINDS": "findings", "FINDINGS_SCHEMA": "findings", "compute_findings": "findings",
    "ModelConfig": "model", "build_settings": "model",
    "CLUSTERS_SCHEMA": "pipeline", "PAIRS_SCHEMA": "pipeline", "ClaimLinker": "pipeline", "LinkageResult": "pipeline",
    "ReviewDecision": "pipeline",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"everymetre.linkage.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'everymetre.linkage' has no attribute {name!r}")


__all__ = [
    "CLUSTERS_SCHEMA",
    "FINDINGS_SCHEMA",
    "FINDING_KINDS",
    "INPUT_SCHEMA",
    "PAIRS_SCHEMA",
    "ClaimLinker",
    "LinkageResult",
    "ModelConfig",
    "PairwiseScores",
    "ReviewDecision",
    "build_settings",
    "coerce_records",
    "compute_findings",
    "derive_features",
    "pairwise_scores",
    "parse_share",
]
