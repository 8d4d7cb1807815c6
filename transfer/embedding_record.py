"""The embedding cache's record, typed: ``embeddings/<key>.json`` beside ``<key>.npy`` (written by
:func:`transfer.embedding.embed_dataset` after the array; file names from :func:`weaklabel.layout.embedding_files`).

:class:`EmbeddingRecord` holds what the array was computed with: the cache key, the extractor (name and version),
the extractor's settings as its cache record says them (:attr:`~transfer.features.FeatureExtractor.cache_record`:
what its output depends on), the array's shape, the weights' identity, the SHA-256 of the build's features it was
computed from, the build's fingerprint and the batch size. :meth:`EmbeddingRecord.from_dict` is the one reader of
every layout this tool has written; :meth:`EmbeddingRecord.to_dict` writes the current one, every key present.

The layouts (none carries a format number; each is told by its keys):

* VGG16 without ``features_sha256`` (its pooling ``"global average"``): read, never served from the cache, since
  nothing ties it to the features it was computed from;
* VGG16 with ``features_sha256``, ``pooling`` (``gap`` or ``bands<n>``) and ``pooling_description``, no
  ``extractor`` entry, no ``precision`` or ``frames``;
* the extractor registry's: ``extractor: {name, version}`` and the extractor's cache record flat beside the key;
  VGG16's first without, then with, ``precision`` and ``frames`` (this one).

What an older layout lacks is decided in :meth:`EmbeddingRecord.from_dict`, once: a record without ``extractor`` is
VGG16's, of no version; VGG16's ``"global average"`` pooling is ``gap``, an absent precision ``float32`` and absent
frames ``full`` (:data:`LEGACY_VGG16_CACHE_DEFAULTS`: what the code that wrote it computed).

A combination's record (``vgg16+egemaps``) is made in memory from its components' records and never written: its
:meth:`~EmbeddingRecord.to_dict` adds ``blocks`` and ``components``.

Importing this module is cheap (NumPy, no TensorFlow, no extractor): the report reads it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from foundation.records import is_integer
from transfer.model_record import LEGACY_FEATURES, FeaturesUsed
from weaklabel.layout import embedding_files

#: What a VGG16 cache record from before embedding precision lacks, and what its absence meant.
LEGACY_VGG16_CACHE_DEFAULTS = {"precision": "float32", "frames": "full"}
#: The first layout's name of VGG16's global average pooling, and the name and description later ones give it.
_LEGACY_GAP = ("global average", "gap", "global average over frequency and time")
#: The record's own keys; every other key of a written record is one of the extractor's settings.
_FIXED_KEYS = ("key", "backbone", "dim", "shape", "weights", "features_sha256", "build_fingerprint", "batch_size",
               "extractor", "blocks", "components")
#: What messages call a record whose file they do not name.
RECORD_NAME = "embedding record"


@dataclass(frozen=True)
class EmbeddingRecord:
    """An embedding cache record (``embeddings/<key>.json``), or a combination's, made from its components'.

    Attributes
    ----------
    key : the cache key (the extractor's name first, then what its output depends on)
    extractor : the extractor's registry name (``vgg16``, ``egemaps``, ``whisper``, ``vgg16+egemaps``)
    extractor_version : its version (None: a record from before the extractor registry)
    settings : the extractor's cache record without ``key`` and ``backbone`` (layer, pooling, precision, ...; a
        combination's: ``{component: its cache record}``)
    dim : the embedding's width
    shape : the array's shape, ``(n_clips, dim)``
    weights : the identity of the weights (``spec, source, path, sha256, verified``; Whisper's model record); None
        for an extractor without weights. Read from the cache, the weights of the run that read it (the key holds
        their checksum, so they are the ones the array was computed with)
    features_sha256 : SHA-256 of the build's ``features/logmel.npy`` the array was computed from (None: the first
        layout, never served)
    build_fingerprint : the fingerprint of the build that computed it, or that read it from the cache
    batch_size : clips per batch of the run that computed it (None: a combination, or not recorded)
    blocks : a combination's components' widths, in order (empty for one extractor)
    components : a combination's components' records, in order (empty for one extractor)
    from_cache : whether this run read the array from the cache (in memory, not written)
    features : the resolved embedding's record (which extractor ``auto`` chose, and why), where
        :func:`transfer.embedding.embed` adds it (in memory, not written)
    """

    key: str
    extractor: str
    extractor_version: str | None
    settings: Mapping
    dim: int
    shape: tuple[int, ...]
    weights: Mapping | None
    features_sha256: str | None
    build_fingerprint: str | None
    batch_size: int | None
    blocks: tuple[int, ...] = ()
    components: tuple["EmbeddingRecord", ...] = ()
    from_cache: bool = False
    features: FeaturesUsed | None = None

    def to_dict(self) -> dict:
        """The file's layout: the key and extractor (``backbone``), its settings flat beside them, then the array's
        and the run's fields, ``extractor: {name, version}`` last; a combination's adds ``blocks`` and
        ``components``. ``from_cache`` and ``features`` are not written."""
        out = {"key": self.key, "backbone": self.extractor, **self.settings, "dim": self.dim,
               "shape": list(self.shape), "weights": None if self.weights is None else dict(self.weights),
               "features_sha256": self.features_sha256, "build_fingerprint": self.build_fingerprint,
               "batch_size": self.batch_size, "extractor": {"name": self.extractor, "version": self.extractor_version}}
        if self.components:
            out.update(blocks=list(self.blocks), components=[c.to_dict() for c in self.components])
        return out

    @classmethod
    def from_dict(cls, data: Mapping, name: str = RECORD_NAME) -> "EmbeddingRecord":
        """A record in any layout this tool wrote (ValueError, saying why, for anything else:
        :func:`embedding_record_problem`; ``name`` is what the message calls it)."""
        problem = embedding_record_problem(data, name)
        if problem is not None:
            raise ValueError(problem)
        described = data.get("extractor") or {}
        extractor = described.get("name") or data.get("backbone") or LEGACY_FEATURES
        settings = {k: v for k, v in data.items() if k not in _FIXED_KEYS}
        if extractor == LEGACY_FEATURES:
            settings = _vgg16_settings(settings)
        components = tuple(cls.from_dict(c, f"{name}'s component") for c in data.get("components") or ())
        return cls(key=data["key"], extractor=extractor, extractor_version=described.get("version"),
                   settings=settings, dim=int(data["dim"]), shape=tuple(data["shape"]), weights=data.get("weights"),
                   features_sha256=data.get("features_sha256"), build_fingerprint=data.get("build_fingerprint"),
                   batch_size=data.get("batch_size"), blocks=tuple(data.get("blocks") or ()), components=components)

    def serves(self, key: str, features_sha256: str, shape: tuple[int, ...]) -> bool:
        """Whether the array beside this record (of ``shape``) is the cache's answer for ``key`` on features with
        SHA-256 ``features_sha256``: the record names that key, those features and that shape."""
        return self.key == key and self.features_sha256 == features_sha256 and tuple(shape) == self.shape


def _vgg16_settings(settings: Mapping) -> dict:
    """A VGG16 record's settings, what an older layout lacked given the values it meant."""
    out = dict(settings)
    if out.get("pooling") == _LEGACY_GAP[0]:
        out.update(pooling=_LEGACY_GAP[1], pooling_description=_LEGACY_GAP[2])
    return {**out, **{k: v for k, v in LEGACY_VGG16_CACHE_DEFAULTS.items() if k not in out}}


def _is_sha256(value) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def embedding_record_problem(record, name: str = RECORD_NAME) -> str | None:
    """What makes an embedding cache record unreadable by this code, in words (``name``: what to call it), or None.

    A JSON object with a ``key`` (a non-empty string); ``backbone`` and ``extractor.name`` (where present) strings;
    ``shape`` two sizes, the second ``dim``; ``weights`` an object or null; ``features_sha256`` a SHA-256 (or
    absent or null: the first layout); ``build_fingerprint`` a string or null; ``batch_size`` a positive integer or null; a
    combination's ``blocks`` widths adding up to ``dim`` and ``components`` records of the same kind.
    """
    if not isinstance(record, dict):
        return f"the {name} holds {type(record).__name__}, not a JSON object"
    key, dim, shape = record.get("key"), record.get("dim"), record.get("shape")
    if not isinstance(key, str) or not key:
        return f"the {name}'s key is {key!r}, not a cache key"
    if not isinstance(record.get("backbone", ""), str):
        return f"the {name}'s backbone is {record['backbone']!r}, not an extractor's name"
    described = record.get("extractor", {})
    if not (isinstance(described, dict) and isinstance(described.get("name", ""), str)
            and isinstance(described.get("version"), (str, type(None)))):
        return f"the {name}'s extractor is {described!r}, not an extractor's name and version"
    if not is_integer(dim) or dim < 1:
        return f"the {name}'s dim is {dim!r}, not a width"
    if not (isinstance(shape, list) and len(shape) == 2 and all(is_integer(n) and n >= 0 for n in shape)
            and shape[1] == dim):
        return f"the {name}'s shape is {shape!r}, not two sizes (clips, dim {dim})"
    if not isinstance(record.get("weights"), (dict, type(None))):
        return f"the {name}'s weights is {record['weights']!r}, not the weights' identity"
    if record.get("features_sha256") is not None and not _is_sha256(record["features_sha256"]):
        return f"the {name}'s features_sha256 is {record['features_sha256']!r}, not a SHA-256"
    if not isinstance(record.get("build_fingerprint"), (str, type(None))):
        return f"the {name}'s build_fingerprint is {record['build_fingerprint']!r}, not a fingerprint"
    batch_size = record.get("batch_size")
    if batch_size is not None and not (is_integer(batch_size) and batch_size > 0):
        return f"the {name}'s batch_size is {batch_size!r}, not a number of clips"
    blocks, components = record.get("blocks", []), record.get("components", [])
    if not (isinstance(blocks, list) and all(is_integer(b) and b > 0 for b in blocks)
            and (not blocks or sum(blocks) == dim)):
        return f"the {name}'s blocks are {blocks!r}, not widths adding up to dim {dim}"
    if not isinstance(components, list) or len(components) != len(blocks):
        return f"the {name}'s components are {components!r}, not one record per block"
    return next((p for p in (embedding_record_problem(c, f"{name}'s component") for c in components) if p), None)


def read_embedding_record(path: str | Path) -> EmbeddingRecord:
    """The record at ``path`` (OSError where it cannot be read; ValueError, naming the file and saying why, where
    it is not a record this code reads)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path.name} cannot be read ({' '.join(str(exc).split())})") from None
    return EmbeddingRecord.from_dict(data, path.name)


def load_cached_embeddings(cache_dir: str | Path, key: str,
                           features_sha256: str) -> tuple[np.ndarray, EmbeddingRecord] | None:
    """The cached embeddings for ``key`` and their record, if they were computed from features with this content;
    else None (nothing cached, a record this code cannot read, or a stale one).

    The record (``.json``) is written after the array and removed before a new array is written, so a record that
    names this key, these features and the array's shape vouches for the array beside it
    (:meth:`EmbeddingRecord.serves`).

    Returns
    -------
    embeddings : ndarray, shape (n_clips, dim), float32, memory-mapped
    record : EmbeddingRecord, as the file says it
    """
    array_path, record_path = embedding_files(cache_dir, key)
    try:
        record = read_embedding_record(record_path)
        array = np.load(array_path, mmap_mode="r")
    except (OSError, ValueError):
        return None
    return (array, record) if record.serves(key, features_sha256, array.shape) else None
