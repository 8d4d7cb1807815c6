"""Build a weakly labelled speech-emotion dataset from transcribed recordings.

    python -m pipelines.build_dataset                      # the embedded demo corpus -> build/demo
    python -m pipelines.build_dataset --corpus mosei --root /data/CMU-MOSEI --out build/mosei
    python -m pipelines.build_dataset --root talks/ --out build/talks
                                                   # talk.wav + talk.srt/.vtt/.json (Whisper)
    python -m pipelines.build_dataset --root manifest.csv --out build/calls
                                                   # a table: audio_path,start,end,text

Writes segments.parquet (one row per transcript segment), features/logmel.npy and build.json into --out.
With --scheduler dask (or --dask-address tcp://HOST:PORT) the recordings are processed on Dask's distributed
scheduler instead of local processes, with the same output; the workers must share this filesystem.
"""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

from foundation.config import CommandLine, make_config
from foundation.executor import ExecutorConfig
from foundation.locking import FolderBusyError
from foundation.paths import display_path
from foundation.tables import counted
from pipelines._common import add_debug_argument, progress_bar, report_error
from weaklabel import segments as S
from weaklabel.config import TRANSCRIPTION_FLAGS, TRANSCRIPTION_NOT_ON_COMMAND_LINE, BuildConfig
from weaklabel.dataset import BUILD_FILE, SEGMENTS_FILE
from weaklabel.errors import CorpusError, OutputConflictError
from weaklabel.scorers import ScorerFailed, ScorerUnavailable
from weaklabel.splits import SplitError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_CORPUS_DIR = REPO_ROOT / "data" / "demo" / "generated"
DEMO_OUT_DIR = REPO_ROOT / "build" / "demo"


def command_line() -> CommandLine:
    """The build's options: :class:`BuildConfig`, the output folder, :class:`ExecutorConfig`, progress."""
    cli = CommandLine("python -m pipelines.build_dataset", __doc__,
                      groups=("corpus", "output", "clips and features", "weak labels and splits", "running"))
    cli.add("build", BuildConfig, flags=TRANSCRIPTION_FLAGS, exclude=TRANSCRIPTION_NOT_ON_COMMAND_LINE, group="corpus")
    out = cli.group("output")
    out.add_argument("--out", type=Path, help=f"output directory (default for the demo: {DEMO_OUT_DIR})")
    out.add_argument("--overwrite", action="store_true",
                     help="replace an output built with a different configuration (never done silently)")
    out.add_argument("--force", action="store_true", help="rebuild even if an identical build is complete")
    cli.add("executor", ExecutorConfig, group="running")
    cli.group("running").add_argument("--quiet", action="store_true", help="no progress bars")
    add_debug_argument(cli.group("running"))
    return cli


class BuildTarget(NamedTuple):
    """What a build command builds: its configuration, its output folder, whether it is the embedded demo, and whether
    it resumes the dataset already in that folder (no root given: :func:`recorded_config`)."""

    config: BuildConfig
    out: Path
    demo: bool
    resumed: bool = False


def recorded_config(out_dir: Path) -> BuildConfig | None:
    """The configuration of the dataset in ``out_dir`` when it was built from a corpus other than the demo's (the
    corpus and settings its ``build.json`` records); None when the folder holds no build, or the demo's.

    Raises CorpusError when it holds a build whose record cannot be read: no root to resume from, and a folder that
    holds a dataset is never given the demo."""
    from weaklabel.build_record import read_build_record, recorded_root

    path = Path(out_dir) / BUILD_FILE
    if not path.is_file():
        return None
    root = recorded_root(out_dir)
    if root is not None and Path(root).resolve() == DEMO_CORPUS_DIR.resolve():
        return None  # the demo's, whatever its format
    config, problem = None, None
    try:
        config = read_build_record(out_dir).config
    except KeyError as exc:
        problem = f"its config has no {exc}"
    except (OSError, ValueError, TypeError) as exc:
        problem = " ".join(str(exc).split()) or type(exc).__name__
    if problem is not None:
        raise CorpusError(f"{display_path(out_dir)} holds a dataset whose {BUILD_FILE} cannot be read ({problem}), so "
                          "there is no corpus to resume it from, and the demo is never built into another dataset's "
                          "folder: give its corpus with --root, or choose another --out")
    return config


def build_config(values: dict, out: Path | None) -> BuildTarget:
    """The build's configuration, output folder and whether it is the demo, from the options given
    (``{path: value}``). Without a root: the dataset already in ``out`` (or :data:`DEMO_OUT_DIR`) when it was built
    from another corpus, resumed with its recorded configuration (:func:`recorded_config`; the options given
    override it); otherwise the embedded demo corpus (and its folds, unless others are given) into
    :data:`DEMO_OUT_DIR` (unless ``out``). Raises CorpusError for a root without ``out``."""
    values = dict(values)
    base = None
    if values.get(("root",)) is None:
        base = recorded_config(Path(out) if out is not None else DEMO_OUT_DIR)
    demo = values.get(("root",)) is None and base is None
    if base is not None:
        out = out or DEMO_OUT_DIR
    elif demo:
        if values.get(("corpus",), "auto") not in ("auto", "mosei"):
            raise CorpusError("--corpus without --root: give the corpus root with --root")
        from weaklabel.demo import FOLDS_NAME

        values[("root",)], values[("corpus",)] = DEMO_CORPUS_DIR, "mosei"
        if values.get(("folds",)) is None:  # the demo's own folds: validation/test speakers and sentences unseen
            values[("folds",)] = DEMO_CORPUS_DIR / FOLDS_NAME
        out = out or DEMO_OUT_DIR
    elif out is None:
        raise CorpusError("--out is required with --root")
    if values.get(("root",)) is not None:
        values[("root",)] = str(Path(values[("root",)]).resolve())
    if values.get(("folds",)) is not None:
        values[("folds",)] = str(Path(values[("folds",)]).resolve())
    return BuildTarget(make_config(BuildConfig, values, base=base), Path(out), demo, base is not None)


def resume_text(config: BuildConfig, out_dir: Path, also: str = "") -> str:
    """The line that says a command without --root resumes the dataset in ``out_dir`` (``also``: what else it takes
    from the dataset's records)."""
    return (f"No --root given: resuming the dataset in {display_path(out_dir)}: its corpus "
            f"({display_path(config.root)}) and build settings as its {BUILD_FILE} records them{also}; the options "
            "given override them, and --root builds another corpus")


def run_build(config: BuildConfig, out_dir: Path, executor: ExecutorConfig = ExecutorConfig(), *, demo: bool = False,
              notice: str | None = None, overwrite: bool = False, force: bool = False, quiet: bool = False,
              debug: bool = False) -> int:
    """Build (the demo corpus first, when ``demo``) with progress bars, print the summary; the exit status.
    ``notice``: a line said first (:func:`resume_text`)."""
    from weaklabel.build import build_dataset

    try:
        if notice and not quiet:
            print(notice)
        if demo:
            from weaklabel.demo import generate_demo_corpus

            if not quiet:
                print(f"No --root given: building the embedded synthetic demo corpus ({DEMO_CORPUS_DIR})")
            root = Path(generate_demo_corpus(DEMO_CORPUS_DIR)).resolve()
            if str(root) != config.root:  # the corpus is where the generator says (its folds with it)
                folds = config.folds
                if folds and Path(folds).is_relative_to(config.root):
                    folds = str(root / Path(folds).relative_to(config.root))
                config = replace(config, root=str(root), folds=folds)
        bars: list = []

        def on_start(n_recordings: int, n_segments: int) -> None:
            bars.append(progress_bar(n_recordings, "recordings", "rec", quiet, position=0))
            bars.append(progress_bar(n_segments, "segments", "seg", quiet, position=1))

        def progress(recordings: int, segments: int) -> None:
            bars[0].update(recordings)
            bars[1].update(segments)

        try:
            with executor.connect_timeout():
                result = build_dataset(config, out_dir, overwrite=overwrite, force=force, progress=progress,
                                       on_start=on_start, log=lambda notice: print(notice, file=sys.stderr),
                                       **executor.engine_options())
        finally:
            for bar in bars:
                bar.close()
    except ScorerFailed as exc:  # a policy asked for by name whose scorer raised: what it raised, traceback logged
        return report_error(str(exc), exc, show_traceback=debug, log_step="build")
    except (CorpusError, OutputConflictError, FolderBusyError, SplitError, ScorerUnavailable) as exc:
        return report_error(str(exc), exc, show_traceback=debug)
    except (ValueError, OSError) as exc:  # a bad option value or an unreadable path, or a bug: keep the traceback
        return report_error(str(exc), exc, show_traceback=debug, log_step="build")
    except KeyboardInterrupt:
        print("interrupted: finished recordings are kept; re-run the same command to resume", file=sys.stderr)
        return 130
    print(summary_text(result))
    if result.counts.ok == 0:
        print(nothing_kept_text(result), file=sys.stderr)
        return 1 if result.counts.abstained == 0 else 0  # abstained clips keep their features
    return 0


def main(argv: list[str] | None = None) -> int:
    args, values = command_line().parse(argv)
    try:
        target = build_config(values["build"], args.out)
        executor = make_config(ExecutorConfig, values["executor"])
    except CorpusError as exc:
        return report_error(str(exc), exc, show_traceback=args.debug)
    except ValueError as exc:  # a bad option value
        return report_error(str(exc), exc, show_traceback=args.debug, log_step="build")
    return run_build(target.config, target.out, executor, demo=target.demo,
                     notice=resume_text(target.config, target.out) if target.resumed else None,
                     overwrite=args.overwrite, force=args.force, quiet=args.quiet, debug=args.debug)


#: Per failure status: what to check.
HINTS = {
    S.BAD_TRANSCRIPT_LINE: "the transcript does not parse: check its format against docs/corpora.md "
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
    if c.abstained:
        return (f"warning: no segment got a label: {c.abstained} abstained (sentiment inside the neutral band) "
                f"and {c.failed} failed; their features are kept, so a narrower --neutral-band or another "
                "--policy relabels them without decoding the audio again")
    lines = [f"error: the build kept no segment ({c.failed} failed, {c.abstained} abstained); "
             f"the most frequent reasons, from {Path(result.out_dir) / SEGMENTS_FILE}:"]
    try:
        frame = pd.read_parquet(Path(result.out_dir) / SEGMENTS_FILE, columns=["status", "detail"])
    except (OSError, ValueError):
        frame = None
    failures = sorted(((v, k) for k, v in c.by_status.items() if k in S.FAILURE_STATUSES), reverse=True)
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
    share = f"{c.positive_share:.1%}" if c.positive_share is not None else "n/a"
    lines.append(f"  {c.segments} segments from {c.recordings} recordings: {c.ok} kept "
                 f"({c.positive} positive, {c.negative} negative; positive share "
                 f"{share}), {c.abstained} abstained, {c.failed} failed")
    config = result.config
    from weaklabel.scorers import SCORERS

    ran = [name for name in SCORERS if name in result.record.scorers]
    lines.append(f"  labelled by policy {config.policy} (band {config.neutral_band:g}) from the "
                 f"scorers {', '.join(ran)}")
    if config.policy_fallback:
        lines.append(f"  note: {config.policy_fallback}")
    by_language = c.by_language
    if set(by_language) - {"en"}:
        total = sum(by_language.values())
        shown = ", ".join(f"{code} {n / total:.0%}" for code, n in list(by_language.items())[:5])
        lines.append(f"  languages guessed: {shown}" + (
            f"; {c.abstained_not_read} abstained: not English, and the policy reads English only"
            if c.abstained_not_read else ""))
    failures = {k: v for k, v in c.by_status.items() if k not in (S.OK, S.ABSTAINED)}
    if failures:
        lines.append("  failed: " + ", ".join(f"{k} {v}" for k, v in failures.items()))
    lines.append("  splits: " + ", ".join(f"{k} {v.ok} kept / {counted(v.groups, 'group')}"
                                          for k, v in c.by_split.items()))
    if not result.up_to_date and not getattr(result, "relabelled", False) and result.elapsed_s > 0:
        lines.append(f"  {c.segments / result.elapsed_s:.1f} segments/s ({result.elapsed_s:.1f} s, "
                     f"{result.recordings_processed} recordings processed)")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
