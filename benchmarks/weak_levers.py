"""Which levers make a model learn through label noise: measured on the weak-supervision benchmark.

    python -m pipelines.weak_supervision --root RAVDESS_1-6 --root RAVDESS_7-12 --sentences meld_dev_sent_emo.csv \\
        --pairing-seeds 0 1                     # makes the builds in build/weak_supervision
    python -m benchmarks.weak_levers            # reports/weak_supervision_levers.{json,md}

Reuses the datasets that run made at one match probability (default p = 0.75; every pairing seed and speaker
rotation it made) and the shared embedding cache, and trains one model per lever configuration on each, scored on
the held-out speakers' true valence. Rows are cumulative from this project's previous defaults through the former
VGG16 default to the default (Whisper's encoder), then one-at-a-time swaps away from the default, then the VGG16
levers measured on the former default (what made it the best VGG16 model), then two label-noise methods that are not
part of the product (confident learning with ``cleanlab``; label spreading over a k-NN graph), measured here so the
decision is on record, then two diagnostic rows (not part of the product) that train the same model on the clips the
weak labels cover but with their true valence, as is and flipped at random to the weak labels' error rate, to
separate what the labels' coverage and their noise each cost. Each row: mean AUC over rotations and seeds with a 95
% interval from a bootstrap over pairing seeds and, within each, test speakers, and the paired difference to the new
default (same rotations, seeds and resamples).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
FORMER_ROW = "+ label-model confidence as weights (VGG16: the former default)"
DEFAULT_ROW = "+ Whisper's speech encoder instead of VGG16 (the default)"


def configurations():
    """(name, group, policy, TrainConfig, noise handling, mel bands or None) rows, in table order. A policy
    ``name@band`` is that policy at that neutral band (else the policy's own).

    A row with mel bands rebuilds each pairing's features at that resolution first (the same clips, offsets and
    texts; only the log-mel differs), then re-labels and trains as the others do."""
    from transfer.head import HeadConfig
    from transfer.training import PREVIOUS_DEFAULTS, TrainConfig
    from weaklabel.policies import DEFAULT_POLICY as TEACHER, FALLBACK_POLICY

    default = TrainConfig()
    logistic = HeadConfig(kind="logistic")
    dense = HeadConfig(kind="dense")

    def vgg16(config: TrainConfig, **options) -> TrainConfig:  # the VGG16 extractor with some options changed
        return replace(config, embedding=config.embedding.updated(features="vgg16", vgg16=options))

    def whisper(**options) -> TrainConfig:
        return replace(default, embedding=default.embedding.updated(whisper=options))

    former = vgg16(default)  # the former default: VGG16 with its own defaults
    rows = [
        ("previous defaults: block2_conv2, global average, dense head", "cumulative", TEACHER, PREVIOUS_DEFAULTS, None),
        ("+ logistic head (C = 1e-3)", "cumulative", TEACHER, replace(PREVIOUS_DEFAULTS, head=logistic), None),
        ("+ frequency-band pooling over audio frames", "cumulative", TEACHER,
         vgg16(replace(PREVIOUS_DEFAULTS, head=logistic), pooling="bands"), None),
        ("+ the default arithmetic (--precision auto: bfloat16 on a CPU with native kernels)", "cumulative", TEACHER,
         vgg16(replace(PREVIOUS_DEFAULTS, head=logistic), pooling="bands", precision=former.embedding.vgg16.precision,
               frames=former.embedding.vgg16.frames), None),
        ("+ per-speaker standardisation", "cumulative", TEACHER, replace(former, weighting="none"), None),
        (FORMER_ROW, "cumulative", TEACHER, former, None),
        (DEFAULT_ROW, "cumulative", TEACHER, default, None),
        ("default, dense head instead", "swap", TEACHER, replace(default, head=dense), None),
        ("default, Whisper frames pooled by their mean only", "swap", TEACHER, whisper(pooling="mean"), None),
        ("default, logistic C = 1e-2", "swap", TEACHER, replace(default, head=HeadConfig(C=1e-2)), None),
        ("default, logistic C = 1e-4", "swap", TEACHER, replace(default, head=HeadConfig(C=1e-4)), None),
        ("default, no per-speaker standardisation", "swap", TEACHER, replace(default, standardise="none"), None),
        ("default, unweighted", "swap", TEACHER, replace(default, weighting="none"), None),
        ("default model, original `mean` policy", "swap", "mean", default, None),
        ("default model, the lexicon label model as teacher (the teacher before E5)", "swap", FALLBACK_POLICY,
         default, None),
        ("default model, the calibrated label model (E5 + lexicons) as teacher", "swap", "calibrated", default, None),
        ("default, E5 teacher at band 0.2", "swap", f"{TEACHER}@0.2", default, None),
        ("default, E5 teacher at band 0.3", "swap", f"{TEACHER}@0.3", default, None),
        ("default, E5 teacher at band 0.5", "swap", f"{TEACHER}@0.5", default, None),
        ("VGG16 (former default), global average pooling instead", "vgg16", TEACHER, vgg16(former, pooling="gap"),
         None),
        ("VGG16 (former default), 8 frequency bands", "vgg16", TEACHER, vgg16(former, n_bands=8), None),
        ("VGG16 (former default), cut at block3_conv3 (2x the cost)", "vgg16", TEACHER,
         vgg16(former, layer="block3_conv3"), None),
        ("VGG16 (former default), 64 mel bands (features rebuilt; half the embedding cost)", "vgg16", TEACHER,
         former, None, 64),
        ("default + confident learning (cleanlab: prune flagged labels)", "noise", TEACHER, default, "cleanlab"),
        ("default + label spreading (k-NN graph, abstained clips included)", "noise", TEACHER, default, "spreading"),
        ("true labels on the clips the weak labels cover (coverage only, no noise)", "diagnostic", TEACHER,
         default, "oracle-covered"),
        ("true labels on the covered clips, flipped at random to the weak labels' error rate (noise only)",
         "diagnostic", TEACHER, default, "oracle-noise-matched"),
    ]
    return [row if len(row) == 6 else (*row, None) for row in rows]


def base_build(pairing: Path, n_mels: int | None) -> Path:
    """The pairing's build, or (``n_mels``) the same build with its features at that many mel bands."""
    if n_mels is None:
        return pairing / "build"
    from weaklabel import Dataset, build_dataset

    source = Dataset(pairing / "build").config
    out = pairing / f"build-mels{n_mels}"
    build_dataset(replace(source, mel=replace(source.mel, n_mels=n_mels)), out, overwrite=True,
                  start_method="spawn")  # this process has run TensorFlow and CTranslate2
    return out


def flip_at_rate(y: np.ndarray, rate: float, seed: int = 0) -> np.ndarray:
    """A copy of the 0/1 labels ``y`` with exactly ``round(rate * len(y))`` of them, chosen uniformly at random
    without replacement (``np.random.default_rng(seed)``), flipped."""
    y = np.asarray(y).astype(int)
    flipped = y.copy()
    chosen = np.random.default_rng(seed).choice(len(y), size=int(round(rate * len(y))), replace=False)
    flipped[chosen] = 1 - flipped[chosen]
    return flipped


def _noisy_fit(dataset: Path, config, embedding, cache: Path, method: str, seed: int = 0):
    """Train the default model after a label-noise method, or on a diagnostic's labels; return the test
    predictions frame.

    ``cleanlab``: out-of-fold probabilities (folds by speaker) from the same logistic model, then
    ``cleanlab.filter.find_label_issues`` and training without the flagged clips. ``spreading``:
    scikit-learn's ``LabelSpreading`` (k = 10, alpha = 0.5) over the standardised training-speaker
    embeddings (reduced to 32 principal components, cosine), labelled and abstained clips together; each clip
    then trains with the spread label, weighted by its margin.

    Diagnostics, on the clips the default trains on (training speakers, status ``ok``), unweighted:
    ``oracle-covered`` trains with their true valence (``human_label``); ``oracle-noise-matched`` with their
    true valence flipped (``flip_at_rate``, seeded by ``seed``) at the weak labels' error rate on those clips,
    the fraction whose ``label`` differs from their true valence.
    """
    from transfer.embedding import embed_dataset
    from transfer.head import predict_head, train_logistic_head
    from transfer.standardise import GroupStandardiser
    from weaklabel.dataset import Dataset

    segments = Dataset(dataset).segments
    X, _ = embed_dataset(dataset, embedding, cache_dir=cache)
    clipped = segments[segments["feature_row"].notna()]
    rows = clipped["feature_row"].to_numpy(dtype=np.int64)
    train_all = clipped[clipped["split"] == "train"]
    train = train_all[train_all["status"] == "ok"]
    std = GroupStandardiser(mode=config.standardise).fit(X[train["feature_row"].to_numpy(dtype=np.int64)],
                                                        train["group_id"].to_numpy())
    Z = np.zeros((len(X), X.shape[1]), np.float32)
    Z[rows] = std.transform(X[rows], clipped["group_id"].to_numpy())
    if method in ("oracle-covered", "oracle-noise-matched"):
        r = train["feature_row"].to_numpy(dtype=np.int64)
        y = train["human_label"].map({"positive": 1, "negative": 0}).to_numpy(dtype=int)
        if method == "oracle-noise-matched":
            y = flip_at_rate(y, float(np.mean(train["label"].to_numpy(dtype=int) != y)), seed)
        head, _ = train_logistic_head(Z[r], y, np.ones(len(y)), config.head, seed)
    elif method == "cleanlab":
        from cleanlab.filter import find_label_issues
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import GroupKFold, cross_val_predict

        r = train["feature_row"].to_numpy(dtype=np.int64)
        y = train["label"].to_numpy(dtype=int)
        w = np.abs(train["score"].to_numpy(dtype=float))
        oof = cross_val_predict(LogisticRegression(C=config.head.C, class_weight="balanced", max_iter=5000), Z[r], y,
                                groups=train["group_id"].to_numpy(), cv=GroupKFold(3), method="predict_proba")
        keep = ~find_label_issues(y, oof, filter_by="prune_by_noise_rate")
        head, _ = train_logistic_head(Z[r][keep], y[keep], w[keep], config.head, seed)
    else:
        from sklearn.decomposition import PCA
        from sklearn.semi_supervised import LabelSpreading

        r = train_all["feature_row"].to_numpy(dtype=np.int64)
        labels = train_all["label"].where(train_all["status"] == "ok")
        y_in = labels.fillna(-1).to_numpy(dtype=int)
        reduced = PCA(32, random_state=seed).fit_transform(Z[r])
        reduced /= np.linalg.norm(reduced, axis=1, keepdims=True) + 1e-9
        spread = LabelSpreading(kernel="knn", n_neighbors=10, alpha=0.5, max_iter=200).fit(reduced, y_in)
        q = spread.label_distributions_[:, 1]
        head, _ = train_logistic_head(Z[r], (q > 0.5).astype(int), np.abs(2 * q - 1) + 1e-6, config.head, seed)
    test = clipped[clipped["split"] == "test"]
    return pd.DataFrame({"split": "test", "group_id": test["group_id"].to_numpy(),
                         "human_label": pd.array(test["human_label"].map({"positive": 1, "negative": 0}), dtype="Float64"),
                         "p_head": predict_head(head, Z[test["feature_row"].to_numpy(dtype=np.int64)])})


def paired_difference(a_parts, b_parts, pairings, n_bootstrap: int = 1000, seed: int = 0) -> dict:
    """Mean AUC difference (a - b) over matched parts, with a bootstrap over pairings, then speakers, shared by both."""
    from evaluation.weak_benchmark import rank_auc, speaker_resamples

    diffs = [rank_auc(ya, pa) - rank_auc(yb, pb) for (ya, pa, _), (yb, pb, _) in zip(a_parts, b_parts)]
    boots = []
    for resample in speaker_resamples([s for _, _, s in a_parts], pairings, n_bootstrap, seed):
        values = [rank_auc(a_parts[i][0][rows], a_parts[i][1][rows]) - rank_auc(b_parts[i][0][rows], b_parts[i][1][rows])
                  for i, rows in resample if a_parts[i][0][rows].min() != a_parts[i][0][rows].max()]
        boots.append(np.mean(values))
    return {"mean": float(np.mean(diffs)), "ci95": [float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.weak_levers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=REPO_ROOT / "build" / "weak_supervision",
                        help="the --work folder of pipelines.weak_supervision (default: %(default)s)")
    parser.add_argument("--p", type=float, default=0.75, help="match probability to study (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "reports" / "weak_supervision_levers")
    parser.add_argument("--only", nargs="*", help="row names (prefixes) to run")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--valence-map", default=None,
                        help="the valence map the --work builds were paired under (pipelines.weak_supervision's "
                             "--valence-map; default: the default map), recorded with the result")
    args = parser.parse_args(argv)

    from transfer.training import train_and_evaluate
    from evaluation.weak_benchmark import mean_auc_over_rotations
    from foundation.atomic import write_record_atomic
    from weaklabel.dataset import EMBEDDINGS_DIR
    from weaklabel.relabel import Relabelling, relabel_dataset
    from foundation.tables import markdown_tables

    resolved: dict = {}  # every distinct embedding resolved once
    pairings = sorted(args.work.glob(f"p{args.p:.2f}-seed*"))
    if not pairings:
        print(f"error: no p{args.p:.2f}-seed* builds in {args.work}; run pipelines.weak_supervision first",
              file=sys.stderr)
        return 2
    cache = args.work / EMBEDDINGS_DIR  # one cache shared by every re-labelled dataset
    results, parts_by_row, pairing_of_part = [], {}, []
    for name, group, policy, config, noise, n_mels in configurations():
        if args.only and not any(name.startswith(o) for o in args.only):
            continue
        started = time.time()
        parts, pairing_of_part = [], []
        for pairing in pairings:
            base = base_build(pairing, n_mels)  # once per pairing: every rotation re-labels the same build
            for folds in sorted(pairing.glob("folds-rot*.json")):
                rotation = folds.stem.split("-")[-1]
                suffix = f"-mels{n_mels}" if n_mels else ""
                name_, _, band = policy.partition("@")
                dataset = relabel_dataset(base, pairing / f"{policy}-{rotation}{suffix}", Relabelling(
                    policy=name_, neutral_band=float(band) if band else None, folds=str(folds.resolve())))
                if config.embedding not in resolved:
                    resolved[config.embedding] = config.embedding.resolve()
                embedding = resolved[config.embedding]
                if noise:
                    test = _noisy_fit(dataset, config, embedding, cache, noise)
                else:
                    predictions = train_and_evaluate(dataset, config, embedding, n_bootstrap=10,
                                                     embeddings_cache=cache, baselines=False).predictions
                    test = predictions[predictions["split"] == "test"]
                test = test[test["human_label"].notna()]
                parts.append((test["human_label"].to_numpy(dtype=int), test["p_head"].to_numpy(dtype=float),
                              test["group_id"].astype(str).to_numpy()))
                pairing_of_part.append(pairing.name)
        parts_by_row[name] = parts
        pooled = mean_auc_over_rotations(parts, args.bootstrap, pairings=pairing_of_part)
        results.append({"lever": name, "group": group, "policy": policy, "noise": noise, "n_mels": n_mels,
                        "config": json.loads(json.dumps(config.to_dict())), **pooled,
                        "elapsed_s": round(time.time() - started, 1)})
        print(f"{name:70s} {pooled['roc_auc']:.3f} [{pooled['roc_auc_ci95'][0]:.3f}, {pooled['roc_auc_ci95'][1]:.3f}]",
              flush=True)
    reference = DEFAULT_ROW
    for row in results:
        if reference in parts_by_row and row["lever"] != reference:
            row["vs_default"] = paired_difference(parts_by_row[row["lever"]], parts_by_row[reference], pairing_of_part,
                                                  args.bootstrap)
    fmt = lambda v: f"{v:.3f}"  # noqa: E731
    table = {
        "title": f"Levers on the weak-supervision benchmark at p = {args.p:g}: ROC AUC on held-out speakers' true valence",
        "columns": ["lever", "ROC AUC [95% CI]", "per rotation", "Δ vs new default [95% CI]"],
        "rows": [[r["lever"], f"{fmt(r['roc_auc'])} [{fmt(r['roc_auc_ci95'][0])}, {fmt(r['roc_auc_ci95'][1])}]",
                  " ".join(fmt(a) for a in r["per_part"]),
                  (f"{r['vs_default']['mean']:+.3f} [{r['vs_default']['ci95'][0]:+.3f}, {r['vs_default']['ci95'][1]:+.3f}]"
                   if "vs_default" in r else "—")] for r in results],
        "note": (f"{len(pairings)} pairing seed(s) x speaker rotations from {args.work}; intervals: bootstrap over "
                 "pairing seeds and, within each, test speakers of every rotation (paired for the differences)."),
    }
    from weaklabel.dataset import Dataset

    from evaluation.acted_corpora import resolve_valence_map

    record = {"kind": "weak_supervision_levers", "p": args.p, "work": str(args.work), "rows": results,
              "valence_map": resolve_valence_map(args.valence_map),
              "log_mel": Dataset(base_build(pairings[0], None)).config.mel.to_dict(),  # the rows' builds but 64-mel ones
              "tables": [table]}
    write_record_atomic(args.out, record, "levers.json", "# Weak-supervision levers\n\n" + markdown_tables([table]),
                        "levers.md")
    print(markdown_tables([table]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
