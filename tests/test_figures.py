"""Figures and their sides: what picks 满一年不足五年 over 满五年不足十年 for a question about one to five years."""

from __future__ import annotations

import pytest

from qa.figures import figure_fit, figures


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("满1年未满10年的上班族", {1: 1, 10: -1}),
        ("劳动合同期限一年以上不满三年的", {1: 1, 3: -1}),
        ("未满十六周岁的公民", {16: -1}),
        ("十六周岁至二十五周岁的", {16: 0, 25: 0}),
        ("经百分之二十以上业主提议", {20: 1}),  # 百分之 is not a hundred
        ("十六周岁以下", {16: -1}),
        ("已满10年不满20年的，年休假10天", {10: 1, 20: -1}),  # a side wins over a bare mention
        ("到2025年达到85%", {2025: 0, 85: 1}),
    ],
)
def test_figures_and_the_side_they_mean(text: str, expected: dict) -> None:
    assert figures(text) == expected


def test_ordinals_and_words_with_numerals_are_not_figures() -> None:
    assert figures("第十三条 第13条 统一管理 一般规定") == {}


def test_the_rule_on_the_asked_side_fits_best() -> None:
    asked = figures("年资满1年未满10年的职工一年有几天年休假?")
    right = figure_fit(asked, figures("职工累计工作已满1年不满10年的，年休假5天；"))
    wrong = figure_fit(asked, figures("已满10年不满20年的，年休假10天；"))
    assert right == (1.0, 1.0)
    assert wrong == (0.5, -1.0)
    assert figure_fit({}, figures("年休假5天")) == (0.0, 0.0)
