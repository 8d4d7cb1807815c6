"""Text sentiment scorers and the policies that turn their scores into a weak label or an abstention.

Scores are in [-1, 1]: TextBlob's pattern-lexicon polarity and VADER's compound score, plus VADER's
positive and negative shares and a negation-aware TextBlob polarity (:class:`SentimentScores`). A *policy*
maps them to one score and a label: 1 (positive), 0 (negative) or None (abstain). ``neutral_band`` is the
half-width of the abstention zone: a score whose absolute value is below it abstains.

Each policy is one :class:`LabelingPolicy` in :data:`POLICIES` (the default :data:`DEFAULT_POLICY` first), which
knows its description, its scoring, and where it abstains: as a sentence and, when that is a region of the
(TextBlob, VADER) plane, as shapes the report draws. ``python -m pipelines.label_quality`` measures them
against people.

Text is normalised before scoring: typographic quotes and apostrophes become ASCII (VADER's negation
list is ``"don't"``, so ``"don’t"`` would otherwise read as a positive "love"), Unicode is NFKC-folded and
whitespace collapsed.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np

POSITIVE, NEGATIVE = 1, 0

_TYPOGRAPHY = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u02bc": "'", "\u00b4": "'",
    "\u0060": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"',
    "\u00bb": '"', "\u2013": "-", "\u2014": " - ", "\u2212": "-", "\u00a0": " ",
})
_WHITESPACE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Fold typography that lexicon scorers mishandle: curly quotes/apostrophes to ASCII, NFKC, spaces.

    >>> normalize_text("I don\u2019t  like it\u2026")
    "I don't like it..."
    """
    text = unicodedata.normalize("NFKC", text).translate(_TYPOGRAPHY)
    return _WHITESPACE.sub(" ", text).strip()


@lru_cache(maxsize=1)
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


_CONTRACTED_NEGATIONS = [
    (re.compile(r"\b(won)'t\b", re.I), "will not"), (re.compile(r"\b(can)'t\b", re.I), "can not"),
    (re.compile(r"\b(shan)'t\b", re.I), "shall not"), (re.compile(r"\b(ain)'t\b", re.I), "is not"),
    (re.compile(r"n't\b", re.I), " not"),
]


def expand_negations(text: str) -> str:
    """Spell out contracted negations (``don't`` -> ``do not``) so TextBlob sees them.

    TextBlob's pattern lexicon flips a word after ``not`` but ignores ``n't``: it scores "I don't love it"
    like "I love it" (+0.5). VADER knows both forms, so only TextBlob needs this.

    >>> expand_negations("I don't love it, I won't")
    'I do not love it, I will not'
    """
    for pattern, replacement in _CONTRACTED_NEGATIONS:
        text = pattern.sub(replacement, text)
    return text


def textblob_polarity(text: str) -> float:
    """TextBlob (pattern lexicon) polarity of already-normalised text, in [-1, 1]."""
    from textblob import TextBlob

    return float(TextBlob(text).sentiment.polarity)


def vader_scores(text: str) -> dict[str, float]:
    """VADER's scores of already-normalised text: ``compound`` in [-1, 1]; ``pos``, ``neg``, ``neu`` shares in [0, 1]."""
    return {k: float(v) for k, v in _vader().polarity_scores(text).items()}


def vader_compound(text: str) -> float:
    """VADER compound score of already-normalised text, in [-1, 1]."""
    return vader_scores(text)["compound"]


@dataclass(frozen=True)
class SentimentScores:
    """Every scorer output the policies use, for one text (after normalisation).

    Attributes
    ----------
    textblob : float
        TextBlob polarity in [-1, 1] of the normalised text (what the original method used).
    vader : float
        VADER compound score in [-1, 1].
    vader_pos, vader_neg : float
        VADER's shares of positive and negative lexicon weight in the text, in [0, 1].
    textblob_negation : float
        TextBlob polarity in [-1, 1] after :func:`expand_negations`, so ``n't`` negates as ``not`` does.
    """

    textblob: float
    vader: float
    vader_pos: float = 0.0
    vader_neg: float = 0.0
    textblob_negation: float | None = None

    def __post_init__(self):
        if self.textblob_negation is None:
            object.__setattr__(self, "textblob_negation", self.textblob)


#: Names of the per-text scores, as stored in a build's ``segments.parquet``.
SCORE_FIELDS = ("textblob", "vader", "vader_pos", "vader_neg", "textblob_negation")


def score_sentiment(text: str) -> SentimentScores:
    """Normalise ``text`` and score it with TextBlob and VADER."""
    clean = normalize_text(text)
    vader = vader_scores(clean)
    expanded = expand_negations(clean)
    return SentimentScores(textblob=textblob_polarity(clean), vader=vader["compound"], vader_pos=vader["pos"],
                           vader_neg=vader["neg"],
                           textblob_negation=textblob_polarity(expanded) if expanded != clean else None)


def _sign_label(score: float, neutral_band: float) -> int | None:
    if score >= neutral_band and score > 0:
        return POSITIVE
    if score <= -neutral_band and score < 0:
        return NEGATIVE
    return None


def band_signs(values, neutral_band: float) -> np.ndarray:
    """The band rule of :func:`_sign_label` over an array: 1 positive, -1 negative, 0 inside the band or NaN."""
    values = np.asarray(values, dtype=np.float64)
    out = np.zeros(values.shape, dtype=int)
    out[(values >= neutral_band) & (values > 0)] = 1
    out[(values <= -neutral_band) & (values < 0)] = -1
    return out


def _check_band(neutral_band: float) -> None:
    if not (0.0 <= neutral_band <= 1.0) or math.isnan(neutral_band):
        raise ValueError(f"neutral band must lie in [0, 1], got {neutral_band}")


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
class LabelingPolicy:
    """A labelling policy, as a Snorkel labelling function: one text's scores in, a score and a label out.

    Attributes
    ----------
    name : str
        As given to ``--policy`` and recorded in ``build.json``.
    description : str
        One line saying what it does.
    score : callable SentimentScores -> float
        The combined score in [-1, 1]; the label is its sign, abstaining within the neutral band of zero.
    region_text : str
        One sentence, with ``{band:g}`` for the neutral band, saying where the policy abstains.
    region : tuple of Trapezoid, or None
        Where it abstains on the (TextBlob polarity, VADER compound) plane at band 1 (positions scale with the
        band: :meth:`abstain_region`); None when the policy is not a function of those two scores alone.
    votes : tuple of str
        :class:`SentimentScores` fields that must each clear the band with the same sign, the label then being
        that sign (``agree``); empty: the score's sign is the label.
    """

    name: str
    description: str
    score: Callable[[SentimentScores], float]
    region_text: str
    region: tuple[Trapezoid, ...] | None = None
    votes: tuple[str, ...] = ()

    def __call__(self, s: SentimentScores, neutral_band: float) -> tuple[float, int | None]:
        """The policy's score and label (1 positive, 0 negative, None abstain) of one text."""
        score = self.score(s)
        if not self.votes:
            return score, _sign_label(score, neutral_band)
        signs = {_sign_label(getattr(s, name), neutral_band) for name in self.votes}
        return score, signs.pop() if len(signs) == 1 else None

    def apply(self, scores: Sequence[SentimentScores | None], neutral_band: float) -> tuple[np.ndarray, np.ndarray]:
        """Scores and labels of many texts.

        Returns
        -------
        score : ndarray (n,) float64, NaN where the text had no scores
        label : ndarray (n,) float64: 1.0 positive, 0.0 negative, NaN abstained or unscored
        """
        _check_band(neutral_band)
        score = np.full(len(scores), np.nan)
        label = np.full(len(scores), np.nan)
        for i, s in enumerate(scores):
            if s is None:
                continue
            score[i], lab = self(s, neutral_band)
            if lab is not None:
                label[i] = lab
        return score, label

    def abstain_region(self, neutral_band: float) -> tuple[Trapezoid, ...] | None:
        """Where the policy abstains on the (TextBlob, VADER) plane at ``neutral_band``; None: not a region there."""
        return None if self.region is None else tuple(shape.scaled(neutral_band) for shape in self.region)

    def abstains_where(self, neutral_band: float) -> str:
        """One sentence saying where the policy abstains (the shaded region of the report's scatter plot)."""
        return self.region_text.format(band=neutral_band)


def _mean_score(s: SentimentScores) -> float:
    return (s.textblob + s.vader) / 2.0


def _vader_score(s: SentimentScores) -> float:
    return s.vader


def _textblob_score(s: SentimentScores) -> float:
    return s.textblob


@dataclass(frozen=True)
class LabelModel:
    """A logistic label model over the scorers: ``p = sigmoid(intercept + sum(weights[f] * scores.f))``.

    ``fitted_on`` says where the weights come from; :mod:`weaklabel.label_model` refits them.
    """

    weights: dict
    intercept: float
    fitted_on: str

    def probability(self, s: SentimentScores) -> float:
        z = self.intercept + sum(w * getattr(s, name) for name, w in self.weights.items())
        return 1.0 / (1.0 + math.exp(-z))


#: Weights of the ``calibrated`` policy, fitted with ``python -m benchmarks.label_model`` (class-balanced
#: logistic regression, C=1) on the human positive/negative utterances of the MELD dev split.
CALIBRATED_MODEL = LabelModel(
    weights={"textblob_negation": 0.4275, "vader": 0.5093, "vader_pos": 0.6711, "vader_neg": -1.304},
    intercept=-0.1095,
    fitted_on="meld_dev_sent_emo.csv: human positive/negative utterances, class-balanced logistic regression, C=1",
)


def _calibrated_score(s: SentimentScores) -> float:
    """``2 p - 1`` for the label model's probability ``p`` of human-positive sentiment.

    So it lies in [-1, 1] and the band means what it means for the other policies (0.2: abstain while
    0.4 < p < 0.6). Fitted with equal class weights, the model removes the lexicons' lean to positive without
    importing a corpus's class prior; VADER's negative share weighs about twice its positive share.
    """
    return 2.0 * CALIBRATED_MODEL.probability(s) - 1.0


_STRIP = (-1.0, 1.0)  # at band 1: the open interval (-band, band)

#: The labelling policies by name, the default first (the order of ``--policy`` choices and of tables).
POLICIES: dict[str, LabelingPolicy] = {policy.name: policy for policy in (
    LabelingPolicy(
        "calibrated", "a label model over TextBlob (negation-aware) and VADER's compound, positive and negative "
        "shares, fitted on human labels; the score is 2 p - 1", _calibrated_score,
        "abstains where |2 p − 1| < {band:g}, p the label model's probability of positive: not a region of the "
        "TextBlob/VADER plane"),
    LabelingPolicy(
        "mean", "the original method: the mean of TextBlob polarity and VADER compound", _mean_score,
        "abstains where |(TextBlob + VADER) / 2| < {band:g}: the diagonal strip",
        region=(Trapezoid(lower=(-2.0, -1.0), upper=(2.0, -1.0)),)),
    LabelingPolicy(
        "vader", "VADER compound alone", _vader_score,
        "abstains where |VADER| < {band:g}: the horizontal strip",
        region=(Trapezoid(lower=(_STRIP[0], 0.0), upper=(_STRIP[1], 0.0)),)),
    LabelingPolicy(
        "textblob", "TextBlob polarity alone", _textblob_score,
        "abstains where |TextBlob| < {band:g}: the vertical strip",
        region=(Trapezoid(*_STRIP),)),
    LabelingPolicy(
        "agree", "both scorers must clear the band with the same sign; the score is their mean", _mean_score,
        "labels only where both scores clear ±{band:g} with the same sign: the cross and the two conflict "
        "quadrants abstain",
        region=(Trapezoid(lower=(_STRIP[0], 0.0), upper=(_STRIP[1], 0.0)),  # |VADER| < band
                Trapezoid(*_STRIP, lower=(_STRIP[1], 0.0)),  # |TextBlob| < band, above and below the strip
                Trapezoid(*_STRIP, upper=(_STRIP[0], 0.0)),
                Trapezoid(x_max=_STRIP[0], lower=(_STRIP[1], 0.0)),  # the conflicts: TextBlob -, VADER +
                Trapezoid(x_min=_STRIP[1], upper=(_STRIP[0], 0.0))),  # and TextBlob +, VADER -
        votes=("textblob", "vader")),
)}
ORIGINAL_POLICY = "mean"
DEFAULT_POLICY = "calibrated"
DEFAULT_NEUTRAL_BAND = 0.2


def validate_policy(policy: str, neutral_band: float) -> None:
    """Raise ValueError for an unknown policy name or a band outside [0, 1]."""
    if policy not in POLICIES:
        raise ValueError(f"unknown labelling policy {policy!r}; choose one of {', '.join(POLICIES)}")
    _check_band(neutral_band)


def label_from_scores(scores: SentimentScores, policy: str = DEFAULT_POLICY,
                      neutral_band: float = DEFAULT_NEUTRAL_BAND) -> tuple[float, int | None]:
    """Apply a named labelling policy.

    Returns
    -------
    score : float
        The policy's combined score in [-1, 1].
    label : int or None
        1 positive, 0 negative, None abstain (|score| below ``neutral_band``, or disagreement for ``agree``).
    """
    validate_policy(policy, neutral_band)
    return POLICIES[policy](scores, neutral_band)


def scores_from_frame(frame) -> list[SentimentScores | None]:
    """Rebuild :class:`SentimentScores` from a DataFrame with the :data:`SCORE_FIELDS` columns.

    Rows whose scores are missing (None/NaN: no text was scored) give None.
    """
    values = np.asarray(frame[list(SCORE_FIELDS)].to_numpy(dtype=object), dtype=np.float64)  # None -> NaN
    return [None if np.isnan(row[0]) else SentimentScores(*map(float, row)) for row in values]


def apply_policy(scores: Sequence[SentimentScores | None], policy: str,
                 neutral_band: float) -> tuple[np.ndarray, np.ndarray]:
    """Scores and labels of the named policy: :meth:`LabelingPolicy.apply`."""
    validate_policy(policy, neutral_band)
    return POLICIES[policy].apply(scores, neutral_band)
