"""Memory: peak resident memory of ``build_dataset`` on a corpus and on one ten times larger.

Each build runs in a fresh Python process (``python -m benchmarks.memory --child ...``). Two views:

* the child's own peak resident memory (``VmHWM``; see :func:`peak_rss_kib` for why not ``ru_maxrss``) after
  imports, when the last recording's part is written, and at the end, i.e. including ``finalize``; and the
  largest pool worker's ``VmHWM`` as polled;
* the parent polls ``/proc`` every few milliseconds over the child's whole process tree (pool workers
  included) and keeps the peak of the summed ``VmRSS`` and of the summed ``RssAnon`` (anonymous memory:
  heap and arrays, without file pages such as memory-mapped outputs, which the kernel can drop).

A streaming build has peaks that do not grow with the corpus: the ratio large/small should be near 1.

``measure_long_recordings`` does the same for single long recordings (:func:`long_recording_corpus`: a
synthetic 60- and 180-minute recording with a subtitle cue every 4 s): a worker holds one chunk of clips,
not a recording, so the largest process must stay under :data:`LONG_LIMIT_MIB` for both and within
:data:`LONG_RATIO_LIMIT` of each other.

``measure_predict_memory`` does it for ``transfer.predict`` on one long recording each (the same synthetic ones, 5
and 30 minutes by default; ``python -m benchmarks.memory --predict --minutes 5 30 180``), each in a fresh process
with a model trained with random VGG16 weights at the default settings (:func:`predict_model`), with the network
or with it replaced by a stand-in of the same width (``--stub-network``: what is left is reading, log-mel,
standardisation, the head and the table, the part that could follow the recording's length). The network's own
peak is that of its widest batch of speech frames: a recording of continuous speech reaches it at once, one of short
phrases between silences later or never, whatever the recording's length.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchmarks.common import REPO_ROOT, load1

POLL_S = 0.01
NEAR_ONE = 1.25  # "near 1": the large corpus's peak is at most this many times the small one's
LONG_MINUTES = (60, 180)
LONG_CUE_EVERY_S = 4.0  # a subtitle cue starts every 4 s and lasts 3 s
LONG_LIMIT_MIB = 1536  # the build's largest process, for every long recording
LONG_RATIO_LIMIT = 1.2  # longest over shortest recording: peak memory must not follow the recording's length


def _kib_to_mib(kib: float | None) -> float | None:
    return None if kib is None else round(kib / 1024, 1)


def _status_fields(pid: int) -> dict[str, int]:
    fields = {}
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem", "PPid"):
                    fields[key] = int(value.split()[0])
    except (OSError, ValueError):
        pass
    return fields


def peak_rss_kib() -> int:
    """This process's peak resident memory, KiB.

    ``VmHWM`` (the high-water mark of the current address space) rather than ``ru_maxrss``: on Linux
    ``ru_maxrss`` survives ``exec``, so a child started from a large parent reports at least the parent's
    size at the time of the fork.
    """
    hwm = _status_fields(os.getpid()).get("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    stat = handle.read()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    return children


def _tree(pid: int) -> list[int]:
    children = _children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


class TreePoller:
    """Polls the summed VmRSS / RssAnon of a process tree (Linux /proc) in a background thread."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peak_rss_kib = 0
        self.peak_anon_kib = 0
        self.peak_file_kib = 0
        self.max_processes = 0
        self.worker_hwm_kib = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.available = Path("/proc/self/status").is_file()

    def _run(self):
        while not self._stop.is_set():
            pids = _tree(self.pid)
            stats = [_status_fields(p) for p in pids]
            rss = sum(s.get("VmRSS", 0) for s in stats)
            anon = sum(s.get("RssAnon", 0) for s in stats)
            file_ = sum(s.get("RssFile", 0) + s.get("RssShmem", 0) for s in stats)
            self.peak_rss_kib = max(self.peak_rss_kib, rss)
            self.peak_anon_kib = max(self.peak_anon_kib, anon)
            self.peak_file_kib = max(self.peak_file_kib, file_)
            self.max_processes = max(self.max_processes, sum(1 for s in stats if s))
            self.worker_hwm_kib = max([self.worker_hwm_kib] + [s.get("VmHWM", 0) for p, s in zip(pids, stats)
                                                              if p != self.pid])
            self.samples += 1
            self._stop.wait(POLL_S)

    def __enter__(self):
        if self.available:
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self.available:
            self._thread.join()


def measure_build_memory(root: Path, out_dir: Path, workers: int, corpus: str = "mosei") -> dict:
    """Build ``root`` into ``out_dir`` in a fresh process; return its memory peaks (MiB) and counts."""
    cmd = [sys.executable, "-m", "benchmarks.memory", "--child", "--root", str(root), "--out", str(out_dir),
           "--workers", str(workers), "--corpus", corpus]
    import weaklabel

    # The child imports the very weaklabel this process imported (and benchmarks from the same folder).
    code_root = str(Path(weaklabel.__file__).absolute().parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [code_root, str(REPO_ROOT),
                                                                    os.environ.get("PYTHONPATH")])))
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=code_root, env=env)
    with TreePoller(proc.pid) as poller:
        stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"memory child failed ({proc.returncode}): {stderr[-2000:]}")
    child = json.loads(stdout.strip().splitlines()[-1])
    return {
        "workers": workers, "segments": child["segments"], "recordings": child["recordings"],
        "wall_s": round(time.perf_counter() - started, 2),
        "main_after_imports_mib": _kib_to_mib(child["maxrss_after_imports_kib"]),
        "main_peak_before_finalize_mib": _kib_to_mib(child["maxrss_before_finalize_kib"]),
        "main_peak_mib": _kib_to_mib(child["maxrss_self_kib"]),
        "largest_worker_peak_mib": _kib_to_mib(poller.worker_hwm_kib) if poller.worker_hwm_kib else None,
        "tree_peak_rss_mib": _kib_to_mib(poller.peak_rss_kib) if poller.samples else None,
        "tree_peak_anon_mib": _kib_to_mib(poller.peak_anon_kib) if poller.samples else None,
        "tree_peak_file_mib": _kib_to_mib(poller.peak_file_kib) if poller.samples else None,
        "max_processes": poller.max_processes, "poll_samples": poller.samples,
        "features_mib": round(child["features_bytes"] / 2 ** 20, 1),
        "load1_after": load1(),
    }


def measure_memory(small_root: Path, large_root: Path, scratch: Path, workers_list=(1, 2), log=print) -> dict:
    """Peaks for both corpora and each worker count, and the large/small ratios."""
    import shutil

    rows = []
    for workers in workers_list:
        for label, root in (("small", small_root), ("large", large_root)):
            out_dir = scratch / f"memory-{label}-w{workers}"
            shutil.rmtree(out_dir, ignore_errors=True)
            rec = measure_build_memory(root, out_dir, workers)
            shutil.rmtree(out_dir, ignore_errors=True)
            rec["corpus"] = label
            rows.append(rec)
            log(f"  memory {label} workers={workers}: {rec['segments']} segments, main peak "
                f"{rec['main_peak_mib']} MiB (before finalize {rec['main_peak_before_finalize_mib']}), tree RSS "
                f"{rec['tree_peak_rss_mib']} MiB, tree anon {rec['tree_peak_anon_mib']} MiB")
    ratios = {}
    for workers in workers_list:
        small = next(r for r in rows if r["workers"] == workers and r["corpus"] == "small")
        large = next(r for r in rows if r["workers"] == workers and r["corpus"] == "large")
        ratio = {"segments": large["segments"] / small["segments"]}
        for key in ("main_peak_mib", "main_peak_before_finalize_mib", "largest_worker_peak_mib",
                    "tree_peak_rss_mib", "tree_peak_anon_mib"):
            if small.get(key) and large.get(key):
                ratio[key] = large[key] / small[key]
        ratios[f"workers{workers}"] = ratio
    for ratio in ratios.values():  # the worst of the resident-memory views is the headline
        ratio["worst_rss"] = max(ratio.get(k) or 0 for k in ("main_peak_mib", "largest_worker_peak_mib",
                                                              "tree_peak_rss_mib")) or None
    headline = [r["worst_rss"] for r in ratios.values()]
    anon = [r.get("tree_peak_anon_mib") for r in ratios.values()]
    return {"runs": rows, "ratios_large_over_small": ratios, "library_baseline": measure_library_baseline(),
            "near_one_threshold": NEAR_ONE,
            "rss_near_one": all(h is not None and h <= NEAR_ONE for h in headline),
            "anon_near_one": all(a is not None and a <= NEAR_ONE for a in anon) if all(anon) else None,
            "poll_interval_s": POLL_S}


def long_recording_corpus(folder: Path, minutes: float, seed: int = 0) -> Path:
    """A folder holding one synthetic recording of ``minutes`` and its subtitles; made once, then reused.

    ``talk.wav``: 16 kHz mono PCM_16, quiet noise with a 440 Hz tone under every cue (written in one-minute
    blocks, so making it takes little memory). ``talk.srt``: a cue every :data:`LONG_CUE_EVERY_S` seconds,
    3 s long, the demo's sentences in turn (positive, negative and neutral).
    """
    import numpy as np
    import soundfile as sf

    from weaklabel.demo import DEFAULT_SENTENCES_PATH

    folder = Path(folder)
    stamp = folder / "long_recording.json"
    params = {"minutes": minutes, "cue_every_s": LONG_CUE_EVERY_S, "seed": seed, "version": 1}
    if stamp.is_file() and json.loads(stamp.read_text()) == params:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    sentences = [line.split("\t", 1)[1] for line in DEFAULT_SENTENCES_PATH.read_text(encoding="utf-8").splitlines()[1:]
                 if "\t" in line]
    sr, total_s = 16000, minutes * 60.0
    rng = np.random.default_rng(seed)
    with sf.SoundFile(folder / "talk.wav", "w", samplerate=sr, channels=1, subtype="PCM_16") as wav:
        for block_start in range(0, int(total_s), 60):
            n = int(min(60.0, total_s - block_start) * sr)
            t = block_start + np.arange(n) / sr
            block = 0.003 * rng.standard_normal(n)
            block += np.where((t % LONG_CUE_EVERY_S) < 3.0, 0.3 * np.sin(2 * np.pi * 440.0 * t), 0.0)
            wav.write(block.astype(np.float32))
    cues = []
    for k in range(int(total_s // LONG_CUE_EVERY_S)):
        start = k * LONG_CUE_EVERY_S
        cues.append(f"{k + 1}\n{_srt_time(start)} --> {_srt_time(start + 3.0)}\n{sentences[k % len(sentences)]}\n")
    (folder / "talk.srt").write_text("\n".join(cues), encoding="utf-8")
    stamp.write_text(json.dumps(params))
    return folder


def _srt_time(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def measure_long_recordings(corpora_dir: Path, scratch: Path, minutes=LONG_MINUTES, workers: int = 2,
                            log=print) -> dict:
    """Peak memory of builds of one long recording each (:func:`long_recording_corpus`), fresh processes.

    The headline is the build's largest process: the main process (which runs the only task in process
    when there is one file, and always runs ``finalize``) or any pool worker.
    """
    import shutil

    rows = []
    for m in minutes:
        root = long_recording_corpus(Path(corpora_dir) / f"long-{m:g}min", m)
        out_dir = scratch / f"memory-long-{m:g}min"
        shutil.rmtree(out_dir, ignore_errors=True)
        rec = measure_build_memory(root, out_dir, workers, corpus="subtitles")
        shutil.rmtree(out_dir, ignore_errors=True)
        rec["minutes"] = m
        rec["audio_mib"] = round((root / "talk.wav").stat().st_size / 2 ** 20, 1)
        rec["largest_process_peak_mib"] = max(v for v in (rec["main_peak_mib"], rec["largest_worker_peak_mib"]) if v)
        rows.append(rec)
        log(f"  memory long recording {m:g} min: {rec['segments']} segments, largest process "
            f"{rec['largest_process_peak_mib']} MiB (main {rec['main_peak_mib']}, before finalize "
            f"{rec['main_peak_before_finalize_mib']}), tree {rec['tree_peak_rss_mib']} MiB, {rec['wall_s']} s")
    peaks = [r["largest_process_peak_mib"] for r in rows]
    ratio = max(peaks) / min(peaks)
    return {"runs": rows, "workers": workers, "limit_mib": LONG_LIMIT_MIB, "ratio_limit": LONG_RATIO_LIMIT,
            "ratio_longest_over_shortest": ratio,
            "met": max(peaks) < LONG_LIMIT_MIB and ratio <= LONG_RATIO_LIMIT,
            "description": (f"one synthetic recording per build (16 kHz mono WAV, a subtitle cue every "
                            f"{LONG_CUE_EVERY_S:g} s lasting 3 s, SRT), built with the default settings in a "
                            f"fresh process with workers={workers} (one file: one task)")}


def _baseline_child() -> int:
    """RSS of a process that has only loaded what a build worker loads (libraries, lexicons) and run a
    tiny log-mel: the part of every peak that does not depend on the data."""
    import numpy as np

    from weaklabel.build import BuildConfig  # noqa: F401  (the build's own imports)
    from weaklabel.logmel import log_mel_placed
    from weaklabel.scorers.lexicon import score_textblob, score_vader

    score_textblob(["What a wonderful, happy day."]), score_vader(["What a wonderful, happy day."])
    log_mel_placed([np.ones(16000, np.float32)], [0], 112000)
    status = _status_fields(os.getpid())
    print(json.dumps({"vmrss_kib": status.get("VmRSS"), "rss_anon_kib": status.get("RssAnon"),
                      "maxrss_kib": peak_rss_kib()}))
    return 0


def measure_library_baseline() -> dict:
    """Resident memory of a fresh process after the build's imports and first calls (MiB)."""
    import weaklabel

    code_root = str(Path(weaklabel.__file__).absolute().parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [code_root, str(REPO_ROOT),
                                                                    os.environ.get("PYTHONPATH")])))
    out = subprocess.run([sys.executable, "-m", "benchmarks.memory", "--baseline"], capture_output=True,
                         text=True, cwd=code_root, env=env, check=True).stdout
    child = json.loads(out.strip().splitlines()[-1])
    return {"rss_mib": _kib_to_mib(child["vmrss_kib"]), "anon_mib": _kib_to_mib(child["rss_anon_kib"]),
            "description": "fresh process after importing weaklabel.build, one sentiment score and one "
                           "log-mel (NumPy, SciPy's FFT, pandas, TextBlob/VADER lexicons loaded)"}


def _child(args) -> int:
    from weaklabel.build import BuildConfig, build_dataset
    from weaklabel.dataset import Dataset

    after_imports = peak_rss_kib()
    state = {"done": 0, "total": None, "before_finalize": None}

    def on_start(n_recordings, n_segments):
        state["total"] = n_recordings

    def progress(recordings, segments):
        state["done"] += recordings
        if state["total"] is not None and state["done"] >= state["total"]:
            state["before_finalize"] = peak_rss_kib()

    result = build_dataset(BuildConfig(corpus=args.corpus, root=args.root, allow_empty_splits=True), args.out, workers=args.workers,
                           progress=progress, on_start=on_start)
    features = Dataset(args.out).features_path
    print(json.dumps({
        "segments": result.counts.segments, "recordings": result.counts.recordings,
        "maxrss_after_imports_kib": after_imports,
        "maxrss_before_finalize_kib": state["before_finalize"],
        "maxrss_self_kib": peak_rss_kib(),
        "features_bytes": features.stat().st_size if features.is_file() else 0,
    }))
    return 0


PREDICT_MINUTES = (5, 30)
PREDICT_RATIO_LIMIT = 1.1  # longest over shortest recording: predict's peak must not follow the recording's length


def predict_model(folder: Path, log=print) -> Path:
    """A model folder at the default settings, trained with random VGG16 weights on a small build (six one-minute
    :func:`long_recording_corpus` recordings, one split group each, a manifest giving their cues positive and negative
    sentences in turn); made once, then reused. Its scores mean nothing; its size and arithmetic are those of any
    model of these settings."""
    import csv

    from weaklabel.dataset import MODEL_DIR, MODEL_META_FILE
    from weaklabel.demo import DEFAULT_SENTENCES_PATH

    folder = Path(folder)
    dataset = folder / "dataset"
    if (dataset / MODEL_DIR / MODEL_META_FILE).is_file():
        return dataset / MODEL_DIR
    from transfer.training import TrainConfig, TrainOptions, train
    from weaklabel.build import BuildConfig, build_dataset

    by_sentiment: dict[str, list[str]] = {}
    for line in DEFAULT_SENTENCES_PATH.read_text(encoding="utf-8").splitlines()[1:]:
        sentiment, _, text = line.partition("\t")
        by_sentiment.setdefault(sentiment, []).append(text)
    manifest = folder / "manifest.csv"
    folder.mkdir(parents=True, exist_ok=True)
    with open(manifest, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["audio_path", "start", "end", "text"])
        for i in range(6):
            audio = long_recording_corpus(folder / "audio" / f"rec{i}", 1, seed=i) / "talk.wav"
            for k in range(int(60 // LONG_CUE_EVERY_S)):
                texts = by_sentiment["positive" if k % 2 == 0 else "negative"]
                start = k * LONG_CUE_EVERY_S
                writer.writerow([audio.relative_to(folder), start, start + 3.0, texts[(7 * i + k // 2) % len(texts)]])
    log(f"  predict memory: training a random-weights model on {manifest}")
    build_dataset(BuildConfig(corpus="manifest", root=str(manifest), allow_empty_splits=True), dataset, workers=1)
    return train(dataset, TrainConfig(), TrainOptions(weights="random", n_bootstrap=20)).model_dir


def measure_predict_memory(corpora_dir: Path, minutes=PREDICT_MINUTES, model_dir: Path | None = None,
                           stub_network: bool = False, log=print) -> dict:
    """Peak resident memory (``VmHWM``, MiB) of ``transfer.predict`` on one recording of each length in ``minutes``
    (:func:`long_recording_corpus`), each in a fresh process; ``model_dir`` defaults to :func:`predict_model`'s."""
    corpora_dir = Path(corpora_dir)
    model_dir = Path(model_dir) if model_dir else predict_model(corpora_dir / "predict-model", log=log)
    code_root = str(Path(__file__).absolute().parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [code_root, os.environ.get("PYTHONPATH")])))
    rows = []
    for m in minutes:
        audio = long_recording_corpus(corpora_dir / f"long-{m:g}min", m) / "talk.wav"
        cmd = [sys.executable, "-m", "benchmarks.memory", "--predict-child", "--model", str(model_dir),
               "--audio", str(audio)] + (["--stub-network"] if stub_network else [])
        started = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=code_root, env=env)
        if proc.returncode != 0:
            raise RuntimeError(f"predict memory child failed ({proc.returncode}): {proc.stderr[-2000:]}")
        child = json.loads(proc.stdout.strip().splitlines()[-1])
        rec = {"minutes": m, "windows": child["windows"], "wall_s": round(time.perf_counter() - started, 1),
               "after_load_mib": _kib_to_mib(child["after_load_kib"]), "peak_mib": _kib_to_mib(child["peak_kib"]),
               "load1_after": load1()}
        rows.append(rec)
        log(f"  predict memory {m:g} min ({rec['windows']} windows): peak {rec['peak_mib']} MiB "
            f"(after loading the model {rec['after_load_mib']} MiB), {rec['wall_s']} s")
    peaks = [r["peak_mib"] for r in rows]
    ratio = max(peaks) / min(peaks)
    return {"runs": rows, "model": str(model_dir), "stub_network": stub_network,
            "ratio_longest_over_shortest": ratio, "ratio_limit": PREDICT_RATIO_LIMIT,
            "met": ratio <= PREDICT_RATIO_LIMIT,
            "description": "transfer.predict on one synthetic recording (16 kHz mono WAV, a 440 Hz tone 3 s of "
                           "every 4 s in quiet noise) in a fresh process, default hop" +
                           (", the network replaced by a stand-in of its width" if stub_network else "")}


def _predict_child(args) -> int:
    """Score one recording; print the peak resident memory after loading the model and at the end (KiB)."""
    import numpy as np

    from transfer.model import load_valence_model, predict

    model = load_valence_model(args.model)
    if args.stub_network:
        dim = int(model.head.inputs[0].shape[-1])

        class Stub:  # the width of the network's output; reads the log-mel as the network would
            needs_logmel, needs_audio = True, False

            def embed(self, samples, logmel, batch_size=16):
                level = np.asarray(logmel, dtype=np.float32).mean(axis=(1, 2))
                return np.repeat(level[:, None], dim, axis=1)

        model._embedder = Stub()
    else:
        model.embedder()
    after_load = peak_rss_kib()
    scores = predict(model, [args.audio])
    print(json.dumps({"windows": int((scores["kind"] == "window").sum()), "after_load_kib": after_load,
                      "peak_kib": peak_rss_kib()}))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="internal: one build in a fresh process, for memory peaks; "
                                                 "--predict: predict's peak on long recordings")
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--baseline", action="store_true")
    parser.add_argument("--root")
    parser.add_argument("--out")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--corpus", default="mosei")
    parser.add_argument("--predict", action="store_true", help="measure predict on long recordings, print JSON")
    parser.add_argument("--minutes", type=float, nargs="+", default=list(PREDICT_MINUTES))
    parser.add_argument("--scratch", default=str(REPO_ROOT / "build" / "bench-predict"),
                        help="where the recordings and the model are made (reused)")
    parser.add_argument("--model", help="a model folder (default: one trained with random weights in --scratch)")
    parser.add_argument("--stub-network", action="store_true")
    parser.add_argument("--predict-child", action="store_true")
    parser.add_argument("--audio")
    args = parser.parse_args(argv)
    if args.baseline:
        return _baseline_child()
    if args.predict_child:
        return _predict_child(args)
    if args.predict:
        result = measure_predict_memory(Path(args.scratch), args.minutes, args.model, args.stub_network,
                                        log=lambda line: print(line, file=sys.stderr))
        print(json.dumps(result, indent=2))
        return 0
    if not (args.child and args.root and args.out):
        parser.error("--child needs --root and --out")
    return _child(args)


if __name__ == "__main__":
    raise SystemExit(main())
