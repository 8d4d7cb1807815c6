"""A saved voice valence model: the trained head plus everything needed to rebuild its input.

A model folder holds ``head.keras`` (the dense head) and ``model.json``: clip length, sample rate, log-mel
parameters, image conversion version, backbone, cut layer, and the identity (source, checksum) of the VGG16
weights. Loading re-resolves the weights and refuses ones whose checksum differs from the recorded one.

Prediction on a recording of any length: 7 s windows (the training clip length) every ``hop_s`` seconds,
the last one aligned to the end of the file; a file shorter than a clip is centred in silence. The file's
p(positive) is the mean over its windows weighted by the seconds each adds beyond the previous window's end
(:func:`window_weights`), so every second of the file counts once (a last window aligned to the end, which may
start milliseconds after the previous one, adds only those milliseconds). Each p(positive) comes with the
predicted label, positive from :data:`DECISION_THRESHOLD` up (as the metrics read it). Embeddings are standardised as in training
(:mod:`transfer.standardise`): the windows of one recording are its group, so a recording with at least
``min_clips`` windows is standardised by its own statistics, a shorter one by the training fallback.
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
from transfer.embedding import weights_option
from weaklabel.audio import AudioReader, centred_clip, seconds_to_samples
from weaklabel.dataset import MODEL_HEAD_FILE as HEAD_FILE, MODEL_META_FILE as META_FILE
from weaklabel.features import LogMelParams, log_mel_spectrogram
from weaklabel.segments import DEFAULT_MIN_SPEECH_SECONDS

MODEL_FORMAT_VERSION = 2  # 2: pooling, per-group standardisation, train config
WINDOWS_PER_CHUNK = 64  # windows decoded, featurised and embedded together when scoring a file


class ModelError(Exception):
    """A model folder that cannot be loaded, or weights that do not match the ones it was trained with."""


def save_valence_model(model_dir: str | Path, head, meta: dict) -> Path:
    """Save the head and its metadata atomically (``model.json`` last, as the completion mark)."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    tmp = model_dir / f".{HEAD_FILE}.{os.getpid()}.tmp.keras"
    try:
        head.save(tmp)
        os.replace(tmp, model_dir / HEAD_FILE)
    finally:
        if tmp.exists():
            tmp.unlink()
    write_json_atomic(model_dir / META_FILE, {"format_version": MODEL_FORMAT_VERSION, **meta})
    return model_dir


@dataclass
class ValenceModel:
    """A loaded model. ``predict_logmel`` and ``score_file`` build the VGG16 embedder on first use."""

    model_dir: Path
    meta: dict
    head: object
    _embedder: object = field(default=None, repr=False)

    @property
    def clip_seconds(self) -> float:
        return float(self.meta["clip_seconds"])

    @property
    def mel(self) -> LogMelParams:
        return LogMelParams(**self.meta["log_mel"])

    @property
    def standardiser(self):
        from transfer.standardise import GroupStandardiser

        return GroupStandardiser.from_dict(self.meta.get("standardiser"))

    def embedder(self, weights_spec: str | None = None):
        """The frozen VGG16 cut at the model's layer, with weights matching the recorded checksum."""
        if self._embedder is None:
            from transfer.embedding import Embedder
            from transfer.weights import resolve_vgg16_weights

            recorded = self.meta["weights"]
            spec = weights_spec or ("random" if recorded["source"] == "random" else recorded["spec"])
            weights = resolve_vgg16_weights(spec)
            if weights.sha256 != recorded["sha256"]:
                raise ModelError(f"the model was trained on VGG16 weights {recorded['sha256'][:12]} "
                                 f"({recorded['source']}), but {spec!r} resolved to {str(weights.sha256)[:12]} "
                                 f"({weights.source}); pass the same weights (--weights)")
            n_frames = self.mel.frames_for_seconds(self.clip_seconds)
            self._embedder = Embedder(weights, self.meta["layer"], image_shape=(self.mel.n_mels, n_frames),
                                      pooling=self.meta.get("pooling", "gap"), n_bands=int(self.meta.get("n_bands", 4)))
        return self._embedder

    def predict_embeddings(self, embeddings: np.ndarray, groups=None) -> np.ndarray:
        """p(positive) for raw embeddings ``(n, dim)`` of clips from ``groups`` (n,) -> ``(n,)``.

        ``groups`` names the speaker or recording of each clip (default: all one group), for the model's
        per-group standardisation.
        """
        from transfer.head import predict_head

        groups = np.zeros(len(embeddings), dtype=int) if groups is None else groups
        return predict_head(self.head, self.standardiser.transform(embeddings, groups))

    def predict_logmel(self, logmel: np.ndarray, groups=None, batch_size: int = 16) -> np.ndarray:
        """p(positive) for log-mel clips ``(n, n_mels, n_frames)`` from ``groups`` -> ``(n,)``."""
        return self.predict_embeddings(self.embedder().embed_logmel(logmel, batch_size=batch_size), groups)

    def score_file(self, path: str | Path, hop_s: float | None = None, batch_size: int = 16) -> tuple[list, float]:
        """Score one audio file in windows.

        Returns
        -------
        windows : list of (start_s, end_s, p_positive)
        p_file : float, the mean of the window probabilities weighted by :func:`window_weights`
        """
        hop_s = hop_s or self.clip_seconds / 2
        clip_samples = seconds_to_samples(self.clip_seconds)
        embedded: list[np.ndarray] = []
        with AudioReader(str(path)) as reader:
            spans = window_spans(reader.duration_s, self.clip_seconds, hop_s)
            # Stream in chunks of windows so memory stays bounded for hour-long recordings.
            for first in range(0, len(spans), WINDOWS_PER_CHUNK):
                clips = []
                for start, end in spans[first:first + WINDOWS_PER_CHUNK]:
                    samples = reader.read_span(start, end)
                    if samples.size == 0:
                        raise ValueError(f"no audio decoded at {start:.2f}-{end:.2f} s")
                    clips.append(centred_clip(samples, clip_samples))
                logmel = log_mel_spectrogram(np.stack(clips), self.mel).astype(self.mel.storage_dtype)
                embedded.append(self.embedder().embed_logmel(logmel, batch_size=batch_size))
        # The recording's windows are one group: standardised together (or by the fallback when few).
        p = self.predict_embeddings(np.concatenate(embedded))
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


def load_valence_model(model_dir: str | Path) -> ValenceModel:
    """Load a model folder written by :func:`save_valence_model`."""
    import keras

    model_dir = Path(model_dir)
    meta_path, head_path = model_dir / META_FILE, model_dir / HEAD_FILE
    if not meta_path.is_file() or not head_path.is_file():
        raise ModelError(f"{model_dir} is not a model folder (needs {HEAD_FILE} and {META_FILE}; "
                         "train one with python -m pipelines.train)")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    return ValenceModel(model_dir, meta, keras.models.load_model(head_path))


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
    weights: str | None = weights_option(None, default_text="those the model records; must match its checksum")

    def __post_init__(self):
        check_ranges(self)


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


def predict(model, paths, config: PredictConfig = PredictConfig(), *, on_file=None):
    """Score audio files of any length, format and sample rate with a trained valence model.

    Parameters
    ----------
    model : path or ValenceModel
        A model folder written by ``pipelines.train`` (:func:`transfer.train`), or the model loaded.
    paths : iterable of paths
    config : PredictConfig
    on_file : callable(dict), optional
        Called with each file's ``file`` row as soon as the file is done (its ``error`` to show).

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
    model.embedder(config.weights)
    wanted = DEFAULT_MIN_SPEECH_SECONDS if config.min_speech_seconds is None else config.min_speech_seconds
    min_seconds = max(model.mel.n_fft / TARGET_SR, wanted)
    rows = []
    for path in paths:
        problem = input_problem(path, min_seconds)
        if problem is None:
            try:
                windows, p_file = model.score_file(path, hop_s=config.hop_s)
            except (AudioDecodeError, ValueError, OSError) as exc:
                problem = str(exc)
        if problem is not None:
            file_row = {"file": str(path), "kind": "file", "start_s": np.nan, "end_s": np.nan,
                        "p_positive": np.nan, "label": "", "error": problem, "note": ""}
        else:
            rows.extend({"file": str(path), "kind": "window", "start_s": s, "end_s": e, "p_positive": p,
                         "label": predicted_label(p), "error": "", "note": ""} for s, e, p in windows)
            file_row = {"file": str(path), "kind": "file", "start_s": windows[0][0], "end_s": windows[-1][1],
                        "p_positive": p_file, "label": predicted_label(p_file), "error": "",
                        "note": padding_note(windows[-1][1] - windows[0][0], model.clip_seconds)}
        rows.append(file_row)
        if on_file is not None:
            on_file(file_row)
    return pd.DataFrame(rows, columns=list(PREDICTION_COLUMNS))
