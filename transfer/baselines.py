"""Classical baselines on time-averaged log-mel features.

The original project compared its VGG16 transfer model with random forest, k-nearest-neighbour,
logistic-regression and MLP classifiers trained on log-mel spectrograms averaged over time. This module
gives those baselines one interface:

* :func:`mel_summary_features` turns clips of shape ``(n_mels, n_frames)`` into one vector per clip: the
  mean and the standard deviation over time of every mel band, in dB. **Padding frames are excluded**:
  a build pads short clips with silence at -100 dB in every band, and averaging over it (as the original
  did) makes the features depend on clip length rather than on the voice. A frame is padding when its
  maximum over the mel bands is at or below ``silence_db``.
* :data:`BASELINES` maps a name to a factory ``factory(seed) -> estimator`` of an unfitted
  scikit-learn classifier with ``predict_proba``.
* :func:`fit_predict_baseline` fits one on the training split and returns p(positive) for every
  evaluation split.

Only NumPy and scikit-learn are needed; no TensorFlow.
"""
from __future__ import annotations

import math
from typing import Callable, Mapping

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

__all__ = ["BASELINES", "CHUNK_CLIPS", "fit_predict_baseline", "mel_summary_features"]

#: Clips read from the (possibly memory-mapped) log-mel array at a time by :func:`mel_summary_features`.
CHUNK_CLIPS = 256


def mel_summary_features(logmel, silence_db: float = -99.0) -> np.ndarray:
    """Per-clip mean and standard deviation over time of each mel band, ignoring padding frames.

    Parameters
    ----------
    logmel : array-like of shape (n_clips, n_mels, n_frames)
        Log-mel power in dB (any float dtype; a float16 ``np.load(..., mmap_mode="r")`` memmap is read
        :data:`CHUNK_CLIPS` clips at a time, so memory stays bounded by one chunk in float32).
    silence_db : float, default -99.0
        A frame is padding when its maximum over the mel bands is ``<= silence_db`` dB. Builds pad with
        -100 dB in every band; real audio, even digital silence, stays above that after the dB floor.

    Returns
    -------
    ndarray of shape (n_clips, 2 * n_mels), float32
        Columns ``[0, n_mels)`` are the per-band means and ``[n_mels, 2 * n_mels)`` the per-band
        (population) standard deviations, in dB, over the non-padding frames. A clip with no
        non-padding frame gives a row of zeros.

    Raises
    ------
    ValueError
        When ``logmel`` is not three-dimensional or ``silence_db`` is not a finite number.
    """
    if not hasattr(logmel, "shape") or not hasattr(logmel, "dtype"):
        logmel = np.asarray(logmel, dtype=np.float32)
    if len(logmel.shape) != 3:
        raise ValueError(f"logmel must have shape (n_clips, n_mels, n_frames), got shape {tuple(logmel.shape)}")
    silence_db = float(silence_db)
    if not math.isfinite(silence_db):
        raise ValueError(f"silence_db must be a finite number of dB, got {silence_db}")
    n_clips, n_mels, _ = logmel.shape
    out = np.zeros((n_clips, 2 * n_mels), dtype=np.float32)
    for first in range(0, n_clips, CHUNK_CLIPS):
        x = np.asarray(logmel[first:first + CHUNK_CLIPS], dtype=np.float32)  # (c, n_mels, n_frames)
        valid = x.max(axis=1) > silence_db  # (c, n_frames): frames that are not padding
        count = valid.sum(axis=1).astype(np.float32)  # (c,)
        has = count > 0
        denom = np.where(has, count, 1.0)[:, None]  # (c, 1)
        weight = valid[:, None, :]  # (c, 1, n_frames)
        mean = np.where(weight, x, 0.0).sum(axis=2) / denom  # (c, n_mels)
        dev = np.where(weight, x - mean[:, :, None], 0.0)
        std = np.sqrt((dev * dev).sum(axis=2) / denom)
        mean[~has] = 0.0
        std[~has] = 0.0
        out[first:first + x.shape[0], :n_mels] = mean
        out[first:first + x.shape[0], n_mels:] = std
    return out


def _random_forest(seed: int) -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=300, class_weight="balanced", n_jobs=2, random_state=seed)


def _knn(seed: int) -> Pipeline:
    # No randomness; ``seed`` is accepted for a uniform interface. n_neighbors is capped at the number of
    # training examples by fit_predict_baseline.
    return make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=15, weights="distance"))


def _logistic_regression(seed: int) -> Pipeline:
    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000,
                                                              random_state=seed))


def _mlp(seed: int) -> Pipeline:
    return make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(128,), early_stopping=True, alpha=1e-3,
                                                         max_iter=500, random_state=seed))


#: Baseline name -> ``factory(seed)`` returning an unfitted scikit-learn classifier with ``predict_proba``.
BASELINES: dict[str, Callable[[int], ClassifierMixin]] = {
    "random_forest": _random_forest,
    "knn": _knn,
    "logistic_regression": _logistic_regression,
    "mlp": _mlp,
}


def _final_step(estimator):
    return estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator


def _adapt_to_training_size(estimator, y: np.ndarray) -> None:
    """Adjust settings that cannot work on a tiny training set (in place, before fitting).

    * k-NN: ``n_neighbors`` is capped at the number of training examples.
    * MLP: early stopping holds out a stratified ``validation_fraction`` that needs at least two
      examples of each class on both sides; when the training set is too small for that it is off.
    """
    model = _final_step(estimator)
    n = y.shape[0]
    if isinstance(model, KNeighborsClassifier) and model.n_neighbors > n:
        model.set_params(n_neighbors=n)
    if isinstance(model, MLPClassifier) and model.early_stopping:
        n_val = math.ceil(model.validation_fraction * n)
        smallest_class = int(np.bincount(y).min())
        if n_val < 2 or n - n_val < 2 or smallest_class < 2:
            model.set_params(early_stopping=False)


def _as_matrix(x, what: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{what} must be a 2-D array (n_examples, n_features), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{what} contains {int((~np.isfinite(x)).sum())} NaN or infinite value(s)")
    return x


def fit_predict_baseline(name: str, X_train, y_train, X_eval_by_split: Mapping[str, np.ndarray],
                         seed: int = 0) -> dict[str, np.ndarray]:
    """Fit a baseline on the training data and predict p(positive) for every evaluation split.

    Parameters
    ----------
    name : str
        A key of :data:`BASELINES`.
    X_train : array-like of shape (n_train, n_features)
        Training features (e.g. :func:`mel_summary_features`), finite.
    y_train : array-like of shape (n_train,)
        Training labels, 0 or 1; both classes must occur.
    X_eval_by_split : mapping of str to array-like of shape (n_split, n_features)
        Features to score, by split name (e.g. ``{"valid": ..., "test": ...}``); a split may be empty.
    seed : int, default 0
        Passed to the factory (random forest, MLP and logistic regression seeds).

    Returns
    -------
    dict of str to ndarray of shape (n_split,), float64
        Probability of class 1, in [0, 1], for each split, in the order given.

    Raises
    ------
    ValueError
        For an unknown name, mismatched shapes, non-finite features, labels other than 0/1, or training
        labels with a single class.
    """
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; choose one of {sorted(BASELINES)}")
    X = _as_matrix(X_train, "X_train")
    y = np.asarray(y_train)
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(f"y_train must have shape ({X.shape[0]},) to match X_train, got {y.shape}")
    if y.dtype == bool:
        y = y.astype(np.int64)
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"y_train must contain only 0 and 1, found {np.unique(y)[:5].tolist()}")
    y = y.astype(np.int64)
    classes = np.unique(y)
    if classes.shape[0] < 2:
        raise ValueError(f"the training labels hold a single class ({int(classes[0]) if classes.size else 'none'}, "
                         f"n={y.shape[0]}): a classifier needs both positive and negative examples")
    evals = {}
    for split, x_eval in X_eval_by_split.items():
        x_eval = np.asarray(x_eval, dtype=np.float64)
        if x_eval.ndim == 2 and x_eval.shape[0] == 0:
            evals[split] = x_eval
            continue
        x_eval = _as_matrix(x_eval, f"X_eval_by_split[{split!r}]")
        if x_eval.shape[1] != X.shape[1]:
            raise ValueError(f"X_eval_by_split[{split!r}] has {x_eval.shape[1]} features, X_train has {X.shape[1]}")
        evals[split] = x_eval

    estimator = BASELINES[name](seed)
    _adapt_to_training_size(estimator, y)
    estimator.fit(X, y)
    column = int(np.flatnonzero(estimator.classes_ == 1)[0])
    out = {}
    for split, x_eval in evals.items():
        if x_eval.shape[0] == 0:
            out[split] = np.zeros(0, dtype=np.float64)
        else:
            out[split] = np.clip(estimator.predict_proba(x_eval)[:, column].astype(np.float64), 0.0, 1.0)
    return out
