"""Train a dense head on VGG16 embeddings of the weak labels, next to classical baselines; write metrics.

    python -m pipelines.train --dataset build/demo [--layer block5_pool] [--human-labels labels.csv]

Writes DATASET/metrics.json (ROC AUC with bootstrap 95% intervals and more, for validation and test, against
the weak labels and, where available, human labels) and the model to DATASET/model/ (or --model-out).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines._common import LazyBar, add_dataset_argument, add_weights_arguments, check_dataset, fail
from transfer.head import HeadConfig


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
    head = parser.add_argument_group("dense head")
    defaults = HeadConfig()
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
    from weaklabel.atomic import write_json_atomic

    bar = LazyBar("embedding", "clip", args.quiet)
    log = (lambda m: None) if args.quiet else (lambda m: print(m, flush=True))
    try:
        dataset = check_dataset(args.dataset)
        weights = resolve_vgg16_weights(args.weights)
        head, metrics = train_and_evaluate(
            dataset, weights, args.layer, seed=args.seed, human_labels_path=args.human_labels,
            head_config=HeadConfig(hidden_units=args.hidden_units, dropout=args.dropout,
                                   learning_rate=args.learning_rate, max_epochs=args.max_epochs,
                                   patience=args.patience),
            batch_size=args.batch_size, n_bootstrap=args.bootstrap, log=log,
            embed_start=bar.start, embed_progress=bar.update)
    except (WeightsError, FileNotFoundError, ValueError) as exc:
        return fail(str(exc))
    finally:
        bar.close()
    model_dir = save_valence_model(args.model_out or dataset / "model", head, model_metadata(dataset, metrics))
    write_json_atomic(dataset / METRICS_FILE, metrics)
    print(metrics_table(metrics))
    print(f"Metrics: {dataset / METRICS_FILE}\nModel: {model_dir}")
    return 0


def metrics_table(metrics: dict) -> str:
    """A plain-text table of ROC AUC [95% CI] per model and split."""
    lines = [f"VGG16 {metrics['embedding']['layer']} ({metrics['weights']['source']}, verified="
             f"{metrics['weights']['verified']}); {metrics['n_train']} training clips"]
    for title, key in (("weak labels", "against_weak_labels"), ("human labels", "against_human_labels")):
        block = metrics.get(key)
        if not block:
            continue
        lines.append(f"ROC AUC against {title}:")
        for model, splits in block.items():
            cells = []
            for split in ("validation", "test"):
                m = splits[split]
                if m.get("roc_auc") is None:
                    cells.append(f"{split} n={m.get('n', 0)} n/a")
                else:
                    lo, hi = m["roc_auc_ci95"]
                    cells.append(f"{split} {m['roc_auc']:.3f} [{lo:.3f}, {hi:.3f}] n={m['n']}")
            lines.append(f"  {model:32s} " + "   ".join(cells))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
