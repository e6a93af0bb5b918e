"""One record for a question asked in an evaluation run, whichever harness asked it, and its line in a run file.

A benchmark run (`evaluation.benchmark`) and an open-book run (`evaluation.openbook`) keep their own line formats,
so run files saved before this record existed are still read by `qa eval --rescore`; in memory both are a
`RunRow`, and every figure is computed from its fields.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from qa.types import Quote


@dataclass(frozen=True)
class Cited:
    """A quote as a run keeps it: where it is (open-book sentences keep no offsets, passages no text)."""

    source: str
    text: str = ""
    start: int = 0
    end: int = 0

    @classmethod
    def of(cls, quote: Quote) -> Cited:
        return cls(quote.source, quote.text, quote.start, quote.end)


@dataclass(frozen=True)
class RunRow:
    """A question asked in a run: its gold, and what the assistant returned."""

    id: str
    question: str
    gold: str  # the document (benchmark) or paragraph (open book) that holds the answer
    answers: tuple[str, ...]  # the gold answers; none for a question the documents do not answer
    answered: bool
    sentences: tuple[Cited, ...] | None  # quoted, best first; None for a method that quotes nothing (the baseline)
    passages: tuple[Cited, ...]
    ms: float
    confidence: float = 0.0
    kind: str = ""  # the benchmark's question type (amount, followup, unanswerable, …)
    method: str = ""  # the open book's retrieval method
    history: tuple[str, ...] = ()
    resolved: str = ""  # the question as searched, completed from the history
    gold_span: tuple[int, int] | None = None  # where the answer lies in its document, when found
    encode_ms: float = 0.0
    error: str = ""

    @property
    def answerable(self) -> bool:
        return bool(self.answers)

    def to_json(self) -> dict:
        """The run file's line: the benchmark's or the open book's format."""
        if self.method:
            row = {"method": self.method, "id": self.id, "question": self.question, "paragraph": self.gold}
            row |= {"answers": list(self.answers), "passages": [[p.source, p.start, p.end] for p in self.passages]}
            if self.sentences is not None:
                row |= {"answered": self.answered, "confidence": self.confidence, "encode_ms": self.encode_ms}
                row |= {"sentences": [[s.source, s.text] for s in self.sentences]}
            return row | ({"error": self.error} if self.error else {}) | {"ms": self.ms}
        cited = [{"source": q.source, "start": q.start, "end": q.end, "text": q.text} for q in self.sentences or ()]
        return {
            "id": self.id, "type": self.kind, "question": self.question, "history": list(self.history),
            "source": self.gold, "answer": self.answers[0] if self.answers else "",
            "gold_span": list(self.gold_span) if self.gold_span else None, "resolved": self.resolved,
            "answered": self.answered, "confidence": self.confidence, "sentences": cited,
            "passages": [{"source": q.source, "start": q.start, "end": q.end, "text": q.text} for q in self.passages],
            "ms": self.ms,
        }  # fmt: skip

    @classmethod
    def from_json(cls, row: dict) -> RunRow:
        """A run file's line, in either format."""
        if "method" in row:
            sentences = tuple(Cited(s, t) for s, t in row["sentences"]) if "sentences" in row else None
            return cls(
                str(row["id"]), row["question"], row["paragraph"], tuple(row["answers"]), row.get("answered", False),
                sentences, tuple(Cited(s, "", a, b) for s, a, b in row["passages"]),
                row["ms"], row.get("confidence", 0.0), method=row["method"], encode_ms=row.get("encode_ms", 0.0),
                error=row.get("error", ""),
            )  # fmt: skip
        span = row.get("gold_span")
        return cls(
            str(row["id"]), row["question"], row["source"] or "", (row["answer"],) if row["answer"] else (),
            row["answered"], tuple(Cited(**q) for q in row["sentences"]), tuple(Cited(**q) for q in row["passages"]),
            row["ms"], row.get("confidence", 0.0), kind=row["type"], history=tuple(row["history"]),
            resolved=row.get("resolved", ""), gold_span=tuple(span) if span else None,
        )  # fmt: skip


def read_run(path: Path) -> list[RunRow]:
    """A saved run's rows; OSError (one line) for a file that is not a run."""
    with Path(path).open(encoding="utf-8") as f:
        try:
            return [RunRow.from_json(json.loads(line)) for line in f if line.strip()]
        except (KeyError, TypeError, ValueError) as exc:
            raise OSError(f"{path} is not a run file of qa eval ({exc.__class__.__name__}: {exc})") from None


def write_run(rows: Iterable[RunRow], path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row.to_json(), ensure_ascii=False) + "\n")
