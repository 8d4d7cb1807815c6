"""Benchmark voice valence on an emotion corpus: a trained model zero-shot, and/or speaker-disjoint probes.

    python -m pipelines.evaluate_acted --corpus ravdess --root ../shared/data/ravdess_actors_01-06
    python -m pipelines.evaluate_acted --corpus auto --root /data/CREMA-D --model build/demo/model \\
        --mode both

Emotions map to valence (positive: happy, calm, surprised, pleasant surprise; negative: sad, angry, fearful,
disgust, boredom; neutral excluded); --valence-map JSON overrides the table. zero-shot: the model scores
every clip with its own clip length, log-mel settings, layer and weights (speaker-disjoint by construction).
probe: heads trained on the corpus's own labels with leave-one-speaker-out cross-validation (or --folds N,
grouped by speaker). AUC intervals resample whole speakers (a cluster bootstrap) when the corpus names them;
a result whose interval lies wholly below 0.5 is flagged as an inverted ranking, with its per-speaker AUCs.
Writes OUT/acted_evaluation.json (structured results and generic tables) and OUT/acted_evaluation.md.
"""
from __future__ import annotations

import sys
from pathlib import Path

from foundation.config import CommandLine, make_config
from pipelines._common import LazyBar, fail
from evaluation.acted import ActedEvaluationConfig


def command_line() -> CommandLine:
    cli = CommandLine("python -m pipelines.evaluate_acted", __doc__)
    cli.add("evaluation", ActedEvaluationConfig)
    cli.parser.add_argument("--out", type=Path, help="output folder (default: reports/acted-<corpus>)")
    cli.parser.add_argument("--quiet", action="store_true", help="no progress output")
    return cli


def main(argv: list[str] | None = None) -> int:
    args, values = command_line().parse(argv)
    from evaluation.acted import evaluate_acted, evaluation_markdown, write_evaluation
    from transfer.model import ModelError
    from transfer.weights import WeightsError
    from weaklabel.errors import CorpusError

    bar = LazyBar("embedding", "clip", args.quiet)
    log = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    try:
        config = make_config(ActedEvaluationConfig, values["evaluation"])
        record = evaluate_acted(config, log=log, on_start=bar.start, progress=bar.update)
    except (CorpusError, ModelError, WeightsError, ValueError, OSError) as exc:
        return fail(" ".join(str(exc).split()))
    finally:
        bar.close()
    json_path, md_path = write_evaluation(record, args.out or Path("reports") / f"acted-{record['corpus']}")
    print(evaluation_markdown(record))
    print(f"Wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
