"""The export's memory peak and time, on the benchmarks' 6,000-segment speed corpus, a tenth of it and ten times it.

    python -m benchmarks.export_benchmark --out reports/export        # about 15 minutes on two shared cores

The corpus is the speed benchmark's (``benchmarks/run.py``: 400 recordings x 15 sentences of the demo's
synthetic voices, generated once into ``build/bench-corpus``); the small one is its first 40 recordings, the
large one ten copies of each recording under new video ids (hard links: the same audio, 60,000 segments).
Each is built once (default settings, 2 workers; reused when up to date). Each format is then exported from each
build in a fresh Python process (``--child``), with 2 workers, into a new folder, while this process polls the
child's whole process tree as ``benchmarks/memory.py`` does (:class:`benchmarks.memory.TreePoller`): the main
process's peak (``VmHWM``), the largest worker's, and the tree's summed resident and anonymous memory. What an
export holds at a time is bounded by the task size (``clips_per_shard``) and the rows read at a time, not by the
corpus: from the speed corpus to ten times it the peaks stay within :data:`benchmarks.memory.NEAR_ONE` (the
tenth does not fill a task, so its peaks are lower). Time is the child's wall time from launch to exit (imports
and pool start-up included) and the export's own (``ExportResult.elapsed_s``). Writes
``OUT/export_benchmark.json`` and its rendering ``OUT/export_benchmark.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import REPO_ROOT, bench_corpus, corpus_subset, count_segments, load1, machine_info, \
    write_met_result
from benchmarks.memory import NEAR_ONE, TreePoller, _kib_to_mib, peak_rss_kib
from foundation.paths import display_path

RECORDINGS, SENTENCES = 400, 15  # the speed corpus of benchmarks.run (FULL preset): 6,000 segments
SMALL_RECORDINGS = 40
COPIES = 10  # the large corpus: every recording of the speed corpus ten times
#: The corpora, smallest first; the headline compares the last two.
CORPORA = ("tenth", "speed", "ten times")
WORKERS = 2
JSON_NAME, MARKDOWN_NAME = "export_benchmark.json", "export_benchmark.md"


def _child_env() -> tuple[str, dict]:
    import weaklabel

    code_root = str(Path(weaklabel.__file__).absolute().parent.parent)  # the weaklabel this process imported
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [code_root, str(REPO_ROOT),
                                                                    os.environ.get("PYTHONPATH")])))
    return code_root, env


def measure_export(dataset: Path, out: Path, fmt: str, workers: int = WORKERS) -> dict:
    """Export ``dataset`` as ``fmt`` into a new ``out`` in a fresh process; its peaks (MiB), times and counts."""
    shutil.rmtree(out, ignore_errors=True)
    code_root, env = _child_env()
    cmd = [sys.executable, "-m", "benchmarks.export_benchmark", "--child", "--dataset", str(dataset.resolve()),
           "--format", fmt, "--export-out", str(out.resolve()), "--workers", str(workers)]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=code_root, env=env)
    with TreePoller(proc.pid) as poller:
        stdout, stderr = proc.communicate()
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"export child failed ({proc.returncode}): {stderr[-2000:]}")
    child = json.loads(stdout.strip().splitlines()[-1])
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    shutil.rmtree(out, ignore_errors=True)
    return {"format": fmt, "workers": workers, "clips": child["clips"], "failed": child["failed"],
            "wall_s": round(wall, 2), "export_s": round(child["elapsed_s"], 2),
            "clips_per_s": round(child["clips"] / child["elapsed_s"], 1) if child["elapsed_s"] else None,
            "output_mib": round(size / 2 ** 20, 1),
            "main_after_imports_mib": _kib_to_mib(child["maxrss_after_imports_kib"]),
            "main_peak_mib": _kib_to_mib(child["maxrss_self_kib"]),
            "largest_worker_peak_mib": _kib_to_mib(poller.worker_hwm_kib) if poller.worker_hwm_kib else None,
            "tree_peak_rss_mib": _kib_to_mib(poller.peak_rss_kib) if poller.samples else None,
            "tree_peak_anon_mib": _kib_to_mib(poller.peak_anon_kib) if poller.samples else None,
            "poll_samples": poller.samples, "load1_after": load1()}


def build(root: Path, out: Path) -> dict:
    """Build ``root`` into ``out`` (default settings, reused when up to date); its counts."""
    from weaklabel.build import BuildConfig, build_dataset

    result = build_dataset(BuildConfig(corpus="mosei", root=str(root), allow_empty_splits=True), out, workers=WORKERS)
    return {"segments": result.counts.segments, "labelled": result.counts.ok, "up_to_date": result.up_to_date}


def replicated_corpus(corpus: Path, copies: int, folder: Path) -> Path:
    """A MOSEI-layout corpus holding ``copies`` copies of every recording of ``corpus``, the k-th under the video id
    ``<id>_x<k>`` (the audio hard-linked, else copied; the transcript's lines renamed); made once, then reused."""
    from benchmarks.common import AUDIO_SUBDIR, TRANSCRIPT_SUBDIR, recording_ids

    ids = recording_ids(corpus)
    target = Path(folder).absolute() / f"{Path(corpus).name}-x{copies}"
    if target.is_dir() and len(recording_ids(target)) == copies * len(ids):
        return target
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for sub in (AUDIO_SUBDIR, TRANSCRIPT_SUBDIR):
        (tmp / sub).mkdir(parents=True)
    for rid in ids:
        lines = (Path(corpus) / TRANSCRIPT_SUBDIR / f"{rid}.txt").read_text(encoding="utf-8").splitlines()
        for k in range(copies):
            new = f"{rid}_x{k}"
            try:
                os.link(Path(corpus) / AUDIO_SUBDIR / f"{rid}.wav", tmp / AUDIO_SUBDIR / f"{new}.wav")
            except OSError:
                shutil.copyfile(Path(corpus) / AUDIO_SUBDIR / f"{rid}.wav", tmp / AUDIO_SUBDIR / f"{new}.wav")
            (tmp / TRANSCRIPT_SUBDIR / f"{new}.txt").write_text(
                "".join(new + line[len(rid):] + "\n" for line in lines if line.strip()), encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    os.rename(tmp, target)
    return target


def run_benchmark(corpus_dir: Path, work: Path, formats=("hf", "lhotse", "audiofolder"), log=print, *,
                  recordings: int = RECORDINGS, sentences: int = SENTENCES, small_recordings: int = SMALL_RECORDINGS,
                  copies: int = COPIES) -> dict:
    """Build the three corpora and export each in every format (the scale is the speed corpus's unless told)."""
    from weaklabel.exporting import ExportConfig
    from weaklabel.exporting.config import EXPORT_FORMAT_VERSION

    started = time.perf_counter()
    corpus = bench_corpus(corpus_dir, recordings, sentences)
    roots = dict(zip(CORPORA, (corpus_subset(corpus, small_recordings, work / "subsets"), corpus,
                               replicated_corpus(corpus, copies, work / "subsets"))))
    record: dict = {"machine": machine_info(), "export_format_version": EXPORT_FORMAT_VERSION,
                    "config": {k: v for k, v in ExportConfig(format="hf").to_dict().items() if k != "format"},
                    "corpus": {"dir": display_path(corpus), "recordings": recordings, "sentences_per_recording": sentences,
                               "segments": count_segments(corpus), "small_recordings": small_recordings,
                               "copies": copies,
                               "kind": "synthetic eSpeak NG speech in CMU-MOSEI layout (weaklabel.demo), seed 0: "
                                       "the speed benchmark's corpus (benchmarks/run.py)"},
                    "builds": {}, "runs": [], "load1_start": load1()}
    datasets = {}
    for label, root in roots.items():
        datasets[label] = work / f"dataset-{label.replace(' ', '-')}"
        record["builds"][label] = build(root, datasets[label])
        log(f"build {label}: {record['builds'][label]}")
    for fmt in formats:
        for label in CORPORA:
            run = measure_export(datasets[label], work / f"export-{fmt}", fmt)
            run["corpus"] = label
            record["runs"].append(run)
            log(f"export {fmt} {label}: {run['clips']} clips in {run['export_s']} s ({run['clips_per_s']} clips/s), "
                f"main peak {run['main_peak_mib']} MiB, largest worker {run['largest_worker_peak_mib']} MiB, "
                f"tree RSS {run['tree_peak_rss_mib']} MiB")
    ratios = {}
    for fmt in formats:
        for smaller, larger in zip(CORPORA, CORPORA[1:]):
            small, large = (next(r for r in record["runs"] if r["format"] == fmt and r["corpus"] == c)
                            for c in (smaller, larger))
            ratio = {"clips": round(large["clips"] / max(1, small["clips"]), 2)}
            for key in ("main_peak_mib", "largest_worker_peak_mib", "tree_peak_rss_mib", "tree_peak_anon_mib"):
                if small.get(key) and large.get(key):
                    ratio[key] = round(large[key] / small[key], 3)
            ratio["worst_rss"] = max(ratio.get(k) or 0 for k in ("main_peak_mib", "largest_worker_peak_mib",
                                                                  "tree_peak_rss_mib"))
            ratios.setdefault(fmt, {})[f"{larger} / {smaller}"] = ratio
    record["ratios"] = ratios
    record["headline"] = f"{CORPORA[-1]} / {CORPORA[-2]}"
    record["near_one_threshold"] = NEAR_ONE
    record["met"] = all(r[record["headline"]]["worst_rss"] <= NEAR_ONE for r in ratios.values())
    record["seconds"] = round(time.perf_counter() - started, 1)
    record["load1_end"] = load1()
    scale = {"--recordings": (recordings, RECORDINGS), "--sentences": (sentences, SENTENCES),
             "--small-recordings": (small_recordings, SMALL_RECORDINGS), "--copies": (copies, COPIES)}
    record["command"] = " ".join(["python -m benchmarks.export_benchmark",
                                  *(f"{flag} {value}" for flag, (value, full) in scale.items() if value != full)])
    return record


def benchmark_markdown(record: dict) -> str:
    """The benchmark's Markdown, rendered from its record only."""
    c, m = record["corpus"], record["machine"]
    builds = record["builds"]
    lines = [
        "# Export: memory peak and time", "",
        f"`{record['command']}` ({record['seconds']:g} s in all; 1-minute load {record['load1_start']} at the start, "
        f"{record['load1_end']} at the end) on {m.get('cpu_model')}, {m.get('logical_cpus')} CPUs, shared. Export "
        f"format {record['export_format_version']}, default options "
        f"({', '.join(f'{k} {v}' for k, v in record['config'].items())}), {record['runs'][0]['workers']} workers. "
        f"**{'Met' if record['met'] else 'NOT met'}**: for every format, the peaks on {c['copies']} times the speed "
        f"corpus are at most {record['near_one_threshold']:g} times those on the speed corpus ({record['headline']}).",
        "",
        f"Corpora: the speed corpus `{c['dir']}`, {c['kind']}: {c['segments']} segments ({c['recordings']} "
        f"recordings x {c['sentences_per_recording']}); its tenth (the first {c['small_recordings']} recordings); "
        f"{c['copies']} times it ({c['copies']} copies of each recording under new video ids, hard links). Built once with "
        "the default settings: " + ", ".join(f"{label} {builds[label]['segments']} segments, "
                                             f"{builds[label]['labelled']} labelled clips"
                                             for label in CORPORA if label in builds) + ". Each export runs in a fresh process "
        "into a new folder; the memory is polled over its process tree every 10 ms (`benchmarks/memory.py`'s "
        "TreePoller).", "",
        "| format | corpus | clips | export s | clips/s | wall s (with imports) | output MiB | main peak MiB | "
        "largest worker MiB | tree RSS MiB | tree anon MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in record["runs"]:
        lines.append(f"| {r['format']} | {r['corpus']} | {r['clips']} | {r['export_s']} | {r['clips_per_s']} | "
                     f"{r['wall_s']} | {r['output_mib']} | {r['main_peak_mib']} | {r['largest_worker_peak_mib']} | "
                     f"{r['tree_peak_rss_mib']} | {r['tree_peak_anon_mib']} |")
    lines += ["", "Peak ratios, larger corpus over smaller:", "",
              "| format | corpora | clips | main peak | largest worker | tree RSS | tree anon |",
              "|---|---|---|---|---|---|---|"]
    for fmt, pairs in record["ratios"].items():
        for pair, ratio in pairs.items():
            bold = "**" if pair == record["headline"] else ""
            lines.append(f"| {fmt} | {bold}{pair}{bold} | {ratio['clips']:g}x | {ratio.get('main_peak_mib', 'n/a')} | "
                         f"{ratio.get('largest_worker_peak_mib', 'n/a')} | {ratio.get('tree_peak_rss_mib', 'n/a')} | "
                         f"{ratio.get('tree_peak_anon_mib', 'n/a')} |")
    lines += ["", "A task holds one recording open and one row group of 100 clips (hf) or one clip (audiofolder) "
                  "at a time; lhotse decodes no audio (it reads each recording's header and draws the clip plan "
                  "again). The workers are started before the main process reads the dataset's table, so they carry "
                  "none of it, and their peaks move little with the corpus (most for hf, whose two workers write ten "
                  "times as many shards each in the larger export). The main process holds the rows of the few "
                  "tasks in flight (two per worker, at most 1,000 clips each) and, at the end, one task's record at a "
                  "time; what still grows with the corpus is the reading of segments.parquet itself, which the build "
                  "writes as one Parquet row group: PyArrow decodes a row group's column chunks whole, about 0.5 KB "
                  "per segment here, whatever is read of it.", ""]
    return "\n".join(lines)


def _child(args) -> int:
    from foundation.executor import ExecutorConfig
    from weaklabel.exporting import ExportConfig, export

    after_imports = peak_rss_kib()
    result = export(args.dataset, args.export_out, ExportConfig(format=args.format), ExecutorConfig(workers=args.workers))
    print(json.dumps({"clips": result.clips, "failed": result.failed, "elapsed_s": result.elapsed_s,
                      "maxrss_after_imports_kib": after_imports, "maxrss_self_kib": peak_rss_kib()}))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.export_benchmark", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("reports/export"), help="where the JSON and Markdown go")
    parser.add_argument("--corpus-dir", type=Path, default=Path("build/bench-corpus"),
                        help="the speed benchmark's corpus, generated once and reused")
    parser.add_argument("--work", type=Path, default=Path("build/export-benchmark"), help="builds and exports")
    scale = parser.add_argument_group("scale (the speed corpus's unless told; smaller only to try the benchmark)")
    scale.add_argument("--recordings", type=int, default=RECORDINGS, help="recordings of the speed corpus (%(default)s)")
    scale.add_argument("--sentences", type=int, default=SENTENCES, help="sentences per recording (%(default)s)")
    scale.add_argument("--small-recordings", type=int, default=SMALL_RECORDINGS,
                       help="recordings of the small corpus (%(default)s)")
    scale.add_argument("--copies", type=int, default=COPIES, help="copies of each recording in the large corpus "
                                                                  "(%(default)s)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--dataset", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--format", help=argparse.SUPPRESS)
    parser.add_argument("--export-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=WORKERS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args)
    record = run_benchmark(args.corpus_dir, args.work, recordings=args.recordings, sentences=args.sentences,
                           small_recordings=args.small_recordings, copies=args.copies)
    return write_met_result(args.out, record, JSON_NAME, MARKDOWN_NAME, benchmark_markdown)


if __name__ == "__main__":
    sys.exit(main())
