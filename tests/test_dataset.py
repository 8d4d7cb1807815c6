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
from weaklabel.dataset import Dataset, load_cached_embeddings
from weaklabel.features import LogMelParams

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
    assert again.config == config and again.fingerprint == result.fingerprint
    assert again.fingerprint == config.build_fingerprint(again.record["units"])  # the configuration and the corpus
    assert again.counts == json.loads((tmp_path / "out" / "build.json").read_text())["counts"] == result.counts
    pd.testing.assert_frame_equal(again.segments, pd.read_parquet(tmp_path / "out" / "segments.parquet"))
    features = again.features
    assert isinstance(features, np.memmap) and features.dtype == np.float16
    assert features.shape == (int(again.segments["feature_row"].notna().sum()), 16, FAST_MEL.frames_for_seconds(2.0))
    assert again.metrics is None and again.model_meta is None and again.acted_evaluations() == []


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
    record = {"features_sha256": dataset.features_sha256, "shape": [n, 3]}
    (dataset.embeddings_dir / "k.json").write_text(json.dumps(record))
    assert dataset.embeddings("k").shape == (n, 3) and dataset.embeddings("other") is None
    (dataset.embeddings_dir / "k.json").write_text(json.dumps({**record, "features_sha256": "0" * 64}))
    assert dataset.embeddings("k") is None  # computed from other features: stale
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


def test_file_names_of_the_layout_are_written_only_in_the_dataset_module():
    """A string literal holding a layout file name anywhere else in the code would drift from the layout."""
    offenders = []
    for package in ("foundation", "weaklabel", "transfer", "reporting", "pipelines", "benchmarks"):
        for path in sorted((REPO / package).rglob("*.py")):
            if path == REPO / "weaklabel" / "dataset.py":
                continue
            text = path.read_text(encoding="utf-8")
            for name in LAYOUT_NAMES:
                # a quoted literal that is exactly the name, or a path ending in it ("x/segments.parquet")
                if re.search(r"""["'](?:[^"'\s]*/)?%s["']""" % re.escape(name), text):
                    offenders.append(f"{path.relative_to(REPO)}: {name}")
    assert not offenders, "import the name from weaklabel.dataset instead:\n" + "\n".join(offenders)


def test_seconds_become_samples_and_frames_in_one_place():
    assert seconds_to_samples(7.0) == 7 * TARGET_SR and seconds_to_samples(0.00003) == 0
    assert seconds_to_samples(1.5, sr=8000) == 12000
    params = LogMelParams()
    assert params.frames_for_seconds(7.0) == 1 + 7 * TARGET_SR // params.hop_length == 438
