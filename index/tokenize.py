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
    digest = hashlib.sha256(_DICT.read_bytes()).hexdigest()[:12]
    return f"jieba-{jieba.__version__}-search+policy-{digest}"


@functools.cache
def _jieba() -> jieba.Tokenizer:
    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    tok.tmp_dir = str(Path.home() / ".cache")  # jieba caches its prefix dictionary here between runs
    with resources.as_file(_DICT) as path:
        tok.load_userdict(str(path))
    return tok


def tokenize(text: str) -> list[str]:
    """Normalise, segment (search mode: words and their sub-words) and drop stopwords and punctuation."""
    return [t for t in _jieba().lcut_for_search(normalize(text)) if _WORD.search(t) and t not in STOPWORDS]
