"""model.json and metrics.json as typed records: every format this tool wrote reads through one from_dict, the current
one round-trips, a damaged record is refused saying why, and a model saved in an older format predicts the same
numbers as the same model saved now. Samples: tests/data/model_records (format 1 as efd8339's model_metadata wrote
it, format 2 as 96c1918's, format 3 as 259c16d's, format 4 this code's; metrics format 1 without format_version)."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from transfer.metrics_record import METRICS_FORMAT_VERSION, MetricsRecord
from transfer.metrics_schema import AGAINST_HUMAN, AGAINST_WEAK
from transfer.model_record import MODEL_FORMAT_VERSION, ModelRecord, model_record_problem

SAMPLES = Path(__file__).parent / "data" / "model_records"


def sample(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_every_written_model_format_reads(version):
    record = ModelRecord.from_dict(sample(f"format{version}"))
    assert record.format_version == version and record.clip_seconds == 7.0 and record.mel.sample_rate == 16000
    settings = record.features.settings
    assert record.features.name == "vgg16" and set(settings) >= {"layer", "pooling", "n_bands", "precision", "frames"}
    if version == 1:  # absent meant gap pooling, float32, full frames, 4 bands
        assert (settings["pooling"], settings["precision"], settings["frames"], settings["n_bands"]) == \
            ("gap", "float32", "full", 4)
        assert record.standardiser is None and record.train_config is None and record.test_metrics is None
    else:  # format 2's precision and frames at the top level are read into the settings
        assert (settings["pooling"], settings["precision"], settings["frames"]) == ("bands", "bfloat16", "speech")
    assert record.trained_on.build_fingerprint == "87e51d50fc8b" and record.head_kind == "logistic"


def test_the_current_model_format_round_trips_with_each_field_once():
    old = ModelRecord.from_dict(sample("format3"))
    written = old.to_dict()
    assert written == sample("format4") and written["format_version"] == MODEL_FORMAT_VERSION == 4
    assert "sample_rate" not in written and written["log_mel"]["sample_rate"] == 16000
    assert written["features"]["settings"]["precision"] == "bfloat16"
    again = ModelRecord.from_dict(written)
    assert replace(again, format_version=3) == old and again.to_dict() == written


@pytest.mark.parametrize("change, words", [
    (lambda r: r.update(format_version=MODEL_FORMAT_VERSION + 1), "newer version"),
    (lambda r: r.update(clip_seconds="7"), "clip_seconds"),
    (lambda r: r.update(log_mel={**r["log_mel"], "sample_rate": 22050}), "log_mel.sample_rate is 22050"),
    (lambda r: r.update(features=["vgg16"]), "not an extractor's record"),
    (lambda r: r.update(trained_on="build/demo"), "trained_on"),
])
def test_a_model_record_this_code_cannot_read_says_why(change, words):
    data = sample("format4")
    change(data)
    assert words in model_record_problem(data)
    with pytest.raises(ValueError, match=words.split(".")[0]):
        ModelRecord.from_dict(data)


@pytest.mark.parametrize("name", ["metrics_format1", "metrics_format2"])
def test_every_written_metrics_format_reads(name):
    metrics = MetricsRecord.from_dict(sample(name))
    assert metrics.format_version == (1 if name.endswith("1") else 2)
    assert metrics.head_test(AGAINST_WEAK)["roc_auc"] == 0.81 and metrics.head_test(AGAINST_HUMAN) is None
    assert metrics.head_test_metrics()[AGAINST_WEAK]["n_groups"] == 6 and metrics.extractor == "vgg16"
    assert metrics.model_titles()["head"] == "logistic head (VGG16 block2_conv2, bands4)"
    assert metrics.human_labels_note.startswith("the dataset carries no") and metrics.human_labels_source is None


def test_the_current_metrics_format_round_trips_every_key_written():
    written = MetricsRecord.from_dict(sample("metrics_format1")).to_dict()
    assert written == sample("metrics_format2") and written["format_version"] == METRICS_FORMAT_VERSION
    assert "human_labels_source" in written and written["human_labels_source"] is None
    assert MetricsRecord.from_dict(written).to_dict() == written


@pytest.mark.parametrize("change, words", [
    (lambda r: r.update(format_version=METRICS_FORMAT_VERSION + 1), "newer version"),
    (lambda r: r.update(against_weak_labels=[]), "against_weak_labels"),
    (lambda r: r.update(embedding="vgg16"), "embedding"),
])
def test_a_metrics_record_this_code_cannot_read_says_why(change, words):
    data = sample("metrics_format2")
    change(data)
    with pytest.raises(ValueError, match=words):
        MetricsRecord.from_dict(data)


def test_a_model_saved_in_an_older_format_predicts_the_same_numbers(tmp_path):
    """A head saved with a format-2 model.json (VGG16 settings at the top) and with the current format: the same
    extractor rebuilt, the same p(positive) for the same clips."""
    import keras

    from transfer.model import load_valence_model, save_valence_model
    from transfer.standardise import GroupStandardiser
    from weaklabel.logmel import LogMelParams

    mel = LogMelParams(n_mels=32)
    rng = np.random.default_rng(0)
    logmel = rng.normal(-40, 10, (3, 32, mel.frames_for_seconds(1.0))).astype(np.float32)
    old = {"format_version": 2, "clip_seconds": 1.0, "sample_rate": 16000, "log_mel": mel.to_dict(),
           "layer": "block1_conv2", "pooling": "gap",
           "weights": {"source": "random", "spec": "random", "sha256": "random-seed0", "path": None}}
    width = 64  # block1_conv2's channels, global-average pooled
    head = keras.Sequential([keras.Input((width,)), keras.layers.Dense(1, activation="sigmoid")])
    old["standardiser"] = GroupStandardiser(mean=rng.normal(0, 1, width), scale=rng.uniform(1, 2, width)).to_dict()
    (tmp_path / "old").mkdir()
    save_valence_model(tmp_path / "new", head, ModelRecord.from_dict(old))
    save_valence_model(tmp_path / "old", head, ModelRecord.from_dict(old))
    (tmp_path / "old" / "model.json").write_text(json.dumps(old))  # as a format-2 writer left it
    p_old = load_valence_model(tmp_path / "old").predict_logmel(logmel)
    p_new = load_valence_model(tmp_path / "new").predict_logmel(logmel)
    assert json.loads((tmp_path / "new" / "model.json").read_text())["format_version"] == MODEL_FORMAT_VERSION
    assert p_old.shape == (3,) and np.array_equal(p_old, p_new)
