"""The ``lhotse`` format: Lhotse's manifests, written as its documentation describes them (no ``lhotse`` import).

::

    OUT/recordings.jsonl.gz     one Recording per audio file: the original file, its rate, length and channels
                                (a Resample transform to 16 kHz where the file has another rate)
    OUT/supervisions.jsonl.gz   one SupervisionSegment per clip: the span of the recording in the clip, its text
                                and speaker, and in ``custom`` its label (1 positive, 0 negative, null abstained),
                                score, split, the scorers' columns, video_id, group_id and the segment's times
    OUT/cuts.jsonl.gz           one cut per clip, id = segment_id, over the original recording's span: a MonoCut
                                when the clip is all audio, else a MixedCut of that MonoCut and PaddingCuts
                                (silence) before and after it, as the build placed it; the clip length long

``lhotse.CutSet.from_file(OUT / "cuts.jsonl.gz")`` reads them (``benchmarks/lhotse_check.py`` checks it with
the real library); ``cut.load_audio()`` decodes the recording itself. The cut starts at the first frame the
build decodes and lasts the samples the build placed, so for a 16 kHz recording its audio is the build's clip,
sample for sample; for another rate Lhotse resamples with its own resampler (the build uses soxr), and for
several channels it returns each one (the build's clip is their mean). The recordings are named by their
absolute paths: move the corpus and ``CutSet.with_recording_path_prefix`` mends them.
"""
from __future__ import annotations

import contextlib
import gzip
import json
import math
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Iterable

from foundation.atomic import atomic_path
from weaklabel.audio import TARGET_SR, AudioReader
from weaklabel.exporting.clips import ClipFailure, Job, Span, audio_file, plan_span, recordings
from weaklabel.exporting.tasks import Task, failure

RECORDINGS_FILE = "recordings.jsonl.gz"
SUPERVISIONS_FILE = "supervisions.jsonl.gz"
CUTS_FILE = "cuts.jsonl.gz"
#: The files :func:`finish` writes into the export folder, and how the format is loaded.
INDEX_FILES = (RECORDINGS_FILE, SUPERVISIONS_FILE, CUTS_FILE)
LOADING = f'lhotse.CutSet.from_file("{{out}}/{CUTS_FILE}")'
#: A PaddingCut's feature value, Lhotse's ``LOG_EPSILON`` (log 1e-10); its audio is zeros.
PADDING_FEAT_VALUE = math.log(1e-10)


def lhotse_samples(seconds: float, rate: int) -> int:
    """Samples in ``seconds`` at ``rate``, rounded half up (Lhotse's ``compute_num_samples``)."""
    return int(Decimal(seconds * rate).quantize(0, rounding=ROUND_HALF_UP))


def recording(recording_id: str, path: str, reader: AudioReader) -> dict:
    """A Recording manifest of the file at ``path`` (its native rate, frames and channels; at 16 kHz through
    Lhotse's Resample transform when the file has another rate)."""
    channels = list(range(reader.channels))
    duration = reader.native_frames / reader.native_sr
    out = {"id": recording_id, "sources": [{"type": "file", "channels": channels, "source": path}],
           "sampling_rate": reader.native_sr, "num_samples": reader.native_frames, "duration": duration,
           "channel_ids": channels}
    if reader.native_sr != TARGET_SR:
        out.update(sampling_rate=TARGET_SR, num_samples=lhotse_samples(duration, TARGET_SR),
                   transforms=[{"name": "Resample", "kwargs": {"source_sampling_rate": reader.native_sr,
                                                                "target_sampling_rate": TARGET_SR}}])
    return out


def supervision(job: Job, row: dict, recording_id: str, start: float, duration: float, channel) -> dict:
    """A SupervisionSegment of ``row`` over ``duration`` seconds from ``start`` (of the recording, or of its cut)."""
    custom = {"label": row["label"], "score": row["score"], "split": row["split"],
              **{name: row.get(name) for name, _ in job.columns},
              "video_id": row["video_id"], "group_id": row["group_id"],
              "segment_start": row["start"], "segment_end": row["end"]}
    out = {"id": row["segment_id"], "recording_id": recording_id, "start": start, "duration": duration,
           "channel": channel, "text": row["text"]}
    if job.has_speaker and row.get("speaker") is not None:
        out["speaker"] = row["speaker"]
    out["custom"] = custom
    return out


def padding(cut_id: str, samples: int) -> dict:
    return {"id": cut_id, "duration": samples / TARGET_SR, "sampling_rate": TARGET_SR,
            "feat_value": PADDING_FEAT_VALUE, "num_samples": samples, "type": "PaddingCut"}


def cut(job: Job, row: dict, rec: dict, span: Span, native_sr: int) -> tuple[dict, dict]:
    """The cut of ``row``'s clip and its supervision (the span with audio), as manifests."""
    channel = rec["channel_ids"][0] if len(rec["channel_ids"]) == 1 else list(rec["channel_ids"])
    start, duration = span.first / native_sr, span.samples / TARGET_SR
    mono = {"id": row["segment_id"], "start": start, "duration": duration, "channel": channel,
            "supervisions": [supervision(job, row, rec["id"], 0.0, duration, channel)], "recording": rec,
            "type": "MonoCut"}
    right = span.clip_samples - span.pad_left - span.samples
    if not span.pad_left and right <= 0:
        whole = mono
    else:
        tracks = [{"cut": padding(f"{row['segment_id']}_pad_left", span.pad_left), "type": "PaddingCut",
                   "offset": 0.0}] if span.pad_left else []
        tracks.append({"cut": mono, "type": "MonoCut", "offset": span.pad_left / TARGET_SR})
        if right > 0:
            tracks.append({"cut": padding(f"{row['segment_id']}_pad_right", right), "type": "PaddingCut",
                           "offset": (span.pad_left + span.samples) / TARGET_SR})
        whole = {"id": row["segment_id"], "tracks": tracks, "type": "MixedCut"}
    return whole, supervision(job, row, rec["id"], start, duration, channel)


def _line(manifest: dict) -> str:
    return json.dumps(manifest, ensure_ascii=False)


def write_part(job: Job, task: Task) -> dict:
    """The task's manifests, as lines: its recordings (``[id, line]``), supervisions and cuts. No audio is decoded:
    each recording is opened for its header, and each clip's plan drawn again (:func:`plan_span`)."""
    recs, sups, cuts, failures = [], [], [], []
    for reader, failed, rows in recordings(job, list(task.rows), task.audio):
        rec = None
        for row in rows:
            try:
                if failed:
                    raise failed
                span = plan_span(job, reader, row)
            except ClipFailure as exc:
                failures.append(failure(row, exc))
                continue
            if rec is None:
                rec = recording(row["recording_id"], audio_file(job, row["audio_path"]), reader)
                recs.append([rec["id"], _line(rec)])
            whole, sup = cut(job, row, rec, span, reader.native_sr)
            cuts.append(_line(whole))
            sups.append(_line(sup))
    return {"clips": len(cuts), "failures": failures, "files": [], "recordings": recs, "supervisions": sups,
            "cuts": cuts}


@contextlib.contextmanager
def _gzip_lines(path: Path):
    """A text writer of a gzip file whose bytes depend only on the lines written (no name, no time in its header)."""
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as packed:
        yield lambda line: packed.write(line.encode("utf-8") + b"\n")


def finish(out: Path, job: Job, splits: list[str], records: Iterable[dict]) -> list[str]:
    """Write the three manifests from the parts' lines, in task order (streamed; a recording whose clips fill
    several tasks once); the files written into ``out``."""
    with contextlib.ExitStack() as stack:
        temps = [stack.enter_context(atomic_path(out / name)) for name in INDEX_FILES]
        write_recording, write_supervision, write_cut = (stack.enter_context(_gzip_lines(t)) for t in temps)
        seen: set[str] = set()
        for record in records:
            for recording_id, line in record["recordings"]:
                if recording_id not in seen:
                    seen.add(recording_id)
                    write_recording(line)
            for line in record["supervisions"]:
                write_supervision(line)
            for line in record["cuts"]:
                write_cut(line)
    return list(INDEX_FILES)
