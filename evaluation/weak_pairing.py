"""A transcribed corpus with weak labels of known quality, made from an acted corpus and human-labelled lines.

The weak-supervision benchmark asks the question every weak-labelling team has: *how good must my transcript
labels be, and what model do I get for them?* It needs audio whose true valence is known (an acted emotion
corpus, :mod:`evaluation.acted_corpora`) and transcripts whose sentiment relates to it in a controlled way. Each clip
is paired with a real sentence (MELD's human-labelled TV dialogue by default) whose **human** valence matches
the clip's true valence with probability ``p`` (seeded). The pipeline then labels the pairs from the text
alone, exactly as it labels a user's transcripts, so the weak labels carry the text labeller's real errors on
top of the controlled mismatch.

Everything here is pure and free of TensorFlow: pairing, the speaker rotations (train, validation and test
speakers always disjoint) and the corpus written as a manifest that ``build_dataset`` reads, plus a folds file
per rotation. :mod:`evaluation.weak_benchmark` runs the pipeline over them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from foundation.atomic import write_json_atomic, atomic_path
from weaklabel.human_labels import sentiment_to_valence
from weaklabel.text import normalize_text
from weaklabel.splits import FOLD_FILE_KEYS, SPLITS

#: MELD's column names (``*_sent_emo.csv``), the default sentence source.
MELD_TEXT_COLUMN, MELD_LABEL_COLUMN, MELD_GROUP_COLUMN = "Utterance", "Sentiment", "Dialogue_ID"
#: The match probabilities swept by default: chance, three realistic levels, and text that always agrees.
DEFAULT_MATCH_PROBABILITIES = (0.5, 0.65, 0.75, 0.9, 1.0)
MANIFEST_FILE = "manifest.csv"


def load_sentences(path: str | Path, text_column: str = MELD_TEXT_COLUMN,
                   label_column: str = MELD_LABEL_COLUMN) -> pd.DataFrame:
    """Human-labelled sentences with a positive or negative valence.

    Parameters
    ----------
    path : CSV file (MELD's ``*_sent_emo.csv`` layout by default)
    text_column, label_column : column names; labels as :func:`weaklabel.human_labels.sentiment_to_valence`
        reads them (positive/negative/neutral words, or numbers whose sign is the valence).

    Returns
    -------
    DataFrame with ``text`` (typography normalised) and ``valence`` (1 positive, 0 negative), one row per
    usable sentence; neutral, unlabelled and empty sentences are dropped.
    """
    table = pd.read_csv(path)
    missing = [c for c in (text_column, label_column) if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: no column(s) {', '.join(missing)}; columns are {', '.join(map(str, table.columns))}")
    valence = np.asarray(sentiment_to_valence(table[label_column]), dtype=float)
    text = table[text_column].astype("string").fillna("").map(lambda t: normalize_text(str(t)).strip())
    usable = ~np.isnan(valence) & (text.str.len() > 0).to_numpy()
    out = pd.DataFrame({"text": text[usable].to_numpy(), "valence": valence[usable].astype(int)})
    if out["valence"].nunique() < 2:
        raise ValueError(f"{path}: the sentences need both positive and negative human labels")
    return out


def pair_sentences(clip_valence: Sequence[int], sentence_valence: Sequence[int], p: float,
                   seed: int = 0) -> np.ndarray:
    """For each clip, the index of a sentence whose valence equals the clip's with probability ``p``.

    Each clip first draws whether it matches (Bernoulli ``p``), then a sentence uniformly among those of the
    wanted valence. Sentences are drawn without replacement while enough remain of a valence, then the pool
    is refilled, so reuse is as even as the counts allow.

    Parameters
    ----------
    clip_valence : (n_clips,) of 0/1
    sentence_valence : (n_sentences,) of 0/1
    p : float in [0, 1]
    seed : int

    Returns
    -------
    ndarray (n_clips,) of int: row indices into the sentences.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"the match probability must lie in [0, 1], got {p}")
    clip_valence = np.asarray(clip_valence, dtype=int)
    sentence_valence = np.asarray(sentence_valence, dtype=int)
    rng = np.random.default_rng(seed)
    match = rng.random(len(clip_valence)) < p
    wanted = np.where(match, clip_valence, 1 - clip_valence)
    chosen = np.empty(len(clip_valence), dtype=int)
    for value in (0, 1):
        pool = np.flatnonzero(sentence_valence == value)
        need = np.flatnonzero(wanted == value)
        if len(need) and not len(pool):
            raise ValueError(f"no sentence of valence {value} to pair with")
        draws = []
        while sum(len(d) for d in draws) < len(need):
            draws.append(rng.permutation(pool))
        chosen[need] = np.concatenate(draws)[:len(need)] if draws else []
    return chosen


@dataclass(frozen=True)
class Rotation:
    """One speaker-disjoint assignment: which speakers train, validate and test."""

    name: str
    train: tuple[str, ...]
    validation: tuple[str, ...]
    test: tuple[str, ...]

    def split_of(self, speaker: str) -> str | None:
        for split in SPLITS:  # the fields are named after the splits
            if speaker in getattr(self, split):
                return split
        return None


def speaker_rotations(speakers: Sequence[str], n_test: int, n_validation: int,
                      n_rotations: int | None = None) -> list[Rotation]:
    """Rotate blocks of test speakers over the sorted speakers; validation is the block before each test block.

    With 12 speakers, ``n_test=4`` and ``n_validation=2``: test 9-12 / validation 7-8 / train 1-6, then
    test 5-8 / validation 3-4, then test 1-4 / validation 11-12, so every speaker is tested exactly once.

    Returns
    -------
    list of :class:`Rotation` (at most ``len(speakers) // n_test``, or ``n_rotations``).
    """
    ordered = sorted(set(speakers))
    if n_test < 1 or n_validation < 1 or len(ordered) < n_test + n_validation + 1:
        raise ValueError(f"{len(ordered)} speakers cannot give {n_test} test, {n_validation} validation "
                         "and at least one training speaker")
    count = len(ordered) // n_test if n_rotations is None else n_rotations
    rotations = []
    for r in range(count):
        stop = len(ordered) - r * n_test
        test_idx = [i % len(ordered) for i in range(stop - n_test, stop)]
        val_idx = [i % len(ordered) for i in range(stop - n_test - n_validation, stop - n_test)]
        test = tuple(ordered[i] for i in test_idx)
        validation = tuple(ordered[i] for i in val_idx)
        train = tuple(s for s in ordered if s not in test and s not in validation)
        rotations.append(Rotation(f"test {test[0]}-{test[-1]}", train, validation, test))
    return rotations


def paired_manifest(clips: pd.DataFrame, sentences: pd.DataFrame, chosen: np.ndarray) -> pd.DataFrame:
    """The paired corpus as a manifest table (one segment per clip, the whole file).

    Parameters
    ----------
    clips : DataFrame with ``path``, ``speaker``, ``valence`` ("positive"/"negative") and ``duration_s``
    sentences : from :func:`load_sentences`
    chosen : from :func:`pair_sentences`

    Returns
    -------
    DataFrame with the manifest columns ``audio_path, start, end, text, speaker, group, video_id,
    segment_id, human_label`` (``human_label`` is the clip's **true** valence, so the build's metrics score
    the model against the truth) plus ``sentence_valence`` (the paired sentence's human valence).
    """
    stems = [Path(p).stem for p in clips["path"]]
    return pd.DataFrame({
        "audio_path": [str(Path(p).resolve()) for p in clips["path"]],
        "start": 0.0, "end": clips["duration_s"].to_numpy(dtype=float),
        "text": sentences["text"].to_numpy()[chosen],
        "speaker": clips["speaker"].astype(str).to_numpy(), "group": clips["speaker"].astype(str).to_numpy(),
        "video_id": stems, "segment_id": stems,
        "human_label": clips["valence"].to_numpy(),
        "sentence_valence": np.where(sentences["valence"].to_numpy()[chosen] == 1, "positive", "negative"),
    })


def write_manifest(manifest: pd.DataFrame, out_dir: str | Path) -> Path:
    """Write the manifest CSV atomically; returns its path."""
    path = Path(out_dir) / MANIFEST_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        manifest.to_csv(tmp, index=False)
    return path


def write_rotation_folds(manifest: pd.DataFrame, rotation: Rotation, path: str | Path) -> Path:
    """A folds file (``train``/``valid``/``test`` lists of video ids) that puts each speaker on its rotation's side."""
    folds: dict[str, list[str]] = {FOLD_FILE_KEYS[split]: [] for split in SPLITS}
    for video, speaker in zip(manifest["video_id"], manifest["speaker"]):
        split = rotation.split_of(speaker)
        if split:
            folds[FOLD_FILE_KEYS[split]].append(str(video))
    write_json_atomic(Path(path), folds)
    return Path(path)


def weak_label_quality(manifest: pd.DataFrame, labels: np.ndarray) -> dict:
    """How the weak labels of a build relate to the clips' true valence.

    Parameters
    ----------
    manifest : with ``human_label`` (true valence words) and ``sentence_valence``
    labels : (n,) weak labels 1/0/NaN (abstained), aligned with ``manifest``

    Returns
    -------
    dict: the sentences' realised match rate, the weak labels' coverage and accuracy against the truth.
    """
    truth = np.asarray(sentiment_to_valence(manifest["human_label"]), dtype=float)
    sentence = np.asarray(sentiment_to_valence(manifest["sentence_valence"]), dtype=float)
    labels = np.asarray(labels, dtype=float)
    scored = ~np.isnan(truth)
    given = scored & ~np.isnan(labels)
    return {"clips": int(scored.sum()),
            "sentence_match_rate": float(np.mean(sentence[scored] == truth[scored])) if scored.any() else None,
            "coverage": float(given.sum() / scored.sum()) if scored.any() else None,
            "accuracy": float(np.mean(labels[given] == truth[given])) if given.any() else None}


def rotations_record(rotations: Sequence[Rotation]) -> list[dict]:
    return [{"name": r.name, "train": list(r.train), "validation": list(r.validation), "test": list(r.test)}
            for r in rotations]
