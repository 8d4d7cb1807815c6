"""The build's work units: segments grouped by the audio file they are cut from, and what each unit is made of.

A unit is named by its audio path (:func:`work_unit_key`); ``build.json`` and ``segments.parquet`` name it relative
to the corpus root (:func:`unit_names`). Its digest (:func:`unit_digest`) covers its segments and its audio file's
size and modification time, so a part made from other inputs never matches; :func:`audio_identity` adds the
file's content hash, recorded in ``build.json``.
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Iterable

from foundation.digests import file_sha256, json_sha256
from foundation.paths import resolved_path
from weaklabel.config import BuildConfig
from weaklabel.segments import DUPLICATE_SEGMENT, Segment


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


def has_text(seg: Segment) -> bool:
    """Whether the segment has a transcript to score (not empty, not only whitespace)."""
    return bool(seg.text and seg.text.strip())


def corpus_dir(config: BuildConfig) -> Path:
    """The folder the corpus's paths are relative to: the root, or the folder of a root that is a file (a
    manifest)."""
    root = Path(config.root).resolve()
    return root if root.is_dir() else root.parent


def relative_audio_path(audio_path: str | None, root_dir: Path) -> str | None:
    """``audio_path`` relative to the corpus root when inside it (as stored in ``segments.parquet``)."""
    if not audio_path:
        return audio_path
    try:
        return Path(resolved_path(audio_path)).relative_to(root_dir).as_posix()
    except ValueError:
        return audio_path


def unit_names(units: Iterable[str], config: BuildConfig) -> dict[str, str]:
    """Each work unit (:func:`work_unit_key`) as ``build.json`` and ``segments.parquet`` name it: its audio file
    relative to the corpus root when inside it (a unit without a file, ``recording:<id>``, as it is)."""
    root = corpus_dir(config)
    return {unit: relative_audio_path(unit, root) if os.path.isabs(unit) else unit for unit in units}


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


def audio_stat(audio_path: str | None) -> list | None:
    """``[size in bytes, modification time in ns]`` of an audio file; None when there is none or it cannot be
    read."""
    try:
        stat = os.stat(audio_path) if audio_path else None
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns] if stat else None


def audio_identity(audio_path: str | None) -> dict:
    """An audio file's size, modification time and content hash (None for each when there is no file)."""
    stat = audio_stat(audio_path)
    if stat is None:
        return {"size": None, "mtime_ns": None, "sha256": None}
    try:
        sha = file_sha256(audio_path)
    except OSError:
        sha = None
    return {"size": stat[0], "mtime_ns": stat[1], "sha256": sha}
