"""The Gradio chat, `qa serve`: a thin shell over `Assistant.answer`, with an `ask` API for programs.

Layout and wiring are in app/chat_ui.py, rendering in app/chat_render.py, per-session uploads in
app/chat_session.py, feedback in app/chat_feedback.py. The assistant over the default corpus is loaded once
and shared read-only by every session; each session's conversation lives in its own gr.State.
"""

from __future__ import annotations

import argparse
import atexit
import json
import shutil
import sys
import tempfile
from pathlib import Path

from app.chat_feedback import default_feedback_path, read_feedback
from app.cli import add_precision, check_index
from index import DEFAULT_MODEL_NAME


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument("--index", type=Path, help="index directory (default: the built-in corpus, cached)")
    parser.add_argument("--model", default=DEFAULT_MODEL_NAME, help="sentence-transformers model name or path")
    parser.add_argument(
        "--feedback-file", type=Path, help=f"where thumbs up/down are saved (default {default_feedback_path()})"
    )
    add_precision(parser)
    parser.add_argument(
        "--admin-token-file", type=Path, help="file holding the token that lets staff change the library (HTTP "
        "API and the library tab); default: the MQ_ADMIN_TOKEN variable; without either, the library is read-only",
    )  # fmt: skip
    parser.add_argument(
        "--read-token-file", type=Path, help="file holding a token every reader must give (default: the "
        "MQ_READ_TOKEN variable; without either, asking is open)",
    )  # fmt: skip
    parser.add_argument(
        "--examples", type=Path, help="example questions, one per line ('# 标签' starts a group); default: the "
        "index's examples.txt, the built-in plans' own, or article questions about a few of the documents",
    )  # fmt: skip
    parser.add_argument("--show-feedback", action="store_true", help="print the saved feedback as JSON lines and exit")


def run(args: argparse.Namespace) -> int:
    """Load the assistant, then serve the chat until interrupted."""
    feedback = args.feedback_file or default_feedback_path()
    if args.show_feedback:
        for record in read_feedback(feedback):
            print(json.dumps(record, ensure_ascii=False))
        print(f"({feedback})", file=sys.stderr)
        return 0
    import gradio as gr
    import uvicorn
    from fastapi import FastAPI

    from app.api import PREFIX, create_api
    from app.chat_session import MAX_UPLOAD_MB
    from app.chat_ui import CSS, THEME, build_app, warm
    from app.library import Library
    from app.tokens import Tokens
    from qa.assistant import Assistant

    try:
        tokens = Tokens.load(args.admin_token_file, args.read_token_file)
    except (OSError, ValueError) as exc:
        raise OSError(f"cannot read a token: {exc}") from None

    check_index(args.index)
    print("loading the index and model (the first run builds the default index, about a minute)…", file=sys.stderr)
    assistant = Assistant(index_path=args.index, model=args.model, progress=True, precision=args.precision)
    warm(assistant)
    uploads = Path(tempfile.mkdtemp(prefix="minsheng-qa-uploads-"))
    atexit.register(shutil.rmtree, uploads, True)
    library = Library(assistant)
    demo = build_app(assistant, feedback, uploads, library, tokens, args.examples)
    print(f"feedback is saved to {feedback}", file=sys.stderr)
    server = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    server.mount(PREFIX, create_api(library, tokens))
    read_login = None if tokens.read is None else (lambda _user, password: tokens.reads(password))
    server = gr.mount_gradio_app(
        server, demo, path="/", max_file_size=f"{MAX_UPLOAD_MB}mb", theme=THEME, css=CSS, footer_links=["api"],
        run_history=False,  # a shared hotline computer must not keep one person's questions for the next
        auth=read_login, auth_message="请输入访问口令（用户名任意）",
    )  # fmt: skip
    print(f"chat: http://{args.host}:{args.port}/   API: http://{args.host}:{args.port}{PREFIX}/openapi.json")
    print(f"changing the library: {'on (admin token set)' if tokens.admin else 'off'}", file=sys.stderr)
    uvicorn.run(server, host=args.host, port=args.port, log_level="warning")
    return 0
