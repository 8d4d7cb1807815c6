"""The embed step: every clip of a built dataset through the feature extractor a config names, cached.

The extractors are a registry (:data:`transfer.features.FEATURES`: ``vgg16``, the default, ``egemaps``,
``vgg16+egemaps``); :class:`EmbedConfig` names one (``--features``) and holds the VGG16 extractor's options, which
the others ignore.

Features are cached (``embeddings/<key>.npy`` + ``.json``), keyed by the extractor's key (its name first, then what
its output depends on: for VGG16 the layer, pooling, weights checksum, image version and, where they are not the
reference, the resolved precision and the frames), and tied to the SHA-256
of the build's features, so clips are embedded once, a rebuilt dataset with other features is never served stale
embeddings, and a rebuilt dataset with the same features (another labelling policy, another split) reuses them. A
combination's components are cached one by one and concatenated. The clips are computed in contiguous chunks by an
engine from :func:`foundation.executor.make_executor`, with bitwise the same result in this process or on Dask.

The VGG16 names this module exported before the registry (``Embedder``, ``DEFAULT_LAYER``, ...) are re-exported
from :mod:`transfer.features.vgg16` for the callers of that time; new code imports them from there.
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
from transfer.features import DEFAULT_FEATURES, FEATURES, FeatureSettings, features_option, get_extractor
from transfer.features.base import DEFAULT_CHUNK_CLIPS, chunk_bounds  # noqa: F401 (re-exported)
from transfer.features.precision import DEFAULT_PRECISION, precision_option, resolve_precision
# Re-exported for callers from before the registry (benchmarks, the reference tests): the vgg16 extractor's names.
from transfer.features.vgg16 import (CUT_LAYERS, DEFAULT_JIT, DEFAULT_LAYER, DEFAULT_N_BANDS,  # noqa: F401
                                     DEFAULT_POOLING, IMAGE_DB_RANGE, IMAGE_VERSION, POOLINGS, SILENCE_DB,
                                     VGG_BGR_MEANS, DEFAULT_FRAMES, Embedder, EmbeddingSpec, band_pool,
                                     bands_option, effective_frames, embed_chunk, frames_at_layer,
                                     frames_option, get_embedder, layer_option,
                                     logmel_to_vgg_input, pooling_option, speech_frames, weights_option,
                                     weights_record)
from weaklabel.dataset import Dataset, embedding_files, load_cached_embeddings


def batch_size_option():
    """The ``batch_size`` field of a config: clips per forward pass of a network."""
    return option(16, group="embedding", minimum=1, help="clips per forward pass (VGG16 batch)")


@dataclass(frozen=True)
class EmbedConfig:
    """What :func:`embed` computes: the feature extractor, the VGG16 extractor's weights, cut layer, pooling,
    precision and frames (the cache key), and the batch size.

    ``precision`` may be ``auto``: it is resolved (:func:`transfer.features.precision.resolve_precision`) before
    anything is computed, and the resolved one keys the cache and is recorded. ``frames`` ``speech`` applies to
    band pooling only (``gap`` runs on the whole clip and records ``full``)."""

    weights: str = weights_option()
    layer: str = layer_option()
    pooling: str = pooling_option()
    n_bands: int = bands_option()
    batch_size: int = batch_size_option()
    features: str = features_option()
    precision: str = precision_option()
    frames: str = frames_option()

    def __post_init__(self):
        check_ranges(self)
        # validates the pooling, precision and frames
        EmbeddingSpec(layer=self.layer, pooling=self.pooling, n_bands=self.n_bands,
                      precision=resolve_precision(self.precision).precision, frames=self.frames)
        get_extractor(self.features)


def _write_cache(cache_dir: Path, key: str, array: np.ndarray, meta: dict) -> None:
    array_path, meta_path = embedding_files(cache_dir, key)
    cache_dir.mkdir(parents=True, exist_ok=True)
    meta_path.unlink(missing_ok=True)  # the old record must not vouch for the array about to be written
    for path in (array_path, meta_path):
        remove_temp_files(path.parent, path.name)
    with atomic_path(array_path) as tmp:
        with open(tmp, "wb") as handle:
            np.save(handle, array)
    write_json_atomic(meta_path, meta)


@writes_into("dataset_dir", "embed")
def embed_dataset(dataset_dir: str | Path, weights=None, layer: str = DEFAULT_LAYER, batch_size: int = 16,
                  jit: bool = DEFAULT_JIT, progress: Callable[[int], None] | None = None,
                  on_start: Callable[[int], None] | None = None, scheduler: str | None = None,
                  dask_address: str | None = None, workers: int | None = None,
                  chunk_clips: int | None = None, pooling: str = DEFAULT_POOLING,
                  n_bands: int = DEFAULT_N_BANDS, cache_dir: str | Path | None = None,
                  features: str = DEFAULT_FEATURES, precision: str = DEFAULT_PRECISION,
                  frames: str = DEFAULT_FRAMES) -> tuple[np.ndarray, dict]:
    """Every clip of a built dataset through the extractor ``features`` (cached by the features' content).

    The extractor's chunks run on an engine from :func:`foundation.executor.make_executor`: locally (VGG16 in this
    process, which uses every core; openSMILE in ``workers`` processes) or, with ``scheduler="dask"``, on Dask
    workers. The chunks are assembled in order on this side and written atomically, so the files are the same
    bytes either way. It holds the dataset folder's writer lock throughout (:mod:`foundation.locking`).

    Parameters
    ----------
    dataset_dir : path
        A folder written by the build.
    weights : transfer.weights.WeightsInfo or None
        Resolved VGG16 weights, for an extractor that uses them (on a cluster their file must be at the same path
        on every worker); ignored by one that does not.
    layer, pooling, n_bands, batch_size, jit :
        The VGG16 extractor's options (:mod:`transfer.features.vgg16`).
    precision : {"float32", "bfloat16", "auto"}
        The VGG16 network's arithmetic (:mod:`transfer.features.precision`), resolved here; the resolved one keys
        the cache and is the record's ``precision``.
    frames : {"full", "speech"}
        The frames the VGG16 network sees (:data:`transfer.features.vgg16.FRAME_MODES`); the record's ``frames`` is
        the effective one (``full`` for ``gap`` pooling).
    progress : callable(clips_done_delta), optional
        Called as each chunk completes.
    on_start : callable(n_clips), optional
        Called before the extractor starts computing.
    scheduler : {"local", "dask"} or None
        Where the chunks run; None: ``"dask"`` when ``dask_address`` is given. Not recorded.
    dask_address : str, optional
        Scheduler address of a running Dask cluster (sharing this filesystem) to join.
    workers : int, optional
        Processes of the ``LocalCluster`` started for ``scheduler="dask"`` without an address, and of a local
        openSMILE run (default: CPU count).
    chunk_clips : int, optional
        Clips per task (default: the extractor's).
    cache_dir : path, optional
        Where the cache lives (default ``DATASET/embeddings``); datasets with identical features may share one.
    features : str
        A :data:`transfer.features.FEATURES` name.

    Returns
    -------
    embeddings : ndarray, shape (n_clips, dim), float32
        Row ``i`` belongs to the segment whose ``feature_row`` is ``i``.
    meta : dict
        The cache record: key, extractor (``backbone``) and its settings, shape, features checksum, build
        fingerprint, whether it came from the cache; ``weights`` is ``weights`` as this call resolved them (None for
        an extractor that uses none); a combination's ``blocks`` give its components' widths.

    Raises
    ------
    transfer.features.ExtractorUnavailable
        The extractor's package is not installed.
    """
    from foundation.executor import resolve_scheduler

    extractor = get_extractor(features)
    extractor.check_available()
    scheduler = resolve_scheduler(scheduler, dask_address)
    dataset_dir = Path(dataset_dir)
    settings = FeatureSettings(layer=layer, pooling=pooling, n_bands=n_bands, batch_size=batch_size, jit=jit,
                               weights=weights if extractor.uses_weights else None,
                               precision=resolve_precision(precision).precision,
                               frames=effective_frames(frames, pooling))
    if extractor.components:
        arrays, metas = [], []
        for component in extractor.components:
            array, meta = embed_dataset.__wrapped__(
                dataset_dir, weights, layer, batch_size, jit, progress, on_start, scheduler, dask_address, workers,
                chunk_clips, pooling, n_bands, cache_dir, features=component, precision=settings.precision,
                frames=settings.frames)
            arrays.append(np.asarray(array))
            metas.append(meta)
        embeddings = np.concatenate(arrays, axis=1)
        meta = {**extractor.cache_record(settings), "dim": int(embeddings.shape[1]),
                "shape": list(embeddings.shape), "blocks": [int(a.shape[1]) for a in arrays],
                "components": metas, "weights": weights_record(weights) if extractor.uses_weights else None,
                "features_sha256": metas[0]["features_sha256"], "build_fingerprint": metas[0]["build_fingerprint"],
                "from_cache": all(m["from_cache"] for m in metas)}
        return embeddings, meta
    dataset = Dataset(dataset_dir)
    cache_dir = Path(cache_dir) if cache_dir is not None else dataset.embeddings_dir
    build = dataset.record
    key = extractor.key(settings)
    features_sha256 = dataset.features_sha256
    cached = load_cached_embeddings(cache_dir, key, features_sha256)
    _, meta_path = embedding_files(cache_dir, key)
    used_weights = weights_record(weights) if extractor.uses_weights else None
    if cached is not None:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        # The cache key holds the weights' checksum, so these are the weights the arrays were computed with; the
        # record says how this run got them (its file keeps how the computing run did).
        meta.update(from_cache=True, build_fingerprint=build["fingerprint"], weights=used_weights)
        return cached, meta
    embeddings = extractor.compute(dataset, settings, scheduler=scheduler, dask_address=dask_address,
                                   workers=workers, chunk_clips=chunk_clips, progress=progress, on_start=on_start)
    record = extractor.cache_record(settings)
    meta = {**{k: record[k] for k in ("key", "backbone", "layer", "pooling", "pooling_description", "image_version")},
            **{k: v for k, v in record.items() if k not in ("key", "backbone", "layer", "pooling",
                                                           "pooling_description", "image_version")},
            "dim": int(embeddings.shape[1]), "shape": list(embeddings.shape), "weights": used_weights,
            "features_sha256": features_sha256, "build_fingerprint": build["fingerprint"], "batch_size": batch_size,
            "extractor": {"name": extractor.name, "version": extractor.version}}
    _write_cache(cache_dir, key, embeddings, meta)
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
    from transfer.features import resolve_weights

    executor = executor or ExecutorConfig()
    get_extractor(config.features).check_available()
    weights = resolve_weights(config.features, config.weights)
    with executor.connect_timeout():
        return embed_dataset(dataset, weights, config.layer, batch_size=config.batch_size, progress=progress,
                             on_start=on_start, pooling=config.pooling, n_bands=config.n_bands,
                             features=config.features, precision=config.precision, frames=config.frames,
                             **executor.engine_options())


__all__ = ["EmbedConfig", "FEATURES", "batch_size_option", "chunk_bounds", "embed", "embed_dataset"]
