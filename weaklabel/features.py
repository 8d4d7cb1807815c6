"""Log-mel spectrograms of fixed-length clips, with every parameter recorded.

Shapes: a clip batch ``(n_clips, n_samples)`` gives ``(n_clips, n_mels, n_frames)`` with
``n_frames = 1 + n_samples // hop_length`` (centred frames). Values are power in decibels relative to a
fixed reference of 1.0 (full-scale sine ~ -3 dB per band area), floored at ``amin``; silence (padding) sits
at ``10*log10(amin)`` = -100 dB, so padded regions are visible and comparable across clips.

Two entry points compute the same numbers: :func:`log_mel_spectrogram` (librosa, any audio) and
:func:`log_mel_placed` (the build's clips: one span of audio placed in silence), which transforms only the
frames that overlap the audio and fills the others with the silence value, the value librosa gives an
all-zero frame. Its float32 output equals librosa's bit for bit with single-threaded BLAS (tested). It does
not import librosa: its window (:func:`hann_window`), mel filters (:func:`mel_filter_bank`) and dB
conversion repeat librosa's (and SciPy's) arithmetic, tested equal, because importing ``librosa.filters``
and ``librosa.core.spectrum`` (SciPy's signal module, numba) costs every build worker a few seconds.
"""
from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np
import scipy.fft

from foundation.config import option
from weaklabel.audio import DEFAULT_CLIP_SECONDS, seconds_to_samples


@dataclass(frozen=True)
class LogMelParams:
    """Parameters of :func:`log_mel_spectrogram` (sample rate in Hz, lengths in samples, fmin/fmax in Hz)."""

    sample_rate: int = option(16000, cli=False, help="sample rate of the audio, Hz")
    n_fft: int = option(1024, group="clips and features", help="FFT size in samples at 16 kHz")
    hop_length: int = option(256, group="clips and features", help="hop in samples at 16 kHz (256 = 16 ms)")
    win_length: int = option(1024, cli=False, follows="n_fft",
                             help="analysis window in samples; set to n_fft wherever n_fft is set")
    n_mels: int = option(128, group="clips and features", help="mel bands")
    fmin: float = option(20.0, cli=False, help="lowest mel band edge, Hz")
    fmax: float = option(8000.0, cli=False, help="highest mel band edge, Hz")
    power: float = option(2.0, cli=False, help="exponent of the magnitude spectrogram (2: power)")
    amin: float = option(1e-10, cli=False, help="floor of the power before dB (-100 dB: silence)")
    storage_dtype: str = option("float16", cli=False, help="dtype of the stored features")

    def to_dict(self) -> dict:
        return asdict(self)

    def n_frames(self, n_samples: int) -> int:
        """Number of frames for a clip of ``n_samples`` (centred STFT)."""
        return 1 + n_samples // self.hop_length

    def frames_for_seconds(self, seconds: float) -> int:
        """Number of frames of a clip ``seconds`` long at :attr:`sample_rate` (centred STFT)."""
        return self.n_frames(seconds_to_samples(seconds, self.sample_rate))


def log_mel_spectrogram(clips: np.ndarray, params: LogMelParams = LogMelParams()) -> np.ndarray:
    """Log-mel power spectrogram in dB.

    Parameters
    ----------
    clips : ndarray, shape (..., n_samples)
        Mono audio at ``params.sample_rate``, float.

    Returns
    -------
    ndarray, shape (..., n_mels, n_frames), float32
    """
    import librosa

    mel = librosa.feature.melspectrogram(
        y=np.asarray(clips, dtype=np.float32), sr=params.sample_rate, n_fft=params.n_fft,
        hop_length=params.hop_length, win_length=params.win_length, n_mels=params.n_mels,
        fmin=params.fmin, fmax=params.fmax, power=params.power, center=True, pad_mode="constant",
    )
    return librosa.power_to_db(mel, ref=1.0, amin=params.amin, top_db=None).astype(np.float32)


#: Frames transformed together by :func:`log_mel_placed`: small enough for the temporaries to stay in cache
#: (a block of 2048 frames ran 1.6x slower per frame on the benchmark machine), large enough to amortise calls.
FRAMES_PER_BLOCK = 256
#: Clips of fewer frames than this are transformed whole, one per block (see :func:`log_mel_placed`).
MIN_BLOCK_FRAMES = 64


@lru_cache(maxsize=8)
def hann_window(params: LogMelParams = LogMelParams()) -> np.ndarray:
    """The STFT window, float64 ``(n_fft,)``: librosa's ``pad_center(get_window("hann", win_length,
    fftbins=True), size=n_fft)``, i.e. SciPy's periodic Hann window (its ``general_cosine`` arithmetic)
    centred in zeros."""
    n = params.win_length
    if n <= 1:
        window = np.ones(n, dtype=np.float64)
    else:
        fac = np.linspace(-np.pi, np.pi, n + 1, dtype=np.float64)
        window = np.zeros(n + 1, dtype=np.float64)
        for k, a in enumerate((0.5, 1.0 - 0.5)):
            window += a * np.cos(k * fac)
        window = window[:-1]
    left = (params.n_fft - n) // 2
    return np.pad(window, (left, params.n_fft - n - left))


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa ``hz_to_mel(htk=False)``): linear below 1 kHz, logarithmic above."""
    f_sp, min_log_hz, logstep = 200.0 / 3, 1000.0, np.log(6.4) / 27.0
    mels = (hz - 0.0) / f_sp
    log_t = hz >= min_log_hz
    mels[log_t] = (min_log_hz - 0.0) / f_sp + np.log(hz[log_t] / min_log_hz) / logstep
    return mels


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    """The inverse of :func:`_hz_to_mel` (librosa ``mel_to_hz(htk=False)``)."""
    f_sp, min_log_hz, logstep = 200.0 / 3, 1000.0, np.log(6.4) / 27.0
    min_log_mel = (min_log_hz - 0.0) / f_sp
    freqs = 0.0 + f_sp * mels
    log_t = mels >= min_log_mel
    freqs[log_t] = min_log_hz * np.exp(logstep * (mels[log_t] - min_log_mel))
    return freqs


@lru_cache(maxsize=8)
def mel_filter_bank(params: LogMelParams = LogMelParams()) -> np.ndarray:
    """Mel filters, float32 ``(n_mels, 1 + n_fft // 2)``: librosa ``filters.mel(sr, n_fft, n_mels, fmin, fmax)``
    (Slaney scale and area normalisation), the same arithmetic in the same order."""
    n_mels, n_bins = params.n_mels, 1 + params.n_fft // 2
    weights = np.zeros((n_mels, n_bins), dtype=np.float32)
    fftfreqs = np.fft.rfftfreq(n=params.n_fft, d=1.0 / params.sample_rate)
    min_mel, max_mel = (_hz_to_mel(np.array([f], dtype=np.float64))[0] for f in (params.fmin, params.fmax))
    mel_f = _mel_to_hz(np.linspace(min_mel, max_mel, n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    for i in range(n_mels):
        weights[i] = np.maximum(0, np.minimum(-ramps[i] / fdiff[i], ramps[i + 2] / fdiff[i + 1]))
    weights *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, np.newaxis]
    return weights


def power_to_db(power: np.ndarray, params: LogMelParams = LogMelParams()) -> np.ndarray:
    """``10 log10(max(amin, power))`` re 1.0: librosa ``power_to_db(power, ref=1.0, amin, top_db=None)``."""
    log_spec = 10.0 * np.log10(np.maximum(params.amin, power))
    log_spec -= 10.0 * np.log10(np.maximum(params.amin, np.abs(1.0)))
    return log_spec


def silence_db(params: LogMelParams = LogMelParams()) -> np.float32:
    """The value :func:`log_mel_spectrogram` gives a frame of silence (an all-zero frame): about -100 dB."""
    return power_to_db(np.zeros(1, np.float32), params)[0]


def audio_frames(pad_left: int, n_audio: int, n_samples: int, params: LogMelParams) -> tuple[int, int]:
    """Frames ``[first, stop)`` of a centred STFT that overlap samples ``[pad_left, pad_left + n_audio)``.

    Frame ``t`` covers clip samples ``[t * hop - n_fft // 2, t * hop - n_fft // 2 + n_fft)``; every other
    frame of a clip that is silent outside that span is all zeros. ``first == stop`` when none overlaps.
    """
    if n_audio <= 0:
        return 0, 0
    half, hop = params.n_fft // 2, params.hop_length
    first = max(0, (pad_left + half - params.n_fft) // hop + 1)
    stop = min(params.n_frames(n_samples), -(-(pad_left + n_audio + half) // hop))
    return first, max(first, stop)


def log_mel_placed(spans: Sequence[np.ndarray], pad_left: Sequence[int], n_samples: int,
                   params: LogMelParams = LogMelParams(), out: np.ndarray | None = None) -> np.ndarray:
    """Log-mel of fixed-length clips that are silence except one span of audio each, in ``out``'s dtype.

    Equal to ``log_mel_spectrogram(clips, params)`` where ``clips[i]`` is ``n_samples`` of zeros holding
    ``spans[i]`` from sample ``pad_left[i]`` on (cut at the clip's end), but it transforms only the frames
    that overlap the audio (:func:`audio_frames`) and writes :func:`silence_db` into the others: the same
    operations as librosa on the same frame contents (float64 window and FFT, complex64 spectrum, float32
    mel projection and dB), so the same bits, at a cost proportional to the audio rather than the clip.

    Parameters
    ----------
    spans : sequence of ndarray, shape (n_audio_i,), float32
        Audio at ``params.sample_rate``.
    pad_left : sequence of int
        Samples of silence before each span in its clip.
    n_samples : int
        Clip length in samples.
    out : ndarray, shape (len(spans), n_mels, n_frames), optional
        Where to write (any float dtype, e.g. float16 for storage); float32 when omitted.

    Returns
    -------
    ndarray, shape (len(spans), n_mels, n_frames)
        ``out``, dB re 1.0 power.
    """
    n_frames = params.n_frames(n_samples)
    if out is None:
        out = np.empty((len(spans), params.n_mels, n_frames), dtype=np.float32)
    out[...] = silence_db(params)
    window, basis = hann_window(params), mel_filter_bank(params)
    half, hop, n_fft = params.n_fft // 2, params.hop_length, params.n_fft
    capacity = max(FRAMES_PER_BLOCK, n_frames)  # a block never splits a clip
    work = _workspace(params, capacity)
    # OpenBLAS switches to other kernels, with other rounding, for small products: below about ten columns at
    # the defaults. librosa projects n_frames columns per clip, so every projection here spans at least as
    # many; clips of so few frames that librosa's own projection is small are transformed whole.
    whole_clips = n_frames < MIN_BLOCK_FRAMES
    block: list[tuple[int, int, int, np.ndarray]] = []  # (clip, first frame, stop frame, local signal)
    in_block = 0
    for i, (samples, left) in enumerate(zip(spans, pad_left)):
        n_audio = min(len(samples), max(0, n_samples - left))
        first, stop = (0, n_frames) if whole_clips else audio_frames(left, n_audio, n_samples, params)
        if stop == first:
            continue
        # The clip's samples under frames first..stop-1: [first * hop - half, (stop - 1) * hop - half + n_fft).
        origin = first * hop - half
        local = np.zeros((stop - first - 1) * hop + n_fft, dtype=np.float32)
        lo, hi = max(left, origin), min(left + n_audio, origin + len(local))
        if hi > lo:
            local[lo - origin:hi - origin] = samples[lo - left:hi - left]
        if in_block + stop - first > capacity or (whole_clips and block):
            _transform_block(block, in_block, n_frames, window, basis, params, work, out)
            block, in_block = [], 0
        block.append((i, first, stop, local))
        in_block += stop - first
    if block:
        _transform_block(block, in_block, n_frames, window, basis, params, work, out)
    return out


_WORKSPACES = threading.local()


def _workspace(params: LogMelParams, capacity: int) -> dict[str, np.ndarray]:
    """Buffers for ``capacity`` frames, reused by every block of :func:`log_mel_placed` in this thread (about
    10 MB at the defaults): fresh large temporaries for each block cost a page fault per 4 KiB touched.
    Per thread, so that tasks running in threads (a Dask worker with several) never share them."""
    cache = _WORKSPACES.__dict__.setdefault("buffers", {})
    key = (params, capacity)
    if key not in cache:
        n_bins = 1 + params.n_fft // 2
        cache.clear()  # one configuration at a time is what a build uses
        cache[key] = {"frames": np.empty((capacity, params.n_fft), np.float64),
                      "spectrum": np.empty((capacity, n_bins), np.complex64),
                      "power": np.zeros((capacity, n_bins), np.float32),  # rows past a block: finite, never read
                      "mel": np.empty((params.n_mels, capacity), np.float32)}
    return cache[key]


def _transform_block(block, n_block_frames: int, min_columns: int, window: np.ndarray, basis: np.ndarray,
                     params: LogMelParams, work: dict[str, np.ndarray], out: np.ndarray) -> None:
    """Windowed FFT, power, mel projection and dB of a block's frames, scattered into ``out``.

    The operations and dtypes of librosa's ``melspectrogram`` + ``power_to_db``: float64 windowed frames and
    FFT, the spectrum rounded to complex64, ``|X| ** power`` in float32, float32 mel projection.
    """
    frames = work["frames"][:n_block_frames]
    k = 0
    for _, first, stop, local in block:
        view = np.lib.stride_tricks.sliding_window_view(local, params.n_fft)[::params.hop_length]
        np.multiply(view, window, out=frames[k:k + stop - first])
        k += stop - first
    spectrum = work["spectrum"][:n_block_frames]
    np.copyto(spectrum, scipy.fft.rfft(frames, axis=-1), casting="same_kind")
    power = np.abs(spectrum, out=work["power"][:n_block_frames])
    if params.power == 2.0:
        np.square(power, out=power)  # what ``power ** 2.0`` computes
    else:
        power = power ** params.power
    n_columns = max(n_block_frames, min_columns)  # see log_mel_placed: never a small-matrix kernel
    mel = np.matmul(basis, work["power"][:n_columns].T, out=work["mel"][:, :n_columns])
    db = power_to_db(mel[:, :n_block_frames], params)  # (n_mels, frames)
    k = 0
    for i, first, stop, _ in block:
        out[i, :, first:stop] = db[:, k:k + stop - first]
        k += stop - first


FILES_PER_CHUNK = 256  # files decoded and featurised together by clip_logmel_for_files


def clip_logmel_for_files(paths: list[str], clip_seconds: float = DEFAULT_CLIP_SECONDS,
                          params: LogMelParams = LogMelParams()) -> tuple[np.ndarray, list[str | None]]:
    """Log-mel of short files (e.g. acted-corpus utterances), each centred in a fixed-length clip.

    Returns
    -------
    logmel : ndarray, shape (n_files, n_mels, n_frames), ``params.storage_dtype``
        Rows of files that could not be decoded are silence.
    errors : list of str or None
        Why each file failed, or None.
    """
    from weaklabel.audio import AudioDecodeError, AudioReader, centred_clip

    clip_samples = seconds_to_samples(clip_seconds, params.sample_rate)
    n_frames = params.n_frames(clip_samples)
    logmel = np.zeros((len(paths), params.n_mels, n_frames), dtype=params.storage_dtype)
    errors: list[str | None] = []
    for first in range(0, len(paths), FILES_PER_CHUNK):  # bounded memory for corpora of thousands of files
        chunk = paths[first:first + FILES_PER_CHUNK]
        clips = np.zeros((len(chunk), clip_samples), np.float32)
        for i, path in enumerate(chunk):
            try:
                with AudioReader(str(path), target_sr=params.sample_rate) as reader:
                    samples = reader.read_span(0.0, reader.duration_s)
                if samples.size == 0:
                    raise AudioDecodeError(f"no audio decoded from {path}")
                clips[i] = centred_clip(samples, clip_samples)
                errors.append(None)
            except AudioDecodeError as exc:
                errors.append(str(exc))
        logmel[first:first + len(chunk)] = log_mel_spectrogram(clips, params)
    return logmel, errors
