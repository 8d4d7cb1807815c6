"""A build's segments when it transcribes (``build_dataset --transcribe``): the recordings under the corpus root
that have a transcript beside them keep it; the others are transcribed with Whisper
(:mod:`weaklabel.transcription`) into the dataset's ``transcripts/`` folder and read from there.

The folder is a cache: a recording's transcript is made again only when its audio (SHA-256), the model (SHA-256) or
the transcription settings change (:func:`weaklabel.transcription.batch.transcribe_recordings`), so a re-run
transcribes nothing and an edited recording only itself. Every segment says where its text came from
(``text_source``: ``transcript`` or ``asr``), with the Whisper model and the language it heard (``asr_model``,
``asr_language``) for the transcribed ones; a recording that cannot be transcribed is one failed segment saying why.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from foundation.records import read_json
from weaklabel.config import BuildConfig
from weaklabel.errors import CorpusError
from weaklabel.layout import TRANSCRIPTS_DIR
from weaklabel.readers import detect_corpus_kind, note_overlaps_and_duplicates
from weaklabel.readers.subtitles import find_pairs, read_recording, read_subtitle_corpus
from weaklabel.segments import AUDIO_UNREADABLE, Segment, failed_segment

#: ``text_source`` of a segment whose text a transcript beside its recording gave, and of one Whisper heard.
FROM_TRANSCRIPT, FROM_ASR = "transcript", "asr"


def transcribed_segments(config: BuildConfig, out_dir: Path, workers: int = 1,
                         log: Callable[[str], None] | None = None) -> list[Segment]:
    """The corpus's segments, its recordings without a transcript transcribed first (see the module docstring).

    Raises
    ------
    CorpusError
        The corpus is not a folder of recordings (a manifest or a MOSEI tree names its transcripts), or it holds
        no recording.
    weaklabel.whisper_model.WhisperModelError
        The Whisper model cannot be found or trusted (before anything is transcribed).
    """
    from weaklabel.transcription.batch import find_recordings, output_paths, transcribe_recordings
    from weaklabel.transcription.transcript import Transcript

    root = Path(config.root)
    kind = detect_corpus_kind(root) if config.corpus == "auto" else config.corpus
    if kind != "subtitles":
        raise CorpusError(f"--transcribe transcribes a folder of recordings; {root} is read as a {kind} corpus, "
                          "whose transcripts it names: drop --transcribe, or give the folder of recordings")
    paired = {recording for recording, *_ in find_pairs(root)}
    missing = [(rid, path) for rid, path in find_recordings(root) if rid not in paired]
    if not paired and not missing:
        raise CorpusError(f"no recordings under {root} to transcribe")
    cache = out_dir / TRANSCRIPTS_DIR
    summary = transcribe_recordings(missing, cache, config.transcription, workers=workers)
    if log and summary.transcribed:
        log(f"transcribed {len(summary.transcribed)} recording(s) with Whisper ({summary.audio_seconds:.0f} s of "
            f"audio in {summary.seconds:.0f} s); {len(summary.up_to_date)} already were: {cache}")
    segments = [_from(segment, FROM_TRANSCRIPT) for segment in read_subtitle_corpus(root)] if paired else []
    failed = {entry["recording"]: entry["reason"] for entry in summary.failed + summary.skipped}
    for rid, path in missing:
        json_path, _ = output_paths(cache, rid)
        if rid in failed or not json_path.is_file():
            reason = failed.get(rid, "no transcript was written")
            segments.append(failed_segment(rid, f"{rid}_transcription", str(path.resolve()), AUDIO_UNREADABLE,
                                           f"transcription failed: {reason}"))
            continue
        heard = Transcript.from_dict(read_json(json_path))
        extra = {"asr_model": heard.model.get("name"), "asr_language": heard.language}
        label = f"{TRANSCRIPTS_DIR}/{json_path.relative_to(cache).as_posix()}"
        segments += [_from(segment, FROM_ASR, extra) for segment in read_recording(rid, path.resolve(), json_path,
                                                                                     label)]
    segments.sort(key=lambda segment: segment.recording_id)
    note_overlaps_and_duplicates(segments)
    return segments


def _from(segment: Segment, source: str, extra: dict | None = None) -> Segment:
    segment.extra.update(text_source=source, **(extra or {}))
    return segment
