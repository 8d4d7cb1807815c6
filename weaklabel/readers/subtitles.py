"""Recordings with a sibling transcript: ``talk.wav`` + ``talk.srt`` / ``.vtt`` / ``.json`` (or yt-dlp's
``talk.en.vtt``).

The parsers (:func:`parse_srt`, :func:`parse_vtt`, :func:`parse_whisper_json`) are pure: they take the
file's text and return, in file order, one :class:`Cue` per cue and one :class:`CueError` per block that
does not parse; they never raise on bad input. :func:`read_subtitle_corpus` pairs audio files with their
transcripts and turns cues into :class:`~weaklabel.segments.Segment` objects, validating times and text
with :func:`~weaklabel.segments.make_segment` like every reader.

Shapes read, as the tools write them:

- SRT and WebVTT from subtitle editors, YouTube and yt-dlp (``--write-subs``, ``--write-auto-subs``).
  YouTube's automatic captions *roll*: each cue shows the previous line again above the new one (with
  word timestamps ``<00:00:07.160><c> hello</c>``), a whitespace-only line stands for an empty row, and a
  10 ms cue repeats the line just finished. Such files are detected (:func:`unroll_captions`) and read as
  sentences, each with the time its first word starts and its last word ends.
- JSON: openai-whisper / faster-whisper / whisperX (``segments``), whisper.cpp ``-oj`` (``transcription``
  with ``offsets`` in ms), Hugging Face ``transformers`` ASR pipeline / insanely-fast-whisper (``chunks``
  with ``timestamp: [start, end]``, or ``speakers`` when diarised; word-level chunks are joined into
  sentences).

Times in cues are seconds from the start of the recording. Cue text is cleaned of markup (tags such as
``<i>``, ``<font ...>``, ``<c.x>``, VTT timestamps, ASS overrides like ``{\\an8}``), HTML entities
(``&amp;``) decoded, its lines joined with a space and runs of whitespace collapsed.
"""
from __future__ import annotations

import html
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePath

from foundation.paths import resolved_path
from weaklabel.errors import CorpusError
from weaklabel.readers.text_bytes import (decode_transcript_bytes, has_undecodable, repaired_note,
                                          shown_with_replacements)
from weaklabel.readers.times import CLOCK, clock_seconds, parse_time
from weaklabel.readers.walk import walk_files, without_dataset_entries
from weaklabel.segments import (BAD_ENCODING, BAD_TRANSCRIPT_LINE, Segment, failed_segment, make_segment,
                                seconds_value)

#: Audio files a transcript pairs with, in preference order for one stem: libsndfile's formats, then
#: containers decoded through FFmpeg (:mod:`weaklabel.containers`), video last.
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".opus", ".aiff", ".aif", ".m4a", ".aac", ".wma", ".mka",
                  ".webm", ".mp4", ".m4v", ".mov", ".mkv")
SUBTITLE_SUFFIXES = (".json", ".srt", ".vtt")  # preference order when several sit beside one recording
#: The language tag yt-dlp puts between the stem and the suffix: ``talk.en.vtt``, ``talk.en-US.srt``,
#: ``talk.en-orig.vtt``, ``talk.zh-Hans.vtt``.
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$", re.ASCII)


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
        The speaker when the file names one (a VTT ``<v Name>`` voice tag, a whisperX ``speaker``); several
        voices in one cue are listed, joined by ``", "``.
    line : int or None
        1-based line of the file where the cue's block starts (None for JSON).
    note : str
        What the parser did that the segment's ``detail`` should say (several voices, merged cues).
    """

    start_s: float
    end_s: float
    text: str
    speaker: str | None = None
    line: int | None = None
    note: str = ""


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
_TIME_LINE = re.compile(rf"^\s*{CLOCK}\s*-->\s*{CLOCK}(?:\s.*)?$", re.ASCII)
_INDEX_LINE = re.compile(r"^\s*\d+\s*$", re.ASCII)


def _parse_time_line(line: str) -> tuple[float, float] | None:
    """``start --> end [settings]`` as (start_s, end_s); None when it does not parse."""
    m = _TIME_LINE.match(line)
    if not m:
        return None
    g = m.groups()
    return clock_seconds(*g[:4]), clock_seconds(*g[4:])


def _lines(text: str) -> list[str]:
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _blocks(lines: list[str], blank_is_empty: bool = False) -> list[tuple[int, list[str]]]:
    """Split lines into blocks separated by blank lines: (1-based first line number, lines).

    ``blank_is_empty``: only an empty line separates (WebVTT, where a whitespace-only line is cue text, as
    in YouTube's captions); otherwise a whitespace-only line separates too (SRT as editors write it).
    """
    blocks, current, first = [], [], 0
    for number, line in enumerate(lines, start=1):
        if (line if blank_is_empty else line.strip()):
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
    return _collapse(html.unescape(_SRT_TAG.sub("", _ASS_OVERRIDE.sub("", text))))


def parse_srt(text: str) -> list[ParsedCue]:
    """Parse SubRip text.

    Parameters
    ----------
    text : str
        The whole file. Blocks are separated by blank lines; each is an optional numeric index, a time
        line ``HH:MM:SS,mmm --> HH:MM:SS,mmm`` (``.`` accepted as the decimal separator, hours optional,
        anything after the end time ignored) and text lines. Tags are removed and HTML entities decoded.

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
_VTT_TIMESTAMP_TAG = re.compile(rf"<{CLOCK}>", re.ASCII)


def _vtt_clean(text: str) -> str:
    return _collapse(html.unescape(_VTT_TAG.sub("", _VTT_RUBY_TEXT.sub("", text))))


def _vtt_text(lines: list[str]) -> tuple[str, str | None, str]:
    """(clean text, speaker(s), note) of a cue's text lines."""
    text = " ".join(line.strip() for line in lines)
    voices = []
    for match in _VTT_VOICE.finditer(text):
        name = _collapse(html.unescape(match.group(1)))
        if name and name not in voices:
            voices.append(name)
    note = f"{len(voices)} voices in one cue ({', '.join(voices)}); speaker lists them all" if len(voices) > 1 else ""
    return _vtt_clean(text), (", ".join(voices) or None), note


@dataclass(frozen=True)
class _RawCue:
    """A VTT cue before its text is cleaned: times (s), its text lines as written, first line number."""

    start_s: float
    end_s: float
    lines: list[str]
    line: int


def parse_vtt(text: str) -> list[ParsedCue]:
    """Parse WebVTT text.

    Parameters
    ----------
    text : str
        The whole file: a ``WEBVTT`` header block (parsed leniently when absent), ``NOTE``, ``STYLE`` and
        ``REGION`` blocks (skipped), and cues of an optional identifier line, a time line
        ``[HH:]MM:SS.mmm --> [HH:]MM:SS.mmm`` with optional cue settings (ignored) and text lines. Only an
        empty line ends a cue: a whitespace-only line is part of its text.

    Returns
    -------
    list of Cue or CueError
        In file order. ``<v Speaker Name>`` voice tags give the cue's speaker; other tags (``<c.x>``,
        ``<i>``, ``<00:00:01.000>`` timestamps, ruby annotations) are removed and HTML entities
        (``&amp;``, ``&lt;``, ``&gt;``, ``&nbsp;``...) unescaped. A block whose time line is missing or does
        not parse is a :class:`CueError`. Rolling captions (YouTube's automatic captions) come back as
        sentences (:func:`unroll_captions`).
    """
    items: list[_RawCue | CueError] = []
    for k, (first, block) in enumerate(_blocks(_lines(text), blank_is_empty=True)):
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
            if not any(line.strip() for line in lines):
                continue  # whitespace-only leftovers between cues
            while not lines[0].strip():  # a whitespace-only line right after a blank one
                line_no, lines = line_no + 1, lines[1:]
            timed = _timed_block(line_no, lines)
            items.append(timed if isinstance(timed, CueError) else _RawCue(timed[0], timed[1], timed[2], line_no))
    cues = [item for item in items if isinstance(item, _RawCue)]
    if _rolls(cues):
        out: list[ParsedCue] = [item for item in items if isinstance(item, CueError)]
        out.extend(unroll_captions(cues))
        return sorted(out, key=lambda item: item.line or 0)
    result: list[ParsedCue] = []
    for item in items:
        if isinstance(item, CueError):
            result.append(item)
        else:
            cue_text, speaker, note = _vtt_text(item.lines)
            result.append(Cue(item.start_s, item.end_s, cue_text, speaker, item.line, note))
    return result


# ----------------------------------------------------------------------------------------- rolling captions
#: A sentence of unpunctuated captions ends at the caption line that takes it past this many seconds.
MAX_SENTENCE_S = 10.0
#: A pause this long between two words ends a sentence.
PAUSE_S = 1.0
_SENTENCE_END = re.compile(r"[.!?\u2026\u3002\uff01\uff1f][\"'\u201d\u2019)\]]*$")


def _clean_lines(lines: list[str]) -> list[str]:
    return [clean for clean in (_vtt_clean(line) for line in lines) if clean]


def _rolls(cues: list[_RawCue]) -> bool:
    """True when the cues roll: a cue often starts with the line the previous cue ended with."""
    repeats, previous = 0, []
    for cue in cues:
        current = _clean_lines(cue.lines)
        if current and previous and current[0] == previous[-1]:
            repeats += 1
        previous = current
    return repeats >= 2 and repeats >= 0.25 * (len(cues) - 1)


@dataclass
class _Word:
    text: str
    start_s: float | None
    end_s: float | None
    line: int  # the file line of the cue the word was new in
    line_end: bool = False  # the last word of a caption line


def _timed_words(raw: str, start_s: float) -> list[_Word]:
    """The words of one caption line with the times its ``<hh:mm:ss.mmm>`` tags give (None when absent);
    the first word starts at ``start_s``."""
    words: list[_Word] = []
    pieces = _VTT_TIMESTAMP_TAG.split(raw)
    # split() with 4 groups gives text, h, m, s, frac, text, ...
    times: list[float | None] = [start_s]
    texts = [pieces[0]]
    for i in range(1, len(pieces), 5):
        times.append(clock_seconds(*pieces[i:i + 4]))
        texts.append(pieces[i + 4])
    for t, piece in zip(times, texts):
        for j, word in enumerate(_vtt_clean(piece).split()):
            words.append(_Word(word, t if j == 0 else None, None, 0))
    return words


def unroll_captions(cues: list[_RawCue]) -> list[Cue]:
    """Turn rolling captions (YouTube's automatic captions) into sentences.

    Each cue shows the lines it repeats from the previous cue above its new line(s); only the new lines
    are read (a cue that only repeats, like YouTube's 10 ms cues, adds nothing). Words take the time of
    their ``<hh:mm:ss.mmm>`` tag, the first word of a cue its start, untimed words a time interpolated
    between their neighbours; a word ends where the next begins, the last of a caption line where its cue
    ends. Sentences end at ``. ! ?``, at a pause of :data:`PAUSE_S`, and, in captions without such
    punctuation, at the end of every caption line (or in punctuated captions at the first line end past
    :data:`MAX_SENTENCE_S`).

    Returns
    -------
    list of Cue
        One per sentence: start of its first word, end of its last word (seconds), text joined by spaces,
        ``line`` of the cue its first word was new in, and a ``note`` naming the cues merged.
    """
    words: list[_Word] = []
    previous: list[str] = []
    for cue in cues:
        raw = [line for line in cue.lines if _vtt_clean(line)]
        clean = [_vtt_clean(line) for line in raw]
        shared = max((k for k in range(min(len(previous), len(clean)) + 1) if clean[:k] == previous[len(previous) - k:]),
                     default=0)
        new_words: list[_Word] = []
        for line in raw[shared:]:
            line_words = _timed_words(line, cue.start_s) if not new_words else _timed_words(line, None)
            if line_words:
                line_words[-1].line_end = True
                line_words[-1].end_s = cue.end_s
            new_words.extend(line_words)
        _interpolate(new_words, cue.start_s, cue.end_s)
        for word in new_words:
            word.line = cue.line
        words.extend(new_words)
        previous = clean
    for i, word in enumerate(words):  # a word ends where the next begins (a line's last: its cue's end)
        following = words[i + 1] if i + 1 < len(words) else None
        if word.end_s is None:
            word.end_s = following.start_s if following is not None else word.start_s
        elif following is not None and word.start_s < following.start_s < word.end_s:
            word.end_s = following.start_s
    punctuated = any(_SENTENCE_END.search(w.text) for w in words)
    sentences: list[Cue] = []
    current: list[_Word] = []
    for i, word in enumerate(words):
        current.append(word)
        following = words[i + 1] if i + 1 < len(words) else None
        pause = following is not None and following.start_s - word.end_s >= PAUSE_S
        if (following is None or pause or _SENTENCE_END.search(word.text)
                or (word.line_end and (not punctuated or word.end_s - current[0].start_s >= MAX_SENTENCE_S))):
            lines = sorted({w.line for w in current})
            where = f"line {lines[0]}" if len(lines) == 1 else f"lines {lines[0]}-{lines[-1]}"
            sentences.append(Cue(current[0].start_s, word.end_s, " ".join(w.text for w in current), None,
                                 current[0].line, f"rolling captions joined into a sentence (cues at {where})"))
            current = []
    return sentences


def _interpolate(words: list[_Word], start_s: float, end_s: float) -> None:
    """Give untimed words times spread evenly between their timed neighbours (the cue's end last)."""
    if not words:
        return
    if words[0].start_s is None:
        words[0].start_s = start_s
    known = [i for i, w in enumerate(words) if w.start_s is not None] + [len(words)]
    for a, b in zip(known, known[1:]):
        t0 = words[a].start_s
        t1 = words[b].start_s if b < len(words) else end_s
        for k in range(a + 1, b):
            words[k].start_s = t0 + (t1 - t0) * (k - a) / (b - a)


# ----------------------------------------------------------------------------------------- JSON transcripts
def _json_time(value: object) -> float | None:
    """A JSON time as seconds (``inf`` for an integer no float holds, rejected later as not finite); None when it
    is not a number (booleans included) nor a time string."""
    return seconds_value(parse_time(value.strip()) if isinstance(value, str) else value)


_JSON_LISTS = (("segments", "openai-whisper, faster-whisper, whisperX"), ("transcription", "whisper.cpp -oj"),
               ("speakers", "insanely-fast-whisper, diarised"), ("chunks", "Hugging Face transformers pipeline, "
                                                                           "insanely-fast-whisper"))


def _item_times(seg: dict) -> tuple[object, object] | str:
    """The (start, end) values of one JSON transcript item, or what is missing."""
    if "start" in seg or "end" in seg:
        missing = [f for f in ("start", "end") if f not in seg]
        return f"segment lacks {', '.join(missing)}" if missing else (seg["start"], seg["end"])
    if "timestamp" in seg:  # transformers / insanely-fast-whisper: [start, end]
        stamp = seg["timestamp"]
        if not isinstance(stamp, (list, tuple)) or len(stamp) != 2:
            return f"'timestamp' is not [start, end] ({stamp!r})"
        if stamp[1] is None:
            return "chunk has no end time (the pipeline leaves the last chunk open; its end is unknown)"
        return stamp[0], stamp[1]
    if isinstance(seg.get("offsets"), dict):  # whisper.cpp: milliseconds
        offsets = seg["offsets"]
        start, end = _json_time(offsets.get("from")), _json_time(offsets.get("to"))
        if start is not None and end is not None:
            return start / 1000.0, end / 1000.0
    if isinstance(seg.get("timestamps"), dict):  # whisper.cpp: "00:00:01,000"
        return seg["timestamps"].get("from"), seg["timestamps"].get("to")
    return "segment lacks start, end"


def parse_whisper_json(text: str) -> list[ParsedCue]:
    """Parse the JSON that Whisper-family transcribers write.

    Parameters
    ----------
    text : str
        One of: an object with ``segments`` (openai-whisper, faster-whisper, whisperX: ``start``, ``end``
        in seconds, ``text``, optional ``speaker``); an object with ``transcription`` (whisper.cpp ``-oj``:
        ``offsets.from``/``to`` in ms, or ``timestamps`` as ``HH:MM:SS,mmm``); an object with ``chunks``
        or ``speakers`` (Hugging Face ``transformers`` ASR pipeline, insanely-fast-whisper:
        ``timestamp: [start, end]`` in seconds); or a bare list of such items.

    Returns
    -------
    list of Cue or CueError
        One entry per item, in order (``line`` is None); word-level chunks (one word each) are joined into
        sentences like rolling captions. An item that is not an object, lacks a field or has a non-numeric
        time is a :class:`CueError`; text that is not JSON, or JSON of another shape, gives a single
        :class:`CueError` for the file.
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
        segments = next((data[key] for key, _ in _JSON_LISTS if isinstance(data.get(key), list) and data[key]),
                        None)
        if segments is None:
            segments = next((data[key] for key, _ in _JSON_LISTS if isinstance(data.get(key), list)), None)
        if segments is None:
            known = "; ".join(f"'{key}' ({tools})" for key, tools in _JSON_LISTS)
            found = ", ".join(repr(k) for k in list(data)[:8]) or "none"
            return [CueError(f"JSON object has none of the transcript lists read here: {known}; found keys {found}")]
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
        times = _item_times(seg)
        if isinstance(times, str) or "text" not in seg:
            if not isinstance(times, str):
                reason = "segment lacks text"
            else:
                reason = times + (", text" if "text" not in seg and times.startswith("segment lacks") else "")
            out.append(CueError(reason, None, raw))
            continue
        start, end = _json_time(times[0]), _json_time(times[1])
        if start is None or end is None:
            out.append(CueError(f"start/end not a number (start={times[0]!r}, end={times[1]!r})", None, raw))
            continue
        cue_text = seg["text"]
        if cue_text is not None and not isinstance(cue_text, str):
            out.append(CueError(f"text is not a string ({cue_text!r})", None, ""))
            continue
        speaker = seg.get("speaker")
        speaker = (_collapse(speaker) or None) if isinstance(speaker, str) else None
        out.append(Cue(start, end, _collapse(cue_text or ""), speaker, None))
    return _join_word_chunks(out)


def _join_word_chunks(items: list[ParsedCue]) -> list[ParsedCue]:
    """Word-level chunks (``return_timestamps="word"``: at least 5 cues, nearly all one word) as sentences."""
    cues = [c for c in items if isinstance(c, Cue)]
    if len(cues) < 5 or sum(len(c.text.split()) <= 1 for c in cues) < 0.9 * len(cues):
        return items
    punctuated = any(_SENTENCE_END.search(c.text) for c in cues)
    out: list[ParsedCue] = [c for c in items if isinstance(c, CueError)]
    current: list[Cue] = []
    for i, cue in enumerate(cues):
        current.append(cue)
        following = cues[i + 1] if i + 1 < len(cues) else None
        length = cue.end_s - current[0].start_s
        if (following is None or following.start_s - cue.end_s >= PAUSE_S or _SENTENCE_END.search(cue.text)
                or (length >= MAX_SENTENCE_S and (not punctuated or length >= 2 * MAX_SENTENCE_S))):
            speakers = list(dict.fromkeys(c.speaker for c in current if c.speaker))
            out.append(Cue(current[0].start_s, cue.end_s, " ".join(c.text for c in current if c.text),
                           ", ".join(speakers) or None, None, f"{len(current)} word chunks joined into a sentence"))
            current = []
    return out


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


def _find_pairs(root: Path) -> list[tuple[str, Path, Path, str]]:
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
    for recording, audio, subtitle, note in _find_pairs(root):
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
