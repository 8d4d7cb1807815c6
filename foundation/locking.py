"""One writer per output folder: an OS lock (``fcntl.flock``) on a file in the folder, held while a step writes.

A build holds its output folder's lock for the whole build; the embedding, the training, the re-labelling and
the label-quality report hold the dataset folder's while they write into it (:func:`writes_into` marks such a
function). A second writer does not wait: it stops at once with :class:`FolderBusyError`, whose one-line
message names the holder as the holder wrote itself into the lock file (process id, step, command, start
time, host). Waiting silently behind a build that may run for hours would look like a hang, and the second
build would then find the first one's result up to date anyway.

The kernel releases the lock when the holding process ends, however it ends (``kill -9`` included), so a
lock file left by a dead process blocks nobody: the next writer locks it and writes its own name into it.
Worker processes forked while the lock is held close their copy of it (:func:`os.register_at_fork`), so a
build's workers that outlive it never keep its folder locked (from the moment each child first runs: one killed
together with its parent before it was ever scheduled holds the lock until it runs and closes it). The holder removes the lock file when it is
done (it unlinks it while still holding it, and a writer that locked a file no longer in the folder tries
again), so a finished folder holds only what the steps wrote.

Within one thread the lock is re-entrant: a step that runs another (the training embeds first) or a run of
several steps (``pipelines.run``) takes each folder's lock once; another thread of the process is refused
like another process. Where no lock can be taken (a read-only
folder, a filesystem without ``flock``) the step runs without one: nothing else can write there either, or
nothing could be done about it.
"""
from __future__ import annotations

import errno
import fcntl
import functools
import inspect
import json
import os
import socket
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

#: The lock file in a folder being written (hidden: a corpus walk never reads it).
LOCK_FILE = ".weaklabel.lock"
#: Errors of a filesystem that cannot lock, or a folder where no lock file can be made: run without a lock.
_CANNOT_LOCK = (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EROFS, errno.EACCES, errno.EPERM)

_HELD: dict[str, list] = {}  # real folder path -> [lock file descriptor, depth, holding thread's id]
_HELD_GUARD = threading.Lock()


class FolderBusyError(OSError):
    """Another process is writing into the folder (it holds the folder's lock); the message names it."""


def _holder_record(step: str) -> bytes:
    return json.dumps({"pid": os.getpid(), "step": step, "command": " ".join(sys.argv),
                       "started": time.strftime("%Y-%m-%d %H:%M:%S %z"), "host": socket.gethostname()}).encode()


def holder_text(raw: bytes) -> str:
    """The holder a lock file's bytes name, in words (its record may be missing: it is written just after the
    lock is taken)."""
    try:
        holder = json.loads(raw.decode("utf-8"))
        command = str(holder.get("command", ""))
        command = command if len(command) <= 160 else command[:157] + "..."
        return (f"process {holder.get('pid')} ({holder.get('step')}, started {holder.get('started')} on "
                f"{holder.get('host')}: {command})")
    except (ValueError, AttributeError):
        return "another process (it has not written its name yet)"


def _acquire(folder: Path, step: str) -> int | None:
    """Lock ``folder`` for this process: the lock file's descriptor, or None where no lock can be taken."""
    path = folder / LOCK_FILE
    while True:
        try:
            fd = _open_lock_file(path)
        except OSError as exc:
            if exc.errno in _CANNOT_LOCK:
                return None
            raise
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = holder_text(os.pread(fd, 4096, 0))
            os.close(fd)
            raise FolderBusyError(f"{folder} is being written by {holder}; one writer per folder: wait for it to "
                                  "finish, or write elsewhere") from None
        except OSError as exc:
            os.close(fd)
            if exc.errno in _CANNOT_LOCK:
                return None
            raise
        try:
            current = os.stat(path)
        except FileNotFoundError:
            current = None
        locked = os.fstat(fd)
        if current is not None and (current.st_dev, current.st_ino) == (locked.st_dev, locked.st_ino):
            break
        os.close(fd)  # the holder removed that file as we locked it: lock the one there now
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, _holder_record(step), 0)
    except OSError:  # opened read-only (another user's lock file): locked, unnamed
        pass
    return fd


def _open_lock_file(path: Path) -> int:
    """The lock file's descriptor: read-write (created when absent), or read-only where another user's file
    cannot be written (``flock`` needs no more)."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except PermissionError as exc:
        try:
            return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:  # a folder no lock file can be made in: nobody writes there but its owner
            raise exc from None


@contextmanager
def folder_lock(folder: str | os.PathLike, step: str) -> Iterator[None]:
    """Hold ``folder``'s writer lock (creating the folder) for the block; re-entrant within this thread.

    Parameters
    ----------
    folder : path
        The output folder. One this call creates is removed again when it is still empty at the end (a build
        that stopped before writing anything leaves nothing behind).
    step : str
        What is writing (``"build"``, ``"embed"``...), for the message another writer gets.

    Raises
    ------
    FolderBusyError
        Another process holds the lock; the message names it.
    """
    folder = Path(folder)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    key = os.path.realpath(folder)
    with _HELD_GUARD:
        held = _HELD.get(key)
        if held is not None and held[2] != threading.get_ident():
            raise FolderBusyError(f"{folder} is being written by another thread of this process; one writer per "
                                  "folder")
        if held is not None:
            held[1] += 1
        else:
            fd = _acquire(folder, step)
            if fd is not None:
                _HELD[key] = held = [fd, 1, threading.get_ident()]
    try:
        yield
    finally:
        with _HELD_GUARD:
            if held is not None:
                held[1] -= 1
                if held[1] == 0:
                    del _HELD[key]
                    try:
                        os.unlink(folder / LOCK_FILE)  # while still holding it: see the module docstring
                    except OSError:  # gone already, or a folder this process may not change
                        pass
                    os.close(held[0])
        if created:
            try:
                folder.rmdir()
            except OSError:  # it holds what the step wrote
                pass


def writes_into(parameter: str, step: str) -> Callable[[Callable], Callable]:
    """Decorate a function that writes into the folder its argument ``parameter`` names (a path, or anything
    ``os.fspath`` takes, such as a :class:`~weaklabel.dataset.Dataset`): it runs holding that folder's lock
    (:func:`folder_lock`), or raises :class:`FolderBusyError` before doing anything."""
    def decorate(function: Callable) -> Callable:
        signature = inspect.signature(function)

        @functools.wraps(function)
        def locked(*args, **kwargs):
            folder = signature.bind(*args, **kwargs).arguments[parameter]
            with folder_lock(os.fspath(folder), step):
                return function(*args, **kwargs)

        return locked

    return decorate


def _forget_in_child() -> None:
    """In a forked child: close its copies of the held locks (the parent holds them; the child must not keep
    them once the parent is gone), with a fresh guard (another thread may have held it at the fork)."""
    global _HELD_GUARD
    _HELD_GUARD = threading.Lock()
    for fd, _, _ in _HELD.values():
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD.clear()


os.register_at_fork(after_in_child=_forget_in_child)
