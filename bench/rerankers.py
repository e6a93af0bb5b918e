"""How long each reranker takes to read one question's candidates, on real questions: a shallow one against a deep one.

    python -m bench.rerankers qa/data/reranker.safetensors runs/reranker-12l.safetensors --out bench/rerankers.json

Takes the first `--questions` test-half questions of each set `training/reader.py` cached (runs/reader/), each
with `--k` of its candidate sentences (the ones the reader met, in cached order), and times one batched pass of each
reranker per question (after a warm-up), in the precision `auto` gives it on this CPU: int8 for a file with
measured ranges on a CPU with VNNI, else bf16 or fp32. Prints p50 / p95 ms per question beside the CPU.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bench.speed import summary
from index.e5model import prepare_default_model
from index.embed import Encoder, cache_root
from index.normalizer import normalize
from index.precision import cpu_description
from qa.rerank import CrossEncoder
from training.reader import CACHE
from training.reranker import _Rows, befores, collected_files


def questions(per_set: int, k: int, folder: Path = CACHE) -> list[tuple[str, list[str], list[str] | None]]:
    """(question, its first k candidate sentences, the sentence before each or None when the cache lacks them)
    for the first `per_set` test questions of each cached set."""
    out = []
    for path in collected_files(folder):
        with path.open("rb") as f:
            _, rows = _Rows(f).load()
        asked = [a for a in rows if a.half == "test" and len(a.texts) >= k][:per_set]
        for a in asked:
            previous = befores(a)
            out.append((a.question, [normalize(t) for t in a.texts[:k]], list(previous[:k]) if previous else None))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rerankers", type=Path, nargs="+")
    parser.add_argument("--questions", type=int, default=40, help="test questions per cached set (default 40)")
    parser.add_argument("--k", type=int, default=5, help="candidates per question (default 5, as the reader)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    asked = questions(args.questions, args.k)
    model_dir = prepare_default_model(cache_root())
    encoder = Encoder(cache_root=cache_root())
    report = {"cpu": cpu_description(), "questions": len(asked), "k": args.k}
    for path in args.rerankers:
        reranker = CrossEncoder.load(model_dir, encoder.model.w, path, encoder.precision)
        for q, sentences, previous in asked[:5]:
            reranker.scores(q, sentences, previous)
        times = []
        for q, sentences, previous in asked:
            t = time.perf_counter()
            reranker.scores(q, sentences, previous)
            times.append((time.perf_counter() - t) * 1000)
        figures = summary(times) | {"layers": reranker.config["layers"], "int8": reranker.int8 is not None}
        report[str(path)] = figures
        kind = "int8" if figures["int8"] else encoder.precision.name
        print(f"{path}: {figures['layers']} layers, {kind}, p50 {figures['p50_ms']:.1f} ms, "
              f"p95 {figures['p95_ms']:.1f} ms ({report['cpu']['model']})")  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
