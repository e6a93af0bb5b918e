"""Keeping a library current: add one law, replace it, remove it, re-scan the folders — against the full build.

    python -m bench.update --out bench/update-model.json --laws 60          # the real model, a 60-law sample
    python -m bench.update --out bench/update-library.json --laws 0 --vectors hash   # every law (see below)

The library is ../shared/laws (a seeded sample of --laws files, or all) plus the five plans, in two folders as a
user builds it, less one law held out (seeded) to be added. Timed in this process, wall clock: the full build,
then `add` of the held-out law, `add` of an amended version of it (a replace), `remove` of it, and `update` of
the folders with nothing changed (a scan). `--vectors hash` replaces the model with a hashing encoder (character
bigrams into 384 dimensions): everything else is the real build and update (reading, segmenting, the store's
SQLite, FAISS HNSW and BM25 rewrite, the commit), so it times the update mechanics at whole-library size in
minutes; the real model's share of adding a law is its passages' embedding, timed on the sample runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from index import update
from index.builder import BuildReport, build, folder_files, read_files
from index.info import describe
from index.normalizer import normalize

ROOT = Path(__file__).resolve().parents[1]

LAWS = ROOT.parent / "shared" / "laws"
PLANS = ROOT / "qa" / "data" / "corpus"


class HashEncoder:
    """Character bigrams hashed into 384 dimensions: the model's shape without its cost (mechanics only)."""

    name = "hash-bigram-384"
    dim = 384

    def encode(self, texts: list[str], kind: str, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            text = normalize(text)
            for a, b in zip(text, text[1:]):
                out[row, int.from_bytes(hashlib.blake2b((a + b).encode(), digest_size=4).digest()) % self.dim] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def laws_folder(n: int, dest: Path) -> tuple[Path, Path]:
    """A folder of N laws (links to ../shared/laws, seeded sample; all when 0) less one, and that one."""
    paths = sorted(p.relative_to(LAWS) for p in LAWS.rglob("*.md"))
    if 0 < n < len(paths):
        paths = sorted(random.Random(0).sample(paths, n))
    held = random.Random(1).choice(paths)
    for rel in paths:
        if rel != held:
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            (dest / rel).symlink_to(LAWS / rel)
    return dest, LAWS / held


OPEN = """
import json, sys, time
t0 = time.perf_counter()
from bench.update import HashEncoder
from index.store import Index
from qa.question import parse
from qa.retrieve import Retriever
imported = time.perf_counter()
index = Index({path!r}, HashEncoder())
retriever = Retriever(index)
opened = time.perf_counter()
times = []
for q in {questions!r}:
    question = parse(q)
    t = time.perf_counter()
    retriever.retrieve(question, HashEncoder().encode([question.norm], "query")[0], 10)
    times.append((time.perf_counter() - t) * 1e3)
print(json.dumps({{"import_s": round(imported - t0, 2), "open_s": round(opened - imported, 3),
    "retrieve_ms_median": round(sorted(times)[len(times) // 2], 1),
    # VmHWM, not ru_maxrss: that one keeps the forking parent's peak across exec
    "peak_rss_mb": round(int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024)}}))
"""
QUESTIONS = ["上海的业主委员会由几个人组成?", "机动车排气污染由哪个部门监督管理?", "天津农村特困人员每月能领多少钱?",
             "违反规定的罚款是多少?", "物业服务企业应当履行哪些义务?"]  # fmt: skip


def open_cost(path: Path) -> dict:
    """Opening an index in a new process and retrieving for a few questions: time and peak memory."""
    script = OPEN.format(path=str(path), questions=QUESTIONS)  # run from the root, where `bench` is importable
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(run.stdout)


def timed(label: str, results: dict, call):
    t0 = time.perf_counter()
    value = call()
    results[label] = round(time.perf_counter() - t0, 2)
    print(f"{label}: {results[label]} s", file=sys.stderr, flush=True)
    return value


def measure(args, work: Path) -> dict:
    if args.vectors == "hash":
        encoder = HashEncoder()
    else:
        from index.embed import Encoder, cache_root

        encoder = Encoder(cache_root=cache_root())
        encoder.encode(["预热"], "query")  # the model loads before anything is timed
    folder, held = laws_folder(args.laws, work / "laws")
    folders = [folder, PLANS]
    out = work / "index"
    seconds: dict[str, float] = {}
    report = BuildReport()
    documents = timed("read_s", seconds, lambda: read_files(folder_files(folders), report, progress=True))
    timed("full_build_s", seconds, lambda: build(documents, out, encoder, True, folders=folders, report=report))
    before = describe(out)
    opening = {}
    if args.vectors == "hash":  # opening the library and the five plans alone, in new processes (bench/scale.py
        # measures cold `qa ask` with the model)
        build(read_files(folder_files([PLANS]), BuildReport()), work / "plans", encoder, False, folders=[PLANS])
        opening = {"library": open_cost(out), "five_plans": open_cost(work / "plans")}
        print(f"opening: {opening}", file=sys.stderr, flush=True)
    amended = work / held.name
    amendment = "\n附则：本规定的修订条款自发布之日起施行。\n"
    amended.write_text(held.read_text(encoding="utf-8") + amendment, encoding="utf-8")
    source = held.name
    add = lambda: update.add(out, [(held, source)], encoder, progress=False)  # noqa: E731
    if args.profile:
        import cProfile

        with cProfile.Profile() as profile:
            added = timed("add_one_s", seconds, add)
        profile.dump_stats(args.profile)
        return {"seconds": seconds}
    else:
        added = timed("add_one_s", seconds, add)
    after = describe(out)
    timed("replace_one_s", seconds, lambda: update.add(out, [(amended, source)], encoder, progress=False))
    timed("remove_one_s", seconds, lambda: update.remove(out, [source], encoder, progress=False))
    scan = timed("update_nothing_changed_s", seconds, lambda: update.update(out, encoder, progress=False))
    held_text = held.read_text(encoding="utf-8")
    return {
        "vectors": args.vectors,
        "model": encoder.name,
        "library": {k: before[k] for k in ("documents", "passages", "sentences", "bytes")}
        | {"characters": sum(f["chars"] for f in before["files"])},
        "held_out_law": {
            "source": str(held.relative_to(LAWS)),
            "characters": len(held_text),
            "passages": after["passages"] - before["passages"],
        },  # fmt: skip
        "build_timings": {k: round(v, 2) for k, v in report.timings.items()},
        "opening": opening,
        "seconds": seconds,
        "add_share_of_full_build": round(seconds["add_one_s"] / (seconds["read_s"] + seconds["full_build_s"]), 4),
        "added": added.added,
        "scan_changed": scan.changed,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--laws", type=int, default=60, help="laws in the library (0: all 3,475)")
    p.add_argument("--vectors", choices=("model", "hash"), default="model")
    p.add_argument("--profile", type=Path, help="write a cProfile of adding the held-out law to this file")
    p.add_argument("--keep", type=Path, help="move the library index here at the end")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="qa-update-bench-"))
    try:
        result = {"command": shlex.join(sys.orig_argv)} | measure(args, work)
        if args.keep:
            shutil.move(work / "index", args.keep)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
