"""Versions of one regulation (the newest answers, an older one only when asked for, and says it is 旧版), and
article lookups (第二十条 / 第20条 answered by that article)."""

from __future__ import annotations

import json

import pytest

from app.cli import main, render
from index.embed import Encoder, cache_root
from index.types import DocumentInfo
from qa.articles import number
from qa.assistant import Assistant, build_folder
from qa.versions import Versions

RULE = "上海市住宅物业管理规定"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def versions(tmp_path_factory) -> Assistant:
    """Two versions of one regulation and another law, indexed with the real model (the reader's confidence
    needs real meaning scores)."""
    tmp_path = tmp_path_factory.mktemp("versions")
    encoder = Encoder(cache_root=cache_root())
    folder = tmp_path / "laws" / "上海"
    folder.mkdir(parents=True)
    for date, n in (("2010-12-23", "五"), ("2020-12-30", "七")):
        (folder / f"{RULE}({date}).md").write_text(
            f"# {RULE}\n\n## 第三章 业主委员会\n\n第十九条 业主大会应当选举业主委员会。\n\n"
            f"第二十条 业主委员会由{n}至十五名委员组成。\n\n委员应当是物业管理区域内的业主。\n\n"
            "第二十一条 业主委员会每届任期五年。\n",
            encoding="utf-8",
        )
    (folder / "上海市养老服务条例.md").write_text(
        "# 上海市养老服务条例\n\n第五条 养老服务补贴每月五百元。\n", encoding="utf-8"
    )
    for title, text in (  # a law named by its short title, among titles sharing its words
        ("中华人民共和国老年人权益保障法", "第二十一条 老年人的婚姻自由受法律保护。"),
        ("中华人民共和国妇女权益保障法", "第二十一条 妇女的生命健康权不受侵犯。"),
        ("北京市老年人权益保障条例", "第二十一条 本市建立高龄津贴制度。"),
    ):
        (folder.parent / f"{title}.md").write_text(f"# {title}\n\n{text}\n", encoding="utf-8")
    build_folder([tmp_path / "laws"], tmp_path / "idx", encoder, progress=False)
    return Assistant(tmp_path / "idx", encoder=encoder, progress=False)


@pytest.mark.parametrize(
    ("question", "version", "superseded"),
    [
        (f"{RULE}规定业主委员会由几名委员组成?", "2020-12-30", False),
        ("上海的业主委员会由几名委员组成?", "2020-12-30", False),
        (f"2010年的{RULE}规定业主委员会由几名委员组成?", "2010-12-23", True),
        (f"旧版{RULE}规定业主委员会由几名委员组成?", "2010-12-23", True),
        (f"2020年修订的{RULE}规定业主委员会由几名委员组成?", "2020-12-30", False),
    ],
    ids=["title", "place", "old-year", "old-rule", "new-year"],
)
def test_the_version_asked_for_answers(versions: Assistant, question: str, version: str, superseded: bool) -> None:
    answer = versions.answer(question)
    assert answer.answered
    first = answer.sentences[0]
    assert (first.version, first.superseded) == (version, superseded)
    assert ("五至十五名" if superseded else "七至十五名") in first.text
    assert all(q.superseded == superseded for q in answer.sentences if q.title == RULE)


def test_a_quote_from_an_old_version_says_so(versions: Assistant) -> None:
    answer = versions.answer(f"2010年的{RULE}规定业主委员会由几名委员组成?")
    assert "（旧版，2010-12-23）" in render(answer)
    data = answer.to_json()["sentences"][0]
    assert data["version"] == "2010-12-23" and data["superseded"] is True
    current = versions.answer(f"{RULE}规定业主委员会由几名委员组成?")
    assert "旧版" not in render(current) and current.to_json()["sentences"][0]["superseded"] is False


def test_documents_without_versions_are_untouched(versions: Assistant) -> None:
    answer = versions.answer("上海养老服务补贴每月多少钱?")
    assert answer.answered and answer.sentences[0].title == "上海市养老服务条例"
    assert answer.sentences[0].version == "" and not answer.sentences[0].superseded


def test_cli_json_carries_version_fields(versions: Assistant, capsys, monkeypatch) -> None:
    monkeypatch.setattr("app.cli._assistant", lambda args: versions)
    assert main(["ask", f"旧版{RULE}业主委员会由几名委员组成?", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"version", "superseded"} <= set(data["sentences"][0]) and data["sentences"][0]["superseded"] is True


@pytest.mark.parametrize(
    ("question", "first", "superseded"),
    [
        (f"{RULE}第二十条规定了什么?", "第二十条 业主委员会由七至十五名委员组成。", False),
        (f"{RULE}第20条的内容是什么", "第二十条 业主委员会由七至十五名委员组成。", False),
        (f"2010年的{RULE}第二十条规定了什么?", "第二十条 业主委员会由五至十五名委员组成。", True),
        (f"{RULE}第二十一条", "第二十一条 业主委员会每届任期五年。", False),
    ],
    ids=["chinese-numeral", "digits", "old-version", "next-article"],
)
def test_an_article_named_is_answered_by_that_article(versions: Assistant, question, first, superseded) -> None:
    answer = versions.answer(question)
    assert answer.answered and answer.sentences[0].text == first
    assert answer.sentences[0].superseded is superseded
    assert not any(q.text.startswith(("第十九条", "第二十一条")) for q in answer.sentences[1:])
    if "二十条" in first:  # the article's second paragraph belongs to it
        assert [q.text for q in answer.sentences[1:]] == ["委员应当是物业管理区域内的业主。"]
    assert answer.passages[0].start <= answer.sentences[0].start < answer.passages[0].end
    assert answer.sentences[0].section == "第三章 业主委员会 / " + first.split(" ")[0]  # cited by its article


def test_a_law_named_by_its_whole_short_title_answers_its_article(versions: Assistant) -> None:
    answer = versions.answer("老年人权益保障法第21条讲的是什么?")  # 权益保障法 is in three titles
    assert answer.sentences[0].text == "第二十一条 老年人的婚姻自由受法律保护。"


def test_an_article_the_regulation_lacks_is_not_answered(versions: Assistant) -> None:
    assert not versions.answer(f"{RULE}第九十九条规定了什么?").answered


@pytest.mark.parametrize(
    ("numeral", "value"),
    [("13", 13), ("十三", 13), ("十", 10), ("二十", 20), ("二十一", 21), ("一百零五", 105), ("一百二十三", 123),
     ("两百", 200), ("第", None)],
)  # fmt: skip
def test_article_numbers(numeral: str, value: int | None) -> None:
    assert number(numeral) == value


def _info(source: str, version: str, name: str = "上海市住宅物业管理规定", place: str = "上海") -> DocumentInfo:
    return DocumentInfo(source, name, place, version, name, 100, 0, 1, "", "")


def test_parts_of_one_code_sharing_its_title_are_not_versions_of_each_other() -> None:
    catalog = [
        _info("民法典/总则.md", "2021-01-01", "中华人民共和国民法典", ""),
        _info("民法典/婚姻家庭编.md", "2020-05-28", "中华人民共和国民法典", ""),  # no 施行 line: an earlier date
        _info(f"上海/{RULE}(2010-12-23).md", "2010-12-23"),
        _info(f"DLC/上海/{RULE}(2020-12-30).md", "2020-12-30"),  # the same rule in another folder
    ]
    assert Versions(catalog).newer == {2: 3}
