"""Where independent tasks run: in this process, in local worker processes, or on a Dask cluster.

The dataset build (one task per recording) and the embedding (one task per chunk of clips) submit the same
functions whatever the scheduler; only the executor differs, so a distributed run writes the same bytes as
a local one. :func:`make_executor` opens an :class:`Engine` for a scheduler:

``local``
    The default: a :class:`~concurrent.futures.ProcessPoolExecutor` of ``workers`` processes, or this very
    process when ``workers`` is 1. No cluster is involved.
``dask``
    Dask's distributed scheduler. With an ``address`` (``tcp://host:port``) the engine joins that cluster;
    without one it starts a :class:`distributed.LocalCluster` of ``workers`` single-threaded processes and
    closes it at the end. Tasks read their inputs from, and write their parts to, paths on the client's
    filesystem, so every worker must see the same filesystem (one machine, or shared storage mounted at the
    same paths) with this package installed.

Dask is imported only when it is asked for.
"""
from __future__ import annotations

import logging
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import as_completed as _pool_as_completed
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Callable, Iterable, Iterator, Sequence

from foundation.config import check_ranges, option

SCHEDULERS = ("local", "dask")
#: Seconds to wait for the Dask scheduler at ``--dask-address`` before giving up (Dask's own default is 30).
DEFAULT_CONNECT_TIMEOUT_S = 5.0
#: The environment variable that sets that wait (``--dask-timeout`` sets it for the running command).
CONNECT_TIMEOUT_ENV = "WEAKLABEL_DASK_TIMEOUT"


def connect_timeout_s() -> float:
    """The wait for a Dask scheduler, in seconds: ``$WEAKLABEL_DASK_TIMEOUT`` or :data:`DEFAULT_CONNECT_TIMEOUT_S`."""
    try:
        value = float(os.environ.get(CONNECT_TIMEOUT_ENV, ""))
    except ValueError:
        return DEFAULT_CONNECT_TIMEOUT_S
    return value if value > 0 else DEFAULT_CONNECT_TIMEOUT_S


def resolve_scheduler(scheduler: str | None, address: str | None) -> str:
    """The scheduler to use: ``scheduler`` if given, else ``"dask"`` when an address is given, else ``"local"``.

    Raises
    ------
    ValueError
        Unknown scheduler, or an address together with the local scheduler.
    """
    if scheduler is None:
        return "dask" if address else "local"
    if scheduler not in SCHEDULERS:
        raise ValueError(f"unknown scheduler {scheduler!r}; expected one of {', '.join(SCHEDULERS)}")
    if address and scheduler != "dask":
        raise ValueError(f"--dask-address joins a Dask cluster; it cannot be combined with --scheduler {scheduler}")
    return scheduler


@dataclass(frozen=True)
class ExecutorConfig:
    """Where a step's independent tasks run: runtime options, which change no output and are never recorded
    in one (:func:`make_executor`)."""

    workers: int | None = option(
        None, metavar="N", default_text="CPU count", minimum=1,
        help="processes: the build's local workers (one audio file at a time each, about 200 MB each), or, with "
             "--scheduler dask and no --dask-address, the LocalCluster's workers (each embedding worker loads "
             "VGG16 once); the local scheduler embeds in this process, on every core")
    scheduler: str | None = option(
        None, choices=SCHEDULERS, default_text="local, or dask with --dask-address",
        help="local: processes on this machine, no cluster; dask: Dask's distributed scheduler, a LocalCluster "
             "of --workers processes unless --dask-address is given. Workers must see the same filesystem as "
             "this process")
    dask_address: str | None = option(
        None, metavar="tcp://HOST:PORT",
        help="join a running Dask cluster at this scheduler address (implies --scheduler dask)")
    dask_timeout: float | None = option(
        None, metavar="SECONDS", exclusive_minimum=0.0,
        default_text=f"${CONNECT_TIMEOUT_ENV} or {DEFAULT_CONNECT_TIMEOUT_S:g}",
        help="how long to wait for the scheduler at --dask-address before failing")

    def __post_init__(self):
        check_ranges(self)
        resolve_scheduler(self.scheduler, self.dask_address)  # a bad combination fails here

    def resolved(self) -> "ExecutorConfig":
        """This configuration with the defaults that depend on the machine filled in: ``workers`` (the CPU
        count) and ``scheduler`` (:func:`resolve_scheduler`), as the steps will use them."""
        return replace(self, workers=self.workers or os.cpu_count() or 1,
                                   scheduler=resolve_scheduler(self.scheduler, self.dask_address))

    def engine_options(self) -> dict:
        """``workers``, ``scheduler`` and ``dask_address``, as the build and the embedding take them."""
        return {"workers": self.workers, "scheduler": self.scheduler, "dask_address": self.dask_address}

    @contextmanager
    def connect_timeout(self) -> Iterator[None]:
        """Within this block, :func:`connect_timeout_s` is :attr:`dask_timeout` (when set)."""
        if self.dask_timeout is None:
            yield
            return
        previous = os.environ.get(CONNECT_TIMEOUT_ENV)
        os.environ[CONNECT_TIMEOUT_ENV] = repr(self.dask_timeout)
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop(CONNECT_TIMEOUT_ENV, None)
            else:
                os.environ[CONNECT_TIMEOUT_ENV] = previous


class _Deferred:
    """The in-process engine's future: the call runs when its result is first asked for."""

    def __init__(self, fn: Callable, *args):
        self._call = partial(fn, *args)
        self._done = False
        self._value: Any = None

    def result(self) -> Any:
        if not self._done:
            self._value = self._call()
            self._done = True
        return self._value


class Engine:
    """Runs independent calls and hands back their results as they complete.

    Parameters
    ----------
    submit : callable(fn, *args) -> future
        Schedules ``fn(*args)``; the future has ``result()``.
    as_completed : callable(futures) -> iterator of futures
        Yields the given futures as they finish.
    """

    def __init__(self, submit: Callable, as_completed: Callable[[list], Iterable]):
        self.submit = submit
        self.as_completed = as_completed

    def map_unordered(self, fn: Callable, argsets: Sequence[tuple]) -> Iterator[tuple[int, Any]]:
        """Run ``fn(*args)`` for every tuple in ``argsets``; yield ``(index, result)`` in completion order.

        A task's exception is raised here, when its result comes up; the engine's context manager then
        cancels the tasks not yet started.
        """
        futures = [self.submit(fn, *args) for args in argsets]
        index = {id(future): i for i, future in enumerate(futures)}
        for future in self.as_completed(futures):
            yield index[id(future)], future.result()

    def map_bounded(self, fn: Callable, argsets: Iterable[tuple], in_flight: int) -> Iterator[tuple[int, Any]]:
        """:meth:`map_unordered` over an iterable read as tasks are needed: at most ``in_flight`` submitted and not
        yet handed back, so neither the arguments nor the results of the whole run are held at once (``argsets``
        can be a generator that makes each task's arguments when it is drawn)."""
        pending: dict[int, tuple[int, Any]] = {}
        drawn = enumerate(argsets)

        def fill() -> None:
            while len(pending) < max(1, in_flight):
                item = next(drawn, None)
                if item is None:
                    return
                future = self.submit(fn, *item[1])
                pending[id(future)] = (item[0], future)

        fill()
        while pending:
            future = next(iter(self.as_completed([f for _, f in pending.values()])))
            i, _ = pending.pop(id(future))
            yield i, future.result()
            fill()


@contextmanager
def make_executor(scheduler: str | None = None, address: str | None = None,
                  workers: int | None = None, start_method: str | None = None) -> Iterator[Engine]:
    """Open an :class:`Engine` for ``scheduler``; close it (and any cluster it started) on exit.

    Parameters
    ----------
    scheduler : {"local", "dask"} or None
        None picks ``"dask"`` when ``address`` is given, else ``"local"``.
    address : str, optional
        Address of a running Dask scheduler (``tcp://host:port``) to join; its workers are its own.
    workers : int, optional
        Local processes (1: this process, each task run when its result is asked for, in submission order),
        or the worker processes of the ``LocalCluster`` started when ``scheduler`` is ``"dask"`` and no
        address is given (default: CPU count). Ignored when joining a cluster.
    start_method : {"fork", "spawn", "forkserver"}, optional
        How local worker processes start (:mod:`multiprocessing`; default the platform's). ``spawn`` for tasks
        whose native libraries are not safe to use in a child forked from a process that already runs them
        (CTranslate2's thread pool: a forked child can wait forever on a lock a parent's thread held).

    Raises
    ------
    ValueError
        A bad scheduler/address combination.
    OSError
        The Dask scheduler at ``address`` does not answer within :func:`connect_timeout_s` seconds.
    """
    scheduler = resolve_scheduler(scheduler, address)
    workers = max(1, workers or os.cpu_count() or 1)
    if scheduler == "local":
        if workers == 1:
            yield Engine(_Deferred, iter)
            return
        import multiprocessing

        context = multiprocessing.get_context(start_method) if start_method else None
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        try:
            yield Engine(pool.submit, _pool_as_completed)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return

    from distributed import Client, LocalCluster, as_completed

    environ = dict(os.environ)  # a LocalCluster sets OMP_NUM_THREADS & co. here for its workers to inherit
    cluster = None
    try:
        if address is None:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                                   silence_logs=logging.ERROR)
        if address is not None:
            timeout = connect_timeout_s()
            try:
                client = Client(address, timeout=timeout)
            except (OSError, TimeoutError) as exc:
                raise OSError(f"no Dask scheduler answered at {address} within {timeout:g} s ({exc}); check the "
                              "address and that `dask scheduler` runs there, or wait longer with --dask-timeout "
                              "SECONDS") from exc
        else:
            client = Client(cluster)
        try:
            # pure=False: every submission is its own task (no hashing of the arguments into a key).
            yield Engine(partial(client.submit, pure=False), as_completed)
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()
        for key in set(os.environ) - set(environ):
            del os.environ[key]
        os.environ.update(environ)
