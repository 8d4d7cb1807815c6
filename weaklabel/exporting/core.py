"""Plan, run and finish an export: which clips, in which tasks, where their parts go, and the folder at the end.

An export writes into ``OUT`` holding its writer lock (:mod:`foundation.locking`), like the build:

1. the dataset is checked (a finished build of this tool), and ``OUT`` (not inside the dataset; new, empty, an
   unfinished export of the same dataset and configuration, or that export finished: then it is up to date);
2. the labelled clips (and, asked for, the abstained ones; failed segments never) are counted per split in one
   streamed pass over ``segments.parquet`` (:func:`export_plan`), then taken in its order, split by split (train,
   validation, test, then any without a split), a batch of rows at a time, into tasks of ``clips_per_shard``
   clips (:func:`iter_tasks`: each :class:`~weaklabel.exporting.tasks.Task` made when the executor has room for
   it, :meth:`foundation.executor.Engine.map_bounded`);
3. each task runs on the executor (:mod:`foundation.executor`: this process, local processes or Dask) and writes
   its files into the hidden parts folder's ``payload/`` (laid out as ``OUT`` will be), then its record (what it
   wrote, its sizes, its counts, the segments it could not export and why), each under a temporary name renamed
   into place: a task whose record is there and whose files are whole is done, and a re-run does only the others;
4. the format writes its index files (``metadata.csv``, the Lhotse manifests, the dataset card) from the records,
   streamed in task order, the payload is moved into ``OUT``, then ``export_log.csv`` (one line per segment not
   exported) and ``export.json`` (the completion mark) are written, and the parts folder goes.

What a task writes depends only on the dataset and the :class:`~weaklabel.exporting.config.ExportConfig`, so
the bytes are the same whatever the worker count or the scheduler. Nothing here holds the whole corpus: a task
holds one recording open and one row group of clips (hf) or one clip (audiofolder; lhotse decodes none), this
process a few tasks' rows and then one task's record at a time (``benchmarks/export_benchmark.py`` measures it).
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterator

from foundation.atomic import atomic_path, remove_temp_files, write_json_atomic
from foundation.digests import json_sha256
from foundation.executor import ExecutorConfig, make_executor
from foundation.locking import LOCK_FILE, folder_lock
from weaklabel import __version__
from weaklabel.build import corpus_dir
from weaklabel.dataset import Dataset, dataset_entries
from weaklabel.errors import ExportError, OutputConflictError
from weaklabel.exporting import audiofolder, hf, lhotse
from weaklabel.exporting.clips import Job
from weaklabel.exporting.config import EXPORT_FILE, EXPORT_FORMAT_VERSION, EXPORT_LOG_FILE, PARTS_PREFIX, \
    ExportConfig
from weaklabel.exporting.tasks import SPEAKER, Task
from weaklabel.scorers import SCORERS
from weaklabel.scorers.base import BINARY_CLASSES
from weaklabel.segments import ABSTAINED, OK
from weaklabel.splits import SPLITS, UNASSIGNED

#: Each format's module: ``write_part(job, task) -> record`` (in a worker), ``finish(out, job, splits, records) ->
#: [files written into out]`` (in this process, at the end), the ``INDEX_FILES`` that writes and ``LOADING``, how
#: the export is loaded (a template of ``out``).
FORMAT_MODULES = {"hf": hf, "lhotse": lhotse, "audiofolder": audiofolder}
PAYLOAD_DIR = "payload"
#: The columns of ``segments.parquet`` an export reads (with the scorers' columns and ``speaker`` when present).
READ_COLUMNS = ("segment_id", "video_id", "group_id", "split", "status", "label", "score", "text", "start", "end",
                "clip_source_start_s", "clip_source_end_s", "clip_pad_left_s", "audio_path")


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote into ``out`` (its ``export.json``, :attr:`record`) and what this run did."""

    out: Path
    record: dict
    up_to_date: bool
    tasks_run: int
    elapsed_s: float

    @property
    def format(self) -> str:
        return self.record["config"]["format"]

    @property
    def clips(self) -> int:
        return self.record["counts"]["clips"]

    @property
    def failed(self) -> int:
        return self.record["counts"]["failed"]

    @property
    def log_path(self) -> Path:
        return self.out / EXPORT_LOG_FILE


# ---------------------------------------------------------------------------------------------- checks
def export_source(dataset) -> Dataset:
    """The finished build in ``dataset`` (a path or :class:`Dataset`); ExportError saying why it is not one."""
    path = Path(dataset)
    if not path.is_dir():
        raise ExportError(f"{path} is not a folder: --dataset takes a folder written by pipelines.build_dataset")
    if not Dataset.is_dataset(path) or not dataset_entries(path):
        raise ExportError(f"{path} is not a build (no build.json of this tool beside segments.parquet): build it "
                          "with python -m pipelines.build_dataset, or name its output folder")
    import pyarrow.parquet as pq

    source = Dataset(path)
    try:
        missing = [c for c in READ_COLUMNS if c not in pq.read_schema(source.segments_path).names]
        if missing:
            raise ValueError(f"segments.parquet has no column {', '.join(missing)}")
        if not source.record.units or not source.fingerprint:
            raise ValueError("build.json records no units")
        source.config  # noqa: B018 - the build's clip settings: read now, or fail here
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ExportError(f"{path} holds a build this version cannot export ({' '.join(str(exc).split())}): "
                          "build it again") from None
    return source


def check_out(out: Path, source: Dataset) -> None:
    """ExportError when ``out`` is the dataset folder or inside it (an export is not part of the build)."""
    if out.exists() and not out.is_dir():
        raise ExportError(f"--out {out} is a file: the export writes a folder")
    out_real, dataset_real = Path(os.path.realpath(out)), Path(os.path.realpath(source.path))
    if out_real == dataset_real or dataset_real in out_real.parents:
        raise ExportError(f"--out {out} is inside the dataset {source.path}: export into a folder of its own "
                          "(the dataset folder holds the build and what later steps add)")


def export_fingerprint(source: Dataset, config: ExportConfig) -> str:
    """The identity of an export: the dataset's (its build fingerprint and where its corpus is, which the Lhotse
    manifests name) and the export's configuration and format version."""
    return json_sha256({"export_format_version": EXPORT_FORMAT_VERSION, "config": config.to_dict(),
                        "dataset": source.fingerprint, "root": source.config.root})


def _differences(record: dict, source: Dataset, config: ExportConfig) -> str:
    if not isinstance(record, dict):
        return "its export.json does not read"
    recorded = record.get("config") if isinstance(record.get("config"), dict) else {}
    found = [k for k, v in config.to_dict().items() if recorded.get(k) != v]
    if (record.get("dataset") or {}).get("fingerprint") != source.fingerprint:
        found.append("dataset")
    if record.get("export_format_version") != EXPORT_FORMAT_VERSION:
        found.append("export format version")
    return ", ".join(found) or "the corpus's location"


def prepare_out(out: Path, source: Dataset, config: ExportConfig, fingerprint: str) -> Path | None:
    """Check what ``out`` holds (its lock held); return the parts folder to (re)use, or None when ``out`` holds this
    very export, finished. Removes only the temporary files of its own killed writes.

    Raises
    ------
    OutputConflictError
        ``out`` holds another export, finished or not, or files that are not an export.
    """
    record_path = out / EXPORT_FILE
    if record_path.exists():
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            record = None
        if isinstance(record, dict) and record.get("fingerprint") == fingerprint:
            missing = [name for name in record.get("files", []) if not (out / name).exists()]
            if not missing:
                return None
            raise OutputConflictError(f"{out} holds this export, but not all of it ({', '.join(missing)} missing): "
                                      "remove the folder and export again")
        raise OutputConflictError(f"{out} holds another export (differs in: {_differences(record, source, config)}): "
                                  "remove it or choose another --out")
    parts = out / f"{PARTS_PREFIX}{fingerprint[:16]}"
    others = sorted(p.name for p in out.glob(f"{PARTS_PREFIX}*") if p != parts)
    if others:
        raise OutputConflictError(f"{out} holds an unfinished export of another dataset or configuration "
                                  f"({', '.join(others)}): remove it or choose another --out")
    if not parts.is_dir():
        entries = sorted(p.name for p in out.iterdir() if p.name != LOCK_FILE)
        if entries:
            shown = ", ".join(entries[:5]) + (f" and {len(entries) - 5} more" if len(entries) > 5 else "")
            raise OutputConflictError(f"{out} is not empty and holds no export ({shown}): export into a new or "
                                      "empty folder")
    (parts / PAYLOAD_DIR).mkdir(parents=True, exist_ok=True)
    for folder, _, _ in os.walk(parts):  # the parts folder holds nothing but this export's own files
        remove_temp_files(folder)
    remove_temp_files(out, EXPORT_FILE, EXPORT_LOG_FILE, *FORMAT_MODULES[config.format].INDEX_FILES)
    return parts


# ---------------------------------------------------------------------------------------------- planning
#: Rows of ``segments.parquet`` read at a time while the tasks are planned.
BATCH_ROWS = 4096


@dataclass(frozen=True)
class Plan:
    """What an export holds, found in one streamed pass over ``segments.parquet``: the clips per split (in export
    order), the scorer columns the dataset holds (``(name, kind)``, registry order), whether it names speakers,
    and the videos whose clips come from several audio files (their recordings are named by file)."""

    splits: dict
    columns: tuple
    has_speaker: bool
    shared_videos: frozenset

    @property
    def clips(self) -> int:
        return sum(self.splits.values())


def split_order(split: str) -> tuple[int, str]:
    """Splits in the build's order (train, validation, test), then any other, and rows without one last."""
    return (SPLITS.index(split) if split in SPLITS else len(SPLITS) + (split == UNASSIGNED), split)


def _selected(batch, config: ExportConfig, split: str | None = None):
    """The rows of a ``segments.parquet`` batch that are exported (of ``split`` only, when given)."""
    import pyarrow.compute as pc

    status = batch.column("status")
    keep = pc.and_(pc.equal(status, OK), pc.is_valid(batch.column("label")))
    if config.include_abstained:
        keep = pc.or_(keep, pc.equal(status, ABSTAINED))
    keep = pc.fill_null(keep, False)
    if split is not None:
        keep = pc.and_(keep, pc.equal(pc.fill_null(batch.column("split"), UNASSIGNED), split))
    return batch.filter(keep)


def export_plan(source: Dataset, config: ExportConfig) -> Plan:
    """The :class:`Plan` of exporting ``source`` with ``config`` (reads four columns, a batch at a time)."""
    import pyarrow.parquet as pq

    names = pq.read_schema(source.segments_path).names
    columns = tuple((c.name, c.kind) for scorer in SCORERS.values() for c in scorer.columns if c.name in names)
    splits: Counter = Counter()
    files: dict[str, str] = {}
    shared: set[str] = set()
    table = pq.ParquetFile(source.segments_path)
    for batch in table.iter_batches(BATCH_ROWS, columns=["status", "label", "split", "video_id", "audio_path"]):
        kept = _selected(batch, config)
        splits.update(split if split is not None else UNASSIGNED for split in kept.column("split").to_pylist())
        for video, audio in zip(kept.column("video_id").to_pylist(), kept.column("audio_path").to_pylist()):
            if files.setdefault(video, audio) != audio:
                shared.add(video)
    ordered = dict(sorted(splits.items(), key=lambda item: split_order(item[0])))
    return Plan(ordered, columns, SPEAKER[0] in names, frozenset(shared))


def iter_tasks(source: Dataset, config: ExportConfig, plan: Plan, fingerprint: str) -> Iterator[Task]:
    """The export's tasks, in order, each made when it is drawn: split by split, ``segments.parquet`` read a batch
    at a time, the rows of the split cut into tasks of ``clips_per_shard`` clips with their audio files'
    recorded identities. Only the task being made is held."""
    import pyarrow.parquet as pq

    units = {unit.unit: unit.audio for unit in source.record.units}
    wanted = [*READ_COLUMNS, *(name for name, _ in plan.columns), *((SPEAKER[0],) if plan.has_speaker else ())]
    size, index = config.clips_per_shard, 0
    for split, count in plan.splits.items():
        n_shards, chunk = -(-count // size), []

        def task(shard: int) -> Task:
            audio = {row["audio_path"]: units.get(row["audio_path"], {}) for row in chunk}
            digest = json_sha256({"fingerprint": fingerprint, "split": split, "shard": shard, "n_shards": n_shards,
                                  "rows": chunk, "audio": audio})
            return Task(index, split, shard, n_shards, tuple(chunk), audio, digest)

        shard = 0
        for batch in pq.ParquetFile(source.segments_path).iter_batches(BATCH_ROWS, columns=wanted):
            for row in _selected(batch, config, split).to_pylist():
                row["split"] = split
                if row["status"] != OK:
                    row["label"] = None
                shared = row["video_id"] in plan.shared_videos
                row["recording_id"] = f"{row['video_id']}/{row['audio_path']}" if shared else row["video_id"]
                chunk.append(row)
                if len(chunk) == size:
                    yield task(shard)
                    index, shard, chunk = index + 1, shard + 1, []
        if chunk:
            yield task(shard)
            index += 1


# ---------------------------------------------------------------------------------------------- parts
def record_path(parts: Path, index: int) -> Path:
    return parts / f"{index:06d}.json"


def read_record(parts: Path, index: int) -> dict | None:
    try:
        record = json.loads(record_path(parts, index).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def part_done(parts: Path, out: Path, task: Task) -> bool:
    """Whether ``task``'s record is there, made for this very task, and every file it lists is whole (in the
    payload, or already moved into ``out`` by an interrupted finish)."""
    record = read_record(parts, task.index)
    if record is None or record.get("digest") != task.digest:
        return False
    for name, size in record.get("files", []):
        located = [p for p in (parts / PAYLOAD_DIR / name, out / name) if p.is_file()]
        if not located or located[0].stat().st_size != size:
            return False
    return True


def _export_part(job: Job, task: Task) -> tuple[int, int]:
    """Task entry point: write ``task``'s files and then its record (with its counts); ``(index, clips handled)``.

    Raises
    ------
    FileNotFoundError
        The parts folder is not here: the export finished or was discarded meanwhile, or this worker does not
        share the client's filesystem (it is never re-created here).
    """
    parts = Path(job.parts_dir)
    if not parts.is_dir():
        raise FileNotFoundError(f"parts folder {parts} does not exist here: the export it belongs to was finished or "
                                "discarded, or this worker does not share the client's filesystem")
    record = FORMAT_MODULES[job.format].write_part(job, task)
    failed = {f["segment_id"] for f in record["failures"]}
    counts = Counter("failed" if row["segment_id"] in failed else
                     "abstained" if row["label"] is None else BINARY_CLASSES[row["label"]] for row in task.rows)
    record.update(index=task.index, split=task.split, digest=task.digest,
                  counts={k: counts[k] for k in (*BINARY_CLASSES, "abstained", "failed")})
    write_json_atomic(record_path(parts, task.index), record)
    return task.index, len(task)


def move_into(source: Path, target: Path) -> None:
    """Move ``source`` to ``target``: a rename, or, where a folder of that name is there already (a finish that was
    interrupted), its entries one by one."""
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
    elif source.is_dir() and target.is_dir():
        for child in sorted(source.iterdir()):
            move_into(child, target / child.name)
        source.rmdir()
    else:
        os.replace(source, target)


# ---------------------------------------------------------------------------------------------- finishing
def finish(out: Path, parts: Path, job: Job, plan: Plan, tasks: list[tuple[int, str]], fingerprint: str,
           source: Dataset, config: ExportConfig) -> dict:
    """Write the format's index files, move the payload into ``out``, write the log and ``export.json``; the
    record. ``tasks`` are ``(index, digest)`` in order; their records are read one at a time."""
    def records():
        for index, digest in tasks:
            record = read_record(parts, index)
            if record is None or record.get("digest") != digest:
                raise RuntimeError(f"the record of export task {index} is missing or not this export's")
            yield record

    written = FORMAT_MODULES[job.format].finish(out, job, list(plan.splits), records())
    payload = parts / PAYLOAD_DIR
    for entry in sorted(payload.iterdir()):
        move_into(entry, out / entry.name)
    counts = {split: Counter() for split in plan.splits}
    moved: set[str] = set()  # the payload's top-level entries, this run's or an interrupted finish's
    with atomic_path(out / EXPORT_LOG_FILE) as tmp, open(tmp, "w", encoding="utf-8", newline="") as handle:
        log = csv.writer(handle, lineterminator="\n")
        log.writerow(["segment_id", "split", "status", "detail"])
        for record in records():
            moved.update(name.split("/")[0] for name, _ in record["files"])
            log.writerows([f["segment_id"], f["split"], f["status"], f["detail"]] for f in record["failures"])
            counts[record["split"]].update(record["counts"])
    by_split = {split: {"clips": c["positive"] + c["negative"] + c["abstained"], "positive": c["positive"],
                        "negative": c["negative"], "abstained": c["abstained"], "failed": c["failed"]}
                for split, c in counts.items()}
    record = {
        "export_format_version": EXPORT_FORMAT_VERSION,
        "fingerprint": fingerprint,
        "config": config.to_dict(),
        "dataset": {"fingerprint": source.fingerprint, "clip_seconds": source.config.clip_seconds,
                    "seed": source.config.seed, "policy": source.config.policy},
        "counts": {"clips": sum(s["clips"] for s in by_split.values()),
                   "failed": sum(s["failed"] for s in by_split.values()), "by_split": by_split},
        "columns": [name for name, _ in job.columns],
        "files": [*sorted({*written, *moved}), EXPORT_LOG_FILE],
        "log": EXPORT_LOG_FILE,
        "versions": export_versions(),
    }
    write_json_atomic(out / EXPORT_FILE, record)
    shutil.rmtree(parts)
    return record


def export_versions() -> dict[str, str]:
    """Versions of what shapes an export's bytes."""
    import soundfile

    versions = {"weaklabel": __version__, "libsndfile": soundfile.__libsndfile_version__}
    for dist in ("numpy", "pyarrow", "soundfile", "soxr"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    return versions


# ---------------------------------------------------------------------------------------------- the export
#: Tasks submitted and not yet finished, per worker: enough to keep every worker busy, few enough that the
#: planned clips are never all held at once.
IN_FLIGHT_PER_WORKER = 2


def export(dataset, out, config: ExportConfig, executor: ExecutorConfig | None = None, *,
           progress: Callable[[int], None] | None = None, on_start: Callable[[int], None] | None = None,
           log: Callable[[str], None] | None = None) -> ExportResult:
    """Export a built dataset's clips to ``out`` in ``config.format`` (resuming an unfinished export there).

    Parameters
    ----------
    dataset : Dataset or path
        A folder written by :func:`weaklabel.build_dataset`.
    out : path
        The export's folder: new, empty, or holding an unfinished or finished export of the same dataset and
        configuration. Not inside the dataset.
    config : ExportConfig
    executor : foundation.executor.ExecutorConfig, optional
        Where the tasks run (default: local processes, one per CPU); it changes no byte of the export.
    progress : callable(clips_done_delta), optional
        Called as tasks finish, or are found done (with their clips, exported or failed).
    on_start : callable(n_clips), optional
        Called once the clips are counted, before any audio is read.
    log : callable(str), optional
        Receives notices, one line each (a resumed export).

    Returns
    -------
    ExportResult
        ``record`` is ``export.json``: counts by split and label, the failed segments' count (the log names
        them: ``export_log.csv``), the files, the configuration and the dataset's fingerprint.

    Raises
    ------
    ExportError
        ``dataset`` is not a build, or ``out`` is inside it.
    OutputConflictError
        ``out`` holds another export, or files that are not one.
    FolderBusyError
        Another process is writing into ``out``.
    """
    started = time.perf_counter()
    executor = executor or ExecutorConfig()
    source = export_source(dataset)
    out = Path(out)
    check_out(out, source)
    fingerprint = export_fingerprint(source, config)
    with folder_lock(out, "export"):
        parts = prepare_out(out, source, config, fingerprint)
        if parts is None:
            record = json.loads((out / EXPORT_FILE).read_text(encoding="utf-8"))
            return ExportResult(out, record, True, 0, time.perf_counter() - started)
        workers = max(1, executor.workers or os.cpu_count() or 1)
        run = 0
        with executor.connect_timeout(), make_executor(executor.scheduler, executor.dask_address, workers) as engine:
            # Local workers are forked now, before this process reads the dataset's table: they never carry its pages.
            engine.submit(os.getpid).result()
            plan = export_plan(source, config)
            job = Job(config.format, config.bits, source.config, str(corpus_dir(source.config)),
                      str((parts / PAYLOAD_DIR).resolve()), str(parts.resolve()), plan.columns, plan.has_speaker)
            if on_start:
                on_start(plan.clips)
            tasks: list[tuple[int, str]] = []
            done = []

            def todo() -> Iterator[tuple[Job, Task]]:
                for task in iter_tasks(source, config, plan, fingerprint):
                    tasks.append((task.index, task.digest))
                    if part_done(parts, out, task):
                        done.append(task.index)
                        if progress:
                            progress(len(task))
                    else:
                        yield job, task

            for _, (index, clips) in engine.map_bounded(_export_part, todo(), IN_FLIGHT_PER_WORKER * workers):
                run += 1
                if progress:
                    progress(clips)
        if done and log:
            log(f"resumed the export in {out}: {len(done)} of {len(tasks)} tasks were done")
        record = finish(out, parts, job, plan, tasks, fingerprint, source, config)
    return ExportResult(out, record, False, run, time.perf_counter() - started)
