"""Shared fixtures: a fake keyword encoder for exact unit tests, and the real assistant for end-to-end ones."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from index.normalizer import normalize

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


SERVE_READY_S = 300  # a fresh machine builds the default index on first start (about 90 s)


@contextlib.contextmanager
def serving(log: Path, *args: str, extra_env: dict | None = None, ready: str = ""):
    """`qa serve ARGS` on a free local port, until the block ends; yields its base URL ("http://127.0.0.1:PORT").
    Ready when GET base + `ready` answers 200; fails the test with the log's tail if it exits or never is."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = os.environ | {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "NO_PROXY": "127.0.0.1,localhost"}
    command = [sys.executable, "-m", "app.cli", "serve", "--port", str(port), *args]
    with log.open("w") as out:
        proc = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env | (extra_env or {}))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVE_READY_S
        while not _answers(base + (ready or "/")):
            if proc.poll() is not None:
                pytest.fail(f"qa serve exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"qa serve was not ready in {SERVE_READY_S}s:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False
