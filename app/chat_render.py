"""Answers as the chat shows them: escaped HTML with highlights and citations, and plain text to copy.

Every piece of document or question text goes through `html.escape` before it is wrapped in our own
markup, so a document containing `<script>` or `<img onerror=…>` is shown as text, never run.
The HTML has no blank lines, so the chat's Markdown renderer treats it as one raw HTML block and does not
reinterpret document characters such as `*` or `#`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from html import escape

from index import is_heading, normalize, to_script
from qa.lexicon import MARKED_AMOUNT, MARKED_DATE
from qa.types import Answer, Quote

SCRIPTS = {"original": "原文", "simplified": "简体", "traditional": "繁體"}
NOT_FOUND = "未在文档中找到答案。"
_MARKED = {"amount": "黄底：数额", "date": "黄底：日期"}  # what highlight_spans marks as the answer, by kind
_WORDS = re.compile(r"[\W_]+")  # what is not a word: a question differing only in these was not reinterpreted
CONTEXT_CHARS = 160  # how far the "上下文" view reaches either side of a quote

Context = Callable[[str, int, int], tuple[str, int, int]]  # (source, start, end) -> (text, quote start, end)


def convert(text: str, script: str) -> str:
    """Text for display in `script` ("original", "simplified", "traditional"); citations keep the original."""
    return to_script(text, script)


@functools.cache
def _fold_char(c: str) -> str:
    folded = normalize(c)
    return folded if len(folded) == 1 else c


def fold(text: str) -> str:
    """`text` normalised character by character, so positions in it are positions in the original."""
    return "".join(_fold_char(c) for c in text)


def highlight_spans(text: str, kind: str, terms: tuple[str, ...]) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, "answer"|"term") spans of `text`, in order.

    "answer" marks numbers (amount questions) or dates (date questions); "term" marks the question's words.
    """
    folded = fold(text)
    found: list[tuple[int, int, str]] = []
    pattern = {"amount": MARKED_AMOUNT, "date": MARKED_DATE}.get(kind)
    if pattern is not None:
        found += [(m.start(), m.end(), "answer") for m in pattern.finditer(folded) if _is_answer(m, kind, folded)]
    for term in sorted({t for t in terms if len(t) >= 2}, key=len, reverse=True):
        found += [(m.start(), m.end(), "term") for m in re.finditer(re.escape(term), folded)]
    spans: list[tuple[int, int, str]] = []
    taken = [False] * len(text)
    for start, end, cls in found:  # answers first, then longer terms first: earlier spans win overlaps
        if not any(taken[start:end]):
            spans.append((start, end, cls))
            taken[start:end] = [True] * (end - start)
    return sorted(spans)


def _is_answer(match: re.Match, kind: str, text: str) -> bool:
    if kind != "amount":
        return True
    # a year (2025年) is the when, not the how much; a lone digit without a unit (“1+1+1”) is rarely the answer
    bare = match.group().strip()
    return not text[match.end() :].lstrip().startswith("年") and not (bare.isdigit() and len(bare) < 2)


def _flat(text: str) -> str:
    """A quote on one line: its line breaks are layout (hard wraps, page breaks), not content."""
    return text.replace("\r", "").replace("\n", "")


def highlighted_html(text: str, kind: str, terms: tuple[str, ...], script: str) -> str:
    """`text` escaped and converted to `script`, with <mark> on the answer and <b> on the question's words."""
    text = _flat(text)
    out, pos = [], 0
    for start, end, cls in highlight_spans(text, kind, terms):
        out.append(escape(convert(text[pos:start], script)))
        tag = "mark" if cls == "answer" else "b"
        out.append(f"<{tag}>{escape(convert(text[start:end], script))}</{tag}>")
        pos = end
    out.append(escape(convert(text[pos:], script)))
    return "".join(out)


def citation_html(q: Quote, script: str) -> str:
    """The line under a quote: title, place, section, file and character offsets into the original."""
    parts = [f"《{escape(convert(q.title, script))}》"]
    if q.superseded:
        parts.append(f"<b>{escape(convert('旧版', script))}（{escape(q.version)}）</b>")
    parts += [escape(convert(x, script)) for x in (q.place, q.section) if x]
    page = f"第 {q.page} 页 · " if q.page else ""
    parts.append(f"<code>{escape(q.source)}</code> {page}第 {q.start}–{q.end} 字")
    return '<div class="mq-cite">—— ' + " · ".join(parts) + "</div>"


def window(text: str, start: int, end: int, reach: int = CONTEXT_CHARS) -> tuple[str, int, int]:
    """The text around text[start:end], cut at sentence ends where it can; returns it and the quote's offsets."""
    a, b = max(0, start - reach), min(len(text), end + reach)
    if a > 0:  # start after the first sentence end in reach, not mid-sentence
        ends = [i for c in "。！？\n" if (i := text.find(c, a, start)) >= 0]
        a = min(ends) + 1 if ends else a
    if b < len(text):  # stop at the last sentence end in reach
        b = max([text.rfind(c, end, b) for c in "。！？\n"]) + 1 or b
    return text[a:b], start - a, end - a


def context_html(q: Quote, context: Context | None, script: str) -> str:
    """A <details> showing the quote inside its surrounding text, the quote underlined."""
    if context is None:
        return ""
    text, start, end = context(q.source, q.start, q.end)
    before, quote, after = (escape(convert(t, script)) for t in (text[:start], text[start:end], text[end:]))
    body = f"…{before}<u>{quote}</u>{after}…".replace("\n", "<br>")
    return f'<details class="mq-context"><summary>查看上下文</summary><div>{body}</div></details>'


def quote_html(q: Quote, kind: str, terms: tuple[str, ...], script: str, context: Context | None) -> str:
    """One quoted sentence with its citation and its context."""
    body = highlighted_html(q.text, kind, terms, script)
    cite = citation_html(q, script)
    return f'<div class="mq-quote"><blockquote>「{body}」</blockquote>{cite}{context_html(q, context, script)}</div>'


def by_document(quotes: list[Quote]) -> list[list[Quote]]:
    """Quotes grouped by document, documents in the order they first appear."""
    groups: dict[str, list[Quote]] = {}
    for q in quotes:
        groups.setdefault(q.source, []).append(q)
    return list(groups.values())


def answer_html(answer: Answer, script: str = "original", context: Context | None = None) -> str:
    """The assistant's chat message: quotes grouped by document, or a plain 'not found' with 可能相关 passages."""
    terms = answer.asked.tokens if answer.asked else ()
    head = _understood_html(answer)
    note = '<div class="mq-note">引文已转换字形显示；出处位置指向原文。</div>' if script != "original" else ""
    if not answer.answered:
        shown = [p for p in answer.passages if not is_heading(p.text)][:3]
        related = "".join(quote_html(p, "fact", terms, script, context) for p in shown)
        title = "<p>以下段落可能相关：</p>" if related else ""
        return f'<div class="mq-answer">{head}<p><strong>{NOT_FOUND}</strong></p>{title}{related}{note}</div>'
    groups = by_document(answer.sentences)
    low = " mq-low" if answer.doubtful else ""
    confidence = f'<span class="mq-confidence{low}">{escape(answer.confidence_label())}</span>'
    parts = []
    for group in groups:
        if len(groups) > 1:
            doc = group[0]
            where = f"（{escape(convert(doc.place, script))}）" if doc.place else ""
            parts.append(f'<div class="mq-doc">来自《{escape(convert(doc.title, script))}》{where}</div>')
        parts += [quote_html(q, answer.kind, terms, script, context) for q in group]
    body = "".join(parts)
    marked = [
        label
        for tag, label in (("<mark>", _MARKED.get(answer.kind, "黄底：答案")), ("<b>", "粗体：问题里的词"))
        if tag in body
    ]
    legend = f'<span class="mq-note">（{"；".join(marked)}）</span>' if marked else ""
    title = f"<p><strong>答案（摘自文件原文）：</strong>{confidence}{legend}</p>"
    return f'<div class="mq-answer">{head}{title}{body}{note}</div>'


def reinterpreted(answer: Answer) -> bool:
    """Whether the question was completed from the conversation (理解为：…), not just tidied (punctuation)."""
    return bool(answer.resolved) and _WORDS.sub("", normalize(answer.question)) != _WORDS.sub("", answer.resolved)


def _understood_html(answer: Answer) -> str:
    return f'<div class="mq-note">理解为：{escape(answer.resolved)}</div>' if reinterpreted(answer) else ""


def question_html(question: str) -> str:
    """The user's message, escaped and kept inside one HTML block (no Markdown)."""
    return '<div class="mq-question">' + escape(question).replace("\n", "<br>") + "</div>"


def sources_html(answer: Answer | None, script: str = "original") -> str:
    """The sources panel: every passage retrieved for the latest question, with its score."""
    if answer is None or not answer.passages:
        return '<div class="mq-sources"><p>提问后，这里列出检索到的原文段落和相关度分数。</p></div>'
    items = []
    for p in answer.passages:
        text = convert(_flat(p.text), script)
        place = f" · {escape(convert(p.place, script))}" if p.place else ""
        section = f" · {escape(convert(p.section, script))}" if p.section else ""
        items.append(
            f"<li><b>《{escape(convert(p.title, script))}》</b>{place}{section}"
            f'<div class="mq-meta"><code>{escape(p.source)}</code> 第 {p.start}–{p.end} 字 · 相关度 {p.score:.3f}</div>'
            f"<details><summary>{escape(text[:60])}…</summary><div>{escape(text)}</div></details></li>"
        )
    return f'<div class="mq-sources"><ol>{"".join(items)}</ol></div>'


def answer_text(answer: Answer, script: str = "original") -> str:
    """The answer with its citations as plain text, for copying."""
    lines = [f"问：{answer.question}"]
    if reinterpreted(answer):
        lines.append(f"（理解为：{answer.resolved}）")
    quotes = answer.sentences if answer.answered else answer.passages[:3]
    lines.append(f"答（摘自文件原文，{answer.confidence_label()}）：" if answer.answered else NOT_FOUND + "可能相关：")
    for n, q in enumerate(quotes, start=1):
        where = " · ".join(convert(x, script) for x in (q.place, q.section) if x)
        lines.append(f"{n}. 「{convert(_flat(q.text), script)}」")
        where = f"《{convert(q.title, script)}》" + (f" · {where}" if where else "")
        lines.append(f"   ——{where} [{q.locator}]")
    return "\n".join(lines)
