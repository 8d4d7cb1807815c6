"""Fit the ``calibrated`` policy's label model: logistic weights of the scorers against human valence.

The model is deliberately small (four inputs, class-balanced, L2 ``C=1``): it corrects how the lexicons
weigh positive against negative words and how far to trust each scorer, not a corpus's vocabulary.
:func:`out_of_fold_probability` gives honest figures on the data it is fitted to (grouped folds, e.g. by
dialogue, so no conversation is on both sides).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from weaklabel.sentiment import CALIBRATED_MODEL, LabelModel

FEATURES = tuple(CALIBRATED_MODEL.weights)


def _design(scores: pd.DataFrame, valence: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X = scores[list(FEATURES)].to_numpy(dtype=np.float64)
    valence = np.asarray(valence, dtype=np.float64)
    usable = ~np.isnan(valence) & ~np.isnan(X).any(axis=1)
    return X, valence, usable


def _fit(X: np.ndarray, y: np.ndarray, C: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, class_weight="balanced", max_iter=1000).fit(X, y.astype(int))


def fit_label_model(scores: pd.DataFrame, valence: np.ndarray, fitted_on: str, C: float = 1.0) -> LabelModel:
    """Fit on the rows with human positive (1) or negative (0) valence.

    Parameters
    ----------
    scores : DataFrame with the :data:`FEATURES` columns (from :func:`weaklabel.label_quality.score_texts`)
    valence : array (n,): 1.0, 0.0, or NaN (neutral/missing rows are ignored)
    """
    X, y, usable = _design(scores, valence)
    model = _fit(X[usable], y[usable], C)
    weights = {name: round(float(w), 4) for name, w in zip(FEATURES, model.coef_[0])}
    return LabelModel(weights=weights, intercept=round(float(model.intercept_[0]), 4), fitted_on=fitted_on)


def out_of_fold_probability(scores: pd.DataFrame, valence: np.ndarray, groups: np.ndarray, n_folds: int = 5,
                            C: float = 1.0) -> np.ndarray:
    """p(positive) for every row (neutral rows included) from a model that never saw the row's group.

    Returns
    -------
    ndarray (n,) float64 in [0, 1]; NaN for rows without scores.
    """
    from sklearn.model_selection import GroupKFold

    X, y, usable = _design(scores, valence)
    scored = ~np.isnan(X).any(axis=1)
    p = np.full(len(X), np.nan)
    groups = np.asarray(groups)
    for train, test in GroupKFold(n_splits=n_folds).split(X, groups=groups):
        train = train[usable[train]]
        test = test[scored[test]]
        p[test] = _fit(X[train], y[train], C).predict_proba(X[test])[:, 1]
    return p
