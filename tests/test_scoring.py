"""Scoring sentences: each distinct normalised text once, costly scorers cached by version, same bytes either way."""
import sqlite3

import numpy as np
import pandas as pd
import pytest

from foundation.executor import make_executor
from weaklabel.scorers import batch as scoring
from weaklabel.scorers import SCORERS, Column, ScoredTexts, Scorer, ScorerUnavailable
from weaklabel.scorers.batch import BATCH_CHARS, NOTES_COLUMN, ScoringRun, SentenceCache, batches, score_texts


@pytest.fixture
def counting_scorer(monkeypatch):
    """A costly (cached) toy scorer in the registry that counts what it is asked to score."""
    calls: list[list[str]] = []

    def score_many(texts):
        calls.append(list(texts))
        return ScoredTexts({"toy": np.array([len(t) / 100 for t in texts])},
                           [f"long: {len(t)}" if len(t) > 20 else None for t in texts])

    toy = Scorer("toy", "1", "counts characters", (Column("toy", "characters / 100"),), score_many, cached=True,
                 batch_size=2, score_column="toy")
    monkeypatch.setitem(SCORERS, "toy", toy)
    return toy, calls


def test_each_distinct_normalised_text_is_scored_once(counting_scorer, tmp_path):
    toy, calls = counting_scorer
    texts = ["I love it", "I love  it", None, "", "I love\u00a0it", "Other text", float("nan")]
    table = score_texts(texts, ["toy"], cache=SentenceCache(tmp_path / "c.sqlite3"))
    assert sorted(t for batch in calls for t in batch) == ["I love it", "Other text"]
    assert all(len(batch) <= toy.batch_size for batch in calls)
    assert table["toy"].tolist()[:2] == [0.09, 0.09] and np.isnan(table["toy"][2]) and np.isnan(table["toy"][6])
    assert table[NOTES_COLUMN].isna().all()


def test_the_cache_serves_a_second_run_the_same_bytes_and_keys_by_version(counting_scorer, tmp_path, monkeypatch):
    toy, calls = counting_scorer
    cache_path = tmp_path / "c.sqlite3"
    texts = ["A sentence long enough for a note", "Short one"]
    first = score_texts(texts, ["toy"], cache=SentenceCache(cache_path))
    n_calls = len(calls)
    second = score_texts(texts, ["toy"], cache=SentenceCache(cache_path))
    assert len(calls) == n_calls  # nothing scored again
    pd.testing.assert_frame_equal(first, second)
    assert first[NOTES_COLUMN][0] == ("toy: long: 33",) and first[NOTES_COLUMN][1] is None
    monkeypatch.setitem(SCORERS, "toy", Scorer(**{**toy.__dict__, "version": "2"}))
    score_texts(texts, ["toy"], cache=SentenceCache(cache_path))
    assert len(calls) > n_calls  # a new version never reads the old scores
    with sqlite3.connect(cache_path) as db:
        assert {v for (v,) in db.execute("SELECT DISTINCT version FROM scores")} == {"1", "2"}


def test_cheap_scorers_are_not_cached(tmp_path):
    cache = tmp_path / "c.sqlite3"
    score_texts(["I love it"], ["textblob", "vader"], cache=SentenceCache(cache))
    assert not cache.exists()  # never even opened: recomputing a lexicon score is cheaper than looking it up


def test_an_unusable_cache_is_skipped_with_a_warning(counting_scorer, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.warns(UserWarning, match="cannot be used"):
        table = score_texts(["Hello there"], ["toy"], cache=SentenceCache(blocker / "c.sqlite3"))
    assert table["toy"][0] == pytest.approx(0.11)


def test_the_executor_runs_the_batches_with_the_same_result(counting_scorer, tmp_path):
    texts = [f"sentence number {i}" for i in range(7)]
    here = score_texts(texts, ["toy", "vader"], cache=SentenceCache(enabled=False))
    with make_executor("local", None, 1) as engine:
        run = ScoringRun(texts, ["toy", "vader"], engine=engine, cache=SentenceCache(enabled=False))
        assert run.n_to_score == 14
        there = run.table()
    pd.testing.assert_frame_equal(here, there)


def test_an_unavailable_scorer_fails_before_anything_is_scored(counting_scorer, monkeypatch):
    toy, calls = counting_scorer
    monkeypatch.setitem(SCORERS, "toy", Scorer(**{**toy.__dict__, "unavailable": lambda: "no toy package"}))
    with pytest.raises(ScorerUnavailable, match="no toy package"):
        score_texts(["x"], ["vader", "toy"])
    assert calls == []


def test_the_default_cache_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(scoring.SENTENCE_CACHE_ENV, str(tmp_path / "mine.sqlite3"))
    assert scoring.default_cache_path() == tmp_path / "mine.sqlite3"
    monkeypatch.delenv(scoring.SENTENCE_CACHE_ENV)
    monkeypatch.setenv(scoring.CACHE_ENV, str(tmp_path / "cache"))
    assert scoring.default_cache_path() == tmp_path / "cache" / scoring.CACHE_FILE


def test_batches_are_bounded_in_texts_and_in_characters():
    texts = ["a" * 5, "b" * 5, "c" * 20, "d" * 3, "e"]
    assert batches(texts, 2, 10) == [["a" * 5, "b" * 5], ["c" * 20], ["d" * 3, "e"]]
    assert batches(texts, 10, 100) == [texts] and batches([], 2, 10) == []


def test_long_texts_are_scored_in_batches_of_bounded_characters_so_progress_keeps_moving():
    texts = [f"{i} " + "I love this wonderful day. " * 600 for i in range(30)]  # ~16,000 characters each
    per_batch = BATCH_CHARS // len(texts[0])
    done = []
    run = ScoringRun(texts, ["vader"], cache=SentenceCache(enabled=False))
    table = run.table(done.append)
    assert run.n_to_score == 30 and done == [per_batch, per_batch, 30 - 2 * per_batch]
    pd.testing.assert_frame_equal(table, score_texts(texts[:15], ["vader"]).pipe(
        lambda head: pd.concat([head, score_texts(texts[15:], ["vader"])], ignore_index=True)))


def lock_cache(path, hold: str) -> sqlite3.Connection:
    """Another connection (as another process would) holding the cache's lock: ``writer``, a write transaction
    (readers go on, writers wait); ``exclusive``, exclusive locking (nobody else reads or writes)."""
    holder = sqlite3.connect(path, isolation_level=None)
    if hold == "exclusive":
        holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    if hold == "exclusive":
        holder.execute("DELETE FROM scores WHERE scorer = 'nobody'")
        holder.execute("COMMIT")  # the exclusive lock stays with the connection
    return holder


@pytest.mark.parametrize("hold", ["writer", "exclusive"])
def test_a_cache_locked_by_another_process_is_given_up_at_once_and_said_once(counting_scorer, tmp_path, hold):
    toy, calls = counting_scorer
    path = tmp_path / "c.sqlite3"
    cache = SentenceCache(path)
    score_texts(["warm up"], ["toy"], cache=cache)  # the cache exists (write-ahead log)
    assert cache._connect().execute("PRAGMA busy_timeout").fetchone()[0] <= 2000  # seconds, not a minute
    cache.close()
    texts = [f"sentence number {i}" for i in range(6)]  # three batches, each stored in its turn
    uncached = score_texts(texts, ["toy"], cache=SentenceCache(enabled=False))
    holder = lock_cache(path, hold)
    try:
        with pytest.warns(UserWarning) as warned:
            table = score_texts(texts, ["toy"], cache=SentenceCache(path))
    finally:
        holder.close()
    messages = [str(w.message) for w in warned]
    assert len(messages) == 1 and f"the sentence cache {path} is locked by another process" in messages[0]
    pd.testing.assert_frame_equal(table, uncached)
