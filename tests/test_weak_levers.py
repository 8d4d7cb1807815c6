"""The noise-matched diagnostic's flipping: exact count, only the chosen labels, deterministic by seed."""
import numpy as np
import pytest

from benchmarks.weak_levers import flip_at_rate


@pytest.mark.parametrize("rate", [0.0, 0.13, 0.41, 0.5, 1.0])
def test_flips_exactly_the_rounded_count(rate):
    y = np.array([0, 1] * 50 + [1] * 9)  # 109 clips, as many as one rotation's covered training clips
    flipped = flip_at_rate(y, rate, seed=3)
    assert flipped.dtype.kind == "i" and set(np.unique(flipped)) <= {0, 1}
    assert int((flipped != y).sum()) == round(rate * len(y))
    assert np.array_equal(y, np.array([0, 1] * 50 + [1] * 9))  # the input is left as it was


def test_deterministic_by_seed_and_uniform_over_clips():
    y = np.zeros(40, dtype=int)
    assert np.array_equal(flip_at_rate(y, 0.25, seed=7), flip_at_rate(y, 0.25, seed=7))
    assert not np.array_equal(flip_at_rate(y, 0.25, seed=7), flip_at_rate(y, 0.25, seed=8))
    counts = sum(flip_at_rate(y, 0.25, seed=s) for s in range(400))  # y = 0, so a flip is a 1
    assert counts.min() > 60 and counts.max() < 140  # each clip chosen about 400 * 0.25 = 100 times
