"""Issue 12: voices stay on one side of the split, and only real clips are kept (the fault battery).

Every test builds a small corpus of one source (seeded manifest split, subtitles with voice tags, diarised
speaker columns, --folds, group columns, overlapping rows) and checks that no speaker and no audio file
sits on two sides, that no good segment is lost, and that every failed one says why.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import soundfile as sf

from pipelines.train import empty_sides, metrics_table
from weaklabel.build import BuildConfig, build_dataset
from weaklabel.logmel import LogMelParams
from transfer.metrics_record import MetricsRecord
from weaklabel.relabel import Relabelling, relabel_dataset
from weaklabel.segments import FAILURE_STATUSES, OK, TOO_LITTLE_SPEECH
from weaklabel.splits import SplitError, split_groups

from .conftest import tone_bursts

FAST_MEL = LogMelParams(n_mels=16, n_fft=256, win_length=256, hop_length=256)
POSITIVE = "I absolutely love this wonderful film, it is great!"
NEGATIVE = "This was a terrible, awful and horrible experience."


def write_wav(path: Path, duration: float) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, tone_bursts(duration, [(0.0, duration)]), 16000, subtype="PCM_16")
    return path.name


def manifest_corpus(root: Path, rows: list[dict], durations: dict[str, float]) -> Path:
    for name, duration in durations.items():
        write_wav(root / name, duration)
    pd.DataFrame(rows).to_csv(root / "m.csv", index=False)
    return root / "m.csv"


def build(root, out, corpus="manifest", **kw) -> pd.DataFrame:
    kw.setdefault("mel", FAST_MEL)
    build_dataset(BuildConfig(corpus=corpus, root=str(root), clip_seconds=2.0, **kw), out, workers=1)
    return pd.read_parquet(out / "segments.parquet")


def assert_no_voice_on_two_sides(df: pd.DataFrame) -> None:
    assigned = df[df["split"].notna()]
    for column in ("group_id", "video_id", "audio_path"):
        sides = assigned.groupby(column)["split"].nunique()
        assert (sides <= 1).all(), f"{column} on two sides: {sides[sides > 1].index.tolist()}"
    if "speaker" in assigned.columns:
        people = assigned.assign(person=assigned["speaker"].str.split(", ")).explode("person")
        people = people[people["person"].notna()]
        local = people["person"].str.fullmatch(r"(?i)(speaker|spkr|spk)[ _-]?\d+")
        key = people["person"].where(~local, people["video_id"] + "/" + people["person"])
        sides = people.groupby(key)["split"].nunique()
        assert (sides <= 1).all(), f"speaker on two sides: {sides[sides > 1].index.tolist()}"


def assert_failures_say_why(df: pd.DataFrame) -> None:
    failed = df[df["status"].isin(FAILURE_STATUSES)]
    assert failed["detail"].fillna("").str.len().gt(0).all(), failed[["status", "detail"]]


# -------------------------------------------------------------------------------- grouping, unit level
def test_diarization_labels_are_local_and_named_speakers_join_recordings():
    videos = ["r0", "r0", "r1", "r1", "r2", "r3", "r3"]
    speakers = ["SPEAKER_00", "SPEAKER_01", "SPEAKER_00", "SPEAKER_01", "spk1", "Alice", "Bob"]
    audio = [f"{v}.wav" for v in videos]
    groups = list(speakers)  # a manifest without a group column groups by speaker
    auto = split_groups(videos, groups, speakers, audio, "auto")
    assert len(set(auto)) == 4  # r0, r1, r2 and r3 apart: SPEAKER_00 of r0 is not SPEAKER_00 of r1
    assert auto[0] == auto[1] == "r0" and auto[2] == auto[3] == "r1"
    merged = split_groups(videos, groups, speakers, audio, "global")
    assert merged[0] == merged[2]  # told the labels are global: one SPEAKER_00 everywhere
    # Alice recurs in r4 with Carol: r3 (Alice, Bob) and r4 (Alice, Carol) are one group, Carol's r5 too.
    more = split_groups(videos + ["r4", "r4", "r5"], groups + ["Alice", "Carol", "Carol"],
                        speakers + ["Alice", "Carol", "Carol"], audio + ["r4.wav", "r4.wav", "r5.wav"], "auto")
    assert len({more[i] for i in (5, 6, 7, 8, 9)}) == 1 and more[0] != more[5]


def test_rows_over_one_audio_file_share_a_group_and_names_are_stable():
    videos, groups = ["a", "b", "c"], ["annotator1", "annotator2", "c"]
    audio = ["same.wav", "same.wav", "c.wav"]
    out = split_groups(videos, groups, [None] * 3, audio)
    assert out[0] == out[1] != out[2]
    assert split_groups(videos, out, [None] * 3, audio) == out  # applied to its own output: unchanged


# -------------------------------------------------------------------------------- manifests
def test_diarised_manifest_keeps_recordings_apart_and_no_speaker_crosses(tmp_path):
    rows, durations = [], {}
    for r in range(8):
        durations[f"call{r}.wav"] = 8.0
        for k, (spk, text) in enumerate([("SPEAKER_00", POSITIVE), ("SPEAKER_01", NEGATIVE)] * 2):
            rows.append({"audio_path": f"call{r}.wav", "start": 2.0 * k, "end": 2.0 * k + 1.5, "text": text,
                         "speaker": spk})
    root = manifest_corpus(tmp_path / "c", rows, durations)
    df = build(root, tmp_path / "out")
    assert (df["status"] == OK).sum() == len(rows)  # no good segment lost
    assert df["group_id"].nunique() == 8  # not two groups
    assert set(df.loc[df["status"] == OK, "split"]) == {"train", "validation", "test"}
    assert_no_voice_on_two_sides(df)
    with pytest.raises(SplitError, match="would be empty"):  # read as global: two voices cannot fill three sides
        build(root, tmp_path / "global", speakers="global")


def test_named_speaker_recurring_across_recordings_stays_on_one_side(tmp_path):
    rows, durations = [], {}
    for r in range(10):
        durations[f"ep{r}.wav"] = 6.0
        people = ["Host", f"Guest{r}"] if r < 4 else [f"Guest{r}"]
        for k, person in enumerate(people * 2):
            rows.append({"audio_path": f"ep{r}.wav", "start": 1.5 * k, "end": 1.5 * k + 1.0,
                         "text": POSITIVE if k % 2 else NEGATIVE, "speaker": person})
    root = manifest_corpus(tmp_path / "c", rows, durations)
    for seed in range(3):
        df = build(root, tmp_path / f"out{seed}", seed=seed)
        assert (df["status"] == OK).sum() == len(rows)
        assert df.loc[df["speaker"] == "Host", "split"].nunique() == 1
        assert df.loc[df["video_id"].isin(["ep0", "ep1", "ep2", "ep3"]), "group_id"].nunique() == 1
        assert_no_voice_on_two_sides(df)


def test_too_few_groups_stops_unless_allowed(tmp_path):
    rows = [{"audio_path": f"r{r}.wav", "start": 0.0, "end": 1.5, "text": POSITIVE if r else NEGATIVE}
            for r in range(2)]
    root = manifest_corpus(tmp_path / "c", rows, {"r0.wav": 3.0, "r1.wav": 3.0})
    with pytest.raises(SplitError, match=r"test split\(s\) would be empty.*2 group"):
        build(root, tmp_path / "out")
    assert not (tmp_path / "out" / "build.json").exists()
    df = build(root, tmp_path / "out", allow_empty_splits=True)
    assert "test" not in set(df["split"]) and (df["status"] == OK).all()


def test_overlapping_rows_of_two_annotators_share_a_side(tmp_path):
    rows, durations = [], {}
    for r in range(6):
        durations[f"r{r}.wav"] = 6.0
        for annotator, shift in (("ann_a", 0.0), ("ann_b", 1.0)):
            rows.append({"audio_path": f"r{r}.wav", "video_id": f"r{r}_{annotator}", "start": 0.5 + shift,
                         "end": 3.0 + shift, "text": POSITIVE if r % 2 else NEGATIVE, "group": f"{annotator}_{r}"})
    root = manifest_corpus(tmp_path / "c", rows, durations)
    df = build(root, tmp_path / "out")
    assert (df["status"] == OK).sum() == len(rows)
    assert df.groupby("audio_path")["group_id"].nunique().eq(1).all()
    assert_no_voice_on_two_sides(df)


def test_folds_that_split_a_speaker_name_the_group_and_stop(tmp_path):
    rows, durations = [], {}
    for r in range(4):
        durations[f"r{r}.wav"] = 4.0
        rows.append({"audio_path": f"r{r}.wav", "start": 0.0, "end": 1.5, "text": POSITIVE,
                     "speaker": "Alice" if r in (0, 3) else f"P{r}x"})
    root = manifest_corpus(tmp_path / "c", rows, durations)
    folds = tmp_path / "folds.json"
    folds.write_text(json.dumps({"train": ["r0", "r1"], "valid": ["r2"], "test": ["r3"]}))
    with pytest.raises(SplitError, match=r"(?s)group 'Alice'.*test: r3.*train: r0"):
        build(root, tmp_path / "out", folds=str(folds))
    folds.write_text(json.dumps({"train": ["r0", "r3"], "valid": ["r1"], "test": ["r2"]}))
    df = build(root, tmp_path / "out", folds=str(folds))
    assert dict(zip(df["video_id"], df["split"])) == {"r0": "train", "r3": "train", "r1": "validation",
                                                       "r2": "test"}


def test_relabel_keeps_the_groups_and_splits(tmp_path):
    rows, durations = [], {}
    for r in range(6):
        durations[f"r{r}.wav"] = 4.0
        for k, spk in enumerate(["SPEAKER_00", "SPEAKER_01"]):
            rows.append({"audio_path": f"r{r}.wav", "start": 2.0 * k, "end": 2.0 * k + 1.5, "text": POSITIVE,
                         "speaker": spk})
    root = manifest_corpus(tmp_path / "c", rows, durations)
    df = build(root, tmp_path / "out")
    again = relabel_dataset(tmp_path / "out", tmp_path / "re", Relabelling(policy="vader")).segments
    assert again["group_id"].tolist() == df["group_id"].tolist() and again["split"].tolist() == df["split"].tolist()


# -------------------------------------------------------------------------------- subtitles
def test_subtitle_voice_tags_keep_the_host_on_one_side(tmp_path):
    root = tmp_path / "pods"
    for r in range(4):
        write_wav(root / f"episode{r}.wav", 8.0)
        (root / f"episode{r}.vtt").write_text(
            "WEBVTT\n\n"
            f"00:00:00.500 --> 00:00:02.500\n<v Host>{POSITIVE}\n\n"
            f"00:00:03.000 --> 00:00:05.000\n<v Guest {r}>{NEGATIVE}\n\n"
            f"00:00:05.500 --> 00:00:07.500\n<v Host>{NEGATIVE}\n", encoding="utf-8")
    # The host is in every episode: one group, so validation and test cannot be filled without leaking.
    with pytest.raises(SplitError, match="validation and test split"):
        build(root, tmp_path / "out", corpus="subtitles")
    df = build(root, tmp_path / "out", corpus="subtitles", allow_empty_splits=True)
    assert (df["status"] == OK).sum() == 12 and df["group_id"].nunique() == 1
    assert df.loc[df["speaker"] == "Host", "split"].nunique() == 1
    # Six more episodes without the host: they fill validation and test, the host's four stay together.
    for r in range(4, 10):
        write_wav(root / f"episode{r}.wav", 4.0)
        (root / f"episode{r}.vtt").write_text(
            f"WEBVTT\n\n00:00:00.500 --> 00:00:02.500\n<v Guest {r}>{POSITIVE}\n", encoding="utf-8")
    df = build(root, tmp_path / "out2", corpus="subtitles")
    assert set(df["split"]) == {"train", "validation", "test"}
    assert_no_voice_on_two_sides(df)


# -------------------------------------------------------------------------------- only real clips
def test_spans_with_too_little_audio_fail_with_their_own_status(tmp_path):
    rows, durations = [], {}
    for r in range(3):
        durations[f"r{r}.wav"] = 5.0
        rows += [{"audio_path": f"r{r}.wav", "start": 0.5, "end": 2.5, "text": POSITIVE},
                 {"audio_path": f"r{r}.wav", "start": 3.0, "end": 3.01, "text": NEGATIVE},   # 10 ms
                 {"audio_path": f"r{r}.wav", "start": 4.9, "end": 6.0, "text": NEGATIVE},    # cut to 0.1 s at the end
                 {"audio_path": f"r{r}.wav", "start": 3.5, "end": 4.5, "text": NEGATIVE}]
    root = manifest_corpus(tmp_path / "c", rows, durations)
    df = build(root, tmp_path / "out")
    short = df[df["status"] == TOO_LITTLE_SPEECH]
    assert sorted(short["start"].tolist()) == [3.0] * 3 + [4.9] * 3
    assert short["feature_row"].isna().all() and short["label"].isna().all()
    assert short["detail"].str.contains("minimum is 0.3 s").all()
    assert short.loc[short["start"] == 4.9, "detail"].str.contains("only 0.100 s").all()
    assert (df["status"] == OK).sum() == 6  # the good ones are all kept
    assert_failures_say_why(df)
    lenient = build(root, tmp_path / "lenient", min_speech_seconds=0.005)
    assert (lenient["status"] == OK).sum() == 12


# -------------------------------------------------------------------------------- training on an empty side
def test_metrics_on_an_empty_side_are_marked_and_found():
    cell = {"n": 0, "note": "no labelled clips in test"}
    metrics = {"embedding": {"layer": "x", "pooling": "mean"}, "weights": {"source": "s", "verified": True},
               "head_training": {"kind": "logistic"}, "n_train": 10,
               "against_weak_labels": {"head": {"validation": {"n": 5, "roc_auc": 0.7, "roc_auc_ci95": [0.5, 0.9]},
                                                "test": cell}}}
    assert empty_sides(MetricsRecord.from_dict(metrics)) == ["test"]
    assert "test NO CLIPS (not a result)" in metrics_table(MetricsRecord.from_dict(metrics))
    metrics["against_weak_labels"]["head"]["test"] = {"n": 4, "roc_auc": 0.6, "roc_auc_ci95": [0.4, 0.8]}
    assert empty_sides(MetricsRecord.from_dict(metrics)) == []


def test_predict_refuses_less_than_the_minimum_of_speech_and_notes_padding(tmp_path):
    import numpy as np

    from pipelines.predict import input_problem, padding_note

    window = 1024 / 16000
    sf.write(tmp_path / "blip.wav", np.zeros(1600, np.float32), 16000)  # 0.1 s: longer than one window
    assert input_problem(tmp_path / "blip.wav", window) is None  # what predict accepted before
    problem = input_problem(tmp_path / "blip.wav", max(window, 0.3))
    assert "too short to score: 0.100 s" in problem and "0.300 s" in problem and "--min-speech-seconds" in problem
    sf.write(tmp_path / "short.wav", np.zeros(8000, np.float32), 16000)
    assert input_problem(tmp_path / "short.wav", 0.3) is None
    assert "padded with 6.500 s of silence" in padding_note(0.5, 7.0)
    assert padding_note(9.0, 7.0) == ""


# -------------------------------------------------------------------------------- right durations
def write_vbr_mp3_without_length_header(path: Path, seconds: float, sr: int = 44100) -> None:
    """A VBR MP3 as ``ffmpeg -write_xing 0`` writes it: quiet first seconds (small frames), then loud noise
    (large frames), and no Xing/Info header, so the first frame's bitrate understates the length."""
    import av
    import numpy as np

    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * sr)) / sr
    x = np.where(t < 3, 0.001 * np.sin(2 * np.pi * 220 * t), 0.5 * rng.standard_normal(t.size)).astype(np.float32)
    with av.open(str(path), "w", format="mp3", options={"write_xing": "0"}) as out:
        stream = out.add_stream("libmp3lame", rate=sr)
        stream.layout = "mono"
        stream.codec_context.qscale = 2
        for i in range(0, x.size, 1152):
            frame = av.AudioFrame.from_ndarray(x[None, i:i + 1152], format="flt", layout="mono")
            frame.sample_rate, frame.pts = sr, i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def test_vbr_mp3_without_length_header_is_measured_by_decoding(tmp_path):
    from weaklabel.audio import AudioReader, mp3_has_length_header

    root = tmp_path / "c"
    root.mkdir()
    write_vbr_mp3_without_length_header(root / "stream.mp3", 20.0)
    assert sf.info(str(root / "stream.mp3")).duration < 17  # libsndfile's guess from the first frame
    assert not mp3_has_length_header(str(root / "stream.mp3"))
    with AudioReader(str(root / "stream.mp3")) as reader:
        assert reader.duration_s == pytest.approx(20.0, abs=0.1) and "measured by decoding" in reader.length_note
        assert reader.read_span(18.0, 19.0).size == 16000  # audio past the guessed end is read
    rows = [{"audio_path": "stream.mp3", "start": s, "end": s + 1.5, "text": POSITIVE if s % 2 else NEGATIVE}
            for s in range(1, 19, 2)]
    rows.append({"audio_path": "stream.mp3", "start": 25.0, "end": 26.0, "text": POSITIVE})
    pd.DataFrame(rows).to_csv(root / "m.csv", index=False)
    df = build(root / "m.csv", tmp_path / "out", allow_empty_splits=True)
    assert (df["status"] == OK).sum() == 9  # every cue inside the 20 s is kept, also those after 14 s
    outside = df[df["status"] != OK]
    assert outside["status"].tolist() == ["outside_audio"]
    assert "20.0" in outside["detail"].iloc[0] and "measured by decoding" in outside["detail"].iloc[0]
    assert_failures_say_why(df)


def test_train_refuses_to_report_an_empty_test_side(tmp_path, monkeypatch, capsys):
    from types import SimpleNamespace

    import transfer.training
    from pipelines import train

    rows = [{"audio_path": f"r{r}.wav", "start": 0.0, "end": 1.5, "text": POSITIVE if r else NEGATIVE}
            for r in range(2)]
    root = manifest_corpus(tmp_path / "c", rows, {"r0.wav": 3.0, "r1.wav": 3.0})
    out = tmp_path / "ds"
    build(root, out, allow_empty_splits=True)  # knowingly: two groups, no test side
    empty = {"n": 0, "note": "no labelled clips in test"}
    metrics = {"embedding": {"layer": "x", "pooling": "mean"}, "weights": {"source": "random", "verified": False},
               "head_training": {"kind": "logistic"}, "n_train": 1,
               "against_weak_labels": {"head": {"validation": {"n": 1, "roc_auc": None}, "test": empty}}}
    monkeypatch.setattr(transfer.training, "train_and_evaluate",
                        lambda *a, **k: SimpleNamespace(metrics=MetricsRecord.from_dict(metrics), head=None,
                                                        standardiser=None))
    rc = train.main(["--dataset", str(out), "--features", "vgg16", "--weights", "random", "--quiet"])
    captured = capsys.readouterr()
    assert rc != 0 and "test NO CLIPS (not a result)" in captured.out
    assert "hold no labelled clips" in captured.err
    assert not (out / "metrics.json").exists() and not (out / "model").exists()


# -------------------------------------------------------------------------------- the fault battery
def test_fault_battery_keeps_every_good_segment_says_why_for_each_failure_and_no_voice_crosses(tmp_path):
    root = tmp_path / "c"
    root.mkdir()
    rows, expected = [], {}

    def add(sid, audio, start, end, text, status=OK, **extra):
        rows.append({"segment_id": sid, "audio_path": audio, "start": start, "end": end, "text": text, **extra})
        expected[sid] = status

    for r in range(8):  # diarised calls: SPEAKER_00 / SPEAKER_01 in every one
        write_wav(root / f"call{r}.wav", 6.0)
        add(f"call{r}_a", f"call{r}.wav", 0.5, 2.5, POSITIVE, speaker="SPEAKER_00", video_id=f"call{r}")
        add(f"call{r}_b", f"call{r}.wav", 3.0, 5.0, NEGATIVE, speaker="SPEAKER_01", video_id=f"call{r}")
    for r in range(3):  # a named host in three episodes
        write_wav(root / f"ep{r}.wav", 4.0)
        add(f"ep{r}_host", f"ep{r}.wav", 0.5, 2.0, POSITIVE, speaker="Host", video_id=f"ep{r}")
        add(f"ep{r}_guest", f"ep{r}.wav", 2.2, 3.8, NEGATIVE, speaker=f"Guest {r}", video_id=f"ep{r}")
    add("call3_second_annotator", "call3.wav", 1.0, 3.0, POSITIVE, video_id="call3_review")  # same stretch
    add("blip", "call0.wav", 5.5, 5.51, NEGATIVE, TOO_LITTLE_SPEECH, speaker="SPEAKER_00", video_id="call0")
    add("sliver", "call1.wav", 5.9, 7.0, NEGATIVE, TOO_LITTLE_SPEECH, speaker="SPEAKER_01", video_id="call1")
    add("late", "call2.wav", 9.0, 10.0, NEGATIVE, "outside_audio", speaker="SPEAKER_00", video_id="call2")
    add("ghost", "missing.wav", 0.0, 1.0, POSITIVE, "audio_missing")
    add("backwards", "call4.wav", 3.0, 2.0, POSITIVE, "bad_timestamps", video_id="call4")
    write_vbr_mp3_without_length_header(root / "stream.mp3", 20.0)
    add("stream_early", "stream.mp3", 1.0, 2.5, POSITIVE)
    add("stream_late", "stream.mp3", 17.0, 18.5, NEGATIVE)  # past libsndfile's guess of the length
    pd.DataFrame(rows).to_csv(root / "m.csv", index=False)

    df = build(root / "m.csv", tmp_path / "out").set_index("segment_id")
    assert df["status"].to_dict() == expected  # no good segment lost, each failure its own status
    assert_failures_say_why(df.reset_index())
    assert df.loc[["ep0_host", "ep1_host", "ep2_host", "ep0_guest"], "group_id"].nunique() == 1
    assert df.loc["call3_second_annotator", "group_id"] == df.loc["call3_a", "group_id"]
    assert df.loc[[f"call{r}_a" for r in range(8)], "group_id"].nunique() == 8
    assert set(df.loc[df["status"] == OK, "split"]) == {"train", "validation", "test"}
    assert_no_voice_on_two_sides(df.reset_index())


def test_header_less_mp3_reads_in_order_continue_one_decoder_with_the_same_samples(tmp_path):
    import numpy as np

    from weaklabel.containers import open_container

    write_vbr_mp3_without_length_header(tmp_path / "s.mp3", 12.0)
    spans = [(0, 44100), (50000, 80000), (100000, 150000), (90000, 95000), (400000, 480000), (500000, 600000)]
    reader = open_container(str(tmp_path / "s.mp3"))
    decoders = []
    for a, b in spans:
        reader.seek(a)
        got = reader.read(b - a)
        decoders.append(reader._stream_state[0])
        alone = open_container(str(tmp_path / "s.mp3"))
        alone.seek(a)
        assert np.array_equal(got, alone.read(b - a)), (a, b)
        alone.close()
    # Decoded from the start twice: first, and for the one span that starts before what was decoded.
    assert decoders[0] is decoders[1] is decoders[2] and decoders[3] is decoders[4] is decoders[5]
    assert decoders[2] is not decoders[3]
    reader.close()
