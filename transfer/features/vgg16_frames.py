"""VGG16's input images and frames, in NumPy (no TensorFlow): log-mel clips as VGG16 images
(:func:`logmel_to_vgg_input`, version :data:`IMAGE_VERSION`), the cut layer's receptive field and output width,
the frames that hold audio and the input window they need, batches of clips of similar width, and band pooling
over audio frames (:mod:`transfer.features.vgg16` describes each step)."""
from __future__ import annotations

import numpy as np

#: The image conversion's version (part of the embeddings' cache key): per-clip dB range, three grey channels, VGG
#: preprocessing.
IMAGE_VERSION = 1
IMAGE_DB_RANGE = 80.0  # dB below the clip's loudest bin that map to 0
VGG_BGR_MEANS = np.array([103.939, 116.779, 123.68], dtype=np.float32)
#: Frequency bands of band pooling.
DEFAULT_N_BANDS = 4
#: A log-mel frame whose loudest band is at or below this level (dB) is padding or digital silence.
SILENCE_DB = -99.0
#: Speech-only frames: batch widths are the clip width minus a multiple of this many frames (fewer distinct
#: shapes for oneDNN and tf.function; a multiple of every cut layer's stride up to block5).
WIDTH_QUANTUM = 16
#: VGG16's layers in order, as (name, kind): 3x3 'same' convolutions and 2x2 stride-2 max pools.
VGG16_LAYERS = tuple((f"block{b}_{kind}{i if kind == 'conv' else ''}", kind)
                     for b, n in enumerate((2, 2, 3, 3, 3), 1)
                     for i, kind in [*((j, "conv") for j in range(1, n + 1)), (0, "pool")])


def layers_to(layer: str) -> list[tuple[str, str]]:
    names = [name for name, _ in VGG16_LAYERS]
    if layer not in names:
        raise ValueError(f"VGG16 has no layer {layer!r}; layers: {', '.join(names)}")
    return list(VGG16_LAYERS[:names.index(layer) + 1])


def receptive_field(layer: str) -> tuple[int, int, int]:
    """``(stride, before, after)`` of VGG16 cut at ``layer`` along one axis: output ``j`` of the cut layer is
    computed from input positions ``stride*j - before`` to ``stride*j + after`` (inclusive), and from nothing else.

    Each 3x3 'same' convolution widens the field by one position of its input on each side; each 2x2 stride-2 pool
    adds one position of its input after and doubles the stride. At ``block2_conv2``: stride 2, 6 before and 7 after,
    a field of 14 frames.

    >>> receptive_field("block2_conv2")
    (2, 6, 7)
    >>> receptive_field("block1_conv1")
    (1, 1, 1)
    """
    stride, before, after = 1, 0, 0
    for _, kind in layers_to(layer):
        if kind == "conv":
            before, after = before + stride, after + stride
        else:
            after += stride
            stride *= 2
    return stride, before, after


def output_width(width: int, layer: str) -> int:
    """Frames of the cut layer's output for an input ``width`` frames wide (each pool floors)."""
    for _, kind in layers_to(layer):
        if kind == "pool":
            width //= 2
    return width


def speech_windows(layer_mask: np.ndarray, layer: str, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """The input frames each clip's pooled output frames need: ``(starts, widths)``, both ``(n,)``.

    ``layer_mask`` ``(n, output_width(n_frames))`` marks the cut layer's frames that band pooling averages
    (:func:`frames_at_layer`; a clip with none: all). The window runs from the receptive field's start of the first
    marked frame, rounded down to the stride (so the pools see the same pairs of frames as in the whole image), to
    the field's end of the last one, within the clip; computed over that window, the marked frames come out as they
    do from the whole image (the window's edges, where the convolutions' zero padding differs, lie outside every
    marked frame's field).
    """
    stride, before, after = receptive_field(layer)
    mask = np.asarray(layer_mask, dtype=bool).copy()
    mask[~mask.any(axis=1)] = True
    first = mask.argmax(axis=1)
    last = mask.shape[1] - 1 - mask[:, ::-1].argmax(axis=1)
    starts = np.maximum(0, stride * first - before) // stride * stride
    stops = np.minimum(n_frames, stride * last + after + 1)
    return starts.astype(np.int64), (stops - starts).astype(np.int64)


def plan_batches(widths: np.ndarray, batch_size: int, n_frames: int, quantum: int = WIDTH_QUANTUM
                 ) -> list[tuple[np.ndarray, int]]:
    """Batches of clips of similar width: ``[(clip indices, batch width)]``.

    Clips are sorted by the width they need (stably, so ties keep their order) and cut into consecutive batches of
    ``batch_size``; each batch is as wide as its widest clip, rounded up so that the clip's width minus it is a
    multiple of ``quantum`` (then a window moved left to fit the clip still starts on the stride). Deterministic:
    the same widths give the same batches.
    """
    widths = np.asarray(widths, dtype=np.int64)
    order = np.argsort(widths, kind="stable")
    out = []
    for first in range(0, len(order), batch_size):
        members = order[first:first + batch_size]
        need = int(widths[members].max())
        width = n_frames - quantum * ((n_frames - need) // quantum)
        out.append((members, width))
    return out


def logmel_to_vgg_input(logmel: np.ndarray) -> np.ndarray:
    """Convert log-mel clips (dB) to VGG16 input images.

    Parameters
    ----------
    logmel : array, shape (n, n_mels, n_frames)
        Log-mel power in dB (any float dtype).

    Returns
    -------
    ndarray, shape (n, n_mels, n_frames, 3), float32, VGG-preprocessed (BGR, means subtracted).
    """
    db = np.asarray(logmel, dtype=np.float32)
    if db.ndim != 3:
        raise ValueError(f"expected log-mel clips of shape (n, n_mels, n_frames), got {db.shape}")
    top = db.max(axis=(1, 2), keepdims=True)
    grey = np.clip((db - (top - IMAGE_DB_RANGE)) / IMAGE_DB_RANGE, 0.0, 1.0) * 255.0
    # Grey is identical in the three channels, so BGR order only matters for the means.
    return grey[..., None] - VGG_BGR_MEANS


def speech_frames(logmel: np.ndarray, silence_db: float = SILENCE_DB) -> np.ndarray:
    """Which frames of log-mel clips hold audio: ``(n, n_mels, n_frames)`` dB -> ``(n, n_frames)`` bool.

    Padding is stored as exactly -100 dB in every band; a frame whose loudest band is above ``silence_db``
    holds audio.
    """
    return np.asarray(logmel, dtype=np.float32).max(axis=1) > silence_db


def frames_at_layer(mask: np.ndarray, n_out: int) -> np.ndarray:
    """Resample a frame mask ``(n, n_in)`` to a layer's time axis ``(n, n_out)``.

    Output frame ``j`` covers input frames ``[floor(j n_in / n_out), ceil((j + 1) n_in / n_out))`` and holds
    audio when any of them does.
    """
    n_in = mask.shape[1]
    starts = (np.arange(n_out) * n_in) // n_out
    stops = np.maximum(-(-(np.arange(1, n_out + 1) * n_in) // n_out), starts + 1)
    cumulative = np.concatenate([np.zeros((mask.shape[0], 1), np.int32), np.cumsum(mask, axis=1, dtype=np.int32)], 1)
    return (cumulative[:, stops] - cumulative[:, starts]) > 0


def band_pool(feature_map: np.ndarray, frame_mask: np.ndarray, n_bands: int = DEFAULT_N_BANDS) -> np.ndarray:
    """Mean and standard deviation over time, per frequency band and channel, over audio frames only.

    Parameters
    ----------
    feature_map : array (n, rows, frames, channels)
        A convolution layer's output; rows run from low to high frequency.
    frame_mask : bool array (n, frames)
        Frames that hold audio (:func:`frames_at_layer`); a clip with none uses all its frames.
    n_bands : int
        Contiguous groups of rows (``numpy.array_split``: as equal as the row count allows).

    Returns
    -------
    ndarray (n, 2 * n_bands * channels), float32: the band means (band-major: band 0's channels first),
    then the band standard deviations in the same order.
    """
    fm = np.asarray(feature_map, dtype=np.float32)
    n, rows, frames, channels = fm.shape
    if n_bands < 1 or n_bands > rows:
        raise ValueError(f"cannot split {rows} feature rows into {n_bands} bands")
    mask = np.asarray(frame_mask, dtype=bool).copy()
    mask[~mask.any(axis=1)] = True
    weight = mask.astype(np.float32)[:, None, :, None]  # (n, 1, frames, 1)
    count = weight.sum(axis=2)  # (n, 1, 1)
    bands = np.stack([fm[:, rows_].mean(axis=1) for rows_ in np.array_split(np.arange(rows), n_bands)], axis=1)
    mean = (bands * weight).sum(axis=2) / count  # (n, n_bands, channels)
    var = (np.square(bands - mean[:, :, None]) * weight).sum(axis=2) / count
    return np.concatenate([mean.reshape(n, -1), np.sqrt(np.maximum(var, 0.0)).reshape(n, -1)], axis=1)
