"""An export's units of work and what every format says of a clip: its columns, its file name, its failure.

A :class:`Task` is up to ``clips_per_shard`` clips of one split, in ``segments.parquet`` order (a recording's
clips are consecutive: every audio file sits on one side of the splits). What a task holds, and so what it
writes, depends only on the dataset and the :class:`~weaklabel.exporting.config.ExportConfig`, never on the
worker count or the scheduler.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from weaklabel.exporting.clips import ClipFailure, Job

#: The columns of a clip after its audio, in every format that has columns (hf, audiofolder), before the scorers'.
LEADING = (("label", "int"), ("score", "float"))
#: ... and after them.
TRAILING = (("text", "text"), ("segment_id", "text"), ("video_id", "text"), ("group_id", "text"))
SPEAKER = ("speaker", "text")


@dataclass(frozen=True)
class Task:
    """One unit of work: clips ``rows`` (plain ``segments.parquet`` rows) of ``split``, its ``shard``-th of
    ``n_shards``; ``audio`` maps each of their audio paths to the identity ``build.json`` records for it;
    ``digest`` is the hash of all of it and of the export's fingerprint (a part made for another one is redone)."""

    index: int
    split: str
    shard: int
    n_shards: int
    rows: tuple
    audio: dict
    digest: str

    def __len__(self) -> int:
        return len(self.rows)


def metadata_columns(job: Job) -> list[tuple[str, str]]:
    """A clip's columns after its audio: ``(name, kind)``, kind ``int``, ``float`` or ``text``."""
    return [*LEADING, *job.columns, *TRAILING, *((SPEAKER,) if job.has_speaker else ())]


def metadata_values(job: Job, row: dict) -> list:
    """``row``'s values of :func:`metadata_columns` (None where missing; the label 0 negative, 1 positive)."""
    return [row.get(name) for name, _ in metadata_columns(job)]


_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def clip_file_name(segment_id: str) -> str:
    """The clip's file name: ``<segment_id>.flac`` when the id is a safe file name (letters, digits, ``._-``, not
    starting with a dot); otherwise the id with those characters replaced by ``_`` and 8 hex digits of its
    SHA-256, so that two ids never share a file."""
    if not _SAFE.search(segment_id) and not segment_id.startswith(".") and len(segment_id) <= 200:
        return f"{segment_id}.flac"
    digest = hashlib.sha256(segment_id.encode("utf-8")).hexdigest()[:8]
    return f"{_SAFE.sub('_', segment_id.lstrip('.'))[:200]}-{digest}.flac"


def failure(row: dict, exc: ClipFailure) -> dict:
    """A line of the export log: the segment, its split, the failure code and why."""
    return {"segment_id": row["segment_id"], "split": row["split"], "status": exc.status,
            "detail": " ".join(str(exc.detail).split())}
