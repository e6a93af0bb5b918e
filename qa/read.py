"""Extractive reading: a fitted model scores the sentences of the top passages, or the reader abstains.

Each candidate sentence is described by the signals in `FEATURES` (how much of the question it holds,
how close its meaning is, whether it carries what was asked: a figure, a date, a list, the asked-for
unit, …); a logistic model fitted on the dev halves of the QA sets (`training/reader.py`, parameters
in `qa/data/reader.json`) turns them into the probability that the sentence answers; the reranker reads
the top few with the question. The best sentence's probability and the reranker's best score against
"no answer", calibrated together on dev, are the answer's confidence; below the fitted threshold the
reader says the documents do not answer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from difflib import SequenceMatcher

import numpy as np

from index import Hit, Index, cjk_bigrams, heading_level, is_heading, normalize, tokenize
from qa.figures import figure_fit, figures
from qa.lexicon import (
    BOUND,
    CALENDAR_DATE,
    DATE,
    LIST,
    NUMBER,
    PLACEHOLDER,
)
from qa.question import Question
from qa.reader_model import FEATURES, Model
from qa.rerank import CrossEncoder
from qa.types import Reading, Scored


@dataclass(frozen=True)
class _Asked:
    """What the reader reads once from a question, to describe each candidate sentence against it."""

    question: Question
    terms: set[str]  # what it asks about, less the places and documents it names
    idf: dict[str, float]
    grams: set[str]  # its character pairs
    everyday: list[tuple[set[str], tuple[str, ...]]]  # its everyday words' tokens → the documents' wording
    figures: dict[float, int]  # its own figures and their sides, for lookup

    @classmethod
    def of(cls, question: Question, terms: set[str], index: Index) -> _Asked:
        return cls(
            question,
            terms,
            index.idf(terms),
            set(cjk_bigrams(question.norm)),
            [(set(tokenize(w)), ds) for w, ds in question.everyday],
            dict(question.figures),
        )


class Reader:
    """Picks the sentences that answer a question from retrieved passages."""

    def __init__(self, index: Index, model: Model | None = None, reranker: CrossEncoder | None = None):
        self.index = index
        self._model = model
        self.reranker = reranker
        self._covered = {normalize(d.place) for d in index.catalog}
        self._norm = index.sentence_norms
        self._naming: dict[int, set[str]] = {}  # document → the words of its title and subtitle, when first named

    @property
    def model(self) -> Model:
        """The fitted parameters, read when first needed (listing candidates to fit them needs none)."""
        if self._model is None:
            self._model = Model.load()
        return self._model

    def read(self, question: Question, query_vector: np.ndarray, passages: list[Hit]) -> Reading:
        """Candidate sentences, best first; only from the documents the question names, when it names some."""
        ids, x = self.candidates(question, query_vector, passages)
        p = self.model.probabilities(x) if ids else np.zeros(0)
        any_answer = None
        if ids and self.reranker is not None and self.model.rerank:
            p, any_answer = self._rerank(question, ids, p)
        lexical = FEATURES.index("lexical")
        scored = [Scored(ids[i], float(p[i]), float(x[i, lexical])) for i in np.argsort(-p, kind="stable")]
        return Reading(scored, any_answer)

    def _rerank(self, question: Question, ids: list[int], p: np.ndarray) -> tuple[np.ndarray, float]:
        """The first stage's top k (those that can answer the question's kind first) read with the question
        by the reranker in one batch; the others fall behind them. Also the reranker's best score: how likely
        it finds it that any of them answers."""
        top = rerank_order(p, np.array([self.can_answer(question, s) for s in ids]))[: self.model.rerank["k"]]
        chosen = [ids[i] for i in top]
        befores = [self.before(s) for s in chosen] if self.reranker.context else None
        cross = self.reranker.scores(question.norm, [self._norm[s] for s in chosen], befores)
        out = np.zeros_like(p)
        out[top] = self.model.reranked(p[top], cross)
        return out, float(np.max(cross))

    def before(self, s: int) -> str:
        """The sentence before sentence `s` in its document, normalised ("" for a document's first)."""
        return self._norm[s - 1] if self._beside(s - 1, s) else ""

    def _beside(self, n: int, s: int) -> bool:
        """Sentence `n` is there and in sentence `s`'s document."""
        sentences = self.index.sentences
        return 0 <= n < len(sentences) and sentences[n].doc == sentences[s].doc

    def candidates(
        self, question: Question, query_vector: np.ndarray, passages: list[Hit]
    ) -> tuple[list[int], np.ndarray]:
        """The sentences of the passages (of the documents the question names, when it names some) and their
        `FEATURES` rows."""
        named = list(question.names.documents) if question.names else []
        rank_of: dict[int, int] = {}  # sentence → the rank of its best passage
        passage_of: dict[int, int] = {}
        for rank, hit in enumerate(passages):
            p = self.index.passages[hit.item]
            for s in range(p.first, p.last + 1):
                rank_of.setdefault(s, rank)
                passage_of.setdefault(s, hit.item)
        ids = [s for s in rank_of if not named or self.index.sentences[s].doc in named]
        if not ids:
            return [], np.zeros((0, len(FEATURES)))
        order = sorted(ids)
        cosine = dict(zip(order, _rows(self.index.sentence_vectors, order) @ query_vector.reshape(-1)))
        semantic = [cosine[s] for s in ids]
        items = sorted({passage_of[s] for s in ids})
        passage_cosine = dict(zip(items, _rows(self.index.passage_vectors, items) @ query_vector.reshape(-1)))
        asked = _Asked.of(question, self._terms(question, named), self.index)
        x = np.array([self._features(asked, s, float(sem), rank_of[s]) for s, sem in zip(ids, semantic)])
        x[:, FEATURES.index("passage_semantic")] = [passage_cosine[passage_of[s]] for s in ids]
        for of in ("lexical", "semantic"):
            column = x[:, FEATURES.index(of)]
            x[:, FEATURES.index(f"{of}_gap")] = column - column.max()
            x[:, FEATURES.index(f"{of}_rank")] = 1 / (1 + np.argsort(np.argsort(-column, kind="stable")))
        return ids, x

    def _terms(self, question: Question, named: list[int]) -> set[str]:
        """The question's terms that say what it asks, not which place or document it is about."""
        naming = set(question.places)
        for d in named:
            if d not in self._naming:
                self._naming[d] = set(tokenize(self.index.catalog[d].name))
            naming |= self._naming[d]
        return (set(question.tokens) - naming) or set(question.tokens)

    def _features(self, asked: _Asked, s: int, semantic: float, rank: int) -> list[float]:
        question, terms, idf = asked.question, asked.terms, asked.idf
        text = self._norm[s]
        own = set(self.index.sentence_tokens[s])
        have = set(own)
        for words, wording in asked.everyday:  # 最低生活保障 in the sentence holds the question's 低保
            if any(d in text for d in wording):
                have |= words
        kind = question.kind
        held, side = figure_fit(asked.figures, figures(text))
        values = {
            "lexical": self._coverage(terms, idf, have),
            **self._context(terms, idf, have, s),
            "semantic": semantic,
            "bigrams": sum(g in text for g in asked.grams) / len(asked.grams) if asked.grams else 0.0,
            "copied": _longest_common(question.norm, text) / max(len(question.norm), 1),
            "terms_held": len(terms & have) / max(len(terms), 1),
            "passage_rank": 1 / (1 + rank),
            "amount_fit": (1.0 if _has_figure(text) else -float(bool(PLACEHOLDER.search(text))))
            if kind == "amount"
            else 0.0,
            "date_fit": float(bool(DATE.search(text))) if kind == "date" else 0.0,
            "list_fit": min(len(LIST.findall(text)) / 3, 1.0) if kind == "list" else 0.0,
            "unit_fit": (1.0 if question.unit.search(text) else -1.0) if question.unit else 0.0,
            "fragment": float(len(text) < 8 or bool(heading_level(self.index.sentences[s].clean))),
            "bound_fit": (1.0 if BOUND.search(text) else -1.0) if question.bound else 0.0,
            "figures_held": held,
            "figure_side": side,
            "length": math.log1p(len(text)),
            "novel": len(own - set(question.tokens)) / max(len(own), 1),
        }
        return [values.get(name, 0.0) for name in FEATURES]

    def _coverage(self, terms: set[str], idf: dict[str, float], have: set[str]) -> float:
        """The share of the terms' weight (idf; a term no passage has is as rare as any) `have` holds."""
        if not terms:
            return 0.0
        return sum(idf[t] for t in terms if t in have) / sum(idf.values())

    def _context(self, terms: set[str], idf: dict[str, float], have: set[str], s: int) -> dict[str, float]:
        """Coverage by the sentence with its neighbours in the same document, and the rarest term they miss."""
        for n in (s - 1, s + 1):
            if self._beside(n, s):
                have = have | set(self.index.sentence_tokens[n])
        missing = [idf[t] for t in terms if t not in have]
        rarest = max(idf.values(), default=1.0)
        return {
            "context_lexical": self._coverage(terms, idf, have),
            "missing_rare": max(missing) / rarest if missing else 0.0,
        }

    def _blank(self, question: Question, s: int) -> bool:
        """A statement whose figure was never filled in (`X人次`): a placeholder, and no other number
        than those the question itself gives (`65 岁…管理率已达X%` for a question about 65岁)."""
        text = self._norm[s]
        own = set(re.findall(r"\d+(?:\.\d+)?", text)) - set(re.findall(r"\d+(?:\.\d+)?", question.norm))
        return bool(PLACEHOLDER.search(text)) and not own

    def answers(self, question: Question, reading: Reading) -> tuple[list[Scored], float]:
        """The sentences to quote (none when nothing answers: 1–3, more for a list question) and the calibrated
        probability that the best sentence that can answer does (0 when none can)."""
        scored = reading.scored
        fitting = [x for x in scored if self.can_answer(question, x.sentence) and not self._heading(x.sentence)]
        if not fitting:
            return [], 0.0
        confidence = self.model.confidence(fitting[0].score, reading.any_answer)
        if confidence < self.model.threshold or self._uncovered(question):
            return [], confidence
        if question.kind == "amount" and any(
            x.lexical >= fitting[0].lexical and self._blank(question, x.sentence) for x in scored
        ):
            return [], confidence  # the closest statement leaves the figure blank (`X人次`): the documents do not say
        limit = 6 if question.kind == "list" else 3
        return [x for x in fitting[:limit] if x.score >= self.model.share * fitting[0].score], confidence

    def can_answer(self, question: Question, s: int) -> bool:
        """A question for an amount needs a number; for money, an amount in 元."""
        text = self._norm[s]
        if question.money:
            return "元" in text
        return question.kind != "amount" or _has_figure(text)

    def _heading(self, s: int) -> bool:
        sentence = self.index.sentences[s]
        return is_heading(self.index.text(sentence.doc, sentence.start, sentence.end))

    def _uncovered(self, question: Question) -> bool:
        """The question names places and no document is about any of them."""
        covered = self._covered
        return bool(question.places and covered - {""} and not set(question.places) & covered)


def rerank_order(p: np.ndarray, fits: np.ndarray) -> np.ndarray:
    """Candidates as the reranker takes them: those that can answer the question's kind first, each part by
    first-stage probability."""
    return np.lexsort((-p, ~fits))


def _has_figure(text: str) -> bool:
    """A figure other than a date's (2012年9月18日 does not answer 多少)."""
    return bool(NUMBER.search(CALENDAR_DATE.sub("", text)))


def _longest_common(a: str, b: str) -> int:
    """Length of the longest stretch of characters `a` and `b` share."""
    match = SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b))
    return match.size


def _rows(vectors: np.ndarray, ids: list[int]) -> np.ndarray:
    """Rows of a memory-mapped matrix, as float32, read in ascending id order (`ids` is sorted)."""
    return np.asarray(vectors[np.asarray(ids, dtype=np.int64)], dtype=np.float32)
