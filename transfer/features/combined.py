"""Combinations of extractors: their arrays concatenated, block by block (``vgg16+egemaps``).

Each component is computed and cached on its own (:func:`transfer.embedding.embed_dataset`), so a combination
costs nothing once its components are cached. The head sees the blocks standardised and then scaled so that each
block carries the same total variance (:func:`transfer.features.base.block_scale`): without that the 1,024 VGG16
columns would outweigh the 88 eGeMAPS ones under the L2 penalty. A combination has no options of its own: its
settings are its components' settings, in order, each resolved from that component's options.
"""
from __future__ import annotations

import numpy as np

from transfer.features.base import FeatureExtractor


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
    """The extractor that concatenates ``components`` (plain extractors), in that order; its settings are a tuple
    of theirs."""
    name = "+".join(c.name for c in components)

    def each(settings, function):
        return [function(c, s) for c, s in zip(components, settings)]

    def clip_embedder(settings, mel, clip_seconds: float) -> ConcatClipEmbedder:
        return ConcatClipEmbedder(each(settings, lambda c, s: c.clip_embedder(s, mel, clip_seconds)))

    def component_weights(weights, component: FeatureExtractor):  # {component: record} when several have weights
        return weights.get(component.name) if isinstance(weights, dict) and component.name in weights else weights

    def settings_from_record(settings, weights=None, location=None):  # location: {component: where its weights are}
        return tuple(c.settings_from_record(settings.get(c.name) or {}, component_weights(weights, c),
                                            (location or {}).get(c.name)) for c in components)

    def weights_record(settings):
        records = {c.name: r for c, r in zip(components, each(settings, lambda c, s: c.weights_record(s))) if r}
        return next(iter(records.values())) if len(records) == 1 else (records or None)

    def settings_problem(settings) -> str | None:
        return next((problem for problem in (c.settings_problem(settings.get(c.name) or {}) for c in components)
                     if problem), None)

    def unavailable() -> str | None:
        return next((reason for reason in (c.unavailable() for c in components) if reason), None)

    return FeatureExtractor(
        name=name, version="+".join(c.version for c in components),
        description=" and ".join(c.name for c in components) + ", concatenated; each block standardised and scaled "
                                                              "to the same total variance",
        reads="audio" if any(c.reads == "audio" for c in components) else "log-mel",
        key=lambda settings: "+".join(each(settings, lambda c, s: c.key(s))),
        cache_record=lambda settings: {"key": "+".join(each(settings, lambda c, s: c.key(s))), "backbone": name,
                                       **dict(zip((c.name for c in components),
                                                  each(settings, lambda c, s: c.cache_record(s))))},
        settings_record=lambda settings: dict(zip((c.name for c in components),
                                                  each(settings, lambda c, s: c.settings_record(s)))),
        compute=None, clip_embedder=clip_embedder, settings_from_record=settings_from_record,
        weights_record=weights_record, uses_weights=any(c.uses_weights for c in components),
        settings_problem=settings_problem,
        describe=lambda settings: "; ".join(f"{c.name}: {d}" if d else c.name
                                            for c, d in zip(components, each(settings, lambda c, s: c.describe(s)))),
        components=tuple(c.name for c in components), unavailable=unavailable,
        licence="; ".join(f"{c.name}: {c.licence}" for c in components),
        provenance={c.name: dict(c.provenance) for c in components})
