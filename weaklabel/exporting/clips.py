"""The clips of an export, cut as the build cut them: its reader, its clip plan, its cutter.

Every task of an export goes through its clips recording by recording (:func:`recordings`): each audio file is
opened once, the build's way (:func:`weaklabel.build.open_recording`), after checking that it is the file the
build cut (the size, modification time or SHA-256 that ``build.json`` records). A clip is then the build's own:
:func:`weaklabel.build.cut_span` decodes the planned span (:func:`weaklabel.audio.plan_clip`, drawn from the
build's seed and the segment id) and :func:`weaklabel.audio.place_span` puts it into its silent clip, exactly the
samples the build's features were computed from. The plan found now is compared with the one
``segments.parquet`` records; a clip whose plan differs is not exported. Nothing is cut twice, and no task holds
more than one clip's audio at a time.
"""
from __future__ import annotations

import io
import itertools
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from foundation.digests import file_sha256
from weaklabel.audio import TARGET_SR, AudioReader, place_span, plan_clip, seconds_to_samples, segment_rng
from weaklabel.build import RecordingUnavailable, cut_span, open_recording
from weaklabel.config import BuildConfig
from weaklabel.segments import Segment

#: Export-only failures, beside the build's (``audio_missing``, ``audio_unreadable``, ``outside_audio``...): the
#: recording is not the one the build cut, or its clip plan is not the one ``segments.parquet`` records.
RECORDING_CHANGED = "recording_changed"
CLIP_PLAN_CHANGED = "clip_plan_changed"
#: The clip columns of ``segments.parquet`` a clip's plan is compared with.
CLIP_COLUMNS = ("clip_source_start_s", "clip_source_end_s", "clip_pad_left_s")


class ClipFailure(Exception):
    """One clip cannot be exported; ``status`` is a failure code, ``detail`` says why."""

    def __init__(self, status: str, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


@dataclass(frozen=True)
class Job:
    """What every task of one export shares: the format's settings, the build's clip settings and where the files
    are (absolute paths, the same on every worker)."""

    format: str
    bits: int
    build: BuildConfig
    corpus_dir: str
    payload_dir: str
    parts_dir: str
    columns: tuple[tuple[str, str], ...]  # the exported scorer columns: (name, "float" or "text")
    has_speaker: bool

    @property
    def clip_samples(self) -> int:
        return seconds_to_samples(self.build.clip_seconds)


def audio_file(job: Job, audio_path: str) -> str:
    """A ``segments.parquet`` audio path on this machine: relative ones are relative to the corpus root."""
    return audio_path if os.path.isabs(audio_path) else str(Path(job.corpus_dir) / audio_path)


def recordings(job: Job, rows: list[dict], audio: dict[str, dict]) -> Iterator[tuple[AudioReader | None,
                                                                                      ClipFailure | None, list[dict]]]:
    """The task's rows by recording (runs of the same ``audio_path``), each with the open reader, or with the failure
    its clips get (the file is missing, unreadable or not the one the build cut). ``audio`` maps an audio path to
    the identity ``build.json`` records for it (``size``, ``mtime_ns``, ``sha256``). The reader is closed when
    the next recording comes."""
    for audio_path, group in itertools.groupby(rows, key=lambda row: row["audio_path"]):
        group = list(group)
        path = audio_file(job, audio_path)
        try:
            reader = open_recording(path)
        except RecordingUnavailable as exc:
            yield None, ClipFailure(exc.status, exc.detail), group
            continue
        with reader:
            changed = recording_change(path, audio.get(audio_path) or {})
            yield (None, ClipFailure(RECORDING_CHANGED, changed), group) if changed else (reader, None, group)


def recording_change(path: str, recorded: dict) -> str | None:
    """Why the file at ``path`` is not the one the build recorded (``size``, ``mtime_ns``, ``sha256``), in words;
    None when it is. A file of the recorded size and modification time is not read; another is hashed."""
    stat = os.stat(path)
    if [stat.st_size, stat.st_mtime_ns] == [recorded.get("size"), recorded.get("mtime_ns")]:
        return None
    if recorded.get("sha256") and file_sha256(path) == recorded["sha256"]:
        return None
    return (f"{path} is not the recording the build cut (its content differs from the SHA-256 build.json records): "
            "build the dataset again, then export")


def segment_of(row: dict, audio_path: str) -> Segment:
    """The segment a ``segments.parquet`` row was read as (what the clip plan is drawn from)."""
    return Segment(recording_id=row["video_id"], segment_id=row["segment_id"], audio_path=audio_path,
                   start_s=row["start"], end_s=row["end"], text=row["text"], group_id=row["group_id"])


def cut_clip(job: Job, reader: AudioReader, row: dict) -> np.ndarray:
    """The clip of ``row`` as the build cut it: float32 mono at 16 kHz, the build's clip length.

    Raises
    ------
    ClipFailure
        The build's cutter fails now (the file ends earlier than when it was built...), or the clip's plan is
        not the one ``segments.parquet`` records.
    """
    found = {"status": None, "detail": None}
    cut = cut_span(reader, segment_of(row, reader.path), found, job.build)
    if cut is None:
        raise ClipFailure(found["status"], found["detail"])
    check_plan(row, found)
    samples, pad_left = cut
    return place_span(samples, pad_left, job.clip_samples)


def check_plan(row: dict, found: dict) -> None:
    """ClipFailure unless the clip columns found now are those ``segments.parquet`` records for ``row``."""
    differ = [c for c in CLIP_COLUMNS if row.get(c) is None or found.get(c) is None
              or not math.isclose(row[c], found[c], rel_tol=0.0, abs_tol=1e-9)]
    if differ:
        shown = ", ".join(f"{c} {row.get(c)} in segments.parquet, {found.get(c)} now" for c in differ)
        raise ClipFailure(CLIP_PLAN_CHANGED, f"the clip plan differs from the build's ({shown}): build the dataset "
                                             "again, then export")


@dataclass(frozen=True)
class Span:
    """Where a clip's audio is in its recording, without decoding it: frames ``first`` to ``first + native_count``
    of the file (what the build's reader decodes), ``samples`` at 16 kHz placed after ``pad_left`` samples of
    silence in a clip of ``clip_samples``."""

    first: int
    native_count: int
    samples: int
    pad_left: int
    clip_samples: int


def plan_span(job: Job, reader: AudioReader, row: dict) -> Span:
    """The span of ``row``'s clip in its recording: the build's plan drawn again (:func:`plan_clip`, no audio
    decoded), checked against ``segments.parquet``'s clip columns, and the frames the build's reader reads for it.

    Raises
    ------
    ClipFailure
        The plan is none now (the recording is shorter) or not the recorded one.
    """
    config = job.build
    plan = plan_clip(row["start"], row["end"], reader.duration_s, config.clip_seconds,
                     segment_rng(config.seed, row["segment_id"]))
    if plan is None:
        raise ClipFailure(CLIP_PLAN_CHANGED, f"the segment starts at {row['start']:g} s; the recording is "
                                             f"{reader.duration_s:.3f} s long now: build the dataset again")
    samples = seconds_to_samples(row["clip_source_end_s"] - row["clip_source_start_s"])
    check_plan(row, {"clip_source_start_s": plan.source_start_s, "clip_pad_left_s": plan.pad_left_samples / TARGET_SR,
                     "clip_source_end_s": plan.source_start_s + min(samples, plan.source_samples) / TARGET_SR})
    first, count = reader.native_span(plan.source_start_s, plan.source_end_s)
    return Span(first, count, samples, plan.pad_left_samples, plan.clip_samples)


def encode_flac(clip: np.ndarray, bits: int) -> bytes:
    """A clip as the bytes of a FLAC file (16 kHz mono, ``bits`` per sample; libsndfile's encoder, whose bytes
    depend only on the samples and its version)."""
    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, clip, TARGET_SR, format="FLAC", subtype=f"PCM_{bits}")
    return buffer.getvalue()
