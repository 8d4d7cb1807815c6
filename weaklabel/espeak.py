"""eSpeak NG through :mod:`ctypes`: the shared library and data that ship inside the ``espeakng-loader`` wheel,
loaded as a private, freshly initialised copy per :class:`ESpeak` so that its output depends only on what that
instance synthesised (the demo corpus, :mod:`weaklabel.demo`, is byte-reproducible because of it)."""
from __future__ import annotations

import ctypes
import os
import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np


# eSpeak NG speak_lib.h constants.
_AUDIO_OUTPUT_SYNCHRONOUS = 2  # espeak_AUDIO_OUTPUT: PLAYBACK=0, RETRIEVAL=1, SYNCHRONOUS=2, SYNCH_PLAYBACK=3
_INITIALIZE_DONT_EXIT = 0x8000  # espeakINITIALIZE_DONT_EXIT: return an error instead of calling exit()
_POS_CHARACTER = 1  # espeak_POSITION_TYPE
_CHARS_UTF8 = 1  # espeakCHARS_UTF8
_PARAM_RATE, _PARAM_VOLUME, _PARAM_PITCH, _PARAM_RANGE = 1, 2, 3, 4  # espeak_PARAMETER
_EE_OK = 0

_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
ENGINE_LOCK = threading.Lock()  # one ESpeak instance at a time in this process


def _espeak_paths() -> tuple[Path, Path]:
    """Paths of the eSpeak NG shared library and its data directory inside ``espeakng-loader``."""
    try:
        import espeakng_loader
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise RuntimeError(
            "the demo corpus needs the eSpeak NG library from the 'espeakng-loader' package, "
            f"which cannot be imported: {exc}"
        ) from exc
    lib_path = Path(espeakng_loader.get_library_path())
    try:
        data_path = Path(espeakng_loader.get_data_path())
    except RuntimeError as exc:
        raise RuntimeError(f"eSpeak NG data directory missing from espeakng-loader: {exc}") from exc
    if not lib_path.is_file():
        raise RuntimeError(f"eSpeak NG shared library not found at {lib_path} (espeakng-loader install broken?)")
    return lib_path, data_path


def espeak_version() -> str:
    """Return the version string of the bundled eSpeak NG library, e.g. ``"1.52.0"``.

    Raises
    ------
    RuntimeError
        When the library cannot be found or loaded.
    """
    lib_path, _ = _espeak_paths()
    try:
        lib = ctypes.CDLL(str(lib_path))
    except OSError as exc:
        raise RuntimeError(f"cannot load the eSpeak NG library {lib_path}: {exc}") from exc
    lib.espeak_Info.restype = ctypes.c_char_p
    lib.espeak_Info.argtypes = [ctypes.c_void_p]
    return (lib.espeak_Info(None) or b"unknown").decode("utf-8", "replace")


class ESpeak:
    """A private, freshly initialised instance of the eSpeak NG library.

    eSpeak keeps synthesis state in C globals that no API call resets (pitch-flutter phase, gain
    control, echo buffer), so its output depends on everything synthesised earlier in the process. To
    make the demo reproducible, each instance loads its own copy of the shared library (a unique file
    name makes the dynamic loader map fresh globals), and :meth:`synth` reseeds eSpeak's noise generator
    (``espeak_ng_SetRandSeed``, used by breathy voices) before every sentence. Use one instance at a
    time, sequentially (:data:`ENGINE_LOCK`).

    Raises
    ------
    RuntimeError
        When the library cannot be copied, loaded or initialised, or fails a test synthesis.
    """

    def __init__(self) -> None:
        lib_path, data_path = _espeak_paths()
        self._tmpdir = tempfile.mkdtemp(prefix="weaklabel-espeak-")
        self._lib = None
        try:
            private = Path(self._tmpdir) / "libespeak-ng-private.so"
            shutil.copyfile(lib_path, private)
            try:
                lib = ctypes.CDLL(str(private), mode=getattr(os, "RTLD_LOCAL", 0))
            except OSError as exc:
                raise RuntimeError(f"cannot load the eSpeak NG library {lib_path}: {exc}") from exc
            self._lib = lib
            self._declare(lib)
            self.sample_rate = lib.espeak_Initialize(
                _AUDIO_OUTPUT_SYNCHRONOUS, 0, str(data_path).encode(), _INITIALIZE_DONT_EXIT
            )
            if self.sample_rate <= 0:
                raise RuntimeError(
                    f"espeak_Initialize failed (returned {self.sample_rate}) with data directory {data_path}"
                )
            self.version = (lib.espeak_Info(None) or b"unknown").decode("utf-8", "replace")
            self._chunks: list[np.ndarray] = []
            self._callback = _SYNTH_CALLBACK(self._on_audio)  # keep a reference for the C side
            lib.espeak_SetSynthCallback(self._callback)
            probe = self.synth("test", "en-us", rate=175, pitch=50, pitch_range=50, rand_seed=1)
            if probe.size == 0 or not np.any(probe):
                raise RuntimeError(
                    f"eSpeak NG produced no audio in a test synthesis (data directory {data_path})"
                )
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _declare(lib: ctypes.CDLL) -> None:
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Info.restype = ctypes.c_char_p
        lib.espeak_Info.argtypes = [ctypes.c_void_p]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_Synchronize.restype = ctypes.c_int
        lib.espeak_Terminate.restype = ctypes.c_int
        if hasattr(lib, "espeak_ng_SetRandSeed"):
            lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]

    def _on_audio(self, wav, n_samples, events) -> int:
        if wav and n_samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n_samples,)).copy())
        return 0  # 0 = continue synthesis

    def synth(self, text: str, voice: str, *, rate: int, pitch: int, pitch_range: int,
              rand_seed: int) -> np.ndarray:
        """Synthesise one sentence.

        Parameters
        ----------
        text : str
            The sentence (UTF-8 text, no markup).
        voice : str
            eSpeak voice name, e.g. ``"en-us+f2"``.
        rate : int
            Speaking rate, words per minute (eSpeak accepts 80-450).
        pitch, pitch_range : int
            eSpeak pitch and pitch-range parameters, 0-99.
        rand_seed : int
            Seed for eSpeak's noise generators (breathy voices), 0 <= seed < 2**31.

        Returns
        -------
        numpy.ndarray of int16
            Mono samples at :attr:`sample_rate` Hz (22050), eSpeak's own edge silence included.
        """
        lib = self._lib
        status = lib.espeak_SetVoiceByName(voice.encode())
        if status != _EE_OK:
            raise RuntimeError(f"eSpeak NG has no voice {voice!r} (espeak_SetVoiceByName returned {status})")
        for parameter, value in ((_PARAM_RATE, rate), (_PARAM_VOLUME, 100),
                                 (_PARAM_PITCH, pitch), (_PARAM_RANGE, pitch_range)):
            status = lib.espeak_SetParameter(parameter, int(value), 0)
            if status != _EE_OK:
                raise RuntimeError(f"espeak_SetParameter({parameter}, {value}) returned {status}")
        if hasattr(lib, "espeak_ng_SetRandSeed"):
            lib.espeak_ng_SetRandSeed(rand_seed)
        self._chunks = []
        data = text.encode("utf-8") + b"\0"
        status = lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if status != _EE_OK:
            raise RuntimeError(f"espeak_Synth failed with status {status} on {text!r}")
        lib.espeak_Synchronize()
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        self._chunks = []
        return audio

    def close(self) -> None:
        """Terminate the instance, unload its library copy and delete the copy."""
        lib, self._lib = self._lib, None
        if lib is not None:
            try:
                lib.espeak_Terminate()
            finally:
                try:
                    import _ctypes
                    _ctypes.dlclose(lib._handle)
                except (ImportError, AttributeError, OSError):  # pragma: no cover
                    pass
        shutil.rmtree(self._tmpdir, ignore_errors=True)

    def __enter__(self) -> "ESpeak":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
