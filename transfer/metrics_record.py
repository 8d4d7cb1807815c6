"""``metrics.json``, typed: what training measured (written by :func:`transfer.training.train`), its vocabulary in
:mod:`transfer.metrics_schema`.

:class:`MetricsRecord` holds the record's top-level fields typed and each target's results table (model -> split ->
:func:`foundation.metrics.binary_metrics` values) as a mapping, read through :meth:`MetricsRecord.results`,
:meth:`MetricsRecord.cell` and :meth:`MetricsRecord.head_test`. :meth:`MetricsRecord.from_dict` is the one reader of
every format this tool wrote: format 1 carried no ``format_version`` and only one of ``human_labels_source`` /
``human_labels_note``, and records from before the extractor registry no ``features`` or ``weights``.
:meth:`MetricsRecord.to_dict` writes the current format (:data:`METRICS_FORMAT_VERSION`), every key present.

Light (no scikit-learn, no Keras): the report reads it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from foundation.metrics import not_a_result
from foundation.records import record_version_problem
from transfer.metrics_schema import AGAINST_HUMAN, AGAINST_WEAK, EMBEDDING_BASELINE, HEAD, MODEL_TITLES, \
    TEST_METRIC_KEYS
from transfer.model_record import LEGACY_FEATURES, FeaturesUsed
from weaklabel.layout import METRICS_FILE
from weaklabel.splits import TEST

#: 2: ``format_version`` and both ``human_labels_source`` and ``human_labels_note`` written (one of them None).
METRICS_FORMAT_VERSION = 2


@dataclass(frozen=True)
class EmbeddingUsed:
    """``metrics.json``'s ``embedding`` block: the cache ``key``, the ``extractor`` (written as ``backbone``), what
    its cache record says of its settings (:attr:`~transfer.features.FeatureExtractor.cache_record`: layer, pooling,
    precision, ...; written beside the key), the width ``dim`` and the features' SHA-256 the embeddings were
    computed from."""

    key: str
    extractor: str
    settings: Mapping
    dim: int | None
    features_sha256: str | None

    def to_dict(self) -> dict:
        return {"key": self.key, "backbone": self.extractor, **self.settings, "dim": self.dim,
                "features_sha256": self.features_sha256}

    @classmethod
    def from_dict(cls, data: Mapping) -> "EmbeddingUsed":
        """The block as any format wrote it (no ``backbone``: VGG16)."""
        fixed = ("key", "backbone", "dim", "features_sha256")
        return cls(key=str(data.get("key") or ""), extractor=str(data.get("backbone") or LEGACY_FEATURES),
                   settings={k: v for k, v in data.items() if k not in fixed}, dim=data.get("dim"),
                   features_sha256=data.get("features_sha256"))


@dataclass(frozen=True)
class MetricsRecord:
    """``metrics.json``.

    Attributes
    ----------
    dataset, build_fingerprint, policy, neutral_band : the build trained on (its folder as given)
    train_config : :meth:`transfer.training.TrainConfig.to_dict`
    embedding : the embeddings the models read
    weights : the identity of the weights the extractor ran (None: an extractor without weights)
    labels_trained_on : ``weak`` or ``human``
    n_train, train_positive_share : the labelled training clips and their positive share
    head_training : what training the head recorded (``kind``, epochs, ...)
    standardisation : ``{mode, min_clips, by}``
    features : the extractor's record (None: a record from before the registry, a VGG16 one)
    against_weak : the results against weak labels: ``{model: {split: binary_metrics}}``
    against_human : the same against human labels, None where the dataset has none
    human_labels_source : where the human labels came from (None without them)
    human_labels_note : why there are none (None with them)
    format_version : the format it was read from
    """

    dataset: str
    build_fingerprint: str | None
    policy: str | None
    neutral_band: float | None
    train_config: Mapping
    embedding: EmbeddingUsed
    weights: Mapping | None
    labels_trained_on: str
    n_train: int
    train_positive_share: float | None
    head_training: Mapping
    standardisation: Mapping
    features: FeaturesUsed | None
    against_weak: Mapping
    against_human: Mapping | None
    human_labels_source: str | None = None
    human_labels_note: str | None = None
    format_version: int = METRICS_FORMAT_VERSION

    @property
    def extractor(self) -> str:
        """The registry name of the extractor the embeddings came from."""
        return self.features.name if self.features is not None else self.embedding.extractor

    @property
    def head_kind(self) -> str | None:
        """The kind of head (``logistic``, ``dense``), or None where not recorded."""
        return self.head_training.get("kind") or (self.train_config.get("head") or {}).get("kind")

    def results(self, target: str) -> Mapping:
        """The results against ``target`` (:data:`~transfer.metrics_schema.AGAINST_WEAK` or ``AGAINST_HUMAN``):
        ``{model: {split: binary_metrics}}``, empty where not scored."""
        table = {AGAINST_WEAK: self.against_weak, AGAINST_HUMAN: self.against_human}[target]
        return table or {}

    def cell(self, target: str, model: str, split: str) -> dict | None:
        """One model's :func:`~foundation.metrics.binary_metrics` on one split against ``target``, or None."""
        cell = (self.results(target).get(model) or {}).get(split)
        return cell if isinstance(cell, dict) else None

    def head_test(self, target: str) -> dict | None:
        """The head's metrics on the test split against ``target``, or None."""
        return self.cell(target, HEAD, TEST)

    def head_test_metrics(self) -> dict:
        """The head's measured quality on its test split, per target it was scored against: ``{target: {roc_auc,
        roc_auc_ci95, n, n_positive, n_groups, not_a_result}}`` (:func:`~foundation.metrics.not_a_result`: why they
        are not a result, or None); what a saved model keeps and ``predict`` reports beside its scores."""
        out = {}
        for target in (AGAINST_WEAK, AGAINST_HUMAN):
            cell = self.head_test(target)
            if cell is not None:
                out[target] = {**{key: cell.get(key) for key in TEST_METRIC_KEYS}, "not_a_result": not_a_result(cell)}
        return out

    def model_titles(self) -> dict[str, str]:
        """Model key -> the name a reader sees: the head by its recorded kind and the embedding's recorded layer and
        pooling (``logistic head (VGG16 block2_conv2, bands4)``), the logistic regression on the raw embeddings
        likewise; :data:`~transfer.metrics_schema.MODEL_TITLES` for the rest."""
        detail = ", ".join(str(v) for v in (self.embedding.settings.get("layer"),
                                            self.embedding.settings.get("pooling")) if v)
        name = "VGG16" if self.embedding.extractor == LEGACY_FEATURES else self.embedding.extractor
        described = f"{name} {detail}" if detail else name
        kind = self.head_kind
        return {**MODEL_TITLES, HEAD: f"{kind} head ({described})" if kind else f"head ({described})",
                EMBEDDING_BASELINE: f"logistic regression (raw {described})"}

    def to_dict(self) -> dict:
        """The current format (:data:`METRICS_FORMAT_VERSION`), every key written."""
        return {"format_version": METRICS_FORMAT_VERSION, "dataset": self.dataset,
                "build_fingerprint": self.build_fingerprint, "policy": self.policy, "neutral_band": self.neutral_band,
                "train_config": dict(self.train_config), "embedding": self.embedding.to_dict(),
                "weights": None if self.weights is None else dict(self.weights),
                "labels_trained_on": self.labels_trained_on, "n_train": self.n_train,
                "train_positive_share": self.train_positive_share, "head_training": dict(self.head_training),
                "standardisation": dict(self.standardisation), AGAINST_WEAK: dict(self.against_weak),
                "features": None if self.features is None else self.features.to_dict(),
                AGAINST_HUMAN: None if self.against_human is None else dict(self.against_human),
                "human_labels_note": self.human_labels_note, "human_labels_source": self.human_labels_source}

    @classmethod
    def from_dict(cls, data: Mapping) -> "MetricsRecord":
        """A record of any format this tool wrote (ValueError, saying why, for anything else:
        :func:`metrics_record_problem`)."""
        problem = metrics_record_problem(data)
        if problem is not None:
            raise ValueError(problem)
        features = data.get("features")
        return cls(dataset=str(data.get("dataset") or ""), build_fingerprint=data.get("build_fingerprint"),
                   policy=data.get("policy"), neutral_band=data.get("neutral_band"),
                   train_config=dict(data.get("train_config") or {}),
                   embedding=EmbeddingUsed.from_dict(data.get("embedding") or {}), weights=data.get("weights"),
                   labels_trained_on=str(data.get("labels_trained_on") or "weak"), n_train=int(data.get("n_train", 0)),
                   train_positive_share=data.get("train_positive_share"),
                   head_training=dict(data.get("head_training") or {}),
                   standardisation=dict(data.get("standardisation") or {}),
                   features=FeaturesUsed.from_dict(features) if isinstance(features, Mapping) else None,
                   against_weak=dict(data[AGAINST_WEAK]), against_human=data.get(AGAINST_HUMAN) or None,
                   human_labels_source=data.get("human_labels_source"),
                   human_labels_note=data.get("human_labels_note"),
                   format_version=int(data.get("format_version", 1)))


def metrics_record_problem(record) -> str | None:
    """What makes a ``metrics.json`` record unreadable, in words (naming the file), or None: a JSON object (its
    ``format_version``, where written, a format this code reads) whose results against weak labels are an object of
    models, each an object of splits, and whose ``train_config``, ``embedding`` and ``head_training`` are objects."""
    if isinstance(record, dict) and "format_version" not in record:
        record = {**record, "format_version": 1}
    problem = record_version_problem(record, METRICS_FILE, METRICS_FORMAT_VERSION)
    if problem is not None:
        return problem
    for target in (AGAINST_WEAK, AGAINST_HUMAN):
        table = record.get(target)
        if (target == AGAINST_WEAK or table is not None) and not (
                isinstance(table, dict) and all(isinstance(splits, dict) for splits in table.values())):
            return f"{METRICS_FILE}'s {target} is {table!r}, not the results of each model on each split"
    for key in ("train_config", "embedding", "head_training", "features"):
        if record.get(key) is not None and not isinstance(record[key], dict):
            return f"{METRICS_FILE}'s {key} is {record[key]!r}, not an object"
    return None


def read_metrics(path: str | Path) -> MetricsRecord | None:
    """The ``metrics.json`` at ``path``, or None where there is none (ValueError, saying why, where it is not a record
    this code reads)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise ValueError(f"{METRICS_FILE} is not JSON ({' '.join(str(exc).split())})") from None
    return MetricsRecord.from_dict(data)
