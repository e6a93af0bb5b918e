"""Measure the ranges int8 questions are balanced by (index/data/e5_small_activations.safetensors).

    python -m training.calibrate          # ~20 s; reads ../shared/eval/train/, writes index/int8.ACTIVATIONS

Runs the bundled model in fp32 over the questions of the legal training data (CAIL 2021, the CJRC training
excerpt; never a dev or test split), one at a time so that no padding enters the ranges, and keeps each matrix
product's largest input magnitude per channel (`index.int8.RangeRecorder`). What it read and the commit are in
the file's metadata.
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
from training import ROOT, commit

SOURCES = ("cail2021_small_train.json", "cjrc_train_excerpt.json")


def questions(folder: Path) -> list[str]:
    """Every question of the SQuAD-form training files, in file order."""
    out = []
    for name in SOURCES:
        for article in json.loads((folder / name).read_text(encoding="utf-8"))["data"]:
            out += [q["question"] for p in article["paragraphs"] for q in p["qas"]]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "eval" / "train")
    parser.add_argument("--out", type=Path, default=ACTIVATIONS)
    args = parser.parse_args()
    try:
        texts = questions(args.data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"calibrate: cannot read the training questions in {args.data}: {exc}", file=sys.stderr)
        return 2
    encoder = BertEncoder(prepare_default_model(cache_root()), precision=Precision("fp32", "calibration"))
    prompt = encoder.prompts.get("query", "query: ")
    recorder = RangeRecorder(encoder.w)
    with torch.inference_mode():
        for text in tqdm(texts, desc="calibrating", unit="question"):
            ids, mask = batch_tensors(encoder.tokenizer.encode_batch([prompt + text]), encoder.pad, encoder.device)
            forward(encoder.w, ids, mask, encoder.heads, encoder.eps, encoder.layers, recorder)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"questions": str(len(texts)), "sources": ", ".join(SOURCES), "commit": commit()}
    meta["command"] = " ".join(["python -m training.calibrate", *sys.argv[1:]])
    save_file({k: v.to(torch.float16).contiguous() for k, v in recorder.ranges.items()}, str(args.out), meta)
    print(f"wrote {args.out} ({len(recorder.ranges)} ranges from {len(texts)} questions)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
