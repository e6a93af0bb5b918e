"""Completing follow-ups from the question before: each kind the chat must understand, without the model."""

from __future__ import annotations

import pytest

from qa.conversation import needs_history, resolve
from qa.question import BadQuestion, parse


@pytest.mark.parametrize(
    ("history", "question", "resolved"),
    [
        # another place, the same question
        (["天津家庭医生签约了多少居民?"], "那上海呢?", "上海家庭医生签约了多少居民?"),
        # the same measure for another group: the detail sharing its head is swapped
        (["天津农村特困人员集中供养标准是多少?"], "那分散供养呢?", "天津农村特困人员分散供养标准是多少?"),
        # the same place and the same ask, a new measure: the topic is swapped, the counter of the old one dropped
        (["上海到2025年护理型养老床位占比要达到多少?"], "那护理员呢?", "上海到2025年护理员要达到多少?"),
        (["上海的养老床位有多少张?"], "那护理员呢?", "上海的护理员有多少?"),
        # the same subject, another facet: the earlier ask is replaced by the new one
        (["上海低保在哪里申请?"], "要多久才能批下来?", "上海低保要多久才能批下来?"),
        (
            ["天津基本公共服务标准规划是哪天审议通过的?"],
            "什么时候发布实施?",
            "天津基本公共服务标准规划什么时候发布实施?",
        ),
        # a comparison with a standard named only now
        (["上海的低保标准是多少?"], "比全国标准高多少?", "上海的低保标准比全国标准高多少?"),
        (
            ["天津基本公共服务标准有多少个服务项目?"],
            "比国家标准多了几项?",
            "天津基本公共服务标准比国家标准多了几项服务项目",
        ),
        # the same rule for other figures: the clause with the old ones is swapped, the rest kept
        (
            ["社会保险法里失业保险交了一年到五年,失业金最长能领多久?"],
            "那交满十年以上的呢?",
            "社会保险法里失业保险交满十年以上,失业金最长能领多久?",
        ),
        (["16岁到25岁办的身份证有效期几年?"], "那26岁到45岁办的呢?", "26岁到45岁办的身份证有效期几年?"),
        # a modifier for the same question
        (["成都城市低保标准提高到多少了?"], "农村的呢?", "农村 成都城市低保标准提高到多少了?"),
        # after an unanswered question the follow-up is completed from it all the same
        (["深圳给应届大学生的人才补贴是多少钱?"], "那上海呢?", "上海给应届大学生的人才补贴是多少钱?"),
        # a question that stands on its own is left alone
        (["天津家庭医生签约了多少居民?"], "成都城乡低保标准是多少?", "成都城乡低保标准是多少?"),
    ],
)
def test_follow_up_kinds(history: list[str], question: str, resolved: str) -> None:
    assert resolve(parse(question), history).norm.rstrip("?") == parse(resolved).norm.rstrip("?")


@pytest.mark.parametrize(
    ("question", "bare"),
    [("那上海呢?", True), ("上海呢？", True), ("那分散供养呢?", False), ("上海的低保标准是多少?", False)],
)
def test_a_follow_up_with_nothing_but_a_place_needs_a_question_before_it(question: str, bare: bool) -> None:
    assert needs_history(parse(question)) is bare


def test_the_assistant_asks_for_the_whole_question_when_a_bare_follow_up_comes_first(tiny_assistant) -> None:
    with pytest.raises(BadQuestion, match="追问"):
        tiny_assistant.answer("那上海呢?")
    answer = tiny_assistant.answer("那上海呢?", history=["天津农村特困人员每月能领多少钱?"])
    assert answer.resolved.startswith("上海")
