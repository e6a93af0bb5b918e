"""The store at library scale: several folders, the catalogue, approximate search, top-k retrieval, filters."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from index import dense, sparse
from index.ingest import find_version
from index.store import Index, StoreError
from qa.assistant import Assistant, build_folder
from qa.question import parse
from qa.retrieve import Retriever


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def two_folders(tiny_folder: Path, tmp_path: Path) -> list[Path]:
    laws = tmp_path / "laws" / "DLC" / "上海"
    laws.mkdir(parents=True)
    for date, n in (("2010-12-23", "五"), ("2020-12-30", "七")):
        (laws / f"上海市住宅物业管理规定({date}).md").write_text(
            f"# 上海市住宅物业管理规定\n\n## 第三章 业主委员会\n\n第二十条 业主委员会由{n}至十五名委员组成。\n",
            encoding="utf-8",
        )
    return [tiny_folder, tmp_path / "laws"]


def test_several_folders_keep_sources_relative(two_folders, tmp_path: Path, fake_encoder) -> None:
    build_folder(two_folders, tmp_path / "idx", fake_encoder, progress=False)
    index = Index(tmp_path / "idx", fake_encoder)
    sources = {d.source for d in index.catalog}
    assert "tianjin.txt" in sources and "DLC/上海/上海市住宅物业管理规定(2020-12-30).md" in sources
    assert index.manifest["folders"] == [str(f.resolve()) for f in two_folders]
    for s in index.sentences:  # every sentence still cites its own document's original text
        assert index.text(s.doc, s.start, s.end)[0] == s.clean[0]


def test_clashing_sources_name_both_files(tiny_folder: Path, tmp_path: Path, fake_encoder) -> None:
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(tiny_folder / "tianjin.txt", other / "tianjin.txt")
    with pytest.raises(StoreError, match=r"tianjin.txt.*docs/tianjin.txt.*other/tianjin.txt"):
        build_folder([tiny_folder, other], tmp_path / "idx", fake_encoder, progress=False)
    assert not (tmp_path / "idx").exists()


@pytest.mark.parametrize(
    ("stem", "version"),
    [
        ("上海市住宅物业管理规定(2020-12-30)", "2020-12-30"),
        ("上海市住宅物业管理规定（2010-12-23）", "2010-12-23"),
        ("中华人民共和国民法典", ""),
        ("2020-12-30通知", ""),
    ],
)
def test_version_from_file_name(stem: str, version: str) -> None:
    assert find_version(stem) == version


def test_version_from_the_enactment_lines_when_the_file_name_has_none() -> None:
    text = (
        "# 上海市住宅物业管理规定\n\n2004年8月19日 上海市第十二届人民代表大会常务委员会第十四次会议通过\n\n"
        "2020年12月30日 上海市第十五届人民代表大会常务委员会第二十八次会议第二次修正\n\n<!-- INFO END -->\n\n"
        "第一条 2025年1月1日起施行的规定……\n"
    )
    assert find_version("上海市住宅物业管理规定", text) == "2020-12-30"
    assert find_version("上海市住宅物业管理规定(2010-12-23)", text) == "2010-12-23"  # the file name wins
    assert find_version("上海市献血条例", "# 上海市献血条例\n\n<!-- INFO END -->\n\n第一条 ……") == ""


def test_index_info_json(two_folders, tmp_path: Path, fake_encoder, capsys) -> None:
    build_folder(two_folders, tmp_path / "idx", fake_encoder, progress=False)
    code, out, err = _run(capsys, "index", "info", str(tmp_path / "idx"), "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["documents"] == 7 and info["passages"] > 0 and info["sentences"] >= info["passages"]
    assert info["model"] == "fake-bigram-encoder" and len(info["folders"]) == 2 and info["built"]
    assert info["bytes"] == sum(f.stat().st_size for f in (tmp_path / "idx").rglob("*") if f.is_file())
    new = next(f for f in info["files"] if f["source"].endswith("(2020-12-30).md"))
    assert new == new | {"title": "上海市住宅物业管理规定", "place": "上海", "version": "2020-12-30"}
    assert new["chars"] == len((two_folders[1] / new["source"]).read_text(encoding="utf-8"))
    code, out, _ = _run(capsys, "index", "info", str(tmp_path / "idx"))
    assert code == 0 and "documents  7" in out


def test_index_info_on_a_folder_that_is_not_an_index(tmp_path: Path, capsys) -> None:
    code, out, err = _run(capsys, "index", "info", str(tmp_path))
    assert code == 2 and out == "" and "no index" in err and err.count("\n") == 1


def test_device_cuda_without_gpu_is_one_line(tiny_folder: Path, tmp_path: Path, capsys) -> None:
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    code, _, err = _run(capsys, "index", "build", str(tiny_folder), "--out", str(tmp_path / "i"), "--device", "cuda")
    assert code == 2 and "no CUDA GPU" in err and err.count("\n") == 1 and not (tmp_path / "i").exists()


def test_unreadable_files_are_summarised_not_listed(tiny_folder: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    for i in range(30):
        (tiny_folder / f"broken{i:02d}.txt").write_bytes(b"\x00\x01\x02" * 40)
    from conftest import FakeEncoder

    monkeypatch.setattr("index.embed.Encoder", lambda *a, **k: FakeEncoder())
    code, out, err = _run(capsys, "index", "build", str(tiny_folder), "--out", str(tmp_path / "idx"), "--device", "cpu")
    assert code == 0 and "indexed 5 document(s)" in out
    assert "skipped 30 unreadable file(s)" in err and "… and 25 more" in err
    assert len([line for line in err.splitlines() if "broken" in line]) == 5
    assert len((tmp_path / "idx" / "skipped.txt").read_text(encoding="utf-8").splitlines()) == 30


def test_sparse_scores_equal_bm25s(tiny_folder: Path, tmp_path: Path, fake_encoder, monkeypatch) -> None:
    build_folder(tiny_folder, tmp_path / "idx", fake_encoder, progress=False)
    index = Index(tmp_path / "idx", fake_encoder)
    ids = index.term_ids(list(parse("天津农村特困人员每月能领多少钱?").terms))
    assert ids
    theirs = index._sparse.get_scores_from_ids(ids)
    every = np.arange(len(index.passages))
    np.testing.assert_allclose(index.sparse_scores(ids, every), theirs, rtol=1e-5)
    best = index.sparse_search(ids, 3)
    assert list(best) == list(np.argsort(-theirs, kind="stable")[:3])
    monkeypatch.setattr(sparse, "SPARSE_POSTINGS", 1)  # only the rarest term finds candidates
    rare = index.sparse_search(ids, 3)
    assert len(rare) and theirs[rare].min() > 0


def test_approximate_index_finds_what_exact_search_finds(two_folders, tmp_path: Path, fake_encoder, monkeypatch):
    build_folder(two_folders, tmp_path / "flat", fake_encoder, progress=False)
    monkeypatch.setattr(dense, "EXACT_LIMIT", 5)  # everything above 5 passages gets HNSW
    build_folder(two_folders, tmp_path / "hnsw", fake_encoder, progress=False)
    flat, hnsw = Index(tmp_path / "flat", fake_encoder), Index(tmp_path / "hnsw", fake_encoder)
    assert flat.manifest["faiss_factory"] == "Flat" and hnsw.manifest["faiss_factory"] == "HNSW32"
    for q in ("天津农村特困人员每月能领多少钱?", "业主委员会由几名委员组成", "成都的低保标准"):
        v = fake_encoder.encode([q], "query")[0]
        assert list(hnsw.dense_search(v, 5)) == list(flat.dense_search(v, 5))
        among = hnsw.passage_range([0, 1])
        assert set(hnsw.dense_search(v, 3, among)) <= set(among)


def test_filters_and_named_documents_at_library_size(two_folders, tmp_path: Path, fake_encoder, monkeypatch) -> None:
    monkeypatch.setattr(dense, "EXACT_LIMIT", 5)
    monkeypatch.setattr("qa.retrieve.CANDIDATES", 2)  # fewer candidates than passages: the union matters
    build_folder(two_folders, tmp_path / "idx", fake_encoder, progress=False)
    assistant = Assistant(tmp_path / "idx", encoder=fake_encoder, progress=False)
    answer = assistant.answer("业主委员会由几名委员组成?", place="上海")
    assert answer.passages and {p.place for p in answer.passages} == {"上海"}
    answer = assistant.answer("每月能领多少钱?", source="tianjin.txt")
    assert {p.source for p in answer.passages} == {"tianjin.txt"}
    retriever = Retriever(assistant.index)
    question = parse("上海市住宅物业管理规定第二十条规定了什么")
    names = retriever.names(question)
    assert names.article == 20 and names.documents
    hits = retriever.retrieve(question.named(names), fake_encoder.encode([question.norm], "query")[0], 2)
    assert {assistant.index.passages[h.item].doc for h in hits} <= set(names.documents)


def test_worker_processes_segment_as_this_one_does(two_folders, tmp_path: Path, fake_encoder, monkeypatch) -> None:
    from index import builder

    build_folder(two_folders, tmp_path / "serial", fake_encoder, progress=False)
    monkeypatch.setattr(builder, "PARALLEL_FROM", 1)
    build_folder(two_folders, tmp_path / "parallel", fake_encoder, progress=False)
    serial, parallel = Index(tmp_path / "serial", fake_encoder), Index(tmp_path / "parallel", fake_encoder)
    assert list(serial.sentences) == list(parallel.sentences) and list(serial.passages) == list(parallel.passages)
    assert list(serial.sentence_tokens) == list(parallel.sentence_tokens)
    np.testing.assert_array_equal(serial.passage_vectors, parallel.passage_vectors)


def test_sentence_vectors_mode_is_recorded(tiny_folder: Path, tmp_path: Path, fake_encoder) -> None:
    build_folder(tiny_folder, tmp_path / "own", fake_encoder, progress=False, sentence_vectors="own")
    build_folder(tiny_folder, tmp_path / "pooled", fake_encoder, progress=False)  # the default
    assert Index(tmp_path / "own", fake_encoder).manifest["sentence_vectors"] == "own"
    assert Index(tmp_path / "pooled", fake_encoder).manifest["sentence_vectors"] == "pooled"
    with pytest.raises(StoreError, match="pooled or own"):
        build_folder(tiny_folder, tmp_path / "x", fake_encoder, progress=False, sentence_vectors="fast")


def test_a_province_question_finds_its_cities_rules_after_its_own(tmp_path: Path, fake_encoder) -> None:
    folder = tmp_path / "laws"
    folder.mkdir()
    rules = {
        "山东省物业管理条例.md": "# 山东省物业管理条例\n\n第十条 业主委员会由五至十一名委员组成。\n",
        "青岛市物业管理条例.md": "# 青岛市物业管理条例\n\n第十条 业主委员会由五至九名委员组成。\n",
        "杭州市物业管理条例.md": "# 杭州市物业管理条例\n\n第十条 业主委员会由五至十五名委员组成。\n",
    }
    for name, text in rules.items():
        (folder / name).write_text(text, encoding="utf-8")
    build_folder(folder, tmp_path / "idx", fake_encoder, progress=False)
    assistant = Assistant(tmp_path / "idx", encoder=fake_encoder, progress=False)
    places = [p.place for p in assistant.answer("山东的业主委员会由几名委员组成?").passages]
    assert places[:2] == ["山东", "青岛"] and ("杭州" not in places or places.index("杭州") > places.index("青岛"))
    assert [p.place for p in assistant.answer("青岛的业主委员会由几名委员组成?").passages][0] == "青岛"


def test_a_title_clue_names_a_document_only_when_the_question_means_a_document(tmp_path: Path, fake_encoder) -> None:
    folder = tmp_path / "laws"
    folder.mkdir()
    for title, text in (
        ("社会保险法", "第三十六条 职工因工作原因受到事故伤害，享受工伤保险待遇。"),
        ("工伤保险条例", "第二十条 社会保险行政部门应当自受理工伤认定申请之日起60日内作出工伤认定的决定。"),
    ):
        (folder / f"{title}.md").write_text(f"# {title}\n\n{text}\n", encoding="utf-8")
    build_folder(folder, tmp_path / "idx", fake_encoder, progress=False)
    retriever = Retriever(Index(tmp_path / "idx", fake_encoder))
    sources = [d.source for d in retriever.index.catalog]
    # 社会保险 is in one title only, but here it is the name of an office, not of a law
    assert retriever.names(parse("社会保险行政部门受理工伤认定申请后多长时间要作出决定?")).documents == ()
    named = retriever.names(parse("按社会保险那部法,工伤职工享受什么待遇?")).documents
    assert [sources[d] for d in named] == ["社会保险法.md"]
