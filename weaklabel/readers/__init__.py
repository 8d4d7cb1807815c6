"""Corpus readers. Each returns a list of :class:`weaklabel.segments.Segment`, failures included.

- ``mosei``: CMU-MOSEI's published layout (:mod:`weaklabel.readers.mosei`).
- ``manifest``: a CSV/TSV/Parquet/JSON Lines table with ``audio_path, start, end, text``
  (:mod:`weaklabel.readers.manifest`).
- ``subtitles``: recordings with a sibling ``.srt``, ``.vtt`` or Whisper ``.json``
  (:mod:`weaklabel.readers.subtitles`).
"""
from __future__ import annotations

from pathlib import Path

from weaklabel.errors import CorpusError
from weaklabel.readers.manifest import MANIFEST_SUFFIXES, read_manifest
from weaklabel.readers.mosei import find_raw_dir, read_mosei
from weaklabel.readers.subtitles import read_subtitle_corpus
from weaklabel.segments import Segment

READERS = {"mosei": read_mosei, "manifest": read_manifest, "subtitles": read_subtitle_corpus}
CORPUS_KINDS = ("auto",) + tuple(READERS)


def detect_corpus_kind(root: str | Path) -> str:
    """Guess the corpus kind of ``root``: a table file is a manifest, a MOSEI ``Raw`` tree is mosei,
    any other folder is read as recordings with subtitles."""
    root = Path(root)
    if root.is_file():
        if root.suffix.lower() in MANIFEST_SUFFIXES:
            return "manifest"
        raise CorpusError(f"{root} is a file but not a manifest ({', '.join(MANIFEST_SUFFIXES)})")
    if not root.is_dir():
        raise CorpusError(f"corpus root {root} does not exist")
    try:
        find_raw_dir(root)
        return "mosei"
    except CorpusError:
        return "subtitles"


def read_corpus(kind: str, root: str | Path) -> list[Segment]:
    """Read a corpus of the given kind (or ``auto``); raise :class:`CorpusError` when it is empty."""
    root = Path(root)
    if not root.exists():
        raise CorpusError(f"corpus root {root} does not exist")
    if kind == "auto":
        kind = detect_corpus_kind(root)
    if kind not in READERS:
        raise CorpusError(f"unknown corpus kind {kind!r}; choose one of {', '.join(CORPUS_KINDS)}")
    segments = READERS[kind](root)
    if not segments:
        raise CorpusError(f"no transcript segments found in {root} (read as {kind})")
    return segments
