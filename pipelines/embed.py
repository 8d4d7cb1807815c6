"""Embed every clip of a built dataset with a frozen ImageNet VGG16 (cached in DATASET/embeddings/).

    python -m pipelines.embed --dataset build/demo [--layer block5_pool] [--weights imagenet]
    python -m pipelines.embed --dataset build/mosei --scheduler dask --workers 4   # chunks on a LocalCluster
    python -m pipelines.embed --dataset build/mosei --dask-address tcp://scheduler:8786

On Dask the workers must see the dataset and the weights file at the same paths as this process.
"""
from __future__ import annotations

import argparse
import sys

from pipelines._common import LazyBar, add_dataset_argument, add_engine_arguments, add_weights_arguments, check_dataset, fail


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipelines.embed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_dataset_argument(parser)
    add_weights_arguments(parser)
    add_engine_arguments(parser, "with --scheduler dask and no --dask-address: the LocalCluster's worker "
                                 "processes, each loading VGG16 once (default: CPU count); the local "
                                 "scheduler embeds in this process, on every core")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from transfer.embedding import embed_dataset
    from transfer.weights import WeightsError, resolve_vgg16_weights

    bar = LazyBar("embedding", "clip", args.quiet)
    try:
        dataset = check_dataset(args.dataset)
        weights = resolve_vgg16_weights(args.weights)
        embeddings, meta = embed_dataset(
            dataset, weights, args.layer, batch_size=args.batch_size, on_start=bar.start, progress=bar.update,
            pooling=args.pooling, n_bands=args.bands,
            scheduler=args.scheduler, dask_address=args.dask_address, workers=args.workers)
    except (WeightsError, OSError, ValueError) as exc:
        return fail(str(exc))
    finally:
        bar.close()
    print(f"Embeddings {meta['shape']} ({'cached' if meta['from_cache'] else 'computed'}): "
          f"{dataset / 'embeddings' / meta['key']}.npy")
    print(f"  VGG16 weights: {weights.source} {weights.path or ''} sha256 {str(weights.sha256)[:12]} "
          f"verified={weights.verified}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
