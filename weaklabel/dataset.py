"""A built dataset's folder: the one owner of its layout.

A build writes, into its output folder::

    segments.parquet        one row per transcript segment (:data:`COLUMNS`), ok, abstained or failed
    features/logmel.npy     float16 (n_rows_with_features, n_mels, n_frames), row i = feature_row i
    build.json              counts, the configuration, library versions; written last (the completion mark)

and the later steps add::

    embeddings/<key>.npy    cached embeddings (float32, (n_rows_with_features, dim)) and their record <key>.json
                            (read by transfer.embedding_record)
    model/                  the trained valence model (head.keras, model.json)
    metrics.json            the trained model's metrics
    label_quality.json      weak labels against human labels (pipelines.label_quality --dataset)
    evaluations/<corpus>/   acted-corpus evaluations: acted_evaluation.json/.md (pipelines.evaluate_acted --out)
    run.json                the resolved configuration of every step of the last pipelines.run
    report/index.html       the HTML report (pipelines.report, pipelines.run), unless told to write it elsewhere

Every file name above is defined in :mod:`weaklabel.layout` and nowhere else; :class:`Dataset` reads them. It
is readable without this package too (pandas, pyarrow, DuckDB, ``numpy.load(..., mmap_mode="r")``).
"""
from __future__ import annotations

import json
import os
from functools import cached_property
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from foundation.digests import file_sha256
from foundation.paths import display_path
from weaklabel.build_record import BuildCounts, BuildRecord, build_record_problem, read_build_record, recorded_root
from weaklabel.config import BuildConfig
from weaklabel.errors import DatasetError
from weaklabel.scorers import SCORERS
from weaklabel.layout import (  # noqa: F401 (the layout's names are read through this module too)
    SEGMENTS_FILE, BUILD_FILE, FEATURES_DIR, FEATURES_FILE, EMBEDDINGS_DIR, MODEL_DIR, MODEL_HEAD_FILE, MODEL_META_FILE,
    METRICS_FILE, RUN_FILE, REPORT_FILE, LABEL_QUALITY_FILE, LABEL_QUALITY_MARKDOWN_FILE, EVALUATIONS_DIR,
    EVALUATION_JSON_FILE, EVALUATION_MARKDOWN_FILE, LEGACY_EVALUATION, PARTS_PREFIX, DATASET_ENTRIES, dataset_entries)

#: Columns of ``segments.parquet`` before the scorers' columns, in order.
_LEADING_COLUMNS = {
    "segment_id": "unique segment id (MOSEI: <video>_<segment>)",
    "video_id": "source recording id",
    "group_id": "split group kept on one side: recordings joined by shared speakers, audio files and groups",
    "split": "train / validation / test (null: not listed in --folds)",
    "status": "ok, abstained, or a failure code (see weaklabel.segments)",
    "detail": "failure reason or notes (e.g. negative start clamped, cut at end, text not in English)",
    "label": "weak label: 1 positive, 0 negative, null abstained/failed",
    "score": "the policy's combined sentiment score in [-1, 1]",
}
#: ... and after them.
_TRAILING_COLUMNS = {
    "text": "transcript text as read",
    "start": "segment start, seconds (negative published starts clamped to 0)",
    "end": "segment end, seconds, as published",
    "duration_s": "end - start, seconds, before cropping or padding",
    "start_clamped": "true when a negative start was clamped to 0",
    "clip_source_start_s": "start of the recording span placed in the clip, seconds",
    "clip_source_end_s": "end of that span, seconds",
    "clip_pad_left_s": "silence before the audio in the clip, seconds",
    "feature_row": "row in features/logmel.npy, null when the segment has no clip",
    "audio_path": "audio file, relative to the corpus root when inside it",
}


def segment_columns(scorers: Iterable[str] | None = None) -> dict[str, str]:
    """The columns of ``segments.parquet`` with their descriptions, in order: the segment's identity, status and
    label, one column per output of each scorer the build ran (:data:`weaklabel.scorers.SCORERS`, registry
    order; default every scorer), then the text, times and clip span. Reader extras (``speaker``,
    ``human_label``) follow in the file."""
    wanted = set(SCORERS) if scorers is None else set(scorers)
    scored = {column.name: column.description for name, scorer in SCORERS.items() if name in wanted
              for column in scorer.columns}
    return {**_LEADING_COLUMNS, **scored, **_TRAILING_COLUMNS}


#: Every column ``segments.parquet`` may hold (each scorer's included), with its description.
COLUMNS = segment_columns()


class Dataset:
    """A finished build in ``path``: its configuration, tables, arrays and what later steps wrote beside them.

    Parameters
    ----------
    path : path or Dataset
        A folder written by :func:`weaklabel.build_dataset` (``python -m pipelines.build_dataset``).

    Raises
    ------
    FileNotFoundError
        When ``path`` holds no finished build (no ``build.json`` or ``segments.parquet``).
    DatasetError
        When it is not the build its ``build.json`` describes (:func:`dataset_problem`): the message says what
        is wrong and what to run.

    Examples
    --------
    >>> ds = Dataset("build/demo")                                   # doctest: +SKIP
    >>> ds.config.clip_seconds, ds.counts["ok"], ds.features.shape    # doctest: +SKIP
    (7.0, 300, (480, 128, 438))
    """

    def __init__(self, path: str | Path | "Dataset"):
        self.path = Path(path)
        if not self.is_dataset(self.path):
            raise FileNotFoundError(f"{self.path} is not a built dataset (no {BUILD_FILE}/{SEGMENTS_FILE}); run "
                                    "python -m pipelines.build_dataset first")
        problem = dataset_problem(self.path)
        if problem is not None:
            raise DatasetError(problem)

    def __repr__(self) -> str:
        return f"Dataset({str(self.path)!r})"

    def __fspath__(self) -> str:
        """A dataset can be given wherever its folder's path is expected."""
        return str(self.path)

    @staticmethod
    def is_dataset(path: str | Path) -> bool:
        """True when ``path`` holds a finished build."""
        return (Path(path) / BUILD_FILE).is_file() and (Path(path) / SEGMENTS_FILE).is_file()

    # ------------------------------------------------------------------------------------- the build
    @property
    def build_path(self) -> Path:
        return self.path / BUILD_FILE

    @property
    def segments_path(self) -> Path:
        return self.path / SEGMENTS_FILE

    @cached_property
    def record(self) -> BuildRecord:
        """``build.json``: the configuration, counts, features file, units, versions
        (:class:`~weaklabel.build_record.BuildRecord`)."""
        return read_build_record(self.path)

    @property
    def config(self) -> BuildConfig:
        """The :class:`~weaklabel.config.BuildConfig` the build was made with (resolved)."""
        return self.record.config

    @property
    def fingerprint(self) -> str:
        return self.record.fingerprint

    @property
    def counts(self) -> BuildCounts:
        """Counts by status, label and split (:class:`~weaklabel.build_record.BuildCounts`)."""
        return self.record.counts

    @property
    def segments(self) -> pd.DataFrame:
        """``segments.parquet``: one row per transcript segment (:data:`COLUMNS`, then reader extras)."""
        return pd.read_parquet(self.segments_path)

    @property
    def features_path(self) -> Path:
        return self.path / self.record.features.file

    @property
    def features(self) -> np.ndarray:
        """The log-mel clips, memory-mapped: shape ``(n_rows_with_features, n_mels, n_frames)``, float16 dB."""
        return np.load(self.features_path, mmap_mode="r")

    @property
    def features_sha256(self) -> str:
        """SHA-256 of the features file (what embeddings and models are keyed by)."""
        return file_sha256(self.features_path)

    # ------------------------------------------------------------------------- what later steps add
    @property
    def embeddings_dir(self) -> Path:
        return self.path / EMBEDDINGS_DIR

    @property
    def model_dir(self) -> Path:
        """Where ``pipelines.train`` saves the model by default."""
        return self.path / MODEL_DIR

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS_FILE

    @property
    def run_path(self) -> Path:
        """Where ``pipelines.run`` records the resolved configuration of its steps."""
        return self.path / RUN_FILE

    @property
    def label_quality_path(self) -> Path:
        return self.path / LABEL_QUALITY_FILE

    @property
    def evaluations_dir(self) -> Path:
        return self.path / EVALUATIONS_DIR

    def acted_evaluations(self) -> list[Path]:
        """Every ``acted_evaluation.json`` under ``evaluations/``, then every ``benchmarks/**/benchmark.json``,
        sorted."""
        found = []
        for folder, name in ((EVALUATIONS_DIR, EVALUATION_JSON_FILE), LEGACY_EVALUATION):
            root = self.path / folder
            found += sorted(root.rglob(name)) if root.is_dir() else []
        return found


#: The folders :func:`dataset_problem` found as their ``build.json`` describes them, with the files' state then.
_SOUND: dict[str, tuple] = {}


def _files_state(folder: Path) -> tuple:
    """(size, modification time, inode) of a build's three outputs: changes when any of them is written."""
    state = []
    for name in (BUILD_FILE, SEGMENTS_FILE, FEATURES_FILE):
        try:
            stat = os.stat(folder / name)
            state.append((stat.st_size, stat.st_mtime_ns, stat.st_ino))
        except OSError:
            state.append(None)
    return tuple(state)


def dataset_problem(folder: str | Path) -> str | None:
    """Why the finished build in ``folder`` cannot be read as one, in one line that ends with what to run, or None.

    Checks the record (:func:`build_record_problem`), then the outputs against it (:func:`finished_build_problem`:
    the features file whole, of the recorded dtype and shape, its digest when modified after ``build.json``, the
    table's rows and feature rows against the counts and the features). A few milliseconds; a folder found sound is
    not checked again in this process until one of its files changes.
    """
    folder = Path(folder)
    key = str(folder.resolve())
    if _SOUND.get(key) == _files_state(folder):
        return None
    shown = display_path(folder)
    try:
        data = json.loads((folder / BUILD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        data, problem = None, f"{BUILD_FILE} cannot be read ({' '.join(str(exc).split())})"
    else:
        problem = build_record_problem(data)
        if problem is None:
            try:
                record = BuildRecord.from_dict(data)
            except (KeyError, TypeError, ValueError) as exc:
                problem = f"{BUILD_FILE} cannot be read ({' '.join(str(exc).split())})"
    if problem is not None:
        root = recorded_root(folder) or "CORPUS"
        return (f"{shown} is not a build this code can read: {problem}; rebuild it from its corpus: python -m "
                f"pipelines.build_dataset --root {display_path(root)} --out {shown} --overwrite")
    problem = finished_build_problem(folder, record)
    if problem is not None:
        return (f"{shown} is not the build its {BUILD_FILE} describes: {problem}; rebuild it: python -m "
                f"pipelines.build_dataset --out {shown} (the corpus and settings its {BUILD_FILE} records)")
    _SOUND[key] = _files_state(folder)
    return None


def finished_build_problem(out_dir: Path, record: BuildRecord) -> str | None:
    """Why the finished build in ``out_dir`` is not what its ``build.json`` (``record``) describes, in words;
    None when it is: a build is trusted as up to date, or its parts reused, only then.

    Checked on every run, cheaply: the features file is a whole ``.npy`` array (its header, not a staging
    file's MERGING mark) of the recorded dtype and shape, exactly its header and rows long, and
    ``segments.parquet`` holds the recorded number of segments and gives each of the features' rows to exactly one
    of them (3 ms on 6,000 segments).
    Its content is compared with the SHA-256 that the merge recorded only when the file was modified after
    ``build.json`` was written: hashing reads the whole file, about 1 s per GB (0.6 s for 6,000 segments,
    2.6 GB on CMU-MOSEI). Once it matches, ``build.json``'s modification time is brought forward (its bytes
    unchanged), so the next run checks cheaply again. A build that records no digest is checked cheaply.
    """
    features, build_file = out_dir / FEATURES_FILE, out_dir / BUILD_FILE
    described = record.features
    try:
        with open(features, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
            shape, fortran, dtype = read_header[version](handle)
            expected_size = handle.tell() + int(np.prod(shape)) * dtype.itemsize
            size = os.fstat(handle.fileno()).st_size
        feature_rows = pd.read_parquet(out_dir / SEGMENTS_FILE, columns=["feature_row"])["feature_row"]
        modified_after = os.stat(features).st_mtime_ns > os.stat(build_file).st_mtime_ns
    except (OSError, ValueError, KeyError) as exc:
        return f"{FEATURES_FILE} or {SEGMENTS_FILE} cannot be read as a build's ({' '.join(str(exc).split())})"
    if tuple(shape) != described.shape or fortran or str(dtype) != described.dtype:
        return (f"{FEATURES_FILE} holds {dtype} {list(shape)}; {BUILD_FILE} records "
                f"{described.dtype} {list(described.shape)}")
    if size != expected_size:
        return f"{FEATURES_FILE} is {size} bytes; its header says {expected_size}"
    counted = record.counts.segments
    if len(feature_rows) != counted:
        return f"{SEGMENTS_FILE} holds {len(feature_rows)} segments; {BUILD_FILE} counts {counted}"
    rows = feature_rows.dropna()
    if len(rows) != shape[0]:
        return f"{SEGMENTS_FILE} gives {len(rows)} segments a feature row; {FEATURES_FILE} holds {shape[0]}"
    if not np.array_equal(np.sort(rows.to_numpy(dtype=np.int64)), np.arange(shape[0])):
        return (f"{SEGMENTS_FILE}'s feature_row values are not the rows 0 to {shape[0] - 1} of {FEATURES_FILE}, "
                "once each")
    if described.sha256 and modified_after:
        if file_sha256(features) != described.sha256:
            return f"{FEATURES_FILE} was modified after the build: its SHA-256 is not the one {BUILD_FILE} records"
        try:
            os.utime(build_file)
        except OSError:  # a read-only dataset: checked in full again next time
            pass
    return None

