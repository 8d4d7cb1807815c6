"""Fit the ``calibrated`` labelling policy on MELD and measure it honestly (out of fold).

    python -m benchmarks.label_model --meld ../shared/data/meld_dev_sent_emo.csv

Prints the weights to paste into ``weaklabel.sentiment.CALIBRATED_MODEL`` and writes
``reports/label_model.md``/``.json``: the original ``mean`` policy next to the calibrated model scored
out of fold (5 folds grouped by dialogue, so no conversation is on both sides), across neutral bands, and
the band chosen by the rule: the best balanced accuracy among bands that keep at least a third of the
human positive/negative utterances.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

MIN_COVERAGE = 1 / 3


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--meld", type=Path, default=Path("../shared/data/meld_dev_sent_emo.csv"))
    parser.add_argument("--out", type=Path, default=Path("reports/label_model"))
    args = parser.parse_args(argv)

    from foundation.atomic import write_json_atomic
    from weaklabel.label_model import fit_label_model, out_of_fold_probability
    from weaklabel.label_quality import DEFAULT_BANDS, human_valence, policy_quality, quality_tables, score_texts
    from weaklabel.sentiment import ORIGINAL_POLICY, apply_policy, scores_from_frame
    from foundation.tables import markdown_table

    meld = pd.read_csv(args.meld)
    scores = score_texts(meld["Utterance"])
    valence, neutral = human_valence(meld["Sentiment"])
    model = fit_label_model(scores, valence, fitted_on=f"{args.meld.name}: human positive/negative utterances, "
                                                       "class-balanced logistic regression, C=1")
    p = out_of_fold_probability(scores, valence, meld["Dialogue_ID"].to_numpy())
    oof_score = 2 * p - 1
    rows = []
    parsed = scores_from_frame(scores)
    for band in DEFAULT_BANDS:
        score, label = apply_policy(parsed, ORIGINAL_POLICY, band)
        rows.append({"policy": ORIGINAL_POLICY, "neutral_band": band, **policy_quality(score, label, valence, neutral)})
    for band in DEFAULT_BANDS:
        label = np.where(oof_score >= band, 1.0, np.where(oof_score <= -band, 0.0, np.nan))
        label[oof_score == 0] = np.nan
        rows.append({"policy": "calibrated (out of fold)", "neutral_band": band,
                     **policy_quality(oof_score, label, valence, neutral)})
    eligible = [r for r in rows if r["policy"].startswith("calibrated") and r["coverage"] >= MIN_COVERAGE]
    chosen = max(eligible, key=lambda r: r["balanced_accuracy"])["neutral_band"]
    tables = quality_tables(rows, [], " (MELD dev, calibrated scored out of fold)")[:1]
    record = {"model": {"weights": model.weights, "intercept": model.intercept, "fitted_on": model.fitted_on},
              "chosen_band": chosen, "rule": f"best balanced accuracy with coverage >= {MIN_COVERAGE:.3f}",
              "rows": rows, "tables": tables}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(args.out.with_suffix(".json"), record)
    text = (f"# The calibrated labelling policy\n\nFitted on `{args.meld.name}`: weights {model.weights}, "
            f"intercept {model.intercept}.\nChosen neutral band: **{chosen}** ({record['rule']}).\n\n"
            + markdown_table(tables[0]))
    args.out.with_suffix(".md").write_text(text, encoding="utf-8")
    print(text)
    print("CALIBRATED_MODEL weights:", json.dumps(model.weights), "intercept:", model.intercept)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
