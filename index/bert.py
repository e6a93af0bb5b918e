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

from index.precision import Precision, resolve_precision


class BertEncoder:
    """Mean-pooled, normalised BERT embeddings from a sentence-transformers model directory."""

    def __init__(self, path: Path, device: str = "cpu", precision: Precision | None = None):
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
        fuse_qkv(self.w, self.layers)
        self.precision = precision or resolve_precision("auto", self.device.type)
        self.int8 = None
        if self.precision.int8:  # from the fp32 matrices, before any cast
            from index.int8 import Int8Linears

            self.int8 = Int8Linears.load(self.w)
        if self.precision.name == "bf16":  # cast the matrices once, not at every product under autocast
            cast_linears(self.w, torch.bfloat16)
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_length)

    def get_embedding_dimension(self) -> int:
        return int(self.w["embeddings.word_embeddings.weight"].shape[1])

    def encode(
        self,
        texts: list[str],
        batch_size: int = 16,
        show_progress_bar: bool = False,
        int8: bool = False,
        **_: object,
    ) -> np.ndarray:
        """Unit vectors for `texts`, batched by length so that little is spent on padding; `int8` runs the
        matrix products in int8 (`index.int8`, where the precision allows it)."""
        return self.encode_spans(texts, [[] for _ in texts], batch_size, show_progress_bar, int8)[0]

    def encode_spans(
        self,
        texts: list[str],
        spans: list[list[tuple[int, int]]],
        batch_size: int = 16,
        progress: bool = False,
        int8: bool = False,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Vectors of `texts` and, from the same forward pass, of character spans of each text.

        A span's vector mean-pools the token states that overlap it, so a passage's sentences get
        vectors without being encoded again. A span that truncation cut off gets a zero row.
        """
        dim = self.get_embedding_dimension()
        # batched by token count, not characters: sorted by characters, 10.5% of a law library's batch positions
        # were padding; by tokens, 0.2%
        encoded = self.tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i].ids))
        out = np.zeros((len(texts), dim), dtype=np.float32)
        pooled = [np.zeros((len(s), dim), dtype=np.float32) for s in spans]
        bar = tqdm(total=sum(map(len, texts)), desc="embedding", unit="char", unit_scale=True, disable=not progress)
        for begin in range(0, len(texts), batch_size):
            batch = order[begin : begin + batch_size]
            encodings = [encoded[i] for i in batch]
            states, mask = self._forward(encodings, int8)
            out[batch] = _pool(states, mask).cpu().numpy()
            for row, i in enumerate(batch):
                if spans[i]:
                    pooled[i] = _pool_spans(states[row], encodings[row].offsets, spans[i])
            bar.update(sum(len(texts[i]) for i in batch))
        bar.close()
        return out, pooled

    @torch.inference_mode()
    def _forward(self, encodings: list, int8: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Last hidden states (batch, tokens, dim), in float32, and the attention mask of tokenised texts."""
        ids, mask = batch_tensors(encodings, self.pad, self.device)
        if int8 and self.int8 is not None:
            return forward(self.w, ids, mask, self.heads, self.eps, self.layers, self.int8), mask
        with self.precision.autocast(self.device.type):
            states = forward(self.w, ids, mask, self.heads, self.eps, self.layers)
        return states.float(), mask


def batch_tensors(encodings: list, pad: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids padded to the longest encoding, and the mask of real tokens."""
    n = max(len(e.ids) for e in encodings)
    ids = torch.tensor([e.ids + [pad] * (n - len(e.ids)) for e in encodings], device=device)
    mask = torch.tensor([[1] * len(e.ids) + [0] * (n - len(e.ids)) for e in encodings], device=device)
    return ids, mask


def fuse_qkv(w: dict[str, torch.Tensor], layers: int) -> None:
    """Query, key and value as one matrix product: one short question's three small products cost more
    than one three times as wide."""
    for layer in range(layers):
        p = f"encoder.layer.{layer}.attention.self."
        for part in ("weight", "bias"):
            w[p + "qkv." + part] = torch.cat([w.pop(p + f"{t}.{part}") for t in ("query", "key", "value")])


def cast_linears(w: dict[str, torch.Tensor], dtype: torch.dtype) -> None:
    """The encoder layers' matrix weights and biases in `dtype` (layer norms and embeddings stay float32)."""
    for name in list(w):
        if name.startswith("encoder.layer.") and "LayerNorm" not in name:
            w[name] = w[name].to(dtype)


def forward(w, ids: torch.Tensor, mask: torch.Tensor, heads: int, eps: float, layers: int, linear=None) -> torch.Tensor:
    """A BERT encoder's last hidden states from a mapping of its (qkv-fused) weights by name; differentiable
    when the weights are parameters, so the trained reader runs the same code as the encoder. `linear(x, name)`
    replaces the matrix products (`index.int8`)."""

    def ln(x, name):
        return F.layer_norm(x, x.shape[-1:], w[name + ".weight"], w[name + ".bias"], eps)

    def dense(x, name):
        return F.linear(x, w[name + ".weight"], w[name + ".bias"])

    linear = linear or dense

    b, n = ids.shape
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n]
    x = ln(x + w["embeddings.token_type_embeddings.weight"][0], "embeddings.LayerNorm")
    attend = mask[:, None, None, :].bool()
    for layer in range(layers):
        p = f"encoder.layer.{layer}."
        qkv = linear(x, p + "attention.self.qkv").view(b, n, 3, heads, -1)
        q, k, v = (t.transpose(1, 2) for t in qkv.unbind(2))
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=attend).transpose(1, 2).reshape(b, n, -1)
        x = ln(x + linear(a, p + "attention.output.dense"), p + "attention.output.LayerNorm")
        x = ln(x + linear(F.gelu(linear(x, p + "intermediate.dense")), p + "output.dense"), p + "output.LayerNorm")
    return x


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
