"""fp32 against bf16 (and int8 questions) on this CPU: do the vectors agree, and how much faster is each pass?

    python -m bench.precision --out bench/precision.json          # ~4 minutes on an idle 2-core machine

Encodes the same passages (law articles and DRCD paragraphs, 400 each by default) in both precisions and
reports the mean and lowest cosine between the two vectors of each text (the quality rule: mean ≥ 0.999),
passage throughput at the build's batch size and threads, one question's encoding (p50 of 50, the
threads `qa ask` uses), and the reranker's pass over 8 candidate sentences. The CPU's model and flags are
printed beside every figure: bf16 is only fast where the CPU has avx512_bf16 or amx_bf16.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

from evaluation.openbook import load_split
from index.embed import Encoder, cache_root
from index.precision import cpu_description, resolve_precision
from index.segment import split_sentences

ROOT = Path(__file__).resolve().parents[1]

SHARED = ROOT.parent / "shared"
QUESTION = "天津农村特困人员分散供养每月多少钱?"


def texts(n: int, seed: int = 7) -> list[str]:
    """n law articles (sentences of random law files, grouped ~300 characters) and n DRCD paragraphs."""
    rng = random.Random(seed)
    laws = sorted((SHARED / "laws").rglob("*.md"))
    out: list[str] = []
    while len(out) < n:
        text = rng.choice(laws).read_text(encoding="utf-8")
        chunk = ""
        for s in split_sentences(text):
            chunk += s.clean
            if len(chunk) >= 300:
                out.append(chunk)
                chunk = ""
                break
    drcd = [p.text for p in load_split(SHARED / "eval" / "drcd" / "DRCD_dev.json").paragraphs]
    return out[:n] + rng.sample(drcd, n)


def p50(f, n: int = 50) -> float:
    f()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return round(statistics.median(times) * 1e3, 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400, help="law articles and DRCD paragraphs, each (default 400)")
    parser.add_argument("--questions", type=int, default=300, help="dev questions timed one by one (default 300)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    passages = texts(args.n)
    chars = sum(map(len, passages))
    result: dict = {"cpu": cpu_description(), "texts": len(passages), "chars": chars, "by_precision": {}}
    vectors = {}
    for name in ("fp32", "bf16", "auto"):  # auto: int8 passages where the CPU has VNNI
        encoder = Encoder(cache_root=cache_root(), precision=name)
        if name == "auto" and not encoder.precision.int8:
            continue
        t = time.perf_counter()
        vectors[name] = encoder.encode(passages, "passage")
        seconds = time.perf_counter() - t
        figures = {
            "passages_chars_per_s": round(chars / seconds),
            "question_ms": p50(lambda e=encoder: e.encode([QUESTION], "query")),
        }
        figures |= rerank_ms(encoder)
        result["by_precision"][name] = figures
        print(name, figures, file=sys.stderr)
    for name in vectors:
        cosine = (vectors["fp32"] * vectors[name]).sum(axis=1)
        result["by_precision"][name] |= {"cosine_mean": round(float(cosine.mean()), 6)}
        result["by_precision"][name] |= {"cosine_min": round(float(cosine.min()), 6)}
    result["auto"] = resolve_precision("auto").describe()
    result["questions"] = question_figures(args.questions)
    print(json.dumps(result, ensure_ascii=False, indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


def question_figures(n: int) -> dict:
    """One question at a time, as `qa ask` encodes it, in each precision a question's pass can run in (int8
    where the CPU has VNNI): p50 over `n` DuReader and DRCD dev questions (timed alternately, question by
    question), and the vectors' cosine to fp32."""
    eval_ = SHARED / "eval"
    questions = [q.question for q in load_split(eval_ / "dureader_robust" / "dev.json").questions][: n // 2]
    questions += [q.question for q in load_split(eval_ / "drcd" / "DRCD_dev.json").questions][: n - len(questions)]
    encoders = {"fp32": Encoder(cache_root=cache_root(), precision="fp32")}
    encoders["bf16"] = Encoder(cache_root=cache_root(), precision="bf16")
    if resolve_precision("auto").int8:
        encoders["int8"] = Encoder(cache_root=cache_root(), precision="auto")
    times: dict[str, list[float]] = {name: [] for name in encoders}
    vectors: dict[str, list] = {name: [] for name in encoders}
    for e in encoders.values():
        e.encode(questions[:3], "query")  # load and warm
    for q in questions:
        for name, e in encoders.items():
            t = time.perf_counter()
            vectors[name].append(e.encode([q], "query")[0])
            times[name].append(time.perf_counter() - t)
    out = {"questions": len(questions)}
    for name in encoders:
        cosine = [float(a @ b) for a, b in zip(vectors[name], vectors["fp32"], strict=True)]
        out[name] = {
            "p50_ms": round(statistics.median(times[name]) * 1e3, 2),
            "cosine_mean": round(statistics.mean(cosine), 6),
            "cosine_min": round(min(cosine), 6),
        }
        print("questions", name, out[name], file=sys.stderr)
    return out


def rerank_ms(encoder: Encoder) -> dict:
    """The reranker's one batched pass over 8 candidates of a question (when a reranker ships)."""
    from index.e5model import prepare_default_model
    from qa.rerank import RERANKER, CrossEncoder

    if not RERANKER.exists():
        return {}
    reranker = CrossEncoder.load(prepare_default_model(cache_root()), encoder.model.w, precision=encoder.precision)
    sentences = ["农村特困人员集中供养、分散供养标准分别提高至每人每月1870元、1530元,城乡低保标准提高。"] * 8
    return {"rerank_8_ms": p50(lambda: reranker.scores(QUESTION, sentences))}


if __name__ == "__main__":
    raise SystemExit(main())
