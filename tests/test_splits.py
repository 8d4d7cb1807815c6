import json
from collections import Counter

import pytest

from weaklabel.splits import assign_group_splits, load_folds, splits_from_folds

from .conftest import MOSEI_FOLDS, requires_shared


def test_group_assignment_is_deterministic_and_proportional():
    sizes = {f"g{i}": 1 + i % 9 for i in range(300)}
    a = assign_group_splits(sizes, seed=3)
    assert a == assign_group_splits(dict(reversed(list(sizes.items()))), seed=3)  # order-independent
    assert a != assign_group_splits(sizes, seed=4)
    share = Counter()
    for group, split in a.items():
        share[split] += sizes[group]
    total = sum(sizes.values())
    assert share["train"] / total == pytest.approx(0.8, abs=0.02)
    assert share["validation"] / total == pytest.approx(0.1, abs=0.02)
    assert share["test"] / total == pytest.approx(0.1, abs=0.02)


def test_every_split_gets_a_group_when_there_are_three():
    assert sorted(assign_group_splits({"a": 5, "b": 5, "c": 5}).values()) == ["test", "train", "validation"]


def test_zero_fraction_split_stays_empty():
    out = assign_group_splits({f"g{i}": 1 for i in range(20)}, fractions=(0.9, 0.1, 0.0))
    assert "test" not in out.values() and "validation" in out.values()


def test_bad_fractions_raise():
    with pytest.raises(ValueError):
        assign_group_splits({"a": 1}, fractions=(0.5, 0.1, 0.1))


def test_folds_aliases_and_conflicts(tmp_path):
    path = tmp_path / "folds.json"
    path.write_text(json.dumps({"source": "x", "train": ["a", "b"], "valid": ["c"], "test": ["d"]}))
    folds = load_folds(path)
    assert splits_from_folds(folds, ["a", "c", "d", "z"]) == {"a": "train", "c": "validation", "d": "test", "z": None}
    path.write_text(json.dumps({"train": ["a"], "test": ["a"]}))
    with pytest.raises(ValueError, match="both"):
        load_folds(path)
    path.write_text(json.dumps({"foo": ["a"]}))
    with pytest.raises(ValueError, match="names none"):
        load_folds(path)


@requires_shared(MOSEI_FOLDS)
def test_standard_mosei_folds_load():
    folds = load_folds(MOSEI_FOLDS)
    assert {k: len(v) for k, v in folds.items()} == {"train": 2249, "validation": 300, "test": 678}
