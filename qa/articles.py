"""Article lookups: "上海市住宅物业管理规定第二十条规定了什么" is answered by that article, whatever its wording.

Staff cite laws by article (第X条, in Chinese numerals or digits). A question naming an article of a document
it names gets the article's own sentences, from its first (第二十条 …) to the sentence before the next article.
"""

from __future__ import annotations

import re

from index.segment import heading_level
from index.store import Index

ARTICLE = re.compile(r"第([零〇一二三四五六七八九十百千两\d]+)条")
MAX_SENTENCES = 8  # an article's paragraphs quoted at most
_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
_UNITS = {"十": 10, "百": 100, "千": 1000}


def number(text: str) -> int | None:
    """The integer a numeral spells: 13, 十三, 一百零五, 二十 → 20; None when it is none."""
    if text.isdigit():
        return int(text)
    total, digit = 0, None
    for c in text:
        if c in _DIGITS:
            digit = _DIGITS[c]
        elif c in _UNITS:
            total += (1 if digit is None else digit) * _UNITS[c]
            digit = None
        else:
            return None
    return total + (digit or 0)


def asked_article(question_text: str) -> int | None:
    """The article number a question asks about, if it names one."""
    found = ARTICLE.search(question_text)
    return number(found.group(1)) if found else None


def article_sentences(index: Index, doc: int, article: int) -> list[int]:
    """Sentence ids of article `article` of document `doc` (empty when the document has no such article)."""
    info = index.catalog[doc]
    if not info.passages:
        return []
    first = index.passages[info.first_passage].first
    last = index.passages[info.first_passage + info.passages - 1].last
    found: list[int] = []
    for s in range(first, last + 1):
        clean = index.sentences[s].clean.lstrip()
        head = ARTICLE.match(clean)
        if head is not None or (found and heading_level(clean)):
            if found:
                break  # the next article (or chapter) begins
            if number(head.group(1)) == article:
                found.append(s)
        elif found:
            found.append(s)
        if len(found) >= MAX_SENTENCES:
            break
    return found


def article_passage(index: Index, doc: int, sentence: int) -> int:
    """The first passage of `doc` that holds `sentence`."""
    info = index.catalog[doc]
    for p in range(info.first_passage, info.first_passage + info.passages):
        if index.passages[p].first <= sentence <= index.passages[p].last:
            return p
    raise ValueError(f"sentence {sentence} is not in document {doc}")
