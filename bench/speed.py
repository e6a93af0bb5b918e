"""Speed benchmark: warm questions, a fresh install, later cold starts, and LangChain's stack side by side.

    python -m bench.speed --out bench/speed.json            # everything: a few minutes on an idle 2-core machine
    python -m bench.speed --quick --skip-fresh --out /tmp/s.json

Warm latency is timed per `Assistant.answer()` call on the questions of qa/data/benchmark.jsonl (follow-ups
with their history). The LangChain side is what most Chinese knowledge-base apps run: FAISS over the same
SentenceTransformer model plus a jieba BM25Retriever in an EnsembleRetriever (0.5/0.5), over 250-character
chunks (overlap 50) of the same five documents. Both are timed in the same loop, question by question,
so background load falls on both alike.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from tqdm import tqdm

from bench.peer import E5Embeddings, reranking, same_model, splitter
from qa.assistant import DEFAULT_CORPUS, Assistant

ROOT = Path(__file__).resolve().parents[1]

ASK = "天津农村特困人员分散供养每月多少钱?"
TARGETS = {"warm_p50_ms": 50, "warm_p95_ms": 100, "fresh_s": 90, "cold_s": 6}
PASSAGES = 5  # both stacks return five passages


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True, help="where to write the JSON results")
    p.add_argument("--quick", action="store_true", help="every 6th question (42) and one cold start: a fast check")
    p.add_argument("--skip-fresh", action="store_true", help="skip the fresh-install run (~1-2 min)")
    return p.parse_args()


def load_questions(quick: bool) -> list[tuple[str, list[str]]]:
    rows = [json.loads(line) for line in (ROOT / "qa" / "data" / "benchmark.jsonl").open(encoding="utf-8")]
    items = [(r["question"], r.get("history") or []) for r in rows]
    return items[::6] if quick else items


def summary(ms: list[float]) -> dict:
    a = np.asarray(ms)
    return {"n": len(ms), "p50_ms": float(np.percentile(a, 50)), "p95_ms": float(np.percentile(a, 95)),
            "mean_ms": float(a.mean()), "max_ms": float(a.max())}  # fmt: skip


def timed(fn, *args) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - t0) * 1e3


def build_langchain(model):
    """FAISS + jieba BM25 in an EnsembleRetriever, over the five default documents split the usual way."""
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    import jieba
    from langchain_classic.retrievers import EnsembleRetriever
    from langchain_community.retrievers import BM25Retriever
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document

    docs = [Document(p.read_text(encoding="utf-8"), metadata={"source": p.name})
            for p in sorted(DEFAULT_CORPUS.glob("*.txt"))]  # fmt: skip
    chunks = splitter().split_documents(docs)
    dense = FAISS.from_documents(chunks, E5Embeddings(model)).as_retriever(search_kwargs={"k": PASSAGES})
    sparse = BM25Retriever.from_documents(chunks, preprocess_func=jieba.lcut, k=PASSAGES)
    return EnsembleRetriever(retrievers=[dense, sparse], weights=[0.5, 0.5]), len(chunks)


def warm_latencies(assistant: Assistant, ensemble, items: list[tuple[str, list[str]]]) -> dict:
    """Time each question on the three stacks, alternating, after two warm-up calls on each."""
    reranked = reranking(ensemble)
    for q, h in items[:2]:
        assistant.answer(q, h)
        ensemble.invoke(q)
        reranked(q)
    ours, theirs, theirs_reranked = [], [], []
    parts: dict[str, list[float]] = {"encode_ms": [], "retrieve_ms": [], "read_ms": []}
    for q, h in tqdm(items, desc="warm questions", file=sys.stderr):
        t0 = time.perf_counter()
        answer = assistant.answer(q, h)
        ours.append((time.perf_counter() - t0) * 1e3)
        theirs.append(timed(ensemble.invoke, q))
        theirs_reranked.append(timed(reranked, q))
        for key in parts:
            parts[key].append(answer.timings.get(key, 0.0))
    breakdown = {k: {"p50": float(np.median(v)), "mean": float(np.mean(v))} for k, v in parts.items()}
    return {"ours": summary(ours), "langchain": summary(theirs), "langchain_reranked": summary(theirs_reranked),
            "ours_breakdown_ms": breakdown}  # fmt: skip


def qa_command() -> list[str]:
    script = Path(sys.executable).with_name("qa")
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


def run_ask(env: dict) -> float:
    """Wall seconds of one `qa ask` in a new process; fails loudly if the command fails."""
    t0 = time.perf_counter()
    done = subprocess.run([*qa_command(), "ask", ASK], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"qa ask failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds


def fresh_env(home: Path) -> dict:
    """An environment whose caches are empty: XDG_CACHE_HOME for ours, HOME for jieba's ~/.cache."""
    return os.environ | {"HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"), "HF_HUB_OFFLINE": "1"}


def start_ups(skip_fresh: bool, runs: int) -> dict:
    """The first question on a fresh install, then `runs` later cold starts with the cache warm."""
    home = Path(tempfile.mkdtemp(prefix="qa-speed-home-"))
    try:
        env = fresh_env(home) if not skip_fresh else dict(os.environ)
        fresh = None
        if not skip_fresh:
            print("fresh install: first `qa ask` (model conversion + index build) ...", file=sys.stderr)
            fresh = run_ask(env)
        else:
            run_ask(env)  # make sure the cache is warm; not timed
        cold = [run_ask(env) for _ in tqdm(range(runs), desc="cold starts", file=sys.stderr)]
        return {"fresh_s": fresh, "cold_s": cold, "cold_median_s": statistics.median(cold)}
    finally:
        shutil.rmtree(home, ignore_errors=True)


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def report(r: dict) -> None:
    w, lc, ratio, s = r["warm"]["ours"], r["warm"]["langchain"], r["ratio_ours_over_langchain"], r["start_ups"]
    fresh = f"{s['fresh_s']:.1f} s" if s["fresh_s"] is not None else "skipped"
    rows = [
        ("warm p50 (ours)", f"{w['p50_ms']:.1f} ms", f"≤ {TARGETS['warm_p50_ms']} ms", w["p50_ms"] <= 50),
        ("warm p95 (ours)", f"{w['p95_ms']:.1f} ms", f"≤ {TARGETS['warm_p95_ms']} ms", w["p95_ms"] <= 100),
        ("warm p50 (LangChain)", f"{lc['p50_ms']:.1f} ms", "", None),
        ("warm p95 (LangChain)", f"{lc['p95_ms']:.1f} ms", "", None),
        ("warm p50 (LangChain+rerank)", f"{r['warm']['langchain_reranked']['p50_ms']:.1f} ms", "", None),
        ("ratio ours/LangChain p50", f"{ratio['p50']:.3f}", "≤ 1", ratio["p50"] <= 1),
        ("ratio ours/LangChain p95", f"{ratio['p95']:.3f}", "≤ 1", ratio["p95"] <= 1),
        ("ratio ours/(LC+rerank) p50", f"{ratio['p50_reranked']:.3f}", "≤ 0.15", ratio["p50_reranked"] <= 0.15),
        ("fresh install, 1st question", fresh, "≤ 90 s", None if s["fresh_s"] is None else s["fresh_s"] <= 90),
        ("cold start (median)", f"{s['cold_median_s']:.2f} s", "≤ 6 s", s["cold_median_s"] <= 6),
    ]
    print(f"\n{'measure':30} {'value':>12} {'target':>10}  ok")
    for name, value, target, ok in rows:
        print(f"{name:30} {value:>12} {target:>10}  {'' if ok is None else ('yes' if ok else 'NO')}")
    b = r["warm"]["ours_breakdown_ms"]
    print("ours, median per stage: " + ", ".join(f"{k} {v['p50']:.1f} ms" for k, v in b.items()))
    print(f"load average before {r['machine']['load_before']}, after {r['machine']['load_after']}")
    print(
        f"CPU {r['machine']['cpu']['model']} ({', '.join(r['machine']['cpu']['flags'])}), {r['machine']['precision']}"
    )


def main() -> int:
    args = parse_args()
    command = shlex.join(sys.orig_argv)
    print(f"$ {command}")
    load_before = load()
    items = load_questions(args.quick)
    assistant = Assistant(progress=True)
    assistant.warm_up()  # before torch is imported here, so its threads wait as they do in `qa ask`
    import torch

    machine = {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "load_before": load_before}
    # LangChain loads models through sentence-transformers: the same model files, its usual engine
    ensemble, n_chunks = build_langchain(same_model("cpu"))
    warm = warm_latencies(assistant, ensemble, items)
    start = start_ups(args.skip_fresh, runs=1 if args.quick else 3)
    machine["load_after"] = load()
    ratio = {k: warm["ours"][f"{k}_ms"] / warm["langchain"][f"{k}_ms"] for k in ("p50", "p95")}
    ratio["p50_reranked"] = warm["ours"]["p50_ms"] / warm["langchain_reranked"]["p50_ms"]
    from index.precision import cpu_description, resolve_precision

    machine |= {"cpu": cpu_description(), "precision": resolve_precision("auto").name}
    results = {"command": command, "machine": machine, "questions": len(items), "langchain_chunks": n_chunks,
               "warm": warm, "ratio_ours_over_langchain": ratio, "start_ups": start, "targets": TARGETS}  # fmt: skip
    report(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
