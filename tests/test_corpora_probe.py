import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from transfer.probe import grouped_probe_predictions
from weaklabel.corpora import read_ravdess
from weaklabel.features import LogMelParams, clip_logmel_for_files

from .conftest import SHARED_DATA, requires_shared

RAVDESS = SHARED_DATA / "ravdess_actors_01-06"


def test_ravdess_names_map_to_emotion_valence_speaker_and_gender(tmp_path):
    for name in ("03-01-03-02-01-01-01.wav", "03-01-05-01-02-02-12.flac", "03-01-01-01-01-01-02.wav",
                 "not-a-ravdess-name.wav", "03-01-09-01-01-01-01.wav"):
        (tmp_path / name).write_bytes(b"")
    df = read_ravdess(tmp_path)
    rows = {r["path"].split("/")[-1]: r for r in df.to_dict("records")}
    happy = rows["03-01-03-02-01-01-01.wav"]
    assert (happy["emotion"], happy["valence"], happy["speaker"], happy["gender"], happy["intensity"]) == \
        ("happy", "positive", "actor01", "male", "strong")
    angry = rows["03-01-05-01-02-02-12.flac"]
    assert (angry["emotion"], angry["valence"], angry["gender"], angry["statement"]) == ("angry", "negative", "female", "02")
    assert rows["03-01-01-01-01-01-02.wav"]["valence"] == "neutral"
    for bad in ("not-a-ravdess-name.wav", "03-01-09-01-01-01-01.wav"):  # wrong shape; unknown emotion code
        assert rows[bad]["error"] and pd.isna(rows[bad]["emotion"]) and pd.isna(rows[bad]["valence"])


@requires_shared(RAVDESS)
def test_ravdess_actors_on_disk():
    df = read_ravdess(RAVDESS)
    assert len(df) == 360 and df["error"].isna().all()
    assert df["speaker"].nunique() == 6 and df["valence"].value_counts().to_dict() == \
        {"negative": 192, "positive": 144, "neutral": 24}


def test_clip_logmel_for_files_centres_audio_and_records_failures(tmp_path):
    good = tmp_path / "a.flac"
    sf.write(good, 0.5 * np.sin(2 * np.pi * 300 * np.arange(48000) / 48000), 48000)  # 1 s at 48 kHz
    bad = tmp_path / "b.wav"
    bad.write_bytes(b"junk")
    params = LogMelParams(n_mels=32, n_fft=512, win_length=512, hop_length=160)
    logmel, errors = clip_logmel_for_files([str(good), str(bad)], clip_seconds=3.0, params=params)
    assert logmel.shape == (2, 32, 1 + 48000 // 160) and errors[0] is None and "cannot open" in errors[1]
    loud = logmel[0].astype(np.float32).max(axis=0) > -40
    frames = np.flatnonzero(loud)
    assert 95 <= frames[0] <= 105 and 195 <= frames[-1] <= 205  # the 1 s tone sits in the middle of 3 s
    assert (logmel[1] <= -99).all()  # the failed file is silence, flagged by its error


def test_grouped_probe_never_trains_on_the_scored_speaker():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(6), 20)
    y = rng.integers(0, 2, groups.size)
    # A feature that identifies each speaker's own labels by memorisation only (a per-speaker random code):
    # a model that saw the speaker would score it perfectly; one that did not cannot.
    X = np.concatenate([np.eye(6)[groups] * 5, (y * 2 - 1)[:, None] * (groups[:, None] % 2 * 2 - 1)], axis=1)
    p = grouped_probe_predictions(X.astype(np.float32), y, groups)
    assert p.shape == y.shape and np.isfinite(p).all()
    from sklearn.metrics import roc_auc_score
    assert roc_auc_score(y, p) < 0.7  # the sign flips between odd and even speakers: nothing transfers
    separable = np.stack([y + 0.1 * rng.standard_normal(y.size), rng.standard_normal(y.size)], axis=1)
    assert roc_auc_score(y, grouped_probe_predictions(separable, y, groups)) > 0.95
    with pytest.raises(ValueError, match="two speakers"):
        grouped_probe_predictions(separable, y, np.zeros_like(groups))
