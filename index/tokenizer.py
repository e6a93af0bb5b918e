"""The one tokenizer for BM25 and term overlap: jieba over normalised text, with a policy-term dictionary."""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from importlib import resources
from pathlib import Path

import jieba

from index.normalizer import normalize

_DICT = resources.files("index") / "data" / "policy_terms.txt"
_SYNONYMS = resources.files("index") / "data" / "synonyms.txt"
_WORD = re.compile(r"[\w\u4e00-\u9fff]")
_STOPWORDS = resources.files("index") / "data" / "stopwords.txt"
STOPWORDS = frozenset(
    w for line in _STOPWORDS.read_text(encoding="utf-8").splitlines() if not line.startswith("#") for w in line.split()
)


def tokenizer_name() -> str:
    """Names the tokenizer and its dictionary for the index manifest."""
    digest = hashlib.sha256(_DICT.read_bytes() + _SYNONYMS.read_bytes() + _STOPWORDS.read_bytes()).hexdigest()[:12]
    return f"jieba-{jieba.__version__}-search+policy-{digest}+cjk-bigrams"


@functools.cache
def _jieba() -> jieba.Tokenizer:
    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    tok.tmp_dir = str(Path.home() / ".cache")  # jieba caches its prefix dictionary here between runs
    with resources.as_file(_DICT) as path:
        tok.load_userdict(str(path))
    for line in _SYNONYMS.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            for word in line.split():
                tok.add_word(word)
    return tok


@functools.cache
def _canonical() -> dict[str, str]:
    """Everyday word → the policy term it stands for (看病 → 就医, 最低生活保障 → 低保)."""
    table = {}
    for line in _SYNONYMS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            canonical, *aliases = line.split()
            table.update((alias, canonical) for alias in aliases)
    return table


def tokenize(text: str) -> list[str]:
    """Normalise, segment (search mode: words and their sub-words), drop stopwords, add canonical terms."""
    return tokenize_normalized(normalize(text))


def tokenize_normalized(norm: str) -> list[str]:
    """`tokenize` of text that `normalize` has already been applied to."""
    words = [t for t in _jieba().lcut_for_search(norm) if _WORD.search(t) and t not in STOPWORDS]
    canonical = _canonical()
    return words + [canonical[t] for t in words if t in canonical]


_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")


def cjk_bigrams(text: str) -> list[str]:
    """Every pair of adjacent Chinese characters of the normalised text, for BM25 beside the words.

    Bigrams match where segmentation splits a name differently in question and passage.
    """
    return bigrams_normalized(normalize(text))


def bigrams_normalized(norm: str) -> list[str]:
    """`cjk_bigrams` of text that `normalize` has already been applied to."""
    return [run[i : i + 2] for run in _CJK_RUN.findall(norm) for i in range(len(run) - 1)]


def bm25_terms(text: str) -> list[str]:
    """What BM25 indexes and searches: the words, then the character bigrams."""
    return tokenize(text) + cjk_bigrams(text)
