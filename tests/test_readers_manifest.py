"""The manifest reader: CSV/TSV/Parquet/JSON Lines tables of ``audio_path, start, end, text``."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from weaklabel.errors import CorpusError
from weaklabel.readers import read_corpus
from weaklabel.readers.manifest import MANIFEST_SUFFIXES, read_manifest
from weaklabel.segments import BAD_ENCODING, BAD_TIMESTAMPS, BAD_TRANSCRIPT_LINE, EMPTY_TEXT


def by_id(segments):
    return {s.segment_id: s for s in segments}


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


# ------------------------------------------------------------------------------------------- CSV
def test_csv_rows_paths_ids_groups_and_extra(tmp_path):
    manifest = write(tmp_path / "corpus" / "list.csv",
                     "audio_path,start,end,text,speaker,human_label\n"
                     "clips/a.wav,0.5,2.0,Hello there,alice,happy\n"
                     "clips/a.wav,2.5,4,\"Second, with a comma\",,\n"
                     "clips/b.flac,1,3,  padded text  ,bob,\n")
    segs = read_manifest(manifest)
    assert [s.segment_id for s in segs] == ["clips/a_0", "clips/a_1", "clips/b_0"]
    a0, a1, b0 = segs
    folder = (tmp_path / "corpus").resolve()
    assert a0.audio_path == str(folder / "clips" / "a.wav")
    assert os.path.isabs(b0.audio_path) and b0.audio_path.endswith("clips/b.flac")
    assert (a0.recording_id, a0.start_s, a0.end_s, a0.text) == ("clips/a", 0.5, 2.0, "Hello there")
    assert a0.status is None and not a0.failed
    assert a1.text == "Second, with a comma" and b0.text == "padded text"
    # group: speaker when given, else the recording id
    assert a0.group_id == "alice" and a1.group_id == "clips/a" and b0.group_id == "bob"
    assert a0.extra == {"speaker": "alice", "human_label": "happy"}
    assert a1.extra == {}  # blank cells are not passed through
    assert b0.extra == {"speaker": "bob"}


def test_group_segment_id_and_video_id_columns_take_precedence(tmp_path):
    manifest = write(tmp_path / "m.csv",
                     "audio_path,start,end,text,speaker,group,segment_id,video_id\n"
                     "a.wav,0,1,one,spk,G1,seg-x,VID\n"
                     "a.wav,1,2,two,spk,,,VID\n"
                     "a.wav,2,3,three,,,,\n")
    first, second, third = read_manifest(manifest)
    assert (first.segment_id, first.recording_id, first.group_id) == ("seg-x", "VID", "G1")
    # ordinal counts every row of the recording, the one with an explicit id too
    assert (second.segment_id, second.recording_id, second.group_id) == ("VID_1", "VID", "spk")
    # a blank video_id falls back to the path-derived recording id
    assert (third.segment_id, third.recording_id, third.group_id) == ("a_0", "a", "a")


def test_absolute_and_outside_paths(tmp_path):
    outside = tmp_path / "elsewhere" / "talk.wav"
    manifest = write(tmp_path / "man" / "m.csv",
                     "audio_path,start,end,text\n"
                     f"{outside},0,1,absolute\n"
                     "../elsewhere/other.wav,0,1,relative outside\n"
                     "./sub/../in.wav,0,1,normalised\n")
    absolute, relative, normalised = read_manifest(manifest)
    assert absolute.audio_path == str(outside.resolve())
    assert absolute.recording_id == outside.with_suffix("").as_posix()
    assert relative.recording_id == (tmp_path / "elsewhere" / "other").as_posix()
    assert relative.audio_path == str((tmp_path / "elsewhere" / "other.wav").resolve())
    assert normalised.recording_id == "in"


def test_time_and_text_validation_goes_through_make_segment(tmp_path):
    manifest = write(tmp_path / "m.csv",
                     "audio_path,start,end,text\n"
                     "a.wav,-0.2,1.5,clamped\n"
                     "a.wav,3,3,zero length\n"
                     "a.wav,4,2,backwards\n"
                     "a.wav,abc,2,not a number\n"
                     "a.wav,1,2,   \n"
                     "a.wav,1,2,\n")
    clamped, zero, backwards, nan, blank, empty = read_manifest(manifest)
    assert clamped.start_clamped and clamped.start_s == 0.0 and clamped.status is None
    assert "clamped" in clamped.detail and "row 1" in clamped.detail
    assert zero.status == BAD_TIMESTAMPS and backwards.status == BAD_TIMESTAMPS and nan.status == BAD_TIMESTAMPS
    assert "row 3 (line 4)" in backwards.detail
    assert blank.status == EMPTY_TEXT and empty.status == EMPTY_TEXT
    assert [s.segment_id for s in (clamped, zero, backwards, nan, blank, empty)] == [f"a_{k}" for k in range(6)]


def test_malformed_csv_row_fails_alone(tmp_path):
    manifest = write(tmp_path / "list.csv",
                     "audio_path,start,end,text\n"
                     "a.wav,0,1,good one\n"
                     "a.wav,1,2\n"                      # too few fields
                     "a.wav,1,2,x,extra\n"              # too many
                     "b.wav,0,1,\"never closed\n"       # unterminated quote
                     "\n"
                     "b.wav,1,2,\"he said \"\"hi\"\"\"\n"
                     "c.wav,0,1,\"a quoted\nnewline\"\n")
    segs = read_manifest(manifest)
    assert len(segs) == 6
    good, short, long_, unterminated, quoted, multiline = segs
    assert good.status is None and good.segment_id == "a_0"
    for bad, row in ((short, 2), (long_, 3), (unterminated, 4)):
        assert bad.status == BAD_TRANSCRIPT_LINE
        assert bad.segment_id == f"list_row{row}" and bad.recording_id == ""
        assert f"row {row}" in bad.detail
    assert "expected 4 fields, found 3" in short.detail
    assert "found 5" in long_.detail
    assert "unterminated" in unterminated.detail
    # the rows after the broken quote still read, ids unaffected by the failures
    assert quoted.status is None and quoted.text == 'he said "hi"' and quoted.segment_id == "b_0"
    assert multiline.status is None and multiline.text == "a quoted\nnewline" and multiline.segment_id == "c_0"
    assert multiline.detail == ""  # a good row carries no note


def test_cp1252_rows_are_repaired_and_only_unreadable_bytes_fail(tmp_path):
    # Excel's "CSV" on Windows: cp1252, with accents and curly quotes
    manifest = write(tmp_path / "m.csv",
                     b"audio_path,start,end,text\n"
                     b"a.wav,0,1,caf\xe9 \x93latin\x94\n"
                     b"a.wav,1,2,caf\xc3\xa9 utf-8\n"
                     b"a.wav,2,3,plain ascii\n"
                     b"\x81\x8d.wav,1,2,bad path\n"
                     b"a.wav,3,4,bad \x81\x8d\x8f\x90\x9d text\n")
    latin, utf8, plain, bad_path, bad_text = read_manifest(manifest)
    assert latin.status is None and latin.text == "café \u201clatin\u201d" and latin.segment_id == "a_0"
    assert "row 1 (line 2)" in latin.detail and "decoded as cp1252" in latin.detail
    assert utf8.status is None and utf8.text == "café utf-8" and utf8.detail == ""
    assert plain.detail == ""
    assert bad_path.status == BAD_ENCODING and bad_path.segment_id == "m_row4" and bad_path.audio_path is None
    assert bad_text.status == BAD_ENCODING and "line 6" in bad_text.detail and "UTF-8" in bad_text.detail
    assert bad_text.text == "bad \ufffd\ufffd\ufffd\ufffd\ufffd text" and bad_text.recording_id == "a"


def test_utf8_bom_and_crlf(tmp_path):
    manifest = write(tmp_path / "m.csv", b"\xef\xbb\xbfaudio_path,start,end,text\r\na.wav,0,1,hi\r\n")
    (seg,) = read_manifest(manifest)
    assert seg.status is None and seg.text == "hi" and seg.recording_id == "a"


def test_utf16_manifest_is_transcoded(tmp_path):
    manifest = write(tmp_path / "m.tsv", "audio_path\tstart\tend\ttext\na.wav\t0\t1\tnaïve\n".encode("utf-16"))
    (seg,) = read_manifest(manifest)
    assert seg.status is None and seg.text == "naïve"


# ------------------------------------------------------------------------------------------- TSV
def test_tsv_with_quotes_in_text(tmp_path):
    manifest = write(tmp_path / "m.tsv",
                     "audio_path\tstart\tend\ttext\n"
                     "a.wav\t0\t1\tplain, with comma\n"
                     "a.wav\t1\t2\t\"Hello,\" she said\n"     # bare quote, not CSV quoting
                     "a.wav\t2\t3\t\"fully quoted\"\n"
                     "a.wav\t3\t4\n")
    plain, bare, quoted, short = read_manifest(manifest)
    assert plain.text == "plain, with comma" and plain.status is None
    assert bare.text == '"Hello," she said' and bare.status is None
    assert quoted.text == "fully quoted"
    assert short.status == BAD_TRANSCRIPT_LINE and "expected 4 fields, found 3" in short.detail


# ------------------------------------------------------------------------------------------- JSON Lines
@pytest.mark.parametrize("suffix", [".jsonl", ".ndjson"])
def test_jsonl(tmp_path, suffix):
    lines = [
        json.dumps({"audio_path": "a.wav", "start": 0, "end": 1.5, "text": "one", "human_label": 2}),
        "",
        "{not json",
        json.dumps([1, 2]),
        json.dumps({"audio_path": "a.wav", "start": 2, "end": 3}),  # no text key
        json.dumps({"audio_path": "a.wav", "start": -1, "end": 3, "text": "two", "speaker": "S1"}),
    ]
    raw = ("\n".join(lines) + "\n").encode() + b'{"audio_path": "b.wav", "start": 0, "end": 1, "text": "\xe9"}\n'
    manifest = write(tmp_path / f"m{suffix}", raw)
    one, broken, array, no_text, two, latin = read_manifest(manifest)
    assert (one.segment_id, one.start_s, one.end_s, one.text, one.extra) == ("a_0", 0.0, 1.5, "one",
                                                                             {"human_label": 2})
    assert broken.status == BAD_TRANSCRIPT_LINE and broken.segment_id == "m_row2" and "line 3" in broken.detail
    assert array.status == BAD_TRANSCRIPT_LINE and "array" in array.detail
    assert no_text.status == BAD_TRANSCRIPT_LINE and "text" in no_text.detail and no_text.segment_id == "a_1"
    assert two.segment_id == "a_2" and two.start_clamped and two.group_id == "S1"
    assert two.extra == {"speaker": "S1"}
    assert latin.status is None and latin.text == "é" and latin.recording_id == "b"  # cp1252, repaired
    assert "decoded as cp1252" in latin.detail


def test_jsonl_missing_column_everywhere_raises(tmp_path):
    manifest = write(tmp_path / "m.jsonl", json.dumps({"audio_path": "a.wav", "start": 0, "text": "x"}) + "\n")
    with pytest.raises(CorpusError, match="end"):
        read_manifest(manifest)


# ------------------------------------------------------------------------------------------- Parquet
def test_parquet(tmp_path):
    frame = pd.DataFrame({
        "audio_path": ["a.wav", "a.wav", "sub/b.wav", None],
        "start": [0.0, -0.5, 2.0, 0.0],
        "end": [1.0, 2.0, 1.0, 1.0],
        "text": ["hello", "clamped", "backwards", "no audio"],
        "human_label": [1, None, 0, 1],
        "segment_id": [None, "given", None, None],
    })
    manifest = tmp_path / "m.parquet"
    frame.to_parquet(manifest)
    hello, clamped, backwards, no_audio = read_manifest(manifest)
    assert (hello.segment_id, hello.text, hello.audio_path) == ("a_0", "hello", str((tmp_path / "a.wav").resolve()))
    assert hello.extra == {"human_label": 1.0}
    assert clamped.segment_id == "given" and clamped.start_clamped and clamped.extra == {}
    assert backwards.recording_id == "sub/b" and backwards.status == BAD_TIMESTAMPS
    assert no_audio.status == BAD_TRANSCRIPT_LINE and "audio_path" in no_audio.detail


def test_parquet_missing_column_raises(tmp_path):
    manifest = tmp_path / "m.parquet"
    pd.DataFrame({"audio_path": ["a.wav"], "begin": [0.0], "end": [1.0], "text": ["x"]}).to_parquet(manifest)
    with pytest.raises(CorpusError, match="start") as info:
        read_manifest(manifest)
    assert "\n" not in str(info.value) and "m.parquet" in str(info.value)


def test_corrupt_parquet_raises_corpus_error(tmp_path):
    manifest = write(tmp_path / "m.parquet", b"not a parquet file at all")
    with pytest.raises(CorpusError, match="m.parquet"):
        read_manifest(manifest)


# ------------------------------------------------------------------------------------------- whole-file errors
def test_missing_columns_named_in_one_line(tmp_path):
    manifest = write(tmp_path / "m.csv", "path,start,stop,text\na.wav,0,1,x\n")
    with pytest.raises(CorpusError) as info:
        read_manifest(manifest)
    message = str(info.value)
    assert "m.csv" in message and "audio_path" in message and "end" in message and "\n" not in message
    assert "text" not in message.split("(found")[0]  # present columns are not reported missing


def test_unknown_suffix_and_missing_file(tmp_path):
    with pytest.raises(CorpusError, match="unknown manifest format"):
        read_manifest(write(tmp_path / "m.xlsx", "audio_path,start,end,text\n"))
    with pytest.raises(CorpusError, match="does not exist"):
        read_manifest(tmp_path / "absent.csv")
    with pytest.raises(CorpusError, match="empty"):
        read_manifest(write(tmp_path / "empty.csv", "\n\n"))
    assert ".csv" in MANIFEST_SUFFIXES and ".parquet" in MANIFEST_SUFFIXES


def test_dispatcher_reads_manifest(tmp_path):
    manifest = write(tmp_path / "m.csv", "audio_path,start,end,text\na.wav,0,1,hi\n")
    (seg,) = read_corpus("auto", manifest)
    assert seg.segment_id == "a_0"
    header_only = write(tmp_path / "h.csv", "audio_path,start,end,text\n")
    assert read_manifest(header_only) == []
    with pytest.raises(CorpusError, match="no transcript segments"):
        read_corpus("manifest", header_only)


# ------------------------------------------------------------------------------------------- times
def test_times_as_seconds_or_clock_times(tmp_path):
    manifest = write(tmp_path / "m.tsv",
                     "audio_path\tstart\tend\ttext\n"
                     "a.wav\t00:01:02.500\t00:01:04,250\thours minutes seconds\n"
                     "a.wav\t1:05.5\t1:07\tminutes seconds\n"
                     "a.wav\t67,5\t68,25\tdecimal comma\n"
                     "a.wav\t70\t71.5\tplain seconds\n"
                     "a.wav\t1:2:3:4\t80\tnot a time\n")
    hms, ms, comma, plain, bad = read_manifest(manifest)
    assert (hms.start_s, hms.end_s, hms.status) == (62.5, 64.25, None)
    assert (ms.start_s, ms.end_s) == (65.5, 67.0)
    assert (comma.start_s, comma.end_s) == (67.5, 68.25)
    assert (plain.start_s, plain.end_s) == (70.0, 71.5)
    assert bad.status == BAD_TIMESTAMPS and "[hh:]mm:ss" in bad.detail and "row 5" in bad.detail


def test_clock_times_in_jsonl_and_parquet(tmp_path):
    jsonl = write(tmp_path / "m.jsonl", json.dumps({"audio_path": "a.wav", "start": "00:00:01.5", "end": "00:00:03",
                                                    "text": "hi"}) + "\n")
    (seg,) = read_manifest(jsonl)
    assert (seg.start_s, seg.end_s, seg.status) == (1.5, 3.0, None)
    parquet = tmp_path / "m.parquet"
    pd.DataFrame({"audio_path": ["a.wav"], "start": ["01:00"], "end": ["01:02,5"], "text": ["x"]}).to_parquet(parquet)
    (seg,) = read_manifest(parquet)
    assert (seg.start_s, seg.end_s) == (60.0, 62.5)


HUGE = int("9" * 400)  # an integer no float can hold: float(HUGE) raises OverflowError


@pytest.mark.parametrize("kind", ["jsonl", "parquet", "csv", "tsv"])
def test_hostile_times_fail_only_their_row(tmp_path, kind):
    # Issue 21: a 400-digit end ended the build with OverflowError; JSON booleans were read as 0-1 s.
    rows = [("a.wav", 0, HUGE, "huge end"), ("a.wav", False, True, "booleans"),
            ("a.wav", "9" * 400 + ":00:00", "9" * 400 + ":00:01.5", "huge clock"), ("a.wav", 1, 2, "fine")]
    manifest = tmp_path / f"m.{kind}"
    if kind == "jsonl":
        write(manifest, "".join(json.dumps(dict(zip(("audio_path", "start", "end", "text"), r))) + "\n"
                                for r in rows))
    elif kind == "parquet":  # a column holds one type: the booleans and the huge numbers in their own files
        pd.DataFrame({"audio_path": ["a.wav"] * 2, "start": [False, True], "end": [True, True],
                      "text": ["booleans", "too"]}).to_parquet(manifest)
        booleans, too = read_manifest(manifest)
        assert booleans.status == too.status == BAD_TIMESTAMPS
        pd.DataFrame({"audio_path": ["a.wav"] * 2, "start": ["0", str(rows[2][1])], "end": [str(HUGE), "1"],
                      "text": ["huge end", "huge clock"]}).to_parquet(manifest)
        huge, clock = read_manifest(manifest)
        assert huge.status == clock.status == BAD_TIMESTAMPS and "row 1" in huge.detail
        return
    else:
        sep = "," if kind == "csv" else "\t"
        write(manifest, "audio_path,start,end,text\n".replace(",", sep)
              + "".join(sep.join(str(v).lower() if isinstance(v, bool) else str(v) for v in r) + "\n" for r in rows))
    huge, booleans, clock, fine = read_manifest(manifest)
    for seg in (huge, booleans, clock):
        assert seg.status == BAD_TIMESTAMPS, seg
        assert len(seg.detail) < 300, seg.detail  # a 400-digit number is not repeated in full
    assert "row 1" in huge.detail and "row 2" in booleans.detail
    assert fine.status is None and (fine.start_s, fine.end_s) == (1.0, 2.0)
