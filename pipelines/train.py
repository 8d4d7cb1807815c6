"""Train a valence head on the features of the weak labels' clips, next to classical baselines; write metrics.

    python -m pipelines.train --dataset build/demo [--human-labels FILE]

The features are --features' extractor (transfer.features.FEATURES, each with its own options; docs/features.md).
The default model (each option's default is in --help): Whisper's speech encoder over each clip's audio (VGG16 where
Whisper cannot run, saying so), standardised per speaker/recording (the build's group), and a logistic head
weighted by the labelling policy's confidence. --features vgg16 --layer block3_conv3 --pooling gap --precision
float32 --frames full --head dense --standardise none --weighting none is the original project's recipe.

Writes DATASET/metrics.json (ROC AUC with bootstrap 95% intervals and more, for validation and test, against
the weak labels and, where available, human labels) and the model to DATASET/model/ (or --model-out).
"""
from __future__ import annotations

import sys
from pathlib import Path

from foundation.config import CommandLine
from foundation.metrics import not_a_result
from pipelines._common import LazyBar, add_dataset_argument, fail, printer, run_command
from transfer.metrics_schema import EVAL_SPLITS, TARGETS
from transfer.training import TrainConfig, TrainOptions, empty_sides

__all__ = ["command_line", "empty_sides", "main", "metrics_table", "run_train"]


def command_line() -> CommandLine:
    cli = CommandLine("python -m pipelines.train", __doc__, groups=("embedding", "model", "dense head"))
    add_dataset_argument(cli.parser)
    cli.add("train", TrainConfig)
    cli.add("options", TrainOptions)
    cli.parser.add_argument("--quiet", action="store_true", help="no progress output")
    return cli


def run_train(dataset: Path, config: TrainConfig, options: TrainOptions = TrainOptions(), *, embedding=None,
              quiet: bool = False) -> int:
    """Train and save (:func:`transfer.training.train`) with progress, print the metrics; the exit status.
    ``embedding``: ``config.embedding`` resolved already (else resolved here, saying which extractor runs)."""
    from foundation.locking import FolderBusyError
    from transfer.training import EmptySplitError, train
    from transfer.weights import WeightsError
    from weaklabel.dataset import Dataset

    if embedding is None:
        from pipelines.embed import resolve_embedding

        embedding, rc = resolve_embedding(config.embedding, quiet)
        if rc:
            return rc
    bar = LazyBar("embedding", "clip", quiet)
    try:
        result = train(dataset, config, options, embedding=embedding, log=printer(quiet), embed_start=bar.start,
                       embed_progress=bar.update)
    except EmptySplitError as exc:  # no test clips: whatever the table shows is not a result
        print(metrics_table(exc.metrics))
        return fail(str(exc))
    except (WeightsError, FileNotFoundError, FolderBusyError, ValueError) as exc:
        return fail(str(exc))
    finally:
        bar.close()
    print(metrics_table(result.metrics))
    print(f"Metrics: {Dataset(dataset).metrics_path}\nModel: {result.model_dir}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_command(command_line(), argv,
                       lambda args, train, options: run_train(args.dataset, train, options, quiet=args.quiet))


def metrics_table(metrics) -> str:
    """A plain-text table of ROC AUC [95% CI] per model and split of a
    :class:`~transfer.metrics_record.MetricsRecord`."""
    from pipelines.embed import weights_line

    features = metrics.extractor
    emb = metrics.embedding
    detail = emb.key or ", ".join(f"{k} {emb.settings[k]}" for k in ("layer", "pooling") if emb.settings.get(k))
    embedding = f"{features} ({detail})" if detail else features
    note = metrics.features.note if metrics.features is not None else None
    if note:
        embedding += f", {note}"
    weights = f" (weights {weights_line(metrics.weights)})" if metrics.weights else ""
    lines = [f"{embedding}{weights}; {metrics.head_kind} head; {metrics.n_train} training clips"]
    for key, title in TARGETS.items():
        block = metrics.results(key)
        if not block:
            continue
        lines.append(f"ROC AUC against {title}:")
        for model, splits in block.items():
            cells = []
            for split in EVAL_SPLITS:
                m = splits[split]
                if not m.get("n"):
                    cells.append(f"{split} NO CLIPS (not a result)")
                elif not_a_result(m):  # too few clips or speakers: no figure to print
                    cells.append(f"{split} {not_a_result(m)}")
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
