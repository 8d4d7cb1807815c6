"""The ``hf`` format: the Parquet layout of a Hugging Face dataset, written with PyArrow (``datasets`` only loads it).

::

    OUT/data/<split>-00000-of-00002.parquet   the clips of a split, in segments.parquet order, row groups of 100
    OUT/README.md                             a dataset card whose ``configs`` name each split's files

It is the layout the Hub keeps a dataset in, so ``datasets.load_dataset("parquet", data_dir=OUT)`` (or
``load_dataset(OUT)``) loads it offline, with the splits of the build, and ``huggingface-cli upload`` publishes
it as it is. The columns' types (:func:`features`) travel in each file's schema metadata (``huggingface``), as
``datasets`` writes them: ``audio`` is ``Audio(sampling_rate=16000)`` holding each clip as a FLAC file's bytes,
``label`` a ``ClassLabel(names=["negative", "positive"])`` (null: abstained), then ``score``, every scorer
column the dataset holds (:data:`weaklabel.scorers.SCORERS`), ``text``, ``segment_id``, ``video_id``,
``group_id`` and, when the corpus names speakers, ``speaker``. Decoding the ``audio`` column is ``datasets``'s
own business (its ``Audio`` feature uses torchcodec); ``Audio(decode=False)`` gives the FLAC bytes, which
``soundfile`` reads.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

from foundation.atomic import atomic_path, write_text_atomic
from weaklabel.audio import TARGET_SR
from weaklabel.exporting.clips import ClipFailure, Job, cut_clip, encode_flac, recordings
from weaklabel.exporting.tasks import Task, clip_file_name, failure, metadata_columns, metadata_values
from weaklabel.scorers.base import BINARY_CLASSES

DATA_DIR = "data"
CARD_FILE = "README.md"
#: The files :func:`finish` writes into the export folder, and how the format is loaded.
INDEX_FILES = (CARD_FILE,)
LOADING = 'datasets.load_dataset("parquet", data_dir="{out}")'
#: Rows per Parquet row group: a task holds one group's FLAC bytes (about 13 MB of 7 s clips) at a time; the
#: size ``datasets`` itself writes audio in.
ROWS_PER_ROW_GROUP = 100
_VALUE_TYPES = {"float": "float64", "text": "string", "int": "int64"}


def shard_name(split: str, shard: int, n_shards: int) -> str:
    """A split's Parquet file as the Hub names it: ``data/train-00000-of-00003.parquet``."""
    return f"{DATA_DIR}/{split}-{shard:05d}-of-{n_shards:05d}.parquet"


def features(job: Job) -> dict:
    """The columns' ``datasets`` features, as ``Features.to_dict()`` gives them."""
    out = {"audio": {"sampling_rate": TARGET_SR, "_type": "Audio"},
           "label": {"names": list(BINARY_CLASSES), "_type": "ClassLabel"}}
    for name, kind in metadata_columns(job):
        if name != "label":
            out[name] = {"dtype": _VALUE_TYPES[kind], "_type": "Value"}
    return out


def arrow_schema(job: Job):
    """The Parquet files' schema: each feature's Arrow storage, and the features in its ``huggingface`` metadata."""
    import pyarrow as pa

    types = {"float": pa.float64(), "text": pa.string(), "int": pa.int64()}
    fields = [pa.field("audio", pa.struct({"bytes": pa.binary(), "path": pa.string()}))]
    fields += [pa.field(name, types[kind]) for name, kind in metadata_columns(job)]
    return pa.schema(fields, metadata={"huggingface": json.dumps({"info": {"features": features(job)}})})


def write_part(job: Job, task: Task) -> dict:
    """Write the task's shard (its clips, in order) into the payload; the part's record."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = arrow_schema(job)
    name = shard_name(task.split, task.shard, task.n_shards)
    target = Path(job.payload_dir) / name
    failures, clips = [], 0
    batch: list[tuple[dict, bytes]] = []

    def flush(writer) -> None:
        columns = {"audio": [{"bytes": flac, "path": clip_file_name(row["segment_id"])} for row, flac in batch]}
        values = [metadata_values(job, row) for row, _ in batch]
        for k, (column, _) in enumerate(metadata_columns(job)):
            columns[column] = [v[k] for v in values]
        writer.write_table(pa.Table.from_pydict(columns, schema=schema))
        batch.clear()

    with atomic_path(target) as tmp:
        with pq.ParquetWriter(tmp, schema) as writer:
            for reader, failed, rows in recordings(job, list(task.rows), task.audio):
                for row in rows:
                    try:
                        if failed:
                            raise failed
                        batch.append((row, encode_flac(cut_clip(job, reader, row), job.bits)))
                    except ClipFailure as exc:
                        failures.append(failure(row, exc))
                        continue
                    clips += 1
                    if len(batch) == ROWS_PER_ROW_GROUP:
                        flush(writer)
            if batch:
                flush(writer)  # a shard whose every clip failed holds the schema and no row group
    return {"clips": clips, "failures": failures, "files": [[name, target.stat().st_size]]}


def finish(out: Path, job: Job, splits: list[str], records: Iterable[dict]) -> list[str]:
    """Write the dataset card (its ``configs`` list each split's files); the files written into ``out``."""
    for _ in records:
        pass
    lines = ["---", "configs:", "- config_name: default", "  data_files:"]
    for split in splits:
        lines += [f"  - split: {split}", f"    path: {DATA_DIR}/{split}-*.parquet"]
    lines += ["---", "", "# Weakly labelled speech emotion (valence)", "",
              "Exported by weaklabel (`python -m pipelines.export --format hf`): one row per clip, the clip as the "
              f"build cut it ({job.build.clip_seconds:g} s, {TARGET_SR} Hz mono FLAC, {job.bits}-bit) with its weak "
              "valence label (`negative`, `positive`; null: the text abstained), the policy's score, the text "
              "scorers' columns and the transcript. Load it with `datasets.load_dataset(\"parquet\", "
              "data_dir=THIS_FOLDER)`.", ""]
    write_text_atomic(out / CARD_FILE, "\n".join(lines))
    return [CARD_FILE]
