"""The JSON that Whisper-family transcribers write, as cues: openai-whisper / faster-whisper / whisperX
(``segments``), whisper.cpp ``-oj`` (``transcription`` with ``offsets`` in ms), Hugging Face ``transformers``
ASR pipeline / insanely-fast-whisper (``chunks`` with ``timestamp: [start, end]``, or ``speakers`` when
diarised; word-level chunks are joined into sentences). Pure, like the other parsers
(:mod:`weaklabel.readers.cues`): bad items come back as :class:`~weaklabel.readers.cues.CueError`."""
from __future__ import annotations

import json

from weaklabel.readers.cues import (MAX_SENTENCE_S, PAUSE_S, SENTENCE_END, Cue, CueError, ParsedCue,
                                   collapse_whitespace)
from weaklabel.readers.times import parse_time
from weaklabel.segments import seconds_value


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
        speaker = (collapse_whitespace(speaker) or None) if isinstance(speaker, str) else None
        out.append(Cue(start, end, collapse_whitespace(cue_text or ""), speaker, None))
    return _join_word_chunks(out)


def _join_word_chunks(items: list[ParsedCue]) -> list[ParsedCue]:
    """Word-level chunks (``return_timestamps="word"``: at least 5 cues, nearly all one word) as sentences."""
    cues = [c for c in items if isinstance(c, Cue)]
    if len(cues) < 5 or sum(len(c.text.split()) <= 1 for c in cues) < 0.9 * len(cues):
        return items
    punctuated = any(SENTENCE_END.search(c.text) for c in cues)
    out: list[ParsedCue] = [c for c in items if isinstance(c, CueError)]
    current: list[Cue] = []
    for i, cue in enumerate(cues):
        current.append(cue)
        following = cues[i + 1] if i + 1 < len(cues) else None
        length = cue.end_s - current[0].start_s
        if (following is None or following.start_s - cue.end_s >= PAUSE_S or SENTENCE_END.search(cue.text)
                or (length >= MAX_SENTENCE_S and (not punctuated or length >= 2 * MAX_SENTENCE_S))):
            speakers = list(dict.fromkeys(c.speaker for c in current if c.speaker))
            out.append(Cue(current[0].start_s, cue.end_s, " ".join(c.text for c in current if c.text),
                           ", ".join(speakers) or None, None, f"{len(current)} word chunks joined into a sentence"))
            current = []
    return out
