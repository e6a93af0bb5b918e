"""How cost grows with the library: real indexes end to end, then the retrieval core on synthetic passages.

    python -m bench.scale --index laws_index/ --out bench/scale.json --chart docs/scale.png
    python -m bench.scale --sizes 10000,100000 --out /tmp/scale.json          # synthetic part only, quick

Real indexes (the built-in five plans, and each --index): cold `qa ask` in a fresh process (wall time and
peak resident memory), warm per-question time over the shipped benchmark's questions, index size on disk,
and recall@10 of an HNSW index over the index's own passage vectors against exact search, for real
questions. Synthetic (clearly not documents): the last index's passage vectors resampled with noise, and a
Zipf-distributed term matrix, of the given sizes, searched the way the store searches (FAISS by
`faiss_factory`, BM25 as a sum over the query terms' columns), for latency, recall and memory at sizes the
machine has no library for.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import faiss
import numpy as np

from index import dense, sparse

ROOT = Path(__file__).resolve().parents[1]

ASK = "上海的业主委员会由几个人组成?"
DIM = 384
QUERIES = 50


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--index", type=Path, action="append", default=[], help="a library index to measure (repeat)")
    p.add_argument("--sizes", default="10000,100000,1000000", help="synthetic passage counts (comma-separated)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--chart", type=Path, help="PNG chart of latency and memory by size")
    p.add_argument(
        "--questions", type=Path, action="append", default=[],
        help="a SQuAD-form JSON file whose questions are added to the recall queries (real people's questions)",
    )  # fmt: skip
    p.add_argument("--question-limit", type=int, default=500, help="questions taken from each --questions file")
    return p.parse_args()


def asked(extra: list[Path] = (), limit: int = 500) -> list[str]:
    """Real questions: both shipped benchmarks', then up to `limit` from each SQuAD-form file in `extra`."""
    found = []
    for name in ("benchmark.jsonl", "laws_benchmark.jsonl"):
        found += [json.loads(line)["question"] for line in (ROOT / "qa" / "data" / name).open(encoding="utf-8")]
    for path in extra:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
        qs = [qa["question"] for doc in data for para in doc["paragraphs"] for qa in para["qas"]]
        found += qs[:limit]
    return found


def cold_ask(index: Path | None) -> dict:
    """One `qa ask` in a new process: wall seconds and peak resident memory (MB)."""
    cmd = [sys.executable, "-m", "app.cli", "ask", ASK] + (["--index", str(index)] if index else [])
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    if status:
        raise SystemExit(f"qa ask failed: {proc.stderr.read().decode()[-2000:]}")
    return {"cold_s": round(seconds, 2), "rss_mb": round(usage.ru_maxrss / 1024, 1)}


def warm_latency(index: Path | None) -> dict:
    """Per-question milliseconds over the benchmark's questions, in this process after one untimed question."""
    from qa.assistant import Assistant

    rows = [json.loads(line) for line in (ROOT / "qa" / "data" / "benchmark.jsonl").open(encoding="utf-8")]
    assistant = Assistant(index, progress=False)
    assistant.answer(rows[0]["question"])
    ms = []
    for row in rows:
        t0 = time.perf_counter()
        assistant.answer(row["question"], row.get("history") or [])
        ms.append((time.perf_counter() - t0) * 1e3)
    p50, p95 = np.percentile(ms, [50, 95])
    return {"warm_p50_ms": round(float(p50), 1), "warm_p95_ms": round(float(p95), 1)}


def real_vectors(
    index_path: Path | None, own_sentences: int = 0, questions: list[str] | None = None
) -> tuple[np.ndarray, np.ndarray, object]:
    """An index's passage vectors, query vectors (real questions, default both shipped benchmarks', then
    `own_sentences` of the index's own sentences asked as questions) and its FAISS index as stored."""
    from qa.assistant import Assistant

    assistant = Assistant(index_path, progress=False)
    index = assistant.index
    picked = np.random.default_rng(1).choice(len(index.sentences), own_sentences, replace=False)
    texts = (questions or asked()) + [index.sentence_norms[int(i)][:60] for i in picked]
    vectors = np.asarray(index.passage_vectors, dtype=np.float32)
    return vectors, assistant._encoder.encode(texts, "query"), index._dense


def real_recall(index_path: Path | None, questions: list[str]) -> dict:
    """recall@10 against exact search, over the index's own passage vectors: for real questions, and for 250
    of the index's own sentences asked as questions. An index stored as HNSW is searched as stored (its graph,
    the store's efSearch); an exact one is compared with HNSW built by the store's settings."""
    vectors, queries, stored = real_vectors(index_path, own_sentences=250, questions=questions)
    if not isinstance(stored, faiss.IndexHNSW):
        stored = build_faiss(vectors, dense.HNSW)
    real, own = queries[: len(questions)], queries[len(questions) :]
    return {
        "hnsw_recall_at_10": round(recall_at_10(vectors, real, stored), 4), "recall_questions": len(real),
        "hnsw_recall_at_10_own_sentences": round(recall_at_10(vectors, own, stored), 4),
    }  # fmt: skip


def recall_at_10(vectors: np.ndarray, queries: np.ndarray, index) -> float:
    """Share of the exact top 10 that the FAISS `index` returns in its top 10, at the store's efSearch."""
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    _, found = search(index, queries, 10)
    return float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, found)]))


def build_faiss(vectors: np.ndarray, factory: str):
    index = faiss.index_factory(vectors.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
    if factory != "Flat":
        index.hnsw.efConstruction = dense.EF_CONSTRUCTION
    index.add(vectors)
    return index


def search(index, queries: np.ndarray, k: int):
    params = faiss.SearchParametersHNSW(efSearch=dense.EF_SEARCH) if isinstance(index, faiss.IndexHNSW) else None
    return index.search(queries, k, params=params)


def cold_asks(paths: list[Path | None], rounds: int = 3) -> list[dict]:
    """Cold `qa ask` figures per index: the median of `rounds`, the indexes taken in turn so load falls alike.

    Run before this process loads anything: a child's peak memory counts what it inherits at fork.
    """
    runs = [[cold_ask(p) for p in paths] for _ in range(rounds)]
    return [
        {key: float(np.median([r[i][key] for r in runs])) for key in ("cold_s", "rss_mb")} for i in range(len(paths))
    ]


def real_index(path: Path | None, cold: dict, questions: list[str]) -> dict:
    """Every figure for one real index (None: the built-in five plans)."""
    from qa.assistant import default_index_path

    folder = path or default_index_path()
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    result = {"index": str(path or "built-in five plans"), "passages": manifest["passages"], "bytes": size}
    result |= cold | warm_latency(path) | real_recall(path, questions)
    print(json.dumps(result, ensure_ascii=False), file=sys.stderr)
    return result


def synthetic(n: int, seeds: np.ndarray, questions: np.ndarray, rng: np.random.Generator) -> dict:
    """The retrieval core at `n` synthetic passages: FAISS by the store's rule, and BM25 column sums.

    Synthetic vectors are real passage vectors (`seeds`) moved by noise to cosine ≈ 0.9 of their seed, so
    they cluster as real text does (uniform random vectors are a worst case no corpus looks like);
    the queries are real questions.
    """
    noise = unit(rng.standard_normal((n, DIM), dtype=np.float32))
    vectors = unit(seeds[rng.integers(0, len(seeds), n)] + 0.45 * noise)
    queries = questions[:QUERIES]
    factory = dense.faiss_factory(n)
    t0 = time.perf_counter()
    built = build_faiss(vectors, factory)
    build_s = time.perf_counter() - t0
    dense_ms = timed_ms(lambda q: search(built, q.reshape(1, -1), dense.EF_SEARCH), queries)
    exact = np.argsort(-(queries[:10] @ vectors.T), axis=1)[:, :10]
    found = search(built, queries[:10], 10)[1]
    recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, found)]))
    sparse_ms, sparse_bytes = sparse_cost(n, rng)
    dense_bytes = faiss.serialize_index(built).nbytes + n * DIM * 2  # FAISS file + float16 passage vectors
    result = {"passages": n, "faiss": factory, "faiss_build_s": round(build_s, 1), "dense_p50_ms": dense_ms,
              "recall_at_10": round(recall, 3), "sparse_p50_ms": sparse_ms,
              "dense_mb": round(dense_bytes / 1e6, 1), "sparse_mb": round(sparse_bytes / 1e6, 1)}  # fmt: skip
    print(json.dumps(result), file=sys.stderr)
    return result


def sparse_cost(n: int, rng: np.random.Generator, terms_per_passage: int = 60, vocab: int = 200_000):
    """Median ms of a 30-term BM25 query over a Zipf-distributed CSC matrix of `n` passages, and its bytes."""
    df = np.minimum((n * terms_per_passage / np.arange(1, vocab + 1) / 12).astype(np.int64) + 1, n)
    indptr = np.concatenate([[0], np.cumsum(df)])
    indices = np.concatenate([np.sort(rng.choice(n, d, replace=False)) for d in df]).astype(np.int32)
    data = rng.random(int(indptr[-1]), dtype=np.float32)

    csc = {"indptr": indptr, "indices": indices, "data": data}

    def query(term_ids: np.ndarray) -> np.ndarray:  # as the store does: candidates, then their exact scores
        top = sparse.bm25_top(csc, list(term_ids), 100, n)
        return sparse.bm25_scores(csc, list(term_ids), np.union1d(top, rng.integers(0, n, 100)))

    zipf_terms = np.minimum(rng.zipf(1.3, (QUERIES, 30)), vocab) - 1
    return timed_ms(query, zipf_terms), indptr.nbytes + indices.nbytes + data.nbytes


def timed_ms(fn, inputs) -> float:
    ms = []
    for x in inputs:
        t0 = time.perf_counter()
        fn(x)
        ms.append((time.perf_counter() - t0) * 1e3)
    return round(float(np.median(ms)), 2)


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def chart(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["synthetic"]
    n = [r["passages"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(n, [r["dense_p50_ms"] for r in rows], "o-", label="dense (FAISS) p50")
    left.plot(n, [r["sparse_p50_ms"] for r in rows], "s-", label="BM25 p50")
    for r in results["real"]:
        left.plot([r["passages"]], [r["warm_p50_ms"]], "k*", markersize=12)
        left.annotate(f"whole question: {r['index']}", (r["passages"], r["warm_p50_ms"]), fontsize=7)
    right.plot(n, [r["dense_mb"] for r in rows], "o-", label="dense: FAISS + fp16 vectors")
    right.plot(n, [r["sparse_mb"] for r in rows], "s-", label="BM25 matrix")
    for ax, label in ((left, "ms per question"), (right, "MB on disk")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("passages (synthetic; ★ real indexes)")
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle("Retrieval cost by library size (2-core CPU)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    args = parse_args()
    rng = np.random.default_rng(0)
    paths = [None, *args.index]
    questions = asked(args.questions, args.question_limit)
    results = {"real": [real_index(p, cold, questions) for p, cold in zip(paths, cold_asks(paths))]}
    seeds, questions, _ = real_vectors(paths[-1])
    results["synthetic"] = [synthetic(int(n), seeds, questions, rng) for n in args.sizes.split(",") if n]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    if args.chart:
        chart(results, args.chart)
    print(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
