"""The human-labelled sentence sets of ``../shared/data/text_sentiment`` (and MELD dev), read into one shape.

Each reader returns a DataFrame with ``text``, ``valence`` (1.0 positive, 0.0 negative, NaN otherwise),
``neutral`` (True where people judged the sentence neutral), ``set`` and ``group`` (rows that must stay on one
side of a fold). Which may train shipped weights is the data README's call, repeated in :data:`SETS`:

* XED (Öhman et al., COLING 2020; CC BY 4.0): subtitle lines with Plutchik emotions; joy and trust are
  positive, anger, disgust, fear and sadness negative; a line with both kinds, or only anticipation/surprise,
  has no valence; the neutral files are neutral lines.
* VADER's ground truth (Hutto & Gilbert, ICWSM 2014; MIT): the mean of 20 raters on -4..+4; beyond +-0.5
  positive or negative, within it neutral.
* EmoBank (Buechel & Hahn, EACL 2017; CC BY-SA 4.0, evaluation only): valence 1-5; >= 3.5 positive,
  <= 2.5 negative, between neutral.
* MELD dev (GPL-3.0 annotations, evaluation only): Sentiment positive / negative / neutral, grouped by dialogue.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

XED_POSITIVE, XED_NEGATIVE = {5, 8}, {1, 3, 4, 6}

#: name -> (path under the data folder, licence, may train shipped weights)
SETS = {
    "xed_en": ("text_sentiment/xed/en-annotated.tsv", "CC BY 4.0", True),
    "xed_en_neutral": ("text_sentiment/xed/neu_en.txt", "CC BY 4.0", True),
    "xed_fi": ("text_sentiment/xed/fi-annotated.tsv", "CC BY 4.0", True),
    "xed_fi_neutral": ("text_sentiment/xed/neu_fi.txt", "CC BY 4.0", True),
    "vader_tweets": ("text_sentiment/vader_ground_truth/tweets_GroundTruth.txt", "MIT", True),
    "vader_movie_reviews": ("text_sentiment/vader_ground_truth/movieReviewSnippets_GroundTruth.txt", "MIT", True),
    "vader_amazon_reviews": ("text_sentiment/vader_ground_truth/amazonReviewSnippets_GroundTruth.txt", "MIT", True),
    "vader_nyt_editorials": ("text_sentiment/vader_ground_truth/nytEditorialSnippets_GroundTruth.txt", "MIT", True),
    "emobank": ("text_sentiment/emobank/emobank.csv", "CC BY-SA 4.0", False),
    "meld_dev": ("meld_dev_sent_emo.csv", "GPL-3.0", False),
}


def _frame(rows: list[tuple], name: str) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["text", "valence", "neutral", "group"])
    frame.insert(3, "set", name)
    return frame


def read_xed(data: Path, language: str) -> pd.DataFrame:
    """XED's annotated and neutral lines of one language (``en`` or ``fi``); groups: one per line."""
    rows = []
    with open(data / SETS[f"xed_{language}"][0], encoding="utf-8") as handle:
        for i, line in enumerate(handle):
            text, _, labels = line.rstrip("\n").rpartition("\t")
            if not text:
                continue
            codes = {int(x) for x in labels.replace(" ", "").split(",") if x.isdigit()}
            positive, negative = bool(codes & XED_POSITIVE), bool(codes & XED_NEGATIVE)
            valence = 1.0 if positive and not negative else 0.0 if negative and not positive else np.nan
            rows.append((text, valence, False, f"xed_{language}:{i}"))
    annotated = _frame(rows, f"xed_{language}")
    rows = []
    with open(data / SETS[f"xed_{language}_neutral"][0], encoding="utf-8") as handle:
        for i, line in enumerate(handle):
            parts = line.rstrip("\n").split("\t")
            text = parts[1] if len(parts) >= 2 else parts[0]  # "9<TAB>text", "id<TAB>text<TAB>...", or the line
            if text.strip():
                rows.append((text, np.nan, True, f"xed_{language}_neutral:{i}"))
    return pd.concat([annotated, _frame(rows, f"xed_{language}_neutral")], ignore_index=True)


def read_vader_ground_truth(data: Path, name: str) -> pd.DataFrame:
    """One of VADER's ground-truth files (``vader_tweets``, ...): mean rating beyond +-0.5 polar, else neutral."""
    rows = []
    with open(data / SETS[name][0], encoding="utf-8", errors="replace") as handle:
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3:
                continue
            rating = float(parts[1])
            valence = 1.0 if rating > 0.5 else 0.0 if rating < -0.5 else np.nan
            rows.append((parts[2], valence, bool(np.isnan(valence)), f"{name}:{parts[0].split('_')[0]}"))
    return _frame(rows, name)


def read_emobank(data: Path) -> pd.DataFrame:
    table = pd.read_csv(data / SETS["emobank"][0])
    valence = np.where(table["V"] >= 3.5, 1.0, np.where(table["V"] <= 2.5, 0.0, np.nan))
    return _frame(list(zip(table["text"].astype(str), valence, np.isnan(valence), table["id"].astype(str))),
                  "emobank")


def read_meld(data: Path) -> pd.DataFrame:
    table = pd.read_csv(data / SETS["meld_dev"][0])
    sentiment = table["Sentiment"].str.lower()
    valence = np.where(sentiment == "positive", 1.0, np.where(sentiment == "negative", 0.0, np.nan))
    groups = "meld:" + table["Dialogue_ID"].astype(str)
    return _frame(list(zip(table["Utterance"], valence, sentiment == "neutral", groups)), "meld_dev")


def read_set(data: Path, name: str) -> pd.DataFrame:
    """One set by name (``xed_en`` includes its neutral lines)."""
    if name.startswith("xed_"):
        return read_xed(data, name.split("_")[1])
    if name.startswith("vader_"):
        return read_vader_ground_truth(data, name)
    return read_emobank(data) if name == "emobank" else read_meld(data)


def file_record(data: Path, name: str, frame: pd.DataFrame) -> dict:
    """What a shipped model records of a file it was fitted on: name, SHA-256, rows, counts, licence."""
    from foundation.digests import file_sha256

    path, licence, _ = SETS[name]
    part = frame[frame["file" if "file" in frame.columns else "set"] == name]
    return {"file": path, "sha256": file_sha256(data / path), "rows": int(len(part)),
            "positive": int((part["valence"] == 1).sum()), "negative": int((part["valence"] == 0).sum()),
            "neutral": int(part["neutral"].sum()), "licence": licence}
