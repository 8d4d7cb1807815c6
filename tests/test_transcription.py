"""Transcription of bare recordings: sentences from Whisper's words (no model), boundaries on speech energy, the
typed transcript's JSON and SRT, and, with the real Whisper base model on a few eSpeak NG recordings, the batch:
sentence times within 0.5 s, the language detected, resume, a damaged file failing alone, and a dataset built
from what it wrote."""
from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from weaklabel.readers.subtitles import parse_srt, parse_whisper_json, read_subtitle_corpus
from weaklabel.transcription import SUMMARY_FILE, Sentence, Transcript, TranscriptionSettings, Word, to_srt
from weaklabel.transcription.batch import find_recordings, output_paths, state
from weaklabel.transcription.sentences import (NO_SPEECH_PROB, NO_WORDS, REPETITION, RawSegment, drop_hallucinations,
                                               refine_sentence, split_sentences, without_overlaps)

SR = 16000


def words(*spec) -> tuple[Word, ...]:
    """Words from (text, start, end) triples."""
    return tuple(Word(start, end, f" {text}", 0.9) for text, start, end in spec)


def segment(*spec, no_speech=0.1) -> RawSegment:
    ws = words(*spec)
    return RawSegment(ws[0].start, ws[-1].end, "".join(w.word for w in ws), ws, no_speech)


# ------------------------------------------------------------------------------------------------ sentences
def test_words_are_regrouped_at_sentence_ends_across_whisper_segments():
    segs = [segment(("Hello", 0.0, 0.4), ("there.", 0.5, 0.9), ("How", 1.0, 1.2)),
            segment(("are", 1.25, 1.4), ("you?", 1.45, 1.8), ("Fine", 1.9, 2.2), no_speech=0.3)]
    out = split_sentences(segs, pause_s=0.8)
    assert [s.text for s in out] == ["Hello there.", "How are you?", "Fine"]
    assert [(s.start, s.end) for s in out] == [(0.0, 0.9), (1.0, 1.8), (1.9, 2.2)]
    assert out[1].no_speech_prob == 0.3 and len(out[1].words) == 3  # "How" from the first segment


def test_abbreviations_do_not_end_a_sentence_but_a_long_pause_does():
    segs = [segment(("Mr.", 0.0, 0.3), ("Smith", 0.35, 0.7), ("came", 0.75, 1.0), ("then", 2.5, 2.8),
                    ("left.", 2.85, 3.2))]
    assert [s.text for s in split_sentences(segs, pause_s=0.8)] == ["Mr. Smith came", "then left."]
    assert [s.text for s in split_sentences(segs, pause_s=2.0)] == ["Mr. Smith came then left."]


def test_text_without_words_or_over_silence_is_dropped_with_its_reason():
    empty = RawSegment(5.0, 7.0, " Thank you.", (), 0.2)
    silent = segment(("Bye.", 8.0, 8.5), no_speech=0.95)
    loop_words = words(*[(w, 9.0 + 0.05 * i, 9.05 + 0.05 * i) for i, w in enumerate(["the", "word"] * 20)])
    loop = RawSegment(9.0, 11.0, " the word" * 20, loop_words, 0.1, 12.0)
    said = words(*[(w, 12.0 + 0.4 * i, 12.3 + 0.4 * i) for i, w in enumerate(["by", "the", "door."] * 6)])
    repeated = RawSegment(12.0, 19.2, " by the door." * 6, said, 0.1, 3.0)  # repetitive, at a speaking rate
    kept, dropped = drop_hallucinations([segment(("Yes.", 0.0, 0.3)), empty, silent, loop, repeated],
                                        max_no_speech_prob=0.8)
    assert [s.text for s in kept] == [" Yes.", " by the door." * 6]
    assert [(d.text[:8], d.reason) for d in dropped] == [("Thank yo", NO_WORDS), ("Bye.", NO_SPEECH_PROB),
                                                         ("the word", REPETITION)]


def tone(seconds: float, level: float = 0.1) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (level * np.sin(2 * np.pi * 200 * t)).astype(np.float32)


def test_a_sentence_is_moved_to_its_speech_and_one_over_silence_is_refused():
    rng = np.random.default_rng(0)
    audio = np.concatenate([np.zeros(SR, np.float32), tone(1.0), np.zeros(2 * SR, np.float32)])
    audio += (rng.standard_normal(len(audio)) * 1e-3).astype(np.float32)
    # Whisper starts the sentence 0.4 s early and ends it 0.1 s late
    early = Sentence(0.6, 2.1, "Hi.", words(("Hi.", 0.6, 2.1)), 0.1)
    better = refine_sentence(early, audio, SR, 0.0, floor_db=-60.0)
    assert abs(better.start - 0.95) < 0.02 and abs(better.end - 2.05) < 0.02
    assert better.words[0].start == better.start and better.words[0].end == better.end
    assert refine_sentence(Sentence(2.6, 3.5, "Bye.", words(("Bye.", 2.6, 3.5)), 0.1), audio, SR, 0.0,
                           floor_db=-60.0) is None


def test_overlapping_refined_sentences_are_cut_in_the_middle():
    a = Sentence(0.0, 2.0, "A.", (), 0.0)
    b = Sentence(1.6, 3.0, "B.", (), 0.0)
    first, second = without_overlaps([a, b])
    assert first.end == pytest.approx(1.8) and second.start == pytest.approx(1.8) and second.end == 3.0


# ------------------------------------------------------------------------------------------------ transcript
def transcript(settings=TranscriptionSettings()) -> Transcript:
    return Transcript((Sentence(0.5, 1.75, "Hello there.", words(("Hello", 0.5, 1.0), ("there.", 1.1, 1.75)), 0.1),
                       Sentence(3723.25, 3725.0, "Bye.", words(("Bye.", 3723.25, 3725.0)), 0.2)),
                      "en", 0.97, 3726.0, "ab" * 32, {"name": "whisper-base", "sha256": "cd" * 32}, settings)


def test_the_transcript_reads_back_and_its_srt_and_json_are_what_the_subtitle_reader_reads():
    t = transcript()
    assert Transcript.from_dict(json.loads(json.dumps(t.to_dict()))) == t
    cues = parse_srt(to_srt(t))
    assert [(c.start_s, c.end_s, c.text) for c in cues] == [(0.5, 1.75, "Hello there."), (3723.25, 3725.0, "Bye.")]
    cues = parse_whisper_json(json.dumps(t.to_dict()))
    assert [(c.start_s, c.end_s, c.text) for c in cues] == [(0.5, 1.75, "Hello there."), (3723.25, 3725.0, "Bye.")]
    with pytest.raises(ValueError, match="not a transcript written by"):
        Transcript.from_dict({"segments": []})


def test_a_transcript_is_current_only_for_its_audio_model_and_settings_and_others_are_never_ours(tmp_path):
    json_path, srt_path = output_paths(tmp_path, "sub/talk")
    assert json_path == tmp_path / "sub/talk.json" and srt_path == tmp_path / "sub/talk.srt"
    assert state(json_path, srt_path, "ab" * 32, "cd" * 32, TranscriptionSettings()) == "new"
    json_path.parent.mkdir()
    srt_path.write_text("1\n00:00:00,000 --> 00:00:01,000\nmine\n")
    assert state(json_path, srt_path, "ab" * 32, "cd" * 32, TranscriptionSettings()) == "foreign"
    json_path.write_text(json.dumps(transcript().to_dict()))
    assert state(json_path, srt_path, "ab" * 32, "cd" * 32, TranscriptionSettings()) == "current"
    assert state(json_path, srt_path, "ef" * 32, "cd" * 32, TranscriptionSettings()) == "stale"
    assert state(json_path, srt_path, "ab" * 32, "ef" * 32, TranscriptionSettings()) == "stale"
    assert state(json_path, srt_path, "ab" * 32, "cd" * 32, TranscriptionSettings(beam_size=1)) == "stale"
    json_path.write_text(json.dumps({"segments": [{"start": 0, "end": 1, "text": "whisperX"}]}))
    assert state(json_path, srt_path, "ab" * 32, "cd" * 32, TranscriptionSettings()) == "foreign"


def test_recordings_are_found_with_the_readers_formats_one_per_stem(tmp_path):
    for name in ("a.wav", "a.mp3", "sub/b.flac", "notes.txt", ".hidden.wav"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    assert [(rid, p.name) for rid, p in find_recordings(tmp_path)] == [("a", "a.wav"), ("sub/b", "b.flac")]


# ------------------------------------------------------------------------------------------------ the real model
def _whisper_missing() -> str | None:
    try:
        import faster_whisper  # noqa: F401
    except ImportError:
        return "faster-whisper is not installed"
    from weaklabel import whisper_model

    return whisper_model.wheels_missing()


needs_whisper = pytest.mark.skipif(_whisper_missing() is not None,
                                   reason="faster-whisper or the Whisper weight wheels are not installed (pip install "
                                          "-e .)")
ENGLISH = ["The weather is lovely today.", "Please close the door when you leave.", "We will meet again next week."]
GERMAN = ["Ich fahre morgen mit dem Zug nach Berlin.", "Wir treffen uns am Abend im Garten."]


def write_joined(path, texts, voice) -> list[tuple[float, float]]:
    """``texts`` voiced by eSpeak NG, joined with 1 s gaps (0.5 s before) in quiet noise; their (start, end) s."""
    from weaklabel.demo import voice_sentences

    pieces, spans, t = [np.zeros(SR // 2, np.float32)], [], 0.5
    for clip in voice_sentences(texts, voice):
        spans.append((t, t + len(clip) / SR))
        pieces += [clip, np.zeros(SR, np.float32)]
        t += len(clip) / SR + 1.0
    audio = np.concatenate(pieces)
    audio += (np.random.default_rng(0).standard_normal(len(audio)) * 10 ** (-55 / 20)).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio, SR, subtype="PCM_16")
    return spans


@pytest.fixture(scope="module")
def transcribed(tmp_path_factory):
    from weaklabel.transcription import transcribe

    root = tmp_path_factory.mktemp("talks")
    spans = {"en": write_joined(root / "en.wav", ENGLISH, "en-us"),
             "de": write_joined(root / "sub" / "de.wav", GERMAN, "de")}
    (root / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot audio at all")
    summary = transcribe(root, root, TranscriptionSettings(), workers=1)
    return root, spans, summary


@needs_whisper
def test_sentences_within_half_a_second_and_the_language_recorded(transcribed):
    root, spans, summary = transcribed
    assert summary.transcribed == ["en", "sub/de"] and summary.recordings == 3
    en = Transcript.from_dict(json.loads((root / "en.json").read_text()))
    assert en.language == "en" and en.model["verified"] and en.settings == TranscriptionSettings()
    assert len(en.sentences) == len(ENGLISH)
    for sentence, (start, end) in zip(en.sentences, spans["en"]):
        assert abs(sentence.start - start) <= 0.5 and abs(sentence.end - end) <= 0.5, (sentence, start, end)
    assert "close the door" in en.sentences[1].text.lower()
    de = Transcript.from_dict(json.loads((root / "sub" / "de.json").read_text()))
    assert de.language == "de" and de.language_probability > 0.5 and len(de.sentences) == len(GERMAN)


@needs_whisper
def test_a_damaged_file_fails_alone_with_its_reason(transcribed):
    root, _, summary = transcribed
    assert [f["recording"] for f in summary.failed] == ["broken"]
    assert "cannot open audio" in summary.failed[0]["reason"]
    recorded = json.loads((root / "transcription_summary.json").read_text())
    assert recorded["failed"] == summary.failed and recorded["transcribed"] == ["en", "sub/de"]
    assert not (root / "broken.json").exists()


@needs_whisper
def test_the_srt_is_read_by_the_subtitle_reader_and_a_dataset_builds_from_it(transcribed, tmp_path):
    from weaklabel.build import BuildConfig, build_dataset
    from weaklabel.logmel import LogMelParams

    root, spans, _ = transcribed
    cues = parse_srt((root / "en.srt").read_text())
    assert [round(c.start_s, 3) for c in cues] == [round(s.start, 3) for s in Transcript.from_dict(
        json.loads((root / "en.json").read_text())).sentences]
    segments = read_subtitle_corpus(root)
    assert sorted({s.recording_id for s in segments}) == ["en", "sub/de"]
    corpus = tmp_path / "corpus"  # the SRT alone beside its audio
    corpus.mkdir()
    os.link(root / "en.wav", corpus / "en.wav")
    os.link(root / "en.srt", corpus / "en.srt")
    build_dataset(BuildConfig(corpus="subtitles", root=str(corpus),
                              mel=LogMelParams(n_mels=32, n_fft=512, win_length=512, hop_length=512)),
                  tmp_path / "out", workers=1)
    rows = pd.read_parquet(tmp_path / "out" / "segments.parquet")
    assert len(rows) == len(ENGLISH) and set(rows["status"]) <= {"ok", "abstained"}
    assert np.allclose(sorted(rows["start"]), [c.start_s for c in cues])


@needs_whisper
def test_a_second_run_transcribes_nothing_and_a_changed_recording_alone_again(transcribed):
    from weaklabel.transcription import transcribe

    root, _, _ = transcribed
    again = transcribe(root, root, TranscriptionSettings(), workers=1)
    assert again.transcribed == [] and again.up_to_date == ["en", "sub/de"]
    assert [f["recording"] for f in again.failed] == ["broken"]
    audio, sr = sf.read(root / "sub" / "de.wav", dtype="float32")
    sf.write(root / "sub" / "de.wav", audio * 0.9, sr, subtype="PCM_16")
    third = transcribe(root, root, TranscriptionSettings(), workers=1)
    assert third.transcribed == ["sub/de"] and third.up_to_date == ["en"]


def test_the_command_line_takes_the_settings_and_vad_both_ways():
    from pipelines.transcribe import command_line

    cli = command_line()
    _, values = cli.parse(["--root", "x", "--vad", "--vad-min-silence-ms", "500", "--language", "de"])
    settings = cli.configs(values)["transcribe"]
    assert settings == TranscriptionSettings(vad=True, vad_min_silence_ms=500, language="de")
    _, values = cli.parse(["--root", "x", "--no-vad", "--no-refine", "--beam-size", "1"])
    assert cli.configs(values)["transcribe"] == TranscriptionSettings(vad=False, refine=False, beam_size=1)


@needs_whisper
def test_the_command_says_what_it_did_and_fails_for_a_damaged_file(transcribed, capsys):
    from pipelines.transcribe import main

    root, _, _ = transcribed
    assert main(["--root", str(root), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "3 recording(s): 0 transcribed, 2 up to date, 0 skipped, 1 failed" in out
    assert "failed: broken: cannot open audio" in out


@needs_whisper
def test_the_build_transcribes_what_has_no_transcript_once_and_keeps_what_has_one(tmp_path):
    from weaklabel.build import BuildConfig, build_dataset
    from weaklabel.logmel import LogMelParams

    root, out = tmp_path / "recordings", tmp_path / "dataset"
    write_joined(root / "talk.wav", ENGLISH[:2], "en-us")
    write_joined(root / "kept.wav", ENGLISH[2:], "en-us")
    (root / "kept.srt").write_text("1\n00:00:00,500 --> 00:00:02,500\nA transcript someone wrote.\n")
    (root / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot audio at all")
    config = BuildConfig(corpus="auto", root=str(root), transcribe=True, policy="mean", allow_empty_splits=True,
                         mel=LogMelParams(n_mels=32, n_fft=512, win_length=512, hop_length=512))
    first = build_dataset(config, out, workers=1)
    rows = first.segments.set_index("segment_id")
    assert rows.loc["kept_0", "text"] == "A transcript someone wrote." and rows.loc["kept_0", "text_source"] == "transcript"
    heard = rows[rows["text_source"] == "asr"]
    assert list(heard.index) == ["talk_0", "talk_1"] and set(heard["asr_language"]) == {"en"}
    assert set(heard["asr_model"]) == {"whisper-base"} and "close the door" in heard.loc["talk_1", "text"].lower()
    assert rows.loc["broken_transcription", "status"] == "audio_unreadable"
    assert rows.loc["broken_transcription", "detail"].startswith("transcription failed: cannot open audio")
    assert not (root / "talk.json").exists()  # the corpus folder is not written into: the cache is the dataset's
    cached = out / "transcripts" / "talk.json"
    made = cached.stat().st_mtime_ns
    again = build_dataset(config, out, workers=1)
    assert again.up_to_date and cached.stat().st_mtime_ns == made  # nothing transcribed again
    assert first.config.transcribe and first.config.transcription == config.transcription  # recorded
    other = BuildConfig(**{**config.__dict__, "transcription": TranscriptionSettings(beam_size=1)})
    assert other.fingerprint() != config.fingerprint()  # the settings are in the build's identity


@needs_whisper
def test_run_goes_from_bare_recordings_to_a_report_offline_and_a_rerun_transcribes_nothing(tmp_path, monkeypatch):
    import socket

    from pipelines import run

    def refuse(*args, **kwargs):
        raise AssertionError("a step opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    root, out = tmp_path / "recordings", tmp_path / "out"
    write_joined(root / "one.wav", ["I love this wonderful sunny morning.", "This awful traffic makes me furious."],
                 "en-us")
    write_joined(root / "two.wav", ["What a fantastic gift, thank you.", "The service was slow and rude."], "en-us")
    write_joined(root / "three.wav", ["I am so happy for you both.", "That was a horrible mistake."], "en-us")
    write_joined(root / "four.wav", ["This cake is delicious and sweet.", "I feel sad and lonely tonight."], "en-us")
    argv = ["--root", str(root), "--transcribe", "--out", str(out), "--allow-empty-splits", "--features", "vgg16",
            "--weights", "random", "--quiet"]
    assert run.main(argv) == 0
    assert (out / "report" / "index.html").is_file() and (out / "model" / "model.json").is_file()
    def transcripts():
        return {p: p.stat().st_mtime_ns for p in (out / "transcripts").glob("*.json") if p.name != SUMMARY_FILE}

    made = transcripts()
    assert sorted(p.name for p in made) == ["four.json", "one.json", "three.json", "two.json"]
    assert run.main(argv) == 0
    assert transcripts() == made  # nothing transcribed again
