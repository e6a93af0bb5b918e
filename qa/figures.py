"""Figures in a text and the side of them it means: 不满十六周岁 (below 16), 三年以上 (from 3 up), 2025年.

Laws set neighbouring rules apart by their figures (累计缴费满一年不足五年的 … 满五年不足十年的 …); a
question's own figures, and the side of each it asks about, pick the rule that applies.
"""

from __future__ import annotations

import re

from qa.articles import number

_UNIT = r"(?:个|周岁|周|岁|年|月|日|天|人|名|元|万|亿|次|项|户|张|家|倍|小时|平方米|%|％)"
_NUMERAL = "零〇一二两三四五六七八九十百千"
_FIGURE = re.compile(  # digits; Chinese numerals only before a unit or in a fraction (三分之二, 百分之二十)
    rf"(?<![第\d.])(\d+(?:\.\d+)?)|(?<![第{_NUMERAL}])([{_NUMERAL}]+)(?={_UNIT}|分之)|(?<=分之)([{_NUMERAL}]+)"
)
_BELOW_BEFORE = re.compile(r"(?:不满|不足|未满|未达到?|低于|少于|不到|不超过|最多|至多)$")
_ABOVE_BEFORE = re.compile(r"(?:满|超过|高于|达到|不少于|不低于|至少|最少)$")
_AFTER = re.compile(rf"{_UNIT}*(?:以上|及以上|以下|及以下)")


def figures(text: str) -> dict[float, int]:
    """Each value the text gives → the side it means: −1 below it, +1 from it up, 0 neither (or both)."""
    sides: dict[float, set[int]] = {}
    for m in _FIGURE.finditer(text):
        value = float(m.group(1)) if m.group(1) else number(m.group(2) or m.group(3))
        if value is None or text.startswith("百分之", m.start()):
            continue
        before, after = text[max(0, m.start() - 4) : m.start()], _AFTER.match(text, m.end())
        if _BELOW_BEFORE.search(before) or (after and after.group().endswith("以下")):
            side = -1
        elif _ABOVE_BEFORE.search(before) or (after and after.group().endswith("以上")):
            side = 1
        else:
            side = 0
        sides.setdefault(value, set()).add(side)
    return {v: sum(s - {0}) if len(s - {0}) == 1 else 0 for v, s in sides.items()}


def figure_fit(asked: dict[float, int], held: dict[float, int]) -> tuple[float, float]:
    """How a sentence's figures (`held`) meet the question's (`asked`): the share of the question's values it
    gives, and for those the question puts a side to, +1 each on the same side, −1 on the other (averaged)."""
    if not asked:
        return 0.0, 0.0
    shared = [v for v in asked if v in held]
    sided = [asked[v] * held[v] for v in shared if asked[v] and held[v]]
    return len(shared) / len(asked), sum(sided) / len(sided) if sided else 0.0
