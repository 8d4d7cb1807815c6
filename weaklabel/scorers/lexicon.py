"""The English lexicon scorers of the original method: TextBlob (pattern lexicon) and VADER.

Both read English only (``languages=("en",)``): on text the language scorer finds to be in another language,
a policy that rests on them alone abstains (:mod:`weaklabel.policies`). Both are cheap (thousands of
sentences a second), so their results are recomputed, never cached. Each reads at most
:data:`~weaklabel.scorers.base.MAX_TEXT_CHARS` characters of a text (VADER's time grows with the square of the
length), noting a cut.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Sequence

import numpy as np

from foundation.versions import version_text
from weaklabel.scorers.base import Column, ScoredTexts, Scorer, bounded_texts

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


def score_textblob(texts: Sequence[str]) -> ScoredTexts:
    """``textblob``: polarity in [-1, 1]; ``textblob_negation``: the same after :func:`expand_negations`."""
    texts, notes = bounded_texts(texts)
    plain = np.empty(len(texts))
    negation = np.empty(len(texts))
    for i, text in enumerate(texts):
        plain[i] = textblob_polarity(text)
        expanded = expand_negations(text)
        negation[i] = textblob_polarity(expanded) if expanded != text else plain[i]
    return ScoredTexts({"textblob": plain, "textblob_negation": negation}, notes)


@lru_cache(maxsize=1)
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def vader_scores(text: str) -> dict[str, float]:
    """VADER's scores of already-normalised text: ``compound`` in [-1, 1]; ``pos``, ``neg``, ``neu`` in [0, 1]."""
    return {k: float(v) for k, v in _vader().polarity_scores(text).items()}


def score_vader(texts: Sequence[str]) -> ScoredTexts:
    """``vader``: compound in [-1, 1]; ``vader_pos``, ``vader_neg``: shares of positive/negative lexicon weight."""
    texts, notes = bounded_texts(texts)
    out = {name: np.empty(len(texts)) for name in ("vader", "vader_pos", "vader_neg")}
    for i, text in enumerate(texts):
        scores = vader_scores(text)
        out["vader"][i], out["vader_pos"][i], out["vader_neg"][i] = scores["compound"], scores["pos"], scores["neg"]
    return ScoredTexts(out, notes)


TEXTBLOB = Scorer(
    name="textblob", version=f"textblob-{version_text('textblob')}+negation-1",
    description="TextBlob's pattern-lexicon polarity (the original method's first scorer)",
    columns=(Column("textblob", "TextBlob polarity of the normalised text, [-1, 1]"),
             Column("textblob_negation", "TextBlob polarity after spelling out n't negations, [-1, 1]")),
    score_many=score_textblob, languages=("en",), score_column="textblob",
    provenance={"package": "textblob", "package_version": version_text("textblob"), "licence": "MIT",
                "model": "pattern's English adjective lexicon (in the package)", "model_licence": "BSD-3-Clause"})

VADER = Scorer(
    name="vader", version=f"vaderSentiment-{version_text('vaderSentiment')}",
    description="VADER's rule-based compound score (the original method's second scorer)",
    columns=(Column("vader", "VADER compound score of the normalised text, [-1, 1]"),
             Column("vader_pos", "VADER's share of positive lexicon weight in the text, [0, 1]"),
             Column("vader_neg", "VADER's share of negative lexicon weight in the text, [0, 1]")),
    score_many=score_vader, languages=("en",), score_column="vader",
    provenance={"package": "vaderSentiment", "package_version": version_text("vaderSentiment"), "licence": "MIT",
                "model": "VADER's English lexicon (in the package)", "model_licence": "MIT"})
