"""Acted emotion corpora whose emotions map to valence, for benchmarking voice valence models.

Each reader returns a DataFrame with one row per audio file: ``path, speaker, gender, emotion, valence``
plus corpus-specific columns (``intensity``, ``statement``) and ``error`` (why a file name does not
follow the corpus convention; such rows have no emotion and are counted, never fatal).
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

AUDIO_SUFFIXES = (".wav", ".flac")

#: Default valence of each emotion name. Neutral, and any emotion absent here, is excluded from binary scores.
DEFAULT_VALENCE = {
    "happy": "positive", "calm": "positive", "surprised": "positive", "pleasant_surprise": "positive",
    "neutral": "neutral",
    "sad": "negative", "angry": "negative", "fearful": "negative", "disgust": "negative",
}

RAVDESS_EMOTIONS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry", "06": "fearful",
                    "07": "disgust", "08": "surprised"}
_RAVDESS_NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")


def _audio_files(root: Path) -> list[Path]:
    return sorted(p for p in Path(root).rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)


def read_ravdess(root: str | Path, valence: dict[str, str] = DEFAULT_VALENCE) -> pd.DataFrame:
    """RAVDESS: ``MM-VV-EE-II-SS-RR-AA`` (modality, channel, emotion, intensity, statement, repetition, actor;
    odd actors are male). Speech and song alike; WAV or FLAC."""
    rows = []
    for path in _audio_files(root):
        match = _RAVDESS_NAME.match(path.stem)
        row = {"path": str(path), "speaker": None, "gender": None, "emotion": None, "intensity": None,
               "statement": None, "error": None}
        if not match or match.group(3) not in RAVDESS_EMOTIONS:
            row["error"] = "name does not follow RAVDESS's MM-VV-EE-II-SS-RR-AA convention"
        else:
            actor = int(match.group(7))
            row.update(speaker=f"actor{actor:02d}", gender="male" if actor % 2 else "female",
                       emotion=RAVDESS_EMOTIONS[match.group(3)],
                       intensity={"01": "normal", "02": "strong"}.get(match.group(4), match.group(4)),
                       statement=match.group(5))
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["path", "speaker", "gender", "emotion", "intensity", "statement", "error"])
    frame["valence"] = frame["emotion"].map(valence)
    return frame
