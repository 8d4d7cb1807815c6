"""A saved voice valence model: the trained head plus everything needed to rebuild its input.

A model folder holds ``head.keras`` (the head) and ``model.json`` (:class:`transfer.model_record.ModelRecord`): clip
length, log-mel parameters, the feature extractor (``features``: its registry name, version, settings, licence and
provenance; :data:`transfer.features.FEATURES`) and the identity (source, checksum) of the weights it uses. Loading
rebuilds that extractor, re-resolves its weights and refuses ones whose checksum differs from the recorded one.

Prediction on a recording of any length: 7 s windows (the training clip length) every ``hop_s`` seconds,
the last one aligned to the end of the file; a file shorter than a clip is centred in silence. The file's
p(positive) is the mean over its windows weighted by the seconds each adds beyond the previous window's end
(:func:`window_weights`), so every second of the file counts once (a last window aligned to the end, which may
start milliseconds after the previous one, adds only those milliseconds). Each p(positive) comes with the
predicted label, positive from :data:`DECISION_THRESHOLD` up (as the metrics read it). Features are standardised as in training
(:mod:`transfer.standardise`), per group: by default the windows of one recording are its group (one file = one
recording); :attr:`PredictConfig.groups` makes the group a speaker instead, named by the file's folder or by a
manifest column, so every window of every file of one speaker is standardised together, as training standardised
each speaker's clips. A group with at least ``min_clips`` windows is standardised by its own statistics, a smaller
one by the training fallback.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from foundation.atomic import write_json_atomic
from foundation.config import check_ranges, option
from foundation.metrics import DECISION_THRESHOLD
from transfer.model_record import MODEL_FORMAT_VERSION, ModelRecord, recorded_dataset
from weaklabel.audio import AudioReader, centred_clip, seconds_to_samples
from weaklabel.dataset import MODEL_HEAD_FILE as HEAD_FILE, MODEL_META_FILE as META_FILE
from weaklabel.logmel import LogMelParams, log_mel_spectrogram
from weaklabel.segments import DEFAULT_MIN_SPEECH_SECONDS

__all__ = ["MODEL_FORMAT_VERSION", "ModelError", "ModelRecord", "PredictConfig", "ValenceModel", "load_valence_model",
           "predict", "save_valence_model"]
#: How :func:`predict` groups files for the per-group standardisation.
GROUPINGS = ("file", "folder", "manifest")
WINDOWS_PER_CHUNK = 64  # windows decoded, featurised and embedded together when scoring a file


class ModelError(Exception):
    """A model folder that cannot be loaded, or weights that do not match the ones it was trained with."""


def save_valence_model(model_dir: str | Path, head, meta: ModelRecord) -> Path:
    """Save the head and its record atomically (``model.json``, :meth:`ModelRecord.to_dict`, last, as the completion
    mark)."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    tmp = model_dir / f".{HEAD_FILE}.{os.getpid()}.tmp.keras"
    try:
        head.save(tmp)
        os.replace(tmp, model_dir / HEAD_FILE)
    finally:
        if tmp.exists():
            tmp.unlink()
    write_json_atomic(model_dir / META_FILE, meta.to_dict())
    return model_dir


@dataclass
class ValenceModel:
    """A loaded model. ``predict_logmel``, ``embed_file`` and ``score_file`` build its feature extractor on first
    use."""

    model_dir: Path
    meta: ModelRecord
    head: object
    _embedder: object = field(default=None, repr=False)

    @property
    def clip_seconds(self) -> float:
        return self.meta.clip_seconds

    @property
    def quality(self) -> dict:
        """What the model measured on its test split (:func:`model_quality`)."""
        return model_quality(self.meta, self.model_dir)

    @property
    def mel(self) -> LogMelParams:
        return self.meta.mel

    @property
    def standardiser(self):
        from transfer.standardise import GroupStandardiser

        return GroupStandardiser.from_dict(self.meta.standardiser)

    @property
    def features(self) -> str:
        """The registry name of the model's feature extractor."""
        return self.meta.features.name

    def embedding(self, locations=None):
        """The model's embedding (:class:`transfer.features.Embedding`) rebuilt from its record, its weights found
        again and checked against the recorded checksums; ``locations`` (``{extractor: where}``) may say where the
        weights are (``--weights``, ``--whisper-model``)."""
        from transfer.features import embedding_from_record

        return embedding_from_record(self.meta, locations)

    def embedder(self, locations=None):
        """The model's feature extractor for its clips (a :class:`transfer.features.ClipEmbedder`), rebuilt from
        its record (:meth:`embedding`), built once."""
        if self._embedder is None:
            self._embedder = self.embedding(locations).clip_embedder(self.mel, self.clip_seconds)
        return self._embedder

    def predict_embeddings(self, embeddings: np.ndarray, groups=None) -> np.ndarray:
        """p(positive) for raw embeddings ``(n, dim)`` of clips from ``groups`` (n,) -> ``(n,)``.

        ``groups`` names the speaker or recording of each clip (default: all one group), for the model's
        per-group standardisation.
        """
        from transfer.head import predict_head

        groups = np.zeros(len(embeddings), dtype=int) if groups is None else groups
        return predict_head(self.head, self.standardiser.transform(embeddings, groups))

    def predict_group(self, blocks: list[np.ndarray]) -> np.ndarray:
        """p(positive) ``(n,)`` for the raw embeddings of one group's clips, given as row blocks ``(n_i, dim)`` (the
        windows of each file of the group, in order), standardised together.

        The same numbers as :meth:`predict_embeddings` of their concatenation as one group, in memory that does not
        grow with the recordings beyond the embeddings themselves: the group's statistics are computed a few
        columns at a time (:meth:`~transfer.standardise.GroupStandardiser.group_scaling`), then its rows are
        standardised and scored one head batch (:data:`transfer.head.PREDICT_BATCH` rows) at a time.
        """
        from transfer.head import PREDICT_BATCH, predict_head

        mean, divisor = self.standardiser.group_scaling(blocks)
        starts = np.cumsum([0] + [len(block) for block in blocks])
        p = np.zeros(starts[-1])
        for first in range(0, starts[-1], PREDICT_BATCH):  # rows [first, last) of the blocks one after another
            last = min(first + PREDICT_BATCH, starts[-1])
            raw = np.concatenate([block[max(first - start, 0):last - start] for block, start in zip(blocks, starts)
                                  if start < last and start + len(block) > first])
            p[first:last] = predict_head(self.head, ((raw.astype(np.float64) - mean) / divisor).astype(np.float32))
        return p

    def predict_logmel(self, logmel: np.ndarray, groups=None, batch_size: int = 16) -> np.ndarray:
        """p(positive) for log-mel clips ``(n, n_mels, n_frames)`` from ``groups`` -> ``(n,)`` (a model whose
        extractor reads log-mel)."""
        embedder = self.embedder()
        if not embedder.needs_logmel:
            raise ModelError(f"the model's {self.features} features are computed from audio, not log-mel: "
                             "use embed_file or score_file")
        return self.predict_embeddings(embedder.embed(None, logmel, batch_size=batch_size), groups)

    def embed_clips(self, samples: list[np.ndarray], batch_size: int = 16) -> np.ndarray:
        """The model's raw features ``(n, dim)`` of clips given as their audio (each at most a clip long; a shorter
        one is centred in silence for the log-mel, and read as it is by an extractor of audio)."""
        embedder = self.embedder()
        logmel = None
        if embedder.needs_logmel:
            clip_samples = seconds_to_samples(self.clip_seconds)
            clips = np.stack([centred_clip(s, clip_samples) for s in samples])
            logmel = log_mel_spectrogram(clips, self.mel).astype(self.mel.storage_dtype)
        return embedder.embed(samples, logmel, batch_size=batch_size)

    def embed_file(self, path: str | Path, hop_s: float | None = None,
                   batch_size: int = 16) -> tuple[list[tuple[float, float]], np.ndarray]:
        """The model's raw features of one audio file's windows: ``(spans, (n_windows, dim))``."""
        hop_s = hop_s or self.clip_seconds / 2
        embedded = None
        with AudioReader(str(path)) as reader:
            spans = window_spans(reader.duration_s, self.clip_seconds, hop_s)
            # Stream in chunks of windows: a chunk's audio and log-mel at a time, only the embeddings kept.
            for first in range(0, len(spans), WINDOWS_PER_CHUNK):
                clips = []
                for start, end in spans[first:first + WINDOWS_PER_CHUNK]:
                    samples = reader.read_span(start, end)
                    if samples.size == 0:
                        raise ValueError(f"no audio decoded at {start:.2f}-{end:.2f} s")
                    clips.append(samples)
                part = self.embed_clips(clips, batch_size=batch_size)
                if embedded is None:
                    embedded = np.empty((len(spans), *part.shape[1:]), dtype=part.dtype)
                embedded[first:first + len(part)] = part
        return spans, embedded

    def score_file(self, path: str | Path, hop_s: float | None = None, batch_size: int = 16) -> tuple[list, float]:
        """Score one audio file in windows, the file its own group.

        Returns
        -------
        windows : list of (start_s, end_s, p_positive)
        p_file : float, the mean of the window probabilities weighted by :func:`window_weights`
        """
        spans, embedded = self.embed_file(path, hop_s, batch_size)
        # The recording's windows are one group: standardised together (or by the fallback when few).
        return scored_windows(spans, self.predict_group([embedded]))


def scored_windows(spans: list[tuple[float, float]], p: np.ndarray) -> tuple[list, float]:
    """``([(start_s, end_s, p_positive)], p_file)`` for a file's windows and their p(positive)."""
    return [(s, e, float(q)) for (s, e), q in zip(spans, p)], float(np.average(p, weights=window_weights(spans)))


def window_spans(duration_s: float, clip_s: float, hop_s: float) -> list[tuple[float, float]]:
    """Windows ``[(start_s, end_s)]`` of ``clip_s`` every ``hop_s`` covering ``[0, duration_s]``.

    The last window is aligned to the end of the recording; a recording shorter than one clip gives one
    window over all of it.
    """
    if duration_s <= 0:
        raise ValueError("the recording is empty")
    if hop_s <= 0:
        raise ValueError(f"hop must be positive, got {hop_s}")
    if duration_s <= clip_s:
        return [(0.0, duration_s)]
    starts = list(np.arange(0.0, duration_s - clip_s + 1e-9, hop_s))
    if starts[-1] + clip_s < duration_s - 1e-6:
        starts.append(duration_s - clip_s)
    return [(float(s), float(s) + clip_s) for s in starts]


def window_weights(spans: list[tuple[float, float]]) -> np.ndarray:
    """Seconds of the recording each window of :func:`window_spans` adds beyond the end of the one before: the
    first window's length, then each window's end minus the previous end. They sum to the recording's length,
    so a mean weighted by them counts every second once, and an overlap once (in the earlier window)."""
    ends = np.array([end for _, end in spans], dtype=np.float64)
    return np.diff(ends, prepend=spans[0][0]) if spans else ends


def predicted_label(p_positive: float) -> str:
    """``"positive"`` from :data:`DECISION_THRESHOLD` up, else ``"negative"``; ``""`` for NaN (no score)."""
    if np.isnan(p_positive):
        return ""
    return "positive" if p_positive >= DECISION_THRESHOLD else "negative"


def model_problem(meta: ModelRecord) -> str | None:
    """What makes a readable ``model.json`` record (:class:`ModelRecord`, whose own fields
    :func:`transfer.model_record.model_record_problem` checked) unusable by this code, in words (naming the file), or
    None: an unknown extractor (``features``); where it uses weights, no identity for them (``weights``: ``sha256`` and
    ``source`` strings); its settings as the extractor checks them
    (:attr:`~transfer.features.FeatureExtractor.settings_problem`); a ``standardiser`` that is not none or fallback
    statistics of one width.
    """
    from transfer.features import get_extractor
    from transfer.standardise import GroupStandardiser

    try:
        extractor = get_extractor(meta.features.name)
    except ValueError as exc:
        return f"{META_FILE}: {' '.join(str(exc).split())}"
    weights = meta.weights
    if extractor.uses_weights and not (isinstance(weights, dict) and isinstance(weights.get("sha256"), str)
                                       and isinstance(weights.get("source"), str)):
        return (f"{META_FILE}'s weights is {weights!r}, not the identity (sha256, source) of the weights it was "
                "trained with")
    problem = extractor.settings_problem(meta.features.settings)
    if problem:
        return f"{META_FILE}: {problem}"
    try:
        standardiser = GroupStandardiser.from_dict(meta.standardiser)
    except (KeyError, TypeError, ValueError) as exc:
        return f"{META_FILE}'s standardiser cannot be read ({' '.join(str(exc).split())})"
    mean, scale = standardiser.mean, standardiser.scale
    if standardiser.mode != "none" and (mean is None or scale is None or mean.ndim != 1 or mean.shape != scale.shape
                                        or not np.isfinite(mean).all() or not (scale > 0).all()):
        return f"{META_FILE}'s standardiser: its mean and scale are not the finite statistics of one width"
    return None


def load_valence_model(model_dir: str | Path) -> ValenceModel:
    """Load a model folder written by :func:`save_valence_model`.

    Raises
    ------
    ModelError
        Not a model folder, or one whose ``model.json`` (:meth:`ModelRecord.from_dict`, :func:`model_problem`) or
        ``head.keras`` this code cannot use, saying what is wrong and what to run.
    """
    import keras

    from foundation.paths import display_path

    model_dir = Path(model_dir)
    meta_path, head_path = model_dir / META_FILE, model_dir / HEAD_FILE
    if not meta_path.is_file() or not head_path.is_file():
        raise ModelError(f"{model_dir} is not a model folder (needs {HEAD_FILE} and {META_FILE}; "
                         "train one with python -m pipelines.train)")
    meta, data = None, None
    try:
        data = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        problem = f"{META_FILE} cannot be read ({' '.join(str(exc).split())})"
    else:
        try:
            meta = ModelRecord.from_dict(data)
        except ValueError as exc:
            problem = str(exc)
        else:
            problem = model_problem(meta)
    if problem is None:
        try:
            head = keras.models.load_model(head_path)
            width = int(head.inputs[0].shape[-1])
        except Exception as exc:  # noqa: BLE001 - Keras raises many types for a file it cannot read
            problem = f"{HEAD_FILE} cannot be read ({type(exc).__name__}: {' '.join(str(exc).split())})"
        else:
            mean = (meta.standardiser or {}).get("mean")
            if mean is not None and len(mean) != width:
                problem = f"{META_FILE}'s standardiser has {len(mean)} columns; {HEAD_FILE} reads {width}"
    if problem is not None:
        raise ModelError(f"the model in {display_path(model_dir)} cannot be used: {problem}; retrain it: "
                         f"{_train_command(model_dir, recorded_dataset(data))}")
    return ValenceModel(model_dir, meta, head)


def model_quality(meta: ModelRecord, model_dir: Path) -> dict:
    """What a model measured on its test split, as ``predict`` reports it beside its scores.

    Returns
    -------
    dict
        ``measured``: True when its head's test ROC AUC is a result against some target, False when none is (too few
        clips or groups, one class, no test clip), None when not known; ``summary``: that in words; ``test_metrics``:
        ``{target: {roc_auc, roc_auc_ci95, n, n_positive, n_groups, not_a_result}}``
        (:meth:`transfer.metrics_record.MetricsRecord.head_test_metrics`), as ``model.json`` records them. A model saved before it
        recorded them takes them from the ``metrics.json`` it was trained with when that still describes it (same
        build, embedding, training configuration and test ROC AUC); failing that only its test ROC AUC against weak
        labels is known.
    """
    from foundation.metrics import not_a_result
    from transfer.metrics_schema import AGAINST_WEAK, TARGETS

    tests = meta.test_metrics
    if tests is None:
        tests = metrics.head_test_metrics() if (metrics := _training_metrics(meta, model_dir)) else None
    if tests is None:
        auc, weak = meta.test_auc_weak, TARGETS[AGAINST_WEAK]
        if auc is None:
            return {"measured": False, "test_metrics": None,
                    "summary": f"no measured quality (the model records no test ROC AUC against {weak})"}
        return {"measured": None, "test_metrics": None,
                "summary": f"test ROC AUC {auc:.3f} against {weak} (the model does not record how many clips and "
                           "groups it was measured on)"}
    parts, measured = [], False
    for target, cell in tests.items():
        reason = cell.get("not_a_result") or not_a_result(cell)
        auc, interval = cell.get("roc_auc"), cell.get("roc_auc_ci95")
        if reason is None and auc is not None:
            measured = True
            shown = f" [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else ""
            parts.append(f"test ROC AUC {auc:.3f}{shown} against {TARGETS.get(target, target)} (n = {cell.get('n')}"
                         + (f", {cell['n_groups']} groups)" if cell.get("n_groups") is not None else ")"))
        else:
            parts.append(f"its test split against {TARGETS.get(target, target)}: "
                         f"{reason or 'no ROC AUC (a single class)'}")
    summary = "; ".join(parts) or "no test split was scored"
    return {"measured": measured, "test_metrics": tests,
            "summary": summary if measured else f"no measured quality ({summary})"}


def _training_metrics(meta: ModelRecord, model_dir: Path):
    """The ``metrics.json`` a model was saved with (a :class:`~transfer.metrics_record.MetricsRecord`, in the dataset
    it names, or beside its folder), when it still describes this model (same build, embedding, training
    configuration and test ROC AUC); else None."""
    from transfer.metrics_record import read_metrics
    from transfer.metrics_schema import AGAINST_WEAK
    from weaklabel.dataset import METRICS_FILE

    trained_on = meta.trained_on
    folders = [Path(trained_on.dataset)] if trained_on is not None and trained_on.dataset else []
    for folder in folders + [Path(model_dir).parent]:
        try:
            metrics = read_metrics(folder / METRICS_FILE)
        except (OSError, ValueError):
            continue
        if metrics is None:
            continue
        test = metrics.head_test(AGAINST_WEAK) or {}
        if (metrics.build_fingerprint == (trained_on.build_fingerprint if trained_on else None)
                and metrics.embedding.key == meta.embedding_key
                and metrics.train_config == (meta.train_config or {})
                and test.get("roc_auc") == meta.test_auc_weak):
            return metrics
    return None


def _train_command(model_dir: Path, dataset: str | None) -> str:
    """The command that trains the model in ``model_dir`` again, from ``dataset`` (the one its record names; None:
    the folder holding ``model_dir`` when it is a dataset's ``model/``)."""
    from foundation.paths import display_path
    from weaklabel.dataset import MODEL_DIR

    if dataset is None:
        dataset = str(model_dir.parent) if model_dir.name == MODEL_DIR else "DATASET"
    command = f"python -m pipelines.train --dataset {display_path(dataset)}"
    if model_dir.resolve() != (Path(dataset) / MODEL_DIR).resolve():
        command += f" --model-out {display_path(model_dir)}"
    return command


# ------------------------------------------------------------------------------------------- predicting
#: Columns of :func:`predict`'s table: one ``window`` row per scored window and one ``file`` row per file (the
#: weighted mean over its windows, or the reason it could not be scored); ``label`` is :func:`predicted_label`.
PREDICTION_COLUMNS = ("file", "kind", "start_s", "end_s", "p_positive", "label", "error", "note")


@dataclass(frozen=True)
class PredictConfig:
    """How :func:`predict` scores audio files."""

    hop_s: float | None = option(None, flag="--hop", metavar="SECONDS", default_text="half the clip length",
                                 exclusive_minimum=0.0, help="seconds between window starts")
    min_speech_seconds: float | None = option(
        None, metavar="S", default_text=f"{DEFAULT_MIN_SPEECH_SECONDS:g}, or one analysis window if longer",
        minimum=0.0, help="refuse files with less audio than this, as the build refuses such segments")
    weights: str | None = option(None, metavar="SPEC", default_text="those the model records; must match its checksum",
                                 help="where the VGG16 weights of a VGG16 model are: 'imagenet' (resolved offline) or "
                                      "a weights file")
    whisper_model: str | None = option(None, flag="--whisper-model", metavar="DIR",
                                       default_text="the one the model records; must match its checksum",
                                       help="where the Whisper model of a Whisper model is: 'base' or a CTranslate2 "
                                            "Whisper folder")
    groups: str = option("file", choices=GROUPINGS,
                         help="the groups standardised together, as training standardised each speaker: 'file' (one "
                              "file = one recording), 'folder' (a folder per speaker: every file in it), 'manifest' "
                              "(--group-manifest names each file's speaker)")
    group_manifest: str | None = option(None, metavar="FILE",
                                        help="CSV/TSV with a path column (audio_path or path) and a speaker (or "
                                             "group) column, for --groups manifest")

    def __post_init__(self):
        check_ranges(self)
        if self.groups not in GROUPINGS:
            raise ValueError(f"unknown grouping {self.groups!r}; choose one of {', '.join(GROUPINGS)}")
        if (self.groups == "manifest") != (self.group_manifest is not None):
            raise ValueError("--groups manifest and --group-manifest FILE go together")

    def weights_locations(self) -> dict[str, str]:
        """Where the model's weights are, as given (``{extractor: where}`` for :meth:`ValenceModel.embedding`)."""
        from transfer.features.vgg16 import VGG16
        from transfer.features.whisper import WHISPER

        where = {VGG16.name: self.weights, WHISPER.name: self.whisper_model}
        return {name: value for name, value in where.items() if value is not None}


def read_group_manifest(path: str | Path) -> dict[str, str]:
    """``{resolved audio path: group}`` from a CSV/TSV with a path column (``audio_path`` or ``path``) and a group
    column (``speaker`` or ``group``); relative paths are read from the manifest's folder.

    Raises ValueError naming the missing column or file."""
    import pandas as pd

    path = Path(path)
    try:
        table = pd.read_csv(path, sep=None, engine="python", dtype=str)
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the group manifest {path}: {exc}") from exc
    path_column = next((c for c in ("audio_path", "path") if c in table.columns), None)
    group_column = next((c for c in ("speaker", "group") if c in table.columns), None)
    if path_column is None or group_column is None:
        raise ValueError(f"the group manifest {path} needs a path column (audio_path or path) and a speaker (or "
                         f"group) column; it has {', '.join(table.columns)}")
    out = {}
    for audio, group in zip(table[path_column], table[group_column]):
        audio_path = Path(audio)
        full = audio_path if audio_path.is_absolute() else path.parent / audio_path
        out[str(full.resolve())] = str(group)
    return out


def file_groups(paths, config: "PredictConfig") -> list[str]:
    """The standardisation group of each file: itself (``file``), its folder (``folder``) or its manifest entry
    (``manifest``; a file the manifest does not list is its own group)."""
    if config.groups == "file":
        return [f"file:{p}" for p in paths]
    if config.groups == "folder":
        return [f"folder:{Path(p).resolve().parent}" for p in paths]
    table = read_group_manifest(config.group_manifest)
    return [f"group:{table[str(Path(p).resolve())]}" if str(Path(p).resolve()) in table else f"file:{p}"
            for p in paths]


def input_problem(path: Path, min_seconds: float) -> str | None:
    """Why ``path`` cannot be scored, in words, or None when it can be opened and is long enough.

    Parameters
    ----------
    path : Path
    min_seconds : float
        The shortest recording that can be scored: one analysis (FFT) window.
    """
    from weaklabel.audio import AudioDecodeError

    path = Path(path)
    if path.is_dir():
        return f"{path} is a directory: pass the audio files in it (e.g. {path}/*.wav)"
    if not path.exists():
        return f"no such file: {path}" + (" (a broken symbolic link)" if path.is_symlink() else "")
    if not path.is_file():
        return f"{path} is not a regular file"
    try:
        with AudioReader(str(path)) as reader:
            duration = reader.duration_s
    except AudioDecodeError as exc:
        return str(exc)
    if duration <= 0:
        return f"{path} holds no audio (0 s)"
    if duration < min_seconds:
        return (f"{path} is too short to score: {duration:.3f} s of audio; at least {min_seconds:.3f} s is needed "
                "(the least audio a build keeps as a clip, --min-speech-seconds; at least one analysis window)")
    return None


def padding_note(duration_s: float, clip_seconds: float) -> str:
    """The ``note`` of a file shorter than the model's clip (scored centred in silence), else ``""``; its row
    names the file."""
    if duration_s >= clip_seconds:
        return ""
    return (f"{duration_s:.3f} s long, shorter than the model's {clip_seconds:g} s clip: scored as one window "
            f"padded with {clip_seconds - duration_s:.3f} s of silence")


def predict(model, paths, config: PredictConfig = PredictConfig(), *, on_file=None, groups=None):
    """Score audio files of any length, format and sample rate with a trained valence model.

    Parameters
    ----------
    model : path or ValenceModel
        A model folder written by ``pipelines.train`` (:func:`transfer.train`), or the model loaded.
    paths : iterable of paths
    config : PredictConfig
        ``groups`` says which files are standardised together (:func:`file_groups`).
    on_file : callable(dict), optional
        Called with each file's ``file`` row as soon as the file is done (its ``error`` to show); with groups of
        several files, once the file's group is done.
    groups : sequence of str, optional
        The speaker or recording of each path (overrides ``config.groups``): the windows of all the files of one
        group are standardised together; a group with fewer windows than the model's ``min_clips`` uses the
        training fallback, as a short recording does.

    Returns
    -------
    pandas.DataFrame with :data:`PREDICTION_COLUMNS`: per file, its windows (``start_s``, ``end_s`` seconds,
    ``p_positive`` and the predicted ``label``), then one ``file`` row (p_positive the mean over the windows
    weighted by :func:`window_weights`, so that each second of the file counts once; or NaN, no label, and the
    ``error`` that stopped it); the file row's ``note`` says when a file shorter than the clip was padded with
    silence.

    Raises
    ------
    ModelError, transfer.weights.WeightsError
        A folder that is not a model, or weights that do not match it. A file that cannot be scored is a row
        with its error, not an exception.
    """
    import pandas as pd

    from weaklabel.audio import TARGET_SR, AudioDecodeError

    model = model if isinstance(model, ValenceModel) else load_valence_model(model)
    model.embedder(config.weights_locations())
    wanted = DEFAULT_MIN_SPEECH_SECONDS if config.min_speech_seconds is None else config.min_speech_seconds
    min_seconds = max(model.mel.n_fft / TARGET_SR, wanted)
    paths = list(paths)
    if groups is None:
        groups = file_groups(paths, config)
    elif len(groups) != len(paths):
        raise ValueError(f"{len(groups)} groups for {len(paths)} files")
    groups = [str(g) for g in groups]
    remaining = {g: groups.count(g) for g in set(groups)}
    embedded: dict[int, tuple[list, np.ndarray]] = {}  # the files of groups not complete yet
    problems: dict[int, str] = {}
    results: dict[int, list[dict]] = {}
    emitted = 0

    def file_rows(i: int, windows=None, p_file=None) -> list[dict]:
        path = paths[i]
        if windows is None:
            return [{"file": str(path), "kind": "file", "start_s": np.nan, "end_s": np.nan, "p_positive": np.nan,
                     "label": "", "error": problems[i], "note": ""}]
        return [*({"file": str(path), "kind": "window", "start_s": s, "end_s": e, "p_positive": p,
                   "label": predicted_label(p), "error": "", "note": ""} for s, e, p in windows),
                {"file": str(path), "kind": "file", "start_s": windows[0][0], "end_s": windows[-1][1],
                 "p_positive": p_file, "label": predicted_label(p_file), "error": "",
                 "note": padding_note(windows[-1][1] - windows[0][0], model.clip_seconds)}]

    for i, path in enumerate(paths):
        problem = input_problem(path, min_seconds)
        if problem is None:
            try:
                embedded[i] = model.embed_file(path, hop_s=config.hop_s)
            except (AudioDecodeError, ValueError, OSError) as exc:
                problem = str(exc)
        if problem is not None:
            problems[i] = problem
            results[i] = file_rows(i)
        group = groups[i]
        remaining[group] -= 1
        if remaining[group] == 0:  # every file of the group is in: standardise them together
            members = [j for j in range(i + 1) if groups[j] == group and j in embedded]
            if members:
                p = model.predict_group([embedded[j][1] for j in members])
                start = 0
                for j in members:
                    spans = embedded.pop(j)[0]
                    results[j] = file_rows(j, *scored_windows(spans, p[start:start + len(spans)]))
                    start += len(spans)
        while emitted in results:  # rows in the order of the paths, each file as soon as it can be
            if on_file is not None:
                on_file(results[emitted][-1])
            emitted += 1
    rows = [row for i in range(len(paths)) for row in results[i]]
    return pd.DataFrame(rows, columns=list(PREDICTION_COLUMNS))
