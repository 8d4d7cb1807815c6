"""Benchmark voice valence on an emotion corpus: a trained model zero-shot, and/or speaker-disjoint probes.

    python -m pipelines.evaluate_acted --corpus ravdess --root ../shared/data/ravdess_actors_01-06
    python -m pipelines.evaluate_acted --corpus auto --root /data/CREMA-D --model build/demo/model --mode both

Emotions map to valence (positive: happy, calm, surprised, pleasant surprise; negative: sad, angry, fearful,
disgust, boredom; neutral excluded); --valence-map JSON overrides the table. zero-shot: the model scores
every clip with its own clip length, log-mel settings, layer and weights (speaker-disjoint by construction).
probe: heads trained on the corpus's own labels with leave-one-speaker-out cross-validation (or --folds N,
grouped by speaker). AUC intervals resample whole speakers (a cluster bootstrap) when the corpus names them;
a result whose interval lies wholly below 0.5 is flagged as an inverted ranking, with its per-speaker AUCs.
Writes OUT/acted_evaluation.json (structured results and generic tables) and OUT/acted_evaluation.md.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines._common import LazyBar, add_weights_arguments, fail


def build_parser() -> argparse.ArgumentParser:
    from transfer.acted_evaluation import EVALUATION_MODES, PROBE_HEADS
    from weaklabel.readers.acted import EMOTION_CORPUS_KINDS

    parser = argparse.ArgumentParser(prog="python -m pipelines.evaluate_acted", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", choices=EMOTION_CORPUS_KINDS, default="auto",
                        help="corpus file-name convention (default: %(default)s, detected from the names)")
    parser.add_argument("--root", type=Path, required=True, help="the corpus folder (searched recursively)")
    parser.add_argument("--valence-map", type=Path,
                        help="JSON object {emotion: positive|negative|neutral|null} over the default table")
    parser.add_argument("--mode", choices=EVALUATION_MODES,
                        help="default: both with --model, probe without")
    parser.add_argument("--model", type=Path, help="a model folder written by pipelines.train (for zero-shot)")
    add_weights_arguments(parser)
    parser.set_defaults(weights=None, layer=None)  # None: the model's, else imagenet / the default layer
    for action in parser._actions:
        if action.dest in ("weights", "layer"):
            action.help = action.help.replace("(default: %(default)s)", "(default: the model's, else "
                                              + ("imagenet)" if action.dest == "weights" else "block3_conv3)"))
    parser.add_argument("--clip-seconds", type=float,
                        help="clip length for probe-only runs (default: the model's, else 7)")
    parser.add_argument("--folds", type=int,
                        help="probe folds, grouped by speaker (default: leave-one-speaker-out)")
    parser.add_argument("--probe-heads", nargs="+", choices=PROBE_HEADS, default=list(PROBE_HEADS),
                        help="probe heads to train (default: %(default)s)")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples per AUC interval (of speakers when the corpus names them)")
    parser.add_argument("--out", type=Path, help="output folder (default: reports/acted-<corpus>)")
    parser.add_argument("--seed", type=int, default=0, help="probe, head and bootstrap seed (default: %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from transfer.acted_evaluation import ActedEvaluationConfig, evaluation_markdown, evaluate_acted_corpus, write_evaluation
    from transfer.model import ModelError
    from transfer.weights import WeightsError
    from weaklabel.errors import CorpusError

    config = ActedEvaluationConfig(corpus=args.corpus, root=str(args.root),
                             valence_map=str(args.valence_map) if args.valence_map else None, mode=args.mode,
                             model=str(args.model) if args.model else None, weights=args.weights,
                             layer=args.layer, clip_seconds=args.clip_seconds, batch_size=args.batch_size,
                             n_folds=args.folds, probe_heads=tuple(args.probe_heads), n_bootstrap=args.bootstrap,
                             seed=args.seed)
    bar = LazyBar("embedding", "clip", args.quiet)
    log = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    try:
        record = evaluate_acted_corpus(config, log=log, on_start=bar.start, progress=bar.update)
    except (CorpusError, ModelError, WeightsError, ValueError, OSError) as exc:
        return fail(" ".join(str(exc).split()))
    finally:
        bar.close()
    out = args.out or Path("reports") / f"acted-{record['corpus']}"
    json_path, md_path = write_evaluation(record, out)
    print(evaluation_markdown(record))
    print(f"Wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
