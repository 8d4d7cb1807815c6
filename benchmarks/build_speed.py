"""Build speed: ``weaklabel.build.build_dataset`` against the original per-file path, in the same run.

Rounds alternate the contenders (reference as written, build with 2 workers, reference with one shared
VADER analyzer, build with 1 worker) over the same corpus, so a burst of load from other work on the
machine hits them alike; each round gives paired ratios and the report gives their median and range.
Throughput is segments per wall-clock second, end to end (reading the corpus to the finished outputs);
CPU milliseconds per segment (user + system, workers included) are reported too, being less sensitive to
contention. When the target is not met, ``profile_build`` says where the time goes.
"""
from __future__ import annotations

import cProfile
import pstats
import shutil
import sys
from pathlib import Path

from benchmarks.common import load1, median, spread, timed
from benchmarks.reference import reference_build

TARGET_RATIO = 10.0

# Components of build_dataset for the profile: (label, module file suffix, function names whose cumulative
# time is the component's). Functions another engineer renames simply drop into "other".
PROFILE_COMPONENTS = (
    ("read corpus (transcripts -> segments)", "weaklabel/readers/__init__.py", ("read_corpus",)),
    ("sentiment (TextBlob + VADER)", "weaklabel/sentiment.py", ("score_sentiment", "score_texts", "score_many")),
    ("audio decode + clip (soundfile seek/read, soxr, crop/pad)", "weaklabel/build.py", ("_cut_clip",)),
    ("log-mel (librosa STFT, mel projection, dB)", "weaklabel/features.py", ("log_mel_spectrogram",)),
    ("write parts (.npy + .json, fsync, rename)", "weaklabel/build.py", ("write_part",)),
    ("finalize (merge features, parquet, build.json)", "weaklabel/build.py", ("finalize",)),
)


def _build(root: Path, out_dir: Path, workers: int):
    from weaklabel.build import BuildConfig, build_dataset

    if out_dir.exists():
        shutil.rmtree(out_dir)
    result = build_dataset(BuildConfig(corpus="mosei", root=str(root)), out_dir, workers=workers)
    return result.counts["segments"]


def measure_build_speed(corpus_root: Path, scratch: Path, rounds: int, warmup_root: Path,
                        log=print) -> dict:
    """Paired rounds of reference vs build_dataset on ``corpus_root``; see the module docstring."""
    if "tensorflow" in sys.modules:  # forked build workers must not inherit a TensorFlow runtime
        raise RuntimeError("measure build speed before TensorFlow is imported")
    scratch.mkdir(parents=True, exist_ok=True)
    out_dir = scratch / "build-speed-out"
    # Warm-up: imports, librosa/numba first-call costs, TextBlob/VADER lexicons, for both paths.
    reference_build(warmup_root, reuse_analyzer=True)
    _build(warmup_root, out_dir, workers=1)
    contenders = (
        ("reference", lambda: reference_build(corpus_root)["segments"]),
        ("build_workers2", lambda: _build(corpus_root, out_dir, 2)),
        ("reference_shared_vader", lambda: reference_build(corpus_root, reuse_analyzer=True)["segments"]),
        ("build_workers1", lambda: _build(corpus_root, out_dir, 1)),
    )
    runs: dict[str, list[dict]] = {name: [] for name, _ in contenders}
    for r in range(rounds):
        for name, fn in contenders:
            t = timed(fn)
            rec = t.record(t.result, "segments")
            runs[name].append(rec)
            log(f"  build speed round {r + 1}/{rounds} {name}: {rec['segments_per_s']:.1f} segments/s "
                f"({rec['cpu_ms_per_segment']:.2f} CPU ms/segment, load {rec['load1_before']})")
    shutil.rmtree(out_dir, ignore_errors=True)

    def paired(a: str, b: str, key: str = "segments_per_s") -> list[float]:
        return [x[key] / y[key] for x, y in zip(runs[a], runs[b])]

    summary = {name: {"segments_per_s_median": median(r["segments_per_s"] for r in recs),
                      "segments_per_s_range": spread(r["segments_per_s"] for r in recs),
                      "cpu_ms_per_segment_median": median(r["cpu_ms_per_segment"] for r in recs)}
               for name, recs in runs.items()}
    ratios = {
        "workers2_vs_reference": paired("build_workers2", "reference"),
        "workers1_vs_reference": paired("build_workers1", "reference"),
        "workers2_vs_reference_shared_vader": paired("build_workers2", "reference_shared_vader"),
        "workers1_vs_reference_shared_vader": paired("build_workers1", "reference_shared_vader"),
        "workers2_vs_workers1": paired("build_workers2", "build_workers1"),
    }
    cpu_ratios = {  # reference CPU time per segment / build CPU time per segment: efficiency, not parallelism
        "reference_over_build_workers1": median(x["cpu_ms_per_segment"] / y["cpu_ms_per_segment"]
                                                for x, y in zip(runs["reference"], runs["build_workers1"])),
        "reference_shared_vader_over_build_workers1": median(
            x["cpu_ms_per_segment"] / y["cpu_ms_per_segment"]
            for x, y in zip(runs["reference_shared_vader"], runs["build_workers1"])),
    }
    headline = median(ratios["workers2_vs_reference"])
    return {
        "corpus": str(corpus_root), "segments": runs["reference"][0]["items"] if rounds else None,
        "rounds": rounds, "runs": runs, "summary": summary,
        "ratios": {k: {"median": median(v), "range": spread(v), "per_round": v} for k, v in ratios.items()},
        "cpu_time_ratios": cpu_ratios,
        "reference_description": (
            "original per-file path, single process as the original ran: scipy.io.wavfile.read of the whole "
            "recording, each sentence cut by its transcript times and written with scipy.io.wavfile.write to a "
            "temporary folder, librosa.load again at the default 22.05 kHz, "
            "librosa.feature.melspectrogram(y=y, sr=sr, n_mels=60) + librosa.power_to_db, TextBlob polarity and "
            "SentimentIntensityAnalyzer().polarity_scores per sentence (a new analyzer per sentence as written; "
            "'reference_shared_vader' builds it once)"),
        "build_description": ("weaklabel.build.build_dataset, default BuildConfig (7 s clips, 128 mels, "
                              "n_fft 1024, hop 256 at 16 kHz, float16 features, parquet + build.json), "
                              "fresh output folder each run, end to end"),
        "target": {"ratio": TARGET_RATIO, "value": headline,
                   "met": headline is not None and headline >= TARGET_RATIO},
        "load1_after": load1(),
    }


def profile_build(corpus_root: Path, scratch: Path, top: int = 20) -> dict:
    """cProfile of one in-process build (workers=1) of ``corpus_root``: time by component and top functions."""
    out_dir = scratch / "build-profile-out"
    _build(corpus_root, out_dir, 1)  # warm (also checks the corpus)
    profiler = cProfile.Profile()
    profiler.enable()
    n_segments = _build(corpus_root, out_dir, 1)
    profiler.disable()
    shutil.rmtree(out_dir, ignore_errors=True)
    stats = pstats.Stats(profiler)
    raw = stats.stats  # {(file, line, func): (cc, nc, tottime, cumtime, callers)}
    total = max((v[3] for (f, _, fn), v in raw.items() if fn == "build_dataset"), default=stats.total_tt)
    components = []
    for label, suffix, names in PROFILE_COMPONENTS:
        cum = sum(v[3] for (f, _, fn), v in raw.items()
                  if fn in names and f.replace("\\", "/").endswith(suffix))
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
    return {"corpus": str(corpus_root), "segments": n_segments, "total_s": round(total, 4),
            "ms_per_segment": 1000 * total / n_segments if n_segments else None,
            "components": components, "top_functions_by_own_time": functions, "load1": load1()}
