"""Issue 12: a re-run re-processes exactly the recordings whose transcript or audio changed, says which, and
ends with the bytes a fresh build of the changed corpus writes; a new policy re-labels without audio."""
from __future__ import annotations

import os
import shutil

import pandas as pd
import soundfile as sf

from weaklabel.build import cut as cut_module
from weaklabel.build import BuildConfig, build_dataset
from weaklabel.logmel import LogMelParams

from .conftest import tone_bursts

FAST_MEL = LogMelParams(n_mels=16, n_fft=256, win_length=256, hop_length=256)
OUTPUTS = ("segments.parquet", "features/logmel.npy", "build.json")
WAVS = "Raw/Audio/Full/WAV_16000"
TEXTS = "Raw/Transcript/Segmented/Combined"


def config_for(root, **kw):
    return BuildConfig(corpus="mosei", root=str(root), mel=FAST_MEL, **kw)


def outputs(out):
    return {name: (out / name).read_bytes() for name in OUTPUTS}


def fresh(root, tmp_path, name, **kw):
    """A fresh build of the corpus as it is now (a copy of the corpus folder keeps the files' times)."""
    build_dataset(config_for(root, **kw), tmp_path / name, workers=1)
    return outputs(tmp_path / name)


def no_audio_work(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("audio decoded")

    monkeypatch.setattr(cut_module, "process_audio_file", refuse)
    monkeypatch.setattr(cut_module, "AudioReader", refuse)


def test_edited_transcript_reprocesses_only_its_recording(small_mosei, tmp_path, monkeypatch):
    out = tmp_path / "out"
    build_dataset(config_for(small_mosei), out, workers=1)
    path = small_mosei / TEXTS / "vid2.txt"
    path.write_text(path.read_text().replace("I absolutely love this wonderful film", "I hate this dreadful film"))
    result = build_dataset(config_for(small_mosei), out, workers=1)
    assert not result.up_to_date and result.recordings_processed == 1
    assert result.changes == {"changed": [f"{WAVS}/vid2.wav"], "new": [], "removed": []}
    df = pd.read_parquet(out / "segments.parquet").set_index("segment_id")
    assert df.loc["vid2_0", "text"].startswith("I hate") and df.loc["vid2_0", "label"] == 0
    assert outputs(out) == fresh(small_mosei, tmp_path, "fresh")  # the same bytes as a build from scratch
    no_audio_work(monkeypatch)
    assert build_dataset(config_for(small_mosei), out, workers=1).up_to_date


def test_replaced_audio_is_reprocessed_and_a_touched_one_is_not(small_mosei, tmp_path, monkeypatch):
    out = tmp_path / "out"
    build_dataset(config_for(small_mosei), out, workers=1)
    wav = small_mosei / WAVS / "vid4.wav"
    stat = os.stat(wav)
    os.utime(wav, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))  # touched: same bytes, new time
    with monkeypatch.context() as patch:
        no_audio_work(patch)
        again = build_dataset(config_for(small_mosei), out, workers=1)
    assert again.up_to_date
    sf.write(wav, tone_bursts(12.0, [(0.5, 3.0)], freq=3000.0), 16000, subtype="PCM_16")  # new content
    result = build_dataset(config_for(small_mosei), out, workers=1)
    assert result.recordings_processed == 1 and result.changes["changed"] == [f"{WAVS}/vid4.wav"]
    assert outputs(out) == fresh(small_mosei, tmp_path, "fresh")


def test_new_and_removed_recordings_are_noticed(small_mosei, tmp_path):
    out = tmp_path / "out"
    build_dataset(config_for(small_mosei), out, workers=1)
    shutil.copy(small_mosei / WAVS / "vid0.wav", small_mosei / WAVS / "vid9.wav")
    (small_mosei / TEXTS / "vid9.txt").write_text("vid9___0___0.5___3.0___What a lovely surprise!\n")
    (small_mosei / WAVS / "vid1.wav").unlink()
    (small_mosei / TEXTS / "vid1.txt").unlink()
    result = build_dataset(config_for(small_mosei), out, workers=1)
    assert result.recordings_processed == 1
    assert result.changes == {"changed": [], "new": [f"{WAVS}/vid9.wav"], "removed": [f"{WAVS}/vid1.wav"]}
    df = pd.read_parquet(out / "segments.parquet")
    assert "vid9_0" in set(df["segment_id"]) and "vid1" not in set(df["video_id"])
    assert outputs(out) == fresh(small_mosei, tmp_path, "fresh")


def test_another_policy_with_overwrite_relabels_from_stored_scores(small_mosei, tmp_path, monkeypatch):
    out = tmp_path / "out"
    build_dataset(config_for(small_mosei), out, workers=1)
    expected = fresh(small_mosei, tmp_path, "fresh", policy="vader", neutral_band=0.1)
    with monkeypatch.context() as patch:
        no_audio_work(patch)
        result = build_dataset(config_for(small_mosei, policy="vader", neutral_band=0.1), out, workers=1,
                               overwrite=True)
    assert result.relabelled and not result.up_to_date and result.recordings_processed == 0
    assert outputs(out) == expected
    with monkeypatch.context() as patch:
        no_audio_work(patch)
        assert build_dataset(config_for(small_mosei, policy="vader", neutral_band=0.1), out, workers=1).up_to_date
