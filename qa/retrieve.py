"""Hybrid retrieval: the searchers' candidates (dense FAISS, BM25: `qa.searchers`), fused over their union, with
place preference and filters."""

from __future__ import annotations

from functools import reduce

import numpy as np

from index import Hit, Index, normalize, top_k
from qa.articles import asked_article
from qa.lexicon import TITLE_KIND
from qa.question import Names, Question
from qa.searchers import METHODS, Fusion, Searcher, searchers
from qa.versions import Versions

FUSIONS = tuple(METHODS)
TITLE_CLUE = 4  # characters of a title that, unique to one document, name it (公共服务业发展)
CANDIDATES = 100  # passages each searcher contributes to the union that fusion ranks


class Retriever:
    """Ranks an index's passages for a question, touching only the candidates its searchers return."""

    def __init__(self, index: Index, parts: tuple[list[Searcher], Fusion] | None = None, name_boost: float = 0.2):
        """`parts`: the searchers and how their scores fuse (`qa.searchers.searchers(index, method)`; the
        default is "convex", dense and BM25)."""
        self.index = index
        self.searchers, self.fuse = parts or searchers(index, "convex")
        self.name_boost = name_boost  # share of the score range added to named documents' passages
        self._doc_places = [normalize(d.place) for d in index.catalog]
        self._by_place: dict[str, list[int]] = {}  # a library has thousands of documents and a few hundred places
        for d, place in enumerate(self._doc_places):
            self._by_place.setdefault(place, []).append(d)
        self._by_name: dict[str, list[int]] = {}
        for d, info in enumerate(index.catalog):
            self._by_name.setdefault(info.name, []).append(d)
        self.versions = Versions(index.catalog)
        self._short_titles = {}  # name → (title without 中华人民共和国, subtitle words without 编)
        for name in filter(str.strip, self._by_name):
            title, *sub = name.split()
            core = title.removeprefix("中华人民共和国")
            if len(core) >= 3:
                self._short_titles[name] = (core, [w.removesuffix("编") for w in sub if len(w.removesuffix("编")) >= 2])
        self._clues: dict[str, set[str]] = {}  # every TITLE_CLUE characters of a title → the titles holding them
        for name in self._by_name:
            for i in range(len(name) - TITLE_CLUE + 1):
                self._clues.setdefault(name[i : i + TITLE_CLUE], set()).add(name)

    def retrieve(
        self,
        question: Question,
        query_vector: np.ndarray,
        k: int,
        place: str | None = None,
        source: str | None = None,
    ) -> list[Hit]:
        """The top `k` passages, preferring the documents the question names (`question.names`, read here when
        not read yet); `place`/`source` restrict to matching ones."""
        names = question.names or self.names(question, source)
        named = list(names.documents)
        allowed = self._allowed(place, source)
        if allowed is not None and not len(allowed):
            return []
        queries = [s.query(question, query_vector) for s in self.searchers]
        ids = self._candidates(queries, allowed, max(CANDIDATES, k))
        named_ids = self.index.passage_range(named) if named else np.zeros(0, dtype=np.int64)
        if len(named_ids):  # a named document's best passages compete even where the library drowns them
            if allowed is not None:
                named_ids = np.intersect1d(named_ids, allowed)
            ids = np.union1d(ids, self._candidates(queries, named_ids, max(CANDIDATES, k)))
        docs = self.index.passage_docs(ids)
        if names.hidden:  # superseded versions the question does not ask for
            current = ~np.isin(docs, names.hidden)
            ids, docs = ids[current], docs[current]
        if not len(ids):
            return []
        scores = self.fuse([s.scores(q, ids) for s, q in zip(self.searchers, queries, strict=True)])
        if len(named_ids):  # a question that names a place or a document is about those documents: prefer them
            # a province's own rules before its cities' (named too, for a question about the province)
            cities = [d for d in named if question.about(p := self._doc_places[d]) and p not in question.places]
            boost = np.isin(docs, named) * (1.0 - 0.5 * np.isin(docs, cities))
            scores = scores + self.name_boost * (scores.max() - scores.min()) * boost
        top = top_k(scores, k)
        return [Hit(int(ids[i]), float(scores[i])) for i in top]

    def _candidates(self, queries: list, among: np.ndarray | None, k: int) -> np.ndarray:
        """The union of the searchers' top `k` (within `among` when given)."""
        if among is not None and not len(among):
            return np.zeros(0, dtype=np.int64)
        found = [s.search(q, k, among) for s, q in zip(self.searchers, queries, strict=True)]
        return reduce(np.union1d, found, np.zeros(0, dtype=np.int64))

    def names(self, question: Question, source: str | None = None) -> Names:
        """What the question names: documents by their place (天津), else by their title (whole, or a part no
        other title shares); the article it asks for; the superseded versions it does not ask for. A question
        asked of one `source` names no document: that source is its document.

        A title counts with its subtitle (`——市发改委调研报告`), which is how people refer to a report;
        documents sharing one title (versions of one regulation) are named together. An old version the
        question asks for (its year, 旧版) replaces its successor.
        """
        asked = self.versions.asked_for(question)
        article = asked_article(question.norm)
        by_place = sorted(d for place, docs in self._by_place.items() if question.about(place) for d in docs)
        titled = self._current(asked, self._titled(question)) if article is not None or not by_place else []
        documents = self._current(asked, by_place) if by_place else titled
        hidden = tuple(d for d in self.versions.newer if d not in asked)
        return Names(() if source else tuple(documents), article, tuple(titled), hidden)

    def _titled(self, question: Question) -> list[int]:
        """Documents named by their whole short title (老年人权益保障法, 民法典总则编: the longest such title
        wins over titles inside it), else by a part of their title no other title shares."""
        named = self._whole_titles(question.norm)
        if not named:
            for i in range(len(question.norm) - TITLE_CLUE + 1):
                owners = self._clues.get(question.norm[i : i + TITLE_CLUE], ())
                if len(owners) == 1 and TITLE_KIND.search(question.norm, i + TITLE_CLUE):
                    named |= owners
        return sorted(d for name in named for d in self._by_name[name])

    def _whole_titles(self, text: str) -> set[str]:
        found = {}
        for name, (core, parts) in self._short_titles.items():
            if core in text and all(part in text for part in parts):
                found[name] = core
        return {n for n, core in found.items() if not any(core != c and core in c for c in found.values())}

    def _current(self, asked: set[int], docs: list[int]) -> list[int]:
        """`docs` less the versions the question is not about: an old one it asks for (`asked`) replaces its
        successor."""
        dropped = (set(self.versions.newer) - asked) | {self.versions.newer[d] for d in asked if d in docs}
        return [d for d in docs if d not in dropped]

    def _allowed(self, place: str | None, source: str | None) -> np.ndarray | None:
        """Passage ids of the documents the filters allow, or None when nothing is filtered."""
        if place is None and source is None:
            return None
        docs = set(range(len(self._doc_places))) if place is None else set(self._by_place.get(normalize(place), []))
        if source is not None:
            docs &= {self.index.by_source(source)}
        return self.index.passage_range(sorted(docs))
