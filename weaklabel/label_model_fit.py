"""Fitting a label model on a user's file of human-labelled sentences (``python -m pipelines.label_model``):
the sentences scored by the scorers its features read, the model fitted (:func:`weaklabel.label_model.fit_label_model`),
its out-of-fold figures, and a label-quality report beside the shipped policies."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from foundation.config import option
from foundation.digests import file_sha256
from foundation.metrics import binary_metrics
from weaklabel.label_model import (BAND_RULE, DEFAULT_C, LabelModel, choose_band, fit_label_model, out_of_fold_score,
                                   shipped_label_model)
from weaklabel.label_quality import LabelQualityConfig, human_valence, label_quality_report, read_labelled_texts
from weaklabel.policies import ORIGINAL_POLICY, POLICIES
from weaklabel.scorers import SCORERS, scorers_of_columns
from weaklabel.scorers.batch import ScoringRun


@dataclass(frozen=True)
class LabelModelConfig:
    """How ``python -m pipelines.label_model`` fits a label model on a CSV/TSV of human-labelled sentences."""

    features: tuple[str, ...] = option(
        (), metavar="COLUMN", default_text="the shipped calibrated model's features",
        help="scorer columns the model reads (e.g. e5 vader vader_pos vader_neg textblob_negation)")
    name: str | None = option(None, default_text="the file's stem", help="the model's name, as reports show it")
    C: float = option(DEFAULT_C, flag="--C", help="inverse L2 strength of the logistic regression")
    n_folds: int = option(5, flag="--folds", help="grouped folds of the out-of-fold figures")
    text_column: str | None = option(None, default_text="Utterance, text, sentence, ... (the first present)",
                                     help="text column")
    label_column: str | None = option(None, default_text="Sentiment, sentiment, label, ... (the first present)",
                                      help="human label column: positive/negative/neutral words or signed numbers")
    group_column: str | None = option(None, default_text="Dialogue_ID when present, else none",
                                      help="column whose values group the sentences (a dialogue, a speaker): no "
                                           "group is on both sides of a fold")


def check_classes(valence, neutral, source: str) -> None:
    """ValueError unless human ``valence`` (n,: 1, 0, NaN) holds positive and negative sentences, saying which
    classes the labels hold (with ``neutral``, (n,) bool), how many, and what to do."""
    counts = {"positive": int(np.sum(np.asarray(valence) == 1)), "negative": int(np.sum(np.asarray(valence) == 0)),
              "neutral": int(np.sum(neutral))}
    missing = [name for name in ("positive", "negative") if not counts[name]]
    if not missing:
        return
    held = {name: n for name, n in counts.items() if n}
    if len(held) == 1:
        holds = "only one class, {} ({} sentences)".format(*next(iter(held.items())))
    else:
        holds = ", ".join(f"{n} {name}" for name, n in held.items()) or "no positive, negative or neutral label"
    raise ValueError(f"{source}: the labels hold {holds}, no {' and no '.join(missing)} sentence: a label model tells "
                     f"positive from negative sentences, so it needs both (a few hundred of each); add "
                     f"{' and '.join(missing)} sentences, or check that --label-column names the human labels "
                     "(positive/negative/neutral words or signed numbers)")


def fit_label_model_file(path: str | Path, config: LabelModelConfig = LabelModelConfig(),
                         progress=None, on_start=None) -> tuple[LabelModel, dict]:
    """Fit a label model on a file of human-labelled sentences, with out-of-fold figures on it.

    ``on_start(n)`` is told the (scorer, text) pairs to score, then ``progress(k)`` as they are scored.

    Returns
    -------
    model : LabelModel (not saved: :func:`save_label_model`)
    report : dict, the label-quality report (:func:`weaklabel.label_quality.label_quality_report`) of the
        model scored out of fold beside the original ``mean`` and the shipped policies, on the same sentences.
    """
    path = Path(path)
    features = config.features or shipped_label_model("calibrated").features
    scorers = scorers_of_columns(features)
    texts, sentiment, source, groups = read_labelled_texts(path, LabelQualityConfig(
        text_column=config.text_column, label_column=config.label_column, group_column=config.group_column))
    valence, neutral = human_valence(sentiment)
    check_classes(valence, neutral, source)  # before the scoring, the slow part
    scoring = ScoringRun(texts, scorers)
    if on_start is not None:
        on_start(scoring.n_to_score)
    columns = scoring.table(progress)
    score = out_of_fold_score(columns, valence, groups, features, neutral, n_folds=config.n_folds, C=config.C)
    polar = ~np.isnan(valence) & ~np.isnan(score)
    if len(np.unique(valence[polar])) < 2:
        raise ValueError(f"{source}: no out-of-fold figures: in each of the {config.n_folds} folds the sentences its "
                         "model is fitted on lack a class (groups that hold one class each?); give more groups "
                         "(--group-column), or fewer --folds")
    oof = binary_metrics(valence[polar].astype(int), (score[polar] + 1) / 2, n_bootstrap=1000, seed=0,
                         groups=None if groups is None else np.asarray(groups, dtype=object)[polar])
    fitted_on = [{"file": path.name, "sha256": file_sha256(path), "rows": int(polar.sum() + neutral.sum()),
                  "positive": int((valence == 1).sum()), "negative": int((valence == 0).sum()),
                  "neutral": int(neutral.sum()), "source": source}]
    model = fit_label_model(columns, valence, features, config.name or path.stem, neutral=neutral, C=config.C,
                            scorer_versions={name: SCORERS[name].version for name in scorers},
                            fitted_on=fitted_on,
                            out_of_fold={"roc_auc": oof["roc_auc"], "roc_auc_ci95": oof["roc_auc_ci95"],
                                         "folds": config.n_folds, "grouped_by": config.group_column or
                                         ("Dialogue_ID" if groups is not None else "sentence"),
                                         "band_rule": BAND_RULE},
                            band=choose_band(score, valence))
    policies = [name for name in (ORIGINAL_POLICY, "lexicon", "calibrated") if name in POLICIES]
    report = label_quality_report(texts, sentiment, source, policies, groups=groups, label_model=model,
                                  source_sha256=fitted_on[0]["sha256"])
    return model, report
