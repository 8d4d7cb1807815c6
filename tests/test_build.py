"""End-to-end behaviour of the dataset build on generated corpora (the planning and resume, and the cutting of
audio, have their own files: test_build_plan.py, test_build_cut.py)."""
import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from weaklabel import segments as S
from weaklabel.build import BuildConfig, build_dataset
from weaklabel.errors import CorpusError
from weaklabel.policies import DEFAULT_POLICY

from .build_helpers import FAST_MEL, config_for, read_outputs
from .conftest import tone_bursts, write_mosei


def test_build_writes_one_row_per_segment_with_features(small_mosei, tmp_path):
    out = tmp_path / "out"
    result = build_dataset(config_for(small_mosei), out, workers=1)
    df = pd.read_parquet(out / "segments.parquet")
    for col in ("segment_id", "video_id", "start", "end", "text", "textblob", "vader", "score", "label",
                "status", "split"):
        assert col in df.columns
    assert len(df) == 18 and df["segment_id"].is_unique
    assert set(df["status"]) == {"ok", "abstained"}
    assert (df.loc[df.status == "ok", "label"].sort_values().tolist() == [0] * 6 + [1] * 6)
    feats = np.load(out / "features/logmel.npy", mmap_mode="r")
    assert feats.shape == (18, 32, 1 + 112000 // 512) and feats.dtype == np.float16
    assert sorted(df["feature_row"].tolist()) == list(range(18))
    build = json.loads((out / "build.json").read_text())
    assert build["counts"]["by_status"] == {"abstained": 6, "ok": 12}
    assert build["counts"]["by_label"] == {"positive": 6, "negative": 6}
    assert build["config"]["policy"] == DEFAULT_POLICY and build["config"]["clip_seconds"] == 7.0
    assert build["config"]["mel"]["n_mels"] == 32 and "librosa" in build["versions"]
    assert result.counts.to_dict() == build["counts"]


def test_same_seed_same_bytes_any_worker_count(small_mosei, tmp_path):
    build_dataset(config_for(small_mosei), tmp_path / "a", workers=1)
    build_dataset(config_for(small_mosei), tmp_path / "b", workers=2)
    build_dataset(config_for(small_mosei, seed=1), tmp_path / "c", workers=1)
    a, b, c = (read_outputs(tmp_path / x) for x in "abc")
    assert a == b
    assert a["features/logmel.npy"] != c["features/logmel.npy"]


def test_workers_started_fresh_give_the_same_bytes(small_mosei, tmp_path, monkeypatch):
    """start_method="spawn" (for a process that has run TensorFlow or CTranslate2 before it builds) starts the
    workers as fresh interpreters, and they write what one process writes."""
    import multiprocessing

    asked = []
    real = multiprocessing.get_context
    monkeypatch.setattr(multiprocessing, "get_context", lambda method=None: asked.append(method) or real(method))
    build_dataset(config_for(small_mosei), tmp_path / "a", workers=1)
    build_dataset(config_for(small_mosei), tmp_path / "b", workers=2, start_method="spawn")
    assert "spawn" in asked
    assert read_outputs(tmp_path / "a") == read_outputs(tmp_path / "b")


def test_bad_inputs_fail_only_their_segments(tmp_path):
    recordings = {
        "good": (10.0, ["good___0___0.5___3.0___What a wonderful, happy day!",
                        "good___1___3.5___9.0___A horrible and sad loss."]),
        "mixed": (10.0, [
            "mixed___0___-0.4___2.0___Great job, I love it!",           # negative start: clamped
            "mixed___1___5.0___5.0___zero length",                       # start >= end
            "mixed___2___6.0___4.0___backwards",                         # start >= end
            "mixed___3___1.0___2.0___",                                  # empty text
            "mixed___4___2.0",                                           # does not parse
            b"mixed___5___2.0___3.0___caf\x81 au lait",                  # not UTF-8, nor cp1252
            "mixed___6___8.0___14.0___runs past the end, terrible",      # cut at end
            "mixed___7___12.0___13.0___wholly outside the audio",        # outside
            "mixed___8___abc___3.0___not a number",                      # bad time
            "mixed___0___7.0___7.5___same id again",                     # duplicate id
            "mixed___9___2.0___3.0___text with ___ underscores",         # text keeps its ___
        ]),
        "noaudio": (None, ["noaudio___0___0.0___1.0___Where is my audio?"]),
        "corrupt": (2.0, ["corrupt___0___0.0___1.0___Broken file, awful."]),
        "truncated": (6.0, ["truncated___0___0.5___1.5___The early part is here.",
                            "truncated___1___4.0___5.0___This part was cut off."]),
    }
    root = write_mosei(tmp_path / "c", recordings)
    wavs = root / "Raw/Audio/Full/WAV_16000"
    (wavs / "corrupt.wav").write_bytes(b"RIFF" + bytes(range(256)) * 4)
    data = (wavs / "truncated.wav").read_bytes()
    (wavs / "truncated.wav").write_bytes(data[: 44 + 2 * 16000 * 3])  # 3 of the 6 s the header declares
    out = tmp_path / "out"
    build_dataset(config_for(root, allow_empty_splits=True), out, workers=2)  # two groups keep segments
    df = pd.read_parquet(out / "segments.parquet").set_index("segment_id")
    status = df["status"].to_dict()
    assert status["good_0"] == "ok" and status["good_1"] == "ok"
    assert status["mixed_0"] == "ok" and df.loc["mixed_0", "start_clamped"] and df.loc["mixed_0", "start"] == 0
    assert "clamped" in df.loc["mixed_0", "detail"]
    assert status["mixed_1"] == status["mixed_2"] == status["mixed_8"] == S.BAD_TIMESTAMPS
    assert status["mixed_3"] == S.EMPTY_TEXT
    assert status["mixed_line5"] == S.BAD_TRANSCRIPT_LINE
    assert status["mixed_line6"] == S.BAD_ENCODING and "UTF-8" in df.loc["mixed_line6", "detail"]
    assert status["mixed_6"] in ("ok", "abstained") and "cut there" in df.loc["mixed_6", "detail"]
    assert df.loc["mixed_6", "clip_source_end_s"] == pytest.approx(10.0)
    assert status["mixed_7"] == S.OUTSIDE_AUDIO
    assert status["mixed_0#dup1"] == S.DUPLICATE_SEGMENT
    assert df.loc["mixed_9", "text"] == "text with ___ underscores" and status["mixed_9"] == "abstained"
    assert status["noaudio_0"] == S.AUDIO_MISSING
    assert status["corrupt_0"] == S.AUDIO_UNREADABLE and "cannot open audio" in df.loc["corrupt_0", "detail"]
    assert status["truncated_0"] == "abstained"
    assert status["truncated_1"] == S.OUTSIDE_AUDIO
    detail = df.loc["truncated_1", "detail"]  # libsndfile reports the length actually present, or reads short
    assert "recording is 3.000 s long" in detail or "shorter than its header" in detail
    failed = df[df.status.isin(S.FAILURE_STATUSES)]
    assert failed["feature_row"].isna().all() and failed["label"].isna().all()
    assert (failed["detail"].str.len() > 0).all()
    assert df.loc[df.feature_row.notna()].shape[0] == np.load(out / "features/logmel.npy").shape[0]
    counts = json.loads((out / "build.json").read_text())["counts"]
    assert counts["segments"] == len(df) == 17 and counts["failed"] == len(failed)
    assert counts["start_clamped"] == 1


def test_splits_are_group_disjoint_and_folds_are_honoured(small_mosei, tmp_path):
    build_dataset(config_for(small_mosei), tmp_path / "a", workers=1)
    df = pd.read_parquet(tmp_path / "a/segments.parquet")
    assert (df.groupby("video_id")["split"].nunique() == 1).all()
    assert set(df["split"]) == {"train", "validation", "test"}
    folds = tmp_path / "folds.json"
    folds.write_text(json.dumps({"train": ["vid0", "vid1", "vid2"], "valid": ["vid3"], "test": ["vid4"]}))
    build_dataset(config_for(small_mosei, folds=str(folds)), tmp_path / "b", workers=1)
    df = pd.read_parquet(tmp_path / "b/segments.parquet").drop_duplicates("video_id").set_index("video_id")
    assert df["split"].drop("vid5").to_dict() == {"vid0": "train", "vid1": "train", "vid2": "train",
                                                  "vid3": "validation", "vid4": "test"}
    assert pd.isna(df.loc["vid5", "split"])  # not listed in the folds: unassigned
    counts = json.loads((tmp_path / "b/build.json").read_text())["counts"]
    assert counts["by_split"]["unassigned"]["segments"] == 3


def test_wrong_root_and_empty_corpus_raise_corpus_error(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        build_dataset(config_for(tmp_path / "nope"), tmp_path / "o")
    with pytest.raises(CorpusError, match="not a CMU-MOSEI root"):
        build_dataset(config_for(tmp_path), tmp_path / "o")
    empty = write_mosei(tmp_path / "empty", {})
    with pytest.raises(CorpusError, match="no transcript segments"):
        build_dataset(config_for(empty), tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_a_build_inside_its_corpus_folder_never_reads_its_own_files(tmp_path):
    # Issue 21, item 7: with --out the corpus folder itself, a recording called build.wav paired on the re-run
    # with the build's own build.json as its (Whisper JSON) transcript, and metrics.wav with metrics.json.
    root = tmp_path / "talks"
    root.mkdir()
    srt = ("1\n00:00:00,500 --> 00:00:03,000\nI absolutely love this wonderful film!\n\n"
           "2\n00:00:04,000 --> 00:00:07,500\nThis was a terrible, awful experience.\n")
    for stem in ("build", "segments", "talk"):
        sf.write(root / f"{stem}.wav", tone_bursts(8.0, [(0.5, 3.0), (4.0, 7.5)]), 16000, subtype="PCM_16")
        (root / f"{stem}.srt").write_text(srt)
    (root / "metrics.wav").write_bytes((root / "talk.wav").read_bytes())  # no transcript: not a recording
    config = BuildConfig(corpus="subtitles", root=str(root), mel=FAST_MEL, allow_empty_splits=True)
    first = build_dataset(config, root, workers=1)
    (root / "metrics.json").write_text('{"segments": [{"start": 0, "end": 1, "text": "not a transcript"}]}')
    (root / "features" / "extra.wav").write_bytes((root / "talk.wav").read_bytes())  # in the build's folder
    (root / "features" / "extra.srt").write_text(srt)
    again = build_dataset(config, root, workers=1)
    assert again.up_to_date, again.changes
    assert sorted(first.segments["video_id"].unique()) == ["build", "segments", "talk"]
    single = BuildConfig(corpus="subtitles", root=str(root / "build.wav"), mel=FAST_MEL, allow_empty_splits=True)
    assert build_dataset(single, tmp_path / "one", workers=1).segments["text"].tolist() == \
        first.segments.query("video_id == 'build'")["text"].tolist()  # build.srt, not build.json


