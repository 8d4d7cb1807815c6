"""Label models: a logistic regression over scorer columns, fitted on human-labelled sentences, kept as a file.

A label model is an artefact, never constants in source: a JSON file holding its features (scorer columns), its
classes, weights and intercepts, the recipe it was fitted with, the scorer versions it saw, the data it was fitted
on (file names, SHA-256, counts, licences) and its out-of-fold figures. The product ships two in
``weaklabel/label_models/`` (made by ``python -m benchmarks.text_teacher`` from permissively licensed sentences);
``python -m pipelines.label_model --csv FILE`` fits one on a user's own labelled sentences, and
``--label-model FILE`` gives it to the build's ``calibrated`` policy.

The recipe is deliberately small (a handful of inputs, class-balanced, L2 ``C=1``): it corrects how the scorers
weigh positive against negative evidence and how far to trust each, not a corpus's vocabulary. Its score is
``p(positive) - p(negative)`` in [-1, 1], so the neutral band means what it means for every policy.

* With human-neutral sentences in the data, the model has three classes (negative, neutral, positive), as the
  E5 head has: weak evidence, typical of neutral lines, then scores near 0 and abstains, where a two-class
  model fitted on polar sentences alone is overconfident on every plain line of dialogue
  (``reports/text_teacher.md``).
* Without them it has two classes and no intercept (score ``2 p - 1``): every scorer column is 0 where its
  scorer finds no evidence (no lexicon word), so a sentence without evidence scores 0 and abstains, where an
  intercept would give every such line (a Finnish transcript, "Okay.", "What?") the label it leans to.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from foundation.digests import file_sha256
from weaklabel.scorers import SCORERS
from weaklabel.scorers.base import BINARY_CLASSES, THREE_CLASSES, rowdot, softmax_valence

LABEL_MODEL_FORMAT = "weaklabel-label-model/2"
#: Where the shipped label models live (package data).
SHIPPED_DIR = Path(__file__).with_name("label_models")
DEFAULT_C = 1.0
RECIPE = {"estimator": "multinomial logistic regression (scikit-learn lbfgs)", "class_weight": "balanced",
          "penalty": "l2", "intercept": "with a neutral class: fitted; with two classes: none"}


@dataclass(frozen=True)
class LabelModel:
    """A fitted label model: ``logit[c] = intercepts[c] + sum_i weights[c][i] * column[features[i]]`` per class
    ``c`` of ``classes``; the score is ``p(positive) - p(negative)`` under their softmax.

    Attributes
    ----------
    name : str
    features : tuple of str
        Scorer columns (``segments.parquet`` names) it reads, in weight order.
    classes : tuple of str
        :data:`~weaklabel.scorers.base.BINARY_CLASSES` or :data:`~weaklabel.scorers.base.THREE_CLASSES`.
    weights : tuple of tuple of float, one row per class
    intercepts : tuple of float, one per class
    recipe : dict
        How it was fitted (estimator, C, class weights).
    scorer_versions : dict
        The version of every scorer whose columns it reads, when it was fitted.
    fitted_on : list of dict
        The data it was fitted on: one record per file (name, SHA-256, rows used, class counts, licence).
    out_of_fold : dict
        Figures on that data from models that never saw the rows they score (grouped folds).
    band : float or None
        The neutral band chosen for it on its data (:func:`choose_band`), which the ``calibrated`` policy then
        labels with; None: the policy's own.
    path, sha256 : str or None
        The file it was read from and that file's SHA-256 (None for a model not yet saved).
    """

    name: str
    features: tuple[str, ...]
    classes: tuple[str, ...]
    weights: tuple[tuple[float, ...], ...]
    intercepts: tuple[float, ...]
    recipe: dict = field(default_factory=dict)
    scorer_versions: dict = field(default_factory=dict)
    fitted_on: list = field(default_factory=list)
    out_of_fold: dict = field(default_factory=dict)
    band: float | None = None
    path: str | None = None
    sha256: str | None = None

    def __post_init__(self):
        if tuple(self.classes) not in (BINARY_CLASSES, THREE_CLASSES):
            raise ValueError(f"label model {self.name}: classes {self.classes} are not {BINARY_CLASSES} or "
                             f"{THREE_CLASSES}")
        if not self.features or len(self.weights) != len(self.classes) or len(self.intercepts) != len(self.classes) \
                or any(len(row) != len(self.features) for row in self.weights):
            raise ValueError(f"label model {self.name}: weights and intercepts must be one row per class and one "
                             "weight per feature")
        if not np.isfinite(np.asarray(self.weights, dtype=float)).all() or \
                not np.isfinite(np.asarray(self.intercepts, dtype=float)).all():
            raise ValueError(f"label model {self.name}: weights must be finite numbers")

    def design(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """The model's inputs: ``(n, len(features))`` float64, NaN where a column is missing."""
        missing = [name for name in self.features if name not in columns]
        if missing:
            raise KeyError(f"label model {self.name} reads {', '.join(missing)}, which the scores do not hold")
        return np.column_stack([np.asarray(np.asarray(columns[name], dtype=object), dtype=np.float64)
                                for name in self.features])

    def score(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """``p(positive) - p(negative)`` per text, ``(n,)`` float64 in [-1, 1]; NaN where an input is missing."""
        X = self.design(columns)
        logits = np.column_stack([rowdot(X, row) + b for row, b in zip(self.weights, self.intercepts)])
        return softmax_valence(logits, self.classes)

    def record(self) -> dict:
        """The JSON object the model file holds (without its own path and digest)."""
        return {"format": LABEL_MODEL_FORMAT, "name": self.name, "features": list(self.features),
                "classes": list(self.classes), "weights": [[float(w) for w in row] for row in self.weights],
                "intercepts": [float(b) for b in self.intercepts], "recipe": self.recipe,
                "scorer_versions": self.scorer_versions, "fitted_on": self.fitted_on, "out_of_fold": self.out_of_fold,
                **({"band": self.band} if self.band is not None else {})}

    def identity(self) -> dict:
        """What a build records (and fingerprints) of the model it labelled with."""
        return {"name": self.name, "file": Path(self.path).name if self.path else None, "sha256": self.sha256,
                "features": list(self.features), "classes": list(self.classes)}


def load_label_model(path: str | Path) -> LabelModel:
    """Read a label-model JSON file; ValueError (naming the file) when it is not one."""
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read the label model {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ValueError(f"{path} is not a label-model file (not JSON: {exc})") from None
    if not isinstance(record, dict) or record.get("format") != LABEL_MODEL_FORMAT:
        raise ValueError(f"{path} is not a label-model file (format {LABEL_MODEL_FORMAT!r} expected); make one with "
                         "python -m pipelines.label_model --csv FILE")
    try:
        model = LabelModel(name=str(record["name"]), features=tuple(record["features"]),
                           classes=tuple(record["classes"]),
                           weights=tuple(tuple(float(w) for w in row) for row in record["weights"]),
                           intercepts=tuple(float(b) for b in record["intercepts"]),
                           recipe=record.get("recipe", {}), scorer_versions=record.get("scorer_versions", {}),
                           fitted_on=record.get("fitted_on", []), out_of_fold=record.get("out_of_fold", {}),
                           band=None if record.get("band") is None else float(record["band"]),
                           path=str(path), sha256=file_sha256(path))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: malformed label model ({exc})") from None
    known = score_inputs()
    unknown = [name for name in model.features if name not in known]
    if unknown:
        raise ValueError(f"{path}: the label model reads {', '.join(map(repr, unknown))}, which no scorer writes as a "
                         f"score; the scorers' columns it can read: {', '.join(known)} (make one with python -m "
                         "pipelines.label_model --csv FILE --features ...)")
    return model


def score_inputs() -> tuple[str, ...]:
    """The scorer columns a label model can read: every numeric column of the registry's scorers, in its order."""
    return tuple(c.name for scorer in SCORERS.values() for c in scorer.columns if c.kind == "float")


def shipped_label_model(name: str) -> LabelModel:
    """A label model shipped with the package (``weaklabel/label_models/<name>.json``)."""
    return load_label_model(SHIPPED_DIR / f"{name}.json")


def save_label_model(model: LabelModel, path: str | Path) -> LabelModel:
    """Write ``model`` as JSON atomically; return it with its path and digest."""
    from foundation.atomic import write_json_atomic

    write_json_atomic(path, model.record())
    return replace(model, path=str(path), sha256=file_sha256(path))


# ------------------------------------------------------------------------------------------------- fitting
def target_classes(valence, neutral=None) -> tuple[np.ndarray, tuple[str, ...]]:
    """Class indices for fitting: per row 0 negative, 1 neutral, 2 positive (three classes when any row is
    human-neutral) or 0 negative, 1 positive; -1 for rows without a usable label. Returns (indices, classes)."""
    valence = np.asarray(valence, dtype=np.float64)
    neutral = np.zeros(len(valence), bool) if neutral is None else np.asarray(neutral, dtype=bool)
    three = bool(neutral.any())
    out = np.full(len(valence), -1)
    out[valence == 0] = 0
    out[valence == 1] = 2 if three else 1
    if three:
        out[neutral & np.isnan(valence)] = 1
    return out, THREE_CLASSES if three else BINARY_CLASSES


def _fit(X: np.ndarray, y: np.ndarray, classes: tuple[str, ...], C: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, class_weight="balanced", fit_intercept=len(classes) == 3,
                              max_iter=2000).fit(X, y)


def _rows(model, classes: tuple[str, ...]) -> tuple[tuple, tuple]:
    """The fitted estimator's weights and intercepts, one row per class (a binary fit's single row is the
    positive class's logit, the negative class's being 0)."""
    coef = np.asarray(model.coef_, dtype=np.float64)
    intercept = np.asarray(model.intercept_, dtype=np.float64) if model.fit_intercept else np.zeros(len(coef))
    if len(classes) == 2:
        coef = np.vstack([np.zeros_like(coef[0]), coef[0]])
        intercept = np.array([0.0, intercept[0]])
    return (tuple(tuple(round(float(w), 6) for w in row) for row in coef),
            tuple(round(float(b), 6) for b in intercept))


def _design(columns: Mapping[str, np.ndarray], features: Sequence[str]) -> np.ndarray:
    missing = [name for name in features if name not in columns]
    if missing:
        raise KeyError(f"the scores do not hold {', '.join(missing)}")
    return np.column_stack([np.asarray(np.asarray(columns[name], dtype=object), dtype=np.float64)
                            for name in features])


def fit_label_model(columns: Mapping[str, np.ndarray], valence, features: Sequence[str], name: str,
                    neutral=None, C: float = DEFAULT_C, **record) -> LabelModel:
    """Fit on the rows with human positive (1) or negative (0) valence, and human-neutral rows (``neutral``).

    Parameters
    ----------
    columns : DataFrame or mapping with the ``features`` columns (:func:`weaklabel.scorers.batch.score_texts`)
    valence : array (n,): 1.0, 0.0, or NaN (neutral or missing)
    features : scorer columns to fit on
    neutral : array (n,) of bool, optional: the human-neutral rows (three classes when any)
    record : further fields of :class:`LabelModel` (``scorer_versions``, ``fitted_on``, ``out_of_fold``)
    """
    X = _design(columns, features)
    y, classes = target_classes(valence, neutral)
    usable = (y >= 0) & ~np.isnan(X).any(axis=1)
    if len(np.unique(y[usable])) < len(classes):
        raise ValueError("a label model needs human-positive and human-negative sentences to fit")
    weights, intercepts = _rows(_fit(X[usable], y[usable], classes, C), classes)
    return LabelModel(name=name, features=tuple(features), classes=classes, weights=weights, intercepts=intercepts,
                      recipe={**RECIPE, "C": C}, **record)


def out_of_fold_score(columns: Mapping[str, np.ndarray], valence, groups, features: Sequence[str], neutral=None,
                      n_folds: int = 5, C: float = DEFAULT_C) -> np.ndarray:
    """The label model's score for every row (neutral rows included) from a model that never saw the row's group.

    Parameters
    ----------
    groups : array (n,) or None
        The cluster of each row (a dialogue, a source file); None: every row is its own group.

    Returns
    -------
    ndarray (n,) float64 in [-1, 1]; NaN for rows without scores.
    """
    from sklearn.model_selection import GroupKFold

    X = _design(columns, features)
    y, classes = target_classes(valence, neutral)
    usable = (y >= 0) & ~np.isnan(X).any(axis=1)
    scored = ~np.isnan(X).any(axis=1)
    groups = np.arange(len(X)) if groups is None else np.asarray(groups)
    out = np.full(len(X), np.nan)
    n_folds = min(n_folds, len(np.unique(groups)))
    if n_folds < 2:
        raise ValueError("out-of-fold figures need at least two groups of sentences")
    for train, test in GroupKFold(n_splits=n_folds).split(X, groups=groups):
        train = train[usable[train]]
        test = test[scored[test]]
        if len(np.unique(y[train])) < len(classes):
            continue
        weights, intercepts = _rows(_fit(X[train], y[train], classes, C), classes)
        fold = LabelModel("fold", tuple(features), classes, weights, intercepts)
        out[test] = fold.score({name: X[test, i] for i, name in enumerate(features)})
    return out


#: Bands :func:`choose_band` chooses among, and the share of the human positive/negative sentences it must label.
BAND_GRID = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
MIN_COVERAGE = 1 / 3
BAND_RULE = (f"the best out-of-fold balanced accuracy among the bands {', '.join(f'{b:g}' for b in BAND_GRID)} "
             f"that label at least a third of the human positive/negative sentences, the smaller (more labels) on a tie; "
             f"the smallest band if none does")


def choose_band(score, valence) -> float:
    """The neutral band for out-of-fold scores ``score`` (n,) against human ``valence`` (n,: 1, 0, NaN): the
    :data:`BAND_RULE`. A band is a threshold on a score's calibration, so each model gets the one its data
    supports."""
    score, valence = np.asarray(score, dtype=np.float64), np.asarray(valence, dtype=np.float64)
    polar = ~np.isnan(valence) & ~np.isnan(score)
    best, best_value = BAND_GRID[0], -1.0
    for band in BAND_GRID:
        labelled = polar & (np.abs(score) >= band) & (score != 0)
        if labelled.sum() < MIN_COVERAGE * polar.sum():
            continue
        right = (score > 0) == (valence == 1)
        recalls = [right[labelled & (valence == k)].mean() for k in (0, 1) if (labelled & (valence == k)).any()]
        value = float(np.mean(recalls)) if recalls else -1.0
        if value > best_value:
            best, best_value = band, value
    return best
