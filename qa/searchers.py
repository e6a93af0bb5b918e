"""What a retriever is made of: searchers that each find and score passages, and the fusion of their scores.

Swapping the model changes what `DenseSearcher` searches; swapping the fusion or adding a searcher is one entry
of `METHODS`, the one place the assistant's retrieval methods are defined.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from index import Hit, Index
from qa import fusion
from qa.question import Question

Fusion = Callable[[list[np.ndarray]], np.ndarray]  # each searcher's scores of the same passages → one score each
DENSE_WEIGHT = 0.6  # chosen on the dev sets (docs/figures.md)


class Searcher(Protocol):
    """One way of finding passages for a question: its own form of the query, its top k, its scores."""

    def query(self, question: Question, vector: np.ndarray) -> object: ...

    def search(self, query: object, k: int, among: np.ndarray | None) -> np.ndarray: ...

    def scores(self, query: object, ids: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class DenseSearcher:
    """The question's vector against the passages' (FAISS HNSW, rescored exactly)."""

    index: Index

    def query(self, question: Question, vector: np.ndarray) -> np.ndarray:
        return vector

    def search(self, vector: np.ndarray, k: int, among: np.ndarray | None) -> np.ndarray:
        return self.index.dense_search(vector, k, among)

    def scores(self, vector: np.ndarray, ids: np.ndarray) -> np.ndarray:
        return self.index.dense_scores(vector, ids)


@dataclass(frozen=True)
class SparseSearcher:
    """BM25 over the question's words and character pairs."""

    index: Index

    def query(self, question: Question, vector: np.ndarray) -> list[int]:
        return self.index.term_ids(list(question.terms))

    def search(self, terms: list[int], k: int, among: np.ndarray | None) -> np.ndarray:
        return self.index.sparse_search(terms, k, among)

    def scores(self, terms: list[int], ids: np.ndarray) -> np.ndarray:
        return self.index.sparse_scores(terms, ids)


def convex(scores: list[np.ndarray]) -> np.ndarray:
    return fusion.convex(scores[0], scores[1], DENSE_WEIGHT)


def reciprocal_rank(scores: list[np.ndarray]) -> np.ndarray:
    """Each searcher's run: the passages it scores above zero, best first."""
    runs = [[Hit(int(i), 0.0) for i in np.argsort(-s) if s[i] > 0] for s in scores]
    out = np.zeros(len(scores[0]), dtype=np.float32)
    for hit in fusion.reciprocal_rank(runs):
        out[hit.item] = hit.score
    return out


def alone(scores: list[np.ndarray]) -> np.ndarray:
    return scores[0]


METHODS: dict[str, tuple[tuple[type, ...], Fusion]] = {
    "convex": ((DenseSearcher, SparseSearcher), convex),
    "rrf": ((DenseSearcher, SparseSearcher), reciprocal_rank),
    "dense": ((DenseSearcher,), alone),
    "bm25": ((SparseSearcher,), alone),
}


def searchers(index: Index, method: str) -> tuple[list[Searcher], Fusion]:
    """The searchers and fusion of a retrieval method, over `index`."""
    if method not in METHODS:
        raise ValueError(f"unknown fusion {method!r}; choose one of {', '.join(METHODS)}")
    kinds, fuse = METHODS[method]
    return [kind(index) for kind in kinds], fuse
