"""Score audio files of any length, format and sample rate with a trained valence model.

    python -m pipelines.predict --model build/demo/model talk.wav interview.mp3 [--hop 3.5] [--out scores.csv]

CSV columns: file, kind (window | file), start_s, end_s, p_positive, error. A file that cannot be decoded
gets one row with its error; the others are still scored.
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from pipelines._common import fail

COLUMNS = ("file", "kind", "start_s", "end_s", "p_positive", "error")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipelines.predict", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="a model folder written by pipelines.train")
    parser.add_argument("files", nargs="+", type=Path, help="audio files (WAV, FLAC, OGG, MP3, ...)")
    parser.add_argument("--hop", type=float, default=None,
                        help="seconds between window starts (default: half the clip length)")
    parser.add_argument("--weights", default=None,
                        help="VGG16 weights to use (default: those the model records; must match its checksum)")
    parser.add_argument("--out", type=Path, help="write the CSV here instead of standard output")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from transfer.model import ModelError, load_valence_model
    from transfer.weights import WeightsError
    from weaklabel.atomic import atomic_path
    from weaklabel.audio import AudioDecodeError

    try:
        model = load_valence_model(args.model)
        model.embedder(args.weights)
    except (ModelError, WeightsError, ValueError, OSError) as exc:
        return fail(str(exc))
    rows = []
    for path in args.files:
        try:
            windows, p_file = model.score_file(path, hop_s=args.hop)
        except (AudioDecodeError, ValueError, OSError) as exc:
            rows.append({"file": str(path), "kind": "file", "start_s": "", "end_s": "", "p_positive": "",
                         "error": str(exc)})
            continue
        rows.extend({"file": str(path), "kind": "window", "start_s": f"{s:.3f}", "end_s": f"{e:.3f}",
                     "p_positive": f"{p:.6f}", "error": ""} for s, e, p in windows)
        rows.append({"file": str(path), "kind": "file", "start_s": f"{windows[0][0]:.3f}",
                     "end_s": f"{windows[-1][1]:.3f}", "p_positive": f"{p_file:.6f}", "error": ""})
    if args.out:
        with atomic_path(args.out) as tmp:
            with open(tmp, "w", newline="", encoding="utf-8") as handle:
                _write(handle, rows)
    else:
        _write(sys.stdout, rows)
    return 0 if all(not r["error"] for r in rows) else 1


def _write(handle, rows) -> None:
    writer = csv.DictWriter(handle, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)


if __name__ == "__main__":
    sys.exit(main())
