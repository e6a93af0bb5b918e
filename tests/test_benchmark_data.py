"""Integrity checks for the fixed QA benchmark (qa/data/benchmark.jsonl).

Every answerable row must quote its source document verbatim: the answer lies inside the evidence
sentence, and the evidence is an exact substring of the document's original characters.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

DATA = Path(__file__).parent.parent / "qa" / "data"
BENCHMARK = DATA / "benchmark.jsonl"
CORPUS = DATA / "corpus"

TYPES = (
    "amount",
    "target",
    "clause",
    "fact",
    "list",
    "date",
    "city",
    "followup",
    "unanswerable",
)
FIELDS = {
    "id": str,
    "question": str,
    "history": list,
    "source": (str, type(None)),
    "answer": (str, type(None)),
    "evidence": (str, type(None)),
    "type": str,
}
MIN_PER_TYPE = 12
MIN_TOTAL = 150


def _load() -> list[dict]:
    with BENCHMARK.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


ROWS = _load()
DOCS = {p.name: p.read_text(encoding="utf-8") for p in CORPUS.glob("*.txt")}
ANSWERABLE = [r for r in ROWS if r.get("type") != "unanswerable"]
UNANSWERABLE = [r for r in ROWS if r.get("type") == "unanswerable"]
FOLLOWUPS = [r for r in ROWS if r.get("type") == "followup"]


def _ids(rows: list[dict]) -> list[str]:
    return [str(r.get("id")) for r in rows]


def test_benchmark_and_corpus_exist() -> None:
    assert BENCHMARK.is_file()
    assert len(DOCS) == 5


def test_total_size() -> None:
    assert len(ROWS) >= MIN_TOTAL


def test_ids_unique() -> None:
    counts = Counter(r["id"] for r in ROWS)
    assert [i for i, n in counts.items() if n > 1] == []


@pytest.mark.parametrize("qtype", TYPES)
def test_type_has_enough_questions(qtype: str) -> None:
    assert sum(r["type"] == qtype for r in ROWS) >= MIN_PER_TYPE


@pytest.mark.parametrize("row", ROWS, ids=_ids(ROWS))
def test_fields_present_with_right_types(row: dict) -> None:
    assert set(row) == set(FIELDS)
    for name, expected in FIELDS.items():
        assert isinstance(row[name], expected), name
    assert row["type"] in TYPES
    assert row["question"].strip()
    assert all(isinstance(h, str) and h.strip() for h in row["history"])


@pytest.mark.parametrize("row", ANSWERABLE, ids=_ids(ANSWERABLE))
def test_answerable_row_quotes_its_document(row: dict) -> None:
    assert row["source"] in DOCS
    assert isinstance(row["answer"], str) and row["answer"]
    assert isinstance(row["evidence"], str) and row["evidence"]
    assert row["answer"] in row["evidence"]
    assert row["evidence"] in DOCS[row["source"]]


@pytest.mark.parametrize("row", UNANSWERABLE, ids=_ids(UNANSWERABLE))
def test_unanswerable_row_has_no_gold(row: dict) -> None:
    assert row["source"] is None
    assert row["answer"] is None
    assert row["evidence"] is None


@pytest.mark.parametrize("row", FOLLOWUPS, ids=_ids(FOLLOWUPS))
def test_followup_row_has_history(row: dict) -> None:
    assert len(row["history"]) >= 1
