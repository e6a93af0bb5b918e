"""Warm time per question over the whole library against the five plans, in one run, question by question.

    python -m bench.latency --index library/ --out bench/latency.json      # a library index built with the model
    python -m bench.latency --hashed-library runs/hashed-library --out bench/latency-hashed.json

Each of the shipped benchmark's 250 questions (follow-ups with their history) is asked of every index in turn,
and of the LangChain stack of bench/speed.py over the five plans (FAISS + jieba BM25 over 250-character chunks,
the same model through sentence-transformers), so background load falls on all alike; the first pass warms
caches and is not counted, the second is timed.

Building the whole library with the model takes hours on two cores. `--hashed-library DIR` builds it (once, into
DIR, about 7 minutes: ../shared/laws and the five plans, two folders) with a hashing encoder in the model's place:
384-dimensional character-bigram vectors, so FAISS HNSW, BM25, SQLite and the reader work over the library's real
177k passages and 448k sentences. Then each question is also encoded by the real model in the same loop, and the
report adds that measured time to the hashed indexes' time: the library's cost as a user meets it, less only
the difference the real vectors would make to which passages the reader reads (what the real library's run in
the README measured).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from bench.peer import same_model
from bench.speed import build_langchain, load_questions, summary
from bench.update import LAWS, PLANS, HashEncoder
from index.builder import BuildReport, build, folder_files, read_files
from index.embed import Encoder, cache_root
from qa.assistant import Assistant

ROOT = Path(__file__).resolve().parents[1]

STAGES = ("encode_ms", "retrieve_ms", "read_ms")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--index", type=Path, help="a library index built with the default model")
    p.add_argument("--hashed-library", type=Path, help="the library built (if missing) with hashed vectors here")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    if (args.index is None) == (args.hashed_library is None):
        p.error("give one of --index or --hashed-library")
    return args


def hashed_indexes(folder: Path) -> dict[str, Path]:
    """The whole library and the five plans, each built with the hashing encoder (once)."""
    paths = {"library": folder / "library", "five plans": folder / "plans"}
    for name, folders in (("library", [LAWS, PLANS]), ("five plans", [PLANS])):
        if not (paths[name] / "manifest.json").exists():
            report = BuildReport()
            t0 = time.perf_counter()
            documents = read_files(folder_files(folders), report, progress=True)
            build(documents, paths[name], HashEncoder(), True, folders=folders, report=report)
            print(f"built {name} with hashed vectors in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return paths


def timed_passes(assistants: dict[str, Assistant], items: list, peer, model=None) -> dict:
    """Per index, the whole answer's time and each stage's, over the second of two passes; the LangChain
    peer's retrieval over the five plans in the same loop."""
    times = {name: {"answer": [], **{s: [] for s in STAGES}} for name in assistants}
    model_ms, peer_ms = [], []
    for timed in (False, True):
        for question, history in items:
            t0 = time.perf_counter()
            peer.invoke(question)
            if timed:
                peer_ms.append((time.perf_counter() - t0) * 1e3)
            if model is not None:
                t0 = time.perf_counter()
                model.encode([question], "query")
                if timed:
                    model_ms.append((time.perf_counter() - t0) * 1e3)
            for name, assistant in assistants.items():
                t0 = time.perf_counter()
                answer = assistant.answer(question, history)
                if timed:
                    times[name]["answer"].append((time.perf_counter() - t0) * 1e3)
                    for s in STAGES:
                        times[name][s].append(answer.timings[s])
    out = {name: {k: summary(v) for k, v in t.items()} for name, t in times.items()}
    out["langchain five plans"] = summary(peer_ms)
    if model is not None:  # the real model's question encoding, measured in the same loop, added per question
        for name, t in times.items():
            out[name]["answer_with_model"] = summary([a + m for a, m in zip(t["answer"], model_ms)])
        out["model_encode"] = summary(model_ms)
    return out


def main() -> int:
    args = parse_args()
    items = load_questions(quick=False)
    model = None
    if args.hashed_library:
        paths = hashed_indexes(args.hashed_library)
        assistants = {name: Assistant(path, encoder=HashEncoder(), progress=False) for name, path in paths.items()}
        model = Encoder(cache_root=cache_root())
        model.encode(["预热"], "query")
    else:
        encoder = Encoder(cache_root=cache_root())  # one model for both indexes
        assistants = {
            "library": Assistant(args.index, progress=False, encoder=encoder),
            "five plans": Assistant(progress=False, encoder=encoder),
        }
    for assistant in assistants.values():
        assistant.warm_up()
    result = {"command": shlex.join(sys.orig_argv), "questions": len(items)}
    peer = build_langchain(same_model("cpu"))[0]
    result |= timed_passes(assistants, items, peer, model)
    key = "answer_with_model" if model is not None else "answer"
    library = result["library"][key]["p50_ms"]
    result["library_over_five_plans_p50"] = round(library / result["five plans"][key]["p50_ms"], 3)
    result["library_over_langchain_five_plans_p50"] = round(library / result["langchain five plans"]["p50_ms"], 3)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
