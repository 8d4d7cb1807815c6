"""Corpus readers. Each returns a list of :class:`weaklabel.segments.Segment`, failures included.

- ``mosei``: CMU-MOSEI's published layout (:mod:`weaklabel.readers.mosei`).
- ``manifest``: a CSV/TSV/Parquet/JSON Lines table with ``audio_path, start, end, text``
  (:mod:`weaklabel.readers.manifest`).
- ``subtitles``: recordings with a sibling ``.srt``, ``.vtt`` or Whisper-family ``.json``, yt-dlp's
  ``talk.en.vtt`` included (:mod:`weaklabel.readers.subtitles`).

:func:`read_corpus` reads any of them and notes, in ``detail``, segments that overlap an earlier one of the
same recording or repeat it (:func:`note_overlaps_and_duplicates`).
"""
from __future__ import annotations

from pathlib import Path

from weaklabel.errors import CorpusError
from weaklabel.readers.manifest import MANIFEST_SUFFIXES, read_manifest
from weaklabel.readers.mosei import TRANSCRIPT_SUBDIR, find_raw_dir, read_mosei
from weaklabel.readers.subtitles import AUDIO_SUFFIXES, SUBTITLE_SUFFIXES, read_subtitle_corpus
from weaklabel.readers.walk import walk_files
from weaklabel.segments import Segment

READERS = {"mosei": read_mosei, "manifest": read_manifest, "subtitles": read_subtitle_corpus}
CORPUS_KINDS = ("auto",) + tuple(READERS)

_LAYOUTS = ("a CMU-MOSEI folder (the one holding Raw/), a manifest table (.csv/.tsv/.parquet/.jsonl with "
            "audio_path,start,end,text), or a folder of recordings with transcripts beside them "
            "(talk.wav + talk.srt / talk.vtt / talk.en.vtt / Whisper talk.json)")
_SPREADSHEETS = (".xlsx", ".xls", ".xlsm", ".ods", ".numbers")


def _file_root_error(root: Path) -> CorpusError:
    """What to do with a ``--root`` file that is not a corpus by itself."""
    suffix, stem = root.suffix.lower(), root.stem
    if suffix in AUDIO_SUFFIXES:
        return CorpusError(
            f"{root} is an audio file with no transcript beside it: put {stem}.srt, {stem}.vtt (yt-dlp's "
            f"{stem}.en.vtt too) or a Whisper-family {stem}.json next to it and pass the file or its folder as "
            "--root; or list its segments in a manifest (CSV with audio_path,start,end,text) and pass --root "
            "MANIFEST.csv")
    if suffix in SUBTITLE_SUFFIXES:
        return CorpusError(
            f"{root} is a transcript with no audio file of the same stem beside it (e.g. {stem}.wav, .flac, "
            f".mp3, .m4a or .mp4; yt-dlp's {stem}.en{suffix} pairs with {stem}.*): put the recording next to it")
    if suffix == ".txt":
        if root.parent.as_posix().endswith(TRANSCRIPT_SUBDIR.as_posix()):
            raw = root.parents[len(TRANSCRIPT_SUBDIR.parts)]
            return CorpusError(f"{root} is one CMU-MOSEI transcript: pass the corpus folder instead, "
                               f"--root {raw.parent if raw.name == 'Raw' else raw}")
        return CorpusError(f"{root} is a text file; --root takes {_LAYOUTS}")
    if suffix in _SPREADSHEETS:
        return CorpusError(f"{root} is a spreadsheet: save it as CSV UTF-8 (columns audio_path,start,end,text) "
                           "and pass the .csv as --root")
    return CorpusError(f"{root} is a file but not a corpus; --root takes {_LAYOUTS}")


def detect_corpus_kind(root: str | Path) -> str:
    """Guess the corpus kind of ``root``: a table file is a manifest, an audio or transcript file with its
    partner beside it is a one-recording subtitle corpus, a MOSEI ``Raw`` tree is mosei, any other folder is
    read as recordings with subtitles.

    Raises
    ------
    CorpusError
        ``root`` does not exist, or is a file that is none of those; the message says which layout fits.
    """
    root = Path(root)
    if root.is_file():
        if root.suffix.lower() in MANIFEST_SUFFIXES:
            return "manifest"
        if root.suffix.lower() in AUDIO_SUFFIXES + SUBTITLE_SUFFIXES and read_subtitle_corpus(root):
            return "subtitles"
        raise _file_root_error(root)
    if not root.is_dir():
        raise CorpusError(f"corpus root {root} does not exist")
    try:
        find_raw_dir(root)
        return "mosei"
    except CorpusError:
        return "subtitles"


def _empty_hint(kind: str, root: Path) -> str:
    if kind != "subtitles" or not root.is_dir():
        return ""
    audio = sum(1 for _, names in walk_files(root) for n in names if Path(n).suffix.lower() in AUDIO_SUFFIXES)
    if not audio:
        return f"; no audio files ({', '.join(AUDIO_SUFFIXES)}) either. --root takes {_LAYOUTS}"
    return (f"; {audio} audio file(s) but none with a transcript of the same stem beside it "
            "(talk.wav + talk.srt / talk.vtt / yt-dlp's talk.en.vtt / Whisper talk.json)")


def read_corpus(kind: str, root: str | Path) -> list[Segment]:
    """Read a corpus of the given kind (or ``auto``); raise :class:`CorpusError` when it is empty.

    Segments that overlap or repeat an earlier one of the same recording keep a note in ``detail``
    (:func:`note_overlaps_and_duplicates`).
    """
    root = Path(root)
    if not root.exists():
        raise CorpusError(f"corpus root {root} does not exist")
    if kind == "auto":
        kind = detect_corpus_kind(root)
    if kind not in READERS:
        raise CorpusError(f"unknown corpus kind {kind!r}; choose one of {', '.join(CORPUS_KINDS)}")
    segments = READERS[kind](root)
    if not segments:
        raise CorpusError(f"no transcript segments found in {root} (read as {kind}){_empty_hint(kind, root)}")
    note_overlaps_and_duplicates(segments)
    return segments


#: Two times closer than this (seconds) count as equal.
_TIME_TOLERANCE_S = 1e-3
#: A cue that repeats the previous cue's text and starts within this many seconds of its end is a repeat
#: (YouTube's 10 ms cues).
_REPEAT_GAP_S = 0.05


def note_overlaps_and_duplicates(segments: list[Segment]) -> None:
    """Note in ``detail`` each good segment that duplicates, repeats or overlaps an earlier one of its audio.

    Segments are compared per audio file (or recording id), in order of start time (seconds):

    - *duplicate*: the same start, end and text as an earlier segment;
    - *repeat*: the same text as the segment just before it, starting where that one ends;
    - *overlap*: it starts before an earlier segment ends (by more than 1 ms).

    They are kept (the build decides nothing from the note); failed segments are ignored.
    """
    by_audio: dict[str, list[Segment]] = {}
    for seg in segments:
        if seg.status is None and seg.start_s is not None and seg.end_s is not None:
            by_audio.setdefault(seg.audio_path or seg.recording_id, []).append(seg)
    for group in by_audio.values():
        group.sort(key=lambda s: (s.start_s, s.end_s))
        seen: dict[tuple, str] = {}
        latest: Segment | None = None  # the segment that ends last so far
        previous: Segment | None = None
        for seg in group:
            text = " ".join((seg.text or "").split()).casefold()
            key = (round(seg.start_s / _TIME_TOLERANCE_S), round(seg.end_s / _TIME_TOLERANCE_S), text)
            note = ""
            if key in seen:
                note = f"duplicate of {seen[key]} (same times and text)"
            elif previous is not None and text == " ".join((previous.text or "").split()).casefold() \
                    and abs(seg.start_s - previous.end_s) <= _REPEAT_GAP_S:
                note = f"repeats {previous.segment_id} (same text, right after it)"
            elif latest is not None and seg.start_s < latest.end_s - _TIME_TOLERANCE_S:
                note = f"overlaps {latest.segment_id} by {min(latest.end_s, seg.end_s) - seg.start_s:.3f} s"
            if note:
                seg.detail = "; ".join(x for x in (seg.detail, note) if x)
            seen.setdefault(key, seg.segment_id)
            if latest is None or seg.end_s > latest.end_s:
                latest = seg
            previous = seg
