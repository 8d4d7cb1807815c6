"""The CMU-MOSEI reader: legacy encodings, file names that are not UTF-8, and the published videos."""
from __future__ import annotations

import os

from weaklabel.readers import read_corpus
from weaklabel.readers.mosei import read_mosei
from weaklabel.segments import BAD_ENCODING, BAD_TRANSCRIPT_LINE

from .conftest import write_mosei


def test_cp1252_line_is_repaired_and_unreadable_bytes_fail_alone(tmp_path):
    root = write_mosei(tmp_path / "c", {"v": (5.0, [
        "v___0___0.0___1.0___plain line",
        b"v___1___1.0___2.0___caf\xe9 \x93au lait\x94",
        b"v___2___2.0___3.0___stray \x81 byte",
    ])})
    plain, cafe, stray = read_mosei(root)
    assert plain.detail == "" and plain.status is None
    assert cafe.segment_id == "v_1" and cafe.text == "café \u201cau lait\u201d" and cafe.status is None
    assert "line 2" in cafe.detail and "decoded as cp1252" in cafe.detail
    assert stray.status == BAD_ENCODING and stray.segment_id == "v_line3" and stray.text.endswith("stray \ufffd byte")


def test_transcript_name_not_utf8_fails_only_that_video(tmp_path):
    root = write_mosei(tmp_path / "c", {"good": (5.0, ["good___0___0.0___1.0___fine"])})
    folder = root / "Raw/Transcript/Segmented/Combined"
    with open(os.path.join(os.fsencode(folder), b"caf\xe9.txt"), "wb") as handle:
        handle.write(b"x___0___0.0___1.0___lost\n")
    bad, good = read_corpus("mosei", root)
    assert good.status is None and good.text == "fine"
    assert bad.status == BAD_ENCODING and bad.segment_id == "caf\ufffd_line0" and "rename" in bad.detail


def test_published_video_is_the_audio_when_the_wav_is_absent(tmp_path):
    root = write_mosei(tmp_path / "c", {"vid": (None, ["vid___0___0.0___1.0___from the video"]),
                                        "none": (None, ["none___0___0.0___1.0___nothing at all"])})
    video = root / "Raw/Videos/Full/Combined/vid.mp4"
    video.parent.mkdir(parents=True)
    video.write_bytes(b"")
    from_video, nothing = sorted(read_mosei(root), key=lambda s: s.recording_id != "vid")
    assert from_video.audio_path == str(video.resolve())
    assert nothing.audio_path.endswith("WAV_16000/none.wav")


def test_a_fifo_named_like_a_transcript_fails_without_being_read(tmp_path):
    root = write_mosei(tmp_path / "c", {"good": (5.0, ["good___0___0.0___1.0___fine"])})
    os.mkfifo(root / "Raw/Transcript/Segmented/Combined/pipe.txt")
    good, pipe = sorted(read_mosei(root), key=lambda s: s.recording_id)
    assert good.status is None
    assert pipe.status == BAD_TRANSCRIPT_LINE and "FIFO" in pipe.detail
