"""What the reader and the assistant return: scored sentences, quotes with citations, and the answer that holds them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qa.question import Question


@dataclass(frozen=True)
class Scored:
    """A sentence (by id) as the reader scored it."""

    sentence: int
    score: float  # the probability that the sentence answers the question
    lexical: float = 1.0  # share of the question's term weight it holds


@dataclass(frozen=True)
class Reading:
    """What the reader made of a question's candidates."""

    scored: list[Scored]  # best first
    any_answer: float | None = None  # the reranker's best log-odds, against "no answer", that a sentence answers


@dataclass(frozen=True)
class Quote:
    """A verbatim span of a document: `text == original[start:end]` of the file named by `source`."""

    text: str
    source: str
    title: str
    place: str
    section: str
    start: int
    end: int
    score: float
    version: str = ""  # the document's version date, "" when it has none
    superseded: bool = False  # a newer version of the same regulation is in the index (旧版)
    page: int = 0  # the PDF page (from 1) the quote starts on; 0 for a document without pages

    @property
    def locator(self) -> str:
        """Where the quote is, as people cite it: `file.pdf 第3页 120–164` (the page only for a PDF)."""
        page = f" 第{self.page}页" if self.page else ""
        return f"{self.source}{page} {self.start}–{self.end}"

    def to_json(self, drop: tuple[str, ...] = (), only: tuple[str, ...] | None = None) -> dict:
        """The quote as JSON, the one way every output writes it (`--json`, the API, feedback, evaluation runs):
        its fields less `drop` (or just `only`), `page` only for a document that has pages."""
        fields = asdict(self)
        keys = only or [k for k in fields if k not in drop and (k != "page" or self.page)]
        return {k: fields[k] for k in keys}


LOW_CONFIDENCE = 0.5  # below this, the first quote (calibrated on dev) is right less often than not


@dataclass(frozen=True)
class Answer:
    """The answer to one question: quoted sentences (empty when the documents do not answer) and context."""

    question: str
    resolved: str  # the question as searched, completed from the conversation when elliptical
    answered: bool
    sentences: list[Quote] = field(default_factory=list)
    passages: list[Quote] = field(default_factory=list)
    kind: str = "fact"  # what the question asks for: amount, date, list, fact
    confidence: float = 0.0  # the calibrated probability that the first quote answers the question
    timings: dict[str, float] = field(default_factory=dict)
    asked: Question | None = field(default=None, compare=False, repr=False)  # what the assistant read it as

    @property
    def doubtful(self) -> bool:
        """Answered, but with a confidence below `LOW_CONFIDENCE`: people are told to check the quote."""
        return self.answered and self.confidence < LOW_CONFIDENCE

    def confidence_label(self) -> str:
        """The confidence as people read it: 可信度 84%, with a warning when it is low."""
        return f"可信度 {self.confidence:.0%}" + ("（较低，请核对原文）" if self.doubtful else "")

    def to_json(self, id: str | None = None) -> dict:
        """The `--json` contract: one object per question."""
        drop = ("place",)
        data = {
            "question": self.question,
            "resolved_question": self.resolved,
            "answered": self.answered,
            "confidence": self.confidence,
            "sentences": [q.to_json(drop) for q in self.sentences],
            "passages": [q.to_json(drop + ("section",)) for q in self.passages],
        }
        return ({"id": id} if id is not None else {}) | data
