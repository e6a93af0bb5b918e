"""Commands that make the artefacts the library ships (the reranker, the int8 ranges), outside the library."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAWS_QUESTIONS = ROOT / "training" / "data" / "laws_questions.json"  # written for training: the "written" set


def commit() -> str:
    """The repository's commit, recorded beside what a command writes ("" outside a git checkout)."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip()
    except OSError:
        return ""
