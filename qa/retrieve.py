"""Hybrid retrieval: dense (FAISS) and BM25 over passages, fused, with place preference and filters."""

from __future__ import annotations

import numpy as np

from index.normalize import normalize
from index.store import Index
from index.types import Hit
from qa import fusion
from qa.question import Question

FUSIONS = ("convex", "rrf", "dense", "bm25")
TITLE_CLUE = 4  # characters of a title that, unique to one document, name it (公共服务业发展)


class Retriever:
    """Ranks an index's passages for a question."""

    def __init__(self, index: Index, fusion_method: str = "convex", dense_weight: float = 0.6, name_boost: float = 0.2):
        if fusion_method not in FUSIONS:
            raise ValueError(f"unknown fusion {fusion_method!r}; choose one of {', '.join(FUSIONS)}")
        self.index = index
        self.fusion = fusion_method
        self.dense_weight = dense_weight
        self.name_boost = name_boost  # share of the score range added to named documents' passages
        self._doc_places = [normalize(d.place) for d in index.documents]
        self._doc_sources = [d.source for d in index.documents]
        names = [normalize(d.title + subtitle(d.text)) for d in index.documents]
        self._by_name: dict[str, list[int]] = {}
        for d, name in enumerate(names):
            self._by_name.setdefault(name, []).append(d)
        self._clues: dict[str, set[str]] = {}  # every TITLE_CLUE characters of a title → the titles holding them
        for name in self._by_name:
            for i in range(len(name) - TITLE_CLUE + 1):
                self._clues.setdefault(name[i : i + TITLE_CLUE], set()).add(name)
        self._passage_docs = np.array([p.doc for p in index.passages])

    def retrieve(
        self,
        question: Question,
        query_vector: np.ndarray,
        k: int,
        named: list[int] | None = None,
        place: str | None = None,
        source: str | None = None,
    ) -> list[Hit]:
        """The top `k` passages, preferring the `named` documents; `place`/`source` restrict to matching ones."""
        scores = self._scores(question, query_vector)
        if named is None:
            named = self.named_documents(question)
        if named:  # a question that names a place or a document is about those documents: prefer them
            scores = scores + self.name_boost * (scores.max() - scores.min()) * np.isin(self._passage_docs, named)
        allowed = self._allowed(place, source)
        if allowed is not None:
            scores = np.where(np.isin(self._passage_docs, allowed), scores, -np.inf)
        top = np.argsort(-scores, kind="stable")[:k]
        return [Hit(int(i), float(scores[i])) for i in top if np.isfinite(scores[i])]

    def named_documents(self, question: Question) -> list[int]:
        """Documents the question names: by their place (天津), else by a part of a title no other title shares.

        A title counts with its subtitle (`——市发改委调研报告`), which is how people refer to a report;
        documents sharing one title (paragraphs of one article) are named together.
        """
        by_place = [d for d, p in enumerate(self._doc_places) if p and p in question.places]
        if by_place:
            return by_place
        named: set[str] = set()
        for i in range(len(question.norm) - TITLE_CLUE + 1):
            owners = self._clues.get(question.norm[i : i + TITLE_CLUE], ())
            if len(owners) == 1:
                named |= owners
        return sorted(d for name in named for d in self._by_name[name])

    def _scores(self, question: Question, query_vector: np.ndarray) -> np.ndarray:
        n = len(self.index.passages)
        dense = self.index.dense_scores(query_vector) if self.fusion != "bm25" else np.zeros(n, dtype=np.float32)
        sparse = self.index.sparse_scores(list(question.terms)) if self.fusion != "dense" else np.zeros(n)
        if self.fusion == "dense":
            return dense
        if self.fusion == "bm25":
            return sparse
        if self.fusion == "convex":
            return fusion.convex(dense, sparse, self.dense_weight)
        ranked = (
            [Hit(int(i), 0.0) for i in np.argsort(-dense)[:100]],
            [Hit(int(i), 0.0) for i in np.argsort(-sparse)[:100] if sparse[i] > 0],
        )
        out = np.zeros(n, dtype=np.float32)
        for hit in fusion.reciprocal_rank(list(ranked)):
            out[hit.item] = hit.score
        return out

    def _allowed(self, place: str | None, source: str | None) -> list[int] | None:
        if place is None and source is None:
            return None
        docs = range(len(self._doc_sources))
        if place is not None:
            docs = [d for d in docs if self._doc_places[d] == normalize(place)]
        if source is not None:
            docs = [d for d in docs if self._doc_sources[d] == source]
        return list(docs)


def subtitle(text: str) -> str:
    """A dash-led subtitle line among a document's first lines (`——市发改委调研报告`), else ""."""
    for line in text.split("\n")[1:4]:
        if line.strip().startswith(("——", "--", "—")):
            return " " + line.strip().lstrip("—-")
    return ""
