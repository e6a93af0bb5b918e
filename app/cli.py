"""The `qa` command: ask, build an index, serve the chat, evaluate. A thin shell over qa.Assistant."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from index import DEFAULT_MODEL_NAME

EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qa", description="民生问答: answers about Chinese public-service policy, quoted from the documents"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    ask = sub.add_parser("ask", help="answer a question (or a --batch file) with cited quotes")
    ask.add_argument("question", nargs="?", help="the question, in Simplified or Traditional Chinese")
    ask.add_argument("--history", action="append", default=[], help="an earlier question (repeat, oldest first)")
    ask.add_argument("--batch", type=Path, help="JSONL file of {id, question, history}; writes one JSON line each")
    ask.add_argument("--json", action="store_true", help="print the JSON contract instead of text")
    _common(ask)
    ask.add_argument("--place", help="only documents about this place (e.g. 天津)")
    ask.add_argument("--source", help="only this document (its file name)")
    ask.add_argument("--passages", type=int, default=5, help="retrieved passages to show (default 5)")
    ask.add_argument("--verbose", action="store_true", help="print timings to stderr")

    from app import chat, eval_cmd, index_cmd

    index_cmd.add_arguments(sub.add_parser("index", help="build an index of your documents and keep it current"))

    chat.add_arguments(sub.add_parser("serve", help="start the chat in a browser (Gradio)"))
    eval_cmd.add_arguments(sub.add_parser("eval", help="score the assistant on the QA benchmark or an open-book set"))
    return parser


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", type=Path, help="index directory (default: the built-in corpus, cached)")
    p.add_argument("--model", default=DEFAULT_MODEL_NAME, help="sentence-transformers model name or path")
    add_precision(p)


def add_precision(p: argparse.ArgumentParser) -> None:
    from index import PRECISIONS

    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="model arithmetic: auto (bf16 where the CPU has avx512_bf16/amx_bf16 or on a GPU, else fp32; "
        "questions and passages in int8 where the CPU has VNNI), fp32, bf16",
    )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from index import IngestError, StoreError
    from qa.question import BadQuestion

    try:
        if args.command == "ask":
            return _ask(args)
        if args.command == "index":
            from app import index_cmd

            return index_cmd.run(args)
        if args.command == "serve":
            from app import chat

            return chat.run(args)
        if args.command == "eval":
            from app import eval_cmd

            return eval_cmd.run(args)
    except (BadQuestion, StoreError, IngestError, RuntimeError, OSError) as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("qa: interrupted", file=sys.stderr)
        return 130
    return 0


def check_index(path: Path | None) -> None:
    """A one-line error, with the command that would make one, when `path` is given and holds no index."""
    if path is None or (path / "manifest.json").exists():
        return
    if path.is_dir() and any(p.is_file() for p in path.rglob("*")):  # a folder of documents, not an index
        out = path.with_name(path.name + "-index")
        raise OSError(f"{path} is a folder of documents, not an index; build one: qa index build {path} --out {out}")
    raise OSError(f"no index at {path}; build one with: qa index build FOLDER --out {path}")


def _assistant(args):
    from qa.assistant import Assistant

    check_index(args.index)
    return Assistant(
        index_path=args.index, model=args.model, passages=getattr(args, "passages", 5), precision=args.precision
    )


def _ask(args) -> int:
    if args.passages < 1:
        raise OSError("--passages must be at least 1")
    if args.batch is not None:
        return _ask_batch(args)
    if args.question is None:
        raise OSError('give a question, e.g. qa ask "天津农村特困人员每月能领多少钱?", or --batch FILE')
    from qa.question import check

    check(args.question)  # fail on a bad question before loading anything
    assistant = _assistant(args)
    t0 = time.perf_counter()
    answer = assistant.answer(args.question, args.history, place=args.place, source=args.source)
    if args.verbose:
        timings = " ".join(f"{k}={v:.1f}" for k, v in answer.timings.items())
        print(f"[timing] total={(time.perf_counter() - t0) * 1e3:.1f}ms {timings}", file=sys.stderr)
        precision = assistant.precision
        print(f"[precision] {precision.describe()}", file=sys.stderr)
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False))
    else:
        print(render(answer))
    return 0


def _ask_batch(args) -> int:
    from qa.question import BadQuestion

    assistant = _assistant(args)
    failed = 0
    with args.batch.open(encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                history = row.get("history") or []
                own = "place" in row or "source" in row  # a line's own filters replace the command line's
                place = _line_filter(row, "place") if own else args.place
                source = _line_filter(row, "source") if own else args.source
                answer = assistant.answer(row.get("question"), history, place=place, source=source)
                out = answer.to_json(row.get("id"))
            except (ValueError, AttributeError, BadQuestion) as exc:
                failed += 1
                out = {"id": row.get("id") if isinstance(row, dict) else None, "line": n, "error": str(exc)}
            print(json.dumps(out, ensure_ascii=False), flush=True)
    if failed:
        print(f'qa: {failed} line(s) of {args.batch} could not be answered (see their "error")', file=sys.stderr)
    return 1 if failed else 0


def _line_filter(row: dict, key: str) -> str | None:
    """A batch line's own `place` or `source` (None when it has none)."""
    value = row.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f'"{key}" must be a string, e.g. "{ {"place": "天津", "source": "tianjin.txt"}[key] }"')
    return value or None


def render(answer) -> str:
    """The answer as plain text for a terminal: quotes with their citations, or a plain 'not found'."""
    lines = []
    if answer.resolved != answer.question and answer.resolved:
        lines.append(f"（理解为：{answer.resolved}）")
    if answer.answered:
        lines.append(f"答案（原文引用）：  {answer.confidence_label()}")
        for n, q in enumerate(answer.sentences, start=1):
            lines.append(f"{n}. {_oneline(q.text)}")
            old = f"（旧版，{q.version}）" if q.superseded else ""
            lines.append(f"   —— 《{q.title}》{old}{' · ' + q.section if q.section else ''}  [{q.locator}]")
    else:
        lines.append("未在文档中找到答案。")
    lines.append("")
    lines.append("相关段落：" if answer.answered else "可能相关的段落：")
    for n, p in enumerate(answer.passages, start=1):
        lines.append(f"[{n}] 《{p.title}》 {p.source} {p.start}–{p.end}  score={p.score:.3f}")
        lines.append(f"    {_oneline(p.text)[:160]}")
    return "\n".join(lines)


def _oneline(text: str) -> str:
    return text.replace("\n", "")


if __name__ == "__main__":
    sys.exit(main())
