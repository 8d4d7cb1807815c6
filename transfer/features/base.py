"""What a feature extractor is: a small named object, as a lhotse feature extractor is.

A :class:`FeatureExtractor` has a name (``--features``), a version, what it reads (the build's log-mel clips or
the clips' audio), the weights or binary it depends on with their provenance and licence, and two ways to turn
clips into an ``(n_clips, dim)`` float32 array:

* :attr:`FeatureExtractor.compute` -- every clip of a built dataset, as tasks on an executor
  (:mod:`foundation.executor`); :func:`transfer.embedding.embed_dataset` caches the result by the dataset's
  feature content under :attr:`FeatureExtractor.key`;
* :attr:`FeatureExtractor.clip_embedder` -- clips decoded elsewhere (a saved model's prediction windows, an acted
  corpus's files): a :class:`ClipEmbedder`.

Each extractor declares its own options (:attr:`FeatureExtractor.options_type`, as a lhotse extractor has its
``config_type``) and resolves them once into its settings (:attr:`FeatureExtractor.resolve`), which the functions
above receive.

The registry of every extractor is :data:`transfer.features.FEATURES`; adding one is one module and one line
there. A combination (``components``) concatenates its components' arrays, each component cached on its own.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Callable, Mapping, Protocol, Sequence

import numpy as np

#: What an extractor reads: the build's log-mel clips (``features/logmel.npy``), or each clip's speech span
#: decoded from its recording.
READS = ("log-mel", "audio")


class ExtractorUnavailable(ValueError):
    """An extractor whose package is not installed here (the message says what to install). A ValueError, so every
    command reports it as its one-line ``error:``, as it does a bad option."""


@dataclass(frozen=True)
class NoOptions:
    """The options of an extractor that has none a user can set (eGeMAPS): no command-line flag, no TOML key."""


@dataclass(frozen=True)
class NoSettings:
    """The resolved settings of an extractor that has no options."""


class ClipEmbedder(Protocol):
    """Turns clips decoded by the caller into features.

    ``embed(samples, logmel)``: ``samples`` is one 1-D float32 array per clip, the clip's audio without padding
    (at the build's sample rate); ``logmel`` the clips' log-mel ``(n, n_mels, n_frames)`` as the build makes it,
    or None when :attr:`needs_logmel` is False; ``samples`` may be None when :attr:`needs_audio` is False.
    Returns ``(n, dim)`` float32.
    """

    dim: int
    needs_logmel: bool
    needs_audio: bool

    def embed(self, samples: Sequence[np.ndarray], logmel: np.ndarray | None, batch_size: int = 16) -> np.ndarray:
        ...


def _always_available() -> str | None:
    return None


def _no_settings(options) -> NoSettings:
    return NoSettings()


def _no_settings_from_record(settings: Mapping, weights: Mapping | None = None,
                             location: str | None = None) -> NoSettings:
    return NoSettings()


def _no_weights(settings) -> None:
    return None


def _no_problem(values: Mapping) -> None:
    return None


@dataclass(frozen=True)
class FeatureExtractor:
    """A named feature extractor.

    Its options are its own: :attr:`options_type` is a frozen dataclass of :func:`foundation.config.option` fields
    (VGG16's layer and weights, Whisper's model and input), from which the command-line flags and TOML keys are
    generated; :class:`transfer.features.EmbeddingConfig` holds one such object per extractor that has options.
    :attr:`resolve` turns the options into the extractor's *settings* (``auto`` decided, weights found and verified),
    once, before anything is computed; every other function receives those settings.

    Attributes
    ----------
    name : str
        Its registry key (``--features``, ``metrics.json``, ``model.json``, committed results).
    version : str
        Changes whenever its output for some clip may change (an algorithm, a package, a configuration file).
    description : str
        One line for tables and the report.
    reads : str
        One of :data:`READS`.
    options_type : type
        The dataclass of its user options (:class:`NoOptions` when it has none).
    resolve : callable(options) -> settings
        The settings for these options on this machine; raises :class:`ExtractorUnavailable` (or the weights'
        own error) with one line saying what to do.
    settings_from_record : callable(settings, weights=None, location=None) -> settings
        The settings a saved model records (``features.settings`` as :class:`transfer.model_record.ModelRecord`
        reads them; ``weights``: the model's recorded ``weights`` identity): the weights found again and checked
        against the recorded checksum; ``location`` says where to find them (``--weights``, ``--whisper-model``),
        else the recorded spec.
    location_option : str or None
        The field of its options that says where its weights are (VGG16's ``weights``, Whisper's ``model``).
    key : callable(settings) -> str
        The embedding cache key (its name first; the same settings give the same key on every machine).
    cache_record : callable(settings) -> dict
        What the cache record and ``metrics.json``'s ``embedding`` block say of the settings.
    settings_record : callable(settings) -> dict
        The settings as a saved model records them (read back by :attr:`settings_from_record`).
    weights_record : callable(settings) -> dict or None
        The identity of the weights it runs (spec, source, path, sha256, verified), None for one without weights.
    uses_weights : bool
        Whether it runs weights whose identity a saved model must record (VGG16's, Whisper's).
    settings_problem : callable(values) -> str or None
        What makes a recorded settings mapping (``features.settings`` as
        :class:`transfer.model_record.ModelRecord` reads it) unusable, in words, or None: checked where a saved model
        is loaded.
    describe : callable(settings) -> str
        The settings in a few words, for tables.
    compute : callable(dataset, settings, **engine) -> ndarray
        Every clip of a built dataset (row ``i`` the segment whose ``feature_row`` is ``i``). Keyword arguments:
        ``batch_size``, ``scheduler``, ``dask_address``, ``workers``, ``chunk_clips``, ``progress``, ``on_start``.
    clip_embedder : callable(settings, LogMelParams, clip_seconds) -> ClipEmbedder
    components : tuple of str
        A combination's component extractors, concatenated in this order (each block scaled in the head,
        :func:`block_scale`); empty for a plain extractor. A combination's settings are its components', in order.
    unavailable : callable() -> str or None
        None when it can run here, else why not and what to install.
    provenance : mapping
        Package, version, weights or binary and where they come from: recorded in ``model.json`` and
        ``metrics.json``.
    licence : str
        The licence of what it runs (the package, the binary, the weights), in words.
    """

    name: str
    version: str
    description: str
    reads: str
    key: Callable[[object], str]
    cache_record: Callable[[object], dict]
    settings_record: Callable[[object], dict]
    compute: Callable[..., np.ndarray] | None
    clip_embedder: Callable[..., ClipEmbedder] | None
    options_type: type = NoOptions
    resolve: Callable[[object], object] = _no_settings
    settings_from_record: Callable[..., object] = _no_settings_from_record
    weights_record: Callable[[object], dict | None] = _no_weights
    uses_weights: bool = False
    location_option: str | None = None
    settings_problem: Callable[[Mapping], str | None] = _no_problem
    describe: Callable[[object], str] = lambda settings: ""
    components: tuple[str, ...] = ()
    unavailable: Callable[[], str | None] = _always_available
    provenance: Mapping = field(default_factory=dict)
    licence: str = ""

    def __post_init__(self):
        if self.reads not in READS:
            raise ValueError(f"extractor {self.name}: reads {self.reads!r}, not one of {', '.join(READS)}")

    @property
    def has_options(self) -> bool:
        """Whether a user can set any of its options (then :class:`~transfer.features.EmbeddingConfig` holds them)."""
        return bool(fields(self.options_type))

    def check_available(self) -> None:
        """Raise :class:`ExtractorUnavailable` (one line: why, and what to install) when it cannot run here."""
        reason = self.unavailable()
        if reason:
            raise ExtractorUnavailable(f"the {self.name} features cannot run here: {reason}")

    def record(self, settings) -> dict:
        """What ``metrics.json``, ``model.json`` and the committed results record of it."""
        return {"name": self.name, "version": self.version, "description": self.description, "reads": self.reads,
                "settings": self.settings_record(settings), "components": list(self.components),
                "licence": self.licence, "provenance": dict(self.provenance)}


def block_scale(dims: Sequence[int]) -> np.ndarray:
    """Per-column factors that give each of several concatenated blocks the same total variance.

    After standardisation every column has unit variance, so a block of 1,024 columns would outweigh one of 88
    under the head's L2 penalty. Block ``b`` of ``d_b`` columns is scaled by ``sqrt(D / (B d_b))`` (``D`` columns
    in all, ``B`` blocks): every block then carries a total variance of ``D / B`` and the whole ``D``, so ``C``
    means what it means for one block of ``D`` columns.

    >>> block_scale([2, 8]).round(3).tolist()
    [1.581, 1.581, 0.791, 0.791, 0.791, 0.791, 0.791, 0.791, 0.791, 0.791]
    """
    dims = [int(d) for d in dims]
    total, n_blocks = sum(dims), len(dims)
    return np.concatenate([np.full(d, np.sqrt(total / (n_blocks * d))) for d in dims])


#: Clips per task on a Dask cluster: large enough to amortise scheduling, small enough to spread work.
DEFAULT_CHUNK_CLIPS = 256


def chunk_bounds(n: int, chunk_clips: int, batch_size: int) -> list[tuple[int, int]]:
    """Contiguous ``(start, stop)`` chunks covering ``n`` clips, ``chunk_clips`` rounded up to whole batches."""
    size = max(batch_size, -(-chunk_clips // batch_size) * batch_size)
    return [(start, min(n, start + size)) for start in range(0, n, size)]


def clip_spans(dataset) -> list[tuple[str, float, float]]:
    """``(audio path, start_s, end_s)`` of every clip of a built dataset, in ``feature_row`` order: the span of
    the recording the build placed in the clip (``clip_source_start_s``, ``clip_source_end_s``), the path resolved
    against the corpus folder. What an extractor that reads audio reads (the clip without its padding)."""
    from pathlib import Path

    from weaklabel.build import corpus_dir

    segments = dataset.segments
    clipped = segments[segments["feature_row"].notna()].sort_values("feature_row")
    rows = clipped["feature_row"].to_numpy(dtype=np.int64)
    if len(rows) and not np.array_equal(rows, np.arange(len(rows))):
        raise ValueError(f"{dataset.path}: feature rows are not 0..{len(rows) - 1}")
    root = corpus_dir(dataset.config)
    spans = []
    for path, start, end in zip(clipped["audio_path"], clipped["clip_source_start_s"], clipped["clip_source_end_s"]):
        full = Path(path)
        spans.append((str(full if full.is_absolute() else root / full), float(start), float(end)))
    return spans


def span_audio(spans: Sequence[tuple[str, float, float]], sample_rate: int):
    """Each span's audio, decoded by the build's reader (:class:`weaklabel.audio.AudioReader`: mono, resampled to
    ``sample_rate``), one at a time: yields a 1-D float32 array per ``(path, start_s, end_s)``. Consecutive spans of
    one recording share one open reader."""
    from weaklabel.audio import AudioReader

    reader, open_path = None, None
    try:
        for path, start, end in spans:
            if path != open_path:
                if reader is not None:
                    reader.close()
                reader, open_path = AudioReader(path, target_sr=sample_rate), path
            yield reader.read_span(start, end)
    finally:
        if reader is not None:
            reader.close()


def run_chunks(function, tasks: Sequence[tuple], *, scheduler: str = "local", dask_address: str | None = None,
               processes: int | None = None, start_method: str | None = None,
               progress: Callable[[int], None] | None = None) -> list[np.ndarray]:
    """``function(*task)`` for every task on an engine from :func:`foundation.executor.make_executor`, the results
    in the tasks' order (each an ``(n_i, dim)`` array; ``progress(n_i)`` as each completes)."""
    from foundation.executor import make_executor

    parts: list[np.ndarray | None] = [None] * len(tasks)
    with make_executor(scheduler, dask_address, processes, start_method=start_method) as engine:
        for i, part in engine.map_unordered(function, tasks):
            parts[i] = part
            if progress:
                progress(len(part))
    return parts


def settings_check(checks, subject: str) -> str | None:
    """The first failed check of recorded settings, in words (``the <subject> <key> is <value>, not <what>``), or
    None: ``checks`` are ``(key, value, holds, what)``."""
    for key, value, holds, what in checks:
        if not holds(value):
            return f"the {subject} {key} is {value!r}, not {what}"
    return None
