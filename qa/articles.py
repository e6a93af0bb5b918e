"""Article lookups: "上海市住宅物业管理规定第二十条规定了什么" is answered by that article, whatever its wording.

Staff cite laws by article (第X条, in Chinese numerals or digits). A question naming an article of a document
it names gets the article's own sentences, from its first (第二十条 …) to the sentence before the next article.
"""

from __future__ import annotations

from index import ARTICLE, Hit, Index
from qa.types import Scored

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


def find_article(index: Index, doc: int, article: int) -> tuple[list[int], int | None]:
    """Sentence ids of article `article` of document `doc` (by the article segmentation put in their section
    path) and the id of the passage that opens it; ([], None) when the document has no such article."""
    rows, sentence_ids, passage_ids = index.document_rows(doc)
    sentences, passages = rows.sentences, rows.passages
    found = [i for i, s in enumerate(sentences) if _article_of(s.section) == article][:MAX_SENTENCES]
    if not found:
        return [], None
    opening = next(j for j, p in enumerate(passages) if p.first <= found[0] <= p.last)
    return [sentence_ids[i] for i in found], passage_ids[opening]


def _article_of(section: str) -> int | None:
    last = ARTICLE.fullmatch(section.rsplit(" / ", 1)[-1])
    return number(last.group(1)) if last else None


def article_answer(index: Index, docs: list[int], article: int, hits: list[Hit]) -> tuple[list[Scored], list[Hit]]:
    """The article's sentences (none when the named documents have no such article), its passage first."""
    for doc in docs:
        sentences, p = find_article(index, doc, article)
        if sentences:
            top = max([h.score for h in hits] + [1.0])
            return [Scored(s, 1.0) for s in sentences], [Hit(p, top)] + [h for h in hits if h.item != p]
    return [], hits
