"""Decoding transcript bytes: UTF-8 first, then a legacy encoding for the lines that are not UTF-8.

Windows tools (Excel's "CSV", Notepad before 2019, many subtitle editors) save text in a legacy code page,
most often cp1252; a file may also mix UTF-8 lines with such lines. :func:`decode_lines` decodes every
physical line as UTF-8 and, for the lines that are not, guesses one legacy encoding for the file from those
lines' bytes (those cp1252 can read, when there are any; else all of them, if they hold at least
:data:`MIN_GUESS_BYTES` non-ASCII bytes) (:func:`guess_legacy_encoding`: charset-normalizer, cp1252 when the guess is weak) and decodes
them with it. Those lines are *repaired*: readers keep their segments and say so in ``detail``
(:func:`repaired_note`). A line that does not decode in that encoding either keeps its undecodable bytes as
lone surrogates (``surrogateescape``), which readers detect (:func:`has_undecodable`) to fail just that
line, cue or row, showing them as U+FFFD (:func:`shown_with_replacements`).
"""
from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

_SURROGATE = re.compile("[\ud800-\udfff]")  # lone surrogates: undecodable bytes under surrogateescape

#: Encodings the guess chooses among: the Windows code pages, KOI8 and the common CJK encodings. Code
#: pages that map every byte to a character (Latin-1, cp437, Mac Roman) are left out: they would "read"
#: any garbage.
LEGACY_ENCODINGS = ("cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1257", "cp1258",
                    "koi8_r", "koi8_u", "cp932", "gb18030", "big5", "euc_kr", "euc_jp")
FALLBACK_ENCODING = "cp1252"
#: With no line that cp1252 reads, the non-ASCII bytes needed before a guess is trusted (a short Japanese
#: sentence in Shift-JIS has about 24; a stray byte or two is more likely damage than an encoding).
MIN_GUESS_BYTES = 16
_MAX_CHAOS = 0.1  # charset-normalizer "mess" above which its guess is not trusted over cp1252


def has_undecodable(text: str | None) -> bool:
    """True when ``text`` (decoded with surrogateescape) still holds bytes that could not be decoded."""
    return bool(text) and bool(_SURROGATE.search(text))


def shown_with_replacements(text: str) -> str:
    """Text with undecodable bytes shown as U+FFFD, for the ``text`` of a failed segment."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)


def repaired_note(encoding: str) -> str:
    """The ``detail`` note of a segment whose text was decoded with a legacy ``encoding``."""
    return f"text is not UTF-8; decoded as {encoding} (re-save the file as UTF-8 to silence this note)"


def normalise_to_utf8(data: bytes) -> bytes:
    """Strip a UTF-8 byte-order mark; transcode UTF-16 with a BOM (e.g. Excel's "Unicode Text") to UTF-8."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16").encode("utf-8")
        except UnicodeError:
            pass
    return data[len(codecs.BOM_UTF8):] if data.startswith(codecs.BOM_UTF8) else data


def guess_legacy_encoding(sample: bytes) -> str:
    """The legacy encoding of ``sample`` (bytes that are not UTF-8), as a Python codec name.

    charset-normalizer ranks :data:`LEGACY_ENCODINGS` by how messy each decoding looks; cp1252 is chosen
    when it reads the sample as well as the best guess (short Latin text fits many code pages equally),
    when nothing fits, or when even the best guess looks messy (a sample mixing cp1252 text with garbage).
    """
    try:
        as_cp1252 = sample.decode(FALLBACK_ENCODING)
    except UnicodeDecodeError:
        as_cp1252 = None
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - a declared dependency
        return FALLBACK_ENCODING
    matches = list(from_bytes(sample, cp_isolation=list(LEGACY_ENCODINGS)))
    if not matches:
        return FALLBACK_ENCODING
    least = min(m.chaos for m in matches)
    if least > _MAX_CHAOS:
        return FALLBACK_ENCODING
    tied = [m for m in matches if m.chaos <= least + 1e-9]
    if as_cp1252 is not None and any(m.encoding == FALLBACK_ENCODING or str(m) == as_cp1252 for m in tied):
        return FALLBACK_ENCODING
    return codecs.lookup(tied[0].encoding).name


@dataclass(frozen=True)
class DecodedLines:
    """A file decoded line by line.

    Attributes
    ----------
    lines : list of str
        The physical lines (line endings kept), in order; bytes that no decoding could read are lone
        surrogates.
    encoding : str or None
        The legacy encoding used for the lines that are not UTF-8; None when every line is UTF-8.
    repaired : frozenset of int
        0-based indices of the lines that were decoded with ``encoding`` (fully, without surrogates).
    """

    lines: list[str]
    encoding: str | None
    repaired: frozenset[int]

    @property
    def text(self) -> str:
        return "".join(self.lines)


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
        return True
    except UnicodeDecodeError:
        return False


def decode_lines(raw_lines: list[bytes]) -> DecodedLines:
    """Decode physical lines: UTF-8 where valid, else the file's guessed legacy encoding (see module doc)."""
    lines: list[str | None] = []
    bad: list[int] = []
    for i, raw in enumerate(raw_lines):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(None)
            bad.append(i)
    if not bad:
        return DecodedLines(lines, None, frozenset())
    # Guess from the lines cp1252 can read, so a line of garbage does not sway the guess for the others.
    readable = [raw_lines[i].rstrip(b"\r\n") for i in bad if _decodes(raw_lines[i], FALLBACK_ENCODING)]
    sample = b"\n".join(readable or [raw_lines[i].rstrip(b"\r\n") for i in bad])
    if readable or sum(byte >= 0x80 for byte in sample) >= MIN_GUESS_BYTES:
        encoding = guess_legacy_encoding(sample)
    else:  # a few stray bytes no cp1252 line vouches for: too little to guess from, so they stay unread
        encoding = FALLBACK_ENCODING
    repaired = set()
    for i in bad:
        try:
            lines[i] = raw_lines[i].decode(encoding)
            repaired.add(i)
        except UnicodeDecodeError:
            lines[i] = raw_lines[i].decode("utf-8", "surrogateescape")
    return DecodedLines(lines, encoding, frozenset(repaired))


def decode_transcript_bytes(data: bytes) -> DecodedLines:
    """Decode a whole transcript file (BOMs and UTF-16 handled by :func:`normalise_to_utf8`) line by line.

    Lines split at ``\\n``, ``\\r\\n`` and ``\\r``, so ``repaired`` indexes the same lines as a reader that
    splits the decoded text the same way (index ``i`` is line ``i + 1`` of the file).
    """
    return decode_lines(normalise_to_utf8(data).splitlines(keepends=True))
