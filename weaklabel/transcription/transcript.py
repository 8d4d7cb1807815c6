"""What a transcription is made of: its settings (:class:`TranscriptionSettings`) and its result (:class:`Transcript`
of :class:`Sentence` of :class:`Word`), each frozen and typed, with a Whisper-style dictionary form
(:meth:`Transcript.to_dict`, :meth:`Transcript.from_dict`) that the subtitle reader reads as a Whisper JSON.

All times are seconds from the start of the recording.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from foundation.config import check_ranges, option

#: What every transcript JSON names as its writer; a JSON beside a recording without it is someone else's.
TRANSCRIBER = "weaklabel.transcription"
#: The layout of the transcript JSON; a different one is transcribed again.
FORMAT_VERSION = 1
COMPUTE_TYPES = ("int8", "int8_float32", "float32")


@dataclass(frozen=True)
class TranscriptionSettings:
    """How recordings are transcribed: everything that changes a transcript (recorded in it; a transcript made with
    other settings is made again). Runtime options (workers, threads) are not here."""

    model: str = option("base", metavar="DIR", flag="--model",
                        help="'base' (the pinned Whisper base model from its wheels, verified) or a CTranslate2 "
                             "Whisper model folder")
    language: str | None = option(None, metavar="CODE", default_text="detected per recording",
                                  help="the spoken language as Whisper names it (en, de, fr, ...)")
    beam_size: int = option(5, minimum=1, maximum=20, help="beam search width")
    compute_type: str = option("int8", choices=COMPUTE_TYPES, help="CTranslate2 precision on the CPU")
    vad: bool = option(True, help="skip non-speech with faster-whisper's Silero VAD before decoding (--no-vad: "
                                  "decode all the audio, 30 s at a time)")
    vad_threshold: float = option(0.5, exclusive_minimum=0.0, exclusive_maximum=1.0,
                                  help="Silero speech probability that starts speech")
    vad_min_silence_ms: int = option(500, minimum=0, help="silence that ends a speech chunk, ms (Silero's own "
                                                          "default: 2000)")
    vad_speech_pad_ms: int = option(200, minimum=0, help="audio kept on each side of a speech chunk, ms (Silero's "
                                                         "own default: 400)")
    vad_max_speech_s: float = option(30.0, exclusive_minimum=0.0,
                                     help="longest speech chunk, s (longer ones are cut at a silence)")
    refine: bool = option(True, help="move each sentence's start and end to the speech energy around it "
                                     "(--no-refine: Whisper's word times)")
    pause_split_s: float = option(0.8, exclusive_minimum=0.0,
                                  help="a pause between words this long (s) ends a sentence without punctuation")
    max_no_speech_prob: float = option(0.8, minimum=0.0, maximum=1.0,
                                       help="drop Whisper segments whose no-speech probability is above this")
    window_s: float = option(600.0, minimum=60.0, maximum=3600.0,
                             help="audio decoded and transcribed at a time, s (memory is bounded by it)")

    def __post_init__(self):
        check_ranges(self)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TranscriptionSettings":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def vad_parameters(self) -> dict:
        """faster-whisper's ``VadOptions`` keywords."""
        return {"threshold": self.vad_threshold, "min_silence_duration_ms": self.vad_min_silence_ms,
                "speech_pad_ms": self.vad_speech_pad_ms, "max_speech_duration_s": self.vad_max_speech_s}


@dataclass(frozen=True)
class Word:
    """One word: ``start``, ``end`` in seconds, ``word`` as Whisper spells it (a leading space included), and
    Whisper's ``probability`` (0-1)."""

    start: float
    end: float
    word: str
    probability: float


@dataclass(frozen=True)
class Sentence:
    """One sentence: ``start``, ``end`` (s), ``text``, its ``words``, and ``no_speech_prob``, the highest
    no-speech probability of the Whisper segments its words came from."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...]
    no_speech_prob: float

    def to_dict(self, index: int) -> dict:
        return {"id": index, "start": round(self.start, 3), "end": round(self.end, 3), "text": self.text,
                "no_speech_prob": round(self.no_speech_prob, 4),
                "words": [{"start": round(w.start, 3), "end": round(w.end, 3), "word": w.word,
                           "probability": round(w.probability, 4)} for w in self.words]}

    @classmethod
    def from_dict(cls, data: dict) -> "Sentence":
        return cls(float(data["start"]), float(data["end"]), data["text"],
                   tuple(Word(float(w["start"]), float(w["end"]), w["word"], float(w["probability"]))
                         for w in data.get("words", ())), float(data.get("no_speech_prob", 0.0)))


@dataclass(frozen=True)
class Dropped:
    """Text Whisper gave that is not kept: ``start``, ``end`` (s), ``text`` and ``reason`` (:data:`DROP_REASONS`)."""

    start: float
    end: float
    text: str
    reason: str


#: Why text is dropped: Whisper segments without word times, with a high no-speech probability or of repeated text
#: (a decoding loop), or sentences without speech energy in their span.
NO_WORDS, NO_SPEECH_PROB, REPETITION, NO_SPEECH_ENERGY = "no_words", "no_speech_prob", "repetition", "no_speech_energy"
DROP_REASONS = (NO_WORDS, NO_SPEECH_PROB, REPETITION, NO_SPEECH_ENERGY)


@dataclass(frozen=True)
class Transcript:
    """One recording's transcript.

    Attributes
    ----------
    sentences : tuple of Sentence
        In time order, one sentence each.
    language, language_probability : str, float
        The language given, or detected (with Whisper's probability; 1.0 when given).
    duration : float
        The recording's length, s.
    audio_sha256 : str
        SHA-256 of the audio file's bytes.
    model : dict
        The Whisper model's record (:meth:`weaklabel.whisper_model.WhisperModelInfo.record`: name, sha256, ...).
    settings : TranscriptionSettings
    dropped : tuple of Dropped
        Text not kept, with why.
    """

    sentences: tuple[Sentence, ...]
    language: str
    language_probability: float
    duration: float
    audio_sha256: str
    model: dict
    settings: TranscriptionSettings
    dropped: tuple[Dropped, ...] = ()

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)

    def to_dict(self) -> dict:
        """Whisper's JSON (``text``, ``segments`` with ``start``, ``end``, ``text``, ``words``, ``no_speech_prob``;
        ``language``), with what this transcript was made from."""
        return {"transcriber": TRANSCRIBER, "format_version": FORMAT_VERSION, "text": self.text,
                "segments": [s.to_dict(i) for i, s in enumerate(self.sentences)], "language": self.language,
                "language_probability": round(self.language_probability, 4), "duration": round(self.duration, 3),
                "audio_sha256": self.audio_sha256, "model": dict(self.model), "settings": self.settings.to_dict(),
                "dropped": [{**asdict(d), "start": round(d.start, 3), "end": round(d.end, 3)} for d in self.dropped]}

    @classmethod
    def from_dict(cls, data: dict) -> "Transcript":
        """Read back :meth:`to_dict`'s output. Raises ValueError for a JSON that this module did not write."""
        if data.get("transcriber") != TRANSCRIBER:
            raise ValueError(f"not a transcript written by {TRANSCRIBER}")
        if data.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"transcript format {data.get('format_version')}, this version reads {FORMAT_VERSION}")
        return cls(tuple(Sentence.from_dict(s) for s in data["segments"]), data["language"],
                   float(data["language_probability"]), float(data["duration"]), data["audio_sha256"],
                   dict(data["model"]), TranscriptionSettings.from_dict(data["settings"]),
                   tuple(Dropped(float(d["start"]), float(d["end"]), d["text"], d["reason"])
                         for d in data.get("dropped", ())))


def srt_time(seconds: float) -> str:
    """``HH:MM:SS,mmm`` (SubRip) of a time in seconds."""
    ms = int(round(max(0.0, seconds) * 1000))
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def to_srt(transcript: Transcript) -> str:
    """The transcript as SubRip text: one cue per sentence."""
    blocks = [f"{i}\n{srt_time(s.start)} --> {srt_time(s.end)}\n{s.text}\n"
              for i, s in enumerate(transcript.sentences, start=1)]
    return "\n".join(blocks)
