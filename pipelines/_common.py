"""Error handling and progress shared by the pipelines; their options come from config dataclasses
(:class:`foundation.config.CommandLine`).

TensorFlow's C++ start-up notices are hidden by :mod:`transfer.quiet` as soon as :mod:`transfer` is imported,
for the Python API and the command line alike; a command's ``--verbose`` (:func:`transfer.quiet.set_verbose`,
``WEAKLABEL_VERBOSE=1``) shows them.
"""
from __future__ import annotations

import argparse
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
