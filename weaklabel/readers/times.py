"""Times as transcripts write them: seconds (``62.5``, ``62,5``) or clock times (``[hh:]mm:ss[.mmm]``).

Shared by the subtitle time lines, whisper.cpp's ``timestamps`` and manifest cells.
"""
from __future__ import annotations

import math
import re
from typing import Any

from weaklabel.segments import seconds_value

#: ``[HH:]MM:SS[.fff]`` with ``.`` or ``,`` (SRT's mark) before the fraction; groups: hours, minutes,
#: seconds, fraction digits.
CLOCK = r"(?:(\d+):)?([0-5]?\d):([0-5]?\d)(?:[.,](\d+))?"
_CLOCK_ONLY = re.compile(rf"^\s*(-?){CLOCK}\s*$", re.ASCII)
_DECIMAL_COMMA = re.compile(r"^\s*(-?\d+),(\d+)\s*$", re.ASCII)


def clock_seconds(hours: str | None, minutes: str, seconds: str, fraction: str | None) -> float:
    """Seconds from the groups of :data:`CLOCK` (all strings of digits; hours and fraction optional); ``inf``
    for an hour count no float holds (a 400-digit one), which the segment then rejects as not finite."""
    try:
        whole = float(int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds))
    except (OverflowError, ValueError):  # ValueError: more digits than int() converts (4300)
        return math.inf
    return whole + (float(f"0.{fraction}") if fraction else 0.0)


def parse_time(value: Any) -> Any:
    """A time cell as seconds when it is written as a clock time or with a decimal comma.

    Parameters
    ----------
    value : any
        A number, or a string: seconds (``"62.5"``, ``"62,5"``) or ``[hh:]mm:ss[.mmm]``
        (``"01:02.5"``, ``"00:01:02,500"``), optionally negative.

    Returns
    -------
    float or the value unchanged
        Seconds (float) for a string in one of those forms; anything else is returned as it is, for
        :func:`~weaklabel.segments.make_segment` to accept (a plain number) or reject (with its repr).
    """
    if not isinstance(value, str):
        return value
    m = _CLOCK_ONLY.match(value)
    if m:
        seconds = clock_seconds(*m.groups()[1:])
        return -seconds if m.group(1) else seconds
    m = _DECIMAL_COMMA.match(value)
    if m:
        return float(f"{m.group(1)}.{m.group(2)}")
    return value


def is_time(value: Any) -> bool:
    """True when ``value`` reads as a finite time in seconds after :func:`parse_time`."""
    seconds = seconds_value(parse_time(value))
    return seconds is not None and math.isfinite(seconds)


TIME_HINT = "times are seconds (62.5 or 62,5) or [hh:]mm:ss[.mmm] (01:02.5, 00:01:02,500)"
