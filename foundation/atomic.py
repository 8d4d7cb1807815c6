"""Atomic file writes: write to a temporary name beside the target, then rename over it.

A reader never sees a half-written file: either the old one, the new one, or none.
"""
from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

_UMASK = os.umask(0)  # read the process umask once (os.umask can only read by setting) ...
os.umask(_UMASK)  # ... and put it back
#: Mode of files written here: what ``open()`` would give (mkstemp alone makes them private, 0600).
FILE_MODE = 0o666 & ~_UMASK


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path in ``target``'s folder; on success rename it to ``target``, else delete it."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    os.chmod(tmp, FILE_MODE)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_bytes_unsynced(target: str | Path, data: bytes) -> None:
    """Write ``data`` to ``target`` under a temporary name of :func:`atomic_path`'s kind, then rename it: whole or
    absent, but not fsynced. For many small files written together and then made durable at once
    (:func:`os.sync`) before a record that vouches for them is written with :func:`atomic_path`."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def remove_temp_files(folder: str | Path, *target_names: str) -> list[Path]:
    """Delete the temporary files that interrupted :func:`atomic_path` writes of ``target_names`` left in
    ``folder``: ``.<target name>.<random>.tmp``, the names :func:`atomic_path` gives them.

    Parameters
    ----------
    folder : path
        Where the targets live (not searched recursively; a missing folder holds nothing).
    *target_names : str
        The targets whose temporaries go (e.g. ``"logmel.npy"``); none: every ``.*.tmp`` file in ``folder``,
        only for a folder that holds nothing but what this process's writes put there (the build's parts).
        Anything else is left alone, the user's own ``.notes.tmp`` included.

    Returns
    -------
    list of Path
        The files removed. Call this only while no other process is writing into ``folder``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    patterns = [f".{name}.*.tmp" for name in target_names] or [".*.tmp"]
    removed = []
    for path in (path for pattern in patterns for path in sorted(folder.glob(pattern))):
        if path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def write_json_atomic(target: str | Path, data) -> None:
    """Write ``data`` as indented, key-sorted JSON (deterministic bytes), atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def write_text_atomic(target: str | Path, text: str) -> None:
    """Write ``text`` as UTF-8, atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_record_atomic(out_dir: str | Path, record: dict, json_name: str, markdown: str,
                        markdown_name: str) -> tuple[Path, Path]:
    """Write a result ``record`` as JSON and its Markdown rendering into ``out_dir`` (created), each atomically;
    return the two paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / json_name, out_dir / markdown_name
    write_json_atomic(json_path, record)
    write_text_atomic(md_path, markdown)
    return json_path, md_path


def write_parquet_atomic(target: str | Path, frame) -> None:
    """Write a pandas DataFrame to Parquet (no index), atomically."""
    with atomic_path(target) as tmp:
        frame.to_parquet(tmp, index=False, engine="pyarrow")
