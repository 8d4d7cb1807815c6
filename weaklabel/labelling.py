"""Labels, split groups and splits for a build's merged rows, and the counts ``build.json`` records.

The build (:func:`weaklabel.build.finalize`) and re-labelling (:meth:`weaklabel.dataset.Dataset.relabel`) both
turn rows holding every scorer's output into the ``segments.parquet`` table with :func:`label_rows`, so a
re-labelled dataset is the same bytes as a fresh build with that configuration.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from weaklabel.build_record import BuildCounts, SplitCounts
from weaklabel.config import BuildConfig
from weaklabel.dataset import COLUMNS, segment_columns
from weaklabel.scorers import SCORERS
from weaklabel.scorers.batch import scorer_note
from weaklabel.segments import ABSTAINED, FAILURE_STATUSES, OK
from weaklabel.splits import SPLITS, UNASSIGNED, SplitError, assign_group_splits, load_folds, split_groups, \
    splits_from_folds_by_group


#: A note on a segment's ``detail`` written by labelling starts with this and holds :data:`NOT_ENGLISH`
#: (re-labelling replaces it); the language scorer's own notes start with it too.
LANGUAGE_NOTE = "language: "
NOT_ENGLISH = ", not English: "


def is_language_note(item: str) -> bool:
    """Whether a note of ``detail`` is labelling's own language note (``language: fi (p = 0.97), not English: ...``),
    not a scorer's."""
    return item.startswith(LANGUAGE_NOTE) and NOT_ENGLISH in item


def detail_items(detail) -> list[str]:
    """A ``detail`` cell as its "; "-separated notes (none for a missing cell)."""
    return [item for item in str(detail).split("; ") if item] if isinstance(detail, str) and detail else []


def join_detail(items) -> str | None:
    """Notes joined into a ``detail`` cell (None when there are none)."""
    items = [item for item in items if item]
    return "; ".join(items) if items else None


def without_scorer_notes(detail, scorers) -> str | None:
    """``detail`` without the notes of the named scorers and without the language note (labelling's own)."""
    prefixes = tuple(scorer_note(name, "") for name in scorers)
    return join_detail(item for item in detail_items(detail)
                       if not item.startswith(prefixes) and not is_language_note(item))


def label_rows(frame: pd.DataFrame, config: BuildConfig) -> pd.DataFrame:
    """Apply the labelling policy and the splits to merged rows (holding the columns of ``config.scorers()``);
    return the output table.

    A policy that reads English only abstains on text the language scorer finds confidently not English, with
    a note in ``detail`` (replaced, not repeated, when a dataset is re-labelled)."""
    policy = config.labelling_policy()
    result = policy.apply(frame, config.neutral_band)
    scores, labels, statuses, details = [], [], [], []
    for i, (value, lab, status) in enumerate(zip(result.score, result.label, frame["status"])):
        detail = without_scorer_notes(frame["detail"].iat[i], ())
        if result.not_read[i] and status not in FAILURE_STATUSES:
            detail = join_detail([*detail_items(detail), f"{LANGUAGE_NOTE}{frame['language'].iat[i]} (p = "
                                  f"{float(frame['language_p'].iat[i]):.2f}){NOT_ENGLISH}the {policy.name} policy "
                                  "reads English only and abstains"])
        details.append(detail)
        if np.isnan(value):  # no text was scored: keep the reader's status
            scores.append(None)
            labels.append(None)
            statuses.append(status)
            continue
        failed = status in FAILURE_STATUSES
        scores.append(float(value))
        labels.append(None if failed or np.isnan(lab) else int(lab))
        statuses.append(status if failed else (ABSTAINED if np.isnan(lab) else OK))
    frame["score"] = pd.array(scores, dtype="Float64")
    frame["label"] = pd.array(labels, dtype="Int8")
    frame["status"] = statuses
    frame["detail"] = details
    frame["split"] = assign_splits(frame, config)
    columns = segment_columns(config.scorers())
    float_columns = [c.name for name in config.scorers() for c in SCORERS[name].columns if c.kind == "float"]
    text_columns = [c.name for name in config.scorers() for c in SCORERS[name].columns if c.kind == "text"]
    for col in (*float_columns, "start", "end", "duration_s", "clip_source_start_s", "clip_source_end_s",
                "clip_pad_left_s"):
        frame[col] = pd.array(frame[col].astype(object).where(frame[col].notna(), None), dtype="Float64")
    for col in text_columns:
        frame[col] = pd.array(frame[col].astype(object).where(frame[col].notna(), None), dtype="string")
    frame["feature_row"] = pd.array(frame["feature_row"].astype(object).where(frame["feature_row"].notna(), None),
                                    dtype="Int64")
    frame["start_clamped"] = frame["start_clamped"].astype(bool)
    extras = sorted(c for c in frame.columns if c.startswith("extra:"))
    frame = frame.rename(columns={c: c[len("extra:"):] for c in extras})
    extra_names = [c[len("extra:"):] for c in extras if c[len("extra:"):] not in COLUMNS]
    return frame[list(columns) + extra_names]


def assign_splits(frame: pd.DataFrame, config: BuildConfig) -> list[str | None]:
    """Split per split group (:func:`weaklabel.splits.split_groups`, written back to ``group_id``): from
    ``config.folds`` (by video id, else group id; a group listed on two sides is an error) or by seeded group
    assignment. Raises :class:`~weaklabel.splits.SplitError` when a side would be left without kept segments,
    unless ``config.allow_empty_splits``."""
    speakers = frame["extra:speaker"] if "extra:speaker" in frame.columns else [None] * len(frame)
    audio = frame["audio_path"] if "audio_path" in frame.columns else [None] * len(frame)
    original = frame["group_id"].tolist()
    groups = split_groups(frame["video_id"].tolist(), original, list(speakers), list(audio), config.speakers)
    frame["group_id"] = groups
    if config.folds:
        folds = load_folds(config.folds)
        splits = splits_from_folds_by_group(folds, frame["video_id"].tolist(), original, groups)
        wanted = [s for s in SPLITS if folds.get(s)]
    else:
        sizes = Counter()
        for group, status in zip(groups, frame["status"]):
            sizes[group] += status == OK
        for group in groups:
            sizes.setdefault(group, 0)
        mapping = assign_group_splits(sizes, config.split_fractions, config.seed)
        splits = [mapping[g] for g in groups]
        wanted = [s for s, f in zip(SPLITS, config.split_fractions) if f > 0]
    check_sides(splits, groups, frame["status"].tolist(), wanted, config)
    return splits


def check_sides(splits: list, groups: list, statuses: list, wanted: list[str], config: BuildConfig) -> None:
    """Raise :class:`~weaklabel.splits.SplitError` when a wanted side gets no kept segment while others do."""
    kept = Counter(s for s, status in zip(splits, statuses) if status == OK)
    if not any(kept[s] for s in SPLITS) or config.allow_empty_splits:
        return  # nothing kept, or folds that list none of the corpus: the summary reports it as such
    empty = [s for s in wanted if not kept.get(s)]
    if not empty:
        return
    n_groups = len({g for g, status in zip(groups, statuses) if status == OK})
    how = ("the folds file lists no kept segment's video there" if config.folds else
           f"the corpus has {n_groups} group(s) with kept segments for {len(wanted)} side(s)")
    raise SplitError(
        f"the {' and '.join(empty)} split(s) would be empty: {how}. Groups are recordings joined by shared "
        "speakers, audio files and group ids, so that no voice is on two sides. Add recordings or speakers; if "
        "the speaker labels are per recording (diarization), build with --speakers local; or, knowingly, "
        "--allow-empty-splits (metrics on an empty side are not a result)")


def count_build(frame: pd.DataFrame) -> BuildCounts:
    """Counts by status, label and split (label counts over ``ok`` rows only) and by guessed language."""
    ok = frame[frame["status"] == OK]
    positive, negative = int((ok["label"] == 1).sum()), int((ok["label"] == 0).sum())
    by_split = {}
    for split, part in frame.groupby(frame["split"].fillna(UNASSIGNED), sort=True):
        part_ok = part[part["status"] == OK]
        by_split[str(split)] = SplitCounts(segments=int(len(part)), ok=int(len(part_ok)),
                                           positive=int((part_ok["label"] == 1).sum()),
                                           negative=int((part_ok["label"] == 0).sum()),
                                           groups=int(part["group_id"].nunique()))
    languages = language_counts(frame)
    return BuildCounts(
        segments=int(len(frame)), recordings=int(frame["video_id"].nunique()),
        groups=int(frame["group_id"].nunique()), ok=int(len(ok)),
        abstained=int((frame["status"] == ABSTAINED).sum()), failed=int(frame["status"].isin(FAILURE_STATUSES).sum()),
        by_status={str(k): int(v) for k, v in sorted(frame["status"].value_counts().items())},
        positive=positive, negative=negative, positive_share=round(positive / len(ok), 6) if len(ok) else None,
        by_split=by_split, start_clamped=int(frame["start_clamped"].sum()),
        by_language=languages.get("by_language", {}), abstained_not_read=languages.get("abstained_not_read", 0))


def language_counts(frame: pd.DataFrame) -> dict:
    """Segments with text per language the language scorer guessed (most frequent first, ties by code), and
    how many abstained because their policy does not read their language."""
    if "language" not in frame.columns:
        return {}
    codes = frame["language"].dropna().astype(str)
    counted = sorted(Counter(codes).items(), key=lambda item: (-item[1], item[0]))
    not_read = frame["detail"].map(lambda d: any(is_language_note(i) for i in detail_items(d)))
    return {"by_language": dict(counted), "abstained_not_read": int(not_read.sum())}
