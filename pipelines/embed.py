"""Embed every clip of a built dataset with a feature extractor (cached in DATASET/embeddings/).

    python -m pipelines.embed --dataset build/demo [--layer block5_pool] [--weights imagenet]
    python -m pipelines.embed --dataset build/demo --features egemaps    # the [egemaps] extra
    python -m pipelines.embed --dataset build/mosei --scheduler dask --workers 4  # a LocalCluster
    python -m pipelines.embed --dataset build/mosei --dask-address tcp://scheduler:8786

The extractor (--features, default vgg16: a frozen ImageNet VGG16 on the log-mel) is one of the registry
transfer.features.FEATURES; docs/features.md says what each measured. On Dask the workers must see the dataset
(and the recordings, for eGeMAPS) and the weights file at the same paths as this process.
"""
from __future__ import annotations

import sys
from pathlib import Path

from foundation.config import CommandLine
from foundation.executor import ExecutorConfig
from pipelines._common import LazyBar, add_dataset_argument, fail, run_command
from transfer.embedding import EmbedConfig


def command_line() -> CommandLine:
    cli = CommandLine("python -m pipelines.embed", __doc__)
    add_dataset_argument(cli.parser)
    cli.add("embed", EmbedConfig)
    cli.add("executor", ExecutorConfig, group="running")
    cli.group("running").add_argument("--quiet", action="store_true", help="no progress bar")
    return cli


def run_embed(dataset: Path, config: EmbedConfig, executor: ExecutorConfig = ExecutorConfig(), *,
              quiet: bool = False) -> int:
    """Embed with a progress bar (:func:`transfer.embedding.embed`), say where the embeddings are; the exit status."""
    from transfer.embedding import embed
    from transfer.weights import WeightsError
    from weaklabel.dataset import Dataset, embedding_files

    bar = LazyBar("embedding", "clip", quiet)
    try:
        dataset = Dataset(dataset)
        _, meta = embed(dataset, config, executor, on_start=bar.start, progress=bar.update)
    except (WeightsError, OSError, ValueError) as exc:
        return fail(str(exc))
    finally:
        bar.close()
    done = "from the cache, computed earlier from these features" if meta["from_cache"] else "computed now"
    print(f"Embeddings {tuple(meta['shape'])} ({done}): {embedding_files(dataset.embeddings_dir, meta['key'])[0]}")
    if meta.get("weights"):
        print(f"  VGG16 weights: {weights_line(meta['weights'])}")
    return 0


def weights_line(weights: dict) -> str:
    """How this run got the weights (:func:`transfer.weights.weights_text`), their checksum and verification."""
    from transfer.weights import weights_text

    if weights.get("source") == "random":
        return weights_text(weights)
    return (f"{weights_text(weights)}, sha256 {str(weights.get('sha256'))[:12]}, "
            f"{'verified ImageNet' if weights.get('verified') else 'NOT verified ImageNet'}")


def main(argv: list[str] | None = None) -> int:
    return run_command(command_line(), argv,
                       lambda args, embed, executor: run_embed(args.dataset, embed, executor, quiet=args.quiet))


if __name__ == "__main__":
    sys.exit(main())
