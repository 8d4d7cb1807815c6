"""Audio that libsndfile cannot read (M4A/AAC, MP4 and other video containers, WebM, WMA, …), decoded
through the FFmpeg libraries that the PyAV wheel ships.

:class:`ContainerAudio` offers the part of :class:`soundfile.SoundFile` that
:class:`weaklabel.audio.AudioReader` uses (``samplerate``, ``channels``, ``frames``, ``seek``, ``read``,
``close``), so the reader falls back to it without other changes. Positions are frames (samples per
channel) at the stream's native rate, counted from the first decoded sample. ``seek`` is a real
container seek (to a little before the frame, then decoding forward to it), so reading a span of an
hour-long file decodes only around that span; bare streams without an index (ADTS ``.aac``) are decoded
from their start instead, because FFmpeg's timestamps after a seek there are estimates.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from foundation.paths import require_regular_file

#: Seek this far (seconds) before a span and decode forward, so the codec's overlap (AAC's 1024-sample
#: pre-roll) is primed when the span begins.
_PREROLL_S = 0.25


#: FFmpeg demuxers of bare elementary streams, whose timestamps after a seek are estimates.
_RAW_STREAM_FORMATS = {"aac", "ac3", "eac3", "dts", "truehd", "mlp", "amr", "loas", "latm", "mp3"}


class ContainerError(Exception):
    """The file cannot be opened by FFmpeg, or holds no audio stream."""


def _to_float(frame) -> np.ndarray:
    """One decoded frame as float32 ``(n_samples, channels)``, whatever its sample format."""
    data = frame.to_ndarray()
    fmt = frame.format
    channels = len(frame.layout.channels)
    if not fmt.is_planar:  # packed: (1, n * channels) interleaved
        data = data.reshape(-1, channels)
    else:  # planar: (channels, n)
        data = data.T
    if data.dtype.kind == "f":
        return data.astype(np.float32, copy=False)
    if data.dtype == np.uint8:  # unsigned 8-bit PCM
        return (data.astype(np.float32) - 128.0) / 128.0
    return data.astype(np.float32) / float(np.iinfo(data.dtype).max + 1)


class ContainerAudio:
    """The first audio stream of a media file, decoded with PyAV (FFmpeg).

    Parameters
    ----------
    path : str
        Any file FFmpeg opens that has an audio stream.

    Attributes
    ----------
    samplerate : int
        The stream's sample rate (Hz).
    channels : int
    frames : int
        Length in frames at ``samplerate``, from the container's declared duration (the decoder may find
        a little less; :meth:`read` then returns fewer frames).

    Raises
    ------
    ContainerError
        PyAV is missing, FFmpeg cannot open the file, or it has no audio stream.
    """

    def __init__(self, path: str):
        try:
            import av
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise ContainerError(f"PyAV is not installed ({exc}); pip install av") from exc
        self._av = av
        try:
            require_regular_file(path)  # FFmpeg would wait on a FIFO, or read a device forever
        except OSError as exc:
            raise ContainerError(str(exc)) from exc
        try:
            self._container = av.open(str(path), mode="r")
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise ContainerError(f"FFmpeg cannot open it ({exc})") from exc
        if not self._container.streams.audio:
            kinds = ", ".join(sorted({s.type for s in self._container.streams})) or "nothing"
            self._container.close()
            raise ContainerError(f"it holds no audio stream (found {kinds})")
        self._stream = self._container.streams.audio[0]
        self._stream.thread_type = "AUTO"
        codec = self._stream.codec_context
        self.samplerate = int(codec.sample_rate or self._stream.rate or 0)
        self.channels = int(codec.channels if hasattr(codec, "channels") else len(codec.layout.channels))
        if self.samplerate <= 0 or self.channels <= 0:
            self._container.close()
            raise ContainerError("its audio stream declares no sample rate or channels")
        self._time_base = self._stream.time_base or Fraction(1, self.samplerate)
        self._origin_s = float(self._stream.start_time * self._time_base) if self._stream.start_time is not None else 0.0
        if self._stream.duration is not None:
            duration_s = float(self._stream.duration * self._time_base)
        elif self._container.duration is not None:
            duration_s = self._container.duration / 1_000_000  # AV_TIME_BASE
        else:
            duration_s = 0.0
        self.frames = max(0, int(round(duration_s * self.samplerate)))
        self._position = 0
        # A bare elementary stream (ADTS .aac, .ac3...) has no index: FFmpeg's seek there lands on a guessed
        # byte offset with guessed timestamps, so such files are decoded from the start instead.
        self._raw = bool(set(self._container.format.name.split(",")) & _RAW_STREAM_FORMATS)
        # A raw stream is decoded from its start; reads in increasing order (the build's, segment by segment)
        # continue the same decoder instead of starting over: (decoded frames iterator, first frame not used
        # up as (first sample, data) or None, first sample the iterator has not given yet).
        self._stream_state: tuple | None = None

    def seek(self, frame: int) -> int:
        """Set the frame the next :meth:`read` starts at; returns it."""
        self._position = max(0, int(frame))
        return self._position

    def read(self, frames: int, dtype: str = "float32", always_2d: bool = True) -> np.ndarray:
        """Decode ``frames`` frames from the current position: float32 ``(n, channels)``, ``n <= frames``."""
        frames = max(0, int(frames))
        start, end = self._position, self._position + frames
        pieces: list[np.ndarray] = []
        filled = start  # the next frame wanted
        if frames:
            for first, data in self._decoded_from(start):
                if first + len(data) <= filled:
                    continue
                if first >= end:
                    self._keep(first, data)
                    break
                if first > filled:  # a gap in the stream: silence, so later samples keep their time
                    pieces.append(np.zeros((first - filled, self.channels), np.float32))
                    filled = first
                hi = min(end, first + len(data))
                pieces.append(data[filled - first:hi - first])
                filled = hi
                if filled >= end:
                    self._keep(first, data)
                    break
        self._position = filled
        out = np.concatenate(pieces) if pieces else np.zeros((0, self.channels), np.float32)
        if dtype != "float32":
            out = out.astype(dtype)
        return out if always_2d or self.channels > 1 else out[:, 0]

    def _frames(self, decoder):
        for frame in decoder:
            if frame.pts is None:
                continue
            first = int(round((float(frame.pts * frame.time_base) - self._origin_s) * self.samplerate))
            data = _to_float(frame)
            if self._raw:
                iterator, _, _ = self._stream_state
                self._stream_state = (iterator, None, first + len(data))
            yield first, data

    def _decoded_from(self, start: int):
        """Decoded frames as (first sample, float32 data) from one that holds or follows frame ``start``."""
        if not self._raw:
            target_s = self._origin_s + start / self.samplerate
            seek_s = max(self._origin_s, target_s - _PREROLL_S)
            self._container.seek(int(seek_s / self._time_base), stream=self._stream, backward=True, any_frame=False)
            yield from self._frames(self._container.decode(self._stream))
            return
        state = self._stream_state
        if state is not None:
            iterator, kept, given = state
            resume_at = kept[0] if kept is not None else given
            if start >= resume_at:  # later than anything the decoder gave: go on from there
                if kept is not None:
                    self._stream_state = (iterator, None, given)
                    yield kept
                for item in iterator:  # not "yield from": closing this generator must not close the decoder
                    yield item
                return
        self._container.seek(0, stream=self._stream, backward=True, any_frame=False)
        iterator = self._frames(self._container.decode(self._stream))
        self._stream_state = (iterator, None, 0)
        for item in iterator:
            yield item

    def _keep(self, first: int, data: np.ndarray) -> None:
        """A raw stream's frame that the next read may still need: it starts there."""
        if self._raw and self._stream_state is not None:
            iterator, _, given = self._stream_state
            self._stream_state = (iterator, (first, data), given)

    def measure_frames(self) -> int:
        """The stream's true length in frames, found by decoding it to the end (for streams whose declared
        duration is only an estimate, such as an MP3 without a length header)."""
        self._stream_state = None  # the decoder is used up here
        self._container.seek(0, stream=self._stream, backward=True, any_frame=False)
        end = 0
        for frame in self._container.decode(self._stream):
            if frame.pts is None:
                end += frame.samples
                continue
            first = int(round((float(frame.pts * frame.time_base) - self._origin_s) * self.samplerate))
            end = max(end, first + frame.samples)
        return end

    def close(self) -> None:
        self._container.close()


def open_container(path: str) -> ContainerAudio:
    """Open ``path`` through FFmpeg (see :class:`ContainerAudio`)."""
    return ContainerAudio(path)
