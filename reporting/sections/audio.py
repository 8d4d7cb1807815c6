"""The audio section: log-mel spectrograms of the clearest positive and negative clips."""
from __future__ import annotations

import numpy as np
import pandas as pd

from reporting import figures
from reporting.html import Section, esc, figure, fmt, note
from reporting.inputs import ReportInputs
from reporting.sections.common import _floats, _intro
from weaklabel.logmel import LogMelParams
from weaklabel.segments import OK


SPECTROGRAMS_PER_CLASS = 3


def _mel_centres_hz(mel: LogMelParams) -> np.ndarray:
    """The centre frequencies (Hz) of the ``mel.n_mels`` bands, lowest first."""
    import librosa

    return librosa.mel_frequencies(mel.n_mels + 2, fmin=mel.fmin, fmax=mel.fmax)[1:-1]


def spectrogram_examples(segments: pd.DataFrame, label: int, k: int = SPECTROGRAMS_PER_CLASS) -> pd.DataFrame:
    """Up to ``k`` kept clips of ``label`` with the clearest scores, one per recording and sentence text
    (deterministic: ties broken by segment id)."""
    kept = segments[(segments["status"] == OK) & (_floats(segments["label"]) == label)
                    & segments["feature_row"].notna()].copy()
    kept["_strength"] = -np.abs(_floats(kept["score"]))
    kept = kept.sort_values(["_strength", "segment_id"], kind="mergesort")
    return kept.drop_duplicates("video_id").drop_duplicates("text").head(k)


def audio_section(inputs: ReportInputs) -> Section:
    config = inputs.build.config
    seconds_per_frame = config.mel.hop_length / config.mel.sample_rate
    clip_seconds = config.clip_seconds
    parts = [_intro(f"What the model hears: log-mel spectrograms of {clip_seconds:g} s clips ("
                    f"{fmt(config.mel.n_mels)} mel bands, {seconds_per_frame * 1000:.0f} ms hop), in dB. "
                    "Short segments are padded with silence stored at −100 dB (black), long ones cropped.")]
    rows, listing = [], []
    for label, name, prefix in ((1, "positive", "P"), (0, "negative", "N")):
        chosen = spectrogram_examples(inputs.segments, label)
        if chosen.empty:
            continue
        logmel = inputs.logmel_rows(chosen["feature_row"].astype(int).tolist())
        clips = []
        for k, (r, spec) in enumerate(zip(chosen.itertuples(index=False), logmel), 1):
            pad = float(r.clip_pad_left_s) if pd.notna(r.clip_pad_left_s) else 0.0
            length = (float(r.clip_source_end_s) - float(r.clip_source_start_s)
                      if pd.notna(r.clip_source_end_s) and pd.notna(r.clip_source_start_s) else clip_seconds)
            clips.append({"logmel": spec, "title": f"{prefix}{k}  score {float(r.score):+.2f}",
                          "speech_s": (pad, min(pad + length, clip_seconds))})
            listing.append(f'<li><strong class="{name[:3]}">{prefix}{k}</strong> <code>{esc(r.segment_id)}</code> '
                           f"({float(r.duration_s):.2f} s of speech): {esc(r.text)}</li>")
        rows.append((name, clips))
    if not rows:
        parts.append(note("No kept clip has features yet: there is nothing to show (a build with zero kept "
                          "segments).", "warn"))
    else:
        png = figures.spectrogram_grid(rows, seconds_per_frame, _mel_centres_hz(config.mel))
        caption = ("Clearest positive (top) and negative (bottom) clips by score, each from another recording. "
                   "Dashed green lines bound the recording's speech; the rest of the clip is padding. "
                   "<strong>Look for</strong> speech that fills its span (a span that starts or ends in "
                   "silence means the transcript times are off) and level differences between recordings, "
                   "which the image conversion removes (each clip is scaled to its loudest bin)."
                   f"<ol class=\"clips\">{''.join(listing)}</ol>")
        parts.append(figure(png, "example log-mel spectrograms", caption))
    return Section("audio", "The audio", "\n".join(parts))
