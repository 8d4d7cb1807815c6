"""What a feature extractor is: a small named object, as a lhotse feature extractor is.

A :class:`FeatureExtractor` has a name (``--features``), a version, what it reads (the build's log-mel clips or
the clips' audio), the weights or binary it depends on with their provenance and licence, and two ways to turn
clips into an ``(n_clips, dim)`` float32 array:

* :attr:`FeatureExtractor.compute` -- every clip of a built dataset, as tasks on an executor
  (:mod:`foundation.executor`); :func:`transfer.embedding.embed_dataset` caches the result by the dataset's
  feature content under :attr:`FeatureExtractor.key`;
* :attr:`FeatureExtractor.clip_embedder` -- clips decoded elsewhere (a saved model's prediction windows, an acted
  corpus's files): a :class:`ClipEmbedder`.

The registry of every extractor is :data:`transfer.features.FEATURES`; adding one is one module and one line
there. A combination (``components``) concatenates its components' arrays, each component cached on its own.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Protocol, Sequence

import numpy as np

#: What an extractor reads: the build's log-mel clips (``features/logmel.npy``), or each clip's speech span
#: decoded from its recording.
READS = ("log-mel", "audio")


class ExtractorUnavailable(ValueError):
    """An extractor whose package is not installed here (the message says what to install). A ValueError, so every
    command reports it as its one-line ``error:``, as it does a bad option."""


@dataclass(frozen=True)
class FeatureSettings:
    """The options an extractor may read; each reads its own (the VGG16 entry: layer, pooling, bands, weights).

    Attributes
    ----------
    layer, pooling, n_bands : the VGG16 cut layer and pooling (:mod:`transfer.features.vgg16`)
    batch_size : clips per forward pass of a network
    jit : compile the network with XLA
    weights : the resolved weights (:class:`transfer.weights.WeightsInfo`) of an extractor that uses weights,
        else None
    precision : the network's arithmetic, resolved (``float32`` or ``bfloat16``;
        :func:`transfer.features.precision.resolve_precision` turns ``auto`` into one of them)
    frames : the frames the network sees (``full``, or ``speech``: VGG16's :data:`~transfer.features.vgg16.FRAME_MODES`)
    """

    layer: str
    pooling: str
    n_bands: int
    batch_size: int = 16
    jit: bool = False
    weights: object | None = None
    precision: str = "float32"
    frames: str = "full"


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


@dataclass(frozen=True)
class FeatureExtractor:
    """A named feature extractor.

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
    key : callable(FeatureSettings) -> str
        The embedding cache key (its name first; the same settings give the same key on every machine).
    cache_record : callable(FeatureSettings) -> dict
        What the cache record and ``metrics.json``'s ``embedding`` block say of the settings (``backbone``,
        ``layer``, ``pooling``, ...).
    settings_record : callable(FeatureSettings) -> dict
        The settings a saved model needs to rebuild the extractor.
    compute : callable(dataset, FeatureSettings, **engine) -> ndarray
        Every clip of a built dataset (row ``i`` the segment whose ``feature_row`` is ``i``). Keyword arguments:
        ``scheduler``, ``dask_address``, ``workers``, ``chunk_clips``, ``progress``, ``on_start``.
    clip_embedder : callable(FeatureSettings, LogMelParams, clip_seconds) -> ClipEmbedder
    uses_weights : bool
        Whether it reads :attr:`FeatureSettings.weights` (VGG16); an extractor that does not is given None.
    components : tuple of str
        A combination's component extractors, concatenated in this order (each block scaled in the head,
        :func:`block_scale`); empty for a plain extractor.
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
    key: Callable[[FeatureSettings], str]
    cache_record: Callable[[FeatureSettings], dict]
    settings_record: Callable[[FeatureSettings], dict]
    compute: Callable[..., np.ndarray] | None
    clip_embedder: Callable[..., ClipEmbedder] | None
    uses_weights: bool = False
    components: tuple[str, ...] = ()
    unavailable: Callable[[], str | None] = _always_available
    provenance: Mapping = field(default_factory=dict)
    licence: str = ""

    def __post_init__(self):
        if self.reads not in READS:
            raise ValueError(f"extractor {self.name}: reads {self.reads!r}, not one of {', '.join(READS)}")

    def check_available(self) -> None:
        """Raise :class:`ExtractorUnavailable` (one line: why, and what to install) when it cannot run here."""
        reason = self.unavailable()
        if reason:
            raise ExtractorUnavailable(f"the {self.name} features cannot run here: {reason}")

    def record(self, settings: FeatureSettings) -> dict:
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
