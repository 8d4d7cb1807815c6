"""Train/validation/test splits that never put one group (video or speaker) on two sides.

Groups are ordered by a seeded hash, so the order does not depend on how the corpus was listed, then each
group goes to the split furthest below its target share of segments. With three or more groups and every
fraction positive, each split receives at least one group.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Mapping

SPLITS = ("train", "validation", "test")
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)
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
