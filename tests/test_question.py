"""What a question asks for: its kind decides which sentences can answer it (an amount needs a figure)."""

from __future__ import annotations

import pytest

from qa.question import parse


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("天津农村特困人员每月能领多少钱?", "amount"),
        ("上海到2025年养老护理员持证比例要达到多少?", "amount"),
        ("上海的家庭医生签约率是多少?", "amount"),
        ("养老护理员持证比例是什么?", "amount"),
        ("十三五期间天津城镇调查失业率控制在什么水平?", "amount"),
        ("上海的业主委员会由几个人组成?", "amount"),
        ("申请后多久答复?", "date"),
        ("低保申请需要哪些材料?", "list"),
        # a rate, a share or 元 in a question that asks for something else: not an amount
        ("韩国的传统建筑物最注重什么元素?", "fact"),
        ("哪一城市拥有约百分之十六点六七的就业机会?", "fact"),
        ("多伦多大学的教学深受哪个国家的大学制度影响?", "fact"),
        ("上海主城区要率先实现什么?", "fact"),
        ("生育津贴按什么标准发?", "fact"),
        # a search-style question ending in a quantity asks for it; asking who, how or whether about one does not
        ("煤泥烘干机价格", "amount"),
        ("合同约定的建筑面积是?", "amount"),
        ("谁承担诉讼的费用?", "fact"),
        ("乙方如何向甲方支付费用?", "fact"),
        ("被告是否还了原告钱?", "fact"),
        ("在北京献过血的人,以后用血要交钱吗?", "fact"),
        ("每月能领多少钱吗?", "amount"),
    ],
)
def test_the_kind_of_answer_a_question_asks_for(question: str, kind: str) -> None:
    assert parse(question).kind == kind
