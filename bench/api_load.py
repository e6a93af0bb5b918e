"""Many programs at once, while staff change the library: drive a running `qa serve --index …` over its HTTP API.

    MQ_ADMIN_TOKEN=… qa serve --index LIBRARY --port 7861 &
    MQ_ADMIN_TOKEN=… python -m bench.api_load --url http://127.0.0.1:7861/ --clients 50 --seconds 120

First one client alone asks for --alone seconds (the baseline), then --clients clients for --busy seconds with
no change to the library. Then --clients clients ask questions from the
laws and plans benchmarks in a loop for --seconds, while a staff thread keeps adding a notice through the API,
asking about it, and removing it. Reported: errors, answers quoting a removed notice in a request sent after
its removal committed (must be 0), the notice answered while it was in, throughput and p50/p95 latency against
the one client alone. Every request is bounded by --timeout; the run stops by itself (the staff thread's last
change finishes first: on a whole library a change takes minutes). Only loopback addresses.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlparse

import numpy as np
import requests

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
QUESTION_FILES = (ROOT / "qa/data/laws_benchmark.jsonl", ROOT / "qa/data/benchmark.jsonl")


def questions() -> list[str]:
    rows = [json.loads(line) for f in QUESTION_FILES for line in f.read_text(encoding="utf-8").splitlines() if line]
    return [r["question"] for r in rows if not r.get("history")]


class Run:
    """What the clients and the staff thread saw, shared under a lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.removed: dict[str, float] = {}  # notice source -> when its removal committed (perf_counter)
        self.stale: list[str] = []
        self.staff: list[dict] = []


def client(api: str, asked: list[str], until: float, run: Run, timeout: float, seed: int) -> None:
    rng, http = random.Random(seed), requests.Session()
    while time.perf_counter() < until:
        sent = time.perf_counter()
        try:
            response = http.post(f"{api}/ask", json={"question": rng.choice(asked)}, timeout=timeout)
            took = time.perf_counter() - sent
            if response.status_code != 200:
                raise RuntimeError(f"{response.status_code} {response.text[:200]}")
            sources = {q["source"] for q in response.json()["sentences"] + response.json()["passages"]}
        except Exception as exc:  # every failure is counted, none stops the run
            with run.lock:
                run.errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")
            continue
        with run.lock:
            run.latencies.append(took)
            run.stale += [s for s in sources if s in run.removed and run.removed[s] < sent]


def staff(api: str, token: str, until: float, run: Run, timeout: float) -> None:
    """Add a notice, ask about it, remove it; again until the run ends."""
    http, n = requests.Session(), 0
    auth = {"Authorization": f"Bearer {token}"}
    while time.perf_counter() < until:
        n += 1
        source, amount = f"load-test-notice-{n}.txt", 3000 + n
        text = f"负载测试市第{n}号通知\n负载测试市孤儿基本生活补贴标准为每人每月{amount}元。\n"
        record = {"notice": source}
        try:
            t0 = time.perf_counter()
            files = {"files": (source, text.encode("utf-8"), "text/plain")}
            added = http.post(f"{api}/documents", files=files, headers=auth, timeout=timeout)
            record["add_s"], record["add_status"] = round(time.perf_counter() - t0, 2), added.status_code
            asked = {"question": "负载测试市孤儿基本生活补贴每月多少钱?"}
            answer = http.post(f"{api}/ask", json=asked, timeout=timeout)
            record["answered_from_it"] = any(q["source"] == source for q in answer.json()["sentences"])
            t0 = time.perf_counter()
            removed = http.delete(f"{api}/documents/{quote(source)}", headers=auth, timeout=timeout)
            record["remove_s"], record["remove_status"] = round(time.perf_counter() - t0, 2), removed.status_code
            if removed.status_code == 200:
                with run.lock:
                    run.removed[source] = time.perf_counter()
        except Exception as exc:
            with run.lock:
                run.errors.append(f"staff {type(exc).__name__}: {str(exc)[:200]}")
        run.staff.append(record)


def phase(api: str, asked: list[str], clients: int, seconds: float, timeout: float, token: str | None) -> dict:
    run, until = Run(), time.perf_counter() + seconds
    threads = [threading.Thread(target=client, args=(api, asked, until, run, timeout, n)) for n in range(clients)]
    if token:
        threads.append(threading.Thread(target=staff, args=(api, token, until, run, timeout)))
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat = np.array(run.latencies) * 1e3 if run.latencies else np.zeros(1)
    return {
        "clients": clients, "seconds": round(wall, 1), "answers": len(run.latencies),
        "per_second": round(len(run.latencies) / wall, 2), "errors": len(run.errors), "error_examples": run.errors[:5],
        "p50_ms": round(float(np.percentile(lat, 50)), 1), "p95_ms": round(float(np.percentile(lat, 95)), 1),
        "stale_answers": len(run.stale), "staff": run.staff,
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:7861/")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--alone", type=float, default=30, help="seconds of the one-client baseline")
    parser.add_argument("--busy", type=float, default=60, help="seconds of --clients clients with no staff change")
    parser.add_argument("--timeout", type=float, default=900, help="seconds any one request may take")
    parser.add_argument("--out", type=Path, help="write the figures as JSON")
    args = parser.parse_args()
    if urlparse(args.url).hostname not in LOOPBACK:
        parser.error("only a server on this machine (127.0.0.1) may be loaded")
    token = os.environ.get("MQ_ADMIN_TOKEN")
    if not token:
        parser.error("set MQ_ADMIN_TOKEN to the server's admin token (the staff thread changes the library)")
    api, asked = args.url.rstrip("/") + "/api/v1", questions()
    library = requests.get(f"{api}/library", timeout=args.timeout).json()
    alone = phase(api, asked, 1, args.alone, args.timeout, None)
    print(f"alone: {alone['answers']} answers, {alone['per_second']}/s, p50 {alone['p50_ms']} p95 {alone['p95_ms']} ms")
    busy = phase(api, asked, args.clients, args.busy, args.timeout, None)
    print(f"{args.clients} clients, no change: {busy['answers']} answers, {busy['per_second']}/s, errors "
          f"{busy['errors']}, p50 {busy['p50_ms']} p95 {busy['p95_ms']} ms")  # fmt: skip
    loaded = phase(api, asked, args.clients, args.seconds, args.timeout, token)
    print(
        f"{args.clients} clients + staff: {loaded['answers']} answers, {loaded['per_second']}/s, errors "
        f"{loaded['errors']}, stale {loaded['stale_answers']}, p50 {loaded['p50_ms']} p95 {loaded['p95_ms']} ms"
    )
    for record in loaded["staff"]:
        print("  staff:", record)
    if args.out:
        report = {"documents": library["documents"], "alone": alone, "busy": busy, "loaded": loaded}
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 1 if loaded["errors"] or loaded["stale_answers"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
