"""The transcript segment: what every corpus reader yields, and the status codes a segment can end in.

A :class:`Segment` is one sentence of one recording: where its audio is, when it starts and ends
(seconds from the start of the recording), what was said, and the group (video or speaker) that splits
must keep on one side. Readers never raise on bad input: they yield a segment whose ``status`` names
the problem, so the build can record it and go on.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Status codes. ``ok`` and ``abstained`` are set by labelling; every other code is a failure reason.
OK = "ok"
ABSTAINED = "abstained"
BAD_TRANSCRIPT_LINE = "bad_transcript_line"  # a line that does not parse (wrong field count, non-numeric time)
BAD_ENCODING = "bad_encoding"  # bytes that are not valid UTF-8
BAD_TIMESTAMPS = "bad_timestamps"  # start >= end, or a time that is not a finite number
EMPTY_TEXT = "empty_text"  # nothing left to score after normalisation
AUDIO_MISSING = "audio_missing"  # the recording's audio file does not exist
AUDIO_UNREADABLE = "audio_unreadable"  # the file exists but cannot be decoded (corrupt, unsupported)
OUTSIDE_AUDIO = "outside_audio"  # the segment lies wholly after the end of the decodable audio
DUPLICATE_SEGMENT = "duplicate_segment_id"  # a second segment with an id already used
TOO_LITTLE_SPEECH = "too_little_speech"  # less audio in the segment's span than the minimum (not a real clip)

#: Default minimum of decoded audio in a segment's span, seconds (``--min-speech-seconds``): a shorter
#: segment (a cue cut by the file's end, a 10 ms span) fails as :data:`TOO_LITTLE_SPEECH`.
DEFAULT_MIN_SPEECH_SECONDS = 0.3

FAILURE_STATUSES = (
    BAD_TRANSCRIPT_LINE,
    BAD_ENCODING,
    BAD_TIMESTAMPS,
    EMPTY_TEXT,
    AUDIO_MISSING,
    AUDIO_UNREADABLE,
    OUTSIDE_AUDIO,
    DUPLICATE_SEGMENT,
    TOO_LITTLE_SPEECH,
)
ALL_STATUSES = (OK, ABSTAINED) + FAILURE_STATUSES


@dataclass
class Segment:
    """One transcript segment of one recording.

    Attributes
    ----------
    recording_id : str
        Identifier of the source recording (the CMU-MOSEI video id); ``video_id`` in the output.
    segment_id : str
        Identifier unique within the corpus.
    audio_path : str or None
        Absolute path of the recording's audio file; None when the reader could not tell.
    start_s, end_s : float or None
        Segment start and end in seconds from the start of the recording; None when unparsable.
    text : str or None
        The transcript text as read (normalisation happens at scoring time).
    group_id : str
        Splits never put one group on two sides (video id, or speaker when the corpus names one).
    status : str or None
        None while the segment is still good; otherwise a failure code from this module.
    detail : str
        Human-readable reason for a failure, or notes (e.g. that a negative start was clamped).
    start_clamped : bool
        True when a negative published start time was clamped to 0.
    extra : dict
        Optional per-segment columns a reader passes through (e.g. ``speaker``, ``human_label``).
    """

    recording_id: str
    segment_id: str
    audio_path: str | None
    start_s: float | None
    end_s: float | None
    text: str | None
    group_id: str
    status: str | None = None
    detail: str = ""
    start_clamped: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status is not None and self.status in FAILURE_STATUSES


def seconds_value(value: Any) -> float | None:
    """A time in seconds as a float, from a number or a numeric string, finite or not.

    None when it is not a number: booleans are not times either (JSON's ``false``/``true`` would be 0 and 1 s).
    An integer too large for a float (a 400-digit ``end``) is ``inf`` (``-inf`` when negative), for the caller
    to reject as not finite.
    """
    if value is None or isinstance(value, (bool, np.bool_)):
        return None
    try:
        return float(value.strip()) if isinstance(value, str) else float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf
    except (TypeError, ValueError):
        return None


def _as_seconds(value: Any) -> float | None:
    """Parse a time in seconds from a number or string; None when it is not a finite number."""
    seconds = seconds_value(value)
    return seconds if seconds is not None and math.isfinite(seconds) else None


def short_repr(value: Any, limit: int = 40) -> str:
    """``repr(value)``, its middle cut when longer than ``limit`` characters (a 400-digit number)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit // 2]}...{text[-8:]} ({len(text)} characters)"


def make_segment(
    recording_id: str,
    segment_id: str,
    audio_path: str | None,
    start: Any,
    end: Any,
    text: Any,
    group_id: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Segment:
    """Build a :class:`Segment`, validating times and text the same way for every reader.

    ``start`` and ``end`` may be numbers or strings (seconds). A negative start is clamped to 0 and
    noted; a start that is not before the end, or a time that is not a finite number, fails the segment
    with :data:`BAD_TIMESTAMPS`; text that is missing or blank fails it with :data:`EMPTY_TEXT`.
    """
    start_s, end_s = _as_seconds(start), _as_seconds(end)
    text_str = None if text is None or (isinstance(text, float) and math.isnan(text)) else str(text)
    seg = Segment(
        recording_id=str(recording_id),
        segment_id=str(segment_id),
        audio_path=audio_path,
        start_s=start_s,
        end_s=end_s,
        text=text_str,
        group_id=str(group_id if group_id not in (None, "") else recording_id),
        extra=dict(extra or {}),
    )
    if start_s is None or end_s is None:
        seg.status = BAD_TIMESTAMPS
        seg.detail = f"start/end not a finite number: start={short_repr(start)} end={short_repr(end)}"
        return seg
    if start_s < 0:
        seg.start_clamped = True
        seg.detail = f"negative start {start_s:g} s clamped to 0"
        seg.start_s = start_s = 0.0
    if start_s >= end_s:
        seg.status, seg.detail = BAD_TIMESTAMPS, f"start {start_s:g} s is not before end {end_s:g} s"
        return seg
    if text_str is None or not text_str.strip():
        seg.status, seg.detail = EMPTY_TEXT, "transcript text is empty"
    return seg


def failed_segment(recording_id: str, segment_id: str, audio_path: str | None, status: str, detail: str,
                   group_id: str | None = None, text: str | None = None) -> Segment:
    """A segment that failed before its fields could be read (e.g. a line that does not parse)."""
    return Segment(recording_id=str(recording_id), segment_id=str(segment_id), audio_path=audio_path,
                   start_s=None, end_s=None, text=text, group_id=str(group_id or recording_id),
                   status=status, detail=detail)
