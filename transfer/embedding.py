"""The embed step: every clip of a built dataset through the feature extractor a configuration names, cached.

The extractors are a registry (:data:`transfer.features.FEATURES`: ``whisper``, ``vgg16``, ``egemaps``,
``vgg16+egemaps``); an :class:`~transfer.features.EmbeddingConfig` names one (``--features``, ``auto`` by default:
Whisper where it can run, else VGG16) and holds each extractor's own options. It is resolved once
(:meth:`~transfer.features.EmbeddingConfig.resolve`) into an :class:`~transfer.features.Embedding`, which is what
:func:`embed_dataset` computes.

Features are cached (``embeddings/<key>.npy`` + ``.json``), keyed by the extractor's key (its name first, then what
its output depends on: for VGG16 the layer, pooling, weights checksum, image version, precision and frames; for
Whisper the model's checksum, input, window, pooling, device and compute type), and tied to the SHA-256 of the
build's features, so clips are embedded once, a rebuilt dataset with other features is never served stale
embeddings, and a rebuilt dataset with the same features (another labelling policy, another split) reuses them. A
combination's components are cached one by one and concatenated. The clips are computed in contiguous chunks by an
engine from :func:`foundation.executor.make_executor`, with bitwise the same result in this process or on Dask.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np

from foundation.atomic import atomic_path, remove_temp_files, write_json_atomic
from foundation.locking import writes_into
from transfer.features import FEATURES, Embedding, EmbeddingConfig
from weaklabel.dataset import Dataset, embedding_files, load_cached_embeddings

#: The embed step's configuration is the embedding configuration itself (:class:`transfer.features.EmbeddingConfig`).
EmbedConfig = EmbeddingConfig


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
def embed_dataset(dataset_dir: str | Path, embedding: Embedding, *, progress: Callable[[int], None] | None = None,
                  on_start: Callable[[int], None] | None = None, scheduler: str | None = None,
                  dask_address: str | None = None, workers: int | None = None, chunk_clips: int | None = None,
                  cache_dir: str | Path | None = None) -> tuple[np.ndarray, dict]:
    """Every clip of a built dataset through a resolved embedding (cached by the features' content).

    The extractor's chunks run on an engine from :func:`foundation.executor.make_executor`: locally (VGG16 in this
    process, which uses every core; openSMILE and Whisper in ``workers`` processes) or, with ``scheduler="dask"``,
    on Dask workers. The chunks are assembled in order on this side and written atomically, so the files are the
    same bytes either way. It holds the dataset folder's writer lock throughout (:mod:`foundation.locking`).

    Parameters
    ----------
    dataset_dir : path
        A folder written by the build.
    embedding : transfer.features.Embedding
        The extractor and its resolved settings (:meth:`transfer.features.EmbeddingConfig.resolve`); on a cluster
        the weights' files must be at the same paths on every worker.
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
        openSMILE or Whisper run.
    chunk_clips : int, optional
        Clips per task (default: the extractor's).
    cache_dir : path, optional
        Where the cache lives (default ``DATASET/embeddings``); datasets with identical features may share one.

    Returns
    -------
    embeddings : ndarray, shape (n_clips, dim), float32
        Row ``i`` belongs to the segment whose ``feature_row`` is ``i``.
    meta : dict
        The cache record: key, extractor (``backbone``) and its settings, shape, features checksum, build
        fingerprint, whether it came from the cache; ``weights`` the weights this call resolved (None for an
        extractor that uses none); a combination's ``blocks`` give its components' widths.
    """
    from foundation.executor import resolve_scheduler

    extractor = embedding.extractor
    scheduler = resolve_scheduler(scheduler, dask_address)
    dataset_dir = Path(dataset_dir)
    engine = {"progress": progress, "on_start": on_start, "scheduler": scheduler, "dask_address": dask_address,
              "workers": workers, "chunk_clips": chunk_clips, "cache_dir": cache_dir}
    if extractor.components:
        arrays, metas = [], []
        for component in embedding.components():
            array, meta = embed_dataset.__wrapped__(dataset_dir, component, **engine)
            arrays.append(np.asarray(array))
            metas.append(meta)
        embeddings = np.concatenate(arrays, axis=1)
        meta = {**extractor.cache_record(embedding.settings), "dim": int(embeddings.shape[1]),
                "shape": list(embeddings.shape), "blocks": [int(a.shape[1]) for a in arrays],
                "components": metas, "weights": embedding.weights_record(),
                "features_sha256": metas[0]["features_sha256"], "build_fingerprint": metas[0]["build_fingerprint"],
                "from_cache": all(m["from_cache"] for m in metas)}
        return embeddings, meta
    dataset = Dataset(dataset_dir)
    cache_dir = Path(cache_dir) if cache_dir is not None else dataset.embeddings_dir
    key = embedding.key
    features_sha256 = dataset.features_sha256
    cached = load_cached_embeddings(cache_dir, key, features_sha256)
    _, meta_path = embedding_files(cache_dir, key)
    used_weights = embedding.weights_record()
    if cached is not None:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        # The cache key holds the weights' checksum, so these are the weights the arrays were computed with; the
        # record says how this run got them (its file keeps how the computing run did).
        meta.update(from_cache=True, build_fingerprint=dataset.fingerprint, weights=used_weights)
        return cached, meta
    embeddings = extractor.compute(dataset, embedding.settings, batch_size=embedding.batch_size,
                                   scheduler=scheduler, dask_address=dask_address, workers=workers,
                                   chunk_clips=chunk_clips, progress=progress, on_start=on_start)
    record = extractor.cache_record(embedding.settings)
    leading = ("key", "backbone", "layer", "pooling", "pooling_description", "image_version")
    meta = {**{k: record.get(k) for k in leading}, **{k: v for k, v in record.items() if k not in leading},
            "dim": int(embeddings.shape[1]), "shape": list(embeddings.shape), "weights": used_weights,
            "features_sha256": features_sha256, "build_fingerprint": dataset.fingerprint,
            "batch_size": embedding.batch_size, "extractor": {"name": extractor.name, "version": extractor.version}}
    _write_cache(cache_dir, key, embeddings, meta)
    meta["from_cache"] = False
    return embeddings, meta


def embed(dataset, config: EmbeddingConfig = EmbeddingConfig(), executor=None, *,
          progress: Callable[[int], None] | None = None,
          on_start: Callable[[int], None] | None = None) -> tuple[np.ndarray, dict]:
    """Embed every clip of a dataset (cached in ``DATASET/embeddings/``): the configuration resolved once, then
    :func:`embed_dataset`.

    Parameters
    ----------
    dataset : Dataset or path
    config : EmbeddingConfig
    executor : foundation.executor.ExecutorConfig, optional
        Where the chunks run (default: this process).
    progress, on_start :
        As for :func:`embed_dataset`.

    Returns
    -------
    embeddings : ndarray (n_clips, dim), float32; row ``i`` belongs to the segment whose ``feature_row`` is ``i``
    meta : dict, the cache record (key, shape, ``weights`` record, whether it came from the cache, ...) and
        ``features``: the resolved embedding's record (which extractor ``auto`` chose, and why)
    """
    from foundation.executor import ExecutorConfig

    executor = executor or ExecutorConfig()
    embedding = config.resolve()
    with executor.connect_timeout():
        embeddings, meta = embed_dataset(dataset, embedding, progress=progress, on_start=on_start,
                                         **executor.engine_options())
    return embeddings, {**meta, "features": embedding.record()}


__all__ = ["EmbedConfig", "EmbeddingConfig", "FEATURES", "embed", "embed_dataset"]
