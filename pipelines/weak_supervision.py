"""The weak-supervision benchmark: what model do transcript labels of a given quality give?

    python -m pipelines.weak_supervision --root ../shared/data/ravdess_actors_01-06 \\
        --root ../shared/data/ravdess_actors_07-12 --sentences ../shared/data/meld_dev_sent_emo.csv

Pairs each clip of an acted emotion corpus with a human-labelled sentence (MELD's CSV by default) whose
valence matches the clip's with probability p, runs the real pipeline on the pairs (build -> embed -> train,
train / validation / test speakers disjoint, rotated so every speaker is tested once) and scores the model on
the held-out speakers' true valence, for every p of --p. Reference rows: the original project's recipe, this
project's previous defaults, and the true-label ceiling. Writes OUT/weak_supervision.json and
OUT/weak_supervision.md; the report (pipelines.report --weak-supervision FILE) draws the curve. Work files
(builds, datasets, the shared embedding cache) go to --work and are reused by a re-run.
"""
from __future__ import annotations

import sys
from pathlib import Path

from foundation.config import CommandLine, make_config
from pipelines._common import fail, printer
from evaluation.weak_benchmark import WeakSupervisionConfig


def command_line() -> CommandLine:
    cli = CommandLine("python -m pipelines.weak_supervision", __doc__)
    cli.add("benchmark", WeakSupervisionConfig)
    cli.parser.add_argument("--out", type=Path, default=Path("reports/weak_supervision"),
                            help="where the JSON and Markdown go (default: %(default)s)")
    cli.parser.add_argument("--work", type=Path, default=Path("build/weak_supervision"),
                            help="builds, datasets and embedding cache (default: %(default)s)")
    cli.parser.add_argument("--quiet", action="store_true", help="no progress output")
    return cli


def main(argv: list[str] | None = None) -> int:
    args, values = command_line().parse(argv)
    from foundation.tables import markdown_tables
    from evaluation.weak_benchmark import run_weak_supervision, write_weak_supervision
    from transfer.weights import WeightsError

    try:
        config = make_config(WeakSupervisionConfig, values["benchmark"])
        record = run_weak_supervision(config, args.work, log=printer(args.quiet))
    except (WeightsError, FileNotFoundError, ValueError) as exc:
        return fail(str(exc))
    json_path, md_path = write_weak_supervision(record, args.out)
    print(markdown_tables(record["tables"][:1]))
    print(f"Results: {json_path}\n         {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
