"""Write a self-contained HTML report of a built dataset (and of the model, acted-corpus evaluations and label quality).

    python -m pipelines.report                                  # build/demo -> reports/demo/index.html
    python -m pipelines.report --dataset build/mosei [--out mosei.html] [--evaluation FILE] [--label-quality FILE]
                               [--weak-supervision FILE]

The page embeds its plots (PNG), needs no server, script or network, and opens offline in any browser.
Pieces not produced yet (no model, no evaluation) appear as "not run yet" boxes with the command to run.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines._common import add_dataset_argument, fail


def add_report_arguments(parser: argparse.ArgumentParser, out_option: str = "--out") -> None:
    """The report's own options (shared with pipelines.run, which calls the output option --report)."""
    group = parser.add_argument_group("report")
    group.add_argument(out_option, dest="report_out", type=Path, metavar="PATH",
                       help="HTML file to write (default: reports/<dataset folder name>/index.html)")
    group.add_argument("--evaluation", "--benchmark", dest="evaluation", action="append", type=Path, default=[],
                       metavar="FILE",
                       help="an acted_evaluation.json (python -m pipelines.evaluate_acted) to include (repeatable; "
                            "default: every acted_evaluation.json under DATASET/evaluations/; --benchmark is its "
                            "former name)")
    group.add_argument("--label-quality", action="append", type=Path, default=[], metavar="FILE",
                       help="a label-quality JSON file with a top-level 'tables' list to include (repeatable; "
                            "default: DATASET/label_quality.json when present)")
    group.add_argument("--weak-supervision", action="append", type=Path, default=[], metavar="FILE",
                       help="a weak_supervision.json (python -m pipelines.weak_supervision) to draw (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipelines.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_dataset_argument(parser)
    add_report_arguments(parser)
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from reporting import write_report

    try:
        path = write_report(args.dataset, args.report_out, acted_evaluations=args.evaluation,
                            label_quality=args.label_quality, weak_supervision=args.weak_supervision)
    except (FileNotFoundError, ValueError, OSError) as exc:
        return fail(str(exc))
    if not args.quiet:
        print(f"Report: {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
