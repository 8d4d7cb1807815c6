"""Paths: whether one names a regular file, its absolute form even when it cannot be resolved, and how outputs show it.

A path a corpus names can be anything: a FIFO, ``/dev/zero`` or another device (an open, or a read, that
waits or never ends), a folder, a loop of symbolic links. :func:`require_regular_file` looks at the file type
with ``os.stat`` (which opens nothing) before anything opens or hashes it; every reader of audio and every
file hash goes through it. :func:`resolved_path` resolves a path without raising on a loop.
:func:`display_path` is a path as a reader of an output should see it: the same on every machine where that can
be so (relative to the working folder, or ``~/...``).
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


class NotRegularFileError(OSError):
    """The path exists but is not a regular file (a FIFO, a device, a socket, a folder, a loop of links)."""


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def require_regular_file(path: str | os.PathLike) -> None:
    """Return when ``path`` (symbolic links followed) is a regular file; open nothing.

    Raises
    ------
    FileNotFoundError
        Nothing is there (a dangling link included).
    NotRegularFileError
        Something that is not a regular file is there, or a loop of symbolic links; the message says which
        and that it was not opened.
    """
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise FileNotFoundError(f"no such file: {path}") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotRegularFileError(f"{path} is a loop of symbolic links, not a file") from None
        raise
    if stat.S_ISREG(mode):
        return
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    raise NotRegularFileError(f"{path} is {kind}, not a regular file: it was not opened (reading it could wait, "
                              "or go on, forever)")


def resolved_path(path: str | os.PathLike) -> str:
    """``path`` made absolute with its symbolic links resolved; absolute but unresolved where a loop of links
    (or an unreadable folder) stops the resolution."""
    try:
        return str(Path(path).resolve())
    except (OSError, RuntimeError):  # RuntimeError: a loop of links (Python before 3.13)
        return os.path.abspath(path)


def display_path(path: str | Path | None) -> str | None:
    """``path`` relative to the working directory when inside it (the checkout, for the committed results, which
    are written from its root), else ``~/...`` when inside the home folder, else absolute; None stays None.

    Examples
    --------
    >>> display_path(Path.cwd() / "build" / "demo")
    'build/demo'
    >>> display_path(Path.home() / ".cache" / "weaklabel")
    '~/.cache/weaklabel'
    """
    if path is None:
        return None
    resolved = Path(resolved_path(Path(path).expanduser()))
    for base, shown in ((Path.cwd().resolve(), ""), (Path.home().resolve(), "~")):
        try:
            inside = resolved.relative_to(base)
        except ValueError:
            continue
        return str(Path(shown) / inside) if shown else (str(inside) or ".")
    return str(resolved)


#: The environment variable that moves the product's cache folder (converted weights, assembled models, the
#: sentence cache).
CACHE_ENV = "WEAKLABEL_CACHE"


def user_cache_dir() -> Path:
    """The product's cache folder: ``$WEAKLABEL_CACHE``, else ``~/.cache/weaklabel`` (created by its writers)."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "weaklabel"
