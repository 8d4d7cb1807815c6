import json

import numpy as np
import pandas as pd
import pytest

from pipelines import label_quality as cli
from weaklabel.label_quality import human_valence, labeling_function_summary, policy_quality, score_texts
from weaklabel.sentiment import CALIBRATED_MODEL, SentimentScores, apply_policy, scores_from_frame

from .conftest import SHARED_DATA, requires_shared

MELD = SHARED_DATA / "meld_dev_sent_emo.csv"


def test_human_valence_separates_neutral_from_missing():
    valence, neutral = human_valence(pd.Series(["positive", "Negative ", "neutral", None, 2.0, -0.5, 0.0]))
    np.testing.assert_array_equal(valence, [1, 0, np.nan, np.nan, 1, 0, np.nan])
    assert neutral.tolist() == [False, False, True, False, False, False, True]


def test_policy_quality_counts_by_hand():
    # 4 polar texts (2 pos, 2 neg) and 2 human-neutral ones
    valence = np.array([1, 1, 0, 0, np.nan, np.nan])
    neutral = np.array([False, False, False, False, True, True])
    score = np.array([0.9, 0.05, -0.6, 0.4, 0.5, 0.0])
    label = np.array([1, np.nan, 0, 1, 1, np.nan])  # one abstention, one wrong, one neutral labelled
    q = policy_quality(score, label, valence, neutral, n_bootstrap=0)
    assert q["coverage"] == pytest.approx(3 / 4)
    assert q["accuracy"] == pytest.approx(2 / 3)
    assert q["balanced_accuracy"] == pytest.approx((1.0 + 0.5) / 2)  # pos recall among labelled 1/1, neg 1/2
    assert q["precision_positive"] == pytest.approx(1 / 2) and q["precision_negative"] == 1.0
    assert q["recall_positive"] == pytest.approx(1 / 2) and q["recall_negative"] == pytest.approx(1 / 2)
    assert (q["labelled_positive"], q["labelled_negative"]) == (3, 1)
    assert q["human_neutral_labelled"] == 1 and q["human_neutral_labelled_share"] == 0.5
    assert q["roc_auc"] == pytest.approx(0.75)  # pairs (pos, neg): 0.9>-0.6, 0.9>0.4, 0.05>-0.6, 0.05<0.4


def test_scores_roundtrip_and_band_abstains():
    frame = score_texts(["I love it", "", "I hate it", None])
    assert frame.shape == (4, 5) and frame.iloc[1].isna().all() and frame.iloc[3].isna().all()
    scores = scores_from_frame(frame)
    assert scores[1] is None and isinstance(scores[0], SentimentScores)
    _, labels = apply_policy(scores, "mean", 0.2)
    assert labels[0] == 1 and labels[2] == 0 and np.isnan(labels[1])
    _, wide = apply_policy(scores, "mean", 1.0)
    assert np.isnan(wide).all()


def test_labeling_function_summary_overlap_and_conflict():
    scores = [SentimentScores(0.5, 0.5), SentimentScores(0.5, -0.5), SentimentScores(0.0, 0.5), None]
    rows = {r["function"]: r for r in labeling_function_summary(scores, pd.Series([1, 1, -1, 1]), 0.2)}
    assert rows["textblob"]["coverage"] == 0.5 and rows["vader"]["coverage"] == 0.75
    assert rows["textblob"]["overlaps"] == 0.5 and rows["textblob"]["conflicts"] == 0.25
    assert rows["vader"]["empirical_accuracy"] == pytest.approx(1 / 3)


def test_cli_on_a_csv_writes_tables(tmp_path, capsys):
    csv = tmp_path / "labels.tsv"
    pd.DataFrame({"text": ["I love this, it is wonderful", "This is terrible and I hate it", "It is on Monday",
                           "What a great day", "Awful, just awful"],
                  "sentiment": ["positive", "negative", "neutral", "positive", "negative"]}).to_csv(csv, sep="\t",
                                                                                                    index=False)
    assert cli.main(["--csv", str(csv), "--out", str(tmp_path / "out"), "--quiet", "--bands", "0.2"]) == 0
    record = json.loads((tmp_path / "out" / "label_quality.json").read_text())
    rows = {r["policy"]: r for r in record["rows"]}
    assert rows["mean"]["accuracy"] == 1.0 and rows["mean"]["coverage"] == 1.0
    assert rows["calibrated"]["roc_auc"] == 1.0
    assert record["tables"][0]["columns"][0] == "policy" and len(record["tables"][0]["rows"]) == 5
    assert "| calibrated (default) | 0.20 |" in (tmp_path / "out" / "label_quality.md").read_text()
    assert "Weak labels against human sentiment" in capsys.readouterr().out


def test_auc_interval_resamples_dialogues_when_the_csv_names_them(tmp_path):
    lines = ["I love this, it is wonderful", "This is terrible and I hate it", "What a great day",
             "Awful, just awful", "Such a lovely surprise", "I am so sad and angry"]
    csv = tmp_path / "meld.csv"
    pd.DataFrame({"Utterance": lines * 2, "Sentiment": ["positive", "negative"] * 6,
                  "Dialogue_ID": [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]}).to_csv(csv, index=False)
    assert cli.main(["--csv", str(csv), "--out", str(tmp_path / "out"), "--quiet", "--bands", "0.2"]) == 0
    record = json.loads((tmp_path / "out" / "label_quality.json").read_text())
    assert {(r["ci_resampling"], r["n_groups"]) for r in record["rows"]} == {("groups", 6)}
    assert "resamples whole groups (6 of them)" in record["tables"][0]["note"]
    assert cli.main(["--csv", str(csv), "--out", str(tmp_path / "out2"), "--quiet", "--bands", "0.2",
                     "--group-column", "Sentiment"]) == 0  # any column may be named
    record = json.loads((tmp_path / "out2" / "label_quality.json").read_text())
    assert {r["n_groups"] for r in record["rows"]} == {2}


def test_cli_errors_are_one_line(tmp_path, capsys):
    csv = tmp_path / "x.csv"
    csv.write_text("words,mood\nhello,positive\n")
    assert cli.main(["--csv", str(csv), "--quiet"]) == 2
    assert "no text column found" in capsys.readouterr().err


def test_cli_on_a_built_dataset_with_human_labels(tmp_path, small_mosei):
    from weaklabel.build import BuildConfig, build_dataset

    out = tmp_path / "build"
    build_dataset(BuildConfig(corpus="mosei", root=str(small_mosei)), out, workers=1)
    segments = pd.read_parquet(out / "segments.parquet")
    labels = segments[["video_id", "start", "end"]].copy()
    labels["sentiment"] = np.tile([2.0, -1.5, 0.0], 6)
    labels.to_csv(tmp_path / "labels.csv", index=False)
    assert cli.main(["--dataset", str(out), "--human-labels", str(tmp_path / "labels.csv"), "--quiet"]) == 0
    record = json.loads((out / "label_quality.json").read_text())
    row = next(r for r in record["rows"] if r["policy"] == "mean" and r["neutral_band"] == 0.2)
    assert (row["n_human_positive"], row["n_human_negative"], row["n_human_neutral"]) == (6, 6, 6)
    assert row["accuracy"] == 1.0 and row["coverage"] == 1.0


@requires_shared(MELD)
def test_meld_calibrated_default_beats_the_original_and_refits_to_the_shipped_weights():
    from weaklabel.label_model import fit_label_model, out_of_fold_probability

    meld = pd.read_csv(MELD)
    frame = score_texts(meld["Utterance"])
    valence, neutral = human_valence(meld["Sentiment"])
    refit = fit_label_model(frame, valence, fitted_on="test")
    assert refit.weights == pytest.approx(CALIBRATED_MODEL.weights, abs=2e-3)
    assert refit.intercept == pytest.approx(CALIBRATED_MODEL.intercept, abs=2e-3)
    # out of fold (grouped by dialogue), the calibrated labels beat the original mean at the default band
    p = out_of_fold_probability(frame, valence, meld["Dialogue_ID"].to_numpy())
    oof = 2 * p - 1
    calibrated = policy_quality(oof, np.where(oof >= 0.2, 1.0, np.where(oof <= -0.2, 0.0, np.nan)), valence, neutral,
                                n_bootstrap=0)
    score, label = apply_policy(scores_from_frame(frame), "mean", 0.2)
    original = policy_quality(score, label, valence, neutral, n_bootstrap=0)
    assert calibrated["balanced_accuracy"] > original["balanced_accuracy"] + 0.03
    assert calibrated["human_neutral_labelled"] < original["human_neutral_labelled"]
    # and it no longer labels more texts positive than negative among humans' negative-heavy lines
    assert original["labelled_positive"] > 2 * original["labelled_negative"]
    assert calibrated["labelled_positive"] < 1.7 * calibrated["labelled_negative"]
