"""``build.json``, typed: what a finished build records about itself, written last (the completion mark).

:class:`BuildRecord` holds each field once: the clip length, the log-mel parameters and the policy's fallback live in
the configuration (:class:`~weaklabel.config.BuildConfig`), nowhere else. :meth:`BuildRecord.from_dict` is the one
reader of every format this tool has written (1 to :data:`~weaklabel.config.FORMAT_VERSION`); what an older format
lacks is decided there, once. :meth:`BuildRecord.to_dict` writes the current format, every key present (absent never
means a value).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from foundation.records import is_integer, read_json, record_version_problem
from weaklabel.config import FORMAT_VERSION, BuildConfig
from weaklabel.layout import BUILD_FILE, FEATURES_FILE


@dataclass(frozen=True)
class SplitCounts:
    """One split's counts: segments, ``ok`` clips, their weak labels, and split groups."""

    segments: int
    ok: int
    positive: int
    negative: int
    groups: int

    def to_dict(self) -> dict:
        return {"segments": self.segments, "ok": self.ok, "positive": self.positive, "negative": self.negative,
                "groups": self.groups}

    @classmethod
    def from_dict(cls, data: Mapping) -> "SplitCounts":
        return cls(**{key: int(data.get(key, 0)) for key in ("segments", "ok", "positive", "negative", "groups")})


@dataclass(frozen=True)
class BuildCounts:
    """A build's counts (:func:`weaklabel.labelling.count_build`): segments by status, weak labels over ``ok``
    clips, splits, and the languages the language scorer guessed.

    Attributes
    ----------
    by_status : {status: segments}, sorted by status
    positive_share : positive / ok clips, 6 decimals; None without ``ok`` clips
    by_split : {split: SplitCounts}; ``unassigned`` holds segments no ``--folds`` entry names
    by_language : {language code: segments with text}, most frequent first; empty where no language was scored
    abstained_not_read : segments whose policy does not read their language
    """

    segments: int
    recordings: int
    groups: int
    ok: int
    abstained: int
    failed: int
    by_status: Mapping[str, int]
    positive: int
    negative: int
    positive_share: float | None
    by_split: Mapping[str, SplitCounts]
    start_clamped: int
    by_language: Mapping[str, int] = field(default_factory=dict)
    abstained_not_read: int = 0

    @property
    def labelled(self) -> int:
        """``ok`` clips with a weak label (positive + negative)."""
        return self.positive + self.negative

    def to_dict(self) -> dict:
        return {"segments": self.segments, "recordings": self.recordings, "groups": self.groups, "ok": self.ok,
                "abstained": self.abstained, "failed": self.failed, "by_status": dict(self.by_status),
                "by_label": {"positive": self.positive, "negative": self.negative},
                "positive_share": self.positive_share,
                "by_split": {name: split.to_dict() for name, split in self.by_split.items()},
                "start_clamped": self.start_clamped,
                "languages": {"by_language": dict(self.by_language), "abstained_not_read": self.abstained_not_read}}

    @classmethod
    def from_dict(cls, data: Mapping) -> "BuildCounts":
        """Counts as any format wrote them (``recordings``, ``start_clamped`` and ``languages`` came later: 0 and
        none where absent; ``languages`` was ``{}`` where no language was scored)."""
        labels = data.get("by_label") or {}
        languages = data.get("languages") or {}
        return cls(segments=int(data["segments"]), recordings=int(data.get("recordings", 0)),
                   groups=int(data.get("groups", 0)), ok=int(data.get("ok", 0)),
                   abstained=int(data.get("abstained", 0)), failed=int(data.get("failed", 0)),
                   by_status={str(k): int(v) for k, v in (data.get("by_status") or {}).items()},
                   positive=int(labels.get("positive", 0)), negative=int(labels.get("negative", 0)),
                   positive_share=data.get("positive_share"),
                   by_split={str(k): SplitCounts.from_dict(v) for k, v in (data.get("by_split") or {}).items()},
                   start_clamped=int(data.get("start_clamped", 0)),
                   by_language={str(k): int(v) for k, v in (languages.get("by_language") or {}).items()},
                   abstained_not_read=int(languages.get("abstained_not_read", 0)))


@dataclass(frozen=True)
class FeaturesRecord:
    """The features file: ``file`` (:data:`~weaklabel.layout.FEATURES_FILE`), ``shape`` (clips, mel bands, frames),
    ``dtype``, its SHA-256 at the merge (None: recorded before builds hashed it), what a row's values are
    (``units``) and how segments find their row (``key``). Its log-mel parameters and clip length are the
    configuration's."""

    shape: tuple[int, int, int]
    dtype: str
    sha256: str | None
    file: str = FEATURES_FILE
    units: str = "dB re 1.0 power"
    key: str = "segments.parquet column feature_row (row index); null for failed segments"

    def to_dict(self) -> dict:
        return {"file": self.file, "shape": list(self.shape), "dtype": self.dtype, "units": self.units,
                "sha256": self.sha256, "key": self.key}

    @classmethod
    def from_dict(cls, data: Mapping) -> "FeaturesRecord":
        return cls(shape=tuple(int(n) for n in data["shape"]), dtype=str(data["dtype"]), sha256=data.get("sha256"),
                   file=data.get("file", FEATURES_FILE), units=data.get("units", cls.units),
                   key=data.get("key", cls.key))


@dataclass(frozen=True)
class UnitRecord:
    """What one work unit (an audio file and its segments) was made from, in output order: its path relative to the
    corpus root, its segments' digest, its rows and feature rows, and the audio file's size, modification time
    (ns) and SHA-256 (None each when there was no file)."""

    unit: str
    segments: str | None
    rows: int
    features: int
    size: int | None = None
    mtime_ns: int | None = None
    sha256: str | None = None

    @property
    def audio(self) -> dict:
        """The audio file's identity: ``{size, mtime_ns, sha256}``."""
        return {"size": self.size, "mtime_ns": self.mtime_ns, "sha256": self.sha256}

    def to_dict(self) -> dict:
        return {"unit": self.unit, "segments": self.segments, "rows": self.rows, "features": self.features,
                **self.audio}

    @classmethod
    def from_dict(cls, data: Mapping) -> "UnitRecord":
        return cls(unit=str(data["unit"]), segments=data.get("segments"), rows=int(data.get("rows", 0)),
                   features=int(data.get("features", 0)), size=data.get("size"), mtime_ns=data.get("mtime_ns"),
                   sha256=data.get("sha256"))


@dataclass(frozen=True)
class BuildRecord:
    """``build.json``: the build's identity (``fingerprint``: configuration and corpus content), its resolved
    configuration, counts, features file, the columns of ``segments.parquet`` with their descriptions, the scorers
    that ran (their records), the work units, the library versions, and the format it was read from."""

    fingerprint: str
    config: BuildConfig
    counts: BuildCounts
    features: FeaturesRecord
    columns: Mapping[str, str]
    scorers: Mapping[str, dict]
    units: tuple[UnitRecord, ...]
    versions: Mapping[str, str]
    #: ``{dataset, fingerprint}`` of the build this one was re-labelled from (:func:`weaklabel.relabel_dataset`
    #: into another folder); None for a build made from its corpus.
    relabelled_from: Mapping | None = None
    format_version: int = FORMAT_VERSION
    #: The configuration as recorded (its digests and scorer versions included): what fingerprints are made of.
    config_record: Mapping = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict:
        """The current format (:data:`~weaklabel.config.FORMAT_VERSION`)."""
        return {"format_version": FORMAT_VERSION, "fingerprint": self.fingerprint,
                "config": dict(self.config_record) or self.config.to_dict(), "counts": self.counts.to_dict(),
                "features": self.features.to_dict(), "columns": dict(self.columns), "scorers": dict(self.scorers),
                "units": [unit.to_dict() for unit in self.units], "versions": dict(self.versions),
                "relabelled_from": None if self.relabelled_from is None else dict(self.relabelled_from)}

    @classmethod
    def from_dict(cls, data: Mapping) -> "BuildRecord":
        """A record of any format this tool wrote (ValueError, saying why, for anything else:
        :func:`build_record_problem`). Format 4 kept the policy's fallback beside the configuration and the clip
        length and log-mel parameters in ``features`` too: the configuration's copies are the ones read."""
        problem = build_record_problem(data)
        if problem is not None:
            raise ValueError(problem)
        recorded = dict(data["config"])
        if "policy_fallback" not in recorded and data.get("policy_fallback"):
            recorded["policy_fallback"] = data["policy_fallback"]
        return cls(fingerprint=data["fingerprint"], config=BuildConfig.from_record(recorded),
                   counts=BuildCounts.from_dict(data["counts"]), features=FeaturesRecord.from_dict(data["features"]),
                   columns=dict(data.get("columns") or {}), scorers=dict(data.get("scorers") or {}),
                   units=tuple(UnitRecord.from_dict(unit) for unit in data.get("units") or ()),
                   versions=dict(data.get("versions") or {}), relabelled_from=data.get("relabelled_from"),
                   format_version=int(data["format_version"]),
                   config_record=recorded)


def read_build_record(folder: str | Path) -> BuildRecord:
    """The ``build.json`` in ``folder`` (OSError where it cannot be read; ValueError where it is not a record of a
    format this code reads, saying why)."""
    return BuildRecord.from_dict(read_json(Path(folder) / BUILD_FILE))


def recorded_root(folder: str | Path) -> str | None:
    """The corpus root the ``build.json`` in ``folder`` names, read even where the rest of the record is not one
    this code reads (what a message suggesting a rebuild needs); None where it names none or cannot be read."""
    try:
        data = json.loads((Path(folder) / BUILD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    config = data.get("config") if isinstance(data, dict) else None
    root = config.get("root") if isinstance(config, dict) else None
    return root if isinstance(root, str) else None


def build_record_problem(record) -> str | None:
    """What makes a ``build.json`` record unreadable by this code, in words, or None: a JSON object whose
    ``format_version`` is an integer no newer than :data:`~weaklabel.config.FORMAT_VERSION`, whose ``fingerprint``
    is a string, ``config`` and ``counts`` objects (``counts.segments`` an integer), and whose ``features`` names
    :data:`~weaklabel.layout.FEATURES_FILE` with its ``shape`` (integers) and ``dtype``."""
    problem = record_version_problem(record, BUILD_FILE, FORMAT_VERSION)
    if problem is not None:
        return problem
    for key, kind, name in (("fingerprint", str, "a string"), ("config", dict, "an object"),
                            ("counts", dict, "an object"), ("features", dict, "an object")):
        if not isinstance(record.get(key), kind):
            return f"{BUILD_FILE}'s {key} is {record.get(key)!r}, not {name}"
    if not is_integer(record["counts"].get("segments")):
        return f"{BUILD_FILE}'s counts.segments is {record['counts'].get('segments')!r}, not a count"
    features = record["features"]
    if features.get("file") != FEATURES_FILE:
        return f"{BUILD_FILE}'s features.file is {features.get('file')!r}; a build writes {FEATURES_FILE!r}"
    shape = features.get("shape")
    if not isinstance(shape, list) or len(shape) != 3 or not all(is_integer(n) and n >= 0 for n in shape):
        return f"{BUILD_FILE}'s features.shape is {shape!r}, not three sizes (clips, mel bands, frames)"
    if not isinstance(features.get("dtype"), str):
        return f"{BUILD_FILE}'s features.dtype is {features.get('dtype')!r}, not a dtype's name"
    return None
