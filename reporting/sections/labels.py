"""The weak-labels section: label balance, the scorers as labelling functions, their agreement and conflict,
and example sentences at both ends of the policy's score."""
from __future__ import annotations

import numpy as np
import pandas as pd

from reporting import figures
from reporting.html import Section, esc, figure, note, table
from reporting.inputs import ReportInputs
from reporting.sections.common import _floats, _intro, _split_order, _splits, outcomes
from weaklabel.policies import POLICIES, band_signs, default_band
from weaklabel.scorers import SCORERS


EXAMPLES_PER_END = 5


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
    config = inputs.build.config
    policy, band = config.policy, float(config.neutral_band)
    out = outcomes(segments)
    scorers = sentiment_scorers(segments)
    described = POLICIES[policy].description if policy in POLICIES else "its own rule"
    parts = [_intro(f"Each sentence is scored by the build's scorers ({', '.join(scorers) or 'none'}; below); the "
                    f"labelling policy <code>{esc(policy)}</code> ({esc(described)}) turns their scores into one "
                    f"score in [−1, 1] and a label, abstaining when the score is within ±{band:g} of zero. Failed "
                    "segments are left out here.")]
    if config.policy_fallback:
        parts.append(note(esc(config.policy_fallback), "warn"))
    by_language = inputs.build.counts.by_language
    if by_language:
        total = sum(by_language.values())
        shares = ", ".join(f"{code} {n / total:.0%}" for code, n in list(by_language.items())[:6])
        not_read = inputs.build.counts.abstained_not_read
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
                       scorer_rows(frame, frame_out, scorers, inputs.build.scorers),
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
