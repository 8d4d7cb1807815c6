"""Offline transcription of bare recordings with Whisper (faster-whisper), sentence by sentence.

- :mod:`weaklabel.transcription.transcript`: the settings and the typed transcript (Whisper-style JSON, SRT);
- :mod:`weaklabel.transcription.sentences`: hallucinations dropped, words regrouped into sentences, boundaries
  moved to the speech energy (pure: no model);
- :mod:`weaklabel.transcription.engine`: one recording through the model, a window of decoded audio at a time;
- :mod:`weaklabel.transcription.batch`: every recording under a folder, resumable, one JSON and SRT each.

``docs/transcription.md`` says how to use it and what it measured.
"""
from weaklabel.transcription.batch import SUMMARY_FILE, Summary, find_recordings, transcribe
from weaklabel.transcription.engine import transcribe_recording
from weaklabel.transcription.transcript import Sentence, Transcript, TranscriptionSettings, Word, to_srt

__all__ = ["SUMMARY_FILE", "Sentence", "Summary", "Transcript", "TranscriptionSettings", "Word", "find_recordings",
           "to_srt", "transcribe", "transcribe_recording"]
