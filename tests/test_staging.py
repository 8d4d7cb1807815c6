"""foundation.staging: framed files (payload, JSON record, trailer) and bytes written, moved and copied at offsets."""
import os

import pytest

from foundation import staging
from foundation.staging import TRAILER, copy_bytes, move_bytes, pwrite_all, read_framed_record, write_framed_record

MAGIC = b"TESTMAG1"


def framed(path, payload: bytes, record: dict, magic: bytes = MAGIC):
    with open(path, "wb") as handle:
        handle.write(payload)
        write_framed_record(handle, record, magic)
    return path


def test_a_framed_record_reads_back_with_its_payload_length(tmp_path):
    path = framed(tmp_path / "f", b"\x01" * 100, {"rows": [1, "two", None], "n": 3})
    assert read_framed_record(path, MAGIC) == ({"rows": [1, "two", None], "n": 3}, 100)
    data = path.read_bytes()
    n_json, magic = TRAILER.unpack(data[-TRAILER.size:])
    assert magic == MAGIC and data[100:100 + n_json] == b'{"rows": [1, "two", null], "n": 3}'
    assert read_framed_record(framed(tmp_path / "empty", b"", {}), MAGIC) == ({}, 0)


def test_anything_but_a_whole_framed_file_reads_as_none(tmp_path):
    whole = framed(tmp_path / "f", b"\x00" * 64, {"a": 1}).read_bytes()
    cases = {"absent": None, "short": whole[:TRAILER.size - 1], "torn": whole[:len(whole) // 2],
             "record longer than file": whole[:10] + TRAILER.pack(10**6, MAGIC),
             "not json": b"{{{" + TRAILER.pack(3, MAGIC)}
    for name, data in cases.items():
        path = tmp_path / name
        if data is not None:
            path.write_bytes(data)
        assert read_framed_record(path, MAGIC) is None, name
    assert read_framed_record(tmp_path / "f", b"OTHERMAG") is None


def test_pwrite_all_writes_at_the_offset(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"abcdefgh")
    with open(path, "r+b") as handle:
        pwrite_all(handle.fileno(), memoryview(b"XYZ"), 2)
    assert path.read_bytes() == b"abXYZfgh"


@pytest.mark.parametrize("block", [3, 1 << 20])
def test_move_bytes_moves_overlapping_ranges_towards_the_start(tmp_path, monkeypatch, block):
    monkeypatch.setattr(staging, "MOVE_BLOCK_BYTES", block)
    data = bytes(range(40))
    path = tmp_path / "f"
    path.write_bytes(data)
    with open(path, "r+b") as handle:
        move_bytes(handle.fileno(), 10, 4, 20)  # the ranges overlap
        move_bytes(handle.fileno(), 30, 30, 5)  # in place: nothing to do
        with pytest.raises(ValueError, match="towards the start"):
            move_bytes(handle.fileno(), 4, 10, 5)
        with pytest.raises(EOFError):
            move_bytes(handle.fileno(), 35, 0, 10)
    moved = path.read_bytes()
    assert moved[5:24] == data[11:30] and moved[24:] == data[24:]  # the range moved, what follows it untouched
    assert moved[:5] == data[35:40]  # what the move past the end did before it found the end


@pytest.mark.parametrize("kernel", [True, False])
def test_copy_bytes_copies_between_offsets_with_or_without_the_kernel(tmp_path, monkeypatch, kernel):
    if not kernel:
        def refuse(*args):
            raise OSError("not here")

        monkeypatch.setattr(os, "copy_file_range", refuse, raising=False)
        monkeypatch.setattr(staging, "MOVE_BLOCK_BYTES", 7)
    source, target = tmp_path / "source", tmp_path / "target"
    source.write_bytes(bytes(range(100)))
    target.write_bytes(b"\xff" * 50)
    with open(source, "rb") as src, open(target, "r+b") as dst:
        copy_bytes(src.fileno(), 10, dst.fileno(), 5, 30)
        with pytest.raises(EOFError):
            copy_bytes(src.fileno(), 90, dst.fileno(), 0, 20)
    copied = target.read_bytes()
    assert copied[10:35] == bytes(range(15, 40)) and copied[35:] == b"\xff" * 15
    assert copied[:10] == bytes(range(90, 100))  # what the copy past the end did before it found the end
