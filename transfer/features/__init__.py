"""The feature extractors, as a registry: every way the product turns clips into the features its head reads.

Each entry is a :class:`~transfer.features.base.FeatureExtractor` (name, version, what it reads, its own options,
how they resolve, the weights or binary it depends on with their provenance and licence, and how it computes).
Adding one is one module and one line in :data:`FEATURES` (:mod:`transfer.features.registry`); its options then
appear in :class:`EmbeddingConfig`, hence on every command line and in every run file, its name goes into the
embedding cache key, ``metrics.json``, ``model.json`` and every committed result, and a saved model rebuilds it
from its record.

* ``whisper`` -- Whisper's speech encoder over each clip's audio, CTranslate2, offline
  (:mod:`transfer.features.whisper`; the default where it can run);
* ``vgg16`` -- frozen ImageNet VGG16 on the log-mel spectrogram (:mod:`transfer.features.vgg16`; the original
  method's network, and the default where Whisper cannot run);
* ``egemaps`` -- openSMILE's eGeMAPSv02 functionals over each clip's speech span (:mod:`transfer.features.egemaps`;
  the optional ``[egemaps]`` extra, under audEERING's research licence);
* ``vgg16+egemaps`` -- both, concatenated, each block scaled to the same total variance
  (:mod:`transfer.features.combined`).

See ``docs/features.md`` for what each measured and how the default was chosen.
"""
from __future__ import annotations

from transfer.features.base import (ClipEmbedder, ExtractorUnavailable, FeatureExtractor, NoOptions, NoSettings,
                                    block_scale)
from transfer.features.registry import (AUTO, AUTO_ORDER, DEFAULT_BATCH_SIZE, DEFAULT_FEATURES, FEATURES,
                                        LEGACY_FEATURES, ORIGINAL_FEATURES, Embedding, EmbeddingConfig,
                                        embedding_from_record, get_extractor,
                                        resolve_embedding, weights_locations)
from transfer.features.vgg16 import VGG16Options, VGG16Settings
from transfer.features.whisper import WhisperOptions, WhisperSettings

__all__ = ["AUTO", "AUTO_ORDER", "DEFAULT_BATCH_SIZE", "DEFAULT_FEATURES", "FEATURES", "LEGACY_FEATURES",
           "ORIGINAL_FEATURES", "ClipEmbedder", "Embedding", "EmbeddingConfig", "ExtractorUnavailable",
           "FeatureExtractor", "NoOptions", "NoSettings", "VGG16Options", "VGG16Settings", "WhisperOptions",
           "WhisperSettings", "block_scale", "embedding_from_record", "get_extractor",
           "resolve_embedding", "weights_locations"]

