"""Transcribe bare recordings offline with Whisper, sentence by sentence: one JSON and one SRT per recording.

    python -m pipelines.transcribe --root talks/        # talks/x.wav -> talks/x.json + talks/x.srt
    python -m pipelines.transcribe --root talks/ --out transcripts/ --language de --workers 2
    python -m pipelines.transcribe --root talks/ --model ~/models/faster-whisper-small --no-vad

With --out equal to --root (the default) the transcripts sit beside the recordings, where
`python -m pipelines.build_dataset --root talks/` reads them. A second run transcribes only what changed (the
audio, the model or a setting); a transcript this command did not write is never overwritten.
OUT/transcription_summary.json lists what failed and what was dropped as hallucinated, with reasons.
docs/transcription.md says what the settings measured.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from foundation.config import CommandLine
from pipelines._common import LazyBar, fail, run_command
from weaklabel.transcription.transcript import TranscriptionSettings


def command_line() -> CommandLine:
    cli = CommandLine("python -m pipelines.transcribe", __doc__)
    cli.parser.add_argument("--root", type=Path, required=True, help="a folder of recordings, or one recording")
    cli.parser.add_argument("--out", type=Path, help="where the transcripts go (default: --root's folder)")
    cli.add("transcribe", TranscriptionSettings, group="transcription")
    cli.group("transcription").add_argument("--vad", dest="transcribe:vad", action="store_true",
                                            default=argparse.SUPPRESS, help="skip non-speech with the VAD (the "
                                                                            "default)")
    running = cli.group("running")
    running.add_argument("--workers", type=int, default=1, metavar="N",
                         help="processes sharing the cores (default: %(default)s)")
    running.add_argument("--quiet", action="store_true", help="no progress bar")
    return cli


def main(argv: list[str] | None = None) -> int:
    def step(args, transcribe: TranscriptionSettings) -> int:
        from foundation.locking import FolderBusyError
        from weaklabel.transcription.batch import SUMMARY_FILE
        from weaklabel.transcription.batch import transcribe as run
        from weaklabel.whisper_model import WhisperModelError

        if not args.root.exists():
            return fail(f"--root {args.root} does not exist")
        if args.workers < 1:
            return fail("--workers must be at least 1")
        out = args.out or (args.root if args.root.is_dir() else args.root.parent)
        bar = LazyBar("transcribing", "recording", args.quiet)
        try:
            summary = run(args.root, out, transcribe, args.workers, on_start=bar.start, progress=bar.update)
        except (WhisperModelError, FolderBusyError, OSError) as exc:
            return fail(str(exc))
        finally:
            bar.close()
        print(f"{summary.recordings} recording(s): {len(summary.transcribed)} transcribed, "
              f"{len(summary.up_to_date)} up to date, {len(summary.skipped)} skipped, {len(summary.failed)} failed; "
              f"{len(summary.dropped)} hallucinated piece(s) dropped. Summary: {out / SUMMARY_FILE}")
        for failure in summary.failed:
            print(f"  failed: {failure['recording']}: {failure['reason']}")
        return 1 if summary.failed else 0

    return run_command(command_line(), argv, step)


if __name__ == "__main__":
    sys.exit(main())
