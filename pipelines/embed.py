"""Embed every clip of a built dataset with a feature extractor (cached in DATASET/embeddings/).

    python -m pipelines.embed --dataset build/demo            # Whisper where it runs, else VGG16
    python -m pipelines.embed --dataset build/demo --whisper-model ~/models/faster-whisper-small
    python -m pipelines.embed --dataset build/demo --features vgg16 --layer block3_conv3
    python -m pipelines.embed --dataset build/demo --features egemaps    # the [egemaps] extra
    python -m pipelines.embed --dataset build/mosei --scheduler dask --workers 4  # a LocalCluster
    python -m pipelines.embed --dataset build/mosei --dask-address tcp://scheduler:8786

The extractor (--features, default auto: Whisper's speech encoder where CTranslate2 and the Whisper model are
here, else VGG16, saying so) is one of the registry transfer.features.FEATURES, each with its own options;
docs/features.md says what each measured. On Dask the workers must see the dataset (and the recordings, for the
extractors that read audio) and the weights at the same paths as this process.
"""
from __future__ import annotations

import sys
from pathlib import Path

from foundation.config import CommandLine
from foundation.executor import ExecutorConfig
from pipelines._common import LazyBar, add_dataset_argument, fail, printer, run_command
from transfer.features import EmbeddingConfig


def command_line() -> CommandLine:
    cli = CommandLine("python -m pipelines.embed", __doc__)
    add_dataset_argument(cli.parser)
    cli.add("embed", EmbeddingConfig)
    cli.add("executor", ExecutorConfig, group="running")
    cli.group("running").add_argument("--quiet", action="store_true", help="no progress bar")
    return cli


def resolve_embedding(config: EmbeddingConfig, quiet: bool = False):
    """``config`` resolved (:meth:`~transfer.features.EmbeddingConfig.resolve`), saying which extractor runs and, for
    ``auto``, why; (the :class:`~transfer.features.Embedding`, 0), or (None, the exit status of its one-line error)."""
    from transfer.weights import WeightsError

    try:
        embedding = config.resolve()
    except (WeightsError, OSError, ValueError) as exc:
        return None, fail(" ".join(str(exc).split()))
    printer(quiet)(f"Features: {embedding.describe()}" + (f" ({embedding.note})" if embedding.note else ""))
    return embedding, 0


def run_embed(dataset: Path, embedding, executor: ExecutorConfig = ExecutorConfig(), *, quiet: bool = False) -> int:
    """Embed with a progress bar (:func:`transfer.embedding.embed_dataset`), say where the embeddings are; the exit
    status. ``embedding`` is resolved (:func:`resolve_embedding`)."""
    from transfer.embedding import embed_dataset
    from transfer.weights import WeightsError
    from weaklabel.dataset import Dataset
    from weaklabel.layout import embedding_files

    bar = LazyBar("embedding", "clip", quiet)
    try:
        dataset = Dataset(dataset)
        with executor.connect_timeout():
            _, record = embed_dataset(dataset, embedding, on_start=bar.start, progress=bar.update,
                                      **executor.engine_options())
    except (WeightsError, OSError, ValueError) as exc:
        return fail(str(exc))
    finally:
        bar.close()
    done = "from the cache, computed earlier from these features" if record.from_cache else "computed now"
    print(f"Embeddings {record.shape} ({done}): {embedding_files(dataset.embeddings_dir, record.key)[0]}")
    if record.weights:
        print(f"  {'Whisper model' if embedding.features == 'whisper' else 'VGG16 weights'}: "
              f"{weights_line(record.weights)}")
    return 0


def weights_line(weights: dict) -> str:
    """How this run got the weights (:func:`transfer.weights.weights_text`), their checksum and verification."""
    from transfer.weights import weights_text

    if weights.get("source") == "random":
        return weights_text(weights)
    what = weights.get("name") or "ImageNet"  # a Whisper model record names its model
    return (f"{weights_text(weights)}, sha256 {str(weights.get('sha256'))[:12]}, "
            f"{'verified ' + what if weights.get('verified') else 'NOT verified ' + what}")


def main(argv: list[str] | None = None) -> int:
    def step(args, embed: EmbeddingConfig, executor: ExecutorConfig) -> int:
        embedding, rc = resolve_embedding(embed, args.quiet)
        return rc or run_embed(args.dataset, embedding, executor, quiet=args.quiet)

    return run_command(command_line(), argv, step)


if __name__ == "__main__":
    sys.exit(main())
