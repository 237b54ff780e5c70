"""What the store-side linkage modules share: review-flag prefix, kinds, roles, the error, chunking."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from everymetre.claims.lifecycle import Role

__all__ = [
    "CHUNK",
    "DUPLICATE_KINDS",
    "FLAG_PREFIX",
    "MAX_PAIRS_PER_FINDING",
    "PERSON_KINDS",
    "REVIEWER_ROLES",
    "LinkageError",
    "chunks",
    "model_path",
]

FLAG_PREFIX = "linkage:"
#: kinds whose finding says "these records are one person": a review decides the person pairs as well
PERSON_KINDS = frozenset({"person_multiple_destroyed_claims", "duplicate_claim"})
#: kinds whose confirmed finding means the later claims duplicate the earliest (one loss claimed again)
DUPLICATE_KINDS = frozenset({"duplicate_claim", "household_same_loss"})
REVIEWER_ROLES = frozenset({Role.OFFICER, Role.COMMISSION})
MAX_PAIRS_PER_FINDING = 50
CHUNK = 1000  # ids per IN (...) list


class LinkageError(Exception):
    """The run could not be carried out; the message says why and what to do."""



def model_path(data_dir: Path) -> Path:
    return Path(data_dir) / "linkage" / "model.json"


def chunks(items: list[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]

