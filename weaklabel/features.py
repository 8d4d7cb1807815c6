"""Log-mel spectrograms of fixed-length clips, with every parameter recorded.

Shapes: a clip batch ``(n_clips, n_samples)`` gives ``(n_clips, n_mels, n_frames)`` with
``n_frames = 1 + n_samples // hop_length`` (centred frames). Values are power in decibels relative to a
fixed reference of 1.0 (full-scale sine ~ -3 dB per band area), floored at ``amin``; silence (padding) sits
at ``10*log10(amin)`` = -100 dB, so padded regions are visible and comparable across clips.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import librosa
import numpy as np


@dataclass(frozen=True)
class LogMelParams:
    """Parameters of :func:`log_mel_spectrogram` (sample rate in Hz, lengths in samples, fmin/fmax in Hz)."""

    sample_rate: int = 16000
    n_fft: int = 1024
    hop_length: int = 256
    win_length: int = 1024
    n_mels: int = 128
    fmin: float = 20.0
    fmax: float = 8000.0
    power: float = 2.0
    amin: float = 1e-10
    storage_dtype: str = "float16"

    def to_dict(self) -> dict:
        return asdict(self)

    def n_frames(self, n_samples: int) -> int:
        """Number of frames for a clip of ``n_samples`` (centred STFT)."""
        return 1 + n_samples // self.hop_length


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
    mel = librosa.feature.melspectrogram(
        y=np.asarray(clips, dtype=np.float32), sr=params.sample_rate, n_fft=params.n_fft,
        hop_length=params.hop_length, win_length=params.win_length, n_mels=params.n_mels,
        fmin=params.fmin, fmax=params.fmax, power=params.power, center=True, pad_mode="constant",
    )
    return librosa.power_to_db(mel, ref=1.0, amin=params.amin, top_db=None).astype(np.float32)


FILES_PER_CHUNK = 256  # files decoded and featurised together by clip_logmel_for_files


def clip_logmel_for_files(paths: list[str], clip_seconds: float = 7.0,
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

    clip_samples = int(round(clip_seconds * params.sample_rate))
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
