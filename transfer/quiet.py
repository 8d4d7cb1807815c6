"""TensorFlow's C++ start-up notices hidden from everything that uses this package, library and command line alike.

Importing :mod:`transfer` (which every module that imports TensorFlow belongs to) calls
:func:`quiet_tensorflow_import`: ``TF_CPP_MIN_LOG_LEVEL=2``, and an import hook that runs the first
``import tensorflow`` (and its device discovery) with standard error captured at the file-descriptor level,
writing back every line except the notices a user can do nothing about (oneDNN, CPU features, "Could not
find cuda drivers", the ``E0000 … failed call to cuInit`` of a machine without a GPU;
:func:`filtered_stderr`), so real errors still show. The hook costs nothing until TensorFlow is imported,
and imports nothing itself.

``WEAKLABEL_VERBOSE=1`` (the command line's ``--verbose``, :func:`set_verbose`) shows everything.
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile
from contextlib import contextmanager

__all__ = ["TF_NOISE", "VERBOSE_ENV", "filtered_stderr", "quiet_tensorflow_import", "set_verbose", "verbose"]

VERBOSE_ENV = "WEAKLABEL_VERBOSE"

#: TensorFlow's start-up notices: informational lines a user can do nothing about.
TF_NOISE = re.compile(
    r"failed call to cuInit|Could not find cuda drivers|cudart_stub|oneDNN custom operations are on"
    r"|All log messages before absl::InitializeLog|cpu_feature_guard|This TensorFlow binary is optimized"
    r"|To enable the following instructions|rebuild TensorFlow with the appropriate compiler flags"
    r"|Unable to register cu(?:DNN|FFT|BLAS) factory|TF-TRT Warning|Could not find TensorRT"
    r"|computation placer already registered|CUDA_ERROR_NO_DEVICE")


def verbose() -> bool:
    """True when the user asked for TensorFlow's own output (``WEAKLABEL_VERBOSE`` set and not 0)."""
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


def set_verbose() -> None:
    """Show TensorFlow's C++ log (for ``--verbose``; takes effect if TensorFlow is not imported yet)."""
    os.environ[VERBOSE_ENV] = "1"
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"


@contextmanager
def filtered_stderr(noise: re.Pattern = TF_NOISE):
    """Capture file descriptor 2 (what C++ libraries write, too) and, on exit, write back every line that
    ``noise`` does not match."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (e.g. a closed or replaced descriptor): nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode("utf-8", "replace").splitlines(keepends=True)
            kept = "".join(line for line in lines if not noise.search(line))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


class _QuietLoader(importlib.abc.Loader):
    """Runs TensorFlow's own loader, and its device discovery, inside :func:`filtered_stderr`."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        with filtered_stderr():
            self._loader.exec_module(module)
            try:  # device discovery is where a CPU-only machine logs its failed cuInit
                module.config.list_physical_devices()
            except Exception:  # noqa: BLE001 - a broken install shows its error when it is used
                pass
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Wraps the loader of the first ``import tensorflow`` in :class:`_QuietLoader` (unless :func:`verbose`)."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)  # once: the search below, and later imports, see the normal finders
        if verbose():
            return None
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _QuietLoader(spec.loader)
        return spec


def quiet_tensorflow_import() -> None:
    """Hide TensorFlow's start-up notices from the first ``import tensorflow`` on (unless :func:`verbose`):
    ``TF_CPP_MIN_LOG_LEVEL=2`` where the environment does not set it, and the import hook (module docstring).
    Does nothing when TensorFlow is already imported or the hook already installed."""
    if verbose():
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietTensorFlowImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowImport())
