"""weaklabel.Dataset: the one owner of a build folder's layout; what it reads equals what the build wrote;
file names appear nowhere else in the code; seconds become samples and frames in one place."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import weaklabel
from weaklabel import dataset as layout
from weaklabel.audio import TARGET_SR, seconds_to_samples
from weaklabel.build import BuildConfig, BuildResult, build_dataset
from weaklabel.config import resolve_build_config
from transfer.embedding_record import load_cached_embeddings
from weaklabel.dataset import Dataset
from weaklabel.logmel import LogMelParams

REPO = Path(__file__).resolve().parent.parent
FAST_MEL = LogMelParams(n_mels=16, n_fft=256, win_length=256, hop_length=256)


@pytest.fixture
def built(small_mosei, tmp_path) -> tuple[BuildConfig, BuildResult]:
    config = BuildConfig(corpus="mosei", root=str(small_mosei), mel=FAST_MEL, clip_seconds=2.0)
    return config, build_dataset(config, tmp_path / "out", workers=1)


def test_build_returns_the_dataset_it_wrote(built, tmp_path):
    config, result = built
    assert isinstance(result, Dataset) and result.path == result.out_dir == tmp_path / "out"
    again = weaklabel.Dataset(tmp_path / "out")  # the package-level name is the same class
    assert again.config == resolve_build_config(config) and again.fingerprint == result.fingerprint
    assert again.fingerprint == config.build_fingerprint(again.record.units)  # the configuration and the corpus
    assert again.counts.to_dict() == json.loads((tmp_path / "out" / "build.json").read_text())["counts"]
    assert again.counts == result.counts
    pd.testing.assert_frame_equal(again.segments, pd.read_parquet(tmp_path / "out" / "segments.parquet"))
    features = again.features
    assert isinstance(features, np.memmap) and features.dtype == np.float16
    assert features.shape == (int(again.segments["feature_row"].notna().sum()), 16, FAST_MEL.frames_for_seconds(2.0))
    assert not again.metrics_path.exists() and not again.model_dir.exists() and again.acted_evaluations() == []


def test_a_folder_without_a_finished_build_is_refused_with_the_command_to_run(tmp_path):
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "segments.parquet").write_bytes(b"")  # no build.json: a build killed while finishing
    for folder in (tmp_path / "missing", tmp_path / "half"):
        with pytest.raises(FileNotFoundError, match="pipelines.build_dataset"):
            Dataset(folder)


def test_cached_embeddings_are_returned_only_for_the_features_they_were_computed_from(built, tmp_path):
    _, dataset = built
    n = len(dataset.features)
    dataset.embeddings_dir.mkdir()
    np.save(dataset.embeddings_dir / "k.npy", np.ones((n, 3), np.float32))
    record = {"key": "k", "backbone": "egemaps", "dim": 3, "shape": [n, 3], "weights": None,
              "features_sha256": dataset.features_sha256, "build_fingerprint": dataset.fingerprint, "batch_size": 16}
    (dataset.embeddings_dir / "k.json").write_text(json.dumps(record))
    array, read = load_cached_embeddings(dataset.embeddings_dir, "k", dataset.features_sha256)
    assert array.shape == (n, 3) and read.key == "k" and read.dim == 3
    assert load_cached_embeddings(dataset.embeddings_dir, "other", dataset.features_sha256) is None
    (dataset.embeddings_dir / "k.json").write_text(json.dumps({**record, "features_sha256": "0" * 64}))
    assert load_cached_embeddings(dataset.embeddings_dir, "k", dataset.features_sha256) is None  # stale
    assert load_cached_embeddings(dataset.embeddings_dir, "k", "0" * 64) is not None


def test_evaluations_are_found_under_their_folder_and_the_former_one(built):
    _, dataset = built
    for folder, name in ((layout.EVALUATIONS_DIR, layout.EVALUATION_JSON_FILE), layout.LEGACY_EVALUATION):
        path = dataset.path / folder / "ravdess" / name
        path.parent.mkdir(parents=True)
        path.write_text("{}")
    assert [p.relative_to(dataset.path).as_posix() for p in dataset.acted_evaluations()] == [
        "evaluations/ravdess/acted_evaluation.json", "benchmarks/ravdess/benchmark.json"]


#: Names of the build folder's layout whose literal may appear only in weaklabel/dataset.py.
LAYOUT_NAMES = [layout.SEGMENTS_FILE, layout.BUILD_FILE, layout.FEATURES_FILE, layout.METRICS_FILE,
                layout.LABEL_QUALITY_FILE, layout.MODEL_META_FILE, layout.MODEL_HEAD_FILE,
                layout.EVALUATION_JSON_FILE]


def test_file_names_of_the_layout_are_written_only_in_the_layout_module():
    """A string literal holding a layout file name anywhere else in the code would drift from the layout."""
    offenders = []
    for package in ("foundation", "weaklabel", "transfer", "reporting", "pipelines", "benchmarks"):
        for path in sorted((REPO / package).rglob("*.py")):
            if path == REPO / "weaklabel" / "layout.py":
                continue
            text = path.read_text(encoding="utf-8")
            for name in LAYOUT_NAMES:
                # a quoted literal that is exactly the name, or a path ending in it ("x/segments.parquet")
                if re.search(r"""["'](?:[^"'\s]*/)?%s["']""" % re.escape(name), text):
                    offenders.append(f"{path.relative_to(REPO)}: {name}")
    assert not offenders, "import the name from weaklabel.layout instead:\n" + "\n".join(offenders)


def test_seconds_become_samples_and_frames_in_one_place():
    assert seconds_to_samples(7.0) == 7 * TARGET_SR and seconds_to_samples(0.00003) == 0
    assert seconds_to_samples(1.5, sr=8000) == 12000
    params = LogMelParams()
    assert params.frames_for_seconds(7.0) == 1 + 7 * TARGET_SR // params.hop_length == 438


def _damaged(out: Path, how: str) -> str:
    """Damage the build in ``out`` by hand, as a user might; the words the refusal must say."""
    record = json.loads((out / "build.json").read_text())
    segments = pd.read_parquet(out / "segments.parquet")
    if how == "row deleted":  # one kept row removed from the table: 17 rows for 18 features
        segments.drop(index=segments.index[segments["feature_row"].notna()][3]).to_parquet(out / "segments.parquet")
        return "holds 17 segments; build.json counts 18"
    if how == "rows swapped":  # two segments given the same feature row
        segments.loc[segments.index[0], "feature_row"] = segments["feature_row"].iloc[1]
        segments.to_parquet(out / "segments.parquet")
        return "feature_row values are not the rows"
    if how == "features truncated":
        features = out / "features" / "logmel.npy"
        features.write_bytes(features.read_bytes()[:-1000])
        return "its header says"
    if how == "newer format":
        record["format_version"] = 99
    elif how == "features elsewhere":
        record["features"]["file"] = "../../elsewhere.npy"
    elif how == "shape not sizes":
        record["features"]["shape"] = ["abc", 16, 63]
    (out / "build.json").write_text(json.dumps(record))
    return {"newer format": "newer version of this tool", "features elsewhere": "a build writes 'features/logmel.npy'",
            "shape not sizes": "not three sizes"}[how]


@pytest.mark.parametrize("how", ["row deleted", "rows swapped", "features truncated", "newer format",
                                 "features elsewhere", "shape not sizes"])
def test_a_hand_edited_build_is_refused_in_one_line_saying_what_to_run(built, how, capsys):
    """What a dataset's records say is checked where it is read: a table edited by hand no longer matches the
    features (it used to embed 18 clips for 17 rows), truncated features were a numpy mmap error, a record of a newer
    format or of another layout was read as if it were this one. Each is one line naming what is wrong and the
    command that rebuilds it; a damaged build whose record is sound is rebuilt by resuming it."""
    from pipelines import build_dataset as build_cli
    from pipelines import embed as embed_cli
    from weaklabel.errors import DatasetError

    _, dataset = built
    words = _damaged(dataset.path, how)
    with pytest.raises(DatasetError, match=re.escape(words)) as refused:
        Dataset(dataset.path)
    message = str(refused.value)
    assert message.count("\n") == 0 and "python -m pipelines.build_dataset" in message
    assert ("--overwrite" in message) == (how in ("newer format", "features elsewhere", "shape not sizes"))
    assert embed_cli.main(["--dataset", str(dataset.path), "--weights", "random", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and words in err
    if "--overwrite" not in message:  # the command it names rebuilds the dataset from its corpus
        assert build_cli.main(["--out", str(dataset.path), "--workers", "1", "--quiet"]) == 0
        assert Dataset(dataset.path).counts.segments == 18
