"""Walking a corpus folder: symbolic links followed, each real folder once, a dataset's own files never."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

from weaklabel.layout import dataset_entries


def walk_files(root: str | Path, skip_hidden: bool = True) -> Iterator[tuple[Path, list[str]]]:
    """Yield ``(folder, sorted file names)`` for ``root`` and every folder below it, in sorted order.

    Hidden folders (``.name``) are skipped unless ``skip_hidden`` is false. Symbolic links to folders are followed, but a real folder is visited once
    (by its device and inode), so a link back up the tree does not loop. In a folder that holds a build
    (``--out`` inside, or equal to, the corpus folder), the build's own files and folders are left out
    (:func:`without_dataset_entries`).
    """
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        try:
            st = os.stat(dirpath)
        except OSError:
            dirnames[:] = []
            continue
        if (st.st_dev, st.st_ino) in seen:
            dirnames[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirnames[:] = without_dataset_entries(dirpath, sorted(d for d in dirnames
                                                                if not (skip_hidden and d.startswith("."))))
        yield Path(dirpath), without_dataset_entries(dirpath, sorted(f for f in filenames
                                                                     if os.path.isfile(os.path.join(dirpath, f))))


def without_dataset_entries(folder: str | Path, names: list[str]) -> list[str]:
    """``names`` (entries of ``folder``) less those of a dataset this tool built in ``folder``
    (:func:`weaklabel.layout.dataset_entries`): its ``build.json`` is never a recording's transcript."""
    own = dataset_entries(folder)
    return [name for name in names if name not in own] if own else names
