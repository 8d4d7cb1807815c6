"""Shared pieces of the benchmarks: machine description, the cached bench corpus and its subsets, timers.

Every figure the benchmarks report is a ratio against a reference measured in the same run, because the
machines are shared and noisy; the 1-minute load average is recorded next to each measurement so a reader
can judge how busy the machine was.
"""
from __future__ import annotations

import os
import platform
import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from foundation.versions import version_text

REPO_ROOT = Path(__file__).resolve().parent.parent
AUDIO_SUBDIR = Path("Raw/Audio/Full/WAV_16000")
TRANSCRIPT_SUBDIR = Path("Raw/Transcript/Segmented/Combined")


def load1() -> float | None:
    """The 1-minute load average (None where the platform has none)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 ** 2, 1)
    except OSError:
        pass
    return None


def _version(dist: str) -> str:
    return version_text(dist)


def machine_info() -> dict:
    """CPU model, cores, RAM, OS, Python and library versions, and the load average now."""
    import numpy as np

    blas = "unknown"
    try:
        config = np.show_config(mode="dicts")
        blas_info = config.get("Build Dependencies", {}).get("blas", {})
        blas = f"{blas_info.get('name', '?')} {blas_info.get('version', '')}".strip()
    except Exception:  # older NumPy: no dict mode
        pass
    return {
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "ram_gib": ram_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numpy_blas": blas,
        "tensorflow": _version("tensorflow"),
        "keras": _version("keras"),
        "librosa": _version("librosa"),
        "scipy": _version("scipy"),
        "soundfile": _version("soundfile"),
        "numpy_blas_runtime": _blas_runtime(),
        "load_average_1min": load1(),
    }


def _blas_runtime() -> list[dict]:
    try:
        return blas_info()
    except Exception:
        return []


# --------------------------------------------------------------------------------------------------------
# The bench corpus
# --------------------------------------------------------------------------------------------------------

def bench_corpus(corpus_dir: str | Path, n_recordings: int, sentences_per_recording: int) -> Path:
    """Generate (or reuse, when already there with these parameters) the synthetic bench corpus."""
    from weaklabel.demo import generate_demo_corpus

    return generate_demo_corpus(corpus_dir, n_recordings=n_recordings,
                                sentences_per_recording=sentences_per_recording, seed=0)


def recording_ids(corpus_dir: str | Path) -> list[str]:
    """Video ids of a MOSEI-layout corpus that have both audio and transcript, sorted."""
    root = Path(corpus_dir)
    return sorted(p.stem for p in (root / TRANSCRIPT_SUBDIR).glob("*.txt")
                  if (root / AUDIO_SUBDIR / f"{p.stem}.wav").is_file())


def corpus_subset(corpus_dir: str | Path, n: int, subsets_dir: str | Path) -> Path:
    """A MOSEI-layout corpus holding the first ``n`` recordings of ``corpus_dir`` (hard links, else copies).

    Made once and reused; the same recordings as the full corpus, so sizes compare like with like.
    """
    ids = recording_ids(corpus_dir)
    if n > len(ids):
        raise ValueError(f"{corpus_dir} has {len(ids)} recordings; {n} asked for")
    if n == len(ids):
        return Path(corpus_dir).absolute()
    target = Path(subsets_dir).absolute() / f"{Path(corpus_dir).name}-first{n}"
    if target.is_dir() and recording_ids(target) == ids[:n]:
        return target
    shutil.rmtree(target, ignore_errors=True)
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for sub in (AUDIO_SUBDIR, TRANSCRIPT_SUBDIR):
        (tmp / sub).mkdir(parents=True)
    for rid in ids[:n]:
        for sub, suffix in ((AUDIO_SUBDIR, ".wav"), (TRANSCRIPT_SUBDIR, ".txt")):
            src, dst = Path(corpus_dir) / sub / f"{rid}{suffix}", tmp / sub / f"{rid}{suffix}"
            try:
                os.link(src, dst)
            except OSError:
                shutil.copyfile(src, dst)
    os.rename(tmp, target)
    return target


def count_segments(corpus_dir: str | Path) -> int:
    root = Path(corpus_dir)
    return sum(sum(1 for line in p.read_text(encoding="utf-8").splitlines() if line.strip())
               for p in (root / TRANSCRIPT_SUBDIR).glob("*.txt"))


# --------------------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------------------

@dataclass
class Timed:
    """Wall and CPU seconds (this process and its waited-for children) of one measured call."""

    wall_s: float
    cpu_s: float
    load1_before: float | None
    result: object = None

    def record(self, items: int, unit: str) -> dict:
        return {"items": items, "wall_s": round(self.wall_s, 4), "cpu_s": round(self.cpu_s, 4),
                f"{unit}_per_s": items / self.wall_s if self.wall_s > 0 else None,
                f"cpu_ms_per_{unit.rstrip('s')}": 1000 * self.cpu_s / items if items else None,
                "load1_before": self.load1_before}


def timed(fn, *args, **kwargs) -> Timed:
    """Call ``fn`` and measure wall time and CPU time (user + system, own and children's)."""
    before_load = load1()
    t0, c0 = time.perf_counter(), os.times()
    result = fn(*args, **kwargs)
    t1, c1 = time.perf_counter(), os.times()
    cpu = (c1.user - c0.user) + (c1.system - c0.system) + (c1.children_user - c0.children_user) \
        + (c1.children_system - c0.children_system)
    return Timed(t1 - t0, cpu, before_load, result)


def median(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def spread(values) -> list[float] | None:
    values = [v for v in values if v is not None]
    return [min(values), max(values)] if values else None


def blas_info() -> list[dict]:
    """NumPy's BLAS as threadpoolctl sees it: library, kernel architecture chosen at run time, threads."""
    try:
        import threadpoolctl
    except ImportError:
        return []
    return [{"library": i.get("internal_api"), "architecture": i.get("architecture"), "threads": i.get("num_threads"),
             "version": i.get("version")} for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]


def write_met_result(out_dir: str | Path, record: dict, json_name: str, markdown_name: str, render) -> int:
    """Write a result ``record`` with a ``met`` verdict as JSON and its Markdown (``render(record)``, rendered from
    the record as the JSON reads back: the committed Markdown is its JSON's rendering), print the Markdown and the
    paths; the exit status, 0 when met, else 1."""
    import json

    from foundation.atomic import write_record_atomic
    from foundation.paths import display_path

    record = json.loads(json.dumps(record, sort_keys=True))
    json_path, md_path = write_record_atomic(out_dir, record, json_name, render(record), markdown_name)
    print(render(record))
    print(f"Wrote {display_path(json_path)} and {display_path(md_path)}")
    return 0 if record["met"] else 1
