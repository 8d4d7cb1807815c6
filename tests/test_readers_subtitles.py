"""The subtitle reader: audio files with a sibling .srt, .vtt or Whisper .json."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from weaklabel.errors import CorpusError
from weaklabel.readers import read_corpus
from weaklabel.readers.subtitles import (AUDIO_SUFFIXES, SUBTITLE_SUFFIXES, Cue, CueError, parse_srt,
                                         parse_vtt, parse_whisper_json, read_subtitle_corpus)
from weaklabel.segments import BAD_ENCODING, BAD_TIMESTAMPS, BAD_TRANSCRIPT_LINE, EMPTY_TEXT


def write(path: Path, content: str | bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


# ------------------------------------------------------------------------------------------- SRT
SRT = """1
00:00:01,000 --> 00:00:02,500
<i>Hello</i> there,
<b>two lines</b>

2
00:00:03.250 --> 00:00:04,000
{\\an8}<font color="#ffff00">Top text</font>

3
00:00:05,000 --> not a time
broken

00:01:00,000 --> 01:00:00,000
no index
4
00:00:07,000 --> 00:00:08,000
glued without a blank line
"""


def test_parse_srt():
    cues = parse_srt(SRT)
    assert len(cues) == 5
    first, second, bad, no_index, glued = cues
    assert first == Cue(1.0, 2.5, "Hello there, two lines", None, 1)
    assert (second.start_s, second.end_s, second.text) == (3.25, 4.0, "Top text")
    assert isinstance(bad, CueError) and "does not parse" in bad.reason and bad.line == 10
    assert (no_index.start_s, no_index.end_s, no_index.text) == (60.0, 3600.0, "no index")
    assert (glued.start_s, glued.text) == (7.0, "glued without a blank line")


def test_parse_srt_block_without_time_line_and_crlf():
    cues = parse_srt("\ufeff1\r\n00:00:01,000 --> 00:00:02,000\r\nok\r\n\r\njust some text\r\nmore\r\n")
    assert cues[0] == Cue(1.0, 2.0, "ok", None, 1)
    assert isinstance(cues[1], CueError) and "no time line" in cues[1].reason and cues[1].line == 5


# ------------------------------------------------------------------------------------------- VTT
VTT = """WEBVTT - a title
Kind: captions
Language: en

NOTE this is a comment
spanning lines

STYLE
::cue { color: yellow }

intro-cue
00:01.000 --> 00:02.500 align:start position:10%
<v.loud Alice Smith>Hi &amp; <c.yellow>welcome</c></v>

00:00:03.000 --> 00:00:04.000
<v Bob>Karaoke <00:00:03.500>style &lt;tag&gt;&nbsp;text</v>

01:00:00.000 --> 01:00:01.000 line:0
<i>hour</i> cue

00:05.000 -> 00:06.000
arrow typo
"""


def test_parse_vtt():
    cues = parse_vtt(VTT)
    assert len(cues) == 4
    intro, karaoke, hour, typo = cues
    assert intro == Cue(1.0, 2.5, "Hi & welcome", "Alice Smith", 11)
    assert karaoke == Cue(3.0, 4.0, "Karaoke style <tag> text", "Bob", 15)
    assert (hour.start_s, hour.end_s, hour.text, hour.speaker) == (3600.0, 3601.0, "hour cue", None)
    assert isinstance(typo, CueError) and typo.line == 21


def test_parse_vtt_cue_glued_to_header():
    assert parse_vtt("WEBVTT\n00:01.000 --> 00:02.000\nfirst\n") == [Cue(1.0, 2.0, "first", None, 2)]


def test_parse_vtt_drops_ruby_annotations():
    (cue,) = parse_vtt("WEBVTT\n\n00:01.000 --> 00:02.000\n<ruby>漢<rt>kan</rt></ruby>字\n")
    assert cue.text == "漢字"


# ------------------------------------------------------------------------------------------- Whisper JSON
def test_parse_whisper_object_and_list():
    obj = {"text": "whole", "language": "en", "segments": [
        {"id": 0, "start": 0.0, "end": 1.5, "text": " Hello world.", "speaker": "SPEAKER_00"},
        {"id": 1, "start": 1.5, "text": " no end"},
        "not an object",
        {"start": "x", "end": 2, "text": "bad time"},
        {"start": 2.0, "end": 3.0, "text": " plain"},
    ]}
    cues = parse_whisper_json(json.dumps(obj))
    assert cues[0] == Cue(0.0, 1.5, "Hello world.", "SPEAKER_00", None)
    assert isinstance(cues[1], CueError) and "end" in cues[1].reason
    assert isinstance(cues[2], CueError) and isinstance(cues[3], CueError)
    assert cues[4] == Cue(2.0, 3.0, "plain", None, None)
    as_list = parse_whisper_json(json.dumps(obj["segments"][:1]))
    assert as_list == [Cue(0.0, 1.5, "Hello world.", "SPEAKER_00", None)]


def test_parse_whisper_invalid_json_is_one_error():
    (error,) = parse_whisper_json('{"segments": [\n{"start": 0,, }]}')
    assert isinstance(error, CueError) and "not valid JSON" in error.reason and error.line == 2
    (shape,) = parse_whisper_json('{"text": "no segments"}')
    assert isinstance(shape, CueError) and "segments" in shape.reason


# ------------------------------------------------------------------------------------------- corpus reader
def test_reads_pairs_recursively_with_ids(tmp_path):
    root = tmp_path / "corpus"
    write(root / "talk.wav")
    write(root / "talk.srt", "1\n00:00:00,500 --> 00:00:02,000\nfirst\n\n2\n00:00:02,000 --> 00:00:03,000\nsecond\n")
    write(root / "sub" / "deep" / "ep1.flac")
    write(root / "sub" / "deep" / "ep1.vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\n<v Ann>hi</v>\n")
    write(root / "lonely.mp3")  # no subtitle: skipped
    write(root / "notes.srt", "1\n00:00:01,000 --> 00:00:02,000\nno audio\n")  # no audio: skipped
    segs = read_subtitle_corpus(root)
    assert [s.segment_id for s in segs] == ["sub/deep/ep1_0", "talk_0", "talk_1"]
    ep, first, second = segs
    assert ep.recording_id == "sub/deep/ep1" and ep.group_id == "sub/deep/ep1"
    assert ep.extra == {"speaker": "Ann"} and ep.text == "hi"
    assert ep.audio_path == str((root / "sub" / "deep" / "ep1.flac").resolve()) and os.path.isabs(ep.audio_path)
    assert (first.start_s, first.end_s, first.text, first.extra) == (0.5, 2.0, "first", {})
    assert first.recording_id == "talk" and first.group_id == "talk" and second.status is None


def test_single_audio_file_root(tmp_path):
    audio = write(tmp_path / "one.ogg")
    write(tmp_path / "one.srt", "00:00:01,000 --> 00:00:02,000\nsolo\n")
    write(tmp_path / "two.wav")
    write(tmp_path / "two.srt", "00:00:01,000 --> 00:00:02,000\nnot read\n")
    (seg,) = read_subtitle_corpus(audio)
    assert (seg.recording_id, seg.segment_id, seg.text) == ("one", "one_0", "solo")


def test_validation_and_cue_errors_keep_stable_ids(tmp_path):
    write(tmp_path / "r.wav")
    write(tmp_path / "r.json", json.dumps({"segments": [
        {"start": -0.3, "end": 1.0, "text": "clamped"},
        {"start": 2.0, "end": 2.0, "text": "zero"},
        {"start": 3.0, "end": 4.0, "text": "   "},
        {"start": 4.0, "text": "missing end"},
        {"start": 5.0, "end": 6.0, "text": "last"},
    ]}))
    clamped, zero, empty, missing, last = read_subtitle_corpus(tmp_path)
    assert clamped.start_clamped and clamped.start_s == 0.0 and clamped.status is None
    assert zero.status == BAD_TIMESTAMPS and "r.json, cue 2" in zero.detail
    assert empty.status == EMPTY_TEXT
    assert missing.status == BAD_TRANSCRIPT_LINE and "r.json" in missing.detail and "cue 4" in missing.detail
    assert missing.segment_id == "r_3" and last.segment_id == "r_4" and last.status is None


def test_malformed_srt_block_fails_alone(tmp_path):
    write(tmp_path / "a.wav")
    write(tmp_path / "a.srt", "1\n00:00:01,000 --> 00:00:02,000\ngood\n\n"
                              "2\n00:00:0x,000 --> 00:00:03,000\nbad time\n\n"
                              "3\n00:00:04,000 --> 00:00:05,000\nalso good\n")
    good, bad, also = read_subtitle_corpus(tmp_path)
    assert bad.status == BAD_TRANSCRIPT_LINE and bad.segment_id == "a_1"
    assert "a.srt" in bad.detail and "cue 2" in bad.detail and "line 5" in bad.detail
    assert good.status is None and also.status is None and also.text == "also good"


def test_non_utf8_bytes_fail_only_their_cue(tmp_path):
    write(tmp_path / "a.wav")
    write(tmp_path / "a.srt", b"\xef\xbb\xbf1\n00:00:01,000 --> 00:00:02,000\ncaf\xc3\xa9 ok\n\n"
                              b"2\n00:00:02,000 --> 00:00:03,000\ncaf\xe9 latin-1\n\n"
                              b"3\n00:00:03,000 --> 00:00:04,000\nfine again\n")
    ok, latin, fine = read_subtitle_corpus(tmp_path)
    assert ok.status is None and ok.text == "café ok"  # BOM stripped, UTF-8 read
    assert latin.status == BAD_ENCODING and latin.segment_id == "a_1" and "cue 2" in latin.detail
    assert latin.text == "caf\ufffd latin-1"
    assert fine.status is None and fine.text == "fine again"


def test_non_utf8_in_whisper_json_string_fails_only_that_segment(tmp_path):
    write(tmp_path / "w.wav")
    write(tmp_path / "w.json", b'[{"start": 0, "end": 1, "text": "ok"}, {"start": 1, "end": 2, "text": "\xff"}]')
    ok, bad = read_subtitle_corpus(tmp_path)
    assert ok.status is None and bad.status == BAD_ENCODING


def test_subtitle_preference_order_is_noted(tmp_path):
    write(tmp_path / "talk.wav")
    write(tmp_path / "talk.vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\nfrom vtt\n")
    write(tmp_path / "talk.srt", "1\n00:00:01,000 --> 00:00:02,000\nfrom srt\n")
    segs = read_subtitle_corpus(tmp_path)
    assert [s.text for s in segs] == ["from srt"]
    assert "talk.srt" in segs[0].detail and "talk.vtt" in segs[0].detail
    write(tmp_path / "talk.json", json.dumps({"segments": [{"start": 1, "end": 2, "text": "from json"},
                                                           {"start": 2, "end": 3, "text": "second"}]}))
    first, second = read_subtitle_corpus(tmp_path)
    assert (first.text, second.text) == ("from json", "second")
    assert "talk.json" in first.detail and "talk.srt" in first.detail and second.detail == ""
    assert SUBTITLE_SUFFIXES == (".json", ".srt", ".vtt") and ".wav" in AUDIO_SUFFIXES


def test_invalid_whisper_json_is_one_failed_segment(tmp_path):
    write(tmp_path / "x.wav")
    write(tmp_path / "x.json", "{oops")
    (seg,) = read_subtitle_corpus(tmp_path)
    assert seg.status == BAD_TRANSCRIPT_LINE and seg.segment_id == "x_0" and "x.json" in seg.detail


def test_no_pairs_gives_empty_list_and_dispatcher_raises(tmp_path):
    write(tmp_path / "a.wav")
    write(tmp_path / "b.srt", "1\n00:00:01,000 --> 00:00:02,000\nx\n")
    assert read_subtitle_corpus(tmp_path) == []
    with pytest.raises(CorpusError, match="no transcript segments"):
        read_corpus("subtitles", tmp_path)
    with pytest.raises(CorpusError, match="does not exist"):
        read_subtitle_corpus(tmp_path / "absent")


def test_dispatcher_auto_reads_subtitle_folder(tmp_path):
    write(tmp_path / "a.wav")
    write(tmp_path / "a.vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\nauto\n")
    (seg,) = read_corpus("auto", tmp_path)
    assert seg.text == "auto" and seg.segment_id == "a_0"
