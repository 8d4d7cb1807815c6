"""Train the dense head and the baselines on a built dataset and score them honestly.

Every model is scored on validation and test by ROC AUC (from predicted probabilities, never from hard
0/1 predictions) with a bootstrap 95% interval, accuracy, balanced accuracy, F1, n and positive share:

* against the **weak labels** (segments with status ``ok``);
* against **human labels** where the dataset carries them (a ``human_label`` column from a manifest, or
  a label file joined by video id and times), on every clip that has a human positive/negative label,
  including clips the weak labeller abstained on. The weak labeller's own score is scored there too.

Models: the dense head on VGG16 embeddings; random forest, k-NN, logistic regression and MLP on
time-averaged mel features (padding excluded); logistic regression on the embeddings.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from transfer.baselines import BASELINES, fit_predict_baseline, mel_summary_features
from transfer.embedding import embed_dataset, weights_record
from transfer.head import HeadConfig, predict_head, train_dense_head
from transfer.metrics import binary_metrics
from weaklabel.human_labels import join_human_labels, read_human_labels, sentiment_to_valence

EVAL_SPLITS = ("validation", "test")
METRICS_FILE = "metrics.json"


def human_valence(segments: pd.DataFrame, human_labels_path: str | Path | None) -> tuple[pd.Series | None, str | None]:
    """Human positive (1) / negative (0) / neutral-or-unknown (NA) per segment, and where it came from."""
    if human_labels_path:
        labels = read_human_labels(human_labels_path)
        joined = join_human_labels(segments, labels)
        return pd.Series(sentiment_to_valence(joined), index=segments.index), str(human_labels_path)
    if "human_label" in segments.columns:
        return pd.Series(sentiment_to_valence(segments["human_label"]), index=segments.index), "human_label column"
    return None, None


def train_and_evaluate(dataset_dir: str | Path, weights, layer: str, seed: int = 0,
                       head_config: HeadConfig = HeadConfig(), human_labels_path: str | Path | None = None,
                       batch_size: int = 16, n_bootstrap: int = 1000,
                       embed_progress: Callable[[int], None] | None = None,
                       embed_start: Callable[[int], None] | None = None,
                       log: Callable[[str], None] = lambda message: None):
    """Embed (cached), train the head and the baselines, and compute all metrics.

    Returns
    -------
    head : keras.Model
    metrics : dict (the content of ``metrics.json``)
    """
    dataset_dir = Path(dataset_dir)
    build = json.loads((dataset_dir / "build.json").read_text(encoding="utf-8"))
    segments = pd.read_parquet(dataset_dir / "segments.parquet")
    embeddings, emb_meta = embed_dataset(dataset_dir, weights, layer, batch_size=batch_size,
                                         progress=embed_progress, on_start=embed_start)
    log(f"embeddings: {emb_meta['shape']} ({'cache' if emb_meta['from_cache'] else 'computed'})")

    has_clip = segments["feature_row"].notna()
    weak = segments[has_clip & (segments["status"] == "ok")]
    train = weak[weak["split"] == "train"]
    if train["label"].nunique() < 2:
        raise ValueError(f"the train split has {len(train)} weakly labelled clips with "
                         f"{train['label'].nunique()} class(es); a classifier needs both")
    scored = segments[has_clip & segments["split"].isin(EVAL_SPLITS)]
    rows = lambda frame: frame["feature_row"].to_numpy(dtype=np.int64)  # noqa: E731

    X_train, y_train = embeddings[rows(train)], train["label"].to_numpy(dtype=int)
    val = weak[weak["split"] == "validation"]
    head, head_info = train_dense_head(X_train, y_train, embeddings[rows(val)], val["label"].to_numpy(dtype=int),
                                       head_config, seed=seed)
    log(f"head: {head_info['epochs_run']} epochs, best {head_info['best_epoch']} ({head_info['monitor']})")

    # p(positive) of every model for every clip in validation/test (weak labels or not).
    predictions: dict[str, np.ndarray] = {"head": predict_head(head, embeddings[rows(scored)])}
    logmel = np.load(dataset_dir / build["features"]["file"], mmap_mode="r")
    needed = np.unique(np.concatenate([rows(train), rows(scored)]))
    summary = dict(zip(needed.tolist(), mel_summary_features(logmel[needed])))
    mel_train = np.stack([summary[r] for r in rows(train)])
    mel_scored = np.stack([summary[r] for r in rows(scored)]) if len(scored) else np.zeros((0, mel_train.shape[1]))
    for name in BASELINES:
        predictions[f"mel_{name}"] = fit_predict_baseline(name, mel_train, y_train, {"scored": mel_scored},
                                                          seed=seed)["scored"]
        log(f"baseline mel_{name} trained")
    predictions["embedding_logistic_regression"] = fit_predict_baseline(
        "logistic_regression", X_train, y_train, {"scored": embeddings[rows(scored)]}, seed=seed)["scored"]

    def evaluate(targets: pd.Series, extra: dict[str, np.ndarray] | None = None) -> dict:
        out: dict = {}
        columns = {**predictions, **(extra or {})}
        for name, p in columns.items():
            out[name] = {}
            for split in EVAL_SPLITS:
                mask = (scored["split"] == split).to_numpy() & targets.notna().to_numpy()
                if mask.sum() == 0:
                    out[name][split] = {"n": 0, "note": f"no labelled clips in {split}"}
                    continue
                out[name][split] = binary_metrics(targets.to_numpy()[mask].astype(int), p[mask],
                                                  n_bootstrap=n_bootstrap, seed=seed)
        return out

    weak_targets = scored["label"].where(scored["status"] == "ok").astype("Float64")
    metrics = {
        "dataset": str(dataset_dir), "build_fingerprint": build["fingerprint"],
        "policy": build["config"]["policy"], "neutral_band": build["config"]["neutral_band"],
        "embedding": {k: emb_meta[k] for k in ("key", "backbone", "layer", "pooling", "image_version", "dim")},
        "weights": weights_record(weights),
        "n_train": int(len(train)), "train_positive_share": float(y_train.mean()),
        "head_training": head_info,
        "against_weak_labels": evaluate(weak_targets),
    }
    human, source = human_valence(scored, human_labels_path)
    if human is None:
        metrics["against_human_labels"] = None
        metrics["human_labels_note"] = "the dataset carries no human labels (manifest column human_label or --human-labels)"
    else:
        weak_score = ((scored["score"].astype("Float64").fillna(0.0).to_numpy(dtype=float) + 1.0) / 2.0)
        metrics["against_human_labels"] = evaluate(human.astype("Float64"), {"weak_label_score": weak_score})
        metrics["human_labels_source"] = source
    return head, metrics


def model_metadata(dataset_dir: str | Path, metrics: dict) -> dict:
    """What a saved model needs to rebuild its input from raw audio."""
    build = json.loads((Path(dataset_dir) / "build.json").read_text(encoding="utf-8"))
    return {
        "clip_seconds": build["config"]["clip_seconds"], "sample_rate": build["features"]["sample_rate"],
        "log_mel": build["features"]["log_mel"], "image_version": metrics["embedding"]["image_version"],
        "backbone": metrics["embedding"]["backbone"], "layer": metrics["embedding"]["layer"],
        "weights": metrics["weights"], "trained_on": {"dataset": str(dataset_dir),
                                                      "build_fingerprint": build["fingerprint"],
                                                      "policy": build["config"]["policy"],
                                                      "neutral_band": build["config"]["neutral_band"]},
        "head_training": metrics["head_training"],
        "validation_auc_weak": metrics["against_weak_labels"]["head"]["validation"].get("roc_auc"),
        "test_auc_weak": metrics["against_weak_labels"]["head"]["test"].get("roc_auc"),
    }
