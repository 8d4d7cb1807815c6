"""The ``egemaps`` feature extractor: openSMILE's eGeMAPSv02 functionals, 88 per clip, over the clip's speech span.

eGeMAPS (Eyben et al., 2016, "The Geneva Minimalistic Acoustic Parameter Set") is the voice-research community's
standard small set of affect features: pitch (F0 in semitones from 27.5 Hz), jitter, shimmer, loudness, HNR,
formants and their bandwidths, spectral slope and balance, MFCC 1-4, rates of voiced segments, each summarised
over the clip (means, coefficients of variation, percentiles). They are computed by openSMILE's own library
(``libSMILEapi``, in the ``opensmile`` wheel from audEERING: nothing is downloaded) with the ``eGeMAPSv02``
configuration that ships in the same wheel.

**Licence.** openSMILE is under audEERING's research licence: free for research, teaching and personal use;
**commercial use needs a licence from audEERING**. It is therefore an optional extra
(``pip install -e ".[egemaps]"``): the product installs and runs without it, and ``--features egemaps`` without
it fails with one line saying what to install. Every record of a model or result that uses it carries
:data:`LICENCE`.

**Over the speech, not the padding.** A clip of the build is a span of its recording placed in silence
(``clip_source_start_s``/``clip_source_end_s`` in ``segments.parquet``); the functionals are computed over that
span only, decoded again from the recording by the build's own decoder (:class:`weaklabel.audio.AudioReader`,
the same samples the build decoded), so a short sentence's pitch and loudness statistics are not diluted by the
silence its clip was padded with. Decoding again in the embed step rather than in the build's workers is a
measured choice (``reports/benchmarks.md``, feature cost per clip): decoding is a few per cent of the
functionals' cost, and the build stays the same bytes whatever extractor is trained later, with no optional
dependency in it.

Cached like the VGG16 embeddings (by the dataset's feature content, ``embeddings/<key>.npy``) and computed in
chunks of clips on the executor: local worker processes, or Dask workers, one openSMILE instance per process;
each task holds one clip's audio at a time.

**Never beside TensorFlow.** openSMILE's library corrupts the heap (``malloc(): invalid size``, the process
aborts) when it is loaded into a process that imported TensorFlow first (seen with opensmile 2.6.0 and
TensorFlow 2.21 on Linux x86-64; the other order works). So where TensorFlow was loaded first (a training run
that embedded VGG16 first, a saved model scoring files, a Dask worker that ran VGG16 chunks) the functionals are
computed in a child interpreter started fresh (it imports numpy, openSMILE and the audio decoder, never
TensorFlow), kept for the process's later calls; elsewhere in the process itself.
"""
from __future__ import annotations

import importlib.util
import os
from importlib import metadata
from pathlib import Path
from typing import Callable

import numpy as np

from transfer.features.base import FeatureExtractor, NoSettings, chunk_bounds, clip_spans, run_chunks, span_audio

NAME = "egemaps"
FEATURE_SET = "eGeMAPSv02"
FEATURE_LEVEL = "Functionals"
DIM = 88
#: Bumped when the span or the post-processing changes (1: the clip's source span; NaN -> 0).
SPAN_VERSION = 1
#: Clips per task.
CHUNK_CLIPS = 64
#: F0 and loudness statistics are undefined over less audio than a few analysis frames: such a clip gets zeros.
MIN_SECONDS = 0.1
LICENCE = ("openSMILE: audEERING research licence (free for research, teaching and personal use; commercial use "
           "needs a licence from audEERING GmbH)")
#: The columns every record names (the F0 mean and the loudness mean are tested on synthetic tones).
F0_MEAN = "F0semitoneFrom27.5Hz_sma3nz_amean"
LOUDNESS_MEAN = "loudness_sma3_amean"


def package_version() -> str | None:
    try:
        return metadata.version("opensmile")
    except metadata.PackageNotFoundError:
        return None


def unavailable() -> str | None:
    if importlib.util.find_spec("opensmile") is None:
        return ("the opensmile package is not installed; install the extra: pip install -e \".[egemaps]\" "
                "(openSMILE is under audEERING's research licence: commercial use needs theirs)")
    return None


_SMILE = None  # one per process
_SMILE_BEFORE_TENSORFLOW = False  # whether this process loaded openSMILE before TensorFlow (then it may stay here)
_CHILD = None  # the child process that computes where TensorFlow is loaded


def _tensorflow_loaded() -> bool:
    import sys

    return "tensorflow" in sys.modules


def _in_clean_process(function, *args):
    """``function(*args)`` here, or, where TensorFlow is loaded, in a kept child process that never imports it.

    The child is a fresh interpreter (``python -c``, not multiprocessing, which would import the parent's main
    module and with it, perhaps, TensorFlow) that reads pickled calls on its standard input and writes pickled
    results on its standard output, one at a time.
    """
    global _CHILD
    if not _tensorflow_loaded() or (_SMILE is not None and _SMILE_BEFORE_TENSORFLOW):
        return function(*args)
    import pickle
    import subprocess
    import sys
    import threading

    if _CHILD is None or _CHILD[0].poll() is not None:
        child = subprocess.Popen([sys.executable, "-c", "from transfer.features.egemaps import _serve; _serve()"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=str(Path(__file__).parents[2]))
        _CHILD = (child, threading.Lock())
    child, lock = _CHILD
    with lock:
        pickle.dump((function.__name__, args), child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        child.stdin.flush()
        try:
            ok, value = pickle.load(child.stdout)
        except EOFError:
            raise RuntimeError(f"the openSMILE child process ended (exit status {child.wait()})") from None
    if not ok:
        raise value
    return value


def _serve() -> None:
    """The child's loop (:func:`_in_clean_process`): one pickled ``(function name, args)`` in, ``(ok, value)`` out."""
    import pickle
    import sys

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but results on the pipe
    while True:
        try:
            name, args = pickle.load(stdin)
        except EOFError:
            return
        try:
            result = (True, globals()[name](*args))
        except Exception as exc:  # noqa: BLE001 - handed back to the caller, who raises it
            result = (False, exc)
        pickle.dump(result, stdout, protocol=pickle.HIGHEST_PROTOCOL)
        stdout.flush()


def smile():
    """This process's openSMILE extractor for the eGeMAPSv02 functionals, made on first use."""
    global _SMILE, _SMILE_BEFORE_TENSORFLOW
    if _SMILE is None:
        _SMILE_BEFORE_TENSORFLOW = not _tensorflow_loaded()
        import opensmile

        _SMILE = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                                 feature_level=opensmile.FeatureLevel.Functionals)
        if len(_SMILE.feature_names) != DIM:
            raise RuntimeError(f"opensmile's eGeMAPSv02 gives {len(_SMILE.feature_names)} functionals, expected {DIM}")
    return _SMILE


def feature_names() -> list[str]:
    """The 88 functionals' names, in the order of the arrays (from a clean process where TensorFlow is loaded)."""
    return _in_clean_process(_feature_names)


def _feature_names() -> list[str]:
    return list(smile().feature_names)


def functionals(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """The 88 eGeMAPSv02 functionals of one clip's audio ``(n_samples,)`` -> ``(88,)`` float32.

    Less than :data:`MIN_SECONDS` of audio gives zeros; an undefined functional (NaN) is 0. Computed in a clean
    child process where TensorFlow is loaded (module docstring).
    """
    return _in_clean_process(_functionals, samples, sample_rate)


def _functionals(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    samples = np.ascontiguousarray(samples, dtype=np.float32)
    if len(samples) < MIN_SECONDS * sample_rate:
        return np.zeros(DIM, np.float32)
    values = smile().process_signal(samples, sample_rate).to_numpy(dtype=np.float32)[0]
    return np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)


def egemaps_chunk(spans: list[tuple[str, float, float]], sample_rate: int) -> np.ndarray:
    """Task entry point: the functionals of clips given as ``(audio path, start_s, end_s)`` -> ``(n, 88)`` float32.

    Each span is decoded by :class:`weaklabel.audio.AudioReader` (mono, resampled to ``sample_rate``), one clip's
    audio held at a time; consecutive spans of one recording share one open reader. Runs in a clean child process
    where TensorFlow is loaded (module docstring).
    """
    return _in_clean_process(_egemaps_spans, spans, sample_rate)


def _egemaps_spans(spans: list[tuple[str, float, float]], sample_rate: int) -> np.ndarray:
    out = np.zeros((len(spans), DIM), np.float32)
    for i, samples in enumerate(span_audio(spans, sample_rate)):
        out[i] = _functionals(samples, sample_rate)
    return out


def compute(dataset, settings: NoSettings, *, batch_size: int = 16, scheduler: str = "local",
            dask_address: str | None = None, workers: int | None = None, chunk_clips: int | None = None,
            progress: Callable[[int], None] | None = None,
            on_start: Callable[[int], None] | None = None) -> np.ndarray:
    """The functionals of every clip of a built dataset, in chunks on the executor (local processes or Dask)."""
    spans = clip_spans(dataset)
    if on_start:
        on_start(len(spans))
    sample_rate = dataset.config.mel.sample_rate
    chunks = chunk_bounds(len(spans), chunk_clips or CHUNK_CLIPS, 1)
    tasks = [(spans[start:stop], sample_rate) for start, stop in chunks]
    processes = max(1, min(workers or os.cpu_count() or 1, len(tasks)))  # openSMILE is single-threaded
    parts = run_chunks(egemaps_chunk, tasks, scheduler=scheduler, dask_address=dask_address, processes=processes,
                       progress=progress)
    return np.concatenate(parts) if parts else np.zeros((0, DIM), np.float32)


class EgemapsClipEmbedder:
    """:class:`transfer.features.base.ClipEmbedder`: the functionals of each clip's samples (no log-mel)."""

    needs_logmel = False
    needs_audio = True
    dim = DIM

    def __init__(self, sample_rate: int):
        self.sample_rate = int(sample_rate)

    def embed(self, samples, logmel=None, batch_size: int = 16) -> np.ndarray:
        return _in_clean_process(_functionals_many, [np.asarray(s, np.float32) for s in samples], self.sample_rate)


def _functionals_many(samples: list[np.ndarray], sample_rate: int) -> np.ndarray:
    out = np.zeros((len(samples), DIM), np.float32)
    for i, clip in enumerate(samples):
        out[i] = _functionals(clip, sample_rate)
    return out


def clip_embedder(settings: NoSettings, mel, clip_seconds: float) -> EgemapsClipEmbedder:
    return EgemapsClipEmbedder(mel.sample_rate)


def version() -> str:
    return f"{FEATURE_SET}-{FEATURE_LEVEL.lower()}-opensmile{package_version() or '(not installed)'}-span{SPAN_VERSION}"


def key(settings: NoSettings) -> str:
    return f"{NAME}_{FEATURE_SET}_{FEATURE_LEVEL.lower()}_opensmile{package_version() or 'none'}_span{SPAN_VERSION}"


def cache_record(settings: NoSettings) -> dict:
    return {"key": key(settings), "backbone": NAME, "layer": None, "pooling": FEATURE_LEVEL.lower(),
            "pooling_description": "openSMILE functionals over the clip's speech span (padding excluded)",
            "image_version": None, "feature_set": FEATURE_SET, "licence": LICENCE}


def settings_record(settings: NoSettings) -> dict:
    return {"feature_set": FEATURE_SET, "feature_level": FEATURE_LEVEL, "span": "clip source span",
            "span_version": SPAN_VERSION, "opensmile": package_version()}


EGEMAPS = FeatureExtractor(
    name=NAME, version=version(),
    description="openSMILE eGeMAPSv02 functionals (88 voice parameters per clip: pitch, jitter, shimmer, loudness, "
                "formants, spectral balance) over the clip's speech span; the optional [egemaps] extra, audEERING's "
                "research licence",
    reads="audio", key=key, cache_record=cache_record, settings_record=settings_record, compute=compute,
    clip_embedder=clip_embedder, unavailable=unavailable, licence=LICENCE,
    describe=lambda settings: f"{FEATURE_SET} functionals",
    provenance={"package": "opensmile", "package_version": package_version(), "publisher": "audEERING GmbH",
                "binary": "libSMILEapi (openSMILE 3), in the opensmile wheel", "configuration":
                f"{FEATURE_SET}.conf, in the opensmile wheel", "reference": "Eyben et al. (2016), IEEE Trans. "
                "Affective Computing 7(2): the Geneva Minimalistic Acoustic Parameter Set"})
