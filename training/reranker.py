"""Train the reranker (qa/data/reranker.safetensors): a cross-encoder from the bundled model's first layers.

    python -m training.reader --laws-index DIR          # first: every set's candidates, cached in runs/reader/
    python -m training.reranker                            # train, resumable; writes qa/data/reranker.safetensors
    python -m training.reranker --resume                   # carry on from runs/reranker/checkpoint.pt
    python -m training.reranker --device cuda --layers 12  # on a GPU, the whole depth
    python -m training.reranker --teacher DEEP.safetensors  # distil a deeper reranker's scores into this one
    python -m training.reranker --context before           # read each sentence with the one before it

Training groups, each a question with up to 12 sentences and a learned "no answer" slot (softmax over the
slot and the sentences; the target is the sentences holding the gold answer, or the slot when none does):

- the **fit part of the dev halves** (80% of each set's dev questions, by a hash of set and id) of every set
  `training/reader.py` collects: the shipped benchmark, the laws benchmark, DRCD, CMRC, DuReader, CJRC and the
  laws questions written for training (`written`, all of it dev, so never given as `--extra`). The
  sentences are the ones the reader's first stage ranks highest for that question: the hard negatives
  (the neighbouring clause of the right article) the reranker meets when answering. A question whose candidates
  hold no answer (unanswerable, or its document not retrieved) targets "no answer"; a sentence from another
  document that holds the answer's words is left out (it may well answer);
- in the second phase, **swapped** questions: a share of the answered ones asked again about something their
  candidates do not hold (the subject word swapped for a neighbouring sentence's; `swapped`), against "no
  answer": the 特困人员 standard must not answer for 低保;
- the legal training data of `../shared/eval/train/` (CAIL 2021, the CJRC training excerpt): each question
  against the sentences of its own case, unanswerable ones against "no answer"; YES/NO questions are skipped.

The other 20% of the dev halves (the hold part) chooses the checkpoint and fits how the reranker's score joins
the first stage (`training/reader.py`); test halves are never read here.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import pickle
import random
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from index.e5model import DEFAULT_MODEL_NAME, prepare_default_model
from index.embed import cache_root, resolve_device
from index.int8 import RangeRecorder, int8_rows
from index.normalizer import normalize
from index.precision import cpu_description, resolve_precision
from index.segment import split_sentences
from qa.read import rerank_order
from qa.rerank import (
    EMBEDDINGS,
    RANGES,
    RERANKER,
    SCALE,
    CrossEncoder,
    base_weights,
    dequantized,
    fingerprint,
    pair_text,
)
from training import LAWS_QUESTIONS, commit

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = ROOT / "runs" / "reader"
EXTRA = ROOT.parent / "shared" / "eval" / "train"
EVAL = ROOT.parent / "shared" / "eval"
DEV_SETS = {  # their dev halves, each question against its own paragraph's sentences
    "drcd": "drcd/DRCD_dev.json",
    "cmrc": "cmrc2018/cmrc2018_dev.json",
    "dureader": "dureader_robust/dev.json",
    "cjrc": "cjrc/dev.json",
}
WRITTEN = "written"  # training/data/laws_questions.json, collected by training/reader.py like the other sets
ABSENT = "absent"  # the same questions asked of the laws index, which lacks most of their laws (measured; with
# --absent also trained on, which did worse on dev: docs/figures.md)
COLLECTED = ("benchmark", "laws", WRITTEN, *DEV_SETS)  # the sets training/reader.py collects that train it
FIT_SETS = {"cmrc_trial": "cmrc2018/cmrc2018_trial.json"}  # fit data as a whole (the README of ../shared/eval)
EXTRA_SETS = {"cail2021": "train/cail2021_small_train.json", "cjrc_train": "train/cjrc_train_excerpt.json"}
LEFT_OUT = {"102", "381", "447"}  # CJRC dev cases that repeat the hidden test split's (eval/train/README.md)
CHECKPOINTS = ROOT / "runs" / "reranker"
GROUP = 8  # sentences per training question
HOLD = 0.2  # share of each set's dev questions kept out of training
HOLD_PER_SET = 150  # of which this many per set choose the checkpoint
SEED = 2026
RANGE_GROUPS = 256  # hold questions whose pairs measure the int8 pass's input ranges
SWAPS = 0.15  # share of the answered fit groups of the second phase also given with their subject swapped
RARE = 0.005  # a word that may be swapped in is in at most this share of the training sentences


class DataError(ValueError):
    """A training file that cannot be used: one line saying which and why."""


@dataclass(frozen=True)
class Group:
    """One training question: its sentences and which of them answer (none: the target is "no answer")."""

    set: str
    question: str
    sentences: tuple[str, ...]
    answers: tuple[bool, ...]


def held_out(set_name: str, qid: str) -> bool:
    """The hold part of a set's dev half: chooses the checkpoint and fits the combination, never trained on."""
    family = WRITTEN if set_name == ABSENT else set_name  # one question: in the same part wherever it is asked
    digest = hashlib.sha256(f"rerank/{family}/{qid}".encode()).digest()
    return digest[0] < 256 * HOLD


@functools.lru_cache(maxsize=1)
def _first_stage():
    """The shipped reader's first stage, read once."""
    from qa.reader_model import Model

    return Model.load()


def stage_one_order(asked) -> np.ndarray:
    """Candidates in the order the reader's first stage hands them to the reranker."""
    return rerank_order(_first_stage().probabilities(asked.x), asked.fits)


def candidate_group(asked, size: int = GROUP, before: bool = False) -> Group | None:
    """A question's top first-stage candidates; a gold sentence further down joins in place of the last (with
    `before`, each read with the sentence before it)."""
    if not len(asked.y) or not asked.texts:
        return None
    order = [int(i) for i in stage_one_order(asked)]
    ambiguous = asked.held & ~asked.y  # another document's sentence with the answer's words: not a negative
    order = [i for i in order if not ambiguous[i]]
    top = order[:size]
    missing = [i for i in order[size:] if asked.y[i]]
    if missing and not any(asked.y[i] for i in top):
        top[-1] = missing[0]
    question = asked.question or ""
    previous = befores(asked) if before else None
    if before and previous is None:
        raise DataError("the cached candidates hold no sentence before each: python -m training.reader --refresh")
    texts = tuple(pair_text(normalize(asked.texts[i]), previous[i] if previous else "") for i in top)
    return Group(asked.set, question, texts, tuple(bool(asked.y[i]) for i in top))


def own_paragraph_groups(
    folder: Path = EVAL, only: dict | None = None, before: bool = False
) -> tuple[list[Group], list[Group]]:
    """The fit and hold parts of the dev halves of the public sets (and the CMRC trial set as a whole) in
    `folder` (`only` these sets, when given); a set that is not there is left out."""
    from evaluation.benchmark import half

    fit, hold = [], []
    for name, rel in (only or DEV_SETS | FIT_SETS).items():
        if not (folder / rel).exists():
            print(f"train: {folder / rel} is not there; training without {name}", file=sys.stderr)
            continue
        dev = (lambda p: half(p) == "dev") if name in DEV_SETS else (lambda p: True)
        fit += squad_groups(folder / rel, name, lambda q, p, n=name, d=dev: d(p) and not held_out(n, q), before=before)
        hold += squad_groups(folder / rel, name, lambda q, p, n=name, d=dev: d(p) and held_out(n, q), before=before)
    return fit, _sample(hold, HOLD_PER_SET)


def _sample(groups: list[Group], per_set: int, seed: int = SEED) -> list[Group]:
    """At most `per_set` groups of each set, drawn with a fixed seed."""
    rng = random.Random(seed)
    out = []
    for name in dict.fromkeys(g.set for g in groups):
        of = [g for g in groups if g.set == name]
        out += rng.sample(of, min(per_set, len(of)))
    return out


def collected_files(folder: Path = CANDIDATES, skip: set[str] = frozenset(), also: tuple[str, ...] = ()) -> list[Path]:
    """The candidate files `training/reader.py` wrote for the sets it collects, less those in `skip` and with
    those in `also` (never any other file of the cache: an experiment's leftovers are not training data)."""
    paths = [folder / f"{name}.pkl" for name in sorted((*COLLECTED, *also)) if name not in skip]
    return [path for path in paths if path.exists()]


def candidate_groups(
    folder: Path = CANDIDATES, skip: set[str] = frozenset(), before: bool = False, also: tuple[str, ...] = ()
) -> tuple[list[Group], list]:
    """The fit part's groups, and the hold part's candidate rows (dev only: test halves are not read), of
    the sets `training/reader.py` collected, less those in `skip` and with those in `also`."""
    files = collected_files(folder, skip, also)
    if not files:
        print(f"train: no candidates in {folder} (python -m training.reader collects them)", file=sys.stderr)
    fit, hold = [], []
    for path in files:
        with path.open("rb") as f:
            _, rows = _Rows(f).load()
        for a in rows:
            if a.half != "dev" or not a.texts:
                continue
            if held_out(a.set, a.id):
                if (g := candidate_group(a, before=before)) is not None:
                    hold.append(g)
            elif (g := candidate_group(a, before=before)) is not None:
                fit.append(g)
    return fit, _sample(hold, HOLD_PER_SET)


_NOUN = re.compile(r"[\u4e00-\u9fff]{2,8}")  # a noun that may be swapped: Chinese characters only


def _nouns(text: str) -> set[str]:
    """The nouns of a text (jieba's part-of-speech tags n, nr, ns, nt, nz)."""
    import jieba.posseg

    return {w for w, tag in jieba.posseg.lcut(text, HMM=False) if tag.startswith("n") and _NOUN.fullmatch(w)}


def swapped(groups: list[Group], share: float = SWAPS, seed: int = SEED) -> list[Group]:
    """Counterfactual questions ("same topic, other group"): for `share` of the answered groups, the question's
    rarest noun that every answering sentence holds is replaced by a rare noun that only the other candidates
    hold (often the neighbouring clause's subject: 业主大会 → 业主委员会, 特困人员 → 低保对象); the candidates
    holding the new noun leave, and the target is "no answer": the remaining sentences are about something else."""
    rng = random.Random(seed)
    words = {s: _nouns(s) for g in groups for s in g.sentences}
    df = Counter(w for ws in words.values() for w in ws)
    rare = max(2, int(RARE * len(words)))
    out = []
    for g in groups:
        if not any(g.answers) or rng.random() >= share:
            continue
        right = [s for s, a in zip(g.sentences, g.answers, strict=True) if a]
        subject = [w for w in _nouns(g.question) if all(w in s for s in right)]
        pool = sorted({w for s, a in zip(g.sentences, g.answers, strict=True) if not a for w in words[s]})
        pool = [w for w in pool if df[w] <= rare and w not in g.question and not any(w in s for s in right)]
        if not subject or not pool:
            continue
        old, new = min(sorted(subject), key=lambda w: (df[w], -len(w))), rng.choice(pool)
        keep = tuple(s for s in g.sentences if new not in s)
        out.append(Group("swapped", g.question.replace(old, new), keep, (False,) * len(keep)))
    return out


class _Row:
    """A cached candidate row (`training/reader.py`'s `Asked`, pickled from a script): its fields only."""


def befores(asked) -> tuple[str, ...] | None:
    """The sentence before each of a cached row's candidates; None for a cache collected before they were kept
    (`python -m training.reader --refresh` collects them again)."""
    return getattr(asked, "befores", None) or None


class _Rows(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        return _Row if name == "Asked" else super().find_class(module, name)


def squad_groups(
    path: Path, name: str, keep=None, size: int = GROUP, seed: int = SEED, before: bool = False
) -> list[Group]:
    """Each question of a SQuAD 2.0 file against its own paragraph's sentences (YES/NO questions skipped;
    with `before`, each read with the sentence before it); `keep(question id, paragraph id)` chooses the
    questions (default all)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        items = [
            (p["context"], q)
            for a, article in enumerate(data["data"])
            if str(article.get("caseid", "")) not in LEFT_OUT
            for n, p in enumerate(article["paragraphs"])
            for q in p["qas"]
            if keep is None or keep(str(q["id"]), str(p.get("id") or f"{a}-{n}"))
        ]
        for _, q in items:
            q["question"], q["answers"]  # noqa: B018 (the fields every question needs)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise DataError(f"{path} is not a SQuAD-form file ({exc.__class__.__name__}: {exc})") from None
    rng = random.Random(seed)
    groups = []
    for context, q in items:
        spans = [a for a in _flat(q["answers"]) if a.get("text", "").strip()]
        texts = [a["text"] for a in spans]
        if set(texts) & {"YES", "NO"}:
            continue
        sentences = [normalize(s.clean) for s in split_sentences(context)]
        right = [any(normalize(t) in s for t in texts) for s in sentences]
        if texts and not any(right):
            continue  # an answer that crosses sentences: no one sentence holds it
        keep = [i for i, r in enumerate(right) if r]
        others = [i for i, r in enumerate(right) if not r]
        keep += rng.sample(others, max(0, min(len(others), size - len(keep))))
        keep.sort()
        groups.append(
            Group(
                name,
                normalize(q["question"]),
                tuple(pair_text(sentences[i], sentences[i - 1] if before and i else "") for i in keep),
                tuple(right[i] for i in keep),
            )
        )
    return groups


def _flat(answers) -> list[dict]:
    """Answers as one list of spans (CAIL 2021's multi-span answers are lists of lists)."""
    out = []
    for a in answers:
        out.extend(_flat(a) if isinstance(a, list) else [a])
    return out


def loss(logits: torch.Tensor, groups: list[Group], taught: dict | None = None, share: float = 0.0) -> torch.Tensor:
    """Listwise: per group, softmax over "no answer" (logit 0: the scores are already against it) and its
    sentences; minus the log of the probability given to the answering sentences, or to "no answer". With a
    teacher's scores (`taught`, distilling a deep reranker into a shallow one), `share` of it is instead the
    cross-entropy against the teacher's softmax over the same slots."""
    total, at = [], 0
    for g in groups:
        scores = torch.cat([logits.new_zeros(1), logits[at : at + len(g.sentences)]])
        at += len(g.sentences)
        target = torch.tensor([not any(g.answers), *g.answers], device=logits.device)
        value = torch.logsumexp(scores, 0) - torch.logsumexp(scores[target], 0)
        if taught:
            teacher = torch.softmax(torch.cat([torch.zeros(1), torch.as_tensor(taught[g])]), 0).to(scores.device)
            value = (1 - share) * value - share * (teacher * torch.log_softmax(scores.float(), 0)).sum()
        total.append(value)
    return torch.stack(total).mean()


def teach(path: Path, model_dir: Path, w: dict, groups: list[Group], cache: Path) -> dict:
    """A deeper reranker's scores of every training group (cached beside the checkpoints, so a resumed run
    does not score them again)."""
    if cache.exists():
        return torch.load(cache, weights_only=False)
    teacher = CrossEncoder.load(model_dir, {k: v.cpu() for k, v in w.items() if k in EMBEDDINGS}, path)
    taught = {g: teacher.scores(g.question, list(g.sentences)) for g in tqdm(groups, desc="teacher", unit="group")}
    torch.save(taught, cache)
    return taught


def batches(groups: list[Group], pairs: int, rng: random.Random) -> list[list[Group]]:
    """Groups shuffled, then packed into batches of about `pairs` sentence pairs."""
    order = groups[:]
    rng.shuffle(order)
    out, current, size = [], [], 0
    for g in order:
        current.append(g)
        size += len(g.sentences)
        if size >= pairs:
            out.append(current)
            current, size = [], 0
    return out + ([current] if current else [])


def first_right(model: CrossEncoder, w: dict, hold: list[Group]) -> dict:
    """On the hold part: how often the reranker's best sentence answers (questions with an answer), by set; and
    how often "no answer" beats every sentence when an answered question is asked about a neighbour's subject
    instead (`swapped`, "same topic, other group": measured, not what chooses the checkpoint)."""

    def scores(g: Group) -> np.ndarray:  # each sentence's log-odds against "no answer"
        return model.logits(w, [(g.question, s) for s in g.sentences]).float().cpu().numpy()

    right: dict[str, list[bool]] = {}
    with torch.inference_mode():
        for g in hold:
            if any(g.answers):
                right.setdefault(g.set, []).append(g.answers[int(np.argmax(scores(g)))])
        declined = [bool(scores(g).max() < 0) for g in swapped(hold, share=1.0) if g.sentences]
    out = {s: {"questions": len(v), "first_right": round(float(np.mean(v)), 4)} for s, v in sorted(right.items())}
    if declined:
        out["swapped"] = {"questions": len(declined), "declined": round(float(np.mean(declined)), 4)}
    return out


def save(path: Path, model: CrossEncoder, trainable: list[str], seen: list[Group]) -> None:
    """The trained layers as int8 rows with their scales (half of float16: a deep reranker stays small), the
    head in float32, and each matrix's input ranges measured on `seen`'s pairs (what the int8 pass balances
    by), with the config; written whole or not at all."""
    from safetensors.torch import save_file

    w = {n: t.detach().float().cpu() for n, t in model.w.items()}
    tensors = {}
    for n in trainable:
        if n.startswith("encoder.layer.") and w[n].dim() == 2:
            q, scale = int8_rows(w[n])
            tensors[n], tensors[n + SCALE] = q, scale.float()
        else:
            tensors[n] = w[n].contiguous()
    stored = dequantized(tensors) | {k: w[k] for k in EMBEDDINGS}  # the weights a load will run
    recorder = RangeRecorder(stored)
    with torch.inference_mode():
        for g in seen[:RANGE_GROUPS]:
            model.logits(stored, [(g.question, s) for s in g.sentences], linear=recorder)
    tensors |= {RANGES + n: r for n, r in recorder.ranges.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata={"config": json.dumps(model.config, ensure_ascii=False)})
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=4, help="how many of the bundled model's layers (default 4)")
    parser.add_argument("--epochs", type=float, default=1.5, help="passes over the training groups (default 1.5)")
    parser.add_argument("--pairs", type=int, default=32, help="sentence pairs per batch (default 32)")
    parser.add_argument("--lr", type=float, default=6e-5, help="peak learning rate of the layers (default 6e-5)")
    parser.add_argument("--head-lr", type=float, default=2e-3, help="… of the new head (default 2e-3)")
    parser.add_argument("--max-length", type=int, default=96, help="tokens of question + sentence (default 96)")
    parser.add_argument("--candidates", type=Path, default=CANDIDATES, help="training/reader.py's cache")
    parser.add_argument("--eval", type=Path, default=EVAL, help=f"the public QA sets' folder ({EVAL})")
    parser.add_argument("--extra", type=Path, nargs="*", help="SQuAD-form training files (default: the legal ones)")
    parser.add_argument(
        "--absent",
        action="store_true",
        help="second phase: also the written questions asked of the laws index that lacks their laws, against "
        '"no answer" (measured: worse on dev)',
    )
    parser.add_argument(
        "--groups",
        choices=("paragraphs", "candidates"),
        default="candidates",
        help="paragraphs: questions against their own paragraph (a first phase); candidates (default): against the "
        "first stage's top candidates, the sentences the reranker meets when answering",
    )
    parser.add_argument("--init", type=Path, help="start from this reranker (an earlier phase) instead of the model")
    parser.add_argument("--teacher", type=Path, help="distil this (deeper) reranker's scores into the one trained")
    parser.add_argument("--distil", type=float, default=0.5, help="share of the loss from --teacher (default 0.5)")
    parser.add_argument(
        "--swaps",
        type=float,
        default=SWAPS,
        help=f"share of answered groups also asked about a neighbour's subject, against no answer (default {SWAPS})",
    )
    parser.add_argument("--limit", type=int, help="train on this many groups only (a quick check)")
    parser.add_argument(
        "--measure", type=Path, nargs="+", metavar="FILE", help="print these rerankers' hold-part figures and exit"
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--precision", default="auto", help="auto (bf16 where the hardware has it), fp32, bf16")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--context",
        choices=("none", "before"),
        default="none",
        help="before: read each sentence with the one before it in its document (default none: the sentence alone)",
    )
    parser.add_argument("--resume", action="store_true", help=f"carry on from {CHECKPOINTS}/checkpoint.pt")
    parser.add_argument("--checkpoints", type=Path, default=CHECKPOINTS)
    parser.add_argument("--out", type=Path, default=RERANKER, help=f"where the trained reranker goes ({RERANKER})")
    args = parser.parse_args(argv)
    try:
        return measure(args.measure, args.candidates) if args.measure else train(args)
    except (DataError, RuntimeError) as exc:
        print(f"train: error: {exc}", file=sys.stderr)
        return 2


def measure(paths: list[Path], folder: Path) -> int:
    """Each reranker's figures on the second phase's hold part (what training prints at a checkpoint), in fp32."""
    model_dir = prepare_default_model(cache_root())
    hold = {}
    for path in paths:
        model = CrossEncoder.load(model_dir, None, path, precision=resolve_precision("fp32"))
        if model.context not in hold:
            hold[model.context] = candidate_groups(folder, before=model.context)[1]
        figures = first_right(model, model.w, hold[model.context])
        print(json.dumps({"reranker": str(path)} | figures, ensure_ascii=False))
    return 0


def train(args) -> int:
    t0 = time.perf_counter()
    device = resolve_device(args.device)
    precision = resolve_precision(args.precision, device)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    before = args.context == "before"
    if args.groups == "paragraphs":  # first phase: each question against its own paragraph's sentences
        fit, hold = own_paragraph_groups(args.eval, before=before)
        more, _ = candidate_groups(args.candidates, skip=set(DEV_SETS), before=before)
        fit += more
    else:  # second phase: against the first stage's top candidates from the retrieved passages
        fit, hold = candidate_groups(args.candidates, before=before, also=(ABSENT,) if args.absent else ())
        fit += swapped(fit, args.swaps, args.seed) + own_paragraph_groups(args.eval, FIT_SETS, before)[0]
    extra = args.extra if args.extra is not None else [args.eval / f for f in EXTRA_SETS.values()]
    for path in extra:
        if Path(path).resolve() == LAWS_QUESTIONS:
            raise DataError(f"{path} is the {WRITTEN} set, trained on through its candidates with its hold part kept "
                            "out (python -m training.reader collects them): leave it out of --extra")  # fmt: skip
        fit += squad_groups(path, Path(path).stem, before=before)
    if args.limit:
        fit, hold = rng.sample(fit, min(args.limit, len(fit))), hold[: args.limit]
    if not fit:
        raise DataError("no training questions: give --extra FILE, or see --eval and --candidates")
    counts = {s: sum(g.set == s for g in fit) for s in dict.fromkeys(g.set for g in fit)}
    print(f"training groups {counts}; hold {len(hold)} groups; {precision.name} ({precision.reason})", file=sys.stderr)
    model_dir = prepare_default_model(cache_root())
    config_json = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    w = {k: v.to(device) for k, v in base_weights(model_dir, args.layers).items()}
    hidden = w["embeddings.word_embeddings.weight"].shape[1]
    w["head.weight"] = torch.randn(1, hidden, device=device) * 0.02
    w["head.bias"] = torch.zeros(1, device=device)
    w["none"] = torch.zeros(1, device=device)
    if args.init:  # carry on from an earlier phase's reranker
        earlier = CrossEncoder.load(model_dir, w, args.init, precision=resolve_precision("fp32"))
        if earlier.config["layers"] != args.layers:
            raise DataError(f"--init {args.init} has {earlier.config['layers']} layers, not --layers {args.layers}")
        w |= {
            n: t.to(device) for n, t in earlier.w.items() if n not in w or n.startswith(("encoder.", "head.", "none"))
        }
    trainable = [n for n in w if n.startswith(("encoder.layer.", "head.", "none"))]
    for n in trainable:
        w[n].requires_grad_(True)
    config = {
        "base": DEFAULT_MODEL_NAME,
        "fingerprint": fingerprint(w["embeddings.word_embeddings.weight"]),
        "layers": args.layers,
        "heads": config_json["num_attention_heads"],
        "eps": config_json["layer_norm_eps"],
        "pad": config_json.get("pad_token_id", 1),
        "max_length": args.max_length,
    } | ({"context": "before"} if args.context == "before" else {})
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(args.max_length, strategy="only_second")
    model = CrossEncoder(w, config, tokenizer, precision)
    head = [n for n in trainable if not n.startswith("encoder.")]  # new weights: they must move faster
    optimizer = torch.optim.AdamW(
        [{"params": [w[n] for n in trainable if n not in head]}, {"params": [w[n] for n in head], "lr": args.head_lr}],
        lr=args.lr,
        weight_decay=0.01,
    )
    plan = [b for e in range(int(np.ceil(args.epochs))) for b in batches(fit, args.pairs, random.Random(args.seed + e))]
    plan = plan[: int(len(plan) * args.epochs / np.ceil(args.epochs))]
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / (0.05 * len(plan))) * max(0.0, 1 - step / len(plan))
    )
    start, best = 0, None
    checkpoint = args.checkpoints / "checkpoint.pt"
    args.checkpoints.mkdir(parents=True, exist_ok=True)
    taught = teach(args.teacher, model_dir, w, fit, args.checkpoints / "teacher.pt") if args.teacher else None
    if args.resume and checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        with torch.no_grad():
            for n in trainable:
                w[n].copy_(state["weights"][n])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        start, best = state["step"], state.get("best")
        print(f"resumed at step {start} of {len(plan)}", file=sys.stderr)
    every = max(len(plan) // 5, 1)
    bar = tqdm(total=len(plan), initial=start, desc="training reranker", unit="batch")
    running = None
    for step in range(start, len(plan)):
        groups = plan[step]
        pairs = [(g.question, s) for g in groups for s in g.sentences]
        value = loss(model.logits(w, pairs), groups, taught, args.distil)
        optimizer.zero_grad()
        value.backward()
        torch.nn.utils.clip_grad_norm_([w[n] for n in trainable], 1.0)
        optimizer.step()
        schedule.step()
        running = value.item() if running is None else 0.98 * running + 0.02 * value.item()
        bar.update(1)
        bar.set_postfix(loss=f"{running:.3f}")
        if (step + 1) % every == 0 or step + 1 == len(plan):
            figures = first_right(model, w, hold)
            chooses = [f["first_right"] for f in figures.values() if "first_right" in f]
            score = float(np.mean(chooses)) if chooses else 0.0
            tqdm.write(f"step {step + 1}: hold first-right {score:.4f} {json.dumps(figures)}")
            if best is None or score > best["score"]:
                best = {"score": score, "step": step + 1, "figures": figures}
                torch.save({n: w[n].detach().clone() for n in trainable}, args.checkpoints / "best.pt")
            state = {"weights": {n: w[n].detach() for n in trainable}, "optimizer": optimizer.state_dict(),
                     "schedule": schedule.state_dict(), "step": step + 1, "best": best}  # fmt: skip
            torch.save(state, checkpoint)
    bar.close()
    chosen = torch.load(args.checkpoints / "best.pt")
    for n in trainable:
        w[n] = chosen[n]
    config["trained"] = {
        "command": " ".join(["python -m training.reranker", *sys.argv[1:]]),
        "groups": counts,
        "kind": args.groups,
        "init": str(args.init) if args.init else None,
        "swaps": args.swaps if args.groups == "candidates" else 0.0,
        "teacher": {"path": str(args.teacher), "share": args.distil} if args.teacher else None,
        "sets": "fit part (80%) of the dev halves of drcd, cmrc, dureader, cjrc, the collected benchmarks and the "
        "written laws questions; " + ", ".join(["cmrc trial", *(Path(p).name for p in extra)]),
        "hold": best["figures"] if best else {},
        "chosen_step": best["step"] if best else None,
        "steps": len(plan),
        "epochs": args.epochs,
        "seed": args.seed,
        "precision": precision.name,
        "device": device,
        "cpu": cpu_description()["model"],
        "cpu_bf16": sorted(set(cpu_description()["flags"]) & {"avx512_bf16", "amx_bf16", "avx512_vnni", "avx2"}),
        "threads": torch.get_num_threads(),
        "wall_s": round(time.perf_counter() - t0, 1),
        "commit": commit(),
    }
    save(args.out, model, trainable, hold or fit)
    print(json.dumps(config["trained"], ensure_ascii=False), file=sys.stderr)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
