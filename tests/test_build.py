"""End-to-end behaviour of the dataset build on generated corpora."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from weaklabel import segments as S
from weaklabel.build import BuildConfig, _build_part, build_dataset, group_by_audio_file, prepare_output_dir
from weaklabel.errors import CorpusError, OutputConflictError
from weaklabel.logmel import LogMelParams
from weaklabel.policies import DEFAULT_POLICY
from weaklabel.readers import read_corpus

from .conftest import tone_bursts, write_mosei

OUTPUT_FILES = ("segments.parquet", "features/logmel.npy", "build.json")
FAST_MEL = LogMelParams(n_mels=32, n_fft=512, win_length=512, hop_length=512)


def config_for(root, **kw):
    kw.setdefault("mel", FAST_MEL)
    return BuildConfig(corpus="mosei", root=str(root), **kw)


def read_outputs(out):
    return {name: (out / name).read_bytes() for name in OUTPUT_FILES}


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
    assert build["features"]["log_mel"]["n_mels"] == 32 and "librosa" in build["versions"]
    assert result.counts == build["counts"]


def test_clip_holds_the_segment_audio_and_padding_is_silent(small_mosei, tmp_path):
    out = tmp_path / "out"
    build_dataset(config_for(small_mosei, mel=LogMelParams(n_mels=32, n_fft=512, win_length=512, hop_length=160)),
                  out, workers=1)
    df = pd.read_parquet(out / "segments.parquet").set_index("segment_id")
    feats = np.load(out / "features/logmel.npy")
    row = df.loc["vid0_0"]  # 2.5 s of tone padded into 7 s
    frames = feats[row.feature_row].astype(np.float32).max(axis=0)
    t = np.arange(len(frames)) * 160 / 16000
    pad = row.clip_pad_left_s
    inside = (t > pad + 0.1) & (t < pad + 2.4)
    outside = (t < pad - 0.1) | (t > pad + 2.6)
    assert frames[inside].min() > -20 and frames[outside].max() < -60  # tone loud, padding at the floor
    long = df.loc["vid0_1"]  # 7.5 s segment cropped to 7 s
    assert long.clip_pad_left_s == 0 and 4.0 <= long.clip_source_start_s <= 4.5
    assert long.clip_source_end_s - long.clip_source_start_s == pytest.approx(7.0)


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


def test_rerun_is_up_to_date_and_conflicting_config_is_refused(small_mosei, tmp_path):
    out = tmp_path / "out"
    build_dataset(config_for(small_mosei), out, workers=1)
    before = read_outputs(out)
    again = build_dataset(config_for(small_mosei), out, workers=1)
    assert again.up_to_date and read_outputs(out) == before
    with pytest.raises(OutputConflictError, match="neutral_band"):
        build_dataset(config_for(small_mosei, neutral_band=0.5), out, workers=1)
    assert read_outputs(out) == before  # nothing touched
    forced = build_dataset(config_for(small_mosei), out, workers=1, force=True)
    assert not forced.up_to_date and read_outputs(out) == before
    replaced = build_dataset(config_for(small_mosei, neutral_band=0.5), out, workers=1, overwrite=True)
    assert json.loads((out / "build.json").read_text())["config"]["neutral_band"] == 0.5
    assert replaced.counts["abstained"] == 6


def test_a_build_of_the_previous_log_mel_transform_is_named_and_never_resumed(small_mosei, tmp_path):
    # A build.json written before transform version 2 records no version: it is version 1 (librosa's arithmetic).
    from weaklabel import Dataset

    out = tmp_path / "out"
    build_dataset(config_for(small_mosei), out, workers=1)
    record = json.loads((out / "build.json").read_text())
    del record["config"]["mel"]["transform_version"]
    record["fingerprint"] = "made-by-version-1"
    (out / "build.json").write_text(json.dumps(record))
    assert Dataset(out).config.mel.transform_version == 1
    before = read_outputs(out)
    with pytest.raises(OutputConflictError, match="log-mel transform version 1, this code computes version 2"):
        build_dataset(config_for(small_mosei), out, workers=1)
    assert read_outputs(out) == before
    rebuilt = build_dataset(config_for(small_mosei), out, workers=1, overwrite=True)
    assert rebuilt.config.mel.transform_version == 2 and not rebuilt.up_to_date


def test_resume_after_interruption_does_only_missing_work(small_mosei, tmp_path):
    config = config_for(small_mosei)
    build_dataset(config, tmp_path / "clean", workers=1)
    out = tmp_path / "resumed"
    parts = prepare_output_dir(out, config, overwrite=False)
    files = group_by_audio_file(read_corpus("mosei", small_mosei))
    for unit in list(files)[:4]:  # as if killed after four recordings
        _build_part(files[unit], config, str(parts))
    (parts / ".half-written.npy.tmp").write_bytes(b"junk")  # a temp file a kill left behind
    result = build_dataset(config, out, workers=1)
    assert result.recordings_processed == 2
    assert read_outputs(out) == read_outputs(tmp_path / "clean")
    assert not list(out.glob(".parts-*"))


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


def _peak_band_hz(feats: np.ndarray, mel: LogMelParams) -> float:
    """Centre frequency (Hz) of the mel band with the most energy over a clip's frames."""
    import librosa

    centres = librosa.mel_frequencies(n_mels=mel.n_mels + 2, fmin=mel.fmin, fmax=mel.fmax)[1:-1]
    return float(centres[int(np.argmax(feats.astype(np.float32).max(axis=1)))])


def test_each_clip_is_cut_from_its_own_file_and_its_digest_guards_its_part(tmp_path):
    # One video id over two files holding different tones: every clip must show its own file's tone.
    root = tmp_path / "corpus"
    root.mkdir()
    spans = [(0.5, 2.5), (3.0, 5.0)]
    sf.write(root / "first.wav", tone_bursts(6.0, spans, freq=440.0), 16000, subtype="PCM_16")
    sf.write(root / "second.wav", tone_bursts(6.0, spans, freq=2000.0), 16000, subtype="PCM_16")
    rows = [(f, k, a, b) for f in ("first.wav", "second.wav") for k, (a, b) in enumerate(spans)]
    pd.DataFrame({"audio_path": [r[0] for r in rows], "video_id": "talk", "start": [r[2] for r in rows],
                  "end": [r[3] for r in rows], "text": "I love this wonderful day!",
                  "segment_id": [f"{r[0][:-4]}_{r[1]}" for r in rows]}).to_csv(root / "m.csv", index=False)
    mel = LogMelParams(n_mels=64, n_fft=1024, win_length=1024, hop_length=256)
    config = BuildConfig(corpus="manifest", root=str(root / "m.csv"), mel=mel, allow_empty_splits=True)
    out = tmp_path / "out"
    parts = prepare_output_dir(out, config, overwrite=False)
    files = group_by_audio_file(read_corpus("manifest", root / "m.csv"))
    assert [Path(u).name for u in files] == ["first.wav", "second.wav"]
    for unit in files:
        _build_part(files[unit], config, str(parts))
    sf.write(root / "second.wav", tone_bursts(6.0, spans, freq=3000.0), 16000, subtype="PCM_16")  # edited
    result = build_dataset(config, out, workers=1)
    assert result.recordings_processed == 1  # only the edited file's part is redone
    df = pd.read_parquet(out / "segments.parquet").set_index("segment_id")
    feats = np.load(out / "features/logmel.npy")
    assert set(df["video_id"]) == {"talk"} and df["status"].eq("ok").all()
    for sid, expected_hz in (("first_0", 440), ("first_1", 440), ("second_0", 3000), ("second_1", 3000)):
        assert df.loc[sid, "audio_path"] == f"{sid.split('_')[0]}.wav"
        assert _peak_band_hz(feats[df.loc[sid, "feature_row"]], mel) == pytest.approx(expected_hz, rel=0.15), sid


def test_features_stream_in_chunks_with_the_same_bytes(small_mosei, tmp_path, monkeypatch):
    from weaklabel import build as build_module

    config = config_for(small_mosei, mel=LogMelParams(n_mels=32, n_fft=512, win_length=512, hop_length=160))
    whole = build_dataset(config, tmp_path / "whole", workers=1).out_dir
    chunks = []
    original = build_module.log_mel_placed

    def spy(spans, *args, **kw):
        chunks.append(len(spans))
        return original(spans, *args, **kw)

    monkeypatch.setattr(build_module, "CLIPS_PER_CHUNK", 2)
    monkeypatch.setattr(build_module, "log_mel_placed", spy)
    chunked = build_dataset(config, tmp_path / "chunked", workers=1).out_dir
    assert max(chunks) == 2 and sum(chunks) == 18  # 3 clips per recording: a chunk of 2, then 1
    assert read_outputs(chunked) == read_outputs(whole)


def _special_files_corpus(root: Path) -> Path:
    """A manifest whose audio paths are a good WAV, a FIFO, /dev/zero (directly and through a link), a loop of
    symbolic links and a folder."""
    root.mkdir(parents=True)
    sf.write(root / "good.wav", tone_bursts(4.0, [(0.5, 3.5)]), 16000, subtype="PCM_16")
    os.mkfifo(root / "pipe.wav")
    (root / "zero.wav").symlink_to("/dev/zero")
    (root / "loop_a.wav").symlink_to("loop_b.wav")
    (root / "loop_b.wav").symlink_to("loop_a.wav")
    (root / "folder.wav").mkdir()
    audio = ["good.wav", "pipe.wav", "/dev/zero", "zero.wav", "loop_a.wav", "folder.wav"]
    lines = ["audio_path,start,end,text,segment_id"]
    lines += [f"{path},0.5,3.5,What a wonderful day!,{'devzero' if path == '/dev/zero' else Path(path).stem}"
              for path in audio]
    (root / "m.csv").write_text("\n".join(lines) + "\n")
    return root / "m.csv"


def test_special_files_and_link_loops_fail_only_their_segments(tmp_path):
    # Issue 21, items 2 and 3: a FIFO or /dev/zero as audio_path hung the build forever (a worker blocked on the
    # open, or hashed /dev/zero), and a loop of symbolic links ended it with a RuntimeError traceback. Run as a
    # command with a time limit, so that a hang fails the test instead of hanging it.
    manifest = _special_files_corpus(tmp_path / "corpus")
    command = [sys.executable, "-m", "pipelines.build_dataset", "--root", str(manifest), "--out", str(tmp_path / "o"),
               "--n-mels", "32", "--n-fft", "512", "--hop-length", "512", "--allow-empty-splits", "--quiet",
               "--workers", "2"]
    build = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             cwd=Path(__file__).parent.parent, start_new_session=True)
    try:
        _, stderr = build.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(build.pid, signal.SIGKILL)  # its workers too
        build.communicate()
        pytest.fail("the build hung on a FIFO or a device")
    assert build.returncode == 0 and "Traceback" not in stderr, stderr
    rows = pd.read_parquet(tmp_path / "o" / "segments.parquet").set_index("segment_id")
    assert rows.loc["good", "status"] in ("ok", "abstained")
    for segment, words in (("pipe", "FIFO"), ("devzero", "character device"), ("zero", "character device"),
                           ("loop_a", "symbolic links"), ("folder", "directory")):
        assert rows.loc[segment, "status"] == S.AUDIO_UNREADABLE, rows.loc[segment].to_dict()
        assert words in rows.loc[segment, "detail"], rows.loc[segment, "detail"]


def test_a_link_loop_fails_its_segment_in_process(tmp_path):
    manifest = _special_files_corpus(tmp_path / "corpus")
    lines = manifest.read_text().splitlines()
    manifest.write_text("\n".join([lines[0], lines[1], lines[5]]) + "\n")  # good.wav and loop_a.wav only
    result = build_dataset(BuildConfig(corpus="manifest", root=str(manifest), mel=FAST_MEL, allow_empty_splits=True),
                           tmp_path / "o", workers=1)
    rows = result.segments.set_index("segment_id")
    assert rows.loc["loop_a", "status"] == S.AUDIO_UNREADABLE and "symbolic links" in rows.loc["loop_a", "detail"]


def test_a_wav_whose_header_says_no_data_builds_as_the_intact_file(small_mosei, tmp_path):
    # Issue 21, item 8: its segments failed as outside_audio, "the recording is 0.000 s long".
    intact = build_dataset(config_for(small_mosei), tmp_path / "intact", workers=1)
    wav = small_mosei / "Raw/Audio/Full/WAV_16000/vid3.wav"
    data = bytearray(wav.read_bytes())
    at = data.find(b"data")
    data[at + 4:at + 8] = bytes(4)  # what a streaming writer leaves until it closes the file
    wav.write_bytes(bytes(data))
    streamed = build_dataset(config_for(small_mosei), tmp_path / "streamed", workers=1)
    assert streamed.counts["by_status"] == intact.counts["by_status"]
    for name in ("segments.parquet", "features/logmel.npy"):
        assert (tmp_path / "streamed" / name).read_bytes() == (tmp_path / "intact" / name).read_bytes()


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


def test_a_build_removes_only_what_it_wrote_and_overwrite_says_what_it_replaces(small_mosei, tmp_path):
    # Issue 21, item 5: every build removed all .*.tmp files in --out, and --overwrite the whole features/ folder.
    out = tmp_path / "out"
    build_dataset(config_for(small_mosei), out, workers=1)
    mine = [out / ".notes.tmp", out / ".draft.md.x1.tmp", out / "features" / ".scratch.tmp",
            out / "features" / "notes.txt", out / "features" / "other.npy"]
    for path in mine:
        path.write_text("the user's")
    ours = [out / ".segments.parquet.k1ll3d.tmp", out / "features" / ".logmel.npy.k1ll3d.tmp"]
    for path in ours:
        path.write_bytes(b"what a killed write leaves")
    build_dataset(config_for(small_mosei), out, workers=1, force=True)
    assert all(path.read_text() == "the user's" for path in mine) and not any(path.exists() for path in ours)
    notices = []
    replaced = build_dataset(config_for(small_mosei, clip_seconds=5.0), out, workers=1, overwrite=True,
                             log=notices.append)
    assert replaced.config.clip_seconds == 5.0 and not replaced.up_to_date
    assert all(path.read_text() == "the user's" for path in mine)
    (notice,) = notices
    assert "--overwrite" in notice and "clip_seconds" in notice and "\n" not in notice
    assert all(name in notice for name in ("segments.parquet", "build.json", "features/logmel.npy"))
    assert "notes.txt" not in notice
    notices.clear()
    build_dataset(config_for(small_mosei, clip_seconds=5.0), out, workers=1, overwrite=True, log=notices.append)
    assert notices == []  # nothing replaced: the same build, up to date


def _damaged(data: bytes, how: str, row_bytes: int) -> bytes:
    header = len(data) - row_bytes * 18
    if how == "staging mark":  # a merge cut short: the file begins with MERGING, not the .npy header
        return b"MERGING" + data[7:]
    if how == "other clips' rows":  # the same size and header, two clips' features swapped
        first, second = data[header:header + row_bytes], data[header + row_bytes:header + 2 * row_bytes]
        return data[:header] + second + first + data[header + 2 * row_bytes:]
    return data[:-row_bytes]  # "truncated": a row short


@pytest.mark.parametrize("how", ["staging mark", "other clips' rows", "truncated"])
def test_a_damaged_finished_build_is_rebuilt_not_reported_up_to_date(small_mosei, tmp_path, how):
    # Issue 21, item 1: after two racing builds, later runs reported a corrupt build "up to date".
    config = config_for(small_mosei)
    out = tmp_path / "out"
    build_dataset(config, out, workers=1)
    clean = read_outputs(out)
    features = out / "features" / "logmel.npy"
    row_bytes = FAST_MEL.n_mels * FAST_MEL.frames_for_seconds(config.clip_seconds) * 2
    features.write_bytes(_damaged(features.read_bytes(), how, row_bytes))
    stat = os.stat(out / "build.json")
    os.utime(features, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # written after the build
    notices = []
    again = build_dataset(config, out, workers=1, log=notices.append)
    assert not again.up_to_date and again.recordings_processed == 6
    assert read_outputs(out) == clean
    (notice,) = notices
    assert "building it again" in notice and "\n" not in notice


def test_an_intact_rerun_checks_cheaply_and_hashes_nothing(small_mosei, tmp_path, monkeypatch):
    from weaklabel import dataset as dataset_module

    config = config_for(small_mosei)
    out = tmp_path / "out"
    build_dataset(config, out, workers=1)
    record = json.loads((out / "build.json").read_text())
    assert len(record["features"]["sha256"]) == 64  # recorded at the merge
    hashed = []
    monkeypatch.setattr(dataset_module, "file_sha256", lambda path: hashed.append(Path(path).name) or "x")
    assert build_dataset(config, out, workers=1).up_to_date and hashed == []
    os.utime(out / "features" / "logmel.npy")  # touched after the build: hashed once, then trusted again
    monkeypatch.undo()
    assert build_dataset(config, out, workers=1).up_to_date
    monkeypatch.setattr(dataset_module, "file_sha256", lambda path: hashed.append(Path(path).name) or "x")
    assert build_dataset(config, out, workers=1).up_to_date and hashed == []
