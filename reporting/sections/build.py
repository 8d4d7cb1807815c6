"""The build section: counts, failures by status, segment durations against the clip length, and the splits."""
from __future__ import annotations

import numpy as np

from reporting import figures
from reporting.html import Section, esc, figure, note, table
from reporting.inputs import ReportInputs
from reporting.sections.common import _floats, _intro, _split_order, _splits, outcomes
from reporting.sections.header import is_synthetic_demo


FAILURE_EXPLANATIONS = {
    "bad_transcript_line": "a transcript line, row or cue that does not parse",
    "bad_encoding": "bytes that are not valid UTF-8",
    "bad_timestamps": "start ≥ end, or a time that is not a finite number",
    "empty_text": "no text to score",
    "audio_missing": "no audio file",
    "audio_unreadable": "a corrupt or undecodable audio file",
    "outside_audio": "the segment starts after the end of the audio",
    "duplicate_segment_id": "a second segment with an id already used",
}


def build_section(inputs: ReportInputs) -> Section:
    segments, counts = inputs.segments, inputs.build.counts
    clip_seconds = inputs.build.config.clip_seconds
    parts = [_intro(f"How the transcripts and recordings in <code>{esc(inputs.display_path)}</code> became "
                    "segments and fixed-length clips. Every transcript segment has a row, whether it was kept, "
                    "abstained on, or failed.")]
    if is_synthetic_demo(inputs):
        parts.append(note("This build is the <strong>synthetic demo corpus</strong> (eSpeak NG voices whose "
                          "prosody was made to follow each sentence's sentiment). Its figures show that the "
                          "pipeline works, not how well a model hears emotion in real voices."))
    out = outcomes(segments)
    parts.append(table(["recordings", "groups", "segments", "kept", "abstained", "failed", "start clamped"],
                       [[counts.recordings or segments["video_id"].nunique(),
                         counts.groups or segments["group_id"].nunique(), len(segments),
                         int(np.isin(out, ("positive", "negative")).sum()), int((out == "abstained").sum()),
                         int((out == "failed").sum()), int(segments["start_clamped"].sum())
                         if "start_clamped" in segments else 0]]))

    failed = segments[out == "failed"]
    parts.append("<h3>Failures</h3>")
    if failed.empty:
        parts.append(note("No segment failed: every transcript line parsed and every recording decoded."))
    else:
        rows = []
        for status, part in sorted(failed.groupby(failed["status"].astype(str)), key=lambda kv: (-len(kv[1]), kv[0])):
            details = part["detail"].dropna().astype(str)
            details = details[details != ""]
            example = details.iloc[0] if len(details) else ""
            rows.append([status, len(part), f"{len(part) / len(segments):.1%}",
                         FAILURE_EXPLANATIONS.get(status, ""), example[:160]])
        parts.append(table(["status", "segments", "share", "meaning", "example detail"], rows, num_columns=(2,)))
        parts.append(f'<p class="intro">A failure costs only its own segments; the build went on. '
                     f"{len(failed):,} segments failed.</p>")

    parts.append("<h3>Segment durations</h3>")
    durations = _floats(segments["duration_s"])
    groups = {"kept": durations[np.isin(out, ("positive", "negative"))],
              "abstained": durations[out == "abstained"], "failed": durations[out == "failed"]}
    finite = durations[np.isfinite(durations)]
    longer = int((finite > clip_seconds).sum())
    caption = (f"Durations of the transcript segments before cropping or padding; the dashed line is the clip "
               f"length, {clip_seconds:g} s. Segments longer than it ({longer:,} of {len(finite):,}, "
               f"{longer / max(len(finite), 1):.0%}) were cropped at a seeded random offset, shorter ones padded "
               "with silence. "
               "<strong>Look for</strong> a long tail beyond the line (crops lose speech: consider a longer "
               "clip) or a pile-up of very short segments (clips that are mostly padding).")
    if len(finite):
        caption += (f" Median {np.median(finite):.2f} s, 95th percentile {np.percentile(finite, 95):.2f} s, "
                    f"longest {finite.max():.2f} s.")
    parts.append(figure(figures.duration_histogram(groups, clip_seconds), "segment duration histogram", caption,
                        width_px=760))

    parts.append("<h3>Splits</h3>")
    split = _splits(segments)
    names = _split_order(sorted(set(split)))
    rows, kept, abst, fail, grp = [], [], [], [], []
    for name in names:
        m = (split == name).to_numpy()
        o = out[m]
        k = int(np.isin(o, ("positive", "negative")).sum())
        kept.append(k)
        abst.append(int((o == "abstained").sum()))
        fail.append(int((o == "failed").sum()))
        grp.append(int(segments.loc[m, "group_id"].nunique()))
        rows.append([name, grp[-1], int(m.sum()), k, int((o == "positive").sum()), int((o == "negative").sum()),
                     abst[-1], fail[-1]])
    parts.append(figure(figures.split_sizes(names, kept, abst, fail, grp), "split sizes",
                        "Segments (left) and groups (right) per split. A group — a video, or a speaker when the "
                        "corpus names one — never sits on two sides, so a model is always tested on voices it "
                        "did not train on. <strong>Look for</strong> enough groups in validation and test: with "
                        "few, the confidence intervals in the model section are wide.", width_px=760))
    parts.append(table(["split", "groups", "segments", "kept", "positive", "negative", "abstained", "failed"], rows))
    return Section("build", "The build", "\n".join(parts))
