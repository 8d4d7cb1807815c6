"""Embedding speed against the machine's own limit, in the precision the product's default resolves to.

The bound: VGG16's convolution FLOPs per clip up to the cut layer (``2*H*W*Cin*Cout*9`` per 3x3 conv, the
feature map halved by each 2x2 pool), divided into the matrix-multiply rate of the precision in use reached on
this machine in the same run (float32: best of several NumPy ``a @ b`` with 2048 x 2048 matrices, all cores;
bfloat16: the same product through TensorFlow's oneDNN bfloat16 GEMM, NumPy having none), gives the clips/s the
machine could reach if convolutions ran as fast as its best matrix multiply. The clips are synthetic and all
audio (no padding), so speech-only frames would compute every frame too: this section measures the arithmetic,
``benchmarks.embed_precision`` the frames on real clips. The measured
``Embedder.embed_logmel`` rate (after warm-up, compile time excluded) divided by that bound is the
efficiency. Matrix-multiply and embedding measurements alternate in rounds, so both see the same load.
"""
from __future__ import annotations

import time

import numpy as np

from benchmarks.common import blas_info, load1, median, spread

TARGET_EFFICIENCY = 0.85
MATMUL_N = 2048

#: VGG16's convolution layers in order: (name, input channels, output channels); a 2x2/2 pool ends each block.
VGG16_CONVS = (
    ("block1_conv1", 3, 64), ("block1_conv2", 64, 64),
    ("block2_conv1", 64, 128), ("block2_conv2", 128, 128),
    ("block3_conv1", 128, 256), ("block3_conv2", 256, 256), ("block3_conv3", 256, 256),
    ("block4_conv1", 256, 512), ("block4_conv2", 512, 512), ("block4_conv3", 512, 512),
    ("block5_conv1", 512, 512), ("block5_conv2", 512, 512), ("block5_conv3", 512, 512),
)
_BLOCK_ENDS = {"block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3"}


def vgg16_conv_flops(height: int, width: int, cut_layer: str) -> dict:
    """Convolution FLOPs (multiply and add counted separately) of VGG16 up to and including ``cut_layer``.

    ``cut_layer`` may be a conv layer or a ``blockN_pool`` (the pool itself is not counted). Feature maps
    keep their size through the 'same' 3x3 convolutions and are floor-halved by each 2x2 stride-2 pool.
    """
    names = [name for name, _, _ in VGG16_CONVS]
    stop = cut_layer
    if cut_layer.endswith("_pool"):
        stop = [n for n in names if n.startswith(cut_layer.split("_")[0])][-1]
    if stop not in names:
        raise ValueError(f"not a VGG16 conv or pool layer: {cut_layer!r}")
    h, w = height, width
    per_layer = []
    for name, cin, cout in VGG16_CONVS:
        per_layer.append({"layer": name, "h": h, "w": w, "cin": cin, "cout": cout,
                          "flops": 2 * h * w * cin * cout * 9})
        if name == stop:
            break
        if name in _BLOCK_ENDS:
            h, w = h // 2, w // 2
    return {"cut_layer": cut_layer, "input": [height, width, 3], "layers": per_layer,
            "total_flops": sum(layer["flops"] for layer in per_layer)}


def keras_conv_flops(model) -> int:
    """The same count from a built Keras model's Conv2D layers (a cross-check of the formula)."""
    total = 0
    for layer in model.layers:
        if layer.__class__.__name__ == "Conv2D":
            _, h, w, cout = layer.output.shape
            kh, kw, cin, _ = layer.kernel.shape
            total += 2 * h * w * cin * cout * kh * kw
    return int(total)


def matmul_gflops(n: int = MATMUL_N, repeats: int = 5, _cache: dict = {}) -> float:
    """Best float32 ``a @ b`` rate (GFLOP/s) of ``repeats`` multiplications of n x n matrices."""
    if n not in _cache:
        rng = np.random.default_rng(0)
        _cache[n] = (rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32))
    a, b = _cache[n]
    a @ b  # warm: thread pool up
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best / 1e9


def tf_matmul_gflops(n: int = MATMUL_N, repeats: int = 5, dtype: str = "float32", _cache: dict = {}) -> float:
    """Best ``tf.linalg.matmul`` rate (GFLOP/s) of ``repeats`` n x n products in ``dtype`` (``float32``, or
    ``bfloat16``: oneDNN's kernels): the GEMM TensorFlow itself reaches on this machine."""
    import tensorflow as tf

    key = (dtype, n)
    if key not in _cache:
        rng = np.random.default_rng(0)
        a, b = (tf.cast(tf.constant(rng.standard_normal((n, n), dtype=np.float32)), dtype) for _ in range(2))
        fn = tf.function(tf.linalg.matmul)
        fn(a, b).numpy()
        _cache[key] = (fn, a, b)
    fn, a, b = _cache[key]
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn(a, b).numpy()
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best / 1e9


_MATMUL_CHILD = """
import json, time, numpy as np
try:
    import threadpoolctl
    arch = [i.get("architecture") for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]
except ImportError:
    arch = []
n = %d
rng = np.random.default_rng(0)
a, b = rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)
a @ b
best = float("inf")
for _ in range(%d):
    t = time.perf_counter()
    a @ b
    best = min(best, time.perf_counter() - t)
print(json.dumps({"gflops": 2 * n ** 3 / best / 1e9, "architecture": arch}))
"""


def numpy_matmul_with_coretype(coretype: str, n: int = MATMUL_N, repeats: int = 5) -> dict | None:
    """NumPy's matmul rate in a fresh process with ``OPENBLAS_CORETYPE=coretype`` (OpenBLAS kernel override)."""
    import json
    import os
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", _MATMUL_CHILD % (n, repeats)], capture_output=True, text=True,
                          env=dict(os.environ, OPENBLAS_CORETYPE=coretype), timeout=300)
    if proc.returncode:
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cpu_has_avx512() -> bool:
    try:
        with open("/proc/cpuinfo") as handle:
            return any(line.startswith("flags") and " avx512f" in line for line in handle)
    except OSError:
        return False


def synthetic_logmel(n: int, n_mels: int = 128, n_frames: int = 438, seed: int = 0) -> np.ndarray:
    """Log-mel-like clips in dB (float16, as stored by a build); the values do not affect the speed."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-100.0, -10.0, size=(n, n_mels, n_frames)).astype(np.float16)


def _embed_rate(embedder, logmel: np.ndarray, batch_size: int) -> tuple[float, float]:
    t = time.perf_counter()
    embedder.embed_logmel(logmel, batch_size=batch_size)
    wall = time.perf_counter() - t
    return len(logmel) / wall, wall


def bound_gemm_gflops(precision: str, repeats: int = 5) -> float:
    """The GEMM rate that bounds an embedding in ``precision`` (module docstring)."""
    return matmul_gflops(repeats=repeats) if precision == "float32" else tf_matmul_gflops(repeats=repeats,
                                                                                          dtype=precision)


def measure_default(weights, layer: str, batch_size: int, jit: bool, clips_per_round: int, rounds: int,
                    log=print, precision: str = "float32") -> dict:
    """Alternate matmul-rate and embedding measurements; efficiency per round and overall. ``precision`` is a
    resolved one (``float32`` or ``bfloat16``): the embedder's arithmetic and the GEMM of the bound."""
    from transfer.features.vgg16 import Embedder

    flops = vgg16_conv_flops(128, 438, layer)
    clips_per_round = -(-clips_per_round // batch_size) * batch_size  # whole batches: no padded work
    started = time.perf_counter()
    embedder = Embedder(weights, layer, image_shape=(128, 438), jit=jit, precision=precision)
    logmel = synthetic_logmel(max(clips_per_round, batch_size))
    embedder.embed_logmel(logmel[:batch_size], batch_size=batch_size)  # compile + first call
    warmup_s = time.perf_counter() - started
    keras_flops = keras_conv_flops(embedder.model)
    blas = blas_info()
    forced = None
    if precision == "float32" and cpu_has_avx512() and any(b["library"] == "openblas" and b["architecture"] not in
                                ("SkylakeX", "Cooperlake", "SapphireRapids") for b in blas):
        forced = "SkylakeX"  # OpenBLAS picked AVX2 kernels on an AVX-512 CPU: also measure its AVX-512 ones
    per_round = []
    def gemm_rates() -> tuple[float, float]:  # (the bound's GEMM, TensorFlow's): one measurement in bfloat16
        bound_rate = bound_gemm_gflops(precision)
        return bound_rate, (tf_matmul_gflops(dtype=precision) if precision == "float32" else bound_rate)

    for r in range(rounds):
        mm_before, tf_before = gemm_rates()
        rate, wall = _embed_rate(embedder, logmel[:clips_per_round], batch_size)
        mm_after, tf_after = gemm_rates()
        forced_rec = numpy_matmul_with_coretype(forced) if forced else None
        mm, tf_mm = max(mm_before, mm_after), max(tf_before, tf_after)
        bound = mm * 1e9 / flops["total_flops"]
        best_gemm = max(mm, tf_mm, forced_rec["gflops"] if forced_rec else 0)
        per_round.append({"clips": clips_per_round, "wall_s": round(wall, 3), "clips_per_s": rate,
                          "matmul_gflops": mm, "bound_clips_per_s": bound, "efficiency": rate / bound,
                          "tf_matmul_gflops": tf_mm,
                          "numpy_forced_avx512_gflops": forced_rec["gflops"] if forced_rec else None,
                          "best_gemm_gflops": best_gemm,
                          "efficiency_vs_best_gemm": rate * flops["total_flops"] / (best_gemm * 1e9),
                          "achieved_conv_gflops": rate * flops["total_flops"] / 1e9, "load1": load1()})
        log(f"  embedding round {r + 1}/{rounds} ({precision}): {rate:.2f} clips/s, {precision} GEMM {mm:.0f} "
            f"GFLOP/s (bound {bound:.2f} clips/s, efficiency {rate / bound:.0%}); TF matmul {tf_mm:.0f}"
            + (f", NumPy with OPENBLAS_CORETYPE={forced} {forced_rec['gflops']:.0f}" if forced_rec else "")
            + f" GFLOP/s; vs best GEMM {per_round[-1]['efficiency_vs_best_gemm']:.0%} (load {per_round[-1]['load1']})")
    best_rate = max(p["clips_per_s"] for p in per_round)
    best_mm = max(p["matmul_gflops"] for p in per_round)
    efficiency = median(p["efficiency"] for p in per_round)
    return {
        "layer": layer, "batch_size": batch_size, "jit": jit, "image": [128, 438, 3], "precision": precision,
        "bound_gemm": "NumPy float32 matmul" if precision == "float32" else f"TensorFlow {precision} matmul (oneDNN)",
        "flops_per_clip": flops["total_flops"], "flops_per_clip_keras_check": keras_flops,
        "flops_by_layer": flops["layers"], "matmul_n": MATMUL_N, "warmup_compile_s": round(warmup_s, 2),
        "clips_measured": clips_per_round * rounds, "rounds": per_round,
        "clips_per_s_median": median(p["clips_per_s"] for p in per_round),
        "matmul_gflops_median": median(p["matmul_gflops"] for p in per_round),
        "bound_clips_per_s_median": median(p["bound_clips_per_s"] for p in per_round),
        "efficiency_median": efficiency, "efficiency_range": spread(p["efficiency"] for p in per_round),
        "efficiency_best_over_best": best_rate * flops["total_flops"] / (best_mm * 1e9),
        "numpy_blas": blas, "forced_coretype": forced,
        "tf_matmul_gflops_median": median(p["tf_matmul_gflops"] for p in per_round),
        "numpy_forced_avx512_gflops_median": median(p["numpy_forced_avx512_gflops"] for p in per_round),
        "efficiency_vs_best_gemm_median": median(p["efficiency_vs_best_gemm"] for p in per_round),
        "efficiency_vs_best_gemm_range": spread(p["efficiency_vs_best_gemm"] for p in per_round),
        "target": {"efficiency": TARGET_EFFICIENCY, "value": efficiency,
                   "met": efficiency is not None and efficiency >= TARGET_EFFICIENCY},
    }


def sweep(weights, layer: str, batch_sizes, jit_modes, clips: int, rounds: int, log=print,
          precision: str = "float32") -> dict:
    """clips/s of every (batch size, jit) setting, measured in rotating order over ``rounds`` rounds.

    Each configuration is compiled once up front; a round measures each on ``clips`` clips (rounded up to
    a whole number of batches) with the matmul rate measured next to it, so each setting is also reported
    as a fraction of the bound.
    """
    from transfer.features.vgg16 import Embedder

    flops = vgg16_conv_flops(128, 438, layer)["total_flops"]
    configs = [(bs, jit) for jit in jit_modes for bs in batch_sizes]
    embedders, compile_s = {}, {}
    for bs, jit in configs:
        t = time.perf_counter()
        embedders[(bs, jit)] = Embedder(weights, layer, image_shape=(128, 438), jit=jit, precision=precision)
        embedders[(bs, jit)].embed_logmel(synthetic_logmel(bs), batch_size=bs)
        compile_s[(bs, jit)] = time.perf_counter() - t
    n_max = max(-(-clips // bs) * bs for bs in batch_sizes)
    logmel = synthetic_logmel(n_max, seed=1)
    results = {c: [] for c in configs}
    for r in range(rounds):
        order = configs[r % len(configs):] + configs[:r % len(configs)]
        if r % 2:
            order = order[::-1]
        for bs, jit in order:
            n = -(-clips // bs) * bs
            mm = bound_gemm_gflops(precision, repeats=3)
            rate, _ = _embed_rate(embedders[(bs, jit)], logmel[:n], bs)
            results[(bs, jit)].append({"clips_per_s": rate, "efficiency": rate * flops / (mm * 1e9),
                                       "load1": load1()})
            log(f"  sweep round {r + 1}/{rounds} batch {bs} jit {jit}: {rate:.2f} clips/s "
                f"({rate * flops / (mm * 1e9):.0%} of bound)")
    for embedder in embedders.values():
        del embedder
    rows = []
    for bs, jit in configs:
        runs = results[(bs, jit)]
        rows.append({"batch_size": bs, "jit": jit, "clips_per_run": -(-clips // bs) * bs,
                     "compile_and_first_batch_s": round(compile_s[(bs, jit)], 2),
                     "clips_per_s_median": median(x["clips_per_s"] for x in runs),
                     "clips_per_s_range": spread(x["clips_per_s"] for x in runs),
                     "efficiency_median": median(x["efficiency"] for x in runs), "runs": runs})
    from transfer.features.vgg16 import DEFAULT_JIT

    default = next((r for r in rows if r["batch_size"] == 16 and r["jit"] == DEFAULT_JIT), None)
    for row in rows:
        row["relative_to_default"] = (row["efficiency_median"] / default["efficiency_median"]
                                      if default and default["efficiency_median"] else None)
    best = max(rows, key=lambda r: r["efficiency_median"] or 0)
    return {"layer": layer, "precision": precision, "rounds": rounds, "rows": rows,
            "best": {"batch_size": best["batch_size"], "jit": best["jit"],
                     "relative_to_default": best["relative_to_default"]},
            "note": "relative_to_default compares efficiencies (clips/s over the matmul rate measured just "
                    "before), which cancels most of the load drift between configurations"}
