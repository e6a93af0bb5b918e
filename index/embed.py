"""Sentence-transformers encoder: loaded lazily, once; knows each model family's query/passage prompts."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from index.e5model import DEFAULT_MODEL_NAME, prepare_default_model

# Prompts for families that expect them but do not ship them in their config.
_KNOWN_PROMPTS = {
    "e5": ("query: ", "passage: "),
    "bge-": ("为这个句子生成表示以用于检索相关文章：", ""),
}


class Encoder:
    """Embeds questions and passages into unit vectors with one sentence-transformers model."""

    def __init__(self, model: str = DEFAULT_MODEL_NAME, cache_root: Path | None = None, batch_size: int = 32):
        self.name = model
        self.cache_root = cache_root
        self.batch_size = batch_size
        self._model = None

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
        if self.name == DEFAULT_MODEL_NAME:
            from index.bert import BertEncoder

            return BertEncoder(prepare_default_model(self.cache_root))
        from sentence_transformers import SentenceTransformer

        path = self.name
        try:
            return SentenceTransformer(path, device="cpu")
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

    def encode(self, texts: list[str], kind: str, progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one row per text; kind is "query" or "passage"."""
        prompt = self._prompt(kind)
        import torch

        # one short question gains nothing from a second thread; a build's batches do
        torch.set_num_threads(1 if kind == "query" else max(os.cpu_count() or 1, 1))
        vectors = self.model.encode(
            [prompt + t for t in texts],
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)
