"""Shared fixtures: small corpora generated on the fly, and the location of ../shared/data."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
REAL_MOSEI = SHARED_DATA / "real_speech_mosei_layout"
MOSEI_FOLDS = SHARED_DATA / "cmu_mosei_standard_folds.json"


@pytest.fixture(scope="session", autouse=True)
def _private_sentence_cache(tmp_path_factory):
    """No test reads or writes the user's sentence cache: one of the session's own (shared by its tests and the
    commands they start, which inherit the variable)."""
    import os

    from weaklabel.scorers.batch import SENTENCE_CACHE_ENV

    previous = os.environ.get(SENTENCE_CACHE_ENV)
    os.environ[SENTENCE_CACHE_ENV] = str(tmp_path_factory.mktemp("sentence-cache") / "sentence_scores.sqlite3")
    yield
    if previous is None:
        os.environ.pop(SENTENCE_CACHE_ENV, None)
    else:
        os.environ[SENTENCE_CACHE_ENV] = previous


def requires_shared(path: Path):
    """Skip (with the reason) when a piece of ../shared/data is absent, as on a user's fresh clone."""
    return pytest.mark.skipif(not path.exists(), reason=f"real data not available: {path} is absent "
                                                        "(../shared/data is only beside the project in development/CI)")


def modules_after(code: str) -> list[str]:
    """Every module name in ``sys.modules`` after ``code`` runs in a fresh interpreter, sorted."""
    import subprocess
    import sys

    code += "\nimport sys; print('\\n'.join(sorted(sys.modules)))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()


def tone_bursts(duration_s: float, spans: list[tuple[float, float]], sr: int = 16000, freq: float = 440.0,
                noise: float = 0.001, seed: int = 0) -> np.ndarray:
    """Quiet noise with a loud tone inside each (start, end) span; float32 mono, shape (duration_s*sr,)."""
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * sr))
    t = np.arange(n) / sr
    audio = (noise * rng.standard_normal(n)).astype(np.float32)
    for start, end in spans:
        a, b = int(start * sr), min(n, int(end * sr))
        audio[a:b] += 0.5 * np.sin(2 * np.pi * freq * t[a:b]).astype(np.float32)
    return audio


def write_mosei(root: Path, recordings: dict[str, tuple[float, list[str]]], sr: int = 16000) -> Path:
    """Write a MOSEI-layout corpus. ``recordings`` maps video id to (duration_s, transcript lines).

    Lines are written verbatim (so tests can include malformed ones); audio has a tone inside every
    span that parses from the lines, and is skipped when the duration is None (missing audio).
    """
    audio_dir = root / "Raw" / "Audio" / "Full" / "WAV_16000"
    text_dir = root / "Raw" / "Transcript" / "Segmented" / "Combined"
    audio_dir.mkdir(parents=True, exist_ok=True)
    text_dir.mkdir(parents=True, exist_ok=True)
    for video, (duration, lines) in recordings.items():
        spans = []
        for line in lines:
            parts = line.split("___", 4) if isinstance(line, str) else []
            try:
                spans.append((max(0.0, float(parts[2])), float(parts[3])))
            except (IndexError, ValueError):
                pass
        payload = b"\n".join(l if isinstance(l, bytes) else l.encode("utf-8") for l in lines) + b"\n"
        (text_dir / f"{video}.txt").write_bytes(payload)
        if duration is not None:
            sf.write(audio_dir / f"{video}.wav", tone_bursts(duration, spans, sr=sr), sr, subtype="PCM_16")
    return root


@pytest.fixture
def small_mosei(tmp_path) -> Path:
    """Six clean recordings, three sentences each (positive, negative, neutral), 12 s long."""
    recordings = {}
    for v in range(6):
        vid = f"vid{v}"
        recordings[vid] = (12.0, [
            f"{vid}___0___0.5___3.0___I absolutely love this wonderful film, it is great!",
            f"{vid}___1___4.0___11.5___This was a terrible, awful and horrible experience.",
            f"{vid}___2___11.6___11.9___The meeting is on Tuesday.",
        ])
    return write_mosei(tmp_path / "corpus", recordings)


def vgg16_embedding(weights="random", batch_size: int = 16, **settings):
    """A resolved VGG16 embedding (:class:`transfer.features.Embedding`) for tests: seeded random weights unless
    given (a spec, or a resolved :class:`~transfer.weights.WeightsInfo`), the reference path (float32 over whole
    clips) unless ``settings`` say otherwise (``layer``, ``pooling``, ``n_bands``, ``precision``, ``frames``)."""
    from transfer.features import Embedding, VGG16Settings
    from transfer.weights import resolve_vgg16_weights

    weights = resolve_vgg16_weights(weights) if isinstance(weights, str) else weights
    return Embedding("vgg16", VGG16Settings(weights=weights, **settings), batch_size, "vgg16")


def cached_embeddings(dataset, key: str):
    """The dataset's cached embeddings for ``key`` (memory-mapped ``(n_clips, dim)`` float32), None where none are
    cached for the features it holds now (:func:`transfer.embedding_record.load_cached_embeddings`)."""
    from transfer.embedding_record import load_cached_embeddings

    cached = load_cached_embeddings(dataset.embeddings_dir, key, dataset.features_sha256)
    return None if cached is None else cached[0]


def embedding_config(features: str = "vgg16", batch_size: int = 16, **vgg16):
    """An :class:`transfer.features.EmbeddingConfig` for tests: ``features`` with VGG16's random weights (explicit)
    and any other VGG16 options given."""
    from transfer.features import EmbeddingConfig

    return EmbeddingConfig(features=features, batch_size=batch_size).updated(vgg16={"weights": "random", **vgg16})
