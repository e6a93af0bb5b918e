"""Complete an elliptical follow-up (那上海呢? 要是分散供养呢?) from the questions asked before it."""

from __future__ import annotations

import re

from qa.question import Question, parse

_FILLER = re.compile(r"^(那么|那要是|那在|那|要是|如果|若|还有|另外|而)|(的情况|的话|的)?呢?[?？!！。.]*$")


_ASKING = re.compile(r"多少|几|什么|哪|怎么|如何|是否")


def resolve(question: Question, history: list[str]) -> Question:
    """The question as it would be asked on its own, using the latest earlier question for what is missing."""
    if not history or not question.elliptical:
        return question
    previous = resolve(parse(history[-1]), history[:-1])
    text = previous.norm
    for old in previous.places:
        if question.places:
            text = text.replace(old, "")
    rest = _FILLER.sub("", question.norm)
    for place in question.places:
        rest = rest.replace(place, "")
    text = _substitute(text, rest, previous)
    return parse("".join(question.places) + text)


def _substitute(text: str, rest: str, previous: Question) -> str:
    """Swap the new detail for the earlier one it replaces (分散供养 for 集中供养), or add it."""
    rest = rest.strip()
    if not rest or rest in text:
        return text
    head = rest[-2:]
    at = text.find(head)
    if len(rest) > 2 and at >= 0 and not _ASKING.search(rest):
        # the earlier detail: as long as the new one, ending where they share a head (城镇职工医保 → 城乡居民医保)
        start = max(at + 2 - len(rest), 0)
        for place in previous.places:
            end_of_place = text.find(place) + len(place)
            if text.find(place) >= 0 and start < end_of_place <= at:
                start = end_of_place
        return text[:start] + rest + text[at + 2 :]
    return f"{rest} {text}"
