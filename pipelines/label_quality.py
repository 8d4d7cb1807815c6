"""Compare the weak labeller with human sentiment: coverage, accuracy, ROC AUC per policy and neutral band.

    python -m pipelines.label_quality --csv ../shared/data/meld_dev_sent_emo.csv      # MELD: Utterance, Sentiment
    python -m pipelines.label_quality --csv labels.tsv --text-column text --label-column sentiment
    python -m pipelines.label_quality --dataset build/mosei --human-labels CMU_MOSEI_Labels.csd
    python -m pipelines.label_quality --dataset build/calls             # a manifest build with human_label

Human labels are positive / negative / neutral words or numbers (> 0 positive, < 0 negative, 0 neutral,
e.g. CMU-MOSEI's -3..+3). With --dataset, the labels are joined to the build's segments by video id and
times (CMU-MOSEI .csd or a CSV with video id, start, end, sentiment), or read from its human_label column.
Writes label_quality.json and label_quality.md (into the dataset folder with --dataset, where the report
finds them; else into reports/label_quality-<name>/) and prints the tables.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

TEXT_COLUMNS = ("Utterance", "utterance", "text", "Text", "sentence", "transcript")
LABEL_COLUMNS = ("Sentiment", "sentiment", "label", "Label", "human_label")
GROUP_COLUMNS = ("Dialogue_ID",)


def build_parser() -> argparse.ArgumentParser:
    from weaklabel.label_quality import DEFAULT_BANDS
    from weaklabel.sentiment import POLICIES

    parser = argparse.ArgumentParser(prog="python -m pipelines.label_quality", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--csv", type=Path, help="CSV/TSV with a text column and a human label column")
    src.add_argument("--dataset", type=Path, help="a folder written by pipelines.build_dataset")
    parser.add_argument("--text-column", help=f"text column of --csv (default: the first of {', '.join(TEXT_COLUMNS)})")
    parser.add_argument("--label-column",
                        help=f"label column of --csv (default: the first of {', '.join(LABEL_COLUMNS)})")
    parser.add_argument("--group-column",
                        help="column of --csv whose values cluster the texts for the AUC interval (default: "
                             f"{GROUP_COLUMNS[0]} when present; with --dataset the build's group_id)")
    parser.add_argument("--human-labels", type=Path,
                        help="with --dataset: CMU-MOSEI .csd or CSV/TSV with video id, start, end, sentiment")
    parser.add_argument("--policies", nargs="+", choices=list(POLICIES), default=list(POLICIES))
    parser.add_argument("--bands", nargs="+", type=float, default=list(DEFAULT_BANDS), help="neutral bands")
    parser.add_argument("--out", type=Path, help="output folder (default: see above)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _column(frame, given: str | None, candidates: tuple[str, ...], what: str, path: Path) -> str:
    if given:
        if given not in frame.columns:
            raise ValueError(f"{path} has no column {given!r}; columns: {', '.join(map(str, frame.columns))}")
        return given
    for name in candidates:
        if name in frame.columns:
            return name
    raise ValueError(f"{path}: no {what} column found (looked for {', '.join(candidates)}); "
                     f"name it with --{what}-column")


def load_texts_and_labels(args) -> tuple[list, "object", str, Path, "object"]:
    """(texts, human sentiment Series, source description, default output folder, groups) from the
    arguments; ``groups`` clusters the texts for the AUC interval (array (n,): MELD's ``Dialogue_ID`` or
    ``--group-column`` for a CSV, ``group_id`` for a build; None when absent or when a text has none)."""
    import pandas as pd

    if args.csv is not None:
        sep = "\t" if args.csv.suffix.lower() in (".tsv", ".tab") else ","
        frame = pd.read_csv(args.csv, sep=sep, dtype=str, keep_default_na=False, na_values=[""])
        text = _column(frame, args.text_column, TEXT_COLUMNS, "text", args.csv)
        label = _column(frame, args.label_column, LABEL_COLUMNS, "label", args.csv)
        given = getattr(args, "group_column", None)
        group = _column(frame, given, GROUP_COLUMNS, "group", args.csv) if given else \
            next((c for c in GROUP_COLUMNS if c in frame.columns), None)
        groups = frame[group].to_numpy() if group and frame[group].notna().all() else None
        return (frame[text].tolist(), frame[label], f"{args.csv} ({text} / {label})",
                Path("reports") / f"label_quality-{args.csv.stem}", groups)
    from pipelines._common import check_dataset
    from weaklabel.human_labels import join_human_labels, read_human_labels

    check_dataset(args.dataset)
    segments = pd.read_parquet(args.dataset / "segments.parquet")
    segments = segments[segments["text"].notna()].reset_index(drop=True)
    if args.human_labels is not None:
        human = join_human_labels(segments, read_human_labels(args.human_labels))
        source = f"{args.dataset} joined with {args.human_labels}"
    elif "human_label" in segments.columns:
        human, source = segments["human_label"], f"{args.dataset} (human_label column)"
    else:
        raise ValueError(f"{args.dataset} has no human_label column: give the labels with --human-labels")
    groups = segments["group_id"].to_numpy() if "group_id" in segments and segments["group_id"].notna().all() \
        else None
    return segments["text"].tolist(), human, source, args.dataset, groups


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from pipelines._common import LazyBar, fail
    from foundation.atomic import atomic_path, write_json_atomic
    from weaklabel.label_quality import label_quality_report
    from foundation.tables import markdown_tables

    bar = LazyBar("scoring", "text", args.quiet)
    try:
        texts, human, source, default_out, groups = load_texts_and_labels(args)
        bar.start(len(texts))
        report = label_quality_report(texts, human, source, args.policies, args.bands, seed=args.seed,
                                      progress=bar.update, groups=groups)
    except (OSError, ValueError, KeyError) as exc:
        return fail(str(exc))
    finally:
        bar.close()
    out = args.out or default_out
    out.mkdir(parents=True, exist_ok=True)
    text = f"# Weak labels against human sentiment\n\nSource: {source}; {report['n_texts']} texts.\n\n" + \
        markdown_tables(report["tables"])
    write_json_atomic(out / "label_quality.json", report)
    with atomic_path(out / "label_quality.md") as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    print(text)
    print(f"Wrote {out / 'label_quality.json'} and {out / 'label_quality.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
