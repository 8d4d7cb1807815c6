"""The ``audiofolder`` format: Hugging Face's AudioFolder convention, a folder of clips and one CSV of their columns.

::

    OUT/<split>/<segment_id>.flac   each clip as the build cut it (16 kHz mono FLAC), in a folder per split
    OUT/metadata.csv                file_name (relative to OUT), label (negative, positive; empty: abstained),
                                    score, the scorers' columns, text, segment_id, video_id, group_id[, speaker]

``datasets.load_dataset("audiofolder", data_dir=OUT)`` loads it with the splits of the build; so does anything
that reads a CSV and FLAC files.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Iterable

from foundation.atomic import atomic_path, write_bytes_unsynced
from weaklabel.exporting.clips import ClipFailure, Job, cut_clip, encode_flac, recordings
from weaklabel.exporting.tasks import Task, clip_file_name, failure, metadata_columns, metadata_values
from weaklabel.scorers.base import BINARY_CLASSES

METADATA_FILE = "metadata.csv"
#: The files :func:`finish` writes into the export folder, and how the format is loaded.
INDEX_FILES = (METADATA_FILE,)
LOADING = 'datasets.load_dataset("audiofolder", data_dir="{out}")'


def write_part(job: Job, task: Task) -> dict:
    """Write the task's clips into the payload (``<split>/<file>``), made durable together; the part's record,
    with each clip's ``metadata.csv`` row."""
    files, metadata, failures = [], [], []
    for reader, failed, rows in recordings(job, list(task.rows), task.audio):
        for row in rows:
            try:
                if failed:
                    raise failed
                flac = encode_flac(cut_clip(job, reader, row), job.bits)
            except ClipFailure as exc:
                failures.append(failure(row, exc))
                continue
            name = f"{task.split}/{clip_file_name(row['segment_id'])}"
            write_bytes_unsynced(Path(job.payload_dir) / name, flac)
            files.append([name, len(flac)])
            metadata.append([name, *csv_values(job, row)])
    if files:
        os.sync()  # one flush for the task's clips, before its record vouches for them (an fsync each: 3 ms a clip)
    return {"clips": len(files), "failures": failures, "files": files, "metadata": metadata}


def csv_values(job: Job, row: dict) -> list[str]:
    """``row``'s :func:`metadata_columns` as ``metadata.csv`` cells: the label's name, numbers as Python writes
    them (shortest round trip), empty for missing."""
    out = []
    for (name, _), value in zip(metadata_columns(job), metadata_values(job, row)):
        if value is None:
            out.append("")
        elif name == "label":
            out.append(BINARY_CLASSES[int(value)])
        else:
            out.append(repr(value) if isinstance(value, float) else str(value))
    return out


def finish(out: Path, job: Job, splits: list[str], records: Iterable[dict]) -> list[str]:
    """Write ``metadata.csv`` from the parts' rows, in task order (streamed); the files written into ``out``."""
    with atomic_path(out / METADATA_FILE) as tmp, open(tmp, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["file_name", *(name for name, _ in metadata_columns(job))])
        for record in records:
            writer.writerows(record["metadata"])
    return [METADATA_FILE]
