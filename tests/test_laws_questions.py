"""The checker of the written laws questions (training/laws_questions.py) catches what would spoil training."""

from __future__ import annotations

import json
from pathlib import Path

from training.laws_questions import main, problems

LAW = "# 某市养犬管理条例\n\n第一条 为了规范养犬行为，制定本条例。\n\n第二条 养犬人应当在取得养犬登记证后十五日内为犬只注射狂犬病疫苗。\n"


def write(tmp_path: Path, qas: list[dict], context: str | None = None, source: str = "DLC/某市养犬管理条例.md") -> Path:
    laws = tmp_path / "laws"
    (laws / "DLC").mkdir(parents=True, exist_ok=True)
    (laws / "DLC" / "某市养犬管理条例.md").write_text(LAW, encoding="utf-8")
    context = context if context is not None else LAW[LAW.index("第一条") :]
    data = {"data": [{"title": source, "paragraphs": [{"context": context, "qas": qas}]}]}
    path = tmp_path / "q.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def answer(context: str, text: str, qid: str = "t-1") -> dict:
    return {
        "id": qid,
        "question": "办了狗证多久内要打疫苗?",
        "answers": [{"text": text, "answer_start": context.index(text)}],
    }


def test_a_good_file_passes(tmp_path: Path) -> None:
    context = LAW[LAW.index("第一条") :]
    unanswerable = {"id": "t-2", "question": "养犬要交多少管理费?", "answers": [], "is_impossible": True}
    path = write(tmp_path, [answer(context, "十五日内"), unanswerable])
    found, counts = problems(path, tmp_path / "laws")
    assert found == [] and counts == {"laws": 1, "paragraphs": 1, "questions": 2, "unanswerable": 1}


def test_each_spoiler_is_named(tmp_path: Path) -> None:
    context = LAW[LAW.index("第一条") :]
    shifted = answer(context, "十五日内") | {"id": "t-2"}
    shifted["answers"][0]["answer_start"] += 1
    across = {"id": "t-3", "question": "?", "answers": [{"text": "制定本条例。\n\n第二条", "answer_start": 0}]}
    across["answers"][0]["answer_start"] = context.index("制定本条例")
    path = write(tmp_path, [answer(context, "十五日内"), answer(context, "十五日内"), shifted, across])
    found, _ = problems(path, tmp_path / "laws")
    assert any("duplicate id" in f for f in found)
    assert any("not at answer_start" in f for f in found)
    assert any("crosses sentences" in f for f in found)
    retyped = write(tmp_path, [], context="第二条 养犬人应当在十五日内注射疫苗。")
    assert any("not a verbatim stretch" in f for f in problems(retyped, tmp_path / "laws")[0])


def test_the_command_exits_1_on_problems_and_names_a_missing_law(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, [], source="DLC/没有这部法.md")
    assert main([str(path), "--laws", str(tmp_path / "laws")]) == 1
    assert "no such law" in capsys.readouterr().out
