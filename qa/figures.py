"""Figures in a text and the side of them it means: 不满十六周岁 (below 16), 三年以上 (from 3 up), 2025年.

Laws set neighbouring rules apart by their figures (累计缴费满一年不足五年的 … 满五年不足十年的 …); a
question's own figures, and the side of each it asks about, pick the rule that applies.
"""

from __future__ import annotations

from qa.articles import number
from qa.lexicon import ABOVE_BEFORE, BELOW_BEFORE, FIGURE, SIDE_AFTER


def figures(text: str) -> dict[float, int]:
    """Each value the text gives → the side it means: −1 below it, +1 from it up, 0 neither (or both)."""
    sides: dict[float, set[int]] = {}
    for m in FIGURE.finditer(text):
        value = float(m.group(1)) if m.group(1) else number(m.group(2) or m.group(3))
        if value is None or text.startswith("百分之", m.start()):
            continue
        before, after = text[max(0, m.start() - 4) : m.start()], SIDE_AFTER.match(text, m.end())
        if BELOW_BEFORE.search(before) or (after and after.group().endswith("以下")):
            side = -1
        elif ABOVE_BEFORE.search(before) or (after and after.group().endswith("以上")):
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
