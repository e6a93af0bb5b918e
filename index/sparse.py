"""The BM25 half of a generation: bm25s's score matrix (CSC arrays, memory-mapped) and the arithmetic over it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import bm25s
import numpy as np

from index.tables import DATABASE

SPARSE_POSTINGS = 300_000  # BM25 matrix entries a question's candidate search reads at most


def write_sparse(c, tmp: Path) -> None:
    """bm25s computes the score matrix; its vocabulary goes into SQLite, so loading never parses it whole."""
    sparse = bm25s.BM25(method="lucene")
    sparse.index([t or ["\0"] for t in c.passage_terms], show_progress=False)
    sparse.save(str(tmp / "bm25"))
    (tmp / "bm25" / "vocab.index.json").unlink()
    indptr = np.asarray(sparse.scores["indptr"])
    df = np.diff(indptr)  # passages holding each term
    n = len(c.passages)
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
    db = sqlite3.connect(tmp / DATABASE)
    rows = ((t, i, float(idf[i])) for t, i in sparse.vocab_dict.items() if i < len(idf))
    db.executemany("INSERT INTO terms VALUES (?,?,?)", rows)
    db.commit()
    db.close()


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the `k` largest scores, best first, ties in position order: what
    `np.argsort(-scores, kind="stable")[:k]` gives, without sorting thousands of scores to keep a hundred."""
    if len(scores) <= k:
        return np.argsort(-scores, kind="stable")
    kth = np.partition(scores, len(scores) - k)[len(scores) - k]
    above = np.flatnonzero(scores > kth)
    chosen = np.concatenate([above, np.flatnonzero(scores == kth)[: k - len(above)]])
    return chosen[np.argsort(-scores[chosen], kind="stable")]


def bm25_top(csc: dict, term_ids: list[int], k: int, n: int, among: np.ndarray | None = None) -> np.ndarray:
    """The `k` best of `n` passages (within `among`) by the sum of the BM25 matrix's term columns, best first."""
    return best_of(bm25_candidates(csc, tuple(term_ids), n), k, among)


def bm25_candidates(csc: dict, term_ids: tuple[int, ...], n: int) -> np.ndarray:
    """Every passage's sum of the question's term columns (0 where it holds none), read rarest first.

    Columns are read until SPARSE_POSTINGS entries: exact for a question over a few thousand passages; over a
    large library the very common terms (规定, 条例) only count in the exact rescoring of the candidates
    (`bm25_scores`), so no question reads millions of entries.
    """
    ids = np.asarray(term_ids, dtype=np.int64)
    if not len(ids):
        return np.zeros(n)
    indptr = csc["indptr"]
    sizes = indptr[ids + 1] - indptr[ids]
    order = np.argsort(sizes, kind="stable")
    chosen = ids[order[: max(1, int(np.searchsorted(np.cumsum(sizes[order]), SPARSE_POSTINGS, side="right")))]]
    spans = list(zip(np.asarray(indptr[chosen]).tolist(), np.asarray(indptr[chosen + 1]).tolist()))
    rows = np.concatenate([csc["indices"][a:b] for a, b in spans])
    weights = np.concatenate([csc["data"][a:b] for a, b in spans])
    return np.bincount(rows, weights=weights, minlength=n)


def best_of(scores: np.ndarray, k: int, among: np.ndarray | None = None) -> np.ndarray:
    """Up to `k` positions (of `among`, when given) with the best positive scores, best first."""
    pool = scores if among is None else scores[among]
    positive = np.flatnonzero(pool > 0)  # most are 0: partitioning those ties cost 5 ms over a library
    top = positive[top_k(pool[positive], k)]
    return top if among is None else among[top]


def bm25_scores(csc: dict, term_ids: list[int], passages: np.ndarray) -> np.ndarray:
    """Exact BM25 scores of `passages`: a binary search in each term's column (its rows are sorted)."""
    out = np.zeros(len(passages), dtype=np.float64)
    ids = np.asarray(term_ids, dtype=np.int64)
    for a, b in zip(np.asarray(csc["indptr"][ids]).tolist(), np.asarray(csc["indptr"][ids + 1]).tolist()):
        if a == b:
            continue
        column = csc["indices"][a:b]
        at = np.minimum(np.searchsorted(column, passages), b - a - 1)
        hit = column[at] == passages
        out[hit] += csc["data"][a + at[hit]]
    return out.astype(np.float32)
