"""The chat's own code: highlighting, escaping, citations, plain text, feedback, uploads and sessions.

Rendering tests build quotes from a small text so `text == original[start:end]` holds; the handler tests run
the real ChatApp over the tiny corpus with the fake encoder (no model, no browser).
"""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr
import pytest

from app.chat_feedback import feedback_record, read_feedback, save_feedback
from app.chat_render import (
    NOT_FOUND,
    answer_html,
    answer_text,
    by_document,
    convert,
    highlight_spans,
    question_html,
    sources_html,
    window,
)
from app.chat_session import MAX_UPLOAD_MB, Session, add_files, check_upload, close_session
from app.chat_ui import ChatApp, _turn, parse_history
from qa.question import parse
from qa.types import Answer, Quote

SHANGHAI = "上海市基本公共服務規劃\n到2025年,全市養老護理員持等級證的比例達到80%。其他內容。"
EVIL = "天津市<b>說明</b>\n<script>alert('x')</script><img src=x onerror=alert(1)>補貼為每月1530元。"


def quote(text: str, part: str, source: str = "sh.txt", title: str = "上海市基本公共服務規劃", **kw) -> Quote:
    start = text.index(part)
    fields = {"place": "上海", "section": "一、總體", "score": 0.9} | kw
    return Quote(text[start : start + len(part)], source, title, start=start, end=start + len(part), **fields)


def answer(question: str, quotes: list[Quote], answered: bool = True, kind: str = "amount", **kw) -> Answer:
    sentences = quotes if answered else []
    resolved = kw.get("resolved", question)
    return Answer(
        question, resolved, answered, sentences, quotes, kind, kw.get("confidence", 0.9), asked=parse(resolved)
    )


def marked(text: str, kind: str, terms: tuple[str, ...], cls: str) -> list[str]:
    return [text[s:e] for s, e, c in highlight_spans(text, kind, terms) if c == cls]


# --- highlighting -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "terms", "answers"),
    [
        ("到2025年,全市養老護理員持等級證的比例達到80%。", "amount", ("比例",), ["80%"]),
        ("分散供養標準分別提高至每人每月1870元、1530元。", "amount", (), ["1870元", "1530元"]),
        ("簽約居民超過８００萬人。", "amount", (), ["８００萬人"]),  # full-width digits, Traditional 萬
        ("“1+1+1”組合簽約,到2020年底,簽約3個。", "amount", (), ["3個"]),
        ("於2021年11月25日審議通過,12月6日發布實施。", "date", (), ["2021年11月25日", "12月6日"]),
        ("新增17項服務。", "list", (), []),
    ],
    ids=["percent-not-year", "two-amounts", "fullwidth", "no-lone-digits", "dates", "list-has-no-number-mark"],
)
def test_answer_part_is_marked(text: str, kind: str, terms: tuple[str, ...], answers: list[str]) -> None:
    assert marked(text, kind, terms, "answer") == answers


def test_question_words_are_found_in_traditional_text() -> None:
    text = "全市養老護理員持等級證的比例達到80%。"
    assert marked(text, "amount", ("养老护理员", "比例", "x"), "term") == ["養老護理員", "比例"]


def test_spans_do_not_overlap() -> None:
    spans = highlight_spans("護理員護理員比例80%", "amount", ("护理员", "护理", "员护"))
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


# --- escaping: nothing from a document or a question becomes live HTML --------------------------------------


def test_document_markup_is_shown_as_text() -> None:
    q = quote(EVIL, "<script>alert('x')</script><img src=x onerror=alert(1)>補貼為每月1530元。", title="<b>t</b>")
    context = lambda *a: window(EVIL, *a[1:])  # noqa: E731
    html = answer_html(answer("補貼<img src=y onerror=alert(2)>是多少?", [q]), "original", context)
    html += sources_html(answer("補貼", [q])) + question_html("<script>alert(3)</script>")
    for live in ("<script", "<img", "<b>t", "<b>說明"):
        assert live not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_answer_is_one_html_block() -> None:
    # a blank line would end the raw-HTML block and let Markdown reinterpret document text
    q = quote(SHANGHAI, "規劃\n到2025年")
    html = answer_html(answer("上海?", [q]), "original", lambda *a: window(SHANGHAI, *a[1:]))
    assert "\n" not in html


def test_sources_summary_never_cuts_an_entity() -> None:
    text = "&" * 100
    q = Quote(text, "a.txt", "t", "", "", 0, 100, 1.0)
    assert "&amp;&amp;" in sources_html(answer("?", [q])) and "&am…" not in sources_html(answer("?", [q]))


# --- citations, scripts, grouping, plain text ---------------------------------------------------------------


def test_citation_names_title_place_section_file_and_offsets() -> None:
    q = quote(SHANGHAI, "到2025年,全市養老護理員持等級證的比例達到80%。")
    assert SHANGHAI[q.start : q.end] == q.text
    html = answer_html(answer("上海养老护理员持证比例?", [q]))
    for part in ("《上海市基本公共服務規劃》", "上海", "一、總體", "sh.txt", f"{q.start}–{q.end}", "<mark>80%</mark>"):
        assert part in html


@pytest.mark.parametrize("page", [0, 3])
def test_a_pdf_quote_names_its_page(page: int) -> None:
    q = quote(SHANGHAI, "其他內容。", page=page)
    html, text = answer_html(answer("其他?", [q], kind="fact")), answer_text(answer("其他?", [q], kind="fact"))
    assert ("第 3 页" in html) == bool(page) and ("第3页" in text) == bool(page)
    assert ("page" in answer("其他?", [q]).to_json()["sentences"][0]) == bool(page)


def test_script_switch_converts_display_only() -> None:
    q = quote(SHANGHAI, "到2025年,全市養老護理員持等級證的比例達到80%。")
    simplified = answer_html(answer("比例?", [q]), "simplified")
    assert "养老护理员" in simplified and "上海市基本公共服务规划" in simplified
    assert f"{q.start}–{q.end}" in simplified and "出处位置指向原文" in simplified
    assert convert("养老护理员", "traditional") == "養老護理員" and convert("養老", "original") == "養老"


def test_context_shows_the_neighbouring_sentences() -> None:
    text = "甲句。乙句很長。引用這句。後一句。再後一句。"
    start = text.index("引用")
    around, s, e = window(text, start, start + 5, reach=4)
    assert around[s:e] == "引用這句。" and around.startswith("乙句很長。") is False
    assert window(text, start, start + 5, reach=100)[0] == text


def test_quotes_are_grouped_by_document() -> None:
    pairs = [("天津甲。", "t.txt"), ("上海乙。", "s.txt"), ("天津丙。", "t.txt")]
    a, b, c = (quote(text, text, source) for text, source in pairs)
    assert [[q.source for q in g] for g in by_document([a, b, c])] == [["t.txt", "t.txt"], ["s.txt"]]
    assert answer_html(answer("各地有哪些?", [a, b, c], kind="list")).count('class="mq-doc"') == 2


def test_unanswered_says_so_and_offers_related_passages() -> None:
    a = answer("火星有几所幼儿园?", [quote(SHANGHAI, "其他內容。")], answered=False)
    html, text = answer_html(a), answer_text(a)
    assert NOT_FOUND in html and "可能相关" in html and "其他內容" in html
    assert text.splitlines()[1].startswith(NOT_FOUND)


def test_a_bare_heading_is_never_offered_as_related() -> None:
    text = "## 第三章 特困人员供养\n其他內容。"
    a = answer("火星有几所幼儿园?", [quote(text, "## 第三章 特困人员供养"), quote(text, "其他內容。")], answered=False)
    html = answer_html(a)
    assert "其他內容" in html and "第三章" not in html


@pytest.mark.parametrize(
    ("kind", "part", "legend"),
    [
        ("amount", "到2025年,全市養老護理員持等級證的比例達到80%。", "黄底：数额"),
        ("date", "到2025年,全市養老護理員持等級證的比例達到80%。", "黄底：日期"),
        ("fact", "其他內容。", None),
    ],
)
def test_legend_names_only_what_is_marked(kind: str, part: str, legend: str | None) -> None:
    html = answer_html(answer("上海护理员比例?", [quote(SHANGHAI, part)], kind=kind))
    assert ("<mark>" in html) == (legend is not None)
    assert ("黄底" in html) == (legend is not None) and (legend is None or legend in html)


@pytest.mark.parametrize(
    ("asked", "resolved", "shown"),
    [("上海的低保标准是多少?", "上海的低保标准是多少？", False), ("那上海呢?", "上海的低保标准是多少?", True)],
)
def test_understood_as_only_for_completed_questions(asked: str, resolved: str, shown: bool) -> None:
    a = answer(asked, [quote(SHANGHAI, "其他內容。")], kind="fact", resolved=resolved)
    assert ("理解为" in answer_html(a)) == shown and ("理解为" in answer_text(a)) == shown


@pytest.mark.parametrize(("confidence", "low"), [(0.93, False), (0.5, False), (0.31, True)])
def test_confidence_is_shown_and_marked_when_low(confidence: float, low: bool) -> None:
    a = answer(
        "上海养老护理员持证比例?",
        [quote(SHANGHAI, "到2025年,全市養老護理員持等級證的比例達到80%。")],
        confidence=confidence,
    )
    html, text = answer_html(a), answer_text(a)
    shown = f"可信度 {confidence:.0%}"
    assert shown in html and shown in text
    assert ('class="mq-confidence mq-low"' in html) == low and ("请核对原文" in text) == low


def test_plain_text_has_quotes_and_citations() -> None:
    q = quote(SHANGHAI, "到2025年,全市養老護理員持等級證的比例達到80%。")
    text = answer_text(answer("那上海呢?", [q], resolved="上海养老护理员持证比例"), "simplified")
    assert "理解为：上海养老护理员持证比例" in text and "「到2025年,全市养老护理员持等级证的比例达到80%。」" in text
    assert f"[sh.txt {q.start}–{q.end}]" in text and "<" not in text


# --- feedback -----------------------------------------------------------------------------------------------


def test_feedback_is_saved_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "feedback.jsonl"
    a = answer("比例?", [quote(SHANGHAI, "到2025年,全市養老護理員持等級證的比例達到80%。")])
    save_feedback(feedback_record(a, "up", answer_text(a)), path)
    save_feedback(feedback_record(a, "down", "x", {"place": "上海"}), path)
    up, down = read_feedback(path)
    assert (up["rating"], down["rating"], down["filters"]) == ("up", "down", {"place": "上海"})
    with pytest.raises(ValueError, match="rating must be one of"):
        feedback_record(a, "meh", "x")
    assert up["question"] == "比例?" and "80%" in up["answer"] and up["time"]
    assert up["citations"][0]["source"] == "sh.txt" and SHANGHAI[up["citations"][0]["start"] :].startswith("到2025")
    assert read_feedback(tmp_path / "none.jsonl") == []


# --- uploads ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("a.txt", "天津新增托位。".encode(), None),
        ("a.exe", b"MZ", "不支持的文件类型 .exe"),
        ("noext", b"abc", "（无扩展名）"),
        ("a.md", b"", "文件是空的"),
        ("a.pdf", b"not a pdf", "不是有效的 .pdf"),
        ("a.docx", b"not a zip", "不是有效的 .docx"),
        ("big.txt", None, f"超过每个文件 {MAX_UPLOAD_MB} MB"),
    ],
)
def test_upload_checks(tmp_path: Path, name: str, content: bytes | None, problem: str | None) -> None:
    path = tmp_path / name
    if content is None:
        with path.open("wb") as f:
            f.truncate(MAX_UPLOAD_MB * 1_000_000 + 1)  # sparse: no real bytes written
    else:
        path.write_bytes(content)
    found = check_upload(path)
    assert found is None if problem is None else (problem in found and name in found)


@pytest.mark.parametrize(
    ("history", "expected"),
    [(None, []), ("", []), (["甲?", "乙?"], ["甲?", "乙?"]), ('["甲?"]', ["甲?"]), ("甲?", ["甲?"])],
)
def test_api_history_forms(history, expected: list[str]) -> None:
    assert parse_history(history) == expected


@pytest.mark.parametrize("history", ["[not json", [1, 2], '["甲?", 1]'])
def test_api_history_errors(history) -> None:
    with pytest.raises(gr.Error):
        parse_history(history)


def test_turn_of_a_message() -> None:
    assert (_turn(1), _turn(3), _turn((5, 0))) == (0, 1, 2)


# --- handlers over the tiny corpus (fake encoder) -----------------------------------------------------------


@pytest.fixture
def chat_app(tiny_assistant, tmp_path: Path) -> ChatApp:
    (tmp_path / "uploads").mkdir()
    return ChatApp(tiny_assistant, tmp_path / "feedback.jsonl", tmp_path / "uploads")


def test_sessions_keep_their_own_history(chat_app: ChatApp) -> None:
    one = chat_app.ask("上海养老护理员持证比例达到多少?", None, "", "", "original")[-1]
    two = chat_app.ask("成都城乡低保标准是多少?", None, "", "", "original")[-1]
    messages, _, text, box, one = chat_app.ask("那成都呢?", one, "", "", "original")
    assert one.history == ["上海养老护理员持证比例达到多少?", "那成都呢?"] and len(two.history) == 1
    assert box == "" and len(messages) == 4 and one.turns[-1].resolved != "那成都呢?"
    assert chat_app.new_chat(one)[-1].turns == []


def test_bad_question_keeps_the_conversation(chat_app: ChatApp) -> None:
    session = chat_app.ask("成都城乡低保标准是多少?", None, "", "", "original")[-1]
    *_, box, session = chat_app.ask("？？？", session, "", "", "original")
    assert box == "？？？" and len(session.turns) == 1


def test_chat_and_api_give_the_same_answer(chat_app: ChatApp, tiny_assistant) -> None:
    question, history = "那天津呢?", ["上海养老护理员持证比例达到多少?"]
    expected = tiny_assistant.answer(question, history).to_json()
    assert chat_app.api_ask(question, json.dumps(history, ensure_ascii=False)) == expected
    session = Session(turns=[tiny_assistant.answer(history[0])])
    session = chat_app.ask(question, session, "", "", "original")[-1]
    assert session.turns[-1].to_json() == expected


def test_feedback_from_the_chat(chat_app: ChatApp) -> None:
    session = chat_app.ask("成都城乡低保标准是多少?", None, "", "", "original")[-1]
    for liked in (False, ""):  # a thumb down, then clicked again to take it back
        chat_app.like(session, "成都", "", "original", gr.LikeData(None, {"index": 1, "value": "", "liked": liked}))
    record, withdrawn = read_feedback(chat_app.feedback_path)
    assert (record["rating"], withdrawn["rating"]) == ("down", "withdrawn")
    assert record["question"] == "成都城乡低保标准是多少?"
    assert record["filters"]["place"] == "成都" and record["citations"]


def test_upload_is_private_to_its_session(chat_app: ChatApp, tmp_path: Path) -> None:
    doc = tmp_path / "in" / "notice.txt"
    doc.parent.mkdir()
    doc.write_text("长春市冰雪补贴通知\n<script>alert(1)</script>长春市冰雪补贴为每人每月321元。", encoding="utf-8")
    (tmp_path / "in" / "bad.exe").write_bytes(b"MZ")
    session = Session()
    added, skipped = add_files(chat_app.assistant, session, [doc, tmp_path / "in" / "bad.exe"], chat_app.upload_root)
    assert added == ["notice.txt"] and len(skipped) == 1 and "bad.exe" in skipped[0]
    mine = chat_app.ask("长春冰雪补贴每月多少钱?", session, "", "", "original")
    assert "321" in mine[0][-1]["content"] and "<script" not in mine[0][-1]["content"]
    others = {d.source for d in chat_app.assistant.index.documents}
    assert "notice.txt" not in others and "notice.txt" in {d.source for d in session.assistant.index.documents}
    folder = session.folder
    close_session(session)
    assert not folder.exists()
