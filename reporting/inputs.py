"""Everything a report shows, read from a dataset folder (and optional extra files) in one place.

Missing pieces are ``None`` or empty, never an error: a report on a fresh build shows what is there and
says what is not. Only a folder that is not a build at all (no ``build.json`` / ``segments.parquet``) raises.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from foundation.paths import display_path
from transfer.embedding_record import EmbeddingRecord
from transfer.metrics_record import MetricsRecord
from transfer.model_record import ModelRecord
from weaklabel.build_record import BuildRecord
from weaklabel.dataset import MODEL_META_FILE, Dataset


@dataclass
class TablesFile:
    """A JSON file of generic tables (``{"tables": [{"title", "columns", "rows", "note"}]}``) or why it failed."""

    path: Path
    tables: list[dict] = field(default_factory=list)
    error: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class CachedEmbedding:
    """One record in the dataset's ``embeddings/`` folder: its file name, the record (None where it cannot be read:
    ``error`` says why) and whether its array (``<key>.npy``) is beside it."""

    file: str
    record: EmbeddingRecord | None
    error: str | None
    array_present: bool


@dataclass
class ReportInputs:
    """What :mod:`reporting.sections` renders. Paths are as given; ``display_path`` is for showing."""

    dataset: Path
    name: str
    display_path: str
    build: BuildRecord
    segments: pd.DataFrame
    metrics: MetricsRecord | None = None
    metrics_error: str | None = None
    model_meta: ModelRecord | None = None
    embeddings: list[CachedEmbedding] = field(default_factory=list)
    #: SHA-256 of the dataset's features file (what a cached embedding must have been computed from); None when
    #: there are no cached embeddings to check.
    features_sha256: str | None = None
    acted_evaluations: list[TablesFile] = field(default_factory=list)
    label_quality: list[TablesFile] = field(default_factory=list)
    weak_supervision: list[dict] = field(default_factory=list)

    def logmel_rows(self, rows: list[int]) -> np.ndarray:
        """Log-mel clips (n, n_mels, n_frames) float32 for the given ``feature_row`` values."""
        features = Dataset(self.dataset).features
        return np.asarray(features[np.asarray(rows, dtype=np.int64)], dtype=np.float32)


def _read_json(path: Path) -> tuple[Any, str | None]:
    try:
        return json.loads(path.read_text(encoding="utf-8")), None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"{type(exc).__name__}: {exc}"


def _read_record(path: Path, kind):
    """``(kind.from_dict(the file's JSON), None)``, or ``(None, why not)``."""
    data, error = _read_json(path)
    if error:
        return None, error
    try:
        return kind.from_dict(data), None
    except ValueError as exc:
        return None, str(exc)


def read_tables_file(path: str | Path) -> TablesFile:
    """Read a tables JSON file; problems are recorded in ``error`` (shown in the report), never raised."""
    path = Path(path)
    data, error = _read_json(path)
    if error:
        return TablesFile(path, error=error)
    if not isinstance(data, dict) or not isinstance(data.get("tables"), list):
        return TablesFile(path, error='no top-level "tables" list')
    tables = []
    for k, t in enumerate(data["tables"]):
        if not isinstance(t, dict) or not isinstance(t.get("columns"), list) or not isinstance(t.get("rows"), list):
            return TablesFile(path, error=f'table {k} lacks a "columns" or "rows" list')
        tables.append(t)
    title = data.get("title") if isinstance(data.get("title"), str) else None
    return TablesFile(path, tables=tables, title=title)


def load_inputs(dataset: str | Path, acted_evaluations: list[str | Path] | None = None,
                label_quality: list[str | Path] | None = None,
                weak_supervision: list[str | Path] | None = None) -> ReportInputs:
    """Read a build and whatever later steps left beside it.

    Parameters
    ----------
    dataset : path
        A folder written by ``pipelines.build_dataset``.
    acted_evaluations, label_quality : list of paths, optional
        Tables files to show; default: discovered in the dataset folder (``evaluations/**/acted_evaluation.json``,
        ``label_quality.json``). Given files are shown in addition to the discovered ones.
    weak_supervision : list of paths, optional
        ``weak_supervision.json`` files (``pipelines.weak_supervision``) to draw.

    Raises
    ------
    FileNotFoundError
        When ``dataset`` is not a build.
    """
    data = Dataset(dataset)
    dataset = data.path
    inputs = ReportInputs(dataset=dataset, name=dataset.resolve().name, display_path=display_path(dataset),
                          build=data.record, segments=data.segments)
    if data.metrics_path.is_file():  # read here, not with Dataset.metrics: a broken file is shown, not raised
        inputs.metrics, inputs.metrics_error = _read_record(data.metrics_path, MetricsRecord)
    if (data.model_dir / MODEL_META_FILE).is_file():
        inputs.model_meta, _ = _read_record(data.model_dir / MODEL_META_FILE, ModelRecord)
    embeddings_dir = data.embeddings_dir
    if embeddings_dir.is_dir() and any(embeddings_dir.glob("*.json")):
        inputs.features_sha256 = data.features_sha256
    for path in sorted(embeddings_dir.glob("*.json")) if embeddings_dir.is_dir() else []:
        record, error = _read_record(path, EmbeddingRecord)
        inputs.embeddings.append(CachedEmbedding(path.name, record, error, path.with_suffix(".npy").is_file()))

    def unique(paths):
        seen, out = set(), []
        for p in paths:
            key = Path(p).resolve()
            if key not in seen:
                seen.add(key)
                out.append(Path(p))
        return out

    inputs.acted_evaluations = [read_tables_file(p) for p in
                                unique([*data.acted_evaluations(), *(acted_evaluations or [])])]
    inputs.label_quality = [read_tables_file(p) for p in
                            unique([*([data.label_quality_path] if data.label_quality_path.is_file() else []),
                                   *(label_quality or [])])]
    from reporting.weak_curve import read_weak_supervision

    inputs.weak_supervision = [read_weak_supervision(p) for p in unique(weak_supervision or [])]
    return inputs
