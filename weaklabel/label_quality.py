"""How close the weak labels come to human judgement: the labeling-function summary of a weak labeller.

Given texts with human sentiment (MELD's positive / negative / neutral, CMU-MOSEI's -3..+3, or any
table with a text and a label column), every labelling policy of :mod:`weaklabel.policies` is scored at
several neutral bands:

* **coverage** -- the share of human-positive or human-negative texts that receive a label;
* **accuracy** and **balanced accuracy** of those labels (human neutral texts excluded);
* **ROC AUC** of the policy's raw score against human positive/negative (band-independent), with a
  bootstrap 95 % interval: how well the score *ranks* texts, whatever the threshold; with ``groups``
  (MELD's dialogues, a build's videos) the interval resamples whole groups, since lines of one dialogue
  are not independent;
* per-class **precision and recall** (recall counts abstentions as misses, so it folds in coverage);
* the labelled positive / negative counts (their balance against the humans'), and how many
  **human-neutral** texts receive a label anyway.

:func:`labeling_function_summary` adds Snorkel's view of every sentiment scorer of the registry
(:mod:`weaklabel.scorers`) as a labelling function (coverage, overlap, conflict, empirical accuracy). A label
model evaluated on the very sentences it was fitted on (its record names their file's SHA-256) is scored out of
fold instead: refitted with its recipe on grouped folds, so no figure is in-sample. Everything here is pure, texts
and labels in, tables out, except the label-quality step at the end: :func:`label_quality` (the ``weaklabel.label_quality`` of the API)
also reads them from a CSV file or a built dataset, and :func:`write_label_quality` writes the report.
"""
from __future__ import annotations

import sys
import types
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from foundation.atomic import write_record_atomic
from foundation.config import SEED_RANGE, check_ranges, option
from foundation.locking import writes_into
from foundation.metrics import binary_metrics
from foundation.tables import markdown_tables
from weaklabel.dataset import LABEL_QUALITY_FILE, LABEL_QUALITY_MARKDOWN_FILE, Dataset
from weaklabel.human_labels import join_human_labels, read_human_labels, sentiment_to_valence
from weaklabel.label_model import LabelModel, out_of_fold_score
from weaklabel.policies import (DEFAULT_POLICY, default_band, FALLBACK_POLICY, NEGATIVE, ORIGINAL_POLICY,
                                POLICIES, POSITIVE, LabelingPolicy, get_policy, label_model_policy,
                                scorers_needed, validate_policy)
from weaklabel.scorers import SCORERS
from weaklabel.policies import band_signs
from weaklabel.scorers.batch import ScoringRun

DEFAULT_BANDS = (0.0, 0.1, 0.2, 0.3, 0.4)


def labeling_functions(columns) -> tuple[str, ...]:
    """The sentiment scorers whose score column ``columns`` holds: each votes as a labelling function."""
    return tuple(name for name, scorer in SCORERS.items() if scorer.score_column and scorer.score_column in columns)


def human_valence(sentiment: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Human sentiment -> (valence, neutral mask).

    Returns
    -------
    valence : ndarray (n,) float64: 1.0 positive, 0.0 negative, NaN neutral or missing
    neutral : ndarray (n,) bool: the human judged the text neutral (0 or "neutral")
    """
    valence = sentiment_to_valence(pd.Series(sentiment).reset_index(drop=True))
    present = pd.Series(sentiment).reset_index(drop=True).map(
        lambda v: not (v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip())))
    values = valence.to_numpy(dtype=np.float64, na_value=np.nan)
    return values, present.to_numpy(dtype=bool) & np.isnan(values)


def policy_quality(score: np.ndarray, label: np.ndarray, valence: np.ndarray, neutral: np.ndarray,
                   n_bootstrap: int = 1000, seed: int = 0, groups=None) -> dict:
    """Quality of one policy's scores and labels against human valence.

    Parameters
    ----------
    score, label : ndarray (n,) from :meth:`weaklabel.sentiment.LabelingPolicy.apply`
    valence : ndarray (n,): human 1.0 / 0.0, NaN for neutral or missing
    neutral : ndarray (n,) bool: human-neutral texts
    groups : array-like (n,), optional
        The cluster of each text (e.g. MELD's ``Dialogue_ID``): the AUC interval resamples whole groups
        (:func:`foundation.metrics.binary_metrics`), recorded as ``ci_resampling`` and ``n_groups``.

    Returns
    -------
    dict of JSON-serialisable numbers (see the module docstring); ``None`` where undefined.
    """

    polar = ~np.isnan(valence) & ~np.isnan(score)
    y = valence[polar].astype(int)
    lab = label[polar]
    covered = ~np.isnan(lab)
    n_polar = int(polar.sum())
    out = {"n_polar": n_polar, "n_human_positive": int((y == POSITIVE).sum()),
           "n_human_negative": int((y == NEGATIVE).sum()), "n_human_neutral": int(neutral.sum()),
           "coverage": float(covered.mean()) if n_polar else None,
           "labelled_positive": int((label == POSITIVE).sum()), "labelled_negative": int((label == NEGATIVE).sum()),
           "human_neutral_labelled": int((neutral & ~np.isnan(label)).sum())}
    out["human_neutral_labelled_share"] = (out["human_neutral_labelled"] / out["n_human_neutral"]
                                           if out["n_human_neutral"] else None)
    yc, lc = y[covered], lab[covered].astype(int)
    out["accuracy"] = float((yc == lc).mean()) if covered.any() else None
    recalls = [float((lc[yc == k] == k).mean()) for k in (NEGATIVE, POSITIVE) if (yc == k).any()]
    out["balanced_accuracy"] = float(np.mean(recalls)) if recalls else None
    for k, name in ((POSITIVE, "positive"), (NEGATIVE, "negative")):
        predicted = lc == k
        out[f"precision_{name}"] = float((yc[predicted] == k).mean()) if predicted.any() else None
        out[f"recall_{name}"] = float((lab[y == k] == k).mean()) if (y == k).any() else None  # abstain = miss
    if n_polar and 0 < y.sum() < n_polar:
        metrics = binary_metrics(y, (score[polar] + 1.0) / 2.0, n_bootstrap=n_bootstrap, seed=seed,
                                 groups=None if groups is None else np.asarray(groups, dtype=object)[polar])
        out["roc_auc"], out["roc_auc_ci95"] = metrics["roc_auc"], metrics["roc_auc_ci95"]
        out["ci_resampling"], out["n_groups"] = metrics["ci_resampling"], metrics["n_groups"]
    else:
        out["roc_auc"], out["roc_auc_ci95"] = None, None
    return out


def policy_table(columns: pd.DataFrame, sentiment: pd.Series,
                 policies: Sequence[LabelingPolicy | str] = tuple(POLICIES),
                 bands: Sequence[float] = DEFAULT_BANDS, n_bootstrap: int = 1000, seed: int = 0, groups=None,
                 scores: dict | None = None) -> list[dict]:
    """One row per (policy, band): :func:`policy_quality` (``groups``: the interval's clusters, (n,)) plus
    ``policy`` and ``neutral_band``.

    ``columns`` holds the scorer columns (:func:`weaklabel.scorers.batch.score_texts`); ``scores`` may give a policy's
    score instead of its own (``{name: ndarray (n,)}``: a label model's out-of-fold score), labelled by the band."""
    valence, neutral = human_valence(sentiment)
    rows = []
    for policy in policies:
        policy = POLICIES[policy] if isinstance(policy, str) else policy
        for band in bands:
            if scores and policy.name in scores:
                score = scores[policy.name]
                label = np.where(band_signs(score, band) > 0, 1.0, np.where(band_signs(score, band) < 0, 0.0, np.nan))
                label[np.isnan(score)] = np.nan
            else:
                result = policy.apply(columns, band)
                score, label = result.score, result.label
            rows.append({"policy": policy.name, "neutral_band": float(band),
                         **policy_quality(score, label, valence, neutral, n_bootstrap=n_bootstrap, seed=seed,
                                          groups=groups)})
    return rows


def labeling_function_summary(columns: pd.DataFrame, sentiment: pd.Series, neutral_band: float | None = None,
                              functions: Sequence[str] | None = None) -> list[dict]:
    """Snorkel's labelling-function summary of the scorers, each voting by the sign of its score column at
    ``neutral_band`` (default: the band of the policy that is that scorer alone, e.g. ``vader`` 0.2, ``e5``
    0.4; ``functions``: scorer names, default every sentiment scorer ``columns`` holds).

    Returns
    -------
    list of dict, one per function: ``coverage`` (share of all texts it labels), ``overlaps`` (share it
    labels that another function also labels), ``conflicts`` (share it labels that another function
    labels differently), ``empirical_accuracy`` on human positive/negative texts it labels, and ``n``.
    """
    valence, _ = human_valence(sentiment)
    functions = labeling_functions(columns) if functions is None else functions
    votes = {}
    bands = {name: default_band(name) if neutral_band is None else neutral_band for name in functions}
    for name in functions:
        sign = band_signs(np.asarray(columns[SCORERS[name].score_column], dtype=np.float64), bands[name])
        votes[name] = np.where(sign > 0, 1.0, np.where(sign < 0, 0.0, np.nan))
    n = len(columns)
    rows = []
    for name, lab in votes.items():
        others = [v for other, v in votes.items() if other != name]
        labelled = ~np.isnan(lab)
        overlap = np.zeros(n, bool)
        conflict = np.zeros(n, bool)
        for other in others:
            both = labelled & ~np.isnan(other)
            overlap |= both
            conflict |= both & (other != lab)
        judged = labelled & ~np.isnan(valence)
        rows.append({"function": name, "neutral_band": float(bands[name]), "n": n,
                     "coverage": float(labelled.mean()) if n else None,
                     "overlaps": float(overlap.mean()) if n else None,
                     "conflicts": float(conflict.mean()) if n else None,
                     "empirical_accuracy": float((lab[judged] == valence[judged]).mean()) if judged.any() else None})
    return rows


def _fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def quality_tables(rows: list[dict], lf_rows: list[dict], title_suffix: str = "") -> list[dict]:
    """The policy and labelling-function rows as generic tables (``title``, ``columns``, ``rows``, ``note``)."""
    columns = ["policy", "band", "coverage", "accuracy", "balanced acc.", "ROC AUC [95% CI]", "P pos", "R pos",
               "P neg", "R neg", "labelled pos / neg", "human-neutral labelled"]
    table_rows = []
    for r in rows:
        ci = r["roc_auc_ci95"]
        auc = _fmt(r["roc_auc"]) + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")
        name = r["policy"] + (" (default)" if r["policy"] == DEFAULT_POLICY else "") + \
            (" (original)" if r["policy"] == ORIGINAL_POLICY else "")
        neutral = f"{r['human_neutral_labelled']} / {r['n_human_neutral']}"
        table_rows.append([name, _fmt(r["neutral_band"], 2), _fmt(r["coverage"]), _fmt(r["accuracy"]),
                           _fmt(r["balanced_accuracy"]), auc, _fmt(r["precision_positive"]),
                           _fmt(r["recall_positive"]), _fmt(r["precision_negative"]), _fmt(r["recall_negative"]),
                           f"{r['labelled_positive']} / {r['labelled_negative']}", neutral])
    first = rows[0] if rows else {"n_human_positive": 0, "n_human_negative": 0, "n_human_neutral": 0}
    note = (f"Humans: {first['n_human_positive']} positive, {first['n_human_negative']} negative, "
            f"{first['n_human_neutral']} neutral. Coverage, accuracy and precision are over the human "
            "positive/negative texts; recall counts abstentions as misses; ROC AUC ranks the raw score "
            "(independent of the band); labelled counts include human-neutral texts.")
    if first.get("ci_resampling") == "groups":
        note += f" The ROC AUC interval resamples whole groups ({first['n_groups']} of them), not texts."
    lf_table = {"title": "Scorers as labelling functions" + title_suffix,
                "columns": ["function", "band", "coverage", "overlaps", "conflicts", "empirical accuracy"],
                "rows": [[r["function"], _fmt(r["neutral_band"], 2), _fmt(r["coverage"]), _fmt(r["overlaps"]),
                          _fmt(r["conflicts"]), _fmt(r["empirical_accuracy"])] for r in lf_rows],
                "note": "Snorkel-style summary over all texts: each scorer votes by its sign outside the band."}
    return [{"title": "Weak labels against human sentiment" + title_suffix, "columns": columns,
             "rows": table_rows, "note": note}, lf_table]


def label_quality_report(texts: Sequence[str], sentiment: pd.Series, source: str,
                         policies: Sequence[str] = tuple(POLICIES), bands: Sequence[float] = DEFAULT_BANDS,
                         n_bootstrap: int = 1000, seed: int = 0,
                         progress: Callable[[int], None] | None = None, groups=None,
                         label_model: str | None = None, source_sha256: str | None = None,
                         on_start: Callable[[int], None] | None = None) -> dict:
    """Score ``texts`` and compare every policy and band with the human ``sentiment`` (same length).

    Parameters
    ----------
    groups : sequence, optional
        Same length, no missing values: the cluster of each text, e.g. MELD's dialogue, for a cluster-bootstrap
        AUC interval and the folds of an out-of-fold label model.
    label_model : path or LabelModel, optional
        A label-model file (:mod:`weaklabel.label_model`) or model: scored too, as ``calibrated (<name>)``.
    source_sha256 : str, optional
        The SHA-256 of the file the texts come from: a label model fitted on that file is scored out of fold.
    on_start, progress : callable(n), optional
        ``on_start(n)`` with the (scorer, distinct text) pairs to score (cached ones excluded), then
        ``progress(k)`` as they are scored.

    Returns
    -------
    dict, JSON-serialisable: ``source``, ``n_texts``, ``default_policy``, ``original_policy``, ``rows``
    (:func:`policy_table`), ``labeling_functions`` (:func:`labeling_function_summary` at the default band),
    ``tables`` (generic tables for Markdown/HTML), ``scorers`` (their versions), ``label_models`` (each label
    model's identity and training data, and whether it was scored out of fold), ``not_scored`` (policies whose
    scorers cannot run here, and why).
    """
    if len(texts) != len(sentiment):
        raise ValueError(f"{len(texts)} texts but {len(sentiment)} human labels")
    for policy in policies:
        validate_policy(policy, 0.0)  # unknown names fail before the slow part
    chosen = [POLICIES[name] for name in policies]
    if isinstance(label_model, LabelModel):
        chosen.append(label_model_policy(f"calibrated ({label_model.name})", label_model))
    elif label_model is not None:
        chosen.append(replace(get_policy("calibrated", label_model), name=f"calibrated ({Path(label_model).name})"))
    not_scored = {}
    for policy in list(chosen):
        reasons = [SCORERS[name].unavailable() for name in policy.scorers]
        if any(reasons):
            not_scored[policy.name] = "; ".join(r for r in reasons if r)
            chosen.remove(policy)
    if not chosen:
        raise ValueError("no policy can be scored here: " + "; ".join(f"{k}: {v}" for k, v in not_scored.items()))
    sentiment = pd.Series(sentiment).reset_index(drop=True)
    if groups is not None and len(groups) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(groups)} groups")
    scoring = ScoringRun(texts, scorers_needed(chosen))
    if on_start is not None:
        on_start(scoring.n_to_score)
    columns = scoring.table(progress)
    valence, neutral = human_valence(sentiment)
    oof_scores, models = {}, {}
    for policy in chosen:
        model = policy.label_model
        if model is None:
            continue
        in_sample = source_sha256 is not None and any(d.get("sha256") == source_sha256 for d in model.fitted_on)
        if in_sample:
            oof_scores[policy.name] = out_of_fold_score(columns, valence, groups, model.features,
                                                        neutral if len(model.classes) == 3 else None,
                                                        C=model.recipe.get("C", 1.0))
        models[policy.name] = {**model.identity(), "fitted_on": model.fitted_on, "scored_out_of_fold": in_sample}
    rows = policy_table(columns, sentiment, chosen, bands, n_bootstrap=n_bootstrap, seed=seed, groups=groups,
                        scores=oof_scores)
    lf_rows = labeling_function_summary(columns, sentiment)
    tables = quality_tables(rows, lf_rows)
    if oof_scores:
        tables[0]["note"] += (f" {', '.join(oof_scores)}: fitted on this file, so scored out of fold (refitted with "
                              "its recipe on 5 grouped folds): no figure here is in-sample.")
    if not_scored:
        tables[0]["note"] += " Not scored here: " + "; ".join(f"{k} ({v})" for k, v in not_scored.items()) + "."
    return {"source": source, "n_texts": len(texts), "default_policy": DEFAULT_POLICY,
            "default_neutral_band": default_band(DEFAULT_POLICY), "original_policy": ORIGINAL_POLICY,
            "fallback_policy": FALLBACK_POLICY,
            "scorers": {name: SCORERS[name].record() for name in scorers_needed(chosen)},
            "label_models": models, "not_scored": not_scored,
            "rows": rows, "labeling_functions": lf_rows, "tables": tables}


# ------------------------------------------------------------------------------------ the label-quality step
TEXT_COLUMNS = ("Utterance", "utterance", "text", "Text", "sentence", "transcript")
LABEL_COLUMNS = ("Sentiment", "sentiment", "label", "Label", "human_label")
GROUP_COLUMNS = ("Dialogue_ID",)


@dataclass(frozen=True)
class LabelQualityConfig:
    """How :func:`label_quality` reads the human labels and what it scores."""

    text_column: str | None = option(None, default_text=f"the first of {', '.join(TEXT_COLUMNS)}",
                                     help="text column of --csv")
    label_column: str | None = option(None, default_text=f"the first of {', '.join(LABEL_COLUMNS)}",
                                      help="label column of --csv")
    group_column: str | None = option(
        None, default_text=f"{GROUP_COLUMNS[0]} when present; with --dataset the build's group_id",
        help="column of --csv whose values cluster the texts for the AUC interval")
    human_labels: str | None = option(None, metavar="FILE", default_text="the dataset's human_label column",
                                      help="with --dataset: CMU-MOSEI .csd or CSV/TSV with video id, start, end, "
                                           "sentiment")
    policies: tuple[str, ...] = option(tuple(POLICIES), choices=tuple(POLICIES), help="labelling policies to score")
    label_model: str | None = option(
        None, metavar="FILE",
        help="also score this label-model file (python -m pipelines.label_model) as 'calibrated (FILE)'; scored out "
             "of fold when it was fitted on the --csv file itself")
    bands: tuple[float, ...] = option(DEFAULT_BANDS, minimum=0.0, maximum=1.0, help="neutral bands")
    seed: int = option(0, **SEED_RANGE, help="bootstrap seed")

    def __post_init__(self):
        check_ranges(self)


def _column(frame: pd.DataFrame, given: str | None, candidates: tuple[str, ...], what: str, path) -> str:
    if given:
        if given not in frame.columns:
            raise ValueError(f"{path} has no column {given!r}; columns: {', '.join(map(str, frame.columns))}")
        return given
    for name in candidates:
        if name in frame.columns:
            return name
    raise ValueError(f"{path}: no {what} column found (looked for {', '.join(candidates)}); "
                     f"name it with --{what}-column")


def read_labelled_texts(source, config: LabelQualityConfig = LabelQualityConfig()):
    """Texts and their human sentiment from a CSV/TSV file or a built dataset.

    Parameters
    ----------
    source : path or weaklabel.dataset.Dataset
        A CSV/TSV file with a text and a label column (``config.text_column`` / ``label_column``, else the first
        of :data:`TEXT_COLUMNS` / :data:`LABEL_COLUMNS`), or a dataset: its segments' texts with the human labels
        of ``config.human_labels`` joined by video id and times, else its ``human_label`` column.

    Returns
    -------
    texts : list of str
    sentiment : pandas.Series, the human labels (words or numbers)
    description : str, where they came from
    groups : ndarray or None, the cluster of each text for the AUC interval (MELD's ``Dialogue_ID`` or
        ``config.group_column`` for a file, ``group_id`` for a dataset; None when absent or incomplete)
    """
    if not isinstance(source, Dataset) and not Path(source).is_dir():
        path = Path(source)
        sep = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_values=[""])
        text = _column(frame, config.text_column, TEXT_COLUMNS, "text", path)
        label = _column(frame, config.label_column, LABEL_COLUMNS, "label", path)
        group = _column(frame, config.group_column, GROUP_COLUMNS, "group", path) if config.group_column else \
            next((c for c in GROUP_COLUMNS if c in frame.columns), None)
        groups = frame[group].to_numpy() if group and frame[group].notna().all() else None
        return frame[text].tolist(), frame[label], f"{path} ({text} / {label})", groups

    dataset = Dataset(source)
    segments = dataset.segments
    segments = segments[segments["text"].notna()].reset_index(drop=True)
    if config.human_labels is not None:
        human = join_human_labels(segments, read_human_labels(config.human_labels))
        description = f"{dataset.path} joined with {config.human_labels}"
    elif "human_label" in segments.columns:
        human, description = segments["human_label"], f"{dataset.path} (human_label column)"
    else:
        raise ValueError(f"{dataset.path} has no human_label column: give the labels with --human-labels")
    groups = segments["group_id"].to_numpy() if "group_id" in segments and segments["group_id"].notna().all() \
        else None
    return segments["text"].tolist(), human, description, groups


def label_quality(data, labels=None, config: LabelQualityConfig = LabelQualityConfig(), *, groups=None,
                  source: str | None = None, on_start: Callable[[int], None] | None = None,
                  progress: Callable[[int], None] | None = None) -> dict:
    """Score every policy and band of ``config`` against human sentiment (:func:`label_quality_report`).

    Parameters
    ----------
    data : sequence of str, path or weaklabel.dataset.Dataset
        Texts (with ``labels``), or where to read texts and labels: a CSV/TSV file or a built dataset
        (:func:`read_labelled_texts`).
    labels : sequence, optional
        The human sentiment of each text (words or numbers), with texts.
    config : LabelQualityConfig
    groups : sequence, optional
        With texts: the cluster of each text, for a cluster-bootstrap AUC interval.
    source : str, optional
        With texts: how the report names them.
    on_start, progress : callable, optional
        ``on_start(n)`` before scoring, ``progress(k)`` as (scorer, text) pairs are scored.

    Returns
    -------
    dict, the report (:func:`label_quality_report`); :func:`write_label_quality` writes it.
    """
    source_sha256 = None
    if labels is None:
        if isinstance(data, (list, tuple, pd.Series)):
            raise ValueError("texts need their human labels: label_quality(texts, labels)")
        texts, labels, source, groups = read_labelled_texts(data, config)
        if Path(data).is_file():
            from foundation.digests import file_sha256

            source_sha256 = file_sha256(data)
    else:
        texts, source = list(data), source or f"{len(data)} texts"
    return label_quality_report(texts, pd.Series(labels), source, config.policies, config.bands, seed=config.seed,
                                progress=progress, groups=groups, label_model=config.label_model,
                                source_sha256=source_sha256, on_start=on_start)


def label_quality_markdown(report: dict) -> str:
    """The report's tables as Markdown, under a title naming its source."""

    return (f"# Weak labels against human sentiment\n\nSource: {report['source']}; {report['n_texts']} texts.\n\n"
            + markdown_tables(report["tables"]))


@writes_into("out_dir", "label quality")
def write_label_quality(report: dict, out_dir) -> tuple:
    """Write ``label_quality.json`` and ``label_quality.md`` into ``out_dir`` atomically, holding its writer lock
    (a dataset folder's, :mod:`foundation.locking`); return their paths."""

    return write_record_atomic(out_dir, report, LABEL_QUALITY_FILE, label_quality_markdown(report),
                               LABEL_QUALITY_MARKDOWN_FILE)


class _CallableModule(types.ModuleType):
    """Importing this module makes it the attribute ``weaklabel.label_quality``, which would hide the function of
    that name exported by :mod:`weaklabel`: calling the module calls :func:`label_quality`, so
    ``weaklabel.label_quality(...)`` works whichever of the two the name holds."""

    def __call__(self, *args, **kwargs):
        return label_quality(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
