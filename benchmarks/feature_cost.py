"""Feature cost per clip: each extractor against today's (VGG16 ``block2_conv2``, band pooling), on real clips.

In paired rounds on the same RAVDESS clips (each a few seconds of speech, centred in the 7 s clip as the build
does):

* ``vgg16``: ``Embedder.embed_logmel`` of the clips' log-mel, batch 16 (the build computes the log-mel anyway);
* ``decode``: decoding each clip's speech span again with the build's decoder (``AudioReader.read_span``,
  resampled to 16 kHz), what ``--features egemaps`` adds before openSMILE runs;
* ``egemaps``: decode plus openSMILE's eGeMAPSv02 functionals over the span, in a fresh process without
  TensorFlow (openSMILE cannot share a process with it: :mod:`transfer.features.egemaps`), timed there.

Each figure is milliseconds per clip in one process (single-threaded openSMILE; TensorFlow uses every core); the
ratio to VGG16 is taken per round. The decode share says whether computing eGeMAPS in the build's workers (where
the audio is already decoded) would save anything worth the coupling.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def _clip_paths(ravdess: Path, n: int) -> list[str]:
    files = sorted(str(p) for p in Path(ravdess).rglob("*") if p.suffix.lower() in (".wav", ".flac"))
    step = max(1, len(files) // n)
    return files[::step][:n]


def _time_egemaps(paths: list[str], clip_seconds: float) -> dict:
    """In a fresh process: seconds to decode every clip, and to decode and compute its functionals."""
    from evaluation.acted import clip_audio
    from transfer.features.egemaps import functionals, smile

    smile()  # made once per process, outside the timing
    functionals(clip_audio(paths[0], clip_seconds, 16000), 16000)  # warm-up
    t = time.perf_counter()
    decoded = [clip_audio(p, clip_seconds, 16000) for p in paths]
    decode_s = time.perf_counter() - t
    t = time.perf_counter()
    for p in paths:
        functionals(clip_audio(p, clip_seconds, 16000), 16000)
    both_s = time.perf_counter() - t
    return {"decode_s": decode_s, "egemaps_s": both_s, "speech_seconds": float(sum(len(x) for x in decoded) / 16000)}


def measure_feature_cost(ravdess: Path, weights, n_clips: int = 48, rounds: int = 3, log=print) -> dict:
    from transfer.features.vgg16 import DEFAULT_LAYER, Embedder
    from weaklabel.audio import DEFAULT_CLIP_SECONDS
    from weaklabel.logmel import LogMelParams, clip_logmel_for_files

    paths = _clip_paths(ravdess, n_clips)
    mel = LogMelParams()
    logmel, _ = clip_logmel_for_files(paths, DEFAULT_CLIP_SECONDS, mel)
    embedder = Embedder(weights, DEFAULT_LAYER, image_shape=logmel.shape[1:])
    embedder.embed_logmel(logmel[:16], batch_size=16)  # warm-up: the graph traced once
    per_round = []
    for r in range(rounds):
        t = time.perf_counter()
        embedder.embed_logmel(logmel, batch_size=16)
        vgg_s = time.perf_counter() - t
        code = ("import json, sys; from benchmarks.feature_cost import _time_egemaps; "
                f"print(json.dumps(_time_egemaps({paths!r}, {DEFAULT_CLIP_SECONDS!r})))")
        child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                               cwd=str(Path(__file__).resolve().parents[1]))
        ege = json.loads(child.stdout.strip().splitlines()[-1])
        n = len(paths)
        row = {"round": r, "vgg16_ms": 1000 * vgg_s / n, "decode_ms": 1000 * ege["decode_s"] / n,
               "egemaps_ms": 1000 * ege["egemaps_s"] / n, "speech_s_per_clip": ege["speech_seconds"] / n}
        row["egemaps_vs_vgg16"] = row["egemaps_ms"] / row["vgg16_ms"]
        row["decode_share_of_egemaps"] = row["decode_ms"] / row["egemaps_ms"]
        per_round.append(row)
        log(f"round {r}: vgg16 {row['vgg16_ms']:.1f} ms/clip, egemaps {row['egemaps_ms']:.1f} ms/clip "
            f"(decode {row['decode_ms']:.1f}), ratio {row['egemaps_vs_vgg16']:.2f}")
    med = {k: float(np.median([r[k] for r in per_round])) for k in per_round[0] if k != "round"}
    return {"clips": len(paths), "rounds": per_round, "median": med, "layer": DEFAULT_LAYER,
            "clip_seconds": DEFAULT_CLIP_SECONDS, "corpus": Path(ravdess).name}
