"""Compare VGG16 cut layers for the valence embedding (kept out of the test run: minutes of CPU).

For each layer:
* demo (weak labels): the dense head trained on the demo build, ROC AUC on validation and test;
* RAVDESS (acted valence, human-verified emotions): a logistic-regression probe on the frozen embedding,
  leave-one-actor-out, positive (happy, calm, surprised) vs negative (sad, angry, fearful, disgust).

    python -m benchmarks.compare_layers --demo build/demo --ravdess ../shared/data/ravdess_actors_01-06

Writes reports/layer_comparison.md and .json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from foundation.paths import display_path  # noqa: E402

LAYERS = ("block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3", "block5_pool")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo", type=Path, default=Path("build/demo"))
    parser.add_argument("--ravdess", type=Path, default=Path("../shared/data/ravdess_actors_01-06"))
    parser.add_argument("--layers", nargs="+", default=list(LAYERS))
    parser.add_argument("--out", type=Path, default=Path("reports/layer_comparison"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=Path("build/layer_comparison/embeddings"),
                        help="where the compared layers' demo embeddings are cached (not the demo's own folder, "
                             "whose report lists what its embeddings/ holds)")
    args = parser.parse_args(argv)

    from transfer.features.vgg16 import Embedder
    from foundation.metrics import binary_metrics
    from weaklabel.dataset import Dataset
    from transfer.probe import grouped_probe_predictions
    from dataclasses import replace

    from transfer.training import ORIGINAL_RECIPE, train_and_evaluate
    from transfer.weights import resolve_vgg16_weights
    from evaluation.acted_corpora import read_ravdess
    from weaklabel.logmel import clip_logmel_for_files

    weights = resolve_vgg16_weights("imagenet")
    corpus = read_ravdess(args.ravdess)
    corpus = corpus[corpus["valence"].isin(["positive", "negative"])].reset_index(drop=True)
    build = Dataset(args.demo).config
    ravdess_logmel, errors = clip_logmel_for_files(corpus["path"].tolist(), build.clip_seconds, build.mel)
    ok = np.array([e is None for e in errors])
    y = (corpus["valence"] == "positive").to_numpy(dtype=int)[ok]
    groups = corpus["speaker"].to_numpy()[ok]
    results = []
    for layer in args.layers:
        started = time.perf_counter()
        # The comparison as it was made: global average pooling and the dense head, only the layer varies.
        recipe = replace(ORIGINAL_RECIPE, embedding=ORIGINAL_RECIPE.embedding.updated(vgg16={"layer": layer}),
                         seed=args.seed)
        metrics = train_and_evaluate(args.demo, recipe, n_bootstrap=1000, embeddings_cache=args.cache).metrics
        demo_s = time.perf_counter() - started
        started = time.perf_counter()
        embedder = Embedder(weights, layer, image_shape=ravdess_logmel.shape[1:], pooling="gap")
        X = embedder.embed_logmel(ravdess_logmel[ok])
        embed_s = time.perf_counter() - started
        p = grouped_probe_predictions(X, y, groups, seed=args.seed)
        probe = binary_metrics(y, p, seed=args.seed)
        head = metrics["against_weak_labels"]["head"]
        results.append({"layer": layer, "dim": embedder.dim,
                        "demo_validation": head["validation"], "demo_test": head["test"],
                        "ravdess_probe": probe, "ravdess_clips_per_s": len(X) / embed_s, "demo_seconds": demo_s})
        print(f"{layer}: demo val {head['validation']['roc_auc']:.3f} test {head['test']['roc_auc']:.3f}; "
              f"RAVDESS probe {probe['roc_auc']:.3f} {probe['roc_auc_ci95']}; {len(X) / embed_s:.1f} clips/s", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    record = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
              "weights": {**metrics["weights"], "path": display_path(metrics["weights"].get("path"))},
              "ravdess": {"root": str(args.ravdess), "clips": int(ok.sum()),
                                                         "speakers": int(len(np.unique(groups))),
                                                         "positive_share": float(y.mean())},
              "demo": str(args.demo), "results": results,
              # what the figures depend on besides the layer: the recipe and the demo build's labels
              "recipe": recipe_record(args.seed),
              "demo_labels": {"policy": build["config"]["policy"], "neutral_band": build["config"]["neutral_band"],
                              "build_fingerprint": build["fingerprint"]}}
    args.out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(record))
    print(markdown(record))
    return 0


def recipe_record(seed: int = 0) -> dict:
    """The original recipe as every row trains it, its VGG16 layer named as each row's."""
    from dataclasses import replace

    from transfer.training import ORIGINAL_RECIPE

    record = replace(ORIGINAL_RECIPE, seed=seed).to_dict()
    record["embedding"]["vgg16"]["layer"] = "(each row's)"
    return record


def _cell(m: dict) -> str:
    if m.get("roc_auc") is None:
        return "n/a"
    lo, hi = m["roc_auc_ci95"]
    return f"{m['roc_auc']:.3f} [{lo:.3f}, {hi:.3f}]"


def markdown(record: dict) -> str:
    r = record["ravdess"]
    lines = ["| layer | dim | demo head val AUC | demo head test AUC | RAVDESS probe AUC (leave-one-actor-out) "
             "| embedding clips/s |", "|---|---|---|---|---|---|"]
    for res in record["results"]:
        lines.append(f"| `{res['layer']}` | {res['dim']} | {_cell(res['demo_validation'])} (n={res['demo_validation']['n']}) "
                     f"| {_cell(res['demo_test'])} (n={res['demo_test']['n']}) | {_cell(res['ravdess_probe'])} "
                     f"| {res['ravdess_clips_per_s']:.1f} |")
    lines.append("")
    lines.append(f"RAVDESS: {r['clips']} clips, {r['speakers']} actors, positive share {r['positive_share']:.2f}; "
                 f"weights {record['weights']['source']} (verified={record['weights']['verified']}); "
                 f"machine {record['machine']}.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
