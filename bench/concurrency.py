"""Many people at once: drive a running chat (`qa serve`) with concurrent sessions through its Gradio API.

    qa serve --port 7860 &
    python -m bench.concurrency --url http://127.0.0.1:7860/ --sessions 20

Each session is its own gradio_client Client (its own session state) and holds a two-turn conversation on
the chat's stateful endpoint: a question about one city, then "那X呢?" about the other. Half the sessions
start in 天津, half in 上海, all at the same moment, so a follow-up cites the right city only if every
session kept its own history. Each session also asks the stateless `ask` API once. Reports errors, wrong
answers and latency; every call is bounded by --timeout. Only loopback addresses are accepted.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

from gradio_client import Client

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# (first question, follow-up, the file the follow-up must cite)
CONVERSATIONS = [
    ("天津家庭医生签约了多少居民?", "那上海呢?", "002_003fb1dd989b6225.txt"),
    ("上海家庭医生签约了多少居民?", "那天津呢?", "000_e4fbf0abc2f6e178.txt"),
]


def session(url: str, n: int, start: threading.Barrier, timeout: float) -> dict:
    """One person's visit: connect, wait for everyone, then ask, follow up, and call the API."""
    first, follow_up, expected = CONVERSATIONS[n % len(CONVERSATIONS)]
    result = {"session": n, "latencies": [], "errors": [], "wrong": []}
    try:
        client = Client(url, verbose=False, analytics_enabled=False, download_files=False)
        start.wait(timeout)
        result["began"] = time.perf_counter()
        for question in (first, follow_up):
            messages = _timed(result, timeout, client, question, "", "", "original", api_name="/chat")[0]
        if expected not in json.dumps(messages[-1], ensure_ascii=False):  # the citation names the file
            result["wrong"].append(f"chat follow-up {follow_up!r} after {first!r} did not cite {expected}")
        api = _timed(result, timeout, client, follow_up, json.dumps([first]), None, None, api_name="/ask")
        if not api["sentences"] or api["sentences"][0]["source"] != expected:
            result["wrong"].append(f"api follow-up {follow_up!r} did not cite {expected}")
    except Exception as exc:  # a benchmark reports every failure instead of stopping at the first
        result["errors"].append(f"{type(exc).__name__}: {exc}")
        start.abort()  # a session that could not connect must not leave the others waiting for it
    result["ended"] = time.perf_counter()
    return result


def _timed(result: dict, timeout: float, client: Client, *args, api_name: str):
    t0 = time.perf_counter()
    out = client.submit(*args, api_name=api_name).result(timeout=timeout)
    result["latencies"].append(time.perf_counter() - t0)
    return out


def _percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of sorted values (0 when there are none)."""
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def summary(results: list[dict]) -> dict:
    """The figures the README quotes: sessions, requests, errors, wrong answers, latency, and wall time
    from the moment all sessions were connected until the last one finished."""
    wall = max(r["ended"] for r in results) - min(r.get("began", r["ended"]) for r in results)
    latencies = sorted(t for r in results for t in r["latencies"])
    return {
        "sessions": len(results),
        "requests": len(latencies),
        "errors": sum(len(r["errors"]) for r in results),
        "wrong_answers": sum(len(r["wrong"]) for r in results),
        "latency_s": {p: round(_percentile(latencies, f), 2) for p, f in (("p50", 0.5), ("p95", 0.95), ("max", 1.0))},
        "wall_s": round(wall, 2),
        "requests_per_s": round(len(latencies) / wall, 2) if wall else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:7860/", help="the running chat (loopback only)")
    parser.add_argument("--sessions", type=int, default=20, help="concurrent sessions (default 20)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds allowed for any one call")
    args = parser.parse_args(argv)
    if urlparse(args.url).hostname not in LOOPBACK:
        parser.error(f"--url must be on this machine ({', '.join(sorted(LOOPBACK))}), not {args.url}")
    if args.sessions < 1:
        parser.error("--sessions must be at least 1")
    start = threading.Barrier(args.sessions)
    with ThreadPoolExecutor(args.sessions) as pool:
        futures = [pool.submit(session, args.url, n, start, args.timeout) for n in range(args.sessions)]
        results = [f.result() for f in futures]
    report = summary(results)
    for r in results:
        for problem in r["errors"] + r["wrong"]:
            print(f"session {r['session']}: {problem}", file=sys.stderr)
    print(json.dumps(report, ensure_ascii=False))
    return 0 if report["errors"] == 0 and report["wrong_answers"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
