"""Recordings with a sibling subtitle file: ``talk.wav`` + ``talk.srt`` (or ``.vtt``, or Whisper ``.json``).

The parsers (:func:`parse_srt`, :func:`parse_vtt`, :func:`parse_whisper_json`) are pure: they take the
file's text and return, in file order, one :class:`Cue` per cue and one :class:`CueError` per block that
does not parse; they never raise on bad input. :func:`read_subtitle_corpus` pairs audio files with their
subtitles and turns cues into :class:`~weaklabel.segments.Segment` objects, validating times and text
with :func:`~weaklabel.segments.make_segment` like every reader.

Times in cues are seconds from the start of the recording. Cue text is cleaned of markup (tags such as
``<i>``, ``<font ...>``, ``<c.x>``, VTT timestamps, ASS overrides like ``{\\an8}``), its lines joined with a
space and runs of whitespace collapsed.
"""
from __future__ import annotations

import html
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePath

from weaklabel.errors import CorpusError
from weaklabel.readers.text_bytes import decode_transcript_bytes, has_undecodable, shown_with_replacements
from weaklabel.segments import BAD_ENCODING, BAD_TRANSCRIPT_LINE, Segment, failed_segment, make_segment

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".opus", ".m4a")  # preference order for one stem
SUBTITLE_SUFFIXES = (".json", ".srt", ".vtt")  # preference order when several sit beside one recording


@dataclass(frozen=True)
class Cue:
    """One timed subtitle cue.

    Attributes
    ----------
    start_s, end_s : float
        Start and end in seconds from the start of the recording (not validated here: a start after the
        end, or a non-finite Whisper time, is left to :func:`~weaklabel.segments.make_segment`).
    text : str
        The cue text with markup removed, lines joined by one space; may be empty.
    speaker : str or None
        The speaker when the file names one (a VTT ``<v Name>`` voice tag, a whisperX ``speaker``).
    line : int or None
        1-based line of the file where the cue's block starts (None for Whisper JSON).
    """

    start_s: float
    end_s: float
    text: str
    speaker: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class CueError:
    """A block of a subtitle file that could not be read as a cue.

    Attributes
    ----------
    reason : str
        What is wrong, in words (e.g. ``time line does not parse: '00:01 -> 00:02'``).
    line : int or None
        1-based line of the file where the block starts, when known.
    raw : str
        The offending text as read, for diagnostics (and for telling undecodable bytes apart).
    """

    reason: str
    line: int | None = None
    raw: str = ""


ParsedCue = Cue | CueError

# ----------------------------------------------------------------------------------------- time lines
_TIMESTAMP = r"(?:(\d+):)?([0-5]?\d):([0-5]?\d)(?:[.,](\d+))?"  # [HH:]MM:SS[.mmm] (',' too, as in SRT)
_TIME_LINE = re.compile(rf"^\s*{_TIMESTAMP}\s*-->\s*{_TIMESTAMP}(?:\s.*)?$", re.ASCII)
_INDEX_LINE = re.compile(r"^\s*\d+\s*$", re.ASCII)


def _seconds(hours: str | None, minutes: str, seconds: str, fraction: str | None) -> float:
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + (float(f"0.{fraction}") if fraction else 0.0)


def _parse_time_line(line: str) -> tuple[float, float] | None:
    """``start --> end [settings]`` as (start_s, end_s); None when it does not parse."""
    m = _TIME_LINE.match(line)
    if not m:
        return None
    g = m.groups()
    return _seconds(*g[:4]), _seconds(*g[4:])


def _lines(text: str) -> list[str]:
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _blocks(lines: list[str]) -> list[tuple[int, list[str]]]:
    """Split lines into blocks separated by blank lines: (1-based first line number, lines)."""
    blocks, current, first = [], [], 0
    for number, line in enumerate(lines, start=1):
        if line.strip():
            if not current:
                first = number
            current.append(line)
        elif current:
            blocks.append((first, current))
            current = []
    if current:
        blocks.append((first, current))
    return blocks


def _split_cues(first: int, lines: list[str]) -> list[tuple[int, list[str]]]:
    """Split a block at every further valid time line, for files that leave out the blank line between
    cues; a numeric line just before such a time line goes with the new cue as its index."""
    parts, start, time_at = [], 0, None
    for j, line in enumerate(lines):
        if not _TIME_LINE.match(line):
            continue
        if time_at is None and j - start <= 1:
            time_at = j
            continue
        floor = time_at + 1 if time_at is not None else start + 1
        new_start = j - 1 if j - 1 >= floor and _INDEX_LINE.match(lines[j - 1]) else j
        parts.append((first + start, lines[start:new_start]))
        start, time_at = new_start, j
    parts.append((first + start, lines[start:]))
    return parts


def _timed_block(first: int, lines: list[str]) -> tuple[float, float, list[str]] | CueError:
    """The times and text lines of a cue block (``[identifier]``, time line, text...)."""
    raw = "\n".join(lines)
    if "-->" in lines[0]:
        at = 0
    elif len(lines) > 1 and "-->" in lines[1]:
        at = 1
    else:
        return CueError("no time line ('start --> end') in block", first, raw)
    times = _parse_time_line(lines[at])
    if times is None:
        return CueError(f"time line does not parse: {lines[at].strip()!r}", first, raw)
    return times[0], times[1], lines[at + 1:]


def _collapse(text: str) -> str:
    return " ".join(text.split())


# ----------------------------------------------------------------------------------------- SRT
_SRT_TAG = re.compile(r"</?[A-Za-z][^<>]*>")  # <i>, </b>, <font color="#fff">
_ASS_OVERRIDE = re.compile(r"\{\\[^{}]*\}")  # {\an8}, {\i1}


def _srt_text(lines: list[str]) -> str:
    text = " ".join(line.strip() for line in lines)
    return _collapse(_SRT_TAG.sub("", _ASS_OVERRIDE.sub("", text)))


def parse_srt(text: str) -> list[ParsedCue]:
    """Parse SubRip text.

    Parameters
    ----------
    text : str
        The whole file. Blocks are separated by blank lines; each is an optional numeric index, a time
        line ``HH:MM:SS,mmm --> HH:MM:SS,mmm`` (``.`` accepted as the decimal separator, hours optional,
        anything after the end time ignored) and text lines.

    Returns
    -------
    list of Cue or CueError
        In file order; a block whose time line is missing or does not parse is a :class:`CueError`.
    """
    out: list[ParsedCue] = []
    for first, block in _blocks(_lines(text)):
        for line_no, lines in _split_cues(first, block):
            timed = _timed_block(line_no, lines)
            if isinstance(timed, CueError):
                out.append(timed)
            else:
                out.append(Cue(timed[0], timed[1], _srt_text(timed[2]), None, line_no))
    return out


# ----------------------------------------------------------------------------------------- WebVTT
_VTT_SKIPPED_BLOCKS = re.compile(r"^(NOTE|STYLE|REGION)(\s|$)")
_VTT_VOICE = re.compile(r"<v(?:\.[^\s>]*)?[ \t]+([^>]*)>")
_VTT_RUBY_TEXT = re.compile(r"<rt(?:\.[^>]*)?>.*?</rt>", re.S)
_VTT_TAG = re.compile(r"<[^>]*>")  # WebVTT escapes a literal '<' as &lt;, so any <...> is markup


def _vtt_text(lines: list[str]) -> tuple[str, str | None]:
    text = " ".join(line.strip() for line in lines)
    voice = _VTT_VOICE.search(text)
    speaker = (_collapse(html.unescape(voice.group(1))) or None) if voice else None
    text = _VTT_TAG.sub("", _VTT_RUBY_TEXT.sub("", text))
    return _collapse(html.unescape(text)), speaker


def parse_vtt(text: str) -> list[ParsedCue]:
    """Parse WebVTT text.

    Parameters
    ----------
    text : str
        The whole file: a ``WEBVTT`` header block (parsed leniently when absent), ``NOTE``, ``STYLE`` and
        ``REGION`` blocks (skipped), and cues of an optional identifier line, a time line
        ``[HH:]MM:SS.mmm --> [HH:]MM:SS.mmm`` with optional cue settings (ignored) and text lines.

    Returns
    -------
    list of Cue or CueError
        In file order. A ``<v Speaker Name>`` voice tag gives the cue's speaker; other tags (``<c.x>``,
        ``<i>``, ``<00:00:01.000>`` timestamps, ruby annotations) are removed and HTML entities
        (``&amp;``, ``&lt;``, ``&gt;``, ``&nbsp;``...) unescaped. A block whose time line is missing or does
        not parse is a :class:`CueError`.
    """
    out: list[ParsedCue] = []
    for k, (first, block) in enumerate(_blocks(_lines(text))):
        if k == 0 and block[0].lstrip().startswith("WEBVTT"):
            # the header and its metadata lines ("Kind: captions"); a cue glued to it still counts
            parts = _split_cues(first + 1, block[1:]) if len(block) > 1 else []
            if parts and not any(_TIME_LINE.match(line) for line in parts[0][1]):
                parts = parts[1:]
        elif _VTT_SKIPPED_BLOCKS.match(block[0]):
            continue
        else:
            parts = _split_cues(first, block)
        for line_no, lines in parts:
            timed = _timed_block(line_no, lines)
            if isinstance(timed, CueError):
                out.append(timed)
            else:
                cue_text, speaker = _vtt_text(timed[2])
                out.append(Cue(timed[0], timed[1], cue_text, speaker, line_no))
    return out


# ----------------------------------------------------------------------------------------- Whisper JSON
def _json_time(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def parse_whisper_json(text: str) -> list[ParsedCue]:
    """Parse the JSON that Whisper (or whisperX) writes.

    Parameters
    ----------
    text : str
        An object with a ``segments`` list, or a bare list of segments; each segment an object with
        ``start`` and ``end`` (seconds) and ``text``, and ``speaker`` when diarised (whisperX).

    Returns
    -------
    list of Cue or CueError
        One entry per segment, in order (``line`` is None). A segment that is not an object, lacks a field
        or has a non-numeric time is a :class:`CueError`; text that is not JSON, or JSON of another shape,
        gives a single :class:`CueError` for the file.
    """
    text = text.lstrip("\ufeff")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        line = text.split("\n")[exc.lineno - 1] if text else ""
        return [CueError(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})", exc.lineno, line)]
    except (ValueError, RecursionError) as exc:
        return [CueError(f"not valid JSON ({exc})", None, "")]
    if isinstance(data, dict):
        segments = data.get("segments")
        if not isinstance(segments, list):
            return [CueError("JSON object has no 'segments' list")]
    elif isinstance(data, list):
        segments = data
    else:
        return [CueError(f"expected an object with 'segments' or a list of segments, found {type(data).__name__}")]

    out: list[ParsedCue] = []
    for seg in segments:
        if not isinstance(seg, dict):
            out.append(CueError("segment is not an object", None, repr(seg)))
            continue
        raw = seg.get("text") if isinstance(seg.get("text"), str) else ""
        missing = [f for f in ("start", "end", "text") if f not in seg]
        if missing:
            out.append(CueError(f"segment lacks {', '.join(missing)}", None, raw))
            continue
        start, end = _json_time(seg["start"]), _json_time(seg["end"])
        if start is None or end is None:
            out.append(CueError("start/end not a number "
                                f"(start={seg['start']!r}, end={seg['end']!r})", None, raw))
            continue
        cue_text = seg["text"]
        if cue_text is not None and not isinstance(cue_text, str):
            out.append(CueError(f"text is not a string ({cue_text!r})", None, ""))
            continue
        speaker = seg.get("speaker")
        speaker = (_collapse(speaker) or None) if isinstance(speaker, str) else None
        out.append(Cue(start, end, _collapse(cue_text or ""), speaker, None))
    return out


# ----------------------------------------------------------------------------------------- corpus
_PARSERS = {".srt": parse_srt, ".vtt": parse_vtt, ".json": parse_whisper_json}


def _by_preference(paths: list[Path], suffixes: tuple[str, ...]) -> list[Path]:
    return sorted(paths, key=lambda p: (suffixes.index(p.suffix.lower()), p.name))


def _pair(audio: list[Path], subtitles: list[Path]) -> tuple[Path, Path, str]:
    """The audio and subtitle file to use for one stem, and a note naming what was passed over."""
    audio, subtitles = _by_preference(audio, AUDIO_SUFFIXES), _by_preference(subtitles, SUBTITLE_SUFFIXES)
    notes = []
    if len(subtitles) > 1:
        notes.append(f"subtitles read from {subtitles[0].name}; ignored {', '.join(p.name for p in subtitles[1:])}")
    if len(audio) > 1:
        notes.append(f"audio is {audio[0].name}; ignored {', '.join(p.name for p in audio[1:])}")
    return audio[0], subtitles[0], "; ".join(notes)


def _pairs_in_folder(folder: Path, names: list[str]) -> dict[str, tuple[Path, Path, str]]:
    """Pair the audio and subtitle files among ``names`` (files of ``folder``) by stem."""
    audio: dict[str, list[Path]] = {}
    subtitles: dict[str, list[Path]] = {}
    for name in names:
        if name.startswith("."):  # hidden files, e.g. macOS "._talk.wav" resource forks
            continue
        path = folder / name
        suffix = path.suffix.lower()
        if suffix in AUDIO_SUFFIXES:
            audio.setdefault(path.stem, []).append(path)
        elif suffix in SUBTITLE_SUFFIXES:
            subtitles.setdefault(path.stem, []).append(path)
    return {stem: _pair(audio[stem], subtitles[stem]) for stem in sorted(audio) if stem in subtitles}


def _find_pairs(root: Path) -> list[tuple[str, Path, Path, str]]:
    """(recording id, audio, subtitle, note) for every pair under ``root``, sorted by recording id."""
    if root.is_file():
        suffix = root.suffix.lower()
        siblings = [p for p in root.parent.iterdir()
                    if p.stem == root.stem and p.is_file() and not p.name.startswith(".")]
        if suffix in AUDIO_SUFFIXES:  # the audio file named is the one to use
            audio, subtitles = [root], [p for p in siblings if p.suffix.lower() in SUBTITLE_SUFFIXES]
        elif suffix in SUBTITLE_SUFFIXES:  # likewise the subtitle file named
            audio, subtitles = [p for p in siblings if p.suffix.lower() in AUDIO_SUFFIXES], [root]
        else:
            return []
        return [(root.stem, *_pair(audio, subtitles))] if audio and subtitles else []
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        folder = Path(dirpath)
        files = [f for f in filenames if os.path.isfile(os.path.join(dirpath, f))]
        for stem, (audio, subtitle, note) in _pairs_in_folder(folder, sorted(files)).items():
            recording = PurePath(os.path.relpath(folder / stem, root)).as_posix()
            found.append((recording, audio, subtitle, note))
    return sorted(found, key=lambda item: item[0])


def _absolute(path: Path) -> str:
    try:
        return str(path.resolve())
    except (OSError, RuntimeError):
        return os.path.abspath(path)


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
        ``extra["speaker"]``. Cue errors fail as :data:`~weaklabel.segments.BAD_TRANSCRIPT_LINE`, cues with
        bytes that are not valid UTF-8 as :data:`~weaklabel.segments.BAD_ENCODING`.
    """
    label = label or subtitle.name
    audio_path = _absolute(audio)
    try:
        text = decode_transcript_bytes(subtitle.read_bytes())
    except OSError as exc:
        return [failed_segment(recording_id, f"{recording_id}_0", audio_path, BAD_TRANSCRIPT_LINE,
                               f"{label}: cannot read the file ({exc.strerror or exc})")]
    segments = []
    for i, item in enumerate(_PARSERS[subtitle.suffix.lower()](text)):
        segment_id = f"{recording_id}_{i}"
        where = f"{label}, cue {i + 1}" + (f" (line {item.line})" if item.line else "")
        if isinstance(item, CueError):
            if has_undecodable(item.raw):
                seg = failed_segment(recording_id, segment_id, audio_path, BAD_ENCODING,
                                     f"{where}: not valid UTF-8 ({item.reason})", text=shown_with_replacements(item.raw))
            else:
                seg = failed_segment(recording_id, segment_id, audio_path, BAD_TRANSCRIPT_LINE,
                                     f"{where}: {item.reason}", text=item.raw or None)
        elif has_undecodable(item.text) or has_undecodable(item.speaker):
            seg = failed_segment(recording_id, segment_id, audio_path, BAD_ENCODING,
                                 f"{where}: text holds bytes that are not valid UTF-8", text=shown_with_replacements(item.text))
        else:
            extra = {"speaker": item.speaker} if item.speaker else {}
            seg = make_segment(recording_id, segment_id, audio_path, item.start_s, item.end_s, item.text,
                               group_id=recording_id, extra=extra)
            if seg.detail:
                seg.detail = f"{where}: {seg.detail}"
        segments.append(seg)
    return segments


def read_subtitle_corpus(root: str | Path) -> list[Segment]:
    """Read every recording that has a sibling subtitle file.

    Parameters
    ----------
    root : path
        A folder, searched recursively (hidden files and folders skipped), or a single audio file. An audio
        file (``.wav .flac .ogg .mp3 .opus .m4a``) pairs with the subtitle file of the same stem beside it:
        ``.json`` (Whisper), else ``.srt``, else ``.vtt``; when several exist, the first segment's
        ``detail`` says which one was used. Audio files without subtitles are skipped.

    Returns
    -------
    list of Segment
        Sorted by recording id (the audio path relative to ``root`` without its suffix, POSIX style; the
        file's stem when ``root`` is a file), then cue order; start and end in seconds; audio paths
        absolute. Empty when there is no audio+subtitle pair (the caller decides whether that is an error).

    Raises
    ------
    CorpusError
        When ``root`` does not exist.
    """
    root = Path(root)
    if not root.exists():
        raise CorpusError(f"corpus root {root} does not exist")
    segments: list[Segment] = []
    for recording, audio, subtitle, note in _find_pairs(root):
        label = PurePath(os.path.relpath(subtitle, root.parent if root.is_file() else root)).as_posix()
        recording_segments = read_recording(recording, audio, subtitle, label)
        if note and recording_segments:
            first = recording_segments[0]
            first.detail = "; ".join(x for x in (first.detail, note) if x)
        segments.extend(recording_segments)
    return segments
