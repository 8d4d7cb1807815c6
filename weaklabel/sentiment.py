"""Text sentiment scorers and the policies that turn their scores into a weak label or an abstention.

Scores are in [-1, 1]: TextBlob's pattern-lexicon polarity and VADER's compound score. A *policy* maps
the two to one score and a label: 1 (positive), 0 (negative) or None (abstain). ``neutral_band`` is the
half-width of the abstention zone: a score whose absolute value is below it abstains.

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
from typing import Callable

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


def textblob_polarity(text: str) -> float:
    """TextBlob (pattern lexicon) polarity of already-normalised text, in [-1, 1]."""
    from textblob import TextBlob

    return float(TextBlob(text).sentiment.polarity)


def vader_compound(text: str) -> float:
    """VADER compound score of already-normalised text, in [-1, 1]."""
    return float(_vader().polarity_scores(text)["compound"])


@dataclass(frozen=True)
class SentimentScores:
    """Both scorers' output for one text (after normalisation)."""

    textblob: float
    vader: float


def score_sentiment(text: str) -> SentimentScores:
    """Normalise ``text`` and score it with TextBlob and VADER."""
    clean = normalize_text(text)
    return SentimentScores(textblob=textblob_polarity(clean), vader=vader_compound(clean))


def _sign_label(score: float, neutral_band: float) -> int | None:
    if score >= neutral_band and score > 0:
        return POSITIVE
    if score <= -neutral_band and score < 0:
        return NEGATIVE
    return None


def policy_mean(textblob: float, vader: float, neutral_band: float) -> tuple[float, int | None]:
    """The original method: the mean of the two scores, thresholded at +/- ``neutral_band``."""
    score = (textblob + vader) / 2.0
    return score, _sign_label(score, neutral_band)


def policy_vader(textblob: float, vader: float, neutral_band: float) -> tuple[float, int | None]:
    """VADER compound alone."""
    return vader, _sign_label(vader, neutral_band)


def policy_textblob(textblob: float, vader: float, neutral_band: float) -> tuple[float, int | None]:
    """TextBlob polarity alone."""
    return textblob, _sign_label(textblob, neutral_band)


def policy_agree(textblob: float, vader: float, neutral_band: float) -> tuple[float, int | None]:
    """Both scorers must clear the band and agree in sign; the score is their mean."""
    score = (textblob + vader) / 2.0
    tb, vd = _sign_label(textblob, neutral_band), _sign_label(vader, neutral_band)
    return score, tb if tb is not None and tb == vd else None


POLICIES: dict[str, Callable[[float, float, float], tuple[float, int | None]]] = {
    "mean": policy_mean,
    "vader": policy_vader,
    "textblob": policy_textblob,
    "agree": policy_agree,
}
DEFAULT_POLICY = "mean"
DEFAULT_NEUTRAL_BAND = 0.2


def label_from_scores(textblob: float, vader: float, policy: str = DEFAULT_POLICY,
                      neutral_band: float = DEFAULT_NEUTRAL_BAND) -> tuple[float, int | None]:
    """Apply a named labelling policy.

    Returns
    -------
    score : float
        The policy's combined score in [-1, 1].
    label : int or None
        1 positive, 0 negative, None abstain (|score| below ``neutral_band``, or disagreement for ``agree``).
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown labelling policy {policy!r}; choose one of {', '.join(POLICIES)}")
    if not (0.0 <= neutral_band <= 1.0) or math.isnan(neutral_band):
        raise ValueError(f"neutral band must lie in [0, 1], got {neutral_band}")
    return POLICIES[policy](textblob, vader, neutral_band)
