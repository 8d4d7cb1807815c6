"""Locate and verify the ImageNet VGG16 (notop) weights offline, print their provenance.

    python -m pipelines.weights [--weights SPEC] [--cache-dir DIR]

(``python -m transfer.weights`` runs the same command.)
"""
from __future__ import annotations

import sys
from typing import Sequence

from foundation.config import CommandLine
from transfer.weights import ENV_CACHE, WeightsError, resolve_vgg16_weights


def command_line() -> CommandLine:
    cli = CommandLine("python -m pipelines.weights", "Locate and verify the ImageNet VGG16 (notop) weights offline.")
    cli.parser.add_argument("--weights", default="imagenet", metavar="SPEC",
                            help="'imagenet' (default), 'random', or a path to a .h5/.weights.h5 file")
    cli.parser.add_argument("--cache-dir", default=None, metavar="DIR",
                            help=f"folder for the converted weights (default ${ENV_CACHE} or ~/.cache/weaklabel)")
    return cli


def main(argv: Sequence[str] | None = None) -> int:
    """Resolve the weights, print their provenance, and return 0 only when they verified.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 when verified, 1 otherwise (including a :class:`WeightsError`, printed on one line).
    """
    args, _ = command_line().parse(argv)
    try:
        info = resolve_vgg16_weights(args.weights, cache_dir=args.cache_dir)
    except WeightsError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    print(f"weights:  {info.spec}")
    print(f"source:   {info.source}")
    print(f"path:     {info.path if info.path else '-'}")
    print(f"sha256:   {info.sha256 if info.sha256 else '-'}")
    print(f"verified: {'yes' if info.verified else 'NO'}")
    print(f"detail:   {info.detail}")
    return 0 if info.verified else 1



if __name__ == "__main__":
    sys.exit(main())
