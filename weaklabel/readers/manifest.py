"""A corpus listed in one table: a manifest with one row per transcript segment.

Required columns are ``audio_path``, ``start`` and ``end`` (from the start of the recording: seconds, ``62.5``
or ``62,5``, or clock times ``[hh:]mm:ss[.mmm]`` such as ``00:01:02.500``, see
:func:`~weaklabel.readers.times.parse_time`) and ``text``. Optional columns: ``speaker``, ``group``, ``segment_id``, ``video_id`` (the recording id) and
``human_label``; ``speaker`` and ``human_label`` are passed through in :attr:`Segment.extra`. Column names
are matched exactly after stripping surrounding whitespace; other columns are ignored.

The format follows the suffix: ``.csv`` (comma), ``.tsv`` (tab), ``.parquet``, and ``.jsonl`` / ``.ndjson``
(one JSON object per line). A whole-file problem (unknown suffix, unreadable file, missing required
column) raises :class:`~weaklabel.errors.CorpusError`; a bad row fails only itself, as a
:class:`~weaklabel.segments.Segment` whose status names the problem:

- a CSV/TSV row with the wrong number of fields, or a JSON Lines line that is not a JSON object:
  :data:`~weaklabel.segments.BAD_TRANSCRIPT_LINE`;
- a row whose bytes are not valid UTF-8 is decoded with the file's legacy encoding (cp1252 from Excel, or
  what charset-normalizer finds; :mod:`weaklabel.readers.text_bytes`) and keeps a note in ``detail``; a row
  whose bytes do not decode that way either fails as :data:`~weaklabel.segments.BAD_ENCODING` (each row on
  its own, so the other rows read normally);
- times and text are validated by :func:`~weaklabel.segments.make_segment`, as for every reader.

Identifiers
-----------
- ``audio_path`` values that are relative resolve against the manifest's folder; the segment stores the
  absolute, resolved path.
- Recording id: the row's ``video_id`` when given, else the audio path relative to the manifest's folder
  without its suffix, as a POSIX string (``clips/a.wav`` -> ``clips/a``); an audio file outside that
  folder gives its absolute path without the suffix.
- Segment id: the row's ``segment_id`` when given, else ``f"{recording_id}_{k}"`` with ``k`` the 0-based
  ordinal of the row among the rows of the same recording, in file order (failed rows whose recording is
  known count too, so ids stay stable when a row is fixed).
- Group: ``group``, else ``speaker``, else the recording id.
- A row that failed before its recording could be told gets segment id ``f"{manifest_stem}_row{n}"``
  and recording id ``""``; ``n`` is the 1-based data row number (non-blank records after the header).
"""
from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path, PurePath, PurePosixPath
from typing import Any

from foundation.paths import resolved_path
from weaklabel.errors import CorpusError
from weaklabel.readers.text_bytes import (DecodedLines, decode_lines, has_undecodable, normalise_to_utf8,
                                          repaired_note, shown_with_replacements)
from weaklabel.readers.times import TIME_HINT, is_time, parse_time
from weaklabel.segments import (BAD_ENCODING, BAD_TIMESTAMPS, BAD_TRANSCRIPT_LINE, Segment, failed_segment,
                                make_segment)

MANIFEST_SUFFIXES = (".csv", ".tsv", ".parquet", ".jsonl", ".ndjson")
REQUIRED_COLUMNS = ("audio_path", "start", "end", "text")
OPTIONAL_COLUMNS = ("speaker", "group", "segment_id", "video_id", "human_label")
EXTRA_COLUMNS = ("speaker", "human_label")  # passed through in Segment.extra when present



# --------------------------------------------------------------------------------------------- helpers
def _encoding_problem(decoded: DecodedLines, first: int, count: int) -> str | None:
    """Describe the first line among ``count`` physical lines from index ``first`` that still holds
    undecodable bytes, or None."""
    for i in range(first, first + count):
        if has_undecodable(decoded.lines[i]):
            return (f"line {i + 1} holds bytes that are neither UTF-8 nor {decoded.encoding}; "
                    "re-save the file as UTF-8")
    return None


def _repaired(decoded: DecodedLines, first: int, count: int) -> str | None:
    """The note for a row spanning ``count`` lines from index ``first`` when one was decoded as legacy text."""
    return repaired_note(decoded.encoding) if any(first <= i < first + count for i in decoded.repaired) else None


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _clean(value: Any) -> str | None:
    """A cell as a stripped string; None when missing, blank, or holding undecodable bytes."""
    if _is_missing(value):
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "surrogateescape")
    text = (value if isinstance(value, str) else str(value)).strip()
    return None if not text or has_undecodable(text) else text


def _extra_value(value: Any) -> Any:
    """A pass-through cell for :attr:`Segment.extra`: strings stripped, non-strings kept as they are."""
    if isinstance(value, (str, bytes)):
        return _clean(value)
    return None if _is_missing(value) else value


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _check_columns(path: Path, names: list[str]) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        found = ", ".join(_one_line(n) for n in names if n) or "none"
        raise CorpusError(f"{path}: manifest is missing required column(s) {', '.join(missing)} (found: {found})")


class _Rows:
    """Turns manifest rows into segments; keeps the per-recording ordinals used for segment ids."""

    def __init__(self, path: Path):
        self.folder = os.path.dirname(os.path.abspath(path))
        self.stem = path.stem
        self.ordinals: dict[str, int] = {}

    def locate(self, audio: str) -> tuple[str, str]:
        """Return (absolute resolved audio path, recording id derived from the path)."""
        joined = os.path.normpath(os.path.join(self.folder, audio))
        try:
            inside = os.path.commonpath([joined, self.folder]) == self.folder
        except ValueError:
            inside = False
        posix = PurePosixPath(PurePath(os.path.relpath(joined, self.folder) if inside else joined).as_posix())
        recording = str(posix.with_suffix("")) if posix.suffix else str(posix)
        return resolved_path(joined), recording

    def unreadable(self, n: int, where: str, status: str, detail: str, text: str | None = None) -> Segment:
        """A row none of whose fields could be read (it does not parse)."""
        return failed_segment("", f"{self.stem}_row{n}", None, status, f"{where}: {detail}", text=text)

    def segment(self, n: int, where: str, values: dict[str, Any], encoding_problem: str | None = None,
                missing: list[str] | None = None, note: str | None = None) -> Segment:
        """Build the segment of one parsed row (``values`` maps column name to cell); ``note`` goes into
        ``detail`` (e.g. that the row's text was decoded from a legacy encoding)."""
        audio = _clean(values.get("audio_path"))
        audio_path, recording = self.locate(audio) if audio else (None, None)
        recording = _clean(values.get("video_id")) or recording
        ordinal = None
        if recording is not None:
            ordinal = self.ordinals.get(recording, 0)
            self.ordinals[recording] = ordinal + 1
        segment_id = _clean(values.get("segment_id")) or (
            f"{recording}_{ordinal}" if recording is not None else f"{self.stem}_row{n}")
        group = _clean(values.get("group")) or _clean(values.get("speaker")) or recording or ""
        extra = {name: v for name in EXTRA_COLUMNS if (v := _extra_value(values.get(name))) is not None}
        text = values.get("text")
        if isinstance(text, bytes):
            text = text.decode("utf-8", "surrogateescape")
        if isinstance(text, str):
            text = text.strip()

        if encoding_problem is not None or (isinstance(text, str) and has_undecodable(text)):
            seg = failed_segment(recording or "", segment_id, audio_path, BAD_ENCODING,
                                 f"{where}: {encoding_problem or 'text holds bytes that are not valid UTF-8'}",
                                 group_id=group, text=shown_with_replacements(text) if isinstance(text, str) else None)
        elif missing:
            seg = failed_segment(recording or "", segment_id, audio_path, BAD_TRANSCRIPT_LINE,
                                 f"{where}: missing field(s) {', '.join(missing)}", group_id=group,
                                 text=text if isinstance(text, str) else None)
        elif audio_path is None:
            seg = failed_segment(recording or "", segment_id, None, BAD_TRANSCRIPT_LINE,
                                 f"{where}: audio_path is empty", group_id=group,
                                 text=text if isinstance(text, str) else None)
        else:
            start, end = values.get("start"), values.get("end")
            seg = make_segment(recording, segment_id, audio_path, parse_time(start), parse_time(end), text,
                               group_id=group, extra=extra)
            if seg.status == BAD_TIMESTAMPS and not (is_time(start) and is_time(end)):
                seg.detail = f"{seg.detail} ({TIME_HINT})"
            if seg.detail or note:
                seg.detail = f"{where}: " + "; ".join(x for x in (seg.detail, note) if x)
        seg.extra = extra
        return seg


# --------------------------------------------------------------------------------------------- CSV/TSV
def _parse_record(lines: list[str], i: int, delimiter: str) -> tuple[list[str], int]:
    """Parse the CSV record starting at physical line ``i`` (strictly, so an unterminated quote is an
    error rather than the rest of the file); return its fields and the number of lines it spans."""
    reader = csv.reader((lines[j] for j in range(i, len(lines))), delimiter=delimiter, strict=True)
    fields = next(reader, [])
    return fields, max(1, reader.line_num)


def _read_row(lines: list[str], i: int, delimiter: str, ncols: int) -> tuple[list[str] | None, int, str]:
    """Read the data row at line ``i``: (fields, lines used, problem). ``fields`` is None when the row
    does not parse into ``ncols`` fields; it then counts as the one physical line ``i``."""
    try:
        fields, used = _parse_record(lines, i, delimiter)
        if len(fields) == ncols:
            return fields, used, ""
    except csv.Error:
        pass
    if delimiter == "\t":  # TSV is often written without quoting: a text may start with a bare quote
        try:
            fields = next(csv.reader([lines[i]], delimiter="\t", quoting=csv.QUOTE_NONE), [])
        except csv.Error:
            fields = []
        if len(fields) == ncols:
            return fields, 1, ""
    kind = "TSV" if delimiter == "\t" else "CSV"
    try:  # describe the problem of this line on its own
        found = len(next(csv.reader([lines[i]], delimiter=delimiter, strict=True), []))
        problem = f"expected {ncols} fields, found {found}"
    except csv.Error as exc:
        problem = "unterminated quoted field" if "end of data" in str(exc) else f"malformed {kind} row ({exc})"
    return None, 1, problem


def _read_delimited(path: Path, data: bytes, delimiter: str, rows: _Rows) -> list[Segment]:
    decoded = decode_lines(data.splitlines(keepends=True))  # bytes: splits on \n, \r\n and \r only
    lines = decoded.lines
    i = next((j for j, line in enumerate(lines) if line.strip()), None)
    if i is None:
        raise CorpusError(f"{path}: manifest is empty (no header row)")
    try:
        header, used = _parse_record(lines, i, delimiter)
    except csv.Error as exc:
        raise CorpusError(f"{path}: cannot parse the header row ({exc})") from exc
    names = [name.strip().lstrip("\ufeff").strip() for name in header]
    _check_columns(path, names)

    segments: list[Segment] = []
    n = 0
    i += used
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        n += 1
        fields, used, problem = _read_row(lines, i, delimiter, len(names))
        where = f"row {n} (line {i + 1})" if used == 1 else f"row {n} (lines {i + 1}-{i + used})"
        encoding_problem = _encoding_problem(decoded, i, used)
        if fields is None:
            text = lines[i].rstrip("\r\n")
            if encoding_problem:
                segments.append(rows.unreadable(n, where, BAD_ENCODING, encoding_problem, shown_with_replacements(text)))
            else:
                segments.append(rows.unreadable(n, where, BAD_TRANSCRIPT_LINE, problem, text))
        else:
            values: dict[str, Any] = {}
            for name, value in zip(names, fields):
                values.setdefault(name, value)  # a repeated column name: the first one wins
            segments.append(rows.segment(n, where, values, encoding_problem, note=_repaired(decoded, i, used)))
        i += used
    return segments


# --------------------------------------------------------------------------------------------- JSON Lines
def _json_kind(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number")


def _read_jsonl(path: Path, data: bytes, rows: _Rows) -> list[Segment]:
    parsed: list[tuple[int, str, dict | None, str, str | None, str, str | None]] = []
    keys: set[str] = set()
    n = 0
    decoded = decode_lines(data.splitlines())
    for index, line in enumerate(decoded.lines):
        line = line.strip()
        if not line:
            continue
        n += 1
        number = index + 1
        where = f"row {n} (line {number})"
        encoding_problem = _encoding_problem(decoded, index, 1)
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError) as exc:
            status = BAD_ENCODING if encoding_problem else BAD_TRANSCRIPT_LINE
            parsed.append((n, where, None, status, encoding_problem or f"not valid JSON ({_one_line(exc)})", line,
                           None))
            continue
        if not isinstance(obj, dict):
            parsed.append((n, where, None, BAD_TRANSCRIPT_LINE,
                           f"expected a JSON object, found {_json_kind(obj)}", line, None))
            continue
        if encoding_problem is None and any(isinstance(v, str) and has_undecodable(v) for v in obj.values()):
            encoding_problem = "a string holds a lone surrogate (not valid Unicode)"
        keys.update(str(k).strip() for k in obj)
        parsed.append((n, where, obj, "", encoding_problem, line, _repaired(decoded, index, 1)))

    if any(item[2] is not None for item in parsed):
        _check_columns(path, sorted(keys))
    segments: list[Segment] = []
    for n, where, obj, status, problem, line, note in parsed:
        if obj is None:
            segments.append(rows.unreadable(n, where, status, problem or "", shown_with_replacements(line)))
            continue
        values = {str(k).strip(): v for k, v in obj.items()}
        missing = [c for c in REQUIRED_COLUMNS if c not in values]
        segments.append(rows.segment(n, where, values, problem, missing, note))
    return segments


# --------------------------------------------------------------------------------------------- Parquet
def _read_parquet(path: Path, rows: _Rows) -> list[Segment]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - pyarrow is a dependency
        raise CorpusError(f"{path}: reading a Parquet manifest needs pyarrow ({exc})") from exc
    try:
        parquet = pq.ParquetFile(path)
        names = [str(name).strip() for name in parquet.schema_arrow.names]
        _check_columns(path, names)
        segments: list[Segment] = []
        n = 0
        for batch in parquet.iter_batches():
            for row in batch.to_pylist():
                n += 1
                values = {str(k).strip(): v for k, v in row.items()}
                segments.append(rows.segment(n, f"row {n}", values))
        return segments
    except CorpusError:
        raise
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise CorpusError(f"{path}: cannot read Parquet manifest ({_one_line(exc)})") from exc


# --------------------------------------------------------------------------------------------- entry point
def read_manifest(path: str | Path) -> list[Segment]:
    """Read every segment listed in a manifest table.

    Parameters
    ----------
    path : path
        A ``.csv``, ``.tsv``, ``.parquet``, ``.jsonl`` or ``.ndjson`` file with columns ``audio_path``,
        ``start``, ``end`` (seconds) and ``text``, and optionally ``speaker``, ``group``, ``segment_id``,
        ``video_id`` and ``human_label``.

    Returns
    -------
    list of Segment
        One per data row, in file order; rows that fail carry their status and a ``detail`` naming the row
        (1-based data row number) and physical line. Start and end are in seconds.

    Raises
    ------
    CorpusError
        When the suffix is not a manifest format, the file cannot be read, or a required column is missing.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MANIFEST_SUFFIXES:
        raise CorpusError(f"{path}: unknown manifest format {path.suffix or '(no suffix)'!r}; "
                          f"expected one of {', '.join(MANIFEST_SUFFIXES)}")
    if not path.is_file():
        raise CorpusError(f"manifest {path} does not exist or is not a file")
    rows = _Rows(path)
    if suffix == ".parquet":
        return _read_parquet(path, rows)
    try:
        data = normalise_to_utf8(path.read_bytes())
    except OSError as exc:
        raise CorpusError(f"cannot read manifest {path}: {exc.strerror or exc}") from exc
    if suffix in (".csv", ".tsv"):
        return _read_delimited(path, data, "\t" if suffix == ".tsv" else ",", rows)
    return _read_jsonl(path, data, rows)
