"""Labelling policies as objects: each gives the scores and labels of its rule, and its drawn abstain region is
exactly where it abstains (the report's picture and the rule cannot drift)."""
import itertools
import math

import numpy as np
import pytest

from weaklabel.sentiment import (CALIBRATED_MODEL, POLICIES, LabelingPolicy, SentimentScores, apply_policy,
                                 band_signs, label_from_scores)

BANDS = (0.0, 0.05, 0.1, 0.2, 0.25, 0.4, 1.0)
GRID = np.round(np.linspace(-1.0, 1.0, 41), 12)  # steps of 0.05: lands on every band and every tie


def sign(score, band):
    """The band rule, written out: a score on the band labels, inside it abstains, zero never labels."""
    if score > 0 and score >= band:
        return 1
    if score < 0 and score <= -band:
        return 0
    return None


def expected(policy, s, band):
    """What each policy gave before it became an object (the old ``policy_*`` functions)."""
    mean = (s.textblob + s.vader) / 2.0
    if policy == "mean":
        return mean, sign(mean, band)
    if policy == "vader":
        return s.vader, sign(s.vader, band)
    if policy == "textblob":
        return s.textblob, sign(s.textblob, band)
    if policy == "agree":
        tb, vd = sign(s.textblob, band), sign(s.vader, band)
        return mean, tb if tb is not None and tb == vd else None
    if policy == "calibrated":
        z = CALIBRATED_MODEL.intercept + sum(w * getattr(s, k) for k, w in CALIBRATED_MODEL.weights.items())
        score = 2.0 * (1.0 / (1.0 + math.exp(-z))) - 1.0
        return score, sign(score, band)
    raise AssertionError(policy)


def grid_scores():
    rng = np.random.default_rng(0)
    return [SentimentScores(float(tb), float(vd), vader_pos=float(rng.uniform(0, 1)),
                            vader_neg=float(rng.uniform(0, 1)), textblob_negation=float(rng.uniform(-1, 1)))
            for tb, vd in itertools.product(GRID, GRID)]


def test_policies_are_objects_in_a_fixed_order():
    assert list(POLICIES) == ["calibrated", "mean", "vader", "textblob", "agree"]
    for name, policy in POLICIES.items():
        assert isinstance(policy, LabelingPolicy) and policy.name == name
        assert policy.description and "\n" not in policy.description
        assert "0.3" in policy.abstains_where(0.3)


@pytest.mark.parametrize("name", ["calibrated", "mean", "vader", "textblob", "agree"])
def test_each_policy_gives_what_its_rule_gives(name):
    scores = grid_scores()
    policy = POLICIES[name]
    for band in BANDS:
        want = [expected(name, s, band) for s in scores]
        assert [policy(s, band) for s in scores] == want  # exact: same arithmetic, same ties
        assert [label_from_scores(s, name, band) for s in scores] == want
        score, label = apply_policy(scores + [None], name, band)
        assert np.array_equal(score[:-1], [w[0] for w in want]) and np.isnan(score[-1])
        assert np.array_equal(label, [np.nan if w[1] is None else w[1] for w in want] + [np.nan], equal_nan=True)
        assert np.array_equal(label, policy.apply(scores + [None], band)[1], equal_nan=True)


def test_band_signs_is_the_scalar_rule_over_arrays():
    values = np.concatenate([GRID, [np.nan]])
    for band in BANDS:
        want = [{1: 1, 0: -1, None: 0}[sign(v, band)] for v in GRID] + [0]
        assert band_signs(values, band).tolist() == want


@pytest.mark.parametrize("name", ["mean", "vader", "textblob", "agree"])
def test_drawn_region_is_exactly_where_the_policy_abstains(name):
    # Points on no boundary: odd multiples of 1/94 are never one of these bands, and sums of two (multiples of
    # 1/47, |sum| < 2) never twice one (0.5 is left out: 0.5 = 47/94 and 1 = 47/47).
    axis = (2 * np.arange(-47, 47) + 1) / 94.0
    tb, vd = (a.ravel() for a in np.meshgrid(axis, axis))
    policy = POLICIES[name]
    for band in (0.05, 0.1, 0.2, 0.25, 0.4, 0.45, 1.0):
        region = policy.abstain_region(band)
        assert region, name
        inside = np.zeros(tb.shape, bool)
        for shape in region:
            inside |= shape.contains(tb, vd)
        abstains = np.array([policy(SentimentScores(float(x), float(y)), band)[1] is None for x, y in zip(tb, vd)])
        assert np.array_equal(inside, abstains), (name, band)
        assert 0 < abstains.sum() < len(abstains) or band == 1.0


def test_calibrated_has_no_region_of_these_axes_and_says_so():
    policy = POLICIES["calibrated"]
    assert policy.abstain_region(0.2) is None
    assert "not a region" in policy.abstains_where(0.2)
    # the same TextBlob and VADER scores get different labels: no picture on these axes could be right
    a = SentimentScores(0.1, 0.1, vader_pos=0.9, vader_neg=0.0)
    b = SentimentScores(0.1, 0.1, vader_pos=0.0, vader_neg=0.6)
    assert policy(a, 0.2)[1] == 1 and policy(b, 0.2)[1] == 0
