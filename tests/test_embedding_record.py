"""The embedding cache record (embeddings/<key>.json) as a typed record: every layout this tool wrote reads through
one from_dict, the current one round-trips, a damaged record is refused saying why (and the report shows it as
unreadable), and a stale record (other features, another shape, another key) never serves its array.

Samples in tests/data/embedding_records: vgg16.json and egemaps.json as this code's embed step wrote them for the
demo (``pipelines.run --features vgg16 --weights random``, then ``pipelines.embed --features egemaps``), whisper.json
the same with ``--features whisper``; the older ones reconstructed from the code that wrote them, with the demo's
numbers: vgg16_2eb2dad.json (2eb2dad's embed_dataset: global average pooling, no features_sha256),
vgg16_106a4c9.json (106a4c9's: pooling by name with its description, features_sha256) and vgg16_ee7bede.json
(ee7bede's extractor registry: ``extractor`` entry, VGG16 without precision and frames)."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transfer.embedding_record import EmbeddingRecord, embedding_record_problem, load_cached_embeddings
from weaklabel.layout import embedding_files

SAMPLES = Path(__file__).parent / "data" / "embedding_records"
CURRENT = sorted(p.stem for p in SAMPLES.glob("*.json") if "_" not in p.stem)
OLDER = ["vgg16_2eb2dad", "vgg16_106a4c9", "vgg16_ee7bede"]


def sample(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def cache_with(folder: Path, record: dict, shape=None, key: str | None = None) -> Path:
    """A cache folder holding ``record`` and a float32 array of ``shape`` (default: the record's) beside it, under
    the file names of ``key`` (default: the record's)."""
    array_path, record_path = embedding_files(folder, key or record["key"])
    folder.mkdir(parents=True, exist_ok=True)
    np.save(array_path, np.zeros(shape or record["shape"], np.float32))
    record_path.write_text(json.dumps(record), encoding="utf-8")
    return folder


def test_the_samples_cover_every_extractor_that_writes_a_cache():
    assert {"vgg16", "egemaps"} <= set(CURRENT) and set(OLDER) <= {p.stem for p in SAMPLES.glob("*.json")}


@pytest.mark.parametrize("name", CURRENT + OLDER)
def test_every_written_layout_reads(name):
    data = sample(name)
    record = EmbeddingRecord.from_dict(data)
    assert record.key == data["key"] and record.shape == tuple(data["shape"]) and record.dim == record.shape[1]
    assert record.extractor == name.split("_")[0] and not record.from_cache and record.features is None
    assert record.build_fingerprint == data["build_fingerprint"] and record.batch_size == 16
    if record.extractor == "vgg16":  # absent meant float32 over whole clips; the first layout's pooling is gap
        assert {"layer", "pooling", "pooling_description", "precision", "frames"} <= set(record.settings)
        assert record.settings["pooling"] in ("gap", "bands4") and record.weights["source"] == "random"
        expected = ("float32", "speech") if name == "vgg16" else ("float32", "full")
        assert (record.settings["precision"], record.settings["frames"]) == expected
    assert record.extractor_version == (None if name in ("vgg16_2eb2dad", "vgg16_106a4c9")
                                        else data["extractor"]["version"])
    if name == "vgg16_2eb2dad":
        assert record.features_sha256 is None and record.settings["pooling"] == "gap"


def test_older_vgg16_layouts_are_written_in_the_current_one():
    current = set(sample("vgg16"))
    for name in OLDER:
        written = EmbeddingRecord.from_dict(sample(name)).to_dict()
        assert set(written) == current, name
        assert EmbeddingRecord.from_dict(written).to_dict() == written


@pytest.mark.parametrize("name", CURRENT)
def test_the_current_layout_round_trips_every_key_written(name):
    record = EmbeddingRecord.from_dict(sample(name))
    assert record.to_dict() == sample(name)
    assert EmbeddingRecord.from_dict(record.to_dict()) == record
    assert "from_cache" not in record.to_dict() and "features" not in record.to_dict()  # in memory only


def test_a_combination_record_holds_its_components():
    vgg, ege = (EmbeddingRecord.from_dict(sample(name)) for name in ("vgg16", "egemaps"))
    both = EmbeddingRecord(key=f"{vgg.key}+{ege.key}", extractor="vgg16+egemaps", extractor_version="1",
                           settings={"vgg16": {"layer": "block2_conv2"}, "egemaps": {"feature_set": "eGeMAPSv02"}},
                           dim=vgg.dim + ege.dim, shape=(vgg.shape[0], vgg.dim + ege.dim), weights=vgg.weights,
                           features_sha256=vgg.features_sha256, build_fingerprint=vgg.build_fingerprint,
                           batch_size=16, blocks=(vgg.dim, ege.dim), components=(vgg, ege))
    written = both.to_dict()
    assert written["blocks"] == [1024, 88] and written["components"][1] == sample("egemaps")
    assert EmbeddingRecord.from_dict(written) == both
    broken = {**written, "blocks": [1024, 87]}
    assert "adding up to dim 1112" in embedding_record_problem(broken)


@pytest.mark.parametrize("change, words", [
    (lambda r: r.update(key=""), "key is ''"),
    (lambda r: r.update(shape=[480]), "shape is [480]"),
    (lambda r: r.update(dim=1023), "shape is [480, 1024], not two sizes (clips, dim 1023)"),
    (lambda r: r.update(dim="1024"), "dim is '1024'"),
    (lambda r: r.update(features_sha256="abc"), "features_sha256 is 'abc'"),
    (lambda r: r.update(weights="random"), "weights is 'random'"),
    (lambda r: r.update(extractor="vgg16"), "extractor is 'vgg16'"),
    (lambda r: r.update(batch_size=0), "batch_size is 0"),
    (lambda r: r.update(components=[{"key": "x"}], blocks=[1024]), "component's dim is None"),
])
def test_a_damaged_record_is_refused_saying_why(change, words, tmp_path):
    data = sample("vgg16")
    change(data)
    assert words in embedding_record_problem(data)
    with pytest.raises(ValueError, match="the embedding record's"):
        EmbeddingRecord.from_dict(data)
    # the cache does not serve it: the array beside it is recomputed
    key = sample("vgg16")["key"]
    folder = cache_with(tmp_path / "cache", data, shape=(480, 1024), key=key)
    assert load_cached_embeddings(folder, key, sample("vgg16")["features_sha256"]) is None


def test_a_record_that_is_not_an_object_or_not_json_is_refused(tmp_path):
    assert "holds list, not a JSON object" in embedding_record_problem([1, 2])
    key = sample("vgg16")["key"]
    folder = cache_with(tmp_path / "cache", sample("vgg16"))
    embedding_files(folder, key)[1].write_text("{not json", encoding="utf-8")
    assert load_cached_embeddings(folder, key, sample("vgg16")["features_sha256"]) is None


@pytest.mark.parametrize("name", ["vgg16", "egemaps", "vgg16_106a4c9", "vgg16_ee7bede"])
def test_only_a_record_of_these_features_key_and_shape_serves_its_array(name, tmp_path):
    data = sample(name)
    key, features = data["key"], data["features_sha256"]
    array, record = load_cached_embeddings(cache_with(tmp_path / "fresh", data), key, features)
    assert array.shape == tuple(data["shape"]) and record == EmbeddingRecord.from_dict(data)
    assert load_cached_embeddings(tmp_path / "fresh", key, "0" * 64) is None  # other features: stale
    other_shape = cache_with(tmp_path / "shape", data, shape=(data["shape"][0] - 1, data["shape"][1]))
    assert load_cached_embeddings(other_shape, key, features) is None  # an array its record does not describe
    moved = cache_with(tmp_path / "moved", {**data, "key": "vgg16_other"}, key=key)
    assert load_cached_embeddings(moved, key, features) is None  # a record of another key


def test_the_first_layout_is_never_served(tmp_path):
    data = sample("vgg16_2eb2dad")
    folder = cache_with(tmp_path / "cache", data)
    assert load_cached_embeddings(folder, data["key"], sample("vgg16")["features_sha256"]) is None


def test_the_report_shows_each_record_and_a_damaged_one_as_unreadable(tmp_path):
    from reporting.inputs import CachedEmbedding, ReportInputs
    from reporting.sections.provenance import provenance_section
    from weaklabel.build_record import BuildRecord

    build = json.loads((SAMPLES.parent / "build_records" / "format4.json").read_text(encoding="utf-8"))
    current, stale = EmbeddingRecord.from_dict(sample("vgg16")), EmbeddingRecord.from_dict(sample("vgg16_2eb2dad"))
    inputs = ReportInputs(dataset=tmp_path, name="demo", display_path="build/demo", build=BuildRecord.from_dict(build),
                          segments=pd.DataFrame(), features_sha256=current.features_sha256,
                          embeddings=[CachedEmbedding("a.json", current, None, True),
                                      CachedEmbedding("b.json", stale, None, True),
                                      CachedEmbedding("c.json", replace(current, key="vgg16_c"), None, False),
                                      CachedEmbedding("d.json", None, "the embedding record's dim is '3'", False)])
    body = provenance_section(inputs).body
    assert current.key in body and "480×1024" in body and "block2_conv2" in body
    assert "no: other features" in body and "array missing" in body
    assert "unreadable: the embedding record&#x27;s dim is &#x27;3&#x27;" in body  # escaped


def test_the_report_reads_a_damaged_record_as_unreadable(tmp_path):
    from reporting.inputs import _read_record

    path = tmp_path / "k.json"
    path.write_text(json.dumps({**sample("vgg16"), "shape": "480x1024"}), encoding="utf-8")
    record, error = _read_record(path, EmbeddingRecord)
    assert record is None and "shape is '480x1024'" in error
