"""Versions of one regulation: documents with the same title, place and file name (less its date) and
different version dates.

The newest is current. An older one is answered from only when the question names its year or asks about
the old rule (旧版, 原规定, 修订前); a quote from it says it is superseded.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from index import DocumentInfo, undated
from qa.lexicon import OLD_RULE, YEAR
from qa.question import Question


class Versions:
    """Which documents of a catalogue are superseded by a newer version of themselves."""

    def __init__(self, catalog: list[DocumentInfo]):
        groups: dict[tuple[str, str], list[int]] = {}
        for d, info in enumerate(catalog):
            if info.version:
                groups.setdefault((info.name, info.place, _file_title(info.source)), []).append(d)
        self.newer: dict[int, int] = {}  # a superseded document → the current version
        for docs in groups.values():
            current = max(docs, key=lambda d: catalog[d].version)
            self.newer |= {d: current for d in docs if catalog[d].version < catalog[current].version}
        self._catalog = catalog

    def superseded(self, doc: int) -> bool:
        return doc in self.newer

    def asked_for(self, question: Question) -> set[int]:
        """The superseded documents the question asks for: it names their year (and not their successor's)
        or asks for the old rule."""
        if not self.newer:
            return set()
        years = set(YEAR.findall(question.norm))
        old_rule = bool(OLD_RULE.search(question.norm)) and not years
        return {
            d for d, current in self.newer.items()
            if old_rule or (self._catalog[d].version[:4] in years and self._catalog[current].version[:4] not in years)
        }  # fmt: skip


def _file_title(source: str) -> str:
    """The file's name without its folder, version date and suffix: the parts of one code that share its
    title (民法典/总则.md, 民法典/婚姻家庭编.md) are not versions of each other."""
    return undated(PurePosixPath(source).stem).removeprefix("中华人民共和国")
