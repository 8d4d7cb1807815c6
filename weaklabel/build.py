"""Build a weakly labelled dataset from a corpus: read segments, score text, cut clips, compute features.

The work is split by recording. Each recording becomes a *part* (its rows as JSON and its log-mel
features as ``.npy``, both written atomically, JSON last as the completion mark) in a hidden folder of the
output directory. When every part exists, :func:`finalize` merges them in corpus order, applies the
labelling policy and the splits, and writes the outputs, each atomically, ``build.json`` last:

``segments.parquet``
    One row per transcript segment (ok, abstained or failed with its reason); see :data:`COLUMNS`.
``features/logmel.npy``
    float16 array ``(n_rows_with_features, n_mels, n_frames)``; row ``i`` belongs to the segment whose
    ``feature_row`` is ``i`` (failed segments have none). Open with ``numpy.load(path, mmap_mode="r")``.
``build.json``
    Counts by status, label and split; the full configuration; library versions.

An interrupted build (even one killed outright) leaves finished parts behind; re-running with the same
configuration does only the missing recordings and ends with the same bytes as an uninterrupted run. A part
counts as finished only when its rows JSON, its features ``.npy`` and the digest of the recording's segments
and audio file all agree (:func:`part_done`); anything else, including temporary files that a killed write
left, is redone or removed, never read. ``build.json`` is the completion mark of the whole build.

Every random choice is drawn from ``(seed, segment_id)``, so results do not depend on worker count, order or
scheduler: the recordings can run in this process, in local processes, or on a Dask cluster
(:mod:`weaklabel.engine`), with the same bytes out.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from weaklabel import __version__
from weaklabel.atomic import atomic_path, remove_temp_files, write_json_atomic, write_parquet_atomic
from weaklabel.audio import DEFAULT_CLIP_SECONDS, TARGET_SR, AudioDecodeError, AudioReader, place_in_clip, \
    plan_clip, segment_rng
from weaklabel.engine import make_executor, resolve_scheduler
from weaklabel.errors import OutputConflictError
from weaklabel.features import LogMelParams, log_mel_spectrogram
from weaklabel.readers import read_corpus
from weaklabel.segments import ABSTAINED, AUDIO_MISSING, AUDIO_UNREADABLE, DUPLICATE_SEGMENT, \
    FAILURE_STATUSES, OK, OUTSIDE_AUDIO, Segment
from weaklabel.sentiment import DEFAULT_NEUTRAL_BAND, DEFAULT_POLICY, SCORE_FIELDS, apply_policy, \
    score_sentiment, scores_from_frame, validate_policy
from weaklabel.splits import DEFAULT_FRACTIONS, assign_group_splits, load_folds, splits_from_folds

FORMAT_VERSION = 2  # 2: per-text VADER shares and negation-aware TextBlob stored for the label model
SEGMENTS_FILE = "segments.parquet"
BUILD_FILE = "build.json"
FEATURES_FILE = "features/logmel.npy"
PARTS_PREFIX = ".parts-"

#: Columns of ``segments.parquet``, in order (reader-specific extras such as ``speaker`` follow).
COLUMNS = {
    "segment_id": "unique segment id (MOSEI: <video>_<segment>)",
    "video_id": "source recording id",
    "group_id": "unit kept on one side of a split (video or speaker)",
    "split": "train / validation / test (null: not listed in --folds)",
    "status": "ok, abstained, or a failure code (see weaklabel.segments)",
    "detail": "failure reason or notes (e.g. negative start clamped, cut at end)",
    "label": "weak label: 1 positive, 0 negative, null abstained/failed",
    "score": "the policy's combined sentiment score in [-1, 1]",
    "textblob": "TextBlob polarity of the normalised text, [-1, 1]",
    "vader": "VADER compound score of the normalised text, [-1, 1]",
    "vader_pos": "VADER's share of positive lexicon weight in the text, [0, 1]",
    "vader_neg": "VADER's share of negative lexicon weight in the text, [0, 1]",
    "textblob_negation": "TextBlob polarity after spelling out n't negations, [-1, 1]",
    "text": "transcript text as read",
    "start": "segment start, seconds (negative published starts clamped to 0)",
    "end": "segment end, seconds, as published",
    "duration_s": "end - start, seconds, before cropping or padding",
    "start_clamped": "true when a negative start was clamped to 0",
    "clip_source_start_s": "start of the recording span placed in the clip, seconds",
    "clip_source_end_s": "end of that span, seconds",
    "clip_pad_left_s": "silence before the audio in the clip, seconds",
    "feature_row": "row in features/logmel.npy, null when the segment has no clip",
    "audio_path": "audio file, relative to the corpus root when inside it",
}


@dataclass(frozen=True)
class BuildConfig:
    """Everything that determines a build's output (runtime options such as worker count are not here)."""

    corpus: str
    root: str
    clip_seconds: float = DEFAULT_CLIP_SECONDS
    seed: int = 0
    policy: str = DEFAULT_POLICY
    neutral_band: float = DEFAULT_NEUTRAL_BAND
    split_fractions: tuple[float, float, float] = DEFAULT_FRACTIONS
    folds: str | None = None
    mel: LogMelParams = field(default_factory=LogMelParams)

    def __post_init__(self):
        if not self.clip_seconds > 0:
            raise ValueError(f"clip length must be positive, got {self.clip_seconds} s")
        if self.mel.sample_rate != TARGET_SR:
            raise ValueError(f"features are computed at {TARGET_SR} Hz; got mel sample_rate {self.mel.sample_rate}")
        validate_policy(self.policy, self.neutral_band)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["split_fractions"] = list(self.split_fractions)
        data["folds_sha256"] = _file_sha256(self.folds) if self.folds else None
        data["format_version"] = FORMAT_VERSION
        return data

    def fingerprint(self) -> str:
        """Hash of the whole configuration: a build directory holds exactly one."""
        return _hash_json(self.to_dict())

    def parts_fingerprint(self) -> str:
        """Hash of what the per-recording parts depend on (not the policy or the splits)."""
        data = self.to_dict()
        keep = ("corpus", "root", "clip_seconds", "seed", "mel", "format_version")
        return _hash_json({k: data[k] for k in keep})


@dataclass
class BuildResult:
    """What a build did: the output paths, the counts written to ``build.json``, and timing."""

    out_dir: Path
    counts: dict
    elapsed_s: float
    up_to_date: bool = False
    recordings_processed: int = 0


def _hash_json(data) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode("utf-8")).hexdigest()


def _file_sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of Python and every library whose behaviour shapes the output."""
    import soundfile

    versions = {"python": platform.python_version(), "weaklabel": __version__,
                "libsndfile": soundfile.__libsndfile_version__}
    for dist in ("numpy", "pandas", "pyarrow", "librosa", "soundfile", "soxr", "textblob", "vaderSentiment"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    return versions


# --------------------------------------------------------------------------------------------------------
# Per-recording work (runs in worker processes)
# --------------------------------------------------------------------------------------------------------

def _base_row(seg: Segment, root: Path) -> dict:
    audio_path = seg.audio_path
    if audio_path:
        try:
            audio_path = Path(audio_path).resolve().relative_to(root).as_posix()
        except ValueError:
            pass
    row = {
        "segment_id": seg.segment_id, "video_id": seg.recording_id, "group_id": seg.group_id,
        "status": seg.status, "detail": seg.detail, **dict.fromkeys(SCORE_FIELDS), "text": seg.text,
        "start": seg.start_s, "end": seg.end_s,
        "duration_s": (seg.end_s - seg.start_s) if seg.start_s is not None and seg.end_s is not None else None,
        "start_clamped": seg.start_clamped, "clip_source_start_s": None, "clip_source_end_s": None,
        "clip_pad_left_s": None, "part_feature_row": None, "audio_path": audio_path,
    }
    row.update({f"extra:{k}": v for k, v in seg.extra.items()})
    return row


def _fail(row: dict, status: str, detail: str) -> None:
    row["status"] = status
    row["detail"] = "; ".join(x for x in (row["detail"], detail) if x)


def _add_note(row: dict, note: str) -> None:
    row["detail"] = "; ".join(x for x in (row["detail"], note) if x)


def process_recording(segments: list[Segment], config: BuildConfig) -> tuple[list[dict], np.ndarray]:
    """Score, cut and featurise every segment of one recording.

    Parameters
    ----------
    segments : list of Segment
        All segments of one recording, in corpus order (failed ones included; they keep their status).
    config : BuildConfig

    Returns
    -------
    rows : list of dict
        One row per segment, in the given order; ``part_feature_row`` indexes ``features``.
    features : ndarray, shape (n_clips, n_mels, n_frames), ``config.mel.storage_dtype``
    """
    root = Path(config.root).resolve()
    root_dir = root if root.is_dir() else root.parent
    rows = [_base_row(seg, root_dir) for seg in segments]
    for seg, row in zip(segments, rows):
        if seg.text and seg.text.strip():
            row.update(asdict(score_sentiment(seg.text)))

    live = [i for i, seg in enumerate(segments) if not seg.failed]
    clips: dict[int, np.ndarray] = {}
    if live:
        audio_path = segments[live[0]].audio_path
        if not audio_path or not os.path.isfile(audio_path):
            for i in live:
                _fail(rows[i], AUDIO_MISSING, f"audio file not found: {audio_path}")
        else:
            try:
                reader = AudioReader(audio_path)
            except AudioDecodeError as exc:
                for i in live:
                    _fail(rows[i], AUDIO_UNREADABLE, str(exc))
            else:
                with reader:
                    for i in sorted(live, key=lambda j: segments[j].start_s):
                        clip = _cut_clip(reader, segments[i], rows[i], config)
                        if clip is not None:
                            clips[i] = clip

    order = sorted(clips)
    n_frames = config.mel.n_frames(int(round(config.clip_seconds * TARGET_SR)))
    if order:
        features = log_mel_spectrogram(np.stack([clips[i] for i in order]), config.mel)
    else:
        features = np.zeros((0, config.mel.n_mels, n_frames), dtype=np.float32)
    for k, i in enumerate(order):
        rows[i]["part_feature_row"] = k
    return rows, features.astype(config.mel.storage_dtype)


def _cut_clip(reader: AudioReader, seg: Segment, row: dict, config: BuildConfig) -> np.ndarray | None:
    """Decode one segment's planned span into a fixed-length clip; record failures in ``row``."""
    plan = plan_clip(seg.start_s, seg.end_s, reader.duration_s, config.clip_seconds,
                     segment_rng(config.seed, seg.segment_id))
    if plan is None:
        _fail(row, OUTSIDE_AUDIO, f"segment starts at {seg.start_s:g} s; the recording is "
                                  f"{reader.duration_s:.3f} s long")
        return None
    try:
        samples = reader.read_span(plan.source_start_s, plan.source_end_s)
    except AudioDecodeError as exc:
        _fail(row, AUDIO_UNREADABLE, str(exc))
        return None
    if samples.size == 0:
        _fail(row, OUTSIDE_AUDIO, f"no audio could be decoded from {plan.source_start_s:.3f} s "
                                  "(the file is shorter than its header says)")
        return None
    if plan.cut_at_end:
        _add_note(row, f"segment end {seg.end_s:g} s is past the recording end {reader.duration_s:.3f} s; cut there")
    if samples.size < plan.source_samples:
        _add_note(row, f"file ends early: only {samples.size / TARGET_SR:.3f} s decoded (truncated file)")
    row["clip_source_start_s"] = plan.source_start_s
    row["clip_source_end_s"] = plan.source_start_s + samples.size / TARGET_SR
    row["clip_pad_left_s"] = plan.pad_left_samples / TARGET_SR
    return place_in_clip(samples, plan)


def _part_stem(recording_id: str) -> str:
    return hashlib.sha256(recording_id.encode("utf-8")).hexdigest()[:24]


def recording_digest(segments: list[Segment]) -> str:
    """Hash of what one recording's part is computed from: its segments and its audio file's size and time.

    A part made from an earlier version of the transcript or the audio does not match, so a resumed build
    never mixes it with new work.
    """
    audio_path = next((seg.audio_path for seg in segments if seg.audio_path), None)
    try:
        stat = os.stat(audio_path) if audio_path else None
    except OSError:
        stat = None
    audio = [audio_path, stat.st_size, stat.st_mtime_ns] if stat else [audio_path, None, None]
    data = {"segments": [asdict(seg) for seg in segments], "audio": audio}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=repr).encode("utf-8")).hexdigest()


def write_part(parts_dir: Path, recording_id: str, rows: list[dict], features: np.ndarray,
               digest: str | None = None) -> None:
    """Write one recording's part: features first, then the rows JSON that marks it complete.

    Raises
    ------
    FileNotFoundError
        ``parts_dir`` does not exist: the build finished or was discarded meanwhile, or this worker does not
        share the build's filesystem. It is never re-created here.
    """
    if not parts_dir.is_dir():
        raise FileNotFoundError(f"parts folder {parts_dir} does not exist here: the build it belongs to was "
                                "finished or discarded, or this worker does not share the client's filesystem")
    stem = _part_stem(recording_id)
    with atomic_path(parts_dir / f"{stem}.npy") as tmp:
        with open(tmp, "wb") as handle:
            np.save(handle, features)
    write_json_atomic(parts_dir / f"{stem}.json", {"recording_id": recording_id, "digest": digest, "rows": rows,
                                                   "n_features": int(len(features))})


def _build_part(segments: list[Segment], config: BuildConfig, parts_dir: str,
                digest: str | None = None) -> tuple[str, int]:
    """Task entry point: process one recording and write its part. Returns (recording id, segments).

    ``digest`` is :func:`recording_digest` as the client computed it (computed here when omitted).
    """
    if not os.path.exists(config.root):
        raise FileNotFoundError(f"corpus root {config.root} does not exist on this worker: the workers must "
                                "share the client's filesystem")
    # One BLAS/OpenMP thread, as on a Dask worker (whose environment sets it): the mel projection's rounding
    # depends on the thread count, and the features must not. Recordings run in parallel anyway.
    with threadpool_limits(limits=1):
        rows, features = process_recording(segments, config)
    write_part(Path(parts_dir), segments[0].recording_id, rows, features,
               digest if digest is not None else recording_digest(segments))
    return segments[0].recording_id, len(segments)


def part_done(parts_dir: Path, recording_id: str, digest: str) -> bool:
    """Whether a complete, current part exists: rows JSON and features that agree, made from ``digest``.

    A features file without its JSON (killed between the two writes), a JSON without its features (a part
    folder whose removal was interrupted), or a part made from other inputs is not done and will be redone.
    """
    stem = _part_stem(recording_id)
    try:
        meta = json.loads((parts_dir / f"{stem}.json").read_text(encoding="utf-8"))
        n_features = len(np.load(parts_dir / f"{stem}.npy", mmap_mode="r"))
    except (OSError, ValueError):
        return False
    return (meta.get("recording_id") == recording_id and meta.get("digest") == digest
            and meta.get("n_features") == n_features)


# --------------------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------------------

def mark_duplicates(segments: list[Segment]) -> None:
    """Fail every repeat of an already-used segment id, renaming it so ids stay unique."""
    seen: Counter = Counter()
    for seg in segments:
        seen[seg.segment_id] += 1
        if seen[seg.segment_id] > 1:
            original = seg.segment_id
            seg.segment_id = f"{original}#dup{seen[original] - 1}"
            seg.status = DUPLICATE_SEGMENT
            seg.detail = f"segment id {original!r} already used earlier in the corpus"


def group_by_recording(segments: Iterable[Segment]) -> dict[str, list[Segment]]:
    """Segments grouped by recording id, recordings in order of first appearance."""
    groups: dict[str, list[Segment]] = {}
    for seg in segments:
        groups.setdefault(seg.recording_id, []).append(seg)
    return groups


def prepare_output_dir(out_dir: Path, config: BuildConfig, overwrite: bool, force: bool = False) -> Path | None:
    """Check what ``out_dir`` holds against ``config``; return None if the build there is complete.

    ``build.json`` is the completion mark: outputs without it (a build killed while finalising) are not a
    build, and are rebuilt. Returns the parts folder to (re)use otherwise, after removing the temporary files
    that killed writes left in the output, features and parts folders. With ``force`` a complete build of
    the same configuration is redone, its ``build.json`` removed first so that a killed rebuild is never
    taken for complete.

    Raises
    ------
    OutputConflictError
        The folder holds a build, or parts, made with a different configuration and ``overwrite`` is false.
    """
    parts_dir = out_dir / f"{PARTS_PREFIX}{config.parts_fingerprint()[:16]}"
    build_file = out_dir / BUILD_FILE
    ours = [out_dir / SEGMENTS_FILE, out_dir / BUILD_FILE, out_dir / "features"]
    same_build = False
    if build_file.is_file():
        try:
            previous = json.loads(build_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            previous = {}
        same_build = previous.get("fingerprint") == config.fingerprint()
        if same_build and all(p.exists() for p in ours) and not force:
            if parts_dir.is_dir():  # a finished build whose part folder removal was interrupted
                shutil.rmtree(parts_dir)
            return None
        if not same_build and not overwrite:
            changed = sorted(k for k, v in config.to_dict().items() if previous.get("config", {}).get(k) != v)
            raise OutputConflictError(
                f"{out_dir} holds a build made with a different configuration (differs in: "
                f"{', '.join(changed) or 'format'}); pass --overwrite to replace it or choose another --out")
    stale = [p for p in out_dir.glob(f"{PARTS_PREFIX}*") if p != parts_dir] if out_dir.is_dir() else []
    if stale and not overwrite:
        raise OutputConflictError(f"{out_dir} holds an unfinished build with a different configuration; "
                                  "pass --overwrite to discard it or choose another --out")
    # Every check passed: from here on the folder is changed.
    if same_build:
        build_file.unlink()  # forced or incomplete: the completion mark goes before any output is replaced
    if overwrite:
        for path in stale + [p for p in ours if p.exists()]:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    for folder in (out_dir, out_dir / "features", parts_dir):
        remove_temp_files(folder)
    parts_dir.mkdir(parents=True, exist_ok=True)
    return parts_dir


def build_dataset(config: BuildConfig, out_dir: str | Path, workers: int | None = None,
                  overwrite: bool = False, force: bool = False,
                  progress: Callable[[int, int], None] | None = None,
                  on_start: Callable[[int, int], None] | None = None,
                  scheduler: str | None = None, dask_address: str | None = None) -> BuildResult:
    """Build (or resume, or confirm up to date) the dataset for ``config`` in ``out_dir``.

    Parameters
    ----------
    config : BuildConfig
    out_dir : path
    workers : int, optional
        Worker processes (default: CPU count, at most one per recording); 1 runs in this process. With
        ``scheduler="dask"`` and no address: the size of the ``LocalCluster`` started for the build.
    overwrite : bool
        Replace a build made with a different configuration.
    force : bool
        Rebuild even when an identical build is already complete.
    progress : callable(recordings_done_delta, segments_done_delta), optional
    on_start : callable(n_recordings, n_segments), optional
        Called once the corpus is read, before any audio is decoded.
    scheduler : {"local", "dask"} or None
        Where the recordings are processed (:func:`weaklabel.engine.make_executor`); None: ``"dask"`` when
        ``dask_address`` is given. A runtime option: it changes neither the output nor ``build.json``.
    dask_address : str, optional
        Scheduler address of a running Dask cluster to join. Its workers must share this filesystem.

    Raises
    ------
    CorpusError
        Wrong root, unknown layout or no segments.
    OutputConflictError
        ``out_dir`` holds a different build and ``overwrite`` is false.
    """
    started = time.perf_counter()
    scheduler = resolve_scheduler(scheduler, dask_address)  # a bad combination fails before any work
    out_dir = Path(out_dir)
    segments = read_corpus(config.corpus, config.root)
    if config.folds:
        load_folds(config.folds)  # fail early, before any audio work, on a bad folds file
    mark_duplicates(segments)
    recordings = group_by_recording(segments)
    parts_dir = prepare_output_dir(out_dir, config, overwrite, force)
    if parts_dir is None:
        counts = json.loads((out_dir / BUILD_FILE).read_text(encoding="utf-8"))["counts"]
        return BuildResult(out_dir, counts, time.perf_counter() - started, up_to_date=True)
    if on_start:
        on_start(len(recordings), len(segments))
    digests = {rid: recording_digest(segs) for rid, segs in recordings.items()}
    todo = [rid for rid in recordings if not part_done(parts_dir, rid, digests[rid])]
    if progress:
        progress(len(recordings) - len(todo), len(segments) - sum(len(recordings[r]) for r in todo))
    if todo:
        workers = max(1, min(workers or os.cpu_count() or 1, len(todo)))
        tasks = [(recordings[rid], config, str(parts_dir.resolve()), digests[rid]) for rid in todo]
        with make_executor(scheduler, dask_address, workers) as engine:
            for _, (_, n) in engine.map_unordered(_build_part, tasks):
                if progress:
                    progress(1, n)
    counts = finalize(out_dir, parts_dir, list(recordings), config)
    shutil.rmtree(parts_dir)
    return BuildResult(out_dir, counts, time.perf_counter() - started, recordings_processed=len(todo))


def finalize(out_dir: Path, parts_dir: Path, recording_ids: list[str], config: BuildConfig) -> dict:
    """Merge finished parts into ``segments.parquet``, ``features/logmel.npy`` and ``build.json``."""
    metas = [json.loads((parts_dir / f"{_part_stem(r)}.json").read_text(encoding="utf-8")) for r in recording_ids]
    n_features = sum(m["n_features"] for m in metas)
    n_frames = config.mel.n_frames(int(round(config.clip_seconds * TARGET_SR)))
    rows: list[dict] = []
    dtype = np.dtype(config.mel.storage_dtype)
    shape = (n_features, config.mel.n_mels, n_frames)
    with atomic_path(out_dir / FEATURES_FILE) as tmp, open(tmp, "wb") as handle:
        # Stream: an .npy header, then each part's bytes in corpus order. Plain writes, no memory map, so
        # resident memory holds one part at a time however large the corpus (a mapped output counts
        # every written page as resident until the kernel writes it back).
        np.lib.format.write_array_header_1_0(handle, {"descr": np.lib.format.dtype_to_descr(dtype),
                                                      "fortran_order": False, "shape": shape})
        next_row = 0
        for rid, meta in zip(recording_ids, metas):
            part = np.load(parts_dir / f"{_part_stem(rid)}.npy")
            if part.dtype != dtype or part.shape[1:] != shape[1:]:
                raise ValueError(f"part {rid} holds {part.dtype} {part.shape[1:]}, expected {dtype} {shape[1:]}")
            handle.write(np.ascontiguousarray(part).tobytes())
            for row in meta["rows"]:
                k = row.pop("part_feature_row")
                row["feature_row"] = None if k is None else next_row + k
                rows.append(row)
            next_row += len(part)
            del part
    frame = label_rows(pd.DataFrame(rows), config)
    write_parquet_atomic(out_dir / SEGMENTS_FILE, frame)
    counts = count_build(frame)
    write_json_atomic(out_dir / BUILD_FILE, {
        "format_version": FORMAT_VERSION,
        "fingerprint": config.fingerprint(),
        "config": config.to_dict(),
        "counts": counts,
        "features": {"file": FEATURES_FILE, "shape": [n_features, config.mel.n_mels, n_frames],
                     "dtype": config.mel.storage_dtype, "units": "dB re 1.0 power",
                     "key": "segments.parquet column feature_row (row index); null for failed segments",
                     "log_mel": config.mel.to_dict(), "clip_seconds": config.clip_seconds,
                     "sample_rate": TARGET_SR},
        "columns": COLUMNS,
        "versions": library_versions(),
    })
    return counts


def label_rows(frame: pd.DataFrame, config: BuildConfig) -> pd.DataFrame:
    """Apply the labelling policy and the splits to merged rows; return the output table."""
    score, label = apply_policy(scores_from_frame(frame), config.policy, config.neutral_band)
    scores, labels, statuses = [], [], []
    for value, lab, status in zip(score, label, frame["status"]):
        if np.isnan(value):  # no text was scored: keep the reader's status
            scores.append(None)
            labels.append(None)
            statuses.append(status)
            continue
        failed = status in FAILURE_STATUSES
        scores.append(float(value))
        labels.append(None if failed or np.isnan(lab) else int(lab))
        statuses.append(status if failed else (ABSTAINED if np.isnan(lab) else OK))
    frame["score"] = pd.array(scores, dtype="Float64")
    frame["label"] = pd.array(labels, dtype="Int8")
    frame["status"] = statuses
    frame["split"] = assign_splits(frame, config)
    for col in (*SCORE_FIELDS, "start", "end", "duration_s", "clip_source_start_s", "clip_source_end_s",
                "clip_pad_left_s"):
        frame[col] = pd.array(frame[col].astype(object).where(frame[col].notna(), None), dtype="Float64")
    frame["feature_row"] = pd.array(frame["feature_row"].astype(object).where(frame["feature_row"].notna(), None),
                                    dtype="Int64")
    frame["start_clamped"] = frame["start_clamped"].astype(bool)
    extras = sorted(c for c in frame.columns if c.startswith("extra:"))
    frame = frame.rename(columns={c: c[len("extra:"):] for c in extras})
    extra_names = [c[len("extra:"):] for c in extras if c[len("extra:"):] not in COLUMNS]
    return frame[list(COLUMNS) + extra_names]


def assign_splits(frame: pd.DataFrame, config: BuildConfig) -> list[str | None]:
    """Split per group: from ``config.folds`` (by video id, else group id) or seeded group assignment."""
    if config.folds:
        folds = load_folds(config.folds)
        by_video = splits_from_folds(folds, frame["video_id"].tolist())
        by_group = splits_from_folds(folds, frame["group_id"].tolist())
        return [by_video[v] or by_group[g] for v, g in zip(frame["video_id"], frame["group_id"])]
    sizes = Counter()
    for group, status in zip(frame["group_id"], frame["status"]):
        sizes[group] += status == OK
    for group in frame["group_id"]:
        sizes.setdefault(group, 0)
    mapping = assign_group_splits(sizes, config.split_fractions, config.seed)
    return [mapping[g] for g in frame["group_id"]]


def count_build(frame: pd.DataFrame) -> dict:
    """Counts by status, label and split (label counts over ``ok`` rows only)."""
    ok = frame[frame["status"] == OK]
    labelled = {"positive": int((ok["label"] == 1).sum()), "negative": int((ok["label"] == 0).sum())}
    by_split = {}
    for split, part in frame.groupby(frame["split"].fillna("unassigned"), sort=True):
        part_ok = part[part["status"] == OK]
        by_split[str(split)] = {"segments": int(len(part)), "ok": int(len(part_ok)),
                                "positive": int((part_ok["label"] == 1).sum()),
                                "negative": int((part_ok["label"] == 0).sum()),
                                "groups": int(part["group_id"].nunique())}
    failed = frame["status"].isin(FAILURE_STATUSES)
    return {
        "segments": int(len(frame)),
        "recordings": int(frame["video_id"].nunique()),
        "groups": int(frame["group_id"].nunique()),
        "ok": int(len(ok)),
        "abstained": int((frame["status"] == ABSTAINED).sum()),
        "failed": int(failed.sum()),
        "by_status": {str(k): int(v) for k, v in sorted(frame["status"].value_counts().items())},
        "by_label": labelled,
        "positive_share": round(labelled["positive"] / len(ok), 6) if len(ok) else None,
        "by_split": by_split,
        "start_clamped": int(frame["start_clamped"].sum()),
    }
