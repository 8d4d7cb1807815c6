"""The subtitle reader: audio files with a sibling .srt, .vtt or Whisper .json."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from weaklabel.errors import CorpusError
from weaklabel.readers import read_corpus
from weaklabel.readers.cues import Cue, CueError, parse_srt, parse_vtt
from weaklabel.readers.subtitles import AUDIO_SUFFIXES, SUBTITLE_SUFFIXES, read_subtitle_corpus
from weaklabel.readers.whisper_json import parse_whisper_json
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


def test_legacy_encoded_cue_is_repaired_and_only_unreadable_bytes_fail(tmp_path):
    write(tmp_path / "a.wav")
    write(tmp_path / "a.srt", b"\xef\xbb\xbf1\n00:00:01,000 --> 00:00:02,000\ncaf\xc3\xa9 ok\n\n"
                              b"2\n00:00:02,000 --> 00:00:03,000\ncaf\xe9 latin-1 \x93quoted\x94\n\n"
                              b"3\n00:00:03,000 --> 00:00:04,000\nfine again\n\n"
                              b"4\n00:00:04,000 --> 00:00:05,000\nbad \x81\x8d\x8f\x90\x9d bytes\n")
    ok, latin, fine, bad = read_subtitle_corpus(tmp_path)
    assert ok.status is None and ok.text == "café ok" and ok.detail == ""  # BOM stripped, UTF-8 read
    # a cp1252 line (a Windows tool) is decoded, kept, and says so
    assert latin.status is None and latin.text == "café latin-1 \u201cquoted\u201d"
    assert "cue 2" in latin.detail and "decoded as cp1252" in latin.detail
    assert fine.status is None and fine.detail == ""
    # bytes that cp1252 cannot read either fail their cue only
    assert bad.status == BAD_ENCODING and bad.segment_id == "a_3" and "cue 4" in bad.detail
    assert bad.text == "bad \ufffd\ufffd\ufffd\ufffd\ufffd bytes"


def test_transcript_in_another_legacy_encoding_is_detected(tmp_path):
    write(tmp_path / "ru.wav")
    text = "1\n00:00:01,000 --> 00:00:03,000\nПривет, как дела? Это прекрасный день.\n"
    write(tmp_path / "ru.srt", text.encode("cp1251"))
    (seg,) = read_subtitle_corpus(tmp_path)
    assert seg.status is None and seg.text == "Привет, как дела? Это прекрасный день."
    assert "decoded as cp1251" in seg.detail


def test_whisper_json_in_cp1252_is_repaired_and_a_lone_surrogate_fails_alone(tmp_path):
    write(tmp_path / "w.wav")
    write(tmp_path / "w.json", b'[{"start": 0, "end": 1, "text": "ok"}, {"start": 1, "end": 2, "text": "caf\xe9"},'
                               b' {"start": 2, "end": 3, "text": "\\ud800 broken"}]')
    ok, cafe, broken = read_subtitle_corpus(tmp_path)
    assert ok.status is None and ok.detail == ""
    assert cafe.status is None and cafe.text == "café" and "decoded as cp1252" in cafe.detail
    assert broken.status == BAD_ENCODING and broken.segment_id == "w_2"


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


# ------------------------------------------------------------------------------------------- captions as tools write them
def test_srt_html_entities_are_decoded():
    (cue,) = parse_srt("1\n00:00:01,000 --> 00:00:02,000\nTom &amp; Jerry &lt;3 &quot;hi&quot;\n")
    assert cue.text == 'Tom & Jerry <3 "hi"'


def test_vtt_cue_with_two_voices_lists_both_speakers():
    (cue,) = parse_vtt("WEBVTT\n\n00:01.000 --> 00:03.000\n<v Alice>Are you coming?</v>\n<v Bob>Yes I am.</v>\n")
    assert cue.text == "Are you coming? Yes I am." and cue.speaker == "Alice, Bob"
    assert "2 voices" in cue.note


def test_vtt_whitespace_only_line_is_cue_text_not_a_separator():
    (cue,) = parse_vtt("WEBVTT\n\n00:00:01.000 --> 00:00:02.000 align:start position:0%\n \nhello there\n")
    assert cue == Cue(1.0, 2.0, "hello there", None, 3)


#: YouTube's automatic captions as yt-dlp writes them: a whitespace-only row, word timestamps, every cue
#: repeating the previous line, and 10 ms cues holding only the line just finished.
YOUTUBE_AUTO = """WEBVTT
Kind: captions
Language: en

00:00:00.160 --> 00:00:02.790 align:start position:0%
 
so<00:00:00.480><c> today</c><00:00:00.880><c> we're</c><00:00:01.040><c> going</c><00:00:01.280><c> to</c><00:00:01.360><c> talk</c>

00:00:02.790 --> 00:00:02.800 align:start position:0%
so today we're going to talk
 

00:00:02.800 --> 00:00:05.430 align:start position:0%
so today we're going to talk
about<00:00:03.120><c> something</c><00:00:03.600><c> wonderful</c>

00:00:05.430 --> 00:00:05.440 align:start position:0%
about something wonderful
 

00:00:05.440 --> 00:00:08.000 align:start position:0%
about something wonderful
and<00:00:05.800><c> I</c><00:00:05.900><c> hate</c><00:00:06.200><c> waiting</c>
"""


def test_youtube_auto_captions_become_lines_with_true_times():
    cues = parse_vtt(YOUTUBE_AUTO)
    assert all(isinstance(c, Cue) for c in cues)
    assert [(c.start_s, c.end_s, c.text) for c in cues] == [
        (0.16, 2.79, "so today we're going to talk"),
        (2.80, 5.43, "about something wonderful"),
        (5.44, 8.0, "and I hate waiting"),
    ]
    assert cues[0].line == 5 and "rolling captions" in cues[0].note


def test_punctuated_rolling_captions_split_at_sentence_ends_with_word_times():
    vtt = ("WEBVTT\n\n"
           "00:00:01.000 --> 00:00:03.000\n \nI<00:00:01.400><c> love</c><00:00:01.800><c> this.</c><00:00:02.300><c> But</c>\n\n"
           "00:00:03.000 --> 00:00:03.010\nI love this. But\n \n\n"
           "00:00:03.010 --> 00:00:05.000\nI love this. But\nthe<00:00:03.500><c> ending</c><00:00:04.000><c> was</c>"
           "<00:00:04.400><c> awful.</c>\n\n"
           "00:00:05.000 --> 00:00:05.010\nthe ending was awful.\n \n")
    first, second = parse_vtt(vtt)
    assert (first.start_s, first.end_s, first.text) == (1.0, 2.3, "I love this.")  # ends where "But" starts
    assert (second.start_s, second.end_s, second.text) == (2.3, 5.0, "But the ending was awful.")
    assert "lines" in second.note  # merged across cues


def test_plain_vtt_with_a_karaoke_cue_is_not_unrolled():
    cues = parse_vtt(VTT)
    assert [c.note for c in cues if isinstance(c, Cue)] == ["", "", ""]


def test_youtube_auto_captions_read_as_segments_without_failures(tmp_path):
    write(tmp_path / "talk.wav")
    write(tmp_path / "talk.en.vtt", YOUTUBE_AUTO)
    segs = read_corpus("auto", tmp_path)
    assert [s.status for s in segs] == [None, None, None]
    assert [s.segment_id for s in segs] == ["talk_0", "talk_1", "talk_2"]
    assert segs[2].text == "and I hate waiting" and (segs[2].start_s, segs[2].end_s) == (5.44, 8.0)


def test_yt_dlp_language_suffix_pairs_with_the_recording(tmp_path):
    write(tmp_path / "talk.m4a")
    write(tmp_path / "talk.de.vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\nhallo\n")
    write(tmp_path / "talk.en-US.srt", "1\n00:00:01,000 --> 00:00:02,000\nhello\n")
    write(tmp_path / "other.en.vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\nno audio for me\n")
    (seg,) = read_subtitle_corpus(tmp_path)
    assert (seg.recording_id, seg.text) == ("talk", "hello")  # English preferred: the scorers read English
    assert "talk.en-US.srt" in seg.detail and "talk.de.vtt" in seg.detail
    assert seg.audio_path.endswith("talk.m4a")
    # the same stem still wins over a language-tagged file, and a single audio file as --root pairs too
    write(tmp_path / "talk.vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\nplain\n")
    (seg,) = read_subtitle_corpus(tmp_path / "talk.m4a")
    assert seg.text == "plain"
    (seg,) = read_subtitle_corpus(tmp_path / "talk.de.vtt")
    assert (seg.recording_id, seg.text) == ("talk", "hallo")


def test_audio_named_with_a_dot_keeps_its_own_subtitle(tmp_path):
    write(tmp_path / "talk.en.wav")
    write(tmp_path / "talk.wav")
    write(tmp_path / "talk.en.srt", "1\n00:00:01,000 --> 00:00:02,000\nmine\n")
    segs = read_subtitle_corpus(tmp_path)
    assert [(s.recording_id, s.text) for s in segs] == [("talk.en", "mine")]


# ------------------------------------------------------------------------------------------- JSON shapes
def test_whisper_cpp_json():
    data = {"systeminfo": "AVX = 1", "model": {"type": "base"}, "params": {"language": "en"},
            "result": {"language": "en"}, "transcription": [
                {"timestamps": {"from": "00:00:00,000", "to": "00:00:02,500"}, "offsets": {"from": 0, "to": 2500},
                 "text": " I love this."},
                {"timestamps": {"from": "00:00:02,500", "to": "00:01:04,040"}, "text": " Only clock times."},
                {"offsets": {"from": 5000}, "text": " no end"}]}
    first, second, third = parse_whisper_json(json.dumps(data))
    assert first == Cue(0.0, 2.5, "I love this.", None, None)
    assert (second.start_s, second.end_s) == (2.5, 64.04)
    assert isinstance(third, CueError)


def test_hugging_face_chunks_and_insanely_fast_whisper_speakers():
    hf = {"text": " Hello there. General Kenobi.", "chunks": [
        {"timestamp": [0.0, 1.2], "text": " Hello there."}, {"timestamp": [1.5, 3.0], "text": " General Kenobi."},
        {"timestamp": [3.0, None], "text": " open ended"}]}
    hello, kenobi, open_ended = parse_whisper_json(json.dumps(hf))
    assert hello == Cue(0.0, 1.2, "Hello there.", None, None) and kenobi.start_s == 1.5
    assert isinstance(open_ended, CueError) and "no end time" in open_ended.reason
    ifw = {"speakers": [{"speaker": "SPEAKER_01", "timestamp": [0.5, 2.0], "text": " Hi."}],
           "chunks": [{"timestamp": [0.5, 2.0], "text": " Hi."}], "text": " Hi."}
    assert parse_whisper_json(json.dumps(ifw)) == [Cue(0.5, 2.0, "Hi.", "SPEAKER_01", None)]


def test_word_level_chunks_are_joined_into_sentences():
    words = [("I", 0.0, 0.2), ("really", 0.2, 0.6), ("like", 0.6, 0.9), ("it.", 0.9, 1.2),
             ("Then", 1.4, 1.6), ("it", 1.6, 1.7), ("broke.", 1.7, 2.2)]
    data = {"text": "", "chunks": [{"timestamp": [s, e], "text": f" {w}"} for w, s, e in words]}
    first, second = parse_whisper_json(json.dumps(data))
    assert (first.start_s, first.end_s, first.text) == (0.0, 1.2, "I really like it.")
    assert (second.start_s, second.end_s, second.text) == (1.4, 2.2, "Then it broke.")
    assert "7 word chunks" not in first.note and "4 word chunks" in first.note


def test_unknown_json_shape_names_the_shapes_read():
    (error,) = parse_whisper_json('{"results": []}')
    assert isinstance(error, CueError)
    for key in ("segments", "transcription", "chunks", "whisper.cpp", "'results'"):
        assert key in error.reason


def test_whisper_cpp_file_read_as_segments(tmp_path):
    write(tmp_path / "w.wav")
    write(tmp_path / "w.json", json.dumps({"transcription": [
        {"offsets": {"from": 1000, "to": 2000}, "text": " one"}, {"offsets": {"from": 2000, "to": 3500}, "text": " two"}]}))
    one, two = read_subtitle_corpus(tmp_path)
    assert (one.start_s, one.end_s, one.text, one.status) == (1.0, 2.0, "one", None)
    assert (two.start_s, two.end_s, two.status) == (2.0, 3.5, None)


# ------------------------------------------------------------------------------------------- file names and folders
def test_non_utf8_file_name_fails_only_its_recording(tmp_path):
    root = tmp_path / "c"
    write(root / "good.wav")
    write(root / "good.srt", "1\n00:00:01,000 --> 00:00:02,000\nfine\n")
    bad_audio = os.path.join(os.fsencode(root), b"caf\xe9.wav")
    with open(bad_audio, "wb"):
        pass
    with open(os.path.join(os.fsencode(root), b"caf\xe9.srt"), "wb") as handle:
        handle.write(b"1\n00:00:01,000 --> 00:00:02,000\nlost\n")
    bad, good = sorted(read_subtitle_corpus(root), key=lambda s: s.segment_id != "caf\ufffd_0")
    assert good.status is None and good.text == "fine"
    assert bad.status == BAD_ENCODING and "not valid UTF-8" in bad.detail and "rename" in bad.detail
    assert bad.segment_id == "caf\ufffd_0" and bad.audio_path is None
    bad.segment_id.encode("utf-8")  # storable: no lone surrogates left


def test_symlinked_folders_are_followed_once_without_loops(tmp_path):
    real = tmp_path / "real"
    write(real / "a.wav")
    write(real / "a.srt", "1\n00:00:01,000 --> 00:00:02,000\nthrough a link\n")
    root = tmp_path / "root"
    root.mkdir()
    (root / "linked").symlink_to(real, target_is_directory=True)
    (real / "loop").symlink_to(root, target_is_directory=True)  # a cycle: root/linked/loop -> root
    segs = read_subtitle_corpus(root)
    assert [(s.recording_id, s.text) for s in segs] == [("linked/a", "through a link")]


# ------------------------------------------------------------------------------------------- notes and --root hints
def test_overlapping_duplicate_and_repeated_cues_are_noted(tmp_path):
    write(tmp_path / "a.wav")
    write(tmp_path / "a.srt", "1\n00:00:01,000 --> 00:00:03,000\nfirst\n\n"
                              "2\n00:00:02,500 --> 00:00:04,000\noverlapping\n\n"
                              "3\n00:00:01,000 --> 00:00:03,000\nfirst\n\n"
                              "4\n00:00:05,000 --> 00:00:06,000\nsaid once\n\n"
                              "5\n00:00:06,000 --> 00:00:06,010\nsaid once\n\n"
                              "6\n00:00:07,000 --> 00:00:08,000\nclean\n")
    first, overlapping, duplicate, once, repeat, clean = read_corpus("auto", tmp_path)
    assert first.detail == "" and clean.detail == "" and once.detail == ""
    assert "overlaps a_0 by 0.500 s" in overlapping.detail
    assert "duplicate of a_0" in duplicate.detail
    assert "repeats a_3" in repeat.detail
    assert all(s.status is None for s in (overlapping, duplicate, repeat))  # kept, with the note


def test_root_audio_file_with_transcript_is_a_corpus_and_without_one_says_what_to_add(tmp_path):
    audio = write(tmp_path / "talk.wav")
    with pytest.raises(CorpusError) as info:
        read_corpus("auto", audio)
    message = str(info.value)
    assert "talk.srt" in message and "talk.en.vtt" in message and "manifest" in message and "\n" not in message
    write(tmp_path / "talk.en.vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\nhello\n")
    (seg,) = read_corpus("auto", audio)
    assert seg.text == "hello" and seg.recording_id == "talk"


def test_root_hints_for_other_files(tmp_path):
    with pytest.raises(CorpusError, match="no audio file of the same stem"):
        read_corpus("auto", write(tmp_path / "lonely.srt", "1\n00:00:01,000 --> 00:00:02,000\nx\n"))
    with pytest.raises(CorpusError, match="save it as CSV"):
        read_corpus("auto", write(tmp_path / "sheet.xlsx", b"PK"))
    transcript = write(tmp_path / "M" / "Raw/Transcript/Segmented/Combined/v.txt", "v___0___0___1___hi\n")
    with pytest.raises(CorpusError, match=f"--root {tmp_path / 'M'}$"):
        read_corpus("auto", transcript)


def test_folder_of_audio_without_transcripts_says_so(tmp_path):
    write(tmp_path / "a.wav")
    write(tmp_path / "a.txt", "not a transcript format")
    with pytest.raises(CorpusError, match="1 audio file.*none with a transcript"):
        read_corpus("auto", tmp_path)


HUGE = int("9" * 400)  # an integer no float can hold: float(HUGE) raises OverflowError


@pytest.mark.parametrize("shape", ["segments", "chunks", "whisper.cpp offsets", "whisper.cpp timestamps"])
def test_whisper_json_hostile_times_fail_only_their_segment(tmp_path, shape):
    # Issue 21: a 400-digit end raised OverflowError and ended the build; booleans are not times either.
    def item(start, end, text):
        if shape == "segments":
            return {"start": start, "end": end, "text": text}
        if shape == "chunks":
            return {"timestamp": [start, end], "text": text}
        if shape == "whisper.cpp offsets":
            return {"offsets": {"from": start, "to": end}, "text": text}
        clock = {0: "00:00:00,000", 1: "00:00:01,000", 2: "00:00:02,000"}  # booleans stay booleans
        return {"timestamps": {"from": start if isinstance(start, bool) else clock[start],
                               "to": end if isinstance(end, bool) else clock.get(end, end)}, "text": text}

    huge_end = HUGE if shape != "whisper.cpp timestamps" else "9" * 400 + ":00:00,000"
    items = [item(0, huge_end, "huge end"), item(False, True, "booleans"), item(1, 2, "fine")]
    key = {"segments": "segments", "chunks": "chunks"}.get(shape, "transcription")
    write(tmp_path / "a.wav")
    write(tmp_path / "a.json", json.dumps({key: items}))
    huge, booleans, fine = read_subtitle_corpus(tmp_path)
    assert huge.status == BAD_TIMESTAMPS and "cue 1" in huge.detail and len(huge.detail) < 300
    assert booleans.failed and booleans.start_s is None  # not a 0-1 s clip
    assert fine.status is None and fine.end_s - fine.start_s == pytest.approx(1.0 if shape != "whisper.cpp offsets"
                                                                               else 0.001)


@pytest.mark.parametrize("suffix", [".srt", ".vtt"])
def test_subtitle_time_with_a_huge_hour_fails_only_its_cue(tmp_path, suffix):
    header = "WEBVTT\n\n" if suffix == ".vtt" else ""
    sep = "." if suffix == ".vtt" else ","
    write(tmp_path / "a.wav")
    write(tmp_path / f"a{suffix}", f"{header}1\n{'9' * 400}:00:01{sep}000 --> {'9' * 400}:00:02{sep}000\nhuge\n\n"
                                   f"2\n00:00:03{sep}000 --> 00:00:04{sep}000\nfine\n")
    huge, fine = read_subtitle_corpus(tmp_path)
    assert huge.status == BAD_TIMESTAMPS and len(huge.detail) < 300
    assert fine.status is None and (fine.start_s, fine.end_s) == (3.0, 4.0)
