"""The feature extractors, as a registry: every way the product turns clips into the features its head reads.

Each entry is a :class:`~transfer.features.base.FeatureExtractor` (name, version, what it reads, output width,
the weights or binary it depends on with their provenance and licence, and how it computes). Adding one is one
module and one line in :data:`FEATURES`; ``--features NAME`` then selects it in ``pipelines.embed``,
``pipelines.train``, ``pipelines.run`` and the benchmarks, its name goes into the embedding cache key,
``metrics.json``, ``model.json`` and every committed result, and a saved model rebuilds it from its record.

* ``vgg16`` -- frozen ImageNet VGG16 on the log-mel spectrogram (:mod:`transfer.features.vgg16`; the default);
* ``egemaps`` -- openSMILE's eGeMAPSv02 functionals over each clip's speech span (:mod:`transfer.features.egemaps`;
  the optional ``[egemaps]`` extra, under audEERING's research licence);
* ``vgg16+egemaps`` -- both, concatenated, each block scaled to the same total variance
  (:mod:`transfer.features.combined`).

See ``docs/features.md`` for what each measured on the weak-supervision benchmark.
"""
from __future__ import annotations

from transfer.features.base import (ClipEmbedder, ExtractorUnavailable, FeatureExtractor, FeatureSettings,
                                    block_scale)
from transfer.features.combined import combination
from transfer.features.egemaps import EGEMAPS
from transfer.features.vgg16 import VGG16

#: The default extractor: VGG16 stays the default unless another wins on the benchmark (docs/features.md).
DEFAULT_FEATURES = VGG16.name
#: What a record from before the registry (no ``features`` entry) was made with.
LEGACY_FEATURES = VGG16.name

#: Every extractor by name.
FEATURES: dict[str, FeatureExtractor] = {e.name: e for e in (VGG16, EGEMAPS, combination(VGG16, EGEMAPS))}

__all__ = ["DEFAULT_FEATURES", "FEATURES", "LEGACY_FEATURES", "ClipEmbedder", "ExtractorUnavailable",
           "FeatureExtractor", "FeatureSettings", "block_scale", "features_option", "get_extractor",
           "recorded_features", "resolve_weights"]


def get_extractor(name: str) -> FeatureExtractor:
    """The extractor ``name``; ValueError naming the known ones otherwise."""
    try:
        return FEATURES[name]
    except KeyError:
        raise ValueError(f"unknown features {name!r}; choose one of {', '.join(FEATURES)}") from None


def features_option(default: str | None = DEFAULT_FEATURES, **kwargs):
    """The ``features`` field of a config (:func:`foundation.config.option`): a :data:`FEATURES` name."""
    from foundation.config import option

    return option(default, choices=tuple(FEATURES), flag="--features", group="embedding", **kwargs,
                  help="feature extractor the head reads: " + "; ".join(
                      f"'{name}' ({e.description})"
                      for name, e in FEATURES.items() if not e.components)
                  + "; combinations: " + ", ".join(f"'{n}'" for n, e in FEATURES.items() if e.components))


def recorded_features(record: dict | None) -> str:
    """The extractor a ``metrics.json`` / ``model.json`` / train-config record names (``vgg16`` before the
    registry)."""
    record = record or {}
    features = record.get("features")
    if isinstance(features, dict):
        return features.get("name") or LEGACY_FEATURES
    if isinstance(features, str):
        return features
    return (record.get("train_config") or {}).get("features") or LEGACY_FEATURES


def resolve_weights(name: str, spec: str | None = "imagenet"):
    """The weights extractor ``name`` uses, resolved from ``spec`` (VGG16's), or None for one that uses none."""
    extractor = get_extractor(name)
    if not extractor.uses_weights:
        return None
    from transfer.features.vgg16 import resolve_weights as resolve_vgg16

    return resolve_vgg16(spec)
