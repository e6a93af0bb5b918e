"""Extractive reading: score the sentences of the top passages against the question, or abstain."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from index.normalize import normalize
from index.segment import heading_level
from index.store import Index
from index.tokenize import tokenize
from index.types import Hit
from qa.question import Question

_COUNTER = "个|万|亿|元|人|名|项|家|所|张|倍|成|日|天|年|岁|次"  # a Chinese numeral followed by one is a figure
_NUMBER = re.compile(rf"\d|[一二三四五六七八九十两][一二三四五六七八九十两百千万]*(?:{_COUNTER})")
_PLACEHOLDER = re.compile(r"(?<![a-z])x+(?![a-z])")
_DATE = re.compile(r"\d{4}\s*年|\d{1,2}\s*月|\d{1,2}\s*日|二〇|年底|年末|年初|十[三四五]五")
_LIST = re.compile(r"[、；;]")


@dataclass(frozen=True)
class Scored:
    sentence: int
    score: float
    lexical: float  # share of the question's term weight found in the sentence
    semantic: float  # cosine of question and sentence


@dataclass(frozen=True)
class Weights:
    """How the reader weighs its signals; defaults were set on the shipped benchmark (see README)."""

    lexical: float = 0.45
    semantic: float = 0.35
    kind: float = 0.10
    passage: float = 0.10
    wrong_place: float = 0.25
    min_confidence: float = 0.30  # lexical + 4·(semantic − 0.85) of the best sentence; below: nothing answers


class Reader:
    """Picks the sentences that answer a question from retrieved passages."""

    def __init__(self, index: Index, weights: Weights | None = None):
        self.index = index
        self.weights = weights or Weights()
        self._places = [normalize(d.place) for d in index.catalog]
        self._covered = set(self._places)
        self._norm = index.sentence_norms
        self._naming: dict[int, set[str]] = {}  # document → the words of its title and subtitle, when first named

    def read(
        self, question: Question, query_vector: np.ndarray, passages: list[Hit], named: list[int] | None = None
    ) -> list[Scored]:
        """Candidate sentences, best first; only from the `named` documents when the question names some."""
        if not passages:
            return []
        best_passage = max(passages[0].score, 1e-9)
        weight_of: dict[int, float] = {}
        for hit in passages:
            p = self.index.passages[hit.item]
            for s in range(p.first, p.last + 1):
                weight_of[s] = max(weight_of.get(s, 0.0), hit.score / best_passage)
        ids = [s for s in weight_of if not named or self.index.sentences[s].doc in named]
        if not ids:
            return []
        order = np.argsort(ids)  # memory-mapped rows read best in order
        rows = np.empty((len(ids), self.index.sentence_vectors.shape[1]), dtype=np.float32)
        rows[order] = self.index.sentence_vectors[np.asarray(ids)[order]]
        semantic = rows @ query_vector.reshape(-1)
        terms = self._terms(question, named or [])
        idf = self.index.idf(terms)
        scored = [self._score(terms, idf, question, s, float(sem), weight_of[s]) for s, sem in zip(ids, semantic)]
        return sorted(scored, key=lambda x: -x.score)

    def _terms(self, question: Question, named: list[int]) -> set[str]:
        """The question's terms that say what it asks, not which place or document it is about."""
        naming = set(question.places)
        for d in named:
            if d not in self._naming:
                self._naming[d] = set(tokenize(self.index.catalog[d].name))
            naming |= self._naming[d]
        return (set(question.tokens) - naming) or set(question.tokens)

    def _score(
        self, terms: set[str], idf: dict[str, float], question: Question, s: int, semantic: float, passage: float
    ) -> Scored:
        w = self.weights
        lexical = self._coverage(terms, idf, s)
        sem = min(max((semantic - 0.7) / 0.25, 0.0), 1.0)  # e5 cosines crowd into 0.7–0.95
        score = w.lexical * lexical + w.semantic * sem + w.kind * self._kind_fit(question, s) + w.passage * passage
        place = self._places[self.index.sentences[s].doc]
        if question.places and place and not question.about(place):
            score -= w.wrong_place
        if len(self._norm[s]) < 8 or heading_level(self.index.sentences[s].clean):
            score -= 0.2  # titles, headings and fragments state nothing
        return Scored(s, score, lexical, semantic)

    def _coverage(self, terms: set[str], idf: dict[str, float], s: int) -> float:
        """The share of the terms' weight (idf; a term no passage has is as rare as any) the sentence holds."""
        if not terms:
            return 0.0
        have = set(self.index.sentence_tokens[s])
        return sum(idf[t] for t in terms if t in have) / sum(idf.values())

    def _blank(self, question: Question, s: int) -> bool:
        """A statement whose figure was never filled in (`X人次`): a placeholder, and no other number
        than those the question itself gives (`65 岁…管理率已达X%` for a question about 65岁)."""
        text = self._norm[s]
        own = set(re.findall(r"\d+(?:\.\d+)?", text)) - set(re.findall(r"\d+(?:\.\d+)?", question.norm))
        return bool(_PLACEHOLDER.search(text)) and not own

    def _kind_fit(self, question: Question, s: int) -> float:
        text = self._norm[s]
        if question.kind == "amount":
            if question.money and "元" not in text:
                return -1.0
            return 1.0 if _NUMBER.search(text) else (-1.0 if _PLACEHOLDER.search(text) else 0.0)
        if question.kind == "date":
            return 1.0 if _DATE.search(text) else 0.0
        if question.kind == "list":
            return min(len(_LIST.findall(text)) / 3, 1.0)
        return 0.5

    def answers(self, question: Question, scored: list[Scored]) -> list[Scored]:
        """The sentences to quote (none when nothing answers): 1–3, more for a list question."""
        fitting = [x for x in scored if self._can_answer(question, x.sentence)]
        if not fitting or not self._answerable(question, fitting[0]):
            return []
        if question.kind == "amount" and any(
            x.lexical >= fitting[0].lexical and self._blank(question, x.sentence) for x in scored
        ):
            return []  # the closest statement leaves the figure blank (`X人次`): the documents do not say
        top = fitting[0].score
        limit, floor = (6, 0.75) if question.kind == "list" else (3, 0.6)
        return [x for x in fitting[:limit] if x.score >= floor * top]

    def _can_answer(self, question: Question, s: int) -> bool:
        """A question for an amount needs a number; for money, an amount in 元."""
        text = self._norm[s]
        if question.money:
            return "元" in text
        return question.kind != "amount" or bool(_NUMBER.search(text))

    def _answerable(self, question: Question, best: Scored) -> bool:
        w = self.weights
        if best.lexical + 4 * (best.semantic - 0.85) < w.min_confidence:
            return False
        covered = self._covered
        return not (question.places and covered - {""} and not set(question.places) & covered)
