"""Score audio files of any length, format and sample rate with a trained valence model.

    python -m pipelines.predict --model build/demo/model talk.wav interview.mp3 [--hop 3.5]
                                [--out scores.csv]

CSV columns: file, kind (window | file), start_s, end_s, p_positive, label, error, note. Windows are the model's
clip length every --hop seconds, the last one aligned to the end of the file; a file's p_positive is the mean of
its windows' weighted by the seconds each adds beyond the previous window's end, so every second counts once.
label is positive where p_positive >= 0.5, else negative. A file that cannot be scored (missing, a directory,
not decodable, or shorter than --min-speech-seconds, 0.3 s by default: the least audio a build keeps as a clip)
gets one row with its error, saying which (also on standard error); the others are still scored, and the exit
status is 1. A file shorter than the model's clip is scored padded with silence, and its file row's note says so.

Features are standardised per group as in training: --groups file (default) makes each file its own recording;
--groups folder standardises every file of a folder together (a folder per speaker); --groups manifest with
--group-manifest FILE (CSV/TSV: audio_path or path, speaker or group) names each file's speaker. A group with
fewer windows than the model's minimum (8) uses the training fallback, as a short recording does.

Beside the CSV (--out scores.csv), scores.csv.model.json says which model scored it and what that model measured on
its test split (its ROC AUC with its interval, clips and groups, or why it has no measured quality); a model that
never produced a measurable result (too few clips or groups on its test split) is also named in a warning on standard
error, with or without --out.
"""
from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path

from foundation.config import CommandLine, make_config
from foundation.paths import display_path
from pipelines._common import add_debug_argument, report_error
from transfer.quiet import set_verbose
from transfer.model import PREDICTION_COLUMNS as COLUMNS, PredictConfig, input_problem, padding_note

__all__ = ["COLUMNS", "command_line", "input_problem", "main", "padding_note"]


def command_line() -> CommandLine:
    cli = CommandLine("python -m pipelines.predict", __doc__)
    cli.parser.add_argument("--model", type=Path, required=True, help="a model folder written by pipelines.train")
    cli.parser.add_argument("files", nargs="+", type=Path, help="audio files (WAV, FLAC, OGG, MP3, ...)")
    cli.add("predict", PredictConfig)
    cli.parser.add_argument("--out", type=Path, help="write the CSV here instead of standard output")
    cli.parser.add_argument("--verbose", action="store_true", help="show TensorFlow's own start-up log")
    add_debug_argument(cli.parser)
    return cli


def _say(row: dict) -> None:
    """A file's error on standard error, as soon as it is known (a note stays in the table, said once)."""
    if row["error"]:
        print(f"error: {row['error']}", file=sys.stderr)


def _csv_row(row: dict) -> dict:
    cell = lambda value, digits: "" if isinstance(value, float) and math.isnan(value) else f"{value:.{digits}f}"  # noqa: E731
    return {**row, "start_s": cell(row["start_s"], 3), "end_s": cell(row["end_s"], 3),
            "p_positive": cell(row["p_positive"], 6)}


def main(argv: list[str] | None = None) -> int:
    args, values = command_line().parse(argv)
    if args.verbose:
        set_verbose()
    from foundation.atomic import atomic_path
    from transfer.model import ModelError, load_valence_model, predict
    from transfer.weights import WeightsError

    try:
        model = load_valence_model(args.model)
        quality = model.quality
        if quality["measured"] is False:
            print(f"warning: the model in {display_path(args.model)} has {quality['summary']}; its scores are not "
                  "validated: train it on more recordings and speakers", file=sys.stderr)
        scores = predict(model, args.files, make_config(PredictConfig, values["predict"]), on_file=_say)
    except (ModelError, WeightsError) as exc:
        return report_error(str(exc), exc, show_traceback=args.debug)
    except (ValueError, OSError) as exc:
        return report_error(str(exc), exc, show_traceback=args.debug, log_step="predict")
    rows = [_csv_row(row) for row in scores.to_dict("records")]
    if args.out:
        sidecar = args.out.with_name(args.out.name + MODEL_SIDECAR_SUFFIX)
        with atomic_path(args.out) as tmp, atomic_path(sidecar) as tmp_sidecar:  # the CSV renamed last
            with open(tmp, "w", newline="", encoding="utf-8") as handle:
                _write(handle, rows)
            tmp_sidecar.write_text(json.dumps(model_record(model, args.out, quality), indent=2, sort_keys=True,
                                              ensure_ascii=False) + "\n", encoding="utf-8")
    else:
        _write(sys.stdout, rows)
    return 0 if not scores["error"].any() else 1


#: Appended to the CSV's name: the file beside it that says which model scored it and what that model measured.
MODEL_SIDECAR_SUFFIX = ".model.json"


def model_record(model, out: Path, quality: dict) -> dict:
    """What the file beside a prediction CSV holds: the CSV's name, the model's folder and what it was trained on, and
    its measured quality (:func:`transfer.model.model_quality`: ``measured``, ``summary``, ``test_metrics``)."""
    trained_on = model.meta.trained_on
    return {"predictions": out.name, "model": display_path(model.model_dir),
            "trained_on": None if trained_on is None else trained_on.to_dict(), **quality}


def _write(handle, rows) -> None:
    writer = csv.DictWriter(handle, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)


if __name__ == "__main__":
    sys.exit(main())
