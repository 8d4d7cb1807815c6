"""Per-speaker (or per-recording) standardisation of embeddings, a standard step in speech emotion recognition.

Voices differ far more between speakers than one speaker's voice differs between emotions. Subtracting each
speaker's mean embedding and dividing by their spread removes who is speaking and keeps how they speak
relative to themselves; it needs no labels, so a held-out speaker (or a new recording at prediction time)
is standardised by its own statistics.

A group with fewer than :data:`MIN_GROUP_CLIPS` clips has too few to estimate its own statistics: it is
standardised with the training set's overall mean and its pooled within-group spread instead (the
"fallback"), which keeps the scale the model was trained on but not the speaker correction.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

STANDARDISATIONS = ("group", "none")
DEFAULT_STANDARDISATION = "group"
#: Clips a group needs for its own mean and spread (at prediction time: windows of one recording).
MIN_GROUP_CLIPS = 8
#: Columns of a group's embeddings whose statistics :meth:`GroupStandardiser.group_scaling` computes together.
STAT_COLUMNS = 64
_EPS = 1e-6


def _groups_array(groups, n: int) -> np.ndarray:
    groups = np.asarray(groups if groups is not None else np.zeros(n, dtype=int)).astype(str)
    if groups.shape != (n,):
        raise ValueError(f"need one group per clip: {n} clips, groups of shape {groups.shape}")
    return groups


@dataclass
class GroupStandardiser:
    """Standardise embeddings ``(n, dim)`` per group; small groups use the fitted fallback statistics.

    Attributes
    ----------
    mode : ``"group"`` or ``"none"`` (identity)
    min_clips : groups smaller than this use the fallback
    mean, scale : arrays (dim,), the fallback: the training clips' mean and pooled within-group spread
    """

    mode: str = DEFAULT_STANDARDISATION
    min_clips: int = MIN_GROUP_CLIPS
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None

    def __post_init__(self):
        if self.mode not in STANDARDISATIONS:
            raise ValueError(f"unknown standardisation {self.mode!r}; choose one of {', '.join(STANDARDISATIONS)}")

    def fit(self, X: np.ndarray, groups) -> "GroupStandardiser":
        """Fit the fallback statistics on training embeddings ``X`` (n, dim) and their groups (n,)."""
        X = np.asarray(X, dtype=np.float64)
        groups = _groups_array(groups, len(X))
        self.mean = X.mean(axis=0)
        residual = np.empty_like(X)
        for g in np.unique(groups):
            rows = groups == g
            residual[rows] = X[rows] - X[rows].mean(axis=0)
        self.scale = np.sqrt((residual ** 2).mean(axis=0)) + _EPS
        return self

    def transform(self, X: np.ndarray, groups) -> np.ndarray:
        """Standardised ``(n, dim)`` float32: each group by its own statistics, small groups by the fallback."""
        X = np.asarray(X, dtype=np.float64)
        if self.mode == "none":
            return X.astype(np.float32)
        if self.mean is None:
            raise ValueError("fit the standardiser before transforming")
        groups = _groups_array(groups, len(X))
        out = np.empty_like(X)
        for g in np.unique(groups):
            rows = groups == g
            block = X[rows]
            mean, divisor = self.group_scaling([block])
            out[rows] = (block - mean) / divisor
        return out.astype(np.float32)

    def group_scaling(self, blocks: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, divisor)``, each ``(dim,)`` float64, that standardise one group's clips: ``(x - mean) / divisor``.

        ``blocks`` are the group's raw embeddings as row blocks, ``(n_i, dim)`` each (one per file of a speaker,
        say), in order. A group of at least ``min_clips`` clips gets its own mean and std (+ eps), a smaller one
        the fallback; ``mode="none"`` gives zeros and ones. The statistics are computed :data:`STAT_COLUMNS`
        columns at a time, so the float64 copy held is ``(n, STAT_COLUMNS)``, not ``(n, dim)``; each column's
        mean and std are the same numbers as over the whole array (a reduction over rows adds row after row).
        """
        dim = blocks[0].shape[1] if blocks else 0
        if self.mode == "none":
            return np.zeros(dim), np.ones(dim)
        if self.mean is None:
            raise ValueError("fit the standardiser before transforming")
        if sum(len(block) for block in blocks) < self.min_clips:
            return self.mean, self.scale
        mean, divisor = np.empty(dim), np.empty(dim)
        for first in range(0, dim, STAT_COLUMNS):
            columns = slice(first, first + STAT_COLUMNS)
            part = np.concatenate([np.asarray(block[:, columns], dtype=np.float64) for block in blocks])
            mean[columns], divisor[columns] = part.mean(axis=0), part.std(axis=0) + _EPS
        return mean, divisor

    def fit_transform(self, X: np.ndarray, groups) -> np.ndarray:
        return self.fit(X, groups).transform(X, groups)

    def to_dict(self) -> dict:
        return {"mode": self.mode, "min_clips": self.min_clips,
                "mean": None if self.mean is None else self.mean.astype(float).tolist(),
                "scale": None if self.scale is None else self.scale.astype(float).tolist()}

    @classmethod
    def from_dict(cls, data: dict | None) -> "GroupStandardiser":
        """The inverse of :meth:`to_dict`; ``None`` (a model saved before standardisation) is the identity."""
        if not data:
            return cls(mode="none")
        as_array = lambda v: None if v is None else np.asarray(v, dtype=np.float64)  # noqa: E731
        return cls(mode=data["mode"], min_clips=int(data["min_clips"]), mean=as_array(data.get("mean")),
                   scale=as_array(data.get("scale")))
