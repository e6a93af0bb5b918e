"""End to end with the real model on the default corpus: answers, citations, scripts, follow-ups, abstention."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import render

CORPUS = Path(__file__).resolve().parents[1] / "qa" / "data" / "corpus"
BENCHMARK = Path(__file__).resolve().parents[1] / "qa" / "data" / "benchmark.jsonl"
TIANJIN, SHANGHAI, CHENGDU = "000_e4fbf0abc2f6e178.txt", "002_003fb1dd989b6225.txt", "003_c91a2d2c298ee5c9.txt"

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("question", "history", "source", "expected"),
    [
        ("天津农村特困人员分散供养每月多少钱?", [], TIANJIN, "1530元"),
        ("天津農村特困人員分散供養每月多少錢？", [], TIANJIN, "1530元"),
        ("上海到2025年养老护理员持证比例要达到多少?", [], SHANGHAI, "80%"),
        ("上海到2025年養老護理員持證比例要達到多少?", [], SHANGHAI, "80%"),
        ("那上海呢?", ["天津家庭医生签约了多少居民?"], SHANGHAI, "800萬人"),
        ("成都城鄉最低生活保障標準是多少?", [], CHENGDU, "700元"),
        ("上海怎样发展社区卫生服务中心加互联网?", [], SHANGHAI, "社區衛生服務中心+網際網路"),
    ],
)
def test_example_questions(assistant, question: str, history: list[str], source: str, expected: str) -> None:
    answer = assistant.answer(question, history)
    assert answer.answered
    top = answer.sentences[0]
    assert top.source == source and expected in top.text


def test_list_question_gets_several_sentences(assistant) -> None:
    answer = assistant.answer("天津比国家标准多了哪些服务项目?")
    assert answer.kind == "list" and len(answer.sentences) >= 2
    assert any("新增了" in s.text and s.source == TIANJIN for s in answer.sentences)


@pytest.mark.parametrize(
    "question",
    ["北京的公积金贷款额度是多少?", "深圳给应届大学生的人才补贴是多少钱?", "那个市累计资助学生多少人次?"],
)
def test_abstains_when_the_documents_do_not_answer(assistant, question: str) -> None:
    answer = assistant.answer(question)
    assert not answer.answered and answer.sentences == [] and answer.passages
    assert render(answer).startswith("未在文档中找到答案")


def test_every_citation_is_the_original_text(assistant) -> None:
    originals = {p.name: p.read_text(encoding="utf-8") for p in CORPUS.glob("*.txt")}
    rows = [json.loads(line) for line in BENCHMARK.read_text(encoding="utf-8").splitlines()][::3]
    answers = assistant.answer_batch([(r["question"], r["history"]) for r in rows])
    quoted = 0
    for answer in answers:
        for quote in answer.sentences + answer.passages:
            assert originals[quote.source][quote.start : quote.end] == quote.text
            quoted += 1
    assert quoted > 5 * len(rows)


def test_json_contract(assistant) -> None:
    data = assistant.answer("上海到2025年养老护理员持证比例要达到多少?").to_json("q1")
    assert data["id"] == "q1" and data["answered"] is True
    assert set(data["sentences"][0]) >= {"text", "source", "title", "section", "start", "end", "score"}
    assert set(data["passages"][0]) >= {"text", "source", "title", "start", "end", "score"}
    assert len(data["passages"]) == 5


@pytest.mark.parametrize(
    ("history", "question", "expected"),
    [
        # the same place, a new measure
        (["上海到2025年护理型养老床位占比要达到多少?"], "那护理员呢?", "80%"),
        # the same subject, another facet
        (["天津基本公共服务标准规划是哪天审议通过的?"], "什么时候发布实施?", "12月6日"),
        # a comparison with the standard named only now
        (["天津基本公共服务标准有多少个服务项目?"], "比国家标准多了几项?", "17項"),
        # after a question the documents do not answer
        (["北京的公积金贷款额度是多少?"], "那天津家庭医生呢?", "家庭醫生"),
    ],
)
def test_follow_ups_that_change_more_than_the_place(assistant, history, question, expected) -> None:
    answer = assistant.answer(question, history)
    assert answer.resolved != question and answer.answered
    assert expected in answer.sentences[0].text
