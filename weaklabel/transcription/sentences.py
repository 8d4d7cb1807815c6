"""From Whisper's segments to sentences: hallucinations dropped, words regrouped at sentence ends, each sentence's
start and end moved to its speech. Pure functions of words and samples (no model).

Times are seconds from the start of the recording; samples are mono float32 at ``sr`` Hz.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from weaklabel.transcription.transcript import (NO_SPEECH_ENERGY, NO_SPEECH_PROB, NO_WORDS, REPETITION, Dropped,
                                                Sentence, Word)

#: A word that ends with one of these (closing quotes and brackets after it allowed) ends a sentence.
_SENTENCE_END = re.compile(r"[.!?\u2026\u3002\uff01\uff1f\u061f\u0964][\"'\u201d\u2019\u00bb)\]]*$")
#: Words ending in a full stop that do not end a sentence (compared lower-cased, without the leading space).
ABBREVIATIONS = frozenset({"mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "jr.", "sr.", "vs.", "etc.", "e.g.", "i.e.",
                           "no.", "z.b.", "bzw.", "usw.", "ca.", "nr."})
#: Energy frames for the speech detector, s.
FRAME_S = 0.01
#: A frame holds speech when it is within this many dB of the sentence's loudest frame ...
BELOW_PEAK_DB = 35.0
#: ... and this many dB above the recording's noise floor.
ABOVE_FLOOR_DB = 8.0
#: How far (s) a refined boundary may move outwards past Whisper's (Whisper ends words within ~0.1 s).
EXTEND_S = 0.3
#: Audio kept before the first and after the last speech frame, s.
PAD_S = 0.05


@dataclass(frozen=True)
class RawSegment:
    """A Whisper segment as the model gave it: times (s), text, words, no-speech probability."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...]
    no_speech_prob: float
    compression_ratio: float = 1.0


#: A segment whose text compresses (gzip) more than this (Whisper's own threshold for falling back to sampling,
#: which can still end in a loop) ...
MAX_COMPRESSION_RATIO = 2.4
#: ... and that has more words per second of its span than this is a decoding loop, not speech. Repetitive speech
#: (acted corpora saying one sentence again and again) compresses as well, at a speaking rate (2-4 words/s).
MAX_WORDS_PER_S = 5.0


def is_loop(seg: RawSegment) -> bool:
    """Whether ``seg`` is a decoding loop: repetitive text (:data:`MAX_COMPRESSION_RATIO`) said faster than
    :data:`MAX_WORDS_PER_S`."""
    spoken = [w for w in seg.words if w.word.strip()]
    return (seg.compression_ratio > MAX_COMPRESSION_RATIO
            and len(spoken) > MAX_WORDS_PER_S * max(seg.end - seg.start, 0.1))


def drop_hallucinations(segments: list[RawSegment], max_no_speech_prob: float
                        ) -> tuple[list[RawSegment], list[Dropped]]:
    """Segments kept (with words, no-speech probability at most ``max_no_speech_prob``, not a decoding loop:
    :func:`is_loop`) and those dropped, with why."""
    kept, dropped = [], []
    for seg in segments:
        if not [w for w in seg.words if w.word.strip()]:
            dropped.append(Dropped(seg.start, seg.end, seg.text.strip(), NO_WORDS))
        elif seg.no_speech_prob > max_no_speech_prob:
            dropped.append(Dropped(seg.start, seg.end, seg.text.strip(), NO_SPEECH_PROB))
        elif is_loop(seg):
            dropped.append(Dropped(seg.start, seg.end, seg.text.strip(), REPETITION))
        else:
            kept.append(seg)
    return kept, dropped


def ends_sentence(word: str) -> bool:
    """Whether ``word`` (as Whisper spells it) ends a sentence: final punctuation, not an abbreviation."""
    word = word.strip()
    return bool(_SENTENCE_END.search(word)) and word.lower() not in ABBREVIATIONS


def split_sentences(segments: list[RawSegment], pause_s: float) -> list[Sentence]:
    """Regroup the words of ``segments`` (in time order) into sentences.

    A sentence ends after a word with final punctuation (:func:`ends_sentence`), before a pause of at least
    ``pause_s`` seconds between two words, and at the end. Each sentence runs from its first word's start to its
    last word's end; its text is its words joined; its ``no_speech_prob`` the highest of its words' segments.
    """
    tagged = [(w, seg.no_speech_prob) for seg in segments for w in seg.words if w.word.strip()]
    tagged.sort(key=lambda item: item[0].start)
    sentences: list[Sentence] = []
    current: list[tuple[Word, float]] = []
    for i, (word, _) in enumerate(tagged):
        current.append(tagged[i])
        following = tagged[i + 1][0] if i + 1 < len(tagged) else None
        if following is None or ends_sentence(word.word) or following.start - word.end >= pause_s:
            words = tuple(w for w, _ in current)
            text = " ".join("".join(w.word for w in words).split())
            sentences.append(Sentence(words[0].start, max(w.end for w in words), text, words,
                                      max(p for _, p in current)))
            current = []
    return sentences


def frame_db(samples: np.ndarray, sr: int, frame_s: float = FRAME_S) -> np.ndarray:
    """The level of each ``frame_s`` frame of ``samples``, dB re full scale: ``(n_frames,)``."""
    frame = max(1, int(round(frame_s * sr)))
    n = len(samples) // frame
    if n == 0:
        return np.zeros(0, np.float32)
    frames = np.asarray(samples[:n * frame], dtype=np.float32).reshape(n, frame)
    power = np.mean(np.square(frames, dtype=np.float64), axis=1)
    return (10.0 * np.log10(power + 1e-12)).astype(np.float32)


def noise_floor_db(levels: np.ndarray) -> float:
    """A recording's noise floor from its frame levels (dB): their 10th percentile (-120 for none)."""
    return float(np.percentile(levels, 10)) if levels.size else -120.0


def speech_bounds(samples: np.ndarray, sr: int, floor_db: float) -> tuple[float, float] | None:
    """Where speech is in ``samples``: (first, last) second of the frames within :data:`BELOW_PEAK_DB` of the
    loudest and :data:`ABOVE_FLOOR_DB` above ``floor_db``, relative to the first sample; None when no frame is."""
    levels = frame_db(samples, sr)
    if levels.size == 0:
        return None
    threshold = max(float(levels.max()) - BELOW_PEAK_DB, floor_db + ABOVE_FLOOR_DB)
    loud = np.nonzero(levels >= threshold)[0]
    if loud.size == 0 or levels.max() < floor_db + ABOVE_FLOOR_DB:
        return None
    return loud[0] * FRAME_S, (loud[-1] + 1) * FRAME_S


def refine_sentence(sentence: Sentence, samples: np.ndarray, sr: int, offset: float, floor_db: float
                    ) -> Sentence | None:
    """``sentence`` with its start and end moved to the speech in ``samples`` (which begin at ``offset`` s and
    should cover the sentence widened by :data:`EXTEND_S`); None when that span holds no speech.

    Speech is looked for in the sentence widened by :data:`EXTEND_S` on each side; the new bounds are the first
    and last speech frame, :data:`PAD_S` outside them, within that span. Word times are clipped to the bounds.
    """
    lo = max(offset, sentence.start - EXTEND_S)
    hi = sentence.end + EXTEND_S
    first = int(round((lo - offset) * sr))
    span = samples[first:max(first, int(round((hi - offset) * sr)))]
    bounds = speech_bounds(span, sr, floor_db)
    if bounds is None:
        return None
    start = max(lo, lo + bounds[0] - PAD_S)
    end = min(lo + len(span) / sr, lo + bounds[1] + PAD_S)
    if end <= start:
        return None
    words = tuple(Word(min(max(w.start, start), end), max(min(w.end, end), start), w.word, w.probability)
                  for w in sentence.words)
    return Sentence(start, end, sentence.text, words, sentence.no_speech_prob)


def longest_silence(samples: np.ndarray, sr: int, floor_db: float) -> float:
    """The longest run (s) of frames in ``samples`` no louder than :data:`ABOVE_FLOOR_DB` above ``floor_db``."""
    quiet = frame_db(samples, sr) < floor_db + ABOVE_FLOOR_DB
    longest = run = 0
    for q in quiet:
        run = run + 1 if q else 0
        longest = max(longest, run)
    return longest * FRAME_S


def split_at_silences(sentence: Sentence, samples: np.ndarray, sr: int, offset: float, floor_db: float,
                      pause_s: float) -> list[Sentence]:
    """``sentence`` cut between two words where the audio from the first's start to the second's end (``samples``
    begin at ``offset`` s) holds a silence of at least ``pause_s``: Whisper's word times run into pauses, so a
    pause it did not punctuate shows in the energy, not in the gap between its words."""
    pieces, current = [], [sentence.words[0]]
    for before, after in zip(sentence.words, sentence.words[1:]):
        lo, hi = int(round((before.start - offset) * sr)), int(round((after.end - offset) * sr))
        if longest_silence(samples[max(0, lo):max(0, hi)], sr, floor_db) >= pause_s:
            pieces.append(current)
            current = []
        current.append(after)
    pieces.append(current)
    if len(pieces) == 1:
        return [sentence]
    return [Sentence(ws[0].start, max(w.end for w in ws), " ".join("".join(w.word for w in ws).split()), tuple(ws),
                     sentence.no_speech_prob) for ws in pieces]


def without_overlaps(sentences: list[Sentence]) -> list[Sentence]:
    """Sentences whose refined spans overlap are cut at the middle of the overlap (in time order)."""
    out = list(sentences)
    for i in range(1, len(out)):
        before, after = out[i - 1], out[i]
        if after.start < before.end:
            middle = (after.start + before.end) / 2
            out[i - 1] = Sentence(before.start, max(before.start + 1e-3, middle), before.text, before.words,
                                  before.no_speech_prob)
            out[i] = Sentence(min(middle, after.end - 1e-3), after.end, after.text, after.words, after.no_speech_prob)
    return out


def no_energy(sentence: Sentence) -> Dropped:
    return Dropped(sentence.start, sentence.end, sentence.text, NO_SPEECH_ENERGY)
