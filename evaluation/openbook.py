"""The open-book protocol of ../shared/eval/README.md over a SQuAD-form split.

Every (de-duplicated) paragraph of the split becomes one document of a single index; every question
is asked against that whole corpus, once per retrieval method, and a plain character-bigram BM25
over the raw paragraphs runs beside them as the baseline the README compares with.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import bm25s
import numpy as np
import opencc
from tqdm import tqdm

from evaluation.benchmark import answer_rank, at_k, contains, first_right, mrr, percentile, rate, reliability
from evaluation.runs import Cited, RunRow
from index import (
    FORMAT_VERSION,
    MANIFEST,
    SENTENCE_VECTORS,
    Document,
    TextEncoder,
    build,
    expected_manifest_keys,
)
from qa.assistant import Assistant, cache_root
from qa.question import BadQuestion

METHODS = ("bm25", "dense", "convex", "rrf")  # convex is the shipped hybrid
BASELINE = "bigram-bm25"
PASSAGES = 10  # ask for more than a user sees: a paragraph may be split into several passages
LOOSE_K = 5


@dataclass(frozen=True)
class OpenQuestion:
    id: str
    question: str
    answers: tuple[str, ...]
    paragraph: str  # the gold paragraph's id, after de-duplication


@dataclass(frozen=True)
class Split:
    paragraphs: list[Document]  # source = paragraph id, title = article title
    questions: list[OpenQuestion]


def load_split(path: Path) -> Split:
    """The paragraphs (identical ones merged, keeping the first id) and questions of a SQuAD-form file."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    ids: dict[str, str] = {}  # context → paragraph id
    paragraphs, questions = [], []
    for a, article in enumerate(data["data"]):
        for n, para in enumerate(article["paragraphs"]):
            context = para["context"]
            if context not in ids:
                pid = str(para.get("id") or f"{a}-{n}")
                ids[context] = pid if pid not in ids.values() else f"{pid}#{a}-{n}"
                paragraphs.append(Document(ids[context], article.get("title") or "", "", context))
            for qa in para["qas"]:
                answers = tuple(dict.fromkeys(x["text"] for x in qa["answers"] if x["text"].strip()))
                questions.append(OpenQuestion(str(qa["id"]), qa["question"], answers, ids[context]))
    return Split(paragraphs, questions)


def yes_no(q: OpenQuestion) -> bool:
    """A CJRC question answered YES or NO: no sentence says that word, so it has no span to quote."""
    return bool(set(q.answers) & {"YES", "NO"})


def simplified(questions: list[OpenQuestion]) -> list[OpenQuestion]:
    """The questions converted to Simplified script (OpenCC t2s); paragraphs stay as they are."""
    t2s = opencc.OpenCC("t2s")
    return [replace(q, question=t2s.convert(q.question)) for q in questions]


def index_for(
    path: Path,
    split: Split,
    encoder: TextEncoder,
    progress: bool = True,
    rebuild: bool = False,
    sentence_vectors: str = SENTENCE_VECTORS[0],
) -> Path:
    """The split's index, built once and cached by file name, file hash, index format, model and how its
    sentences get their vectors.

    Passage-side vectors are kept beside it, so a rebuild (after a tokenizer or chunking change)
    embeds only the texts it has not embedded before.
    """
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
    model = "".join(c if c.isalnum() or c in "-_." else "_" for c in encoder.name)
    folder = cache_root() / "openbook"
    out = folder / f"{Path(path).stem}-{digest}-v{FORMAT_VERSION}-{model}{vectors_suffix(sentence_vectors)}"
    if rebuild or not _current(out, encoder, sentence_vectors):
        precision = getattr(encoder, "precision", None)  # passage vectors of one precision are never reused in another
        computed = f"-{precision.passage_pass}" if precision else ""
        vectors = MemoEncoder(encoder, folder / f"{Path(path).stem}-{digest}-{model}{computed}.vectors")
        build(split.paragraphs, out, vectors, progress=progress, sentence_vectors=sentence_vectors)
    return out


def vectors_suffix(sentence_vectors: str) -> str:
    """What a name gains for an index (or its run) whose sentence vectors are not the default: "-own"."""
    return "" if sentence_vectors == SENTENCE_VECTORS[0] else f"-{sentence_vectors}"


def _current(out: Path, encoder: TextEncoder, sentence_vectors: str) -> bool:
    """Whether a cached index exists and was built the way this code and model would build it."""
    try:
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    wanted = expected_manifest_keys(encoder) | {"sentence_vectors": sentence_vectors}
    return all(manifest.get(k) == v for k, v in wanted.items())


class MemoEncoder:
    """An encoder that embeds each text once: in memory, and passage-side texts also on disk in `store`.

    The methods compared share one query vector per question, and rebuilding an index reuses vectors.
    """

    def __init__(self, encoder: TextEncoder, store: Path | None = None):
        self._encoder = encoder
        self._store = store
        self._memo: dict[tuple[str, str], np.ndarray] = self._load()

    def __getattr__(self, name: str):  # name, dim, model: those of the wrapped encoder
        return getattr(self._encoder, name)

    def encode(self, texts: list[str], kind: str, progress: bool = False) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if (kind, t) not in self._memo]
        if todo:
            vectors = self._encoder.encode(todo, kind, progress)
            self._memo.update(((kind, t), v) for t, v in zip(todo, vectors, strict=True))
            if kind == "passage":
                self._save()
        return np.stack([self._memo[kind, t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def _load(self) -> dict[tuple[str, str], np.ndarray]:
        try:
            texts = json.loads((self._store / "texts.json").read_text(encoding="utf-8"))
            return {("passage", t): v for t, v in zip(texts, np.load(self._store / "vectors.npy"), strict=True)}
        except (TypeError, OSError, ValueError):  # no store, none saved yet, or a save cut short
            return {}

    def _save(self) -> None:
        if self._store is None:
            return
        texts = [t for kind, t in self._memo if kind == "passage"]
        self._store.mkdir(parents=True, exist_ok=True)
        np.save(self._store / "vectors.npy", np.stack([self._memo["passage", t] for t in texts]))
        (self._store / "texts.json").write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")


def run_open_book(
    index_path: Path,
    questions: list[OpenQuestion],
    encoder: TextEncoder,
    methods=METHODS,
    progress: bool = True,
    own_paragraph: bool = False,
) -> list[RunRow]:
    """Ask every question once per retrieval method over the same index; one run row per (method, question).
    With `own_paragraph`, each question is asked of its own paragraph only (the `source` filter)."""
    shared = MemoEncoder(encoder)
    assistants = [Assistant(index_path, fusion=m, passages=PASSAGES, progress=False, encoder=shared) for m in methods]
    for assistant in assistants:
        assistant.warm_up()  # load every index up front: a run fails before it starts, not halfway
    rows = []
    for method, assistant in zip(methods, assistants, strict=True):
        for q in tqdm(questions, desc=method, disable=not progress):
            rows.append(_ask(assistant, q, method, q.paragraph if own_paragraph else None))
    return rows


def _ask(assistant: Assistant, q: OpenQuestion, method: str, source: str | None = None) -> RunRow:
    row = RunRow(q.id, q.question, q.paragraph, tuple(q.answers), False, (), (), 0.0, method=method)
    try:
        answer = assistant.answer(q.question, source=source)
    except BadQuestion as exc:
        return replace(row, error=str(exc))
    return replace(
        row,
        answered=answer.answered,
        confidence=answer.confidence,
        passages=tuple(Cited(p.source, "", p.start, p.end) for p in answer.passages),
        sentences=tuple(Cited(s.source, s.text) for s in answer.sentences[:3]),
        encode_ms=round(answer.timings.get("encode_ms", 0.0), 1),  # paid once per question, by the first method
        ms=round(sum(v for k, v in answer.timings.items() if k != "encode_ms"), 1),
    )


def bigrams(text: str) -> list[str]:
    """Overlapping character pairs of the raw text: no segmentation, no normalisation."""
    return [text[i : i + 2] for i in range(len(text) - 1)] or [text]


def run_bigram_baseline(split: Split, questions: list[OpenQuestion], k: int = PASSAGES) -> list[RunRow]:
    """The reference baseline: BM25 over character bigrams of the raw paragraphs, one run row per question."""
    model = bm25s.BM25()
    model.index([bigrams(p.text) for p in split.paragraphs], show_progress=False)
    rows = []
    for q in questions:
        t0 = time.perf_counter()
        top = np.argsort(-model.get_scores(bigrams(q.question)), kind="stable")[:k]
        ms = (time.perf_counter() - t0) * 1e3
        passages = tuple(Cited(split.paragraphs[i].source, "", 0, len(split.paragraphs[i].text)) for i in top)
        rows.append(
            RunRow(
                q.id, q.question, q.paragraph, tuple(q.answers), False, None, passages, round(ms, 1), method=BASELINE
            )
        )
    return rows


def paragraph_rank(row: RunRow) -> int | None:
    """1-based rank of the gold paragraph among the distinct paragraphs the passages come from."""
    seen = list(dict.fromkeys(p.source for p in row.passages))
    return seen.index(row.gold) + 1 if row.gold in seen else None


def loose_hit(row: RunRow, texts: dict[str, str], k: int = LOOSE_K) -> bool:
    """Whether any of the top k passages holds a gold answer, from whichever paragraph."""
    return any(contains(texts[p.source][p.start : p.end], a) for p in row.passages[:k] for a in row.answers)


def score_method(rows: list[RunRow], texts: dict[str, str]) -> dict:
    """Figures for one method's rows; sentence figures are None for the baseline, which quotes nothing.
    Questions without answers (CJRC's unanswerable ones) count only for abstention."""
    unanswerable = [r for r in rows if not r.answerable]
    rows = [r for r in rows if r.answerable]
    ranks = [paragraph_rank(r) for r in rows]
    quoting = all(r.sentences is not None for r in rows)
    hits = [answer_rank(r) for r in rows] if quoting else []
    declined = [r for r in unanswerable if r.sentences is not None and not r.answered]
    abstained = len(declined) + sum(r.sentences is not None and not r.answered for r in rows)
    return {
        "questions": len(rows) + len(unanswerable),
        "unanswerable": len(unanswerable),
        "abstention_precision": round(len(declined) / abstained, 4) if unanswerable and abstained else None,
        "abstention_recall": round(len(declined) / len(unanswerable), 4) if unanswerable else None,
        "recall@1": at_k(ranks, 1),
        "recall@5": at_k(ranks, 5),
        "mrr@10": mrr(ranks, 10),
        "hit@1": at_k(hits, 1),
        "hit@3": at_k(hits, 3),
        f"answer_in_top{LOOSE_K}": rate([loose_hit(r, texts) for r in rows]),
        "answered": rate([r.answered for r in rows]) if quoting else None,
        "latency_p50_ms": percentile([r.ms for r in rows], 50),
        "latency_p95_ms": percentile([r.ms for r in rows], 95),
    }


def score_open_book(rows: list[RunRow], split: Split) -> dict:
    """Figures per method, in the order the methods were run, and the one-off query-encoding latency."""
    texts = {p.source: p.text for p in split.paragraphs}
    methods = list(dict.fromkeys(r.method for r in rows))
    encode: dict[str, float] = {}
    for r in rows:
        encode[r.id] = max(encode.get(r.id, 0.0), r.encode_ms)
    shipped = [r for r in rows if r.method == "convex"]
    return {
        "methods": {m: score_method([r for r in rows if r.method == m], texts) for m in methods},
        "reliability": reliability(
            [(r.confidence, first_right(r.answered, r.answerable, answer_rank(r) == 1)) for r in shipped]
        ),
        "query_encode_p50_ms": percentile([v for v in encode.values() if v > 0], 50),
    }
