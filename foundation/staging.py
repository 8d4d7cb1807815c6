"""Bytes between open files: framed files that end in a record, and writing, moving and copying bytes at offsets.

A *framed file* is a payload followed by a JSON record and a fixed trailer::

    [payload: any bytes][record: JSON, UTF-8][trailer: record length (uint64, little-endian), 8-byte magic]

The trailer sits at the end so that the payload can be streamed before the record is known; a reader finds the
record from the end and knows the payload's length without parsing it. A file too short, or whose trailer does
not carry the expected magic, is not a framed file (:func:`read_framed_record` returns None).
"""
from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import BinaryIO

#: The trailer of a framed file: the record's length in bytes, then the 8-byte magic.
TRAILER = struct.Struct("<Q8s")

#: Bytes read and written at a time by :func:`move_bytes` and the plain-copy path of :func:`copy_bytes`.
MOVE_BLOCK_BYTES = 8 << 20


def write_framed_record(handle: BinaryIO, record: dict, magic: bytes) -> None:
    """Append ``record`` (as JSON, UTF-8) and the trailer with ``magic`` (8 bytes) to the open file ``handle``,
    whose payload was written before."""
    data = json.dumps(record).encode("utf-8")
    handle.write(data)
    handle.write(TRAILER.pack(len(data), magic))


def read_framed_record(path: str | Path, magic: bytes) -> tuple[dict, int] | None:
    """The record of the framed file ``path`` and its payload's length in bytes; None when the file is absent or
    not a whole framed file with ``magic`` (too short, another magic, a record longer than the file or not JSON)."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size < TRAILER.size:
                return None
            handle.seek(size - TRAILER.size)
            n_json, found = TRAILER.unpack(handle.read(TRAILER.size))
            if found != magic or n_json > size - TRAILER.size:
                return None
            handle.seek(size - TRAILER.size - n_json)
            record = json.loads(handle.read(n_json).decode("utf-8"))
    except (OSError, ValueError):
        return None
    return record, size - TRAILER.size - n_json


def pwrite_all(fd: int, data, offset: int) -> None:
    """Write all of ``data`` (bytes or a byte memoryview) at ``offset`` of open file ``fd``."""
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def move_bytes(fd: int, source: int, destination: int, count: int) -> None:
    """Move ``count`` bytes of open file ``fd`` from offset ``source`` down to ``destination`` (<= source),
    block by block from the start: a block is read before any write can reach it.

    Raises
    ------
    ValueError
        ``destination`` is after ``source``.
    EOFError
        The file ends before ``source + count``.
    """
    if destination > source:
        raise ValueError("bytes only ever move towards the start of the file")
    if destination == source:
        return
    _copy_blocks(fd, source, fd, destination, count, 0)  # block by block from the start: never overwrites unread bytes


def copy_bytes(source_fd: int, source_offset: int, destination_fd: int, destination_offset: int,
               count: int) -> None:
    """Copy ``count`` bytes between open files, at the given offsets (by the kernel where it can).

    Raises
    ------
    EOFError
        The source ends before ``source_offset + count``.
    """
    done = 0
    try:
        while done < count:
            copied = os.copy_file_range(source_fd, destination_fd, count - done, source_offset + done,
                                        destination_offset + done)
            if copied == 0:
                raise EOFError(f"source ended after {done} of {count} bytes")
            done += copied
    except (AttributeError, OSError):  # no copy_file_range here (platform, filesystem): plain copy
        _copy_blocks(source_fd, source_offset, destination_fd, destination_offset, count, done)


def _copy_blocks(source_fd: int, source_offset: int, destination_fd: int, destination_offset: int, count: int,
                 done: int) -> None:
    """Copy bytes ``done`` to ``count`` of a range by reading and writing blocks of :data:`MOVE_BLOCK_BYTES`, in
    order from the start."""
    while done < count:
        block = os.pread(source_fd, min(MOVE_BLOCK_BYTES, count - done), source_offset + done)
        if not block:
            raise EOFError(f"source ended after {done} of {count} bytes")
        pwrite_all(destination_fd, block, destination_offset + done)
        done += len(block)
