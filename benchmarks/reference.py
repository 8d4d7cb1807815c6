"""The original project's per-file build path, reimplemented as the speed reference.

For every recording of a CMU-MOSEI-layout corpus, exactly as the original did, in one process:

1. read the whole recording with ``scipy.io.wavfile.read``;
2. for each transcript sentence (``video___segment___start___end___text``), cut its samples by the
   transcript times and write them as a WAV file (``scipy.io.wavfile.write``, to a temporary folder);
3. ``librosa.load`` that file again at librosa's default rate (22.05 kHz, ``sr`` left at its default);
4. a 60-band mel spectrogram in dB: ``librosa.feature.melspectrogram(y=y, sr=sr, n_mels=60)`` then
   ``librosa.power_to_db``;
5. TextBlob and VADER on the sentence: ``TextBlob(text).sentiment.polarity`` and
   ``SentimentIntensityAnalyzer().polarity_scores(text)`` -- a new analyzer per sentence, as written in
   the original (``reuse_analyzer=True`` builds it once, the kinder reference, also measured).

Nothing is kept but a count and a checksum of the outputs (so the work cannot be optimised away);
the original pickled the spectrograms, a cost we leave out in its favour.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

AUDIO_SUBDIR = Path("Raw/Audio/Full/WAV_16000")
TRANSCRIPT_SUBDIR = Path("Raw/Transcript/Segmented/Combined")


def reference_recordings(corpus_root: str | Path) -> list[tuple[Path, Path]]:
    """(wav, transcript) pairs of a MOSEI-layout corpus, sorted by video id."""
    root = Path(corpus_root)
    pairs = []
    for txt in sorted((root / TRANSCRIPT_SUBDIR).glob("*.txt")):
        wav = root / AUDIO_SUBDIR / f"{txt.stem}.wav"
        if wav.is_file():
            pairs.append((wav, txt))
    return pairs


def reference_build(corpus_root: str | Path, recordings: list[str] | None = None,
                    reuse_analyzer: bool = False) -> dict:
    """Run the original per-file path over a corpus (or the named recordings of it), single-process.

    Returns
    -------
    dict
        ``segments`` processed, ``frames`` (total mel frames) and ``checksum`` (sum of all dB values and
        sentiment scores), for a sanity check that the work was done.
    """
    import librosa
    from scipy.io import wavfile
    from textblob import TextBlob
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    pairs = reference_recordings(corpus_root)
    if recordings is not None:
        wanted = set(recordings)
        pairs = [p for p in pairs if p[1].stem in wanted]
    shared_analyzer = SentimentIntensityAnalyzer() if reuse_analyzer else None
    n_segments = n_frames = 0
    checksum = 0.0
    with tempfile.TemporaryDirectory(prefix="weaklabel-reference-") as tmp:
        for wav_path, txt_path in pairs:
            rate, audio = wavfile.read(wav_path)
            for line in txt_path.read_text(encoding="utf-8").splitlines():
                fields = line.split("___", 4)
                if len(fields) != 5:
                    continue
                video, segment, start, end, text = fields
                start_s, end_s = max(0.0, float(start)), float(end)
                piece = audio[int(start_s * rate):int(end_s * rate)]
                seg_path = os.path.join(tmp, f"{video}_{segment}.wav")
                wavfile.write(seg_path, rate, piece)
                y, sr = librosa.load(seg_path)
                mel = librosa.feature.melspectrogram(y=y, sr=sr, n_mels=60)
                db = librosa.power_to_db(mel)
                polarity = TextBlob(text).sentiment.polarity
                analyzer = shared_analyzer or SentimentIntensityAnalyzer()
                compound = analyzer.polarity_scores(text)["compound"]
                n_segments += 1
                n_frames += db.shape[1]
                checksum += float(np.sum(db, dtype=np.float64)) + polarity + compound
    return {"segments": n_segments, "frames": n_frames, "checksum": checksum}
