"""One writer per output folder (issue 21, item 1): foundation.locking's lock, held by every step that writes
into a dataset folder; a second writer stops at once, naming the holder; a dead holder blocks nobody."""
from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from foundation.locking import LOCK_FILE, FolderBusyError, folder_lock

from .conftest import vgg16_embedding

REPO_ROOT = Path(__file__).resolve().parent.parent


class Holder:
    """Another process holding ``folder``'s lock (and, with ``fork``, a forked child of it that lives on)
    until :meth:`release` or :meth:`kill`."""

    def __init__(self, folder: Path, fork: bool = False):
        code = textwrap.dedent(f"""
            import os, sys, time
            from foundation.locking import folder_lock
            with folder_lock({str(folder)!r}, "build"):
                if {fork!r} and os.fork() == 0:
                    # the child's at-fork hooks have run when fork returns here; one write per line, so the two
                    # processes' lines never interleave (stdout may be unbuffered: PYTHONUNBUFFERED)
                    sys.stdout.write(f"forked {{os.getpid()}}\\n")
                    sys.stdout.flush()
                    time.sleep(60)
                    os._exit(0)
                sys.stdout.write("held\\n")
                sys.stdout.flush()
                sys.stdin.read()
        """)
        self.process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, cwd=REPO_ROOT, start_new_session=True)
        # With fork, wait for the child too: killed before the child has run at all, the parent would leave the
        # lock with a process that has not yet closed its copy (the race the test must not depend on).
        lines = [self.process.stdout.readline().split() for _ in range(2 if fork else 1)]
        assert sorted(words[0] for words in lines) == (["forked", "held"] if fork else ["held"]), lines
        self.child_pid = next((int(words[1]) for words in lines if words[0] == "forked"), None)

    def release(self) -> None:
        self.process.stdin.close()
        assert self.process.wait(timeout=30) == 0

    def kill(self) -> None:
        self.process.kill()  # SIGKILL: no clean-up runs
        self.process.wait(timeout=30)

    def end_all(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture
def holders():
    started = []
    yield lambda folder, **kw: started.append(Holder(folder, **kw)) or started[-1]
    for holder in started:
        holder.end_all()


def test_a_second_writer_stops_at_once_naming_the_holder(tmp_path, holders):
    holder = holders(tmp_path / "out")
    with pytest.raises(FolderBusyError) as busy:
        with folder_lock(tmp_path / "out", "embed"):
            pass
    message = str(busy.value)
    assert f"process {holder.process.pid} (build, started " in message and "\n" not in message
    holder.release()
    with folder_lock(tmp_path / "out", "embed"):
        assert (tmp_path / "out" / LOCK_FILE).is_file()
    assert not (tmp_path / "out" / LOCK_FILE).exists()  # the holder removes it


def test_a_lock_left_by_a_killed_process_blocks_nobody(tmp_path, holders):
    holders(tmp_path / "out").kill()
    assert (tmp_path / "out" / LOCK_FILE).is_file()  # left behind, but no longer locked
    with folder_lock(tmp_path / "out", "build"):
        pass


@pytest.mark.parametrize("end", ["release", "kill"])
def test_children_forked_while_it_is_held_do_not_keep_it(tmp_path, holders, end):
    # a build's worker processes are forked from it: once the build has released its lock (or was killed), a
    # worker that lives on must not hold it. The lock file the parent locked is opened here before it ends (a
    # release unlinks it), and flock on that very file succeeds at once, while the forked child still runs.
    holder = holders(tmp_path / "out", fork=True)
    with pytest.raises(FolderBusyError, match=f"process {holder.process.pid} "):  # held by the parent
        with folder_lock(tmp_path / "out", "build"):
            pass
    fd = os.open(tmp_path / "out" / LOCK_FILE, os.O_RDONLY)
    try:
        with pytest.raises(BlockingIOError):  # the parent holds it: the probe itself can see a held lock
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        holder.release() if end == "release" else holder.kill()
        os.kill(holder.child_pid, 0)  # the forked child lives on (ProcessLookupError otherwise) ...
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # ... and holds no lock: BlockingIOError if it kept one
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
    os.kill(holder.child_pid, 0)  # still running: its exit is not what freed the lock
    with folder_lock(tmp_path / "out", "build"):  # the folder is free: this process holds it now
        assert json.loads((tmp_path / "out" / LOCK_FILE).read_text())["pid"] == os.getpid()


def test_the_lock_is_reentrant_in_one_process_and_a_folder_it_made_is_removed_when_empty(tmp_path):
    with folder_lock(tmp_path / "new", "run"):
        with folder_lock(tmp_path / "new", "train"):
            pass
        assert (tmp_path / "new" / LOCK_FILE).is_file()
    assert not (tmp_path / "new").exists()


# ----------------------------------------------------------------------------- the steps that take the lock
FAST_MEL = dict(n_mels=16, n_fft=256, win_length=256, hop_length=256)
FAST_FLAGS = ["--n-mels", "16", "--n-fft", "256", "--hop-length", "256", "--quiet", "--workers", "1"]


def test_a_second_build_into_the_same_folder_stops_and_writes_nothing(small_mosei, tmp_path, holders, capsys):
    # Issue 21, item 1: two builds into one --out could end with one of them exiting 0 over a corrupt
    # features/logmel.npy. The race, made deterministic: another process holds the folder, then a build starts.
    from pipelines import build_dataset as build_cli
    from weaklabel.build import BuildConfig, build_dataset
    from weaklabel.logmel import LogMelParams

    out = tmp_path / "out"
    holder = holders(out)
    config = BuildConfig(corpus="mosei", root=str(small_mosei), mel=LogMelParams(**FAST_MEL))
    with pytest.raises(FolderBusyError, match=f"process {holder.process.pid} "):
        build_dataset(config, out, workers=1)
    assert [p.name for p in out.iterdir()] == [LOCK_FILE]  # nothing written, nothing removed
    assert build_cli.main(["--root", str(small_mosei), "--out", str(out), *FAST_FLAGS]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and f"process {holder.process.pid} " in err, err
    holder.release()
    assert build_dataset(config, out, workers=1).counts.segments == 18
    assert not (out / LOCK_FILE).exists()


def test_embed_train_relabel_and_label_quality_take_the_lock_too(small_mosei, tmp_path, holders, capsys):
    from pipelines import embed as embed_cli
    from pipelines import train as train_cli
    from transfer.embedding import embed_dataset
    from transfer.training import train
    from weaklabel.build import BuildConfig, build_dataset
    from weaklabel.logmel import LogMelParams
    from weaklabel.label_quality import write_label_quality
    from weaklabel.relabel import Relabelling, relabel_dataset

    out = tmp_path / "out"
    build_dataset(BuildConfig(corpus="mosei", root=str(small_mosei), mel=LogMelParams(**FAST_MEL)), out, workers=1)
    holder = holders(out)
    busy = f"process {holder.process.pid} "
    for call in (lambda: embed_dataset(out, vgg16_embedding()), lambda: train(out),
                 lambda: relabel_dataset(out, out, Relabelling(policy="mean")),
                 lambda: write_label_quality({}, out)):
        with pytest.raises(FolderBusyError, match=busy):
            call()
    for cli in (embed_cli, train_cli):
        assert cli.main(["--dataset", str(out), "--features", "vgg16", "--weights", "random", "--quiet"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and busy in err and err.count("\n") == 1, err


def test_another_thread_of_the_process_is_refused(tmp_path):
    import threading

    refused = []

    def second_writer():
        try:
            with folder_lock(tmp_path / "out", "build"):
                pass
        except FolderBusyError as exc:
            refused.append(str(exc))

    with folder_lock(tmp_path / "out", "build"):
        thread = threading.Thread(target=second_writer)
        thread.start()
        thread.join()
    assert refused and "another thread" in refused[0]
