"""The reference an export is checked against: the build's clip plan applied to the recording, read here with
soundfile and soxr directly (not through weaklabel's reader or cutter).

A clip is the clip length of silence holding, from ``clip_pad_left_s`` on, the recording's audio from
``clip_source_start_s`` to ``clip_source_end_s`` (``segments.parquet``'s clip columns), averaged over its
channels and, for a file at another rate, resampled to 16 kHz with soxr's high quality. The first frame read is
``floor(clip_source_start_s * rate)``, as the build's reader takes it. ``tests/test_export.py`` and
``benchmarks/export_check.py`` compare every exported clip with :func:`reference_clip`.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

RATE = 16000


def reference_clip(audio_file: str | Path, row, clip_seconds: float) -> np.ndarray:
    """The clip of a ``segments.parquet`` row (a mapping or a named tuple with the clip columns), float32."""
    import soundfile as sf
    import soxr

    get = row.get if hasattr(row, "get") else lambda name: getattr(row, name)
    start, end, pad_s = get("clip_source_start_s"), get("clip_source_end_s"), get("clip_pad_left_s")
    samples, pad = int(round((end - start) * RATE)), int(round(pad_s * RATE))
    with sf.SoundFile(str(audio_file)) as handle:
        rate = handle.samplerate
        first = int(math.floor(start * rate))
        handle.seek(first)
        native = handle.read(int(math.ceil(end * rate)) - first, dtype="float32", always_2d=True).mean(axis=1)
    audio = native if rate == RATE else soxr.resample(native, rate, RATE, quality="HQ")
    clip = np.zeros(int(round(clip_seconds * RATE)), dtype=np.float32)
    audio = audio[:min(samples, len(clip) - pad)]
    clip[pad:pad + len(audio)] = audio
    return clip
