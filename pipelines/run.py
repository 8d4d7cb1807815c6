"""The main job in one command: build -> embed -> train -> report, resuming what is already done.

    python -m pipelines.run                   # the demo: build/demo, build/demo/report/index.html
    python -m pipelines.run --root /data/CMU-MOSEI --out build/mosei \\
        --human-labels CMU_MOSEI_Labels.csd
    python -m pipelines.run --root calls/manifest.csv --out build/calls --report calls.html
    python -m pipelines.run --config run.toml --seed 3        # options from a file, overridden here
    python -m pipelines.run --config run.toml --print-config  # the resolved configuration

Takes every option of the steps (pipelines.build_dataset, pipelines.embed, pipelines.train, pipelines.report),
each once: --seed seeds the build and the training; the embedding's options (--features, --batch-size and each
extractor's own: --whisper-*, --weights, --layer, ...) are the training's too, resolved once for both; --report
places the report. The dataset is --out (the demo's build/demo without --root, rebuilt when the defaults change);
the report goes into it, DATASET/report/index.html, unless --report says otherwise (the committed reference report
of the demo, reports/demo/index.html, is written only by python -m benchmarks.refresh). A finished build is reported
up to date, cached embeddings are reused, and training is skipped when the dataset's model and metrics.json were
made from this very build, embedding and training settings (--force redoes the build and the training). The report
is always rewritten, and the resolved configuration of every step is recorded in DATASET/run.json.

--config FILE reads a TOML file: "out" at the top, then one table per step whose keys are the names of the
step's configuration fields (docs/options.md, "One file for the whole run"):

    out = "build/calls"
    [build]         # weaklabel.config.BuildConfig; [build.mel] or n_mels = 64 for the log-mel
    root = "calls/manifest.csv"
    clip_seconds = 5.0
    policy = "vader"
    [embed]         # transfer.features.EmbeddingConfig; one table per extractor:
    features = "auto"
    [embed.whisper]     # model, input, window_s, pooling, ...; [embed.vgg16]: weights, layer, ...
    window_s = 10.0     # or in [embed] under the flag's name: whisper_window = 10.0
    [train]         # transfer.training.TrainConfig and TrainOptions (the embedding is [embed]'s)
    head = {kind = "dense", max_epochs = 50}
    human_labels = "labels.csv"
    [report]        # reporting.ReportConfig: out, evaluation, label_quality, weak_supervision
    [executor]      # foundation.executor.ExecutorConfig: workers, scheduler, dask_address, ...
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path

from foundation.config import CommandLine, ConfigError, config_mapping, make_config, table_values, to_toml
from foundation.executor import ExecutorConfig
from pipelines import build_dataset, embed, report, train
from pipelines._common import fail, printer, report_error
from reporting.report import ReportConfig
from transfer.features import EmbeddingConfig
from transfer.quiet import set_verbose
from transfer.training import TrainConfig, TrainOptions
from weaklabel.config import TRANSCRIPTION_FLAGS, TRANSCRIPTION_NOT_ON_COMMAND_LINE, BuildConfig
from weaklabel.errors import CorpusError

#: What the [train] table and the training's options leave to [embed]: the training's embedding is the embed step's.
SET_BY_EMBED = {"train": ("embedding",)}
#: The config file's tables: table -> {values name: config class}.
TABLES = {"build": {"build": BuildConfig}, "embed": {"embed": EmbeddingConfig},
          "train": {"train": TrainConfig, "train_options": TrainOptions}, "report": {"report": ReportConfig},
          "executor": {"executor": ExecutorConfig}}


#: The options ``--help`` shows (``--help-all`` shows every one), in their groups.
COMMON_OPTIONS = ("--config", "--print-config", "--out", "--overwrite", "--force", "--quiet", "--root", "--folds",
                  "--clip-seconds", "--seed", "--policy", "--neutral-band", "--features", "--head", "--human-labels",
                  "--report", "--workers")


def command_line() -> CommandLine:
    """run's own options, then every step's, each once; ``--help`` shows :data:`COMMON_OPTIONS`."""
    cli = CommandLine("python -m pipelines.run", __doc__, allow_abbrev=False, groups=("run",))
    own = cli.group("run")
    own.add_argument("--config", type=Path, metavar="FILE",
                     help="a TOML file of the steps' options (tables [build], [embed], [train], [report], "
                          "[executor]: --help-all shows the format); the options given here override it")
    own.add_argument("--print-config", action="store_true",
                     help="print the resolved configuration of every step as TOML and exit without running")
    own.add_argument("--out", type=Path, help="the dataset folder, the build's output (default: build/demo for the "
                                              "demo; required with --root)")
    own.add_argument("--overwrite", action="store_true",
                     help="replace a build made with a different configuration (the demo's folder always is)")
    own.add_argument("--force", action="store_true",
                     help="rebuild even if an identical build is complete, and retrain even if the model is current "
                          "(embeddings stay cached: they are keyed by the features' content, the weights, the "
                          "layer and the pooling)")
    own.add_argument("--quiet", action="store_true", help="no progress output")
    own.add_argument("--debug", action="store_true",
                     help="print the full traceback of a step's unexpected error (otherwise written to a log file "
                          "that the error line names)")
    own.add_argument("--verbose", action="store_true", help="show TensorFlow's own start-up log")
    cli.add("build", BuildConfig, notes={"seed": "also the training and bootstrap seed"}, flags=TRANSCRIPTION_FLAGS,
            exclude=TRANSCRIPTION_NOT_ON_COMMAND_LINE, group="corpus")
    cli.add("embed", EmbeddingConfig)
    cli.add("train", TrainConfig, exclude=SET_BY_EMBED["train"] + ("seed",))
    cli.add("train_options", TrainOptions, group="model")
    cli.add("report", ReportConfig, flags={"out": "--report"})
    cli.add("executor", ExecutorConfig, group="running")
    cli.parser.set_short_help("\n\n".join(__doc__.split("\n\n")[:2]), COMMON_OPTIONS)
    return cli


@dataclass(frozen=True)
class RunPlan:
    """Every step's resolved configuration."""

    dataset: Path
    demo: bool
    resumed: bool  # no root given: the dataset in its folder resumed (pipelines.build_dataset.build_config)
    build: BuildConfig
    embed: EmbeddingConfig
    train: TrainConfig
    train_options: TrainOptions
    report: ReportConfig
    executor: ExecutorConfig

    def record(self) -> dict:
        """The configuration as ``--config`` reads it (``run.json``, ``--print-config``), the executor's
        machine-dependent defaults resolved (:meth:`~foundation.executor.ExecutorConfig.resolved`)."""
        return {"out": str(self.dataset), "build": config_mapping(self.build), "embed": config_mapping(self.embed),
                "train": {**config_mapping(self.train, exclude=SET_BY_EMBED["train"]),
                          **config_mapping(self.train_options)},
                "report": config_mapping(self.report), "executor": config_mapping(self.executor.resolved())}


def read_config_file(path: Path) -> tuple[dict[str, dict], Path | None]:
    """The values a run configuration file sets, per config (``{name: {path: value}}``), and its ``out``.

    Raises ConfigError naming unknown tables or keys, OSError for an unreadable file."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return config_values(data, path)


def config_values(data, path: Path) -> tuple[dict[str, dict], Path | None]:
    """The values a run configuration (``--config``'s TOML, ``run.json``'s JSON: 'out' and one table per step) sets,
    per config, and its ``out``. Raises ConfigError naming ``path`` and the unknown tables or keys."""
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected 'out' and tables, got {type(data).__name__}")
    unknown = [key for key in data if key not in TABLES and key != "out"]
    unknown += [key for key in TABLES if key in data and not isinstance(data[key], dict)]
    if unknown:
        raise ConfigError(f"{path}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} (the file holds "
                          f"'out' and the tables {', '.join(f'[{t}]' for t in TABLES)})")
    values: dict[str, dict] = {}
    for table, classes in TABLES.items():
        values.update(table_values(classes, data.get(table, {}), f"{path} [{table}]", exclude=SET_BY_EMBED))
    out = data.get("out")
    if out is not None and not isinstance(out, str):
        raise ConfigError(f"{path}: out: expected a string (a folder), got {out!r}")
    return values, Path(out) if out is not None else None


#: The configs a resumed run takes from the dataset's run.json: the embedding and the training (the build's are its
#: build.json's; the report and the executor are this run's).
RESUMED = ("embed", "train", "train_options")


def recorded_run(dataset: Path) -> dict[str, dict]:
    """The embedding and training values (:data:`RESUMED`) of the last run that finished in ``dataset``, as its
    ``run.json`` records them; none when it has none. Raises ConfigError naming the file when it cannot be read."""
    import json

    from weaklabel.dataset import RUN_FILE

    path = dataset / RUN_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: {' '.join(str(exc).split())} (it records the dataset's last run: fix or delete "
                          "it)") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected 'out' and tables, got {type(data).__name__} (it records the dataset's "
                          "last run: fix or delete it)")

    def set_values(table):  # None is a key left out, as in the TOML --print-config prints (its default)
        return {k: set_values(v) if isinstance(v, dict) else v for k, v in table.items() if v is not None}

    tables = {table for table, classes in TABLES.items() if set(classes) & set(RESUMED)}
    values, _ = config_values({table: set_values(data[table]) for table in tables if isinstance(data.get(table), dict)},
                              path)
    return {name: values[name] for name in RESUMED}


def resolve(args, given: dict[str, dict]) -> RunPlan:
    """Every step's configuration: the defaults, overridden by ``--config``'s file, overridden by ``given`` (the
    command line's values). Raises ConfigError, CorpusError or ValueError."""
    values, out = read_config_file(args.config) if args.config else ({name: {} for name in given}, None)
    values = {name: {**values.get(name, {}), **given[name]} for name in given}
    if ("seed",) in given["build"]:  # --seed seeds the build and the training
        values["train"][("seed",)] = given["build"][("seed",)]
    build, dataset, demo, resumed = build_dataset.build_config(values["build"], args.out or out)
    if resumed:  # the dataset's last run's embedding and training, beneath the file's and the command line's
        values.update({name: {**recorded, **values[name]} for name, recorded in recorded_run(dataset).items()})
    embedding = make_config(EmbeddingConfig, values["embed"])
    report_config = make_config(ReportConfig, values["report"])
    if report_config.out is None:
        from reporting import default_report_path

        report_config = replace(report_config, out=str(default_report_path(dataset)))
    return RunPlan(dataset=dataset, demo=demo, resumed=resumed, build=build, embed=embedding,
                   train=make_config(TrainConfig, values["train"], embedding=embedding),
                   train_options=make_config(TrainOptions, values["train_options"]),
                   report=report_config, executor=make_config(ExecutorConfig, values["executor"]))


def main(argv: list[str] | None = None) -> int:
    args, given = command_line().parse(argv)
    if args.verbose:
        set_verbose()
    try:
        plan = resolve(args, given)
    except (ConfigError, CorpusError, ValueError, OSError) as exc:
        return fail(" ".join(str(exc).split()))
    if args.print_config:
        print(to_toml(plan.record()), end="")
        return 0
    say = printer(args.quiet)

    def step(number: int, name: str, function, *arguments, **options) -> int:
        say(f"[{number}/4] {name}")
        try:
            return function(*arguments, **options)
        except KeyboardInterrupt:
            print(f"interrupted during {name}: re-run the same command to resume", file=sys.stderr)
            return 130
        except Exception as exc:  # a step's unexpected failure: one line; the traceback in a log (or --debug)
            return report_error(f"{name} failed: {type(exc).__name__}: {exc}", exc,
                                show_traceback=args.debug, log_step=name)

    # The demo's folder is this tool's own: when the defaults change, it is rebuilt rather than refused (a
    # folder the user names is never replaced without --overwrite).
    overwrite = args.overwrite or (plan.demo and plan.dataset == build_dataset.DEMO_OUT_DIR)
    notice = None
    if plan.resumed:
        from weaklabel.dataset import RUN_FILE

        also = f", its embedding and training as its {RUN_FILE} does" if (plan.dataset / RUN_FILE).is_file() else ""
        notice = build_dataset.resume_text(plan.build, plan.dataset, also)
    rc = step(1, "build", build_dataset.run_build, plan.build, plan.dataset, plan.executor, demo=plan.demo,
              notice=notice, overwrite=overwrite, force=args.force, quiet=args.quiet, debug=args.debug)
    if rc:
        return rc
    embedding, rc = embed.resolve_embedding(plan.embed, args.quiet)  # once, for the embed and train steps
    rc = rc or step(2, "embed", embed.run_embed, plan.dataset, embedding, plan.executor, quiet=args.quiet)
    if rc:
        return rc
    current = None
    if not args.force:
        from transfer import training

        try:
            current = training.model_is_current(plan.dataset, plan.train, embedding, plan.train_options.human_labels,
                                                plan.train_options.model_out)
        except Exception as exc:  # an unreadable record: the train step reports it properly
            say(f"  (could not check the existing model: {exc})")
    if current:
        say(f"[3/4] train: up to date, skipped ({current}; --force retrains)")
    else:
        rc = step(3, "train", train.run_train, plan.dataset, plan.train, plan.train_options, embedding=embedding,
                  quiet=args.quiet)
    rc = rc or step(4, "report", report.run_report, plan.dataset, plan.report, quiet=True)
    if rc:
        return rc
    from foundation.atomic import write_json_atomic
    from foundation.paths import display_path
    from weaklabel.dataset import RUN_FILE

    write_json_atomic(plan.dataset / RUN_FILE, plan.record())
    out = Path(plan.report.out)
    print(f"Report: {display_path(out)}\n  open {out.resolve().as_uri()} in a browser (self-contained, works offline)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
