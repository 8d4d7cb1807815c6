"""Scoring sentences with the registry's scorers: each distinct normalised sentence once, in batches, cached.

:func:`score_texts` is what the build, re-labelling, the label-quality tool, the label-model fit and the
benchmarks call. It normalises the texts (:func:`weaklabel.text.normalize_text`), keeps each distinct one, asks
the sentence cache (:class:`SentenceCache`) for what a costly scorer (``cached=True``: a neural model) already
scored, runs the rest in batches (at most the scorer's ``batch_size`` texts and :data:`BATCH_CHARS` characters)
-- on an executor's workers when given one (:func:`foundation.executor.make_executor`: local processes or Dask),
else here -- and stores the new results.

The cache is one SQLite file, ``$WEAKLABEL_SENTENCE_CACHE``, else ``$WEAKLABEL_CACHE/sentence_scores.sqlite3``
(``~/.cache/weaklabel`` when unset), keyed by scorer name, scorer version and the SHA-256 of the normalised text, so builds of other corpora,
re-labelling and the label-quality tool share it, and a new scorer version never reads an old score. It holds
exactly the floats the scorer returned (a cached build is byte-identical to an uncached one); only the main
process reads and writes it. A cache that cannot be opened (read-only home) is skipped with a warning; so is one
that another process holds locked, after :data:`LOCK_WAIT_S`.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import warnings
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from weaklabel.scorers import SCORERS, ScoredTexts, ScorerFailed
from weaklabel.text import has_text, normalize_text

CACHE_ENV = "WEAKLABEL_CACHE"
#: The sentence cache's file, when it should not be ``$WEAKLABEL_CACHE/sentence_scores.sqlite3`` (tests, a shared disk).
SENTENCE_CACHE_ENV = "WEAKLABEL_SENTENCE_CACHE"
CACHE_FILE = "sentence_scores.sqlite3"
#: The most characters of normalised text in one scoring batch (a longer text is a batch of its own), besides a
#: scorer's ``batch_size`` in texts. A scorer's cost grows with the characters it reads, so a batch of long texts
#: holds fewer of them and takes seconds like any other: no worker holds a long batch, and progress keeps moving.
#: 200,000 characters are 2,000 sentences of 100 characters (the lexicons' batch size), or 50 texts at the
#: scorers' 4,000-character bound (:data:`weaklabel.scorers.base.MAX_TEXT_CHARS`; about 4 s of VADER).
BATCH_CHARS = 200_000
#: The column of :func:`score_texts`'s table that holds the scorers' notes about each text (a tuple of
#: :func:`scorer_note` strings, e.g. a text cut to a model's window), None where there are none.
NOTES_COLUMN = "score_notes"


def scorer_note(scorer: str, note: str) -> str:
    """How a scorer's note about a text reads in a segment's ``detail``: ``"<scorer>: <note>"``."""
    return f"{scorer}: {note}"


def default_cache_path() -> Path:
    """``$WEAKLABEL_SENTENCE_CACHE``, else ``sentence_scores.sqlite3`` in ``$WEAKLABEL_CACHE`` or
    ``~/.cache/weaklabel`` (the folder converted VGG16 weights also live in)."""
    if os.environ.get(SENTENCE_CACHE_ENV):
        return Path(os.environ[SENTENCE_CACHE_ENV])
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "weaklabel") / CACHE_FILE


#: Seconds the sentence cache waits for a lock that another process holds before scoring goes on without it. Its
#: own writers hold the lock for milliseconds (one batch's INSERT); a longer hold is another program (an open
#: transaction, a copy or a backup), which scoring does not wait for: it says so at once and goes on uncached.
LOCK_WAIT_S = 1.0


def _is_lock_error(exc: Exception) -> bool:
    """Whether a SQLite error says that another connection holds the database's lock."""
    return getattr(exc, "sqlite_errorname", None) in ("SQLITE_BUSY", "SQLITE_LOCKED") or "locked" in str(exc)


def text_key(text: str) -> str:
    """The cache key of a normalised text: its UTF-8 SHA-256 (surrogates escaped), hex."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class SentenceCache:
    """Scores of costly scorers by (scorer, version, text digest), in one SQLite file.

    Parameters
    ----------
    path : path or None
        The SQLite file (default :func:`default_cache_path`).
    enabled : bool
        False: no cache (nothing read or written).
    """

    def __init__(self, path: str | Path | None = None, enabled: bool = True):
        self.path = Path(path) if path is not None else default_cache_path()
        self.enabled = enabled
        self._db: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection | None:
        if not self.enabled:
            return None
        if self._db is None:
            db = None
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=LOCK_WAIT_S)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("CREATE TABLE IF NOT EXISTS scores (scorer TEXT, version TEXT, key TEXT, value TEXT, "
                           "PRIMARY KEY (scorer, version, key))")
                self._db = db
            except (OSError, sqlite3.Error) as exc:
                if db is not None:
                    db.close()
                self._give_up(exc, f"cannot be used ({exc}); scoring without it", stacklevel=3, disable=True)
                return None
        return self._db

    def _give_up(self, exc: Exception, problem: str, stacklevel: int, disable: bool = False) -> None:
        """Warn that the cache has ``problem``. With ``disable``, or when another process holds its lock (then said
        instead), the cache is left alone for the rest of this run: nothing more read, written or waited for."""
        locked = isinstance(exc, sqlite3.Error) and _is_lock_error(exc)
        if locked:
            problem = (f"is locked by another process (waited {LOCK_WAIT_S:g} s); scoring without it, its scores "
                       "neither read nor kept")
        if locked or disable:
            self.close()
            self.enabled = False
        warnings.warn(f"the sentence cache {self.path} {problem}", stacklevel=stacklevel + 1)

    def get(self, scorer: str, version: str, keys: Sequence[str]) -> dict[str, tuple[list, str | None]]:
        """The cached ``(values in column order, note)`` of every key found."""
        db = self._connect()
        if db is None or not keys:
            return {}
        found = {}
        for start in range(0, len(keys), 500):
            chunk = list(keys[start:start + 500])
            query = (f"SELECT key, value FROM scores WHERE scorer = ? AND version = ? AND key IN "
                     f"({','.join('?' * len(chunk))})")
            try:
                for key, value in db.execute(query, [scorer, version, *chunk]):
                    values, note = json.loads(value)
                    found[key] = (values, note)
            except (sqlite3.Error, ValueError) as exc:
                self._give_up(exc, f"cannot be read ({exc}); scoring without it", stacklevel=2)
                return {}
        return found

    def put(self, scorer: str, version: str, entries: dict[str, tuple[list, str | None]]) -> None:
        """Store ``{key: (values, note)}`` (floats as JSON round-trip them exactly)."""
        db = self._connect()
        if db is None or not entries:
            return
        rows = [(scorer, version, key, json.dumps([values, note], allow_nan=True)) for key, (values, note)
                in entries.items()]
        try:
            with db:
                db.executemany("INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?)", rows)
        except sqlite3.Error as exc:
            self._give_up(exc, f"cannot be written ({exc}); its scores are not kept", stacklevel=2)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def score_batch(scorer: str, texts: list[str], threads: int | None = None) -> ScoredTexts:
    """Task entry point: one scorer over one batch of normalised texts (``threads``: cap on its OpenMP/BLAS
    threads, e.g. 1 when several worker processes share the cores)."""
    if threads is None:
        return SCORERS[scorer].score_many(texts)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads):
        return SCORERS[scorer].score_many(texts)


def batches(texts: Sequence[str], max_texts: int, max_chars: int = BATCH_CHARS) -> list[list[str]]:
    """``texts`` in order, in consecutive batches of at most ``max_texts`` texts and ``max_chars`` characters (a
    text longer than that alone)."""
    out: list[list[str]] = []
    size = 0
    for text in texts:
        if not out or len(out[-1]) >= max_texts or (size + len(text) > max_chars and out[-1]):
            out.append([])
            size = 0
        out[-1].append(text)
        size += len(text)
    return out


def _to_values(scored: ScoredTexts, columns: Sequence[str], i: int) -> list:
    out = []
    for name in columns:
        value = scored.columns[name][i]
        out.append(None if value is None else value if isinstance(value, str) else float(value))
    return out


class ScoringRun:
    """Scoring of many texts, started now and collected later (:meth:`table`), so that its batches run on an
    executor's workers beside other work (the build's audio files).

    Parameters
    ----------
    texts : iterable of str (None, NaN or blank entries are not scored)
    scorers : names in :data:`weaklabel.scorers.SCORERS`
    engine : foundation.executor.Engine, optional
        Where the batches run (its ``submit``); None: in this process, when :meth:`table` is called.
    threads : int, optional
        Thread cap per batch (:func:`score_batch`).
    cache : SentenceCache, optional
        Default: the user's cache (:func:`default_cache_path`); ``SentenceCache(enabled=False)`` for none.

    Raises
    ------
    weaklabel.scorers.ScorerUnavailable
        A scorer that cannot run here (its package is not installed), before anything is scored.
    """

    def __init__(self, texts: Iterable, scorers: Sequence[str], *, engine=None, threads: int | None = None,
                 cache: SentenceCache | None = None):
        self.scorers = tuple(scorers)
        for name in self.scorers:
            SCORERS[name].check_available()
        self.normalised = [normalize_text(t) if has_text(t) else None for t in texts]
        distinct = sorted({t for t in self.normalised if t})
        self.cache = cache if cache is not None else SentenceCache()
        self.threads = threads
        self.tables: dict[str, dict[str, tuple[list, str | None]]] = {}
        self.pending = []  # (scorer, batch texts, future or None)
        self.n_cached = 0
        for name in self.scorers:
            scorer = SCORERS[name]
            found = {}
            if scorer.cached:
                keys = {text: text_key(text) for text in distinct}
                stored = self.cache.get(name, scorer.version, list(keys.values()))
                found = {text: stored[keys[text]] for text in distinct if keys[text] in stored}
                self.n_cached += len(found)
            self.tables[name] = found
            todo = [text for text in distinct if text not in found]
            for batch in batches(todo, scorer.batch_size):
                future = engine.submit(score_batch, name, batch, threads) if engine is not None else None
                self.pending.append((name, batch, future))
        #: (scorer, text) pairs to score: what :meth:`table`'s ``progress`` counts up to.
        self.n_to_score = sum(len(batch) for _, batch, _ in self.pending)

    def table(self, progress: Callable[[int], None] | None = None) -> pd.DataFrame:
        """Wait for (or run) every batch; store the new costly scores in the cache.

        Parameters
        ----------
        progress : callable(n), optional
            Called with the (scorer, text) pairs of each batch as it is collected.

        Raises
        ------
        weaklabel.scorers.ScorerFailed
            A batch raised (naming the scorer and what it raised); the scores of the batches collected before it
            are in the cache.

        Returns
        -------
        DataFrame, one row per input text in order, columns the scorers' columns (float64, or object for text
        columns; NaN/None where the text has nothing to score) and :data:`NOTES_COLUMN` (a tuple of the
        scorers' :func:`scorer_note`, None where none).
        """
        for name, batch, future in self.pending:
            scorer = SCORERS[name]
            try:
                scored = future.result() if future is not None else score_batch(name, batch, self.threads)
            except Exception as exc:  # the scorer's engine or model, here or on a worker
                raise ScorerFailed(name, exc) from exc
            fresh = {text: (_to_values(scored, scorer.column_names, i), scored.notes[i])
                     for i, text in enumerate(batch)}
            self.tables[name].update(fresh)
            if scorer.cached:
                self.cache.put(name, scorer.version, {text_key(text): value for text, value in fresh.items()})
            if progress:
                progress(len(batch))
        self.pending = []
        return _score_table(self.normalised, self.scorers, self.tables)


def score_texts(texts: Iterable, scorers: Sequence[str], *, engine=None, threads: int | None = None,
                cache: SentenceCache | None = None, progress: Callable[[int], None] | None = None) -> pd.DataFrame:
    """Score ``texts`` with the named scorers: :class:`ScoringRun` started and collected at once (its
    parameters; ``progress`` counts (scorer, text) pairs scored, cached ones excluded)."""
    return ScoringRun(texts, scorers, engine=engine, threads=threads, cache=cache).table(progress)


def _score_table(normalised: list[str | None], scorers: Sequence[str],
                 tables: dict[str, dict[str, tuple[list, str | None]]]) -> pd.DataFrame:
    data: dict[str, list] = {}
    notes: list[tuple] = [()] * len(normalised)
    for name in scorers:
        scorer = SCORERS[name]
        table = tables[name]
        for j, column in enumerate(scorer.columns):
            missing = None if column.kind == "text" else np.nan
            data[column.name] = [table[t][0][j] if t else missing for t in normalised]
        for i, text in enumerate(normalised):
            note = table[text][1] if text else None
            if note:
                notes[i] = (*notes[i], scorer_note(name, note))
    frame = pd.DataFrame({name: pd.Series(values, dtype=object if _kind(name) == "text" else np.float64)
                          for name, values in data.items()}, index=range(len(normalised)))
    frame[NOTES_COLUMN] = pd.Series([n or None for n in notes], dtype=object)
    return frame


def _kind(column: str) -> str:
    from weaklabel.scorers import scorer_of_column

    return next(c.kind for c in scorer_of_column(column).columns if c.name == column)
