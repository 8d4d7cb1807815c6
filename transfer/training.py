"""Train the dense head and the baselines on a built dataset and score them honestly.

Every model is scored on validation and test by ROC AUC (from predicted probabilities, never from hard
0/1 predictions) with a bootstrap 95% interval, accuracy, balanced accuracy, F1, n and positive share:

* against the **weak labels** (segments with status ``ok``);
* against **human labels** where the dataset carries them (a ``human_label`` column from a manifest, or
  a label file joined by video id and times), on every clip that has a human positive/negative label,
  including clips the weak labeller abstained on. The weak labeller's own score is scored there too.

Models: the exported head (:mod:`transfer.head`) on the features of the extractor the config names
(:data:`transfer.features.FEATURES`; VGG16 embeddings by default) standardised per group
(:mod:`transfer.standardise`); random forest, k-NN, logistic regression and MLP on time-averaged mel features
(padding excluded); logistic regression on the raw features.

:class:`TrainConfig` holds everything the model depends on besides the dataset; :data:`ORIGINAL_RECIPE` and
:data:`PREVIOUS_DEFAULTS` name the reference configurations the weak-supervision benchmark compares against.
:func:`train` is the training step (``transfer.train``): it trains with :class:`TrainOptions` (weights, human
labels, bootstrap) and saves the model and ``metrics.json`` into the dataset; :func:`model_is_current` says
whether that is already done.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from transfer.baselines import BASELINES, fit_predict_baseline, mel_summary_features
from foundation.config import SEED_RANGE, check_ranges, option
from foundation.locking import writes_into
from transfer.embedding import embed_dataset
from transfer.embedding_record import EmbeddingRecord
from transfer.features import ORIGINAL_FEATURES, Embedding, EmbeddingConfig, VGG16Options, block_scale
from transfer.head import HeadConfig, predict_head, train_head
from transfer.model import save_valence_model
from transfer.metrics_record import EmbeddingUsed, MetricsRecord
from transfer.metrics_schema import AGAINST_HUMAN, AGAINST_WEAK, EMBEDDING_BASELINE, EVAL_SPLITS, HEAD, MEL_PREFIX, \
    WEAK_LABEL_SCORE
from transfer.model_record import FeaturesUsed, ModelRecord, TrainedOn
from foundation.metrics import binary_metrics
from transfer.standardise import DEFAULT_STANDARDISATION, STANDARDISATIONS, GroupStandardiser
from weaklabel.dataset import Dataset
from weaklabel.human_labels import join_human_labels, read_human_labels, sentiment_to_valence
from weaklabel.segments import OK
from weaklabel.splits import TEST, TRAIN, VALIDATION

WEIGHTINGS = ("confidence", "none")
LABEL_SOURCES = ("weak", "human")


@dataclass(frozen=True)
class TrainConfig:
    """What a trained model depends on besides the dataset.

    Parameters
    ----------
    embedding : :class:`transfer.features.EmbeddingConfig` -- the features the head reads (the extractor and its
        options), resolved when training starts
    standardise : ``group`` (per speaker/recording, :mod:`transfer.standardise`) or ``none``
    weighting : ``confidence`` (each clip weighted by the labelling policy's ``|score|``) or ``none``
    labels : ``weak`` (the build's labels) or ``human`` (the dataset's human labels: a ceiling, not a product)
    head : :class:`transfer.head.HeadConfig` (trained in float32 whatever the extractor's arithmetic)
    seed : int, for the head and the bootstrap

    The configuration is recorded as given (:meth:`to_dict`: ``auto`` stays ``auto``); what it resolved to on the
    machine that trained (the extractor ``auto`` chose, its weights, arithmetic and cache key) is recorded beside it
    (``metrics.json``'s ``features``, ``embedding`` and ``weights``).
    """

    embedding: EmbeddingConfig = option(default_factory=EmbeddingConfig, help="the features the head reads")
    standardise: str = option(
        DEFAULT_STANDARDISATION, choices=STANDARDISATIONS, group="model",
        help="'group': standardise embeddings per speaker/recording (the build's group_id; at prediction time "
             "per file); 'none'")
    weighting: str = option("confidence", choices=WEIGHTINGS, group="model",
                            help="'confidence': weight each clip by the labelling policy's |score|; 'none'")
    labels: str = option("weak", choices=LABEL_SOURCES, flag="--train-labels", group="model",
                         help="'weak' (the build's labels) or 'human' (the dataset's human labels: a ceiling to "
                              "compare with, not weak supervision)")
    head: HeadConfig = option(default_factory=HeadConfig, help="the head trained on the embeddings")
    seed: int = option(0, group="model", **SEED_RANGE, help="training and bootstrap seed")

    def __post_init__(self):
        check_ranges(self)
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"unknown weighting {self.weighting!r}; choose one of {', '.join(WEIGHTINGS)}")
        if self.labels not in LABEL_SOURCES:
            raise ValueError(f"unknown label source {self.labels!r}; choose one of {', '.join(LABEL_SOURCES)}")
        GroupStandardiser(mode=self.standardise)  # validates the name

    def to_dict(self) -> dict:
        """The configuration as given (nested like the class), as ``metrics.json``'s ``train_config`` records it."""
        return asdict(self)


#: The original project's model: VGG16 cut at block3_conv3, global average pooling over whole clips in float32, the
#: dense head on hard labels (with the ``mean`` labelling policy at build time).
ORIGINAL_RECIPE = TrainConfig(
    embedding=EmbeddingConfig(features=ORIGINAL_FEATURES, vgg16=VGG16Options(layer="block3_conv3", pooling="gap",
                                                                             precision="float32", frames="full")),
    standardise="none", weighting="none", head=HeadConfig(kind="dense"))
#: This project's defaults before the weak-supervision benchmark (with the ``calibrated`` policy).
PREVIOUS_DEFAULTS = replace(ORIGINAL_RECIPE,
                            embedding=ORIGINAL_RECIPE.embedding.updated(vgg16={"layer": "block2_conv2"}))


def human_valence(segments: pd.DataFrame, human_labels_path: str | Path | None) -> tuple[pd.Series | None, str | None]:
    """Human positive (1) / negative (0) / neutral-or-unknown (NA) per segment, and where it came from."""
    if human_labels_path:
        labels = read_human_labels(human_labels_path)
        joined = join_human_labels(segments, labels)
        return pd.Series(sentiment_to_valence(joined), index=segments.index), str(human_labels_path)
    if "human_label" in segments.columns:
        return pd.Series(sentiment_to_valence(segments["human_label"]), index=segments.index), "human_label column"
    return None, None


def train_and_evaluate(dataset_dir: str | Path, config: TrainConfig = TrainConfig(), embedding: Embedding | None = None,
                       human_labels_path: str | Path | None = None, n_bootstrap: int = 1000,
                       embed_progress: Callable[[int], None] | None = None,
                       embed_start: Callable[[int], None] | None = None,
                       log: Callable[[str], None] = lambda message: None,
                       embeddings_cache: str | Path | None = None, baselines: bool = True):
    """Embed (cached), train the head and the baselines, and compute all metrics.

    Parameters
    ----------
    dataset_dir : a folder written by the build
    config : TrainConfig
    embedding : transfer.features.Embedding, optional
        ``config.embedding`` resolved already (a caller that trains many models resolves it once); default: resolved
        here
    human_labels_path : human labels to score against (else the dataset's ``human_label`` column, if any)
    embeddings_cache : where the embedding cache lives (default ``DATASET/embeddings``)
    baselines : also train and score the baselines

    Returns
    -------
    TrainResult: the head, the standardiser, the metrics (``metrics.json``) and every model's p(positive) for
    the validation and test clips.
    """
    dataset = Dataset(dataset_dir)
    embedding = embedding or config.embedding.resolve()
    embeddings, record = embed_dataset(dataset, embedding, progress=embed_progress, on_start=embed_start,
                                       cache_dir=embeddings_cache)
    log(f"embeddings: {embedding.describe()}, {list(record.shape)} "
        f"({'cache' if record.from_cache else 'computed'})" + (f"; {embedding.note}" if embedding.note else ""))
    clips = training_clips(dataset.segments, config.labels, human_labels_path)
    trained = fit_head(embeddings, record, clips, config, log)
    # p(positive) of every model for every clip in validation/test (labelled or not).
    predictions = {HEAD: trained.predict(clips.scored)}
    if baselines:
        predictions.update(baseline_predictions(dataset.features, embeddings, clips, config.seed, log))
    metrics = metrics_record(dataset, config, embedding, record, clips, trained,
                             score_models(predictions, clips, n_bootstrap, config.seed))
    scored, human = clips.scored, clips.human_scored
    frame = scored[["segment_id", "split", "group_id"]].reset_index(drop=True).assign(
        weak_label=clips.weak_targets.to_numpy(), human_label=None if human is None else human.to_numpy())
    return TrainResult(trained.head, trained.standardiser, metrics,
                       frame.assign(**{f"p_{k}": v for k, v in predictions.items()}))


def _rows(frame: pd.DataFrame) -> np.ndarray:
    """The clips' rows in the embeddings (their ``feature_row``), int64."""
    return frame["feature_row"].to_numpy(dtype=np.int64)


@dataclass(frozen=True)
class TrainingClips:
    """The segments training reads (:func:`training_clips`), each a slice of ``segments.parquet``.

    Attributes
    ----------
    clipped : every segment with a clip (a ``feature_row``)
    train, validation : the labelled clips of those splits the head learns from and stops on (``label``: the weak
        label, or the human one when training on human labels)
    scored : every clip of the evaluation splits (:data:`~transfer.metrics_schema.EVAL_SPLITS`), labelled or not
    human : human positive (1) / negative (0) / NA per clipped segment (None: the dataset carries no human labels)
    human_source : where the human labels came from (None without them)
    """

    clipped: pd.DataFrame
    train: pd.DataFrame
    validation: pd.DataFrame
    scored: pd.DataFrame
    human: pd.Series | None
    human_source: str | None

    @property
    def weak_targets(self) -> pd.Series:
        """The scored clips' weak labels (1/0; NA where the labeller abstained or failed), Float64."""
        return self.scored["label"].where(self.scored["status"] == OK).astype("Float64")

    @property
    def human_scored(self) -> pd.Series | None:
        """The scored clips' human labels (1/0/NA), Float64; None without human labels."""
        return None if self.human is None else self.human.loc[self.scored.index].astype("Float64")


def training_clips(segments: pd.DataFrame, labels: str, human_labels_path: str | Path | None) -> TrainingClips:
    """The clips training learns from and scores (``labels``: ``weak`` or ``human``, :data:`LABEL_SOURCES`).

    Raises ValueError when training on human labels without any, or when the train split lacks a class."""
    clipped = segments[segments["feature_row"].notna()]
    human, human_source = human_valence(clipped, human_labels_path)
    if labels == "human":
        if human is None:
            raise ValueError("labels='human' needs human labels (a human_label column or --human-labels)")
        targets = clipped.assign(label=human.astype("Float64"))
        targets = targets[targets["label"].notna()]
    else:
        targets = clipped[clipped["status"] == OK]
    train = targets[targets["split"] == TRAIN]
    if train["label"].nunique() < 2:
        raise ValueError(f"the train split has {len(train)} labelled clips with "
                         f"{train['label'].nunique()} class(es); a classifier needs both")
    return TrainingClips(clipped=clipped, train=train, validation=targets[targets["split"] == VALIDATION],
                         scored=clipped[clipped["split"].isin(EVAL_SPLITS)], human=human, human_source=human_source)


@dataclass(frozen=True)
class TrainedHead:
    """The head :func:`fit_head` trained: the Keras model, what its training recorded (``kind``, epochs, ...),
    the standardiser fitted on the training clips and every clipped row standardised (``standardised``:
    ``(n_rows, dim)`` float32, zeros for rows without a clip)."""

    head: object
    info: dict
    standardiser: GroupStandardiser
    standardised: np.ndarray

    def predict(self, clips: pd.DataFrame) -> np.ndarray:
        """p(positive) for these clips, ``(n,)``."""
        return predict_head(self.head, self.standardised[_rows(clips)])


def fit_head(embeddings: np.ndarray, record: EmbeddingRecord, clips: TrainingClips, config: TrainConfig,
             log: Callable[[str], None]) -> TrainedHead:
    """The head trained on ``embeddings`` (``(n_rows, dim)``, described by ``record``) standardised per group, each
    training clip weighted as ``config.weighting`` says, early-stopped (dense) on the validation clips."""
    train, validation, clipped = clips.train, clips.validation, clips.clipped
    # Every clip standardised within its group (speaker or recording); small groups use the training fallback.
    standardiser = GroupStandardiser(mode=config.standardise)
    standardiser.fit(embeddings[_rows(train)], train["group_id"].to_numpy())
    Z = np.zeros((len(embeddings), embeddings.shape[1]), np.float32)
    Z[_rows(clipped)] = standardiser.transform(embeddings[_rows(clipped)], clipped["group_id"].to_numpy())
    weight = None
    if config.weighting == "confidence" and config.labels == "weak":
        weight = np.abs(train["score"].to_numpy(dtype=float))
    # A combination's blocks weigh the same in the head (transfer.features.base.block_scale).
    scale = block_scale(record.blocks) if record.components else None
    head, info = train_head(Z[_rows(train)], train["label"].to_numpy(dtype=int), weight, Z[_rows(validation)],
                            validation["label"].to_numpy(dtype=int), config.head, seed=config.seed, column_scale=scale)
    log(f"head: {info['kind']}" + (f", {info['epochs_run']} epochs, best {info['best_epoch']} "
                                   f"({info['monitor']})" if info["kind"] == "dense" else ""))
    return TrainedHead(head, info, standardiser, Z)


def baseline_predictions(logmel: np.ndarray, embeddings: np.ndarray, clips: TrainingClips, seed: int,
                         log: Callable[[str], None]) -> dict[str, np.ndarray]:
    """p(positive) of every baseline for the scored clips: each of :data:`~transfer.baselines.BASELINES` on the
    time-averaged log-mel (``logmel``: the build's ``(n_rows, n_mels, n_frames)``), and logistic regression on the
    raw embeddings (``(n_rows, dim)``)."""
    train, scored = clips.train, clips.scored
    y_train = train["label"].to_numpy(dtype=int)
    needed = np.unique(np.concatenate([_rows(train), _rows(scored)]))
    summary = dict(zip(needed.tolist(), mel_summary_features(logmel[needed])))
    mel_train = np.stack([summary[r] for r in _rows(train)])
    mel_scored = np.stack([summary[r] for r in _rows(scored)]) if len(scored) else np.zeros((0, mel_train.shape[1]))
    predictions = {}
    for name in BASELINES:
        predictions[MEL_PREFIX + name] = fit_predict_baseline(name, mel_train, y_train, {"scored": mel_scored},
                                                              seed=seed)["scored"]
        log(f"baseline {MEL_PREFIX}{name} trained")
    predictions[EMBEDDING_BASELINE] = fit_predict_baseline(
        "logistic_regression", embeddings[_rows(train)], y_train, {"scored": embeddings[_rows(scored)]},
        seed=seed)["scored"]
    return predictions


def score_models(predictions: dict[str, np.ndarray], clips: TrainingClips, n_bootstrap: int,
                 seed: int) -> dict[str, dict | None]:
    """Every model's :func:`~foundation.metrics.binary_metrics` per evaluation split, against the weak labels
    (:data:`~transfer.metrics_schema.AGAINST_WEAK`) and, where the dataset carries them, the human labels
    (:data:`~transfer.metrics_schema.AGAINST_HUMAN`, None without; the weak labeller's own score scored too).
    ``predictions``: ``{model: p(positive) per scored clip}``; bootstrap intervals resample whole groups."""
    scored = clips.scored
    groups = scored["group_id"].astype(str).to_numpy()

    def evaluate(targets: pd.Series, columns: dict[str, np.ndarray]) -> dict:
        out: dict = {}
        for name, p in columns.items():
            out[name] = {}
            for split in EVAL_SPLITS:
                mask = (scored["split"] == split).to_numpy() & targets.notna().to_numpy()
                if mask.sum() == 0:
                    out[name][split] = {"n": 0, "note": f"no labelled clips in {split}"}
                    continue
                out[name][split] = binary_metrics(targets.to_numpy()[mask].astype(int), p[mask],
                                                  n_bootstrap=n_bootstrap, seed=seed, groups=groups[mask])
        return out

    human = clips.human_scored
    if human is None:
        return {AGAINST_WEAK: evaluate(clips.weak_targets, predictions), AGAINST_HUMAN: None}
    weak_score = (scored["score"].astype("Float64").fillna(0.0).to_numpy(dtype=float) + 1.0) / 2.0
    return {AGAINST_WEAK: evaluate(clips.weak_targets, predictions),
            AGAINST_HUMAN: evaluate(human, {**predictions, WEAK_LABEL_SCORE: weak_score})}


def metrics_record(dataset: Dataset, config: TrainConfig, embedding: Embedding, record: EmbeddingRecord,
                   clips: TrainingClips, trained: TrainedHead, scores: dict[str, dict | None]) -> MetricsRecord:
    """``metrics.json``: the build, the configuration, the embeddings (``record``) and what ``embedding`` resolved
    to, the training clips and the head's training, and the models' ``scores`` (:func:`score_models`)."""
    y_train = clips.train["label"].to_numpy(dtype=int)
    standardiser = trained.standardiser
    has_human = clips.human is not None
    return MetricsRecord(
        dataset=str(dataset.path), build_fingerprint=dataset.fingerprint, policy=dataset.config.policy,
        neutral_band=dataset.config.neutral_band, train_config=config.to_dict(),
        embedding=EmbeddingUsed(key=record.key, extractor=record.extractor, settings=record.settings,
                                dim=record.dim, features_sha256=record.features_sha256),
        weights=embedding.weights_record(), labels_trained_on=config.labels, n_train=int(len(y_train)),
        train_positive_share=float(y_train.mean()), head_training=trained.info,
        standardisation={"mode": standardiser.mode, "min_clips": standardiser.min_clips, "by": "group_id"},
        features=FeaturesUsed.from_dict(embedding.record()), against_weak=scores[AGAINST_WEAK],
        against_human=scores[AGAINST_HUMAN], human_labels_source=clips.human_source if has_human else None,
        human_labels_note=None if has_human else
        "the dataset carries no human labels (manifest column human_label or --human-labels)")


@dataclass
class TrainResult:
    """What :func:`train_and_evaluate` returns.

    Attributes
    ----------
    head : keras.Model, (n, dim) standardised embeddings -> (n, 1) p(positive)
    standardiser : GroupStandardiser fitted on the training clips
    metrics : MetricsRecord, the content of ``metrics.json``
    predictions : DataFrame, one row per validation/test clip: ``segment_id, split, group_id, weak_label,
        human_label`` (1/0/NA) and ``p_<model>`` for every model scored
    """

    head: object
    standardiser: GroupStandardiser
    metrics: MetricsRecord
    predictions: pd.DataFrame
    model_dir: Path | None = None  # where :func:`train` saved the model


def model_metadata(dataset_dir: str | Path, metrics: MetricsRecord, standardiser: GroupStandardiser) -> ModelRecord:
    """What a saved model needs to rebuild its input from raw audio (the clip, the log-mel, the extractor's record
    with its settings and weights), and which embeddings and build it came from."""
    build = Dataset(dataset_dir)
    config = build.config
    validation = metrics.cell(AGAINST_WEAK, HEAD, VALIDATION) or {}
    return ModelRecord(
        clip_seconds=config.clip_seconds, mel=config.mel, features=metrics.features, weights=metrics.weights,
        standardiser=standardiser.to_dict(),
        trained_on=TrainedOn(dataset=str(Path(dataset_dir)), build_fingerprint=build.fingerprint,
                             policy=config.policy, neutral_band=config.neutral_band),
        train_config=metrics.train_config, embedding_key=metrics.embedding.key,
        features_sha256=metrics.embedding.features_sha256, head_training=metrics.head_training,
        validation_auc_weak=validation.get("roc_auc"), test_auc_weak=(metrics.head_test(AGAINST_WEAK) or {}).get(
            "roc_auc"), test_metrics=metrics.head_test_metrics())


# ------------------------------------------------------------------------------------ the training step
@dataclass(frozen=True)
class TrainOptions:
    """How :func:`train` runs and scores, besides the model (:class:`TrainConfig`): the human labels scored against,
    the bootstrap and where the model goes."""

    human_labels: str | None = option(
        None, metavar="FILE", help="human sentiment labels to score against: CMU-MOSEI .csd, or CSV/TSV with video "
                                   "id, start, end, sentiment (joined by video id and times)",
        default_text="the dataset's human_label column, if any")
    n_bootstrap: int = option(1000, flag="--bootstrap", minimum=0, help="bootstrap resamples for the AUC intervals")
    model_out: str | None = option(None, metavar="DIR", default_text="DATASET/model",
                                   help="where to save the model")

    def __post_init__(self):
        check_ranges(self)


class EmptySplitError(ValueError):
    """Training left a side with no labelled clip to score, so there is no result to save; ``metrics`` holds
    what was computed (each such side marked)."""

    def __init__(self, message: str, metrics: MetricsRecord):
        super().__init__(message)
        self.metrics = metrics


def empty_sides(metrics: MetricsRecord) -> list[str]:
    """The evaluation splits (validation, test) with no labelled clip for any model, in either label block."""
    empty = []
    for split in EVAL_SPLITS:
        cells = [metrics.cell(target, model, split) or {} for target in (AGAINST_WEAK, AGAINST_HUMAN)
                 for model in metrics.results(target)]
        if cells and all(not c.get("n") for c in cells):
            empty.append(split)
    return empty


@writes_into("dataset", "train")
def train(dataset, config: TrainConfig = TrainConfig(), options: TrainOptions = TrainOptions(), *,
          embedding: Embedding | None = None, log: Callable[[str], None] | None = None,
          embed_start: Callable[[int], None] | None = None,
          embed_progress: Callable[[int], None] | None = None) -> TrainResult:
    """Train and score the model on a dataset, and save it with ``metrics.json`` into the dataset (holding its
    writer lock throughout, :mod:`foundation.locking`).

    Parameters
    ----------
    dataset : Dataset or path
    config : TrainConfig
    options : TrainOptions
    embedding : transfer.features.Embedding, optional
        ``config.embedding`` resolved already (``pipelines.run`` resolves it once for every step); default: resolved
        here
    log, embed_start, embed_progress :
        Progress messages and the embedding's progress (:func:`train_and_evaluate`).

    Returns
    -------
    TrainResult, with :attr:`~TrainResult.model_dir` where the model was saved.

    Raises
    ------
    EmptySplitError
        When the test side holds no labelled clip: nothing is written.
    FolderBusyError
        Another process is writing into the dataset.
    """
    from foundation.atomic import write_json_atomic

    dataset = Dataset(dataset)
    result = train_and_evaluate(dataset.path, config, embedding or config.embedding.resolve(),
                                human_labels_path=options.human_labels, n_bootstrap=options.n_bootstrap,
                                log=log or (lambda message: None), embed_start=embed_start,
                                embed_progress=embed_progress)
    empty = empty_sides(result.metrics)
    if TEST in empty:
        raise EmptySplitError(f"the dataset's {' and '.join(empty)} split(s) hold no labelled clips, so there is "
                              "nothing to report: rebuild with more recordings or speakers (the build names the "
                              "groups); no metrics or model written", result.metrics)
    result.model_dir = save_valence_model(options.model_out or dataset.model_dir, result.head,
                                          model_metadata(dataset.path, result.metrics, result.standardiser))
    write_json_atomic(dataset.metrics_path, result.metrics.to_dict())
    return result


def model_is_current(dataset, config: TrainConfig, embedding: Embedding | None = None,
                     human_labels: str | Path | None = None, model_dir: str | Path | None = None) -> str | None:
    """Why the dataset's model is current for this training, or None when it must be trained.

    Current means: ``metrics.json`` and the model folder (``model_dir``, default ``DATASET/model``) exist;
    both record this build's fingerprint; ``metrics.json`` records the embedding key of ``embedding``
    (``config.embedding`` resolved; resolved here when not given), computed from the features the dataset holds
    now; and the training configuration and human-label source are the ones asked for.
    """
    import json

    from transfer.metrics_record import read_metrics
    from transfer.model_record import read_model_record
    from weaklabel.dataset import MODEL_HEAD_FILE

    dataset = Dataset(dataset)
    model_dir = Path(model_dir) if model_dir else dataset.model_dir
    try:
        metrics = read_metrics(dataset.metrics_path)
        model_meta = read_model_record(model_dir)
    except (OSError, ValueError):
        return None
    if metrics is None or not (model_dir / MODEL_HEAD_FILE).is_file():
        return None
    fingerprint = dataset.fingerprint
    if metrics.build_fingerprint != fingerprint or \
            (model_meta.trained_on.build_fingerprint if model_meta.trained_on else None) != fingerprint:
        return None
    if metrics.train_config != json.loads(json.dumps(config.to_dict())):
        return None
    key = (embedding or config.embedding.resolve()).key
    if metrics.embedding.key != key or model_meta.embedding_key != key:
        return None
    if metrics.embedding.features_sha256 != dataset.features_sha256:
        return None
    source = metrics.human_labels_source
    if human_labels is not None and source != str(human_labels):
        return None
    if human_labels is None and source not in (None, "human_label column"):
        return None
    return f"model and metrics.json match build {str(fingerprint)[:12]} and embedding {key}"
