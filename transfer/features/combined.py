"""Combinations of extractors: their arrays concatenated, block by block (``vgg16+egemaps``).

Each component is computed and cached on its own (:func:`transfer.embedding.embed_dataset`), so a combination
costs nothing once its components are cached. The head sees the blocks standardised and then scaled so that each
block carries the same total variance (:func:`transfer.features.base.block_scale`): without that the 1,024 VGG16
columns would outweigh the 88 eGeMAPS ones under the L2 penalty.
"""
from __future__ import annotations

import numpy as np

from transfer.features.base import FeatureExtractor, FeatureSettings


class ConcatClipEmbedder:
    """The components' clip embedders side by side."""

    def __init__(self, parts):
        self.parts = list(parts)
        self.dim = sum(p.dim for p in self.parts)
        self.dims = [p.dim for p in self.parts]
        self.needs_logmel = any(p.needs_logmel for p in self.parts)
        self.needs_audio = any(p.needs_audio for p in self.parts)

    def embed(self, samples, logmel, batch_size: int = 16) -> np.ndarray:
        return np.concatenate([p.embed(samples, logmel, batch_size) for p in self.parts], axis=1)


def combination(*components: FeatureExtractor) -> FeatureExtractor:
    """The extractor that concatenates ``components`` (plain extractors), in that order."""
    name = "+".join(c.name for c in components)

    def clip_embedder(settings: FeatureSettings, mel, clip_seconds: float) -> ConcatClipEmbedder:
        return ConcatClipEmbedder(c.clip_embedder(settings, mel, clip_seconds) for c in components)

    def unavailable() -> str | None:
        return next((reason for reason in (c.unavailable() for c in components) if reason), None)

    return FeatureExtractor(
        name=name, version="+".join(c.version for c in components),
        description=" and ".join(c.name for c in components) + ", concatenated; each block standardised and scaled "
                                                              "to the same total variance",
        reads="audio" if any(c.reads == "audio" for c in components) else "log-mel",
        key=lambda settings: "+".join(c.key(settings) for c in components),
        cache_record=lambda settings: {"key": "+".join(c.key(settings) for c in components), "backbone": name,
                                       **{f"{c.name}": c.cache_record(settings) for c in components}},
        settings_record=lambda settings: {c.name: c.settings_record(settings) for c in components},
        compute=None, clip_embedder=clip_embedder, uses_weights=any(c.uses_weights for c in components),
        components=tuple(c.name for c in components), unavailable=unavailable,
        licence="; ".join(f"{c.name}: {c.licence}" for c in components),
        provenance={c.name: dict(c.provenance) for c in components})
