"""Connected components over record pairs, vectorised with numpy (no graph library needed)."""

from __future__ import annotations

import numpy as np

__all__ = ["connected_components"]


def connected_components(n_nodes: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Label nodes 0..n_nodes-1 by connected component over the edges (left[i], right[i]).

    Each node gets the smallest node number of its component. Uses min-label propagation with pointer
    jumping, so it converges in a few passes for the small components record linkage produces.
    """
    labels = np.arange(n_nodes, dtype=np.int64)
    if len(left) == 0:
        return labels
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    while True:
        lo = np.minimum(labels[left], labels[right])
        before = labels.copy()
        np.minimum.at(labels, left, lo)
        np.minimum.at(labels, right, lo)
        np.minimum.at(labels, before[left], lo)
        np.minimum.at(labels, before[right], lo)
        # pointer jumping until every node points at a root
        while True:
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped
        if np.array_equal(labels, before):
            return labels
