"""What the chat says about the library it serves, and the library tab: the documents held, and (with the
admin token) uploading and removing them. Changes go through `Library`, as the HTTP API's do."""

from __future__ import annotations

from collections import Counter
from html import escape
from pathlib import Path

import gradio as gr

from app.library import Library, LibraryError
from app.tokens import Tokens
from index import IngestError, StoreError, normalize
from qa.articles import find_article
from qa.assistant import Assistant
from qa.lexicon import DOCUMENT_KINDS

BUILT_IN_EXAMPLES = {
    "居民常问": [
        "天津农村特困人员分散供养每月多少钱?", "成都城乡低保标准是多少?",
        "天津家庭医生签约了多少居民?", "成都城乡居民基本医疗保险参保多少人?",
    ],
    "工作人员常问": [
        "上海到2025年养老护理员持证比例要达到多少?", "天津新增了哪些服务项目?",
        "天津的规划什么时候发布实施?", "上海护理型养老床位占比要达到多少?",
    ],
}  # fmt: skip
EXAMPLES_FILE = "examples.txt"  # beside an index: one question per line, "# 标签" starts a group
TABLE_ROWS = 200  # rows shown at once; the search box narrows the rest down


def introduction(assistant: Assistant) -> str:
    """One paragraph on what the index holds: how many documents, of which kinds, about which places."""
    catalog = assistant.index.catalog
    kinds = Counter(next((k for k, p in DOCUMENT_KINDS if p.search(normalize(d.title))), "其他") for d in catalog)
    places = Counter(d.place for d in catalog if d.place)
    kind_text = "、".join(f"{k} {n} 份" for k, n in kinds.most_common())
    place_text = "、".join(p for p, _ in places.most_common(6)) + ("等" if len(places) > 6 else "")
    where = f"，涉及{place_text}" if places else ""
    held = f"**本库收有 {len(catalog):,} 份文件**（{kind_text}）{where}。"
    return held + "在下面输入问题，或点一个示例；“文件库”页列出全部文件。"


def example_questions(assistant: Assistant, file: Path | None = None) -> dict[str, list[str]]:
    """Example questions by group: from `file`, else the index's examples.txt, else the built-in plans' own
    (for the built-in index), else "《title》第二条规定了什么?" for a few documents that have articles."""
    if file is None and assistant.index_path is not None:
        file = assistant.index_path / EXAMPLES_FILE
    if file is not None and Path(file).is_file():
        return _read_examples(Path(file))
    if assistant.index_path is None:
        return BUILT_IN_EXAMPLES
    index = assistant.index
    step = max(1, len(index.catalog) // 8)
    asked = [f"{index.catalog[d].title}第二条规定了什么?" for d in range(0, len(index.catalog), step)]
    picked = [q for d, q in zip(range(0, len(index.catalog), step), asked) if find_article(index, d, 2)[0]]
    return {"查条文": picked[:4]} if picked else {}


def _read_examples(file: Path) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    label = "示例问题"
    for line in file.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("#"):
            label = line.lstrip("#").strip() or label
        elif line:
            groups.setdefault(label, []).append(line)
    return groups


def library_tab(library: Library, tokens: Tokens):
    """The 文件库 tab: search and list the documents; upload and remove with the admin token. Returns the
    table, the count and the search box (the page fills them on load)."""
    can_write = library.writable and tokens.admin is not None
    gr.Markdown(_tab_note(library, tokens), elem_id="library-note")
    with gr.Row():
        query = gr.Textbox(show_label=False, placeholder="按标题或文件名查找", scale=4, elem_id="library-search")
        count = gr.Markdown(elem_id="library-count")
    table = gr.Dataframe(
        headers=["标题", "地区", "版本", "字数", "文件"], interactive=False, wrap=True, elem_id="library-table"
    )
    if can_write:
        with gr.Accordion("管理文件（需要管理口令）", open=False):
            token = gr.Textbox(label="管理口令", type="password", elem_id="library-token")
            files = gr.File(label="上传到文件库（同名文件将被替换）", file_count="multiple", elem_id="library-upload")
            with gr.Row():
                source = gr.Textbox(
                    label="要移除的文件（照上表“文件”一栏填写）", scale=4, elem_id="library-remove-source"
                )
                remove = gr.Button("移除", variant="stop", scale=1, elem_id="library-remove")
            status = gr.HTML(elem_id="library-status")
        files.upload(lambda f, t, q: _upload(library, tokens, f, t, q), [files, token, query], [status, table, count])
        remove.click(lambda s, t, q: _remove(library, tokens, s, t, q), [source, token, query], [status, table, count])
    query.change(lambda q: _rows(library, q), query, [table, count], api_visibility="private")
    return table, count, query


def refresh(library: Library, query: str = ""):
    """The table and count as the library is now (for the page's load event)."""
    return _rows(library, query)


def _tab_note(library: Library, tokens: Tokens) -> str:
    if not library.writable:
        return "这是内置的默认文件，只能查看。要管理自己的文件库，请用 `qa serve --index 索引目录` 启动。"
    if tokens.admin is None:
        how = "环境变量 MQ_ADMIN_TOKEN 或 `--admin-token-file`"
        return f"只读：启动 `qa serve` 时设置管理口令（{how}）才能在这里增删文件。"
    return "上传或移除文件后，所有人的下一个问题就会用上新的文件库。"


def _rows(library: Library, query: str):
    entries = library.entries(query or "")
    rows = [[e.title, e.place, e.version, e.chars, e.source] for e in entries[:TABLE_ROWS]]
    more = f"（显示前 {TABLE_ROWS} 份）" if len(entries) > TABLE_ROWS else ""
    return rows, f"共 {len(entries):,} 份{more}"


def _upload(library: Library, tokens: Tokens, files, token: str, query: str):
    def change():
        return library.add([(Path(f).name, Path(f)) for f in files or []])

    return _guarded(library, tokens, token, query, change)


def _remove(library: Library, tokens: Tokens, source: str, token: str, query: str):
    return _guarded(library, tokens, token, query, lambda: library.remove([source.strip()]))


def _guarded(library: Library, tokens: Tokens, token: str, query: str, change):
    """Run a change when the token is right; the status says what happened or why nothing did."""
    if not tokens.writes(token or None):
        return '<span class="mq-low">管理口令不对，文件库没有改动。</span>', *_rows(library, query)
    try:
        done = change()
    except (LibraryError, IngestError, StoreError, OSError) as exc:
        return f'<span class="mq-low">没有改动：{escape(str(exc))}</span>', *_rows(library, query)
    said = [f"{verb} {escape(s)}" for verb, names in (("已加入", done.added), ("已替换", done.replaced),
            ("已移除", done.removed)) for s in names]  # fmt: skip
    said += [f"注意：{escape(reason)}" for reason in done.skipped]
    return "<br>".join(said) or "没有改动（内容与库中相同）。", *_rows(library, query)
