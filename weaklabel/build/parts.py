"""Part files and the staging file: where each work unit's rows and features wait until the build is finished.

A *part* is one file per work unit, written once (a framed file, :mod:`foundation.staging`)::

    [features: n_features x n_mels x n_frames, storage dtype, C order][rows record, JSON][trailer, PART_MAGIC]

It is written under a temporary name, fsynced once and renamed: it is whole or absent. A part whose features went
to the staging file (the build's own parts) holds none: its record says where they are (``"staged"``: the staging
file's name and the unit's first row), and it is renamed into place only after they were fsynced there. Parts cut
from a previous build's outputs (:func:`weaklabel.build.plan.reuse_finished_parts`) hold theirs.

The *staging file* (:class:`FeatureSlots`) is laid out as ``features/logmel.npy`` will be: room for the ``.npy``
header, then one row per segment that may give a clip, each unit's rows together in corpus order.
"""
from __future__ import annotations

import hashlib
import io
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

import numpy as np

from foundation.atomic import atomic_path
from foundation.digests import json_sha256
from foundation.staging import read_framed_record, write_framed_record
from weaklabel.config import BuildConfig
from weaklabel.segments import Segment

PART_SUFFIX = ".part"
#: The magic at the end of every part file (its framed record's trailer).
PART_MAGIC = b"WLPART01"
STAGING_SUFFIX = ".staging"

#: States of a staging file, in its first bytes (the room of the ``.npy`` header): zeros while parts are built
#: into it; MERGING while :func:`weaklabel.build.finish.features_from_staging` moves rows; the ``.npy`` magic once
#: it holds the final features.
BUILDING, MERGING, MERGED = b"\0" * 6, b"MERGING", b"\x93NUMPY"


@dataclass(frozen=True)
class FeatureSlots:
    """Where each work unit's features are staged: one file laid out as ``features/logmel.npy`` will be.

    ``header_bytes`` reserved for the ``.npy`` header (that of ``capacity`` rows), then ``capacity`` rows of
    ``row_bytes``; unit ``u`` owns rows ``first[u]`` to ``first[u] + slots[u] - 1``, one per segment that may
    give a clip (every segment not failed before its audio is read), in corpus order. A unit whose every
    segment gives a clip fills its rows exactly; failed segments leave gaps that the merge closes
    (:func:`weaklabel.build.finish.features_from_staging`). The file's name holds the digest of the layout
    (``name_prefix``), so a corpus with other units or counts never reuses it, and a token drawn when the file is
    created (:func:`prepare_staging` sets ``path``), so a part staged into an earlier file of the same layout (one
    lost to an interrupted merge) never counts.
    """

    name_prefix: str
    header_bytes: int
    row_bytes: int
    first: dict[str, int]
    slots: dict[str, int]
    capacity: int
    path: Path | None = None
    merged: bool = False  # the file already holds the final features

    def offset(self, row: int) -> int:
        """Byte offset of staging row ``row``."""
        return self.header_bytes + row * self.row_bytes


def npy_header(n_rows: int, config: BuildConfig) -> bytes:
    """The ``.npy`` (version 1.0) header of ``n_rows`` feature rows, as ``numpy.save`` writes it."""
    n_frames = config.mel.frames_for_seconds(config.clip_seconds)
    buffer = io.BytesIO()
    descr = np.lib.format.dtype_to_descr(np.dtype(config.mel.storage_dtype))
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False,
                                                  "shape": (n_rows, config.mel.n_mels, n_frames)})
    return buffer.getvalue()


def feature_row_bytes(config: BuildConfig) -> int:
    """Bytes of one clip's features: ``n_mels * n_frames`` values of the storage dtype."""
    n_frames = config.mel.frames_for_seconds(config.clip_seconds)
    return config.mel.n_mels * n_frames * np.dtype(config.mel.storage_dtype).itemsize


def feature_slots(units: dict[str, list[Segment]], config: BuildConfig) -> FeatureSlots:
    """The staging layout of ``units`` (in their order); nothing is written, ``path`` is not set."""
    slots = {unit: sum(not seg.failed for seg in segs) for unit, segs in units.items()}
    first, row = {}, 0
    for unit, n in slots.items():
        first[unit], row = row, row + n
    header = npy_header(row, config)
    row_bytes = feature_row_bytes(config)
    digest = json_sha256({"slots": list(slots.items()), "row_bytes": row_bytes, "header": len(header)})
    return FeatureSlots(f"features-{digest[:16]}-", len(header), row_bytes, first, slots, row)


def prepare_staging(slots: FeatureSlots, parts_dir: Path) -> FeatureSlots:
    """``slots`` with the path of its staging file in ``parts_dir``: the existing one of this layout, or a new
    one (sparse, at its final size, under a fresh token). Staging files of other layouts are removed: the
    parts staged in them no longer count as done (:func:`weaklabel.build.plan.part_done`) and are redone."""
    existing = sorted(parts_dir.glob(f"{slots.name_prefix}*{STAGING_SUFFIX}"))
    state = staging_state(existing[0]) if existing else None
    for other in parts_dir.glob(f"*{STAGING_SUFFIX}"):
        if other not in existing[:1] or state == MERGING:  # a merge killed midway: its rows are not the parts'
            other.unlink(missing_ok=True)
    if existing and state != MERGING:
        return replace(slots, path=existing[0], merged=state == MERGED)
    path = parts_dir / f"{slots.name_prefix}{secrets.token_hex(8)}{STAGING_SUFFIX}"
    with atomic_path(path) as tmp, open(tmp, "r+b") as handle:
        handle.truncate(slots.offset(slots.capacity))
    return replace(slots, path=path, merged=False)


def staging_state(path: Path) -> bytes:
    """The state of the staging file ``path``: :data:`BUILDING`, :data:`MERGING` or :data:`MERGED`."""
    with open(path, "rb") as handle:
        start = handle.read(len(MERGING))
    return MERGING if start == MERGING else MERGED if start.startswith(MERGED) else BUILDING


def part_path(parts_dir: Path, unit: str) -> Path:
    """Where the part of work unit ``unit`` (an audio path, :func:`weaklabel.build.units.work_unit_key`) lives."""
    return parts_dir / f"{hashlib.sha256(unit.encode('utf-8')).hexdigest()[:24]}{PART_SUFFIX}"


def write_part_record(handle: BinaryIO, record: dict) -> None:
    """End a part file whose features (if it holds any) were written to ``handle``: its rows ``record``, then
    the trailer."""
    write_framed_record(handle, record, PART_MAGIC)


def read_part_meta(path: Path) -> dict | None:
    """A part's rows and record (``unit``, ``digest``, ``rows``, ``n_features``, ``row_bytes``), with
    ``features_bytes`` (the bytes before the rows) added; None when the file is absent or not a whole part."""
    framed = read_framed_record(path, PART_MAGIC)
    if framed is None:
        return None
    meta, features_bytes = framed
    meta["features_bytes"] = features_bytes
    return meta
