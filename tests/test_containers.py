"""Audio libsndfile cannot read (M4A/AAC, MP4 with video), decoded through PyAV's FFmpeg, span by span.

The fixtures are encoded here with PyAV's own AAC (and MPEG-4 video) encoder: no ffmpeg binary needed.
"""
from __future__ import annotations

import numpy as np
import pytest
import soxr

from weaklabel.audio import AudioDecodeError, AudioReader
from weaklabel.containers import ContainerAudio, ContainerError

av = pytest.importorskip("av")


def write_aac(path, samples: np.ndarray, sr: int, video: bool = False, codec: str = "aac") -> None:
    """Encode float32 ``samples`` of shape (n, channels) as AAC (or ``codec``) into ``path`` (the container
    from its suffix), with a tiny MPEG-4 video stream first when ``video``."""
    channels = samples.shape[1]
    with av.open(str(path), mode="w") as out:
        if video:
            picture = out.add_stream("mpeg4", rate=10)
            picture.width, picture.height, picture.pix_fmt = 32, 32, "yuv420p"
        sound = out.add_stream(codec, rate=sr)
        sound.layout = "mono" if channels == 1 else "stereo"
        for i in range(0, len(samples), 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[i:i + 1024].T), format="fltp",
                                               layout=sound.layout.name)
            frame.sample_rate, frame.pts = sr, i
            for packet in sound.encode(frame):
                out.mux(packet)
            if video and i % (sr // 10) < 1024:
                for packet in picture.encode(av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8),
                                                                         format="rgb24")):
                    out.mux(packet)
        for packet in sound.encode(None):
            out.mux(packet)
        if video:
            for packet in picture.encode(None):
                out.mux(packet)


def _tone(sr: int, seconds: float = 6.0) -> np.ndarray:
    """A sweep from 200 Hz up by 60 Hz per second whose loudness swells at 0.7 Hz, so that a span read from
    the wrong place (by more than a few ms) does not match; float32 (n,)."""
    t = np.arange(int(seconds * sr)) / sr
    phase = 2 * np.pi * (200 * t + 30 * t ** 2)
    return (0.5 * np.sin(phase) * (1 + 0.5 * np.sin(2 * np.pi * 0.7 * t))).astype(np.float32)


@pytest.mark.parametrize("suffix,sr,channels,video,codec", [
    (".m4a", 44100, 1, False, "aac"), (".mp4", 48000, 2, True, "aac"), (".aac", 22050, 1, False, "aac"),
    (".webm", 48000, 1, False, "libopus"),  # what yt-dlp downloads as audio
])
def test_audio_reader_decodes_spans_of_containers(tmp_path, suffix, sr, channels, video, codec):
    """Spans match the source to within 1 ms. A bare ADTS ``.aac`` carries no record of the encoder's
    1024-sample priming delay, so its audio arrives exactly that much late (as from any decoder)."""
    tone = _tone(sr)
    data = tone[:, None] if channels == 1 else np.stack([tone, np.zeros_like(tone)], axis=1)
    path = tmp_path / f"talk{suffix}"
    write_aac(path, data, sr, video=video, codec=codec)
    with AudioReader(str(path)) as reader:
        assert reader.native_sr == sr and reader.channels == channels
        assert reader.duration_s == pytest.approx(6.0, abs=0.25)  # raw ADTS AAC: estimated from the bitrate
        span = reader.read_span(2.0, 3.5)
        late = reader.read_span(4.0, 4.5)  # seeking forward and back again
        early = reader.read_span(0.5, 1.0)
    for got, (a, b) in ((span, (2.0, 3.5)), (late, (4.0, 4.5)), (early, (0.5, 1.0))):
        assert got.dtype == np.float32 and got.shape == (int(round((b - a) * 16000)),)
        delay = 1024 if suffix == ".aac" else 0
        expected = soxr.resample(tone[int(a * sr) - delay:int(b * sr) - delay], sr, 16000) / channels  # channel mean
        mid = slice(1000, len(got) - 1000)
        # the right span, aligned within 1 ms (WebM stores times in ms; Opus shifts by ~0.5 ms)
        best = max(np.corrcoef(got[mid], np.roll(expected, lag)[mid])[0, 1] for lag in range(-16, 17))
        assert best > 0.99
        assert np.sqrt(np.mean(got[mid] ** 2)) == pytest.approx(np.sqrt(np.mean(expected[mid] ** 2)), rel=0.05)


def test_reading_past_the_end_returns_what_is_there(tmp_path):
    path = tmp_path / "a.m4a"
    write_aac(path, _tone(16000, 2.0)[:, None], 16000)
    audio = ContainerAudio(str(path))
    audio.seek(int(1.5 * 16000))
    tail = audio.read(16000)
    audio.seek(5 * 16000)
    beyond = audio.read(16000)
    audio.close()
    assert 0 < len(tail) < 16000 and tail.shape[1] == 1
    assert beyond.shape == (0, 1)


def test_file_without_audio_or_not_media_says_how_to_convert(tmp_path):
    text = tmp_path / "notes.m4a"
    text.write_bytes(b"this is not audio at all\n" * 20)
    with pytest.raises(AudioDecodeError) as info:
        AudioReader(str(text))
    message = str(info.value)
    assert message.startswith("cannot open audio") and "libsndfile" in message and "FFmpeg" in message
    assert "convert it to WAV" in message and "ffmpeg -i" in message
    silent = tmp_path / "silent.mp4"
    with av.open(str(silent), mode="w") as out:
        picture = out.add_stream("mpeg4", rate=10)
        picture.width, picture.height, picture.pix_fmt = 32, 32, "yuv420p"
        for _ in range(3):
            for packet in picture.encode(av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")):
                out.mux(packet)
        for packet in picture.encode(None):
            out.mux(packet)
    with pytest.raises(ContainerError, match="no audio stream"):
        ContainerAudio(str(silent))
