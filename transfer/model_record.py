"""``model.json``, typed: what a saved model records about itself (written by :func:`transfer.model.save_valence_model`
last, as the completion mark).

:class:`ModelRecord` holds each field once: the log-mel parameters (their sample rate included) in ``mel``, the
extractor and its settings in ``features`` (:class:`FeaturesUsed`). :meth:`ModelRecord.from_dict` is the one reader
of every format this tool has written (1 to :data:`MODEL_FORMAT_VERSION`); what an older format lacks is decided
there, once: a VGG16 model recorded without the extractor registry (no ``features`` entry, its settings at the top
level) gets its settings moved into ``features.settings``, with what an absent one meant written out
(:data:`LEGACY_VGG16_DEFAULTS`). :meth:`ModelRecord.to_dict` writes the current format, every key present.

Formats: 1 (the VGG16 layer, backbone and image version at the top, no pooling or standardiser); 2 (pooling,
n_bands, the per-group standardiser, the training configuration; later the precision, frames, the extractor's
record and the head's test metrics); 3 (the extractor's record is the one home of its settings); 4 (this one: no
``sample_rate`` beside ``log_mel``, every key written).

Importing this module is cheap (no TensorFlow, no extractor): the report and :mod:`transfer.metrics_record` read it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from foundation.records import is_integer, read_json, record_version_problem
from weaklabel.layout import MODEL_META_FILE
from weaklabel.logmel import LogMelParams

#: 2: pooling, per-group standardisation, train config (and, optional, the extractor record); 3: the extractor record
#: (``features``, with its settings) is the one home of the embedding's settings; 4: each field once (no
#: ``sample_rate`` beside ``log_mel``), every key written, VGG16's precision always in its settings.
MODEL_FORMAT_VERSION = 4
#: The extractor of a record that names none.
LEGACY_FEATURES = "vgg16"
#: A VGG16 record's settings that a record may lack, and what their absence meant.
LEGACY_VGG16_DEFAULTS = {"pooling": "gap", "n_bands": 4, "precision": "float32", "frames": "full"}
#: The VGG16 settings a record without the extractor registry kept at its top level.
LEGACY_VGG16_KEYS = ("layer", "pooling", "n_bands", "image_version", "precision", "frames")
#: The keys of the extractor's description in a ``features`` record, besides its name and settings.
_DESCRIPTION_KEYS = ("version", "description", "reads", "licence")


def vgg16_settings(values: Mapping) -> dict:
    """VGG16 settings as recorded, the absent ones given the values they meant (:data:`LEGACY_VGG16_DEFAULTS`) and
    a precision recorded as its resolution (``{"precision": ...}``) read as the resolved name."""
    settings = {**LEGACY_VGG16_DEFAULTS, **{k: v for k, v in values.items() if v is not None}}
    if isinstance(settings["precision"], Mapping):
        settings["precision"] = settings["precision"].get("precision") or LEGACY_VGG16_DEFAULTS["precision"]
    return settings


def normalised_settings(name: str, settings: Mapping) -> dict:
    """An extractor's recorded settings with every VGG16 setting present (a combination's VGG16 component too)."""
    if name == LEGACY_FEATURES:
        return vgg16_settings(settings)
    if "+" in name:
        return {component: normalised_settings(component, part) if isinstance(part, Mapping) else part
                for component, part in settings.items()}
    return dict(settings)


@dataclass(frozen=True)
class FeaturesUsed:
    """The extractor a model (or ``metrics.json``) was made with: its registry ``name``, its ``settings`` as the
    extractor records them (:attr:`~transfer.features.FeatureExtractor.settings_record`; a combination's:
    ``{component: settings}``), what the configuration asked for (``requested``: ``auto`` or the name) and why
    ``auto`` chose it (``note``), and the extractor's description (version, reads, licence, provenance; None where
    a record predates them)."""

    name: str
    settings: Mapping
    requested: str
    note: str = ""
    version: str | None = None
    description: str | None = None
    reads: str | None = None
    components: tuple[str, ...] = ()
    licence: str | None = None
    provenance: Mapping = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"name": self.name, "version": self.version, "description": self.description, "reads": self.reads,
                "settings": dict(self.settings), "components": list(self.components), "licence": self.licence,
                "provenance": dict(self.provenance), "requested": self.requested, "note": self.note}

    @classmethod
    def from_dict(cls, data: Mapping) -> "FeaturesUsed":
        """A ``features`` record (:meth:`transfer.features.Embedding.record`), its settings normalised
        (:func:`normalised_settings`)."""
        name = str(data.get("name") or LEGACY_FEATURES)
        settings = data.get("settings") if isinstance(data.get("settings"), Mapping) else {}
        return cls(name=name, settings=normalised_settings(name, settings),
                   requested=str(data.get("requested") or name), note=str(data.get("note") or ""),
                   **{key: data.get(key) for key in _DESCRIPTION_KEYS},
                   components=tuple(data.get("components") or ()), provenance=dict(data.get("provenance") or {}))

    @classmethod
    def legacy_vgg16(cls, record: Mapping) -> "FeaturesUsed":
        """The VGG16 extractor of a record without a ``features`` entry: its top-level settings."""
        return cls(name=LEGACY_FEATURES, requested=LEGACY_FEATURES,
                   settings=vgg16_settings({k: record[k] for k in LEGACY_VGG16_KEYS if k in record}))


def features_used(record: Mapping) -> FeaturesUsed:
    """The extractor a ``model.json`` or ``metrics.json`` record (any format) names: its ``features`` record, else
    (a record from before the extractor registry) VGG16 with its top-level settings. A VGG16 record of format 2 kept
    its precision and frames at the top level beside ``features.settings``: both are read, ``features.settings``
    first."""
    features = record.get("features")
    if not isinstance(features, Mapping):
        return FeaturesUsed.legacy_vgg16(record)
    if features.get("name") not in (None, LEGACY_FEATURES):
        return FeaturesUsed.from_dict(features)
    top = {k: record[k] for k in LEGACY_VGG16_KEYS if k in record}
    return FeaturesUsed.from_dict({**features, "settings": {**top, **(features.get("settings") or {})}})


@dataclass(frozen=True)
class TrainedOn:
    """The build a model was trained on: its folder (as given to training), fingerprint, labelling policy and
    neutral band."""

    dataset: str
    build_fingerprint: str | None
    policy: str | None
    neutral_band: float | None

    def to_dict(self) -> dict:
        return {"dataset": self.dataset, "build_fingerprint": self.build_fingerprint, "policy": self.policy,
                "neutral_band": self.neutral_band}

    @classmethod
    def from_dict(cls, data: Mapping) -> "TrainedOn":
        return cls(dataset=str(data.get("dataset") or ""), build_fingerprint=data.get("build_fingerprint"),
                   policy=data.get("policy"), neutral_band=data.get("neutral_band"))


@dataclass(frozen=True)
class ModelRecord:
    """``model.json``: what a saved model needs to rebuild its input from audio (the clip length in seconds, the
    log-mel parameters, the extractor with its settings and the identity of its weights, the per-group
    standardiser's state), what it was trained on and with, and what it measured.

    Attributes
    ----------
    clip_seconds : the training clip's length, seconds
    mel : the log-mel parameters (their ``sample_rate``: every feature is computed at it)
    features : the extractor and its settings
    weights : the identity of the weights it runs (``spec, source, path, sha256, verified``), None for an extractor
        without weights (or a record that kept none)
    standardiser : :meth:`transfer.standardise.GroupStandardiser.to_dict`; None for a model that standardised nothing
    trained_on : the build (None: a record that names none)
    train_config : :meth:`transfer.training.TrainConfig.to_dict` as recorded (None: format 1)
    embedding_key, features_sha256 : the embedding cache key and the build's features' SHA-256 (None: format 1)
    head_training : what training the head recorded (``kind``, epochs, ...)
    validation_auc_weak, test_auc_weak : the head's ROC AUC against weak labels (None: not measured)
    test_metrics : ``{target: {roc_auc, roc_auc_ci95, n, n_positive, n_groups, not_a_result}}``
        (:func:`transfer.metrics_schema.head_test_metrics`); None for a record from before they were kept
    format_version : the format it was read from
    """

    clip_seconds: float
    mel: LogMelParams
    features: FeaturesUsed
    weights: Mapping | None
    standardiser: Mapping | None
    trained_on: TrainedOn | None
    train_config: Mapping | None
    embedding_key: str | None
    features_sha256: str | None
    head_training: Mapping
    validation_auc_weak: float | None
    test_auc_weak: float | None
    test_metrics: Mapping | None
    format_version: int = MODEL_FORMAT_VERSION

    @property
    def head_kind(self) -> str | None:
        """The kind of head (``logistic``, ``dense``), or None where not recorded."""
        kind = self.head_training.get("kind")
        return kind or ((self.train_config or {}).get("head") or {}).get("kind")

    def to_dict(self) -> dict:
        """The current format (:data:`MODEL_FORMAT_VERSION`), every key written."""
        return {"format_version": MODEL_FORMAT_VERSION, "clip_seconds": self.clip_seconds,
                "log_mel": self.mel.to_dict(), "features": self.features.to_dict(),
                "weights": None if self.weights is None else dict(self.weights),
                "standardiser": None if self.standardiser is None else dict(self.standardiser),
                "trained_on": None if self.trained_on is None else self.trained_on.to_dict(),
                "train_config": None if self.train_config is None else dict(self.train_config),
                "embedding_key": self.embedding_key, "features_sha256": self.features_sha256,
                "head_training": dict(self.head_training), "validation_auc_weak": self.validation_auc_weak,
                "test_auc_weak": self.test_auc_weak,
                "test_metrics": None if self.test_metrics is None else dict(self.test_metrics)}

    @classmethod
    def from_dict(cls, data: Mapping) -> "ModelRecord":
        """A record of any format this tool wrote (ValueError, saying why, for anything else:
        :func:`model_record_problem`)."""
        problem = model_record_problem(data)
        if problem is not None:
            raise ValueError(problem)
        trained_on = data.get("trained_on")
        return cls(clip_seconds=float(data["clip_seconds"]), mel=_mel(data["log_mel"]), features=features_used(data),
                   weights=data.get("weights"), standardiser=data.get("standardiser"),
                   trained_on=TrainedOn.from_dict(trained_on) if isinstance(trained_on, Mapping) else None,
                   train_config=data.get("train_config"), embedding_key=data.get("embedding_key"),
                   features_sha256=data.get("features_sha256"), head_training=dict(data.get("head_training") or {}),
                   validation_auc_weak=data.get("validation_auc_weak"), test_auc_weak=data.get("test_auc_weak"),
                   test_metrics=data.get("test_metrics") if isinstance(data.get("test_metrics"), Mapping) else None,
                   format_version=int(data["format_version"]))


def _mel(values: Mapping) -> LogMelParams:
    """The log-mel parameters as recorded, checked (ValueError saying which is wrong)."""
    from foundation.config import make_config, table_values

    return make_config(LogMelParams, table_values({"mel": LogMelParams}, values, f"{MODEL_META_FILE}'s log_mel",
                                                  cli_only=False)["mel"])


def model_record_problem(record) -> str | None:
    """What makes a ``model.json`` record unreadable, in words (naming the file), or None.

    A JSON object whose ``format_version`` is an integer no newer than :data:`MODEL_FORMAT_VERSION`; ``clip_seconds``
    a clip length (:data:`~weaklabel.audio.CLIP_SECONDS_RANGE`); ``sample_rate`` (formats 1 to 3) and ``log_mel``'s
    the rate features are computed at, :data:`~weaklabel.audio.TARGET_SR`; ``log_mel`` valid
    :class:`~weaklabel.logmel.LogMelParams`; ``features`` (where recorded) an extractor's record. What the extractor
    itself needs (a known name, its weights, its settings) is checked where the model is loaded
    (:func:`transfer.model.model_problem`).
    """
    from foundation.config import range_problem
    from weaklabel.audio import CLIP_SECONDS_RANGE, TARGET_SR

    problem = record_version_problem(record, MODEL_META_FILE, MODEL_FORMAT_VERSION)
    if problem is not None:
        return problem
    clip = record.get("clip_seconds")
    if not isinstance(clip, (int, float)) or isinstance(clip, bool) or range_problem(CLIP_SECONDS_RANGE, clip):
        return f"{MODEL_META_FILE}'s clip_seconds is {clip!r}, not a clip length in seconds (more than 0, at most 600)"
    rate = record.get("sample_rate", TARGET_SR)
    if not is_integer(rate) or rate != TARGET_SR:
        return f"{MODEL_META_FILE}'s sample_rate is {rate!r}; every feature is computed at {TARGET_SR} Hz"
    if not isinstance(record.get("log_mel"), dict):
        return f"{MODEL_META_FILE}'s log_mel is {record.get('log_mel')!r}, not the log-mel parameters"
    try:
        mel = _mel(record["log_mel"])
    except ValueError as exc:
        return f"{MODEL_META_FILE}: {' '.join(str(exc).split())}"
    if mel.sample_rate != TARGET_SR:
        return (f"{MODEL_META_FILE}'s log_mel.sample_rate is {mel.sample_rate}; every feature is computed at "
                f"{TARGET_SR} Hz")
    features = record.get("features")
    if features is not None and not (isinstance(features, dict) and isinstance(features.get("name"), str)
                                     and isinstance(features.get("settings", {}), dict)):
        return f"{MODEL_META_FILE}'s features is {features!r}, not an extractor's record (name, settings)"
    for key in ("trained_on", "head_training", "train_config"):
        if record.get(key) is not None and not isinstance(record[key], dict):
            return f"{MODEL_META_FILE}'s {key} is {record[key]!r}, not an object"
    return None


def read_model_record(model_dir: str | Path) -> ModelRecord:
    """The ``model.json`` in ``model_dir`` (OSError where it cannot be read; ValueError, saying why, where it is not
    a record this code reads)."""
    return ModelRecord.from_dict(read_json(Path(model_dir) / MODEL_META_FILE))


def recorded_dataset(data) -> str | None:
    """The dataset folder a ``model.json``'s parsed content names (``trained_on.dataset``), read even where the rest
    of the record is not one this code reads (what a message suggesting a retrain needs); else None."""
    trained_on = data.get("trained_on") if isinstance(data, dict) else None
    dataset = trained_on.get("dataset") if isinstance(trained_on, dict) else None
    return dataset if isinstance(dataset, str) else None
