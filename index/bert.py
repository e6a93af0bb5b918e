"""A BERT sentence encoder in plain torch, for the bundled default model's directory.

It computes exactly what sentence-transformers computes for that directory (Transformer → mean pooling →
Normalize; a test pins cosine 1.0000) without importing transformers and sentence-transformers, which
alone take several seconds: the difference between a `qa ask` that starts in 4 s and one in 10 s.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from tokenizers import Tokenizer
from tqdm import tqdm


class BertEncoder:
    """Mean-pooled, normalised BERT embeddings from a sentence-transformers model directory."""

    def __init__(self, path: Path, device: str = "cpu"):
        path = Path(path)
        self.device = torch.device(device)
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        self.heads = config["num_attention_heads"]
        self.layers = config["num_hidden_layers"]
        self.eps = config["layer_norm_eps"]
        self.pad = config.get("pad_token_id", 0)
        self.max_length = json.loads((path / "sentence_bert_config.json").read_text())["max_seq_length"]
        st_config = json.loads((path / "config_sentence_transformers.json").read_text(encoding="utf-8"))
        self.prompts: dict[str, str] = st_config.get("prompts", {})
        self.w = load_file(str(path / "model.safetensors"), device=str(self.device))
        for layer in range(self.layers):  # query, key and value as one matrix product: one short question's
            p = f"encoder.layer.{layer}.attention.self."  # three small products cost more than one three times as wide
            for part in ("weight", "bias"):
                self.w[p + "qkv." + part] = torch.cat(
                    [self.w.pop(p + f"{t}.{part}") for t in ("query", "key", "value")]
                )
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_length)

    def get_embedding_dimension(self) -> int:
        return int(self.w["embeddings.word_embeddings.weight"].shape[1])

    def encode(
        self, texts: list[str], batch_size: int = 16, show_progress_bar: bool = False, **_: object
    ) -> np.ndarray:
        """Unit vectors for `texts`, batched by length so that little is spent on padding."""
        return self.encode_spans(texts, [[] for _ in texts], batch_size, show_progress_bar)[0]

    def encode_spans(
        self, texts: list[str], spans: list[list[tuple[int, int]]], batch_size: int = 16, progress: bool = False
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Vectors of `texts` and, from the same forward pass, of character spans of each text.

        A span's vector mean-pools the token states that overlap it, so a passage's sentences get
        vectors without being encoded again. A span that truncation cut off gets a zero row.
        """
        dim = self.get_embedding_dimension()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), dim), dtype=np.float32)
        pooled = [np.zeros((len(s), dim), dtype=np.float32) for s in spans]
        bar = tqdm(total=sum(map(len, texts)), desc="embedding", unit="char", unit_scale=True, disable=not progress)
        for begin in range(0, len(texts), batch_size):
            batch = order[begin : begin + batch_size]
            encodings = self.tokenizer.encode_batch([texts[i] for i in batch])
            states, mask = self._forward(encodings)
            out[batch] = _pool(states, mask).cpu().numpy()
            for row, i in enumerate(batch):
                if spans[i]:
                    pooled[i] = _pool_spans(states[row], encodings[row].offsets, spans[i])
            bar.update(sum(len(texts[i]) for i in batch))
        bar.close()
        return out, pooled

    def _ln(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return F.layer_norm(x, x.shape[-1:], self.w[name + ".weight"], self.w[name + ".bias"], self.eps)

    def _linear(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return F.linear(x, self.w[name + ".weight"], self.w[name + ".bias"])

    @torch.inference_mode()
    def _forward(self, encodings: list) -> tuple[torch.Tensor, torch.Tensor]:
        """Last hidden states (batch, tokens, dim) and the attention mask of tokenised texts."""
        n = max(len(e.ids) for e in encodings)
        ids = torch.tensor([e.ids + [self.pad] * (n - len(e.ids)) for e in encodings], device=self.device)
        mask = torch.tensor([[1] * len(e.ids) + [0] * (n - len(e.ids)) for e in encodings], device=self.device)
        w = self.w
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n]
        x = self._ln(x + w["embeddings.token_type_embeddings.weight"][0], "embeddings.LayerNorm")
        b, attend = x.shape[0], mask[:, None, None, :].bool()
        for layer in range(self.layers):
            p = f"encoder.layer.{layer}."
            qkv = self._linear(x, p + "attention.self.qkv").view(b, n, 3, self.heads, -1)
            q, k, v = (t.transpose(1, 2) for t in qkv.unbind(2))
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=attend).transpose(1, 2).reshape(b, n, -1)
            x = self._ln(x + self._linear(a, p + "attention.output.dense"), p + "attention.output.LayerNorm")
            ffn = self._linear(F.gelu(self._linear(x, p + "intermediate.dense")), p + "output.dense")
            x = self._ln(x + ffn, p + "output.LayerNorm")
        return x, mask


def _pool(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of the unmasked token states, normalised: what sentence-transformers' pooling computes."""
    m = mask[..., None].to(states.dtype)
    return F.normalize((states * m).sum(-2) / m.sum(-2).clamp(min=1), dim=-1)


def _pool_spans(states: torch.Tensor, offsets: list[tuple[int, int]], spans: list[tuple[int, int]]) -> np.ndarray:
    """One pooled, normalised vector per character span, from the tokens whose characters overlap it."""
    starts = np.array([a for a, _ in offsets])
    ends = np.array([b for _, b in offsets])
    real = ends > starts  # special tokens have empty offsets
    rows = np.zeros((len(spans), states.shape[-1]), dtype=np.float32)
    for j, (a, b) in enumerate(spans):
        take = np.flatnonzero(real & (starts < b) & (ends > a))
        if len(take):
            picked = states[torch.as_tensor(take, device=states.device)]
            rows[j] = F.normalize(picked.mean(0), dim=-1).cpu().numpy()
    return rows
