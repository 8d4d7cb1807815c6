"""Linear probes of frozen features with grouped cross-validation (no speaker on both sides)."""
from __future__ import annotations

import numpy as np

from transfer.baselines import fit_predict_baseline


def grouped_probe_predictions(X: np.ndarray, y: np.ndarray, groups: np.ndarray, model: str = "logistic_regression",
                              n_folds: int | None = None, seed: int = 0) -> np.ndarray:
    """Out-of-fold p(positive) from leave-groups-out cross-validation.

    Parameters
    ----------
    X : array (n, dim); y : array (n,) of 0/1; groups : array (n,) of speaker ids
    n_folds : int, optional
        Number of folds (default: one per group, i.e. leave-one-speaker-out).

    Returns
    -------
    ndarray (n,): each example scored by a model that never saw its speaker.
    """
    from sklearn.model_selection import GroupKFold

    groups = np.asarray(groups)
    n_groups = len(np.unique(groups))
    if n_groups < 2:
        raise ValueError("a grouped probe needs at least two speakers")
    folds = GroupKFold(n_splits=min(n_folds or n_groups, n_groups))
    p = np.full(len(y), np.nan)
    for train, test in folds.split(X, y, groups):
        p[test] = fit_predict_baseline(model, X[train], y[train], {"test": X[test]}, seed=seed)["test"]
    return p
