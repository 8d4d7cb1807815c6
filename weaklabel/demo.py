"""Demo corpus: a small CMU-MOSEI-shaped corpus of **synthetic speech**, made offline with eSpeak NG.

The demo lets the whole pipeline run end to end without downloading CMU-MOSEI. Every recording is
formant-synthesised English speech produced by the eSpeak NG shared library that ships inside the
``espeakng-loader`` wheel, driven through :mod:`ctypes`. No human voice is involved, and a model trained
on it learns about eSpeak, not about people: treat results on the demo as a smoke test, never as a
measure of speech-emotion accuracy.

How the demo ties voice to sentiment
------------------------------------
The sentences come from ``data/demo/sentences.tsv``: hand-written opinion-video sentences, 60 positive,
60 negative and 60 neutral, each of which clearly carries its class by text sentiment (the mean of the
TextBlob polarity and the VADER compound score is >= 0.35 for positive, <= -0.35 for negative and within
+-0.1 for neutral). The *text* therefore yields the weak label. So that a classifier can then learn
valence from the *voice*, the demo speaks each sentence with prosody chosen by its class
(:data:`PROSODY`), on top of the speaker's own baseline (:data:`SPEAKERS`):

========  ==============  ===================  =============  =====
class     pitch (eSpeak)  pitch range          speaking rate  level
========  ==============  ===================  =============  =====
positive  baseline + 6    62 (wider)           x 1.05         +1 dB
neutral   baseline        50 (eSpeak default)  x 1.00          0 dB
negative  baseline - 5    40 (narrower)        x 0.95         -1 dB
========  ==============  ===================  =============  =====

eSpeak's pitch parameter is on a 0-99 scale where +50 doubles the voice's base F0, so +6 raises F0 by
about 9 % and -5 lowers it by about 7 %. Each sentence adds its own random jitter to all four
settings (standard deviations in :data:`JITTER`), so the classes overlap and no single constant cue
gives the class away.

Honest splits
-------------
The corpus comes with its own folds (``demo_folds.json``, passed to the build as ``--folds``) that keep
both the **speakers** and the **sentences** of validation and test out of training: each speaker belongs
to one split (:func:`speaker_splits`: with eight speakers, one for validation, one for test), and the
sentences of ``sentences.tsv`` are partitioned between the splits, stratified by class
(:func:`sentence_splits`), so a recording speaks only its own split's sentences. A model can then not
score well on test by recognising a voice or a sentence it was trained on; it has to hear the prosody.

Layout written (CMU-MOSEI's, as read by :mod:`weaklabel.readers.mosei`)::

    out_dir/Raw/Audio/Full/WAV_16000/<video>.wav          16 kHz, mono, 16-bit PCM
    out_dir/Raw/Transcript/Segmented/Combined/<video>.txt  <video>___<i>___<start>___<end>___<text>
    out_dir/demo_segments.tsv                             the class, prosody and split of every sentence
    out_dir/demo_folds.json                               train / valid / test video ids (and their
                                                          speakers and sentences)
    out_dir/demo_corpus.json                              stamp: parameters, eSpeak version, file sizes

Video ids are ``demo_spk<SS>_rec<RR>``: one eSpeak voice (speaker) per recording, recordings assigned
to the eight speakers in turn. Generation is deterministic: the same parameters, sentence file and
eSpeak build give byte-identical files.

Command line: ``python -m pipelines.demo_corpus OUT_DIR [--seed N] [--recordings N] [--sentences N]``.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from foundation.digests import file_sha256
from weaklabel.espeak import ENGINE_LOCK, ESpeak, espeak_version
from weaklabel.splits import FOLD_FILE_KEYS as FOLD_KEYS, SPLITS, TEST, TRAIN, VALIDATION

AUDIO_SUBDIR = Path("Raw/Audio/Full/WAV_16000")
TRANSCRIPT_SUBDIR = Path("Raw/Transcript/Segmented/Combined")
STAMP_NAME = "demo_corpus.json"
SEGMENTS_NAME = "demo_segments.tsv"
FOLDS_NAME = "demo_folds.json"
FORMAT_VERSION = 2  # 2: speaker- and sentence-disjoint splits, demo_folds.json
HELD_OUT_SHARE = 0.1  # share of the speakers in each of validation and test (at least one each)

DEFAULT_SENTENCES_PATH = Path(__file__).resolve().parent.parent / "data" / "demo" / "sentences.tsv"
SENTIMENTS = ("positive", "negative", "neutral")

SAMPLE_RATE = 16000  # Hz, the corpus's sample rate
SPEECH_SCALE = 0.4  # eSpeak's full scale mapped to this fraction of 16-bit full scale (headroom for gain)
NOISE_FLOOR_DBFS = -55.0  # RMS of the Gaussian noise added over whole recordings, dB re full scale
PAUSE_RANGE_S = (0.4, 1.5)  # pause between sentences, seconds, uniform
EDGE_PAUSE_RANGE_S = (0.3, 0.8)  # leading and trailing pause, seconds, uniform
TRIM_BELOW_DB = 35.0  # eSpeak's edge silence and decay: 5 ms frames this far below the loudest frame are trimmed


@dataclass(frozen=True)
class Speaker:
    """One synthetic speaker: an eSpeak voice and its baseline prosody.

    Attributes
    ----------
    name : str
        Speaker id used in video ids, ``spk00`` ... ``spk07``.
    voice : str
        eSpeak voice name, ``<language>[+<variant>]`` (variants are in ``espeak-ng-data/voices/!v``).
    pitch : int
        Baseline eSpeak pitch parameter, 0-99 (50 is the voice's own default; +50 doubles F0).
    rate : int
        Baseline speaking rate, words per minute.
    gain_db : float
        Baseline level, dB relative to :data:`SPEECH_SCALE`.
    """

    name: str
    voice: str
    pitch: int
    rate: int
    gain_db: float


SPEAKERS: tuple[Speaker, ...] = (
    Speaker("spk00", "en-us", pitch=44, rate=160, gain_db=0.0),
    Speaker("spk01", "en-us+f2", pitch=52, rate=172, gain_db=-1.0),
    Speaker("spk02", "en-gb-x-rp+m3", pitch=48, rate=150, gain_db=-2.0),
    Speaker("spk03", "en+f4", pitch=46, rate=178, gain_db=0.5),
    Speaker("spk04", "en-us+m7", pitch=56, rate=168, gain_db=-1.5),
    Speaker("spk05", "en-gb-x-rp+f3", pitch=42, rate=158, gain_db=-0.5),
    Speaker("spk06", "en+m2", pitch=50, rate=184, gain_db=-1.0),
    Speaker("spk07", "en-us+f5", pitch=54, rate=164, gain_db=1.0),
)


@dataclass(frozen=True)
class Prosody:
    """Prosody of one sentiment class, relative to the speaker's baseline.

    Attributes
    ----------
    pitch_offset : float
        Added to the speaker's eSpeak pitch parameter (0-99 scale; +50 doubles F0).
    pitch_range : float
        eSpeak pitch-range parameter, 0-99 (50 is the default; 0 is monotone).
    rate_factor : float
        Multiplies the speaker's rate in words per minute.
    gain_db : float
        Added to the speaker's level, dB.
    """

    pitch_offset: float
    pitch_range: float
    rate_factor: float
    gain_db: float


PROSODY: dict[str, Prosody] = {
    "positive": Prosody(pitch_offset=6.0, pitch_range=62.0, rate_factor=1.05, gain_db=1.0),
    "neutral": Prosody(pitch_offset=0.0, pitch_range=50.0, rate_factor=1.00, gain_db=0.0),
    "negative": Prosody(pitch_offset=-5.0, pitch_range=40.0, rate_factor=0.95, gain_db=-1.0),
}

# Per-sentence jitter, standard deviations: pitch and range in eSpeak units, rate as a log factor
# (0.08 is about +-8 %), level in dB. Wide enough that the classes overlap, as real voices do: a
# classifier on the demo does well, not perfectly.
JITTER = {"pitch": 6.0, "range": 14.0, "log_rate": 0.08, "gain_db": 3.0}


def load_sentences(path: str | Path = DEFAULT_SENTENCES_PATH) -> dict[str, list[str]]:
    """Read the demo sentences, grouped by class.

    Parameters
    ----------
    path : path
        Tab-separated file with the header ``sentiment<TAB>text``.

    Returns
    -------
    dict
        ``{"positive": [...], "negative": [...], "neutral": [...]}``, in file order.

    Raises
    ------
    ValueError
        On a bad header, an unknown class, a duplicate sentence or an empty class.
    """
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    if not lines or lines[0].split("\t") != ["sentiment", "text"]:
        raise ValueError(f"{path}: the first line must be the header 'sentiment<TAB>text'")
    by_class: dict[str, list[str]] = {s: [] for s in SENTIMENTS}
    seen: set[str] = set()
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 2 or fields[0] not in by_class or not fields[1].strip():
            raise ValueError(f"{path}:{number}: expected '<positive|negative|neutral><TAB><text>', got {line!r}")
        text = fields[1].strip()
        if text in seen:
            raise ValueError(f"{path}:{number}: duplicate sentence {text!r}")
        seen.add(text)
        by_class[fields[0]].append(text)
    for sentiment, texts in by_class.items():
        if not texts:
            raise ValueError(f"{path}: no {sentiment} sentences")
    return by_class


def _trim_silence(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Cut eSpeak's leading and trailing silence: keep from the first to the last 5 ms frame whose
    RMS is within :data:`TRIM_BELOW_DB` of the loudest frame."""
    frame = max(1, sample_rate // 200)
    n_frames = len(audio) // frame
    if n_frames == 0:
        return audio
    frames = audio[: n_frames * frame].astype(np.float64).reshape(n_frames, frame)
    rms = np.sqrt(np.mean(frames ** 2, axis=1))
    loud = np.nonzero(rms >= rms.max() * 10 ** (-TRIM_BELOW_DB / 20))[0]
    if loud.size == 0:
        return audio[:0]
    return audio[loud[0] * frame: (loud[-1] + 1) * frame]


def _resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample float64 mono audio from ``rate_in`` Hz to ``rate_out`` Hz."""
    if rate_in == rate_out:
        return audio
    import soxr
    return soxr.resample(audio, rate_in, rate_out, quality="HQ")


def voice_sentences(texts: list[str], voice: str = "en-us", *, rate: int = 160, pitch: int = 50,
                    pitch_range: int = 50) -> list[np.ndarray]:
    """Each of ``texts`` spoken by eSpeak NG's ``voice`` (``"en-us"``, ``"de"``...): float32 mono at
    :data:`SAMPLE_RATE`, eSpeak's edge silence trimmed (:func:`_trim_silence`), scaled to :data:`SPEECH_SCALE`.
    For tests and benchmarks that need speech whose words and times are known."""
    out = []
    with ENGINE_LOCK, ESpeak() as engine:
        for seed, text in enumerate(texts, start=1):
            raw = engine.synth(text, voice, rate=rate, pitch=pitch, pitch_range=pitch_range, rand_seed=seed)
            speech = _trim_silence(raw, engine.sample_rate).astype(np.float64) / 32768.0
            out.append((_resample(speech, engine.sample_rate, SAMPLE_RATE) * SPEECH_SCALE).astype(np.float32))
    return out


def speaker_splits(n_recordings: int, seed: int = 0) -> dict[str, str]:
    """Assign each speaker the corpus uses to one split.

    Parameters
    ----------
    n_recordings : int
        Recordings in the corpus; speakers ``SPEAKERS[: min(n_recordings, 8)]`` are used.
    seed : int
        Chooses which speakers are held out.

    Returns
    -------
    dict speaker name -> ``"train"``, ``"validation"`` or ``"test"``. With three or more speakers,
    validation and test get ``max(1, round(0.1 * n_speakers))`` speakers each and training the rest; with
    two, one is training and one test; with one, it is training.
    """
    names = [s.name for s in SPEAKERS[: min(n_recordings, len(SPEAKERS))]]
    order = [names[i] for i in np.random.default_rng([seed, 1]).permutation(len(names))]
    n_held = max(1, int(round(HELD_OUT_SHARE * len(names))))
    held = {VALIDATION: n_held if len(names) >= 3 else 0, TEST: n_held if len(names) >= 2 else 0}
    out = {}
    for split in (TEST, VALIDATION):
        for _ in range(held[split]):
            out[order.pop()] = split
    out.update({name: TRAIN for name in order})
    return {name: out[name] for name in names}


def _per_class_counts(n: int) -> int:
    """The most sentences of one class that a recording of ``n`` sentences holds (about a third each)."""
    return n // 3 + (1 if n % 3 else 0)


def sentence_splits(pool: dict[str, list[str]], splits: dict[str, str], per_recording: int,
                    seed: int = 0) -> dict[str, dict[str, list[str]]]:
    """Partition the sentences between the splits in use, stratified by class.

    Parameters
    ----------
    pool : dict class -> sentences, from :func:`load_sentences`
    splits : dict speaker -> split, from :func:`speaker_splits`
    per_recording : int
        Sentences per recording: every split keeps at least as many of each class as one recording takes.
    seed : int

    Returns
    -------
    dict split -> (dict class -> sentences): disjoint, together the whole pool (within a class in a
    seeded order). A held-out split gets its share of speakers' share of each class (at least a
    recording's worth); training keeps the rest.

    Raises
    ------
    ValueError
        When a class has too few sentences to give every split in use a recording's worth.
    """
    used = [split for split in SPLITS if split in splits.values()]
    n_speakers = len(splits)
    need = _per_class_counts(per_recording)
    out: dict[str, dict[str, list[str]]] = {split: {} for split in used}
    rng = np.random.default_rng([seed, 2])
    for sentiment in SENTIMENTS:
        texts = [pool[sentiment][i] for i in rng.permutation(len(pool[sentiment]))]
        sizes = {split: max(need, int(round(len(texts) * sum(v == split for v in splits.values()) / n_speakers)))
                 for split in used if split != TRAIN}
        if len(texts) - sum(sizes.values()) < need:
            raise ValueError(f"{len(texts)} {sentiment} sentences cannot give each of {', '.join(used)} its own "
                             f"{need} per recording ({per_recording} sentences per recording); use fewer "
                             "sentences per recording")
        for split in used:
            if split == TRAIN:
                continue
            out[split][sentiment], texts = texts[: sizes[split]], texts[sizes[split]:]
        if TRAIN in out:
            out[TRAIN][sentiment] = texts
    return out


def _sentence_plan(rng: np.random.Generator, pool: dict[str, list[str]], n: int) -> list[tuple[str, str]]:
    """Draw ``n`` (sentiment, text) pairs, about a third per class, no sentence twice, shuffled."""
    counts = {s: n // 3 for s in SENTIMENTS}
    for s in rng.permutation(len(SENTIMENTS))[: n - 3 * (n // 3)]:
        counts[SENTIMENTS[s]] += 1
    plan: list[tuple[str, str]] = []
    for sentiment in SENTIMENTS:
        texts = pool[sentiment]
        k = counts[sentiment]
        if k > len(texts):
            raise ValueError(f"{k} {sentiment} sentences per recording requested, only {len(texts)} available")
        plan += [(sentiment, texts[i]) for i in rng.choice(len(texts), size=k, replace=False)]
    return [plan[i] for i in rng.permutation(len(plan))]


def _sentence_prosody(rng: np.random.Generator, speaker: Speaker, sentiment: str) -> dict:
    """Class prosody on the speaker's baseline plus per-sentence jitter, in eSpeak units."""
    p = PROSODY[sentiment]
    pitch = speaker.pitch + p.pitch_offset + rng.normal(0.0, JITTER["pitch"])
    pitch_range = p.pitch_range + rng.normal(0.0, JITTER["range"])
    rate = speaker.rate * p.rate_factor * np.exp(rng.normal(0.0, JITTER["log_rate"]))
    gain_db = speaker.gain_db + p.gain_db + rng.normal(0.0, JITTER["gain_db"])
    return {
        "pitch": int(np.clip(round(pitch), 0, 99)),
        "pitch_range": int(np.clip(round(pitch_range), 0, 99)),
        "rate": int(np.clip(round(rate), 80, 450)),
        "gain_db": round(float(gain_db), 2),
        "rand_seed": int(rng.integers(1, 2**31 - 1)),
    }


def _render_recording(video_id: str, speaker: Speaker, plan: list[tuple[str, str]],
                      rng: np.random.Generator) -> tuple[np.ndarray, list[dict]]:
    """Synthesise one recording. Returns int16 samples at :data:`SAMPLE_RATE` and its segment rows."""
    pieces: list[np.ndarray] = []
    rows: list[dict] = []
    cursor = 0  # samples at SAMPLE_RATE

    def pause(low_high: tuple[float, float]) -> None:
        nonlocal cursor
        n = int(round(rng.uniform(*low_high) * SAMPLE_RATE))
        pieces.append(np.zeros(n))
        cursor += n

    with ESpeak() as engine:  # a fresh engine per recording: its audio depends only on its own plan
        pause(EDGE_PAUSE_RANGE_S)
        for index, (sentiment, text) in enumerate(plan):
            if index:
                pause(PAUSE_RANGE_S)
            prosody = _sentence_prosody(rng, speaker, sentiment)
            raw = engine.synth(text, speaker.voice, rate=prosody["rate"], pitch=prosody["pitch"],
                               pitch_range=prosody["pitch_range"], rand_seed=prosody["rand_seed"])
            speech = _trim_silence(raw, engine.sample_rate).astype(np.float64) / 32768.0
            if speech.size == 0:
                raise RuntimeError(f"eSpeak NG produced silence for {text!r} with voice {speaker.voice}")
            speech = _resample(speech, engine.sample_rate, SAMPLE_RATE)
            speech *= SPEECH_SCALE * 10 ** (prosody["gain_db"] / 20)
            start = cursor
            pieces.append(speech)
            cursor += len(speech)
            rows.append({"video": video_id, "segment": index, "start": start / SAMPLE_RATE,
                         "end": cursor / SAMPLE_RATE, "text": text, "sentiment": sentiment,
                         "speaker": speaker.name, "voice": speaker.voice, **prosody})
        pause(EDGE_PAUSE_RANGE_S)
    audio = np.concatenate(pieces)
    audio += rng.standard_normal(len(audio)) * 10 ** (NOISE_FLOOR_DBFS / 20)
    pcm = np.clip(np.round(audio * 32767.0), -32768, 32767).astype("<i2")
    return pcm, rows


def _expected_identity(n_recordings: int, sentences_per_recording: int, seed: int, sentences_path: Path) -> dict:
    return {
        "generator": "weaklabel.demo",
        "format_version": FORMAT_VERSION,
        "parameters": {"n_recordings": n_recordings, "sentences_per_recording": sentences_per_recording,
                       "seed": seed},
        "espeak_version": espeak_version(),
        "sentences_sha256": file_sha256(sentences_path),
    }


def _complete_corpus(out_dir: Path, identity: dict) -> bool:
    """True when ``out_dir`` holds a finished corpus whose stamp matches ``identity``."""
    try:
        stamp = json.loads((out_dir / STAMP_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(stamp, dict) or any(stamp.get(k) != v for k, v in identity.items()):
        return False
    files = stamp.get("files")
    if not isinstance(files, dict) or not files:
        return False
    for rel, size in files.items():
        path = out_dir / rel
        if not path.is_file() or path.stat().st_size != size:
            return False
    return True


def _is_demo_corpus(out_dir: Path) -> bool:
    """True when ``out_dir`` holds only what this module writes (so replacing it loses nothing else)."""
    if not (out_dir / STAMP_NAME).is_file():
        return False
    return {p.name for p in out_dir.iterdir()} <= {"Raw", STAMP_NAME, SEGMENTS_NAME, FOLDS_NAME}


def generate_demo_corpus(out_dir: str | Path, n_recordings: int = 32, sentences_per_recording: int = 15,
                         seed: int = 0, *, sentences_path: str | Path | None = None) -> Path:
    """Write (or reuse) a synthetic-speech demo corpus in CMU-MOSEI layout.

    Parameters
    ----------
    out_dir : path
        Corpus root; receives ``Raw/...``, ``demo_segments.tsv``, ``demo_folds.json`` (the speaker- and
        sentence-disjoint splits, for the build's ``--folds``) and ``demo_corpus.json``. Built in a
        temporary sibling directory and renamed into place, so it is either complete or absent. An
        existing corpus with the same stamp is returned as is; one made with other parameters is
        replaced; any other non-empty directory is an error.
    n_recordings : int
        Number of recordings (videos); speakers are assigned in turn, ``recording % 8``.
    sentences_per_recording : int
        Sentences per recording, about a third of each class, none repeated within a recording, all from
        the sentences of the recording's split (:func:`sentence_splits`).
    seed : int
        Seed of every random choice (held-out speakers, sentence partition, sentences, order, jitter,
        pauses, noise). Same seed, same bytes.
    sentences_path : path, optional
        Sentence file (``sentiment<TAB>text``); defaults to :data:`DEFAULT_SENTENCES_PATH`.

    Returns
    -------
    pathlib.Path
        ``out_dir``, absolute.

    Raises
    ------
    RuntimeError
        When eSpeak NG cannot be loaded, initialised or made to speak.
    FileExistsError
        When ``out_dir`` exists, is not empty, and is not a demo corpus.
    ValueError
        On bad parameters, a bad sentence file, or too few sentences to keep the splits' sentences apart.

    Notes
    -----
    Recordings last about ``sentences_per_recording * 3.5`` seconds; timestamps in the transcripts are
    seconds from the start of the recording, rounded to milliseconds, and bound the speech exactly
    (eSpeak's own edge silence is trimmed before placing).
    """
    if n_recordings < 1 or sentences_per_recording < 1:
        raise ValueError("n_recordings and sentences_per_recording must be at least 1")
    if not 0 <= seed < 2**63:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    out_dir = Path(out_dir).absolute()
    sentences_path = Path(sentences_path) if sentences_path is not None else DEFAULT_SENTENCES_PATH
    pool = load_sentences(sentences_path)
    sentence_splits(pool, speaker_splits(n_recordings, seed), sentences_per_recording, seed)  # fail early
    identity = _expected_identity(n_recordings, sentences_per_recording, seed, sentences_path)
    if _complete_corpus(out_dir, identity):
        return out_dir
    if out_dir.exists() and (not out_dir.is_dir() or (any(out_dir.iterdir()) and not _is_demo_corpus(out_dir))):
        raise FileExistsError(f"{out_dir} exists and is not a demo corpus; refusing to overwrite it")

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        files = _build(build, pool, n_recordings, sentences_per_recording, seed)
        stamp = {**identity, "sample_rate_hz": SAMPLE_RATE,
                 "speakers": [asdict(s) for s in SPEAKERS], "files": files}
        (build / STAMP_NAME).write_text(json.dumps(stamp, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        _move_into_place(build, out_dir, identity)
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return out_dir


def _build(root: Path, pool: dict[str, list[str]], n_recordings: int, per_recording: int,
           seed: int) -> dict[str, int]:
    """Render every recording into ``root``; return ``{relative path: size in bytes}``."""
    import soundfile as sf

    (root / AUDIO_SUBDIR).mkdir(parents=True)
    (root / TRANSCRIPT_SUBDIR).mkdir(parents=True)
    children = np.random.SeedSequence(seed).spawn(n_recordings)
    split_of = speaker_splits(n_recordings, seed)
    pools = sentence_splits(pool, split_of, per_recording, seed)
    all_rows: list[dict] = []
    files: dict[str, int] = {}
    videos: dict[str, list[str]] = {split: [] for split in SPLITS}
    with ENGINE_LOCK:
        for r in range(n_recordings):
            rng = np.random.default_rng(children[r])
            speaker = SPEAKERS[r % len(SPEAKERS)]
            video_id = f"demo_{speaker.name}_rec{r:02d}"
            split = split_of[speaker.name]
            videos[split].append(video_id)
            plan = _sentence_plan(rng, pools[split], per_recording)
            pcm, rows = _render_recording(video_id, speaker, plan, rng)
            for row in rows:
                row["split"] = split
            wav_rel = AUDIO_SUBDIR / f"{video_id}.wav"
            sf.write(root / wav_rel, pcm, SAMPLE_RATE, subtype="PCM_16", format="WAV")
            txt_rel = TRANSCRIPT_SUBDIR / f"{video_id}.txt"
            lines = [f"{row['video']}___{row['segment']}___{row['start']:.3f}___{row['end']:.3f}___{row['text']}"
                     for row in rows]
            (root / txt_rel).write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")
            files[wav_rel.as_posix()] = (root / wav_rel).stat().st_size
            files[txt_rel.as_posix()] = (root / txt_rel).stat().st_size
            all_rows += rows
    columns = ["video", "segment", "start", "end", "speaker", "voice", "split", "sentiment", "pitch",
               "pitch_range", "rate", "gain_db", "text"]
    table = ["\t".join(columns)] + [
        "\t".join(f"{row[c]:.3f}" if c in ("start", "end") else str(row[c]) for c in columns) for row in all_rows
    ]
    (root / SEGMENTS_NAME).write_text("\n".join(table) + "\n", encoding="utf-8", newline="\n")
    files[SEGMENTS_NAME] = (root / SEGMENTS_NAME).stat().st_size
    folds = {
        "source": "weaklabel.demo: speakers and sentences of validation and test never occur in training",
        **{FOLD_KEYS[split]: videos[split] for split in SPLITS},
        "speakers": {FOLD_KEYS[split]: sorted(n for n, s in split_of.items() if s == split) for split in SPLITS},
        "sentences": {FOLD_KEYS[split]: sorted(t for texts in pools.get(split, {}).values() for t in texts)
                      for split in SPLITS},
    }
    (root / FOLDS_NAME).write_text(json.dumps(folds, indent=1) + "\n", encoding="utf-8", newline="\n")
    files[FOLDS_NAME] = (root / FOLDS_NAME).stat().st_size
    return files


def _move_into_place(build: Path, out_dir: Path, identity: dict) -> None:
    """Rename the finished ``build`` to ``out_dir``, replacing an empty or outdated demo corpus."""
    old = None
    if out_dir.exists():
        if _complete_corpus(out_dir, identity):  # another process finished the same corpus meanwhile
            return
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-old-", dir=out_dir.parent))
        os.rmdir(old)
        os.rename(out_dir, old)
    try:
        os.rename(build, out_dir)
    except OSError:
        if old is not None and not out_dir.exists():
            os.rename(old, out_dir)
            old = None
        if _complete_corpus(out_dir, identity):
            return
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


if __name__ == "__main__":  # ``python -m weaklabel.demo`` runs ``python -m pipelines.demo_corpus``
    import runpy

    runpy.run_module("pipelines.demo_corpus", run_name="__main__", alter_sys=True)
