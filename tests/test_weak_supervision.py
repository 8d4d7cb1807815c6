"""The weak-supervision benchmark's parts: pairing, rotations, re-labelling, pooling, standardisation, the
logistic head, and the whole benchmark wired on a tiny generated acted corpus (random weights)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from transfer.features.vgg16_frames import band_pool, frames_at_layer, speech_frames
from transfer.standardise import GroupStandardiser
from weaklabel.build import BuildConfig, build_dataset
from weaklabel.relabel import Relabelling, relabel_dataset
from evaluation.weak_pairing import (load_sentences, pair_sentences, paired_manifest, speaker_rotations,
                                     weak_label_quality, write_rotation_folds)

from .conftest import embedding_config


# ------------------------------------------------------------------------------------------------ pairing

@pytest.mark.parametrize("p", [0.0, 0.5, 0.75, 1.0])
def test_pairing_matches_with_probability_p(p):
    rng = np.random.default_rng(0)
    clips = rng.integers(0, 2, 4000)
    sentences = np.array([0] * 30 + [1] * 12)
    chosen = pair_sentences(clips, sentences, p, seed=3)
    match = np.mean(sentences[chosen] == clips)
    assert match == pytest.approx(p, abs=0.03)
    assert np.array_equal(chosen, pair_sentences(clips, sentences, p, seed=3))  # seeded
    assert not np.array_equal(chosen, pair_sentences(clips, sentences, p, seed=4))
    # Reuse is as even as the counts allow: every sentence of a needed valence is used before any twice more.
    counts = np.bincount(chosen, minlength=len(sentences))
    for value in (0, 1):
        used = counts[sentences == value]
        if used.sum():
            assert used.max() - used.min() <= 1


def test_pairing_rejects_bad_input():
    with pytest.raises(ValueError, match="match probability"):
        pair_sentences([0, 1], [0, 1], 1.5)
    with pytest.raises(ValueError, match="no sentence of valence 1"):
        pair_sentences([1, 1], [0, 0], 1.0)


def test_rotations_keep_speakers_disjoint_and_test_each_once():
    speakers = [f"actor{i:02d}" for i in range(1, 13)]
    rotations = speaker_rotations(speakers * 3, n_test=4, n_validation=2)
    assert len(rotations) == 3
    tested = []
    for r in rotations:
        sides = [set(r.train), set(r.validation), set(r.test)]
        assert sum(map(len, sides)) == 12 and not (sides[0] & sides[1] or sides[0] & sides[2] or sides[1] & sides[2])
        assert len(r.test) == 4 and len(r.validation) == 2
        tested += r.test
    assert sorted(tested) == speakers
    assert rotations[0].test == ("actor09", "actor10", "actor11", "actor12")
    with pytest.raises(ValueError, match="cannot give"):
        speaker_rotations(["a", "b", "c"], n_test=2, n_validation=1)


def test_load_sentences_keeps_positive_and_negative(tmp_path):
    path = tmp_path / "meld.csv"
    pd.DataFrame({"Utterance": ["I love it!", "This is awful.", "Okay.", "  ", "Great, don’t stop"],
                  "Sentiment": ["positive", "negative", "neutral", "positive", "positive"]}).to_csv(path, index=False)
    sentences = load_sentences(path)
    assert sentences["valence"].tolist() == [1, 0, 1]
    assert sentences["text"].iloc[2] == "Great, don't stop"  # typography normalised
    with pytest.raises(ValueError, match="no column"):
        load_sentences(path, text_column="text")


# ---------------------------------------------------------------------------------- a tiny acted corpus

def _tone(f0: float, seconds: float, sr: int = 16000, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(seed)
    wave = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 5))
    return (0.2 * wave / 2 + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.fixture(scope="module")
def acted_corpus(tmp_path_factory):
    """RAVDESS-named clips, 4 actors x (4 happy + 4 sad): happy is higher-pitched, per actor."""
    root = tmp_path_factory.mktemp("acted")
    for actor in range(1, 5):
        folder = root / f"Actor_{actor:02d}"
        folder.mkdir()
        for take in range(4):
            for emotion, f0 in (("03", 260.0), ("04", 150.0)):
                f = f0 * (1 + 0.05 * actor) * (1 + 0.03 * take)
                name = f"03-01-{emotion}-01-01-{take + 1:02d}-{actor:02d}.wav"
                sf.write(folder / name, _tone(f, 1.0 + 0.1 * take, seed=actor * 10 + take), 16000)
    meld = root / "sentences.csv"
    pd.DataFrame({"Utterance": ["I love this, wonderful!", "What a great day, thank you!", "Fantastic news!",
                                "This is terrible, I hate it.", "Awful, just awful.", "I am so sad and angry."],
                  "Sentiment": ["positive"] * 3 + ["negative"] * 3}).to_csv(meld, index=False)
    return root, meld


def _manifest_for(acted_corpus, tmp_path, p=1.0):
    from evaluation.acted_corpora import read_ravdess

    root, meld = acted_corpus
    clips = read_ravdess(root)
    clips = clips[clips["valence"].isin(["positive", "negative"])].sort_values("path").reset_index(drop=True)
    clips["duration_s"] = [sf.info(path).duration for path in clips["path"]]
    sentences = load_sentences(meld)
    chosen = pair_sentences((clips["valence"] == "positive").astype(int), sentences["valence"], p, seed=0)
    return paired_manifest(clips, sentences, chosen)


def test_relabel_equals_a_fresh_build_with_that_policy_and_folds(acted_corpus, tmp_path):
    manifest = _manifest_for(acted_corpus, tmp_path, p=0.5)
    manifest_path = tmp_path / "manifest.csv"
    manifest.to_csv(manifest_path, index=False)
    rotation = speaker_rotations(manifest["speaker"], n_test=1, n_validation=1)[0]
    folds = write_rotation_folds(manifest, rotation, tmp_path / "folds.json")
    source = build_dataset(BuildConfig(corpus="manifest", root=str(manifest_path)), tmp_path / "src", workers=1).out_dir
    relabelled = relabel_dataset(source, tmp_path / "relabelled", Relabelling(policy="vader", neutral_band=0.1, folds=str(folds))).path
    fresh = build_dataset(BuildConfig(corpus="manifest", root=str(manifest_path), policy="vader", neutral_band=0.1,
                                      folds=str(folds)), tmp_path / "fresh", workers=1).out_dir
    pd.testing.assert_frame_equal(pd.read_parquet(relabelled / "segments.parquet"),
                                  pd.read_parquet(fresh / "segments.parquet"))
    a, b = (json.loads((d / "build.json").read_text()) for d in (relabelled, fresh))
    assert a["fingerprint"] == b["fingerprint"] and a["counts"] == b["counts"] and a["config"] == b["config"]
    assert (relabelled / "features/logmel.npy").read_bytes() == (fresh / "features/logmel.npy").read_bytes()
    segments = pd.read_parquet(relabelled / "segments.parquet")
    assert set(segments.loc[segments["speaker"].isin(rotation.test), "split"]) == {"test"}
    # The build's labels follow the text; the pairing at p = 0.5 gives labels near chance against the truth.
    quality = weak_label_quality(manifest, segments["label"].astype("Float64").to_numpy(dtype=float, na_value=np.nan))
    assert quality["clips"] == 32 and 0 < quality["coverage"] <= 1


# --------------------------------------------------------------------------------- pooling, standardising

def test_band_pool_uses_only_audio_frames_and_keeps_frequency():
    rng = np.random.default_rng(0)
    fm = rng.normal(size=(2, 8, 10, 3)).astype(np.float32)
    mask = np.zeros((2, 10), bool)
    mask[:, 2:7] = True
    out = band_pool(fm, mask, n_bands=2)
    assert out.shape == (2, 2 * 2 * 3)
    expected_mean = fm[0, :4, 2:7, :].mean(axis=0).mean(axis=0)  # band 0: rows 0-3, audio frames 2-6
    np.testing.assert_allclose(out[0, :3], expected_mean, rtol=1e-5)
    expected_std = fm[0, 4:, 2:7, :].mean(axis=0).std(axis=0)  # band 1's std over time
    np.testing.assert_allclose(out[0, 9:12], expected_std, rtol=1e-5)
    # What padding frames hold does not matter; a clip without audio frames uses all of them.
    changed = fm.copy()
    changed[:, :, 7:, :] = 1e3
    np.testing.assert_allclose(band_pool(changed, mask, 2), out, rtol=1e-6)
    assert np.isfinite(band_pool(fm, np.zeros((2, 10), bool), 2)).all()
    # Two clips whose energy sits in different bands differ; global pooling could not tell them apart.
    low, high = np.zeros((1, 8, 4, 1), np.float32), np.zeros((1, 8, 4, 1), np.float32)
    low[:, :4], high[:, 4:] = 1.0, 1.0
    ones = np.ones((1, 4), bool)
    assert low.mean() == high.mean() and not np.allclose(band_pool(low, ones, 2), band_pool(high, ones, 2))


def test_frame_masks_map_to_layer_resolution():
    mask = np.zeros((1, 438), bool)
    mask[0, :100] = True
    at = frames_at_layer(mask, 109)  # block3's time axis
    assert at.shape == (1, 109) and at[0, :24].all() and not at[0, 26:].any()
    logmel = np.full((1, 4, 5), -100.0, np.float32)
    logmel[0, 2, 1:3] = -20.0
    assert speech_frames(logmel).tolist() == [[False, True, True, False, False]]


def test_group_standardiser_per_group_and_fallback():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(5, 2, (20, 3)), rng.normal(-5, 1, (20, 3)), rng.normal(0, 1, (3, 3))])
    groups = np.array(["a"] * 20 + ["b"] * 20 + ["small"] * 3)
    std = GroupStandardiser(min_clips=8).fit(X[:40], groups[:40])
    Z = std.transform(X, groups)
    for g in ("a", "b"):
        np.testing.assert_allclose(Z[groups == g].mean(axis=0), 0, atol=1e-6)
        np.testing.assert_allclose(Z[groups == g].std(axis=0), 1, atol=1e-3)
    np.testing.assert_allclose(Z[groups == "small"], (X[groups == "small"] - std.mean) / std.scale, rtol=1e-5)
    assert np.all(std.scale < 2.5)  # pooled within-group spread, not the between-group one (about 5)
    again = GroupStandardiser.from_dict(json.loads(json.dumps(std.to_dict())))
    np.testing.assert_allclose(again.transform(X, groups), Z)
    assert np.array_equal(GroupStandardiser.from_dict(None).transform(X, groups), X.astype(np.float32))


def test_logistic_head_learns_and_exports_the_regression():
    from sklearn.metrics import roc_auc_score

    from transfer.head import HeadConfig, predict_head, train_logistic_head

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 20)) * np.linspace(1, 50, 20)
    y = (X[:, 3] / 4 + rng.normal(size=400) > 0).astype(int)
    head, info = train_logistic_head(X[:300], y[:300], None, HeadConfig(C=1.0))
    p = predict_head(head, X[300:])
    assert roc_auc_score(y[300:], p) > 0.9 and info["kind"] == "logistic"
    shuffled, _ = train_logistic_head(X[:300], rng.permutation(y[:300]), None, HeadConfig(C=1.0))
    assert abs(roc_auc_score(y[300:], predict_head(shuffled, X[300:])) - 0.5) < 0.15
    # Weights matter: zero weight on a clip is the same as leaving it out.
    w = np.ones(300)
    w[:100] = 0
    a, _ = train_logistic_head(X[:300], y[:300], w, HeadConfig(C=0.1))
    b, _ = train_logistic_head(X[100:300], y[100:300], None, HeadConfig(C=0.1))
    np.testing.assert_allclose(predict_head(a, X[300:]), predict_head(b, X[300:]), atol=2e-3)


# ---------------------------------------------------------------------------------- the whole benchmark

def test_weak_supervision_benchmark_runs_the_pipeline(acted_corpus, tmp_path):
    from evaluation.weak_benchmark import WeakSupervisionConfig, run_weak_supervision, write_weak_supervision

    root, meld = acted_corpus
    config = WeakSupervisionConfig(roots=(str(root),), sentences=str(meld), corpus="ravdess",
                                   probabilities=(0.5, 1.0), n_test=2, n_validation=1,
                                   references=False, embedding=embedding_config("vgg16"), workers=1,
                                   n_bootstrap=50)
    record = run_weak_supervision(config, tmp_path / "work")
    assert record["corpus"]["clips"] == 32 and record["corpus"]["speakers"] == [f"actor{i:02d}" for i in range(1, 5)]
    assert {(r["recipe"], r["p"]) for r in record["runs"]} == {("default", 0.5), ("default", 1.0)}
    assert len(record["runs"]) == 4  # 2 probabilities x 2 rotations
    for run in record["runs"]:
        assert run["test"]["n"] == 16 and run["test"]["ci_resampling"] == "groups"
        assert len(run["test_speakers"]) == 2 and run["n_train"] > 0
        assert run["verdict"] in ("above chance", "chance", "inverted")
    at_one = [r for r in record["runs"] if r["p"] == 1.0]
    assert all(r["weak_labels"]["sentence_match_rate"] == 1.0 and r["weak_labels"]["accuracy"] == 1.0
               for r in at_one)  # these sentences' text says their valence plainly
    rows = {(r["recipe"], r["p"]) for r in record["summary"]}
    assert rows == {("default", 0.5), ("default", 1.0)}
    json_path, md_path = write_weak_supervision(record, tmp_path / "out")
    assert json.loads(json_path.read_text())["kind"] == "weak_supervision"
    assert "Weak-supervision curve" in md_path.read_text()
    # A re-run reuses the builds and the embedding cache and gives the same figures.
    again = run_weak_supervision(config, tmp_path / "work")
    assert [r["test"]["roc_auc"] for r in again["runs"]] == [r["test"]["roc_auc"] for r in record["runs"]]
    from reporting.weak_curve import weak_supervision_section

    html = weak_supervision_section([{**record, "path": str(json_path)}]).body
    assert "<img" in html and "p = 0.5" in html


def test_rank_auc_equals_scikit_learn_with_ties_and_mean_over_rotations():
    from sklearn.metrics import roc_auc_score

    from evaluation.weak_benchmark import mean_auc_over_rotations, rank_auc

    rng = np.random.default_rng(0)
    parts = []
    for _ in range(3):
        y = rng.integers(0, 2, 120)
        p = np.round(rng.random(120) * 0.5 + 0.3 * y, 1)  # ties, and a signal
        assert rank_auc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
        parts.append((y, p, rng.choice(["a", "b", "c", "d"], 120)))
    pooled = mean_auc_over_rotations(parts, n_bootstrap=200)
    assert pooled["roc_auc"] == pytest.approx(np.mean([roc_auc_score(y, p) for y, p, _ in parts]))
    lo, hi = pooled["roc_auc_ci95"]
    assert lo < pooled["roc_auc"] < hi and pooled["n_speakers"] == 4 and pooled["n"] == 360


def test_interval_over_pairings_is_wider_when_pairings_disagree():
    from evaluation.weak_benchmark import mean_auc_over_rotations

    rng = np.random.default_rng(1)
    parts, pairings = [], []
    for pairing, strength in enumerate([0.0, 0.0, 1.2, 1.2]):  # two pairings learned nothing, two a lot
        for _ in range(2):
            y = rng.integers(0, 2, 200)
            parts.append((y, rng.normal(size=200) + strength * y, rng.choice(list("abcd"), 200)))
            pairings.append(pairing)
    fixed = mean_auc_over_rotations(parts, n_bootstrap=300)
    resampled = mean_auc_over_rotations(parts, n_bootstrap=300, pairings=pairings)
    assert resampled["ci_resampling"] == "pairings and speakers" and fixed["ci_resampling"] == "speakers"
    width = lambda r: r["roc_auc_ci95"][1] - r["roc_auc_ci95"][0]  # noqa: E731
    assert width(resampled) > 2 * width(fixed)
    assert set(resampled["per_pairing"]) == {"0", "1", "2", "3"}
