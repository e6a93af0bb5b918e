"""`qa eval`: score the assistant on the shipped benchmark (or another) or on an open-book SQuAD-form split.

Each run writes `<name>-run.jsonl` (one row per question) and `<name>-report.json` under --out, prints a
table, and draws a bar chart; `--rescore RUN` scores a saved run file again without asking anything.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.cli import add_precision
from evaluation.benchmark import HALVES
from evaluation.report import chart, table
from index import DEFAULT_MODEL_NAME, SENTENCE_VECTORS
from qa.retrieve import FUSIONS

_RANKING = (
    ("n", "questions"),
    ("R@1", "recall@1"),
    ("R@5", "recall@5"),
    ("MRR@10", "mrr@10"),
    ("hit@1", "hit@1"),
    ("hit@3", "hit@3"),
)
_LATENCY = (("p50 ms", "latency_p50_ms"), ("p95 ms", "latency_p95_ms"))
BENCHMARK_COLUMNS = (
    *_RANKING,
    ("abst-P", "abstention_precision"),
    ("abst-R", "abstention_recall"),
    ("false-abst", "false_abstention"),
    *_LATENCY,
)
ABSTENTION = (("abst-P", "abstention_precision"), ("abst-R", "abstention_recall"))
OPEN_BOOK_COLUMNS = (*_RANKING, ("ans-in-top5", "answer_in_top5"), ("answered", "answered"), *_LATENCY)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("benchmark", nargs="?", type=Path, help="benchmark JSONL (default: the shipped one)")
    parser.add_argument("--open-book", type=Path, metavar="SPLIT", help="run the open-book protocol on a SQuAD file")
    parser.add_argument("--simplified-questions", action="store_true", help="open book: convert questions t2s")
    parser.add_argument(
        "--own-paragraph",
        action="store_true",
        help="open book: ask each question of its own paragraph only (CJRC; yes/no questions are skipped)",
    )
    parser.add_argument(
        "--methods", nargs="+", choices=FUSIONS, help="open book: only these retrieval methods (default: all four)"
    )
    parser.add_argument(
        "--half", choices=HALVES, help="only the dev or the test half (split by question or paragraph id)"
    )
    parser.add_argument("--limit", type=int, help="score a fixed-seed random sample of this many questions")
    parser.add_argument("--seed", type=int, default=13, help="seed of the --limit sample (default 13)")
    parser.add_argument("--out", type=Path, default=Path("runs"), help="folder for run, report and chart (runs/)")
    parser.add_argument("--chart", type=Path, help="also write the chart here (e.g. docs/benchmark.png)")
    parser.add_argument("--fusion", choices=FUSIONS, default="convex", help="benchmark retrieval (default convex)")
    parser.add_argument("--index", type=Path, help="benchmark index directory (default: the built-in corpus)")
    parser.add_argument("--model", default=DEFAULT_MODEL_NAME, help="sentence-transformers model name or path")
    add_precision(parser)
    parser.add_argument("--rescore", type=Path, metavar="RUN", help="score this saved run file instead of running")
    parser.add_argument("--rebuild", action="store_true", help="open book: rebuild the cached split index")
    parser.add_argument(
        "--sentence-vectors", choices=SENTENCE_VECTORS, default=SENTENCE_VECTORS[0],
        help="open book: the split index's sentence vectors (pooled: from its passage; own: each sentence alone)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Run (or re-score) and report; errors about bad arguments are OSErrors the CLI prints."""
    if args.limit is not None and args.limit < 1:
        raise OSError("--limit must be at least 1")
    for name in ("benchmark", "open_book", "rescore", "index"):
        path = getattr(args, name)
        if path is not None and not path.exists():
            raise OSError(f"{path} does not exist (given as {name.replace('_', '-')})")
    if args.open_book is not None:
        if args.benchmark is not None or args.index is not None:
            raise OSError("--open-book builds its own index from the split: give no benchmark file or --index")
        return _open_book(args)
    if args.simplified_questions or args.own_paragraph:
        raise OSError("--simplified-questions and --own-paragraph apply to --open-book runs only")
    return _benchmark(args)


def _benchmark(args: argparse.Namespace) -> int:
    from evaluation.benchmark import (
        BENCHMARK,
        half,
        load_benchmark,
        run_benchmark,
        score_benchmark,
        subsample,
    )
    from evaluation.runs import read_run
    from qa.assistant import Assistant

    path = args.benchmark or BENCHMARK
    name = path.stem + ("" if args.fusion == "convex" else f"-{args.fusion}") + _sample_suffix(args)
    name += f"-{args.half}" if args.half else ""
    run_file = args.rescore or args.out / f"{name}-run.jsonl"
    if args.rescore is None:
        try:
            rows = load_benchmark(path)
            rows = subsample([r for r in rows if args.half in (None, half(r["id"]))], args.limit, args.seed)
        except ValueError as exc:  # includes malformed JSON
            raise OSError(f"{path} is not a benchmark file: {exc}") from None
        assistant = Assistant(index_path=args.index, model=args.model, fusion=args.fusion, precision=args.precision)
        _save_run(run_benchmark(assistant, rows), run_file)
    report = score_benchmark([r for r in read_run(run_file) if args.half in (None, half(r.id))])
    meta = {"benchmark": str(path), "run": str(run_file), "fusion": args.fusion, "model": args.model}
    report = meta | {"index": str(args.index or "built-in corpus"), "limit": args.limit, "seed": args.seed} | report
    groups = report["by_type"] | {"overall": report["overall"]}
    print(table(["type", *(h for h, _ in BENCHMARK_COLUMNS)], groups, BENCHMARK_COLUMNS))
    print(
        "failures (hit@1 missed or unanswerable answered): "
        + ", ".join(f"{k} {v}" for k, v in report["failures"].items())
    )
    labels = {t: f"{t}\n(n={g['answerable'] or g['questions']})" for t, g in groups.items()}
    metrics = ("hit@1", "hit@3")
    answerable = {labels[t]: g for t, g in groups.items() if t != "unanswerable"}
    _finish(args, name, report, answerable, metrics, f"{name}: answer hit@1 / hit@3 by question type")
    _reliability_chart(args, name, report["reliability"])
    return 0


def _open_book(args: argparse.Namespace) -> int:
    from evaluation.benchmark import half, subsample
    from evaluation.openbook import (
        METHODS,
        index_for,
        run_bigram_baseline,
        run_open_book,
        score_open_book,
        simplified,
        yes_no,
    )
    from evaluation.runs import read_run
    from index import Encoder
    from qa.assistant import cache_root

    split = _load_split(args.open_book)
    questions = [q for q in split.questions if args.half in (None, half(q.paragraph))]
    if args.own_paragraph:
        kept = [q for q in questions if not yes_no(q)]
        print(f"skipped {len(questions) - len(kept)} yes/no questions (no span to quote)", file=sys.stderr)
        questions = kept
    questions = subsample(questions, args.limit, args.seed)
    if args.simplified_questions:
        questions = simplified(questions)
    name = _open_book_name(args)
    run_file = args.rescore or args.out / f"{name}-run.jsonl"
    if args.rescore is None:
        encoder = Encoder(args.model, cache_root=cache_root(), precision=args.precision)
        index = index_for(args.open_book, split, encoder, rebuild=args.rebuild, sentence_vectors=args.sentence_vectors)
        if args.own_paragraph:  # one paragraph: retrieval methods and the baseline have nothing to rank
            rows = run_open_book(index, questions, encoder, methods=("convex",), own_paragraph=True)
        else:
            methods = tuple(args.methods or METHODS)
            rows = run_bigram_baseline(split, questions) + run_open_book(index, questions, encoder, methods)
        _save_run(rows, run_file)
    rows = [r for r in read_run(run_file) if args.half in (None, half(r.gold))]  # --rescore RUN --half
    report = score_open_book(rows, split)
    meta = {"split": str(args.open_book), "simplified_questions": args.simplified_questions, "run": str(run_file)}
    meta |= {"own_paragraph": args.own_paragraph, "half": args.half}
    meta |= {
        "paragraphs": len(split.paragraphs),
        "questions": len({r.id for r in rows}),
        "limit": args.limit,
        "seed": args.seed,
    }
    report = meta | {"model": args.model} | report
    columns = OPEN_BOOK_COLUMNS + (ABSTENTION if args.own_paragraph else ())
    print(table(["method", *(h for h, _ in columns)], report["methods"], columns))
    print(f"query encoding (once per question, shared by the methods): p50 {report['query_encode_p50_ms']} ms")
    _finish(args, name, report, report["methods"], ("recall@1", "recall@5", "hit@1"), f"{name}: by retrieval method")
    _reliability_chart(args, name, report["reliability"])
    return 0


def _load_split(path: Path):
    from evaluation.openbook import load_split

    try:
        return load_split(path)
    except (ValueError, KeyError, TypeError) as exc:
        raise OSError(f"{path} is not a SQuAD-form JSON file ({exc.__class__.__name__}: {exc})") from None


def _open_book_name(args: argparse.Namespace) -> str:
    """openbook-<folder>-<file>[-simplified][-n<limit>-s<seed>]: the folder tells dureader_robust/dev.json apart."""
    path = args.open_book.resolve()
    script = "-simplified" if args.simplified_questions else ""
    own = "-own" if args.own_paragraph else ""
    from evaluation.openbook import vectors_suffix

    vectors = vectors_suffix(args.sentence_vectors)
    part = f"-{args.half}" if args.half else ""
    return f"openbook-{path.parent.name}-{path.stem}{script}{own}{vectors}{_sample_suffix(args)}{part}"


def _sample_suffix(args: argparse.Namespace) -> str:
    return f"-n{args.limit}-s{args.seed}" if args.limit is not None else ""


def _save_run(rows: list, path: Path) -> None:
    from evaluation.runs import write_run

    write_run(rows, path)
    print(f"run: {path}", file=sys.stderr)


def _finish(
    args: argparse.Namespace, name: str, report: dict, groups: dict, metrics: tuple[str, ...], title: str
) -> None:
    """Write the JSON report and the chart(s), and say where they are."""
    args.out.mkdir(parents=True, exist_ok=True)
    report_file = args.out / f"{name}-report.json"
    report_file.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    charts = [args.out / f"{name}.png"] + ([args.chart] if args.chart else [])
    for path in charts:
        chart(groups, metrics, title, path)
    print(f"report: {report_file}; chart: {', '.join(map(str, charts))}")


def _reliability_chart(args: argparse.Namespace, name: str, bins: list[dict]) -> None:
    from evaluation.report import reliability_chart

    path = args.out / f"{name}-reliability.png"
    reliability_chart(name, bins, path)
    print(f"reliability diagram: {path}")
