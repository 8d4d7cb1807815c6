"""Decode only the audio a segment needs, as mono float32 at a target rate, and fit it to a fixed length.

All times are seconds from the start of the recording; all lengths in samples are at ``target_sr``
unless a name says ``native``. Decoding goes through libsndfile (WAV, FLAC, OGG/Vorbis, Opus, MP3, AIFF, …):
a recording is opened once and each segment's span is read after a seek, so an hour-long file is never
loaded whole for one sentence.
"""
from __future__ import annotations

import hashlib
import io
import os
import struct
from dataclasses import dataclass

import numpy as np
import soundfile as sf
import soxr

from foundation.paths import require_regular_file

#: Every clip and feature is computed at this rate, Hz.
TARGET_SR = 16000
#: The fixed clip length, seconds: longer segments are cropped, shorter ones padded.
DEFAULT_CLIP_SECONDS = 7.0
#: The range of a clip length, seconds (:func:`foundation.config.option`): a clip of 10 minutes is 75 MB of
#: audio, 32 of them a worker's chunk; longer would not fit a worker's memory.
CLIP_SECONDS_RANGE = {"exclusive_minimum": 0.0, "maximum": 600.0}


def seconds_to_samples(seconds: float, sr: int = TARGET_SR) -> int:
    """A duration in seconds as a whole number of samples at ``sr`` Hz (rounded to the nearest)."""
    return int(round(seconds * sr))


class AudioDecodeError(Exception):
    """The audio file cannot be opened or decoded."""


def segment_rng(seed: int, segment_id: str) -> np.random.Generator:
    """A random generator that depends only on ``seed`` and ``segment_id``.

    Independent of processing order, worker count and machine, so crops and pads are reproducible
    byte for byte whichever process handles a segment.
    """
    digest = hashlib.sha256(segment_id.encode("utf-8")).digest()
    words = np.frombuffer(digest[:16], dtype="<u4").tolist()
    return np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, *words]))


@dataclass(frozen=True)
class ClipPlan:
    """Where a segment's audio comes from and where it lands in the fixed-length clip.

    Attributes
    ----------
    source_start_s, source_end_s : float
        The span of the recording that is decoded (seconds).
    pad_left_samples : int
        Samples of silence before the audio in the clip (0 when the segment was cropped).
    clip_samples : int
        Total clip length in samples at the target rate.
    cut_at_end : bool
        True when the segment ran past the end of the recording and was cut there.
    """

    source_start_s: float
    source_end_s: float
    pad_left_samples: int
    clip_samples: int
    cut_at_end: bool

    @property
    def source_samples(self) -> int:
        return seconds_to_samples(self.source_end_s - self.source_start_s)


def plan_clip(start_s: float, end_s: float, duration_s: float, clip_seconds: float,
              rng: np.random.Generator, sr: int = TARGET_SR) -> ClipPlan | None:
    """Plan a fixed-length clip for the segment ``[start_s, end_s)`` of a recording ``duration_s`` long.

    A segment longer than the clip is cropped at a uniformly random offset; a shorter one is placed at a
    uniformly random offset in silence. A segment running past the end of the recording is cut there.

    Returns
    -------
    ClipPlan or None
        None when the segment lies wholly outside the recording (``start_s >= duration_s``).
    """
    clip_samples = seconds_to_samples(clip_seconds, sr)
    if clip_samples <= 0:
        raise ValueError(f"clip length must be positive, got {clip_seconds} s")
    if start_s >= duration_s:
        return None
    cut_at_end = end_s > duration_s
    end_s = min(end_s, duration_s)
    segment_samples = seconds_to_samples(end_s - start_s, sr)
    if segment_samples <= 0:
        return None
    if segment_samples > clip_samples:
        offset = int(rng.integers(0, segment_samples - clip_samples + 1))
        source_start = start_s + offset / sr
        return ClipPlan(source_start, source_start + clip_samples / sr, 0, clip_samples, cut_at_end)
    pad_left = int(rng.integers(0, clip_samples - segment_samples + 1))
    return ClipPlan(start_s, start_s + segment_samples / sr, pad_left, clip_samples, cut_at_end)


class AudioReader:
    """An open recording from which spans are decoded to mono float32 at ``target_sr``.

    Use as a context manager. ``duration_s`` is what the file's header declares, or what is measured where
    the header understates it (an MP3 without a length header; a WAV whose data chunk says fewer bytes than
    follow it, as streaming writers leave it: :attr:`length_note` says so); a truncated file may hold less,
    in which case :meth:`read_span` returns fewer samples than asked.
    """

    def __init__(self, path: str, target_sr: int = TARGET_SR):
        self.path = path
        self.target_sr = target_sr
        try:
            require_regular_file(path)  # a FIFO or a device would block the open, or never end
        except OSError as exc:
            raise AudioDecodeError(f"cannot open audio {path}: {exc}") from exc
        try:
            self._file = sf.SoundFile(path)
        except Exception as exc:  # libsndfile raises several types; all mean "cannot decode"
            from weaklabel.containers import ContainerError, open_container  # M4A/AAC, MP4, WebM… via FFmpeg

            try:
                self._file = open_container(path)
            except ContainerError as ff_exc:
                raise AudioDecodeError(f"cannot open audio {path}: libsndfile: {exc}; FFmpeg: {ff_exc}. If it is "
                                       "audio, convert it to WAV (ffmpeg -i IN -ac 1 -ar 16000 OUT.wav)") from exc
        #: How the length was found when the header could not be trusted ("" otherwise); messages quote it.
        self.length_note = ""
        self._window: _ByteWindow | None = None  # the file's audio bytes, when a WAV header understates them
        if getattr(self._file, "format", None) == "MP3" and not mp3_has_length_header(path):
            self._measure_mp3(path)
        elif getattr(self._file, "format", None) == "WAV" and self._file.subtype in _PCM_BYTES:
            self._measure_wav(path)
        self.native_sr = int(self._file.samplerate)
        self.channels = int(self._file.channels)
        self.native_frames = int(self._file.frames)
        self.duration_s = self.native_frames / self.native_sr if self.native_sr else 0.0

    def _measure_mp3(self, path: str) -> None:
        """An MP3 without a Xing/Info/VBRI header: libsndfile guesses its length from the first frame's
        bitrate (wrong for VBR, and it stops reading there), so decode it with FFmpeg to the end, once, and
        read from that decoder."""
        from weaklabel.containers import ContainerError, open_container

        declared = self._file.frames / self._file.samplerate if self._file.samplerate else 0.0
        try:
            container = open_container(path)
            container.frames = container.measure_frames()
        except ContainerError:
            return  # keep libsndfile's reading
        self._file.close()
        self._file = container
        self.length_note = (f"length measured by decoding, {container.frames / container.samplerate:.3f} s: the "
                            f"MP3 has no length header and its first frame implied {declared:.3f} s")

    def _measure_wav(self, path: str) -> None:
        """A WAV whose data chunk header declares fewer bytes than the file holds after it (0, as streaming
        writers leave it, or a size last updated before the writer stopped): libsndfile stops where the header
        says, so read the bytes that are there as raw PCM of the same encoding."""
        span = wav_data_span(path)
        frame_bytes = _PCM_BYTES[self._file.subtype] * self._file.channels
        if span is None or span[2] // frame_bytes <= self._file.frames:
            return
        start, declared, present = span
        window = _ByteWindow(path, start, start + present)
        try:
            raw = sf.SoundFile(window, samplerate=self._file.samplerate, channels=self._file.channels,
                               subtype=self._file.subtype, endian="LITTLE", format="RAW")
        except Exception:  # noqa: BLE001 - libsndfile raises several types; keep its reading of the header
            window.close()
            return
        sr = self._file.samplerate
        self._file.close()
        self._file, self._window = raw, window
        self.length_note = (f"length measured from the file's size, {raw.frames / sr:.3f} s: its data chunk "
                            f"header says {declared // frame_bytes / sr:.3f} s (streaming writers leave 0 there)")

    def __enter__(self) -> "AudioReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()
        if self._window is not None:
            self._window.close()

    def native_span(self, start_s: float, end_s: float) -> tuple[int, int]:
        """The frames of the file :meth:`read_span` decodes for ``[start_s, end_s)``: ``(first frame, count)`` at
        the native rate (the count before the file's end cuts it)."""
        first = max(0, int(np.floor(start_s * self.native_sr)))
        return first, max(0, int(np.ceil(end_s * self.native_sr)) - first)

    def read_span(self, start_s: float, end_s: float) -> np.ndarray:
        """Decode ``[start_s, end_s)`` as mono float32 at ``target_sr``; shape ``(n_samples,)``.

        Channels are averaged; resampling uses soxr (high quality). Returns fewer samples than the span
        when the file ends early, and an empty array when nothing could be decoded there.
        """
        first, count = self.native_span(start_s, end_s)
        try:
            self._file.seek(min(first, self.native_frames))
            native = self._file.read(count, dtype="float32", always_2d=True)
        except Exception as exc:
            raise AudioDecodeError(f"cannot decode {self.path} at {start_s:.3f}-{end_s:.3f} s: {exc}") from exc
        mono = native.mean(axis=1, dtype=np.float32) if native.shape[1] > 1 else native[:, 0]
        if mono.size == 0:
            return np.zeros(0, dtype=np.float32)
        if self.native_sr != self.target_sr:
            mono = soxr.resample(mono, self.native_sr, self.target_sr, quality="HQ")
        wanted = int(round((end_s - start_s) * self.target_sr))
        if len(native) == count:  # complete read: fix resampling rounding to the exact planned length
            mono = fit_length(mono, wanted)
        else:
            mono = mono[:wanted]
        return np.ascontiguousarray(mono, dtype=np.float32)


#: Bytes per sample of the WAV encodings whose length follows from the byte count (libsndfile subtypes).
_PCM_BYTES = {"PCM_U8": 1, "PCM_S8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8,
              "ULAW": 1, "ALAW": 1}
#: Zero bytes after a WAV's declared data, up to this many, are padding (to a sector), not audio.
_WAV_PADDING_BYTES = 1 << 16


def wav_data_span(path: str) -> tuple[int, int, int] | None:
    """Where a RIFF/WAVE file's audio is: ``(offset of its first byte, bytes its data chunk header declares,
    bytes of audio there)``; None when the file is not one or has no data chunk.

    The audio there runs to the end of the file, unless what follows the declared bytes is another chunk (a
    ``LIST`` or ``id3 `` tag: a four-character id and a size that fits) or zero padding of at most
    :data:`_WAV_PADDING_BYTES`; then it is what the header declares. A header that declares more than the
    file holds (0xFFFFFFFF, or a truncated download) is libsndfile's to read.
    """
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            head = handle.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:] != b"WAVE":
                return None
            offset = 12
            for _ in range(64):  # the chunks before the audio: fmt, fact, LIST, bext, JUNK...
                handle.seek(offset)
                header = handle.read(8)
                if len(header) < 8:
                    return None
                declared = struct.unpack("<I", header[4:])[0]
                if header[:4] != b"data":
                    offset += 8 + declared + (declared & 1)
                    continue
                start = offset + 8
                if declared >= size - start:
                    return start, declared, min(declared, size - start)
                end = start + declared + (declared & 1)
                handle.seek(end)
                after = handle.read(min(size - end, _WAV_PADDING_BYTES + 1))
                chunk = (len(after) >= 8 and all(32 <= c < 127 for c in after[:4])
                         and struct.unpack("<I", after[4:8])[0] <= size - end - 8)
                padding = len(after) <= _WAV_PADDING_BYTES and not after.strip(b"\0")
                return start, declared, declared if chunk or padding else size - start
    except OSError:
        return None
    return None


class _ByteWindow(io.RawIOBase):
    """Bytes ``[start, end)`` of a file, seen as a whole file: how libsndfile reads a WAV's audio as raw PCM."""

    def __init__(self, path: str, start: int, end: int):
        super().__init__()
        self._handle = open(path, "rb")
        self._start, self._size, self._position = start, end - start, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position

    def readinto(self, buffer) -> int:
        count = max(0, min(len(buffer), self._size - self._position))
        self._handle.seek(self._start + self._position)
        read = self._handle.readinto(memoryview(buffer).cast("B")[:count]) or 0
        self._position += read
        return read

    def close(self) -> None:
        self._handle.close()
        super().close()


def mp3_has_length_header(path: str) -> bool:
    """Whether an MP3 declares its length: a Xing/Info (LAME, FFmpeg) or VBRI (Fraunhofer) header in its first
    frame. Without one, a reader can only estimate the length from the first frame's bitrate."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(10)
            offset = 0
            if len(head) == 10 and head[:3] == b"ID3":  # skip an ID3v2 tag (syncsafe size)
                size = (head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | (head[9] & 0x7F)
                offset = 10 + size + (10 if head[5] & 0x10 else 0)
            handle.seek(offset)
            data = handle.read(8192)
    except OSError:
        return True  # cannot tell: trust the decoder
    sync = next((i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] & 0xE0 == 0xE0), None)
    if sync is None:
        return True
    first = data[sync:sync + 200]
    return any(tag in first for tag in (b"Xing", b"Info", b"VBRI"))


def fit_length(samples: np.ndarray, n: int) -> np.ndarray:
    """Trim or zero-pad (at the end) a 1-D array to exactly ``n`` samples."""
    if len(samples) >= n:
        return samples[:n]
    return np.concatenate([samples, np.zeros(n - len(samples), dtype=samples.dtype)])


def centred_clip(samples: np.ndarray, clip_samples: int) -> np.ndarray:
    """Fit audio to ``clip_samples``: centred in silence when shorter, its middle when longer."""
    if len(samples) >= clip_samples:
        start = (len(samples) - clip_samples) // 2
        return np.ascontiguousarray(samples[start:start + clip_samples], dtype=np.float32)
    clip = np.zeros(clip_samples, dtype=np.float32)
    pad = (clip_samples - len(samples)) // 2
    clip[pad:pad + len(samples)] = samples
    return clip


def place_in_clip(samples: np.ndarray, plan: ClipPlan) -> np.ndarray:
    """Put decoded samples into a silent clip of ``plan.clip_samples`` at ``plan.pad_left_samples``."""
    return place_span(samples, plan.pad_left_samples, plan.clip_samples)


def place_span(samples: np.ndarray, pad_left: int, clip_samples: int) -> np.ndarray:
    """The clip a build's features are computed from: ``clip_samples`` of float32 silence holding ``samples``
    from sample ``pad_left`` on, cut at the clip's end (:func:`weaklabel.logmel.log_mel_placed`'s input)."""
    clip = np.zeros(clip_samples, dtype=np.float32)
    n = max(0, min(len(samples), clip_samples - pad_left))
    clip[pad_left:pad_left + n] = samples[:n]
    return clip
