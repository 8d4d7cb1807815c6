"""One recording through faster-whisper, offline, a window of decoded audio at a time.

The recording is decoded by :class:`weaklabel.audio.AudioReader` (every format the build reads) in windows of
``settings.window_s`` seconds plus :data:`OVERLAP_S`; each window is transcribed with word timestamps, the Whisper
segments that start in it are kept, and the next window starts where the last kept segment ends (a segment that the
window's end cut is transcribed again in the next). Memory is then bounded by one window (600 s: 38 MB of samples),
whatever the recording's length. The language, when not given, is detected once, on the first 30 s of speech the
energy detector finds, and then fixed for every window. The sampling Whisper falls back to is seeded per recording,
so a transcript does not depend on the process or the order.

The model is the one :func:`weaklabel.whisper_model.resolve_whisper_model` resolves (the pinned base model from its
wheels, verified, or a CTranslate2 folder); it is loaded once per process. Nothing is downloaded.
"""
from __future__ import annotations

import numpy as np

from foundation.digests import file_sha256
from weaklabel.audio import TARGET_SR, AudioReader
from weaklabel.transcription.sentences import (EXTEND_S, RawSegment, drop_hallucinations, frame_db, no_energy,
                                               noise_floor_db, refine_sentence, speech_bounds, split_at_silences,
                                               split_sentences,
                                               without_overlaps)
from weaklabel.transcription.transcript import Dropped, Sentence, Transcript, TranscriptionSettings, Word

#: Audio transcribed past a window's end, s, so that the segments starting near its end are whole.
OVERLAP_S = 30.0
#: Audio the language is detected on, s (one Whisper input).
LANGUAGE_S = 30.0
#: The seed of CTranslate2's sampling, set before each recording.
RANDOM_SEED = 0
_MODELS: dict[tuple, object] = {}


def load_model(settings: TranscriptionSettings, threads: int = 0):
    """(faster-whisper ``WhisperModel``, the model's record), loaded once per process for each model, precision
    and thread count. ``threads`` 0: CTranslate2's default (every core)."""
    from faster_whisper import WhisperModel

    from weaklabel.whisper_model import resolve_whisper_model

    info = resolve_whisper_model(settings.model)
    key = (info.path, settings.compute_type, int(threads))
    if key not in _MODELS:
        _MODELS[key] = WhisperModel(info.path, device="cpu", compute_type=settings.compute_type,
                                    cpu_threads=int(threads), local_files_only=True)
    return _MODELS[key], info.record()


def _raw_segments(model, samples: np.ndarray, offset: float, settings: TranscriptionSettings,
                  language: str | None) -> list[RawSegment]:
    """Whisper's segments of ``samples`` (which begin at ``offset`` s), their times from the recording's start."""
    segments, _ = model.transcribe(
        samples, language=language, beam_size=settings.beam_size, word_timestamps=True,
        condition_on_previous_text=False, vad_filter=settings.vad,
        vad_parameters=settings.vad_parameters() if settings.vad else None)
    return [RawSegment(offset + s.start, offset + s.end, s.text,
                       tuple(Word(offset + w.start, offset + w.end, w.word, w.probability) for w in s.words or ()),
                       float(s.no_speech_prob), float(s.compression_ratio)) for s in segments]


def _detect_language(model, samples: np.ndarray, floor_db: float) -> tuple[str, float] | None:
    """(language, probability) detected on the first :data:`LANGUAGE_S` of speech in ``samples``; None when the
    energy detector finds none there."""
    bounds = speech_bounds(samples, TARGET_SR, floor_db)
    if bounds is None:
        return None
    first = max(0, int((bounds[0] - 0.5) * TARGET_SR))
    language, probability, _ = model.detect_language(audio=samples[first:first + int(LANGUAGE_S * TARGET_SR)])
    return language, float(probability)


def _next_start(kept: list[RawSegment], start: float, stop: float, cut: float) -> tuple[list[RawSegment], float]:
    """The segments of a window ``[start, stop)`` to keep (those starting before ``cut``) and where the next
    window starts: after the last kept segment, or at its start when the window's end cut it."""
    kept = [s for s in kept if s.start < cut]
    if kept and kept[-1].end > stop - 1.0 and kept[-1].start > start + 1.0:
        return kept[:-1], kept[-1].start
    if kept and kept[-1].end > start + 1.0:
        return kept, kept[-1].end
    return kept, cut


def refine_sentences(reader: AudioReader, sentences: list[Sentence], floor_db: float | None = None,
                     pause_s: float = TranscriptionSettings().pause_split_s) -> tuple[list[Sentence], list[Dropped]]:
    """Each sentence cut at silences of ``pause_s`` between its words
    (:func:`~weaklabel.transcription.sentences.split_at_silences`), its start and end moved to its speech
    (:func:`~weaklabel.transcription.sentences.refine_sentence`), overlaps cut; those without speech energy dropped.
    ``floor_db``: the recording's noise floor (None: measured here, a window at a time)."""
    if floor_db is None:
        floors, start = [], 0.0
        while start < reader.duration_s:
            floors.append(noise_floor_db(frame_db(reader.read_span(start, start + 600.0), TARGET_SR)))
            start += 600.0
        floor_db = float(np.median(floors)) if floors else -120.0
    refined, dropped = [], []
    pieces = []
    for sentence in sentences:
        lo = max(0.0, sentence.start - EXTEND_S)
        pieces += split_at_silences(sentence, reader.read_span(lo, sentence.end + EXTEND_S), TARGET_SR, lo,
                                    floor_db, pause_s)
    for sentence in pieces:
        lo = max(0.0, sentence.start - EXTEND_S)
        better = refine_sentence(sentence, reader.read_span(lo, sentence.end + EXTEND_S), TARGET_SR, lo, floor_db)
        if better is None:
            dropped.append(no_energy(sentence))
        else:
            refined.append(better)
    return without_overlaps(refined), dropped


def transcribe_recording(path: str, settings: TranscriptionSettings = TranscriptionSettings(),
                         threads: int = 0) -> Transcript:
    """Transcribe one recording into sentences (see the module docstring).

    Raises
    ------
    weaklabel.audio.AudioDecodeError
        The file cannot be decoded.
    weaklabel.whisper_model.WhisperModelError
        The model cannot be found or trusted.
    """
    import ctranslate2

    model, record = load_model(settings, threads)
    # Whisper falls back to sampling where greedy decoding loops or is unsure: seeded, the same recording gives the
    # same transcript in any process, in any order.
    ctranslate2.set_random_seed(RANDOM_SEED)
    digest = file_sha256(path)
    language = settings.language
    probability = 1.0
    raw: list[RawSegment] = []
    floors: list[float] = []
    with AudioReader(str(path)) as reader:
        duration, start = reader.duration_s, 0.0
        while start < duration - 0.01:
            stop = min(duration, start + settings.window_s + OVERLAP_S)
            samples = reader.read_span(start, stop)
            if samples.size == 0:
                break
            floors.append(noise_floor_db(frame_db(samples, TARGET_SR)))
            if language is None:
                found = _detect_language(model, samples, floors[-1])
                if found is not None:
                    language, probability = found
            segments = _raw_segments(model, samples, start, settings, language)
            if stop >= duration - 0.01:
                raw += segments
                break
            kept, start = _next_start(segments, start, stop, start + settings.window_s)
            raw += kept
        kept_segments, dropped = drop_hallucinations(raw, settings.max_no_speech_prob)
        sentences = split_sentences(kept_segments, settings.pause_split_s)
        if settings.refine and sentences:
            sentences, unheard = refine_sentences(reader, sentences, float(np.median(floors)),
                                                       settings.pause_split_s)
            dropped += unheard
    dropped.sort(key=lambda d: d.start)
    return Transcript(tuple(sentences), language or "", probability if language else 0.0, duration, digest, record,
                      settings, tuple(dropped))
