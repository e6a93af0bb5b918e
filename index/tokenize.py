"""The one tokenizer for BM25 and term overlap: jieba over normalised text, with a policy-term dictionary."""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from importlib import resources
from pathlib import Path

import jieba

from index.normalize import normalize

_DICT = resources.files("index") / "data" / "policy_terms.txt"
_SYNONYMS = resources.files("index") / "data" / "synonyms.txt"
_WORD = re.compile(r"[\w\u4e00-\u9fff]")
STOPWORDS = frozenset(
    [
        "的",
        "了",
        "是",
        "在",
        "和",
        "与",
        "及",
        "等",
        "吗",
        "呢",
        "啊",
        "吧",
        "么",
        "呀",
        "什么",
        "多少",
        "哪些",
        "哪个",
        "哪",
        "几",
        "怎么",
        "如何",
        "怎样",
        "为什么",
        "请问",
        "问",
        "我",
        "我们",
        "你",
        "您",
        "他",
        "她",
        "它",
        "这",
        "那",
        "这个",
        "那个",
        "之",
        "也",
        "都",
        "就",
        "而",
        "或",
        "对",
        "把",
        "被",
        "给",
        "有",
        "有没有",
        "是否",
        "能",
        "可以",
        "会",
        "要",
        "将",
        "到",
        "从",
        "中",
        "上",
        "下",
        "个",
        "年",
        "月",
        "日",
        "吗",
        "呢",
        "啥",
        "还",
        "又",
        "其",
        "该",
        "此",
        "为",
        "以",
        "于",
        "由",
        "并",
        "且",
        "则",
        "地",
        "得",
        "着",
        "过",
    ]
)


def tokenizer_name() -> str:
    """Names the tokenizer and its dictionary for the index manifest."""
    digest = hashlib.sha256(_DICT.read_bytes() + _SYNONYMS.read_bytes()).hexdigest()[:12]
    return f"jieba-{jieba.__version__}-search+policy-{digest}"


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
    words = [t for t in _jieba().lcut_for_search(normalize(text)) if _WORD.search(t) and t not in STOPWORDS]
    canonical = _canonical()
    return words + [canonical[t] for t in words if t in canonical]
