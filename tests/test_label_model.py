"""Label models as artefacts: fitted by a command on labelled sentences, saved with what they were fitted on, given
to the build with --label-model (recorded and fingerprinted), scored out of fold on their own data."""
import json

import numpy as np
import pandas as pd
import pytest

from pipelines import label_model as cli
from weaklabel.config import resolve_build_config
from weaklabel.label_model import (BAND_GRID, LABEL_MODEL_FORMAT, SHIPPED_DIR, LabelModel, fit_label_model, load_label_model,
                                   out_of_fold_score, save_label_model, shipped_label_model, target_classes)

POSITIVE = ["I love this, it is wonderful", "What a great and happy day", "This is excellent, thank you so much",
            "Best gift ever, I adore it", "Such a lovely, kind surprise", "I am delighted and grateful"]
NEGATIVE = ["I hate this, it is awful", "What a terrible and sad day", "This is horrible, I am so angry",
            "Worst thing ever, I despise it", "Such a nasty, cruel trick", "I am miserable and upset"]
NEUTRAL = ["The meeting is on Tuesday", "It is a table", "The bus leaves at six", "We have two cats",
           "The report has ten pages", "He walked to the station"]


def labelled_frame(repeat: int = 3) -> pd.DataFrame:
    rows = []
    for k in range(repeat):
        for group, texts, label in (("p", POSITIVE, "positive"), ("n", NEGATIVE, "negative"),
                                    ("0", NEUTRAL, "neutral")):
            rows += [{"text": f"{t}." if k else t, "sentiment": label, "dialogue": f"{group}{i % 3}"}
                     for i, t in enumerate(texts)]
    return pd.DataFrame(rows)


def test_target_classes_have_a_neutral_class_only_with_neutral_rows():
    y, classes = target_classes([1, 0, np.nan], [False, False, True])
    assert classes == ("negative", "neutral", "positive") and y.tolist() == [2, 0, 1]
    y, classes = target_classes([1, 0, np.nan])
    assert classes == ("negative", "positive") and y.tolist() == [1, 0, -1]


def test_a_two_class_model_has_no_intercept_so_no_evidence_abstains():
    rng = np.random.default_rng(0)
    x = np.r_[rng.uniform(0.2, 1, 40), rng.uniform(-1, -0.2, 60)]  # more negatives: a fitted intercept would lean
    valence = np.r_[np.ones(40), np.zeros(60)]
    model = fit_label_model({"vader": x}, valence, ["vader"], "toy")
    assert model.classes == ("negative", "positive") and model.intercepts == (0.0, 0.0)
    assert model.score({"vader": np.array([0.0])})[0] == 0.0
    assert model.score({"vader": np.array([0.8])})[0] > 0.5


def test_save_load_round_trip_and_a_bad_file_is_named(tmp_path):
    model = fit_label_model({"vader": np.r_[np.linspace(0.2, 1, 10), np.linspace(-1, -0.2, 10)]},
                            np.r_[np.ones(10), np.zeros(10)], ["vader"], "toy", fitted_on=[{"file": "x.csv"}])
    saved = save_label_model(model, tmp_path / "m.json")
    again = load_label_model(tmp_path / "m.json")
    assert again == saved and saved.sha256 and json.loads((tmp_path / "m.json").read_text())["format"] == \
        LABEL_MODEL_FORMAT
    for text, match in (("{", "not JSON"), ('{"format": "other"}', "not a label-model file"),
                        (json.dumps({**model.record(), "weights": [[1.0]]}), "malformed")):
        (tmp_path / "bad.json").write_text(text)
        with pytest.raises(ValueError, match=match):
            load_label_model(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="cannot read"):
        load_label_model(tmp_path / "missing.json")


def test_shipped_models_say_what_they_were_fitted_on_and_only_permissive_data():
    for path in sorted(SHIPPED_DIR.glob("*.json")):
        model = load_label_model(path)
        assert model.fitted_on and model.out_of_fold.get("roc_auc", 0) > 0.6, path.name
        assert all(d["licence"] in ("CC BY 4.0", "MIT") and len(d["sha256"]) == 64 for d in model.fitted_on)
        assert not any("meld" in d["file"].lower() or "emobank" in d["file"].lower() for d in model.fitted_on)
        assert model.classes == ("negative", "neutral", "positive")
    assert shipped_label_model("lexicon").features == ("textblob_negation", "vader", "vader_pos", "vader_neg")


def test_the_band_rule_keeps_a_third_and_prefers_balanced_accuracy():
    from weaklabel.label_model import choose_band

    valence = np.r_[np.ones(50), np.zeros(50)]
    right = np.r_[np.linspace(0.05, 0.9, 50), -np.linspace(0.05, 0.9, 50)]  # every sign right
    assert choose_band(right, valence) == BAND_GRID[0]  # as accurate at every band: the most labels
    unsure = right.copy()
    unsure[:12] = -unsure[:12]  # the 12 least confident positives (|score| < 0.26) are wrong
    assert choose_band(unsure, valence) == 0.3  # the smallest band without them
    assert choose_band(np.zeros(100), valence) == BAND_GRID[0]  # none labels a third: the smallest


def test_out_of_fold_scores_never_come_from_a_model_that_saw_the_group():
    x = np.r_[np.full(10, 0.9), np.full(10, -0.9)]
    valence = np.r_[np.ones(10), np.zeros(10)]
    groups = np.arange(20) % 5
    oof = out_of_fold_score({"vader": x}, valence, groups, ["vader"])
    assert np.all(np.isfinite(oof)) and np.all(oof[:10] > 0) and np.all(oof[10:] < 0)
    with pytest.raises(ValueError, match="two groups"):
        out_of_fold_score({"vader": x}, valence, np.zeros(20), ["vader"])


def test_the_command_fits_on_a_users_file_and_the_build_records_the_model(tmp_path, small_mosei, capsys):
    csv = tmp_path / "mine.csv"
    labelled_frame().to_csv(csv, index=False)
    out = tmp_path / "mine.json"
    assert cli.main(["--csv", str(csv), "--out", str(out), "--features", "vader", "textblob_negation",
                     "--group-column", "dialogue", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "calibrated (mine)" in printed and "out of fold ROC AUC" in printed
    model = load_label_model(out)
    assert model.features == ("vader", "textblob_negation") and model.classes[1] == "neutral"
    assert model.fitted_on[0]["file"] == "mine.csv" and model.fitted_on[0]["neutral"] == 18
    assert model.out_of_fold["roc_auc"] > 0.8 and model.out_of_fold["grouped_by"] == "dialogue"
    assert model.band in BAND_GRID and "balanced accuracy" in model.out_of_fold["band_rule"]

    from weaklabel.build import BuildConfig, build_dataset

    config = BuildConfig(corpus="mosei", root=str(small_mosei), label_model=str(out))
    assert resolve_build_config(config).policy == "calibrated"  # auto with a label model: the model's policy
    assert resolve_build_config(config).neutral_band == model.band  # and the band chosen for it on its data
    dataset = build_dataset(config, tmp_path / "build", workers=1)
    recorded = dataset.record.config_record
    assert recorded["label_model_sha256"] == model.sha256
    assert recorded["policy_model"]["features"] == ["vader", "textblob_negation"]
    assert "e5" not in dataset.segments.columns  # the model reads lexicons only: E5 is not run
    labels = dataset.segments.set_index("segment_id")["label"]
    assert labels["vid0_0"] == 1 and labels["vid0_1"] == 0
    # another model file is another build
    other = BuildConfig(corpus="mosei", root=str(small_mosei), label_model=str(shipped_label_model("lexicon").path))
    assert other.fingerprint() != config.fingerprint()


def test_label_quality_scores_a_model_out_of_fold_on_the_file_it_was_fitted_on(tmp_path):
    from weaklabel.label_quality import LabelQualityConfig, label_quality

    csv = tmp_path / "mine.csv"
    labelled_frame().to_csv(csv, index=False)
    assert cli.main(["--csv", str(csv), "--out", str(tmp_path / "m.json"), "--features", "vader",
                     "--group-column", "dialogue", "--quiet"]) == 0
    report = label_quality(csv, config=LabelQualityConfig(label_model=str(tmp_path / "m.json"),
                                                          group_column="dialogue", policies=("mean",)))
    assert report["label_models"]["calibrated (m.json)"]["scored_out_of_fold"] is True
    assert "scored out of fold" in report["tables"][0]["note"]
    other = tmp_path / "other.csv"
    labelled_frame(2).to_csv(other, index=False)
    report = label_quality(other, config=LabelQualityConfig(label_model=str(tmp_path / "m.json"), policies=("mean",)))
    assert report["label_models"]["calibrated (m.json)"]["scored_out_of_fold"] is False


def test_a_label_model_for_another_policy_or_a_bad_file_fails_at_the_boundary(tmp_path, small_mosei):
    from weaklabel.build import BuildConfig

    (tmp_path / "bad.json").write_text("{}")
    declared = BuildConfig(corpus="mosei", root=str(small_mosei), label_model=str(tmp_path / "bad.json"))
    with pytest.raises(ValueError, match="not a label-model file"):  # read when the build resolves it
        resolve_build_config(declared)
    with pytest.raises(ValueError, match="has none"):
        resolve_build_config(BuildConfig(corpus="mosei", root=str(small_mosei), policy="mean",
                                         label_model=str(shipped_label_model("lexicon").path)))
    assert isinstance(shipped_label_model("calibrated"), LabelModel)


def test_a_model_file_naming_an_unknown_scorer_column_is_refused_in_one_line(tmp_path, small_mosei, capsys):
    from pipelines import build_dataset as build_cli
    from pipelines import label_quality as quality_cli

    bad = tmp_path / "sentiwordnet.json"
    bad.write_text(json.dumps({**shipped_label_model("lexicon").record(), "features": ["sentiwordnet", "vader",
                                                                                     "language", "vader_neg"]}))
    with pytest.raises(ValueError, match="reads 'sentiwordnet', 'language', which no scorer writes as a score; "
                                         "the scorers' columns it can read: language_p, textblob, "):
        load_label_model(bad)
    assert build_cli.main(["--root", str(small_mosei), "--out", str(tmp_path / "out"), "--label-model", str(bad)]) == 2
    csv = tmp_path / "mine.csv"
    labelled_frame(1).to_csv(csv, index=False)
    assert quality_cli.main(["--csv", str(csv), "--label-model", str(bad), "--policies", "mean", "--quiet",
                             "--out", str(tmp_path / "quality")]) == 2
    for err in capsys.readouterr().err.strip().split("\n"):
        assert err.startswith("error: ") and "'sentiwordnet'" in err and "e5" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("keep, says", [(("positive",), "the labels hold only one class, positive (6 sentences), "
                                                       "no negative sentence"),
                                        (("positive", "neutral"), "the labels hold 6 positive, 6 neutral, no negative "
                                                                  "sentence"),
                                        (("neutral",), "only one class, neutral (6 sentences), no positive and no "
                                                       "negative sentence")])
def test_labels_of_one_class_are_refused_saying_which_and_what_to_do(tmp_path, capsys, keep, says):
    frame = labelled_frame(1)
    frame[frame["sentiment"].isin(keep)].to_csv(tmp_path / "one.csv", index=False)
    assert cli.main(["--csv", str(tmp_path / "one.csv"), "--out", str(tmp_path / "m.json"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and says in err and "--label-column" in err
    assert not (tmp_path / "m.json").exists()


def test_groups_of_one_class_each_are_refused_saying_so(tmp_path, capsys):
    frame = labelled_frame(2)
    frame = frame[frame["sentiment"] != "neutral"].assign(dialogue=lambda f: f["sentiment"])
    frame.to_csv(tmp_path / "two.csv", index=False)
    assert cli.main(["--csv", str(tmp_path / "two.csv"), "--out", str(tmp_path / "m.json"), "--features", "vader",
                     "--group-column", "dialogue", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "no out-of-fold figures" in err


def test_the_fit_says_what_it_will_score_then_counts_up_to_it(tmp_path):
    from weaklabel.label_model_fit import LabelModelConfig, fit_label_model_file

    labelled_frame().to_csv(tmp_path / "mine.csv", index=False)
    started, done = [], []
    fit_label_model_file(tmp_path / "mine.csv", LabelModelConfig(features=("vader",), group_column="dialogue"),
                         progress=done.append, on_start=started.append)
    assert len(started) == 1 and started[0] == sum(done) > 0  # pipelines.label_model's bar: total, then progress
