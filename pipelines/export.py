"""Export a built dataset's clips for Hugging Face datasets, Lhotse, or as an audio folder.

    python -m pipelines.export --dataset build/demo --format hf --out build/demo-hf
    python -m pipelines.export --dataset build/demo --format lhotse --out build/demo-lhotse
    python -m pipelines.export --dataset build/demo --format audiofolder --out build/demo-audio \\
        --include-abstained

Each labelled clip is cut from its original recording exactly as the build cut it (the build's reader, clip plan
and cutter), on local processes or Dask (--scheduler dask), resumably: re-run the same command after an
interruption. OUT must be new, empty, or hold this export; the segments that could not be exported are listed in
OUT/export_log.csv. See docs/export.md for loading each format.
"""
from __future__ import annotations

import sys
from pathlib import Path

from foundation.config import CommandLine
from foundation.executor import ExecutorConfig
from foundation.locking import FolderBusyError
from pipelines._common import LazyBar, add_dataset_argument, add_debug_argument, report_error, run_command
from weaklabel.exporting.config import ExportConfig

def command_line() -> CommandLine:
    cli = CommandLine("python -m pipelines.export", __doc__)
    add_dataset_argument(cli.parser)
    cli.parser.add_argument("--out", type=Path, required=True, help="the export's folder (new, empty, or this export's)")
    cli.add("export", ExportConfig)
    cli.add("executor", ExecutorConfig, group="running")
    cli.group("running").add_argument("--quiet", action="store_true", help="no progress bar")
    add_debug_argument(cli.group("running"))
    return cli


def run_export(dataset: Path, out: Path, config: ExportConfig, executor: ExecutorConfig = ExecutorConfig(), *,
               quiet: bool = False, debug: bool = False) -> int:
    """Export with a progress bar (:func:`weaklabel.exporting.export`), print what was written; the exit status."""
    from weaklabel.errors import ExportError, OutputConflictError
    from weaklabel.exporting import export

    bar = LazyBar("clips", "clip", quiet)
    try:
        result = export(dataset, out, config, executor, on_start=bar.start, progress=bar.update,
                        log=lambda notice: print(notice, file=sys.stderr))
    except (ExportError, OutputConflictError, FolderBusyError) as exc:
        return report_error(str(exc), exc, show_traceback=debug)
    except (ValueError, OSError) as exc:
        return report_error(str(exc), exc, show_traceback=debug, log_step="export")
    except KeyboardInterrupt:
        print("interrupted: finished tasks are kept; re-run the same command to resume", file=sys.stderr)
        return 130
    finally:
        bar.close()
    print(summary_text(result))
    if result.failed:
        print(f"warning: {result.failed} segment(s) could not be exported; {result.log_path} says why",
              file=sys.stderr)
    return 0 if result.clips else 1


def summary_text(result) -> str:
    """What the export holds: clips per split and label, where it is and how to load it."""
    state = "Up to date" if result.up_to_date else "Exported"
    counts = result.record["counts"]
    lines = [f"{state}: {counts['clips']} clips as {result.format} in {result.out}"]
    for split, c in counts["by_split"].items():
        abstained = f", {c['abstained']} abstained" if c["abstained"] else ""
        failed = f", {c['failed']} failed" if c["failed"] else ""
        lines.append(f"  {split}: {c['clips']} clips ({c['positive']} positive, {c['negative']} negative{abstained})"
                     f"{failed}")
    from weaklabel.exporting.core import FORMAT_MODULES

    lines.append(f"  load: {FORMAT_MODULES[result.format].LOADING.format(out=result.out)}")
    if not result.up_to_date and result.elapsed_s > 0:
        lines.append(f"  {counts['clips'] / result.elapsed_s:.1f} clips/s ({result.elapsed_s:.1f} s, "
                     f"{result.tasks_run} tasks run)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return run_command(command_line(), argv, lambda args, export, executor: run_export(
        args.dataset, args.out, export, executor, quiet=args.quiet, debug=args.debug))


if __name__ == "__main__":
    sys.exit(main())
