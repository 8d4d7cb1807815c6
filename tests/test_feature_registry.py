"""The feature-extractor registry (issue 20): VGG16 reproduced byte for byte, eGeMAPS over the speech span, cache keys
per extractor, a saved model rebuilding its own extractor, the optional extra missing, block scaling."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import soundfile as sf

from transfer.features import FEATURES, LEGACY_FEATURES, block_scale, get_extractor
from transfer.model_record import features_used
from weaklabel.build import BuildConfig, build_dataset
from weaklabel.logmel import LogMelParams

from .conftest import REPO_ROOT, cached_embeddings, embedding_config

FAST_MEL = LogMelParams(n_mels=32, n_fft=512, win_length=512, hop_length=512)
SR = 16000
needs_opensmile = pytest.mark.skipif(__import__("importlib").util.find_spec("opensmile") is None,
                                     reason="the [egemaps] extra (opensmile) is not installed")


def sawtooth(f0: float, seconds: float = 4.0, amplitude: float = 0.1, sr: int = SR) -> np.ndarray:
    """A harmonic-rich voiced tone: a band-limited sawtooth at ``f0`` with a slight vibrato-free onset ramp."""
    t = np.arange(int(seconds * sr)) / sr
    wave = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, int(sr / 2 / f0)))
    ramp = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.05)
    return (amplitude * ramp * wave / np.max(np.abs(wave))).astype(np.float32)


# --------------------------------------------------------------------------------------------------- registry
def test_every_entry_names_itself_its_version_licence_and_provenance():
    assert {"whisper", "vgg16", "egemaps", "vgg16+egemaps"} <= set(FEATURES)
    from transfer.features import NoSettings, WhisperSettings
    from transfer.features.vgg16 import VGG16Settings
    from transfer.weights import resolve_vgg16_weights
    from weaklabel.whisper_model import WhisperModelInfo

    model = WhisperModelInfo("base", "assembled-cache", "/m", "ab" * 32, True, "whisper-base")
    plain = {"vgg16": VGG16Settings(weights=resolve_vgg16_weights("random")), "egemaps": NoSettings(),
             "whisper": WhisperSettings(model=model)}
    for name, extractor in FEATURES.items():
        settings = tuple(plain[c] for c in extractor.components) or plain[name]
        assert extractor.name == name and extractor.version and extractor.description
        assert extractor.key(settings).startswith(name.split("+")[0])
        record = extractor.record(settings)
        assert record["name"] == name and record["licence"] and record["provenance"]
    assert "research licence" in FEATURES["egemaps"].licence and "commercial" in FEATURES["egemaps"].licence
    assert "Intel MKL" in FEATURES["whisper"].licence and "MIT" in FEATURES["whisper"].licence
    assert FEATURES["vgg16+egemaps"].components == ("vgg16", "egemaps")
    with pytest.raises(ValueError, match="unknown features 'mfcc'; choose one of whisper, vgg16, egemaps"):
        get_extractor("mfcc")
    # records from before the registry are VGG16, their settings complete
    assert features_used({"layer": "block2_conv2"}).settings == {"layer": "block2_conv2", "pooling": "gap",
                                                                 "n_bands": 4, "precision": "float32", "frames": "full"}
    assert features_used({"features": {"name": "egemaps"}}).name == "egemaps"
    assert LEGACY_FEATURES == FEATURES["vgg16"].name


def test_no_vgg16_constant_outside_its_module():
    """Generic code reads the extractor from the registry: no hard-coded backbone name in training, the saved model,
    the acted-corpus evaluation or the metrics schema (EmbeddingSpec.backbone is gone)."""
    from transfer.features.vgg16 import EmbeddingSpec

    assert "backbone" not in {f.name for f in dataclasses.fields(EmbeddingSpec)}
    for module in ("transfer/training.py", "transfer/model.py", "evaluation/acted.py", "evaluation/acted_probes.py",
                   "transfer/embedding.py", "transfer/features/egemaps.py", "transfer/features/combined.py",
                   "transfer/features/whisper.py", "transfer/features/base.py"):
        text = (REPO_ROOT / module).read_text(encoding="utf-8")
        for name in ("vgg16", "whisper", "egemaps"):
            if not module.endswith(f"{name}.py"):
                assert f'"{name}"' not in text and f"'{name}'" not in text, (module, name)


def test_block_scale_gives_each_block_the_same_total_variance():
    scale = block_scale([1024, 88])
    assert scale.shape == (1112,)
    assert np.sum(scale[:1024] ** 2) == pytest.approx(np.sum(scale[1024:] ** 2)) == pytest.approx(1112 / 2)


def test_column_scale_is_folded_into_the_logistic_head():
    from sklearn.linear_model import LogisticRegression

    from transfer.head import HeadConfig, predict_head, train_logistic_head

    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 6)) * [1, 2, 3, 1, 1, 1] + [0, 1, 0, 0, 0, 5]
    y = (X[:, 0] + 0.5 * X[:, 4] + rng.standard_normal(200) > 0).astype(int)
    scale = block_scale([2, 4])
    head, _ = train_logistic_head(X, y, config=HeadConfig(C=0.05), column_scale=scale)
    Z = (X - X.mean(axis=0)) / X.std(axis=0) * scale
    reference = LogisticRegression(C=0.05, max_iter=5000).fit(Z, y, sample_weight=np.where(
        y == 1, len(y) / (2 * y.sum()), len(y) / (2 * (1 - y).sum())))
    np.testing.assert_allclose(predict_head(head, X), reference.predict_proba(Z)[:, 1], atol=2e-3)  # lbfgs tol
    unscaled, _ = train_logistic_head(X, y, config=HeadConfig(C=0.05))
    assert np.abs(predict_head(unscaled, X) - predict_head(head, X)).max() > 1e-3  # the scale changes the model


# ---------------------------------------------------------------------------------------- today's model, bytes
def test_vgg16_reproduces_the_model_from_before_the_registry_byte_for_byte(tmp_path):
    """tests/data/vgg16_reference.json was recorded at the commit before the registry (tests/vgg16_reference.py):
    the embeddings, the head's weights and every model's predictions must be the same bytes."""
    from tests.vgg16_reference import COMPARED, environment, reference_digests

    reference = json.loads((REPO_ROOT / "tests/data/vgg16_reference.json").read_text(encoding="utf-8"))
    if environment() != reference["environment"]:
        pytest.skip(f"the reference was recorded with {reference['environment']}, this machine has {environment()}: "
                    "bitwise equality needs the same libraries and CPU instruction set")
    assert reference_digests(tmp_path) == {k: reference["digests"][k] for k in COMPARED}


# ------------------------------------------------------------------------------------------------- eGeMAPS
@needs_opensmile
def test_egemaps_hears_the_pitch_and_the_loudness_of_a_synthetic_voice():
    from transfer.features.egemaps import F0_MEAN, LOUDNESS_MEAN, feature_names, functionals

    names = feature_names()
    assert len(names) == 88
    quiet = dict(zip(names, functionals(sawtooth(220.0, amplitude=0.05), SR)))
    loud = dict(zip(names, functionals(sawtooth(220.0, amplitude=0.4), SR)))
    expected = 12 * np.log2(220.0 / 27.5)  # 36.0 semitones above 27.5 Hz
    assert abs(quiet[F0_MEAN] - expected) < 0.5 and abs(loud[F0_MEAN] - expected) < 0.5
    assert loud[LOUDNESS_MEAN] > 1.5 * quiet[LOUDNESS_MEAN] > 0
    high = dict(zip(names, functionals(sawtooth(330.0, amplitude=0.05), SR)))
    assert abs(high[F0_MEAN] - 12 * np.log2(330.0 / 27.5)) < 0.5  # a fifth higher: 7 semitones more
    assert functionals(np.zeros(100, np.float32), SR).tolist() == [0.0] * 88  # too short: zeros, no NaN


@pytest.fixture
def voiced_build(tmp_path):
    """Four recordings, each two sentences of a sawtooth voice (a low and a high one per recording) in quiet noise;
    the clips (4 s) are padded to 7 s."""
    from .conftest import write_mosei

    recordings = {}
    for v in range(4):
        recordings[f"rec{v}"] = (10.0, [f"rec{v}___0___0.5___2.5___I love this wonderful film, it is great!",
                                        f"rec{v}___1___5.0___7.0___This was a terrible and awful experience."])
    root = write_mosei(tmp_path / "corpus", recordings)
    rng = np.random.default_rng(0)
    for v in range(4):
        audio = 0.001 * rng.standard_normal(10 * SR).astype(np.float32)
        audio[int(0.5 * SR):int(2.5 * SR)] += sawtooth(180.0 + 10 * v, 2.0)
        audio[5 * SR:7 * SR] += sawtooth(260.0 + 10 * v, 2.0, amplitude=0.3)
        sf.write(root / "Raw/Audio/Full/WAV_16000" / f"rec{v}.wav", audio, SR, subtype="PCM_16")
    out = tmp_path / "dataset"
    build_dataset(BuildConfig(corpus="mosei", root=str(root), mel=FAST_MEL, policy="lexicon"), out, workers=1)
    return out


@needs_opensmile
def test_egemaps_is_computed_over_the_speech_span_and_cached_by_content(voiced_build):
    from transfer.embedding import embed_dataset
    from transfer.features.egemaps import F0_MEAN, feature_names, functionals
    from weaklabel.dataset import Dataset

    dataset = Dataset(voiced_build)
    egemaps = embedding_config("egemaps").resolve()
    X, record = embed_dataset(dataset, egemaps, workers=1)
    segments = dataset.segments.dropna(subset=["feature_row"]).sort_values("feature_row")
    assert X.shape == (len(segments), 88) and X.dtype == np.float32 and not record.from_cache
    assert record.key.startswith("egemaps_eGeMAPSv02_functionals_opensmile") and record.weights is None
    assert (segments["clip_pad_left_s"] > 0).any()  # the clips are padded ...
    f0 = X[:, feature_names().index(F0_MEAN)]
    expected = np.array([12 * np.log2((180.0 + 10 * int(r.video_id[-1]) + (80.0 if r.segment_id.endswith("_1") else 0))
                                      / 27.5) for r in segments.itertuples()])
    np.testing.assert_allclose(f0, expected, atol=0.5)  # ... and each row is its own voice's pitch
    # exactly the span the build placed in the clip, decoded again: the same numbers as by hand
    first = segments.iloc[0]
    audio, sr = sf.read(voiced_build.parent / "corpus/Raw/Audio/Full/WAV_16000" / f"{first['video_id']}.wav",
                        dtype="float32")
    span = audio[int(round(first["clip_source_start_s"] * sr)):int(round(first["clip_source_end_s"] * sr))]
    np.testing.assert_allclose(X[0], functionals(span, sr), rtol=1e-4, atol=1e-4)
    padded = np.concatenate([np.zeros(int(first["clip_pad_left_s"] * sr), np.float32), span,
                             np.zeros(3 * sr, np.float32)])
    assert np.abs(functionals(padded, sr) - X[0]).max() > 1e-2  # the padding would have changed them
    again, cached = embed_dataset(dataset, egemaps, workers=1)
    assert cached.from_cache and np.array_equal(np.asarray(again), X)
    in_processes, _ = embed_dataset(dataset, egemaps, workers=2, chunk_clips=3,
                                    cache_dir=voiced_build / "other-cache")
    assert np.array_equal(in_processes, X)  # two local processes, other chunks: the same bytes


@needs_opensmile
def test_cache_keys_differ_per_extractor_and_a_combination_reuses_its_parts(voiced_build):
    from transfer.embedding import embed_dataset

    vgg, vgg_record = embed_dataset(voiced_build, embedding_config("vgg16", batch_size=4).resolve())
    ege, ege_record = embed_dataset(voiced_build, embedding_config("egemaps").resolve(), workers=1)
    both, both_record = embed_dataset(voiced_build, embedding_config("vgg16+egemaps", batch_size=4).resolve(),
                                      workers=1)
    assert vgg_record.key.startswith("vgg16_") and ege_record.key.startswith("egemaps_")
    assert len({vgg_record.key, ege_record.key, both_record.key}) == 3
    assert both_record.from_cache and both_record.blocks == (vgg.shape[1], 88)
    assert [c.key for c in both_record.components] == [vgg_record.key, ege_record.key]
    np.testing.assert_array_equal(both, np.concatenate([vgg, ege], axis=1))
    cached = sorted(p.name for p in (voiced_build / "embeddings").glob("*.json"))
    assert cached == sorted([f"{vgg_record.key}.json", f"{ege_record.key}.json"])  # the parts, not the whole


@needs_opensmile
def test_a_saved_egemaps_model_records_its_extractor_and_rebuilds_it(voiced_build, tmp_path):
    from transfer.model import load_valence_model, predict
    from transfer.training import TrainConfig, TrainOptions, model_is_current, train

    config = TrainConfig(embedding=embedding_config("egemaps"))
    result = train(voiced_build, config, TrainOptions(n_bootstrap=20))
    metrics = json.loads((voiced_build / "metrics.json").read_text())
    model_meta = json.loads((voiced_build / "model/model.json").read_text())
    for record in (metrics, model_meta):
        assert record["features"]["name"] == "egemaps" and "research licence" in record["features"]["licence"]
        assert record["features"]["settings"]["feature_set"] == "eGeMAPSv02"
    assert metrics["train_config"]["embedding"]["features"] == "egemaps" and metrics["weights"] is None
    assert metrics["embedding"]["backbone"] == "egemaps" and metrics["embedding"]["dim"] == 88
    assert model_is_current(voiced_build, config)
    assert not model_is_current(voiced_build, TrainConfig(embedding=embedding_config("vgg16")))
    model = load_valence_model(result.model_dir)
    assert model.features == "egemaps" and model.embedder().needs_audio and not model.embedder().needs_logmel
    # The rebuilt extractor gives a clip's stored features from its audio: the same span, the same numbers.
    from weaklabel.dataset import Dataset

    dataset = Dataset(voiced_build)
    first = dataset.segments.dropna(subset=["feature_row"]).sort_values("feature_row").iloc[0]
    audio, sr = sf.read(voiced_build.parent / "corpus/Raw/Audio/Full/WAV_16000" / f"{first['video_id']}.wav",
                        dtype="float32")
    span = audio[int(round(first["clip_source_start_s"] * sr)):int(round(first["clip_source_end_s"] * sr))]
    stored = cached_embeddings(dataset, metrics["embedding"]["key"])[0]
    np.testing.assert_allclose(model.embed_clips([span])[0], stored, rtol=1e-4, atol=1e-4)
    wav = tmp_path / "talk.wav"
    sf.write(wav, audio, sr)
    scores = predict(result.model_dir, [wav])
    file_row = scores[scores["kind"] == "file"].iloc[0]
    assert file_row["error"] == "" and 0.0 <= file_row["p_positive"] <= 1.0


@needs_opensmile
def test_without_the_extra_egemaps_fails_in_one_line_and_vgg16_still_works(voiced_build, monkeypatch, capsys):
    from pipelines import embed as embed_cli
    from pipelines import train as train_cli
    from transfer.embedding import embed
    from transfer.features import EmbeddingConfig, ExtractorUnavailable
    from transfer.features import egemaps as egemaps_module

    monkeypatch.setattr(egemaps_module.importlib.util, "find_spec",
                        lambda name, *a: None if name == "opensmile" else __import__("importlib").util.find_spec(name))
    with pytest.raises(ExtractorUnavailable, match=r'pip install -e "\.\[egemaps\]"'):
        embed(voiced_build, EmbeddingConfig(features="egemaps"))
    for cli, argv in ((embed_cli, ["--dataset", str(voiced_build), "--features", "egemaps", "--quiet"]),
                      (train_cli, ["--dataset", str(voiced_build), "--features", "vgg16+egemaps", "--quiet"])):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: the") and "cannot run here" in err and "[egemaps]" in err and "\n" not in err
    assert embed_cli.main(["--dataset", str(voiced_build), "--features", "vgg16", "--weights", "random",
                           "--quiet"]) == 0


def test_the_feature_benchmark_names_an_inverted_zero_shot_ranking():
    from benchmarks.weak_features import _rotation_tess, product_defaults, tables

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    right = [np.clip(0.5 + 0.3 * (y - 0.5) + 0.1 * rng.standard_normal(300), 0, 1) for _ in range(3)]
    assert _rotation_tess(y, right, 200)["verdict"] == "above chance"
    inverted = _rotation_tess(y, [1 - p for p in right], 200)
    assert inverted["verdict"] == "inverted" and inverted["roc_auc_ci95"][1] < 0.5
    defaults = product_defaults()
    assert defaults["features"] == "auto" and defaults["valence_map"] == "surprised-excluded"
    record = {"valence_maps": {"m": {"description": "d", "corpus": {"clips": 3, "positive": 1, "negative": 2}}},
              "p": [0.75], "policy": "e5", "neutral_band": 0.4, "pairing_seeds": [0], "zero_shot": "tess",
              "rows": [{"map": "m", "row": "egemaps, C = 0.001", "p": 0.75, "roc_auc": 0.6, "roc_auc_ci95": [0.5, 0.7],
                        "per_part": [0.6], "vs_reference": {"mean": 0.05, "ci95": [-0.01, 0.1]}}],
              "zero_shot_runs": [{"map": "m", "row": "egemaps, C = 0.001", "p": 0.75, "rotation": "r0", **inverted}],
              "ceilings": [], "naive_whisper": "whisper-padded30"}
    (table,) = tables(record)
    assert table["rows"][0][2] == "+0.050 [-0.010, +0.100]" and table["rows"][0][3] == "—"
    assert "(inv)" in table["rows"][0][5]


def test_the_weak_supervision_benchmark_runs_the_default_recipe_on_other_extractors():
    from evaluation.weak_benchmark import CEILING, DEFAULT_RECIPE, is_ceiling, recipes

    names = [r.name for r in recipes(features=("auto", "egemaps"))]
    assert names[0] == DEFAULT_RECIPE and names.count(f"{DEFAULT_RECIPE}, features auto") == 0  # the default's own
    extra = {r.name: r for r in recipes(features=("egemaps",))[-2:]}
    assert extra[f"{DEFAULT_RECIPE}, features egemaps"].model.embedding.features == "egemaps"
    assert extra[f"{CEILING}, features egemaps"].model.labels == "human"
    assert is_ceiling(f"{CEILING}, features egemaps") and not is_ceiling(DEFAULT_RECIPE)
    assert [r.name for r in recipes()] == [r.name for r in recipes(features=())]  # nothing asked, nothing added


def test_valence_maps_by_name_or_file(tmp_path):
    from evaluation.acted_corpora import DEFAULT_VALENCE_MAP, VALENCE_MAPS, resolve_valence_map

    default = resolve_valence_map(None)
    assert default["name"] == DEFAULT_VALENCE_MAP == "surprised-excluded" and default["source"] == "default"
    assert "surprised" not in default["table"] and default["table"]["calm"] == "positive"
    assert resolve_valence_map("surprised-positive")["table"]["surprised"] == "positive"
    assert "calm" not in resolve_valence_map("calm-excluded")["table"]
    custom = tmp_path / "mine.json"
    custom.write_text('{"surprised": "negative"}')
    mine = resolve_valence_map(str(custom))
    assert mine["name"] == "file:mine.json" and mine["table"]["surprised"] == "negative"
    with pytest.raises(ValueError, match="unknown valence map 'joyful'"):
        resolve_valence_map("joyful")
    assert set(VALENCE_MAPS) == {"surprised-excluded", "surprised-positive", "calm-excluded"}


@needs_opensmile
def test_egemaps_runs_in_a_process_that_imported_tensorflow_first():
    """openSMILE aborts the process (``malloc(): invalid size``) when its library is loaded after TensorFlow's: the
    functionals must then come from a clean child process, and be the same numbers."""
    import subprocess
    import sys

    code = ("import numpy as np, tensorflow\n"
            "from transfer.features.egemaps import feature_names, functionals\n"
            "from tests.test_feature_registry import sawtooth\n"
            "values = functionals(sawtooth(220.0), 16000)\n"
            "print(len(feature_names()), round(float(values[0]), 3))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    from transfer.features.egemaps import functionals

    n, f0 = done.stdout.split()[-2:]
    assert int(n) == 88 and float(f0) == pytest.approx(round(float(functionals(sawtooth(220.0), SR)[0]), 3))
