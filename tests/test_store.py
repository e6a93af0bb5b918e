"""The index on disk: manifest checks, damaged indexes, and atomic rebuilds that never lose an index."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from index import sparse
from index.store import Index, StoreError
from qa.assistant import build_folder


def _build(folder: Path, out: Path, encoder) -> None:
    build_folder(folder, out, encoder, progress=False)


def _live(idx: Path) -> Path:
    return idx / json.loads((idx / "manifest.json").read_text())["generation"]


def test_build_and_load(tiny_folder: Path, tmp_path: Path, fake_encoder) -> None:
    report = build_folder(tiny_folder, tmp_path / "idx", fake_encoder, progress=False)
    assert len(report.indexed) == 5 and not report.skipped
    index = Index(tmp_path / "idx", fake_encoder)
    manifest = index.manifest
    for key in ("model", "dim", "faiss_factory", "tokenizer", "normalizer", "chunking", "corpus_sha256"):
        assert key in manifest
    for s in index.sentences:
        assert index.text(s.doc, s.start, s.end)[0] == s.clean[0]


def test_refuses_index_of_another_model(tiny_folder: Path, tmp_path: Path, fake_encoder) -> None:
    _build(tiny_folder, tmp_path / "idx", fake_encoder)

    class Other(type(fake_encoder)):
        name = "BAAI/bge-small-zh-v1.5"

    with pytest.raises(StoreError, match="built with model='fake-bigram-encoder'.*rebuild"):
        Index(tmp_path / "idx", Other())


def test_refuses_older_format(tiny_folder: Path, tmp_path: Path, fake_encoder) -> None:
    _build(tiny_folder, tmp_path / "idx", fake_encoder)
    path = tmp_path / "idx" / "manifest.json"
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps(manifest | {"format_version": 1}))
    with pytest.raises(StoreError, match="format_version=1.*rebuild"):
        Index(tmp_path / "idx", fake_encoder)


@pytest.mark.parametrize("damage", ["missing_dir", "no_manifest", "bad_manifest", "bad_faiss", "missing_vectors"])
def test_damaged_index_is_refused(tiny_folder: Path, tmp_path: Path, fake_encoder, damage: str) -> None:
    idx = tmp_path / "idx"
    _build(tiny_folder, idx, fake_encoder)
    if damage == "missing_dir":
        idx = tmp_path / "nowhere"
    elif damage == "no_manifest":
        (idx / "manifest.json").unlink()
    elif damage == "bad_manifest":
        (idx / "manifest.json").write_text("{not json")
    elif damage == "bad_faiss":
        (_live(idx) / "passages.faiss").write_bytes(b"garbage")
    else:
        (_live(idx) / "sentence_vectors.npy").unlink()
    with pytest.raises(StoreError):
        Index(idx, fake_encoder)


def test_failed_rebuild_keeps_previous_index(tiny_folder: Path, tmp_path: Path, fake_encoder, monkeypatch) -> None:
    idx = tmp_path / "idx"
    _build(tiny_folder, idx, fake_encoder)
    before = (idx / "manifest.json").read_text()

    def explode(*args, **kwargs):
        raise KeyboardInterrupt  # as if the user pressed Ctrl-C halfway through embedding

    monkeypatch.setattr(fake_encoder, "encode", explode)
    (tiny_folder / "new.txt").write_text("新增的文件内容,用于测试重建。", encoding="utf-8")
    with pytest.raises(KeyboardInterrupt):
        _build(tiny_folder, idx, fake_encoder)
    assert (idx / "manifest.json").read_text() == before
    assert len(Index(idx, fake_encoder).documents) == 5
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert sorted(p.name for p in idx.iterdir()) == [".lock", "g000001", "manifest.json"]


def test_build_skips_bad_files_and_names_them(tiny_folder: Path, tmp_path: Path, fake_encoder) -> None:
    (tiny_folder / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (tiny_folder / "binary.txt").write_bytes(b"\x00\x01\x02\x03" * 50)
    report = build_folder(tiny_folder, tmp_path / "idx", fake_encoder, progress=False)
    assert len(report.indexed) == 5
    assert sorted(r.split(":")[0] for r in report.skipped) == ["binary.txt", "photo.png"]


def test_empty_folder_is_an_error(tmp_path: Path, fake_encoder) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(StoreError, match="no readable documents"):
        build_folder(tmp_path / "empty", tmp_path / "idx", fake_encoder, progress=False)


def test_with_documents_embeds_only_new_files(tiny_assistant, tmp_path: Path, fake_encoder, monkeypatch) -> None:
    seen: list[str] = []
    original = fake_encoder.encode

    def spy(texts, kind, progress=False):
        if kind == "passage":
            seen.extend(texts)
        return original(texts, kind)

    monkeypatch.setattr(fake_encoder, "encode", spy)
    new = tmp_path / "added.txt"
    new.write_text("杭州市公共图书馆\n全市共有公共图书馆15个。", encoding="utf-8")
    other, report = tiny_assistant.with_documents([new], tmp_path / "with-added", progress=False)
    assert report.indexed == ["added.txt"] and len(other.index.documents) == 6
    assert all("杭州" in t or "图书馆" in t for t in seen)
    assert len(tiny_assistant.index.documents) == 5


def test_rebuilding_an_old_format_index_in_place_removes_its_files(tiny_folder: Path, tmp_path: Path, fake_encoder):
    idx = tmp_path / "idx"
    idx.mkdir()
    (idx / "manifest.json").write_text(json.dumps({"format_version": 5}))
    for name in ("index.sqlite", "passage_vectors.npy", "sentence_vectors.npy", "passages.faiss"):
        (idx / name).write_bytes(b"old")
    (idx / "bm25").mkdir()
    (idx / "bm25" / "data.csc.index.npy").write_bytes(b"old")
    with pytest.raises(StoreError, match="format_version=5"):
        Index(idx, fake_encoder)
    _build(tiny_folder, idx, fake_encoder)
    assert sorted(p.name for p in idx.iterdir()) == [".lock", "g000001", "manifest.json"]
    assert len(Index(idx, fake_encoder).catalog) == 5


@pytest.mark.parametrize("seed", range(5))
def test_top_k_is_the_stable_sort_s_head(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(200):
        scores = rng.integers(0, 12, int(rng.integers(1, 300))).astype(np.float32)  # many ties
        k = int(rng.integers(1, 120))
        assert list(sparse.top_k(scores, k)) == list(np.argsort(-scores, kind="stable")[:k])


@pytest.mark.parametrize("seed", range(5))
def test_best_of_is_the_stable_sort_s_positive_head(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(200):
        n = int(rng.integers(1, 300))
        scores = rng.integers(0, 6, n) * (rng.random(n) < 0.3)  # mostly 0, as over a library; many ties
        among = np.sort(rng.choice(n, int(rng.integers(0, n + 1)), replace=False))
        k = int(rng.integers(1, 120))
        for within in (None, among):
            ids = np.arange(n) if within is None else within
            want = [int(ids[i]) for i in np.argsort(-scores[ids], kind="stable")[:k] if scores[ids][i] > 0]
            assert list(sparse.best_of(scores, k, within)) == want
