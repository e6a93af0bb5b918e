"""The evaluation harness: metrics on hand-made runs, re-scoring saved runs, the open-book protocol."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from evaluation import openbook
from evaluation.benchmark import (
    answer_rank,
    at_k,
    failure,
    half,
    mrr,
    passage_rank,
    percentile,
    reliability,
    score_benchmark,
    score_group,
    subsample,
)
from evaluation.openbook import (
    BASELINE,
    MemoEncoder,
    OpenQuestion,
    load_split,
    loose_hit,
    paragraph_rank,
    run_bigram_baseline,
    run_open_book,
    score_method,
    score_open_book,
    simplified,
)
from evaluation.runs import RunRow, read_run, write_run
from index.builder import build

SHARED_EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"


def _quote(source: str, text: str, start: int = 0, end: int = 0) -> dict:
    return {"source": source, "start": start, "end": end, "text": text}


def _line(rid: str, qtype: str, answered: bool, ms: float, **fields) -> dict:
    """A benchmark run file's line."""
    row = {"id": rid, "type": qtype, "question": "上海的补贴是多少?", "history": [], "source": None, "answer": None}
    row |= {"gold_span": None, "resolved": "上海的补贴是多少?", "answered": answered, "sentences": [], "passages": []}
    return row | {"ms": ms} | fields


def _row(rid: str, qtype: str, answered: bool, ms: float, **fields) -> RunRow:
    return RunRow.from_json(_line(rid, qtype, answered, ms, **fields))


def _hand_made_run() -> list[RunRow]:
    """Five rows with known ranks: see test_score_group_exact for the figures they give."""
    gold = {"source": "d.txt", "answer": "五百元", "gold_span": [10, 13]}
    return [
        _row(
            "r1",
            "amount",
            True,
            10,
            **gold,
            passages=[_quote("d.txt", "x", 0, 9), _quote("d.txt", "y", 5, 20)],
            sentences=[_quote("d.txt", "每月五百元。")],
        ),
        _row(
            "r2",
            "amount",
            True,
            20,
            source="d.txt",
            answer="三千元",
            gold_span=[30, 33],
            passages=[_quote("d.txt", "z", 25, 40)],
            sentences=[_quote("other.txt", "三千元"), _quote("d.txt", "補助三千元。")],
        ),
        _row("r3", "unanswerable", False, 30),
        _row("r4", "date", False, 40, source="d.txt", answer="九月", gold_span=[50, 52]),
        _row("r5", "unanswerable", True, 50, sentences=[_quote("d.txt", "无关。")]),
    ]


# ---- metric functions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ranks", "k", "want"),
    [([1, 2, None], 1, 0.3333), ([1, 2, None], 5, 0.6667), ([3, 6], 5, 0.5), ([], 1, None)],
)
def test_at_k(ranks, k, want) -> None:
    assert at_k(ranks, k) == want


def test_mrr_counts_ranks_beyond_k_as_misses() -> None:
    assert mrr([1, 2, 11, None], k=10) == 0.375
    assert mrr([]) is None


def test_percentile() -> None:
    assert percentile([10, 20, 30, 40, 50], 50) == 30.0
    assert percentile([10, 20, 30, 40, 50], 95) == 48.0
    assert percentile([], 50) is None


def test_ranks_need_gold_source_and_position() -> None:
    r1, r2 = _hand_made_run()[:2]
    assert passage_rank(r1) == 2  # the first passage ends before the answer starts
    assert answer_rank(r1) == 1
    assert answer_rank(r2) == 2  # the first sentence has the words but comes from another document
    assert passage_rank(replace(r2, gold="elsewhere.txt")) is None


def test_answer_matches_across_scripts() -> None:
    row = _row("t", "amount", True, 1, source="d.txt", answer="补助标准", sentences=[_quote("d.txt", "補助標準為…")])
    assert answer_rank(row) == 1


def test_score_group_exact() -> None:
    got = score_group(_hand_made_run())
    assert got == {
        "questions": 5,
        "answerable": 3,
        "recall@1": 0.3333,
        "recall@5": 0.6667,
        "mrr@10": 0.5,
        "hit@1": 0.3333,
        "hit@3": 0.6667,
        "abstention_precision": 0.5,  # r3 right, r4 wrong
        "abstention_recall": 0.5,  # r3 declined, r5 answered
        "false_abstention": 0.3333,  # r4 of three answerable
        "latency_p50_ms": 30.0,
        "latency_p95_ms": 48.0,
    }


def test_failures_are_classified() -> None:
    rows = _hand_made_run()
    followup = _line("r6", "followup", False, 1, source="d.txt", answer="五百元", gold_span=[10, 13])
    followup |= {"question": "那成都呢?", "history": ["上海的补贴是多少?"], "resolved": "那成都呢?"}
    followup = RunRow.from_json(followup)
    got = [failure(r) for r in rows + [followup]]
    assert got == [None, "wrong_sentence", None, "abstained_wrongly", "answered_unanswerable", "followup_not_completed"]
    report = score_benchmark(rows + [followup])
    assert report["failures"]["wrong_sentence"] == 1
    assert [f["id"] for f in report["failing"]] == ["r2", "r4", "r5", "r6"]
    assert set(report["by_type"]) == {"amount", "date", "followup", "unanswerable"}


def test_subsample_is_fixed_by_seed_and_keeps_order() -> None:
    items = list(range(100))
    first = subsample(items, 10, seed=3)
    assert first == subsample(items, 10, seed=3) == sorted(first)
    assert subsample(items, None, seed=3) == items
    assert subsample(items, 500, seed=3) == items


# ---- saved runs ------------------------------------------------------------------------------------


def test_saved_run_rescores_the_same(tmp_path: Path) -> None:
    rows = _hand_made_run()
    write_run(rows, tmp_path / "run.jsonl")
    assert read_run(tmp_path / "run.jsonl") == rows
    assert score_benchmark(read_run(tmp_path / "run.jsonl")) == score_benchmark(rows)


def test_cli_rescores_a_saved_run(tmp_path: Path, capsys) -> None:
    write_run(_hand_made_run(), tmp_path / "run.jsonl")
    out, chart = tmp_path / "out", tmp_path / "docs" / "chart.png"
    assert main(["eval", "--rescore", str(tmp_path / "run.jsonl"), "--out", str(out), "--chart", str(chart)]) == 0
    report = json.loads((out / "benchmark-report.json").read_text(encoding="utf-8"))
    assert report["overall"]["hit@3"] == 0.6667
    assert chart.stat().st_size > 0 and (out / "benchmark.png").exists()
    assert "overall" in capsys.readouterr().out


def test_cli_rejects_a_malformed_benchmark(tmp_path: Path, capsys) -> None:
    (tmp_path / "bad.jsonl").write_text('{"id": "x", "question": "上海呢?"}\n', encoding="utf-8")
    assert main(["eval", str(tmp_path / "bad.jsonl"), "--out", str(tmp_path)]) == 2
    assert "row 1 lacks history" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["eval", "--limit", "0"], "--limit"),
        (["eval", "no-such-file.jsonl"], "does not exist"),
        (["eval", "--simplified-questions"], "--open-book"),
    ],
)
def test_cli_rejects_bad_arguments(argv: list[str], message: str, capsys) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


# ---- open book -------------------------------------------------------------------------------------

_B = "上海市的养老服务补贴每月五百元。老年人助餐点有两百个。"
SQUAD = {
    "data": [
        {
            "title": "臺北",
            "paragraphs": [
                {
                    "id": "a-0",
                    "context": "臺北市的幼兒園補助每月三千元。申請時間為每年九月。",
                    "qas": [
                        {"id": "q1", "question": "臺北市幼兒園補助每月多少錢？", "answers": [{"text": "三千元"}] * 2}
                    ],
                },
                {
                    "id": "a-1",
                    "context": _B,
                    "qas": [{"id": "q2", "question": "上海养老服务补贴每月多少？", "answers": [{"text": "五百元"}]}],
                },
            ],
        },
        {
            "title": "",
            "paragraphs": [
                {
                    "context": _B,
                    "qas": [{"id": "q3", "question": "上海有多少老年人助餐点？", "answers": [{"text": "两百个"}]}],
                },
                {
                    "context": "成都的低保标准是每月七百元。",
                    "qas": [{"id": "q4", "question": "成都低保每月多少？", "answers": []}],
                },
            ],
        },
    ]
}


@pytest.fixture
def tiny_split(tmp_path: Path) -> Path:
    path = tmp_path / "tiny_squad.json"
    path.write_text(json.dumps(SQUAD, ensure_ascii=False), encoding="utf-8")
    return path


def test_load_split_merges_identical_paragraphs(tiny_split: Path) -> None:
    split = load_split(tiny_split)
    assert [p.source for p in split.paragraphs] == ["a-0", "a-1", "1-1"]
    assert [p.title for p in split.paragraphs] == ["臺北", "臺北", ""]
    assert [q.paragraph for q in split.questions] == ["a-0", "a-1", "a-1", "1-1"]
    assert split.questions[0].answers == ("三千元",)  # duplicate gold answers kept once
    assert simplified(split.questions)[0].question == "台北市幼儿园补助每月多少钱？"


def test_open_book_ranks_dedupe_paragraphs() -> None:
    texts = {"a": "每月三千元。", "b": "五百元和三千元。", "c": "无关。"}
    line = {"method": "convex", "id": "q", "question": "多少钱?", "paragraph": "b", "answers": ["三千元"]}
    line |= {
        "answered": True,
        "ms": 1.0,
        "passages": [["a", 0, 6], ["a", 0, 3], ["b", 0, 8], ["c", 0, 3]],
        "sentences": [["a", "三千元"], ["b", "三千元。"]],
    }
    row = RunRow.from_json(line)
    assert RunRow.from_json(row.to_json()) == row
    assert paragraph_rank(row) == 2  # two passages of paragraph a count as one rank
    assert answer_rank(row) == 2
    assert loose_hit(row, texts, k=1)
    assert not loose_hit(RunRow.from_json(line | {"passages": [["c", 0, 3]]}), texts)
    got = score_method([row, RunRow.from_json(line | {"paragraph": "z", "sentences": []})], texts)
    assert (got["recall@1"], got["recall@5"], got["mrr@10"], got["hit@3"]) == (0.0, 0.5, 0.25, 0.5)


def test_bigram_baseline_finds_the_paragraph(tiny_split: Path) -> None:
    split = load_split(tiny_split)
    rows = run_bigram_baseline(split, split.questions[:3])
    assert [paragraph_rank(r) for r in rows] == [1, 1, 1]
    report = score_open_book(rows, split)["methods"][BASELINE]
    assert report["recall@1"] == 1.0 and report["hit@1"] is None


def test_open_book_run_over_a_built_index(tiny_split: Path, tmp_path: Path, fake_encoder) -> None:
    split = load_split(tiny_split)
    build(split.paragraphs, tmp_path / "index", fake_encoder, progress=False)
    questions = split.questions[:3] + [OpenQuestion("bad", "hello", ("x",), "a-0")]
    rows = run_open_book(tmp_path / "index", questions, fake_encoder, methods=("bm25", "convex"), progress=False)
    assert [r.method for r in rows] == ["bm25"] * 4 + ["convex"] * 4
    assert rows[3].error and not rows[3].answered  # a question the assistant refuses is recorded, not fatal
    figures = score_open_book(rows, split)["methods"]
    assert figures["bm25"]["recall@1"] == 0.75 and figures["convex"]["questions"] == 4


def test_open_book_index_is_cached(tiny_split: Path, tmp_path: Path, fake_encoder, monkeypatch) -> None:
    monkeypatch.setattr(openbook, "cache_root", lambda: tmp_path / "cache")
    built = []
    monkeypatch.setattr(
        openbook, "build", lambda docs, out, enc, progress, **kw: built.append(build(docs, out, enc, False, **kw))
    )
    split = load_split(tiny_split)
    first = openbook.index_for(tiny_split, split, fake_encoder, progress=False)
    assert openbook.index_for(tiny_split, split, fake_encoder, progress=False) == first
    assert len(built) == 1 and first.is_relative_to(tmp_path / "cache")
    own = openbook.index_for(tiny_split, split, fake_encoder, progress=False, sentence_vectors="own")
    assert own != first and len(built) == 2  # its own index, cached apart
    assert json.loads((own / "manifest.json").read_text())["sentence_vectors"] == "own"
    assert json.loads((first / "manifest.json").read_text())["sentence_vectors"] == "pooled"


def test_memo_encoder_embeds_each_text_once_and_keeps_passage_vectors(tmp_path: Path, fake_encoder) -> None:
    calls = []

    class Counting:
        name, dim = fake_encoder.name, fake_encoder.dim

        def encode(self, texts: list[str], kind: str, progress: bool = False) -> np.ndarray:
            calls.append((kind, list(texts)))
            return fake_encoder.encode(texts, kind)

    first = MemoEncoder(Counting(), tmp_path / "store").encode(["甲乙", "丙丁", "甲乙"], "passage")
    again = MemoEncoder(Counting(), tmp_path / "store")
    assert np.array_equal(again.encode(["丙丁"], "passage"), first[1:2])
    again.encode(["甲乙"], "query")
    again.encode(["甲乙"], "query")
    assert calls == [("passage", ["甲乙", "丙丁"]), ("query", ["甲乙"])]


@pytest.mark.parametrize(
    ("folder", "name", "paragraphs"), [("drcd", "DRCD_dev.json", 1000), ("dureader_robust", "dev.json", 1398)]
)
def test_real_split_loads(folder: str, name: str, paragraphs: int) -> None:
    path = SHARED_EVAL / folder / name
    if not path.exists():
        pytest.skip(f"{path} is not here")
    split = load_split(path)
    assert len(split.paragraphs) == paragraphs
    assert all(q.answers for q in split.questions)


# ---- the real assistant ----------------------------------------------------------------------------


def test_halves_are_fixed_and_split_evenly() -> None:
    keys = [f"p{i}" for i in range(2000)]
    first = [half(k) for k in keys]
    assert first == [half(k) for k in keys] and set(first) == {"dev", "test"}
    assert 0.45 < first.count("dev") / len(keys) < 0.55


def test_own_paragraph_run_scores_abstention(tiny_split: Path, tmp_path: Path, fake_encoder) -> None:
    split = load_split(tiny_split)
    build(split.paragraphs, tmp_path / "index", fake_encoder, progress=False)
    rows = run_open_book(tmp_path / "index", split.questions, fake_encoder, ("convex",), False, own_paragraph=True)
    assert all(p.source == r.gold for r in rows for p in r.passages)  # only its own paragraph is read
    figures = score_open_book(rows, split)
    convex = figures["methods"]["convex"]
    assert convex["questions"] == 4 and convex["unanswerable"] == 1  # q4 has no answer
    abstained = next(r for r in rows if r.id == "q4" and r.method == "convex").answered is False
    assert convex["abstention_recall"] == (1.0 if abstained else 0.0)  # the figure follows what the run did
    assert sum(b["questions"] + b["unknown"] for b in figures["reliability"]) == 4


def test_reliability_bins_known_outcomes() -> None:
    bins = reliability([(0.05, False), (0.92, True), (0.97, False), (1.0, True), (0.5, None)])
    assert [b["questions"] for b in bins] == [1, 0, 0, 0, 0, 0, 0, 0, 0, 3]
    assert bins[9]["right"] == round(2 / 3, 4) and bins[5]["unknown"] == 1


def test_cli_scores_a_half_of_a_saved_run(tmp_path: Path, capsys) -> None:
    rows = _hand_made_run()
    write_run(rows, tmp_path / "run.jsonl")
    assert main(["eval", "--rescore", str(tmp_path / "run.jsonl"), "--half", "test", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "benchmark-test-report.json").read_text(encoding="utf-8"))
    assert report["overall"]["questions"] == sum(half(r.id) == "test" for r in rows)
    assert (tmp_path / "benchmark-test-reliability.png").stat().st_size > 0


def test_cli_rescores_a_saved_open_book_run(tiny_split: Path, tmp_path: Path, capsys) -> None:
    """`qa eval --open-book SPLIT --rescore RUN` scores a saved run without asking anything (no model)."""
    split = load_split(tiny_split)
    write_run(run_bigram_baseline(split, split.questions), tmp_path / "run.jsonl")
    args = ["eval", "--open-book", str(tiny_split), "--rescore", str(tmp_path / "run.jsonl"), "--out", str(tmp_path)]
    assert main(args) == 0
    report = json.loads(next(tmp_path.glob("openbook-*-report.json")).read_text(encoding="utf-8"))
    assert report["questions"] == len(split.questions) and report["methods"][BASELINE]["recall@1"] is not None
    assert BASELINE in capsys.readouterr().out
