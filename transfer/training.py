"""Train the dense head and the baselines on a built dataset and score them honestly.

Every model is scored on validation and test by ROC AUC (from predicted probabilities, never from hard
0/1 predictions) with a bootstrap 95% interval, accuracy, balanced accuracy, F1, n and positive share:

* against the **weak labels** (segments with status ``ok``);
* against **human labels** where the dataset carries them (a ``human_label`` column from a manifest, or
  a label file joined by video id and times), on every clip that has a human positive/negative label,
  including clips the weak labeller abstained on. The weak labeller's own score is scored there too.

Models: the exported head (:mod:`transfer.head`) on VGG16 embeddings standardised per group
(:mod:`transfer.standardise`); random forest, k-NN, logistic regression and MLP on time-averaged mel features
(padding excluded); logistic regression on the raw embeddings.

:class:`TrainConfig` holds everything the model depends on besides the dataset; :data:`ORIGINAL_RECIPE` and
:data:`PREVIOUS_DEFAULTS` name the reference configurations the weak-supervision benchmark compares against.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from transfer.baselines import BASELINES, fit_predict_baseline, mel_summary_features
from transfer.embedding import DEFAULT_LAYER, DEFAULT_N_BANDS, DEFAULT_POOLING, EmbeddingSpec, POOLINGS, \
    embed_dataset, weights_record
from transfer.head import HeadConfig, predict_head, train_head
from foundation.metrics import binary_metrics
from transfer.standardise import DEFAULT_STANDARDISATION, GroupStandardiser
from weaklabel.human_labels import join_human_labels, read_human_labels, sentiment_to_valence

EVAL_SPLITS = ("validation", "test")
METRICS_FILE = "metrics.json"
WEIGHTINGS = ("confidence", "none")
LABEL_SOURCES = ("weak", "human")


@dataclass(frozen=True)
class TrainConfig:
    """What a trained model depends on besides the dataset and the VGG16 weights.

    Parameters
    ----------
    layer, pooling, n_bands : the embedding (:mod:`transfer.embedding`)
    standardise : ``group`` (per speaker/recording, :mod:`transfer.standardise`) or ``none``
    weighting : ``confidence`` (each clip weighted by the labelling policy's ``|score|``) or ``none``
    labels : ``weak`` (the build's labels) or ``human`` (the dataset's human labels: a ceiling, not a product)
    head : :class:`transfer.head.HeadConfig`
    seed : int, for the head and the bootstrap
    """

    layer: str = DEFAULT_LAYER
    pooling: str = DEFAULT_POOLING
    n_bands: int = DEFAULT_N_BANDS
    standardise: str = DEFAULT_STANDARDISATION
    weighting: str = "confidence"
    labels: str = "weak"
    head: HeadConfig = field(default_factory=HeadConfig)
    seed: int = 0

    def __post_init__(self):
        if self.pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {self.pooling!r}; choose one of {', '.join(POOLINGS)}")
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"unknown weighting {self.weighting!r}; choose one of {', '.join(WEIGHTINGS)}")
        if self.labels not in LABEL_SOURCES:
            raise ValueError(f"unknown label source {self.labels!r}; choose one of {', '.join(LABEL_SOURCES)}")
        GroupStandardiser(mode=self.standardise)  # validates the name

    def to_dict(self) -> dict:
        return asdict(self)

    def embedding_spec(self, weights) -> EmbeddingSpec:
        return EmbeddingSpec(layer=self.layer, weights_sha256=weights.sha256 or "", weights_source=weights.source,
                             pooling=self.pooling, n_bands=self.n_bands)


#: The original project's model: VGG16 cut at block3_conv3, global average pooling, the dense head on hard
#: labels (with the ``mean`` labelling policy at build time).
ORIGINAL_RECIPE = TrainConfig(layer="block3_conv3", pooling="gap", standardise="none", weighting="none",
                              head=HeadConfig(kind="dense"))
#: This project's defaults before the weak-supervision benchmark (with the ``calibrated`` policy).
PREVIOUS_DEFAULTS = replace(ORIGINAL_RECIPE, layer="block2_conv2")


def human_valence(segments: pd.DataFrame, human_labels_path: str | Path | None) -> tuple[pd.Series | None, str | None]:
    """Human positive (1) / negative (0) / neutral-or-unknown (NA) per segment, and where it came from."""
    if human_labels_path:
        labels = read_human_labels(human_labels_path)
        joined = join_human_labels(segments, labels)
        return pd.Series(sentiment_to_valence(joined), index=segments.index), str(human_labels_path)
    if "human_label" in segments.columns:
        return pd.Series(sentiment_to_valence(segments["human_label"]), index=segments.index), "human_label column"
    return None, None


def train_and_evaluate(dataset_dir: str | Path, weights, config: TrainConfig = TrainConfig(),
                       human_labels_path: str | Path | None = None, batch_size: int = 16, n_bootstrap: int = 1000,
                       embed_progress: Callable[[int], None] | None = None,
                       embed_start: Callable[[int], None] | None = None,
                       log: Callable[[str], None] = lambda message: None,
                       embeddings_cache: str | Path | None = None, baselines: bool = True):
    """Embed (cached), train the head and the baselines, and compute all metrics.

    Parameters
    ----------
    dataset_dir : a folder written by the build
    weights : transfer.weights.WeightsInfo
    config : TrainConfig
    human_labels_path : human labels to score against (else the dataset's ``human_label`` column, if any)
    embeddings_cache : where the embedding cache lives (default ``DATASET/embeddings``)
    baselines : also train and score the baselines

    Returns
    -------
    TrainResult: the head, the standardiser, the metrics (``metrics.json``) and every model's p(positive) for
    the validation and test clips.
    """
    dataset_dir = Path(dataset_dir)
    seed = config.seed
    build = json.loads((dataset_dir / "build.json").read_text(encoding="utf-8"))
    segments = pd.read_parquet(dataset_dir / "segments.parquet")
    embeddings, emb_meta = embed_dataset(dataset_dir, weights, config.layer, batch_size=batch_size,
                                         progress=embed_progress, on_start=embed_start, pooling=config.pooling,
                                         n_bands=config.n_bands, cache_dir=embeddings_cache)
    log(f"embeddings: {emb_meta['shape']} ({'cache' if emb_meta['from_cache'] else 'computed'})")

    has_clip = segments["feature_row"].notna()
    rows = lambda frame: frame["feature_row"].to_numpy(dtype=np.int64)  # noqa: E731
    clipped = segments[has_clip]
    human_all, human_source = human_valence(clipped, human_labels_path)
    if config.labels == "human":
        if human_all is None:
            raise ValueError("labels='human' needs human labels (a human_label column or --human-labels)")
        targets = clipped.assign(label=human_all.astype("Float64"))
        targets = targets[targets["label"].notna()]
    else:
        targets = clipped[clipped["status"] == "ok"]
    train = targets[targets["split"] == "train"]
    if train["label"].nunique() < 2:
        raise ValueError(f"the train split has {len(train)} labelled clips with "
                         f"{train['label'].nunique()} class(es); a classifier needs both")
    scored = clipped[clipped["split"].isin(EVAL_SPLITS)]

    # Every clip standardised within its group (speaker or recording); small groups use the training fallback.
    standardiser = GroupStandardiser(mode=config.standardise)
    standardiser.fit(embeddings[rows(train)], train["group_id"].to_numpy())
    Z = np.zeros((len(embeddings), embeddings.shape[1]), np.float32)
    Z[rows(clipped)] = standardiser.transform(embeddings[rows(clipped)], clipped["group_id"].to_numpy())

    y_train = train["label"].to_numpy(dtype=int)
    weight = None
    if config.weighting == "confidence" and config.labels == "weak":
        weight = np.abs(train["score"].to_numpy(dtype=float))
    val = targets[targets["split"] == "validation"]
    head, head_info = train_head(Z[rows(train)], y_train, weight, Z[rows(val)], val["label"].to_numpy(dtype=int),
                                 config.head, seed=seed)
    log(f"head: {head_info['kind']}" + (f", {head_info['epochs_run']} epochs, best {head_info['best_epoch']} "
                                        f"({head_info['monitor']})" if head_info["kind"] == "dense" else ""))

    # p(positive) of every model for every clip in validation/test (labelled or not).
    predictions: dict[str, np.ndarray] = {"head": predict_head(head, Z[rows(scored)])}
    if baselines:
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
            "logistic_regression", embeddings[rows(train)], y_train, {"scored": embeddings[rows(scored)]},
            seed=seed)["scored"]

    groups = scored["group_id"].astype(str).to_numpy()  # bootstrap intervals resample whole groups

    def evaluate(targets_: pd.Series, extra: dict[str, np.ndarray] | None = None) -> dict:
        out: dict = {}
        columns = {**predictions, **(extra or {})}
        for name, p in columns.items():
            out[name] = {}
            for split in EVAL_SPLITS:
                mask = (scored["split"] == split).to_numpy() & targets_.notna().to_numpy()
                if mask.sum() == 0:
                    out[name][split] = {"n": 0, "note": f"no labelled clips in {split}"}
                    continue
                out[name][split] = binary_metrics(targets_.to_numpy()[mask].astype(int), p[mask],
                                                  n_bootstrap=n_bootstrap, seed=seed, groups=groups[mask])
        return out

    weak_targets = scored["label"].where(scored["status"] == "ok").astype("Float64")
    metrics = {
        "dataset": str(dataset_dir), "build_fingerprint": build["fingerprint"],
        "policy": build["config"]["policy"], "neutral_band": build["config"]["neutral_band"],
        "train_config": config.to_dict(),
        "embedding": {k: emb_meta[k] for k in ("key", "backbone", "layer", "pooling", "image_version", "dim",
                                               "features_sha256")},
        "weights": weights_record(weights),
        "labels_trained_on": config.labels,
        "n_train": int(len(train)), "train_positive_share": float(y_train.mean()),
        "head_training": head_info,
        "standardisation": {"mode": standardiser.mode, "min_clips": standardiser.min_clips, "by": "group_id"},
        "against_weak_labels": evaluate(weak_targets),
    }
    human = human_all.loc[scored.index] if human_all is not None else None
    if human is None:
        metrics["against_human_labels"] = None
        metrics["human_labels_note"] = "the dataset carries no human labels (manifest column human_label or --human-labels)"
    else:
        weak_score = ((scored["score"].astype("Float64").fillna(0.0).to_numpy(dtype=float) + 1.0) / 2.0)
        metrics["against_human_labels"] = evaluate(human.astype("Float64"), {"weak_label_score": weak_score})
        metrics["human_labels_source"] = human_source
    frame = scored[["segment_id", "split", "group_id"]].reset_index(drop=True).assign(
        weak_label=weak_targets.to_numpy(), human_label=None if human is None else human.astype("Float64").to_numpy())
    return TrainResult(head, standardiser, metrics, frame.assign(**{f"p_{k}": v for k, v in predictions.items()}))


@dataclass
class TrainResult:
    """What :func:`train_and_evaluate` returns.

    Attributes
    ----------
    head : keras.Model, (n, dim) standardised embeddings -> (n, 1) p(positive)
    standardiser : GroupStandardiser fitted on the training clips
    metrics : dict, the content of ``metrics.json``
    predictions : DataFrame, one row per validation/test clip: ``segment_id, split, group_id, weak_label,
        human_label`` (1/0/NA) and ``p_<model>`` for every model scored
    """

    head: object
    standardiser: GroupStandardiser
    metrics: dict
    predictions: pd.DataFrame


def model_metadata(dataset_dir: str | Path, metrics: dict, standardiser: GroupStandardiser) -> dict:
    """What a saved model needs to rebuild its input from raw audio, and which embeddings it came from."""
    build = json.loads((Path(dataset_dir) / "build.json").read_text(encoding="utf-8"))
    return {
        "clip_seconds": build["config"]["clip_seconds"], "sample_rate": build["features"]["sample_rate"],
        "log_mel": build["features"]["log_mel"], "image_version": metrics["embedding"]["image_version"],
        "backbone": metrics["embedding"]["backbone"], "layer": metrics["embedding"]["layer"],
        "pooling": metrics["train_config"]["pooling"], "n_bands": metrics["train_config"]["n_bands"],
        "train_config": metrics["train_config"], "embedding_key": metrics["embedding"]["key"],
        "features_sha256": metrics["embedding"]["features_sha256"],
        "weights": metrics["weights"], "trained_on": {"dataset": str(dataset_dir),
                                                      "build_fingerprint": build["fingerprint"],
                                                      "policy": build["config"]["policy"],
                                                      "neutral_band": build["config"]["neutral_band"]},
        "head_training": metrics["head_training"], "standardiser": standardiser.to_dict(),
        "validation_auc_weak": metrics["against_weak_labels"]["head"]["validation"].get("roc_auc"),
        "test_auc_weak": metrics["against_weak_labels"]["head"]["test"].get("roc_auc"),
    }
