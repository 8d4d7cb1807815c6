"""Embedding precision and frames (issue 23): float32 / bfloat16, whole clip / speech-only frames, in one run.

    python -m benchmarks.embed_precision --ravdess ../shared/data/ravdess_actors_01-06

On the acted corpus's valence clips (RAVDESS actors 1-6: each utterance centred in the build's 7 s clip, log-mel as
the build computes it), four paths of VGG16 (``block2_conv2``, band pooling, batch 16, the real weights):

* ``float32 + full`` (the reference: the path before issue 23), ``bfloat16 + full``, ``float32 + speech``,
  ``bfloat16 + speech`` (the default where ``--precision auto`` resolves to bfloat16; elsewhere the default is
  ``float32 + speech``);
* **speed**: ``Embedder.embed_logmel`` clips/s over every clip, after a warm-up (network built, the first
  batch traced: the *warm-up* the projection adds; then every clip once, untimed, so every batch width is traced),
  in rounds whose order rotates (and reverses every other round) so every path sees the same load; the ratio to
  ``float32 + full`` is taken per round;
* **the bound**: the best float32 GEMM rate (NumPy and TensorFlow ``matmul``, 2048 x 2048) and the best bfloat16
  GEMM rate (TensorFlow ``matmul`` on bfloat16 tensors: oneDNN's kernels), measured between the paths in every
  round; each path's share is the convolution FLOPs it computes per second (the frames it is given, padding
  included) over the GEMM rate of its precision;
* **agreement**: each path's features against ``float32 + full`` (largest difference over each clip's largest
  feature, and the mean relative difference);
* **quality**: the acted-corpus probe (logistic regression, leave-one-actor-out, as ``benchmarks.compare_layers``
  and ``pipelines.evaluate_acted`` run it) ROC AUC with a speaker-bootstrap 95 % interval, and the difference to
  ``float32 + full`` with a paired speaker-bootstrap interval;
* **projection** to CMU-MOSEI's 23,500 clips on this machine, end to end: the build at the rate of
  ``reports/benchmarks.json`` section 1 (``build_dataset``, two workers), the embedding at each path's measured
  rate plus its warm-up, the default head trained on 23,500 rows of this run's feature width (timed here).

The weak-supervision AUC per path is not measured here: ``benchmarks.embed_precision_weak`` pairs the default recipe
over the reference path (float32, whole clips) with the committed run of the defaults
(``reports/embed_precision_weak/``).
Writes ``OUT.json`` and ``OUT.md`` (the Markdown rendered from the JSON: :func:`markdown`).
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from benchmarks.common import load1, machine_info, median, spread  # noqa: E402

#: (precision, frames) of every path, the reference first.
PATHS = (("float32", "full"), ("bfloat16", "full"), ("float32", "speech"), ("bfloat16", "speech"))
REFERENCE = PATHS[0]
MOSEI_CLIPS = 23_500
PROJECTION_TARGET_MINUTES = 10.0
#: What the record says of the weak-supervision AUC (measured by another entry).
WEAK_SUPERVISION_NOTE = ("not measured here: benchmarks.embed_precision_weak runs the weak-supervision benchmark's "
                         "default recipe at p = 0.75 in float32 over whole clips, paired run by run with the "
                         "committed run of the defaults (reports/embed_precision_weak/comparison.md)")
#: The issue's target for the default path on a CPU with AMX (not measurable on a machine without it).
AMX_TARGET_RATIO = 3.0


def path_name(path: tuple[str, str]) -> str:
    return f"{path[0]} + {path[1]}"


def cpu_bf16_flags() -> list[str]:
    from transfer.features.precision import BF16_FLAGS, cpu_flags

    return [f for f in BF16_FLAGS if f in cpu_flags()]


def gemm_gflops(dtype: str, n: int, repeats: int = 5) -> float:
    """Best TensorFlow ``matmul`` rate (GFLOP/s) of ``repeats`` n x n products in ``dtype`` (float32, bfloat16)."""
    from benchmarks.embed_speed import tf_matmul_gflops

    return tf_matmul_gflops(n, repeats, dtype)


def float32_gemm_gflops(n: int) -> float:
    """The better of NumPy's and TensorFlow's float32 GEMM (as ``benchmarks.embed_speed`` measures the bound)."""
    from benchmarks.embed_speed import matmul_gflops

    return max(matmul_gflops(n), gemm_gflops("float32", n))


def computed_flops(logmel: np.ndarray, layer: str, batch_size: int, frames: str) -> int:
    """Convolution FLOPs the network computes for ``logmel`` ``(n, n_mels, n_frames)`` on ``frames``: the widths
    it is given (speech-only: each batch's planned width, :meth:`transfer.features.vgg16.Embedder._embed_speech`;
    whole clips: every batch, the last padded to ``batch_size``)."""
    from benchmarks.embed_speed import vgg16_conv_flops
    from transfer.features import vgg16, vgg16_frames

    n, n_mels, n_frames = logmel.shape
    if frames == "full":
        return -(-n // batch_size) * batch_size * vgg16_conv_flops(n_mels, n_frames, layer)["total_flops"]
    total = 0
    n_out = vgg16_frames.output_width(n_frames, layer)
    for block in range(0, n, vgg16.PLAN_CLIPS):
        clips = np.asarray(logmel[block:block + vgg16.PLAN_CLIPS])
        mask = vgg16_frames.frames_at_layer(vgg16_frames.speech_frames(clips), n_out)
        mask[~mask.any(axis=1)] = True
        _, widths = vgg16_frames.speech_windows(mask, layer, n_frames)
        for members, width in vgg16_frames.plan_batches(widths, batch_size, n_frames):
            total += len(members) * vgg16_conv_flops(n_mels, width, layer)["total_flops"]
    return total


def agreement(got: np.ndarray, want: np.ndarray) -> dict:
    """How far ``got`` is from ``want`` (n, dim): per clip the largest difference over the clip's largest feature
    (max and median over clips), and the mean over all features of ``|got - want| / (|want| + 1e-6 max|want|)``."""
    scale = np.abs(want).max(axis=1, keepdims=True)
    per_clip = (np.abs(got - want) / np.maximum(scale, 1e-30)).max(axis=1)
    rel = np.abs(got - want) / (np.abs(want) + 1e-6 * scale)
    return {"max_of_clip_max": float(per_clip.max()), "median_of_clip_max": float(np.median(per_clip)),
            "mean_relative": float(rel.mean()), "bitwise_equal": bool(np.array_equal(got, want))}


def time_head_training(n_rows: int, dim: int, seed: int = 0) -> dict:
    """Seconds to standardise and train the default head on ``n_rows`` x ``dim`` synthetic features (the
    training's cost does not depend on what the features are, only on their shape), 10 % held out."""
    from transfer.head import HeadConfig, train_head
    from transfer.standardise import GroupStandardiser

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, dim), dtype=np.float32)
    y = (X[:, :8].sum(axis=1) + rng.standard_normal(n_rows) > 0).astype(int)
    groups = np.arange(n_rows) // 25
    n_val = max(2, n_rows // 10)
    t = time.perf_counter()
    standardiser = GroupStandardiser()
    standardiser.fit(X, groups)
    Z = standardiser.transform(X, groups)
    config = HeadConfig()
    train_head(Z[n_val:], y[n_val:], np.ones(n_rows - n_val), Z[:n_val], y[:n_val], config, seed=seed)
    return {"rows": n_rows, "dim": dim, "head": config.kind, "seconds": time.perf_counter() - t}


def build_rate(benchmarks_json: Path) -> dict | None:
    """The build's cost from ``reports/benchmarks.json`` section 1 (``build_dataset``, two workers)."""
    try:
        record = json.loads(Path(benchmarks_json).read_text(encoding="utf-8"))
        summary = record["sections"]["build"]["summary"]["build_workers2"]
    except (OSError, ValueError, KeyError):
        return None
    return {"source": f"{benchmarks_json} section 1 (build_dataset, workers=2, {record['sections']['build']['corpus']}"
                      f", {record['sections']['build']['segments']} segments, started {record.get('started_utc')})",
            "per_segment_ms": summary["per_segment_ms_median"], "fixed_s": summary["fixed_wall_s_median"]}


def feature_cost(benchmarks_json: Path) -> dict | None:
    """The eGeMAPS extractor's cost per clip as ``reports/benchmarks.json`` records it (the features section)."""
    try:
        features = json.loads(Path(benchmarks_json).read_text(encoding="utf-8"))["sections"]["features"]
    except (OSError, ValueError, KeyError):
        return None
    med = features.get("median") or {}
    if not med:
        return None
    return {"source": f"{benchmarks_json}, features section ({features.get('clips')} {features.get('corpus')} clips)",
            "vgg16_float32_full_ms": med.get("vgg16_ms"), "egemaps_ms": med.get("egemaps_ms"),
            "decode_ms": med.get("decode_ms")}


def measure(ravdess: Path, weights, layer: str, batch_size: int, rounds: int, gemm_n: int, n_bootstrap: int,
            seed: int, max_clips: int | None, train_rows: int, benchmarks_json: Path, log=print) -> dict:
    from foundation.metrics import binary_metrics, paired_auc_difference
    from transfer.features.precision import DEFAULT_PRECISION, resolve_precision
    from transfer.features.vgg16 import DEFAULT_FRAMES, Embedder
    from transfer.features.vgg16_frames import speech_frames
    from transfer.probe import grouped_probe_predictions
    from weaklabel.audio import DEFAULT_CLIP_SECONDS
    from weaklabel.logmel import LogMelParams, clip_logmel_for_files
    from evaluation.acted_corpora import read_ravdess

    started_load = load1()
    corpus = read_ravdess(ravdess)
    corpus = corpus[corpus["valence"].isin(["positive", "negative"])].sort_values("path").reset_index(drop=True)
    if max_clips:
        corpus = corpus.iloc[:max_clips]
    mel = LogMelParams()
    logmel, errors = clip_logmel_for_files(corpus["path"].tolist(), DEFAULT_CLIP_SECONDS, mel)
    ok = np.array([e is None for e in errors])
    logmel = logmel[ok]
    y = (corpus["valence"] == "positive").to_numpy(dtype=int)[ok]
    groups = corpus["speaker"].astype(str).to_numpy()[ok]
    speech_share = float(speech_frames(logmel).mean())
    log(f"{len(logmel)} clips, {len(np.unique(groups))} actors, speech share {speech_share:.2f}")

    embedders, warmup_s, flops, features = {}, {}, {}, {}
    for path in PATHS:
        t = time.perf_counter()
        embedder = Embedder(weights, layer, image_shape=logmel.shape[1:], precision=path[0], frames=path[1])
        embedder.embed_logmel(logmel[:batch_size], batch_size=batch_size)  # built, traced, kernels chosen
        warmup_s[path] = time.perf_counter() - t
        # every batch width once (speech-only frames trace a few shapes before tf.function relaxes them)
        features[path] = embedder.embed_logmel(logmel, batch_size=batch_size)
        embedders[path] = embedder
        flops[path] = computed_flops(logmel, layer, batch_size, path[1])
    gemm = {"float32": [], "bfloat16": []}
    runs = {path: [] for path in PATHS}
    for r in range(rounds):
        order = list(PATHS[r % len(PATHS):] + PATHS[:r % len(PATHS)])
        if r % 2:
            order = order[::-1]
        round_rates = {}
        for path in order:
            gemm["float32"].append(float32_gemm_gflops(gemm_n))
            gemm["bfloat16"].append(gemm_gflops("bfloat16", gemm_n))
            t = time.perf_counter()
            X = embedders[path].embed_logmel(logmel, batch_size=batch_size)
            wall = time.perf_counter() - t
            if not np.array_equal(X, features[path]):
                raise AssertionError(f"{path_name(path)}: another round gave other bytes")
            round_rates[path] = len(logmel) / wall
            runs[path].append({"round": r, "clips_per_s": round_rates[path], "wall_s": wall,
                               "computed_gflops": flops[path] / wall / 1e9, "load1": load1()})
            log(f"  round {r + 1}/{rounds} {path_name(path)}: {round_rates[path]:.1f} clips/s "
                f"({flops[path] / wall / 1e9:.0f} GFLOP/s computed; load {load1()})")
        for path in PATHS:
            runs[path][-1]["ratio_to_reference"] = round_rates[path] / round_rates[REFERENCE]
    best_gemm = {k: max(v) for k, v in gemm.items()}

    reference_X = features[REFERENCE]
    probes = {}
    for path in PATHS:
        p = grouped_probe_predictions(features[path], y, groups, seed=seed)
        probes[path] = p
    reference_probe = probes[REFERENCE]
    rows = []
    for path in PATHS:
        rates = [x["clips_per_s"] for x in runs[path]]
        ratios = [x["ratio_to_reference"] for x in runs[path]]
        gflops = median(x["computed_gflops"] for x in runs[path])
        probe = binary_metrics(y, probes[path], n_bootstrap=n_bootstrap, seed=seed, groups=groups)
        rows.append({
            "precision": path[0], "frames": path[1], "name": path_name(path),
            "resolved": resolve_precision(path[0]).record(),
            "clips_per_s_median": median(rates), "clips_per_s_range": spread(rates),
            "ratio_to_reference_median": median(ratios), "ratio_to_reference_range": spread(ratios),
            "warmup_s": warmup_s[path], "computed_gflop_per_clip": flops[path] / len(logmel) / 1e9,
            "computed_gflops_median": gflops,
            "share_of_gemm": gflops / best_gemm[path[0]], "gemm_precision": path[0],
            "agreement_with_reference": agreement(features[path], reference_X),
            "probe": {k: probe[k] for k in ("n", "n_positive", "roc_auc", "roc_auc_ci95", "n_groups",
                                             "ci_resampling")},
            "probe_vs_reference": paired_auc_difference(y, reference_probe, probes[path], groups=groups,
                                                        n_bootstrap=n_bootstrap, seed=seed),
            "runs": runs[path]})
        log(f"{path_name(path)}: {median(rates):.1f} clips/s, x{median(ratios):.2f}; probe AUC "
            f"{probe['roc_auc']:.3f} {probe['roc_auc_ci95']}")

    head = time_head_training(train_rows, embedders[REFERENCE].dim, seed)
    build = build_rate(benchmarks_json)
    projection = []
    for row in rows:
        embed_s = row["warmup_s"] + MOSEI_CLIPS / row["clips_per_s_median"]
        train_s = head["seconds"] * MOSEI_CLIPS / head["rows"]
        build_s = (build["fixed_s"] + MOSEI_CLIPS * build["per_segment_ms"] / 1000) if build else None
        total = embed_s + train_s + (build_s or 0.0)
        projection.append({"name": row["name"], "build_s": build_s, "embed_s": embed_s, "train_s": train_s,
                           "total_minutes": total / 60, "within_target": total / 60 <= PROJECTION_TARGET_MINUTES})
    return {
        "machine": {**machine_info(), "bf16_cpu_flags": cpu_bf16_flags(),
                    "auto_resolves_to": resolve_precision("auto").record(),
                    "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on)")},
        "defaults": {"precision": DEFAULT_PRECISION, "frames": DEFAULT_FRAMES},
        "settings": {"layer": layer, "pooling": "bands", "n_bands": embedders[REFERENCE].spec.n_bands,
                     "batch_size": batch_size, "rounds": rounds, "gemm_n": gemm_n, "n_bootstrap": n_bootstrap,
                     "seed": seed, "image": list(logmel.shape[1:]), "clip_seconds": DEFAULT_CLIP_SECONDS},
        "weights": {k: weights_record_plain(weights).get(k) for k in ("spec", "source", "verified", "sha256")},
        "corpus": {"root": str(ravdess), "clips": int(len(logmel)), "speakers": int(len(np.unique(groups))),
                   "positive_share": float(y.mean()), "speech_share": speech_share},
        "gemm_gflops": {"float32_best": best_gemm["float32"], "bfloat16_best": best_gemm["bfloat16"],
                        "float32_median": median(gemm["float32"]), "bfloat16_median": median(gemm["bfloat16"]),
                        "bfloat16_over_float32": best_gemm["bfloat16"] / best_gemm["float32"]},
        "rows": rows,
        "projection": {"clips": MOSEI_CLIPS, "target_minutes": PROJECTION_TARGET_MINUTES, "build": build,
                       "head_training": head, "rows": projection},
        "egemaps_cost": feature_cost(benchmarks_json),
        "weak_supervision": WEAK_SUPERVISION_NOTE,
        "amx": {"target_ratio": AMX_TARGET_RATIO,
                "measurable_here": "amx_bf16" in cpu_bf16_flags(),
                "note": "the issue's >= 3x criterion is for a CPU with AMX; this machine's flags decide whether it "
                        "could be measured here"},
        "load_average_1min": {"start": started_load, "end": load1()},
    }


def weights_record_plain(weights) -> dict:
    from transfer.features.vgg16 import weights_record

    return weights_record(weights) or {}


def _ci(ci) -> str:
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "n/a"


def markdown(record: dict) -> str:
    """The report's Markdown, rendered from its JSON record alone."""
    s, c, g, m = record["settings"], record["corpus"], record["gemm_gflops"], record["machine"]
    lines = [
        "# Embedding precision and frames (issue 23)", "",
        f"VGG16 `{s['layer']}`, band pooling ({s['n_bands']} bands), batch {s['batch_size']}, image "
        f"{s['image'][0]}x{s['image'][1]}; weights {record['weights']['source']} "
        f"(verified={record['weights']['verified']}). Clips: {c['clips']} RAVDESS valence clips ({c['speakers']} "
        f"actors, positive share {c['positive_share']:.2f}), each centred in a {s['clip_seconds']:g} s clip; speech "
        f"share {c['speech_share']:.2f}. {s['rounds']} rounds, order rotated each round; warm-up excluded. "
        f"Machine: {m['cpu_model']}, {m['usable_cpus']} usable CPUs, TensorFlow {m['tensorflow']}; bfloat16 CPU "
        f"flags: {', '.join(m['bf16_cpu_flags']) or 'none'}; `auto` resolves to {m['auto_resolves_to']['precision']}. "
        f"Load average (1 min): {record['load_average_1min']['start']} at the start, "
        f"{record['load_average_1min']['end']} at the end.", "",
        f"Best GEMM rate ({s['gemm_n']}x{s['gemm_n']}, all cores, between the paths in every round): float32 "
        f"{g['float32_best']:.0f} GFLOP/s, bfloat16 {g['bfloat16_best']:.0f} GFLOP/s "
        f"({g['bfloat16_over_float32']:.2f}x). The product's defaults: precision {record['defaults']['precision']}, "
        f"frames {record['defaults']['frames']}.", "",
        "| path | clips/s (range) | x float32 + full (range) | GFLOP/clip computed | share of its GEMM rate "
        "| max diff / clip max | mean rel. diff | probe AUC [95 % CI] | AUC - float32 + full [95 % CI] |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in record["rows"]:
        lo, hi = row["clips_per_s_range"]
        rlo, rhi = row["ratio_to_reference_range"]
        a, p, d = row["agreement_with_reference"], row["probe"], row["probe_vs_reference"]
        lines.append(
            f"| {row['name']} | {row['clips_per_s_median']:.1f} ({lo:.1f}-{hi:.1f}) "
            f"| {row['ratio_to_reference_median']:.2f} ({rlo:.2f}-{rhi:.2f}) | {row['computed_gflop_per_clip']:.2f} "
            f"| {row['share_of_gemm']:.0%} of {row['gemm_precision']} | {a['max_of_clip_max']:.1e} "
            f"| {a['mean_relative']:.1e} | {p['roc_auc']:.3f} {_ci(p['roc_auc_ci95'])} "
            f"| {d['difference']:+.3f} {_ci(d['ci95'])} |")
    lines += ["", "The probe: logistic regression on the features, leave-one-actor-out, ROC AUC with a bootstrap of "
              "whole speakers; the difference is paired (the same speakers drawn for both paths). "
              "*max diff / clip max*: the largest difference of a clip's features from float32 + full over that "
              "clip's largest feature, the worst clip; *mean rel. diff*: over every feature.", ""]
    pr = record["projection"]
    build = pr["build"]
    lines += [f"## Projection: {pr['clips']:,} clips end to end on this machine", "",
              "| path | build (s) | embedding (s) | head training (s) | total (min) | within "
              f"{pr['target_minutes']:g} min |", "|---|---|---|---|---|---|"]
    for row in pr["rows"]:
        build_s = f"{row['build_s']:.0f}" if row["build_s"] is not None else "not known"
        lines.append(f"| {row['name']} | {build_s} | {row['embed_s']:.0f} | {row['train_s']:.1f} "
                     f"| {row['total_minutes']:.1f} | {'yes' if row['within_target'] else 'no'} |")
    head = pr["head_training"]
    lines += ["", "Conditions: "
              + (f"the build at {build['per_segment_ms']:.3f} ms per segment plus {build['fixed_s']:.1f} s start-up, "
                 f"from {build['source']} (a generated corpus: decoding real recordings may cost more); "
                 if build else "no build rate recorded (reports/benchmarks.json missing); ")
              + "the embedding at each path's median clips/s above plus its warm-up, on clips with this run's "
                f"speech share ({c['speech_share']:.2f}; speech-only frames gain less on clips with more speech); "
                f"the default head ({head['head']}) trained on {head['rows']:,} rows of {head['dim']} features in "
                f"{head['seconds']:.1f} s here, scaled linearly to {pr['clips']:,}. The head is trained in float32 "
                "on every path: it is a few thousand multiply-adds per clip, nothing to gain from bfloat16.", ""]
    ege = record.get("egemaps_cost")
    if ege:
        lines += [f"eGeMAPS, for comparison ({ege['source']}): {ege['egemaps_ms']:.1f} ms per clip (decode "
                  f"{ege['decode_ms']:.1f} ms of it) against VGG16 float32 + full {ege['vgg16_float32_full_ms']:.1f} "
                  "ms per clip, one process.", ""]
    amx = record["amx"]
    default = path_name((m["auto_resolves_to"]["precision"], record["defaults"]["frames"]))
    ratio = next((r["ratio_to_reference_median"] for r in record["rows"] if r["name"] == default), None)
    here = (f"the default path on this CPU ({default}) runs at {ratio:.2f}x float32 + full" if ratio is not None
            else "the default path was not among the paths measured")
    lines += [f"Weak-supervision AUC: {record['weak_supervision']}.", "",
              f"The issue's criterion (the default path >= {amx['target_ratio']:g}x float32 on a CPU with AMX): "
              + (f"measurable here: {here}." if amx["measurable_here"] else
                 f"not measurable here (the CPU has no amx_bf16); {here} (docs/performance.md)."),
              ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ravdess", type=Path, default=Path("../shared/data/ravdess_actors_01-06"))
    parser.add_argument("--weights", default="imagenet")
    parser.add_argument("--layer", default=None, help="cut layer (default: the product's)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--gemm-n", type=int, default=2048)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-clips", type=int, default=None, help="at most this many clips (default: all)")
    parser.add_argument("--train-rows", type=int, default=MOSEI_CLIPS,
                        help="rows the head training is timed on (scaled to 23,500)")
    parser.add_argument("--benchmarks-json", type=Path, default=Path("reports/benchmarks.json"),
                        help="the speed benchmark's record, for the build rate and the eGeMAPS cost")
    parser.add_argument("--out", type=Path, default=Path("reports/embed_precision"))
    args = parser.parse_args(argv)

    from transfer.features.vgg16 import DEFAULT_LAYER
    from transfer.weights import resolve_vgg16_weights

    weights = resolve_vgg16_weights(args.weights)
    started = time.perf_counter()
    record = measure(args.ravdess, weights, args.layer or DEFAULT_LAYER, args.batch_size, args.rounds, args.gemm_n,
                     args.bootstrap, args.seed, args.max_clips, args.train_rows, args.benchmarks_json)
    record["total_seconds"] = time.perf_counter() - started
    record["weights"]["spec"] = args.weights
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    args.out.with_suffix(".md").write_text(markdown(record), encoding="utf-8")
    print(markdown(record))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
