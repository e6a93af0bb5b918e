"""Quotes from an index: the text cited is the document's original text at the cited offsets, always."""

from __future__ import annotations

from index import Hit, Index, page_of
from qa.types import Quote
from qa.versions import Versions


def _quote(index: Index, versions: Versions, doc: int, start: int, end: int, section: str, score: float) -> Quote:
    d, original = index.catalog[doc], index.documents[doc].text
    return Quote(
        original[start:end], d.source, d.title, d.place, section, start, end, round(score, 4), d.version,
        versions.superseded(doc), page_of(original, start),
    )  # fmt: skip


def sentence_quote(index: Index, versions: Versions, s: int, score: float) -> Quote:
    sentence = index.sentences[s]
    return _quote(index, versions, sentence.doc, sentence.start, sentence.end, sentence.section, score)


def passage_quote(index: Index, versions: Versions, hit: Hit) -> Quote:
    p = index.passages[hit.item]
    return _quote(index, versions, p.doc, p.start, p.end, p.section, hit.score)
