"""The main job in one command: build -> embed -> train -> report, resuming what is already done.

    python -m pipelines.run                                   # the demo: build/demo, reports/demo/index.html
    python -m pipelines.run --root /data/CMU-MOSEI --out build/mosei --human-labels CMU_MOSEI_Labels.csd
    python -m pipelines.run --root calls/manifest.csv --out build/calls --report calls.html

Takes every option of the steps (pipelines.build_dataset, pipelines.embed, pipelines.train,
pipelines.report); each step gets the options it knows. The dataset is the build's --out (the demo's
build/demo without --root, rebuilt when the defaults change); the report goes to
reports/<dataset name>/index.html unless --report says otherwise. A finished build is reported up to
date, cached embeddings are reused, and training is skipped when the dataset's model and metrics.json
were made from this very build, embedding and training settings (--force redoes the build and the
training). The report is always rewritten.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipelines import build_dataset, embed, report, train
from pipelines._common import fail, report_error, set_verbose

#: Options the steps have that ``run`` sets itself (the dataset is the build's --out; the report's --out
#: is ``--report`` here).
NOT_FORWARDED = {"-h", "--help", "--dataset"}
#: Per step: run's option -> the step's name for it, and the step's options that run's same-named option
#: does not mean (run's --out is the build's output folder, not the report file).
RENAMED = {"report": {"--report": "--out"}}
NOT_FOR = {"report": {"--out"}}


def _step_parsers() -> dict[str, argparse.ArgumentParser]:
    return {"build": build_dataset.build_parser(), "embed": embed.build_parser(), "train": train.build_parser(),
            "report": report.build_parser()}


def build_parser() -> argparse.ArgumentParser:
    """The steps' options, each once, in the steps' own groups, plus run's own."""
    parser = argparse.ArgumentParser(prog="python -m pipelines.run", description=__doc__, allow_abbrev=False,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    own = parser.add_argument_group("run")
    own.add_argument("--seed", type=int, default=0,
                     help="seed of clip offsets and splits (build) and of training and bootstrap (train) "
                          "(default: %(default)s)")
    own.add_argument("--force", action="store_true",
                     help="rebuild even if an identical build is complete, and retrain even if the model is "
                          "current (embeddings stay cached: they are keyed by the features' content, the "
                          "weights, the layer and the pooling)")
    own.add_argument("--quiet", action="store_true", help="no progress output")
    own.add_argument("--debug", action="store_true",
                     help="print the full traceback of a step's unexpected error (otherwise written to a log file "
                          "that the error line names)")
    own.add_argument("--verbose", action="store_true", help="show TensorFlow's own start-up log")
    report.add_report_arguments(parser, out_option="--report")
    for step, step_parser in _step_parsers().items():
        _copy_options(parser, step_parser, f"{step} ({step_parser.prog})")
    return parser


def _copy_options(target: argparse.ArgumentParser, source: argparse.ArgumentParser, fallback_title: str) -> None:
    """Add ``source``'s optional arguments to ``target`` (in groups of the same title), skipping those in
    :data:`NOT_FORWARDED` and those ``target`` already has. The actions are shared, as argparse's
    ``parents=`` shares them, so types, choices, defaults and help stay the step's own."""
    groups = {g.title: g for g in target._action_groups}
    for group in source._action_groups:
        for action in group._group_actions:
            names = set(action.option_strings)
            if not names or names & NOT_FORWARDED or names & set(target._option_string_actions):
                continue
            title = fallback_title if group.title in ("options", "optional arguments") else group.title
            if title not in groups:
                groups[title] = target.add_argument_group(title)
            groups[title]._add_action(action)


def route_arguments(argv: list[str], parser: argparse.ArgumentParser) -> dict[str, list[str]]:
    """Split ``argv`` (already accepted by ``parser``) into each step's arguments.

    Every option goes to every step whose parser knows it (``--seed`` and ``--quiet`` to several), under
    the step's own name (``--report`` becomes the report's ``--out``).
    """
    steps = _step_parsers()
    known = {step: set(p._option_string_actions) for step, p in steps.items()}
    routed: dict[str, list[str]] = {step: [] for step in steps}
    i = 0
    while i < len(argv):
        token = argv[i]
        option, inline = (token.split("=", 1) + [None])[:2] if token.startswith("--") else (token, None)
        action = parser._option_string_actions.get(option)
        if action is None:
            raise ValueError(f"unexpected argument {token!r}")
        i += 1
        if inline is not None:
            values = [inline]
        elif isinstance(action.nargs, int) or action.nargs is None:
            n_values = 1 if action.nargs is None else action.nargs
            values, i = argv[i:i + n_values], i + n_values
        else:  # "?", "*", "+": the values up to the next option
            end = i
            while end < len(argv) and not (argv[end].startswith("-") and len(argv[end]) > 1):
                end += 1
            values, i = argv[i:end], end
        for step in steps:
            if option in NOT_FOR.get(step, ()):
                continue
            name = RENAMED.get(step, {}).get(option, option)
            if name in known[step] and name not in NOT_FORWARDED:
                routed[step] += [name, *values]
    return routed


def train_is_current(dataset: Path, train_args: argparse.Namespace) -> str | None:
    """Why the dataset's model is current for these training options, or None when it must be trained.

    Current means: ``metrics.json`` and the model folder exist; both record this build's fingerprint;
    ``metrics.json`` records the embedding key these weights, layer and pooling give, computed from the
    features the dataset holds now; and the training configuration and human-label source are the ones
    asked for.
    """
    from foundation.digests import file_sha256
    from transfer.training import METRICS_FILE
    from transfer.weights import resolve_vgg16_weights

    model_dir = Path(train_args.model_out) if train_args.model_out else dataset / "model"
    try:
        metrics = json.loads((dataset / METRICS_FILE).read_text(encoding="utf-8"))
        model_meta = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))
        build = json.loads((dataset / "build.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not (model_dir / "head.keras").is_file():
        return None
    fingerprint = build.get("fingerprint")
    if metrics.get("build_fingerprint") != fingerprint or \
            (model_meta.get("trained_on") or {}).get("build_fingerprint") != fingerprint:
        return None
    config = train.train_config_from_args(train_args)
    if metrics.get("train_config") != json.loads(json.dumps(config.to_dict())):
        return None
    weights = resolve_vgg16_weights(train_args.weights)
    key = config.embedding_spec(weights).key
    embedding = metrics.get("embedding") or {}
    if embedding.get("key") != key or model_meta.get("embedding_key") != key:
        return None
    if embedding.get("features_sha256") != file_sha256(dataset / build["features"]["file"]):
        return None
    source = metrics.get("human_labels_source")
    if train_args.human_labels is not None and source != str(train_args.human_labels):
        return None
    if train_args.human_labels is None and source not in (None, "human_label column"):
        return None
    return f"model and metrics.json match build {str(fingerprint)[:12]} and embedding {key}"


def _default_report(dataset: Path, demo: bool) -> Path:
    from reporting import default_report_path

    return default_report_path(dataset, build_dataset.REPO_ROOT / "reports" if demo else "reports")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    routed = route_arguments(argv, parser)
    demo = args.root is None
    dataset = Path(args.out) if args.out is not None else (build_dataset.DEMO_OUT_DIR if demo else None)
    say = (lambda m: None) if args.quiet else (lambda m: print(m, flush=True))
    if args.verbose:
        set_verbose()

    def step(number: int, name: str, function, step_argv: list[str]) -> int:
        say(f"[{number}/4] {name}")
        try:
            return function(step_argv)
        except KeyboardInterrupt:
            print(f"interrupted during {name}: re-run the same command to resume", file=sys.stderr)
            return 130
        except Exception as exc:  # a step's unexpected failure: one line; the traceback in a log (or --debug)
            return report_error(f"{name} failed: {type(exc).__name__}: {exc}", exc,
                                show_traceback=args.debug, log_step=name)

    build_argv = routed["build"]
    if demo and args.out is None and "--overwrite" not in build_argv:
        # The demo's output folder is this tool's own: when the defaults change, rebuild it rather than
        # refuse (a user's --out is never replaced without --overwrite).
        build_argv = build_argv + ["--overwrite"]
    rc = step(1, "build", build_dataset.main, build_argv)
    if rc != 0:
        return rc
    if dataset is None:  # unreachable: the build refuses --root without --out
        return fail("--out is required with --root")
    data_arg = ["--dataset", str(dataset)]
    rc = step(2, "embed", embed.main, data_arg + routed["embed"])
    if rc != 0:
        return rc
    train_argv = data_arg + routed["train"]
    current = None
    if not args.force:
        try:
            current = train_is_current(dataset, train.build_parser().parse_args(train_argv))
        except Exception as exc:  # e.g. weights that do not resolve: the train step reports it properly
            current = None
            say(f"  (could not check the existing model: {exc})")
    if current:
        say(f"[3/4] train: up to date, skipped ({current}; --force retrains)")
    else:
        rc = step(3, "train", train.main, train_argv)
        if rc != 0:
            return rc
    report_argv = data_arg + routed["report"]
    out = args.report_out or _default_report(dataset, demo)
    if args.report_out is None:
        report_argv += ["--out", str(out)]
    rc = step(4, "report", report.main, report_argv + (["--quiet"] if "--quiet" not in report_argv else []))
    if rc != 0:
        return rc
    from reporting.inputs import display_path

    print(f"Report: {display_path(Path(out))}\n  open {Path(out).resolve().as_uri()} in a browser "
          "(self-contained, works offline)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
