"""Speaker-disjoint probes on an acted corpus's clips, and the metrics of any clip scores.

* :func:`select_clips`: the clips with a positive or negative valence, labelled ``y``;
* :func:`speaker_folds`, :func:`describe_folds`: cross-validation folds grouped by speaker (no speaker on both
  sides of a fold);
* :func:`logistic_probe_predictions`, :func:`dense_probe_predictions`: out-of-fold p(positive) of a head trained on
  the corpus's own labels;
* :func:`evaluate_scores`, :func:`breakdown_metrics`, :func:`fold_metrics`: ROC AUC with a cluster bootstrap
  interval over speakers and a verdict, overall, per speaker, gender, intensity and fold;
  :func:`inversion_warning` words an inverted ranking.

:mod:`evaluation.acted` runs them on a corpus's embeddings.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from foundation.metrics import INVERTED_TEXT, auc_verdict, binary_metrics
from transfer.head import HeadConfig

#: The probe heads: the product's default (per-speaker standardisation, class-balanced logistic regression) and the
#: dense head.
PROBE_HEADS = ("logistic_regression", "dense")
#: Columns of a clip table that the metrics are broken down by, where present.
BREAKDOWNS = ("speaker", "gender", "intensity")


def select_clips(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows to score: no error, valence positive or negative; adds ``y`` (1 positive, 0 negative).

    Returns
    -------
    DataFrame, a copy with a fresh index, shape (n_usable, n_columns + 1).
    """
    usable = frame["error"].isna() & frame["valence"].isin(["positive", "negative"])
    clips = frame[usable].reset_index(drop=True).copy()
    clips["y"] = (clips["valence"] == "positive").astype(int)
    return clips


def speaker_folds(speakers, n_folds: int | None = None) -> np.ndarray:
    """Assign every clip to a fold so that no speaker is in two folds.

    Parameters
    ----------
    speakers : array-like of shape (n,)
        Speaker id of each clip; None/NaN is not allowed (a speaker-disjoint split needs them all).
    n_folds : int, optional
        Number of folds (``GroupKFold``, at most the number of speakers); default one per speaker
        (leave-one-speaker-out).

    Returns
    -------
    ndarray of shape (n,), int64: the fold (0-based) whose test side holds each clip.

    Raises
    ------
    ValueError
        When a clip has no speaker, there are fewer than two speakers, or ``n_folds`` < 2.
    """
    from sklearn.model_selection import GroupKFold

    speakers = pd.Series(speakers, dtype=object)
    if speakers.isna().any():
        raise ValueError(f"{int(speakers.isna().sum())} of {len(speakers)} clips have no speaker: a probe needs a "
                         "speaker for every clip to keep speakers out of their own training data (this corpus "
                         "layout names none; use --mode zero-shot)")
    groups = speakers.astype(str).to_numpy()
    n_groups = len(np.unique(groups))
    if n_groups < 2:
        raise ValueError(f"a speaker-disjoint probe needs at least two speakers, the corpus has {n_groups}")
    if n_folds is not None and n_folds < 2:
        raise ValueError(f"--folds must be at least 2, got {n_folds}")
    splitter = GroupKFold(n_splits=min(n_folds or n_groups, n_groups))
    folds = np.full(len(groups), -1, dtype=np.int64)
    for k, (_, test) in enumerate(splitter.split(np.zeros(len(groups)), groups=groups)):
        folds[test] = k
    return folds


def describe_folds(speakers, folds: np.ndarray, y: np.ndarray) -> list[dict]:
    """One record per fold: ``fold``, ``test_speakers``, ``train_speakers``, ``n_test``, ``n_test_positive``.

    Raises
    ------
    AssertionError
        If a speaker were on both sides of a fold (impossible by construction; checked anyway).
    """
    speakers = np.asarray(pd.Series(speakers, dtype=object).astype(str))
    out = []
    for k in np.unique(folds):
        test = folds == k
        test_speakers, train_speakers = sorted(set(speakers[test])), sorted(set(speakers[~test]))
        assert not set(test_speakers) & set(train_speakers), "a speaker is on both sides of a fold"
        out.append({"fold": int(k), "test_speakers": test_speakers, "train_speakers": train_speakers,
                    "n_test": int(test.sum()), "n_test_positive": int(y[test].sum())})
    return out


def _check_training_classes(y_train: np.ndarray, k: int) -> None:
    if len(np.unique(y_train)) < 2:
        raise ValueError(f"probe fold {k}: the training speakers' clips hold a single valence class; "
                         "use fewer folds (--folds) or a corpus with both classes per speaker group")


def logistic_probe_predictions(X: np.ndarray, y: np.ndarray, folds: np.ndarray, seed: int = 0,
                               speakers=None, column_scale: np.ndarray | None = None) -> np.ndarray:
    """Out-of-fold p(positive) of the product's default head on the corpus's own labels.

    Embeddings standardised per speaker (:class:`transfer.standardise.GroupStandardiser`: a held-out speaker
    by its own clips, which needs no labels) and the class-balanced logistic head of :mod:`transfer.head`
    with its default regularisation, as ``pipelines.train`` trains it.

    Parameters
    ----------
    X : ndarray (n, dim) embeddings; y : ndarray (n,) of 0/1; folds : ndarray (n,) from :func:`speaker_folds`.
    speakers : array (n,), optional: each clip's speaker (default: one group, i.e. global standardisation).
    column_scale : array (dim,), optional: a combination's block factors (:func:`transfer.features.block_scale`).

    Returns
    -------
    ndarray (n,), float64 in [0, 1]: each clip scored by a model trained on the other folds only.
    """
    from transfer.head import predict_head, train_logistic_head
    from transfer.standardise import GroupStandardiser

    groups = np.zeros(len(y), dtype=int) if speakers is None else np.asarray(speakers).astype(str)
    p = np.full(len(y), np.nan)
    for k in np.unique(folds):
        test = folds == k
        _check_training_classes(y[~test], int(k))
        standardiser = GroupStandardiser().fit(X[~test], groups[~test])
        Z = standardiser.transform(X, groups)
        head, _ = train_logistic_head(Z[~test], y[~test], seed=seed, column_scale=column_scale)
        p[test] = predict_head(head, Z[test])
    return p


def dense_probe_predictions(X: np.ndarray, y: np.ndarray, folds: np.ndarray, speakers,
                            config: HeadConfig = HeadConfig(), seed: int = 0) -> np.ndarray:
    """Out-of-fold p(positive) of the dense head (:func:`transfer.head.train_dense_head`).

    Early stopping watches one training speaker held out of each fold's training side (chosen with
    ``seed``) when there are at least three training speakers and the rest keep both classes; otherwise a
    stratified random quarter of the training clips (with under four clips of a class, the whole training
    side trains and the training loss stops it). The test fold is never seen.

    Parameters
    ----------
    X : ndarray (n, dim); y : ndarray (n,) of 0/1; folds : ndarray (n,); speakers : array-like (n,)

    Returns
    -------
    ndarray (n,), float64 in [0, 1].
    """
    from transfer.head import predict_head, train_dense_head

    speakers = np.asarray(pd.Series(speakers, dtype=object).astype(str))
    p = np.full(len(y), np.nan)
    for k in np.unique(folds):
        test = folds == k
        train = ~test
        _check_training_classes(y[train], int(k))
        rng = np.random.default_rng([seed, int(k)])
        fit, val = train, np.zeros_like(train)
        train_speakers = np.unique(speakers[train])
        candidate_val = None
        if len(train_speakers) >= 3:
            candidate_val = train & (speakers == rng.choice(train_speakers))
        if candidate_val is None or len(np.unique(y[train & ~candidate_val])) < 2:
            # Too few speakers to hold one out: a stratified quarter of the training clips stops the training
            # (the test speakers stay unseen either way).
            candidate_val = np.zeros_like(train)
            for label in (0, 1):
                idx = np.flatnonzero(train & (y == label))
                candidate_val[rng.choice(idx, size=len(idx) // 4, replace=False)] = True
        if len(np.unique(y[train & ~candidate_val])) == 2 and candidate_val.any():
            fit, val = train & ~candidate_val, candidate_val
        model, _ = train_dense_head(X[fit], y[fit], X[val], y[val], config=config, seed=seed)
        p[test] = predict_head(model, X[test])
    return np.clip(p, 0.0, 1.0)


def _compact(metrics: dict) -> dict:
    """binary_metrics with its ROC curve kept under ``roc_points`` (the same values)."""
    out = dict(metrics)
    out["roc_points"] = out.pop("roc")
    return out


def speaker_groups(speakers) -> np.ndarray | None:
    """The bootstrap clusters of a set of clips: their speakers, when every clip names one.

    Parameters
    ----------
    speakers : array-like of shape (n,), None/NaN where unknown

    Returns
    -------
    ndarray of shape (n,) of str, or None when a clip has no speaker or fewer than two speakers are present
    (then the interval resamples clips, and the metrics say ``ci_resampling: "examples"``).
    """
    speakers = pd.Series(speakers, dtype=object)
    if speakers.empty or speakers.isna().any():
        return None
    values = speakers.astype(str).to_numpy()
    return values if len(np.unique(values)) >= 2 else None


def auc_metrics(y: np.ndarray, p: np.ndarray, n_bootstrap: int, seed: int, groups=None) -> dict:
    """binary_metrics with a cluster bootstrap over ``groups`` when it has two or more, and a ``verdict``."""
    if groups is not None and len(np.unique(groups)) < 2:
        groups = None
    m = binary_metrics(y, p, n_bootstrap=n_bootstrap, seed=seed, groups=groups)
    m["verdict"] = auc_verdict(m)
    return m


def breakdown_metrics(y: np.ndarray, p: np.ndarray, keys, n_bootstrap: int = 1000, seed: int = 0,
                      groups=None) -> list[dict]:
    """ROC AUC (with interval) per value of ``keys``, e.g. per speaker, gender or intensity.

    Parameters
    ----------
    y : ndarray (n,) of 0/1; p : ndarray (n,) p(positive); keys : array-like (n,), None/NaN rows are skipped
    groups : ndarray (n,), optional
        Bootstrap clusters (speakers): a group of clips from two or more speakers resamples speakers, a
        group of one speaker resamples its clips.

    Returns
    -------
    list of dict, sorted by group: ``group`` plus the :func:`foundation.metrics.binary_metrics` values
    (``n``, ``n_positive``, ``positive_share``, ``roc_auc`` (None for a single-class group),
    ``roc_auc_ci95``, ``ci_resampling``, ...) without the ROC curve, and ``verdict``
    (:func:`foundation.metrics.auc_verdict`).
    """
    keys = pd.Series(keys, dtype=object)
    out = []
    for value in sorted(keys.dropna().astype(str).unique()):
        mask = (keys.astype(str) == value).to_numpy() & keys.notna().to_numpy()
        m = auc_metrics(y[mask], p[mask], n_bootstrap, seed, None if groups is None else np.asarray(groups)[mask])
        m.pop("roc")
        out.append({"group": value, **m})
    return out


def evaluate_scores(clips: pd.DataFrame, p: np.ndarray, n_bootstrap: int = 1000, seed: int = 0) -> dict:
    """Overall metrics and breakdowns by speaker, gender and intensity (where the column is non-null).

    Intervals that pool speakers resample whole speakers (:func:`speaker_groups`); a speaker's own
    interval resamples its clips.

    Parameters
    ----------
    clips : DataFrame from :func:`select_clips` (n rows, column ``y``, optional ``speaker``); p : ndarray (n,)

    Returns
    -------
    dict: ``overall`` (binary_metrics with ``roc_points`` and ``verdict``) and ``by_<column>`` lists (or
    absent).
    """
    y = clips["y"].to_numpy()
    groups = speaker_groups(clips["speaker"]) if "speaker" in clips else None
    result = {"overall": _compact(auc_metrics(y, p, n_bootstrap, seed, groups))}
    for column in BREAKDOWNS:
        if column in clips and clips[column].notna().any():
            result[f"by_{column}"] = breakdown_metrics(y, p, clips[column], n_bootstrap, seed,
                                                       None if column == "speaker" else groups)
    return result


def inversion_warning(what: str, result: dict) -> str | None:
    """A sentence for a result whose overall AUC is inverted, listing the per-speaker AUCs; else None.

    Parameters
    ----------
    what : str
        Names the figure, e.g. ``"Zero-shot"``.
    result : dict
        From :func:`evaluate_scores` (``overall``, optional ``by_speaker``).
    """
    overall = result["overall"]
    if overall.get("verdict") != "inverted":
        return None
    lo, hi = overall["roc_auc_ci95"]
    text = (f"{what} ROC AUC {overall['roc_auc']:.3f} [{lo:.3f}, {hi:.3f}], wholly below 0.5: {INVERTED_TEXT}. "
            "This is not a usable result on this corpus.")
    speakers = result.get("by_speaker") or []
    if speakers:
        parts = [f"{g['group']} " + ("n/a" if g["roc_auc"] is None else f"{g['roc_auc']:.3f}")
                 + (" (inverted)" if g.get("verdict") == "inverted" else "") for g in speakers]
        n_below = sum(1 for g in speakers if g["roc_auc"] is not None and g["roc_auc"] < 0.5)
        text += (f" Per speaker ({n_below} of {len(speakers)} below 0.5): " + ", ".join(parts) + ".")
    return text


def fold_metrics(y: np.ndarray, p: np.ndarray, folds: np.ndarray, fold_info: list[dict], speakers,
                 n_bootstrap: int = 1000, seed: int = 0) -> list[dict]:
    """The metrics of each fold's test clips.

    Parameters
    ----------
    y : ndarray (n,) of 0/1; p : ndarray (n,) out-of-fold p(positive); folds : ndarray (n,) from
    :func:`speaker_folds`; fold_info : list from :func:`describe_folds`; speakers : pandas Series (n,)

    Returns
    -------
    list of dict, one per fold of ``fold_info``: ``fold``, ``test_speakers`` and the
    :func:`foundation.metrics.binary_metrics` values without the ROC curve, with ``verdict``.
    """
    per_fold = []
    for info in fold_info:
        mask = folds == info["fold"]
        m = auc_metrics(y[mask], p[mask], n_bootstrap, seed, speaker_groups(speakers[mask]))
        m.pop("roc")
        per_fold.append({"fold": info["fold"], "test_speakers": info["test_speakers"], **m})
    return per_fold
