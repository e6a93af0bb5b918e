"""Fit the reader (qa/data/reader.json) on the dev halves of the QA sets; report dev and test halves.

    python -m training.reader                       # collect candidates (cached), fit, report, write
    python -m training.reader --laws-index laws_sample/   # also the laws benchmark, against that index
    python -m training.reader --refresh             # ask every question again (after a feature change)
    python -m training.reader --without list_fit --out /tmp/r.json   # what a signal adds: fit without it

For every question of every set the assistant retrieves as it does for a user and lists the reader's
candidate sentences with their features; a candidate is a positive when it comes from the gold
document (paragraph) and holds a gold answer. A logistic model is fitted on the dev halves' candidates
(each set weighing the same), then the best candidate's logit and the reranker's best score against
"no answer" are Platt-scaled into a confidence (on the dev questions of the sets with unanswerable ones, as
a user's question may be), the abstention threshold is the highest at which answerable dev questions are
declined ≤ 3% of the time (mean over the sets) and 未找到 is right ≥ 80% of the time on those questions, and the
share of the best probability a further quote needs is chosen on dev too. Test halves are only scored, never fitted on.

Sets (../shared/eval, see its README; halves by `evaluation.benchmark.half` of the paragraph or question id):
benchmark (the shipped five-plan benchmark), laws (qa/data/laws_benchmark.jsonl, with --laws-index),
drcd, cmrc, dureader (open book over the whole split), cjrc (each question against its own paragraph;
YES/NO questions skipped: a sentence holds their fact but not the word YES), written (the laws questions written
for training, training/data/laws_questions.json, open book over their contexts; all of it dev: its hold part is
the laws' largest set to choose on, and the laws benchmark's test half is its test), absent (with --laws-index:
the same questions asked of that index, which lacks most of their laws, as a user's library may; measured
only: never fitted on, and the reranker does not train on it).
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from tqdm import tqdm

from evaluation.benchmark import BENCHMARK, HALVES, contains, half, load_benchmark
from evaluation.openbook import PASSAGES, index_for, load_split, yes_no
from index.e5model import DEFAULT_MODEL_NAME
from index.embed import Encoder, cache_root
from index.normalizer import normalize
from qa.assistant import Assistant
from qa.read import Reader, rerank_order
from qa.reader_model import FEATURES, MODEL, Model
from qa.rerank import RERANKER, CrossEncoder
from training import LAWS_QUESTIONS
from training.reranker import ABSENT, WRITTEN, befores, held_out

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"
LAWS_BENCHMARK = Path(__file__).resolve().parent.parent / "qa" / "data" / "laws_benchmark.jsonl"
OPEN_BOOK = {
    "drcd": "drcd/DRCD_dev.json",
    "cmrc": "cmrc2018/cmrc2018_dev.json",
    "dureader": "dureader_robust/dev.json",
}
CJRC = "cjrc/dev.json"
ABSTENTION_PRECISION = 0.80  # 未找到 right at least this often on dev (the CJRC target) …
FALSE_ABSTENTION = 0.03  # … and answerable questions declined at most this often (its benchmark's)
SEED = 2026
NEGATIVES = 15  # wrong sentences paired with each right one (pairwise objective)
CACHE = Path("runs/reader")


@dataclass
class Asked:
    """One question's candidates: feature rows, which are right, which can answer its kind."""

    set: str
    id: str
    half: str
    answerable: bool
    x: np.ndarray
    y: np.ndarray
    fits: np.ndarray
    question: str = ""  # as searched, normalised (what a trained reranker reads)
    texts: tuple[str, ...] = ()  # the candidates' sentences
    held: np.ndarray | None = None  # which hold a gold answer's words, from whatever document (y: the gold one's)
    befores: tuple[str, ...] = ()  # the sentence before each candidate in its document, normalised


def collect(name: str, assistant: Assistant, items, progress: bool = True, dev_only: bool = False) -> list[Asked]:
    """`items`: (id, split key, question, history, source filter, gold source, answers); `dev_only`: every
    question in the dev half (a set with no test half of its own)."""
    out = []
    for qid, key, question, history, source, gold, answers in tqdm(items, desc=name, disable=not progress):
        c = assistant.candidates(question, history, source=source)
        held = np.array([any(contains(t, a) for a in answers) for _, t in c.texts], dtype=bool)
        y = held & np.array([s == gold for s, _ in c.texts], dtype=bool)
        texts = tuple(t for _, t in c.texts)
        fits = np.array(c.fits, dtype=bool)
        part = "dev" if dev_only else half(key)
        out.append(Asked(name, qid, part, bool(answers), c.x, y, fits, c.question, texts, held, tuple(c.befores)))
    return out


def benchmark_items(path: Path) -> list[tuple]:
    rows = load_benchmark(path)
    return [
        (r["id"], r["id"], r["question"], r["history"], None, r["source"], [r["answer"]] if r["answer"] else [])
        for r in rows
    ]


def split_items(path: Path, own_paragraph: bool) -> list[tuple]:
    split = load_split(path)
    items = []
    for q in split.questions:
        if yes_no(q):
            continue
        source = q.paragraph if own_paragraph else None
        items.append((q.id, q.paragraph, q.question, [], source, q.paragraph, list(q.answers)))
    return items


def gather(args, encoder: Encoder) -> list[Asked]:
    """Every set's candidates, from the cache unless --refresh or the features changed."""
    CACHE.mkdir(parents=True, exist_ok=True)
    jobs = {"benchmark": lambda: (_collector(None, encoder), benchmark_items(BENCHMARK))}
    if args.laws_index:
        jobs["laws"] = lambda: (_collector(args.laws_index, encoder), benchmark_items(LAWS_BENCHMARK))
    for name, rel in OPEN_BOOK.items():
        jobs[name] = lambda rel=rel: _split_job(EVAL / rel, encoder, own_paragraph=False)
    jobs["cjrc"] = lambda: _split_job(EVAL / CJRC, encoder, own_paragraph=True)
    jobs[WRITTEN] = lambda: _split_job(LAWS_QUESTIONS, encoder, own_paragraph=False)
    if args.laws_index:
        jobs[ABSENT] = lambda: (_collector(args.laws_index, encoder), _absent_items())
    asked = []
    for name in args.sets or list(jobs):
        cached = CACHE / f"{name}.pkl"
        if cached.exists() and not args.refresh:
            features, rows = pickle.loads(cached.read_bytes())
            if tuple(features) == FEATURES:
                asked += rows
                continue
        t0 = time.perf_counter()
        assistant, items = jobs[name]()
        rows = collect(name, assistant, items, dev_only=name in (WRITTEN, ABSENT))
        if name == ABSENT:  # a question whose law (its item's gold) the index lacks has no answer there
            held = {d.source for d in assistant.index.catalog}
            rows = [
                replace(a, answerable=a.answerable and item[5] in held) for a, item in zip(rows, items, strict=True)
            ]
        cached.write_bytes(pickle.dumps((FEATURES, rows)))
        print(f"{name}: {len(rows)} questions in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        asked += rows
    return asked


def _absent_items() -> list[tuple]:
    """The written questions as asked of a library: the gold is the question's law (its file under ../shared/laws,
    as an index names its source), not its paragraph (the answer's words in another law's sentence leave that
    sentence out of training, as it may answer)."""
    data = json.loads(LAWS_QUESTIONS.read_text(encoding="utf-8"))["data"]
    law = {q["id"]: doc["title"] for doc in data for p in doc["paragraphs"] for q in p["qas"]}
    return [(i, key, q, h, None, law[i], answers) for i, key, q, h, _, _, answers in split_items(LAWS_QUESTIONS, False)]


def _split_job(path: Path, encoder: Encoder, own_paragraph: bool):
    split = load_split(path)
    return _collector(index_for(path, split, encoder), encoder, passages=PASSAGES), split_items(path, own_paragraph)


def _collector(index: Path | None, encoder: Encoder, **options) -> Assistant:
    """An assistant that lists candidates and their features; it loads no fitted model (the one shipped may
    describe the signals before a change) and no reranker."""
    return Assistant(index, encoder=encoder, progress=False, reader=Reader, **options)


def fit(dev: list[Asked], pairwise: bool) -> dict:
    """A linear model on the dev candidates (each set weighing the same), as a per-sentence probability.

    Pointwise: logistic regression of "answers" on the features. Pairwise: logistic regression on the
    difference between a right sentence and a wrong one of the same question (RankNet with a linear
    scorer: it learns to order a question's candidates, not to score all candidates alike), then a
    Platt scaling of its score into a per-sentence probability.
    """
    used = [a for a in dev if len(a.y)]
    x = np.concatenate([a.x for a in used])
    y = np.concatenate([a.y for a in used])
    per_set = {s: sum(len(a.y) for a in used if a.set == s) for s in {a.set for a in used}}
    w = np.concatenate([np.full(len(a.y), len(y) / per_set[a.set] / len(per_set)) for a in used])
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    z = (x - mean) / scale
    if pairwise:
        rng = np.random.default_rng(SEED)
        diffs, weights = [], []
        for a in used:
            right, wrong = np.flatnonzero(a.y), np.flatnonzero(~a.y)
            for r in right if len(wrong) else []:
                chosen = rng.choice(wrong, size=min(len(wrong), NEGATIVES), replace=False)
                diffs.append((a.x[r] - a.x[chosen]) / scale)
                weights.append(np.full(len(chosen), 1.0 / per_set[a.set]))
        d, dw = np.concatenate(diffs), np.concatenate(weights)
        ranker = LogisticRegression(fit_intercept=False, max_iter=5000)
        ranker.fit(np.concatenate([d, -d]), np.r_[np.ones(len(d)), np.zeros(len(d))], sample_weight=np.r_[dw, dw])
        platt = LogisticRegression(C=100.0).fit((z @ ranker.coef_[0]).reshape(-1, 1), y, sample_weight=w)
        a, b = float(platt.coef_[0][0]), float(platt.intercept_[0])
        coef, intercept = a * ranker.coef_[0], b
    else:
        model = LogisticRegression(max_iter=5000).fit(z, y, sample_weight=w)
        coef, intercept = model.coef_[0], float(model.intercept_[0])
    return {
        "features": list(FEATURES),
        "mean": mean.round(6).tolist(),
        "scale": scale.round(6).tolist(),
        "coef": coef.round(6).tolist(),
        "intercept": round(intercept, 6),
        "objective": "pairwise" if pairwise else "pointwise",
    }


def cross_validated(dev: list[Asked], pairwise: bool, folds: int = 5) -> float:
    """Mean over the sets of first-sentence accuracy, by 5-fold cross-validation over dev questions."""
    fold = np.random.default_rng(SEED).integers(0, folds, len(dev))
    right: dict[str, list[bool]] = {}
    for k in range(folds):
        params = fit([a for a, f in zip(dev, fold) if f != k], pairwise)
        for a, p in scored(params, [a for a, f in zip(dev, fold) if f == k]):
            if a.answerable:
                right.setdefault(a.set, []).append(best(p) is not None and bool(a.y[best(p)]))
    return float(np.mean([np.mean(v) for v in right.values()]))


def scored(params: dict, asked: list[Asked]) -> list[tuple[Asked, np.ndarray]]:
    """Each question's candidate probabilities, with the ones that cannot answer its kind at −1."""
    model = Model.from_dict(params)
    return [(a, np.where(a.fits, model.probabilities(a.x), -1.0) if len(a.y) else np.zeros(0)) for a in asked]


def best(p: np.ndarray) -> int | None:
    return int(np.argmax(p)) if len(p) and p.max() >= 0 else None


def calibrate(rows: list[tuple[Asked, np.ndarray]], cross: dict | None = None) -> tuple[float, ...]:
    """The best candidate's logit (and, with the reranker, its best score against "no answer") → the
    probability that the best candidate answers (dev questions): Platt scaling, with a second input."""
    z, y = [], []
    for a, p in rows:
        i = best(p)
        if i is not None:
            logit = np.log(p[i] / (1 - p[i] + 1e-12) + 1e-12)
            z.append([logit] + ([any_answer(cross, a)] if cross else []))
            y.append(bool(a.y[i]))
    model = LogisticRegression(C=100.0).fit(np.array(z), np.array(y))
    a, *c = (round(float(w), 6) for w in model.coef_[0])
    return (a, round(float(model.intercept_[0]), 6), *c)


def any_answer(cross: dict | None, a: Asked) -> float | None:
    """The reranker's best score over a question's rescored candidates: how likely it finds any answer."""
    scores = cross.get((a.set, a.id)) if cross else None
    return float(np.max(scores)) if scores is not None and len(scores) else None


def outcomes(rows, params: dict, threshold: float, share: float, cross: dict | None = None) -> list[dict]:
    """What the reader would do with each question: answered, first quote right, a right one in the top 3."""
    model = Model.from_dict(params)
    out = []
    for a, p in rows:
        i = best(p)
        conf = model.confidence(float(p[i]), any_answer(cross, a)) if i is not None else 0.0
        answered = i is not None and conf >= threshold
        top3 = [j for j in np.argsort(-p)[:3] if p[j] >= max(share * p[i], 0)] if answered else []
        out.append(
            {
                "set": a.set,
                "half": a.half,
                "answerable": a.answerable,
                "answered": answered,
                "confidence": conf,
                "candidates": i is not None,
                "first_right": bool(i is not None and a.y[i]),
                "hit1": answered and bool(a.y[i]),
                "hit3": answered and bool(a.y[top3].any()),
                "quotes": len(top3),
            }
        )
    return out


def first_stage_top(model: Model, a: Asked, k: int) -> tuple[np.ndarray, np.ndarray]:
    """A question's candidates' first-stage probabilities, and the top k the reranker rescores (as the reader
    takes them: `rerank_order`)."""
    raw = model.probabilities(a.x)
    return raw, rerank_order(raw, a.fits)[:k]


def cross_scores(path: Path, params: dict, asked: list[Asked], k: int, encoder: Encoder) -> dict:
    """The reranker's scores of each question's first-stage top k (the hold part of dev and the test halves;
    the fit part trained it). Scores are cached per candidate, reranker file and the precision its pairs run
    in, so a refit that moves a few candidates into the top k (`--without`) scores only those."""
    import hashlib

    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    cached = CACHE / f"cross-{digest}-{encoder.precision.pairs}.pkl"  # int8 and bf16 scores differ a little
    known: dict[tuple[str, str], dict[int, float]] = pickle.loads(cached.read_bytes()) if cached.exists() else {}
    model = Model.from_dict(params)
    wanted = {}
    for a in asked:
        if len(a.y) and (a.half == "test" or held_out(a.set, a.id)):
            wanted[(a.set, a.id)] = (a, first_stage_top(model, a, k)[1])
    todo = [(key, a, [int(i) for i in top if int(i) not in known.get(key, {})]) for key, (a, top) in wanted.items()]
    todo = [t for t in todo if t[2]]
    if todo:
        from index.e5model import prepare_default_model

        reranker = CrossEncoder.load(prepare_default_model(cache_root()), encoder.model.w, path, encoder.precision)
        for key, a, missing in tqdm(todo, desc="reranker"):
            previous = befores(a) if reranker.context else None  # a cache without them: the reranker refuses
            texts = [normalize(a.texts[i]) for i in missing]
            scores = reranker.scores(a.question, texts, [previous[i] for i in missing] if previous else None)
            known.setdefault(key, {}).update(zip(missing, map(float, scores)))
        cached.write_bytes(pickle.dumps(known))
    return {key: np.array([known[key][int(i)] for i in top]) for key, (a, top) in wanted.items()}


def fit_rerank(rows: list[tuple[Asked, np.ndarray]], params: dict, cross: dict, k: int) -> dict:
    """How the reranker's score joins the first stage: a logistic model of "answers" on the first-stage logit
    and the reranker's score, over the top k of the hold part's questions (each set weighing the same)."""
    model = Model.from_dict(params)
    x, y, sets = [], [], []
    for a, _ in rows:
        raw, top = first_stage_top(model, a, k)
        first = np.clip(raw[top], 1e-9, 1 - 1e-9)
        x.append(np.c_[np.log(first / (1 - first)), cross[(a.set, a.id)]])
        y.append(a.y[top])
        sets += [a.set] * len(top)
    per_set = {s: sets.count(s) for s in set(sets)}
    w = np.array([len(sets) / per_set[s] / len(per_set) for s in sets])
    combiner = LogisticRegression(C=100.0).fit(np.concatenate(x), np.concatenate(y), sample_weight=w)
    coef = [round(float(c), 6) for c in combiner.coef_[0]]
    return {"k": k, "coef": coef, "intercept": round(float(combiner.intercept_[0]), 6)}


def reranked(rows: list[tuple[Asked, np.ndarray]], params: dict, cross: dict) -> list[tuple[Asked, np.ndarray]]:
    """Each question's final probabilities, as the reader gives them: the first stage's top k rescored with the
    reranker, the rest behind them (0), those that cannot answer the kind at −1."""
    model = Model.from_dict(params)
    out = []
    for a, p in rows:
        if a.half == "dev" and not held_out(a.set, a.id):
            continue  # the fit part of dev trained the reranker
        if not len(a.y):
            out.append((a, p))
            continue
        raw, top = first_stage_top(model, a, params["rerank"]["k"])
        final = np.where(a.fits, 0.0, -1.0)
        final[top] = np.where(a.fits[top], model.reranked(raw[top], cross[(a.set, a.id)]), -1.0)
        out.append((a, final))
    return out


def fitted_on(set_name: str, half: str) -> bool:
    """The dev questions the reader is fitted and chosen on (ABSENT is measured only)."""
    return half == "dev" and set_name != ABSENT


def right(row: dict) -> bool:
    """What the reader did with a question was right: its first quote answers, or it said 未找到 and none does."""
    return bool(row["hit1"] or not (row["answerable"] or row["answered"]))


def figures(rows: list[dict]) -> dict:
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    abstained = [r for r in rows if not r["answered"]]

    def share(part, whole):
        return round(len(part) / len(whole), 4) if whole else None

    return {
        "questions": len(rows),
        "hit@1": share([r for r in answerable if r["hit1"]], answerable),
        "hit@3": share([r for r in answerable if r["hit3"]], answerable),
        "abstention_precision": share([r for r in abstained if not r["answerable"]], abstained)
        if unanswerable
        else None,
        "abstention_recall": share([r for r in unanswerable if not r["answered"]], unanswerable),
        "false_abstention": share([r for r in answerable if not r["answered"]], answerable),
        "quotes": round(float(np.mean([r["quotes"] for r in rows if r["answered"]] or [0])), 2),
        "right": share([r for r in rows if right(r)], rows),
    }


def choose_threshold(rows: list[dict], sets: set[str]) -> float:
    """The highest threshold (most abstention) at which, on dev, answerable questions are declined at most
    FALSE_ABSTENTION of the time (mean over the sets, each weighing the same) and 未找到 is right at least
    ABSTENTION_PRECISION of the time on the questions of `sets` (those with unanswerable ones). The first, over
    a thousand answerable questions, moves steadily and binds; the second, over a few dozen abstentions, guards.
    Questions with no candidate are not counted (未找到 whatever the threshold: not its doing)."""
    rows = [r for r in rows if r["candidates"]]
    conf = np.array([r["confidence"] for r in rows])
    answerable = np.array([r["answerable"] for r in rows], dtype=bool)
    names = np.array([r["set"] for r in rows])
    pooled = np.isin(names, sorted(sets))
    per_set = [answerable & (names == s) for s in np.unique(names[answerable])]
    chosen = 0.0
    for t in np.unique(conf) + 1e-6:  # abstain below t
        below = conf < t
        abstained = below & pooled
        declined = np.mean([below[m].mean() for m in per_set]) if per_set else 0.0
        if abstained.any() and (~answerable[abstained]).mean() >= ABSTENTION_PRECISION and declined <= FALSE_ABSTENTION:
            chosen = float(t)
    return round(chosen, 6)


def choose_share(rows_for, shares=(0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)) -> float:
    """The largest share (fewest extra quotes) whose dev hit@3 is within 0.01 of the best share's."""
    hit3 = {s: figures(rows_for(s))["hit@3"] or 0.0 for s in shares}
    return max(s for s in shares if hit3[s] >= max(hit3.values()) - 0.01)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="*", help="only these sets (default: all that are available)")
    parser.add_argument("--laws-index", type=Path, help="index to ask the laws benchmark against")
    parser.add_argument("--refresh", action="store_true", help="ask every question again")
    parser.add_argument("--without", nargs="*", default=[], choices=FEATURES, help="fit without these signals")
    parser.add_argument("--out", type=Path, default=MODEL, help=f"where to write the parameters ({MODEL})")
    parser.add_argument("--report", type=Path, default=Path("runs/reader-report.json"))
    parser.add_argument("--reranker", type=Path, default=RERANKER, help=f"the trained reranker ({RERANKER})")
    parser.add_argument("--no-reranker", action="store_true", help="fit the first stage alone")
    parser.add_argument("--k", type=int, default=5, help="first-stage candidates the reranker rescores (default 5)")
    args = parser.parse_args()
    encoder = Encoder(DEFAULT_MODEL_NAME, cache_root=cache_root())
    asked = gather(args, encoder)
    for a in asked:  # a signal left out is a constant column: its weight is 0
        a.x[:, [FEATURES.index(f) for f in args.without]] = 0.0
    dev = [a for a in asked if fitted_on(a.set, a.half)]
    objectives = {pairwise: cross_validated(dev, pairwise) for pairwise in (False, True)}
    print(f"dev cross-validated hit@1: pointwise {objectives[False]:.4f}, pairwise {objectives[True]:.4f}")
    params = fit(dev, pairwise=objectives[True] > objectives[False])
    params["cross_validated_hit@1"] = {"pointwise": round(objectives[False], 4), "pairwise": round(objectives[True], 4)}
    rows = scored(params, asked)
    dev_rows = [(a, p) for a, p in rows if fitted_on(a.set, a.half)]
    cross = None
    if not args.no_reranker and args.reranker.exists():  # the dev halves' hold part fits the combination
        cross = cross_scores(args.reranker, params, asked, args.k, encoder)
        hold = [(a, p) for a, p in dev_rows if held_out(a.set, a.id) and len(a.y)]
        params["rerank"] = fit_rerank(hold, params, cross, args.k)
        rows = reranked(rows, params, cross)
        dev_rows = [(a, p) for a, p in rows if fitted_on(a.set, a.half)]
    # calibrated, and the threshold chosen, where a question may have no answer (as a user's may): the sets with
    # unanswerable questions
    may_not = {a.set for a, _ in dev_rows if not a.answerable}
    params["calibration"] = list(calibrate([(a, p) for a, p in dev_rows if a.set in may_not] or dev_rows, cross))
    params["threshold"] = choose_threshold(outcomes(dev_rows, params, 0.0, 1.0, cross), may_not)
    params["share"] = choose_share(lambda s: outcomes(dev_rows, params, params["threshold"], s, cross))
    final = outcomes(rows, params, params["threshold"], params["share"], cross)
    report = {
        f"{s}/{h}": figures([r for r in final if r["set"] == s and r["half"] == h])
        for s in dict.fromkeys(a.set for a in asked)
        for h in HALVES
        if any(a.set == s and a.half == h for a in asked)
    }
    params["fitted"] = {
        "command": "python -m training.reader" + (" --laws-index DIR" if args.laws_index else ""),
        "dev_questions": {s: sum(a.set == s for a in dev) for s in dict.fromkeys(a.set for a in dev)},
        "dev_candidates": int(sum(len(a.y) for a in dev)),
        "model": encoder.name,
    }
    args.out.write_text(json.dumps(params, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    args.report.parent.mkdir(parents=True, exist_ok=True)
    reliability = [(r["confidence"], r["hit1"] if r["answerable"] else False) for r in final if r["half"] == "test"]
    args.report.write_text(
        json.dumps({"params": params, "halves": report, "test_reliability": reliability}, indent=1), encoding="utf-8"
    )
    print(json.dumps({k: v for k, v in params.items() if k not in ("mean", "scale")}, ensure_ascii=False))
    if "rerank" in params:
        print(f"reranker joined as {params['rerank']}; dev rows: the hold part only (the rest trained it)")
    done = [r for r in final if fitted_on(r["set"], r["half"])]
    absent = [r for r in final if r["half"] == "dev" and r["set"] == ABSENT]
    dev_hit = [report[f"{name}/dev"]["hit@1"] for name in dict.fromkeys(a.set for a in dev)]
    print(
        f"dev questions done right (what chooses; a right first quote, or 未找到 where none answers): "
        f"{sum(map(right, done))} of {len(done)}, and asked of a library that mostly lacks their laws "
        f"{sum(map(right, absent))} of {len(absent)}; mean dev hit@1 over the sets: {np.mean(dev_hit):.4f}"
    )
    print(f"{'set/half':<16}" + "".join(f"{k:>22}" for k in next(iter(report.values()))))
    for name, fig in report.items():
        print(f"{name:<16}" + "".join(f"{'' if v is None else v:>22}" for v in fig.values()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
