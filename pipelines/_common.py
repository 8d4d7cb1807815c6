"""Error handling and progress shared by the pipelines; their options come from config dataclasses
(:class:`foundation.config.CommandLine`).

On import, it hides TensorFlow's C++ start-up notices (oneDNN, CPU features, "Could not find cuda
drivers", the ``E0000 … failed call to cuInit`` of a machine without a GPU): ``TF_CPP_MIN_LOG_LEVEL=2``,
and an import hook runs the first ``import tensorflow`` (and its device discovery) with standard error
captured at the file-descriptor level, writing back every line except those notices
(:func:`filtered_stderr`), so real errors still show. The hook costs nothing until TensorFlow is imported.
``WEAKLABEL_VERBOSE=1`` (``--verbose``) shows everything.
"""
from __future__ import annotations

import argparse
import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

VERBOSE_ENV = "WEAKLABEL_VERBOSE"
LOG_DIR_ENV = "WEAKLABEL_LOG_DIR"

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


if not verbose():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietTensorFlowImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowImport())


def add_dataset_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", type=Path, default=Path("build/demo"),
                        help="a folder written by pipelines.build_dataset (default: %(default)s)")


def printer(quiet: bool):
    """``print`` (flushed) unless ``quiet``: the ``log`` the library functions take."""
    return (lambda message: None) if quiet else (lambda message: print(message, flush=True))


def run_command(cli, argv: list[str] | None, step) -> int:
    """Parse ``argv`` with ``cli`` (:class:`foundation.config.CommandLine`), build its configs and return
    ``step(args, **configs)``; a config that rejects its values is a one-line error (exit status 2)."""
    args, values = cli.parse(argv)
    try:
        configs = cli.configs(values)
    except ValueError as exc:
        return fail(str(exc))
    return step(args, **configs)


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def add_debug_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--debug", action="store_true",
                        help="print the full traceback of an error (it is otherwise written to a log file named "
                             f"in the error message: ${LOG_DIR_ENV}, or weaklabel-logs/ in the temporary folder)")


def write_traceback_log(step: str, exc: BaseException) -> Path | None:
    """Write ``exc``'s full traceback to a new log file; its path, or None when no file could be written.

    The folder is ``$WEAKLABEL_LOG_DIR``, else ``weaklabel-logs`` in the system's temporary folder; the name
    is ``<step>-<YYYYmmdd-HHMMSS>-<pid>.log``.
    """
    folder = Path(os.environ.get(LOG_DIR_ENV) or Path(tempfile.gettempdir()) / "weaklabel-logs")
    path = folder / f"{step}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(f"python -m pipelines ... {' '.join(sys.argv[1:])}\n")
            handle.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    except OSError:
        return None
    return path


def report_error(message: str, exc: BaseException | None = None, show_traceback: bool = False,
                 log_step: str | None = None) -> int:
    """Print ``error: message`` on one line and return exit status 2.

    ``log_step``: also write ``exc``'s traceback to a log file (:func:`write_traceback_log`) and name it in
    the line; ``show_traceback`` (``--debug``): print the traceback to standard error first.
    """
    if exc is not None and show_traceback:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    elif exc is not None and log_step:
        log = write_traceback_log(log_step, exc)
        if log is not None:
            message = f"{message} (full traceback in {log}; --debug prints it)"
    return fail(" ".join(message.split("\n")))


class LazyBar:
    """A tqdm bar created when the total becomes known (``start``), advanced by ``update``."""

    def __init__(self, desc: str, unit: str, quiet: bool):
        self.desc, self.unit, self.quiet, self.bar = desc, unit, quiet, None

    def start(self, total: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc=self.desc, unit=self.unit, disable=self.quiet)

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
