"""predict's table: every second of a file counted once in its score, a predicted label, a note said once."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf

from transfer.model import ValenceModel, window_spans
from transfer.model_record import ModelRecord
from weaklabel.logmel import LogMelParams

CLIP_S, HOP_S, SR = 7.0, 3.5, 16000


class _LevelEmbedder:
    """Stands in for VGG16 (a transfer.features.ClipEmbedder): a window's "embedding" is its mean log-mel level (dB)."""

    dim, needs_logmel, needs_audio = 1, True, False

    def embed(self, samples, logmel, batch_size=16):
        return np.asarray(logmel, dtype=np.float64).mean(axis=(1, 2))[:, None]


class _Logistic:
    """Stands in for the head: p(positive) rises with the level (-60 dB -> 0.5)."""

    def predict(self, X, verbose=0, batch_size=1024):
        return 1.0 / (1.0 + np.exp(-(np.asarray(X)[:, :1] + 60.0) / 3.0))


def stub_model(tmp_path) -> ValenceModel:
    meta = ModelRecord.from_dict({"format_version": 2, "clip_seconds": CLIP_S,
                                  "log_mel": LogMelParams(n_mels=32).to_dict(), "layer": "stub",
                                  "weights": {"source": "random", "spec": "random", "sha256": "stub"}})
    return ValenceModel(tmp_path, meta, _Logistic(), _embedder=_LevelEmbedder())


def ramp(path, seconds: float) -> None:
    """Noise getting louder through the file, so every window scores differently."""
    n = int(round(seconds * SR))
    rng = np.random.default_rng(0)
    sf.write(path, (np.geomspace(1e-4, 0.5, n) * rng.standard_normal(n)).astype(np.float32), SR)


def test_window_weights_count_every_second_of_the_file_once():
    from transfer.model import window_weights

    for seconds in (45.5, 45.524, 20.0, 7.0, 3.0):
        spans = window_spans(seconds, CLIP_S, HOP_S)
        weights = window_weights(spans)
        assert weights.sum() == pytest.approx(seconds)  # the file, once: no stretch counted twice
        assert (weights > 0).all() and weights[0] == pytest.approx(min(seconds, CLIP_S))
    spans = window_spans(45.524, CLIP_S, HOP_S)
    assert spans[-1][0] - spans[-2][0] == pytest.approx(0.024)  # aligned to the end: 24 ms after the previous one
    assert window_weights(spans)[-1] == pytest.approx(0.024)  # ... and it adds 24 ms to the file's mean, not 7 s


@pytest.mark.parametrize("seconds", [45.5, 45.524])
def test_a_file_s_score_weights_each_window_by_the_seconds_it_adds(tmp_path, seconds):
    from transfer.model import DECISION_THRESHOLD, predict, window_weights

    ramp(tmp_path / "long.wav", seconds)
    scores = predict(stub_model(tmp_path), [tmp_path / "long.wav"])
    windows, (file_row,) = scores[scores["kind"] == "window"], scores[scores["kind"] == "file"].to_dict("records")
    spans = list(zip(windows["start_s"], windows["end_s"]))
    np.testing.assert_allclose(spans, window_spans(seconds, CLIP_S, HOP_S), atol=1e-3)
    p = windows["p_positive"].to_numpy()
    expected = np.average(p, weights=window_weights(spans))
    assert file_row["p_positive"] == pytest.approx(expected)
    if seconds == 45.524:  # the plain mean counted the last stretch twice (its window almost all overlap)
        assert abs(np.mean(p) - expected) > 1e-3
    # The predicted label beside each probability: positive from DECISION_THRESHOLD (0.5) up.
    assert DECISION_THRESHOLD == 0.5
    assert set(windows["label"]) == {"positive", "negative"}  # the ramp crosses the threshold
    for row in scores.to_dict("records"):
        assert row["label"] == ("positive" if row["p_positive"] >= 0.5 else "negative")


def test_a_short_file_s_note_is_said_once_and_an_error_has_no_label(tmp_path, monkeypatch, capsys):
    from pipelines import predict as cli
    from transfer import model as model_module

    ramp(tmp_path / "short.wav", 2.0)
    (tmp_path / "broken.wav").write_bytes(b"RIFF not really a wav")
    monkeypatch.setattr(model_module, "load_valence_model", lambda folder: stub_model(tmp_path))
    assert cli.main(["--model", str(tmp_path), str(tmp_path / "short.wav"), str(tmp_path / "broken.wav")]) == 1
    out, err = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["file", "kind", "start_s", "end_s", "p_positive", "label", "error", "note"]
    window, short, broken = rows
    assert window["kind"] == "window" and window["note"] == "" and window["label"] in ("positive", "negative")
    assert short["kind"] == "file" and "padded with 5.000 s of silence" in short["note"]
    assert str(tmp_path) not in short["note"]  # the file column names the file
    assert broken["error"] and broken["label"] == "" and broken["p_positive"] == ""
    assert "padded" not in err  # the note is in the table, once
    assert err.count("error:") == 1 and "broken.wav" in err


def grouped_stub(tmp_path) -> ValenceModel:
    """The stub model with a per-group standardiser: groups of 8+ windows by their own statistics, smaller ones by
    a fallback (mean +100 dB, spread 1 dB) far above the files' levels, so which one was used shows in p."""
    from transfer.standardise import GroupStandardiser

    model = stub_model(tmp_path)
    model.meta = replace(model.meta, standardiser=GroupStandardiser(min_clips=8, mean=np.array([100.0]),
                                                                    scale=np.array([1.0])).to_dict())

    class Identity:  # p = sigmoid(standardised level)
        def predict(self, X, verbose=0, batch_size=1024):
            return 1.0 / (1.0 + np.exp(-np.asarray(X)[:, :1]))

    model.head = Identity()
    return model


def test_files_of_one_speaker_are_standardised_together(tmp_path):
    """Three 14 s files of one speaker (3 windows each): alone each is too short for its own statistics and uses the
    training fallback; grouped by folder or by a manifest column their 9 windows are standardised together, as
    training standardised each speaker's clips. A file alone in its folder still uses the fallback."""
    from transfer.model import PredictConfig, predict

    speaker = tmp_path / "speaker_a"
    speaker.mkdir()
    files = []
    for i in range(3):
        ramp(speaker / f"take{i}.wav", 14.0)
        files.append(speaker / f"take{i}.wav")
    (tmp_path / "solo").mkdir()
    ramp(tmp_path / "solo" / "alone.wav", 14.0)
    files.append(tmp_path / "solo" / "alone.wav")

    def logits(scores, names):
        rows = scores[(scores["kind"] == "window") & scores["file"].isin([str(f) for f in names])]
        return np.log(rows["p_positive"] / (1 - rows["p_positive"])).to_numpy()

    model = grouped_stub(tmp_path)
    per_file = predict(model, files)
    assert (logits(per_file, files[:3]) < -50).all()  # the fallback: levels far below its +100 dB mean
    by_folder = predict(model, files, PredictConfig(groups="folder"))
    z = logits(by_folder, files[:3])
    assert len(z) == 9 and abs(z.mean()) < 1e-3 and z.std() == pytest.approx(1.0, abs=1e-3)  # own statistics
    np.testing.assert_allclose(logits(by_folder, files[3:]), logits(per_file, files[3:]))  # alone: the fallback
    manifest = tmp_path / "speakers.csv"
    manifest.write_text("path,speaker\n" + "".join(f"{f.relative_to(tmp_path)},A\n" for f in files[:3]))
    by_manifest = predict(model, files, PredictConfig(groups="manifest", group_manifest=str(manifest)))
    np.testing.assert_allclose(by_manifest["p_positive"], by_folder["p_positive"])
    explicit = predict(model, files, groups=["A", "A", "A", "B"])  # the Python API: one group per path
    np.testing.assert_allclose(explicit["p_positive"], by_folder["p_positive"])
    assert list(by_folder["file"].drop_duplicates()) == [str(f) for f in files]  # rows in the order given
    with pytest.raises(ValueError, match="go together"):
        PredictConfig(groups="manifest")
    bad = tmp_path / "bad.csv"
    bad.write_text("file,who\nx,y\n")
    with pytest.raises(ValueError, match="needs a path column"):
        predict(model, files, PredictConfig(groups="manifest", group_manifest=str(bad)))


def test_predict_memory_does_not_follow_the_recording_s_length(tmp_path):
    """Python's peak allocation (tracemalloc: deterministic, unlike resident memory) while scoring a 10-minute file
    stays near that of a 1-minute one: windows are decoded, featurised and embedded a chunk at a time, and only
    each window's embedding is kept (here 512 float32); the group's statistics and the head's batches are computed
    without a float64 copy of every window. Before, the end of a file held six (n, dim) copies."""
    import tracemalloc

    from transfer.model import predict
    from transfer.standardise import GroupStandardiser

    dim = 512

    class Spread(_LevelEmbedder):  # a window's level in every one of `dim` columns, each shifted
        def embed(self, samples, logmel, batch_size=16):
            return super().embed(samples, logmel)[:, :1].astype(np.float32) + np.arange(dim, dtype=np.float32) / dim

    meta = {"format_version": 2, "clip_seconds": 1.0, "log_mel": LogMelParams(n_mels=32).to_dict(), "layer": "stub",
            "weights": {"source": "random", "spec": "random", "sha256": "stub"},
            "standardiser": GroupStandardiser(min_clips=8, mean=np.zeros(dim), scale=np.ones(dim)).to_dict()}
    model = ValenceModel(tmp_path, ModelRecord.from_dict(meta), _Logistic(), _embedder=Spread())
    peaks = []
    for minutes in (1, 10):
        path = tmp_path / f"{minutes}min.wav"
        n = minutes * 60 * SR
        sf.write(path, (0.1 * np.random.default_rng(minutes).standard_normal(n)).astype(np.float32), SR,
                 subtype="PCM_16")
        tracemalloc.start()
        try:
            scores = predict(model, [path])
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert (scores["kind"] == "window").sum() == 2 * minutes * 60 - 1  # 1 s windows every 0.5 s
    assert peaks[1] < 1.5 * peaks[0], [f"{p / 2 ** 20:.1f} MiB" for p in peaks]


@pytest.mark.parametrize("sizes, standardiser", [
    ((700, 500, 3), {"min_clips": 8}),  # one group over three files, 1,203 windows: two head batches across files
    ((3, 2), {"min_clips": 8}),         # too few windows: the training fallback
    ((20,), None),                      # a model from before standardisation: the identity
])
def test_a_group_s_scores_are_the_bytes_of_scoring_its_windows_at_once(tmp_path, sizes, standardiser):
    """predict_group (statistics a block of columns at a time, the head a batch at a time) gives exactly what
    predict_embeddings gives for the concatenated windows as one group."""
    from transfer.standardise import GroupStandardiser

    rng = np.random.default_rng(3)
    dim = 200
    model = stub_model(tmp_path)

    class Linear:  # a head that reads every column
        w = rng.standard_normal(dim)

        def predict(self, X, verbose=0, batch_size=1024):
            return 1.0 / (1.0 + np.exp(-(np.asarray(X, np.float64) @ self.w)[:, None] / 10))

    model.head = Linear()
    if standardiser is not None:
        model.meta = replace(model.meta, standardiser=GroupStandardiser(
            mean=rng.normal(5, 2, dim), scale=rng.uniform(1, 3, dim), **standardiser).to_dict())
    blocks = [(rng.standard_normal((n, dim)) * rng.uniform(0.1, 30, dim) + rng.normal(0, 40, dim)).astype(np.float32)
              for n in sizes]
    whole = model.predict_embeddings(np.concatenate(blocks), np.zeros(sum(sizes)))
    assert np.array_equal(model.predict_group(blocks), whole)


def saved_model(folder, dim: int = 8):
    """A model folder as pipelines.train saves one (a logistic head over ``dim`` columns and its model.json), without
    training: for what loading reads."""
    import keras

    from transfer.model import save_valence_model
    from transfer.standardise import GroupStandardiser

    head = keras.Sequential([keras.Input((dim,)), keras.layers.Dense(1, activation="sigmoid")])
    meta = {"format_version": 2, "clip_seconds": CLIP_S, "sample_rate": SR,
            "log_mel": LogMelParams(n_mels=32).to_dict(), "layer": "block2_conv2", "pooling": "bands", "n_bands": 4,
            "precision": "float32", "frames": "full",
            "weights": {"source": "random", "spec": "random", "sha256": "random-seed0", "path": None},
            "standardiser": GroupStandardiser(mean=np.zeros(dim), scale=np.ones(dim)).to_dict(),
            "trained_on": {"dataset": str(folder.parent)}}
    return save_valence_model(folder, head, ModelRecord.from_dict(meta))


@pytest.mark.parametrize("edit, words", [
    ({"format_version": 99}, "format 99, written by a newer version"),
    ({"sample_rate": "abc"}, "sample_rate is 'abc'"),
    ({"clip_seconds": -7}, "clip_seconds is -7"),
    ({"log_mel": {"n_mels": "many"}}, "model.json's log_mel n_mels: expected an integer"),
    ({"log_mel": {"sample_rate": 22050}}, "log_mel.sample_rate is 22050"),
    ({"features": {"name": "mfcc"}}, "unknown features 'mfcc'"),
    ({"features": {"name": "vgg16", "settings": {"layer": "block2_conv2", "pooling": "max"}}}, "pooling is 'max'"),
    ({"features": {"name": "vgg16", "settings": {"layer": "block2_conv2", "precision": "float8"}}},
     "precision is 'float8'"),
    ({"features": "vgg16"}, "features is 'vgg16', not an extractor's record"),
    ({"weights": None}, "weights is None"),
    ({"standardiser": {"mode": "group", "min_clips": 8, "mean": [0.0] * 8, "scale": [1.0] * 5}}, "standardiser"),
    ({"standardiser": {"mode": "group", "min_clips": 8, "mean": [0.0] * 5, "scale": [1.0] * 5}},
     "model.json's standardiser has 5 columns; head.keras reads 8"),
    ("head", "head.keras cannot be read"),
    ("json", "model.json cannot be read"),
])
def test_a_model_record_that_cannot_be_used_is_refused_in_one_line(tmp_path, capsys, edit, words):
    """model.json is checked where it is read: a newer format, a rate or a log-mel this code does not compute, an
    unknown extractor, a standardiser of another width, a damaged head used to be scored without complaint (or end
    in a traceback). Each is one line naming the file, what is wrong and the command that trains it again."""
    import json

    from pipelines import predict as cli
    from transfer.model import ModelError, load_valence_model

    folder = saved_model(tmp_path / "dataset" / "model")
    load_valence_model(folder)  # as saved: loads
    meta = json.loads((folder / "model.json").read_text())
    if edit == "head":
        (folder / "head.keras").write_bytes(b"PK\x03\x04 not a keras file")
    elif edit == "json":
        (folder / "model.json").write_text("{format_version: 2")
    else:
        for key, value in edit.items():
            meta[key] = {**meta[key], **value} if key == "log_mel" else value
        (folder / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match=re.escape(words)) as refused:
        load_valence_model(folder)
    assert f"python -m pipelines.train --dataset {tmp_path / 'dataset'}" in str(refused.value)
    ramp(tmp_path / "a.wav", 3.0)
    assert cli.main(["--model", str(folder), str(tmp_path / "a.wav")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("error: ") and err.count("\n") == 1 and words in err


MEASURED = {"roc_auc": 0.87, "roc_auc_ci95": [0.8, 0.93], "n": 120, "n_positive": 60, "n_groups": 12,
            "not_a_result": None}
TOO_FEW = {"roc_auc": 1.0, "roc_auc_ci95": None, "n": 2, "n_positive": 1, "n_groups": 1,
           "not_a_result": "not a result (n = 2, 1 group)"}


@pytest.mark.parametrize("test, measured", [(MEASURED, True), (TOO_FEW, False), (None, False)])
def test_predict_says_what_the_model_measured_beside_its_scores(tmp_path, monkeypatch, capsys, test, measured):
    """A model that never produced a measurable result (its test split too small: 1 group) used to score without a
    word. Its quality, or its absence, is now in a file beside the CSV (and a warning says when there is none); the
    CSV itself is the same bytes whatever the model measured."""
    import json

    from pipelines import predict as cli
    from transfer import model as model_module

    model = stub_model(tmp_path / "dataset" / "model")
    if test is not None:
        model.meta = replace(model.meta, test_metrics={"against_weak_labels": test})
    monkeypatch.setattr(model_module, "load_valence_model", lambda folder: model)
    ramp(tmp_path / "a.wav", 20.0)
    out = tmp_path / "scores.csv"
    assert cli.main(["--model", str(model.model_dir), str(tmp_path / "a.wav"), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    record = json.loads((tmp_path / "scores.csv.model.json").read_text())
    assert record["predictions"] == "scores.csv" and record["measured"] is measured
    assert record["test_metrics"] == (None if test is None else {"against_weak_labels": test})
    if measured:
        assert record["summary"] == "test ROC AUC 0.870 [0.800, 0.930] against weak labels (n = 120, 12 groups)"
        assert "warning" not in err
    else:
        reason = "not a result (n = 2, 1 group)" if test else "the model records no test ROC AUC"
        assert record["summary"].startswith("no measured quality") and reason in record["summary"]
        assert err.count("warning: ") == 1 and "no measured quality" in err and reason in err
    lines = out.read_text().splitlines()
    assert lines[0] == "file,kind,start_s,end_s,p_positive,label,error,note" and len(lines) == 7  # 5 windows, 1 file
    assert cli.main(["--model", str(model.model_dir), str(tmp_path / "a.wav")]) == 0  # standard output: the warning
    printed = capsys.readouterr()
    assert printed.out.replace("\r\n", "\n") == out.read_text() and ("warning: " in printed.err) is not measured


def test_a_model_saved_before_it_recorded_its_test_metrics_reads_them_from_its_metrics_json(tmp_path):
    import json

    from transfer.model import model_quality

    dataset = tmp_path / "dataset"
    dataset.mkdir()
    meta = ModelRecord.from_dict({"format_version": 2, "clip_seconds": CLIP_S, "log_mel": LogMelParams().to_dict(),
                                  "layer": "block2_conv2", "trained_on": {"dataset": str(dataset),
                                                                          "build_fingerprint": "b1"},
                                  "embedding_key": "k", "train_config": {"seed": 0}, "test_auc_weak": 1.0})
    metrics = {"build_fingerprint": "b1", "embedding": {"key": "k"}, "train_config": {"seed": 0},
               "against_weak_labels": {"head": {"test": TOO_FEW}}}
    (dataset / "metrics.json").write_text(json.dumps(metrics))
    quality = model_quality(meta, dataset / "model")
    assert quality["measured"] is False and "not a result (n = 2, 1 group)" in quality["summary"]
    metrics["train_config"] = {"seed": 1}  # retrained since: that metrics.json is another model's
    (dataset / "metrics.json").write_text(json.dumps(metrics))
    quality = model_quality(meta, dataset / "model")
    assert quality["measured"] is None and quality["summary"].startswith("test ROC AUC 1.000 against weak labels")
