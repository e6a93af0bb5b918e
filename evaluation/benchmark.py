"""Scoring the assistant on a QA benchmark: run the questions into a run file, then score the run file.

Running and scoring are separate so that a saved run can be scored again (or by a newer scorer)
without asking any question twice. A run row records what the assistant returned and where the
gold answer lies in its document, so scoring needs nothing but the run file.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from importlib import resources
from pathlib import Path
from typing import TypeVar

import numpy as np
from tqdm import tqdm

from evaluation.runs import Cited, RunRow
from index import normalize
from qa.assistant import Assistant
from qa.types import Answer

BENCHMARK = Path(str(resources.files("qa") / "data" / "benchmark.jsonl"))
FIELDS = ("id", "question", "history", "source", "answer", "evidence", "type")
T = TypeVar("T")
SPLIT_SEED = 2026
HALVES = ("dev", "test")
FAILURES = ("wrong_passage", "wrong_sentence", "abstained_wrongly", "answered_unanswerable", "followup_not_completed")


def load_benchmark(path: Path = BENCHMARK) -> list[dict]:
    """The benchmark rows of a JSONL file; ValueError names a row that lacks a field."""
    rows = read_jsonl(path)
    for n, row in enumerate(rows, start=1):
        missing = [k for k in FIELDS if k not in row]
        if missing:
            raise ValueError(f"{path} row {n} lacks {', '.join(missing)}; each row needs {', '.join(FIELDS)}")
    return rows


def subsample(items: list[T], limit: int | None, seed: int) -> list[T]:
    """A fixed-seed random subset of `limit` items in their original order (all of them when limit is None)."""
    if limit is None or limit >= len(items):
        return items
    keep = sorted(random.Random(seed).sample(range(len(items)), limit))
    return [items[i] for i in keep]


def half(key: str) -> str:
    """ "dev" or "test": a fixed split by a hash of the key (a paragraph's or a question's id). Everything
    fitted (the reader, its thresholds) sees dev only; the README reports test."""
    return "dev" if hashlib.sha256(f"{SPLIT_SEED}/{key}".encode()).digest()[0] % 2 == 0 else "test"


def read_jsonl(path: Path) -> list[dict]:
    with Path(path).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# ---- running ---------------------------------------------------------------------------------------


def run_benchmark(assistant: Assistant, rows: list[dict], progress: bool = True) -> list[RunRow]:
    """Ask every benchmark question through `assistant.answer`, one run row each."""
    texts = DocumentTexts(assistant.index)
    if rows:  # the first answer loads the model: ask it once untimed so latency is what a warm user sees
        assistant.answer(rows[0]["question"], rows[0]["history"])
    out = []
    for row in tqdm(rows, desc="benchmark", disable=not progress):
        t0 = time.perf_counter()
        answer = assistant.answer(row["question"], row["history"])
        out.append(_run_row(row, answer, (time.perf_counter() - t0) * 1e3, texts))
    return out


class DocumentTexts:
    """Source name → original text, read from the index only for the documents asked about."""

    def __init__(self, index):
        self.index = index

    def get(self, source: str, default: str = "") -> str:
        d = self.index.by_source(source)
        return self.index.documents[d].text if d is not None else default


def _run_row(row: dict, answer: Answer, ms: float, texts: DocumentTexts) -> RunRow:
    """What scoring needs: the gold, where it lies, and every quote the assistant returned."""
    return RunRow(
        str(row["id"]), row["question"], row["source"] or "", (row["answer"],) if row["answer"] else (),
        answer.answered, tuple(map(Cited.of, answer.sentences)), tuple(map(Cited.of, answer.passages)),
        round(ms, 1), answer.confidence, kind=row["type"], history=tuple(row["history"]), resolved=answer.resolved,
        gold_span=gold_span(row, texts),
    )  # fmt: skip


def gold_span(row: dict, texts) -> tuple[int, int] | None:
    """Where the gold answer lies in its document: the answer's offsets inside its evidence sentence."""
    text = texts.get(row["source"] or "", "")
    at = text.find(row["evidence"]) if row.get("evidence") else -1
    if at < 0:
        return None
    start = at + row["evidence"].find(row["answer"])
    return start, start + len(row["answer"])


# ---- scoring ---------------------------------------------------------------------------------------


def contains(text: str, answer: str) -> bool:
    """Whether `text` holds `answer` once both are normalised the same way (script, width, spaces)."""
    return normalize(answer) in normalize(text)


def passage_rank(row: RunRow) -> int | None:
    """1-based rank of the first passage from the gold document that contains the gold answer's span."""
    for rank, p in enumerate(row.passages, start=1):
        if p.source == row.gold and _holds_gold(p, row):
            return rank
    return None


def _holds_gold(passage: Cited, row: RunRow) -> bool:
    if row.gold_span is None:  # evidence not found in the indexed text: fall back to the answer's words
        return any(contains(passage.text, a) for a in row.answers)
    return passage.start <= row.gold_span[0] and row.gold_span[1] <= passage.end


def answer_rank(row: RunRow) -> int | None:
    """1-based rank of the first quoted sentence from the gold document that contains a gold answer."""
    for rank, s in enumerate(row.sentences or (), start=1):
        if s.source == row.gold and any(contains(s.text, a) for a in row.answers):
            return rank
    return None


def at_k(ranks: list[int | None], k: int) -> float | None:
    """Share of ranks that are at most k (None when there is nothing to score)."""
    return rate([r is not None and r <= k for r in ranks])


def mrr(ranks: list[int | None], k: int = 10) -> float | None:
    """Mean reciprocal rank, counting ranks beyond k as misses."""
    return _mean([1.0 / r if r is not None and r <= k else 0.0 for r in ranks])


def rate(flags: list[bool]) -> float | None:
    """Share of true flags (None when there are none to count)."""
    return _mean(flags)


def percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def _mean(values: list[float | bool]) -> float | None:
    return round(float(np.mean(values)), 4) if values else None


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def score_group(rows: list[RunRow]) -> dict:
    """All figures for a set of run rows; a figure with nothing to score is None."""
    answerable = [r for r in rows if r.answerable]
    passages = [passage_rank(r) for r in answerable]
    answers = [answer_rank(r) for r in answerable]
    abstained = [r for r in rows if not r.answered]
    right = sum(not r.answerable for r in abstained)
    latencies = [r.ms for r in rows]
    return {
        "questions": len(rows),
        "answerable": len(answerable),
        "recall@1": at_k(passages, 1),
        "recall@5": at_k(passages, 5),
        "mrr@10": mrr(passages, 10),
        "hit@1": at_k(answers, 1),
        "hit@3": at_k(answers, 3),
        "abstention_precision": _share(right, len(abstained)),
        "abstention_recall": _share(right, len(rows) - len(answerable)),
        "false_abstention": _share(len(abstained) - right, len(answerable)),
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
    }


def failure(row: RunRow) -> str | None:
    """Why a row failed (None when hit@1 holds or an unanswerable question was declined); see FAILURES."""
    if not row.answerable:
        return "answered_unanswerable" if row.answered else None
    if answer_rank(row) == 1:
        return None
    if row.history and row.resolved == normalize(row.question):
        return "followup_not_completed"
    if not row.answered:
        return "abstained_wrongly"
    return "wrong_passage" if passage_rank(row) is None else "wrong_sentence"


def failure_example(row: RunRow) -> dict:
    """A failing row, shortened for reading: the question, the gold and what we quoted first."""
    top = row.sentences[0] if row.sentences else None
    return {
        "id": row.id,
        "type": row.kind,
        "why": failure(row),
        "question": row.question,
        "history": list(row.history),
        "resolved": row.resolved,
        "gold": row.answers[0] if row.answers else None,
        "gold_source": row.gold or None,
        "returned": top and top.text.replace("\n", ""),
        "returned_source": top and top.source,
        "answer_rank": answer_rank(row),
        "passage_rank": passage_rank(row),
    }


def reliability(pairs: list[tuple[float, bool | None]], bins: int = 10) -> list[dict]:
    """Per confidence bin: how many questions, their mean confidence, and how often the first quote was
    right. `pairs` are (confidence, first quote right); None where that is unknown (an answerable question
    the assistant declined: nothing was quoted) — those are left out and counted as `unknown`."""
    out = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = [(c, ok) for c, ok in pairs if lo <= c < hi or (b == bins - 1 and c == 1.0)]
        known = [(c, ok) for c, ok in inside if ok is not None]
        out.append(
            {
                "bin": [lo, hi],
                "questions": len(known),
                "unknown": len(inside) - len(known),
                "confidence": _mean([c for c, _ in known]),
                "right": _mean([ok for _, ok in known]),
            }
        )
    return out


def first_right(answered: bool, answerable: bool, first_holds_answer: bool) -> bool | None:
    """Whether the best sentence the reader found answers the question (the reliability diagram's outcome), for
    every kind of run: for a quote, whether it is right; for an unanswerable question declined, no (nothing
    could); for an answerable one declined, unknown."""
    if answered:
        return answerable and first_holds_answer
    return None if answerable else False


def score_benchmark(rows: list[RunRow]) -> dict:
    """The report: figures overall and per question type, failure counts and the failing rows."""
    types = sorted({r.kind for r in rows})
    failing = [r for r in rows if failure(r)]
    return {
        "overall": score_group(rows),
        "reliability": reliability(
            [(r.confidence, first_right(r.answered, r.answerable, answer_rank(r) == 1)) for r in rows]
        ),
        "by_type": {t: score_group([r for r in rows if r.kind == t]) for t in types},
        "failures": {why: sum(failure(r) == why for r in failing) for why in FAILURES},
        "failing": [failure_example(r) for r in failing],
    }
