"""Keeping an index current: update, add, remove; the same index as a fresh build; locks; a live Assistant."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from app import index_cmd
from app.cli import main
from index import update
from index.commit import StoreError, locked
from index.normalizer import normalize
from index.store import Index
from qa.assistant import Assistant, build_folder

HANGZHOU = "杭州市公共图书馆\n全市共有公共图书馆15个，每万人拥有公共图书馆藏书8000册。\n"


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def built(tiny_folder: Path, tmp_path: Path, fake_encoder) -> Path:
    build_folder(tiny_folder, tmp_path / "idx", fake_encoder, progress=False)
    return tmp_path / "idx"


@pytest.fixture
def fake_cli(monkeypatch, fake_encoder) -> None:
    """The CLI loads the model an index names; these indexes name the fake encoder."""
    monkeypatch.setattr(index_cmd, "_encoder", lambda model, device, precision: fake_encoder)


def _spy(monkeypatch, encoder) -> list[str]:
    seen: list[str] = []
    original = encoder.encode

    def spy(texts, kind, progress=False):
        seen.extend(texts)
        return original(texts, kind)

    monkeypatch.setattr(encoder, "encode", spy)
    return seen


def _same_index(a: Index, b: Index) -> None:
    """Same documents, sentences, passages and vectors (within float16 rounding)."""
    assert [d.source for d in a.catalog] == [d.source for d in b.catalog]
    assert [d.text for d in a.documents] == [d.text for d in b.documents]
    assert list(a.sentences) == list(b.sentences) and list(a.passages) == list(b.passages)
    assert list(a.sentence_tokens) == list(b.sentence_tokens)
    np.testing.assert_allclose(a.passage_vectors, b.passage_vectors, atol=2e-3)
    np.testing.assert_allclose(a.sentence_vectors, b.sentence_vectors, atol=2e-3)
    assert a.term_ids(["图书馆", "低保"]) == b.term_ids(["图书馆", "低保"])


def test_update_embeds_only_changed_files_and_equals_a_fresh_build(
    built: Path, tiny_folder: Path, tmp_path: Path, fake_encoder, monkeypatch
) -> None:
    (tiny_folder / "hangzhou.txt").write_text(HANGZHOU, encoding="utf-8")
    (tiny_folder / "chengdu.md").unlink()
    tianjin = tiny_folder / "tianjin.txt"
    tianjin.write_text(tianjin.read_text(encoding="utf-8") + "\n新增条款：本办法自发布之日起施行。\n", encoding="utf-8")
    index = Index(built, fake_encoder)
    kept = [normalize(d.title) for d in index.catalog if d.source not in ("tianjin.txt", "chengdu.md")]
    seen = _spy(monkeypatch, fake_encoder)
    change = update.update(built, fake_encoder, progress=False)
    assert (change.added, change.replaced, change.removed) == (["hangzhou.txt"], ["tianjin.txt"], ["chengdu.md"])
    assert change.unchanged == 3
    assert seen and not [t for t in seen for title in kept if title in t]  # the three unchanged are not embedded
    updated = Index(built, fake_encoder)
    assert sorted(d.source for d in updated.catalog) == sorted(p.name for p in tiny_folder.iterdir())
    assert "本办法自发布之日起施行" in updated.documents[updated.by_source("tianjin.txt")].text


def test_update_gives_the_index_a_fresh_build_would(built: Path, tiny_folder: Path, tmp_path: Path, fake_encoder):
    (tiny_folder / "zz_hangzhou.txt").write_text(HANGZHOU, encoding="utf-8")  # sorts last, as update appends
    update.update(built, fake_encoder, progress=False)
    build_folder(tiny_folder, tmp_path / "fresh", fake_encoder, progress=False)
    _same_index(Index(built, fake_encoder), Index(tmp_path / "fresh", fake_encoder))


def test_nothing_changed_writes_nothing(built: Path, fake_encoder) -> None:
    before = (built / "manifest.json").read_text()
    change = update.update(built, fake_encoder, progress=False)
    assert not change.changed and change.unchanged == 5
    assert (built / "manifest.json").read_text() == before


def test_removed_document_leaves_no_trace(built: Path, fake_encoder) -> None:
    index = Index(built, fake_encoder)
    gone = index.catalog[index.by_source("tianjin.txt")]
    text = index.documents[index.by_source("tianjin.txt")].text
    update.remove(built, ["tianjin.txt"], fake_encoder, progress=False)
    after = Index(built, fake_encoder)
    assert after.by_source("tianjin.txt") is None and len(after.catalog) == 4
    assert all(s.clean not in text for s in after.sentences if len(s.clean) > 12)
    answer = Assistant(built, encoder=fake_encoder, progress=False).answer("天津农村特困人员每月能领多少钱?")
    assert all(q.source != gone.source for q in answer.sentences + answer.passages)


def test_add_names_the_source_and_replaces_an_existing_one(built: Path, tmp_path: Path, fake_encoder) -> None:
    new = tmp_path / "new_rule.md"
    new.write_text(HANGZHOU, encoding="utf-8")
    change = update.add(built, [(new, "杭州/图书馆.md")], fake_encoder, progress=False)
    assert change.added == ["杭州/图书馆.md"]
    new.write_text(HANGZHOU.replace("15", "16"), encoding="utf-8")
    change = update.add(built, [(new, "杭州/图书馆.md")], fake_encoder, progress=False)
    assert change.replaced == ["杭州/图书馆.md"] and not change.added
    index = Index(built, fake_encoder)
    assert "16个" in index.documents[index.by_source("杭州/图书馆.md")].text
    # an added file outside the folders survives an update of the folders
    assert update.update(built, fake_encoder, progress=False).removed == []


def test_cli_add_remove_update_print_what_changed(built: Path, tmp_path: Path, capsys, fake_cli) -> None:
    new = tmp_path / "new_rule.md"
    new.write_text(HANGZHOU, encoding="utf-8")
    code, out, _ = _run(capsys, "index", "add", str(new), "--index", str(built))
    assert code == 0 and "added     new_rule.md" in out and "1 added, 0 replaced, 0 removed, 5 unchanged" in out
    code, out, _ = _run(capsys, "index", "remove", "new_rule.md", "--index", str(built))
    assert code == 0 and "removed   new_rule.md" in out
    code, out, _ = _run(capsys, "index", "update", str(built))
    assert code == 0 and "nothing changed" in out
    code, out, _ = _run(capsys, "index", "info", str(built), "--json")
    assert [f["source"] for f in json.loads(out)["files"]] == sorted(
        ["big5_notes.txt", "chengdu.md", "gbk_notes.txt", "shanghai.html", "tianjin.txt"]
    )


@pytest.mark.parametrize("case", ["binary", "empty", "undecodable", "missing_file", "unknown_source", "folder_gone"])
def test_bad_changes_leave_the_index_untouched(
    built: Path, tiny_folder: Path, tmp_path: Path, capsys, fake_cli, case: str
) -> None:
    before = (built / "manifest.json").read_text()
    bad = tmp_path / "bad.txt"
    argv = ["index", "add", str(bad), "--index", str(built)]
    if case == "binary":
        bad.write_bytes(b"\x00\x01\x02" * 100)
    elif case == "empty":
        bad.write_bytes(b"")
    elif case == "undecodable":
        bad.write_bytes(bytes(range(128, 256)) * 4)
    elif case == "unknown_source":
        argv = ["index", "remove", "nowhere.md", "--index", str(built)]
    elif case == "folder_gone":
        shutil.rmtree(tiny_folder)
        argv = ["index", "update", str(built)]
    code, out, err = _run(capsys, *argv)
    assert code == 2 and out == "" and err.count("\n") == 1 and "Traceback" not in err, err
    assert (built / "manifest.json").read_text() == before


def test_a_second_writer_is_refused(built: Path, tiny_folder: Path, fake_encoder) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from index.commit import locked\nwith locked({str(built)!r}):\n    print('held', flush=True)\n    import time; time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        (tiny_folder / "hangzhou.txt").write_text(HANGZHOU, encoding="utf-8")
        with pytest.raises(StoreError, match=f"another build or update .* is running \\(pid {holder.pid}\\)"):
            update.update(built, fake_encoder, progress=False)
    finally:
        holder.kill()
        holder.wait()
    assert update.update(built, fake_encoder, progress=False).added == ["hangzhou.txt"]  # the lock died with it
    with locked(built), locked(built):  # one process may take it again (an update writes under its own lock)
        pass


def test_a_running_assistant_answers_from_a_committed_update(built: Path, tmp_path: Path, fake_encoder) -> None:
    assistant = Assistant(built, encoder=fake_encoder, progress=False)
    question = "杭州每万人拥有公共图书馆藏书多少册?"
    before = assistant.answer(question)
    assert all(q.source != "hangzhou.txt" for q in before.sentences)
    old_index = assistant.index
    new = tmp_path / "hangzhou.txt"
    new.write_text(HANGZHOU, encoding="utf-8")
    update.add(built, [(new, "hangzhou.txt")], fake_encoder, progress=False)
    after = assistant.answer(question)
    assert after.answered and after.sentences[0].source == "hangzhou.txt" and "8000册" in after.sentences[0].text
    # a question still answering from the previous generation finishes with it
    assert old_index.documents[0].text and len(old_index.sentences) == len(list(old_index.sentences))


KILLER = """
import sys
sys.path.insert(0, {tests!r})
from conftest import FakeEncoder
from index import update
print("start", flush=True)
update.update({index!r}, FakeEncoder(), progress=False)
"""


def _answers(path: Path, encoder, questions: list[str]) -> list[dict]:
    assistant = Assistant(path, encoder=encoder, progress=False)
    return [assistant.answer(q).to_json() for q in questions]


def test_sigkill_at_any_moment_of_an_update_leaves_before_or_after(tiny_folder: Path, tmp_path: Path, fake_encoder):
    """A real update process killed at several moments of its work: the index is either as before or as after."""
    for n in range(60):  # enough documents that writing takes a while to kill inside
        (tiny_folder / f"doc{n:02d}.txt").write_text(
            f"第{n}号文件\n" + "本市居民可以申请补贴，标准为每月500元。" * (n % 7 + 1)
        )
    index = tmp_path / "idx"
    build_folder(tiny_folder, index, fake_encoder, progress=False)
    questions = ["杭州每万人拥有公共图书馆藏书多少册?", "天津农村特困人员每月能领多少钱?"]
    saved = tmp_path / "saved"
    shutil.copytree(index, saved)
    before = _answers(index, fake_encoder, questions)
    (tiny_folder / "hangzhou.txt").write_text(HANGZHOU, encoding="utf-8")
    (tiny_folder / "doc03.txt").unlink()
    script = KILLER.format(tests=str(Path(__file__).parent), index=str(index))
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)
    whole = time.perf_counter() - t0
    after = _answers(index, fake_encoder, questions)
    assert after != before
    outcomes = set()
    # moments: early on (loading, reading, embedding), and while the new generation's files are being written
    for moment in (0.3, 0.6, 0.8, 0.9, "writing+0", "writing+0.005", "writing+0.02", "writing+0.05", "writing+0.1"):
        shutil.rmtree(index)
        shutil.copytree(saved, index)
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if isinstance(moment, float):
            time.sleep(whole * moment)
        else:
            while not (index / "g000002").exists() and proc.poll() is None:
                time.sleep(0.0005)
            time.sleep(float(moment.split("+")[1]))
        proc.kill()
        proc.wait()
        writing = (index / "g000002").exists() and json.loads((index / "manifest.json").read_text())[
            "generation"
        ] == "g000001"
        got = _answers(index, fake_encoder, questions)  # loads without a traceback
        assert got in (before, after), moment
        outcomes.add("after" if got == after else "killed while writing" if writing else "before")
        assert update.update(index, fake_encoder, progress=False) is not None  # the next writer goes on
        assert _answers(index, fake_encoder, questions) == after
        assert len([p for p in index.iterdir() if p.name.startswith("g")]) <= 2
    assert {"before", "killed while writing"} <= outcomes, outcomes


def test_adding_grows_the_approximate_index_and_finds_the_new_passages(
    built: Path, tiny_folder: Path, tmp_path: Path, fake_encoder, monkeypatch
) -> None:
    from index import dense

    monkeypatch.setattr(dense, "EXACT_LIMIT", 5)  # HNSW above 5 passages
    build_folder(tiny_folder, built, fake_encoder, progress=False)
    old = Index(built, fake_encoder)
    grown = []
    monkeypatch.setattr(dense, "write_vectors", _spying(dense.write_vectors, grown))
    new = tmp_path / "zz_hangzhou.txt"
    new.write_text(HANGZHOU, encoding="utf-8")
    update.add(built, [(new, new.name)], fake_encoder, progress=False)
    assert grown == [len(old.passages)]  # the old graph was read and only the new vectors added
    index = Index(built, fake_encoder)
    assert index.manifest["faiss_factory"] == "HNSW32" and index._dense.ntotal == len(index.passages)
    doc = index.by_source(new.name)
    for s in range(index.catalog[doc].first_passage, len(index.passages)):
        vector = np.asarray(index.passage_vectors[s], dtype=np.float32)
        assert index.dense_search(vector, 1)[0] == s or index.passages[index.dense_search(vector, 1)[0]].doc == doc
    update.remove(built, ["tianjin.txt"], fake_encoder, progress=False)  # a removal rebuilds it
    assert grown[-1] == 0


def test_a_graph_built_with_a_lower_ef_construction_is_rebuilt_at_the_next_change(
    built: Path, tiny_folder: Path, tmp_path: Path, fake_encoder, monkeypatch
) -> None:
    from index import dense

    monkeypatch.setattr(dense, "EXACT_LIMIT", 5)
    monkeypatch.setattr(dense, "EF_CONSTRUCTION", 40)  # as an older version of the store built it
    build_folder(tiny_folder, built, fake_encoder, progress=False)
    assert Index(built, fake_encoder)._dense.hnsw.efConstruction == 40
    monkeypatch.setattr(dense, "EF_CONSTRUCTION", 200)
    new = tmp_path / "zz_hangzhou.txt"
    new.write_text(HANGZHOU, encoding="utf-8")
    update.add(built, [(new, new.name)], fake_encoder, progress=False)  # only an addition, yet a new graph
    index = Index(built, fake_encoder)
    assert index._dense.hnsw.efConstruction == 200 and index._dense.ntotal == len(index.passages)


def _spying(write_vectors, grown: list[int]):
    def spy(contents, folder):
        grown.append(contents.grows and len(contents.grows.passages) or 0)
        return write_vectors(contents, folder)

    return spy
