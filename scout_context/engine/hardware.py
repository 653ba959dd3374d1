"""What the engine runs on: GPUs (how many, over how many nodes, memory each, which model) or
the CPU, given by the user (`--gpus N --gpu-memory GiB`) or detected through torch."""

from __future__ import annotations

import re
from dataclasses import dataclass

from scout_context.errors import UsageError

_HOPPER_OR_NEWER = re.compile(r"\b(G?H(20|100|200|800)|G?B(100|200|300)|HOPPER|BLACKWELL)\b", re.IGNORECASE)
_GIB = 1 << 30


@dataclass(frozen=True)
class Hardware:
    """`gpus` in all, over `nodes`; or `gpus=0` and a CPU KV space."""

    gpus: int
    gpu_memory_gib: float = 0.0  # per GPU, as CUDA reports it (H100 80GB: 79.18)
    nodes: int = 1
    gpu_name: str = "H100"  # decides what kv_dtype "auto" means
    cpu_kv_space_gib: int | None = None

    def __post_init__(self) -> None:
        if self.gpus < 0 or self.nodes < 1:
            raise UsageError("GPU and node counts must be positive (0 GPUs for a CPU plan)")
        if self.gpus == 0:
            if self.cpu_kv_space_gib is None or self.cpu_kv_space_gib < 1 or self.gpu_memory_gib or self.nodes > 1:
                raise UsageError(
                    "0 GPUs is a CPU plan: give its KV cache space in whole GiB (--cpu-kv-space), no GPU memory, one node"
                )
            return
        if self.cpu_kv_space_gib is not None:
            raise UsageError("a CPU KV cache space only applies to a CPU plan (0 GPUs)")
        if self.gpu_memory_gib <= 0:
            raise UsageError("give each GPU's memory in GiB (--gpu-memory)")
        if self.gpus % self.nodes:
            raise UsageError(f"{self.gpus} GPUs do not split evenly over {self.nodes} nodes")

    @property
    def is_cpu(self) -> bool:
        return self.gpus == 0

    @property
    def hopper_or_newer(self) -> bool:
        return not self.is_cpu and bool(_HOPPER_OR_NEWER.search(self.gpu_name))

    def describe(self) -> str:
        """ "CPU", or "8 x H100 (79.18 GiB)", with the nodes when more than one."""
        if self.is_cpu:
            return "CPU"
        nodes = f" over {self.nodes} nodes" if self.nodes > 1 else ""
        return f"{self.gpus} x {self.gpu_name} ({self.gpu_memory_gib:g} GiB){nodes}"


def detect(gpus: int | None, gpu_memory_gib: float | None, cpu_kv_space_gib: int) -> Hardware:
    """The hardware given (`gpus` and `gpu_memory_gib`, for planning elsewhere), else CUDA's
    devices as torch sees them, else the CPU with `cpu_kv_space_gib` of KV cache."""
    if gpus == 0:
        return Hardware(0, cpu_kv_space_gib=cpu_kv_space_gib)
    if gpus is not None or gpu_memory_gib is not None:
        if gpus is None or gpu_memory_gib is None:
            raise UsageError("--gpus and --gpu-memory go together (GPUs in all, GiB each)")
        return Hardware(gpus, gpu_memory_gib)
    try:
        import torch
    except ImportError:
        return Hardware(0, cpu_kv_space_gib=cpu_kv_space_gib)
    if not torch.cuda.is_available() or torch.cuda.device_count() == 0:
        return Hardware(0, cpu_kv_space_gib=cpu_kv_space_gib)
    count = torch.cuda.device_count()
    memory = torch.cuda.get_device_properties(0).total_memory / _GIB
    return Hardware(count, round(memory, 2), gpu_name=torch.cuda.get_device_name(0))
