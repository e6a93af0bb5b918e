"""Thumbs up/down on an answer, kept locally as JSON lines an evaluator can read back."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

from platformdirs import user_data_dir

from qa.types import Answer

_LOCK = threading.Lock()  # sessions write concurrently; one line per record must stay whole


def default_feedback_path() -> Path:
    """Where feedback goes unless `qa serve --feedback-file` says otherwise."""
    return Path(user_data_dir("minsheng-qa")) / "feedback.jsonl"


RATINGS = ("up", "down", "withdrawn")  # withdrawn: the person clicked their thumb again to take it back


def feedback_record(answer: Answer, rating: str, answer_text: str, filters: dict | None = None) -> dict:
    """One feedback line: the question, the answer as shown, its citations, the rating and the time."""
    if rating not in RATINGS:
        raise ValueError(f"rating must be one of {', '.join(RATINGS)}, not {rating!r}")
    quotes = answer.sentences if answer.answered else answer.passages
    citations = [q.to_json(drop=("score",)) for q in quotes]
    return {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "rating": rating,
        "question": answer.question,
        "resolved_question": answer.resolved,
        "answered": answer.answered,
        "answer": answer_text,
        "citations": citations,
        "filters": filters or {},
    }


def save_feedback(record: dict, path: Path | None = None) -> Path:
    """Append `record` to the feedback file (created with its folder on first use); returns the path."""
    path = Path(path) if path else default_feedback_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, ensure_ascii=False) + "\n"
    with _LOCK, path.open("a", encoding="utf-8") as f:
        f.write(line)
    return path


def read_feedback(path: Path | None = None) -> list[dict]:
    """Every feedback record saved so far, oldest first (empty when there is none yet)."""
    path = Path(path) if path else default_feedback_path()
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
