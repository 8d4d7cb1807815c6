"""Regenerate the committed results in ``reports/``: one registry, one command.

    python -m benchmarks.refresh                          # the quick ones (minutes)
    python -m benchmarks.refresh --include-long           # and the long measurements (about 1.5 hours)
    python -m benchmarks.refresh --only acted-ravdess,demo-report
    python -m benchmarks.refresh --list                   # the registry: names, commands, inputs, outputs

Every entry of :data:`REGISTRY` runs ``sys.executable -m MODULE ARGS`` from the repository root; the
registry's order is a dependency order (an entry that reads another's output comes after it: the label
quality and the demo model before the acted-corpus evaluation, every result the demo report embeds before
the demo report). ``{data}`` in a command stands for ``--data`` (default ``../shared/data``, the real data
beside the project).

An entry whose real data is missing is skipped, saying which files are missing (without ``../shared/data``
only the demo model and the demo report are refreshed; the report then embeds the committed measurements).
An entry that reads another entry's output that is not there, or whose producing entry failed in this run,
is not run. The command exits 1 when any selected entry failed or could not run for that reason, 0
otherwise (skips for missing real data included, and listed).

``tests/test_committed_results.py`` fails when a committed result records another configuration than the
one the code now defaults to, naming the ``--only`` entry that regenerates it.
"""
from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import REPO_ROOT
from benchmarks.weak_features import CURVE_VARIANTS, VARIANTS
from weaklabel.dataset import EVALUATION_JSON_FILE, EVALUATION_MARKDOWN_FILE, LABEL_QUALITY_FILE, \
    LABEL_QUALITY_MARKDOWN_FILE, METRICS_FILE, MODEL_DIR

DATA_PLACEHOLDER = "{data}"
DEFAULT_DATA = "../shared/data"


@dataclass(frozen=True)
class Result:
    """One regenerated result.

    Parameters
    ----------
    name : what ``--only`` and the staleness test call it
    outputs : paths it writes, relative to the repository root (committed ones under ``reports/``)
    command : the module and its arguments, run as ``sys.executable -m ...``; ``{data}`` is ``--data``
    inputs : repository paths it reads that another entry writes (its dependencies, see :func:`needs`)
    long : run only with ``--include-long``
    minutes : rough duration on two shared cores
    what : one line for ``--list``
    """

    name: str
    outputs: tuple[str, ...]
    command: tuple[str, ...]
    inputs: tuple[str, ...] = ()
    long: bool = False
    minutes: float = 1.0
    what: str = ""

    def argv(self, data: str = DEFAULT_DATA) -> list[str]:
        return [sys.executable, "-m", *(arg.replace(DATA_PLACEHOLDER, data) for arg in self.command)]

    def display(self, data: str = DEFAULT_DATA) -> str:
        return shlex.join(["python", *self.argv(data)[1:]])

    def data_inputs(self, data: str = DEFAULT_DATA) -> list[str]:
        """The real-data paths its command names (under ``--data``)."""
        return [arg.replace(DATA_PLACEHOLDER, data) for arg in self.command if arg.startswith(DATA_PLACEHOLDER)]

    @property
    def committed(self) -> tuple[str, ...]:
        return tuple(p for p in self.outputs if p.startswith("reports/"))


ACTED = "reports/acted-ravdess"
LABEL_QUALITY = "reports/label_quality-meld_dev_sent_emo"
WEAK_SUPERVISION = "reports/weak_supervision"
EXPORT = "reports/export"
MELD = f"{DATA_PLACEHOLDER}/meld_dev_sent_emo.csv"
RAVDESS_1_6 = f"{DATA_PLACEHOLDER}/ravdess_actors_01-06"
RAVDESS_7_12 = f"{DATA_PLACEHOLDER}/ravdess_actors_07-12"
DEMO_MODEL = f"build/demo/{MODEL_DIR}"
DEMO_METRICS = f"build/demo/{METRICS_FILE}"
#: The committed reference report of the demo: only this registry writes it (``pipelines.run`` alone writes the
#: demo's report into build/demo, which git ignores).
DEMO_REPORT = "reports/demo/index.html"

REGISTRY: tuple[Result, ...] = (
    Result("text-teacher", ("reports/text_teacher.json", "reports/text_teacher.md", "weaklabel/scorers/e5_valence.json",
                            "weaklabel/label_models/calibrated.json", "weaklabel/label_models/lexicon.json",
                            "build/text_teacher"),
           ("benchmarks.text_teacher", "--data", DATA_PLACEHOLDER, "--out", "reports/text_teacher",
            "--work", "build/text_teacher"),
           long=True, minutes=15,
           what="fits the E5 valence head and the label models on permissive sentences (XED, VADER's ground truth) "
                "and scores every policy on MELD dev, EmoBank and XED's Finnish lines"),
    Result("label-quality", (f"{LABEL_QUALITY}/{LABEL_QUALITY_FILE}", f"{LABEL_QUALITY}/{LABEL_QUALITY_MARKDOWN_FILE}"),
           ("pipelines.label_quality", "--csv", MELD, "--out", LABEL_QUALITY, "--quiet"),
           minutes=1, what="every policy and neutral band against MELD dev's human sentiment"),
    Result("demo-model", (DEMO_MODEL, DEMO_METRICS),
           ("pipelines.run", "--quiet"),
           minutes=5, what="the demo build and model (resumes; not committed: the acted evaluation scores it)"),
    Result("acted-ravdess", (f"{ACTED}/{EVALUATION_JSON_FILE}", f"{ACTED}/{EVALUATION_MARKDOWN_FILE}"),
           ("pipelines.evaluate_acted", "--corpus", "ravdess", "--root", RAVDESS_1_6, "--root", RAVDESS_7_12,
            "--model", DEMO_MODEL, "--out", ACTED, "--quiet"),
           inputs=(DEMO_MODEL,), minutes=10,
           what="the demo model zero-shot and the probes (leave one actor out) on RAVDESS actors 1-12"),
    Result("layer-comparison", ("reports/layer_comparison.json", "reports/layer_comparison.md"),
           ("benchmarks.compare_layers", "--demo", "build/demo", "--ravdess", RAVDESS_1_6,
            "--out", "reports/layer_comparison"),
           inputs=(DEMO_METRICS,), long=True, minutes=10,
           what="the original recipe cut at five VGG16 layers (the default block2_conv2 first), on the demo and a RAVDESS probe"),
    Result("weak-supervision", (f"{WEAK_SUPERVISION}/weak_supervision.json", f"{WEAK_SUPERVISION}/weak_supervision.md",
                                "build/weak_supervision"),
           ("pipelines.weak_supervision", "--root", RAVDESS_1_6, "--root", RAVDESS_7_12, "--sentences", MELD,
            "--pairing-seeds", "0", "1", "2", "3", "4", "--out", WEAK_SUPERVISION, "--work", "build/weak_supervision",
            "--quiet"),
           long=True, minutes=40, what="AUC against transcript-label quality, RAVDESS 1-12 paired with MELD lines: "
                                       "the default recipe, the references and the default on VGG16 features"),
    Result("weak-levers", ("reports/weak_supervision_levers/levers.json", "reports/weak_supervision_levers/levers.md"),
           ("benchmarks.weak_levers", "--work", "build/weak_supervision", "--out", "reports/weak_supervision_levers"),
           inputs=("build/weak_supervision",), long=True, minutes=30,
           what="one lever at a time on the weak-supervision benchmark at p = 0.75 (cleanlab: the bench extra)"),
    Result("weak-features", ("reports/weak_supervision_features/features.json",
                             "reports/weak_supervision_features/features.md", "build/weak_features"),
           ("benchmarks.weak_features", "--root", RAVDESS_1_6, "--root", RAVDESS_7_12, "--sentences", MELD,
            "--zero-shot", f"{DATA_PLACEHOLDER}/tess_subset", "--maps", "surprised-excluded", "--p", "0.75",
            "--pairing-seeds", "0", "1", "2", "--features", *VARIANTS, "--c-grid", "1e-5", "1e-4", "1e-3",
            "1e-2", "1e-1", "--workers", "2", "--work", "build/weak_features", "--out",
            "reports/weak_supervision_features"),
           long=True, minutes=120,
           what="every feature extractor, Whisper input, combination and logistic C on the weak-supervision benchmark "
                "at p = 0.75, with the true-label ceilings and TESS zero-shot per rotation (the eGeMAPS extra)"),
    Result("weak-features-curve", ("reports/weak_supervision_features/curve/features.json",
                                   "reports/weak_supervision_features/curve/features.md"),
           ("benchmarks.weak_features", "--root", RAVDESS_1_6, "--root", RAVDESS_7_12, "--sentences", MELD,
            "--zero-shot", f"{DATA_PLACEHOLDER}/tess_subset", "--maps", "surprised-excluded",
            "--p", "0.5", "0.65", "0.9", "1.0", "--pairing-seeds", "0", "1", "2", "--features", *CURVE_VARIANTS,
            "--c-grid", "1e-3", "1e-2", "--workers", "2", "--work", "build/weak_features", "--out",
            "reports/weak_supervision_features/curve"),
           long=True, minutes=40,
           what="VGG16 and Whisper's inputs at the other p (default map, C = 1e-3 and 1e-2), with TESS zero-shot"),
    Result("speed", ("reports/benchmarks.json", "reports/benchmarks.md"),
           ("benchmarks.run", "--out", "reports/benchmarks", "--ravdess", RAVDESS_1_6),
           long=True, minutes=20, what="build speed, memory, embedding throughput, speed against probe quality"),
    Result("embed-precision", ("reports/embed_precision.json", "reports/embed_precision.md"),
           ("benchmarks.embed_precision", "--ravdess", RAVDESS_1_6, "--out", "reports/embed_precision"),
           long=True, minutes=3,
           what="float32 / bfloat16 and whole-clip / speech-only frames in one run: clips/s against each precision's "
                "GEMM rate, agreement with float32, the RAVDESS probe AUC, the 23,500-clip projection"),
    Result("embed-pipeline", ("reports/embed_pipeline/embed_pipeline.json", "reports/embed_pipeline/embed_pipeline.md",
                              "build/embed-pipeline"),
           ("benchmarks.embed_pipeline", "--ravdess", RAVDESS_1_6, "--ravdess", RAVDESS_7_12,
            "--out", "reports/embed_pipeline", "--work", "build/embed-pipeline"),
           long=True, minutes=30,
           what="pipelines.embed end to end in fresh processes on 120 RAVDESS clips, per extractor and Whisper input "
                "(the defaults, the seed's VGG16 path, Whisper padded to 30 s ...), where Whisper's time goes, and "
                "the 23,500-clip projection"),
    Result("embed-precision-weak", ("reports/embed_precision_weak/comparison.json",
                                    "reports/embed_precision_weak/comparison.md",
                                    "reports/embed_precision_weak/weak_supervision.json",
                                    "reports/embed_precision_weak/weak_supervision.md", "build/embed-precision-weak"),
           ("benchmarks.embed_precision_weak", "--root", RAVDESS_1_6, "--root", RAVDESS_7_12, "--sentences", MELD),
           long=True, minutes=10,
           what="the weak-supervision default recipe with VGG16 features at p = 0.75: its defaults against its "
                "reference path (float32 over whole clips), paired run by run"),
    Result("export-check", (f"{EXPORT}/export_check.json", f"{EXPORT}/export_check.md", "build/export-check"),
           ("benchmarks.export_check", "--out", EXPORT, "--work", "build/export-check"),
           long=True, minutes=1,
           what="the lhotse and hf exports of a generated corpus loaded with the real lhotse and datasets, every clip "
                "against the clip plan (needs lhotse, so PyTorch: pip install torch lhotse; CI installs neither)"),
    Result("export-benchmark", (f"{EXPORT}/export_benchmark.json", f"{EXPORT}/export_benchmark.md",
                                "build/export-benchmark"),
           ("benchmarks.export_benchmark", "--out", EXPORT, "--work", "build/export-benchmark"),
           long=True, minutes=12,
           what="the export's memory peak and time per format on the 6,000-segment speed corpus, a tenth and ten "
                "times it"),
    Result("transcription", ("reports/transcription/transcription.json", "reports/transcription/transcription.md",
                             "build/transcription-bench"),
           ("benchmarks.transcription", "--data", DATA_PLACEHOLDER, "--work", "build/transcription-bench",
            "--out", "reports/transcription"),
           inputs=(), long=True, minutes=15,
           what="pipelines.transcribe per setting (no VAD, VAD default and tuned, boundaries refined) on "
                "RAVDESS, TESS, the real-speech MOSEI sample and the demo: word error, sentences found, speed; "
                "German detection; memory at 10 min and 3 h"),
    Result("demo-report", (DEMO_REPORT,),
           ("pipelines.run", "--report", DEMO_REPORT, "--evaluation", f"{ACTED}/{EVALUATION_JSON_FILE}",
            "--label-quality", f"{LABEL_QUALITY}/{LABEL_QUALITY_FILE}",
            "--weak-supervision", f"{WEAK_SUPERVISION}/weak_supervision.json", "--quiet"),
           inputs=(f"{ACTED}/{EVALUATION_JSON_FILE}", f"{LABEL_QUALITY}/{LABEL_QUALITY_FILE}",
                   f"{WEAK_SUPERVISION}/weak_supervision.json"),
           minutes=2, what="the demo report, embedding the three measurements above"),
)


def _produces(result: Result, path: str) -> bool:
    return any(path == out or path.startswith(out.rstrip("/") + "/") for out in result.outputs)


def needs(result: Result, registry: tuple[Result, ...] = REGISTRY) -> tuple[str, ...]:
    """The names of the entries whose outputs ``result`` reads."""
    return tuple(other.name for other in registry
                 if other is not result and any(_produces(other, path) for path in result.inputs))


def by_name(name: str, registry: tuple[Result, ...] = REGISTRY) -> Result:
    for result in registry:
        if result.name == name:
            return result
    raise KeyError(f"no result {name!r}; the registry holds {', '.join(r.name for r in registry)}")


def producer_of(path: str, registry: tuple[Result, ...] = REGISTRY) -> Result | None:
    """The entry that writes ``path`` (a file it lists, or one inside a folder it lists), if any."""
    return next((r for r in registry if _produces(r, path)), None)


def refresh_command(name: str) -> str:
    """The command that regenerates one entry (for messages)."""
    return f"python -m benchmarks.refresh --only {by_name(name).name}"


def check_order(registry: tuple[Result, ...] = REGISTRY) -> None:
    """Raise ValueError unless every entry comes after the entries it needs and names are unique."""
    names = [r.name for r in registry]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate names in the registry: {names}")
    seen: set[str] = set()
    for result in registry:
        late = [n for n in needs(result, registry) if n not in seen]
        if late:
            raise ValueError(f"{result.name} needs {', '.join(late)}, which come(s) after it in the registry")
        seen.add(result.name)


def select(only: list[str] | None, include_long: bool, registry: tuple[Result, ...] = REGISTRY) -> list[Result]:
    """The entries to run, in registry order: ``only`` as named (long or not), else the quick ones (and the
    long ones with ``include_long``)."""
    if only:
        wanted = {by_name(name, registry).name for name in only}
        return [r for r in registry if r.name in wanted]
    return [r for r in registry if include_long or not r.long]


def list_registry(data: str, registry: tuple[Result, ...] = REGISTRY) -> str:
    lines = []
    for r in registry:
        tags = ["long" if r.long else "quick", f"~{r.minutes:g} min"]
        lines.append(f"{r.name} ({', '.join(tags)}): {r.what}")
        lines.append(f"    {r.display(data)}")
        if needs(r, registry):
            lines.append(f"    after: {', '.join(needs(r, registry))}")
        if r.data_inputs(data):
            lines.append(f"    data: {', '.join(r.data_inputs(data))}")
        lines.append(f"    writes: {', '.join(r.outputs)}")
    return "\n".join(lines)


def run(selected: list[Result], data: str, registry: tuple[Result, ...] = REGISTRY,
        runner=subprocess.call, root: Path = REPO_ROOT, log=print) -> dict[str, str]:
    """Run the selected entries in order; return ``{name: status}`` (``ok``, ``failed (exit N)``,
    ``skipped: ...``, ``not run: ...``)."""
    status: dict[str, str] = {}
    for k, result in enumerate(selected, 1):
        missing_data = [p for p in result.data_inputs(data) if not (root / p).exists()]
        if missing_data:
            status[result.name] = f"skipped: real data missing ({', '.join(missing_data)})"
            log(f"[{k}/{len(selected)}] {result.name}: {status[result.name]}")
            continue
        blocked = [n for n in needs(result, registry) if status.get(n, "").startswith(("failed", "not run"))]
        missing = [p for p in result.inputs if not (root / p).exists()]
        if blocked or missing:
            why = (f"{', '.join(blocked)} did not succeed" if blocked else
                   "missing " + ", ".join(f"{p} (--only {producer_of(p, registry).name})"
                                          if producer_of(p, registry) else p for p in missing))
            status[result.name] = f"not run: {why}"
            log(f"[{k}/{len(selected)}] {result.name}: {status[result.name]}")
            continue
        log(f"[{k}/{len(selected)}] {result.name} (~{result.minutes:g} min): {result.display(data)}", flush=True)
        started = time.monotonic()
        code = runner(result.argv(data), cwd=root)
        seconds = time.monotonic() - started
        status[result.name] = "ok" if code == 0 else f"failed (exit {code})"
        log(f"[{k}/{len(selected)}] {result.name}: {status[result.name]} in {seconds:.0f} s", flush=True)
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.refresh", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help=f"comma-separated entries, run as named: {','.join(r.name for r in REGISTRY)}")
    parser.add_argument("--include-long", action="store_true",
                        help="also the long entries: " + ", ".join(r.name for r in REGISTRY if r.long))
    parser.add_argument("--data", default=DEFAULT_DATA,
                        help="the real data folder, relative to the repository root or absolute (default: %(default)s)")
    parser.add_argument("--list", action="store_true", help="print the registry and exit")
    args = parser.parse_args(argv)
    check_order()
    if args.list:
        print(list_registry(args.data))
        return 0
    try:
        selected = select([n.strip() for n in args.only.split(",") if n.strip()] if args.only else None,
                          args.include_long)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    if not (REPO_ROOT / args.data).is_dir():
        print(f"note: no real data at {args.data}: entries that need it are skipped", flush=True)
    status = run(selected, args.data)
    print("\nsummary:")
    for name, text in status.items():
        print(f"  {name:18s} {text}")
    return 1 if any(s.startswith(("failed", "not run")) for s in status.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
