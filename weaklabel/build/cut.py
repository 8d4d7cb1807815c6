"""Cutting audio: each work unit's recording opened once, its segments' spans cut and featurised chunk by chunk.

:func:`build_part` is the task the build runs per audio file (in this process, local processes or on a Dask
cluster): :func:`process_audio_file` cuts every segment's span (:func:`cut_span`) and streams the features,
:data:`CLIPS_PER_CHUNK` clips at a time, into the staging file or the part itself; the part's rows follow.
"""
from __future__ import annotations

import os
import threading
from functools import lru_cache, partial
from pathlib import Path
from typing import Callable

import numpy as np
from threadpoolctl import ThreadpoolController

from foundation.atomic import atomic_path
from foundation.paths import require_regular_file
from foundation.staging import pwrite_all
from weaklabel.audio import TARGET_SR, AudioDecodeError, AudioReader, plan_clip, seconds_to_samples, segment_rng
from weaklabel.build.parts import feature_row_bytes, part_path, write_part_record
from weaklabel.build.units import audio_identity, corpus_dir, relative_audio_path, unit_digest, work_unit_key
from weaklabel.config import BuildConfig
from weaklabel.logmel import log_mel_placed
from weaklabel.segments import AUDIO_MISSING, AUDIO_UNREADABLE, OUTSIDE_AUDIO, TOO_LITTLE_SPEECH, Segment

#: Clips decoded and featurised together: a worker holds one chunk (about 14 MB of 7 s float32 audio, the
#: log-mel temporaries of :func:`weaklabel.logmel.log_mel_placed` and 3.6 MB of float16 features) whatever
#: the length of the recording or the number of its segments.
CLIPS_PER_CHUNK = 32


def base_row(seg: Segment, audio_path: str | None) -> dict:
    """A segment's row of ``segments.parquet`` before its clip is cut: the transcript's fields, ``audio_path`` as
    stored (relative to the corpus root when inside it), the clip columns and ``part_feature_row`` empty, and the
    reader's extra fields as ``extra:<name>``."""
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


def _fail(row: dict, status: str, detail: str) -> None:
    row["status"] = status
    row["detail"] = "; ".join(x for x in (row["detail"], detail) if x)


def _add_note(row: dict, note: str) -> None:
    row["detail"] = "; ".join(x for x in (row["detail"], note) if x)
def process_audio_file(segments: list[Segment], config: BuildConfig,
                       write_features: Callable[[np.ndarray], None]) -> tuple[list[dict], int]:
    """Cut and featurise every segment of one audio file, streaming the features in chunks.

    Sentiment is not scored here: each distinct sentence of the corpus is scored once, beside the audio work
    (:class:`weaklabel.scorers.batch.ScoringRun`), and the scores join the rows in
    :func:`weaklabel.build.finish.finalize`.

    Parameters
    ----------
    segments : list of Segment
        The segments of one work unit (:func:`weaklabel.build.units.group_by_audio_file`), in corpus order,
        failed ones included (they keep their status). All name the same ``audio_path``.
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
    relative_path = relative_audio_path(audio_path, corpus_dir(config))
    rows = [base_row(seg, relative_path) for seg in segments]
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
        out = chunk_buffer(CLIPS_PER_CHUNK, shape, config.mel.storage_dtype)[:len(spans)]
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


def chunk_buffer(n_clips: int, shape: tuple[int, int], dtype: str) -> np.ndarray:
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


def build_part(segments: list[Segment], config: BuildConfig, parts_dir: str,
               digest: str | None = None, staging: tuple[str, int, int] | None = None) -> tuple[str, int]:
    """Task entry point: process one audio file and write its part. Returns (work unit, segments).

    ``digest`` is :func:`~weaklabel.build.units.unit_digest` as the client computed it (computed here when
    omitted). ``staging``, ``(staging file name, the unit's first row, its byte offset)``
    (:class:`~weaklabel.build.parts.FeatureSlots`), sends the features into the staging file, fsynced before the
    part (its rows) is renamed into place; without it the part holds its features.

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
        write_part_record(handle, {**meta, "rows": rows, "n_features": n_features,
                                   "row_bytes": feature_row_bytes(config),
                                   "audio": audio_identity(segments[0].audio_path)})
    return unit, len(segments)


class _StagedWriter:
    """``write_features`` for :func:`process_audio_file`: each chunk's bytes at the next rows of the staging file."""

    def __init__(self, fd: int, offset: int):
        self.fd, self.offset = fd, offset

    def __call__(self, chunk: np.ndarray) -> None:
        data = memoryview(np.ascontiguousarray(chunk)).cast("B")
        pwrite_all(self.fd, data, self.offset)
        self.offset += len(data)


@lru_cache(maxsize=1)
def _blas_controller() -> ThreadpoolController:
    """This process's BLAS/OpenMP thread pools, found once (``threadpool_limits`` looks for them on every call,
    about 0.7 ms, once per file otherwise)."""
    return ThreadpoolController()


def _append_features(handle, chunk: np.ndarray) -> None:
    """Append a C-contiguous features chunk's bytes to an open part file (no copy)."""
    handle.write(np.ascontiguousarray(chunk).data)
