"""Decoding transcript bytes so that invalid UTF-8 fails only the lines or cues that hold it.

Files are decoded with ``surrogateescape``: each undecodable byte becomes a lone surrogate, which readers
detect per line/cue (:func:`has_undecodable`) to fail just that segment, and replace with U+FFFD
(:func:`shown_with_replacements`) in the text they record.
"""
from __future__ import annotations

import codecs
import re

_SURROGATE = re.compile("[\ud800-\udfff]")  # lone surrogates: undecodable bytes under surrogateescape


def has_undecodable(text: str | None) -> bool:
    """True when ``text`` (decoded with surrogateescape) held bytes that are not valid UTF-8."""
    return bool(text) and bool(_SURROGATE.search(text))


def shown_with_replacements(text: str) -> str:
    """Text with undecodable bytes shown as U+FFFD, for the ``text`` of a failed segment."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)


def normalise_to_utf8(data: bytes) -> bytes:
    """Strip a UTF-8 byte-order mark; transcode UTF-16 with a BOM (e.g. Excel's "Unicode Text") to UTF-8."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16").encode("utf-8")
        except UnicodeError:
            pass
    return data[len(codecs.BOM_UTF8):] if data.startswith(codecs.BOM_UTF8) else data


def decode_transcript_bytes(data: bytes) -> str:
    """Decode a whole transcript file (see :func:`normalise_to_utf8`), undecodable bytes kept as surrogates."""
    return normalise_to_utf8(data).decode("utf-8", "surrogateescape")
