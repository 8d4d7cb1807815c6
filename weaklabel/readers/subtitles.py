"""Recordings with a sibling transcript: ``talk.wav`` + ``talk.srt`` / ``.vtt`` / ``.json`` (or yt-dlp's
``talk.en.vtt``).

:func:`read_subtitle_corpus` pairs audio files with their transcripts, parses each transcript into cues
(:mod:`weaklabel.readers.cues` for SRT and WebVTT, :mod:`weaklabel.readers.whisper_json` for the JSON of
Whisper-family transcribers) and turns cues into :class:`~weaklabel.segments.Segment` objects, validating
times and text with :func:`~weaklabel.segments.make_segment` like every reader.
"""
from __future__ import annotations

import os
import re
from pathlib import Path, PurePath

from foundation.paths import resolved_path
from weaklabel.errors import CorpusError
from weaklabel.readers.cues import Cue, CueError, ParsedCue, parse_srt, parse_vtt
from weaklabel.readers.text_bytes import (decode_transcript_bytes, has_undecodable, repaired_note,
                                          shown_with_replacements)
from weaklabel.readers.walk import walk_files, without_dataset_entries
from weaklabel.readers.whisper_json import parse_whisper_json
from weaklabel.segments import BAD_ENCODING, BAD_TRANSCRIPT_LINE, Segment, failed_segment, make_segment


#: Audio files a transcript pairs with, in preference order for one stem: libsndfile's formats, then
#: containers decoded through FFmpeg (:mod:`weaklabel.containers`), video last.
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".opus", ".aiff", ".aif", ".m4a", ".aac", ".wma", ".mka",
                  ".webm", ".mp4", ".m4v", ".mov", ".mkv")
SUBTITLE_SUFFIXES = (".json", ".srt", ".vtt")  # preference order when several sit beside one recording
#: The language tag yt-dlp puts between the stem and the suffix: ``talk.en.vtt``, ``talk.en-US.srt``,
#: ``talk.en-orig.vtt``, ``talk.zh-Hans.vtt``.
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$", re.ASCII)


# ----------------------------------------------------------------------------------------- corpus
_PARSERS = {".srt": parse_srt, ".vtt": parse_vtt, ".json": parse_whisper_json}


def _language(subtitle: Path, audio_stem: str) -> str:
    """The yt-dlp language tag of a subtitle file paired with ``audio_stem`` (``""`` for the same stem)."""
    return subtitle.stem[len(audio_stem) + 1:] if subtitle.stem != audio_stem else ""


def _subtitle_rank(subtitle: Path, audio_stem: str) -> tuple:
    """Sort key: the same stem first, then English (the sentiment scorers read English), then other
    languages by name; within one, JSON, SRT, VTT."""
    language = _language(subtitle, audio_stem)
    english = language.lower() == "en" or language.lower().startswith(("en-", "en_"))
    return (language != "", not english, language.lower(), SUBTITLE_SUFFIXES.index(subtitle.suffix.lower()),
            subtitle.name)


def _pair(audio: list[Path], subtitles: list[Path]) -> tuple[Path, Path, str]:
    """The audio and subtitle file to use for one stem, and a note naming what was passed over."""
    audio = sorted(audio, key=lambda p: (AUDIO_SUFFIXES.index(p.suffix.lower()), p.name))
    stem = audio[0].stem
    subtitles = sorted(subtitles, key=lambda p: _subtitle_rank(p, stem))
    notes = []
    if len(subtitles) > 1:
        notes.append(f"subtitles read from {subtitles[0].name}; ignored {', '.join(p.name for p in subtitles[1:])}")
    if len(audio) > 1:
        notes.append(f"audio is {audio[0].name}; ignored {', '.join(p.name for p in audio[1:])}")
    return audio[0], subtitles[0], "; ".join(notes)


def _subtitle_stems(path: Path) -> list[str]:
    """The audio stems a subtitle file can belong to: its own stem, and for yt-dlp's ``talk.en.vtt`` also
    ``talk``."""
    stems = [path.stem]
    base, dot, tag = path.stem.rpartition(".")
    if dot and base and _LANGUAGE_TAG.match(tag):
        stems.append(base)
    return stems


def _pairs_in_folder(folder: Path, names: list[str]) -> dict[str, tuple[Path, Path, str]]:
    """Pair the audio and subtitle files among ``names`` (files of ``folder``) by stem: ``talk.wav`` with
    ``talk.srt`` and yt-dlp's ``talk.en.vtt`` (a subtitle whose own stem names an audio file goes with that
    one only)."""
    audio: dict[str, list[Path]] = {}
    subtitle_files: list[Path] = []
    for name in names:
        if name.startswith("."):  # hidden files, e.g. macOS "._talk.wav" resource forks
            continue
        path = folder / name
        suffix = path.suffix.lower()
        if suffix in AUDIO_SUFFIXES:
            audio.setdefault(path.stem, []).append(path)
        elif suffix in SUBTITLE_SUFFIXES:
            subtitle_files.append(path)
    subtitles: dict[str, list[Path]] = {}
    for path in subtitle_files:
        stem = next((s for s in _subtitle_stems(path) if s in audio), None)
        if stem is not None:
            subtitles.setdefault(stem, []).append(path)
    return {stem: _pair(audio[stem], subtitles[stem]) for stem in sorted(audio) if stem in subtitles}


def find_pairs(root: Path) -> list[tuple[str, Path, Path, str]]:
    """(recording id, audio, subtitle, note) for every pair under ``root``, sorted by recording id.

    Folders reached through symbolic links are searched, each real folder once.
    """
    if root.is_file():
        suffix = root.suffix.lower()
        names = without_dataset_entries(root.parent, sorted(p.name for p in root.parent.iterdir() if p.is_file()))
        pairs = _pairs_in_folder(root.parent, names)
        if suffix in AUDIO_SUFFIXES:  # the audio file named is the one to use
            found = pairs.get(root.stem)
            return [(root.stem, root, found[1], _drop_audio_note(found[2]))] if found else []
        if suffix in SUBTITLE_SUFFIXES:  # likewise the subtitle file named
            stem = next((s for s in _subtitle_stems(root) if s in pairs), None)
            if stem is None:
                return []
            audio, _, _ = pairs[stem]
            return [(stem, audio, root, "")]
        return []
    found = []
    for folder, filenames in walk_files(root):
        for stem, (audio, subtitle, note) in _pairs_in_folder(folder, filenames).items():
            recording = PurePath(os.path.relpath(folder / stem, root)).as_posix()
            found.append((recording, audio, subtitle, note))
    return sorted(found, key=lambda item: item[0])


def _drop_audio_note(note: str) -> str:
    return "; ".join(part for part in note.split("; ") if not part.startswith("audio is "))


def _repaired_items(items: list[ParsedCue], repaired: frozenset[int], n_lines: int) -> list[bool]:
    """Which items hold text from a repaired line: the lines from an item's first line up to the next's
    (for JSON, without line numbers, every item whose text is not ASCII)."""
    if not repaired:
        return [False] * len(items)
    starts = [item.line for item in items]
    flags = []
    for i, item in enumerate(items):
        if item.line is None:
            text = item.text if isinstance(item, Cue) else item.raw
            flags.append(not text.isascii())
            continue
        following = [s for s in starts[i + 1:] if s is not None and s > item.line]
        last = (min(following) if following else n_lines + 1) - 1
        flags.append(any(item.line - 1 <= k <= last - 1 for k in repaired))
    return flags


def read_recording(recording_id: str, audio: Path, subtitle: Path, label: str | None = None) -> list[Segment]:
    """Read the segments of one recording from its subtitle file.

    Parameters
    ----------
    recording_id : str
        The recording id; segment ids are ``f"{recording_id}_{i}"`` with ``i`` the 0-based index of the
        entry in the parsed file (cue errors count too, so ids stay stable).
    audio, subtitle : Path
        The recording's audio file and its subtitle file (parser chosen by the subtitle's suffix).
    label : str, optional
        How ``detail`` names the subtitle file (default: its name).

    Returns
    -------
    list of Segment
        Start and end in seconds; the group is the recording id; a known speaker is in
        ``extra["speaker"]``. Cue errors fail as :data:`~weaklabel.segments.BAD_TRANSCRIPT_LINE`; text in a
        legacy encoding is decoded (:mod:`weaklabel.readers.text_bytes`) with a note in ``detail``, and
        only cues whose bytes still do not decode fail, as :data:`~weaklabel.segments.BAD_ENCODING`.
    """
    label = label or subtitle.name
    audio_path = resolved_path(audio)
    try:
        decoded = decode_transcript_bytes(subtitle.read_bytes())
    except OSError as exc:
        return [failed_segment(recording_id, f"{recording_id}_0", audio_path, BAD_TRANSCRIPT_LINE,
                               f"{label}: cannot read the file ({exc.strerror or exc})")]
    items = _PARSERS[subtitle.suffix.lower()](decoded.text)
    repaired = _repaired_items(items, decoded.repaired, len(decoded.lines))
    segments = []
    for i, item in enumerate(items):
        segment_id = f"{recording_id}_{i}"
        where = f"{label}, cue {i + 1}" + (f" (line {item.line})" if item.line else "")
        if isinstance(item, CueError):
            if has_undecodable(item.raw):
                seg = failed_segment(recording_id, segment_id, audio_path, BAD_ENCODING,
                                     f"{where}: bytes that are not UTF-8 nor {decoded.encoding} ({item.reason})",
                                     text=shown_with_replacements(item.raw))
            else:
                seg = failed_segment(recording_id, segment_id, audio_path, BAD_TRANSCRIPT_LINE,
                                     f"{where}: {item.reason}", text=item.raw or None)
        elif has_undecodable(item.text) or has_undecodable(item.speaker):
            seg = failed_segment(recording_id, segment_id, audio_path, BAD_ENCODING,
                                 f"{where}: text holds bytes that are neither UTF-8 nor {decoded.encoding}; "
                                 "re-save the file as UTF-8", text=shown_with_replacements(item.text))
        else:
            extra = {"speaker": item.speaker} if item.speaker else {}
            seg = make_segment(recording_id, segment_id, audio_path, item.start_s, item.end_s, item.text,
                               group_id=recording_id, extra=extra)
            notes = [seg.detail, item.note, repaired_note(decoded.encoding) if repaired[i] else ""]
            if any(notes):
                seg.detail = f"{where}: " + "; ".join(n for n in notes if n)
        segments.append(seg)
    return segments


def _bad_name_segment(recording: str, audio: Path, subtitle: Path) -> Segment:
    """The one failed segment of a recording whose file or folder names are not valid UTF-8."""
    shown = shown_with_replacements(recording)
    names = [shown_with_replacements(str(p)) for p in (audio, subtitle) if has_undecodable(str(p))]
    return failed_segment(shown, f"{shown}_0", None, BAD_ENCODING,
                          f"file name is not valid UTF-8 ({'; '.join(names)}): rename the file (and folder) "
                          "to UTF-8, e.g. with convmv -f cp1252 -t utf-8")


def read_subtitle_corpus(root: str | Path) -> list[Segment]:
    """Read every recording that has a sibling subtitle file.

    Parameters
    ----------
    root : path
        A folder, searched recursively (hidden files and folders skipped; symbolic links followed, without
        loops), or a single audio or subtitle file. An audio file (:data:`AUDIO_SUFFIXES`) pairs with the
        subtitle file of the same stem beside it, or yt-dlp's ``stem.LANG.ext``: ``.json`` (Whisper
        family), ``.srt``, ``.vtt``; the same stem is preferred, then English; when several exist, the
        first segment's ``detail`` says which one was used. Audio files without subtitles are skipped.

    Returns
    -------
    list of Segment
        Sorted by recording id (the audio path relative to ``root`` without its suffix, POSIX style; the
        file's stem when ``root`` is a file), then cue order; start and end in seconds; audio paths
        absolute. A recording whose file names are not valid UTF-8 is one
        :data:`~weaklabel.segments.BAD_ENCODING` segment. Empty when there is no audio+subtitle pair (the
        caller decides whether that is an error).

    Raises
    ------
    CorpusError
        When ``root`` does not exist.
    """
    root = Path(root)
    if not root.exists():
        raise CorpusError(f"corpus root {root} does not exist")
    segments: list[Segment] = []
    for recording, audio, subtitle, note in find_pairs(root):
        if has_undecodable(recording) or has_undecodable(str(audio)) or has_undecodable(str(subtitle)):
            segments.append(_bad_name_segment(recording, audio, subtitle))
            continue
        label = PurePath(os.path.relpath(subtitle, root.parent if root.is_file() else root)).as_posix()
        recording_segments = read_recording(recording, audio, subtitle, label)
        if note and recording_segments:
            first = recording_segments[0]
            first.detail = "; ".join(x for x in (first.detail, note) if x)
        segments.extend(recording_segments)
    return segments
