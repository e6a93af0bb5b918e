"""Versions of one regulation: documents with the same title and place and different version dates.

The newest is current. An older one is answered from only when the question names its year or asks about
the old rule (旧版, 原规定, 修订前); a quote from it says it is superseded.
"""

from __future__ import annotations

import re

from index.types import DocumentInfo
from qa.question import Question

OLD_RULE = re.compile(r"旧版|老版|原规定|原条例|原办法|修订前|修改前|以前的规定|废止前|之前的版本")
YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")


class Versions:
    """Which documents of a catalogue are superseded by a newer version of themselves."""

    def __init__(self, catalog: list[DocumentInfo]):
        groups: dict[tuple[str, str], list[int]] = {}
        for d, info in enumerate(catalog):
            if info.version:
                groups.setdefault((info.name, info.place), []).append(d)
        self.newer: dict[int, int] = {}  # a superseded document → the current version
        for docs in groups.values():
            current = max(docs, key=lambda d: catalog[d].version)
            self.newer |= {d: current for d in docs if catalog[d].version < catalog[current].version}
        self._catalog = catalog

    def superseded(self, doc: int) -> bool:
        return doc in self.newer

    def hidden(self, question: Question) -> list[int]:
        """The superseded documents this question should not be answered from."""
        return [d for d in self.newer if not self.asked_for(question, d)]

    def asked_for(self, question: Question, doc: int) -> bool:
        """Whether the question names this old version's year (and not its successor's) or asks for the old rule."""
        years = set(YEAR.findall(question.norm))
        mine, theirs = self._catalog[doc].version[:4], self._catalog[self.newer[doc]].version[:4]
        return (mine in years and theirs not in years) or (bool(OLD_RULE.search(question.norm)) and not years)
