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

from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np

from foundation.atomic import atomic_path, remove_temp_files, write_json_atomic
from foundation.locking import writes_into
from transfer.embedding_record import EmbeddingRecord, load_cached_embeddings
from transfer.features import FEATURES, Embedding, EmbeddingConfig
from transfer.model_record import FeaturesUsed
from weaklabel.dataset import Dataset
from weaklabel.layout import embedding_files

#: The embed step's configuration is the embedding configuration itself (:class:`transfer.features.EmbeddingConfig`).
EmbedConfig = EmbeddingConfig


def _write_cache(cache_dir: Path, array: np.ndarray, record: EmbeddingRecord) -> None:
    array_path, record_path = embedding_files(cache_dir, record.key)
    cache_dir.mkdir(parents=True, exist_ok=True)
    record_path.unlink(missing_ok=True)  # the old record must not vouch for the array about to be written
    for path in (array_path, record_path):
        remove_temp_files(path.parent, path.name)
    with atomic_path(array_path) as tmp:
        with open(tmp, "wb") as handle:
            np.save(handle, array)
    write_json_atomic(record_path, record.to_dict())


@writes_into("dataset_dir", "embed")
def embed_dataset(dataset_dir: str | Path, embedding: Embedding, *, progress: Callable[[int], None] | None = None,
                  on_start: Callable[[int], None] | None = None, scheduler: str | None = None,
                  dask_address: str | None = None, workers: int | None = None, chunk_clips: int | None = None,
                  cache_dir: str | Path | None = None) -> tuple[np.ndarray, EmbeddingRecord]:
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
    record : transfer.embedding_record.EmbeddingRecord
        The cache record: key, extractor and its settings, shape, features checksum, build fingerprint, whether it
        came from the cache; ``weights`` the weights this call resolved (None for an extractor that uses none); a
        combination's ``blocks`` give its components' widths and ``components`` their records.
    """
    from foundation.executor import resolve_scheduler

    extractor = embedding.extractor
    scheduler = resolve_scheduler(scheduler, dask_address)
    dataset_dir = Path(dataset_dir)
    engine = {"progress": progress, "on_start": on_start, "scheduler": scheduler, "dask_address": dask_address,
              "workers": workers, "chunk_clips": chunk_clips, "cache_dir": cache_dir}
    if extractor.components:
        arrays, records = [], []
        for component in embedding.components():
            array, record = embed_dataset.__wrapped__(dataset_dir, component, **engine)
            arrays.append(np.asarray(array))
            records.append(record)
        embeddings = np.concatenate(arrays, axis=1)
        return embeddings, _record(embedding, embeddings, records[0].features_sha256, records[0].build_fingerprint,
                                   components=tuple(records))
    dataset = Dataset(dataset_dir)
    cache_dir = Path(cache_dir) if cache_dir is not None else dataset.embeddings_dir
    features_sha256 = dataset.features_sha256
    cached = load_cached_embeddings(cache_dir, embedding.key, features_sha256)
    if cached is not None:
        array, record = cached
        # The cache key holds the weights' checksum, so these are the weights the arrays were computed with; the
        # record says how this run got them (its file keeps how the computing run did).
        return array, replace(record, from_cache=True, build_fingerprint=dataset.fingerprint,
                              weights=embedding.weights_record())
    embeddings = extractor.compute(dataset, embedding.settings, batch_size=embedding.batch_size,
                                   scheduler=scheduler, dask_address=dask_address, workers=workers,
                                   chunk_clips=chunk_clips, progress=progress, on_start=on_start)
    record = _record(embedding, embeddings, features_sha256, dataset.fingerprint)
    _write_cache(cache_dir, embeddings, record)
    return embeddings, record


def _record(embedding: Embedding, embeddings: np.ndarray, features_sha256: str | None,
            build_fingerprint: str | None, components: tuple[EmbeddingRecord, ...] = ()) -> EmbeddingRecord:
    """The record of ``embeddings`` (n_clips, dim) computed now by ``embedding``, or (``components``: their
    records, in order) a combination's concatenated from its components'."""
    extractor = embedding.extractor
    return EmbeddingRecord(
        key=embedding.key, extractor=extractor.name, extractor_version=extractor.version,
        settings={k: v for k, v in extractor.cache_record(embedding.settings).items() if k not in ("key", "backbone")},
        dim=int(embeddings.shape[1]), shape=tuple(int(n) for n in embeddings.shape),
        weights=embedding.weights_record(), features_sha256=features_sha256, build_fingerprint=build_fingerprint,
        batch_size=embedding.batch_size, blocks=tuple(c.dim for c in components), components=components,
        from_cache=bool(components) and all(c.from_cache for c in components))


def embed(dataset, config: EmbeddingConfig = EmbeddingConfig(), executor=None, *,
          progress: Callable[[int], None] | None = None,
          on_start: Callable[[int], None] | None = None) -> tuple[np.ndarray, EmbeddingRecord]:
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
    record : transfer.embedding_record.EmbeddingRecord, the cache record (key, shape, ``weights`` record, whether
        it came from the cache, ...) with ``features``: the resolved embedding's record (which extractor ``auto``
        chose, and why)
    """
    from foundation.executor import ExecutorConfig

    executor = executor or ExecutorConfig()
    embedding = config.resolve()
    with executor.connect_timeout():
        embeddings, record = embed_dataset(dataset, embedding, progress=progress, on_start=on_start,
                                           **executor.engine_options())
    return embeddings, replace(record, features=FeaturesUsed.from_dict(embedding.record()))


__all__ = ["EmbedConfig", "EmbeddingConfig", "EmbeddingRecord", "FEATURES", "embed", "embed_dataset"]
