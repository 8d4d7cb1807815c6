"""Tests of the synthetic-speech demo corpus (weaklabel.demo): layout, format, timestamps, determinism,
reuse, the sentence file's sentiment thresholds, and prosody that follows sentiment."""
from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from pipelines import demo_corpus
from weaklabel import demo

N_RECORDINGS = 3
PER_RECORDING = 6
SEED = 0


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _segments(root: Path) -> list[tuple[str, int, float, float, str]]:
    """Parse every transcript line into (video, segment, start, end, text), asserting 5 fields."""
    rows = []
    for txt in sorted((root / demo.TRANSCRIPT_SUBDIR).glob("*.txt")):
        for line in txt.read_text(encoding="utf-8").splitlines():
            fields = line.split("___", 4)
            assert len(fields) == 5, line
            video, segment, start, end, text = fields
            assert video == txt.stem
            assert re.fullmatch(r"\d+\.\d{3}", start) and re.fullmatch(r"\d+\.\d{3}", end), line
            rows.append((video, int(segment), float(start), float(end), text))
    return rows


def _sentiment_of() -> dict[str, str]:
    return {text: s for s, texts in demo.load_sentences().items() for text in texts}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return demo.generate_demo_corpus(tmp_path_factory.mktemp("demo") / "corpus", n_recordings=N_RECORDINGS,
                                     sentences_per_recording=PER_RECORDING, seed=SEED)


def test_layout_and_wav_format(corpus):
    wavs = sorted((corpus / demo.AUDIO_SUBDIR).glob("*.wav"))
    txts = sorted((corpus / demo.TRANSCRIPT_SUBDIR).glob("*.txt"))
    assert [p.stem for p in wavs] == [p.stem for p in txts]
    assert [p.stem for p in wavs] == ["demo_spk00_rec00", "demo_spk01_rec01", "demo_spk02_rec02"]
    assert (corpus / demo.STAMP_NAME).is_file()
    assert not list(corpus.parent.glob(".*tmp*")), "temporary build directory left behind"
    for wav in wavs:
        info = sf.info(str(wav))
        assert (info.samplerate, info.channels, info.format, info.subtype) == (16000, 1, "WAV", "PCM_16")
        assert 10.0 < info.duration < 60.0


def test_transcripts_parse_with_valid_times_and_mixed_classes(corpus):
    rows = _segments(corpus)
    assert len(rows) == N_RECORDINGS * PER_RECORDING
    sentiment_of = _sentiment_of()
    for video in {r[0] for r in rows}:
        duration = sf.info(str(corpus / demo.AUDIO_SUBDIR / f"{video}.wav")).duration
        mine = [r for r in rows if r[0] == video]
        assert [r[1] for r in mine] == list(range(PER_RECORDING))
        previous_end = 0.0
        for _, _, start, end, text in mine:
            assert 0.0 <= start < end <= duration
            assert start >= previous_end + 0.39, "sentences must be separated by a pause"
            assert 1.0 < end - start < 5.0
            previous_end = end
        classes = [sentiment_of[r[4]] for r in mine]  # KeyError if a text is not from sentences.tsv
        assert sorted(classes) == sorted(["positive", "negative", "neutral"] * (PER_RECORDING // 3))
        assert len({r[4] for r in mine}) == PER_RECORDING


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x ** 2)))


def test_speech_energy_is_inside_the_segments(corpus):
    for video in {r[0] for r in _segments(corpus)}:
        audio, sr = sf.read(str(corpus / demo.AUDIO_SUBDIR / f"{video}.wav"))
        inside = np.zeros(len(audio), bool)
        for _, _, start, end, _ in (r for r in _segments(corpus) if r[0] == video):
            s, e = int(round(start * sr)), int(round(end * sr))
            inside[s:e] = True
            # the timestamps are the speech boundaries (eSpeak's edge silence trimmed): speech starts
            # in the very first 10 ms, and the pauses on either side hold only the noise floor
            pause_before = _rms(audio[s - int(0.3 * sr): s - int(0.01 * sr)])
            pause_after = _rms(audio[e + int(0.02 * sr): e + int(0.3 * sr)])
            assert _rms(audio[s: s + sr // 100]) > 1.5 * pause_before
            assert _rms(audio[s: e]) > 5 * max(pause_before, pause_after)
            assert pause_after < 2 * pause_before
        rms_in = np.sqrt(np.mean(audio[inside] ** 2))
        rms_out = np.sqrt(np.mean(audio[~inside] ** 2))
        assert rms_in > 10 * rms_out
        # a noise floor, not digital silence, at about -55 dBFS
        assert -60.0 < 20 * np.log10(rms_out) < -50.0


def test_same_seed_gives_identical_bytes_and_other_seed_differs(corpus, tmp_path):
    again = demo.generate_demo_corpus(tmp_path / "again", n_recordings=N_RECORDINGS,
                                      sentences_per_recording=PER_RECORDING, seed=SEED)
    first, second = _files(corpus), _files(again)
    assert first.keys() == second.keys()
    for name in first:
        assert first[name] == second[name], name
    other = _files(demo.generate_demo_corpus(tmp_path / "other", n_recordings=N_RECORDINGS,
                                             sentences_per_recording=PER_RECORDING, seed=SEED + 1))
    wavs = [n for n in first if n.endswith(".wav")]
    assert wavs and all(first[n] != other[n] for n in wavs)
    txts = [n for n in first if n.endswith(".txt")]
    assert any(first[n] != other[n] for n in txts)


def test_reuses_a_matching_corpus_and_replaces_a_stale_one(tmp_path, monkeypatch):
    out = tmp_path / "corpus"
    demo.generate_demo_corpus(out, n_recordings=1, sentences_per_recording=3, seed=5)
    wav = out / demo.AUDIO_SUBDIR / "demo_spk00_rec00.wav"
    mtime = wav.stat().st_mtime_ns
    time.sleep(0.01)
    with monkeypatch.context() as patch:
        patch.setattr(demo, "_build", lambda *a, **k: pytest.fail("a matching corpus was regenerated"))
        assert demo.generate_demo_corpus(out, n_recordings=1, sentences_per_recording=3, seed=5) == out.absolute()
    assert wav.stat().st_mtime_ns == mtime, "a matching corpus must be reused, not rewritten"

    reference = wav.read_bytes()
    wav.write_bytes(reference[:1000])  # incomplete: size no longer matches the stamp
    demo.generate_demo_corpus(out, n_recordings=1, sentences_per_recording=3, seed=5)
    assert wav.read_bytes() == reference

    demo.generate_demo_corpus(out, n_recordings=2, sentences_per_recording=3, seed=5)
    assert len(list((out / demo.AUDIO_SUBDIR).glob("*.wav"))) == 2
    assert '"n_recordings": 2' in (out / demo.STAMP_NAME).read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["corpus"], "temporary directories left behind"


def test_a_failed_build_leaves_nothing_behind(tmp_path, monkeypatch):
    real_render = demo._render_recording
    calls = []

    def failing_render(video_id, *args):
        calls.append(video_id)
        if len(calls) == 2:
            raise RuntimeError("simulated failure mid-build")
        return real_render(video_id, *args)

    monkeypatch.setattr(demo, "_render_recording", failing_render)
    with pytest.raises(RuntimeError, match="simulated"):
        demo.generate_demo_corpus(tmp_path / "corpus", n_recordings=2, sentences_per_recording=3)
    assert len(calls) == 2
    assert list(tmp_path.iterdir()) == [], "a half-built corpus or its temporary directory was left"


def test_refuses_to_overwrite_a_foreign_directory(tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        demo.generate_demo_corpus(foreign, n_recordings=1, sentences_per_recording=3)
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_missing_or_broken_espeak_is_a_clear_error(tmp_path, monkeypatch):
    import espeakng_loader

    monkeypatch.setattr(espeakng_loader, "get_library_path", lambda: str(tmp_path / "no-such-libespeak-ng.so"))
    with pytest.raises(RuntimeError, match="eSpeak NG"):
        demo.generate_demo_corpus(tmp_path / "a", n_recordings=1, sentences_per_recording=3)
    monkeypatch.undo()

    empty = tmp_path / "empty-data"
    empty.mkdir()
    monkeypatch.setattr(espeakng_loader, "get_data_path", lambda: str(empty))
    with pytest.raises(RuntimeError, match="espeak_Initialize failed"):
        demo.generate_demo_corpus(tmp_path / "b", n_recordings=1, sentences_per_recording=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty-data"], "nothing may be left on failure"


def test_sentences_file_meets_the_sentiment_thresholds():
    from textblob import TextBlob
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    pool = demo.load_sentences()
    assert set(pool) == {"positive", "negative", "neutral"}
    for sentiment, texts in pool.items():
        assert 50 <= len(texts) <= 80, sentiment
        for text in texts:
            assert text.isascii(), text
            assert 4 <= len(text.split()) <= 14, text
            score = (TextBlob(text).sentiment.polarity + analyzer.polarity_scores(text)["compound"]) / 2
            if sentiment == "positive":
                assert score >= 0.35, (text, score)
            elif sentiment == "negative":
                assert score <= -0.35, (text, score)
            else:
                assert abs(score) < 0.1, (text, score)


def test_pitch_follows_the_recorded_prosody_and_positive_is_higher_on_average(corpus):
    """Classes overlap by design (jitter), so check the mechanism and the average, not every sentence."""
    import librosa
    from scipy.stats import spearmanr

    plan = pd.read_csv(corpus / demo.SEGMENTS_NAME, sep="\t")
    log_f0 = []
    for row in plan.itertuples():
        audio, sr = sf.read(str(corpus / demo.AUDIO_SUBDIR / f"{row.video}.wav"))
        segment = audio[int(row.start * sr): int(row.end * sr)]
        f0, voiced, _ = librosa.pyin(segment, fmin=60, fmax=400, sr=sr, frame_length=1024, hop_length=320)
        assert voiced.sum() > 20
        log_f0.append(float(np.log(np.median(f0[voiced]))))
    plan = plan.assign(log_f0=log_f0)
    # Within each recording (one speaker), relative to that speaker's mean:
    centred = plan[["pitch", "log_f0"]] - plan.groupby("video")[["pitch", "log_f0"]].transform("mean")
    # the measured F0 rises with the eSpeak pitch the generator chose for the sentence ...
    assert spearmanr(centred["pitch"], centred["log_f0"]).statistic > 0.6
    # ... and positive sentences are higher than negative ones on average (by ~9 % vs -7 % by design).
    by_class = centred["log_f0"].groupby(plan["sentiment"]).mean()
    assert np.exp(by_class["positive"] - by_class["negative"]) > 1.05, by_class


def test_command_line_entry_point(tmp_path, capsys):
    out = tmp_path / "cli"
    assert demo_corpus.main([str(out), "--seed", "3", "--recordings", "1", "--sentences", "3"]) == 0
    printed = capsys.readouterr().out
    assert str(out.absolute()) in printed and "synthetic" in printed
    assert len(list((out / demo.AUDIO_SUBDIR).glob("*.wav"))) == 1
    assert demo_corpus.main([str(tmp_path / "bad"), "--recordings", "0"]) == 1


def test_default_demo_plan_keeps_held_out_speakers_and_sentences_out_of_training():
    """The full-size demo's plan (32 recordings of 15 sentences, 8 speakers), without synthesising it."""
    splits = demo.speaker_splits(32, seed=0)
    assert sorted(splits.values()) == ["test"] + ["train"] * 6 + ["validation"]
    pools = demo.sentence_splits(demo.load_sentences(), splits, 15, seed=0)
    for sentiment, texts in demo.load_sentences().items():
        by_split = [set(pools[split][sentiment]) for split in demo.SPLITS]
        assert sum(len(t) for t in by_split) == len(texts) and set().union(*by_split) == set(texts)  # a partition
        assert all(len(t) >= 5 for t in by_split)  # a recording's worth (15 / 3) each
    with pytest.raises(ValueError, match="fewer sentences per recording"):
        demo.sentence_splits(demo.load_sentences(), splits, 150, seed=0)


def test_demo_build_splits_are_speaker_and_sentence_disjoint(tmp_path, monkeypatch):
    """The demo as pipelines.build_dataset builds it (no --root: the corpus's own folds), on a small corpus
    with all eight speakers and two recordings of spk00, so a split by recording could separate them."""
    import json

    from pipelines import build_dataset as build_cli

    corpus = demo.generate_demo_corpus(tmp_path / "corpus", n_recordings=9, sentences_per_recording=3, seed=SEED)
    folds = json.loads((corpus / demo.FOLDS_NAME).read_text(encoding="utf-8"))
    assert [len(folds["speakers"][k]) for k in ("train", "valid", "test")] == [6, 1, 1]
    monkeypatch.setattr(demo, "generate_demo_corpus", lambda *a, **k: corpus)
    out = tmp_path / "build"
    assert build_cli.main(["--out", str(out), "--workers", "1", "--n-mels", "32", "--quiet"]) == 0
    segments = pd.read_parquet(out / "segments.parquet")
    assert len(segments) == 9 * 3 and segments["split"].notna().all()
    split_of_video = segments.groupby("video_id")["split"].first().to_dict()
    assert split_of_video == {v: split for key, split in (("train", "train"), ("valid", "validation"),
                                                           ("test", "test")) for v in folds[key]}
    speaker = segments["video_id"].str.extract(r"^demo_(spk\d\d)_rec")[0]
    by_split = {split: (set(speaker[segments["split"] == split]), set(segments.loc[segments["split"] == split, "text"]))
                for split in ("train", "validation", "test")}
    assert all(speakers and texts for speakers, texts in by_split.values())
    train_speakers, train_texts = by_split["train"]
    for split in ("validation", "test"):
        speakers, texts = by_split[split]
        assert not speakers & train_speakers, f"{split} speakers also in training"
        assert not texts & train_texts, f"{split} sentences also spoken in training"
    assert not by_split["validation"][1] & by_split["test"][1]
