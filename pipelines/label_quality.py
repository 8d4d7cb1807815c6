"""Compare the weak labeller with human sentiment: coverage, accuracy, ROC AUC per policy and neutral band.

    python -m pipelines.label_quality --csv ../shared/data/meld_dev_sent_emo.csv  # MELD's columns
    python -m pipelines.label_quality --csv labels.tsv --text-column text --label-column sentiment
    python -m pipelines.label_quality --dataset build/mosei --human-labels CMU_MOSEI_Labels.csd
    python -m pipelines.label_quality --dataset build/calls   # a manifest's human_label column

Human labels are positive / negative / neutral words or numbers (> 0 positive, < 0 negative, 0 neutral,
e.g. CMU-MOSEI's -3..+3). With --dataset, the labels are joined to the build's segments by video id and
times (CMU-MOSEI .csd or a CSV with video id, start, end, sentiment), or read from its human_label column.
Writes label_quality.json and label_quality.md (into the dataset folder with --dataset, where the report
finds them; else into reports/label_quality-<name>/) and prints the tables.
"""
from __future__ import annotations

import sys
from pathlib import Path

from foundation.config import CommandLine, make_config
from pipelines._common import LazyBar, fail
from weaklabel.label_quality import LabelQualityConfig


def command_line() -> CommandLine:
    cli = CommandLine("python -m pipelines.label_quality", __doc__)
    src = cli.parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--csv", type=Path, help="CSV/TSV with a text column and a human label column")
    src.add_argument("--dataset", type=Path, help="a folder written by pipelines.build_dataset")
    cli.add("quality", LabelQualityConfig)
    cli.parser.add_argument("--out", type=Path, help="output folder (default: see above)")
    cli.parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return cli


def main(argv: list[str] | None = None) -> int:
    args, values = command_line().parse(argv)
    from weaklabel.dataset import Dataset
    from weaklabel.label_quality import label_quality, label_quality_markdown, write_label_quality
    from weaklabel.scorers import ScorerUnavailable

    bar = LazyBar("scoring", "text", args.quiet)
    try:
        config = make_config(LabelQualityConfig, values["quality"])
        source = args.csv if args.csv is not None else Dataset(args.dataset)
        report = label_quality(source, config=config, on_start=bar.start, progress=bar.update)
    except (OSError, ValueError, KeyError, ScorerUnavailable) as exc:  # a scorer that failed while scoring too
        return fail(str(exc))
    finally:
        bar.close()
    out = args.out or (args.dataset if args.csv is None else Path("reports") / f"label_quality-{args.csv.stem}")
    try:
        json_path, md_path = write_label_quality(report, out)
    except OSError as exc:  # another process writing there (FolderBusyError), an unwritable folder
        return fail(str(exc))
    print(label_quality_markdown(report))
    print(f"Wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
