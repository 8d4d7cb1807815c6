"""The registry of feature extractors, the embedding configuration generated from it, and its resolution.

* :data:`FEATURES` -- every extractor by name; adding one is its module and one line here.
* :class:`EmbeddingConfig` -- what every step that embeds holds (``pipelines.embed``, ``train``, ``run``,
  ``evaluate_acted``, the benchmarks): ``features`` (a name, or ``auto``), ``batch_size``, and one field per
  extractor that has options, holding that extractor's own options object (``vgg16``: :class:`VGG16Options`,
  ``whisper``: :class:`WhisperOptions`). The class is generated from :data:`FEATURES`, so an extractor's options
  become command-line flags and TOML keys (``[embed.whisper]``) without any other file naming them.
* :class:`Embedding` -- the configuration resolved, once, at the start of a step (:meth:`EmbeddingConfig.resolve`):
  ``auto`` decided, the extractor's settings resolved (weights found and verified, arithmetic chosen). Everything
  that embeds receives it: the cache, the training, the saved model, the acted evaluation.

``auto`` (the default) is Whisper where it can run (CTranslate2, faster-whisper and the Whisper model are here),
else VGG16, and the resolution says which and why (:attr:`Embedding.note`: the summary, ``metrics.json`` and
``model.json`` carry it), as the text teacher's ``auto`` does.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Mapping

from foundation.config import check_ranges, option
from transfer.features.base import FeatureExtractor, NoOptions
from transfer.features.combined import combination
from transfer.features.egemaps import EGEMAPS
from transfer.features.vgg16 import VGG16
from transfer.features.whisper import WHISPER
from transfer.model_record import LEGACY_FEATURES  # noqa: F401 (what a record without a features entry names)

#: Every extractor by name.
FEATURES: dict[str, FeatureExtractor] = {e.name: e for e in (WHISPER, VGG16, EGEMAPS, combination(VGG16, EGEMAPS))}
#: ``--features auto``: the first of these that can run here.
AUTO = "auto"
AUTO_ORDER = (WHISPER.name, VGG16.name)
#: The default: Whisper where it runs, chosen on the weak-supervision benchmark (docs/features.md).
DEFAULT_FEATURES = AUTO
#: The original method's extractor (the seed's recipe keeps it by name).
ORIGINAL_FEATURES = VGG16.name
#: Clips per forward pass of a network, unless ``--batch-size`` says otherwise.
DEFAULT_BATCH_SIZE = 16


def get_extractor(name: str) -> FeatureExtractor:
    """The extractor ``name``; ValueError naming the known ones otherwise."""
    try:
        return FEATURES[name]
    except KeyError:
        raise ValueError(f"unknown features {name!r}; choose one of {', '.join(FEATURES)}") from None


def _features_help() -> str:
    return ("feature extractor the head reads: 'auto' (whisper where CTranslate2 and the Whisper model are here, else "
            "vgg16, saying so); " + "; ".join(f"'{name}' ({e.description})" for name, e in FEATURES.items()
                                               if not e.components)
            + "; combinations: " + ", ".join(f"'{n}'" for n, e in FEATURES.items() if e.components))


@dataclass(frozen=True)
class Embedding:
    """An embedding configuration resolved on this machine: the extractor and its settings.

    Attributes
    ----------
    features : str
        The extractor's registry name (never ``auto``).
    settings : object
        Its resolved settings (:attr:`FeatureExtractor.resolve`); a combination's: a tuple of its components'.
    batch_size : int
        Clips per forward pass.
    requested : str
        What the configuration asked for (``auto`` or the name).
    note : str
        Why ``auto`` chose this extractor ("" when it was asked for by name).
    """

    features: str
    settings: object
    batch_size: int = DEFAULT_BATCH_SIZE
    requested: str = ""
    note: str = ""

    @property
    def extractor(self) -> FeatureExtractor:
        return get_extractor(self.features)

    @property
    def key(self) -> str:
        """The embedding cache key."""
        return self.extractor.key(self.settings)

    def components(self) -> list["Embedding"]:
        """A combination's components, each with its own settings (a plain extractor: itself)."""
        extractor = self.extractor
        if not extractor.components:
            return [self]
        return [Embedding(name, settings, self.batch_size, name) for name, settings in
                zip(extractor.components, self.settings)]

    def weights_record(self) -> dict | None:
        """The identity of the weights it runs (VGG16's or Whisper's), None for one without weights."""
        return self.extractor.weights_record(self.settings)

    def record(self) -> dict:
        """The ``features`` record of ``metrics.json`` and ``model.json``: the extractor's record and what was asked."""
        return {**self.extractor.record(self.settings), "requested": self.requested or self.features,
                "note": self.note}

    def describe(self) -> str:
        detail = self.extractor.describe(self.settings)
        return f"{self.features} ({detail})" if detail else self.features

    def clip_embedder(self, mel, clip_seconds: float):
        """The extractor for clips decoded elsewhere (:class:`~transfer.features.base.ClipEmbedder`)."""
        return self.extractor.clip_embedder(self.settings, mel, clip_seconds)


def _options_of(config, name: str):
    """The options object ``config`` holds for extractor ``name`` (:class:`NoOptions` for one without)."""
    return getattr(config, name) if get_extractor(name).has_options else NoOptions()


def _resolve_named(config, name: str, note: str = "") -> Embedding:
    extractor = get_extractor(name)
    extractor.check_available()
    if extractor.components:
        settings = tuple(get_extractor(c).resolve(_options_of(config, c)) for c in extractor.components)
    else:
        settings = extractor.resolve(_options_of(config, name))
    return Embedding(name, settings, config.batch_size, config.features, note)


def resolve_embedding(config) -> Embedding:
    """``config`` (an :class:`EmbeddingConfig`) resolved on this machine.

    ``auto`` takes the first extractor of :data:`AUTO_ORDER` that resolves (its packages present, its weights found
    and verified), saying in :attr:`Embedding.note` which it took and why an earlier one could not run; a name asked
    for explicitly that cannot run raises its one-line error (:class:`~transfer.features.ExtractorUnavailable`, the
    weights' or the model's error), naming what to install.
    """
    if config.features != AUTO:
        return _resolve_named(config, config.features)
    reasons = []
    for name in AUTO_ORDER[:-1]:
        try:
            return _resolve_named(config, name, f"auto: {name}, which runs here" +
                                  (f" ({'; '.join(reasons)})" if reasons else ""))
        except Exception as exc:  # noqa: BLE001 - any failure to set it up: the next one, saying why
            reasons.append(f"{name} cannot run here: {' '.join(str(exc).split())}")
    last = AUTO_ORDER[-1]
    return _resolve_named(config, last, f"auto: {last}, because {'; '.join(reasons)}")


def embedding_from_record(record, locations: Mapping[str, str] | None = None,
                          batch_size: int = DEFAULT_BATCH_SIZE) -> Embedding:
    """The embedding a saved model names (a :class:`transfer.model_record.ModelRecord`: its ``features`` and
    ``weights``), its weights found again and checked against the recorded checksums.

    ``locations`` may say where an extractor's weights are (``{"vgg16": "imagenet"}``, ``{"whisper": DIR}``: what
    :func:`weights_locations` gives); everything else is the record's, so a model embeds as it was trained.
    """
    features = record.features
    extractor = get_extractor(features.name)
    extractor.check_available()
    locations = dict(locations or {})
    location = {c: locations[c] for c in extractor.components if c in locations} if extractor.components \
        else locations.get(features.name)
    return Embedding(features.name, extractor.settings_from_record(features.settings, record.weights, location or None),
                     batch_size, features.requested, features.note)


def weights_locations(config) -> dict[str, str]:
    """Where ``config`` (an :class:`EmbeddingConfig`) says the extractors' weights are, for those it sets to other
    than their default (``--weights FILE``, ``--whisper-model DIR``): ``{extractor name: location}``."""
    out = {}
    for name, extractor in FEATURES.items():
        if extractor.location_option:
            options = config.options(name)
            value = getattr(options, extractor.location_option)
            if value != getattr(type(options)(), extractor.location_option):
                out[name] = value
    return out


def _describe_config(config) -> str:
    """The configuration in a few words: the extractor and its options (``auto``: each it may take)."""
    names = AUTO_ORDER if config.features == AUTO else (config.features,)

    def one(name: str) -> str:
        extractor = get_extractor(name)
        if not extractor.components:
            return f"{name} ({config.options(name).describe()})" if extractor.has_options else name
        details = [f"{c}: {config.options(c).describe()}" for c in extractor.components if get_extractor(c).has_options]
        return f"{name} ({'; '.join(details)})" if details else name

    return (f"auto: {', else '.join(one(n) for n in names)}" if config.features == AUTO else one(config.features))


def _embedding_post_init(self) -> None:
    check_ranges(self)
    if self.features != AUTO:
        get_extractor(self.features)


def _updated(config, features: str | None = None, batch_size: int | None = None, **options):
    """``config`` with ``features``/``batch_size`` replaced and, per extractor named in ``options``, the given
    fields of its options replaced: ``config.updated(vgg16={"pooling": "gap"})``."""
    changes = {name: dataclasses.replace(getattr(config, name), **fields) for name, fields in options.items()}
    if features is not None:
        changes["features"] = features
    if batch_size is not None:
        changes["batch_size"] = batch_size
    return dataclasses.replace(config, **changes)


def _embedding_fields() -> list[tuple]:
    fields = [("features", str, option(DEFAULT_FEATURES, choices=(AUTO, *FEATURES), flag="--features",
                                       group="embedding", help=_features_help())),
              ("batch_size", int, option(DEFAULT_BATCH_SIZE, group="embedding", minimum=1,
                                         help="clips per forward pass of a network"))]
    for extractor in FEATURES.values():
        if extractor.has_options:
            fields.append((extractor.name, extractor.options_type,
                           option(default_factory=extractor.options_type, help=f"the {extractor.name} extractor's "
                                                                               "options")))
    return fields


EmbeddingConfig = dataclasses.make_dataclass(
    "EmbeddingConfig", _embedding_fields(), frozen=True,
    namespace={"__post_init__": _embedding_post_init, "resolve": resolve_embedding, "options": _options_of,
               "updated": _updated, "describe": _describe_config,
               "__doc__": """What a step embeds with: the extractor (``features``: a :data:`FEATURES` name or ``auto``),
    the batch size, and one field per extractor that has options, named after it, holding its options object (``vgg16``,
    ``whisper``). Generated from :data:`FEATURES`. :meth:`resolve` gives the :class:`Embedding` this machine runs;
    :meth:`options` the options object of one extractor; :meth:`updated` a copy with some options changed."""})
EmbeddingConfig.__module__ = __name__  # where pickle (Dask) finds it
