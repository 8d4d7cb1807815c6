"""The names of a built dataset's files and folders (the layout :mod:`weaklabel.dataset` reads), and which
entries of a folder belong to a dataset built there. Imports nothing of this package: the corpus readers read it
to pass over a dataset written into its own corpus folder."""
from __future__ import annotations

import json
from pathlib import Path

SEGMENTS_FILE = "segments.parquet"
BUILD_FILE = "build.json"
FEATURES_DIR = "features"
FEATURES_FILE = f"{FEATURES_DIR}/logmel.npy"
EMBEDDINGS_DIR = "embeddings"
MODEL_DIR = "model"
#: A model folder (``DATASET/model`` or wherever ``pipelines.train --model-out`` puts it) holds these two.
MODEL_HEAD_FILE = "head.keras"
MODEL_META_FILE = "model.json"
METRICS_FILE = "metrics.json"
RUN_FILE = "run.json"
#: Where ``pipelines.report`` (and ``pipelines.run``) write the report by default: inside the dataset it describes.
REPORT_FILE = "report/index.html"
LABEL_QUALITY_FILE = "label_quality.json"
LABEL_QUALITY_MARKDOWN_FILE = "label_quality.md"
EVALUATIONS_DIR = "evaluations"
#: What ``pipelines.evaluate_acted`` writes into its output folder (``DATASET/evaluations/<corpus>`` or any).
EVALUATION_JSON_FILE = "acted_evaluation.json"
EVALUATION_MARKDOWN_FILE = "acted_evaluation.md"
#: The second place the report looks for acted-corpus evaluations (folder, file name).
LEGACY_EVALUATION = ("benchmarks", "benchmark.json")
#: Where ``build_dataset --transcribe`` keeps the transcripts it made (``<recording id>.json`` and ``.srt``).
TRANSCRIPTS_DIR = "transcripts"
#: Prefix of the hidden folder of per-audio-file parts of a build in progress.
PARTS_PREFIX = ".parts-"
#: Everything above that sits directly in a dataset folder: never read as a corpus's recordings or transcripts
#: when a build is written into (or inside) its own corpus folder (:func:`dataset_entries`).
DATASET_ENTRIES = (SEGMENTS_FILE, BUILD_FILE, FEATURES_DIR, EMBEDDINGS_DIR, MODEL_DIR, METRICS_FILE, RUN_FILE,
                   LABEL_QUALITY_FILE, LABEL_QUALITY_MARKDOWN_FILE, EVALUATIONS_DIR, LEGACY_EVALUATION[0], TRANSCRIPTS_DIR)


def embedding_files(cache_dir: str | Path, key: str) -> tuple[Path, Path]:
    """The cached embeddings array and its record for an embedding key in ``cache_dir`` (a dataset's
    :data:`EMBEDDINGS_DIR`, or a cache shared by datasets with identical features): ``<key>.npy``, ``<key>.json``."""
    base = Path(cache_dir)  # the key may hold dots (a package version): suffixes appended, never substituted
    return base / f"{key}.npy", base / f"{key}.json"


def dataset_entries(folder: str | Path) -> frozenset[str]:
    """The names in ``folder`` that belong to a dataset built there (:data:`DATASET_ENTRIES`), when its
    ``build.json`` is one this tool wrote; else none. The folder's other files (the recordings of a corpus
    the build was written into) are not among them."""
    try:
        record = json.loads((Path(folder) / BUILD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return frozenset()
    ours = isinstance(record, dict) and {"format_version", "fingerprint", "config", "columns"} <= record.keys()
    return frozenset(DATASET_ENTRIES) if ours else frozenset()
