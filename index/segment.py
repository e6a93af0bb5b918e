"""Split a document's original text into whole sentences, with sections, despite messy layout.

Web and PDF text breaks sentences in the middle: hard line wraps, page markers (`制\\n4、度`), table
framing (`范文 | ...`). We build a clean view that skips those characters while remembering where each
kept character sits in the original, split the clean view into sentences, and cite the original span.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.normalizer import normalize

_TERMINAL = "。！？!?；;"
_CLOSERS = "”’」』）)】"
_LINE_END_OK = _TERMINAL + "：:" + _CLOSERS
_HEADING_MARKERS = [
    re.compile(r"^[一二三四五六七八九十]+[、.．]"),
    re.compile(r"^[（(][一二三四五六七八九十]+[）)]"),
    re.compile(r"^\d{1,2}[.．、](?!\d)"),
    re.compile(r"^[（(]\d{1,2}[）)]"),
]
_PAGE_MARKER = re.compile(r"^\d{1,3}、")
_BULLET = re.compile(r"^[•·●▪◆■\-*]\s*")
_LABEL = re.compile(r"^([^\s，,。:：]{2,8}[:：][^\s。，,]{2,30})\s+(?=\S)")
_LABEL_HEADING = re.compile(r"^[^\s，,。:：]{2,8}[:：][^\s。，,]{2,30}$")
_OCR_ZERO = re.compile(r"(?<=[二〇一])。(?=[〇一二三四五六七八九])")  # 二。三五年: an OCR'd 〇, not a full stop
# Site furniture: one of these marks a short line as boilerplate ...
_FURNITURE = ("相关词条", "热门词条", "随便看", "会员分享", "上一篇", "下一篇", "分享到", "扫一扫")
# ... these also occur in laws (免费提供抗病毒药物, 版权所有, 申请在本省…), so a line needs two of them, or one and
# a word above, or to be little more than the word (联络我们, 请在登录后查看), before it is dropped
_AMBIGUOUS = tuple(map(re.compile, (
    "联络我们", "联系我们", "在线阅读", "免费提供", "版权所有", "责任编辑", "学术资源", "下载服务", "(?<![申提邀])请在",
)))  # fmt: skip
MAX_HEADING = 40
_NUMERAL = "[零〇一二三四五六七八九十百千两\\d]+"
_LAW_PART = re.compile(rf"^#*\s*第{_NUMERAL}(章|节)(?:\s|$)")  # a chapter or section heading of a law
ARTICLE = re.compile(rf"第({_NUMERAL})条")  # an article of a law: 第二十条, 第20条
_MARKUP_COMMENT = re.compile(r"^\s*<!--.*-->\s*$")  # `<!-- INFO END -->` closes every law file's header


@dataclass(frozen=True)
class Span:
    """A sentence found in the original text: original[start:end] is its quote."""

    start: int
    end: int
    clean: str
    section: str


def is_boilerplate(line: str) -> bool:
    """True for site furniture (related links, sharing notices) that must never be an answer."""
    norm = normalize(line)
    furniture = sum(k in norm for k in _FURNITURE)
    hits = furniture + sum(bool(k.search(norm)) for k in _AMBIGUOUS)
    return hits >= 2 or (furniture == 1 and len(norm) < 120) or (hits == 1 and len(norm) < 20)


def is_heading(text: str) -> bool:
    """A Markdown heading (`## …`) or a law's chapter or section heading (第三章 …): it names, it never answers."""
    text = text.strip()
    return bool(text) and "\n" not in text and (text.startswith("#") or bool(_LAW_PART.match(text)))


def heading_level(line: str) -> int:
    """1–4 for an outline heading (一、 / (一) / 1. / (1)), 1 for a short unpunctuated title, else 0."""
    line = line.strip()
    if not line or len(line) > MAX_HEADING or "。" in line:
        return 0
    for level, marker in enumerate(_HEADING_MARKERS, start=1):
        if marker.match(line):
            return level
    if _LABEL_HEADING.match(line):
        return 1
    if len(line) <= 16 and not re.search(r"[，,。；;:：！？!?、|]", line):
        return 1
    return 0


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line, without its newline, stripped of surrounding spaces."""
    spans, pos = [], 0
    for raw in text.split("\n"):
        stripped = raw.strip()
        lead = len(raw) - len(raw.lstrip())
        spans.append((pos + lead, pos + lead + len(stripped)))
        pos += len(raw) + 1
    return spans


def _title_like(line: str, prev_open: bool) -> bool:
    """A short unpunctuated line standing on its own (a title or subtitle), not a wrapped fragment."""
    return not prev_open and len(line) <= 50 and not re.search(r"[，,。；;、]", line)


def _segments(text: str) -> list[list[tuple[int, int]]]:
    """Runs of original pieces that read as one block of text once wraps and page markers are removed."""
    segments: list[list[tuple[int, int]]] = []
    prev_open = False  # the previous body line ends mid-sentence
    after_boilerplate = False
    for start, end in _lines(text):
        line = text[start:end]
        if not line or is_boilerplate(line) or _MARKUP_COMMENT.match(line):
            prev_open, after_boilerplate = False, bool(line)
            continue
        marker = _PAGE_MARKER.match(line)
        if marker and (prev_open or after_boilerplate):
            start += marker.end()  # a page number cutting a sentence: skip it and carry on
            line = text[start:end]
        if not line:
            continue
        structural = bool(_BULLET.match(line)) or (heading_level(line) > 0 and not prev_open)
        if prev_open and not structural:
            segments[-1].append((start, end))
        else:
            segments.append([(start, end)])
        prev_open = line[-1] not in _LINE_END_OK and not structural and not _title_like(line, prev_open)
        after_boilerplate = False
    return segments


def _split_clean(clean: str) -> list[tuple[int, int]]:
    """Sentence boundaries in a clean segment: after terminal punctuation (and closing quotes) and at `|`."""
    bounds, begin, i = [], 0, 0
    while i < len(clean):
        ch = clean[i]
        if ch == "|":
            bounds.append((begin, i))
            begin = i + 1
        elif ch in _TERMINAL:
            while i + 1 < len(clean) and clean[i + 1] in _CLOSERS:
                i += 1
            bounds.append((begin, i + 1))
            begin = i + 1
        i += 1
    bounds.append((begin, len(clean)))
    return bounds


def _label_split(clean: str, a: int, b: int) -> list[tuple[int, int]]:
    """Separate an inline topic label (`幼有所育:不断加强服务管理 持续…`) from the sentence it heads."""
    m = _LABEL.match(clean[a:b])
    return [(a, a + len(m.group(1))), (a + m.end(), b)] if m else [(a, b)]


class _Sections:
    """The outline path above the current sentence; in a law, its 章 / 节 / 条 (第三章 业主委员会 / 第二十条)."""

    def __init__(self) -> None:
        self.stack: list[tuple[int, str]] = []
        self.law = False  # once a 第X章/节/条 is seen, list items (（一）…；) inside articles are not sections

    def update(self, sentence: str) -> None:
        part, article = _LAW_PART.match(sentence), ARTICLE.match(sentence)
        if part or article:
            if not self.law:  # the title and enactment lines above a law's first article are not its sections
                self.stack, self.law = [], True
            level = 3 if article else 1 if part.group(1) == "章" else 2
            title = article.group(0) if article else " ".join(sentence.lstrip("#").split())
            self.stack = [s for s in self.stack if s[0] < level] + [(level, title)]
            return
        level = heading_level(sentence)
        if level and not self.law:
            self.stack = [s for s in self.stack if s[0] < level] + [(level, sentence.rstrip("。:："))]

    def __str__(self) -> str:
        return " / ".join(title for _, title in self.stack)


def split_sentences(text: str) -> list[Span]:
    """Every sentence of `text` with its original offsets, clean text and section."""
    spans: list[Span] = []
    sections = _Sections()
    for pieces in _segments(text):
        clean = _OCR_ZERO.sub("〇", "".join(text[a:b] for a, b in pieces))
        origin = [i for a, b in pieces for i in range(a, b)]
        for a0, b0 in _split_clean(clean):
            for a, b in _label_split(clean, a0, b0):
                while a < b and clean[a].isspace():
                    a += 1
                while b > a and clean[b - 1].isspace():
                    b -= 1
                if b - a < 4 or is_boilerplate(clean[a:b]):
                    continue
                sentence = clean[a:b]
                sections.update(sentence)
                spans.append(Span(origin[a], origin[b - 1] + 1, sentence, str(sections)))
    return spans
