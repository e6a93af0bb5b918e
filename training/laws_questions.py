"""Check the laws questions written for training (training/data/laws_questions*.json) before they are used.

    python -m training.laws_questions FILE [FILE ...]     # one line per problem; exit 1 when any

The files are SQuAD 2.0 in form, like the legal training data: each article of `data` names its law by `title`
(the file's path under ../shared/laws), each paragraph's `context` is a verbatim stretch of that law, and each
question's answer is a span of the context (`answer_start`) inside one sentence, or none (`is_impossible`: the
law's stretch is about the question's topic but does not answer it). Laws of the laws benchmark's titles are
never used: that benchmark's questions are what the training is measured on.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from index.segment import split_sentences
from training import ROOT

LAWS = ROOT.parent / "shared" / "laws"
BENCHMARK = ROOT / "qa" / "data" / "laws_benchmark.jsonl"


def title(source: str) -> str:
    return re.sub(r"\(\d{4}-\d{2}-\d{2}\)$", "", Path(source).stem)


def benchmark_titles() -> set[str]:
    rows = [json.loads(line) for line in BENCHMARK.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {title(r["source"]) for r in rows if r["source"]}


def problems(path: Path, laws: Path = LAWS) -> tuple[list[str], dict]:
    """What is wrong with a questions file, and its counts."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"{path}: not a SQuAD-form file ({exc.__class__.__name__}: {exc})"], {}
    found, seen = [], set()
    counts = {"laws": 0, "paragraphs": 0, "questions": 0, "unanswerable": 0}
    excluded = benchmark_titles()
    for article in data:
        source = article.get("title", "")
        law = laws / source
        if not law.is_file():
            found.append(f"{source!r}: no such law under {laws}")
            continue
        if title(source) in excluded:
            found.append(f"{source!r}: a laws-benchmark title; choose another law")
            continue
        text = law.read_text(encoding="utf-8")
        counts["laws"] += 1
        for p in article.get("paragraphs", []):
            context = p.get("context", "")
            counts["paragraphs"] += 1
            if not context or context not in text:
                found.append(f"{source}: a context is not a verbatim stretch of the law: {context[:30]!r}…")
                continue
            sentences = [(s.start, s.end) for s in split_sentences(context)]
            for q in p.get("qas", []):
                counts["questions"] += 1
                where = f"{source} {q.get('id')}"
                if q.get("id") in seen:
                    found.append(f"{where}: duplicate id")
                seen.add(q.get("id"))
                if not q.get("question", "").strip():
                    found.append(f"{where}: no question")
                answers = q.get("answers", [])
                if q.get("is_impossible"):
                    counts["unanswerable"] += 1
                    if answers:
                        found.append(f"{where}: unanswerable but has answers")
                    continue
                if not answers:
                    found.append(f"{where}: answerable but has no answer")
                for a in answers:
                    start, text_ = a.get("answer_start", -1), a.get("text", "")
                    if not text_ or context[start : start + len(text_)] != text_:
                        found.append(f"{where}: answer {text_!r} is not at answer_start {start} of the context")
                    elif not any(s <= start and start + len(text_) <= e for s, e in sentences):
                        found.append(f"{where}: answer {text_!r} crosses sentences; quote a span of one sentence")
    return found, counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--laws", type=Path, default=LAWS)
    args = parser.parse_args(argv)
    bad = 0
    for path in args.files:
        found, counts = problems(path, args.laws)
        for line in found:
            print(line)
        bad += len(found)
        print(f"{path}: {counts}; {len(found)} problems", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
