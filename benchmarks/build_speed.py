"""Build speed: ``weaklabel.build.build_dataset`` against the original per-file path, in the same run.

Every run is a **fresh Python process** timed from launch to exit, so the wall time includes the
interpreter, the imports and (for the build) the worker pool's start-up, as a user of either would pay them.
Both paths run with one BLAS/OpenMP thread per process (``OMP_NUM_THREADS`` & co. = 1), the thread count the
build's workers use; the reference is a single process, as the original was. Rounds rotate the contenders
(original path as written, build with 2 workers, original path with one shared VADER analyzer, build with 1
worker) over the same corpus, so a burst of load from other work on the machine hits them alike; each round
gives paired ratios and the report gives their median and range, with the 1-minute load average taken
before every run.

Fixed costs are measured apart: each round also runs every contender on a one-recording corpus, and the
per-segment cost is ``(wall(corpus) - wall(one recording)) / (segments(corpus) - segments(one recording))``.
CPU milliseconds per segment (user + system, workers included) are reported too, being less sensitive to
contention. ``profile_build`` says where the build's time goes (cProfile, in process).

    python -m benchmarks.run --sections build --update      # the section of reports/benchmarks.md
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import REPO_ROOT, load1, median, spread, timed
from foundation.paths import display_path

TARGET_RATIO = 10.0
#: One BLAS/OpenMP thread per process for both paths: the build's workers run with one (weaklabel.build).
PINNED_THREADS = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                         "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")}
#: The policy of the contenders the target is measured on: the lexicon label model reads TextBlob and VADER only,
#: the scorers the original path ran (the default E5 teacher is measured beside it, ``build_workers2_e5``).
LEXICON_POLICY = "lexicon"
#: (name, child arguments, workers): the contenders, in the order each round starts with.
CONTENDERS = (
    ("reference", ["reference"], None),
    ("build_workers2", ["build", "--workers", "2", "--policy", LEXICON_POLICY], 2),
    ("reference_shared_vader", ["reference", "--shared-vader"], None),
    ("build_workers1", ["build", "--workers", "1", "--policy", LEXICON_POLICY], 1),
    ("build_workers2_e5", ["build", "--workers", "2", "--policy", "e5", "--cold-cache"], 2),
)

# Components of build_dataset for the profile: (label, module file suffix, function names whose cumulative
# time is the component's, function names whose cumulative time is taken off it). Functions another engineer
# renames simply drop into "other". Parts are written while a file is processed: their share is the task's
# time outside the processing, plus the chunk appends inside it.
PROFILE_COMPONENTS = (
    ("read corpus (transcripts -> segments)", "weaklabel/readers/__init__.py", ("read_corpus",), ()),
    ("scorer: language (py3langid)", "weaklabel/scorers/language.py", ("score_language",), ()),
    ("scorer: TextBlob", "weaklabel/scorers/lexicon.py", ("score_textblob",), ()),
    ("scorer: VADER", "weaklabel/scorers/lexicon.py", ("score_vader",), ()),
    ("scorer: E5 (embedding, head; cold sentence cache)", "weaklabel/scorers/e5.py", ("score_e5",), ()),
    ("audio decode + clip (soundfile seek/read, soxr, crop/pad)", "weaklabel/build/cut.py", ("cut_span", "_cut_clip"),
     ()),
    ("log-mel (STFT, mel projection, dB)", "weaklabel/logmel.py", ("log_mel_spectrogram", "log_mel_placed"), ()),
    ("write parts (feature chunks into the staging file, rows record, fsync, rename)", "weaklabel/build/cut.py",
     ("write_part", "build_part", "_append_features", "__call__"), ("process_audio_file",)),
    ("finalize (merge features, parquet, build.json)", "weaklabel/build/finish.py", ("finalize",), ()),
)


def _child_env() -> dict:
    import weaklabel

    code_root = str(Path(weaklabel.__file__).absolute().parent.parent)  # the weaklabel this process imported
    return dict(os.environ, **PINNED_THREADS,
                PYTHONPATH=os.pathsep.join(filter(None, [code_root, str(REPO_ROOT), os.environ.get("PYTHONPATH")])))


def run_fresh(args: list[str], root: Path, out_dir: Path) -> dict:
    """One contender on ``root`` in a fresh process: wall and CPU seconds (children included), segments, load."""
    cmd = [sys.executable, "-m", "benchmarks.build_speed", *args, "--root", str(root), "--out", str(out_dir)]
    shutil.rmtree(out_dir, ignore_errors=True)
    env = _child_env()

    def launch():
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO_ROOT)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])

    t = timed(launch)
    shutil.rmtree(out_dir, ignore_errors=True)
    rec = t.record(t.result["segments"], "segments")
    rec["imports_s"] = round(t.result["imports_s"], 3)
    return rec


def _read_all(root: Path) -> int:
    """Read every file under ``root`` once, so that no contender pays the first read from disk."""
    total = 0
    for path in sorted(root.rglob("*")):
        if path.is_file():
            with open(path, "rb") as handle:
                while block := handle.read(8 << 20):
                    total += len(block)
    return total


def measure_build_speed(corpus_root: Path, scratch: Path, rounds: int, warmup_root: Path,
                        log=print) -> dict:
    """Paired rounds of the original path against build_dataset on ``corpus_root``, fixed costs measured on
    ``warmup_root`` (one recording); see the module docstring."""
    scratch.mkdir(parents=True, exist_ok=True)
    out_dir = scratch / "build-speed-out"
    _read_all(corpus_root)
    for name, args, _ in CONTENDERS:  # warm-up: the OS caches the libraries and the corpus
        run_fresh(args, warmup_root, out_dir)
    runs: dict[str, list[dict]] = {name: [] for name, _, _ in CONTENDERS}
    fixed: dict[str, list[dict]] = {name: [] for name, _, _ in CONTENDERS}
    for r in range(rounds):
        order = CONTENDERS[r % len(CONTENDERS):] + CONTENDERS[:r % len(CONTENDERS)]
        for name, args, _ in order:
            fixed[name].append(run_fresh(args, warmup_root, out_dir))
            rec = run_fresh(args, corpus_root, out_dir)
            tiny = fixed[name][-1]
            rec["per_segment_ms"] = 1000 * (rec["wall_s"] - tiny["wall_s"]) / (rec["items"] - tiny["items"])
            runs[name].append(rec)
            log(f"  build speed round {r + 1}/{rounds} {name}: {rec['wall_s']:.2f} s for {rec['items']} segments "
                f"({rec['segments_per_s']:.1f}/s; fixed {tiny['wall_s']:.2f} s of which imports "
                f"{tiny['imports_s']:.2f} s; {rec['cpu_ms_per_segment']:.2f} CPU ms/segment; load "
                f"{rec['load1_before']})")
    shutil.rmtree(out_dir, ignore_errors=True)

    def paired(a: str, b: str, key: str = "wall_s") -> list[float]:  # b's cost over a's: a's speed-up
        return [y[key] / x[key] for x, y in zip(runs[a], runs[b])]

    summary = {name: {"segments_per_s_median": median(r["segments_per_s"] for r in recs),
                      "segments_per_s_range": spread(r["segments_per_s"] for r in recs),
                      "wall_s_median": median(r["wall_s"] for r in recs),
                      "wall_s_range": spread(r["wall_s"] for r in recs),
                      "cpu_ms_per_segment_median": median(r["cpu_ms_per_segment"] for r in recs),
                      "fixed_wall_s_median": median(r["wall_s"] for r in fixed[name]),
                      "fixed_wall_s_range": spread(r["wall_s"] for r in fixed[name]),
                      "imports_s_median": median(r["imports_s"] for r in fixed[name]),
                      "per_segment_ms_median": median(r["per_segment_ms"] for r in recs),
                      "per_segment_ms_range": spread(r["per_segment_ms"] for r in recs)}
               for name, recs in runs.items()}
    ratios = {
        "workers2_vs_reference": paired("build_workers2", "reference"),
        "workers1_vs_reference": paired("build_workers1", "reference"),
        "workers2_vs_reference_shared_vader": paired("build_workers2", "reference_shared_vader"),
        "workers1_vs_reference_shared_vader": paired("build_workers1", "reference_shared_vader"),
        "workers2_vs_workers1": paired("build_workers2", "build_workers1"),
        "workers2_e5_vs_reference": paired("build_workers2_e5", "reference"),
        "workers2_e5_over_workers2_lexicon": paired("build_workers2_e5", "build_workers2"),
    }
    per_segment_ratios = {  # fixed costs taken off both sides
        "workers2_vs_reference": paired("build_workers2", "reference", "per_segment_ms"),
        "workers1_vs_reference": paired("build_workers1", "reference", "per_segment_ms"),
        "workers2_vs_reference_shared_vader": paired("build_workers2", "reference_shared_vader", "per_segment_ms"),
    }
    cpu_ratios = {  # reference CPU time per segment / build CPU time per segment: efficiency, not parallelism
        "reference_over_build_workers1": median(paired("build_workers1", "reference", "cpu_ms_per_segment")),
        "reference_shared_vader_over_build_workers1": median(
            paired("build_workers1", "reference_shared_vader", "cpu_ms_per_segment")),
    }
    headline = median(ratios["workers2_vs_reference"])
    return {
        "corpus": display_path(corpus_root), "segments": runs["reference"][0]["items"] if rounds else None,
        "fixed_cost_corpus": display_path(warmup_root),
        "fixed_cost_segments": fixed["reference"][0]["items"] if rounds else None,
        "rounds": rounds, "runs": runs, "fixed_runs": fixed, "summary": summary,
        "ratios": {k: {"median": median(v), "range": spread(v), "per_round": v} for k, v in ratios.items()},
        "per_segment_ratios": {k: {"median": median(v), "range": spread(v), "per_round": v}
                               for k, v in per_segment_ratios.items()},
        "cpu_time_ratios": cpu_ratios,
        "threads": "every process pinned to one BLAS/OpenMP thread (" + ", ".join(PINNED_THREADS) + " = 1)",
        "reference_description": (
            "original per-file path, single process as the original ran: scipy.io.wavfile.read of the whole "
            "recording, each sentence cut by its transcript times and written with scipy.io.wavfile.write to a "
            "temporary folder, librosa.load again at the default 22.05 kHz, "
            "librosa.feature.melspectrogram(y=y, sr=sr, n_mels=60) + librosa.power_to_db, TextBlob polarity and "
            "SentimentIntensityAnalyzer().polarity_scores per sentence (a new analyzer per sentence as written; "
            "'reference_shared_vader' builds it once)"),
        "build_description": ("weaklabel.build.build_dataset, default BuildConfig (7 s clips, 128 mels, "
                              "n_fft 1024, hop 256 at 16 kHz, float16 features, parquet + build.json) with policy "
                              f"{LEXICON_POLICY} (TextBlob and VADER, the original path's scorers, and the language "
                              "scorer); build_workers2_e5: the default E5 policy with an empty sentence cache (every "
                              "distinct sentence embedded); fresh output folder each run, end to end"),
        "timing": "wall time of a fresh process from launch to exit (interpreter, imports, pool start-up, work)",
        "target": {"ratio": TARGET_RATIO, "value": headline,
                   "met": headline is not None and headline >= TARGET_RATIO},
        "load1_after": load1(),
    }


def measure_logmel_variants(n_clips: int = 10, rounds: int = 5, seed: int = 0) -> dict:
    """The log-mel transform now (version 2) against the one it replaced (version 1), per frame, on the same clips.

    *version 1*: librosa's arithmetic, which ``weaklabel.logmel`` repeated until 2026-11-24: float64 window
    and FFT, complex64 spectrum, dense float32 mel projection through BLAS, clip by clip. *version 2*:
    ``weaklabel.logmel.log_mel_spectrogram`` (float32 window and FFT, sparse mel projection over the filters'
    non-zero weights). Input: ``n_clips`` 7 s clips of synthetic voiced audio (a gliding 180 Hz tone,
    amplitude-modulated, in light noise). Reported: microseconds per frame (best of ``rounds``, one BLAS
    thread), the largest difference in dB and the share of float16 values that differ.
    """
    import numpy as np
    import scipy.fft
    from threadpoolctl import threadpool_limits

    from weaklabel.audio import DEFAULT_CLIP_SECONDS, seconds_to_samples
    from weaklabel.logmel import LogMelParams, hann_window, log_mel_spectrogram, mel_filter_bank, power_to_db

    params = LogMelParams()
    n_samples = seconds_to_samples(DEFAULT_CLIP_SECONDS, params.sample_rate)
    rng = np.random.default_rng(seed)
    t = np.arange(n_clips * n_samples).reshape(n_clips, n_samples) / params.sample_rate
    clips = (0.2 * np.sin(2 * np.pi * 180 * t * (1 + 0.1 * np.sin(3 * t))) * (1 + np.sin(7 * t))
             + 0.01 * rng.standard_normal(t.shape)).astype(np.float32)
    window, basis = hann_window(params), mel_filter_bank(params)
    half = params.n_fft // 2

    def version1(clip):
        padded = np.pad(clip, half)
        frames = np.lib.stride_tricks.sliding_window_view(padded, params.n_fft)[::params.hop_length]
        spectrum = scipy.fft.rfft(window * frames, axis=-1).astype(np.complex64)
        return power_to_db(basis @ (np.abs(spectrum) ** 2.0).T, params)

    timings: dict[str, list[float]] = {"version 1": [], "version 2": []}
    outputs = {}
    n_frames = n_clips * params.n_frames(n_samples)
    with threadpool_limits(limits=1):
        for _ in range(rounds):
            for name, fn in (("version 1", lambda: np.stack([version1(c) for c in clips])),
                             ("version 2", lambda: log_mel_spectrogram(clips, params))):
                started = time.perf_counter()
                outputs[name] = fn()
                timings[name].append((time.perf_counter() - started) / n_frames * 1e6)
    old16, new16 = outputs["version 1"].astype(np.float16), outputs["version 2"].astype(np.float16)
    return {"clips": n_clips, "frames": n_frames, "rounds": rounds,
            "us_per_frame": {k: min(v) for k, v in timings.items()},
            "speedup": min(timings["version 1"]) / min(timings["version 2"]),
            "float16_values_differing_share": float(np.mean(old16 != new16)),
            "max_abs_difference_db": float(np.max(np.abs(outputs["version 1"] - outputs["version 2"]))),
            "mel_weights_nonzero": int(np.count_nonzero(basis)), "mel_weights": int(basis.size),
            "load1": load1()}


def profile_build(corpus_root: Path, scratch: Path, top: int = 20) -> dict:
    """cProfile of one in-process build (workers=1) of ``corpus_root``: time by component and top functions."""
    out_dir = scratch / "build-profile-out"
    _build(corpus_root, out_dir, 1, cold_cache=True)  # warm (also checks the corpus)
    profiler = cProfile.Profile()
    profiler.enable()
    n_segments = _build(corpus_root, out_dir, 1, cold_cache=True)
    profiler.disable()
    shutil.rmtree(out_dir, ignore_errors=True)
    stats = pstats.Stats(profiler)
    raw = stats.stats  # {(file, line, func): (cc, nc, tottime, cumtime, callers)}
    total = max((v[3] for (f, _, fn), v in raw.items() if fn == "build_dataset"), default=stats.total_tt)
    components = []
    for label, suffix, names, minus in PROFILE_COMPONENTS:
        cum = sum(v[3] * (1 if fn in names else -1) for (f, _, fn), v in raw.items()
                  if fn in names + minus and f.replace("\\", "/").endswith(suffix))
        components.append({"component": label, "seconds": round(cum, 4),
                           "share": cum / total if total else None})
    other = total - sum(c["seconds"] for c in components)
    components.append({"component": "other (driver, hashing, pandas, process overhead)", "seconds": round(other, 4),
                       "share": other / total if total else None})
    by_tottime = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    functions = [{"function": f"{Path(f).name}:{line}({fn})" if f != "~" else fn, "calls": v[1],
                  "tottime_s": round(v[2], 4), "cumtime_s": round(v[3], 4),
                  "tottime_share": v[2] / total if total else None}
                 for (f, line, fn), v in by_tottime]
    return {"corpus": display_path(corpus_root), "segments": n_segments, "total_s": round(total, 4),
            "ms_per_segment": 1000 * total / n_segments if n_segments else None,
            "components": components, "top_functions_by_own_time": functions, "load1": load1()}


def _build(root: Path, out_dir: Path, workers: int, policy: str = "auto", cold_cache: bool = False) -> int:
    """One build of ``root`` into a fresh ``out_dir``; ``cold_cache``: with an empty sentence cache of its own."""
    import tempfile

    from weaklabel.build import BuildConfig, build_dataset
    from weaklabel.scorers.batch import SENTENCE_CACHE_ENV

    if out_dir.exists():
        shutil.rmtree(out_dir)
    previous = os.environ.get(SENTENCE_CACHE_ENV)
    with tempfile.TemporaryDirectory() as scratch:
        if cold_cache:
            os.environ[SENTENCE_CACHE_ENV] = str(Path(scratch) / "sentences.sqlite3")
        try:
            config = BuildConfig(corpus="mosei", root=str(Path(root).absolute()), policy=policy,
                                 allow_empty_splits=True)
            return build_dataset(config, out_dir, workers=workers).counts.segments
        finally:
            if previous is None:
                os.environ.pop(SENTENCE_CACHE_ENV, None)
            else:
                os.environ[SENTENCE_CACHE_ENV] = previous


def _child(argv=None) -> int:
    """A contender in this (fresh) process; prints ``{"segments", "imports_s", "work_s"}`` as JSON."""
    started = time.perf_counter()
    parser = argparse.ArgumentParser(description="internal: one timed contender of the build-speed benchmark")
    parser.add_argument("path", choices=("reference", "build"))
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--shared-vader", action="store_true")
    parser.add_argument("--policy", default="auto")
    parser.add_argument("--cold-cache", action="store_true", help="an empty sentence cache of the run's own")
    args = parser.parse_args(argv)
    if args.path == "reference":
        import librosa  # noqa: F401  (the reference's imports, timed as such)
        from scipy.io import wavfile  # noqa: F401
        from textblob import TextBlob  # noqa: F401
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # noqa: F401

        from benchmarks.reference import reference_build

        imported = time.perf_counter()
        segments = reference_build(args.root, reuse_analyzer=args.shared_vader)["segments"]
    else:
        import weaklabel.build  # noqa: F401  (the build's imports, timed as such)

        imported = time.perf_counter()
        segments = _build(args.root, args.out, args.workers, args.policy, args.cold_cache)
    done = time.perf_counter()
    print(json.dumps({"segments": segments, "imports_s": imported - started, "work_s": done - imported}))
    return 0


if __name__ == "__main__":
    raise SystemExit(_child())
