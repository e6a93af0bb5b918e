"""Measure the ranges int8 passes are balanced by (index/data/e5_small_activations.safetensors).

    python -m training.calibrate          # ~40 s; reads ../shared/eval/train/, writes index/int8.ACTIVATIONS

Runs the bundled model in fp32 over training data only, never a dev or test split: the questions of the legal
training data (CAIL 2021, the CJRC training excerpt), and as passages every second context of those and of the
written laws questions (training/data/laws_questions.json), their first 400 characters, 400 in all. Texts go one
at a time, so that no padding enters the ranges. It keeps each matrix product's largest input magnitude per
channel (`index.int8.RangeRecorder`); what it read and the commit are in the file's metadata.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from tqdm import tqdm

from index.bert import BertEncoder, batch_tensors, forward
from index.e5model import prepare_default_model
from index.embed import cache_root
from index.int8 import ACTIVATIONS, RangeRecorder
from index.precision import Precision
from training import LAWS_QUESTIONS, ROOT, commit

SOURCES = ("cail2021_small_train.json", "cjrc_train_excerpt.json")
PASSAGES = 400


def questions(folder: Path) -> list[str]:
    """Every question of the SQuAD-form training files, in file order."""
    return [q["question"] for p in _paragraphs([folder / name for name in SOURCES]) for q in p["qas"]]


def passages(folder: Path) -> list[str]:
    """Every second context of the training files and the written laws questions, first 400 characters."""
    contexts = [p["context"][:400] for p in _paragraphs([*(folder / n for n in SOURCES), LAWS_QUESTIONS])]
    return contexts[::2][:PASSAGES]


def _paragraphs(paths: list[Path]) -> list[dict]:
    return [
        p for path in paths for article in json.loads(path.read_text(encoding="utf-8"))["data"]
        for p in article["paragraphs"]
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "eval" / "train")
    parser.add_argument("--out", type=Path, default=ACTIVATIONS)
    args = parser.parse_args()
    encoder = BertEncoder(prepare_default_model(cache_root()), precision=Precision("fp32", "calibration"))
    try:
        asked, read = questions(args.data), passages(args.data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"calibrate: cannot read the training data in {args.data}: {exc}", file=sys.stderr)
        return 2
    texts = [encoder.prompts.get("query", "query: ") + t for t in asked]
    texts += [encoder.prompts.get("passage", "passage: ") + t for t in read]
    recorder = RangeRecorder(encoder.w)
    with torch.inference_mode():
        for text in tqdm(texts, desc="calibrating", unit="text"):
            ids, mask = batch_tensors(encoder.tokenizer.encode_batch([text]), encoder.pad, encoder.device)
            forward(encoder.w, ids, mask, encoder.heads, encoder.eps, encoder.layers, recorder)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"questions": str(len(asked)), "passages": str(len(read)), "commit": commit()}
    meta["sources"] = ", ".join([*SOURCES, str(LAWS_QUESTIONS.relative_to(ROOT))])
    meta["command"] = " ".join(["python -m training.calibrate", *sys.argv[1:]])
    save_file({k: v.to(torch.float16).contiguous() for k, v in recorder.ranges.items()}, str(args.out), meta)
    print(f"wrote {args.out} ({len(recorder.ranges)} ranges from {len(asked)} questions, {len(read)} passages)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
