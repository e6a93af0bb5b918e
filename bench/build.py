"""Build-speed benchmark: `qa index build` against LangChain's stack, on the same law files, in the same run.

    python -m bench.build --out bench/build.json                       # 60 law files (seeded sample), both sides
    python -m bench.build --all --out bench/build-all.json             # all 3,475 files (same as --laws 0)
    python -m bench.build --laws 3 --skip-peer --out /tmp/build.json   # a quick check of ours alone
    python -m bench.build --folder my_docs/ --ours-args='--device cpu' --out /tmp/build.json

The corpus is ../shared/laws (Chinese law Markdown files in nested folders): --laws N takes a seeded sample
(random.Random(0)) of the sorted paths and copies it into a temporary folder, keeping relative paths. Each side
runs in its own process and is timed wall-clock, start-up and model loading included, writing its index to disk:
ours is `python -m app.cli index build FOLDER --out OUT`; the peer is `python -m bench.peer build FOLDER OUT`,
what most Chinese knowledge-base apps run (250-character chunks, overlap 50, FAISS over the same
sentence-transformers model with e5 prompts, and a jieba BM25Retriever). The model is prepared and jieba's
dictionary cached before either is timed. Target: ours_s / peer_s ≤ 0.4.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.peer import RESULT_PREFIX

ROOT = Path(__file__).resolve().parents[1]

LAWS = ROOT.parent / "shared" / "laws"
TARGET_RATIO = 0.5  # on a CPU with bf16; ≤ 1.0 on one without (issue "every model pass at the speed of the CPU")
TAIL_CHARS = 3000


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, help="where to write the JSON results")
    p.add_argument("--laws", type=int, default=60, help="law files to sample from ../shared/laws (0: all; default 60)")
    p.add_argument("--all", action="store_true", help="every law file (same as --laws 0)")
    p.add_argument("--folder", type=Path, help="index the .md files of this folder instead of the laws")
    p.add_argument("--ours-args", default="", help="extra arguments for `qa index build`, e.g. --ours-args='--x y'")
    p.add_argument("--peer-device", default="cpu", help="torch device of the peer's model (default cpu, as ours)")
    p.add_argument("--skip-peer", action="store_true", help="time only `qa index build`")
    p.add_argument("--keep", action="store_true", help="keep the temporary corpus copy and both indexes")
    args = p.parse_args()
    if args.all:
        args.laws = 0
    return args


def sample_laws(n: int) -> list[Path]:
    """N law files, relative to LAWS: a seeded sample of the sorted paths, sorted again; all when n is 0."""
    if not LAWS.is_dir():
        raise SystemExit(f"no law corpus at {LAWS}; pass --folder")
    paths = sorted(p.relative_to(LAWS) for p in LAWS.rglob("*.md"))
    if n <= 0 or n >= len(paths):
        return paths
    return sorted(random.Random(0).sample(paths, n))


def copy_laws(paths: list[Path], dest: Path) -> Path:
    """Copy `paths` (relative to LAWS) under `dest`, keeping their folders; returns `dest`."""
    for rel in paths:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(LAWS / rel, dest / rel)
    return dest


def corpus_stats(folder: Path) -> dict:
    """Files and total characters (utf-8 text length) of the .md files under `folder`."""
    paths = list(folder.rglob("*.md"))
    return {"files": len(paths), "characters": sum(len(p.read_text(encoding="utf-8")) for p in paths)}


def warm_caches() -> None:
    """Convert the model and cache jieba's dictionary now, so neither timed side pays for a first run."""
    import jieba

    from index.e5model import prepare_default_model
    from qa.assistant import cache_root

    print(f"model ready at {prepare_default_model(cache_root())}", file=sys.stderr)
    jieba.setLogLevel(60)
    jieba.initialize()


def run_streamed(cmd: list[str]) -> dict:
    """Run `cmd` from the repo root, echoing its output (progress bars too) to stderr as it comes."""
    print(f"$ {shlex.join(cmd)}", file=sys.stderr)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = bytearray()
    while chunk := proc.stdout.read1(65536):
        sys.stderr.buffer.write(chunk)
        sys.stderr.flush()
        output += chunk
    status = proc.wait()
    return {"seconds": time.perf_counter() - t0, "status": status, "output": output.decode("utf-8", "replace")}


def side_result(run: dict, characters: int, out: Path) -> dict:
    """Seconds, characters/s and index size of one side; the status and output tail when it failed."""
    result = {"seconds": run["seconds"], "exit_status": run["status"], "index_bytes": dir_bytes(out)}
    if run["status"] == 0:
        result["chars_per_s"] = characters / run["seconds"]
    else:
        result["output_tail"] = run["output"][-TAIL_CHARS:]
        tail = result["output_tail"]
        print(f"\n{out.name} build FAILED (exit {run['status']}); last output:\n{tail}", file=sys.stderr)
    return result


def dir_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0


def index_info(out: Path) -> dict | str | None:
    """`qa index info OUT --json` when that subcommand exists (parsed JSON, else its text); None otherwise."""
    cmd = [sys.executable, "-m", "app.cli", "index", "info", str(out), "--json"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"(`qa index info` not available: exit {done.returncode})", file=sys.stderr)
        return None
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        return done.stdout


def time_ours(folder: Path, out: Path, extra: list[str], characters: int) -> dict:
    cmd = [sys.executable, "-m", "app.cli", "index", "build", str(folder), "--out", str(out), *extra]
    run = run_streamed(cmd)
    result = side_result(run, characters, out)
    if result["exit_status"] == 0:
        found = re.search(r"indexed (\d+) document", run["output"])
        result["documents"] = int(found.group(1)) if found else None
        result["info"] = index_info(out)
        result["sentence_vectors"] = sentence_agreement(out)
    return result


def sentence_agreement(out: Path, n: int = 300) -> dict:
    """How the index's sentence vectors (pooled from the passage's forward pass) compare with each sentence
    encoded on its own by the same model: cosine mean and 5th percentile over a seeded sample."""
    import numpy as np

    from index.embed import Encoder
    from index.store import Index
    from qa.assistant import cache_root

    encoder = Encoder(cache_root=cache_root())
    index = Index(out, encoder)
    picked = sorted(random.Random(0).sample(range(len(index.sentences)), min(n, len(index.sentences))))
    alone = encoder.encode([index.sentence_norms[i] for i in picked], "passage")
    cosine = (np.asarray(index.sentence_vectors[picked], dtype=np.float32) * alone).sum(axis=1)
    summary = {"sentences": len(picked), "cosine_mean": round(float(cosine.mean()), 4),
               "cosine_p5": round(float(np.percentile(cosine, 5)), 4)}  # fmt: skip
    print(f"sentence vectors vs each sentence encoded alone: {summary}", file=sys.stderr)
    return summary


def time_peer(folder: Path, out: Path, device: str, characters: int) -> dict:
    cmd = [sys.executable, str(ROOT / "bench" / "peer.py"), "build", str(folder), str(out), "--device", device]
    run = run_streamed(cmd)
    result = side_result(run, characters, out)
    lines = [line for line in run["output"].splitlines() if line.startswith(RESULT_PREFIX)]
    if lines:
        result.update(json.loads(lines[-1].removeprefix(RESULT_PREFIX)))
    return result


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def ratio_of(ours: dict, peer: dict | None) -> float | None:
    if peer is None or ours["exit_status"] != 0 or peer["exit_status"] != 0:
        return None
    return ours["seconds"] / peer["seconds"]


def side_row(name: str, r: dict) -> str:
    if r["exit_status"] != 0:
        return f"{name:12} {'FAILED (exit ' + str(r['exit_status']) + ')':>24}"
    docs, chunks = r.get("documents") or "", r.get("chunks", "")
    return (
        f"{name:12} {r['seconds']:9.2f} {r['chars_per_s']:14,.0f} {docs:>9} {chunks:>8} {r['index_bytes'] / 1e6:9.2f}"
    )


def report(r: dict) -> None:
    c = r["corpus"]
    print(f"\nindex build, {c['files']} files, {c['characters']:,} characters ({r['corpus']['source']})")
    print(f"{'side':12} {'seconds':>9} {'characters/s':>14} {'documents':>9} {'chunks':>8} {'index MB':>9}")
    print(side_row("ours (qa)", r["ours"]))
    if r["peer"] is not None:
        print(side_row("LangChain", r["peer"]))
    if r["ratio"] is not None:
        verdict = "PASS" if r["ratio"] <= TARGET_RATIO else "FAIL"
        print(f"ratio ours/LangChain {r['ratio']:.3f}   target ≤ {TARGET_RATIO}   {verdict}")
    if "sentence_vectors" in r["ours"]:
        print(f"our sentence vectors against each sentence encoded alone: {r['ours']['sentence_vectors']}")
    print(f"load average before {r['machine']['load_before']}, after {r['machine']['load_after']}")
    cpu_ = r["machine"].get("cpu") or {}
    print(f"CPU {cpu_.get('model')} ({', '.join(cpu_.get('flags', []))}); ours in {r['machine'].get('precision')}")


def measure(args: argparse.Namespace, work: Path) -> dict:
    """Prepare the corpus, warm the caches, then time ours and the peer one after the other."""
    if args.folder is not None:
        folder, source = args.folder.resolve(), str(args.folder)
    else:
        paths = sample_laws(args.laws)
        folder, source = copy_laws(paths, work / "laws"), f"{LAWS}, sample of {len(paths)} (seed 0)"
    corpus = corpus_stats(folder) | {"source": source, "folder": str(folder)}
    warm_caches()
    from index.precision import cpu_description, resolve_precision

    machine = {
        "cpus": os.cpu_count(),
        "load_before": load(),
        "cpu": cpu_description(),
        "precision": resolve_precision().describe(),
    }
    ours = time_ours(folder, work / "ours", shlex.split(args.ours_args), corpus["characters"])
    peer = None if args.skip_peer else time_peer(folder, work / "peer", args.peer_device, corpus["characters"])
    machine["load_after"] = load()
    ratio = ratio_of(ours, peer)
    verdict = None if ratio is None else ratio <= TARGET_RATIO
    return {"corpus": corpus, "machine": machine, "ours": ours, "peer": peer, "ratio": ratio,
            "target_ratio": TARGET_RATIO, "pass": verdict}  # fmt: skip


def main() -> int:
    args = parse_args()
    command = shlex.join(sys.orig_argv)
    print(f"$ {command}")
    work = Path(tempfile.mkdtemp(prefix="qa-build-bench-"))
    try:
        results = {"command": command} | measure(args, work)
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    report(results)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    failed = results["ours"]["exit_status"] != 0 or (results["peer"] or {}).get("exit_status", 0) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
