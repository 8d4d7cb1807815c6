import math

import pytest
from textblob import TextBlob
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from weaklabel.sentiment import (CALIBRATED_MODEL, DEFAULT_POLICY, POLICIES, SentimentScores, expand_negations,
                                 label_from_scores, normalize_text, score_sentiment)


def test_normalize_folds_typography():
    assert normalize_text("I don\u2019t  \u201clove\u201d it\u2026") == 'I don\'t "love" it...'


def test_curly_apostrophe_negation_matches_straight():
    # VADER's negation list has "don't": the curly form would read as a plain positive "love".
    raw_curly = SentimentIntensityAnalyzer().polarity_scores("I don\u2019t love it")["compound"]
    assert raw_curly > 0
    assert score_sentiment("I don\u2019t love it").vader == score_sentiment("I don't love it").vader < 0


def test_scores_equal_the_libraries_on_plain_text():
    text = "The food was great but the service was slow."
    s = score_sentiment(text)
    assert s.textblob == TextBlob(text).sentiment.polarity
    assert s.vader == SentimentIntensityAnalyzer().polarity_scores(text)["compound"]


@pytest.mark.parametrize("policy,tb,vd,band,expected", [
    ("mean", 0.5, 0.3, 0.2, (0.4, 1)),
    ("mean", -0.5, -0.3, 0.2, (-0.4, 0)),
    ("mean", 0.3, -0.1, 0.2, (0.1, None)),
    ("mean", 0.2, 0.2, 0.2, (0.2, 1)),  # |score| below the band abstains; on it labels
    ("vader", 0.9, -0.3, 0.2, (-0.3, 0)),
    ("textblob", 0.9, -0.3, 0.2, (0.9, 1)),
    ("agree", 0.9, -0.3, 0.2, (0.3, None)),
    ("agree", 0.1, 0.9, 0.2, (0.5, None)),
    ("agree", 0.3, 0.9, 0.2, (0.6, 1)),
    ("agree", -0.3, -0.5, 0.2, (-0.4, 0)),
    ("mean", 0.0, 0.0, 0.0, (0.0, None)),  # zero has no sign even with no band
])
def test_policies(policy, tb, vd, band, expected):
    score, label = label_from_scores(SentimentScores(tb, vd), policy, band)
    assert score == pytest.approx(expected[0])
    assert label == expected[1]


def test_unknown_policy_and_bad_band_raise():
    with pytest.raises(ValueError, match="unknown labelling policy"):
        label_from_scores(SentimentScores(0.1, 0.1), "median")
    with pytest.raises(ValueError, match="neutral band"):
        label_from_scores(SentimentScores(0.1, 0.1), "mean", -0.1)
    assert set(POLICIES) == {"calibrated", "mean", "vader", "textblob", "agree"}


def test_textblob_negation_sees_contracted_negation():
    assert expand_negations("I don't love it; I won't, can't, ain't") == "I do not love it; I will not, can not, is not"
    s = score_sentiment("I don\u2019t love it")
    assert s.textblob > 0  # TextBlob alone ignores n't (the original method's blind spot) ...
    assert s.textblob_negation < 0  # ... the negation-aware score does not
    plain = score_sentiment("I love it")
    assert plain.textblob_negation == plain.textblob  # nothing to expand: same score


def test_vader_shares_are_returned():
    s = score_sentiment("I love it but I hate the ending")
    assert 0 < s.vader_pos < 1 and 0 < s.vader_neg < 1
    assert score_sentiment("The meeting is at noon").vader_neg == 0


def test_calibrated_policy_is_default_and_corrects_the_positive_lean():
    assert DEFAULT_POLICY == "calibrated"
    # equal lexicon weight on both sides: the negative share weighs more, so the balance tips negative
    mixed = SentimentScores(textblob=0.0, vader=0.0, vader_pos=0.3, vader_neg=0.3)
    score, label = label_from_scores(mixed, "calibrated", 0.0)
    assert score < 0 and label == 0
    assert label_from_scores(mixed, "mean", 0.0) == (0.0, None)
    strong = score_sentiment("This is wonderful, I love it, best day ever!")
    assert label_from_scores(strong, "calibrated")[1] == 1
    bad = score_sentiment("This is awful and I hate it.")
    assert label_from_scores(bad, "calibrated")[1] == 0
    # score = 2 p - 1 with p the model's probability
    z = CALIBRATED_MODEL.intercept + sum(w * getattr(strong, k) for k, w in CALIBRATED_MODEL.weights.items())
    assert label_from_scores(strong, "calibrated")[0] == pytest.approx(2 / (1 + math.exp(-z)) - 1)
