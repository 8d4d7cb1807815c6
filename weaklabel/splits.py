"""Train/validation/test splits that never put one group (video or speaker) on two sides.

Groups are ordered by a seeded hash, so the order does not depend on how the corpus was listed, then each
group goes to the split furthest below its target share of segments. With three or more groups and every
fraction positive, each split receives at least one group.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path
from typing import Mapping

import pandas as pd

TRAIN, VALIDATION, TEST = SPLITS = ("train", "validation", "test")
#: What counts and reports call the segments no split holds (``split`` is None: failed, or not in the folds).
UNASSIGNED = "unassigned"
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)
#: Split name -> its key in a folds file as this project writes one (the CMU Multimodal SDK's names).
FOLD_FILE_KEYS = {TRAIN: "train", VALIDATION: "valid", TEST: "test"}
# Names the CMU Multimodal SDK and other tools use for each split in a folds file.
_FOLD_ALIASES = {"train": "train", "training": "train", "valid": "validation", "validation": "validation",
                 "val": "validation", "dev": "validation", "test": "test", "testing": "test"}


def _group_order_key(seed: int, group: str) -> str:
    return hashlib.sha256(f"{seed}\x00{group}".encode("utf-8")).hexdigest()


def assign_group_splits(group_sizes: Mapping[str, int], fractions=DEFAULT_FRACTIONS, seed: int = 0) -> dict[str, str]:
    """Assign each group to a split so that segment shares approach ``fractions``.

    Parameters
    ----------
    group_sizes : mapping of group id to number of segments
        Sizes weight the assignment; a group of size 0 still gets a split.
    fractions : (train, validation, test)
        Non-negative, summing to 1.
    seed : int

    Returns
    -------
    dict mapping group id to ``"train"``, ``"validation"`` or ``"test"``.
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(f"split fractions must be three non-negative numbers summing to 1, got {fractions}")
    groups = sorted(group_sizes, key=lambda g: _group_order_key(seed, g))
    weight = {g: max(0, int(group_sizes[g])) for g in groups}
    if not any(weight.values()):  # nothing to weigh by: count groups instead
        weight = dict.fromkeys(groups, 1)
    total = sum(weight.values())
    assigned: dict[str, str] = {}
    filled = dict.fromkeys(SPLITS, 0)
    # Seed the smaller splits first so none is left empty when there are enough groups.
    positive = [s for s, f in zip(SPLITS, fractions) if f > 0]
    queue = list(groups)
    if len(groups) >= len(positive):
        for split in sorted(positive, key=lambda s: fractions[SPLITS.index(s)]):
            if split == "train":
                continue
            group = queue.pop()
            assigned[group] = split
            filled[split] += weight[group]
    for group in queue:
        deficits = {s: fractions[i] * total - filled[s] for i, s in enumerate(SPLITS) if fractions[i] > 0}
        split = max(deficits, key=lambda s: (deficits[s], -SPLITS.index(s)))
        assigned[group] = split
        filled[split] += weight[group]
    return assigned


def load_folds(path: str | Path) -> dict[str, list[str]]:
    """Read explicit folds: a JSON object mapping split names to lists of video (or group) ids.

    Accepts the CMU Multimodal SDK's names (``train``, ``valid``, ``test``) and common aliases; other keys
    (e.g. ``source``) are ignored. Raises ``ValueError`` when no split list is found or an id is on two sides.
    """
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, dict):
        raise ValueError(f"folds file {path} must hold a JSON object of split name -> list of ids")
    folds: dict[str, list[str]] = {}
    for key, ids in data.items():
        split = _FOLD_ALIASES.get(str(key).lower())
        if split is None or not isinstance(ids, list):
            continue
        folds.setdefault(split, []).extend(str(i) for i in ids)
    if not folds:
        raise ValueError(f"folds file {path} names none of {sorted(_FOLD_ALIASES)}")
    seen: dict[str, str] = {}
    for split, ids in folds.items():
        for vid in ids:
            if seen.setdefault(vid, split) != split:
                raise ValueError(f"folds file {path} puts {vid!r} in both {seen[vid]} and {split}")
    return folds


def splits_from_folds(folds: Mapping[str, list[str]], ids: list[str]) -> dict[str, str | None]:
    """Look each id up in explicit folds; ids the folds do not list map to None (unassigned)."""
    lookup = {vid: split for split, vids in folds.items() for vid in vids}
    return {i: lookup.get(i) for i in ids}


# --------------------------------------------------------------------------------------------------------
# Split groups: what must stay on one side
# --------------------------------------------------------------------------------------------------------

#: How speaker labels are read: ``global`` (one name is one person in every recording), ``local`` (a label
#: names a voice within its recording only, as diarization writes them), ``auto`` (labels that look like
#: diarization output, :data:`LOCAL_SPEAKER_PATTERN`, are local; names are global).
SPEAKER_MODES = ("auto", "global", "local")
DEFAULT_SPEAKER_MODE = "auto"
#: Speaker labels that diarization tools write per recording: ``SPEAKER_00`` (pyannote, whisperX), ``spk1``,
#: ``Speaker 2``. Bare numbers are not among them: corpora number their speakers globally (LibriSpeech, RAVDESS).
LOCAL_SPEAKER_PATTERN = re.compile(r"^(?:speaker|spkr|spk)[ _-]?\d+$", re.IGNORECASE)


class SplitError(ValueError):
    """The splits cannot be made without putting a voice on two sides, or leave a side empty."""


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or \
        (isinstance(value, str) and not value.strip())


def speaker_names(value) -> list[str]:
    """The speakers a ``speaker`` cell names (a cue with several voices lists them joined by ``", "``)."""
    if _blank(value):
        return []
    return [name.strip() for name in str(value).split(", ") if name.strip()]


def is_local_speaker(name: str, mode: str = DEFAULT_SPEAKER_MODE) -> bool:
    """Whether speaker label ``name`` names a voice within its recording only (see :data:`SPEAKER_MODES`)."""
    if mode not in SPEAKER_MODES:
        raise ValueError(f"unknown speaker mode {mode!r}; choose one of {', '.join(SPEAKER_MODES)}")
    return mode == "local" or (mode == "auto" and LOCAL_SPEAKER_PATTERN.match(name) is not None)


def split_groups(video_ids, group_ids, speakers, audio_paths, mode: str = DEFAULT_SPEAKER_MODE) -> list[str]:
    """The unit each row must share a side with: connected components over everything rows have in common.

    Rows are joined when they share a recording (video id), an audio file (so two rows over the same
    stretch of audio are always together), a group id, or a speaker: a global speaker by name across
    recordings, a local one (diarization labels such as ``SPEAKER_00``) only within its recording. A recording
    with two named speakers therefore joins them, and each of them joins their other recordings.

    A group id that only repeats the row's speaker (a manifest without a ``group`` column groups by speaker)
    is read as that speaker, local or global. Each component is named by the smallest of its rows' group ids
    (a local-speaker group by its recording), so a corpus where nothing joins keeps its group ids, and
    applying this to its own output gives the same names.

    Returns
    -------
    list of str, one component name per row.
    """
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        root = key
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[key] != root:
            parent[key], key = root, parent[key]
        return root

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    names: list[str] = []
    for i, (video, group, speaker, audio) in enumerate(zip(video_ids, group_ids, speakers, audio_paths)):
        row = f"row\x00{i}"
        find(row)
        video = "" if _blank(video) else str(video)
        group = "" if _blank(group) else str(group)
        people = speaker_names(speaker)
        local_group = group in people and is_local_speaker(group, mode)
        name = video if local_group and video else group
        names.append(name)
        union(row, f"group\x00{name}")
        if video:
            union(row, f"video\x00{video}")
        if not _blank(audio):
            union(row, f"audio\x00{audio}")
        for person in people:
            union(row, f"speaker\x00{video}\x00{person}" if is_local_speaker(person, mode) else f"speaker\x00\x00{person}")
    component_name: dict[str, str] = {}
    for i, name in enumerate(names):
        root = find(f"row\x00{i}")
        if root not in component_name or name < component_name[root]:
            component_name[root] = name
    return [component_name[find(f"row\x00{i}")] for i in range(len(names))]


def splits_from_folds_by_group(folds: Mapping[str, list[str]], video_ids, group_ids, components) -> list[str | None]:
    """Each row's split from explicit folds, the whole of a split group (:func:`split_groups`) on one side.

    A group goes where the folds list its videos (or its original group ids); a group that the folds list on
    no side stays unassigned (None).

    Raises
    ------
    SplitError
        The folds list videos of one group on two sides, naming each such group and where its videos are.
    """
    lookup = {vid: split for split, vids in folds.items() for vid in vids}
    sides: dict[str, dict[str, set[str]]] = {}
    for video, group, component in zip(video_ids, group_ids, components):
        for key in (video, group):
            if not _blank(key) and str(key) in lookup:
                sides.setdefault(component, {}).setdefault(lookup[str(key)], set()).add(str(key))
    conflicts = {c: s for c, s in sides.items() if len(s) > 1}
    if conflicts:
        shown = []
        for component in sorted(conflicts)[:10]:
            where = "; ".join(f"{split}: {', '.join(sorted(ids)[:5])}" for split, ids in sorted(conflicts[component].items()))
            shown.append(f"  group {component!r} ({where})")
        more = f"\n  ... and {len(conflicts) - 10} more" if len(conflicts) > 10 else ""
        raise SplitError(f"the folds file puts one speaker or stretch of audio on two sides: {len(conflicts)} "
                         "group(s) of recordings that share a speaker, an audio file or a group have videos "
                         "listed in different splits:\n" + "\n".join(shown) + more +
                         "\nmove each group's videos to one side in the folds file (or, if the speaker labels "
                         "are per recording, build with --speakers local)")
    side = {c: next(iter(s)) for c, s in sides.items()}
    return [side.get(c) for c in components]
