"""The export (issue 24): a generated build exported in each format and loaded back with the real libraries, the
same bytes with one worker or two, resumable, and bad input refused in one line."""
from __future__ import annotations

import gzip
import importlib.util
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from benchmarks.export_reference import reference_clip
from pipelines import export as export_cli
from weaklabel.build import BuildConfig, build_dataset
from weaklabel.errors import ExportError, OutputConflictError
from weaklabel.exporting import EXPORT_FILE, EXPORT_LOG_FILE, ExportConfig, export
from weaklabel.exporting import core, hf
from weaklabel.logmel import LogMelParams
from weaklabel.scorers import SCORERS

from .conftest import REPO_ROOT

FAST_MEL = LogMelParams(n_mels=32, n_fft=512, win_length=512, hop_length=512)
CLIP_SAMPLES = 7 * 16000
LINES = ("{v}___0___0.5___3.0___I absolutely love this wonderful film, it is great!",  # 2.5 s: padded
         "{v}___1___4.0___11.5___This was a terrible, awful and horrible experience.",  # 7.5 s: cropped
         "{v}___2___11.6___11.9___The meeting is on Tuesday.")  # neutral: abstains
LHOTSE_MISSING = "lhotse is not installed (it needs PyTorch: pip install torch --index-url " \
                 "https://download.pytorch.org/whl/cpu, then pip install -e '.[lhotse]'); " \
                 "benchmarks/export_check.py runs this check, its last result is reports/export/export_check.md"


def write_corpus(root: Path, n: int = 8) -> Path:
    """``n`` recordings in the MOSEI layout, each with its own tone (a clip cut from the wrong file or at the wrong
    offset shows), the last at 22.05 kHz in stereo (resampled and averaged by the build); recording 1 also has a
    segment past its end (it fails: never exported)."""
    audio_dir, text_dir = root / "Raw/Audio/Full/WAV_16000", root / "Raw/Transcript/Segmented/Combined"
    audio_dir.mkdir(parents=True)
    text_dir.mkdir(parents=True)
    for k in range(n):
        vid = f"vid{k:02d}"
        lines = [line.format(v=vid) for line in LINES] + ([f"{vid}___3___13.0___14.0___What a lovely day."]
                                                          if k == 1 else [])
        (text_dir / f"{vid}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        rate, channels = (22050, 2) if k == n - 1 else (16000, 1)
        t = np.arange(12 * rate) / rate
        tone = 0.3 * np.sin(2 * np.pi * (200 + 40 * k) * t) * (1 + 0.5 * np.sin(2 * np.pi * 0.7 * t))
        noise = 0.01 * np.random.default_rng(k).standard_normal(len(t))
        audio = np.stack([tone + noise, 0.5 * tone - noise], axis=1) if channels == 2 else tone + noise
        sf.write(audio_dir / f"{vid}.wav", audio.astype(np.float32), rate, subtype="PCM_16")
    return root


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A generated corpus and its build (8 recordings: labelled, abstained and failed segments)."""
    root = write_corpus(tmp_path_factory.mktemp("export") / "corpus").resolve()
    out = root.parent / "dataset"
    build_dataset(BuildConfig(corpus="mosei", root=str(root), mel=FAST_MEL), out, workers=1)
    return root, out


def segments(dataset: Path) -> pd.DataFrame:
    return pd.read_parquet(dataset / "segments.parquet").set_index("segment_id", drop=False)


def labelled(dataset: Path) -> pd.DataFrame:
    frame = segments(dataset)
    return frame[(frame["status"] == "ok") & frame["label"].notna()]


def reference(root: Path, row) -> np.ndarray:
    return reference_clip(root / row["audio_path"], row, 7.0)


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def flac(data: bytes) -> np.ndarray:
    audio, rate = sf.read(io.BytesIO(data), dtype="float32")
    assert rate == 16000 and audio.ndim == 1
    return audio


def assert_clip(root: Path, row, audio: np.ndarray) -> None:
    """The clip's length is the build's clip length, and its samples the build's plan applied to the recording:
    exact for a 16-bit recording at 16 kHz, within 16-bit quantisation for a resampled one."""
    assert audio.shape == (CLIP_SAMPLES,)
    expected = reference(root, row)
    tolerance = 0.0 if row["video_id"] != "vid07" else 2.0 ** -15
    assert np.abs(audio - expected).max() <= tolerance, row["segment_id"]


@pytest.fixture(scope="module")
def hf_datasets():
    return pytest.importorskip("datasets", reason="datasets is not installed (pip install -e '.[test]')")


def test_hf_export_loads_with_datasets(built, hf_datasets, tmp_path, monkeypatch):
    root, dataset = built
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "hf"
    result = export(dataset, out, ExportConfig(format="hf", clips_per_shard=4), workers(2))
    expected = labelled(dataset)
    assert result.clips == len(expected) == 16 and result.failed == 0
    loaded = hf_datasets.load_dataset("parquet", data_dir=str(out), cache_dir=str(tmp_path / "cache"))
    assert {split: len(part) for split, part in loaded.items()} == expected["split"].value_counts().to_dict()
    train = loaded["train"]
    assert train.features["audio"] == hf_datasets.Audio(sampling_rate=16000)
    assert train.features["label"] == hf_datasets.ClassLabel(names=["negative", "positive"])
    scorer_columns = [c for s in SCORERS.values() for c in s.column_names if c in expected.columns]
    assert "e5" in scorer_columns or "vader" in scorer_columns
    assert train.column_names == ["audio", "label", "score", *scorer_columns, "text", "segment_id", "video_id",
                                  "group_id"]
    seen = []
    for split, part in loaded.items():
        for row in part.cast_column("audio", hf_datasets.Audio(decode=False)):
            want = expected.loc[row["segment_id"]]
            assert (split, row["label"], row["text"], row["video_id"]) == \
                (want["split"], want["label"], want["text"], want["video_id"])
            assert row["score"] == want["score"] and row["group_id"] == want["group_id"]
            assert row["audio"]["path"] == f"{row['segment_id']}.flac"
            assert_clip(root, want, flac(row["audio"]["bytes"]))
            seen.append(row["segment_id"])
    assert sorted(seen) == sorted(expected.index)
    assert len(list((out / "data").glob("train-*-of-*.parquet"))) == 3  # 12 train clips, 4 per shard
    # The dataset card names each split's files: the folder itself loads too (as the Hub would serve it).
    assert {s: len(p) for s, p in hf_datasets.load_dataset(str(out), cache_dir=str(tmp_path / "c2")).items()} == \
        {split: len(part) for split, part in loaded.items()}


def test_lhotse_manifests_are_the_documented_format(built, tmp_path):
    """Without lhotse: each cut is the clip length, its audio track starts at the frame the build read and is
    placed after the build's padding, and its supervision carries label, score, text and split."""
    root, dataset = built
    out = tmp_path / "lhotse"
    result = export(dataset, out, ExportConfig(format="lhotse"), workers(2))
    expected = labelled(dataset)
    cuts = [json.loads(line) for line in gzip.open(out / "cuts.jsonl.gz", "rt", encoding="utf-8")]
    supervisions = [json.loads(line) for line in gzip.open(out / "supervisions.jsonl.gz", "rt", encoding="utf-8")]
    recordings = [json.loads(line) for line in gzip.open(out / "recordings.jsonl.gz", "rt", encoding="utf-8")]
    assert result.clips == len(cuts) == len(supervisions) == len(expected)
    assert sorted(r["id"] for r in recordings) == sorted(expected["video_id"].unique())
    stereo = next(r for r in recordings if r["id"] == "vid07")
    assert stereo["sampling_rate"] == 16000 and stereo["channel_ids"] == [0, 1] and \
        stereo["transforms"] == [{"name": "Resample", "kwargs": {"source_sampling_rate": 22050,
                                                                  "target_sampling_rate": 16000}}]
    for cut, sup in zip(cuts, supervisions):
        want = expected.loc[cut["id"]]
        pad = round(want["clip_pad_left_s"] * 16000)
        if cut["type"] == "MonoCut":
            mono, offset, end = cut, 0.0, cut["duration"]
            assert pad == 0
        else:
            tracks = {t["type"]: t for t in cut["tracks"] if t["type"] == "MonoCut"}
            mono, offset = tracks["MonoCut"]["cut"], tracks["MonoCut"]["offset"]
            end = max(t["offset"] + t["cut"]["duration"] for t in cut["tracks"])
            assert round(offset * 16000) == pad
        assert end == pytest.approx(7.0, abs=1e-9)
        rate = 22050 if want["video_id"] == "vid07" else 16000
        assert round(mono["start"] * rate) == int(np.floor(want["clip_source_start_s"] * rate))
        assert round(mono["duration"] * 16000) == round((want["clip_source_end_s"] - want["clip_source_start_s"]) * 16000)
        assert mono["recording"]["sources"][0]["source"] == str(root / want["audio_path"])
        assert sup["id"] == cut["id"] and sup["text"] == want["text"] and sup["start"] == mono["start"]
        assert (sup["custom"]["label"], sup["custom"]["score"], sup["custom"]["split"]) == \
            (want["label"], want["score"], want["split"])


def test_lhotse_export_loads_with_lhotse(built, tmp_path):
    if importlib.util.find_spec("lhotse") is None:
        pytest.skip(LHOTSE_MISSING)
    import lhotse

    root, dataset = built
    out = tmp_path / "lhotse"
    export(dataset, out, ExportConfig(format="lhotse"), workers(1))
    expected = labelled(dataset)
    cuts = lhotse.CutSet.from_file(out / "cuts.jsonl.gz")
    assert sorted(cut.id for cut in cuts) == sorted(expected.index)
    assert len(lhotse.RecordingSet.from_file(out / "recordings.jsonl.gz")) == expected["video_id"].nunique()
    assert len(lhotse.SupervisionSet.from_file(out / "supervisions.jsonl.gz")) == len(expected)
    for cut in cuts:
        want = expected.loc[cut.id]
        sup = cut.supervisions[0]
        assert (sup.label, sup.score, sup.split, sup.text) == (want["label"], want["score"], want["split"],
                                                               want["text"])
        assert cut.duration == pytest.approx(7.0) and cut.num_samples == CLIP_SAMPLES
        audio = cut.load_audio()
        if want["video_id"] == "vid07":  # Lhotse resamples with its own resampler and keeps both channels
            assert audio.shape == (2, CLIP_SAMPLES)
            assert np.corrcoef(audio.mean(axis=0), reference(root, want))[0, 1] > 0.99
        else:
            assert audio.shape == (1, CLIP_SAMPLES) and np.array_equal(audio[0], reference(root, want))


def test_audiofolder_export_is_the_audiofolder_convention(built, hf_datasets, tmp_path, monkeypatch):
    root, dataset = built
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    out = tmp_path / "folder"
    export(dataset, out, ExportConfig(format="audiofolder"), workers(2))
    expected = labelled(dataset)
    meta = hf_datasets.load_dataset("csv", data_files=str(out / "metadata.csv"), cache_dir=str(tmp_path / "cache"))
    rows = list(meta["train"])
    assert len(rows) == len(expected)
    for row in rows:
        want = expected.loc[row["segment_id"]]
        assert row["file_name"] == f"{want['split']}/{want['segment_id']}.flac"
        assert row["label"] == ["negative", "positive"][want["label"]] and row["score"] == pytest.approx(want["score"])
        assert_clip(root, want, flac((out / row["file_name"]).read_bytes()))
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted(expected["split"].unique())


def test_audiofolder_loads_with_datasets_audiofolder(built, hf_datasets, tmp_path, monkeypatch):
    """datasets' own AudioFolder loader (it needs torchcodec to read audio, since datasets 4)."""
    if importlib.util.find_spec("torchcodec") is None and int(hf_datasets.__version__.split(".")[0]) >= 4:
        pytest.skip(f"datasets {hf_datasets.__version__} reads an audio folder through torchcodec, which is not "
                    "installed (pip install 'datasets[audio]')")
    root, dataset = built
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    out = tmp_path / "folder"
    export(dataset, out, ExportConfig(format="audiofolder"), workers(1))
    loaded = hf_datasets.load_dataset("audiofolder", data_dir=str(out), cache_dir=str(tmp_path / "cache"))
    expected = labelled(dataset)
    assert sum(len(part) for part in loaded.values()) == len(expected)
    assert {split: len(part) for split, part in loaded.items()} == expected["split"].value_counts().to_dict()


def workers(n: int):
    from foundation.executor import ExecutorConfig

    return ExecutorConfig(workers=n)


@pytest.mark.parametrize("fmt", ["hf", "lhotse", "audiofolder"])
def test_the_same_bytes_with_one_worker_or_two(built, tmp_path, fmt):
    _, dataset = built
    config = ExportConfig(format=fmt, clips_per_shard=3, include_abstained=True)
    one, two = tmp_path / "one", tmp_path / "two"
    assert export(dataset, one, config, workers(1)).tasks_run == export(dataset, two, config, workers(2)).tasks_run
    assert folder_bytes(one) == folder_bytes(two)
    assert not [p for p in one.iterdir() if p.name.startswith(".")]  # no parts folder, no lock left


def test_abstained_clips_only_when_asked_and_failed_ones_never(built, tmp_path):
    root, dataset = built
    frame = segments(dataset)
    assert (frame["status"] == "outside_audio").sum() == 1 and (frame["status"] == "abstained").sum() == 8
    out = tmp_path / "with"
    result = export(dataset, out, ExportConfig(format="audiofolder", include_abstained=True), workers(1))
    meta = pd.read_csv(out / "metadata.csv", keep_default_na=False)
    abstained = frame[frame["status"] == "abstained"]
    assert result.clips == len(meta) == 16 + 8
    assert set(meta.loc[meta["label"] == "", "segment_id"]) == set(abstained.index)
    assert set(meta["segment_id"]).isdisjoint(frame.index[frame["status"] == "outside_audio"])
    assert result.record["counts"]["by_split"]["train"]["abstained"] == (abstained["split"] == "train").sum()
    for name in meta.loc[meta["label"] == "", "file_name"]:
        assert_clip(root, abstained.loc[Path(name).stem], flac((out / name).read_bytes()))


def test_a_missing_or_changed_recording_fails_its_clips_and_the_rest_completes(tmp_path, capsys):
    root = write_corpus(tmp_path / "corpus", n=4).resolve()
    dataset = tmp_path / "dataset"
    build_dataset(BuildConfig(corpus="mosei", root=str(root), mel=FAST_MEL, split_fractions=(0.5, 0.25, 0.25)),
                  dataset, workers=1)
    expected = labelled(dataset)
    audio = root / "Raw/Audio/Full/WAV_16000"
    (audio / "vid00.wav").unlink()
    data, rate = sf.read(audio / "vid01.wav")
    sf.write(audio / "vid01.wav", data[::-1], rate, subtype="PCM_16")  # same length, other content
    out = tmp_path / "hf"
    code = export_cli.main(["--dataset", str(dataset), "--format", "hf", "--out", str(out), "--quiet",
                            "--workers", "1"])
    captured = capsys.readouterr()
    assert code == 0 and "4 segment(s) could not be exported" in captured.err
    log = pd.read_csv(out / EXPORT_LOG_FILE)
    assert sorted(zip(log["segment_id"], log["status"])) == [("vid00_0", "audio_missing"), ("vid00_1", "audio_missing"),
                                                             ("vid01_0", "recording_changed"),
                                                             ("vid01_1", "recording_changed")]
    record = json.loads((out / EXPORT_FILE).read_text())
    assert record["counts"]["clips"] == len(expected) - 4 and record["counts"]["failed"] == 4
    rows = pd.concat([pd.read_parquet(p) for p in sorted((out / "data").glob("*.parquet"))])
    assert sorted(rows["segment_id"]) == sorted(set(expected.index) - set(log["segment_id"]))


def test_speakers_are_exported_where_known_and_abstained_clips_have_no_label(tmp_path):
    import pyarrow.parquet as pq

    root = write_corpus(tmp_path / "corpus", n=4).resolve()
    names = ["Ann", "Bob", "Cy", "Di"]
    manifest = pd.DataFrame([{"audio_path": f"Raw/Audio/Full/WAV_16000/vid{k:02d}.wav", "start": line.split("___")[2],
                              "end": line.split("___")[3], "text": line.split("___")[4], "speaker": names[k]}
                             for k in range(4) for line in LINES])
    manifest.to_csv(root / "manifest.csv", index=False)
    dataset = tmp_path / "dataset"
    build_dataset(BuildConfig(corpus="manifest", root=str(root / "manifest.csv"), mel=FAST_MEL,
                              split_fractions=(0.5, 0.25, 0.25)), dataset, workers=1)
    frame = segments(dataset)
    out = tmp_path / "hf"
    export(dataset, out, ExportConfig(format="hf", include_abstained=True), workers(1))
    table = pd.concat([pq.read_table(p).to_pandas() for p in sorted((out / "data").glob("*.parquet"))])
    assert list(table.columns)[-1] == "speaker" and len(table) == 12
    for row in table.itertuples():
        want = frame.loc[row.segment_id]
        assert row.speaker == want["speaker"]
        assert (pd.isna(row.label) and want["status"] == "abstained") or row.label == want["label"]
    export(dataset, tmp_path / "lhotse", ExportConfig(format="lhotse"), workers(1))
    sups = [json.loads(line) for line in gzip.open(tmp_path / "lhotse" / "supervisions.jsonl.gz", "rt")]
    assert {s["id"]: s["speaker"] for s in sups} == frame.loc[[s["id"] for s in sups], "speaker"].to_dict()


def test_an_interrupted_export_resumes_to_the_same_bytes(built, tmp_path, monkeypatch):
    _, dataset = built
    config = ExportConfig(format="hf", clips_per_shard=2)
    uninterrupted = tmp_path / "whole"
    export(dataset, uninterrupted, config, workers(1))
    out = tmp_path / "resumed"
    written = []
    original = hf.write_part

    def dies_after_three(job, task):
        if len(written) == 3:
            raise KeyboardInterrupt
        written.append(task.index)
        return original(job, task)

    monkeypatch.setattr(hf, "write_part", dies_after_three)
    with pytest.raises(KeyboardInterrupt):
        export(dataset, out, config, workers(1))
    (parts,) = out.glob(".export-parts-*")
    assert not (out / EXPORT_FILE).exists() and len(list(parts.glob("*.json"))) == 3
    (parts / "payload" / "data" / ".left-by-a-killed-write.parquet.x.tmp").write_bytes(b"half")
    monkeypatch.setattr(hf, "write_part", original)
    notices = []
    result = export(dataset, out, config, workers(1), log=notices.append)
    assert result.tasks_run == 8 - 3 and "3 of 8 tasks were done" in notices[0]
    assert folder_bytes(out) == folder_bytes(uninterrupted)
    again = export(dataset, out, config, workers(1))
    assert again.up_to_date and again.tasks_run == 0


def test_an_export_killed_while_finishing_finishes_on_the_next_run(built, tmp_path, monkeypatch):
    _, dataset = built
    config = ExportConfig(format="audiofolder", clips_per_shard=4)
    whole = tmp_path / "whole"
    export(dataset, whole, config, workers(1))
    out = tmp_path / "killed"
    original = core.write_json_atomic

    def killed_before_the_record(path, data):
        if Path(path).name == EXPORT_FILE:
            raise KeyboardInterrupt
        return original(path, data)

    monkeypatch.setattr(core, "write_json_atomic", killed_before_the_record)
    with pytest.raises(KeyboardInterrupt):
        export(dataset, out, config, workers(1))
    assert (out / "train").is_dir() and not (out / EXPORT_FILE).exists()  # the clips were moved into place
    monkeypatch.setattr(core, "write_json_atomic", original)
    result = export(dataset, out, config, workers(1))
    assert result.tasks_run == 0 and folder_bytes(out) == folder_bytes(whole)


def test_row_groups_bound_what_a_task_holds(built, tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    _, dataset = built
    monkeypatch.setattr(hf, "ROWS_PER_ROW_GROUP", 3)
    out = tmp_path / "hf"
    export(dataset, out, ExportConfig(format="hf"), workers(1))
    (train,) = (out / "data").glob("train-*.parquet")
    meta = pq.ParquetFile(train).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [3, 3, 3, 3]


def run_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.export", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True)


def one_line_error(proc: subprocess.CompletedProcess, words: str) -> None:
    assert proc.returncode == 2, proc
    assert proc.stderr.startswith("error: ") and proc.stderr.strip().count("\n") == 0, proc.stderr
    assert words in proc.stderr and "Traceback" not in proc.stderr


def test_bad_input_is_a_one_line_error_and_writes_nothing(built, tmp_path):
    _, dataset = built
    not_a_build = tmp_path / "not-a-build"
    not_a_build.mkdir()
    (not_a_build / "segments.parquet").write_bytes(b"no")
    one_line_error(run_cli("--dataset", str(not_a_build), "--format", "hf", "--out", str(tmp_path / "a")),
                   "is not a build")
    assert not (tmp_path / "a").exists()
    before = folder_bytes(dataset)
    one_line_error(run_cli("--dataset", str(dataset), "--format", "hf", "--out", str(dataset / "export")),
                   "is inside the dataset")
    assert folder_bytes(dataset) == before and not (dataset / "export").exists()
    taken = tmp_path / "taken"
    assert export_cli.main(["--dataset", str(dataset), "--format", "lhotse", "--out", str(taken), "--quiet"]) == 0
    held = folder_bytes(taken)
    one_line_error(run_cli("--dataset", str(dataset), "--format", "hf", "--out", str(taken)),
                   "holds another export (differs in: format)")
    assert folder_bytes(taken) == held
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    one_line_error(run_cli("--dataset", str(dataset), "--format", "hf", "--out", str(other)), "is not empty")
    assert folder_bytes(other) == {"notes.txt": b"mine"}
    one_line_error(run_cli("--dataset", str(dataset), "--format", "hf", "--out", str(tmp_path / "b"),
                           "--clips-per-shard", "0"), "--clips-per-shard: must be at least 1, got 0")
    assert not (tmp_path / "b").exists()
    assert run_cli("--dataset", str(dataset), "--format", "parquet", "--out", str(tmp_path / "c")).returncode == 2


def test_a_second_writer_of_the_export_folder_stops_at_once(built, tmp_path):
    from .test_locking import Holder

    _, dataset = built
    out = tmp_path / "busy"
    holder = Holder(out)
    try:
        one_line_error(run_cli("--dataset", str(dataset), "--format", "lhotse", "--out", str(out)),
                       "is being written by process")
        assert not (out / EXPORT_FILE).exists()
    finally:
        holder.release()
    assert export(dataset, out, ExportConfig(format="lhotse"), workers(1)).clips == 16


def test_the_api_refuses_the_same_bad_input(built, tmp_path):
    _, dataset = built
    with pytest.raises(ExportError, match="is not a build"):
        export(tmp_path, tmp_path / "x", ExportConfig(format="hf"))
    with pytest.raises(ExportError, match="inside the dataset"):
        export(dataset, dataset / "features" / "x", ExportConfig(format="hf"))
    export(dataset, tmp_path / "once", ExportConfig(format="hf"), workers(1))
    with pytest.raises(OutputConflictError, match="differs in: include_abstained"):
        export(dataset, tmp_path / "once", ExportConfig(format="hf", include_abstained=True), workers(1))
    with pytest.raises(ValueError, match="clips_per_shard must be at least 1"):
        ExportConfig(format="hf", clips_per_shard=0)


def test_the_export_needs_neither_torch_nor_the_loading_libraries():
    code = ("import sys, weaklabel; weaklabel.export; weaklabel.ExportConfig; import pipelines.export; "
            "print(*(name in sys.modules for name in ('torch', 'datasets', 'lhotse', 'tensorflow')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"] * 4


def test_the_command_line_is_generated_from_the_config():
    proc = run_cli("--help")
    assert proc.returncode == 0
    for flag in ("--dataset", "--format", "--out", "--include-abstained", "--clips-per-shard", "--bits", "--workers",
                 "--scheduler", "--dask-address", "--quiet"):
        assert flag in proc.stdout
    assert "(default: 1000)" in proc.stdout


def docs_examples() -> dict[str, str]:
    """The Python blocks of docs/export.md, by the format their first line's OUT names."""
    text = (REPO_ROOT / "docs" / "export.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    return {re.match(r'OUT = "build/demo-(\w+)"', block).group(1): block for block in blocks}


@pytest.mark.parametrize("fmt", ["hf", "lhotse", "audiofolder"])
def test_the_documented_examples_run_on_an_export(built, hf_datasets, tmp_path, monkeypatch, capsys, fmt):
    if fmt == "lhotse" and importlib.util.find_spec("lhotse") is None:
        pytest.skip(LHOTSE_MISSING)
    _, dataset = built
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / f"demo-{fmt}"
    export(dataset, out, ExportConfig(format=fmt), workers(1))
    block = docs_examples()[fmt]
    code = re.sub(r'OUT = "build/demo-\w+"', f"OUT = {str(out)!r}", block, count=1)
    exec(compile(code, f"docs/export.md ({fmt})", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) >= 3 and all(str(CLIP_SAMPLES) in line for line in printed[-3:]), printed


def test_the_committed_export_checks_ran_with_the_real_libraries_and_were_met():
    """reports/export: the last run of benchmarks.export_check (real lhotse and datasets) and of
    benchmarks.export_benchmark (python -m benchmarks.refresh --only export-check,export-benchmark)."""
    folder = REPO_ROOT / "reports" / "export"
    check = json.loads((folder / "export_check.json").read_text(encoding="utf-8"))
    assert check["met"] and check["versions"]["lhotse"] != "not installed"
    assert check["checks"]["lhotse"]["max_abs_difference"]["16 kHz mono"] == 0.0
    assert check["checks"]["lhotse"]["cuts"] == check["corpus"]["labelled"] == check["checks"]["hf"]["rows"]
    bench = json.loads((folder / "export_benchmark.json").read_text(encoding="utf-8"))
    assert bench["met"] and bench["corpus"]["segments"] == 6000
    assert {(r["format"], r["corpus"]) for r in bench["runs"]} == \
        {(f, c) for f in ("hf", "lhotse", "audiofolder") for c in ("tenth", "speed", "ten times")}
