"""The arithmetic a network runs in: ``--precision auto | float32 | bfloat16``.

``float32`` is the reference path. ``bfloat16`` runs the
convolutions on bfloat16 inputs and weights with float32 accumulation inside oneDNN's kernels (the activations
between layers are bfloat16); the pooled features are computed in float32 from the cut layer's
output. ``auto``, the default, resolves, on this machine, to ``bfloat16`` where the CPU has native
bfloat16 convolutions and to ``float32`` everywhere else, never silently to an emulated path:

* a CPU with AMX (``amx_bf16``): ``bfloat16`` -- oneDNN's AMX kernels (the issue's measurement: 3.5x float32 on
  VGG16's first four convolutions; not measured on this project's machines, which lack AMX);
* a CPU with AVX512-BF16 (``avx512_bf16``) but no AMX: ``bfloat16`` -- oneDNN's ``avx512_core_bf16`` kernels
  (this project's machines; what they give is measured in ``reports/embed_precision.md``);
* either of those with oneDNN turned off (``TF_ENABLE_ONEDNN_OPTS=0``): ``float32`` -- TensorFlow's own (Eigen)
  kernels have no native bfloat16 convolutions, so nothing says bfloat16 would be faster there (not measured);
* any other CPU (no bfloat16 instructions, or not x86-64): ``float32`` -- bfloat16 would be emulated.

The rule reads only the CPU's flags and the environment, never a timing, so the same machine always resolves the
same way (a timing taken under load could flip it). The resolved precision, not ``auto``, is what the embedding
cache key, ``model.json``, ``metrics.json`` and the training configuration hold (a benchmark's own ``config`` block
records the request); a model predicts in the precision it records. So a committed result made on a CPU with
bfloat16 records ``bfloat16``, and one made elsewhere ``float32``, for the same defaults.
"""
from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping

#: What ``--precision`` accepts.
PRECISIONS = ("auto", "float32", "bfloat16")
#: What a precision resolves to.
RESOLVED_PRECISIONS = ("float32", "bfloat16")
#: The product's default: bfloat16 where the CPU has native bfloat16 kernels, float32 elsewhere (so never slower
#: than float32). With speech-only frames 3.07x float32 + full on this project's AVX512-BF16 CPU, the weak-supervision
#: AUC unchanged (+0.0000 [-0.0003, +0.0003]) and the acted probe -0.001; reports/embed_precision.md,
#: docs/performance.md.
DEFAULT_PRECISION = "auto"
#: The reference precision, and what a record that names no precision was made with.
REFERENCE_PRECISION = "float32"
#: The CPU flags (``/proc/cpuinfo``) that give oneDNN native bfloat16 convolution kernels, best first.
BF16_FLAGS = ("amx_bf16", "avx512_bf16")


@dataclass(frozen=True)
class Precision:
    """A resolved precision: ``precision`` (``float32`` or ``bfloat16``), what was asked for and why."""

    precision: str
    requested: str
    reason: str

    def record(self) -> dict:
        return {"precision": self.precision, "requested": self.requested, "reason": self.reason}


@lru_cache(maxsize=None)
def cpu_flags(path: str = "/proc/cpuinfo") -> frozenset[str]:
    """The CPU's feature flags (the first ``flags`` line of ``/proc/cpuinfo``); empty where there is none. Read
    once per process and path (every config that resolves ``auto`` asks)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def onednn_enabled(env: Mapping[str, str] | None = None) -> bool:
    """Whether TensorFlow runs its oneDNN kernels: on by default on Linux x86-64 (TensorFlow >= 2.9), off when
    ``TF_ENABLE_ONEDNN_OPTS`` is ``0`` or ``false``."""
    env = os.environ if env is None else env
    return str(env.get("TF_ENABLE_ONEDNN_OPTS", "1")).strip().lower() not in ("0", "false", "off", "no")


def resolve_precision(requested: str = "auto", flags: frozenset[str] | None = None,
                      env: Mapping[str, str] | None = None, machine: str | None = None) -> Precision:
    """The precision ``requested`` gives on this machine (or on one with ``flags``, ``env`` and ``machine``).

    ``float32`` and ``bfloat16`` are kept as asked (an explicit ``bfloat16`` on a CPU without bfloat16
    instructions runs, emulated, and its reason says so); ``auto`` follows the rule of the module docstring.

    >>> resolve_precision("auto", frozenset({"avx2"}), {}, "x86_64").precision
    'float32'
    >>> resolve_precision("auto", frozenset({"avx512_bf16"}), {}, "x86_64").precision
    'bfloat16'
    >>> resolve_precision("auto", frozenset({"amx_bf16"}), {"TF_ENABLE_ONEDNN_OPTS": "0"}, "x86_64").precision
    'float32'
    """
    if requested not in PRECISIONS:
        raise ValueError(f"unknown precision {requested!r}; choose one of {', '.join(PRECISIONS)}")
    flags = cpu_flags() if flags is None else frozenset(flags)
    machine = (machine or platform.machine()).lower()
    native = next((f for f in BF16_FLAGS if f in flags), None)
    x86 = machine in ("x86_64", "amd64")
    if requested == "float32":
        return Precision("float32", requested, "asked for")
    if requested == "bfloat16":
        if native and x86 and onednn_enabled(env):
            return Precision("bfloat16", requested, f"asked for; the CPU has {native} (oneDNN's native kernels)")
        return Precision("bfloat16", requested, "asked for; this CPU or TensorFlow build has no native bfloat16 "
                                                "convolutions (no amx_bf16 or avx512_bf16 with oneDNN): emulated, "
                                                "likely slower than float32")
    if not x86:
        return Precision("float32", requested, f"auto: not x86-64 ({machine}), bfloat16 not measured there")
    if native is None:
        return Precision("float32", requested, "auto: the CPU has neither amx_bf16 nor avx512_bf16 (bfloat16 would "
                                               "be emulated, slower)")
    if not onednn_enabled(env):
        return Precision("float32", requested, f"auto: the CPU has {native}, but TF_ENABLE_ONEDNN_OPTS turns oneDNN "
                                               "off, and TensorFlow's own kernels have no native bfloat16 "
                                               "convolutions")
    if native == "amx_bf16":
        return Precision("bfloat16", requested, "auto: the CPU has AMX (amx_bf16): oneDNN's AMX kernels")
    return Precision("bfloat16", requested, "auto: the CPU has avx512_bf16 (no AMX): oneDNN's avx512_core_bf16 "
                                            "kernels (reports/embed_precision.md)")


def precision_option(default: str | None = DEFAULT_PRECISION, **kwargs):
    """The ``precision`` field of a config (:func:`foundation.config.option`): one of :data:`PRECISIONS`."""
    from foundation.config import option

    return option(default, choices=PRECISIONS, group="embedding", **kwargs,
                  help="arithmetic of the network: 'float32' (the reference), 'bfloat16' "
                       "(convolutions on bfloat16, float32 accumulation), 'auto' (bfloat16 where the CPU has native "
                       "bfloat16 convolutions with oneDNN, amx_bf16 or avx512_bf16; float32 elsewhere); the resolved "
                       "one is recorded and keys the embedding cache")


def resolved(requested: str) -> str:
    """``requested`` resolved on this machine (:func:`resolve_precision`): ``float32`` or ``bfloat16``."""
    return resolve_precision(requested).precision
