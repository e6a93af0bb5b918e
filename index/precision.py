"""The number format a model pass runs in, chosen once from the hardware: bf16 where the CPU has it, else fp32.

On a CPU whose flags include `avx512_bf16` or `amx_bf16`, `torch.autocast("cpu", dtype=torch.bfloat16)` runs
e5-small 2–3× faster than fp32 with vectors at cosine 0.9999 to fp32; on one without them bf16 is emulated
and several times slower, so `auto` never takes it there. A GPU takes bf16 when torch says it supports it.
The index build, the question encoder and the trained reader all ask `resolve_precision`. Where the CPU has
VNNI, the bundled encoder's passes (questions and passages) and the reranker's run their matrix products in int8
instead (`index.int8`): a single question is bound by reading the weights, and int8 reads half of what bf16 does.
The reranker's batch of pairs is bound by arithmetic: where the CPU has AMX tiles it stays in bf16 (measured on an
Intel Xeon with amx_bf16: 6 layers, 5 pairs, 17.3 ms in bf16 against 24.5 in int8; docs/figures.md).
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
from pathlib import Path

PRECISIONS = ("auto", "fp32", "bf16")
BF16_FLAGS = ("avx512_bf16", "amx_bf16")
VNNI_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")


@dataclass(frozen=True)
class Precision:
    """What a model pass runs in, and why."""

    name: str  # "fp32" or "bf16"
    reason: str
    int8: bool = False  # the bundled encoder's passes (questions and passages) in int8 instead
    amx: bool = False  # the CPU multiplies bf16 in AMX tiles: a batch of pairs runs faster in bf16 than in int8

    @property
    def questions(self) -> str:
        """What a question's own pass runs in beyond `name`: "int8", or "" for the same."""
        return "int8" if self.int8 else ""

    passages = questions  # the index build's passages: the same choice

    @property
    def question_pass(self) -> str:
        """What the bundled encoder's passes (questions and passages alike) run in."""
        return self.questions or self.name

    passage_pass = question_pass

    @property
    def pairs(self) -> str:
        """What the reranker's batch of pairs runs in: int8 with VNNI, unless AMX tiles make bf16 faster."""
        return "int8" if self.int8 and not self.amx else self.name

    def describe(self) -> str:
        """One line for --verbose: "bf16, questions int8, passages int8, reranker pairs bf16 (auto: …)"."""
        passes = f", questions int8, passages int8, reranker pairs {self.pairs}" if self.int8 else ""
        return f"{self.name}{passes} ({self.reason})"

    def autocast(self, device: str = "cpu"):
        """The context to run a forward pass in: bf16 autocast, or nothing for fp32."""
        if self.name == "fp32":
            return contextlib.nullcontext()
        import torch

        return torch.autocast(device.split(":")[0], dtype=torch.bfloat16)


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The CPU's feature flags as the kernel lists them (empty where there is no /proc/cpuinfo)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def cpu_description(cpuinfo: Path = Path("/proc/cpuinfo")) -> dict:
    """The CPU's model name and the flags that decide a model pass's speed: what every speed figure names."""
    try:
        lines = cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    model = next((ln.partition(":")[2].strip() for ln in lines if ln.startswith("model name")), "unknown")
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")
    return {"model": model, "flags": [f for f in wanted if f in cpu_flags(cpuinfo)]}


def cpu_bf16(flags: set[str] | None = None) -> str:
    """The CPU flag that makes bf16 native here, or "" when it would be emulated."""
    flags = cpu_flags() if flags is None else flags
    return next((f for f in BF16_FLAGS if f in flags), "")


def resolve_precision(requested: str = "auto", device: str = "cpu", flags: set[str] | None = None) -> Precision:
    """The precision to run in for `requested` on `device` ("cpu" or "cuda"); warns once when bf16 is asked
    of a CPU that would emulate it (it runs, correctly, several times slower)."""
    if requested not in PRECISIONS:
        raise RuntimeError(f"unknown precision {requested!r}; choose one of {', '.join(PRECISIONS)}")
    if device.startswith("cuda"):
        import torch

        native = torch.cuda.is_bf16_supported()
        found = "the GPU supports bf16" if native else "the GPU lacks bf16"
        flags = set()  # a GPU pass asks nothing of the CPU's flags (no int8, no AMX)
    else:
        flags = cpu_flags() if flags is None else flags
        flag = cpu_bf16(flags)
        native = bool(flag)
        found = f"the CPU has {flag}" if native else "the CPU has no avx512_bf16/amx_bf16"
    if requested == "fp32":
        return Precision("fp32", "asked for (--precision fp32)")
    if requested == "bf16":
        if not native:
            print(
                f"qa: warning: --precision bf16: {found}, so bf16 is emulated and several times slower", file=sys.stderr
            )
        return Precision("bf16", f"asked for (--precision bf16); {found}")
    vnni = next((f for f in VNNI_FLAGS if f in flags), "")
    found += f"; {vnni}" if vnni else ""
    return Precision("bf16" if native else "fp32", f"auto: {found}", bool(vnni), native and "amx_bf16" in flags)
