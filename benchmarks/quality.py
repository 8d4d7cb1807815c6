"""Speed against quality: embedding clips/s and RAVDESS probe ROC AUC for cut layers and mel resolutions.

For each log-mel resolution (n_mels, hop length) the RAVDESS clips (actors 1-6, positive vs negative
valence, neutral excluded) are turned into 7 s log-mel clips once; for each cut layer they are embedded
with the frozen VGG16 (batch 16, XLA, timed after a warm-up batch) and probed with a logistic regression,
leave-one-actor-out, exactly as ``benchmarks/compare_layers.py`` does. AUC comes with its bootstrap 95 %
interval; each setting is also compared with the default on the *same* bootstrap resamples (a paired
interval for the AUC difference), which is the sharper test of "within noise".
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from benchmarks.common import load1
from benchmarks.embed_speed import vgg16_conv_flops

DEFAULT_RESOLUTION = (128, 256)


def select_clips(corpus, per_actor: int | None, seed: int = 0):
    """Positive/negative RAVDESS rows; with ``per_actor``, a seeded sample of that many clips per actor."""
    corpus = corpus[corpus["valence"].isin(["positive", "negative"])].reset_index(drop=True)
    if per_actor:
        rng = np.random.default_rng(seed)
        keep = []
        for _, rows in corpus.groupby("speaker", sort=True):
            idx = rows.index.to_numpy()
            keep.extend(sorted(rng.choice(idx, size=min(per_actor, len(idx)), replace=False).tolist()))
        corpus = corpus.loc[sorted(keep)].reset_index(drop=True)
    return corpus


def speed_quality(ravdess_root: Path, weights, layers, resolutions, default_layer: str,
                  per_actor: int | None = None, batch_size: int = 16, n_bootstrap: int = 1000, seed: int = 0,
                  log=print) -> dict:
    """The table; see the module docstring. ``resolutions`` is a list of (n_mels, hop_length)."""
    import tensorflow as tf

    from transfer.features.vgg16 import DEFAULT_JIT, Embedder
    from foundation.metrics import binary_metrics, paired_auc_difference
    from transfer.probe import grouped_probe_predictions
    from evaluation.acted_corpora import read_ravdess
    from weaklabel.logmel import LogMelParams, clip_logmel_for_files

    tf.get_logger().setLevel("ERROR")  # one Embedder per setting: tf.function's retracing warnings are expected
    corpus = select_clips(read_ravdess(ravdess_root), per_actor, seed)
    rows, predictions = [], {}
    y = groups = None
    for n_mels, hop in resolutions:
        params = LogMelParams(n_mels=n_mels, hop_length=hop)
        logmel, errors = clip_logmel_for_files(corpus["path"].tolist(), 7.0, params)
        ok = np.array([e is None for e in errors])
        y = (corpus["valence"] == "positive").to_numpy(dtype=int)[ok]
        groups = corpus["speaker"].to_numpy()[ok]
        logmel = logmel[ok]
        for layer in layers:
            embedder = Embedder(weights, layer, image_shape=tuple(logmel.shape[1:]), jit=DEFAULT_JIT)
            embedder.embed_logmel(logmel[:batch_size], batch_size=batch_size)  # compile
            t = time.perf_counter()
            X = embedder.embed_logmel(logmel, batch_size=batch_size)
            rate = len(X) / (time.perf_counter() - t)
            p = grouped_probe_predictions(X, y, groups, seed=seed)
            m = binary_metrics(y, p, seed=seed, n_bootstrap=n_bootstrap)
            predictions[(layer, n_mels, hop)] = p
            flops = vgg16_conv_flops(n_mels, logmel.shape[2], layer)["total_flops"]
            rows.append({"layer": layer, "n_mels": n_mels, "hop_length": hop,
                         "image": [n_mels, int(logmel.shape[2]), 3], "dim": embedder.dim,
                         "clips_per_s": rate, "gflops_per_clip": flops / 1e9,
                         "roc_auc": m["roc_auc"], "roc_auc_ci95": m["roc_auc_ci95"],
                         "balanced_accuracy": m["balanced_accuracy"], "load1": load1()})
            log(f"  speed/quality {layer} n_mels={n_mels} hop={hop}: {rate:.1f} clips/s, AUC {m['roc_auc']:.3f} "
                f"{[round(v, 3) for v in m['roc_auc_ci95']]}")
            del embedder
    default_key = (default_layer, *DEFAULT_RESOLUTION)
    default = next((r for r in rows if (r["layer"], r["n_mels"], r["hop_length"]) == default_key), None)
    for row in rows:
        row["is_default"] = row is default
        if default is None:
            continue
        row["speed_vs_default"] = row["clips_per_s"] / default["clips_per_s"]
        row["flops_vs_default"] = row["gflops_per_clip"] / default["gflops_per_clip"]
        if row is default:
            continue
        paired = paired_auc_difference(y, predictions[default_key],
                                       predictions[(row["layer"], row["n_mels"], row["hop_length"])],
                                       n_bootstrap=n_bootstrap, seed=seed)
        lo, hi = default["roc_auc_ci95"]
        half_width = (hi - lo) / 2
        row["auc_difference_vs_default"] = paired
        row["within_noise"] = bool(abs(paired["difference"]) < half_width and paired["ci95"][0] <= 0 <= paired["ci95"][1])
        row["default_ci_half_width"] = half_width
    faster_within_noise = [r for r in rows if default and r is not default and r["flops_vs_default"] < 1
                           and r.get("within_noise")]
    return {
        "ravdess_root": str(ravdess_root), "clips": int(len(y)), "actors": int(len(np.unique(groups))),
        "positive_share": float(np.mean(y)), "per_actor_sample": per_actor, "batch_size": batch_size,
        "default": {"layer": default_layer, "n_mels": DEFAULT_RESOLUTION[0], "hop_length": DEFAULT_RESOLUTION[1]},
        "rows": rows,
        "faster_within_noise": [{"layer": r["layer"], "n_mels": r["n_mels"], "hop_length": r["hop_length"],
                                 "flops_vs_default": r["flops_vs_default"], "auc": r["roc_auc"]}
                                for r in faster_within_noise],
        "within_noise_rule": ("|AUC - default AUC| below the default's CI half-width AND the paired bootstrap "
                              "95 % interval of the difference contains 0"),
    }
