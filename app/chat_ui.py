"""The chat page and its event handlers. Every handler gets the session's own state; the assistant is shared."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

import gradio as gr

from app.chat_feedback import feedback_record, save_feedback
from app.chat_library import BUILT_IN_EXAMPLES, example_questions, introduction, library_tab, refresh
from app.chat_render import SCRIPTS, answer_html, answer_text, question_html, sources_html, window
from app.chat_session import MAX_UPLOAD_MB, UPLOAD_TYPES, Session, add_files, close_session
from app.library import Library
from app.tokens import Tokens
from qa.assistant import Assistant
from qa.question import BadQuestion

ANSWER_LIMIT = 4  # answers the chat computes at once (the HTTP API has a queue of its own this size)
UPLOAD_LIMIT = 1  # indexing is CPU-heavy: one upload at a time

HEADER = """# 民生问答 · 公共服务政策问答
用中文提问社保、养老、医疗、教育、低保等公共服务政策，**答案一字不改地摘自政策文件原文**，每句都注明出自哪份文件、哪一节；\
文件里没有的，会直接说“未在文档中找到答案”。可以接着追问（如“那上海呢?”），也可以在右侧上传自己的文件再提问。"""
PLACEHOLDER = (
    "**在下面输入问题，或点一个示例。**<br>默认文件：天津、上海、成都等地的基本公共服务规划与报告（见右侧“文件”列表）。"
)
CSS = """
.mq-answer blockquote {margin: .3em 0; padding: .2em .6em; border-left: 3px solid var(--color-accent);
  background: var(--background-fill-secondary)}
.mq-answer mark {background: #fde68a; color: #1f2937; padding: 0 .1em}
.mq-cite, .mq-meta, .mq-note {font-size: .85em; color: var(--body-text-color-subdued)}
.mq-doc {font-weight: 600; margin-top: .6em}
.mq-quote {margin-bottom: .6em}
.mq-label p {margin: .4em 0 0}
.mq-context, .mq-sources details {font-size: .85em}
.mq-sources ol {padding-left: 1.4em}
.mq-sources li {margin-bottom: .5em}
.mq-confidence {font-size: .85em; margin: 0 .5em; padding: 0 .4em; border-radius: 4px;
  background: var(--background-fill-secondary)}
.mq-confidence.mq-low {background: #fee2e2; color: #991b1b}
"""  # theme variables, so the page stays readable in dark mode
THEME = gr.themes.Soft(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])  # no web fonts


def warm(assistant: Assistant) -> None:
    """Load the index and the model now, so the first visitor does not wait for them."""
    assistant.warm_up()
    assistant.answer(BUILT_IN_EXAMPLES["居民常问"][0])


def parse_history(history: list[str] | str | None) -> list[str]:
    """Earlier questions, oldest first, from a list, a JSON list string, or one question as a string."""
    if history is None or history == "":
        return []
    if isinstance(history, str):
        try:
            history = json.loads(history) if history.lstrip().startswith("[") else [history]
        except json.JSONDecodeError as exc:
            raise gr.Error(f"history is not a JSON list of questions: {exc}") from exc
    if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
        raise gr.Error('history must be a list of earlier questions, e.g. ["天津家庭医生签约了多少居民?"]')
    return history


def place_choices(assistant: Assistant) -> list[tuple[str, str]]:
    places = sorted({d.place for d in assistant.index.catalog if d.place})
    return [("全部地区", "")] + [(p, p) for p in places]


def document_choices(assistant: Assistant) -> list[tuple[str, str]]:
    docs = assistant.index.catalog
    return [("全部文件", "")] + [(f"{d.title}（{d.place}）" if d.place else d.title, d.source) for d in docs]


class ChatApp:
    """The handlers behind the page; `assistant` is shared by all sessions and never changed."""

    def __init__(self, assistant: Assistant, feedback_path: Path, upload_root: Path):
        self.assistant = assistant
        self.feedback_path = feedback_path
        self.upload_root = upload_root

    def ask(self, question: str, session: Session | None, place: str, source: str, script: str):
        """Answer `question` in this session's conversation; returns the refreshed view."""
        session = session or Session()
        assistant = session.assistant or self.assistant
        try:
            answer = assistant.answer(question, session.history, place=place or None, source=source or None)
        except BadQuestion as exc:
            gr.Warning(f"无法回答这个问题：{exc}")
            return *self.view(session, script), question, session
        session.turns.append(answer)
        return *self.view(session, script), "", session

    def view(self, session: Session | None, script: str):
        """Chat messages, sources panel and copyable text for the session, in the chosen script."""
        if session is None or not session.turns:
            return [], sources_html(None), ""
        index = (session.assistant or self.assistant).index

        def context(source: str, start: int, end: int):
            d = index.by_source(source)
            return window(index.documents[d].text, start, end) if d is not None else ("", 0, 0)

        messages = []
        for turn in session.turns:
            messages.append({"role": "user", "content": question_html(turn.question)})
            messages.append({"role": "assistant", "content": answer_html(turn, script, context)})
        last = session.turns[-1]
        return messages, sources_html(last, script), answer_text(last, script)

    def new_chat(self, session: Session | None):
        """Forget the conversation; keep this session's uploaded documents."""
        session = session or Session()
        session.turns = []
        return [], sources_html(None), "", session

    def pick(self, session: Session | None, script: str, data: gr.SelectData) -> str:
        """The plain text of the answer the user clicked, for the copy box."""
        turn = _turn(data.index)
        return answer_text(session.turns[turn], script) if session and turn < len(session.turns) else ""

    def like(self, session: Session | None, place: str, source: str, script: str, data: gr.LikeData) -> None:
        """Save a thumbs up/down with the question, the answer as shown and its citations."""
        turn = _turn(data.index)
        if session is None or turn >= len(session.turns):
            return
        answer = session.turns[turn]
        filters = {"place": place or None, "source": source or None}
        rating = {True: "up", False: "down"}.get(data.liked, "withdrawn")  # "" when a thumb is clicked off
        record = feedback_record(answer, rating, answer_text(answer, script), filters)
        save_feedback(record, self.feedback_path)
        gr.Info("谢谢，反馈已保存。")

    def upload(self, files: list[str] | None, session: Session | None, progress=gr.Progress(track_tqdm=True)):  # noqa: B008
        """Index uploaded files for this session only, then offer them in the document filter."""
        session = session or Session()
        progress(0, desc="正在读取文件…")
        added, skipped = add_files(self.assistant, session, [Path(f) for f in files or []], self.upload_root)
        assistant = session.assistant or self.assistant
        lines = [f"已加入：{escape(name)}，现在就可以提问。" for name in added]
        lines += [f"已跳过：{escape(reason)}" for reason in skipped]
        status = "<br>".join(lines) or "没有收到文件。"
        places, docs = place_choices(assistant), document_choices(assistant)
        return status, gr.Dropdown(choices=places), gr.Dropdown(choices=docs), session

    def api_ask(
        self, question: str, history: list[str] | str | None = None, place: str | None = None, source: str | None = None
    ) -> dict:
        """Answer one question over the default corpus; returns the same JSON as `qa ask --json`.

        history: earlier questions, oldest first (a list or a JSON list string); place / source: optional filters.
        """
        try:
            answer = self.assistant.answer(question, parse_history(history), place=place or None, source=source or None)
        except BadQuestion as exc:
            raise gr.Error(str(exc)) from exc
        return answer.to_json()


def _turn(index: int | tuple[int, int]) -> int:
    """The conversation turn of a chat message: messages alternate question, answer."""
    return (index[0] if isinstance(index, tuple | list) else index) // 2


def build_app(
    assistant: Assistant,
    feedback_path: Path,
    upload_root: Path,
    library: Library | None = None,
    tokens: Tokens | None = None,
    examples_file: Path | None = None,
) -> gr.Blocks:
    """The page: a 问答 tab (chat and examples on the left; filters, sources, copy box and uploads on the right)
    and a 文件库 tab (the documents; uploads and removals with the admin token)."""
    app = ChatApp(assistant, feedback_path, upload_root)
    library, tokens = library or Library(assistant), tokens or Tokens()
    intro = PLACEHOLDER if assistant.index_path is None else introduction(assistant)
    with gr.Blocks(title="民生问答", analytics_enabled=False) as demo:
        session = gr.State(None, delete_callback=close_session)
        gr.Markdown(HEADER, elem_id="header")
        with gr.Tabs():
            with gr.Tab("问答", id="ask"), gr.Row():
                with gr.Column(scale=3):
                    chat, box, send, new, examples = _chat_column(intro, example_questions(assistant, examples_file))
                with gr.Column(scale=2):
                    place, doc, script, sources, copy, files, status = _side_column(assistant)
            with gr.Tab("文件库", id="library"):
                table, count, query = library_tab(library, tokens)
        gr.Markdown(
            f"点答案下方的赞/踩按钮评价答案；反馈只保存在本机：`{feedback_path}`"
            "（`qa serve --show-feedback` 可读出）。程序调用见页面底部的 API 链接。",
            elem_id="footer-note",
        )
        ask_in, ask_out = [box, session, place, doc, script], [chat, sources, copy, box, session]
        answering = {"concurrency_id": "answer", "concurrency_limit": ANSWER_LIMIT}
        gr.api(app.api_ask, api_name="ask", **answering)  # first, so the name "ask" is its own
        box.submit(app.ask, ask_in, ask_out, api_name="chat", api_visibility="undocumented", **answering)
        send.click(app.ask, ask_in, ask_out, api_visibility="private", **answering)
        for button in examples:
            button.click(lambda q: q, button, box, api_visibility="private", queue=False).then(
                app.ask, ask_in, ask_out, api_visibility="private", **answering
            )
        new.click(app.new_chat, session, [chat, sources, copy, session], api_visibility="private")
        chat.clear(app.new_chat, session, [chat, sources, copy, session], api_visibility="private")
        script.change(app.view, [session, script], [chat, sources, copy], api_visibility="private")
        chat.select(app.pick, [session, script], copy, api_visibility="private")
        chat.like(app.like, [session, place, doc, script], None, api_visibility="private")
        files.upload(
            app.upload, [files, session], [status, place, doc, session], api_visibility="private",
            concurrency_limit=UPLOAD_LIMIT,
        )  # fmt: skip
        demo.load(
            lambda q: (
                *refresh(library, q),
                gr.Dropdown(choices=place_choices(assistant)),
                gr.Dropdown(choices=document_choices(assistant)),
            ),
            query,
            [table, count, place, doc],
            api_visibility="private",
        )  # fmt: skip  (a document added since the page was built is listed and can be chosen)
    demo.queue(default_concurrency_limit=ANSWER_LIMIT)
    return demo


def _chat_column(intro: str, groups: dict[str, list[str]]):
    chat = gr.Chatbot(
        show_label=False,  # the label chip covered the first characters of the top message
        height=600,
        placeholder=intro,
        latex_delimiters=[],  # a "$" in a document is a dollar sign, not mathematics
        buttons=[],  # the built-in copy would copy our HTML; the copy box holds plain text instead
        feedback_options=("Like", "Dislike"),
        elem_id="chat",
    )
    with gr.Row():
        box = gr.Textbox(
            show_label=False, placeholder="输入问题，按回车提问，例如：天津农村特困人员分散供养每月多少钱?",
            scale=6, elem_id="question",
        )  # fmt: skip
        send = gr.Button("提问", variant="primary", scale=1, min_width=80, elem_id="ask")
        new = gr.Button("新对话", scale=1, min_width=80, elem_id="new-chat")
    examples = []
    for label, questions in groups.items():
        gr.Markdown(f"**{label}**（点一下就提问）", elem_classes="mq-label")
        with gr.Row():
            examples += [gr.Button(q, size="sm", variant="secondary", min_width=120) for q in questions]
    return chat, box, send, new, examples


def _side_column(assistant: Assistant):
    with gr.Accordion("筛选与显示", open=True):
        place = gr.Dropdown(place_choices(assistant), value="", label="地区", elem_id="place")
        doc = gr.Dropdown(document_choices(assistant), value="", label="文件", elem_id="document")
        scripts = [(label, name) for name, label in SCRIPTS.items()]
        script = gr.Radio(scripts, value="original", label="引文字形（出处仍指向原文）", elem_id="script")
    gr.Markdown("**检索到的段落**（最近一次提问，按相关度排序）")
    sources = gr.HTML(sources_html(None), elem_id="sources")
    with gr.Accordion("复制答案（纯文本，含出处）", open=False):
        copy = gr.Textbox(
            label="点右上角按钮复制；点对话里的某个答案可换成那一条", lines=8, buttons=["copy"], elem_id="copy"
        )
    with gr.Accordion("添加文件（只对你的这次会话有效）", open=False):
        files = gr.File(
            label=f"上传文件（{' '.join(UPLOAD_TYPES)}，每个 ≤{MAX_UPLOAD_MB} MB）",
            file_count="multiple", file_types=list(UPLOAD_TYPES), elem_id="upload",
        )  # fmt: skip
        status = gr.HTML(elem_id="upload-status")
    return place, doc, script, sources, copy, files, status
