"""Content digests: the one home for hashing a file's bytes (:func:`file_sha256`) and a JSON value
(:func:`json_sha256`).

:func:`file_sha256` reads in blocks (memory bounded whatever the file's size) and remembers, for this
process, the digest of a file it has hashed while the file's size and modification time are unchanged, so
steps run in one process (``pipelines.run``: embed, the is-the-model-current check, train) hash a large
features file once.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from foundation.paths import require_regular_file

_BLOCK_BYTES = 1 << 24
_KNOWN: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of the bytes of the file at ``path``.

    Raises
    ------
    OSError
        It cannot be read; :class:`~foundation.paths.NotRegularFileError` for a FIFO, a device (``/dev/zero``
        never ends) or a loop of symbolic links, none of which is opened.
    """
    require_regular_file(path)
    resolved = str(Path(path).resolve())
    stat = os.stat(resolved)
    key = (resolved, stat.st_size, stat.st_mtime_ns)
    if key not in _KNOWN:
        digest = hashlib.sha256()
        with open(resolved, "rb") as handle:
            while block := handle.read(_BLOCK_BYTES):
                digest.update(block)
        _KNOWN[key] = digest.hexdigest()
    return _KNOWN[key]


def json_sha256(data) -> str:
    """SHA-256 (hex) of ``data`` as canonical JSON (sorted keys; anything JSON cannot hold by its ``repr``)."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=repr).encode("utf-8")).hexdigest()
