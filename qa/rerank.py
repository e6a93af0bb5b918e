"""A reader that reads question and sentence together: a small cross-encoder grown from the bundled model.

Its layers start as the bundled e5-small's first few and are fine-tuned (`python -m training.reranker`) to
score whether a sentence answers a question, against a learned "no answer" score, on the dev halves of the
QA sets and the legal training data. Its input is the question and the sentence, both normalised (Simplified
script), as one pair (the shipped one reads the sentence alone; one trained with `--context before` reads it
followed by the sentence before it). What ships is `qa/data/reranker.safetensors`: those layers as int8 rows
with their scales, the head, each matrix's input ranges measured on training pairs, and what it was trained on;
the embedding table is the bundled model's own, shared with the question encoder in memory and never shipped
twice. Where the CPU has VNNI but no AMX tiles its
matrix products run in int8 (`index.int8`, as the question encoder's do), elsewhere in bf16 or fp32; a file in
float16 without ranges (an older reranker) loads and runs in bf16.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from tokenizers import Tokenizer

from index import (
    DEFAULT_MODEL_NAME,
    Int8Linears,
    Precision,
    batch_tensors,
    cast_linears,
    forward,
    fuse_qkv,
    resolve_precision,
)

RERANKER = Path(str(resources.files("qa") / "data" / "reranker.safetensors"))
EMBEDDINGS = (
    "embeddings.word_embeddings.weight",
    "embeddings.position_embeddings.weight",
    "embeddings.token_type_embeddings.weight",
    "embeddings.LayerNorm.weight",
    "embeddings.LayerNorm.bias",
)
SCALE = ".scale"  # beside an int8 matrix: its rows' scales
RANGES = "ranges."  # before a matrix's name: its inputs' measured ranges, what the int8 pass balances by
_FIX = "reinstall minsheng-qa, or train it again: python -m training.reranker"
BEFORE = "｜上文："  # between a sentence and the one before it, for a reranker trained to read both


def pair_text(sentence: str, before: str = "") -> str:
    """What a reranker trained with context reads for a sentence: the sentence, then the one before it (cut
    first when the pair is longer than the reranker reads)."""
    return f"{sentence}{BEFORE}{before}" if before else sentence


class RerankerError(RuntimeError):
    """The reranker file is missing, damaged or made for another model: say which file and what to run."""


def fingerprint(word_embeddings: torch.Tensor) -> str:
    """A cheap check that an embedding table is the one a reranker was trained on: a hash of its first rows."""
    head = word_embeddings[:64].detach().to(torch.float32).cpu().numpy()
    return hashlib.sha256(np.ascontiguousarray(head).tobytes()).hexdigest()[:16]


def base_weights(model_dir: Path, layers: int) -> dict[str, torch.Tensor]:
    """The bundled model's embeddings and first `layers` layers (qkv fused), float32: where training starts."""
    w = {}
    with safe_open(str(model_dir / "model.safetensors"), framework="pt") as f:
        for name in f.keys():  # noqa: SIM118 (safe_open is not a mapping)
            if name in EMBEDDINGS or any(name.startswith(f"encoder.layer.{i}.") for i in range(layers)):
                w[name] = f.get_tensor(name).float()
    fuse_qkv(w, layers)
    return w


@functools.lru_cache(maxsize=1)
def _embeddings(model_dir: Path) -> dict[str, torch.Tensor]:
    """The bundled model's embedding tables, read once per process when no question encoder holds them."""
    return base_weights(model_dir, 0)


@dataclass
class CrossEncoder:
    """Scores (question, sentence) pairs: the log-odds that the sentence answers, against "no answer"."""

    w: dict[str, torch.Tensor]  # embeddings (shared), trained layers, head
    config: dict  # layers, heads, eps, pad, max_length, what it was trained on
    tokenizer: Tokenizer
    precision: Precision
    int8: Int8Linears | None = None  # its matrix products in int8 (CPUs with VNNI, files with measured ranges)

    @classmethod
    def load(
        cls,
        model_dir: Path,
        embeddings: dict[str, torch.Tensor] | None = None,
        path: Path | None = None,
        precision: Precision | None = None,
    ) -> CrossEncoder:
        """The shipped reranker over the bundled model at `model_dir` (its embeddings taken from `embeddings`
        when the question encoder already holds them)."""
        path = Path(path or RERANKER)
        try:
            with safe_open(str(path), framework="pt") as f:
                config = json.loads(f.metadata()["config"])
                stored = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118
        except FileNotFoundError:
            raise RerankerError(f"the reranker {path} is missing; {_FIX}") from None
        except Exception as exc:  # safetensors raises its own error types for a damaged file
            raise RerankerError(f"the reranker {path} is damaged ({exc.__class__.__name__}); {_FIX}") from None
        shared = {k: embeddings[k] for k in EMBEDDINGS} if embeddings else _embeddings(Path(model_dir))
        if config.get("base") != DEFAULT_MODEL_NAME or fingerprint(shared[EMBEDDINGS[0]]) != config.get("fingerprint"):
            raise RerankerError(f"the reranker {path} was trained for another model ({config.get('base')}); {_FIX}")
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tokenizer.enable_truncation(config["max_length"], strategy="only_second")
        precision = precision or resolve_precision("auto", "cpu")
        ranges = {k.removeprefix(RANGES): v.float() for k, v in stored.items() if k.startswith(RANGES)}
        w = shared | dequantized({k: v for k, v in stored.items() if not k.startswith(RANGES)})
        int8 = Int8Linears(w, ranges) if precision.pairs == "int8" and ranges else None
        for name in ranges if int8 else ():  # packed in int8: the float matrices are not needed
            del w[name + ".weight"], w[name + ".bias"]
        if precision.name == "bf16" and int8 is None:
            cast_linears(w, torch.bfloat16)
        return cls(w, config, tokenizer, precision, int8)

    def logits(self, w: dict[str, torch.Tensor], pairs: list[tuple[str, str]], linear=None) -> torch.Tensor:
        """Each pair's score against "no answer", from weights `w` (differentiable: training calls this);
        `linear` replaces the matrix products (int8, or recording their ranges)."""
        c = self.config
        ids, mask = batch_tensors(self.tokenizer.encode_batch(pairs), c["pad"], w["head.weight"].device)
        with self.precision.autocast(ids.device.type) if linear is None else contextlib.nullcontext():
            states = forward(w, ids, mask, c["heads"], c["eps"], c["layers"], linear)
        m = mask[..., None].to(states.dtype)
        pooled = ((states * m).sum(1) / m.sum(1)).float()  # the mean over the pair's tokens, as e5 pools
        return pooled @ w["head.weight"].float().T[:, 0] + w["head.bias"].float() - w["none"].float()

    @property
    def context(self) -> bool:
        """Trained to read each sentence with the one before it (`pair_text`)."""
        return self.config.get("context") == "before"

    @torch.inference_mode()
    def scores(self, question: str, sentences: list[str], befores: list[str] | None = None) -> np.ndarray:
        """The log-odds, against "no answer", that each sentence answers `question`: one batched pass (each
        sentence with the one before it, `befores`, when the reranker was trained to read that too)."""
        if not sentences:
            return np.zeros(0, dtype=np.float32)
        if self.context:
            if befores is None:
                raise ValueError("this reranker reads each sentence with the one before it: give `befores`")
            sentences = [pair_text(s, b) for s, b in zip(sentences, befores, strict=True)]
        torch.set_num_threads(os.cpu_count() or 1)  # a batch of pairs gains from every core
        return self.logits(self.w, [(question, s) for s in sentences], self.int8).cpu().numpy().astype(np.float32)


def dequantized(stored: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Stored tensors as float32 weights: each int8 matrix times its rows' scales (float16 files load as they are)."""
    out = {}
    for name, t in stored.items():
        if name.endswith(SCALE):
            continue
        scale = stored.get(name + SCALE)
        out[name] = t.float() * scale.float()[:, None] if scale is not None else t.float()
    return out
