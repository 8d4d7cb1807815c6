"""Write a self-contained HTML report of a built dataset (and of the model, acted-corpus evaluations and label quality).

    python -m pipelines.report                         # build/demo -> build/demo/report/index.html
    python -m pipelines.report --dataset build/mosei [--out mosei.html] [--evaluation FILE]
                               [--label-quality FILE] [--weak-supervision FILE]

The report goes into the dataset folder (DATASET/report/index.html) unless --out says otherwise, wherever the
command is run from. The page embeds its plots (PNG), needs no server, script or network, and opens offline in any browser.
Pieces not produced yet (no model, no evaluation) appear as "not run yet" boxes with the command to run.
"""
from __future__ import annotations

import sys
from pathlib import Path

from foundation.config import CommandLine
from pipelines._common import add_dataset_argument, fail, run_command
from reporting.report import ReportConfig


def command_line() -> CommandLine:
    cli = CommandLine("python -m pipelines.report", __doc__)
    add_dataset_argument(cli.parser)
    cli.add("report", ReportConfig)
    cli.parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    return cli


def run_report(dataset: Path, config: ReportConfig, *, quiet: bool = False) -> int:
    """Write the report (:func:`reporting.build_report`) and say where; the exit status."""
    from reporting import build_report
    from foundation.paths import display_path

    try:
        path = build_report(dataset, config)
    except (FileNotFoundError, ValueError, OSError) as exc:
        return fail(str(exc))
    if not quiet:
        print(f"Report: {display_path(path)} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_command(command_line(), argv,
                       lambda args, report: run_report(args.dataset, report, quiet=args.quiet))


if __name__ == "__main__":
    sys.exit(main())
