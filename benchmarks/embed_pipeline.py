"""What ``pipelines.embed`` costs end to end, per extractor and input mode, on the same clips in one run.

    python -m benchmarks.embed_pipeline --ravdess ../shared/data/ravdess_actors_01-06 \\
        --ravdess ../shared/data/ravdess_actors_07-12

``--clips`` of the acted corpus's positive and negative clips (RAVDESS, the default valence map; every actor, files
taken evenly) are built once into a dataset in ``--work`` (``corpus = manifest``, one segment per file, the build's
7 s clips), then ``python -m pipelines.embed --dataset DATASET --quiet ARGS`` runs in a fresh process per
measurement, the dataset's embedding cache emptied before each, for every path of :data:`PATHS`: the defaults,
the seed's VGG16 path (float32 over whole clips), VGG16's own defaults, and Whisper's input modes, threads and
processes. Each round runs every path once, the order rotating (and reversed every other round) so each sees the
same load (the 1-minute load average is recorded with each run); ratios are taken within a round. Wall time
includes the process's start (Python, the libraries, the model) as a user sees it.

Then, in this process, where Whisper's time goes (:func:`whisper_breakdown`): decoding the clips' audio, Whisper's
log-mel, the encoder, the pooling, per input mode on the same clips; and the 23,500-clip projection (CMU-MOSEI's
size) of every path from its clips/s.

The verdict (``met``), the feature issue's cost criteria: the defaults cost at most :data:`MAX_COST_VS_SEED` times
the seed's VGG16 path, and run at least :data:`MIN_SPEEDUP_VS_NAIVE` times faster than Whisper's naive input (each
clip padded to 30 s, as Whisper was trained), in the median round; and VGG16's defaults are no slower than its
reference path in any round. Writes ``OUT/embed_pipeline.{json,md}`` (the Markdown rendered from the JSON); exit 0
when met.
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

from benchmarks.common import load1, machine_info, median, spread

DEFAULTS = "defaults"
SEED = "vgg16, float32 + full frames (the seed's path)"
VGG16_DEFAULTS = "vgg16, its defaults (precision auto, speech frames)"
NAIVE = "whisper, padded to 30 s (naive)"
#: (name, pipelines.embed arguments) of every path.
PATHS = (
    (DEFAULTS, ()),
    (SEED, ("--features", "vgg16", "--precision", "float32", "--frames", "full")),
    (VGG16_DEFAULTS, ("--features", "vgg16")),
    (NAIVE, ("--features", "whisper", "--whisper-input", "padded", "--whisper-window", "30")),
    ("whisper, padded to 15 s", ("--features", "whisper", "--whisper-window", "15")),
    ("whisper, padded to 10 s", ("--features", "whisper", "--whisper-window", "10")),
    ("whisper, padded to 8 s", ("--features", "whisper", "--whisper-window", "8")),
    ("whisper, the clip's audio alone", ("--features", "whisper", "--whisper-input", "clip")),
    ("whisper, packed into 30 s windows", ("--features", "whisper", "--whisper-input", "packed",
                                           "--whisper-window", "30")),
    ("defaults in one process (CTranslate2 on every core)", ("--workers", "1")),
)
#: The defaults may cost at most this many times the seed's VGG16 path, and must beat the naive input this many times.
MAX_COST_VS_SEED = 4.0
MIN_SPEEDUP_VS_NAIVE = 3.0
#: CMU-MOSEI's size, for the projection.
MOSEI_CLIPS = 23_500
JSON_FILE, MARKDOWN_FILE = "embed_pipeline.json", "embed_pipeline.md"
#: Any text: the build needs one per segment; the embedding does not read it.
TEXT = "The clip says what it says."


def build_acted_dataset(roots: list[str], work: Path, n_clips: int | None = None,
                        workers: int = 2) -> tuple[Path, dict]:
    """The acted corpus's positive and negative clips (``n_clips`` of them, taken evenly, or all) as a built dataset
    in ``work/build`` (resumes); the dataset and a summary of the clips."""
    import numpy as np
    import pandas as pd

    from evaluation.weak_benchmark import WeakSupervisionConfig, read_clips
    from weaklabel.build import BuildConfig, build_dataset
    from evaluation.weak_pairing import paired_manifest, write_manifest

    clips, summary = read_clips(WeakSupervisionConfig(roots=tuple(roots), sentences=""))
    if n_clips and n_clips < len(clips):
        clips = clips.iloc[np.linspace(0, len(clips) - 1, n_clips).round().astype(int)].reset_index(drop=True)
    sentences = pd.DataFrame({"text": [TEXT], "valence": [1]})
    manifest = paired_manifest(clips, sentences, np.zeros(len(clips), dtype=int))
    manifest_path = write_manifest(manifest, work)
    dataset = work / "build"
    build_dataset(BuildConfig(corpus="manifest", root=str(manifest_path.resolve()), policy="lexicon"), dataset,
                  workers=workers, overwrite=True)
    speech_s = float((clips["duration_s"].clip(upper=7.0)).sum())
    return dataset, {"clips": int(len(clips)), "positive": int((clips["valence"] == "positive").sum()),
                     "negative": int((clips["valence"] == "negative").sum()),
                     "speakers": sorted(clips["speaker"].astype(str).unique().tolist()),
                     "mean_audio_s": speech_s / max(1, len(clips))}


def run_embed(dataset: Path, arguments: tuple[str, ...]) -> dict:
    """One ``pipelines.embed`` in a fresh process on an emptied cache: wall seconds and what it recorded."""
    shutil.rmtree(dataset / "embeddings", ignore_errors=True)
    argv = [sys.executable, "-m", "pipelines.embed", "--dataset", str(dataset), "--quiet", *arguments]
    load = load1()
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    wall = time.perf_counter() - started
    if proc.returncode:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    records = sorted((dataset / "embeddings").glob("*.json"))
    if len(records) != 1:
        raise RuntimeError(f"expected one embedding record in {dataset / 'embeddings'}, found {len(records)}")
    return {"wall_s": wall, "key": records[0].stem, "load1_before": load, "load1_after": load1()}


def measure(dataset: Path, n_clips: int, rounds: int, paths=PATHS, log=print) -> list[dict]:
    """Every path once per round, in rotating order; a row per path, with its ratios to the seed's path and to the
    naive Whisper input taken within each round."""
    runs: dict[str, list[dict]] = {name: [] for name, _ in paths}
    for r in range(rounds):
        order = list(paths[r % len(paths):] + paths[:r % len(paths)])
        if r % 2:
            order.reverse()
        for name, arguments in order:
            run = run_embed(dataset, arguments)
            run["round"] = r
            runs[name].append(run)
            log(f"round {r + 1}/{rounds} {name}: {run['wall_s']:.1f} s, {n_clips / run['wall_s']:.2f} clips/s "
                f"(load {run['load1_before']})", flush=True)
    rows = []
    for name, arguments in paths:
        rates = [n_clips / run["wall_s"] for run in runs[name]]
        row = {"name": name, "arguments": list(arguments), "key": runs[name][0]["key"],
               "wall_s_median": median(run["wall_s"] for run in runs[name]),
               "clips_per_s_median": median(rates), "clips_per_s_range": spread(rates),
               "mosei_hours": MOSEI_CLIPS / median(rates) / 3600, "runs": runs[name]}
        for field, reference in (("cost_vs_seed", SEED), ("speedup_vs_naive", NAIVE)):
            if reference in runs:
                values = [(run["wall_s"] / runs[reference][k]["wall_s"]) if field == "cost_vs_seed"
                          else (runs[reference][k]["wall_s"] / run["wall_s"]) for k, run in enumerate(runs[name])]
                row[f"{field}_median"], row[f"{field}_range"] = median(values), spread(values)
        rows.append(row)
    return rows


def whisper_breakdown(dataset: Path, inputs=(("padded", 30.0), ("padded", 10.0), ("clip", 10.0),
                                             ("packed", 30.0)), log=print) -> list[dict]:
    """Where Whisper's time goes, in this process, on the dataset's clips: seconds per clip decoding their audio,
    computing Whisper's log-mel, in the encoder and pooling, per input mode (CTranslate2 on every core, int8)."""
    import numpy as np

    from transfer.features import EmbeddingConfig
    from transfer.features.base import clip_spans, span_audio
    from transfer.features.whisper import SAMPLE_RATE, Encoder, WhisperSettings, assemble, plan_windows, pool
    from weaklabel.dataset import Dataset

    resolved = EmbeddingConfig(features="whisper").resolve().settings
    spans = clip_spans(Dataset(dataset))
    started = time.perf_counter()
    clips = list(span_audio(spans, SAMPLE_RATE))
    decode_s = time.perf_counter() - started
    out = []
    for mode, window in inputs:
        settings = WhisperSettings(model=resolved.model, input=mode, window_s=window,
                                   compute_type=resolved.compute_type, device=resolved.device)
        encoder = Encoder(settings)
        encoder.encode([np.zeros(int(window * SAMPLE_RATE) // 320 * 320, np.float32)])  # warm-up
        times = {"log_mel": 0.0, "encoder": 0.0, "pool": 0.0}
        load = load1()
        frames: list[list[np.ndarray]] = [[] for _ in clips]
        for planned in plan_windows([len(c) for c in clips], mode, window):
            t = time.perf_counter()
            mel = encoder.features(assemble(planned, clips))
            times["log_mel"] += time.perf_counter() - t
            t = time.perf_counter()
            import ctranslate2

            states = np.asarray(encoder.model.encode(ctranslate2.StorageView.from_array(mel[None]), to_cpu=True))[0]
            times["encoder"] += time.perf_counter() - t
            for clip, first, stop in planned.pieces:
                frames[clip].append(states[first:stop])
        t = time.perf_counter()
        for f in frames:
            pool(np.concatenate(f), settings.pooling)
        times["pool"] = time.perf_counter() - t
        total = decode_s + sum(times.values())
        row = {"input": mode, "window_s": window, "clips": len(clips), "load1": load,
               "ms_per_clip": {"decode": 1000 * decode_s / len(clips),
                               **{k: 1000 * v / len(clips) for k, v in times.items()}},
               "encoder_share": times["encoder"] / total}
        out.append(row)
        log(f"breakdown {mode} {window:g} s: " + ", ".join(f"{k} {v:.1f} ms" for k, v in row["ms_per_clip"].items())
            + f"; encoder {100 * row['encoder_share']:.0f} %", flush=True)
    return out


def verdict(rows: list[dict]) -> dict:
    """The defaults at most MAX_COST_VS_SEED x the seed's path and at least MIN_SPEEDUP_VS_NAIVE x faster than the
    naive input (medians over rounds); VGG16's defaults no slower than its reference in any round."""
    by_name = {row["name"]: row for row in rows}
    default = by_name[DEFAULTS]
    cost, speedup = default.get("cost_vs_seed_median"), default.get("speedup_vs_naive_median")
    vgg16 = by_name.get(VGG16_DEFAULTS)
    vgg16_ok = None if vgg16 is None else max(vgg16["cost_vs_seed_range"]) <= 1.0
    out = {"cost_vs_seed": cost, "max_cost_vs_seed": MAX_COST_VS_SEED,
           "cost_met": cost is not None and cost <= MAX_COST_VS_SEED,
           "speedup_vs_naive": speedup, "min_speedup_vs_naive": MIN_SPEEDUP_VS_NAIVE,
           "speedup_met": speedup is not None and speedup >= MIN_SPEEDUP_VS_NAIVE,
           "vgg16_defaults_no_slower_than_its_reference": vgg16_ok}
    out["met"] = bool(out["cost_met"] and out["speedup_met"] and vgg16_ok is not False)
    return out


def markdown(record: dict) -> str:
    m, c, v = record["machine"], record["clips"], record["verdict"]
    lines = [
        "# `pipelines.embed` end to end, per extractor and input", "",
        f"`{record['command']}`. {c['clips']} RAVDESS clips ({len(c['speakers'])} actors, {c['mean_audio_s']:.2f} s of "
        f"audio each on average; positive and negative under the default valence map) built once into a dataset; "
        f"every measurement is a fresh `python -m pipelines.embed --dataset DATASET --quiet ARGS` on an emptied "
        f"embedding cache, its wall time including the process's start. {record['rounds']} rounds, the order rotated "
        f"each round. Machine: {m['cpu_model']}, {m['usable_cpus']} usable CPUs; load average "
        f"{record['load_average_1min']['start']} at the start, {record['load_average_1min']['end']} at the end.", "",
        f"| path | arguments | clips/s (range) | × the seed's cost (range) | × faster than naive (range) | "
        f"{MOSEI_CLIPS:,} clips |", "|---|---|---|---|---|---|"]
    for row in record["rows"]:
        lo, hi = row["clips_per_s_range"]
        cells = []
        for field in ("cost_vs_seed", "speedup_vs_naive"):
            if f"{field}_median" in row:
                a, b = row[f"{field}_range"]
                cells.append(f"{row[f'{field}_median']:.2f} ({a:.2f}-{b:.2f})")
            else:
                cells.append("—")
        lines.append(f"| {row['name']} | `{' '.join(row['arguments']) or '(none)'}` | {row['clips_per_s_median']:.2f} "
                     f"({lo:.2f}-{hi:.2f}) | {cells[0]} | {cells[1]} | {row['mosei_hours']:.1f} h |")
    if record.get("breakdown"):
        lines += ["", "Where Whisper's time goes (in one process, CTranslate2 on every core), ms per clip:", "",
                  "| input | decode | log-mel | encoder | pool | encoder's share |", "|---|---|---|---|---|---|"]
        for b in record["breakdown"]:
            t = b["ms_per_clip"]
            lines.append(f"| {b['input']} {b['window_s']:g} s | {t['decode']:.1f} | {t['log_mel']:.1f} | "
                         f"{t['encoder']:.1f} | {t['pool']:.1f} | {100 * b['encoder_share']:.0f} % |")
    lines += ["", f"**{'Met' if v['met'] else 'Not met'}**: the defaults cost {v['cost_vs_seed']:.2f}x the seed's "
              f"VGG16 path (at most {v['max_cost_vs_seed']:g}x: {'met' if v['cost_met'] else 'not met'}) and run "
              f"{v['speedup_vs_naive']:.2f}x faster than Whisper's naive input (at least "
              f"{v['min_speedup_vs_naive']:g}x: {'met' if v['speedup_met'] else 'not met'}); VGG16's defaults are "
              + {True: "no slower than its reference path in every round", False: "slower than its reference path "
                 "in some round", None: "not measured"}[v["vgg16_defaults_no_slower_than_its_reference"]]
              + f". The {MOSEI_CLIPS:,}-clip column is that many clips at the path's clips/s on this machine (the "
              "start of one process included once per measurement: a little pessimistic).", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import shlex

    from benchmarks.common import write_met_result

    parser = argparse.ArgumentParser(prog="python -m benchmarks.embed_pipeline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ravdess", action="append", required=True, help="a RAVDESS folder (repeat)")
    parser.add_argument("--clips", type=int, default=120, help="clips measured, taken evenly (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="build workers")
    parser.add_argument("--only", nargs="*", help="path names (prefixes) to run, besides the defaults, the seed's "
                                                  "and the naive path")
    parser.add_argument("--work", type=Path, default=Path("build/embed-pipeline"))
    parser.add_argument("--out", type=Path, default=Path("reports/embed_pipeline"))
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)

    dataset, clips = build_acted_dataset(args.ravdess, args.work, args.clips, args.workers)
    paths = tuple(p for p in PATHS if not args.only or p[0] in (DEFAULTS, SEED, NAIVE)
                  or any(p[0].startswith(o) for o in args.only))
    started_load = load1()
    rows = measure(dataset, clips["clips"], args.rounds, paths)
    breakdown = whisper_breakdown(dataset)
    record = {
        "command": " ".join(["python -m benchmarks.embed_pipeline", *map(shlex.quote, argv)]),
        "rounds": args.rounds, "clips": clips, "rows": rows, "breakdown": breakdown, "machine": machine_info(),
        "load_average_1min": {"start": started_load, "end": load1()}, "verdict": verdict(rows),
        "defaults": json.loads(json.dumps(_defaults())),
    }
    record["met"] = record["verdict"]["met"]
    return write_met_result(args.out, record, JSON_FILE, MARKDOWN_FILE, markdown)


def _defaults() -> dict:
    """What ``pipelines.embed`` defaults to, which the record is read against."""
    from dataclasses import asdict

    from transfer.features import EmbeddingConfig

    return asdict(EmbeddingConfig())


if __name__ == "__main__":
    sys.exit(main())
