"""Train a valence head on VGG16 embeddings of the weak labels, next to classical baselines; write metrics.

    python -m pipelines.train --dataset build/demo [--layer block3_conv3] [--human-labels labels.csv]

The default model: VGG16 cut at block3_conv3, pooled per frequency band over the frames holding audio,
standardised per speaker/recording (the build's group), and a logistic head weighted by the labelling
policy's confidence. --head dense --pooling gap --standardise none --weighting none --layer block3_conv3 is
the original project's recipe.

Writes DATASET/metrics.json (ROC AUC with bootstrap 95% intervals and more, for validation and test, against
the weak labels and, where available, human labels) and the model to DATASET/model/ (or --model-out).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines._common import LazyBar, add_dataset_argument, add_weights_arguments, check_dataset, fail
from transfer.head import HEADS, HeadConfig


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipelines.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_dataset_argument(parser)
    parser.add_argument("--model-out", type=Path, help="where to save the model (default: DATASET/model)")
    parser.add_argument("--human-labels", type=Path,
                        help="human sentiment labels to score against: CMU-MOSEI .csd, or CSV/TSV with video id, "
                             "start, end, sentiment (joined by video id and times)")
    parser.add_argument("--seed", type=int, default=0, help="training and bootstrap seed (default: %(default)s)")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the AUC intervals")
    from transfer.standardise import STANDARDISATIONS
    from transfer.training import LABEL_SOURCES, WEIGHTINGS, TrainConfig

    defaults = HeadConfig()
    config = TrainConfig()
    model = parser.add_argument_group("model")
    model.add_argument("--head", choices=HEADS, default=defaults.kind,
                       help="'logistic' (L2 logistic regression, the default) or 'dense' (the original "
                            "project's head) (default: %(default)s)")
    model.add_argument("--C", type=float, default=defaults.C, dest="C",
                       help="inverse L2 strength of the logistic head on standardised inputs (default: %(default)s)")
    model.add_argument("--standardise", choices=STANDARDISATIONS, default=config.standardise,
                       help="'group': standardise embeddings per speaker/recording (the build's group_id; at "
                            "prediction time per file); 'none' (default: %(default)s)")
    model.add_argument("--weighting", choices=WEIGHTINGS, default=config.weighting,
                       help="'confidence': weight each clip by the labelling policy's |score|; 'none' "
                            "(default: %(default)s)")
    model.add_argument("--train-labels", choices=LABEL_SOURCES, default=config.labels,
                       help="'weak' (the build's labels) or 'human' (the dataset's human labels: a ceiling "
                            "to compare with, not weak supervision) (default: %(default)s)")
    head = parser.add_argument_group("dense head")
    head.add_argument("--hidden-units", type=int, default=defaults.hidden_units, help="(default: %(default)s)")
    head.add_argument("--dropout", type=float, default=defaults.dropout, help="(default: %(default)s)")
    head.add_argument("--learning-rate", type=float, default=defaults.learning_rate, help="Adam (default: %(default)s)")
    head.add_argument("--max-epochs", type=int, default=defaults.max_epochs, help="(default: %(default)s)")
    head.add_argument("--patience", type=int, default=defaults.patience,
                      help="early stopping on validation ROC AUC (default: %(default)s)")
    add_weights_arguments(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from transfer.model import save_valence_model
    from transfer.training import METRICS_FILE, model_metadata, train_and_evaluate
    from transfer.weights import WeightsError, resolve_vgg16_weights
    from foundation.atomic import write_json_atomic

    bar = LazyBar("embedding", "clip", args.quiet)
    log = (lambda m: None) if args.quiet else (lambda m: print(m, flush=True))
    try:
        dataset = check_dataset(args.dataset)
        weights = resolve_vgg16_weights(args.weights)
        result = train_and_evaluate(
            dataset, weights, train_config_from_args(args), human_labels_path=args.human_labels,
            batch_size=args.batch_size, n_bootstrap=args.bootstrap, log=log,
            embed_start=bar.start, embed_progress=bar.update)
    except (WeightsError, FileNotFoundError, ValueError) as exc:
        return fail(str(exc))
    finally:
        bar.close()
    metrics = result.metrics
    empty = empty_sides(metrics)
    if "test" in empty:  # no test clips: whatever the table shows is not a result
        print(metrics_table(metrics))
        return fail(f"the dataset's {' and '.join(empty)} split(s) hold no labelled clips, so there is nothing to "
                    "report: rebuild with more recordings or speakers (the build names the groups); no metrics "
                    "or model written")
    model_dir = save_valence_model(args.model_out or dataset / "model", result.head,
                                   model_metadata(dataset, metrics, result.standardiser))
    write_json_atomic(dataset / METRICS_FILE, metrics)
    print(metrics_table(metrics))
    print(f"Metrics: {dataset / METRICS_FILE}\nModel: {model_dir}")
    return 0


def train_config_from_args(args: argparse.Namespace):
    """The :class:`transfer.training.TrainConfig` these parsed options ask for."""
    from transfer.training import TrainConfig

    head = HeadConfig(kind=args.head, C=args.C, hidden_units=args.hidden_units, dropout=args.dropout,
                      learning_rate=args.learning_rate, max_epochs=args.max_epochs, patience=args.patience)
    return TrainConfig(layer=args.layer, pooling=args.pooling, n_bands=args.bands, standardise=args.standardise,
                       weighting=args.weighting, labels=args.train_labels, head=head, seed=args.seed)


def empty_sides(metrics: dict) -> list[str]:
    """The evaluation splits (validation, test) with no labelled clip for any model, in either label block."""
    empty = []
    for split in ("validation", "test"):
        cells = [splits.get(split, {}) for key in ("against_weak_labels", "against_human_labels")
                 for splits in (metrics.get(key) or {}).values()]
        if cells and all(not c.get("n") for c in cells):
            empty.append(split)
    return empty


def metrics_table(metrics: dict) -> str:
    """A plain-text table of ROC AUC [95% CI] per model and split."""
    lines = [f"VGG16 {metrics['embedding']['layer']}, {metrics['embedding']['pooling']} pooling "
             f"({metrics['weights']['source']}, verified={metrics['weights']['verified']}); "
             f"{metrics['head_training']['kind']} head; {metrics['n_train']} training clips"]
    for title, key in (("weak labels", "against_weak_labels"), ("human labels", "against_human_labels")):
        block = metrics.get(key)
        if not block:
            continue
        lines.append(f"ROC AUC against {title}:")
        for model, splits in block.items():
            cells = []
            for split in ("validation", "test"):
                m = splits[split]
                if not m.get("n"):
                    cells.append(f"{split} NO CLIPS (not a result)")
                elif m.get("roc_auc") is None:
                    cells.append(f"{split} n={m.get('n', 0)} n/a")
                elif m.get("roc_auc_ci95") is None:  # one speaker/recording: no interval over groups
                    cells.append(f"{split} {m['roc_auc']:.3f} [no interval: {m.get('n_groups', 1)} group] n={m['n']}")
                else:
                    lo, hi = m["roc_auc_ci95"]
                    cells.append(f"{split} {m['roc_auc']:.3f} [{lo:.3f}, {hi:.3f}] n={m['n']}")
            lines.append(f"  {model:32s} " + "   ".join(cells))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
