"""Group a document's sentences into passages: consecutive sentences of one section, about one screen long."""

from __future__ import annotations

from index.types import Passage, Sentence

MAX_CHARS = 300


def chunk(sentences: list[Sentence], offset: int, max_chars: int = MAX_CHARS) -> list[Passage]:
    """Passages over `sentences` (one document's, numbered from `offset`), overlapping by one sentence.

    A passage never crosses a section boundary, so its section is a true heading for all of it.
    """
    passages: list[Passage] = []
    first = 0
    while first < len(sentences):
        last, size = first, len(sentences[first].clean)
        while (
            last + 1 < len(sentences)
            and sentences[last + 1].section == sentences[first].section
            and size + len(sentences[last + 1].clean) <= max_chars
        ):
            last += 1
            size += len(sentences[last].clean)
        head, tail = sentences[first], sentences[last]
        passages.append(Passage(head.doc, offset + first, offset + last, head.start, tail.end, head.section))
        if last + 1 >= len(sentences):
            break
        # overlap one sentence so an answer that leans on its neighbour is whole in some passage
        overlap = last > first and sentences[last + 1].section == tail.section and len(tail.clean) < max_chars // 2
        first = last if overlap else last + 1
    return passages
