"""What a question asks for and what it names: read once, used by retrieval, reading and follow-ups."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from index import PLACES, PROVINCE_OF, cjk_bigrams, normalize, tokenize
from qa.lexicon import ASKS_AMOUNT, ASKS_OTHER, FOLLOWUP, KINDS, MONEY

MAX_CHARS = 500
EVERYDAY_WORDS = Path(str(resources.files("qa") / "data" / "everyday_words.txt"))


class BadQuestion(ValueError):
    """A question the assistant cannot take; the message says what was wrong and what is accepted."""


@dataclass(frozen=True)
class Question:
    text: str  # as the user typed it
    norm: str  # normalised for matching
    tokens: tuple[str, ...]  # words, for term overlap
    terms: tuple[str, ...]  # words and character bigrams, for BM25
    kind: str  # amount, date, list or fact
    places: tuple[str, ...]
    everyday: tuple[tuple[str, tuple[str, ...]], ...] = ()  # everyday words asked (低保) → documents' (最低生活保障)

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
    return Question(text, norm, tokens, tokens + tuple(cjk_bigrams(text)) + tuple(wording), kind, places, everyday)


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
