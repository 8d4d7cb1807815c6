"""Candidate speed/memory levers for weaklabel/ and transfer/, measured A/B in the same run.

* ``merge``: how ``finalize`` joins the per-recording feature parts into ``features/logmel.npy``.
  Before: an ``open_memmap`` of the whole output, each part assigned into it (how ``finalize`` merged until
  this lever's result was adopted). Now: write the .npy header, then append each part's data bytes with a
  plain file copy. Each strategy runs in a fresh
  process over the same parts; reported: wall time, peak RSS and whether the outputs are byte-identical.
  Mapped output pages count in the process's resident memory (file-backed, reclaimable, but they make
  ``ru_maxrss`` grow with the corpus); a streamed copy keeps it flat.
* ``build_env``: the build (2 workers) in fresh processes under environment variants that change NumPy's
  BLAS: as installed; ``OPENBLAS_NUM_THREADS=1`` (each worker's BLAS single-threaded, so two workers do
  not run four BLAS threads on two cores); and, where OpenBLAS picked AVX2 kernels on an AVX-512 CPU,
  ``OPENBLAS_CORETYPE=SkylakeX``. Variants alternate round by round; reported as ratios to the default.
* ``xla``: ``Embedder(jit=True)`` (the default, XLA) against ``jit=False`` (TensorFlow's own kernels, oneDNN
  on x86) at the default layer and batch size, alternating A and B run by run; reported: the paired speed
  ratio and the largest relative difference of the embeddings.
* ``folded_conv1``: VGG16's first convolution sees three identical copies of one grey image, each minus a
  channel mean. With zero padding, ``sum_c W_c * pad(g - m_c) = (sum_c W_c) * pad(g) - sum_c m_c (W_c * pad(1))``,
  so a one-channel convolution with the summed kernel plus a precomputed per-position bias map gives the
  same output exactly (to float rounding). Reported: max difference of the embeddings and the paired
  speed ratio, alternating A and B batch by batch.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.common import REPO_ROOT, load1, median, spread
from foundation.paths import display_path

# --------------------------------------------------------------------------------------------------------
# Merge strategies
# --------------------------------------------------------------------------------------------------------


def write_synthetic_parts(parts_dir: Path, n_parts: int, clips_per_part: int, shape=(128, 438)) -> list[Path]:
    """``n_parts`` float16 .npy parts like a build's (the merge cost depends only on their bytes)."""
    parts_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n_parts):
        path = parts_dir / f"part{i:05d}.npy"
        if not path.is_file():
            np.save(path, rng.uniform(-100, 0, size=(clips_per_part, *shape)).astype(np.float16))
        paths.append(path)
    return paths


def merge_memmap(parts: list[Path], out: Path) -> None:
    """As ``weaklabel.build.finalize`` did it before streaming: open_memmap of the output, parts assigned in."""
    heads = [np.load(p, mmap_mode="r") for p in parts]
    n = sum(len(h) for h in heads)
    merged = np.lib.format.open_memmap(out, mode="w+", dtype=heads[0].dtype, shape=(n, *heads[0].shape[1:]))
    del heads
    row = 0
    for p in parts:
        part = np.load(p, mmap_mode="r")
        merged[row:row + len(part)] = part
        row += len(part)
    merged.flush()
    del merged


def _data_offset(handle) -> tuple[tuple, np.dtype]:
    version = np.lib.format.read_magic(handle)
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read_header(handle)
    if fortran:
        raise ValueError("Fortran-ordered part")
    return shape, dtype


def merge_stream(parts: list[Path], out: Path) -> None:
    """Alternative: write the .npy header for the total shape, then copy each part's data bytes."""
    shapes = []
    for p in parts:
        with open(p, "rb") as handle:
            shapes.append(_data_offset(handle))
    n = sum(s[0][0] for s in shapes)
    dtype = shapes[0][1]
    with open(out, "wb") as dst:
        np.lib.format.write_array_header_1_0(
            dst, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
                  "shape": (n, *shapes[0][0][1:])})
        for p in parts:
            with open(p, "rb") as src:
                _data_offset(src)
                shutil.copyfileobj(src, dst, length=8 << 20)


def _merge_child(strategy: str, parts_dir: str, out: str) -> int:
    parts = sorted(Path(parts_dir).glob("part*.npy"))
    from benchmarks.memory import peak_rss_kib

    before = peak_rss_kib()
    t = time.perf_counter()
    (merge_memmap if strategy == "memmap" else merge_stream)(parts, Path(out))
    wall = time.perf_counter() - t
    print(json.dumps({"wall_s": wall, "maxrss_before_kib": before,
                      "maxrss_kib": peak_rss_kib()}))
    return 0


def measure_merge(scratch: Path, n_parts: int, clips_per_part: int, rounds: int, log=print) -> dict:
    parts_dir = scratch / f"merge-parts-{n_parts}x{clips_per_part}"
    write_synthetic_parts(parts_dir, n_parts, clips_per_part)
    results = {"memmap": [], "stream": []}
    digests = {}
    for r in range(rounds):
        for strategy in (("memmap", "stream") if r % 2 == 0 else ("stream", "memmap")):
            out = scratch / f"merged-{strategy}.npy"
            proc = subprocess.run([sys.executable, "-m", "benchmarks.levers", "--merge-child", strategy,
                                   str(parts_dir), str(out)], capture_output=True, text=True, cwd=os.getcwd(),
                                  env=dict(os.environ, PYTHONPATH=os.pathsep.join(
                                      filter(None, [os.getcwd(), str(REPO_ROOT), os.environ.get("PYTHONPATH")]))))
            if proc.returncode:
                raise RuntimeError(proc.stderr[-2000:])
            rec = json.loads(proc.stdout.strip().splitlines()[-1])
            if strategy not in digests:
                import hashlib
                with open(out, "rb") as handle:
                    digests[strategy] = hashlib.file_digest(handle, "sha256").hexdigest() \
                        if hasattr(hashlib, "file_digest") else hashlib.sha256(handle.read()).hexdigest()
            out.unlink()
            rec["rss_growth_mib"] = (rec["maxrss_kib"] - rec["maxrss_before_kib"]) / 1024
            rec["load1"] = load1()
            results[strategy].append(rec)
            log(f"  merge {strategy} round {r + 1}/{rounds}: {rec['wall_s']:.2f} s, peak RSS growth "
                f"{rec['rss_growth_mib']:.0f} MiB")
    total_mib = n_parts * clips_per_part * 128 * 438 * 2 / 2 ** 20
    ratios = [m["wall_s"] / s["wall_s"] for m, s in zip(results["memmap"], results["stream"])]
    return {"parts": n_parts, "clips_per_part": clips_per_part, "features_mib": round(total_mib, 1),
            "memmap_wall_s_median": median(r["wall_s"] for r in results["memmap"]),
            "stream_wall_s_median": median(r["wall_s"] for r in results["stream"]),
            "speedup_stream_over_memmap_median": median(ratios), "speedup_range": spread(ratios),
            "memmap_rss_growth_mib_median": median(r["rss_growth_mib"] for r in results["memmap"]),
            "stream_rss_growth_mib_median": median(r["rss_growth_mib"] for r in results["stream"]),
            "identical_output": digests.get("memmap") == digests.get("stream"), "runs": results}


# --------------------------------------------------------------------------------------------------------
# Build under BLAS environment variants
# --------------------------------------------------------------------------------------------------------

def _build_child(root: str, warm_root: str, out: str, workers: int) -> int:
    from weaklabel.build import BuildConfig, build_dataset

    build_dataset(BuildConfig(corpus="mosei", root=warm_root, allow_empty_splits=True), out + "-warm", workers=1)
    shutil.rmtree(out + "-warm", ignore_errors=True)
    t = time.perf_counter()
    result = build_dataset(BuildConfig(corpus="mosei", root=root, allow_empty_splits=True), out, workers=workers)
    wall = time.perf_counter() - t
    shutil.rmtree(out, ignore_errors=True)
    print(json.dumps({"segments": result.counts.segments, "wall_s": wall}))
    return 0


def measure_build_env(root: Path, warm_root: Path, scratch: Path, rounds: int, workers: int = 2,
                      log=print) -> dict:
    from benchmarks.common import blas_info
    from benchmarks.embed_speed import cpu_has_avx512

    variants = {"default": {}, "OPENBLAS_NUM_THREADS=1": {"OPENBLAS_NUM_THREADS": "1"}}
    if cpu_has_avx512() and any(b["library"] == "openblas" and b["architecture"] == "Haswell" for b in blas_info()):
        variants["OPENBLAS_CORETYPE=SkylakeX"] = {"OPENBLAS_CORETYPE": "SkylakeX"}
        variants["both"] = {"OPENBLAS_CORETYPE": "SkylakeX", "OPENBLAS_NUM_THREADS": "1"}
    rates: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            env = dict(os.environ, **variants[name])
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), str(REPO_ROOT), env.get("PYTHONPATH")]))
            proc = subprocess.run([sys.executable, "-m", "benchmarks.levers", "--build-child", str(root),
                                   str(warm_root), str(scratch / "env-build"), str(workers)],
                                  capture_output=True, text=True, cwd=os.getcwd(), env=env)
            if proc.returncode:
                raise RuntimeError(proc.stderr[-2000:])
            rec = json.loads(proc.stdout.strip().splitlines()[-1])
            rates[name].append(rec["segments"] / rec["wall_s"])
            log(f"  build env round {r + 1}/{rounds} {name}: {rates[name][-1]:.1f} segments/s (load {load1()})")
    out = {"workers": workers, "rounds": rounds, "corpus": display_path(root), "variants": {}}
    for name in names:
        ratios = [x / d for x, d in zip(rates[name], rates["default"])]
        out["variants"][name] = {"env": variants[name], "segments_per_s": rates[name],
                                 "ratio_to_default_median": median(ratios), "ratio_range": spread(ratios)}
    return out


# --------------------------------------------------------------------------------------------------------
# Folded first convolution
# --------------------------------------------------------------------------------------------------------

def grey_images(logmel: np.ndarray) -> np.ndarray:
    """The grey image of ``transfer.embedding.logmel_to_vgg_input`` before the channel copy: (n, H, W, 1)."""
    from transfer.features.vgg16_frames import IMAGE_DB_RANGE

    db = np.asarray(logmel, dtype=np.float32)
    top = db.max(axis=(1, 2), keepdims=True)
    return (np.clip((db - (top - IMAGE_DB_RANGE)) / IMAGE_DB_RANGE, 0.0, 1.0) * 255.0)[..., None]


def folded_model(embedder):
    """A model equal to ``embedder.model`` that takes the one-channel grey image (see module docstring)."""
    import keras
    import tensorflow as tf

    from transfer.features.vgg16_frames import VGG_BGR_MEANS

    base = embedder.model
    conv1 = base.get_layer("block1_conv1")
    kernel, bias = conv1.kernel.numpy(), conv1.bias.numpy()  # (3, 3, 3, 64), (64,)
    h, w = embedder.image_shape
    kernel_sum = kernel.sum(axis=2, keepdims=True)
    kernel_means = np.tensordot(kernel, VGG_BGR_MEANS, axes=([2], [0]))[:, :, None, :]
    bias_map = (bias - tf.nn.conv2d(tf.ones((1, h, w, 1)), kernel_means, 1, "SAME")[0]).numpy()
    bias_map = tf.constant(bias_map)

    class AddBiasRelu(keras.layers.Layer):
        def call(self, x):
            return tf.nn.relu(x + bias_map)

    inputs = keras.Input((h, w, 1))
    x = keras.layers.Conv2D(64, 3, padding="same", use_bias=False, name="block1_conv1_folded")(inputs)
    x = AddBiasRelu()(x)
    after = False
    for layer in base.layers:
        if after:
            x = layer(x)
        if layer.name == "block1_conv1":
            after = True
    model = keras.Model(inputs, x)
    model.get_layer("block1_conv1_folded").set_weights([kernel_sum])
    return model


def measure_folded_conv1(weights, layer: str, batch_size: int, pairs: int, log=print) -> dict:
    import tensorflow as tf

    from benchmarks.embed_speed import synthetic_logmel
    from transfer.features.vgg16 import Embedder
    from transfer.features.vgg16_frames import logmel_to_vgg_input

    embedder = Embedder(weights, layer, image_shape=(128, 438), jit=True, pooling="gap")  # the GAP graph: compared whole
    model = folded_model(embedder)
    forward = tf.function(lambda x: model(x, training=False), jit_compile=True)
    logmel = synthetic_logmel(batch_size, seed=2)
    reference = embedder.embed_logmel(logmel, batch_size=batch_size)
    folded = np.asarray(forward(tf.constant(grey_images(logmel))))
    max_diff = float(np.abs(reference - folded).max())
    scale = float(np.abs(reference).max())

    def run_a():
        return embedder.embed_images(logmel_to_vgg_input(logmel))

    def run_b():
        return np.asarray(forward(tf.constant(grey_images(logmel))))

    ratios = []
    for i in range(pairs):
        order = (run_a, run_b) if i % 2 == 0 else (run_b, run_a)
        times = {}
        for fn in order:
            t = time.perf_counter()
            fn()
            times[fn] = time.perf_counter() - t
        ratios.append(times[run_a] / times[run_b])
    log(f"  folded conv1: max |diff| {max_diff:.3g} (outputs up to {scale:.3g}); speed ratio "
        f"{median(ratios):.3f} (range {spread(ratios)})")
    return {"layer": layer, "batch_size": batch_size, "pairs": pairs, "max_abs_difference": max_diff,
            "max_abs_output": scale, "speedup_median": median(ratios), "speedup_range": spread(ratios),
            "load1": load1()}


def measure_xla(weights, layer: str, batch_size: int, clips: int, pairs: int, log=print) -> dict:
    from benchmarks.embed_speed import synthetic_logmel
    from transfer.features.vgg16 import Embedder

    clips = -(-clips // batch_size) * batch_size
    logmel = synthetic_logmel(clips, seed=3)
    on = Embedder(weights, layer, image_shape=(128, 438), jit=True)
    off = Embedder(weights, layer, image_shape=(128, 438), jit=False)
    a, b = on.embed_logmel(logmel[:batch_size], batch_size), off.embed_logmel(logmel[:batch_size], batch_size)
    rel_diff = float(np.abs(a - b).max() / max(np.abs(a).max(), 1e-30))
    rates = {"on": [], "off": []}
    for i in range(pairs):
        for name in (("on", "off") if i % 2 == 0 else ("off", "on")):
            embedder = on if name == "on" else off
            t = time.perf_counter()
            embedder.embed_logmel(logmel, batch_size=batch_size)
            rates[name].append(clips / (time.perf_counter() - t))
    ratios = [x / y for x, y in zip(rates["off"], rates["on"])]
    log(f"  XLA off / on: {median(ratios):.2f}x (range {spread(ratios)}), clips/s on {rates['on']}, off {rates['off']}; "
        f"max relative difference {rel_diff:.2g}")
    return {"layer": layer, "batch_size": batch_size, "clips_per_run": clips, "pairs": pairs,
            "clips_per_s_jit_on": rates["on"], "clips_per_s_jit_off": rates["off"],
            "speedup_jit_off_over_on_median": median(ratios), "speedup_range": spread(ratios),
            "max_relative_difference": rel_diff, "load1": load1()}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 4 and argv[0] == "--merge-child":
        return _merge_child(argv[1], argv[2], argv[3])
    if len(argv) == 5 and argv[0] == "--build-child":
        return _build_child(argv[1], argv[2], argv[3], int(argv[4]))
    print("internal entry points: --merge-child STRATEGY PARTS_DIR OUT | --build-child ROOT WARM_ROOT OUT WORKERS",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
