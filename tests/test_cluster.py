"""The build on Ray (the `cluster` extra): the same index as the plain build, and clean failures."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from index import cluster
from index.embed import Encoder, cache_root
from index.store import Index
from qa.assistant import Assistant, build_folder

ray = pytest.importorskip("ray", reason="the cluster extra: pip install -e '.[cluster]'")


def test_unreachable_cluster_is_a_clear_error(tiny_folder: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 3)  # the real wait is 45 s (measured: error after 46 s)
    argv = ["index", "build", str(tiny_folder), "--out", str(tmp_path / "idx"), "--ray", "127.0.0.1:1"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "no Ray cluster answered at 127.0.0.1:1 within 3s" in err and err.strip().count("\n") == 0
    assert not (tmp_path / "idx").exists()


def test_without_ray_the_error_says_how_to_install(tiny_folder: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    assert main(["index", "build", str(tiny_folder), "--out", str(tmp_path / "idx"), "--ray"]) == 2
    assert "pip install -e '.[cluster]'" in capsys.readouterr().err
    shutil.rmtree(tmp_path / "idx", ignore_errors=True)


@pytest.fixture(scope="module")
def local_ray():
    """One local 2-CPU Ray for the module (a build joins a running Ray rather than starting its own)."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


@pytest.mark.slow
def test_ray_build_gives_the_same_index_as_the_plain_build(local_ray, tiny_folder: Path, tmp_path: Path, capsys):
    (tiny_folder / "broken.txt").write_bytes(b"\x00\x01\x02" * 40)
    assert main(["index", "build", str(tiny_folder), "--out", str(tmp_path / "ray"), "--ray"]) == 0
    out, err = capsys.readouterr()
    assert "indexed 5 document(s)" in out and "broken.txt: binary data" in err
    encoder = Encoder(cache_root=cache_root())
    build_folder(tiny_folder, tmp_path / "plain", encoder, progress=False)
    a, b = Index(tmp_path / "ray", encoder), Index(tmp_path / "plain", encoder)
    assert [d.source for d in a.catalog] == [d.source for d in b.catalog]
    assert [d.text for d in a.documents] == [d.text for d in b.documents]
    assert list(a.sentences) == list(b.sentences) and list(a.passages) == list(b.passages)
    np.testing.assert_allclose(a.passage_vectors, b.passage_vectors, atol=2e-3)
    np.testing.assert_allclose(a.sentence_vectors, b.sentence_vectors, atol=2e-3)
    assert a.manifest["built_on"] == "ray" and a.manifest["corpus_sha256"] == b.manifest["corpus_sha256"]
    question = "天津每千人口托位数达到多少?"
    answers = [Assistant(p, encoder=encoder, progress=False).answer(question).to_json() for p in (a.path, b.path)]
    assert answers[0] == answers[1] and answers[0]["answered"]


@pytest.mark.slow
def test_a_failing_worker_fails_the_build_cleanly(local_ray, tiny_folder: Path, tmp_path: Path, fake_encoder):
    build_folder(tiny_folder, tmp_path / "idx", fake_encoder, progress=False)
    before = (tmp_path / "idx" / "manifest.json").read_text()
    with pytest.raises(RuntimeError, match="the Ray build failed .*cannot load embedding model '/no/such/model'"):
        cluster.build_on_ray([tiny_folder], tmp_path / "idx", "/no/such/model")
    assert (tmp_path / "idx" / "manifest.json").read_text() == before
    assert len(Index(tmp_path / "idx", fake_encoder).catalog) == 5
