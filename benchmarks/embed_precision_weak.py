"""The VGG16 extractor's arithmetic on weak labels: its defaults (``--precision auto`` -- bfloat16 on a CPU with
native kernels -- over speech-only frames) against its reference path (float32 over whole clips), paired run by run.

    python -m benchmarks.embed_precision_weak --root ../shared/data/ravdess_actors_01-06 \\
        --root ../shared/data/ravdess_actors_07-12 --sentences ../shared/data/meld_dev_sent_emo.csv

The weak-supervision benchmark (:mod:`evaluation.weak_benchmark`) is run at ``--p`` (0.75) over ``--pairing-seeds``
and every rotation, the default recipe only (no reference rows), twice with ``--features vgg16``: once with VGG16's
default arithmetic and frames, once on the reference path (``--precision``/``--frames``, default float32 and full);
the two runs share their builds and re-labelled datasets (``--work``). Each run's test ROC AUC is paired with the
other's at the same (pairing seed, rotation): the mean difference (the defaults minus the reference path), a
bootstrap 95 % interval over the paired runs, the largest difference of one run, and the criterion (the mean within
+-0.01) go to ``OUT/comparison.{json,md}`` (the Markdown rendered from the JSON); the reference path's own record to
``OUT/weak_supervision.{json,md}``. Exit status 0 when met. VGG16 is no longer the product's default extractor
(Whisper is, where it runs): this keeps the fallback's arithmetic honest.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

#: The issue's tolerance on the weak-supervision AUC (and the acted probe's, measured by benchmarks.embed_precision).
TOLERANCE = 0.01
COMPARISON_JSON, COMPARISON_MD = "comparison.json", "comparison.md"


def default_runs(record: dict, p: float) -> dict[tuple[int, str], float]:
    """``{(pairing seed, rotation): test ROC AUC}`` of the default recipe's runs at ``p`` in a weak-supervision
    record."""
    from evaluation.weak_benchmark import DEFAULT_RECIPE

    return {(int(r["pairing_seed"]), str(r["rotation"])): float(r["test"]["roc_auc"]) for r in record["runs"]
            if r["recipe"] == DEFAULT_RECIPE and abs(float(r["p"]) - p) < 1e-9}


def paired_comparison(reference: dict[tuple[int, str], float], path: dict[tuple[int, str], float],
                      n_bootstrap: int = 5000, seed: int = 0) -> dict:
    """The path's AUCs against the reference's, run by run: ``mean`` (path minus reference), ``ci95`` (bootstrap
    over the paired runs), ``largest`` (of one run, by magnitude), the two means, the runs paired and ``met``
    (``|mean| <= TOLERANCE`` and the interval inside +-TOLERANCE)."""
    keys = sorted(set(reference) & set(path))
    if not keys:
        raise ValueError("no run of the path has a reference run with the same pairing seed and rotation")
    diffs = np.array([path[k] - reference[k] for k in keys])
    rng = np.random.default_rng(seed)
    boot = diffs[rng.integers(0, len(diffs), (n_bootstrap, len(diffs)))].mean(axis=1)
    low, high = (float(v) for v in np.percentile(boot, [2.5, 97.5]))
    mean = float(diffs.mean())
    return {"runs": len(keys), "unpaired": [list(k) for k in sorted(set(reference) ^ set(path))],
            "reference_mean": float(np.mean([reference[k] for k in keys])),
            "path_mean": float(np.mean([path[k] for k in keys])),
            "mean": mean, "ci95": [low, high], "largest": float(diffs[np.argmax(np.abs(diffs))]),
            "tolerance": TOLERANCE, "met": bool(abs(mean) <= TOLERANCE and -TOLERANCE <= low and high <= TOLERANCE)}


def markdown(record: dict) -> str:
    c = record["comparison"]
    low, high = c["ci95"]
    here, default = f"{record['precision']} + {record['frames']}", " + ".join(record["default_path"])
    return "\n".join([
        "# VGG16's arithmetic and frames on weak labels",
        "",
        f"`{record['command']}`: the weak-supervision benchmark's default recipe with VGG16 features at p = "
        f"{record['p']:g}, on the reference path, **{here} frames**, and with VGG16's defaults, **{default} "
        f"frames**, paired run by run (pairing seed, rotation). **{'Met' if c['met'] else 'Not met'}**: the mean "
        f"difference within ±{c['tolerance']:g}.",
        "",
        f"| path | runs | mean test ROC AUC | difference to {here} [95 % CI over runs] | largest of one run |",
        "|---|---|---|---|---|",
        f"| {here} (the reference path) | {c['runs']} | {c['reference_mean']:.4f} | — | — |",
        f"| {default} (VGG16's defaults) | {c['runs']} | {c['path_mean']:.4f} | "
        f"{c['mean']:+.4f} [{low:+.4f}, {high:+.4f}] | {c['largest']:+.4f} |",
        "",
        f"Embedding keys: `{record['embedding_key']}`; valence map {record['valence_map']}; policy {record['policy']}. "
        "The reference path's own record (every run, the weak labels' coverage and accuracy) is `weak_supervision.md` "
        "beside this file.",
        ""])


def main(argv: list[str] | None = None) -> int:
    import shlex
    import sys

    from benchmarks.common import write_met_result
    from transfer.features import EmbeddingConfig
    from transfer.training import TrainConfig
    from evaluation.weak_benchmark import WeakSupervisionConfig, run_weak_supervision, write_weak_supervision

    parser = argparse.ArgumentParser(prog="python -m benchmarks.embed_precision_weak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", action="append", required=True, help="RAVDESS folder (repeat)")
    parser.add_argument("--sentences", required=True, help="MELD-layout CSV of sentences with human sentiment")
    parser.add_argument("--precision", default="float32", choices=("float32", "bfloat16", "auto"))
    parser.add_argument("--frames", default="full", choices=("full", "speech"))
    parser.add_argument("--p", type=float, default=0.75)
    parser.add_argument("--pairing-seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--work", type=Path, default=Path("build/embed-precision-weak"))
    parser.add_argument("--out", type=Path, default=Path("reports/embed_precision_weak"))
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)

    defaults = EmbeddingConfig(features="vgg16")
    paths = {"defaults": defaults, "reference": defaults.updated(vgg16={"precision": args.precision,
                                                                          "frames": args.frames})}
    records = {}
    for name, embedding in paths.items():
        config = WeakSupervisionConfig(roots=tuple(args.root), sentences=args.sentences, probabilities=(args.p,),
                                       pairing_seeds=tuple(args.pairing_seeds), references=False,
                                       model=TrainConfig(), embedding=embedding)
        records[name] = run_weak_supervision(config, args.work, log=print)
    write_weak_supervision(records["reference"], args.out)

    def path_of(record: dict) -> list[str]:
        settings = record["recipes"][0]["features"]["settings"]
        return [settings["precision"], settings["frames"]]

    precision, frames = path_of(records["reference"])
    comparison = {
        "command": " ".join(["python -m benchmarks.embed_precision_weak", *map(shlex.quote, argv)]),
        "p": args.p, "pairing_seeds": list(args.pairing_seeds), "precision": precision, "frames": frames,
        "embedding_key": ", ".join(sorted({r["embedding"] for rec in records.values() for r in rec["runs"]})),
        "policy": records["reference"]["config"]["policy"], "valence_map": records["reference"]["valence_map"]["name"],
        "default_path": path_of(records["defaults"]),
        "train_config": records["reference"]["recipes"][0]["model"], "weights": records["reference"]["weights"],
        # VGG16's defaults' runs minus the reference path's
        "comparison": paired_comparison(default_runs(records["reference"], args.p),
                                        default_runs(records["defaults"], args.p)),
    }
    comparison["met"] = comparison["comparison"]["met"]
    return write_met_result(args.out, comparison, COMPARISON_JSON, COMPARISON_MD, markdown)


if __name__ == "__main__":
    import sys

    sys.exit(main())
