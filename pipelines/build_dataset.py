"""Build a weakly labelled speech-emotion dataset from transcribed recordings.

    python -m pipelines.build_dataset                     # the embedded demo corpus -> build/demo
    python -m pipelines.build_dataset --corpus mosei --root /data/CMU-MOSEI --out build/mosei
    python -m pipelines.build_dataset --root talks/ --out build/talks        # talk.wav + talk.srt/.vtt/.json
    python -m pipelines.build_dataset --root manifest.csv --out build/calls   # audio_path,start,end,text

Writes segments.parquet (one row per transcript segment), features/logmel.npy and build.json into --out.
With --scheduler dask (or --dask-address tcp://HOST:PORT) the recordings are processed on Dask's distributed
scheduler instead of local processes, with the same output; the workers must share this filesystem.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines._common import add_debug_argument, add_engine_arguments, report_error
from weaklabel import segments as S
from weaklabel.audio import DEFAULT_CLIP_SECONDS
from weaklabel.errors import CorpusError, OutputConflictError
from weaklabel.features import LogMelParams
from weaklabel.readers import CORPUS_KINDS
from weaklabel.sentiment import DEFAULT_NEUTRAL_BAND, DEFAULT_POLICY, POLICIES
from weaklabel.splits import DEFAULT_FRACTIONS, DEFAULT_SPEAKER_MODE, SPEAKER_MODES, SplitError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_CORPUS_DIR = REPO_ROOT / "data" / "demo" / "generated"
DEMO_OUT_DIR = REPO_ROOT / "build" / "demo"


def _fractions(text: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected three comma-separated numbers, got {text!r}")
    if len(values) != 3 or any(v < 0 for v in values) or abs(sum(values) - 1) > 1e-6:
        raise argparse.ArgumentTypeError(f"expected three non-negative fractions summing to 1, got {text!r}")
    return values


def build_parser() -> argparse.ArgumentParser:
    mel = LogMelParams()
    parser = argparse.ArgumentParser(prog="python -m pipelines.build_dataset", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    src = parser.add_argument_group("corpus")
    src.add_argument("--corpus", choices=CORPUS_KINDS, default="auto",
                     help="corpus layout: mosei (Raw/Audio/Full/WAV_16000 + Raw/Transcript/Segmented/Combined), "
                          "manifest (CSV/TSV/Parquet/JSONL with audio_path,start,end,text[,speaker,group]), "
                          "subtitles (audio beside .srt/.vtt/Whisper .json); auto guesses (default)")
    src.add_argument("--root", type=Path,
                     help="corpus root (MOSEI folder holding Raw/, a manifest file, or a folder of recordings); "
                          "omit to build the embedded synthetic demo corpus")
    src.add_argument("--folds", type=Path,
                     help="JSON of explicit splits by video id, e.g. the CMU Multimodal SDK's standard MOSEI folds "
                          "({'train': [...], 'valid': [...], 'test': [...]}); replaces --split")
    out = parser.add_argument_group("output")
    out.add_argument("--out", type=Path, help=f"output directory (default for the demo: {DEMO_OUT_DIR})")
    out.add_argument("--overwrite", action="store_true",
                     help="replace an output built with a different configuration (never done silently)")
    out.add_argument("--force", action="store_true", help="rebuild even if an identical build is complete")
    clip = parser.add_argument_group("clips and features")
    clip.add_argument("--clip-seconds", type=float, default=DEFAULT_CLIP_SECONDS,
                      help="fixed clip length in seconds; longer segments are cropped, shorter padded, "
                           "at a random offset drawn from --seed (default: %(default)s)")
    clip.add_argument("--min-speech-seconds", type=float, default=S.DEFAULT_MIN_SPEECH_SECONDS, metavar="S",
                      help="a segment with less decoded audio than this in its span fails as too_little_speech "
                           "(default: %(default)s)")
    clip.add_argument("--seed", type=int, default=0, help="seed for crop/pad offsets and splits (default: 0)")
    clip.add_argument("--n-mels", type=int, default=mel.n_mels, help="mel bands (default: %(default)s)")
    clip.add_argument("--n-fft", type=int, default=mel.n_fft, help="FFT size in samples at 16 kHz (default: %(default)s)")
    clip.add_argument("--hop-length", type=int, default=mel.hop_length,
                      help="hop in samples at 16 kHz (default: %(default)s = 16 ms)")
    lab = parser.add_argument_group("weak labels and splits")
    lab.add_argument("--policy", choices=sorted(POLICIES), default=DEFAULT_POLICY,
                     help="how TextBlob polarity and VADER compound become a label: mean of the two (the original "
                          "method), vader, textblob, or agree (both clear the band with the same sign) "
                          "(default: %(default)s)")
    lab.add_argument("--neutral-band", type=float, default=DEFAULT_NEUTRAL_BAND,
                     help="|score| below this abstains (default: %(default)s)")
    lab.add_argument("--split", type=_fractions, default=DEFAULT_FRACTIONS, metavar="TRAIN,VAL,TEST",
                     help="group-disjoint split fractions (default: 0.8,0.1,0.1)")
    lab.add_argument("--speakers", choices=SPEAKER_MODES, default=DEFAULT_SPEAKER_MODE,
                     help="how speaker labels (a manifest's speaker column, subtitle voice tags, diarised JSON) "
                          "are read for the splits: global (one name is one person in every recording), local "
                          "(labels name voices within their recording only), auto (diarization labels such as "
                          "SPEAKER_00 or spk1 are local, names are global) (default: %(default)s)")
    lab.add_argument("--allow-empty-splits", action="store_true",
                     help="write the build even when the groups leave a split without kept segments (by default "
                          "the build says so and stops)")
    run = parser.add_argument_group("running")
    add_engine_arguments(run, "worker processes, one recording at a time each; with --scheduler dask and no "
                              "--dask-address, the size of the LocalCluster (default: CPU count)")
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    add_debug_argument(run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Heavy imports after parsing, so --help is instant.
    from tqdm import tqdm

    from weaklabel.build import BuildConfig, build_dataset

    try:
        if args.root is None:
            if args.corpus not in ("auto", "mosei"):
                raise CorpusError("--corpus without --root: give the corpus root with --root")
            from weaklabel.demo import FOLDS_NAME, generate_demo_corpus

            if not args.quiet:
                print(f"No --root given: building the embedded synthetic demo corpus ({DEMO_CORPUS_DIR})")
            root, corpus = generate_demo_corpus(DEMO_CORPUS_DIR), "mosei"
            if args.folds is None:  # the demo's own folds: validation/test speakers and sentences unseen in training
                args.folds = root / FOLDS_NAME
            out_dir = args.out or DEMO_OUT_DIR
        else:
            if args.out is None:
                raise CorpusError("--out is required with --root")
            root, corpus, out_dir = args.root, args.corpus, args.out
        mel = LogMelParams(n_mels=args.n_mels, n_fft=args.n_fft, win_length=args.n_fft, hop_length=args.hop_length)
        config = BuildConfig(corpus=corpus, root=str(Path(root).resolve()), clip_seconds=args.clip_seconds,
                             seed=args.seed, policy=args.policy, neutral_band=args.neutral_band,
                             split_fractions=tuple(args.split),
                             folds=str(args.folds.resolve()) if args.folds else None, mel=mel,
                             speakers=args.speakers, min_speech_seconds=args.min_speech_seconds,
                             allow_empty_splits=args.allow_empty_splits)
        bars: list = []

        def on_start(n_recordings: int, n_segments: int) -> None:
            bars.append(tqdm(total=n_recordings, desc="recordings", unit="rec", disable=args.quiet, position=0))
            bars.append(tqdm(total=n_segments, desc="segments", unit="seg", disable=args.quiet, position=1))

        def progress(recordings: int, segments: int) -> None:
            bars[0].update(recordings)
            bars[1].update(segments)

        try:
            result = build_dataset(config, out_dir, workers=args.workers, overwrite=args.overwrite,
                                   force=args.force, progress=progress, on_start=on_start,
                                   scheduler=args.scheduler, dask_address=args.dask_address)
        finally:
            for bar in bars:
                bar.close()
    except (CorpusError, OutputConflictError, SplitError) as exc:
        return report_error(str(exc), exc, show_traceback=args.debug)
    except (ValueError, OSError) as exc:  # a bad option value or an unreadable path, or a bug: keep the traceback
        return report_error(str(exc), exc, show_traceback=args.debug, log_step="build")
    except KeyboardInterrupt:
        print("interrupted: finished recordings are kept; re-run the same command to resume", file=sys.stderr)
        return 130
    print(summary_text(result))
    if result.counts["ok"] == 0:
        print(nothing_kept_text(result), file=sys.stderr)
        return 1 if result.counts["abstained"] == 0 else 0  # abstained clips keep their features
    return 0


#: Per failure status: what to check.
HINTS = {
    S.BAD_TRANSCRIPT_LINE: "the transcript does not parse: check its format against README 'Corpus formats' "
                           "(MOSEI lines video___segment___start___end___text, SRT/VTT time lines, Whisper JSON)",
    S.BAD_ENCODING: "re-save the transcript or manifest as UTF-8 (or rename files whose names are not UTF-8)",
    S.BAD_TIMESTAMPS: "times are seconds (62.5) or [hh:]mm:ss[.mmm] (00:01:02.500), with start before end",
    S.EMPTY_TEXT: "the text column or cue text is empty",
    S.AUDIO_MISSING: "the audio files are not where the transcript says: relative audio_path values resolve "
                     "against the manifest's folder; subtitles need audio of the same stem beside them",
    S.AUDIO_UNREADABLE: "the audio cannot be decoded: convert it to WAV (ffmpeg -i IN -ac 1 -ar 16000 OUT.wav)",
    S.OUTSIDE_AUDIO: "segments start after the end of the audio: are the times in seconds (not milliseconds), "
                     "and is it the right recording?",
    S.TOO_LITTLE_SPEECH: "the span holds less audio than --min-speech-seconds: a cue cut by the end of the file, or "
                         "times in the wrong unit",
    S.DUPLICATE_SEGMENT: "segment ids repeat: give each row its own segment_id, or leave the column out",
}


def nothing_kept_text(result, top: int = 3) -> str:
    """Why a build kept no segment: the most frequent failure statuses with an example detail and a hint;
    or, when some segments abstained (their features are kept), a warning saying how to label them."""
    import pandas as pd

    c = result.counts
    if c["abstained"]:
        return (f"warning: no segment got a label: {c['abstained']} abstained (sentiment inside the neutral band) "
                f"and {c['failed']} failed; their features are kept, so a narrower --neutral-band or another "
                "--policy relabels them without decoding the audio again")
    lines = [f"error: the build kept no segment ({c['failed']} failed, {c['abstained']} abstained); "
             f"the most frequent reasons, from {Path(result.out_dir) / 'segments.parquet'}:"]
    try:
        frame = pd.read_parquet(Path(result.out_dir) / "segments.parquet", columns=["status", "detail"])
    except (OSError, ValueError):
        frame = None
    failures = sorted(((v, k) for k, v in c["by_status"].items() if k in S.FAILURE_STATUSES), reverse=True)
    for count, status in failures[:top]:
        example = ""
        if frame is not None:
            details = frame.loc[frame["status"] == status, "detail"].dropna()
            if len(details):
                example = str(details.iloc[0])
                example = f", e.g. {example[:200]}{'…' if len(example) > 200 else ''}"
        lines.append(f"  {status} {count}{example}")
        if status in HINTS:
            lines.append(f"    hint: {HINTS[status]}")
    return "\n".join(lines)


def summary_text(result) -> str:
    """The end-of-run summary: kept / abstained / failed, positive share, splits, throughput."""
    c = result.counts
    state = ("Up to date" if result.up_to_date else
             "Relabelled from the stored scores (no audio decoded)" if getattr(result, "relabelled", False) else "Built")
    lines = [f"{state}: {result.out_dir}"]
    changes = getattr(result, "changes", None) or {}
    for kind in ("changed", "new", "removed"):
        names = changes.get(kind) or []
        if names:
            shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
            lines.append(f"  {kind} since the last build: {len(names)} audio file(s): {shown}")
    share = f"{c['positive_share']:.1%}" if c["positive_share"] is not None else "n/a"
    lines.append(f"  {c['segments']} segments from {c['recordings']} recordings: {c['ok']} kept "
                 f"({c['by_label']['positive']} positive, {c['by_label']['negative']} negative; positive share "
                 f"{share}), {c['abstained']} abstained, {c['failed']} failed")
    failures = {k: v for k, v in c["by_status"].items() if k not in ("ok", "abstained")}
    if failures:
        lines.append("  failed: " + ", ".join(f"{k} {v}" for k, v in failures.items()))
    lines.append("  splits: " + ", ".join(f"{k} {v['ok']} kept / {v['groups']} groups"
                                          for k, v in c["by_split"].items()))
    if not result.up_to_date and not getattr(result, "relabelled", False) and result.elapsed_s > 0:
        lines.append(f"  {c['segments'] / result.elapsed_s:.1f} segments/s ({result.elapsed_s:.1f} s, "
                     f"{result.recordings_processed} recordings processed)")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
