"""One normaliser for matching, used identically on documents and questions; never applied to quotes."""

from __future__ import annotations

import functools
import re
import unicodedata

import opencc

NORMALIZER_NAME = "nfkc+opencc-tw2sp+phrases-v2"

# Taiwan wording that OpenCC's tw2sp leaves in a form mainland readers would not type.
_PHRASES = {
    "幼稚园": "幼儿园",
    "智能型": "智能",
    "中国小": "中小学",
    "国中小": "中小学",
    "国中": "初中",
    "套用": "应用",
    "连结": "连接",
    "资讯": "信息",
    "网路": "网络",
    "最佳化": "优化",
    "二○": "二〇",
    "添加": "新增",  # tw2sp reads mainland 新增 as Taiwan usage and rewrites it; keep the policy word
}
_PHRASE_RE = re.compile("|".join(sorted(map(re.escape, _PHRASES), key=len, reverse=True)))
_SPACES = re.compile(r"\s+")


@functools.cache
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("tw2sp")


def normalize(text: str) -> str:
    """Fold width, case, script (Traditional/Taiwan → Simplified/mainland) and whitespace."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _converter().convert(text)
    text = _PHRASE_RE.sub(lambda m: _PHRASES[m.group()], text)
    return _SPACES.sub(" ", text).strip()


@functools.cache
def _display_converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def to_script(text: str, script: str) -> str:
    """Convert text for display only: script is "simplified", "traditional" or "original"."""
    if script == "original":
        return text
    return _display_converter({"simplified": "tw2sp", "traditional": "s2twp"}[script]).convert(text)
