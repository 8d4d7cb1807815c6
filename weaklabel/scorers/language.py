"""Which language a sentence is in, so that English-only scorers are not read on other languages.

``py3langid`` (BSD-3-Clause; its naive-Bayes model over byte n-grams of 97 languages ships in the wheel) gives
each text its most likely language and that language's normalised probability. Very short lines ("Okay!",
"No.") are often guessed wrong with a low probability, so a text counts as *not English* only when the guess
is another language with probability at least :data:`NOT_ENGLISH_MIN_P` (on XED's subtitle lines: 0.1 % of
English lines and 85 % of Finnish ones; ``benchmarks.text_teacher`` measures it). Thousands of lines a second.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from foundation.versions import version_text
from weaklabel.scorers.base import Column, ScoredTexts, Scorer, bounded_texts

#: A text whose guessed language is not English, with at least this probability, is not read by English-only
#: scorers' policies (they abstain on it, saying so in ``detail``).
NOT_ENGLISH_MIN_P = 0.5


@lru_cache(maxsize=1)
def _identifier():
    import py3langid.langid as langid

    return langid.LanguageIdentifier.from_modelpath(Path(langid.__file__).parent / langid.MODEL_FILE,
                                                    norm_probs=True)


def score_language(texts: Sequence[str]) -> ScoredTexts:
    """``language``: the ISO 639-1 code guessed; ``language_p``: its normalised probability in [0, 1]; of at most
    :data:`~weaklabel.scorers.base.MAX_TEXT_CHARS` characters of each text, noting a cut."""
    texts, notes = bounded_texts(texts)
    identifier = _identifier()
    codes = np.empty(len(texts), dtype=object)
    probabilities = np.empty(len(texts))
    for i, text in enumerate(texts):
        code, p = identifier.classify(text)
        codes[i], probabilities[i] = str(code), round(float(p), 6)
    return ScoredTexts({"language": codes, "language_p": probabilities}, notes)


def not_english(language, language_p) -> np.ndarray:
    """Which texts are confidently in another language than English (bool array; False where unknown)."""
    language = np.asarray(language, dtype=object)
    p = np.asarray(language_p, dtype=np.float64)
    known = np.array([isinstance(code, str) for code in language], dtype=bool)
    other = np.array([code != "en" for code in language], dtype=bool)
    return known & other & (np.nan_to_num(p, nan=0.0) >= NOT_ENGLISH_MIN_P)


def _unavailable() -> str | None:
    try:
        _identifier()
    except ImportError:
        return "py3langid is not installed (pip install py3langid)"
    return None


LANGUAGE = Scorer(
    name="language", version=f"py3langid-{version_text('py3langid')}+p{NOT_ENGLISH_MIN_P:g}",
    description="the sentence's language (py3langid), so English-only scorers abstain on other languages",
    columns=(Column("language", "ISO 639-1 code of the language py3langid guesses for the text", kind="text"),
             Column("language_p", "py3langid's normalised probability of that language, [0, 1]")),
    score_many=score_language, unavailable=_unavailable,
    provenance={"package": "py3langid", "package_version": version_text("py3langid"), "licence": "BSD-3-Clause",
                "model": "langid.py's 97-language model (in the package)", "model_licence": "BSD-3-Clause"})
