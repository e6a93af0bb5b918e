"""The pinned figures (tests/pinned_figures.json): the sets cheap enough for the suite are run again with the real
model, and a change that costs more than a set's tolerance fails here instead of only moving a number in the docs.
Every quote of those runs is also checked against the document's text at its offsets."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from evaluation.benchmark import half, load_benchmark, run_benchmark, score_benchmark
from training.laws_questions import BENCHMARK as LAWS_BENCHMARK
from training.laws_questions import LAWS, benchmark_titles, title

ROOT = Path(__file__).resolve().parents[1]
PINNED = json.loads((Path(__file__).parent / "pinned_figures.json").read_text(encoding="utf-8"))["sets"]
LOWER_IS_BETTER = {"false_abstention"}


def within(name: str, overall: dict) -> list[str]:
    """The pinned figures of set `name` that `overall` misses by more than the set's tolerance."""
    entry = PINNED[name]
    missed = []
    for metric, expected in entry["measured"].items():
        got, tolerance = overall[metric], entry["tolerance"]
        worse = got > expected + tolerance if metric in LOWER_IS_BETTER else got < expected - tolerance
        if worse:
            missed.append(f"{metric} {got} against {expected} ± {tolerance}")
    return missed


def test_the_check_fails_a_drop_beyond_the_tolerance() -> None:
    entry = PINNED["benchmark"]
    good = dict(entry["measured"])
    assert within("benchmark", good) == []
    worse = good | {"hit@1": good["hit@1"] - entry["tolerance"] - 0.001, "false_abstention": entry["tolerance"] + 0.01}
    assert len(within("benchmark", worse)) == 2


def test_every_set_says_how_it_was_measured() -> None:
    for name, entry in PINNED.items():
        assert entry["command"] and entry["tolerance"] > 0 and isinstance(entry["checked"], bool), name
        assert entry["measured"], name


def run_test_half(assistant, path: Path) -> dict:
    """The test half of a benchmark file, asked of `assistant`; its quotes checked verbatim; the overall figures."""
    rows = [r for r in load_benchmark(path) if half(r["id"]) == "test"]
    rows = run_benchmark(assistant, rows, progress=False)
    texts = {d.source: d.text for d in assistant.index.documents}
    for row in rows:
        for q in row.sentences + row.passages:
            assert texts[q.source][q.start : q.end] == q.text
    overall = score_benchmark(rows)["overall"]
    assert overall["recall@1"] <= overall["recall@5"] and 0 < overall["latency_p50_ms"] <= overall["latency_p95_ms"]
    return overall


@pytest.mark.slow
def test_the_shipped_benchmark_keeps_its_figures(assistant) -> None:
    overall = run_test_half(assistant, ROOT / "qa" / "data" / "benchmark.jsonl")
    assert overall["questions"] == PINNED["benchmark"]["questions"]
    assert not within("benchmark", overall), overall


@pytest.mark.slow
def test_the_laws_benchmark_keeps_its_figures_on_its_titles() -> None:
    """The benchmark's own laws (every version of their titles: 73 files), built once per machine and code."""
    if not LAWS.is_dir():
        pytest.skip(f"{LAWS} is not here")
    from qa.assistant import Assistant

    name = "laws, the benchmark's titles only"
    overall = run_test_half(Assistant(laws_titles_index(), progress=False), LAWS_BENCHMARK)
    assert overall["questions"] == PINNED[name]["questions"]
    assert not within(name, overall), overall


def laws_titles_index() -> Path:
    """The index of the benchmark's titles, cached under the project's cache folder by what it holds."""
    from index import BuildReport, Encoder, Index, StoreError, build, cache_root, read_files

    titles = benchmark_titles()
    files = sorted(p.relative_to(LAWS).as_posix() for p in LAWS.rglob("*.md") if title(p.name) in titles)
    code = "".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "index").glob("*.py")))  # how it is built
    digest = hashlib.sha256("\n".join([*files, code]).encode()).hexdigest()[:12]
    encoder = Encoder(cache_root=cache_root())
    out = cache_root() / "pinned" / f"laws-titles-{digest}"
    try:
        Index(out, encoder)  # opens only when built by this code and model
        return out
    except StoreError:
        pass
    documents = read_files([(LAWS / f, f) for f in files], BuildReport())
    build(documents, out, encoder, progress=False)
    return out
