"""Sentence-transformers encoder: loaded lazily, once; knows each model family's query/passage prompts."""

from __future__ import annotations

import contextlib
import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from index.e5model import DEFAULT_MODEL_NAME, prepare_default_model
from index.precision import Precision, resolve_precision

# Prompts for families that expect them but do not ship them in their config.
_KNOWN_PROMPTS = {
    "e5": ("query: ", "passage: "),
    "bge-": ("为这个句子生成表示以用于检索相关文章：", ""),
}
DEVICES = ("auto", "cpu", "cuda")
BUILD_BATCH_CPU = 8


def cache_root() -> Path:
    """Where converted models and the built-in corpus's index are kept."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("minsheng-qa"))


def resolve_device(device: str) -> str:
    """ "cpu" or "cuda" for a requested device; "auto" takes a GPU when one is visible."""
    if device not in DEVICES:
        raise RuntimeError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    if device == "cpu":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if device == "cuda":
        raise RuntimeError("--device cuda: no CUDA GPU is visible on this machine; use --device cpu")
    return "cpu"


class Encoder:
    """Embeds questions and passages into unit vectors with one sentence-transformers model."""

    def __init__(
        self,
        model: str = DEFAULT_MODEL_NAME,
        cache_root: Path | None = None,
        batch_size: int = 32,
        device: str = "cpu",
        precision: str = "auto",
    ):
        self.name = model
        self.cache_root = cache_root
        self.batch_size = batch_size
        self.device = device
        self.requested_precision = precision
        self._precision: Precision | None = None
        self._model = None

    @property
    def precision(self) -> Precision:
        """What the model's passes run in (bf16 where the hardware has it), and why."""
        if self._precision is None:
            precision = resolve_precision(self.requested_precision, resolve_device(self.device))
            if self.name != DEFAULT_MODEL_NAME:  # the int8 passes are the bundled model's own
                precision = replace(precision, int8=False)
            self._precision = precision
        return self._precision

    @property
    def model(self):
        if self._model is None:
            self._model = self._load()
        return self._model

    def _load(self):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a model hub at run time
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        # idle OpenMP threads spin for CPU they do not get on a busy 2-core machine; let them sleep
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        device = resolve_device(self.device)
        if self.name == DEFAULT_MODEL_NAME:
            from index.bert import BertEncoder

            return BertEncoder(prepare_default_model(self.cache_root), device=device, precision=self.precision)
        from sentence_transformers import SentenceTransformer

        try:
            return SentenceTransformer(self.name, device=device)
        except (OSError, ValueError) as exc:
            raise RuntimeError(
                f"cannot load embedding model {self.name!r}: give a local sentence-transformers model "
                f"directory or a name already in the Hugging Face cache ({exc.__class__.__name__})"
            ) from None

    @property
    def dim(self) -> int:
        model = self.model
        get = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get())

    def _prompt(self, kind: str) -> str:
        prompts = getattr(self.model, "prompts", {}) or {}
        if kind in prompts:
            return prompts[kind]
        for key, (query, passage) in _KNOWN_PROMPTS.items():
            if key in self.name.lower():
                return query if kind == "query" else passage
        return ""

    def _batch(self, kind: str) -> int:
        # batches of 8 ran ~25% faster than 32 on a 2-core AVX2 CPU (activations stay in cache); a GPU wants more
        if kind == "passage" and self.name == DEFAULT_MODEL_NAME and resolve_device(self.device) == "cpu":
            return BUILD_BATCH_CPU
        return self.batch_size

    def _threads(self, kind: str) -> None:
        import torch

        # one short question in fp32 gains nothing from a second thread (its products wait on memory); in bf16
        # a second thread takes it from 11 to 7 ms, in int8 from 5.4 to 4.5 (AMD EPYC with avx512_bf16 and
        # avx512_vnni); a build's batches gain in all
        alone = kind == "query" and self.precision.question_pass == "fp32"
        torch.set_num_threads(1 if alone else max(os.cpu_count() or 1, 1))

    def encode(self, texts: list[str], kind: str, progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one row per text; kind is "query" or "passage"."""
        prompt = self._prompt(kind)
        self._threads(kind)
        int8 = self.precision.int8
        bundled = {"int8": True} if int8 else {}
        autocast = contextlib.nullcontext() if int8 else self.precision.autocast(resolve_device(self.device))
        with autocast:  # the bundled model's own pass casts too: a no-op
            vectors = self.model.encode(
                [prompt + t for t in texts],
                batch_size=self._batch(kind),
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=progress,
                **bundled,
            )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    def encode_spans(
        self, texts: list[str], spans: list[list[tuple[int, int]]], progress: bool = False
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors and, for each passage, vectors of its character spans (its sentences).

        The bundled model pools each span from the passage's own forward pass; any other model
        encodes the spans' texts separately.
        """
        if not hasattr(self.model, "encode_spans"):
            return encode_spans_separately(self, texts, spans, progress)
        prompt = self._prompt("passage")
        self._threads("passage")
        shifted = [[(a + len(prompt), b + len(prompt)) for a, b in s] for s in spans]
        vectors, pooled = self.model.encode_spans(
            [prompt + t for t in texts], shifted, self._batch("passage"), progress, self.precision.int8
        )
        for i, rows in enumerate(pooled):  # a span cut off by truncation: encode it on its own
            lost = [j for j in range(len(rows)) if not rows[j].any()]
            if lost:
                rows[lost] = self.encode([texts[i][slice(*spans[i][j])] for j in lost], "passage")
        return vectors, pooled


def encode_spans_separately(encoder, texts: list[str], spans: list[list[tuple[int, int]]], progress: bool = False):
    """`Encoder.encode_spans` by encoding every span's text on its own (each distinct text once)."""
    pieces = [[t[a:b] for a, b in s] for t, s in zip(texts, spans)]
    vectors = encoder.encode(texts, "passage", progress=progress)
    distinct = list(dict.fromkeys(p for row in pieces for p in row))
    found = dict(zip(distinct, encoder.encode(distinct, "passage", progress=progress))) if distinct else {}
    dim = vectors.shape[1]
    return vectors, [np.stack([found[p] for p in row]) if row else np.zeros((0, dim), np.float32) for row in pieces]
