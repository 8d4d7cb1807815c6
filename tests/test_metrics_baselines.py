"""foundation.metrics (AUC, bootstrap interval, ROC) and transfer.baselines (mel summaries, classical models)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from transfer.baselines import BASELINES, fit_predict_baseline, mel_summary_features
from foundation.metrics import INVERTED_TEXT, auc_verdict, binary_metrics, roc_auc_from_counts


def noisy_scores(n: int, seed: int = 0, separation: float = 1.0, decimals: int | None = None):
    """Labels (n,) and probabilities (n,) where positives score higher on average."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = 1 / (1 + np.exp(-(separation * (2 * y - 1) + rng.standard_normal(n))))
    if decimals is not None:
        p = np.round(p, decimals)  # creates ties
    return y, p


# ---------------------------------------------------------------- metrics


@pytest.mark.parametrize("decimals", [None, 1])
def test_auc_equals_sklearn_including_ties(decimals):
    y, p = noisy_scores(700, seed=3, separation=0.5, decimals=decimals)
    m = binary_metrics(y, p, n_bootstrap=0)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert 0.55 < m["roc_auc"] < 0.95


def test_weighted_auc_matches_sklearn_sample_weight():
    y, p = noisy_scores(200, seed=4, decimals=1)
    w = np.random.default_rng(0).integers(0, 4, size=(3, 200))
    got = roc_auc_from_counts(y, p, w)
    for row, auc in zip(w, got):
        assert auc == pytest.approx(roc_auc_score(y, p, sample_weight=row), abs=1e-12)


def test_perfect_and_inverted_predictors():
    y = np.array([0, 0, 0, 1, 1, 1, 0, 1])
    p = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9, 0.05, 0.6])
    perfect = binary_metrics(y, p, n_bootstrap=200)
    inverted = binary_metrics(y, 1 - p, n_bootstrap=200)
    assert perfect["roc_auc"] == 1.0 and inverted["roc_auc"] == 0.0
    assert perfect["roc_auc_ci95"] == [1.0, 1.0]
    assert inverted["roc_auc_ci95"] == [0.0, 0.0]
    assert perfect["accuracy"] == 1.0 and perfect["f1"] == 1.0 and perfect["balanced_accuracy"] == 1.0
    assert inverted["accuracy"] == 0.0 and inverted["f1"] == 0.0


def test_threshold_metrics_by_hand():
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0])
    p = np.array([0.9, 0.6, 0.4, 0.7, 0.2, 0.1, 0.3, 0.35])
    m = binary_metrics(y, p, n_bootstrap=0)  # predicted positive: 0.9, 0.6, 0.7 -> tp 2, fp 1, fn 1, tn 4
    assert m["n"] == 8 and m["n_positive"] == 3 and m["positive_share"] == pytest.approx(3 / 8)
    assert m["accuracy"] == pytest.approx(6 / 8)
    assert m["balanced_accuracy"] == pytest.approx((2 / 3 + 4 / 5) / 2)
    assert m["f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    m = binary_metrics(y, p, threshold=0.35, n_bootstrap=0)  # adds 0.4 (tp) and 0.35 (fp): p >= threshold
    assert m["threshold"] == 0.35
    assert m["accuracy"] == pytest.approx(6 / 8)
    assert m["f1"] == pytest.approx(2 * 3 / (2 * 3 + 2 + 0))


def test_ci_contains_estimate_and_narrows_with_more_data():
    small = binary_metrics(*noisy_scores(200, seed=1), n_bootstrap=500, seed=0)
    large = binary_metrics(*noisy_scores(5000, seed=1), n_bootstrap=500, seed=0)
    for m in (small, large):
        lo, hi = m["roc_auc_ci95"]
        assert lo < m["roc_auc"] < hi
        assert m["n_bootstrap_used"] == 500
    assert (large["roc_auc_ci95"][1] - large["roc_auc_ci95"][0]) < 0.5 * (small["roc_auc_ci95"][1]
                                                                          - small["roc_auc_ci95"][0])


def test_bootstrap_is_seeded():
    y, p = noisy_scores(300, seed=2)
    a = binary_metrics(y, p, seed=7)
    b = binary_metrics(y, p, seed=7)
    c = binary_metrics(y, p, seed=8)
    assert a == b
    assert a["roc_auc_ci95"] != c["roc_auc_ci95"]
    assert a["roc_auc"] == c["roc_auc"]


def test_bootstrap_skips_single_class_resamples():
    # 1 positive in 6: about (5/6)^6 = 33 % of resamples have no positive and must be skipped, not crash.
    y = np.array([1, 0, 0, 0, 0, 0])
    p = np.array([0.9, 0.1, 0.2, 0.3, 0.4, 0.95])
    m = binary_metrics(y, p, n_bootstrap=400, seed=0)
    assert 150 < m["n_bootstrap_used"] < 400
    lo, hi = m["roc_auc_ci95"]
    assert 0.0 <= lo <= m["roc_auc"] <= hi <= 1.0


def clustered_scores(n_groups: int = 12, per_group: int = 40, seed: int = 0):
    """Labels, probabilities and groups (each (n_groups * per_group,)) where the groups differ strongly:
    each group has its own share of positives and its own score offset, so the clips of one group are far
    from independent. Within a group positives still score a little higher."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(n_groups), per_group)
    share = rng.uniform(0.1, 0.9, n_groups)[groups]
    y = (rng.random(groups.size) < share).astype(int)
    offset = 2.0 * rng.standard_normal(n_groups)[groups]
    score = 0.6 * y + offset + 0.3 * rng.standard_normal(groups.size)
    return y, 1 / (1 + np.exp(-score)), groups


def test_cluster_bootstrap_is_wider_on_clustered_data_and_records_its_resampling():
    y, p, groups = clustered_scores()
    clips = binary_metrics(y, p, n_bootstrap=1000, seed=0)
    speakers = binary_metrics(y, p, n_bootstrap=1000, seed=0, groups=[f"spk{g}" for g in groups])
    assert (clips["ci_resampling"], clips["n_groups"]) == ("examples", None)
    assert (speakers["ci_resampling"], speakers["n_groups"]) == ("groups", 12)
    assert speakers["roc_auc"] == clips["roc_auc"]  # only the interval depends on the resampling
    width = {k: m["roc_auc_ci95"][1] - m["roc_auc_ci95"][0] for k, m in (("clips", clips), ("groups", speakers))}
    assert width["groups"] > 1.5 * width["clips"], width
    lo, hi = speakers["roc_auc_ci95"]
    assert lo < speakers["roc_auc"] < hi
    assert speakers == binary_metrics(y, p, n_bootstrap=1000, seed=0, groups=groups.astype(str))  # seeded
    json.dumps(speakers)


def test_cluster_bootstrap_with_one_example_per_group_matches_the_example_bootstrap_in_distribution():
    # Every example its own group: drawing groups is drawing examples, so the intervals agree closely
    # (different random streams, same distribution).
    y, p = noisy_scores(2000, seed=12)
    clips = binary_metrics(y, p, n_bootstrap=2000, seed=0)["roc_auc_ci95"]
    singletons = binary_metrics(y, p, n_bootstrap=2000, seed=1, groups=np.arange(2000))["roc_auc_ci95"]
    assert singletons == pytest.approx(clips, abs=0.006)


def test_cluster_bootstrap_weights_examples_by_their_group_draws():
    # Two groups, each of one class: a resample holds both classes only when it draws both groups once,
    # so every usable resample is the original data (AUC exactly the original) and about half are usable.
    y = np.array([1, 1, 1, 0, 0, 0])
    p = np.array([0.9, 0.4, 0.8, 0.5, 0.1, 0.2])
    m = binary_metrics(y, p, n_bootstrap=400, seed=3, groups=["a", "a", "a", "b", "b", "b"])
    assert m["roc_auc_ci95"] == [m["roc_auc"], m["roc_auc"]]
    assert 150 < m["n_bootstrap_used"] < 250


def test_cluster_bootstrap_with_a_single_group_gives_no_interval():
    y, p = noisy_scores(60, seed=13)
    m = binary_metrics(y, p, n_bootstrap=500, groups=np.full(60, "spk1"))
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, p))
    assert m["roc_auc_ci95"] is None and m["n_bootstrap_used"] == 0 and m["n_groups"] == 1
    assert "single group" in m["note"] and auc_verdict(m) == "undefined"


@pytest.mark.parametrize("groups, message", [
    (["a", "b"], "differ in length"),
    ([["a", "b", "c", "d"]], "one-dimensional"),
    (["a", None, "b", "b"], "None/NaN"),
    ([1.0, np.nan, 2.0, 2.0], "None/NaN"),
])
def test_group_validation(groups, message):
    with pytest.raises(ValueError, match=message):
        binary_metrics([0, 1, 0, 1], [0.2, 0.8, 0.3, 0.7], groups=groups)


@pytest.mark.parametrize("auc, ci, verdict", [
    (0.30, [0.20, 0.45], "inverted"),
    (0.45, [0.35, 0.55], "chance"),
    (0.50, [0.50, 0.50], "chance"),
    (0.70, [0.55, 0.85], "above chance"),
    (0.40, None, "undefined"),
    (None, None, "undefined"),
])
def test_auc_verdict(auc, ci, verdict):
    assert auc_verdict({"roc_auc": auc, "roc_auc_ci95": ci}) == verdict


def test_auc_verdict_on_real_metrics():
    y, p = noisy_scores(400, seed=14, separation=1.0)
    assert auc_verdict(binary_metrics(y, p)) == "above chance"
    assert auc_verdict(binary_metrics(y, 1 - p)) == "inverted"
    assert auc_verdict(binary_metrics(y, np.full(400, 0.5))) == "chance"
    assert "inverted" in INVERTED_TEXT and "negative" in INVERTED_TEXT


def test_a_side_too_small_to_mean_anything_is_not_a_result():
    """Below MIN_CLIPS_PER_CLASS clips of a class or MIN_GROUPS groups, a figure is "not a result" (issue 22)."""
    from foundation.metrics import MIN_CLIPS_PER_CLASS, MIN_GROUPS, not_a_result

    assert (MIN_CLIPS_PER_CLASS, MIN_GROUPS) == (10, 2)
    two = binary_metrics([0, 1], [0.2, 0.9], groups=["spk"] * 2, n_bootstrap=10)
    assert two["roc_auc"] == 1.0 and two["not_a_result"] == "not a result (n = 2, 1 group)"
    wrong = binary_metrics([0, 1], [0.9, 0.2], groups=["a", "b"], n_bootstrap=10)  # a "baseline AUC 0.000"
    assert wrong["roc_auc"] == 0.0 and wrong["not_a_result"] == "not a result (n = 2, 2 groups; 1 positive, 1 negative)"
    y = np.r_[np.zeros(10), np.ones(10)].astype(int)
    p = np.linspace(0.1, 0.9, 20)
    enough = binary_metrics(y, p, groups=np.tile(["a", "b"], 10), n_bootstrap=10)
    assert enough["not_a_result"] is None and not_a_result(enough) is None
    assert binary_metrics(y, p, n_bootstrap=10)["not_a_result"] is None  # no groups: the clips alone decide
    assert binary_metrics(y, p, groups=["a"] * 20, n_bootstrap=10)["not_a_result"] == "not a result (n = 20, 1 group)"
    short = binary_metrics(y[1:], p[1:], groups=np.tile(["a", "b"], 10)[1:], n_bootstrap=10)
    assert short["not_a_result"] == "not a result (n = 19, 2 groups; 9 negative)"
    assert not_a_result({"n": 0, "note": "no labelled clips in test"}) == "not a result (n = 0)"
    assert json.loads(json.dumps(two)) == two


@pytest.mark.parametrize("label", [0, 1])
def test_single_class_gives_none_and_note(label):
    m = binary_metrics(np.full(10, label), np.linspace(0, 1, 10))
    assert m["roc_auc"] is None and m["roc_auc_ci95"] is None and m["roc"] is None
    assert "only" in m["note"] and ("positive" if label else "negative") in m["note"]
    assert m["n_positive"] == 10 * label
    assert m["accuracy"] == pytest.approx(0.5)  # 5 of the 10 linspace values are >= 0.5
    json.dumps(m)


def test_result_is_json_serialisable_plain_types():
    y, p = noisy_scores(100, seed=6)
    m = binary_metrics(y.astype(np.int32), p.astype(np.float32), n_bootstrap=50)
    assert json.loads(json.dumps(m)) == m
    for key in ("n", "n_positive", "n_bootstrap_used"):
        assert type(m[key]) is int
    assert m["ci_resampling"] == "examples" and m["n_groups"] is None
    grouped = binary_metrics(y, p, n_bootstrap=50, groups=np.arange(100) % 7)
    assert json.loads(json.dumps(grouped)) == grouped and type(grouped["n_groups"]) is int
    for key in ("positive_share", "roc_auc", "accuracy", "balanced_accuracy", "f1", "threshold"):
        assert type(m[key]) is float
    assert all(type(v) is float for v in m["roc_auc_ci95"] + m["roc"]["fpr"] + m["roc"]["tpr"])


def test_booleans_accepted():
    y, p = noisy_scores(50, seed=9)
    assert binary_metrics(y.astype(bool), p, n_bootstrap=0)["roc_auc"] == pytest.approx(roc_auc_score(y, p))


@pytest.mark.parametrize("y, p, message", [
    ([0, 1, 2], [0.1, 0.2, 0.3], "only 0 and 1"),
    ([0, 1, np.nan], [0.1, 0.2, 0.3], "only 0 and 1"),
    ([0, 1], [0.1, 0.2, 0.3], "differ in length"),
    ([], [], "n=0"),
    ([0, 1], [0.1, 1.2], r"\[0, 1\]"),
    ([0, 1], [-0.1, 0.5], r"\[0, 1\]"),
    ([0, 1], [0.1, np.nan], "finite"),
    ([[0, 1]], [[0.1, 0.2]], "one-dimensional"),
    (["a", "b"], [0.1, 0.2], "0/1"),
])
def test_validation_errors(y, p, message):
    with pytest.raises(ValueError, match=message):
        binary_metrics(y, p)


@pytest.mark.parametrize("kwargs, message", [
    ({"threshold": 1.5}, "threshold"),
    ({"n_bootstrap": -1}, "n_bootstrap"),
    ({"max_roc_points": 1}, "max_roc_points"),
])
def test_parameter_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        binary_metrics([0, 1], [0.2, 0.8], **kwargs)


def test_roc_thinned_keeps_endpoints():
    y, p = noisy_scores(3000, seed=11, separation=0.3)
    full = binary_metrics(y, p, n_bootstrap=0, max_roc_points=100_000)["roc"]
    assert len(full["fpr"]) > 300  # the unthinned curve really is long
    roc = binary_metrics(y, p, n_bootstrap=0, max_roc_points=50)["roc"]
    assert len(roc["fpr"]) == len(roc["tpr"]) <= 50
    assert (roc["fpr"][0], roc["tpr"][0]) == (0.0, 0.0)
    assert (roc["fpr"][-1], roc["tpr"][-1]) == (1.0, 1.0)
    assert np.all(np.diff(roc["fpr"]) >= 0) and np.all(np.diff(roc["tpr"]) >= 0)
    # The kept points lie on the full curve.
    full_points = set(zip(full["fpr"], full["tpr"]))
    assert all(pt in full_points for pt in zip(roc["fpr"], roc["tpr"]))


# ---------------------------------------------------------------- mel summary features


def padded_clips() -> np.ndarray:
    """Two clips (2, 3 mels, 6 frames): clip 0 has 4 real frames then 2 padding frames at -100 dB;
    clip 1 is all padding."""
    x = np.full((2, 3, 6), -100.0, dtype=np.float32)
    x[0, :, :4] = np.array([[-10.0, -20.0, -30.0, -40.0],
                            [0.0, 0.0, 0.0, 0.0],
                            [-50.0, -99.5, -60.0, -70.0]])  # -99.5 is quiet but not padding
    return x


def test_mel_summary_ignores_padding():
    x = padded_clips()
    f = mel_summary_features(x)
    assert f.shape == (2, 6) and f.dtype == np.float32
    real = x[0, :, :4]
    np.testing.assert_allclose(f[0, :3], real.mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(f[0, 3:], real.std(axis=1), rtol=1e-6)
    # Including the padding would have pulled the means down by tens of dB.
    assert not np.allclose(f[0, :3], x[0].mean(axis=1), atol=1.0)
    np.testing.assert_array_equal(f[1], np.zeros(6, dtype=np.float32))


def test_mel_summary_threshold_is_on_the_frame_maximum():
    x = padded_clips()
    x[0, 0, 4] = -90.0  # one band above silence makes frame 4 real, even though the others are -100
    f = mel_summary_features(x)
    real = x[0, :, :5]
    np.testing.assert_allclose(f[0, :3], real.mean(axis=1), rtol=1e-6)
    # A stricter silence level turns the quiet frame into padding again.
    f_strict = mel_summary_features(x, silence_db=-89.0)
    np.testing.assert_allclose(f_strict[0, :3], x[0, :, :4].mean(axis=1), rtol=1e-6)


def test_mel_summary_float16_memmap_in_chunks(tmp_path):
    rng = np.random.default_rng(0)
    n, n_mels, n_frames = 600, 8, 20  # more than two chunks of 256 clips
    x = rng.uniform(-80, 10, size=(n, n_mels, n_frames)).astype(np.float16)
    lengths = rng.integers(0, n_frames + 1, size=n)
    for i, length in enumerate(lengths):
        x[i, :, length:] = -100.0
    np.save(tmp_path / "logmel.npy", x)
    mm = np.load(tmp_path / "logmel.npy", mmap_mode="r")
    assert isinstance(mm, np.memmap) and mm.dtype == np.float16
    f = mel_summary_features(mm)
    assert f.shape == (n, 2 * n_mels) and f.dtype == np.float32
    for i in (0, 255, 256, 511, 599, int(np.argmax(lengths == 0))):
        real = x[i, :, :lengths[i]].astype(np.float64)
        if lengths[i] == 0:
            np.testing.assert_array_equal(f[i], 0.0)
        else:
            np.testing.assert_allclose(f[i, :n_mels], real.mean(axis=1), rtol=1e-4, atol=1e-3)
            np.testing.assert_allclose(f[i, n_mels:], real.std(axis=1), rtol=1e-4, atol=1e-3)


def test_mel_summary_rejects_wrong_shape():
    with pytest.raises(ValueError, match="n_mels"):
        mel_summary_features(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="silence_db"):
        mel_summary_features(np.zeros((1, 2, 3)), silence_db=float("nan"))


# ---------------------------------------------------------------- baselines


def separable(n: int, n_features: int = 10, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.standard_normal((n, n_features))
    x[:, 0] += 3.0 * (2 * y - 1)
    x[:, 1] -= 2.0 * (2 * y - 1)
    return x, y


def test_registry_names_and_factories():
    assert set(BASELINES) == {"random_forest", "knn", "logistic_regression", "mlp"}
    for name, factory in BASELINES.items():
        est = factory(0)
        assert hasattr(est, "predict_proba") and not hasattr(est, "classes_"), name


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_baseline_learns_separable_problem(name):
    x_train, y_train = separable(400, seed=1)
    x_valid, y_valid = separable(200, seed=2)
    x_test, y_test = separable(150, seed=3)
    out = fit_predict_baseline(name, x_train, y_train, {"valid": x_valid, "test": x_test}, seed=0)
    assert list(out) == ["valid", "test"]
    for split, y in (("valid", y_valid), ("test", y_test)):
        p = out[split]
        assert p.shape == y.shape and p.dtype == np.float64
        assert np.all((p >= 0) & (p <= 1))
        assert roc_auc_score(y, p) > 0.9, (name, split)
    # p is the probability of class 1, not of class 0.
    assert p[y_test == 1].mean() > p[y_test == 0].mean()


@pytest.mark.parametrize("name", ["random_forest", "mlp"])
def test_seeded_baselines_are_reproducible(name):
    x, y = separable(200, seed=4)
    a = fit_predict_baseline(name, x, y, {"test": x[:20]}, seed=3)["test"]
    b = fit_predict_baseline(name, x, y, {"test": x[:20]}, seed=3)["test"]
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_tiny_training_set(name):
    x = np.array([[0.0, 0.1], [0.2, 0.0], [3.0, 3.1], [3.2, 2.9], [0.1, 0.3]])
    y = np.array([0, 0, 1, 1, 0])
    out = fit_predict_baseline(name, x, y, {"test": np.array([[0.05, 0.1], [3.1, 3.0]])})
    p = out["test"]
    assert p.shape == (2,) and np.all((p >= 0) & (p <= 1))
    if name == "knn":  # 15 neighbours capped at 5, distance-weighted
        assert p[1] > 0.5 > p[0]


def test_one_class_training_raises():
    x, _ = separable(20)
    with pytest.raises(ValueError, match="single class"):
        fit_predict_baseline("logistic_regression", x, np.ones(20, dtype=int), {"test": x})


def test_fit_predict_validation():
    x, y = separable(30)
    with pytest.raises(ValueError, match="unknown baseline"):
        fit_predict_baseline("svm", x, y, {})
    with pytest.raises(ValueError, match="features"):
        fit_predict_baseline("knn", x, y, {"test": x[:, :3]})
    with pytest.raises(ValueError, match="y_train"):
        fit_predict_baseline("knn", x, y[:-1], {})
    with pytest.raises(ValueError, match="only 0 and 1"):
        fit_predict_baseline("knn", x, y * 2, {})
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fit_predict_baseline("knn", bad, y, {})
    assert fit_predict_baseline("knn", x, y, {"empty": np.zeros((0, x.shape[1]))})["empty"].shape == (0,)


def test_paired_auc_difference_resamples_examples_or_whole_groups():
    """foundation.metrics.paired_auc_difference: the point difference is the plain one; the same resamples for
    both scores (identical scores differ by exactly 0); with groups, whole groups are drawn (one group: every
    resample is the whole set; groups of one class each: resamples that draw one group only are left out)."""
    from sklearn.metrics import roc_auc_score

    from foundation.metrics import paired_auc_difference

    rng = np.random.default_rng(3)
    y = np.repeat([0, 1], 30)
    p_a, p_b = rng.random(60), rng.random(60) + 0.3 * y
    d = paired_auc_difference(y, p_a, p_b, n_bootstrap=300, seed=1)
    assert d["difference"] == pytest.approx(roc_auc_score(y, p_b) - roc_auc_score(y, p_a))
    assert d["ci95"][0] < d["difference"] < d["ci95"][1] and d["resampling"] == "examples"
    same = paired_auc_difference(y, p_a, p_a, groups=np.arange(60) // 6, n_bootstrap=100)
    assert same["difference"] == 0 and same["ci95"] == [0.0, 0.0] and same["resampling"] == "groups"
    one = paired_auc_difference(y, p_a, p_b, groups=["s"] * 60, n_bootstrap=50)
    assert one["n_bootstrap"] == 50 and one["ci95"] == pytest.approx([one["difference"]] * 2)
    split = paired_auc_difference(y, p_a, p_b, groups=y, n_bootstrap=200, seed=0)
    assert 60 < split["n_bootstrap"] < 140  # about half the draws hold both speakers
