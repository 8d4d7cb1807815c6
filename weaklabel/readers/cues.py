"""Subtitle cues and the SRT and WebVTT parsers, YouTube's rolling captions read as sentences.

The parsers (:func:`parse_srt`, :func:`parse_vtt`, and :func:`weaklabel.readers.whisper_json.parse_whisper_json`)
are pure: they take the file's text and return, in file order, one :class:`Cue` per cue and one
:class:`CueError` per block that does not parse; they never raise on bad input.

SRT and WebVTT come from subtitle editors, YouTube and yt-dlp (``--write-subs``, ``--write-auto-subs``).
YouTube's automatic captions *roll*: each cue shows the previous line again above the new one (with word
timestamps ``<00:00:07.160><c> hello</c>``), a whitespace-only line stands for an empty row, and a 10 ms cue
repeats the line just finished. Such files are detected (:func:`unroll_captions`) and read as sentences, each
with the time its first word starts and its last word ends.

Times in cues are seconds from the start of the recording. Cue text is cleaned of markup (tags such as
``<i>``, ``<font ...>``, ``<c.x>``, VTT timestamps, ASS overrides like ``{\\an8}``), HTML entities
(``&amp;``) decoded, its lines joined with a space and runs of whitespace collapsed.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass

from weaklabel.readers.times import CLOCK, clock_seconds


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


def collapse_whitespace(text: str) -> str:
    return " ".join(text.split())


# ----------------------------------------------------------------------------------------- SRT
_SRT_TAG = re.compile(r"</?[A-Za-z][^<>]*>")  # <i>, </b>, <font color="#fff">
_ASS_OVERRIDE = re.compile(r"\{\\[^{}]*\}")  # {\an8}, {\i1}


def _srt_text(lines: list[str]) -> str:
    text = " ".join(line.strip() for line in lines)
    return collapse_whitespace(html.unescape(_SRT_TAG.sub("", _ASS_OVERRIDE.sub("", text))))


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
    return collapse_whitespace(html.unescape(_VTT_TAG.sub("", _VTT_RUBY_TEXT.sub("", text))))


def _vtt_text(lines: list[str]) -> tuple[str, str | None, str]:
    """(clean text, speaker(s), note) of a cue's text lines."""
    text = " ".join(line.strip() for line in lines)
    voices = []
    for match in _VTT_VOICE.finditer(text):
        name = collapse_whitespace(html.unescape(match.group(1)))
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
SENTENCE_END = re.compile(r"[.!?\u2026\u3002\uff01\uff1f][\"'\u201d\u2019)\]]*$")


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
        shared = max((k for k in range(min(len(previous), len(clean)) + 1)
                      if clean[:k] == previous[len(previous) - k:]), default=0)
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
    punctuated = any(SENTENCE_END.search(w.text) for w in words)
    sentences: list[Cue] = []
    current: list[_Word] = []
    for i, word in enumerate(words):
        current.append(word)
        following = words[i + 1] if i + 1 < len(words) else None
        pause = following is not None and following.start_s - word.end_s >= PAUSE_S
        if (following is None or pause or SENTENCE_END.search(word.text)
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
