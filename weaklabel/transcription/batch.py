"""Every recording under a folder transcribed: one Whisper-style JSON and one SRT per recording, resumable.

``transcribe(root, out, settings)`` finds the recordings the build reads (:data:`weaklabel.readers.AUDIO_SUFFIXES`)
under ``root`` and writes, for ``root/a/talk.wav``, ``out/a/talk.json`` (:meth:`Transcript.to_dict`) and
``out/a/talk.srt``. With ``out`` equal to ``root`` (the command line's default) they sit beside the recordings,
where ``pipelines.build_dataset --root`` reads them as a subtitle corpus (the JSON first).

* Resumable: a recording whose JSON holds the same audio SHA-256, model SHA-256 and settings is not transcribed
  again; a changed recording, model or setting is.
* A transcript that this tool did not write (a JSON without its marker, or an SRT without its JSON) is never
  overwritten: that recording is skipped, saying so.
* Each file is written atomically (:mod:`foundation.atomic`); one writer holds ``out`` (:mod:`foundation.locking`).
* A recording that fails (cannot be decoded) fails alone; ``out/transcription_summary.json`` lists what was
  transcribed, skipped and failed (with reasons), and every piece of text dropped as a hallucination (with why).
* Local worker processes (:func:`foundation.executor.make_executor`), started with ``spawn``: a child forked from a
  process that already ran CTranslate2 can wait forever on a lock of the parent's thread pool.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Callable

from foundation.atomic import write_json_atomic, write_text_atomic
from foundation.digests import file_sha256
from foundation.executor import make_executor
from foundation.locking import folder_lock
from weaklabel.readers import AUDIO_SUFFIXES
from weaklabel.readers.walk import walk_files
from weaklabel.transcription.transcript import TRANSCRIBER, Transcript, TranscriptionSettings, to_srt

SUMMARY_FILE = "transcription_summary.json"


@dataclass
class Summary:
    """What a :func:`transcribe` run did; ``recordings`` counts every recording found."""

    recordings: int = 0
    transcribed: list[str] = field(default_factory=list)
    up_to_date: list[str] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    dropped: list[dict] = field(default_factory=list)
    audio_seconds: float = 0.0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"recordings": self.recordings, "transcribed": self.transcribed, "up_to_date": self.up_to_date,
                "skipped": self.skipped, "failed": self.failed, "dropped": self.dropped,
                "audio_seconds_transcribed": round(self.audio_seconds, 3), "seconds": round(self.seconds, 3)}


def find_recordings(root: str | Path) -> list[tuple[str, Path]]:
    """(recording id, path) of every audio file under ``root`` (or ``root`` itself), sorted; the id is the path
    relative to ``root`` without its suffix, as the subtitle reader names recordings. Of several files with one
    stem, the reader's preferred format."""
    root = Path(root)
    if root.is_file():
        return [(root.stem, root)] if root.suffix.lower() in AUDIO_SUFFIXES else []
    found: dict[str, Path] = {}
    for folder, names in walk_files(root):
        for name in names:
            path = folder / name
            if name.startswith(".") or path.suffix.lower() not in AUDIO_SUFFIXES:
                continue
            rid = PurePath(os.path.relpath(folder / path.stem, root)).as_posix()
            if rid not in found or AUDIO_SUFFIXES.index(path.suffix.lower()) < \
                    AUDIO_SUFFIXES.index(found[rid].suffix.lower()):
                found[rid] = path
    return sorted(found.items())


def output_paths(out: str | Path, recording_id: str) -> tuple[Path, Path]:
    """The JSON and SRT a recording's transcript is written to."""
    base = Path(out) / recording_id
    return base.with_name(base.name + ".json"), base.with_name(base.name + ".srt")


def state(json_path: Path, srt_path: Path, audio_sha256: str, model_sha256: str,
          settings: TranscriptionSettings) -> str:
    """``"new"`` (nothing there), ``"current"`` (our transcript of this audio, model and settings), ``"stale"``
    (ours, of something else) or ``"foreign"`` (a transcript this tool did not write)."""
    if not json_path.exists():
        return "foreign" if srt_path.exists() else "new"
    try:
        data = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "foreign"
    if not isinstance(data, dict) or data.get("transcriber") != TRANSCRIBER:
        return "foreign"
    try:
        current = Transcript.from_dict(data)
    except (KeyError, TypeError, ValueError):
        return "stale"
    same = (current.audio_sha256 == audio_sha256 and current.model.get("sha256") == model_sha256
            and current.settings == settings and srt_path.exists())
    return "current" if same else "stale"


def transcribe_one(path: str, json_path: str, srt_path: str, settings: TranscriptionSettings,
                   threads: int) -> dict:
    """Transcribe one recording and write its JSON and SRT (a worker's task): ``{"ok": True, "duration", "dropped"}``
    or ``{"ok": False, "reason"}`` for a recording that cannot be read."""
    from weaklabel.audio import AudioDecodeError
    from weaklabel.transcription.engine import transcribe_recording

    try:
        transcript = transcribe_recording(path, settings, threads)
    except (AudioDecodeError, OSError) as exc:
        return {"ok": False, "reason": " ".join(str(exc).split())}
    write_text_atomic(srt_path, to_srt(transcript))
    write_json_atomic(json_path, transcript.to_dict())
    return {"ok": True, "duration": transcript.duration,
            "dropped": [{"start": round(d.start, 3), "end": round(d.end, 3), "text": d.text, "reason": d.reason}
                        for d in transcript.dropped]}


def _plan(recordings: list[tuple[str, Path]], out: Path, settings: TranscriptionSettings, model_sha256: str,
          summary: Summary) -> list[tuple[str, tuple]]:
    """The recordings to transcribe, as (id, task arguments); the others are recorded in ``summary``."""
    tasks = []
    for rid, path in recordings:
        json_path, srt_path = output_paths(out, rid)
        try:
            digest = file_sha256(path)
        except OSError as exc:
            summary.failed.append({"recording": rid, "reason": f"cannot read {path}: {exc}"})
            continue
        found = state(json_path, srt_path, digest, model_sha256, settings)
        if found == "current":
            summary.up_to_date.append(rid)
        elif found == "foreign":
            summary.skipped.append({"recording": rid, "reason": f"{json_path.name} or {srt_path.name} exists and "
                                                                "was not written by pipelines.transcribe"})
        else:
            tasks.append((rid, (str(path), str(json_path), str(srt_path), settings)))
    return tasks


def transcribe(root: str | Path, out: str | Path, settings: TranscriptionSettings = TranscriptionSettings(),
               workers: int = 1, *, on_start: Callable[[int], None] | None = None,
               progress: Callable[[int], None] | None = None) -> Summary:
    """Transcribe every recording under ``root`` into ``out`` (see the module docstring); the :class:`Summary`,
    also written to ``out/transcription_summary.json``.

    ``workers`` processes share the cores (each runs CTranslate2 on ``cores // workers`` threads);
    ``on_start(n)`` is called with the number of recordings to transcribe, ``progress(1)`` after each.

    Raises
    ------
    weaklabel.whisper_model.WhisperModelError
        The model cannot be found or trusted (before anything is transcribed).
    foundation.locking.FolderBusyError
        Another process writes into ``out``.
    """
    return transcribe_recordings(find_recordings(root), out, settings, workers, on_start=on_start,
                                 progress=progress)


def transcribe_recordings(recordings: list[tuple[str, Path]], out: str | Path,
                          settings: TranscriptionSettings = TranscriptionSettings(), workers: int = 1, *,
                          on_start: Callable[[int], None] | None = None,
                          progress: Callable[[int], None] | None = None) -> Summary:
    """:func:`transcribe` of the given ``(recording id, path)`` pairs (:func:`find_recordings`): the build's
    ``--transcribe`` hands it the recordings that have no transcript beside them."""
    from weaklabel.whisper_model import resolve_whisper_model

    started = time.perf_counter()
    out = Path(out)
    model = resolve_whisper_model(settings.model)
    summary = Summary(recordings=len(recordings))
    workers = max(1, int(workers))
    threads = max(1, (os.cpu_count() or 1) // workers)
    with folder_lock(out, "transcribe"):
        tasks = _plan(recordings, out, settings, model.sha256, summary)
        if on_start:
            on_start(len(tasks))
        with make_executor("local", None, min(workers, max(1, len(tasks))), start_method="spawn") as engine:
            for index, result in engine.map_unordered(transcribe_one, [(*args, threads) for _, args in tasks]):
                rid = tasks[index][0]
                if result["ok"]:
                    summary.transcribed.append(rid)
                    summary.audio_seconds += result["duration"]
                    summary.dropped += [{"recording": rid, **d} for d in result["dropped"]]
                else:
                    summary.failed.append({"recording": rid, "reason": result["reason"]})
                if progress:
                    progress(1)
        summary.transcribed.sort()
        summary.failed.sort(key=lambda f: f["recording"])
        summary.dropped.sort(key=lambda d: (d["recording"], d["start"]))
        summary.seconds = time.perf_counter() - started
        write_json_atomic(out / SUMMARY_FILE, {**summary.to_dict(), "model": model.record(),
                                               "settings": settings.to_dict()})
    return summary
