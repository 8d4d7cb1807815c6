"""What every JSON record a step reads back (``build.json``, ``model.json``) must be before its fields are read: a
JSON object whose ``format_version`` is a format this code reads. Each record's own fields are checked by its
owner (:func:`weaklabel.dataset.build_record_problem`, :func:`transfer.model.model_record_problem`)."""
from __future__ import annotations

import json
from pathlib import Path


def is_integer(value) -> bool:
    """An int that is not a bool (JSON's ``true`` reads as one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def record_version_problem(record, name: str, current: int) -> str | None:
    """Why ``record`` (parsed JSON; ``name``: the file, as messages call it) is not a record this code reads, in words:
    not a JSON object, or a ``format_version`` that is not a positive integer or is newer than ``current``; else None.
    """
    if not isinstance(record, dict):
        return f"{name} holds {type(record).__name__}, not a JSON object"
    version = record.get("format_version")
    if not is_integer(version) or version < 1:
        return f"{name}'s format_version is {version!r}, not a format number"
    if version > current:
        return (f"{name} is format {version}, written by a newer version of this tool (this code reads up to format "
                f"{current})")
    return None


def read_json(path: str | Path):
    """The parsed JSON of a record file (OSError where it cannot be read; ValueError, naming the file, where it is
    not JSON). What it holds is its record class's ``from_dict`` to judge."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{path.name} cannot be read as JSON ({' '.join(str(exc).split())})") from None
