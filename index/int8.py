"""int8 passes: the bundled encoder's matrix products as dynamic int8 (fbgemm) on CPUs with VNNI.

One short question is bound by reading the weights, not by arithmetic: int8 halves what bf16 reads; a build's
batches of passages gain from the cheaper arithmetic. Activations are quantised per tensor at run time, so a few
channels with large values would cost the rest their precision; SmoothQuant (Xiao et al., 2023) moves that range
into the weights, per input channel, by ranges measured once on training questions and passages (`ACTIVATIONS`,
written by `python -m training.calibrate`). Measured on an AMD EPYC with avx512_bf16 and avx512_vnni: 5.5 ms a
question against 8.5 in bf16, vectors at mean cosine 0.9995 (questions) and 0.9994 (passages) to fp32
(docs/figures.md).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

ACTIVATIONS = Path(__file__).parent / "data" / "e5_small_activations.safetensors"
ALPHA = 0.7  # how much of an activation's range moves into the weights (0.5–0.8 tried: docs/figures.md)


class Int8Linears:
    """`linear(x, name)` for each matrix of a (qkv-fused) BERT weight map, as dynamic int8 products."""

    def __init__(self, w: dict[str, torch.Tensor], ranges: dict[str, torch.Tensor], alpha: float = ALPHA):
        self.packed: dict[str, object] = {}
        self.inverse: dict[str, torch.Tensor] = {}
        for name, seen in ranges.items():
            weight = w[name + ".weight"].float()
            smooth = seen.float().clamp(min=1e-5) ** alpha / weight.abs().amax(0).clamp(min=1e-5) ** (1 - alpha)
            self.packed[name] = torch.ops.quantized.linear_prepack(
                _per_channel_int8(weight * smooth), w[name + ".bias"].float()
            )
            self.inverse[name] = 1 / smooth

    def __call__(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return torch.ops.quantized.linear_dynamic(x * self.inverse[name], self.packed[name], False)

    @classmethod
    def load(cls, w: dict[str, torch.Tensor], path: Path = ACTIVATIONS) -> Int8Linears:
        """From the measured ranges in `path`; a missing, damaged or mismatched file is one RuntimeError."""
        try:
            ranges = load_file(str(path))
            return cls(w, ranges)
        except (OSError, KeyError, RuntimeError, ValueError, SafetensorError) as exc:
            raise RuntimeError(
                f"cannot use the int8 ranges in {path} ({exc.__class__.__name__}): reinstall, run "
                "`python -m training.calibrate`, or answer with --precision bf16 or fp32"
            ) from None


def int8_rows(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A matrix as symmetric int8 per output row, and each row's scale (double)."""
    scale = (weight.abs().amax(1) / 127).clamp(min=1e-12).double()
    return torch.clamp(torch.round(weight / scale[:, None]), -127, 127).to(torch.int8), scale


def _per_channel_int8(weight: torch.Tensor) -> torch.Tensor:
    """Symmetric int8 per output row, as fbgemm's prepacking wants it."""
    q, scale = int8_rows(weight)
    with warnings.catch_warnings():  # torch marks its quantised tensor types deprecated; fbgemm still takes them
        warnings.simplefilter("ignore", UserWarning)
        return torch._make_per_channel_quantized_tensor(q, scale, torch.zeros_like(scale, dtype=torch.long), 0)


class RangeRecorder:
    """A `linear` for `index.bert.forward` that computes in fp32 and records each input channel's largest
    magnitude: what `Int8Linears` balances by."""

    def __init__(self, w: dict[str, torch.Tensor]):
        self.w = w
        self.ranges: dict[str, torch.Tensor] = {}

    def __call__(self, x: torch.Tensor, name: str) -> torch.Tensor:
        seen = x.detach().abs().reshape(-1, x.shape[-1]).amax(0).float()
        self.ranges[name] = torch.maximum(self.ranges[name], seen) if name in self.ranges else seen
        return torch.nn.functional.linear(x, self.w[name + ".weight"], self.w[name + ".bias"])
