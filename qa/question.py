"""What a question asks for and what it names: read once, used by retrieval, reading and follow-ups."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from pathlib import Path

from index import PLACES, PROVINCE_OF, cjk_bigrams, normalize, tokenize
from qa.figures import figures
from qa.lexicon import (
    ASKED_UNIT,
    ASKS_AMOUNT,
    ASKS_OTHER,
    BOUND_ASKED,
    FIGURE_START,
    FOLLOWUP,
    KINDS,
    MONEY,
    PERCENT,
    RATIO,
    SAME_UNIT,
)

MAX_CHARS = 500
EVERYDAY_WORDS = Path(str(resources.files("qa") / "data" / "everyday_words.txt"))


class BadQuestion(ValueError):
    """A question the assistant cannot take; the message says what was wrong and what is accepted."""


@dataclass(frozen=True)
class Names:
    """What a question names in an index (`qa.retrieve.Retriever.names`)."""

    documents: tuple[int, ...]  # the documents it is about (by place, else by title): retrieval prefers them
    article: int | None  # the article it asks for (…第二十条规定了什么), or None
    titled: tuple[int, ...]  # the documents its words name by title (read when an article is asked or no place)
    hidden: tuple[int, ...]  # superseded versions it does not ask for: never retrieved


@dataclass(frozen=True)
class Question:
    """Everything the assistant reads from a question, read once: retrieval, the reader, the conversation and
    the chat all take this record, and nothing else works out what a question asks."""

    text: str  # as the user typed it
    norm: str  # normalised for matching
    tokens: tuple[str, ...]  # words, for term overlap
    terms: tuple[str, ...]  # words and character bigrams, for BM25
    kind: str  # amount, date, list or fact
    places: tuple[str, ...]
    everyday: tuple[tuple[str, tuple[str, ...]], ...] = ()  # everyday words asked (低保) → documents' (最低生活保障)
    unit: re.Pattern | None = None  # what a figure in the answer must be followed by (几天 → 日|天; % for a ratio)
    figures: tuple[tuple[float, int], ...] = ()  # its own figures and the side of each (`qa.figures`)
    bound: bool = False  # it asks for a limit (最多, 不超过)
    names: Names | None = None  # what it names in the index being asked, once read there (`named`)

    def named(self, names: Names) -> Question:
        """The same question, with what it names in the index being asked."""
        return replace(self, names=names)

    def about(self, place: str) -> bool:
        """Whether a document of `place` is about what the question names: the place, or the province
        holding that city (济南 for a question about 山东)."""
        return bool(place) and (place in self.places or PROVINCE_OF.get(place) in self.places)

    @property
    def money(self) -> bool:
        """Asks how much money (多少钱, 几元): only a sentence with an amount in 元 can answer."""
        return self.kind == "amount" and bool(MONEY.search(self.norm))

    @property
    def elliptical(self) -> bool:
        """Too little on its own: a follow-up that leans on the conversation (那上海呢? 要是分散供养呢?)."""
        content = set(self.tokens) - set(self.places)
        return bool(FOLLOWUP.search(self.norm)) or len(content) <= 1 or (not self.places and len(content) <= 2)


def check(text: object) -> str:
    """The question stripped, or BadQuestion saying what is wrong with it."""
    if not isinstance(text, str) or not text.strip():
        raise BadQuestion("问题是空的 (empty question): 请输入一个问题，例如 天津农村特困人员每月能领多少钱?")
    text = text.strip()
    if len(text) > MAX_CHARS:
        raise BadQuestion(f"问题太长 ({len(text)} characters): 请在 {MAX_CHARS} 字以内提问")
    if not re.search(r"\w", text):
        raise BadQuestion("问题里只有标点 (only punctuation): 请用中文提问，例如 上海的家庭医生签约了多少人?")
    if not has_chinese(text):
        raise BadQuestion("文档是中文的 (no Chinese in the question): 请用中文提问，例如 成都的低保标准是多少?")
    return text


def parse(text: str) -> Question:
    """Analyse a checked question."""
    norm = normalize(text)
    kind = next((name for name, pattern in KINDS if pattern.search(norm)), "fact")
    if kind == "amount" and ASKS_OTHER.search(norm) and not ASKS_AMOUNT.search(norm):
        kind = "fact"
    places = tuple(p for p in PLACES if p in norm)
    tokens = tuple(tokenize(text))
    asked = [w for w, ds in everyday_words().items() if w in norm and not any(d in norm for d in ds)]
    asked = [w for w in asked if not any(w != longer and w in longer for longer in asked)]  # 生孩子, not 孩子
    everyday = tuple((w, everyday_words()[w]) for w in asked)
    wording = [t for _, ds in everyday for d in ds for t in (*tokenize(d), *cjk_bigrams(d))]
    terms = tokens + tuple(cjk_bigrams(text)) + tuple(wording)
    sides = tuple(figures(norm).items())
    bound = bool(BOUND_ASKED.search(norm))
    return Question(text, norm, tokens, terms, kind, places, everyday, asked_unit(kind, norm), sides, bound)


def asked_unit(kind: str, norm: str) -> re.Pattern | None:
    """What a figure in the answer must be followed by: the unit after 多少/几 (几天 → 日|天), % for a
    ratio; None when the question names none."""
    if kind not in ("amount", "date"):
        return None
    found = ASKED_UNIT.search(norm)
    if found:
        unit = SAME_UNIT.get(found.group(1), re.escape(found.group(1)))
        return re.compile(rf"{FIGURE_START}\s*(?:{unit})")
    return PERCENT if RATIO.search(norm) else None


@cache
def everyday_words() -> dict[str, tuple[str, ...]]:
    """Everyday word → the words documents use for it (qa/data/everyday_words.txt), normalised as questions are."""
    pairs = {}
    for line in EVERYDAY_WORDS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            word, *wording = normalize(line).split()
            pairs[word] = tuple(wording)
    return pairs


def has_chinese(text: str) -> bool:
    return bool(re.search(r"[\u3400-\u9fff]", text))
