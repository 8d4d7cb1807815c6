"""Planning and resume: what an output folder holds, which parts are finished or can be reused, what changed.

``build.json`` is the completion mark of a build. A folder that holds a finished build of the same configuration
and corpus is up to date (:func:`prepare_output_dir`); one whose corpus changed is re-built from its unchanged
units' outputs (:func:`corpus_changes`, :func:`reuse_finished_parts`); one of another configuration is replaced
only with ``overwrite`` (:func:`overwrite_notice` says what goes). Within an unfinished build a part counts as
finished only when it is whole and its rows, its features and the digest of its inputs all agree
(:func:`part_done`); anything else, including temporary files that a killed write left, is redone or removed,
never read.
"""
from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from foundation.atomic import atomic_path, remove_temp_files
from weaklabel.build.cut import base_row
from weaklabel.build.parts import FeatureSlots, part_path, read_part_meta, write_part_record
from weaklabel.build.units import audio_identity, audio_stat
from weaklabel.build_record import BuildRecord, UnitRecord, read_build_record
from weaklabel.config import FORMAT_VERSION, BuildConfig, config_fingerprint, fall_back
from weaklabel.dataset import BUILD_FILE, FEATURES_DIR, FEATURES_FILE, PARTS_PREFIX, SEGMENTS_FILE, \
    finished_build_problem
from weaklabel.errors import OutputConflictError
from weaklabel.scorers.base import FAILED_WHILE_SCORING
from weaklabel.segments import FAILURE_STATUSES, Segment


def parts_folder(out_dir: Path, config: BuildConfig) -> Path:
    """The hidden folder of ``out_dir`` that holds the parts of an unfinished build of ``config``."""
    return out_dir / f"{PARTS_PREFIX}{config.parts_fingerprint()[:16]}"


def part_done(parts_dir: Path, unit: str, digest: str, slots: FeatureSlots | None = None) -> bool:
    """Whether a complete, current part of ``unit`` exists: made from ``digest``, features and rows agreeing.

    A part that does not parse (a half-written temporary is never renamed into place, but a damaged file
    might be), one whose features are not ``n_features`` rows, one made from other inputs, or one whose
    features were staged anywhere but at this unit's rows of the current staging file (``slots``) is not
    done and will be redone.
    """
    meta = read_part_meta(part_path(parts_dir, unit))
    if not (meta is not None and meta.get("unit") == unit and meta.get("digest") == digest
            and isinstance(meta.get("n_features"), int) and isinstance(meta.get("row_bytes"), int)):
        return False
    staged = meta.get("staged")
    if staged is None:
        return meta["features_bytes"] == meta["n_features"] * meta["row_bytes"]
    return (slots is not None and slots.path is not None and meta["features_bytes"] == 0
            and staged.get("file") == slots.path.name and slots.path.is_file()
            and staged.get("first_row") == slots.first.get(unit)
            and meta["row_bytes"] == slots.row_bytes and meta["n_features"] <= slots.slots[unit])


def prepare_output_dir(out_dir: Path, config: BuildConfig, overwrite: bool, force: bool = False,
                       log: Callable[[str], None] | None = None) -> Path | None:
    """Check what ``out_dir`` holds against ``config``; return None if the build there is complete.

    ``build.json`` is the completion mark: outputs without it (a build killed while finalising) are not a
    build, and are rebuilt; so are outputs that are not what it describes (:func:`finished_build_problem`;
    ``log`` is told). Returns the parts folder to (re)use otherwise, after removing the temporary files
    that its own killed writes left in the output, features and parts folders (nothing else there is
    touched; with ``overwrite``, the outputs of another configuration go). With ``force`` a complete build of
    the same configuration is redone, its ``build.json`` removed first so that a killed rebuild is never
    taken for complete.

    Raises
    ------
    OutputConflictError
        The folder holds a build, or parts, made with a different configuration and ``overwrite`` is false.
    """
    parts_dir = parts_folder(out_dir, config)
    build_file = out_dir / BUILD_FILE
    ours = [out_dir / SEGMENTS_FILE, out_dir / BUILD_FILE, out_dir / FEATURES_FILE]
    same_build = False
    if build_file.is_file():
        previous = recorded_build(out_dir)
        same_build = previous is not None and same_configuration(previous, config)
        damage = finished_build_problem(out_dir, previous) if same_build else None
        if same_build and all(p.exists() for p in ours) and not force and damage is None:
            if parts_dir.is_dir():  # a finished build whose part folder removal was interrupted
                shutil.rmtree(parts_dir)
            return None
        if damage and log:
            log(f"{out_dir} is not the build its {BUILD_FILE} describes ({damage}): building it again")
        if not same_build and not overwrite:
            raise OutputConflictError(
                f"{out_dir} holds a build made with a different configuration (differs in: "
                f"{config_differences(previous and previous.config_record, config)}); pass --overwrite to replace it or choose another --out")
    stale = _stale_parts(out_dir, parts_dir)
    if stale and not overwrite:
        raise OutputConflictError(f"{out_dir} holds an unfinished build with a different configuration; "
                                  "pass --overwrite to discard it or choose another --out")
    # Every check passed: from here on the folder is changed, and only in what the build writes there.
    if same_build:
        build_file.unlink()  # forced or incomplete: the completion mark goes before any output is replaced
    if overwrite:
        for path in stale + [p for p in ours if p.exists()]:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    remove_temp_files(out_dir, SEGMENTS_FILE, BUILD_FILE)
    remove_temp_files(out_dir / FEATURES_DIR, Path(FEATURES_FILE).name)
    remove_temp_files(parts_dir)  # the parts folder holds nothing but the build's own files
    parts_dir.mkdir(parents=True, exist_ok=True)
    return parts_dir


def _stale_parts(out_dir: Path, parts_dir: Path) -> list[Path]:
    """The parts folders in ``out_dir`` of builds of other configurations (not ``parts_dir``)."""
    return sorted(p for p in out_dir.glob(f"{PARTS_PREFIX}*") if p != parts_dir) if out_dir.is_dir() else []


def config_differences(recorded: Mapping | None, config: BuildConfig) -> str:
    """What differs between the configuration a ``build.json`` records (:attr:`BuildRecord.config_record`; None: a
    record this code cannot read) and ``config``, in words (the settings' names; the log-mel transform versions
    where those differ; ``format`` when nothing else does)."""
    if recorded is None:
        return f"format: its {BUILD_FILE} cannot be read by this code"
    changed = sorted(k for k, v in config.to_dict().items() if recorded.get(k) != v)
    old_version = (recorded.get("mel") or {}).get("transform_version", 1)
    if "mel" in changed and old_version != config.mel.transform_version:
        changed[changed.index("mel")] = (f"mel: log-mel transform version {old_version}, this code computes "
                                         f"version {config.mel.transform_version}")
    if "format_version" in changed:
        changed[changed.index("format_version")] = (
            f"format: format {recorded.get('format_version')}, made by an earlier version of this tool; "
            f"this code writes format {FORMAT_VERSION}")
    return ", ".join(changed) or "format"


def overwrite_notice(out_dir: Path, config: BuildConfig) -> str | None:
    """What ``--overwrite`` replaces in ``out_dir`` to build ``config`` there, in one line; None when it replaces
    nothing (the folder holds this build, or none). The folder's other files are never touched."""
    parts_dir = parts_folder(out_dir, config)
    previous = recorded_build(out_dir)
    replaced = []
    if (out_dir / BUILD_FILE).is_file() and (previous is None or not same_configuration(previous, config)):
        files = [name for name in (BUILD_FILE, SEGMENTS_FILE, FEATURES_FILE) if (out_dir / name).exists()]
        replaced.append(f"the build made with another configuration (differs in: "
                        f"{config_differences(previous and previous.config_record, config)}): {', '.join(files)}")
    stale = _stale_parts(out_dir, parts_dir)
    if stale:
        replaced.append(f"the unfinished build(s) of other configurations {', '.join(p.name for p in stale)}")
    if not replaced:
        return None
    return f"--overwrite replaces, in {out_dir}, " + "; and ".join(replaced) + " (nothing else there is touched)"


def recorded_build(out_dir: Path) -> BuildRecord | None:
    """The ``build.json`` in ``out_dir``; None where there is none, or it is not a record this code reads."""
    try:
        return read_build_record(out_dir)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def same_configuration(record: BuildRecord, config: BuildConfig) -> bool:
    """Whether a ``build.json`` record was made with ``config`` (the same fingerprint, :func:`config_fingerprint`
    of the configuration it records, an earlier format's never) from the corpus at the same root.

    The corpus's content is not compared here (:func:`corpus_changes` does): a finished build is up to date only
    when both agree."""
    recorded = record.config_record
    return config_fingerprint(recorded) == config.fingerprint() and recorded.get("root") == config.root


def fallen_back_build(out_dir: Path, declared: BuildConfig) -> BuildConfig | None:
    """The configuration of the finished build in ``out_dir`` when it is ``declared`` (as given, before
    :func:`~weaklabel.config.resolve_build_config`) fallen back because its teacher failed while scoring
    (:func:`~weaklabel.config.fall_back`), else None."""
    record = recorded_build(out_dir)
    why = record.config.policy_fallback if record is not None else None
    if not isinstance(why, str) or FAILED_WHILE_SCORING not in why:
        return None
    fallback = fall_back(declared, why)
    return fallback if fallback is not None and same_configuration(record, fallback) else None


def reusable_build(out_dir: Path, config: BuildConfig) -> BuildRecord | None:
    """The ``build.json`` record of a finished build in ``out_dir`` whose parts ``config`` could reuse (same
    corpus, clips, features and format; the policy or splits may differ), or None."""
    record = recorded_build(out_dir)
    if record is None or record.format_version != FORMAT_VERSION or not record.units:
        return None
    if not all((out_dir / name).exists() for name in (SEGMENTS_FILE, FEATURES_FILE)):
        return None
    try:
        same_parts = record.config.parts_fingerprint() == config.parts_fingerprint()
    except (KeyError, TypeError, ValueError, OSError):  # e.g. its folds file is gone: not reusable
        return None
    if not same_parts:
        return None
    return record if finished_build_problem(out_dir, record) is None else None


def corpus_changes(recorded: dict[str, UnitRecord], units: dict[str, list[Segment]], seg_digests: dict[str, str],
                   names: dict[str, str]) -> dict:
    """Which audio files changed since the finished build whose units are ``recorded`` (by name, in the record's
    order): ``changed`` (the transcript's segments of that file, or the file's content), ``new``, ``removed``. An
    audio file whose size and modification time are as recorded is not read; one whose are not is hashed, and
    counts as changed only when its content differs (one with the same content gets its new size and time in
    ``recorded``). Files are named as ``build.json`` and ``segments.parquet`` name them (``names``,
    :func:`~weaklabel.build.units.unit_names`)."""
    old = recorded
    changed, new = [], []
    for unit, segs in units.items():
        record = old.get(names[unit])
        if record is None:
            new.append(names[unit])
            continue
        if record.segments != seg_digests[unit]:
            changed.append(names[unit])
            continue
        stat = audio_stat(segs[0].audio_path)
        if stat == [record.size, record.mtime_ns] or (stat is None and record.size is None):
            continue
        sha = audio_identity(segs[0].audio_path)["sha256"] if stat is not None else None
        if sha is None or sha != record.sha256:
            changed.append(names[unit])
        else:  # touched, same content: reused as it is
            old[names[unit]] = replace(record, size=stat[0], mtime_ns=stat[1])
    current = set(names.values())
    removed = [u for u in old if u not in current]
    order_changed = not (changed or new or removed) and \
        list(old) != [names[u] for u in units]
    return {"changed": changed, "new": new, "removed": removed, **({"reordered": True} if order_changed else {})}


def reuse_finished_parts(out_dir: Path, recorded: dict[str, UnitRecord], parts_dir: Path,
                         units: dict[str, list[Segment]], digests: dict[str, str], changes: dict,
                         names: dict[str, str]) -> int:
    """Write the part of every unchanged work unit from the finished outputs (its rows as they were before
    labelling, its features' bytes), so that only the changed ones are processed again. ``changes`` and the
    record's units (``recorded``, by name in its order) name them as ``names`` does
    (:func:`~weaklabel.build.units.unit_names`). Returns parts written."""
    changed = set(changes.get("changed", [])) | set(changes.get("new", []))
    frame = pd.read_parquet(out_dir / SEGMENTS_FILE)
    offset_rows = offset_features = 0
    spans = {}
    for record in recorded.values():
        spans[record.unit] = (offset_rows, record.rows, offset_features, record.features)
        offset_rows += record.rows
        offset_features += record.features
    if offset_rows != len(frame):
        return 0  # not the outputs the record describes: everything is processed again
    features = np.load(out_dir / FEATURES_FILE, mmap_mode="r")
    row_bytes = int(np.prod(features.shape[1:])) * features.dtype.itemsize
    written = 0
    for unit, segs in units.items():
        name = names[unit]
        if name not in spans or part_done(parts_dir, unit, digests[unit]):
            continue
        if name in changed:
            continue
        first, n, first_feature, n_features = spans[name]
        old_rows = frame.iloc[first:first + n]
        if old_rows["segment_id"].tolist() != [seg.segment_id for seg in segs]:
            continue
        rows = []
        for seg, old in zip(segs, old_rows.to_dict("records")):
            row = base_row(seg, _plain(old["audio_path"]))
            status = _plain(old["status"])
            row["status"] = status if status in FAILURE_STATUSES else None
            row["detail"] = _plain(old["detail"])
            for col in ("clip_source_start_s", "clip_source_end_s", "clip_pad_left_s"):
                row[col] = _plain(old[col])
            k = _plain(old["feature_row"])
            row["part_feature_row"] = None if k is None else int(k) - first_feature
            rows.append(row)
        with atomic_path(part_path(parts_dir, unit)) as tmp, open(tmp, "wb") as handle:
            if n_features:
                handle.write(np.ascontiguousarray(features[first_feature:first_feature + n_features]).data)
            audio = recorded[name].audio
            write_part_record(handle, {"unit": unit, "digest": digests[unit], "rows": rows,
                                       "n_features": n_features, "row_bytes": row_bytes, "audio": audio})
        written += 1
    return written


def _plain(value):
    """A parquet cell as the part's JSON holds it: None for missing, Python numbers and strings."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value
