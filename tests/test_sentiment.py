import pytest
from textblob import TextBlob
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from weaklabel.sentiment import POLICIES, label_from_scores, normalize_text, score_sentiment


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
    score, label = label_from_scores(tb, vd, policy, band)
    assert score == pytest.approx(expected[0])
    assert label == expected[1]


def test_unknown_policy_and_bad_band_raise():
    with pytest.raises(ValueError, match="unknown labelling policy"):
        label_from_scores(0.1, 0.1, "median")
    with pytest.raises(ValueError, match="neutral band"):
        label_from_scores(0.1, 0.1, "mean", -0.1)
    assert set(POLICIES) == {"mean", "vader", "textblob", "agree"}
