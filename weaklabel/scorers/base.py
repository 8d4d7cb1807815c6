"""What a text scorer is: a small named object, as a Snorkel labelling function is.

A :class:`Scorer` has a name, a version, the columns it writes into ``segments.parquet`` (each with a
description), the languages it reads, where its model or lexicon comes from, and one way to score:
``score_many(texts) -> ScoredTexts``, texts in (already normalised: :func:`weaklabel.text.normalize_text`),
one array per column out. The registry of every scorer is :data:`weaklabel.scorers.SCORERS`; adding a scorer
is one module and one line there. What a scorer reads of a text is bounded (:func:`bounded_texts`, E5 its own
token window), so that one very long line never holds up the others; a cut is noted in the segment's ``detail``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np


class ScorerUnavailable(RuntimeError):
    """A scorer whose package or model is not usable on this machine (the message says why and what to do)."""


#: How a :class:`ScorerFailed` message (and a build's ``policy_fallback`` that it caused) says what happened.
FAILED_WHILE_SCORING = "failed while scoring"


class ScorerFailed(ScorerUnavailable):
    """A scorer that raised while scoring a batch (its engine, its model): ``scorer`` names it; the message says
    what it raised."""

    def __init__(self, scorer: str, error: BaseException):
        self.scorer = scorer
        super().__init__(f"the {scorer} scorer {FAILED_WHILE_SCORING} ({type(error).__name__}: {error})")


@dataclass(frozen=True)
class Column:
    """One column a scorer writes: its name in ``segments.parquet``, what it holds, and its type.

    ``kind`` is ``"float"`` (float64, NaN where not scored) or ``"text"`` (a string, None where not scored).
    """

    name: str
    description: str
    kind: str = "float"


@dataclass
class ScoredTexts:
    """A scorer's output for ``n`` texts.

    Attributes
    ----------
    columns : dict of str -> ndarray (n,)
        One array per :attr:`Scorer.columns` entry: float64 for float columns, object (str) for text columns.
    notes : list of (str or None), length n
        A note per text (e.g. "cut to the model's 512-token window"), None where there is nothing to say;
        the build appends it to the segment's ``detail``.
    """

    columns: dict[str, np.ndarray]
    notes: list[str | None] = field(default_factory=list)

    def __post_init__(self):
        lengths = {len(v) for v in self.columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"scorer columns of different lengths: {sorted(lengths)}")
        n = lengths.pop() if lengths else len(self.notes)
        if not self.notes:
            self.notes = [None] * n
        if len(self.notes) != n:
            raise ValueError(f"{len(self.notes)} notes for {n} texts")

    def __len__(self) -> int:
        return len(self.notes)


#: The most characters of a text a scorer reads (the lexicons and the language scorer; E5 reads its 512-token
#: window, about 1,700 characters of English): a longer text is cut to a whole-word prefix, with a note. A transcript
#: sentence is far shorter (the longest of 66,000 human-labelled sentences of MELD, XED and VADER's ground truth has
#: 855 characters, the 99.9th percentile 530), and 4,000 characters is about four minutes of speech. The bound
#: keeps the cost of a text small and linear: VADER's time grows with the square of the length (measured on
#: one core: 7 ms for 1,000 characters, 45 ms for 4,000, 0.3 s for 10,000, 25 s for 100,000, so about 40 minutes
#: for a 1 MB line); TextBlob's and py3langid's linearly (0.6 s and 0.1 s for 100,000).
MAX_TEXT_CHARS = 4_000


def word_prefix(text: str, n_chars: int) -> str:
    """The first ``n_chars`` characters of ``text``, ended at its last space instead when that space lies in their
    second half (a cut inside a word drops the word)."""
    cut = text[:n_chars]
    space = cut.rfind(" ")
    return cut[:space] if space > n_chars // 2 else cut


def bounded_texts(texts: Sequence[str], max_chars: int = MAX_TEXT_CHARS) -> tuple[list[str], list[str | None]]:
    """``texts`` with each longer than ``max_chars`` characters cut to a whole-word prefix (:func:`word_prefix`),
    and a note per text saying so (None for a text left whole): what a scorer's ``score_many`` reads, and the
    notes of its :class:`ScoredTexts`."""
    cut, notes = [], []
    for text in texts:
        if len(text) <= max_chars:
            cut.append(text)
            notes.append(None)
            continue
        prefix = word_prefix(text, max_chars)
        cut.append(prefix)
        notes.append(f"read the first {len(prefix)} of {len(text)} characters (scorers read at most {max_chars})")
    return cut, notes


def _always_available() -> str | None:
    return None


@dataclass(frozen=True)
class Scorer:
    """A named text scorer.

    Attributes
    ----------
    name : str
        Its registry key (``--scorers``, ``build.json``, the report).
    version : str
        Changes whenever its output for some text may change (a package, a lexicon, a model or a head). The
        build's fingerprint and the sentence cache are keyed by it.
    description : str
        One line for tables and the report.
    columns : tuple of Column
        What it writes, in order.
    score_many : callable(list of str) -> ScoredTexts
        Scores normalised texts (none empty). Pure: the same texts give the same bytes, in any batch.
    languages : tuple of str, or None
        ISO 639-1 codes of the languages it reads (``("en",)`` for the English lexicons); None: any language.
    cached : bool
        Costly enough (a neural model) that its results are kept in the sentence cache across builds
        (:mod:`weaklabel.scorers.batch`); cheap lexicons are simply recomputed.
    batch_size : int
        Texts per scoring task.
    unavailable : callable() -> str or None
        None when the scorer can run here, else why not (a missing package, a platform without its wheel).
    provenance : mapping
        Package, its version and licence, the model or lexicon and its licence: recorded in ``build.json``.
    score_column : str or None
        The column that is its sentiment score in [-1, 1], its vote as a labelling function (the sign, abstaining
        within the neutral band); None for a scorer that says something else about a text (its language).
    """

    name: str
    version: str
    description: str
    columns: tuple[Column, ...]
    score_many: Callable[[Sequence[str]], ScoredTexts]
    languages: tuple[str, ...] | None = None
    cached: bool = False
    batch_size: int = 2000
    unavailable: Callable[[], str | None] = _always_available
    provenance: Mapping = field(default_factory=dict)
    score_column: str | None = None

    def __post_init__(self):
        if self.score_column is not None and self.score_column not in self.column_names:
            raise ValueError(f"scorer {self.name}: score column {self.score_column!r} is not one of its columns")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def check_available(self) -> None:
        """Raise :class:`ScorerUnavailable` (with what to do) when the scorer cannot run here."""
        reason = self.unavailable()
        if reason:
            raise ScorerUnavailable(f"the {self.name} scorer cannot run here: {reason}")

    def record(self) -> dict:
        """What ``build.json`` records of it: version, columns, languages and provenance."""
        return {"version": self.version, "columns": list(self.column_names),
                "languages": list(self.languages) if self.languages else "any", **dict(self.provenance)}


#: Class orders a valence model may have: without and with a neutral class.
BINARY_CLASSES = ("negative", "positive")
THREE_CLASSES = ("negative", "neutral", "positive")


def softmax_valence(logits: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """``p(positive) - p(negative)`` under the softmax of ``logits`` ``(n, len(classes))``: a score in [-1, 1],
    0 where the model is undecided or finds the text neutral. For two classes it is ``2 p - 1``."""
    logits = np.asarray(logits, dtype=np.float64)
    logits = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    return p[:, list(classes).index("positive")] - p[:, list(classes).index("negative")]


def rowdot(matrix: np.ndarray, vector) -> np.ndarray:
    """``matrix @ vector`` in float64 by numpy's pairwise summation, not BLAS: the same bits whatever the BLAS
    library or its thread count. ``matrix`` (n, k), ``vector`` (k,) -> (n,)."""
    return (np.asarray(matrix, dtype=np.float64) * np.asarray(vector, dtype=np.float64)).sum(axis=1)
