r"""Fit a label model (the calibrated policy's model) on your own human-labelled sentences.

    python -m pipelines.label_model --csv my_labelled.csv --out my_model.json
    python -m pipelines.label_model --csv calls.tsv --text-column text --label-column sentiment \
        --group-column speaker --features e5 vader --out calls_model.json
    python -m pipelines.build_dataset --root calls/manifest.csv --out build/calls \
        --label-model calls_model.json

The file needs a text column and a human label column (positive/negative/neutral words, or numbers: > 0
positive, < 0 negative, 0 neutral); a few hundred positive and negative sentences are enough for its few
weights. The model is a class-balanced logistic regression over scorer columns (default: those of the shipped
calibrated model), written as JSON with its weights, the scorer versions, the file's SHA-256 and its out-of-fold
figures (grouped folds: --group-column keeps a dialogue or a speaker on one side). The label-quality table
printed beside it scores the new model out of fold next to the original mean policy and the shipped models.
"""
from __future__ import annotations

import sys
from pathlib import Path

from foundation.config import CommandLine, make_config
from pipelines._common import LazyBar, fail
from weaklabel.label_model_fit import LabelModelConfig


def command_line() -> CommandLine:
    cli = CommandLine("python -m pipelines.label_model", __doc__)
    cli.parser.add_argument("--csv", type=Path, required=True, help="CSV/TSV of sentences with human labels")
    cli.parser.add_argument("--out", type=Path, required=True, help="the label-model JSON file to write")
    cli.add("fit", LabelModelConfig)
    cli.parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return cli


def main(argv: list[str] | None = None) -> int:
    args, values = command_line().parse(argv)
    from weaklabel.label_model import save_label_model
    from weaklabel.label_model_fit import fit_label_model_file
    from weaklabel.label_quality import label_quality_markdown
    from weaklabel.scorers import ScorerUnavailable

    bar = LazyBar("scoring", "text", args.quiet)
    try:
        config = make_config(LabelModelConfig, values["fit"])
        model, report = fit_label_model_file(args.csv, config, progress=bar.update, on_start=bar.start)
    except (OSError, ValueError, KeyError, ScorerUnavailable) as exc:
        return fail(str(exc).strip("'\""))
    finally:
        bar.close()
    model = save_label_model(model, args.out)
    print(label_quality_markdown(report))
    oof = model.out_of_fold
    ci = oof.get("roc_auc_ci95") or (float("nan"), float("nan"))
    print(f"Wrote {args.out}: label model {model.name!r} over {', '.join(model.features)}, fitted on "
          f"{model.fitted_on[0]['rows']} positive/negative sentences; out of fold ROC AUC {oof['roc_auc']:.3f} "
          f"[{ci[0]:.3f}, {ci[1]:.3f}]; its band {model.band:g} ({oof['band_rule']}). Build with --label-model "
          f"{args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
