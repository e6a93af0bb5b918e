"""Complete an elliptical follow-up (那上海呢? 要是分散供养呢?) from the questions asked before it."""

from __future__ import annotations

import re

from qa.figures import figures
from qa.lexicon import ASKED_PART, ASKING, COUNT_WORD, COUNTED, FILLER, FOLLOW_ON, LEAD, NUMERALS, PREDICATE
from qa.question import Question, parse

_CLAUSE = re.compile(r"[^，,。;；?？]*")
_WORD = re.compile(rf"[^\d{NUMERALS}]")  # a word, not a figure


def needs_history(question: Question) -> bool:
    """A follow-up that says nothing but a place or a filler (那上海呢?): with no question before it, there is
    nothing to answer."""
    rest = FILLER.sub("", question.norm)
    for place in question.places:
        rest = rest.replace(place, "")
    return bool(FOLLOW_ON.search(question.norm)) and not rest.strip()


def resolve(question: Question, history: list[str]) -> Question:
    """The question as it would be asked on its own, using the latest earlier question for what is missing."""
    if not history or not question.elliptical:
        return question
    previous = resolve(parse(history[-1]), history[:-1])
    text = previous.norm
    for old in previous.places:
        if question.places:
            text = text.replace(old, "")
    rest = FILLER.sub("", question.norm)
    for place in question.places:
        rest = rest.replace(place, "")
    text = _substitute(text, rest, previous)
    return parse("".join(question.places) + text)


def _substitute(text: str, rest: str, previous: Question) -> str:
    """Swap the new detail for the earlier one it replaces (分散供养 for 集中供养), or add it."""
    rest = rest.strip()
    if not rest or rest in text:
        return text
    if ASKING.search(rest):  # the same subject, asked about differently: 去哪里申请? → 多久能办好? / 比全国高多少?
        subject = ASKED_PART.sub("", text).rstrip("的了吗呢")
        if subject != text:
            counted = COUNTED.search(text)  # 有多少个服务项目? → 比国家标准多了几项? is about 服务项目 still
            kept = counted.group(1) if counted and counted.group(1) not in rest else ""
            return subject + rest.rstrip("?？") + kept
    swapped = _swap_figures(text, rest)
    if swapped:
        return swapped
    head = rest[-2:]
    at = text.find(head)
    if len(rest) > 2 and at >= 0 and not ASKING.search(rest):
        # the earlier detail: as long as the new one, ending where they share a head (城镇职工医保 → 城乡居民医保)
        start = max(at + 2 - len(rest), 0)
        for place in previous.places:
            end_of_place = text.find(place) + len(place)
            if text.find(place) >= 0 and start < end_of_place <= at:
                start = end_of_place
        return text[:start] + rest + text[at + 2 :]
    if len(rest) > 2:  # a new thing asked about the same way (那护理员呢? after 护理型床位占比要达到多少?)
        swapped = _swap_topic(text, rest, previous)
        if swapped:
            return swapped
    return f"{rest} {text}"


def _swap_figures(text: str, rest: str) -> str | None:
    """The earlier question with its figures swapped for the new ones, in the clause that begins as `rest`
    does (交了一年到五年 → 交满十年以上, after 那交满十年以上的呢?); None when there is no such clause."""
    if not figures(rest) or ASKING.search(rest) or not _WORD.match(rest):
        return None
    for m in re.finditer(re.escape(rest[0]), text):  # a word, not a figure, begins the clause: 交…, 满…
        clause = _CLAUSE.match(text, m.start()).group()
        if figures(clause):
            return text[: m.start()] + rest + text[m.start() + len(clause) :]
    return None


def _swap_topic(text: str, rest: str, previous: Question) -> str | None:
    """The earlier question with its topic (what comes after its place and time, before what it asks)
    replaced by `rest`; None when it has no such topic."""
    start = 0
    for place in previous.places:
        if text.startswith(place, start):
            start += len(place)
    start += len(LEAD.match(text, start).group())
    tail = PREDICATE.search(text, start)
    if tail is None or tail.start() - start < 2:
        return None
    asked = COUNT_WORD.sub(r"\1", text[tail.start() :])  # 多少张 counted the old topic
    return text[:start] + rest + asked
