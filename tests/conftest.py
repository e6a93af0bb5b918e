"""Shared fixtures: a fake keyword encoder for exact unit tests, and the real assistant for end-to-end ones."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from index.normalize import normalize

TINY = Path(__file__).parent / "data" / "tiny"
ROOT = Path(__file__).resolve().parents[1]


class FakeEncoder:
    """Hashes character bigrams of normalised text into a unit vector: exact, fast, no model."""

    name = "fake-bigram-encoder"
    dim = 64

    def encode(self, texts: list[str], kind: str, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            text = normalize(text)
            for a, b in zip(text, text[1:]):
                out[row, int(hashlib.md5((a + b).encode()).hexdigest(), 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


@pytest.fixture
def fake_encoder() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture
def tiny_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    shutil.copytree(TINY, folder)
    return folder


@pytest.fixture
def tiny_assistant(tiny_folder: Path, tmp_path: Path, fake_encoder: FakeEncoder):
    from qa.assistant import Assistant, build_folder

    build_folder(tiny_folder, tmp_path / "index", fake_encoder, progress=False)
    return Assistant(tmp_path / "index", encoder=fake_encoder, progress=False)


@pytest.fixture(scope="session")
def assistant():
    """The real assistant on the default corpus, as a user gets it (built on first use, then cached)."""
    from qa.assistant import Assistant

    a = Assistant(progress=False)
    a.warm_up()
    return a
