"""Write the synthetic demo corpus: ``python -m pipelines.demo_corpus OUT_DIR [--seed N] [--recordings N]
[--sentences N]`` (``python -m weaklabel.demo`` runs the same command)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from foundation.config import CommandLine
from weaklabel.demo import STAMP_NAME, generate_demo_corpus


def command_line() -> CommandLine:
    cli = CommandLine("python -m pipelines.demo_corpus",
                      "Write a CMU-MOSEI-shaped demo corpus of synthetic (eSpeak NG) speech whose prosody follows the\n"
                      "text sentiment of each sentence.")
    cli.parser.add_argument("out_dir", type=Path, help="corpus root to create (Raw/ is written inside it)")
    cli.parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    cli.parser.add_argument("--recordings", type=int, default=32, help="number of recordings (default 32)")
    cli.parser.add_argument("--sentences", type=int, default=15, help="sentences per recording (default 15)")
    return cli


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: ``python -m pipelines.demo_corpus OUT_DIR [--seed N]``."""
    args, _ = command_line().parse(argv)
    try:
        path = generate_demo_corpus(args.out_dir, n_recordings=args.recordings,
                                    sentences_per_recording=args.sentences, seed=args.seed)
    except (RuntimeError, FileExistsError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    stamp = json.loads((path / STAMP_NAME).read_text(encoding="utf-8"))
    n_wav = sum(1 for rel in stamp["files"] if rel.endswith(".wav"))
    print(f"wrote demo corpus (synthetic eSpeak NG {stamp['espeak_version']} speech, {n_wav} recordings, "
          f"seed {args.seed}) to {path}")
    return 0



if __name__ == "__main__":
    sys.exit(main())
