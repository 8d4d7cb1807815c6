"""Smoke test of the speed/memory benchmarks (``python -m benchmarks.run``) at toy scale.

It checks that every section runs end to end and that the JSON and Markdown have their structure; it
asserts no timing (the benchmark itself reports speed as ratios, on whatever machine runs it).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

REPO_ROOT = Path(__file__).resolve().parent.parent


def _fake_ravdess(root: Path) -> Path:
    """Twelve short clips named in RAVDESS's convention: 6 actors x (one happy, one sad)."""
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    for actor in range(1, 7):
        for emotion, freq in (("03", 330.0), ("04", 180.0)):  # happy (positive), sad (negative)
            audio = 0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(t.size)
            sf.write(root / f"03-01-{emotion}-01-01-01-{actor:02d}.wav", audio.astype(np.float32), 16000)
    return root


def test_benchmarks_run_end_to_end_at_toy_scale(tmp_path):
    out = tmp_path / "reports" / "benchmarks"
    cmd = [sys.executable, "-m", "benchmarks.run", "--out", str(out),
           "--corpus-dir", str(tmp_path / "corpus"), "--scratch", str(tmp_path / "scratch"),
           "--weights", "random", "--ravdess", str(_fake_ravdess(tmp_path / "ravdess")),
           "--recordings", "4", "--sentences", "3", "--build-recordings", "2", "--build-rounds", "1",
           "--profile-recordings", "1", "--memory-recordings", "2,4", "--memory-workers", "2", "--long-minutes", "1,2", "--embed-clips", "1", "--embed-rounds", "1",
           "--batch-sizes", "2", "--jit-modes", "on", "--sweep-clips", "2", "--sweep-rounds", "1",
           "--layers", "block3_conv3,block2_conv2", "--resolutions", "128x256", "--merge-parts", "3,2",
           "--merge-rounds", "1", "--env-recordings", "2", "--env-rounds", "1", "--xla-clips", "16", "--xla-pairs", "1",
           "--folded-pairs", "1"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    record = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert record["schema_version"] == 1
    for key in ("cpu_model", "logical_cpus", "ram_gib", "python", "numpy", "tensorflow", "load_average_1min"):
        assert key in record["machine"]
    assert record["gpu"] == {"measured": False,
                             "note": "no GPU lent to this task: GPU embedding throughput not measured"}
    assert record["corpus"]["segments"] == 12
    sections = record["sections"]
    assert set(sections) == {"build", "memory", "embedding", "quality", "levers"}
    assert not [name for name, sec in sections.items() if "error" in sec]

    build = sections["build"]
    assert build["segments"] == 6
    for name in ("reference", "reference_shared_vader", "build_workers1", "build_workers2"):
        assert build["summary"][name]["segments_per_s_median"] > 0
    for name in ("workers2_vs_reference", "workers1_vs_reference", "workers2_vs_workers1"):
        assert build["ratios"][name]["median"] > 0
    assert set(build["target"]) == {"ratio", "value", "met"} and build["target"]["ratio"] == 10
    assert "single process" in build["reference_description"]
    for name in ("reference", "build_workers2"):  # fresh processes: fixed costs measured apart
        assert build["summary"][name]["fixed_wall_s_median"] > 0 and build["summary"][name]["imports_s_median"] > 0
    assert build["fixed_cost_segments"] == 3 and build["per_segment_ratios"]["workers2_vs_reference"]["median"]
    assert build["logmel_variants"]["us_per_frame"]["version 1"] > 0 and build["logmel_variants"]["max_abs_difference_db"] < 0.01
    components = [c["component"] for c in build["profile"]["components"]]
    assert any(c.startswith("log-mel") for c in components) and any(c.startswith("finalize") for c in components)

    memory = sections["memory"]
    assert {(r["corpus"], r["workers"]) for r in memory["runs"]} == {("small", 2), ("large", 2)}
    assert all(r["main_peak_mib"] > 0 and r["tree_peak_rss_mib"] > 0 for r in memory["runs"])
    assert memory["ratios_large_over_small"]["workers2"]["segments"] == 2
    assert memory["ratios_large_over_small"]["workers2"]["worst_rss"] > 0
    assert memory["library_baseline"]["rss_mib"] > 0
    long = memory["long_recordings"]
    assert [(r["minutes"], r["segments"]) for r in long["runs"]] == [(1, 15), (2, 30)]
    assert all(r["largest_process_peak_mib"] > 0 for r in long["runs"]) and long["ratio_longest_over_shortest"] >= 1

    default = sections["embedding"]["default"]
    from benchmarks.embed_speed import vgg16_conv_flops
    from transfer.features.vgg16 import DEFAULT_JIT, DEFAULT_LAYER

    assert default["layer"] == DEFAULT_LAYER and default["batch_size"] == 16 and default["jit"] is DEFAULT_JIT
    assert default["flops_per_clip"] == default["flops_per_clip_keras_check"] == \
        vgg16_conv_flops(128, 438, DEFAULT_LAYER)["total_flops"]
    assert 0 < default["efficiency_median"] and default["target"]["efficiency"] == 0.85
    assert [(r["batch_size"], r["jit"]) for r in sections["embedding"]["sweep"]["rows"]] == [(2, True)]

    quality = sections["quality"]
    assert quality["clips"] == 12 and quality["actors"] == 6
    rows = {(r["layer"], r["n_mels"], r["hop_length"]): r for r in quality["rows"]}
    assert set(rows) == {("block3_conv3", 128, 256), ("block2_conv2", 128, 256)}
    assert rows[(DEFAULT_LAYER, 128, 256)]["is_default"]
    assert "auc_difference_vs_default" in rows[("block3_conv3", 128, 256)]
    assert "random weights" in quality["note"]

    levers = sections["levers"]
    assert levers["merge"]["identical_output"] is True
    assert levers["build_env"]["variants"]["default"]["ratio_to_default_median"] == 1.0
    assert levers["xla"]["speedup_jit_off_over_on_median"] > 0 and levers["xla"]["max_relative_difference"] < 1e-3
    assert levers["folded_conv1"]["max_abs_difference"] <= 1e-3 * max(1.0, levers["folded_conv1"]["max_abs_output"])

    md = out.with_suffix(".md").read_text(encoding="utf-8")
    for heading in ("## Machine", "## Targets", "## 1. Build speed", "## 2. Embedding", "## 3. Speed against quality",
                    "## 4. Memory", "## 5. GPU", "## Levers"):
        assert heading in md
    assert "no GPU lent to this task: GPU embedding throughput not measured" in md
    assert "single process" in md


def test_vgg16_flops_formula():
    from benchmarks.embed_speed import vgg16_conv_flops

    flops = vgg16_conv_flops(128, 438, "block3_conv3")
    assert [layer["layer"] for layer in flops["layers"]][-1] == "block3_conv3"
    assert [(layer["h"], layer["w"]) for layer in flops["layers"]][::2] == [(128, 438), (64, 219), (32, 109),
                                                                             (32, 109)]
    assert flops["layers"][0]["flops"] == 2 * 128 * 438 * 3 * 64 * 9
    assert vgg16_conv_flops(128, 438, "block5_pool")["total_flops"] == \
        vgg16_conv_flops(128, 438, "block5_conv3")["total_flops"]


def test_the_export_benchmark_runs_end_to_end_at_toy_scale(tmp_path):
    """benchmarks.export_benchmark (memory and time of each export format) on 4 recordings of 3 sentences."""
    from benchmarks.export_benchmark import CORPORA, benchmark_markdown

    out = tmp_path / "reports"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.export_benchmark", "--out", str(out),
                           "--corpus-dir", str(tmp_path / "corpus"), "--work", str(tmp_path / "work"),
                           "--recordings", "4", "--sentences", "3", "--small-recordings", "2", "--copies", "2"],
                          cwd=REPO_ROOT, capture_output=True, text=True)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]  # 1: the toy corpora's peaks are not near one another
    record = json.loads((out / "export_benchmark.json").read_text())
    assert {(r["format"], r["corpus"]) for r in record["runs"]} == \
        {(f, c) for f in ("hf", "lhotse", "audiofolder") for c in CORPORA}
    speed, large = (next(r for r in record["runs"] if r["format"] == "hf" and r["corpus"] == c) for c in CORPORA[1:])
    assert large["clips"] == 2 * speed["clips"] > 0 and large["main_peak_mib"] > 0 and large["poll_samples"] > 0
    assert record["command"].endswith("--copies 2") and set(record["ratios"]) == {"hf", "lhotse", "audiofolder"}
    assert (out / "export_benchmark.md").read_text() == benchmark_markdown(record)


def test_embed_precision_runs_end_to_end_at_toy_scale(tmp_path):
    """benchmarks.embed_precision on twelve generated clips with random weights: every path measured, the JSON's
    structure, the Markdown rendered from the JSON (no timing asserted)."""
    from benchmarks.embed_precision import PATHS, markdown

    out = tmp_path / "embed_precision"
    cmd = [sys.executable, "-m", "benchmarks.embed_precision", "--ravdess", str(_fake_ravdess(tmp_path / "ravdess")),
           "--weights", "random", "--rounds", "1", "--gemm-n", "64", "--bootstrap", "20", "--train-rows", "100",
           "--out", str(out)]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads(out.with_suffix(".json").read_text())
    assert [(r["precision"], r["frames"]) for r in record["rows"]] == list(PATHS)
    assert record["corpus"]["clips"] == 12 and record["weights"]["source"] == "random"
    for row in record["rows"]:
        assert row["clips_per_s_median"] > 0 and len(row["runs"]) == 1
        assert 0.0 <= row["probe"]["roc_auc"] <= 1.0 and row["probe"]["ci_resampling"] == "groups"
    reference, bf16, speech, _ = record["rows"]
    assert reference["agreement_with_reference"]["bitwise_equal"] and reference["ratio_to_reference_median"] == 1.0
    assert speech["agreement_with_reference"]["max_of_clip_max"] <= 1e-5  # the tests' tolerance, real clips
    assert 0 < bf16["agreement_with_reference"]["max_of_clip_max"] <= 2e-2
    assert speech["computed_gflop_per_clip"] < reference["computed_gflop_per_clip"]  # 1 s of speech in 7 s clips
    assert [r["name"] for r in record["projection"]["rows"]] == [r["name"] for r in record["rows"]]
    assert "not measured" in record["weak_supervision"]
    assert out.with_suffix(".md").read_text() == markdown(record)
