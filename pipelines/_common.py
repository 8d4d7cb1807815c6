"""Error handling and progress shared by the pipelines; their options come from config dataclasses
(:class:`foundation.config.CommandLine`).

TensorFlow's C++ start-up notices are hidden by :mod:`transfer.quiet` as soon as :mod:`transfer` is imported,
for the Python API and the command line alike; a command's ``--verbose`` (:func:`transfer.quiet.set_verbose`,
``WEAKLABEL_VERBOSE=1``) shows them.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

LOG_DIR_ENV = "WEAKLABEL_LOG_DIR"


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


#: A progress bar written to a file or pipe prints a line each time it has advanced this share of its total.
PLAIN_PROGRESS_STEP = 0.1


def progress_bar(total: int, desc: str, unit: str, quiet: bool, position: int = 0):
    """A progress bar for ``total`` items: tqdm's on a terminal; plain lines (:class:`PlainProgress`) when standard
    error is a file or a pipe, where tqdm's carriage returns and cursor moves would litter the log."""
    if not quiet and not _stderr_is_terminal():
        return PlainProgress(total, desc)
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=quiet, position=position)


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed
        return False


class PlainProgress:
    """Progress as plain lines on standard error (``segments: 120/480``): one when it starts, one each time
    another :data:`PLAIN_PROGRESS_STEP` of the total is done, and the last one when it closes."""

    def __init__(self, total: int, desc: str):
        self.total, self.desc, self.n, self._shown = total, desc, 0, None
        self._show()

    def _show(self) -> None:
        if self._shown != self.n:
            print(f"{self.desc}: {self.n}/{self.total}", file=sys.stderr, flush=True)
            self._shown = self.n

    def update(self, n: int = 1) -> None:
        step = max(1, math.ceil(self.total * PLAIN_PROGRESS_STEP))
        before, self.n = self.n, self.n + n
        if self.n // step > before // step or self.n >= self.total:
            self._show()

    def close(self) -> None:
        self._show()


class LazyBar:
    """A progress bar (:func:`progress_bar`) created when the total becomes known (``start``), advanced by
    ``update``."""

    def __init__(self, desc: str, unit: str, quiet: bool):
        self.desc, self.unit, self.quiet, self.bar = desc, unit, quiet, None

    def start(self, total: int) -> None:
        self.bar = progress_bar(total, self.desc, self.unit, self.quiet)

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
