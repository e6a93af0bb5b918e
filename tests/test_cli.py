"""Bad input at the command line: a one-line message, a non-zero exit, no traceback, no index lost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from qa.assistant import build_folder


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("", "empty question"),
        ("   \t ", "empty"),
        ("問" * 100_000, "100000 characters"),
        ("？？！!...", "only punctuation"),
        ("How much is the subsidy?", "no Chinese"),
    ],
    ids=["empty", "whitespace", "huge", "punctuation", "english"],
)
def test_bad_questions(capsys, question: str, message: str) -> None:
    code, out, err = _run(capsys, "ask", question)
    assert code != 0 and out == ""
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_missing_index(capsys, tmp_path: Path) -> None:
    code, _, err = _run(capsys, "ask", "低保标准是多少?", "--index", str(tmp_path / "none"))
    assert code != 0 and "qa index build" in err and err.count("\n") == 1


def test_a_folder_of_documents_given_as_the_index(capsys, tiny_folder: Path) -> None:
    code, _, err = _run(capsys, "ask", "低保标准是多少?", "--index", str(tiny_folder))
    advised = f"qa index build {tiny_folder} --out {tiny_folder}-index"
    assert code != 0 and "folder of documents" in err and advised in err and err.count("\n") == 1


def test_index_of_another_model(capsys, tiny_folder: Path, tmp_path: Path, fake_encoder) -> None:
    build_folder(tiny_folder, tmp_path / "idx", fake_encoder, progress=False)
    code, _, err = _run(capsys, "ask", "低保标准是多少?", "--index", str(tmp_path / "idx"))
    assert code != 0 and "fake-bigram-encoder" in err and "rebuild" in err and err.count("\n") == 1
    assert (tmp_path / "idx" / "manifest.json").exists()


def test_corrupted_index(capsys, tiny_folder: Path, tmp_path: Path, fake_encoder) -> None:
    build_folder(tiny_folder, tmp_path / "idx", fake_encoder, progress=False)
    (tmp_path / "idx" / "manifest.json").write_text("{oops")
    code, _, err = _run(capsys, "ask", "低保标准是多少?", "--index", str(tmp_path / "idx"))
    assert code != 0 and "unreadable" in err and err.count("\n") == 1


def test_build_empty_folder(capsys, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, _, err = _run(capsys, "index", "build", str(tmp_path / "empty"), "--out", str(tmp_path / "idx"))
    assert code != 0 and "no readable documents" in err and err.count("\n") == 1


def test_build_only_bad_files(capsys, tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "a.bin").write_bytes(b"\x00\x01")
    (folder / "b.txt").write_bytes(b"\x00\xff\x00\xfe")
    code, _, err = _run(capsys, "index", "build", str(folder), "--out", str(tmp_path / "idx"))
    assert code != 0 and "a.bin" in err and "b.txt" in err and not (tmp_path / "idx").exists()


def test_batch_reports_bad_lines(capsys, tiny_folder: Path, tmp_path: Path, fake_encoder, monkeypatch) -> None:
    build_folder(tiny_folder, tmp_path / "idx", fake_encoder, progress=False)
    monkeypatch.setattr("qa.assistant.Encoder", lambda *a, **k: fake_encoder)
    batch = tmp_path / "q.jsonl"
    rows = [{"id": "a", "question": "成都低保标准是多少?"}, {"id": "b", "question": ""}, "not json"]
    batch.write_text("\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows))
    code, out, err = _run(
        capsys,
        "ask",
        "--batch",
        str(batch),
        "--json",
        "--index",
        str(tmp_path / "idx"),
        "--model",
        "fake-bigram-encoder",
    )
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and len(lines) == 3 and "2 line(s)" in err
    assert lines[0]["id"] == "a" and "700元" in lines[0]["passages"][0]["text"]
    assert "error" in lines[1] and "error" in lines[2]


def test_batch_lines_carry_their_own_place_and_source(capsys, tiny_folder, tmp_path: Path, fake_encoder, monkeypatch):
    build_folder(tiny_folder, tmp_path / "idx", fake_encoder, progress=False)
    monkeypatch.setattr("qa.assistant.Encoder", lambda *a, **k: fake_encoder)
    rows = [
        {"id": "p", "question": "低保标准是多少?", "place": "成都"},
        {"id": "s", "question": "低保标准是多少?", "source": "tianjin.txt"},
        {"id": "d", "question": "低保标准是多少?"},
        {"id": "bad", "question": "低保标准是多少?", "place": 3},
    ]
    batch = tmp_path / "q.jsonl"
    batch.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    argv = ["ask", "--batch", str(batch), "--json", "--index", str(tmp_path / "idx"), "--model", "fake-bigram-encoder"]
    code, out, _ = _run(capsys, *argv, "--place", "上海")
    lines = {line["id"]: line for line in map(json.loads, out.splitlines())}
    assert {p["source"] for p in lines["p"]["passages"]} == {"chengdu.md"}
    assert {p["source"] for p in lines["s"]["passages"]} == {"tianjin.txt"}
    assert {p["source"] for p in lines["d"]["passages"]} == {"shanghai.html"}  # the command line's --place
    assert code == 1 and "must be a string" in lines["bad"]["error"]


def test_no_traceback_from_a_real_process(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "ask", "天津的低保?", "--index", str(tmp_path / "missing")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr and result.stderr.startswith("qa: error:")


def test_terminal_answer_shows_its_confidence() -> None:
    from app.cli import render
    from qa.types import Answer, Quote

    q = Quote("特困人员集中供养标准为每人每月1200元。", "cd.md", "成都市社会救助", "成都", "", 9, 30, 0.9)
    sure = render(Answer("成都特困供养多少钱?", "成都特困供养多少钱?", True, [q], [q], "amount", 0.87))
    doubtful = render(Answer("成都特困供养多少钱?", "成都特困供养多少钱?", True, [q], [q], "amount", 0.21))
    assert "答案（原文引用）：  可信度 87%" in sure and "请核对原文" not in sure
    assert "可信度 21%（较低，请核对原文）" in doubtful
