"""Precision chosen from the hardware: bf16 autocast only where bf16 is computed natively.

On a CPU without bf16 instructions, torch emulates bf16 autocast, and fast.yaml's first
epoch took 424 s instead of 15.5 s (45.8 s in float32) on an AVX2-only AMD EPYC. So a
config says `prefer_bf16: true` and this picks: bf16-mixed on CPUs whose flags include
`avx512_bf16` or `amx_bf16` and on GPUs that support bf16; 16-mixed on other GPUs;
32-true on other CPUs. An explicit `trainer.precision` is never overridden.
"""

from pathlib import Path

import torch

NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def cpu_flags() -> set[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where there is none, e.g. macOS)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def cpu_description() -> str:
    """The CPU's model name and its vector and bf16 flags: every speed depends on them."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown"
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines()
                 if line.startswith("model name")), "unknown")  # fmt: skip
    available = cpu_flags()
    flags = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in available]
    return f"{name} ({', '.join(flags) or 'no AVX2'})"


def preferred_precision(accelerator: str | None) -> tuple[str, str]:
    """(precision, why) for a run that prefers bf16, on this machine's hardware."""
    on_gpu = accelerator not in ("cpu",) and torch.cuda.is_available()
    if on_gpu:
        if torch.cuda.is_bf16_supported():
            return "bf16-mixed", f"{torch.cuda.get_device_name()} supports bf16"
        return "16-mixed", f"{torch.cuda.get_device_name()} has no bf16: float16 autocast"
    native = sorted(NATIVE_BF16_FLAGS & cpu_flags())
    if native:
        return "bf16-mixed", f"the CPU computes bf16 natively ({', '.join(native)})"
    return "32-true", "the CPU has no native bf16 (no avx512_bf16/amx_bf16): float32"
