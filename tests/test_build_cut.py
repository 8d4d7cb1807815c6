"""Cutting audio: opening a recording, cutting a segment's span, featurising a file's segments chunk by chunk, and
the build's clips as they come out of it."""
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
from weaklabel.audio import AudioReader
from weaklabel.build import BuildConfig, build_dataset, group_by_audio_file, prepare_output_dir
from weaklabel.build import cut as cut_module
from weaklabel.build.cut import RecordingUnavailable, base_row, build_part, chunk_buffer, cut_span, open_recording, \
    process_audio_file
from weaklabel.logmel import LogMelParams
from weaklabel.readers import read_corpus
from weaklabel.segments import Segment

from .build_helpers import FAST_MEL, config_for, read_outputs
from .conftest import tone_bursts


def segment(index, audio_path, start, end, status=None):
    return Segment(recording_id="talk", segment_id=f"talk_{index}", audio_path=audio_path, start_s=start,
                   end_s=end, text="What a wonderful day!", group_id="talk", status=status)


@pytest.fixture
def talk(tmp_path) -> str:
    """A 6 s recording with a tone from 1 to 3 s."""
    path = tmp_path / "talk.wav"
    sf.write(path, tone_bursts(6.0, [(1.0, 3.0)]), 16000, subtype="PCM_16")
    return str(path)


def test_open_recording_says_why_a_file_cannot_be_cut(tmp_path, talk):
    with open_recording(talk) as reader:
        assert reader.duration_s == pytest.approx(6.0)
    (tmp_path / "folder.wav").mkdir()
    (tmp_path / "junk.wav").write_bytes(b"not audio at all" * 100)
    for path, status in ((str(tmp_path / "absent.wav"), S.AUDIO_MISSING), (None, S.AUDIO_MISSING),
                         (str(tmp_path / "folder.wav"), S.AUDIO_UNREADABLE),
                         (str(tmp_path / "junk.wav"), S.AUDIO_UNREADABLE)):
        with pytest.raises(RecordingUnavailable) as caught:
            open_recording(path)
        assert caught.value.status == status and caught.value.detail, path


def test_cut_span_records_the_span_or_the_failure(talk):
    config = BuildConfig(corpus="mosei", root=str(Path(talk).parent), mel=FAST_MEL)
    with AudioReader(talk) as reader:
        inside = segment(0, talk, 1.0, 3.0)
        row = base_row(inside, "talk.wav")
        samples, pad = cut_span(reader, inside, row, config)
        assert samples.dtype == np.float32 and len(samples) == 32000  # 2 s at 16 kHz, all of it in the clip
        assert pad == round(row["clip_pad_left_s"] * 16000) and 0 <= pad <= 5 * 16000
        assert row["clip_source_start_s"] == 1.0 and row["clip_source_end_s"] == pytest.approx(3.0)
        assert row["status"] is None
        outside = segment(1, talk, 7.0, 8.0)
        row = base_row(outside, "talk.wav")
        assert cut_span(reader, outside, row, config) is None
        assert row["status"] == S.OUTSIDE_AUDIO and "6.000 s long" in row["detail"]
        short = segment(2, talk, 5.9, 6.5)
        row = base_row(short, "talk.wav")
        assert cut_span(reader, short, row, config) is None
        assert row["status"] == S.TOO_LITTLE_SPEECH and "--min-speech-seconds" in row["detail"]


def test_a_file_is_featurised_in_chunks_in_row_order(talk, monkeypatch):
    config = BuildConfig(corpus="mosei", root=str(Path(talk).parent), mel=FAST_MEL)
    segments = [segment(0, talk, 0.5, 1.5), segment(1, talk, 9.0, 10.0), segment(2, talk, 1.0, 3.0),
                segment(3, talk, 2.0, 4.0, status=S.EMPTY_TEXT), segment(4, talk, 3.0, 5.5)]
    monkeypatch.setattr(cut_module, "CLIPS_PER_CHUNK", 2)
    chunks = []
    rows, n_features = process_audio_file(segments, config, lambda chunk: chunks.append(chunk.copy()))
    n_frames = FAST_MEL.frames_for_seconds(config.clip_seconds)
    assert n_features == 3 and [len(c) for c in chunks] == [2, 1]
    assert all(c.shape[1:] == (FAST_MEL.n_mels, n_frames) and c.dtype == np.float16 for c in chunks)
    assert [r["part_feature_row"] for r in rows] == [0, None, 1, None, 2]
    assert rows[1]["status"] == S.OUTSIDE_AUDIO and rows[3]["status"] == S.EMPTY_TEXT  # kept as read
    assert {r["audio_path"] for r in rows} == {"talk.wav"}  # relative to the corpus root
    gone = [segment(0, str(Path(talk).parent / "gone.wav"), 0.5, 1.5)]
    rows, n_features = process_audio_file(gone, config, chunks.append)
    assert n_features == 0 and rows[0]["status"] == S.AUDIO_MISSING


def test_a_chunk_buffer_is_reused_for_the_same_shape_only():
    first = chunk_buffer(4, (8, 10), "float16")
    assert first.shape == (4, 8, 10) and first.dtype == np.float16
    assert chunk_buffer(4, (8, 10), "float16") is first
    assert chunk_buffer(4, (8, 12), "float16") is not first


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
        build_part(files[unit], config, str(parts))
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
    config = config_for(small_mosei, mel=LogMelParams(n_mels=32, n_fft=512, win_length=512, hop_length=160))
    whole = build_dataset(config, tmp_path / "whole", workers=1).out_dir
    chunks = []
    original = cut_module.log_mel_placed

    def spy(spans, *args, **kw):
        chunks.append(len(spans))
        return original(spans, *args, **kw)

    monkeypatch.setattr(cut_module, "CLIPS_PER_CHUNK", 2)
    monkeypatch.setattr(cut_module, "log_mel_placed", spy)
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
    assert streamed.counts.by_status == intact.counts.by_status
    for name in ("segments.parquet", "features/logmel.npy"):
        assert (tmp_path / "streamed" / name).read_bytes() == (tmp_path / "intact" / name).read_bytes()

