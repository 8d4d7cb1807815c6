"""Score audio files of any length, format and sample rate with a trained valence model.

    python -m pipelines.predict --model build/demo/model talk.wav interview.mp3 [--hop 3.5] [--out scores.csv]

CSV columns: file, kind (window | file), start_s, end_s, p_positive, error, note. A file that cannot be scored
(missing, a directory, not decodable, or shorter than --min-speech-seconds, 0.3 s by default: the least audio
a build keeps as a clip) gets one row with its error, saying which; the others are still scored, and the exit
status is 1. A file shorter than the model's clip is scored padded with silence, and its note says so.
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from pipelines._common import add_debug_argument, report_error, set_verbose

COLUMNS = ("file", "kind", "start_s", "end_s", "p_positive", "error", "note")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipelines.predict", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="a model folder written by pipelines.train")
    parser.add_argument("files", nargs="+", type=Path, help="audio files (WAV, FLAC, OGG, MP3, ...)")
    parser.add_argument("--hop", type=float, default=None,
                        help="seconds between window starts (default: half the clip length)")
    parser.add_argument("--min-speech-seconds", type=float, default=None, metavar="S",
                        help="refuse files with less audio than this, as the build refuses such segments "
                             "(default: 0.3, or one analysis window if longer)")
    parser.add_argument("--weights", default=None,
                        help="VGG16 weights to use (default: those the model records; must match its checksum)")
    parser.add_argument("--out", type=Path, help="write the CSV here instead of standard output")
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's own start-up log")
    add_debug_argument(parser)
    return parser


def input_problem(path: Path, min_seconds: float) -> str | None:
    """Why ``path`` cannot be scored, in words, or None when it can be opened and is long enough.

    Parameters
    ----------
    path : Path
    min_seconds : float
        The shortest recording that can be scored: one analysis (FFT) window.
    """
    from weaklabel.audio import AudioDecodeError, AudioReader

    if path.is_dir():
        return f"{path} is a directory: pass the audio files in it (e.g. {path}/*.wav)"
    if not path.exists():
        return f"no such file: {path}" + (" (a broken symbolic link)" if path.is_symlink() else "")
    if not path.is_file():
        return f"{path} is not a regular file"
    try:
        with AudioReader(str(path)) as reader:
            duration = reader.duration_s
    except AudioDecodeError as exc:
        return str(exc)
    if duration <= 0:
        return f"{path} holds no audio (0 s)"
    if duration < min_seconds:
        return (f"{path} is too short to score: {duration:.3f} s of audio; at least {min_seconds:.3f} s is needed "
                "(the least audio a build keeps as a clip, --min-speech-seconds; at least one analysis window)")
    return None


def padding_note(path: Path, duration_s: float, clip_seconds: float) -> str:
    """A note for a file shorter than the model's clip (scored centred in silence), else ``""``."""
    if duration_s >= clip_seconds:
        return ""
    return (f"{path} is {duration_s:.3f} s long, shorter than the model's {clip_seconds:g} s clip: scored as one "
            f"window padded with {clip_seconds - duration_s:.3f} s of silence")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.verbose:
        set_verbose()
    from transfer.model import ModelError, load_valence_model
    from transfer.weights import WeightsError
    from foundation.atomic import atomic_path
    from weaklabel.audio import TARGET_SR, AudioDecodeError

    try:
        model = load_valence_model(args.model)
        model.embedder(args.weights)
    except (ModelError, WeightsError) as exc:
        return report_error(str(exc), exc, show_traceback=args.debug)
    except (ValueError, OSError) as exc:
        return report_error(str(exc), exc, show_traceback=args.debug, log_step="predict")
    from weaklabel.segments import DEFAULT_MIN_SPEECH_SECONDS

    wanted = DEFAULT_MIN_SPEECH_SECONDS if args.min_speech_seconds is None else args.min_speech_seconds
    min_seconds = max(model.mel.n_fft / TARGET_SR, wanted)
    rows = []
    for path in args.files:
        problem = input_problem(path, min_seconds)
        if problem is None:
            try:
                windows, p_file = model.score_file(path, hop_s=args.hop)
            except (AudioDecodeError, ValueError, OSError) as exc:
                problem = str(exc)
        if problem is not None:
            rows.append({"file": str(path), "kind": "file", "start_s": "", "end_s": "", "p_positive": "",
                         "error": problem, "note": ""})
            print(f"error: {problem}", file=sys.stderr)
            continue
        note = padding_note(path, windows[-1][1] - windows[0][0], model.clip_seconds)
        if note:
            print(f"note: {note}", file=sys.stderr)
        rows.extend({"file": str(path), "kind": "window", "start_s": f"{s:.3f}", "end_s": f"{e:.3f}",
                     "p_positive": f"{p:.6f}", "error": "", "note": note} for s, e, p in windows)
        rows.append({"file": str(path), "kind": "file", "start_s": f"{windows[0][0]:.3f}",
                     "end_s": f"{windows[-1][1]:.3f}", "p_positive": f"{p_file:.6f}", "error": "", "note": note})
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
