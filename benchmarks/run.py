"""Speed and memory benchmarks (issue 6): one command, a Markdown report and its JSON.

    python -m benchmarks.run [--quick] [--out reports/benchmarks]

Sections (``--sections`` picks some):

``build``      wall time of ``weaklabel.build.build_dataset`` (2 workers and 1) against the original
               per-file path (``benchmarks/reference.py``, single process as the original ran), each a fresh
               process timed with its imports, in paired rounds on a generated corpus of 6,000 segments,
               fixed costs measured apart on one recording; a cProfile breakdown of the build.
``memory``     peak resident memory of builds in fresh processes on a corpus and one ten times larger, and
               on single 60- and 180-minute recordings.
``embedding``  ``Embedder.embed_logmel`` clips/s against the bound from VGG16's convolution FLOPs and the
               float32 matrix-multiply rate NumPy measures in the same run; batch size / XLA sweep.
``quality``    clips/s against RAVDESS probe ROC AUC for cut layers and mel resolutions (skipped, with a
               note, when ../shared/data is absent).
``levers``     A/B measurements of candidate optimisations (feature merge, BLAS environment of the build,
               XLA on/off, folded first convolution).
``features``   feature cost per clip of each extractor against today's VGG16, on RAVDESS clips
               (``benchmarks/feature_cost.py``; needs the [egemaps] extra and ../shared/data). Not in the
               default set: ``--sections features --update`` adds it to the committed report.

Every figure is a ratio against a reference measured in the same run: the machines are shared and noisy.
The synthetic bench corpus is generated once into ``build/bench-corpus`` and reused. Nothing here runs in
the test suite (``tests/test_benchmarks_smoke.py`` runs it at toy scale and checks only its structure).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import time
import traceback
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmarks.common import REPO_ROOT, bench_corpus, corpus_subset, count_segments, load1, machine_info  # noqa: E402
from foundation.paths import display_path  # noqa: E402

SECTIONS = ("build", "memory", "embedding", "quality", "levers", "features")
DEFAULT_SECTIONS = SECTIONS[:-1]
SCHEMA_VERSION = 1

FULL = dict(recordings=400, sentences=15, build_recordings=400, build_rounds=3, profile_recordings=20,
            memory_recordings=(20, 200), memory_workers=(1, 2), long_minutes=(60, 180), embed_clips=128, embed_rounds=4, batch_sizes=(8, 16, 32, 64),
            jit_modes=(True, False), sweep_clips=64, sweep_rounds=3, quality_per_actor=None,
            layers=("block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3"),
            resolutions=((128, 256), (64, 256), (128, 512), (64, 512)), merge_parts=(200, 15), merge_rounds=3,
            env_recordings=60, env_rounds=3, xla_clips=32, xla_pairs=6, folded_pairs=10)
QUICK = dict(FULL, build_recordings=40, build_rounds=2, profile_recordings=5, memory_recordings=(4, 40),
             long_minutes=(6, 18),
             embed_clips=48, embed_rounds=2, sweep_rounds=1, quality_per_actor=12,
             resolutions=((128, 256), (64, 256)), merge_parts=(40, 15), merge_rounds=2, env_recordings=20,
             env_rounds=1, xla_pairs=3, folded_pairs=4)


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x.strip())


def _resolutions(text: str) -> tuple[tuple[int, int], ...]:
    out = []
    for item in text.split(","):
        mels, hop = item.split("x")
        out.append((int(mels), int(hop)))
    return tuple(out)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer recordings, clips and rounds (a few minutes)")
    p.add_argument("--out", type=Path, default=Path("reports/benchmarks"),
                   help="output stem: writes OUT.md and OUT.json (default reports/benchmarks)")
    p.add_argument("--sections", default=",".join(DEFAULT_SECTIONS),
                   help=f"comma-separated subset of {','.join(SECTIONS)} (default: all but features)")
    p.add_argument("--update", action="store_true",
                   help="keep the other sections of an existing OUT.json and replace only those run now (a note "
                        "in the report says which sections were re-measured, when and how)")
    p.add_argument("--corpus-dir", type=Path, default=Path("build/bench-corpus"),
                   help="where the synthetic bench corpus is generated once and reused")
    p.add_argument("--scratch", type=Path, default=Path("build/bench-scratch"),
                   help="scratch folder for build outputs and corpus subsets (emptied at the end)")
    p.add_argument("--weights", default="imagenet",
                   help="VGG16 weights: imagenet (default, verified offline copy), random (speed only; the "
                        "quality section's AUCs are then meaningless), or a file")
    p.add_argument("--ravdess", type=Path, default=REPO_ROOT.parent / "shared" / "data" / "ravdess_actors_01-06")
    g = p.add_argument_group("scale (defaults from the full or --quick preset)")
    g.add_argument("--recordings", type=int, help="recordings in the generated bench corpus (full: 200)")
    g.add_argument("--sentences", type=int, help="sentences per recording (15)")
    g.add_argument("--build-recordings", type=int, help="recordings used for the build-speed comparison")
    g.add_argument("--build-rounds", type=int)
    g.add_argument("--profile-recordings", type=int)
    g.add_argument("--memory-recordings", type=_ints, help="small,large recording counts (full: 20,200)")
    g.add_argument("--memory-workers", type=_ints, help="worker counts of the memory builds (1,2)")
    g.add_argument("--long-minutes", type=_ints, help="lengths of the single long recordings (full: 60,180; "
                                                      "empty: skip)")
    g.add_argument("--embed-clips", type=int, help="clips per embedding round at the default setting")
    g.add_argument("--embed-rounds", type=int)
    g.add_argument("--batch-sizes", type=_ints, help="batch sizes of the sweep (8,16,32,64)")
    g.add_argument("--jit-modes", type=lambda s: tuple(x.strip().lower() in ("1", "on", "true") for x in s.split(",")),
                   help="XLA settings of the sweep, e.g. on,off")
    g.add_argument("--sweep-clips", type=int)
    g.add_argument("--sweep-rounds", type=int)
    g.add_argument("--quality-per-actor", type=int, help="RAVDESS clips per actor (default all; quick 12)")
    g.add_argument("--layers", type=lambda s: tuple(s.split(",")))
    g.add_argument("--resolutions", type=_resolutions, help="n_melsxhop list, e.g. 128x256,64x256")
    g.add_argument("--merge-parts", type=_ints, help="parts,clips_per_part for the merge lever")
    g.add_argument("--merge-rounds", type=int)
    g.add_argument("--env-recordings", type=int, help="recordings for the BLAS-environment build lever")
    g.add_argument("--env-rounds", type=int)
    g.add_argument("--xla-clips", type=int, help="clips per run of the XLA on/off A/B")
    g.add_argument("--xla-pairs", type=int)
    g.add_argument("--folded-pairs", type=int)
    args = p.parse_args(argv)
    preset = QUICK if args.quick else FULL
    for key, value in preset.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    args.sections = tuple(s.strip() for s in args.sections.split(",") if s.strip())
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        p.error(f"unknown sections: {', '.join(sorted(unknown))}")
    if len(args.memory_recordings) != 2:
        p.error("--memory-recordings needs two counts: small,large")
    return args


def _log(message: str) -> None:
    print(message, flush=True)


def run(args: argparse.Namespace, argv: list[str]) -> dict:
    import tempfile

    started = time.perf_counter()
    args.scratch.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="run-", dir=args.scratch)).absolute()
    record: dict = {
        "schema_version": SCHEMA_VERSION, "quick": bool(args.quick),
        "command": " ".join(["python -m benchmarks.run", *argv]).strip(),
        "started_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(), "settings": {k: (list(v) if isinstance(v, tuple) else v)
                                                for k, v in vars(args).items() if not isinstance(v, Path)},
        "sections": {}, "load_average_1min": {"start": load1()},
        "gpu": {"measured": False,
                "note": "no GPU lent to this task: GPU embedding throughput not measured"},
    }
    _log(f"machine: {record['machine']['cpu_model']}, {record['machine']['logical_cpus']} CPUs, "
         f"load {record['load_average_1min']['start']}")

    corpus = None
    if {"build", "memory", "levers"} & set(args.sections):
        t = time.perf_counter()
        corpus = bench_corpus(args.corpus_dir, args.recordings, args.sentences)
        record["corpus"] = {"dir": display_path(corpus), "recordings": args.recordings,
                            "sentences_per_recording": args.sentences, "segments": count_segments(corpus),
                            "generate_or_reuse_s": round(time.perf_counter() - t, 2),
                            "kind": "synthetic eSpeak NG speech in CMU-MOSEI layout (weaklabel.demo), seed 0"}
        _log(f"corpus: {record['corpus']['segments']} segments in {corpus} "
             f"({record['corpus']['generate_or_reuse_s']} s to generate or reuse)")

    def section(name, fn):
        if name not in args.sections:
            return
        _log(f"== {name}")
        t = time.perf_counter()
        before = load1()
        try:
            result = fn()
        except Exception as exc:  # a failed section is reported, the others still run
            traceback.print_exc()
            result = {"error": f"{type(exc).__name__}: {exc}"}
        result["section_seconds"] = round(time.perf_counter() - t, 1)
        result["load1_start"], result["load1_end"] = before, load1()
        record["sections"][name] = result

    subsets = scratch / "subsets"

    def build_section():
        from benchmarks.build_speed import measure_build_speed, measure_logmel_variants, profile_build

        root = corpus_subset(corpus, args.build_recordings, subsets)
        warm = corpus_subset(corpus, 1, subsets)
        out = measure_build_speed(root, scratch, args.build_rounds, warm, log=_log)
        out["profile"] = profile_build(corpus_subset(corpus, args.profile_recordings, subsets), scratch)
        out["logmel_variants"] = measure_logmel_variants(rounds=args.build_rounds + 2)
        from benchmarks.scorer_speed import measure_scorer_rates, sentences_for_rates

        out["scorer_rates"] = measure_scorer_rates(sentences_for_rates(root, REPO_ROOT.parent / "shared" / "data" /
                                                                       "meld_dev_sent_emo.csv"))
        return out

    def memory_section():
        from benchmarks.memory import measure_memory

        from benchmarks.memory import measure_long_recordings

        small, large = args.memory_recordings
        out = measure_memory(corpus_subset(corpus, small, subsets), corpus_subset(corpus, large, subsets),
                             scratch, workers_list=args.memory_workers, log=_log)
        if args.long_minutes:
            out["long_recordings"] = measure_long_recordings(args.corpus_dir.parent / "bench-long", scratch,
                                                             args.long_minutes, log=_log)
        return out

    weights_holder = {}

    def weights():
        if "w" not in weights_holder:
            from transfer.weights import resolve_vgg16_weights

            w = resolve_vgg16_weights(args.weights)
            weights_holder["w"] = w
            record["weights"] = {"spec": args.weights, "source": w.source, "verified": w.verified,
                                 "sha256": w.sha256}
        return weights_holder["w"]

    def embedding_section():
        from benchmarks.embed_speed import measure_default, sweep
        from transfer.features.vgg16 import DEFAULT_JIT, DEFAULT_LAYER
        from transfer.features.precision import DEFAULT_PRECISION, resolve_precision

        precision = resolve_precision(DEFAULT_PRECISION).precision  # the default's arithmetic on this machine
        out = {"default": measure_default(weights(), DEFAULT_LAYER, 16, DEFAULT_JIT, args.embed_clips, args.embed_rounds,
                                          log=_log, precision=precision)}
        out["sweep"] = sweep(weights(), DEFAULT_LAYER, args.batch_sizes, args.jit_modes, args.sweep_clips,
                             args.sweep_rounds, log=_log, precision=precision)
        return out

    def quality_section():
        if not args.ravdess.is_dir():
            return {"skipped": f"RAVDESS not available: {args.ravdess} is absent (../shared/data is only beside "
                               "the project in development/CI)"}
        from benchmarks.quality import speed_quality
        from transfer.features.vgg16 import DEFAULT_LAYER

        out = speed_quality(args.ravdess, weights(), args.layers, args.resolutions, DEFAULT_LAYER,
                            per_actor=args.quality_per_actor, log=_log)
        if args.weights == "random":
            out["note"] = "random weights: these AUCs measure nothing about ImageNet features"
        return out

    def levers_section():
        from benchmarks.levers import measure_build_env, measure_folded_conv1, measure_merge, measure_xla
        from transfer.features.vgg16 import DEFAULT_LAYER

        n_parts, clips = args.merge_parts
        out = {"merge": measure_merge(scratch, n_parts, clips, args.merge_rounds, log=_log)}
        if corpus is not None:
            out["build_env"] = measure_build_env(corpus_subset(corpus, args.env_recordings, subsets),
                                                 corpus_subset(corpus, 1, subsets), scratch, args.env_rounds,
                                                 log=_log)
        out["xla"] = measure_xla(weights(), DEFAULT_LAYER, 16, args.xla_clips, args.xla_pairs, log=_log)
        out["folded_conv1"] = measure_folded_conv1(weights(), DEFAULT_LAYER, 16, args.folded_pairs, log=_log)
        return out

    def features_section():
        if not args.ravdess.is_dir():
            return {"skipped": f"RAVDESS not available: {args.ravdess} is absent"}
        from benchmarks.feature_cost import measure_feature_cost

        return measure_feature_cost(args.ravdess, weights(), log=_log)

    # Order matters: the build section forks worker processes and must run before TensorFlow is imported.
    section("build", build_section)
    section("memory", memory_section)
    section("embedding", embedding_section)
    section("quality", quality_section)
    section("levers", levers_section)
    section("features", features_section)
    record["load_average_1min"]["end"] = load1()
    record["total_seconds"] = round(time.perf_counter() - started, 1)
    shutil.rmtree(scratch, ignore_errors=True)
    return record


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    record = run(args, argv)
    from benchmarks.report import render_markdown

    args.out.parent.mkdir(parents=True, exist_ok=True)
    json_path, md_path = args.out.with_suffix(".json"), args.out.with_suffix(".md")
    if args.update and json_path.is_file():
        record = merge_into(json.loads(json_path.read_text(encoding="utf-8")), record)
    json_path.write_text(json.dumps(record, indent=2, default=_json_default) + "\n", encoding="utf-8")
    md_path.write_text(render_markdown(record), encoding="utf-8")
    _log(f"wrote {md_path} and {json_path} ({record['total_seconds']} s)")
    failed = [name for name, sec in record["sections"].items() if "error" in sec]
    return 1 if failed else 0


def merge_into(previous: dict, record: dict) -> dict:
    """``previous`` with the sections of ``record`` replaced, and a note naming them, the command and the date."""
    merged = dict(previous)
    merged["sections"] = {**previous.get("sections", {}), **record["sections"]}
    for key in ("corpus", "machine"):
        if key in record:
            merged[key] = record[key]
    names = ", ".join(record["sections"])
    merged["notes"] = [*previous.get("notes", []),
                       f"Re-measured on {record['started_utc']} by `{record['command']}`: {names} (load average "
                       f"{record['load_average_1min'].get('start')} at start, {record['load_average_1min'].get('end')} "
                       "at end); the other sections are from the earlier runs named above."]
    return merged


def _json_default(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


if __name__ == "__main__":
    raise SystemExit(main())
