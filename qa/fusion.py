"""Fusing ranked lists from the dense and sparse retrievers: pure functions."""

from __future__ import annotations

import numpy as np

from index import Hit


def reciprocal_rank(runs: list[list[Hit]], k: int = 60) -> list[Hit]:
    """Reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009): score = Σ 1 / (k + rank)."""
    scores: dict[int, float] = {}
    for run in runs:
        for rank, hit in enumerate(run, start=1):
            scores[hit.item] = scores.get(hit.item, 0.0) + 1.0 / (k + rank)
    return sorted((Hit(i, s) for i, s in scores.items()), key=lambda h: -h.score)


def convex(dense: np.ndarray, sparse: np.ndarray, weight: float) -> np.ndarray:
    """weight·dense + (1−weight)·sparse over all items, each first scaled to [0, 1].

    Convex combination of normalised scores (Bruch, Gai & Ingber, TOIS 2023) keeps score gaps that
    rank fusion throws away. Dense is min–max scaled (cosines crowd near the top); sparse is divided by
    its max so that a query with no known term adds nothing.
    """
    spread = dense.max() - dense.min()
    d = (dense - dense.min()) / spread if spread > 0 else np.zeros_like(dense)
    s = sparse / sparse.max() if sparse.max() > 0 else sparse
    return weight * d + (1.0 - weight) * s
