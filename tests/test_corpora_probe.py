import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from transfer.probe import grouped_probe_predictions
from evaluation.acted_corpora import read_ravdess
from weaklabel.logmel import LogMelParams, clip_logmel_for_files

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
    # surprised (48 clips) has no valence under the default map: excluded, as unmapped
    assert df["speaker"].nunique() == 6 and df["valence"].value_counts().to_dict() == \
        {"negative": 192, "positive": 96, "neutral": 24}
    assert df.loc[df["valence"].isna(), "emotion"].value_counts().to_dict() == {"surprised": 48}


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


def _cue_fixture(kind: str, n_speakers: int = 8, per_speaker: int = 24, dim: int = 32, seed: int = 0):
    """Embeddings (n, dim) float32, labels (n,) and speakers (n,), each speaker with balanced labels.

    The first ``n_speakers`` features are cue features, the rest a per-speaker offset (voice identity) plus
    noise. ``kind="shared"``: every speaker expresses valence on cue feature 0 (a cue that transfers to
    unseen speakers). ``kind="speaker"``: speaker ``s`` expresses it on cue feature ``s`` only, which is
    exactly 0 for every other speaker, so only a model that has heard the speaker can use it.
    """
    rng = np.random.default_rng(seed)
    speakers = np.repeat(np.arange(n_speakers), per_speaker)
    y = np.concatenate([rng.permutation(np.arange(per_speaker) % 2) for _ in range(n_speakers)])
    X = np.zeros((y.size, dim))
    X[:, n_speakers:] = (0.5 * rng.standard_normal((n_speakers, dim - n_speakers))[speakers]
                         + 0.3 * rng.standard_normal((y.size, dim - n_speakers)))
    cue = np.zeros(y.size, dtype=int) if kind == "shared" else speakers
    X[np.arange(y.size), cue] = 2.0 * (2 * y - 1) + 0.3 * rng.standard_normal(y.size)
    return X.astype(np.float32), y, speakers


def test_grouped_probe_hears_a_shared_cue_but_not_a_speaker_only_cue():
    from sklearn.metrics import roc_auc_score

    X, y, speakers = _cue_fixture("shared")
    assert roc_auc_score(y, grouped_probe_predictions(X, y, speakers)) > 0.9
    X, y, speakers = _cue_fixture("speaker")
    p = grouped_probe_predictions(X, y, speakers)
    assert p.shape == y.shape and np.isfinite(p).all()
    assert abs(roc_auc_score(y, p) - 0.5) < 0.1  # the cue needs the speaker: nothing transfers
    # The same speaker-only cue is learnt as soon as a speaker's clips are on both sides (every clip its own
    # group: a clip-level split), so the assertion above really separates a grouped probe from a leaky one.
    leaky = grouped_probe_predictions(X, y, np.arange(y.size), n_folds=5)
    assert roc_auc_score(y, leaky) > 0.9


def test_grouped_probe_folds_keep_every_speaker_on_one_side(monkeypatch):
    import transfer.probe as probe

    X, y, speakers = _cue_fixture("shared", n_speakers=5, per_speaker=6)
    seen = []
    real = probe.fit_predict_baseline

    def recording(model, X_train, y_train, evaluate, seed=0):
        train_rows = {tuple(row) for row in X_train}
        test_rows = {tuple(row) for row in evaluate["test"]}
        seen.append(({int(s) for s, row in zip(speakers, X) if tuple(row) in train_rows},
                     {int(s) for s, row in zip(speakers, X) if tuple(row) in test_rows}))
        return real(model, X_train, y_train, evaluate, seed=seed)

    monkeypatch.setattr(probe, "fit_predict_baseline", recording)
    grouped_probe_predictions(X, y, speakers, n_folds=3)
    assert len(seen) == 3
    assert all(train and test and not train & test for train, test in seen)
    assert set().union(*(test for _, test in seen)) == set(range(5))  # every speaker scored


def test_a_leaky_fold_assignment_is_refused():
    from evaluation.acted_probes import describe_folds, speaker_folds

    speakers = np.array(["a", "a", "b", "b", "c", "c"])
    y = np.array([0, 1, 0, 1, 0, 1])
    describe_folds(speakers, speaker_folds(speakers), y)  # the folds the benchmark makes pass
    leaky = np.array([0, 1, 1, 1, 2, 2])  # speaker a is in fold 0 and fold 1
    with pytest.raises(AssertionError, match="both sides"):
        describe_folds(speakers, leaky, y)
    with pytest.raises(ValueError, match="two speakers"):
        grouped_probe_predictions(np.zeros((6, 2), np.float32), y, np.zeros(6))
