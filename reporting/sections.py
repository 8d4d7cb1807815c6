"""The report's sections, each a function of :class:`reporting.inputs.ReportInputs` returning a Section.

Order and content: the build (counts, failures, durations, splits), the weak labels (balance, the two
scorers and the policy's band, agreement and conflict, example sentences), the audio (log-mel examples),
the model (ROC curves and metrics), acted-corpus evaluations and label quality (generic tables written by other tools),
provenance (configuration, weights and embeddings identity, library versions). A missing piece is shown
as a "not run yet" box with the command that makes it.
"""
from __future__ import annotations

import math
import re
from typing import Sequence

import numpy as np
import pandas as pd

from reporting import figures
from reporting.html import Section, esc, figure, fmt, not_run, note, table
from reporting.inputs import ReportInputs, TablesFile
from weaklabel.audio import DEFAULT_CLIP_SECONDS
from weaklabel.dataset import EVALUATION_JSON_FILE as EVALUATION_FILE, EVALUATIONS_DIR, LABEL_QUALITY_FILE, \
    METRICS_FILE, MODEL_DIR, MODEL_META_FILE
from foundation.paths import display_path
from foundation.metrics import INVERTED_TEXT, MIN_CLIPS_PER_CLASS, MIN_GROUPS, not_a_result
from transfer.weights import weights_text
from transfer.metrics_schema import AGAINST_HUMAN, AGAINST_WEAK, EVAL_SPLITS, HEAD, MODEL_TITLES, TARGETS, head_kind, \
    model_titles
from weaklabel.segments import ABSTAINED, OK
from weaklabel.policies import POLICIES, band_signs, default_band
from weaklabel.scorers import SCORERS
from weaklabel.splits import SPLITS, TEST, UNASSIGNED, VALIDATION

SPLIT_ORDER = (*SPLITS, UNASSIGNED)
EXAMPLES_PER_END = 5
SPECTROGRAMS_PER_CLASS = 3

#: Commands shown in "not run yet" boxes; ``{dataset}`` is the dataset path. None: no tool of ours yet.
COMMANDS: dict[str, str | None] = {
    "embed": "python -m pipelines.embed --dataset {dataset}",
    "train": "python -m pipelines.train --dataset {dataset}",
    "acted_evaluation": ("python -m pipelines.evaluate_acted --corpus ravdess --root RAVDESS_DIR "
                         "--model {dataset}/model --out {dataset}/evaluations/ravdess"),
    "label_quality": "python -m pipelines.label_quality --dataset {dataset}",
}

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

MODEL_COLOURS = ["#1a202c", "#2b6cb0", "#38a169", "#d69e2e", "#dd6b20", "#805ad5", "#e53e3e", "#319795",
                 "#b83280", "#718096"]


# ----------------------------------------------------------------------------------------------- helpers

def _floats(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def _command(key: str, inputs: ReportInputs) -> str | None:
    template = COMMANDS.get(key)
    return template.format(dataset=_shell_path(inputs.display_path)) if template else None


def _shell_path(path: str) -> str:
    """``path`` as a shell word: quoted unless plain, a leading ``~/`` (:func:`foundation.paths.display_path`) left
    outside the quotes for the shell to expand."""
    home, rest = ("~/", path[2:]) if path.startswith("~/") else ("", path)
    plain = all(c.isalnum() or c in "/._-+:=@" for c in rest)
    return home + (rest if plain else "'" + rest.replace("'", "'\\''") + "'")


def _split_order(values: Sequence[str]) -> list[str]:
    known = [s for s in SPLIT_ORDER if s in values]
    return known + sorted(v for v in values if v not in SPLIT_ORDER)


def _splits(segments: pd.DataFrame) -> pd.Series:
    return segments["split"].astype("object").where(segments["split"].notna(), UNASSIGNED).astype(str)


def outcomes(segments: pd.DataFrame) -> np.ndarray:
    """``positive`` / ``negative`` / ``abstained`` / ``failed`` per segment."""
    status = segments["status"].astype(str).to_numpy()
    label = _floats(segments["label"])
    out = np.full(len(segments), "failed", dtype=object)
    out[status == ABSTAINED] = "abstained"
    out[(status == OK) & (label == 1)] = "positive"
    out[(status == OK) & (label == 0)] = "negative"
    return out


def _g(value) -> str:
    """A configuration value as written (``0.2``, ``7``, ``1e-10``), not rounded to table precision."""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(_g(v) for v in value)
    return fmt(value)


def _intro(text: str) -> str:
    return f'<p class="intro">{text}</p>'


def _auc_text(m: dict | None, digits: int = 3) -> str:
    """ROC AUC and its interval, or why there is none: "not a result (n = 2, 1 group)" for a side too small to
    mean anything (:func:`foundation.metrics.not_a_result`), "n/a" when undefined."""
    reason = not_a_result(m) if m is not None else None
    if reason:
        return reason
    if not m or m.get("roc_auc") is None:
        return "n/a"
    ci = m.get("roc_auc_ci95")
    interval = f" [{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]" if ci else ""
    return f"{m['roc_auc']:.{digits}f}{interval}"


def _model_order(names: Sequence[str]) -> list[str]:
    preferred = [n for n in MODEL_TITLES if n in names]
    return preferred + sorted(n for n in names if n not in MODEL_TITLES)


# ------------------------------------------------------------------------------------------------ header

def is_synthetic_demo(inputs: ReportInputs) -> bool:
    root = str(inputs.build.get("config", {}).get("root", "")).replace("\\", "/").rstrip("/")
    return root.endswith("data/demo/generated")


def _weak_test_metrics(metrics: dict | None, model: str) -> dict | None:
    """``model``'s test metrics against the weak labels in ``metrics.json``, or None."""
    weak = (metrics or {}).get(AGAINST_WEAK) or {}
    return (weak.get(model) or {}).get(TEST)


def head_test_metrics(inputs: ReportInputs) -> dict | None:
    return _weak_test_metrics(inputs.metrics, HEAD)


def better_test_model(metrics: dict | None) -> tuple[str, dict] | None:
    """The model of ``metrics.json`` (its key, its test metrics) whose test ROC AUC against the weak labels is
    above the head's to three decimals (as the page shows them), the highest when several are; None when none
    is, or when the head's test figure is not a result. Models whose figure is not a result do not count."""
    def auc(m: dict | None) -> float | None:
        return m["roc_auc"] if m and m.get("roc_auc") is not None and not not_a_result(m) else None

    head = auc(_weak_test_metrics(metrics, HEAD))
    if head is None:
        return None
    others = [(name, _weak_test_metrics(metrics, name)) for name in
              _model_order([n for n in (metrics or {}).get(AGAINST_WEAK) or {} if n != HEAD])]
    above = [(name, m) for name, m in others if auc(m) is not None and round(auc(m), 3) > round(head, 3)]
    return max(above, key=lambda item: item[1]["roc_auc"], default=None)


def _intervals_overlap(a: dict, b: dict) -> bool:
    ci_a, ci_b = a.get("roc_auc_ci95"), b.get("roc_auc_ci95")
    return bool(ci_a and ci_b) and ci_a[0] <= ci_b[1] and ci_b[0] <= ci_a[1]


def header(inputs: ReportInputs) -> str:
    """The page header: dataset name, one-paragraph summary, key numbers as cards."""
    counts, config = inputs.build.get("counts", {}), inputs.build.get("config", {})
    by_label = counts.get("by_label", {})
    ok = counts.get(OK, 0)
    share = counts.get("positive_share")
    lead = (f"{counts.get('recordings', 0):,} recordings → {counts.get('segments', 0):,} transcript segments: "
            f"{ok:,} kept as weak labels ({by_label.get('positive', 0):,} positive, "
            f"{by_label.get('negative', 0):,} negative), {counts.get(ABSTAINED, 0):,} abstained, "
            f"{counts.get('failed', 0):,} failed. Policy <code>{esc(config.get('policy'))}</code>, neutral band "
            f"{_g(config.get('neutral_band'))}, {_g(config.get('clip_seconds'))} s clips.")
    head = head_test_metrics(inputs)
    verdict = not_a_result(head) if head else None
    if verdict:
        lead += (f" The {esc(_head_name(inputs.metrics))}'s test figures are {esc(verdict)}: too few clips or "
                 f"speakers to measure anything ({esc(MINIMUM_TEXT)}).")
    elif head and head.get("roc_auc") is not None:
        lead += (f" The {esc(_head_name(inputs.metrics))} scores ROC AUC {esc(_auc_text(head))} on the test split against the weak "
                 f"labels (n={head.get('n')}).")
    elif inputs.metrics is None:
        lead += " No model trained yet."
    better = better_test_model(inputs.metrics)
    if better:
        title = model_titles(inputs.metrics).get(better[0], better[0])
        lead += (f" <strong>A simpler model does better here:</strong> the {esc(title)} scores "
                 f"{esc(_auc_text(better[1]))} on the same test clips"
                 + (", though the two intervals overlap: the difference is not established." if
                    _intervals_overlap(head, better[1]) else "."))
    cards = [
        ("recordings", f"{counts.get('recordings', 0):,}"),
        ("segments", f"{counts.get('segments', 0):,}"),
        ("kept (weak labels)", f"{ok:,}"),
        ("positive share", f"{share:.0%}" if share is not None else "—"),
        ("abstained", f"{counts.get(ABSTAINED, 0):,}"),
        ("failed", f"{counts.get('failed', 0):,}"),
        ("head test AUC" + (f" ({verdict.removeprefix('not a result (')}" if verdict else ""),
         "not a result" if verdict else
         f"{head['roc_auc']:.3f}" if head and head.get("roc_auc") is not None else "—"),
    ]
    if better:
        cards.append((f"best test AUC: {title}", f"{better[1]['roc_auc']:.3f}"))
    card_html = "".join(f'<div class="card"><span class="value">{esc(v)}</span><span class="label">{esc(k)}'
                        f"</span></div>" for k, v in cards)
    kicker = "Weak-label speech emotion report" + (" · synthetic demo corpus" if is_synthetic_demo(inputs) else "")
    return (f'<p class="kicker">{esc(kicker)}</p><h1>{esc(inputs.name)}</h1>'
            f'<p class="lead">{lead}</p><div class="cards">{card_html}</div>')


# ------------------------------------------------------------------------------------------------- build

def build_section(inputs: ReportInputs) -> Section:
    segments, counts = inputs.segments, inputs.build.get("counts", {})
    config = inputs.build.get("config", {})
    clip_seconds = float(config.get("clip_seconds")
                         or inputs.build.get("features", {}).get("clip_seconds", DEFAULT_CLIP_SECONDS))
    parts = [_intro(f"How the transcripts and recordings in <code>{esc(inputs.display_path)}</code> became "
                    "segments and fixed-length clips. Every transcript segment has a row, whether it was kept, "
                    "abstained on, or failed.")]
    if is_synthetic_demo(inputs):
        parts.append(note("This build is the <strong>synthetic demo corpus</strong> (eSpeak NG voices whose "
                          "prosody was made to follow each sentence's sentiment). Its figures show that the "
                          "pipeline works, not how well a model hears emotion in real voices."))
    out = outcomes(segments)
    parts.append(table(["recordings", "groups", "segments", "kept", "abstained", "failed", "start clamped"],
                       [[counts.get("recordings", segments["video_id"].nunique()),
                         counts.get("groups", segments["group_id"].nunique()), len(segments),
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


# ------------------------------------------------------------------------------------------------ labels

def agreement_counts(textblob: np.ndarray, vader: np.ndarray, band: float) -> dict[str, int]:
    """How often the two scorers agree, with each scorer's sign read against the neutral band."""
    tb, vd = band_signs(textblob, band), band_signs(vader, band)
    return {
        "both positive": int(((tb == 1) & (vd == 1)).sum()),
        "both negative": int(((tb == -1) & (vd == -1)).sum()),
        "opposite signs (conflict)": int((tb * vd == -1).sum()),
        "one neutral, one not": int(((tb == 0) ^ (vd == 0)).sum()),
        "both neutral": int(((tb == 0) & (vd == 0)).sum()),
    }


def sentiment_scorers(segments: pd.DataFrame) -> list[str]:
    """The sentiment scorers (:data:`weaklabel.scorers.SCORERS`) whose score column the build holds, in order."""
    return [name for name, scorer in SCORERS.items() if scorer.score_column and scorer.score_column in segments]


def _example_rows(frame: pd.DataFrame, out: pd.Series, repeats: pd.Series, scorers: list[str]) -> list[list]:
    rows = []
    for r in frame.to_dict("records"):
        outcome = out[r["segment_id"]]
        cls = {"positive": "pos", "negative": "neg"}.get(outcome, "abs")
        values = [r[SCORERS[name].score_column] for name in scorers]
        rows.append([f"{r['score']:+.3f}", *(f"{v:+.3f}" if pd.notna(v) else "—" for v in values),
                     f'<span class="{cls}">{esc(outcome)}</span>', r["segment_id"], int(repeats.get(r["text"], 1)),
                     r["text"]])
    return rows


def score_extremes(scored: pd.DataFrame, k: int = EXAMPLES_PER_END) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``k`` highest- and lowest-scoring distinct sentences (first segment of each text, ties by id)."""
    frame = scored.assign(_score=_floats(scored["score"]))
    frame = frame[np.isfinite(frame["_score"])]
    top = frame.sort_values(["_score", "segment_id"], ascending=[False, True], kind="mergesort")
    bottom = frame.sort_values(["_score", "segment_id"], ascending=[True, True], kind="mergesort")
    return top.drop_duplicates("text").head(k), bottom.drop_duplicates("text").head(k)


def scorer_rows(frame: pd.DataFrame, frame_out: np.ndarray, scorers: list[str], recorded: dict) -> list[list]:
    """Per sentiment scorer: its version, what it is, its languages and licence (as ``build.json`` records them), its
    coverage at its own band and how often its vote agrees with the label the policy gave."""
    labelled = np.isin(frame_out, ("positive", "negative"))
    given = np.where(frame_out == "positive", 1, -1)
    rows = []
    for name in scorers:
        scorer, record = SCORERS[name], recorded.get(name, {})
        band = default_band(name)
        vote = band_signs(_floats(frame[scorer.score_column]), band)
        both = labelled & (vote != 0)
        languages = record.get("languages", list(scorer.languages) if scorer.languages else "any")
        licence = record.get("licence", scorer.provenance.get("licence", ""))
        model_licence = record.get("model_licence", scorer.provenance.get("model_licence", ""))
        rows.append([name, record.get("version", scorer.version), scorer.description,
                     ", ".join(languages) if isinstance(languages, list) else languages,
                     f"{licence}; model {model_licence}" if model_licence else licence, f"{band:g}",
                     f"{(vote != 0).mean():.1%}" if len(vote) else "—",
                     f"{(vote[both] == given[both]).mean():.1%}" if both.any() else "—"])
    return rows


def labels_section(inputs: ReportInputs) -> Section:
    segments = inputs.segments
    config = inputs.build.get("config", {})
    policy, band = str(config.get("policy", "")), float(config.get("neutral_band") or 0.0)
    out = outcomes(segments)
    scorers = sentiment_scorers(segments)
    described = POLICIES[policy].description if policy in POLICIES else "its own rule"
    parts = [_intro(f"Each sentence is scored by the build's scorers ({', '.join(scorers) or 'none'}; below); the "
                    f"labelling policy <code>{esc(policy)}</code> ({esc(described)}) turns their scores into one "
                    f"score in [−1, 1] and a label, abstaining when the score is within ±{band:g} of zero. Failed "
                    "segments are left out here.")]
    if inputs.build.get("policy_fallback"):
        parts.append(note(esc(inputs.build["policy_fallback"]), "warn"))
    languages = inputs.build.get("counts", {}).get("languages") or {}
    if languages.get("by_language"):
        total = sum(languages["by_language"].values())
        shares = ", ".join(f"{code} {n / total:.0%}" for code, n in list(languages["by_language"].items())[:6])
        not_read = languages.get("abstained_not_read", 0)
        parts.append(_intro(f"Languages the language scorer guessed: {esc(shares)}" + (
            f"; {not_read} segment(s) abstained because the policy reads English only and their text is "
            "confidently in another language." if not_read else ".")))

    parts.append("<h3>Label balance</h3>")
    split = _splits(segments)
    names = _split_order(sorted(set(split[out != "failed"]))) if (out != "failed").any() else []
    pos = [int(((split == s).to_numpy() & (out == "positive")).sum()) for s in names]
    neg = [int(((split == s).to_numpy() & (out == "negative")).sum()) for s in names]
    abst = [int(((split == s).to_numpy() & (out == "abstained")).sum()) for s in names]
    parts.append(figure(figures.label_balance(names, pos, neg, abst), "label balance per split",
                        "Share of positive, negative and abstained segments per split (counts in the bars). "
                        "<strong>Look for</strong> a similar balance in every split and enough kept segments "
                        "in validation and test; the head is trained with balanced class weights, so an "
                        "imbalance costs data, not correctness.", width_px=760))

    scored = (out != "failed") & np.isfinite(_floats(segments["score"]))
    frame = segments[scored].sort_values("segment_id", kind="mergesort")
    frame_out = outcomes(frame)

    parts.append("<h3>The scorers</h3>")
    parts.append(table(["scorer", "version", "what", "languages", "licence", "band", "labels", "agrees with the label"],
                       scorer_rows(frame, frame_out, scorers, inputs.build.get("scorers", {})),
                       caption="Each scorer as a labelling function: the share of scored segments it would label at "
                               "its own band, and how often that vote agrees with the label the policy gave"))
    if {"textblob", "vader"} <= set(scorers):
        tb, vd = _floats(frame["textblob"]), _floats(frame["vader"])
        keep = figures.scatter_subsample(len(frame))
        scatter = figures.sentiment_scatter(tb[keep], vd[keep], frame_out[keep], policy, band, n_total=len(frame))
        sub = (f" A seeded subsample of {len(keep):,} of the {len(frame):,} segments is drawn."
               if len(keep) < len(frame) else "")
        if figures.abstain_region(policy, band) is not None:
            caption = (f"TextBlob polarity against VADER compound, one point per scored segment, coloured by the "
                       f"label it got. The shaded region is where the policy {POLICIES[policy].abstains_where(band)}."
                       f"{sub} <strong>Look for</strong> points far from the diagonal: there the lexicons disagree, "
                       "and the label rests on one of them.")
            parts.append(figure(scatter, "TextBlob against VADER scatter", caption, width_px=540))
        else:
            parts.append('<div class="grid2">' + figure(
                scatter, "TextBlob against VADER scatter",
                f"TextBlob polarity against VADER compound (the original method's two scorers), coloured by the "
                f"label each segment got.{sub} Policy <code>{esc(policy)}</code> is not a function of these two "
                "scores alone, so its band is drawn on its own score (right).", width_px=540)
                + _score_figure(frame, frame_out, policy, band) + "</div>")
    else:
        parts.append(_score_figure(frame, frame_out, policy, band))

    parts.append("<h3>Agreement and conflict</h3>")
    from weaklabel.label_quality import labeling_function_summary

    summary = labeling_function_summary(frame, pd.Series([np.nan] * len(frame)), functions=scorers)
    parts.append(table(["scorer", "band", "coverage", "overlaps", "conflicts"],
                       [[r["function"], f"{r['neutral_band']:g}", f"{r['coverage']:.1%}", f"{r['overlaps']:.1%}",
                         f"{r['conflicts']:.1%}"] for r in summary],
                       caption="Snorkel's labelling-function summary over the scored segments: the share each "
                               "scorer labels, labels where another also does, and labels against another"))
    if {"textblob", "vader"} <= set(scorers):
        lexicon_band = default_band("mean")
        agreement = agreement_counts(tb, vd, lexicon_band)
        n = max(len(frame), 1)
        matrix = []
        tbs, vds = band_signs(tb, lexicon_band), band_signs(vd, lexicon_band)
        for v_sign, v_name in ((1, "VADER positive"), (0, "VADER neutral"), (-1, "VADER negative")):
            matrix.append([v_name] + [int(((vds == v_sign) & (tbs == t_sign)).sum()) for t_sign in (-1, 0, 1)])
        parts.append('<div class="grid2">' + table(["", "segments", "share"],
                                                   [[k, v, f"{v / n:.1%}"] for k, v in agreement.items()],
                                                   num_columns=(2,),
                                                   caption=f"The two lexicons, each read against ±{lexicon_band:g}")
                     + table(["", "TextBlob negative", "TextBlob neutral", "TextBlob positive"], matrix,
                             caption="Overlap matrix (segments)") + "</div>")
    parts.append(_intro("Conflicts — one scorer clearly positive, another clearly negative — are where a weak "
                        "label is least trustworthy; sarcasm, negation and domain words end up here. "
                        "<strong>Look for</strong> a conflict share of more than a few percent: then read the "
                        "examples below."))

    parts.append("<h3>Examples at both ends of the score</h3>")
    out_by_id = pd.Series(frame_out, index=frame["segment_id"].to_numpy())
    top, bottom = score_extremes(frame)
    if top.empty:
        parts.append(note("No segment has a sentiment score."))
    else:
        repeats = frame["text"].value_counts(dropna=False)
        columns = ["score", *scorers, "outcome", "segment", "occurrences", "text"]
        for title, part in ((f"Most positive {EXAMPLES_PER_END} sentences", top),
                            (f"Most negative {EXAMPLES_PER_END} sentences", bottom)):
            parts.append(table(columns, _example_rows(part, out_by_id, repeats, scorers), caption=title,
                               raw_columns=(len(scorers) + 1,), num_columns=tuple(range(len(scorers) + 1)),
                               cls="examples"))
        parts.append(_intro("<strong>Look for</strong> sentences whose label a person would dispute: these are "
                            "the policy's most confident calls, so errors here are systematic."))
    return Section("labels", "The weak labels", "\n".join(parts))


def _score_figure(frame: pd.DataFrame, frame_out: np.ndarray, policy: str, band: float) -> str:
    score = _floats(frame["score"])
    finite = np.isfinite(score)
    histogram = figures.score_histogram(score[finite], frame_out[finite], policy, band)
    return figure(histogram, "policy score histogram",
                  f"The score of policy <code>{esc(policy)}</code>; the shaded band ±{band:g} abstains. "
                  "<strong>Look for</strong> a large mass inside the band (many abstentions), and labels that "
                  "contradict the scorers in the examples below.", width_px=640)


# ------------------------------------------------------------------------------------------------- audio

def _mel_centres_hz(log_mel: dict) -> np.ndarray | None:
    try:
        import librosa

        n_mels = int(log_mel["n_mels"])
        return librosa.mel_frequencies(n_mels + 2, fmin=float(log_mel.get("fmin", 0.0)),
                                       fmax=float(log_mel.get("fmax", log_mel.get("sample_rate", 16000) / 2)))[1:-1]
    except (ImportError, KeyError, TypeError, ValueError):
        return None


def spectrogram_examples(segments: pd.DataFrame, label: int, k: int = SPECTROGRAMS_PER_CLASS) -> pd.DataFrame:
    """Up to ``k`` kept clips of ``label`` with the clearest scores, one per recording and sentence text
    (deterministic: ties broken by segment id)."""
    kept = segments[(segments["status"] == OK) & (_floats(segments["label"]) == label)
                    & segments["feature_row"].notna()].copy()
    kept["_strength"] = -np.abs(_floats(kept["score"]))
    kept = kept.sort_values(["_strength", "segment_id"], kind="mergesort")
    return kept.drop_duplicates("video_id").drop_duplicates("text").head(k)


def audio_section(inputs: ReportInputs) -> Section:
    features = inputs.build.get("features", {})
    log_mel = features.get("log_mel", {})
    sample_rate = float(log_mel.get("sample_rate", features.get("sample_rate", 16000)))
    seconds_per_frame = float(log_mel.get("hop_length", 256)) / sample_rate
    clip_seconds = float(features.get("clip_seconds",
                                      inputs.build.get("config", {}).get("clip_seconds", DEFAULT_CLIP_SECONDS)))
    parts = [_intro(f"What the model hears: log-mel spectrograms of {clip_seconds:g} s clips ("
                    f"{fmt(log_mel.get('n_mels'))} mel bands, {seconds_per_frame * 1000:.0f} ms hop), in dB. "
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
        png = figures.spectrogram_grid(rows, seconds_per_frame, _mel_centres_hz(log_mel))
        caption = ("Clearest positive (top) and negative (bottom) clips by score, each from another recording. "
                   "Dashed green lines bound the recording's speech; the rest of the clip is padding. "
                   "<strong>Look for</strong> speech that fills its span (a span that starts or ends in "
                   "silence means the transcript times are off) and level differences between recordings, "
                   "which the image conversion removes (each clip is scaled to its loudest bin)."
                   f"<ol class=\"clips\">{''.join(listing)}</ol>")
        parts.append(figure(png, "example log-mel spectrograms", caption))
    return Section("audio", "The audio", "\n".join(parts))


# ------------------------------------------------------------------------------------------------- model

def _weights_line(weights: dict | None) -> str:
    if not weights:
        return "weights not recorded"
    sha = str(weights.get("sha256") or "")
    verified = weights.get("verified")
    mark = "verified ImageNet" if verified else "NOT verified ImageNet"
    return (f"VGG16 weights {esc(weights_text(weights, path=False))}, sha256 <code>{esc(sha[:16])}…</code>, "
            f"{mark}")


def roc_panels(metrics: dict) -> list[tuple[str, list[dict]]]:
    """ROC panels (target × split) for :func:`reporting.figures.roc_curves`, from ``metrics.json``."""
    every = set()
    for key in TARGETS:
        every |= set((metrics.get(key) or {}).keys())
    colours = {name: MODEL_COLOURS[k % len(MODEL_COLOURS)] for k, name in enumerate(_model_order(sorted(every)))}
    titles = model_titles(metrics)
    panels = []
    for key, target in TARGETS.items():
        block = metrics.get(key)
        if not block:
            continue
        for split in EVAL_SPLITS:
            curves, n = [], None
            for name in _model_order(list(block)):
                m = (block[name] or {}).get(split) or {}
                n = n if n is not None else m.get("n")
                roc = m.get("roc")
                if not roc or m.get("roc_auc") is None:
                    continue
                curves.append({"label": f"{titles.get(name, name)}: {_auc_text(m)}", "fpr": roc["fpr"],
                               "tpr": roc["tpr"], "emphasis": name == HEAD, "colour": colours[name]})
            panels.append((f"{split}, against {target} (n={n if n is not None else 0})", curves))
    return panels


def _metrics_table(block: dict, target: str, titles: dict[str, str]) -> str:
    rows = []
    for name in _model_order(list(block)):
        splits = block[name] or {}
        val, test = splits.get(VALIDATION) or {}, splits.get(TEST) or {}
        scores = [None] * 3 if not_a_result(test) else [test.get(k) for k in ("accuracy", "balanced_accuracy", "f1")]
        rows.append([titles.get(name, name), _auc_text(val), val.get("n", 0), _auc_text(test), test.get("n", 0),
                     *scores])
    return table(["model", "validation ROC AUC [95% CI]", "n", "test ROC AUC [95% CI]", "n", "test accuracy",
                  "test balanced accuracy", "test F1"], rows, num_columns=(1, 3),
                 caption=f"Against the {target}")


def _head_name(metrics: dict | None) -> str:
    """What the trained head is, in words ("logistic head", "dense head"), from ``metrics.json``."""
    kind = head_kind(metrics or {})
    return f"{kind} head" if kind else "valence head"


def _training_text(metrics: dict) -> str:
    """How the head was trained, from ``metrics.json``'s record (HTML): its clips, and the dense head's epochs or
    the logistic head's regularisation and weighting."""
    training = metrics.get("head_training") or {}
    head = training.get("config") or (metrics.get("train_config") or {}).get("head") or {}
    text = (f"{fmt(metrics.get('n_train'))} clips, positive share {fmt(metrics.get('train_positive_share'))}; "
            f"{esc(_head_name(metrics))}")
    if head_kind(metrics) == "dense":
        return (text + f", {fmt(training.get('epochs_run'))} epochs, best {fmt(training.get('best_epoch'))} by "
                       f"{esc(training.get('monitor', ''))}")
    if head_kind(metrics) == "logistic":
        weighted = training.get("weighted", (metrics.get("train_config") or {}).get("weighting") == "confidence")
        return (text + f", L2-regularised with C = {_g(head.get('C'))}, classes balanced"
                + (", clips weighted by the labelling policy's confidence" if weighted else ""))
    return text


#: The rule behind "not a result" (:func:`foundation.metrics.not_a_result`), in words.
MINIMUM_TEXT = (f"a figure needs at least {MIN_CLIPS_PER_CLASS} clips of each class and {MIN_GROUPS} speakers or "
                "recordings on its side")


def model_section(inputs: ReportInputs) -> Section:
    metrics = inputs.metrics
    parts = [_intro(f"A {esc(_head_name(metrics))} on frozen VGG16 embeddings of the spectrograms, next to "
                    "classical baselines, trained on the train split's weak labels and scored on validation and "
                    "test. ROC AUC comes from predicted probabilities; the interval is a 95% bootstrap.")]
    if metrics is None:
        if inputs.metrics_error:
            parts.append(note(f"metrics.json could not be read: {esc(inputs.metrics_error)}", "warn"))
        commands = "\n".join(c for c in (_command("embed", inputs), _command("train", inputs)) if c)
        parts.append(not_run("Model", commands, "No <code>metrics.json</code> in the dataset folder: no model has "
                             "been trained on this build.", box_id="not-run-model"))
        return Section("model", "The model", "\n".join(parts))

    build_fp = inputs.build.get("fingerprint")
    if metrics.get("build_fingerprint") != build_fp:
        parts.append(note(f"<strong>Stale:</strong> these metrics were computed on another build (fingerprint "
                          f"<code>{esc(str(metrics.get('build_fingerprint'))[:12])}</code>, this build "
                          f"<code>{esc(str(build_fp)[:12])}</code>). Re-run "
                          f"<code>{esc(_command('train', inputs) or '')}</code>.", "warn"))
    weights = metrics.get("weights") or {}
    features = metrics.get("features") or {}
    uses_weights = "weights" not in metrics or metrics["weights"] is not None  # None: an extractor without weights
    if uses_weights and not weights.get("verified"):
        what = "the pinned Whisper model" if weights.get("name") else "ImageNet weights"
        parts.append(note(f"<strong>Not {what}</strong> ({esc(weights_text(weights, path=False))}): "
                          "these figures test the plumbing, not the method.", "warn"))
    if features.get("licence") and not uses_weights:
        parts.append(note(f"Features <code>{esc(features.get('name'))}</code> {esc(features.get('version'))}: "
                          f"{esc(features['licence'])}."))
    emb = metrics.get("embedding") or {}
    details = [("features", _features_text(features, emb)),
               ("weights", _weights_line(weights)),
               ("training", _training_text(metrics)),
               ("labels", f"policy <code>{esc(metrics.get('policy'))}</code>, band {_g(metrics.get('neutral_band'))}"),
               ("model", "<code>model/</code> (head.keras + model.json)" if inputs.model_meta is not None
                else "no saved model folder")]
    parts.append('<dl class="kv">' + "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in details) + "</dl>")

    panels = roc_panels(metrics)
    if panels:
        n_rows = math.ceil(len(panels) / 2)
        human = "; the bottom row scores against human labels" if n_rows > 1 else ""
        parts.append(figure(figures.roc_curves(panels), "ROC curves",
                            "ROC curves per model on validation (left) and test (right), with ROC AUC and its "
                            f"95% bootstrap interval in the legend{human}. The dotted diagonal is chance; the "
                            f"thick black line is the {esc(_head_name(metrics))}. <strong>Look for</strong> the head above the "
                            "mel baselines by more than the intervals' width — overlapping intervals on small "
                            "splits mean the difference is not established.", width_px=960))
    small = sorted({not_a_result(cell) for key in TARGETS for splits in (metrics.get(key) or {}).values()
                    for cell in (splits or {}).values() if isinstance(cell, dict) and not_a_result(cell)})
    if small:
        sizes = "; ".join(reason.removeprefix("not a result (").removesuffix(")") for reason in small)
        parts.append(note(f"<strong>Not a result</strong> where a side holds {esc(sizes)}: {esc(MINIMUM_TEXT)}. "
                          "Below that, an AUC of 1.000 or 0.000 says nothing about the model, so those cells say "
                          "so instead of a figure.", "warn"))
    titles = model_titles(metrics)
    for key, target in TARGETS.items():
        if metrics.get(key):
            parts.append(_metrics_table(metrics[key], target, titles))
    if not metrics.get(AGAINST_HUMAN):
        parts.append(note(f"No human labels: {esc(metrics.get('human_labels_note', 'none given'))}. Scores "
                          "against the weak labels measure agreement with the text scorers, not with people; "
                          "a manifest's <code>human_label</code> column or <code>--human-labels</code> at "
                          "training adds that comparison."))
    else:
        parts.append(_intro(f"Human labels from {esc(metrics.get('human_labels_source', ''))}, on every clip with "
                            "a human positive/negative label, including clips the weak labeller abstained on; "
                            "the weak-label score row measures the text scorers themselves."))
    return Section("model", "The model", "\n".join(parts))


def _features_text(features: dict, emb: dict) -> str:
    """The extractor the model reads, in words: its name, what it computes and how wide (a VGG16 record from before
    the registry: its layer and pooling), and why ``auto`` chose it."""
    name = features.get("name") or emb.get("backbone") or "vgg16"
    if emb.get("layer") and name == "vgg16":
        what = f"cut at <code>{esc(emb.get('layer'))}</code>, {esc(emb.get('pooling', ''))} pooled"
    else:
        what = esc(emb.get("pooling_description") or features.get("description") or "")
    text = (f"<code>{esc(name)}</code>: {what}, {fmt(emb.get('dim'))} dimensions "
            f"(cache key <code>{esc(emb.get('key'))}</code>)")
    return text + (f"; {esc(features['note'])}" if features.get("note") else "")


# ---------------------------------------------------------------------------- acted evaluation, quality

def inverted_rows(t: dict) -> list[str]:
    """Labels of a generic table's rows whose ROC AUC interval lies wholly below 0.5.

    Reads a ``95% CI`` column of ``"[lo, hi]"`` cells (tables written before results carried a verdict);
    a row's label is its first cells before the ``n`` column. Returns [] when the table has no such column.
    """
    columns = [str(c) for c in t.get("columns", [])]
    if "95% CI" not in columns:
        return []
    k = columns.index("95% CI")
    n_label = columns.index("n") if "n" in columns else 1
    out = []
    for row in t.get("rows", []):
        if not isinstance(row, list) or len(row) <= k:
            continue
        match = re.fullmatch(r"\s*\[\s*([-0-9.eE+]+)\s*,\s*([-0-9.eE+]+)\s*\]\s*", str(row[k]))
        if match and float(match.group(2)) < 0.5:
            out.append(" / ".join(str(c) for c in row[:n_label]))
    return out


def _inversion_note(t: dict) -> str | None:
    """The warning to show above a table that holds an inverted AUC, or None."""
    if t.get("warning"):
        return str(t["warning"])
    if "verdict" in [str(c) for c in t.get("columns", [])]:  # its writer judged every row (and warned)
        return None
    rows = inverted_rows(t)
    if not rows:
        return None
    return (f"{', '.join(rows)}: ROC AUC interval wholly below 0.5 -- {INVERTED_TEXT}. Not a usable result; "
            "see the per-speaker breakdown.")


def _tables_html(files: list[TablesFile]) -> str:
    parts = []
    for f in files:
        heading = f.title or f"{f.path.parent.name}/{f.path.name}"
        parts.append(f'<h3>{esc(heading)}</h3><p class="intro">From <code>{esc(display_path(f.path))}</code></p>')
        if f.error:
            parts.append(note(f"Could not be shown: {esc(f.error)}", "warn"))
            continue
        for t in f.tables:
            warning = _inversion_note(t)
            if warning:
                parts.append(note(f"<strong>Warning.</strong> {esc(warning)}", "warn"))
            rows = [r if isinstance(r, list) else [r] for r in t.get("rows", [])]
            parts.append(table([str(c) for c in t.get("columns", [])], rows,
                               caption=str(t["title"]) if t.get("title") else None))
            if t.get("note"):
                parts.append(f'<p class="intro">{esc(t["note"])}</p>')
    return "\n".join(parts)


def acted_evaluation_section(inputs: ReportInputs) -> Section:
    parts = [_intro("The model and its embeddings against acted emotion corpora (python -m "
                    f"pipelines.evaluate_acted), read from <code>{esc(EVALUATIONS_DIR)}/**/{esc(EVALUATION_FILE)}"
                    "</code> in the dataset folder and from <code>--evaluation FILE</code>.")]
    if inputs.acted_evaluations:
        parts.append(_tables_html(inputs.acted_evaluations))
    else:
        command = _command("acted_evaluation", inputs) or ""
        parts.append(not_run("Acted-corpus evaluation", command,
                             f"No <code>{esc(EVALUATION_FILE)}</code> under <code>{esc(inputs.display_path)}/"
                             f"{esc(EVALUATIONS_DIR)}/</code> and none given with <code>--evaluation</code>. "
                             "The evaluation scores the trained model zero-shot on an acted emotion corpus "
                             "(RAVDESS, CREMA-D, …) and probes the embeddings speaker-disjointly; written to "
                             "that folder, the report finds it.", box_id="not-run-acted-evaluation"))
    return Section("acted-evaluation", "Acted-corpus evaluation", "\n".join(parts))


def label_quality_section(inputs: ReportInputs) -> Section:
    parts = [_intro("How good the weak labels are, measured against human labels where a corpus has them, "
                    f"read from <code>{esc(LABEL_QUALITY_FILE)}</code> in the dataset folder and from "
                    "<code>--label-quality FILE</code>.")]
    if inputs.label_quality:
        parts.append(_tables_html(inputs.label_quality))
    else:
        command = _command("label_quality", inputs) or ""
        parts.append(not_run("Label quality", command,
                             f"No <code>{esc(inputs.display_path)}/{esc(LABEL_QUALITY_FILE)}</code> and none given "
                             "with <code>--label-quality</code>. It needs human labels: a manifest's "
                             "<code>human_label</code> column, or <code>--human-labels FILE</code> (CMU-MOSEI "
                             "<code>.csd</code>, CSV); <code>--csv</code> scores a labelled text corpus instead "
                             "(e.g. MELD).", box_id="not-run-label-quality"))
    return Section("label-quality", "Label quality", "\n".join(parts))


# -------------------------------------------------------------------------------------------- provenance

def provenance_section(inputs: ReportInputs) -> Section:
    build = inputs.build
    config = build.get("config", {})
    parts = [_intro("Everything needed to say exactly what this report describes: the build's configuration "
                    "and fingerprint, the weights every learned output used, and library versions.")]
    mel = config.get("mel", {})
    rows = [("dataset", f"<code>{esc(inputs.display_path)}</code>"),
            ("build fingerprint", f"<code>{esc(build.get('fingerprint'))}</code>"),
            ("corpus", f"{esc(config.get('corpus'))} at <code>{esc(display_path(config.get('root')))}</code>"),
            ("clips", f"{_g(config.get('clip_seconds'))} s, seed {_g(config.get('seed'))}"),
            ("labels", f"policy <code>{esc(config.get('policy'))}</code>, neutral band "
                       f"{_g(config.get('neutral_band'))}"),
            ("splits", "train, validation, test " + esc(_g(config.get("split_fractions") or [])) + " by group"
             if not config.get("folds") else f"folds <code>{esc(display_path(config.get('folds')))}</code>"),
            ("log-mel", esc(", ".join(f"{k} {_g(v)}" for k, v in mel.items())) if mel else "—")]
    versions = build.get("versions", {})
    if versions:
        rows.append(("library versions", esc(" · ".join(f"{k} {v}" for k, v in sorted(versions.items())))))
    parts.append('<dl class="kv">' + "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>")

    parts.append("<h3>Weights used</h3>")
    if inputs.embeddings:
        table_rows = []
        for e in inputs.embeddings:
            if e.get("error"):
                table_rows.append([e["file"], "—", "—", "—", "—", "—", f"unreadable: {e['error']}"])
                continue
            w = e.get("weights") or {}
            current = e.get("features_sha256") == inputs.features_sha256
            table_rows.append([e.get("key") or e.get("file"), e.get("layer"),
                               "×".join(str(s) for s in e.get("shape", [])), weights_text(w, path=False),
                               str(w.get("sha256") or "")[:12] + "…", w.get("verified"),
                               "yes" if current and e.get("array_present") else
                               ("array missing" if current else "no: other features")])
        parts.append(table(["embeddings (cache key)", "layer", "shape", "weights, when computed", "weights sha256",
                            "verified", "of these features"], table_rows,
                           caption="embeddings/: cached embeddings, each extractor's under its own key (valid only "
                                   "for the build features they were computed from: the same features give the same "
                                   "embeddings, whichever build wrote them)"))
    else:
        parts.append(not_run("Embeddings", _command("embed", inputs) or "",
                             "No cached embeddings in the dataset folder.", box_id="not-run-embeddings"))
    if inputs.metrics is not None:
        w = inputs.metrics.get("weights") or {}
        outputs = [(METRICS_FILE, w)] + ([(f"{MODEL_DIR}/{MODEL_META_FILE}", inputs.model_meta.get("weights") or {})]
                                         if inputs.model_meta else [])
        parts.append(table(["output", "weights, in the training run",
                            "weights sha256 (VGG16: over its 26 arrays; Whisper: of model.bin)", "verified"],
                           [[name, weights_text(record, path=False), record.get("sha256"), record.get("verified")]
                            for name, record in outputs]))

    return Section("provenance", "Provenance", "\n".join(parts))


def weak_supervision_section(inputs: ReportInputs) -> Section:
    from reporting.weak_curve import weak_supervision_section as render

    return render(inputs.weak_supervision)


SECTIONS = (build_section, labels_section, audio_section, model_section, acted_evaluation_section,
            weak_supervision_section, label_quality_section, provenance_section)


def all_sections(inputs: ReportInputs) -> list[Section]:
    return [make(inputs) for make in SECTIONS]
