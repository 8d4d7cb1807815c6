"""Binary classification metrics for a valence classifier, as plain JSON-serialisable values.

:func:`binary_metrics` reports ROC AUC with a percentile-bootstrap 95 % interval, accuracy, balanced
accuracy and F1 at a threshold, and a thinned ROC curve. Everything it returns is a Python ``int``,
``float``, ``list``, ``str`` or ``None``, so the result can go straight into ``json.dump``.

The bootstrap is vectorised: every resample is represented by its per-example counts, and the AUC of a
batch of resamples is computed at once from the Mann-Whitney statistic over the distinct score values
(ties count one half), so 1,000 resamples of 5,000 examples take a fraction of a second. Resamples that
contain a single class have no AUC and are skipped. The resampling is drawn from
``numpy.random.default_rng(seed)``, so identical inputs and seed give identical output.

**Cluster bootstrap.** Clips of one speaker (or video) are not independent: they share a voice, a
microphone and often a label. With ``groups`` (one id per example), each resample draws whole groups with
replacement and every example counts as many times as its group was drawn, so the interval reflects how
much the AUC varies between speakers, not only between clips. The result records which was used
(``ci_resampling``: ``"groups"`` or ``"examples"``) and ``n_groups``.

:func:`auc_verdict` reads an AUC and its interval as ``"above chance"``, ``"chance"`` or ``"inverted"``
(the interval lies wholly below 0.5: the model ranks the negative class above the positive one), so no
report prints an inverted ranking as if it were an ordinary result.

**Not a result.** An AUC from a handful of clips, or from clips of a single speaker, measures nothing: on 2 test
clips it is 1.000 or 0.000 by chance. Below :data:`MIN_CLIPS_PER_CLASS` clips of either class, or fewer than
:data:`MIN_GROUPS` groups when groups are given, :func:`not_a_result` says so in words (``"not a result (n = 2,
1 group)"``), and :func:`binary_metrics` records it as ``not_a_result``, so that reports and consoles print that
instead of a headline figure. Ten of a class: at ten of each, the AUC's standard error at chance (Hanley and
McNeil) is already 0.13, a 95 % interval of about ±0.26, and fewer clips cannot tell a model from chance; two
groups: with one, a cluster bootstrap has nothing to resample and the figure is that of one speaker (or
recording), not of the method.

No TensorFlow here: this module only needs NumPy and scikit-learn.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import roc_curve

from foundation.tables import counted

__all__ = ["AUC_VERDICTS", "DECISION_THRESHOLD", "INVERTED_TEXT", "MIN_CLIPS_PER_CLASS", "MIN_GROUPS", "auc_verdict",
           "binary_metrics", "not_a_result", "roc_auc_from_counts"]

# At most this many count cells (resamples x examples) are held at once in the bootstrap.
_BOOTSTRAP_CELLS = 4_000_000

#: A probability of the positive class at or above this is a positive prediction (accuracy, F1, predicted labels).
DECISION_THRESHOLD = 0.5
#: The fewest clips of each class, and groups (speakers, recordings) when groups are given, that a scored side
#: must hold for its figures to be a result (module docstring, "Not a result").
MIN_CLIPS_PER_CLASS = 10
MIN_GROUPS = 2
#: What :func:`auc_verdict` returns.
AUC_VERDICTS = ("above chance", "chance", "inverted", "undefined")
#: How reports say that a verdict is ``"inverted"``.
INVERTED_TEXT = "ranking inverted: the model scores this corpus's negative clips as more positive"


def _validate(y_true, p_positive) -> tuple[np.ndarray, np.ndarray]:
    """Check and convert the inputs; return ``(y, p)`` as int8 and float64 arrays of shape (n,)."""
    y = np.asarray(y_true)
    p = np.asarray(p_positive)
    if y.ndim != 1:
        raise ValueError(f"y_true must be one-dimensional, got shape {y.shape}")
    if p.ndim == 2 and p.shape[1] == 1:
        p = p[:, 0]
    if p.ndim != 1:
        raise ValueError(f"p_positive must be one-dimensional (the probability of class 1), got shape {p.shape}")
    if y.shape[0] != p.shape[0]:
        raise ValueError(f"y_true and p_positive differ in length: {y.shape[0]} != {p.shape[0]}")
    if y.shape[0] == 0:
        raise ValueError("binary_metrics needs at least one example, got n=0")
    if y.dtype == bool:
        y = y.astype(np.int8)
    if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
        raise ValueError(f"y_true must hold 0/1 numbers or booleans, got dtype {y.dtype}")
    bad = ~np.isin(y, (0, 1))
    if bad.any():
        values = np.unique(y[bad])[:5].tolist()
        raise ValueError(f"y_true must contain only 0 and 1; found {int(bad.sum())} other value(s), e.g. {values}")
    try:
        p = p.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"p_positive must be numeric, got dtype {p.dtype}") from exc
    if not np.isfinite(p).all():
        raise ValueError(f"p_positive must be finite; {int((~np.isfinite(p)).sum())} value(s) are NaN or infinite")
    if (p < 0).any() or (p > 1).any():
        raise ValueError(f"p_positive must lie in [0, 1]; got values in [{p.min():.6g}, {p.max():.6g}]")
    return y.astype(np.int8), p


def roc_auc_from_counts(y: np.ndarray, p: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """ROC AUC of weighted samples, one per row of ``counts`` (the Mann-Whitney statistic).

    Parameters
    ----------
    y : ndarray of shape (n,)
        Labels, 0 or 1.
    p : ndarray of shape (n,)
        Scores; only their order matters, ties count one half.
    counts : ndarray of shape (b, n)
        Non-negative weight of each example in each of ``b`` samples (bootstrap counts; all ones for
        the plain AUC).

    Returns
    -------
    ndarray of shape (b,), float64
        The AUC of each sample; NaN where a sample has no positive or no negative weight.
    """
    order = np.argsort(p, kind="mergesort")
    return _auc_sorted(_sorted_runs(y[order], p[order]), np.asarray(counts, dtype=np.float64)[:, order])


def _sorted_runs(y_sorted: np.ndarray, p_sorted: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Describe data sorted by ascending score for :func:`_auc_sorted`.

    Returns the positive mask, shape (n,), and for every positive (in order) the first column of its
    run of tied scores and one past the last, each shape (n_positive,).
    """
    n = p_sorted.shape[0]
    new_run = np.r_[True, p_sorted[1:] != p_sorted[:-1]]
    run_id = np.cumsum(new_run) - 1
    starts = np.flatnonzero(new_run)
    ends = np.r_[starts[1:], n]
    pos_mask = y_sorted == 1
    return pos_mask, starts[run_id[pos_mask]], ends[run_id[pos_mask]]


def _auc_sorted(runs: tuple[np.ndarray, np.ndarray, np.ndarray], w: np.ndarray) -> np.ndarray:
    """Mann-Whitney AUC per row of weights ``w`` (b, n) whose columns follow ascending score order.

    A positive scores a win against every negative with a strictly lower score and half a win against
    every tied negative: with ``C[:, k]`` the negative weight in the first ``k`` columns, a positive in
    the tie run ``[s, e)`` earns ``(C[:, s] + C[:, e]) / 2``.
    """
    pos_mask, pos_start, pos_end = runs
    neg_w = np.where(pos_mask, 0, w)
    cum = np.zeros((w.shape[0], w.shape[1] + 1), dtype=neg_w.dtype)
    np.cumsum(neg_w, axis=1, out=cum[:, 1:])
    pos_w = w[:, pos_mask]
    wins2 = (pos_w * (cum[:, pos_start] + cum[:, pos_end])).sum(axis=1)  # twice the wins
    n_pos = pos_w.sum(axis=1)
    n_neg = cum[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = wins2 / (2.0 * n_pos * n_neg)
    auc[(n_pos == 0) | (n_neg == 0)] = np.nan
    return auc


def _bootstrap_aucs(y: np.ndarray, p: np.ndarray, n_bootstrap: int, seed: int,
                    group_index: np.ndarray | None = None) -> np.ndarray:
    """AUCs of ``n_bootstrap`` resamples with replacement (NaN for single-class resamples); shape (n_bootstrap,).

    Without ``group_index`` the ``n`` examples are resampled. With ``group_index`` (shape (n,), int, the
    group of each example numbered 0 .. G-1), ``G`` groups are drawn with replacement per resample and
    each example is weighted by how often its group was drawn.
    """
    n = y.shape[0]
    # Resample positions in score order directly, so the counts need no column permutation.
    order = np.argsort(p, kind="mergesort")
    runs = _sorted_runs(y[order], p[order])
    rng = np.random.default_rng(seed)
    batch = max(1, min(n_bootstrap, _BOOTSTRAP_CELLS // n))
    out = np.empty(n_bootstrap, dtype=np.float64)
    if group_index is not None:
        sorted_groups = group_index[order]
        n_groups = int(group_index.max()) + 1
    for first in range(0, n_bootstrap, batch):
        b = min(batch, n_bootstrap - first)
        if group_index is None:
            idx = rng.integers(0, n, size=(b, n))
            flat = idx + (np.arange(b) * n)[:, None]
            counts = np.bincount(flat.ravel(), minlength=b * n).reshape(b, n)  # int64: exact sums
        else:
            idx = rng.integers(0, n_groups, size=(b, n_groups))
            flat = idx + (np.arange(b) * n_groups)[:, None]
            group_counts = np.bincount(flat.ravel(), minlength=b * n_groups).reshape(b, n_groups)
            counts = group_counts[:, sorted_groups]  # (b, n): each example as often as its group was drawn
        out[first:first + b] = _auc_sorted(runs, counts)
    return out


def _group_index(groups, n: int) -> tuple[np.ndarray, int]:
    """Validate ``groups`` (n ids) and number them; return ``(index (n,) int64, number of groups)``."""
    g = np.asarray(groups, dtype=object)
    if g.ndim != 1:
        raise ValueError(f"groups must be one-dimensional (one id per example), got shape {g.shape}")
    if g.shape[0] != n:
        raise ValueError(f"groups and y_true differ in length: {g.shape[0]} != {n}")
    missing = [v is None or (isinstance(v, float) and np.isnan(v)) for v in g]
    if any(missing):
        raise ValueError(f"groups must name a group for every example; {sum(missing)} are None/NaN")
    _, index = np.unique(g.astype(str), return_inverse=True)
    index = index.reshape(-1).astype(np.int64)
    return index, int(index.max()) + 1


def paired_auc_difference(y, p_a, p_b, *, groups=None, n_bootstrap: int = 1000, seed: int = 0) -> dict[str, Any]:
    """AUC(``p_b``) - AUC(``p_a``) on the same labels ``y`` (n,), with a 95 % percentile interval from a bootstrap
    that draws the same resamples for both: of the examples, or with ``groups`` (n ids) of whole groups
    (speakers), each example weighted by how often its group was drawn. Resamples with one class only are left
    out. Returns ``difference``, ``ci95`` (``[lo, hi]``), ``n_bootstrap`` (resamples used) and ``resampling``
    (``examples`` or ``groups``)."""
    y = np.asarray(y, dtype=np.int64)
    p_a, p_b = np.asarray(p_a, dtype=np.float64), np.asarray(p_b, dtype=np.float64)
    n = y.shape[0]
    rng = np.random.default_rng(seed)
    if groups is None:
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_bootstrap)
    else:
        index, n_groups = _group_index(groups, n)
        drawn = rng.integers(0, n_groups, size=(n_bootstrap, n_groups))
        group_counts = np.stack([np.bincount(row, minlength=n_groups) for row in drawn])
        counts = group_counts[:, index]
    ones = np.ones((1, n))
    diff = roc_auc_from_counts(y, p_b, counts) - roc_auc_from_counts(y, p_a, counts)
    diff = diff[np.isfinite(diff)]
    point = float(roc_auc_from_counts(y, p_b, ones)[0] - roc_auc_from_counts(y, p_a, ones)[0])
    lo, hi = np.percentile(diff, [2.5, 97.5]) if diff.size else (np.nan, np.nan)
    return {"difference": point, "ci95": [float(lo), float(hi)], "n_bootstrap": int(diff.size),
            "resampling": "examples" if groups is None else "groups"}


def _thin(fpr: np.ndarray, tpr: np.ndarray, max_points: int) -> tuple[list[float], list[float]]:
    """Keep at most ``max_points`` evenly spaced points of the curve, always the first and the last."""
    if fpr.shape[0] > max_points:
        keep = np.unique(np.round(np.linspace(0, fpr.shape[0] - 1, max_points)).astype(np.int64))
        fpr, tpr = fpr[keep], tpr[keep]
    return [float(v) for v in fpr], [float(v) for v in tpr]


def binary_metrics(y_true, p_positive, *, threshold: float = DECISION_THRESHOLD, n_bootstrap: int = 1000, seed: int = 0,
                   max_roc_points: int = 200, groups=None) -> dict[str, Any]:
    """Score predicted probabilities of the positive class against binary labels.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True labels, 0 (negative) or 1 (positive); booleans are accepted. ``n`` must be at least 1.
    p_positive : array-like of shape (n,) (or (n, 1))
        Predicted probability of class 1, each in [0, 1].
    threshold : float, default 0.5
        An example is predicted positive when ``p_positive >= threshold``; in [0, 1].
    n_bootstrap : int, default 1000
        Number of bootstrap resamples (of the ``n`` examples, with replacement) for the 95 % interval of
        the ROC AUC; 0 disables the interval (reported as ``None``).
    seed : int, default 0
        Seed of the resampling: identical inputs and seed give an identical interval.
    max_roc_points : int, default 200
        The ROC curve is thinned to at most this many points (at least 2), keeping both endpoints.
    groups : array-like of shape (n,), optional
        The cluster of each example (speaker, video, dialogue id; compared as strings). When given, the
        bootstrap draws whole groups with replacement (a cluster bootstrap) instead of examples. With a
        single group there is nothing to resample: the interval is None and ``note`` says why.

    Returns
    -------
    dict
        ``n``, ``n_positive`` (int); ``positive_share`` (float, fraction of positives); ``roc_auc``
        (float or None); ``roc_auc_ci95`` ([lo, hi] percentile-bootstrap interval, or None);
        ``n_bootstrap_used`` (int, resamples with both classes that entered the interval);
        ``ci_resampling`` (``"groups"`` or ``"examples"``: what the bootstrap drew) and ``n_groups`` (int,
        distinct groups; None without ``groups``);
        ``accuracy``, ``balanced_accuracy`` (mean recall over the classes present in ``y_true``),
        ``f1`` (of the positive class; 0.0 when there are no positives predicted or present) and
        ``threshold`` (float); ``roc`` ({"fpr": [...], "tpr": [...]}, from (0, 0) to (1, 1), or None);
        ``not_a_result`` (:func:`not_a_result`: why these figures mean nothing, or None).
        When ``y_true`` holds a single class, ``roc_auc``, ``roc_auc_ci95`` and ``roc`` are None and
        ``note`` says why; nothing is raised.

    Raises
    ------
    ValueError
        When the shapes differ or are not one-dimensional, ``n`` is 0, a label is not 0/1, a
        probability is outside [0, 1] or not finite, a group is None/NaN, or a parameter is out of range.
    """
    y, p = _validate(y_true, p_positive)
    threshold = float(threshold)
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must lie in [0, 1], got {threshold}")
    if isinstance(n_bootstrap, bool) or int(n_bootstrap) != n_bootstrap or n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be a non-negative integer, got {n_bootstrap!r}")
    n_bootstrap = int(n_bootstrap)
    if isinstance(max_roc_points, bool) or int(max_roc_points) != max_roc_points or max_roc_points < 2:
        raise ValueError(f"max_roc_points must be an integer >= 2, got {max_roc_points!r}")
    group_index, n_groups = _group_index(groups, y.shape[0]) if groups is not None else (None, None)

    n = int(y.shape[0])
    n_positive = int(y.sum())
    pred = (p >= threshold).astype(np.int8)
    tp = int(((pred == 1) & (y == 1)).sum())
    tn = int(((pred == 0) & (y == 0)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    recalls = []
    if tp + fn:
        recalls.append(tp / (tp + fn))
    if tn + fp:
        recalls.append(tn / (tn + fp))
    f1 = 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else 0.0

    result: dict[str, Any] = {
        "n": n,
        "n_positive": n_positive,
        "positive_share": float(n_positive / n),
        "roc_auc": None,
        "roc_auc_ci95": None,
        "n_bootstrap_used": 0,
        "ci_resampling": "examples" if group_index is None else "groups",
        "n_groups": n_groups,
        "accuracy": float((tp + tn) / n),
        "balanced_accuracy": float(sum(recalls) / len(recalls)),
        "f1": float(f1),
        "threshold": threshold,
        "roc": None,
    }
    result["not_a_result"] = not_a_result(result)
    if n_positive in (0, n):
        only = "positive" if n_positive else "negative"
        result["note"] = (f"y_true holds only {only} examples (n={n}): ROC AUC, its interval and the ROC "
                          "curve are undefined")
        return result

    result["roc_auc"] = float(roc_auc_from_counts(y, p, np.ones((1, n)))[0])
    if n_bootstrap and n_groups == 1:
        result["note"] = ("a single group: a cluster bootstrap has nothing to resample, so there is no "
                          "interval (the AUC is that of one group)")
    elif n_bootstrap:
        aucs = _bootstrap_aucs(y, p, n_bootstrap, seed, group_index)
        aucs = aucs[~np.isnan(aucs)]
        result["n_bootstrap_used"] = int(aucs.shape[0])
        if aucs.shape[0]:
            lo, hi = np.percentile(aucs, [2.5, 97.5])
            result["roc_auc_ci95"] = [float(lo), float(hi)]
        else:
            result["note"] = "every bootstrap resample held a single class: no interval"
    fpr, tpr, _ = roc_curve(y, p, drop_intermediate=True)
    fpr_list, tpr_list = _thin(fpr, tpr, int(max_roc_points))
    result["roc"] = {"fpr": fpr_list, "tpr": tpr_list}
    return result


def not_a_result(metrics: dict) -> str | None:
    """Why a :func:`binary_metrics` result (or a side scored on no clip, ``{"n": 0}``) is not a result, in words,
    or None when it holds enough to be one.

    Parameters
    ----------
    metrics : dict
        ``n``, ``n_positive`` and ``n_groups`` (None: no groups given), as :func:`binary_metrics` returns them.

    Returns
    -------
    str or None
        ``"not a result (n = N, G groups)"`` when fewer than :data:`MIN_GROUPS` groups or fewer than
        :data:`MIN_CLIPS_PER_CLASS` clips of a class; where the groups suffice, the short class is named too
        (``"not a result (n = 19, 2 groups; 9 negative)"``).
    """
    n = int(metrics.get("n") or 0)
    n_positive = int(metrics.get("n_positive") or 0)
    n_groups = metrics.get("n_groups")
    counts = {"positive": n_positive, "negative": n - n_positive}
    short = [f"{k} {name}" for name, k in counts.items() if k < MIN_CLIPS_PER_CLASS]
    few_groups = n_groups is not None and n_groups < MIN_GROUPS
    if not short and not few_groups:
        return None
    sizes = f"n = {n}" + (f", {counted(int(n_groups), 'group')}" if n_groups is not None else "")
    return f"not a result ({sizes}{'; ' + ', '.join(short) if short and not few_groups and n else ''})"


def auc_verdict(metrics: dict) -> str:
    """Read a ROC AUC against chance (0.5) through its 95 % interval.

    Parameters
    ----------
    metrics : dict
        Holds ``roc_auc`` (float or None) and ``roc_auc_ci95`` ([lo, hi] or None), as
        :func:`binary_metrics` returns them.

    Returns
    -------
    str, one of :data:`AUC_VERDICTS`
        ``"inverted"`` when the whole interval lies below 0.5 (hi < 0.5: the model ranks the negative class
        above the positive one, beyond sampling noise); ``"above chance"`` when it lies above 0.5
        (lo > 0.5); ``"chance"`` when it contains 0.5; ``"undefined"`` when there is no AUC or no interval.
    """
    auc, ci = metrics.get("roc_auc"), metrics.get("roc_auc_ci95")
    if auc is None or not ci:
        return "undefined"
    lo, hi = float(ci[0]), float(ci[1])
    if hi < 0.5:
        return "inverted"
    if lo > 0.5:
        return "above chance"
    return "chance"
