"""The build on real transcribed speech in the CMU-MOSEI layout (../shared/data; skipped when absent)."""
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from textblob import TextBlob
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from weaklabel.logmel import LogMelParams, log_mel_spectrogram

from .conftest import MOSEI_FOLDS, REAL_MOSEI, REPO_ROOT, requires_shared

pytestmark = requires_shared(REAL_MOSEI)


@pytest.fixture(scope="module")
def real_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("real") / "out"
    proc = subprocess.run([sys.executable, "-m", "pipelines.build_dataset", "--corpus", "mosei", "--root",
                           str(REAL_MOSEI), "--out", str(out), "--quiet", "--workers", "2"],
                          cwd=REPO_ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "48 segments from 4 recordings" in proc.stdout
    return out


def test_one_row_per_transcript_line(real_build):
    df = pd.read_parquet(real_build / "segments.parquet")
    lines = sum(len(p.read_text().splitlines()) for p in (REAL_MOSEI / "Raw/Transcript/Segmented/Combined").glob("*.txt"))
    assert len(df) == lines == 48
    assert set(df["status"]) <= {"ok", "abstained"}
    build = json.loads((real_build / "build.json").read_text())
    assert build["counts"]["segments"] == 48 and build["config"]["clip_seconds"] == 7.0


def test_labels_equal_the_scorers_applied_directly(real_build):
    df = pd.read_parquet(real_build / "segments.parquet")
    vader = SentimentIntensityAnalyzer()
    for row in df.itertuples():
        text = row.text.replace("\u2019", "'")
        tb, vs = TextBlob(text).sentiment.polarity, vader.polarity_scores(text)
        assert row.textblob == pytest.approx(tb, abs=1e-12) and row.vader == pytest.approx(vs["compound"], abs=1e-12)
        tb_negation = TextBlob(text.replace("n't", " not")).sentiment.polarity  # no won't/can't in this fixture
        assert row.textblob_negation == pytest.approx(tb_negation, abs=1e-12)
        assert row.vader_pos == pytest.approx(vs["pos"], abs=1e-12) and row.vader_neg == pytest.approx(vs["neg"])
        # the build's policy's score is its scorer column; its label the band rule
        band = json.loads((real_build / "build.json").read_text())["config"]["neutral_band"]
        score = row.e5 if "e5" in df.columns else row.score
        assert row.score == pytest.approx(score, abs=1e-12)
        expected = 1 if score >= band else 0 if score <= -band else None
        assert (None if pd.isna(row.label) else int(row.label)) == expected, row.segment_id
        assert row.status == ("abstained" if expected is None else "ok")


def test_clips_are_seven_seconds_cut_from_the_transcript_span(real_build):
    df = pd.read_parquet(real_build / "segments.parquet")
    feats = np.load(real_build / "features/logmel.npy", mmap_mode="r")
    params = LogMelParams(**json.loads((real_build / "build.json").read_text())["config"]["mel"])
    assert feats.shape[1:] == (params.n_mels, params.n_frames(7 * 16000))
    for row in df.itertuples():
        assert row.start - 1e-9 <= row.clip_source_start_s < row.clip_source_end_s <= row.end + 1e-6
        assert row.clip_source_end_s - row.clip_source_start_s == pytest.approx(min(7.0, row.end - row.start), abs=1e-3)
        # Independent decode of the same span, placed at the recorded offset: same spectrogram.
        audio, sr = sf.read(REAL_MOSEI / "Raw/Audio/Full/WAV_16000" / f"{row.video_id}.wav", dtype="float32")
        assert sr == 16000
        a = int(round(row.clip_source_start_s * sr))
        n = int(round((row.clip_source_end_s - row.clip_source_start_s) * sr))
        pad = int(round(row.clip_pad_left_s * sr))
        clip = np.zeros(7 * sr, np.float32)
        clip[pad:pad + n] = audio[a:a + n]
        expected = log_mel_spectrogram(clip, params)
        got = feats[row.feature_row].astype(np.float32)
        loud = expected > -60
        assert np.abs(got[loud] - expected[loud]).max() < 0.5, row.segment_id


def test_speech_energy_lies_inside_the_timestamps(real_build):
    """Mel energy in the clip's audio region exceeds the recording's between-segment energy."""
    df = pd.read_parquet(real_build / "segments.parquet")
    feats = np.load(real_build / "features/logmel.npy", mmap_mode="r")
    hop_s = json.loads((real_build / "build.json").read_text())["config"]["mel"]["hop_length"] / 16000
    ratios = []
    for video, rows in df.groupby("video_id"):
        audio, sr = sf.read(REAL_MOSEI / "Raw/Audio/Full/WAV_16000" / f"{video}.wav", dtype="float32")
        outside = np.ones(len(audio), bool)
        for r in rows.itertuples():
            outside[int(r.start * sr):int(r.end * sr)] = False
        gap_power = float(np.mean(audio[outside] ** 2)) if outside.sum() > sr * 0.5 else None
        for r in rows.itertuples():
            power = (10 ** (feats[r.feature_row].astype(np.float64) / 10)).sum(axis=0)
            t = np.arange(power.size) * hop_s
            region = (t >= r.clip_pad_left_s) & (t < r.clip_pad_left_s + r.clip_source_end_s - r.clip_source_start_s)
            padding = ~region & ((t < r.clip_pad_left_s - 0.1) | (t > r.clip_pad_left_s + r.clip_source_end_s
                                                                   - r.clip_source_start_s + 0.1))
            if padding.any():
                assert power[padding].max() < power[region].mean() * 1e-6  # padding is silence
            if gap_power:
                seg = audio[int(r.clip_source_start_s * sr):int(r.clip_source_end_s * sr)]
                ratios.append(float(np.mean(seg ** 2)) / gap_power)
    assert np.median(ratios) > 2.0


@requires_shared(MOSEI_FOLDS)
def test_standard_folds_file_is_accepted(tmp_path):
    from weaklabel.build import BuildConfig, build_dataset

    config = BuildConfig(corpus="mosei", root=str(REAL_MOSEI), folds=str(MOSEI_FOLDS),
                         mel=LogMelParams(n_mels=32, n_fft=512, win_length=512, hop_length=512))
    result = build_dataset(config, tmp_path / "out", workers=1)
    assert result.counts.to_dict()["by_split"] == {"unassigned": {
        "segments": 48, "ok": result.counts.ok, "positive": result.counts.positive, "negative": result.counts.negative,
        "groups": 4}}
