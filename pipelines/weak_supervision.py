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

import argparse
import sys
from pathlib import Path

from pipelines._common import fail


def build_parser() -> argparse.ArgumentParser:
    from transfer.weak_supervision import WeakSupervisionConfig
    from weaklabel.readers.acted import EMOTION_CORPUS_KINDS
    from weaklabel.sentiment import POLICIES

    defaults = WeakSupervisionConfig(roots=(), sentences="")
    parser = argparse.ArgumentParser(prog="python -m pipelines.weak_supervision", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, action="append", required=True,
                        help="an acted emotion corpus folder (repeat to combine folders of one corpus)")
    parser.add_argument("--corpus", choices=EMOTION_CORPUS_KINDS, default=defaults.corpus,
                        help="file-name convention (default: %(default)s, detected)")
    parser.add_argument("--valence-map", type=Path, help="JSON {emotion: positive|negative|neutral|null}")
    parser.add_argument("--sentences", type=Path, required=True,
                        help="CSV of sentences with human sentiment (MELD's *_sent_emo.csv layout by default)")
    parser.add_argument("--text-column", default=defaults.text_column, help="(default: %(default)s)")
    parser.add_argument("--label-column", default=defaults.label_column, help="(default: %(default)s)")
    parser.add_argument("--p", type=float, nargs="+", default=list(defaults.probabilities),
                        help="match probabilities to sweep (default: %(default)s)")
    parser.add_argument("--pairing-seeds", type=int, nargs="+", default=list(defaults.pairing_seeds),
                        help="pairing seeds; figures average over them (default: %(default)s)")
    parser.add_argument("--test-speakers", type=int, default=defaults.n_test,
                        help="speakers held out for test per rotation (default: %(default)s)")
    parser.add_argument("--validation-speakers", type=int, default=defaults.n_validation,
                        help="speakers for validation per rotation (default: %(default)s)")
    parser.add_argument("--rotations", type=int, help="rotations (default: every speaker tested once)")
    parser.add_argument("--policy", choices=list(POLICIES), default=defaults.policy,
                        help="the default recipe's labelling policy (default: %(default)s)")
    parser.add_argument("--no-references", action="store_true",
                        help="skip the original recipe, previous defaults and true-label ceiling rows")
    parser.add_argument("--weights", default="imagenet", help="VGG16 weights (default: %(default)s)")
    parser.add_argument("--workers", type=int, help="build processes (default: CPU count)")
    parser.add_argument("--bootstrap", type=int, default=defaults.n_bootstrap, help="(default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("reports/weak_supervision"),
                        help="where the JSON and Markdown go (default: %(default)s)")
    parser.add_argument("--work", type=Path, default=Path("build/weak_supervision"),
                        help="builds, datasets and embedding cache (default: %(default)s)")
    parser.add_argument("--quiet", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from transfer.weak_supervision import WeakSupervisionConfig, run_weak_supervision, write_weak_supervision
    from transfer.weights import WeightsError

    config = WeakSupervisionConfig(
        roots=tuple(str(r) for r in args.root), sentences=str(args.sentences), corpus=args.corpus,
        valence_map=str(args.valence_map) if args.valence_map else None, text_column=args.text_column,
        label_column=args.label_column, probabilities=tuple(args.p), pairing_seeds=tuple(args.pairing_seeds),
        n_test=args.test_speakers, n_validation=args.validation_speakers, n_rotations=args.rotations,
        policy=args.policy, references=not args.no_references, weights=args.weights, workers=args.workers,
        n_bootstrap=args.bootstrap)
    log = (lambda m: None) if args.quiet else (lambda m: print(m, flush=True))
    try:
        record = run_weak_supervision(config, args.work, log=log)
    except (WeightsError, FileNotFoundError, ValueError) as exc:
        return fail(str(exc))
    json_path, md_path = write_weak_supervision(record, args.out)
    from foundation.tables import markdown_tables

    print(markdown_tables(record["tables"][:1]))
    print(f"Results: {json_path}\n         {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
