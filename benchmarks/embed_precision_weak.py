"""Issue 23's quality check on weak labels: the weak-supervision benchmark's default recipe over the reference
embedding path (float32 over whole clips, by default), paired run by run with the committed run of the defaults
(``--precision auto`` -- bfloat16 on a CPU with native kernels -- over speech-only frames).

    python -m benchmarks.embed_precision_weak --root ../shared/data/ravdess_actors_01-06 \\
        --root ../shared/data/ravdess_actors_07-12 --sentences ../shared/data/meld_dev_sent_emo.csv

The benchmark (:mod:`transfer.weak_supervision`) is run at ``--p`` (0.75) over the reference's pairing seeds and
rotations, the default recipe only (no reference rows), with :class:`transfer.training.TrainConfig` defaults
except ``precision`` and ``frames``; its own record goes to ``OUT/weak_supervision.{json,md}``. Each run's test ROC
AUC is then paired with the same (p, pairing seed, rotation) of the committed record of the defaults
(``reports/weak_supervision/weak_supervision.json``): the mean difference (the defaults minus this path), a
bootstrap 95 % interval over the paired runs, the largest difference of one run, and the issue's criterion (the
mean within +-0.01) go to ``OUT/comparison.{json,md}`` (the Markdown rendered from the JSON). Exit status 0 when
met. A few minutes on two cores (five builds of 576 clips, their float32 embedding, 15 trainings).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

#: The issue's tolerance on the weak-supervision AUC (and the acted probe's, measured by benchmarks.embed_precision).
TOLERANCE = 0.01
REFERENCE = "reports/weak_supervision/weak_supervision.json"
COMPARISON_JSON, COMPARISON_MD = "comparison.json", "comparison.md"


def recorded_path(record: dict) -> tuple[str, str]:
    """The (resolved precision, effective frames) a weak-supervision record's default recipe was embedded with:
    its recipe's model as ``TrainConfig.to_dict`` wrote it (resolved on the machine that ran it; the reference
    values, float32 and full, left out). The record's ``config`` holds what was asked for (``auto``)."""
    from transfer.features.precision import REFERENCE_PRECISION
    from transfer.features.vgg16 import REFERENCE_FRAMES
    from transfer.weak_supervision import DEFAULT_RECIPE

    model = next(r["model"] for r in record["recipes"] if r["name"] == DEFAULT_RECIPE)
    return model.get("precision", REFERENCE_PRECISION), model.get("frames", REFERENCE_FRAMES)


def default_runs(record: dict, p: float) -> dict[tuple[int, str], float]:
    """``{(pairing seed, rotation): test ROC AUC}`` of the default recipe's runs at ``p`` in a weak-supervision
    record."""
    from transfer.weak_supervision import DEFAULT_RECIPE

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
        "# Embedding precision and frames on weak labels (issue 23)",
        "",
        f"`{record['command']}`: the weak-supervision benchmark's default recipe at p = {record['p']:g} with "
        f"**{here} frames**, paired run by run (pairing seed, rotation) with the committed run of the defaults, "
        f"**{default} frames** (`{record['reference']}`). **{'Met' if c['met'] else 'Not met'}**: the mean "
        f"difference within ±{c['tolerance']:g}.",
        "",
        f"| path | runs | mean test ROC AUC | difference to {here} [95 % CI over runs] | largest of one run |",
        "|---|---|---|---|---|",
        f"| {here} (this run) | {c['runs']} | {c['reference_mean']:.4f} | — | — |",
        f"| {default} (the defaults, committed) | {c['runs']} | {c['path_mean']:.4f} | "
        f"{c['mean']:+.4f} [{low:+.4f}, {high:+.4f}] | {c['largest']:+.4f} |",
        "",
        f"Embedding key: `{record['embedding_key']}`; valence map {record['valence_map']}; policy {record['policy']}. "
        "The run's own record (every run, the weak labels' coverage and accuracy) is `weak_supervision.md` beside "
        "this file.",
        ""])


def main(argv: list[str] | None = None) -> int:
    import json
    import shlex
    import sys

    from benchmarks.common import write_met_result
    from foundation.paths import display_path
    from transfer.training import TrainConfig
    from transfer.weak_supervision import WeakSupervisionConfig, run_weak_supervision, write_weak_supervision

    parser = argparse.ArgumentParser(prog="python -m benchmarks.embed_precision_weak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", action="append", required=True, help="RAVDESS folder (repeat)")
    parser.add_argument("--sentences", required=True, help="MELD-layout CSV of sentences with human sentiment")
    parser.add_argument("--reference", type=Path, default=Path(REFERENCE),
                        help="the committed weak-supervision record of the defaults")
    parser.add_argument("--precision", default="float32", choices=("float32", "bfloat16", "auto"))
    parser.add_argument("--frames", default="full", choices=("full", "speech"))
    parser.add_argument("--p", type=float, default=0.75)
    parser.add_argument("--work", type=Path, default=Path("build/embed-precision-weak"))
    parser.add_argument("--out", type=Path, default=Path("reports/embed_precision_weak"))
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)

    if not args.reference.is_file():
        parser.error(f"no reference record at {args.reference}: run python -m benchmarks.refresh --include-long "
                     "--only weak-supervision first, or pass --reference")
    reference = json.loads(args.reference.read_text(encoding="utf-8"))
    seeds = tuple(reference["config"]["pairing_seeds"])
    model = TrainConfig(precision=args.precision, frames=args.frames)
    config = WeakSupervisionConfig(roots=tuple(args.root), sentences=args.sentences, probabilities=(args.p,),
                                   pairing_seeds=seeds, references=False, model=model,
                                   valence_map=reference["config"].get("valence_map"))
    record = run_weak_supervision(config, args.work, log=print)
    write_weak_supervision(record, args.out)
    keys = sorted({r["embedding"] for r in record["runs"]})
    comparison = {
        "command": " ".join(["python -m benchmarks.embed_precision_weak", *map(shlex.quote, argv)]),
        "reference": display_path(args.reference), "p": args.p, "pairing_seeds": list(seeds),
        "precision": model.resolved_precision, "frames": model.effective_frames, "embedding_key": ", ".join(keys),
        "policy": record["config"]["policy"], "valence_map": record["valence_map"]["name"],
        "default_path": list(recorded_path(reference)), "train_config": model.to_dict(), "weights": record["weights"],
        # the defaults' runs minus this path's
        "comparison": paired_comparison(default_runs(record, args.p), default_runs(reference, args.p)),
    }
    comparison["met"] = comparison["comparison"]["met"]
    return write_met_result(args.out, comparison, COMPARISON_JSON, COMPARISON_MD, markdown)


if __name__ == "__main__":
    import sys

    sys.exit(main())
