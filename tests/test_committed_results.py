"""Committed results in reports/ record the configuration the code now defaults to (issue 13).

Each committed result is read for the configuration it records and compared with the defaults in the code;
a difference fails with the file and the command that regenerates it (``python -m benchmarks.refresh``). A
check is a list of :class:`Expect` (a dotted path into the record, the value the code gives now), so every
check is also run on a copy made fresh (it must pass) and on that copy with one value changed (it must fail,
naming the value). Nothing here needs ../shared/data: only the committed files are read.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import pytest

from benchmarks import refresh

REPO_ROOT = Path(__file__).resolve().parent.parent
MISSING = "<not recorded>"


@dataclass(frozen=True)
class Expect:
    """``project(record[path])`` must equal ``expected``; ``fresh(expected)`` is what a fresh record holds there
    (default: ``expected`` itself, for a path recorded as is)."""

    path: str
    expected: Any
    project: Callable[[Any], Any] | None = None
    fresh: Callable[[Any], Any] | None = None


def _get(record: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(record, dict) or key not in record:
            return MISSING
        record = record[key]
    return record


def _set(record: dict, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for key in parents:
        if not isinstance(record.get(key), dict):
            record[key] = {}
        record = record[key]
    record[last] = value


def _plain(value: Any) -> Any:
    """As JSON gives it back (tuples as lists)."""
    return json.loads(json.dumps(value))


def _requested_precision(precision: Any) -> Any:
    """``auto`` for a precision ``auto`` resolves to (``float32``, ``bfloat16``) where the code's default is ``auto``;
    anything else as is."""
    from transfer.features.precision import DEFAULT_PRECISION, RESOLVED_PRECISIONS

    return "auto" if DEFAULT_PRECISION == "auto" and precision in RESOLVED_PRECISIONS else precision


def problems(record: dict, expectations: list[Expect]) -> list[str]:
    """One line per recorded value that differs from the code's."""
    out = []
    for e in expectations:
        value = _get(record, e.path)
        if value is not MISSING and e.project is not None:
            value = e.project(value)
        if value is MISSING:
            out.append(f"{e.path}: not recorded (the code now gives {e.expected!r})")
        elif _plain(value) != _plain(e.expected):
            out.append(f"{e.path}: recorded {value!r}, the code now gives {e.expected!r}")
    return out


def freshened(record: dict, expectations: list[Expect]) -> dict:
    """A copy of ``record`` holding what the code gives now at every checked path."""
    out = copy.deepcopy(record)
    for e in expectations:
        _set(out, e.path, _plain(e.fresh(e.expected) if e.fresh else e.expected))
    return out


# ------------------------------------------------------------------------------------- the code's defaults

def _train() -> dict:
    from transfer.training import TrainConfig

    return _plain(TrainConfig().to_dict())


def _weights(prefix: str = "weights.") -> list[Expect]:
    """The ImageNet VGG16 weights, verified (the VGG16 benchmarks)."""
    from transfer.weights import IMAGENET_NOTOP_SHA256

    return [Expect(f"{prefix}sha256", IMAGENET_NOTOP_SHA256), Expect(f"{prefix}verified", True)]


def _default_features() -> str:
    """The extractor the default configuration runs where every extractor can run (``auto``: the first it tries)."""
    from transfer.features import AUTO, AUTO_ORDER, DEFAULT_FEATURES

    return AUTO_ORDER[0] if DEFAULT_FEATURES == AUTO else DEFAULT_FEATURES


def _default_weights(prefix: str = "weights.") -> list[Expect]:
    """The default extractor's weights, verified: the pinned Whisper model (or VGG16's ImageNet weights)."""
    from weaklabel.whisper_model import BASE_MODEL_SHA256

    if _default_features() != "whisper":
        return _weights(prefix)
    return [Expect(f"{prefix}sha256", BASE_MODEL_SHA256), Expect(f"{prefix}verified", True)]


def _default_settings(prefix: str) -> list[Expect]:
    """The default extractor's recorded settings that its options decide (Whisper's input, window and pooling)."""
    from transfer.features import EmbeddingConfig, get_extractor

    name = _default_features()
    options = EmbeddingConfig().options(name)
    fields = {"whisper": ("input", "window_s", "pooling"), "vgg16": ("layer", "pooling", "n_bands", "frames")}[name]
    return [Expect(f"{prefix}name", name), Expect(f"{prefix}version", get_extractor(name).version),
            *(Expect(f"{prefix}settings.{f}", getattr(options, f)) for f in fields)]


def _shipped_teacher() -> dict:
    """The SHA-256 of each file of the text teacher's shipped weights (the E5 head, the label models)."""
    from benchmarks.text_teacher import shipped_files

    return shipped_files()


def _policy_names() -> list[str]:
    from weaklabel.policies import POLICIES

    return sorted(POLICIES)


def _labels(prefix: str) -> list[Expect]:
    from weaklabel.policies import DEFAULT_POLICY, default_band

    return [Expect(f"{prefix}policy", DEFAULT_POLICY), Expect(f"{prefix}neutral_band", default_band(DEFAULT_POLICY))]


def _scorer_versions(prefix: str, names=None) -> list[Expect]:
    from weaklabel.scorers import SCORERS

    return [Expect(f"{prefix}{name}.version", scorer.version) for name, scorer in SCORERS.items()
            if names is None or name in names]


def _valence_map(path: str) -> list[Expect]:
    """The record names the valence map it was measured under, the default one (issue 20)."""
    from evaluation.acted_corpora import DEFAULT_VALENCE_MAP

    return [Expect(path, DEFAULT_VALENCE_MAP)]


def acted_evaluation() -> list[Expect]:
    from evaluation.acted import ActedEvaluationConfig
    from weaklabel.audio import DEFAULT_CLIP_SECONDS
    from weaklabel.logmel import LogMelParams

    train, defaults = _train(), ActedEvaluationConfig()
    return [*_default_settings("features.extractor."), Expect("features.clip_seconds", DEFAULT_CLIP_SECONDS),
            Expect("features.log_mel", LogMelParams().to_dict()), *_default_weights(),
            Expect("config.probe_heads", list(defaults.probe_heads)),
            Expect("config.dense_head", defaults.head_config.to_dict()),
            Expect("config.logistic_head", train["head"]), Expect("config.standardise", train["standardise"]),
            Expect("config.n_bootstrap", defaults.n_bootstrap), Expect("config.seed", defaults.seed),
            *_labels("zero_shot.trained_on."), Expect("zero_shot.train_config", train),
            *_valence_map("valence_map.name")]


def label_quality() -> list[Expect]:
    from weaklabel.label_quality import DEFAULT_BANDS
    from weaklabel.policies import DEFAULT_POLICY, ORIGINAL_POLICY, POLICIES, default_band

    return [Expect("default_policy", DEFAULT_POLICY), Expect("default_neutral_band", default_band(DEFAULT_POLICY)),
            Expect("original_policy", ORIGINAL_POLICY),
            Expect("rows", _policy_names(), project=lambda rows: sorted({r["policy"] for r in rows}),
                   fresh=lambda names: [{"policy": n, "neutral_band": b} for n in names for b in DEFAULT_BANDS]),
            Expect("rows", list(DEFAULT_BANDS), project=lambda rows: sorted({r["neutral_band"] for r in rows}),
                   fresh=lambda bands: [{"policy": n, "neutral_band": b} for n in _policy_names() for b in bands]),
            *_scorer_versions("scorers."),
            *(Expect(f"label_models.{name}.sha256", POLICIES[name].label_model.sha256)
              for name in ("calibrated", "lexicon"))]


def text_teacher() -> list[Expect]:
    from benchmarks.text_teacher import BANDS, POOL

    return [Expect("shipped", _shipped_teacher()), Expect("training_sets", list(POOL)),
            Expect("evaluations.meld_dev", list(BANDS), project=lambda rows: sorted({r["neutral_band"] for r in rows}),
                   fresh=lambda bands: [{"neutral_band": b} for b in bands])]


def weak_supervision() -> list[Expect]:
    from dataclasses import asdict

    from transfer.features import EmbeddingConfig
    from evaluation.weak_benchmark import DEFAULT_MATCH_PROBABILITIES, WeakSupervisionConfig, recipes
    from weaklabel.logmel import LogMelParams
    from weaklabel.policies import DEFAULT_POLICY

    defaults = WeakSupervisionConfig(roots=(), sentences="")
    def extractor(model) -> str:  # what each recipe's features resolve to where every extractor runs
        return _default_features() if model.embedding.features == "auto" else model.embedding.features

    recorded = [{"name": r.name, "policy": r.policy, "description": r.description, "model": r.model.to_dict(),
                 "extractor": extractor(r.model)} for r in recipes(features=defaults.features)]
    keys = ("name", "policy", "description", "model")
    # the band is the policy's own (None), each recipe's description naming the band it used
    return [Expect("config.policy", DEFAULT_POLICY),
            Expect("config.neutral_band", WeakSupervisionConfig.__dataclass_fields__["neutral_band"].default),
            Expect("config.model", _train()), Expect("config.embedding", asdict(EmbeddingConfig())),
            Expect("config.features", list(defaults.features)),
            Expect("config.probabilities", list(DEFAULT_MATCH_PROBABILITIES)),
            Expect("recipes", recorded,
                   project=lambda rs: [{**{k: r.get(k) for k in keys},
                                        "extractor": (r.get("features") or {}).get("name")} for r in rs],
                   fresh=lambda rs: [{**{k: r[k] for k in keys}, "features": {"name": r["extractor"]}} for r in rs]),
            *_default_weights(), Expect("log_mel", LogMelParams().to_dict()), *_valence_map("valence_map.name")]


def weak_levers() -> list[Expect]:
    from benchmarks.weak_levers import configurations
    from weaklabel.logmel import LogMelParams

    rows = [{"lever": name, "policy": policy, "noise": noise, "config": config.to_dict(), "n_mels": n_mels}
            for name, _group, policy, config, noise, n_mels in configurations()]
    keys = ("lever", "policy", "noise", "config", "n_mels")
    return [Expect("rows", rows, project=lambda rs: [{k: r.get(k) for k in keys} for r in rs]),
            Expect("log_mel", LogMelParams().to_dict()), *_valence_map("valence_map.name")]


def weak_features(c_grid=None, variants=None) -> list[Expect]:
    """The feature benchmark: its teacher, grid, references, the default valence map with its table, every row's
    extractor at the registry's version, and the product defaults it was read against."""
    from benchmarks.weak_features import C_GRID, NAIVE_WHISPER, REFERENCE, VARIANTS, product_defaults, variant_config
    from transfer.features import get_extractor
    from evaluation.acted_corpora import DEFAULT_VALENCE_MAP, VALENCE_MAPS

    variants = VARIANTS if variants is None else variants
    return [*_labels(""), Expect("c_grid", list(C_GRID if c_grid is None else c_grid)),
            Expect("reference", {"features": REFERENCE[0], "C": REFERENCE[1]}),
            Expect("naive_whisper", NAIVE_WHISPER),
            Expect("valence_maps", [DEFAULT_VALENCE_MAP], project=sorted, fresh=lambda names: {n: {} for n in names}),
            Expect(f"valence_maps.{DEFAULT_VALENCE_MAP}.table", VALENCE_MAPS[DEFAULT_VALENCE_MAP]),
            Expect("features", sorted(variants), project=sorted, fresh=lambda names: {n: {} for n in names}),
            *(Expect(f"features.{name}.version", get_extractor(variant_config(name).features).version)
              for name in variants),
            Expect("product_default", product_defaults())]


def weak_features_curve() -> list[Expect]:
    """The feature benchmark at the other p: the default map, C = 1e-3 and 1e-2, VGG16 and the padded inputs."""
    from benchmarks.weak_features import CURVE_VARIANTS

    return weak_features(c_grid=[1e-3, 1e-2], variants=CURVE_VARIANTS)


def layer_comparison() -> list[Expect]:
    from benchmarks.compare_layers import LAYERS, recipe_record

    return [Expect("results", list(LAYERS), project=lambda rs: [r["layer"] for r in rs],
                   fresh=lambda layers: [{"layer": layer} for layer in layers]),
            Expect("recipe", recipe_record()), *_labels("demo_labels."), *_weights()]


def speed() -> list[Expect]:
    from transfer.features.vgg16 import DEFAULT_JIT, DEFAULT_LAYER
    from weaklabel.logmel import LogMelParams

    mel = LogMelParams()
    from transfer.features.precision import DEFAULT_PRECISION, resolve_precision

    return [Expect("sections.embedding.default.layer", DEFAULT_LAYER),
            Expect("sections.embedding.default.precision", DEFAULT_PRECISION, project=_requested_precision,
                   fresh=lambda p: resolve_precision(p).precision),
            Expect("sections.embedding.default.jit", DEFAULT_JIT),
            Expect("sections.quality.default", {"layer": DEFAULT_LAYER, "n_mels": mel.n_mels,
                                                "hop_length": mel.hop_length}), *_weights()]


def embed_precision() -> list[Expect]:
    from benchmarks.embed_precision import PATHS
    from transfer.features.precision import DEFAULT_PRECISION
    from transfer.features.vgg16 import DEFAULT_FRAMES, DEFAULT_LAYER, DEFAULT_N_BANDS

    return [Expect("defaults", {"precision": DEFAULT_PRECISION, "frames": DEFAULT_FRAMES}),
            Expect("settings.layer", DEFAULT_LAYER), Expect("settings.n_bands", DEFAULT_N_BANDS),
            Expect("settings.batch_size", 16),
            Expect("rows", [list(p) for p in PATHS], project=lambda rows: [[r["precision"], r["frames"]] for r in rows],
                   fresh=lambda paths: [{"precision": p, "frames": f} for p, f in paths]), *_weights()]


def embed_pipeline() -> list[Expect]:
    """pipelines.embed end to end: its paths, read against the embedding defaults."""
    from dataclasses import asdict

    from benchmarks.embed_pipeline import PATHS
    from transfer.features import EmbeddingConfig

    return [Expect("rows", [[name, list(arguments)] for name, arguments in PATHS],
                   project=lambda rows: [[r["name"], r["arguments"]] for r in rows],
                   fresh=lambda paths: [{"name": n, "arguments": a} for n, a in paths]),
            Expect("defaults", asdict(EmbeddingConfig()))]


def embed_precision_weak() -> list[Expect]:
    """VGG16's arithmetic on weak labels: the default recipe with VGG16 on its reference path (float32 over whole
    clips) against its defaults, the default policy and valence map, at p = 0.75."""
    from transfer.features import EmbeddingConfig
    from transfer.training import TrainConfig
    from weaklabel.policies import DEFAULT_POLICY

    reference = EmbeddingConfig(features="vgg16").updated(vgg16={"precision": "float32", "frames": "full"})
    return [Expect("train_config", TrainConfig(embedding=reference).to_dict()),
            Expect("policy", DEFAULT_POLICY), Expect("p", 0.75), *_weights(), *_valence_map("valence_map")]


def demo_report() -> list[Expect]:
    from weaklabel.audio import DEFAULT_CLIP_SECONDS
    from weaklabel.logmel import LogMelParams

    return [*_labels("build."), Expect("build.clip_seconds", DEFAULT_CLIP_SECONDS),
            Expect("build.mel", LogMelParams().to_dict()), Expect("train", _train())]


def export_results() -> list[Expect]:
    from weaklabel.exporting import ExportConfig
    from weaklabel.exporting.config import EXPORT_FORMAT_VERSION

    defaults = {k: v for k, v in ExportConfig(format="hf").to_dict().items() if k != "format"}
    return [Expect("export_format_version", EXPORT_FORMAT_VERSION), Expect("config", defaults)]


def transcription() -> list[Expect]:
    """pipelines.transcribe per setting, read against the transcription defaults."""
    from weaklabel.transcription import TranscriptionSettings

    return [Expect("defaults", TranscriptionSettings().to_dict())]


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def read_report(path: Path) -> dict:
    from reporting.report import read_configuration

    return read_configuration(path.read_text(encoding="utf-8")) or {}


#: Every committed result: (file, how to read its configuration, the checks).
COMMITTED = [
    ("reports/acted-ravdess/acted_evaluation.json", read_json, acted_evaluation),
    ("reports/label_quality-meld_dev_sent_emo/label_quality.json", read_json, label_quality),
    ("reports/text_teacher.json", read_json, text_teacher),
    ("reports/weak_supervision/weak_supervision.json", read_json, weak_supervision),
    ("reports/weak_supervision_levers/levers.json", read_json, weak_levers),
    ("reports/weak_supervision_features/features.json", read_json, weak_features),
    ("reports/weak_supervision_features/curve/features.json", read_json, weak_features_curve),
    ("reports/layer_comparison.json", read_json, layer_comparison),
    ("reports/benchmarks.json", read_json, speed),
    ("reports/embed_precision.json", read_json, embed_precision),
    ("reports/embed_pipeline/embed_pipeline.json", read_json, embed_pipeline),
    ("reports/embed_precision_weak/comparison.json", read_json, embed_precision_weak),
    ("reports/demo/index.html", read_report, demo_report),
    ("reports/export/export_check.json", read_json, export_results),
    ("reports/export/export_benchmark.json", read_json, export_results),
    ("reports/transcription/transcription.json", read_json, transcription),
]


def stale_message(path: str, found: list[str]) -> str:
    producer = refresh.producer_of(path)
    command = refresh.refresh_command(producer.name) if producer else "python -m benchmarks.refresh"
    return (f"{path} is stale: it records another configuration than the code's defaults; regenerate it with "
            f"`{command}`:\n  " + "\n  ".join(found))


# ----------------------------------------------------------------------------------------------- the tests

@pytest.mark.parametrize("path, read, expectations", COMMITTED, ids=[c[0] for c in COMMITTED])
def test_committed_result_records_the_current_defaults(path, read, expectations):
    found = problems(read(REPO_ROOT / path), expectations())
    assert not found, stale_message(path, found)


@pytest.mark.parametrize("path, read, expectations", COMMITTED, ids=[c[0] for c in COMMITTED])
def test_every_check_can_fail(path, read, expectations):
    """A copy made fresh passes; the same copy with any one checked value changed fails, naming it."""
    checks = expectations()
    fresh = freshened(read(REPO_ROOT / path), checks)
    assert problems(fresh, checks) == []
    for e in checks:
        stale = copy.deepcopy(fresh)
        _set(stale, e.path, {"stale": True} if e.project is None else [])
        found = problems(stale, checks)
        assert any(line.startswith(f"{e.path}:") for line in found), (path, e.path, found)


def test_a_stale_acted_evaluation_names_the_file_and_the_command():
    path = "reports/acted-ravdess/acted_evaluation.json"
    checks = acted_evaluation()
    record = freshened(read_json(REPO_ROOT / path), checks)
    record["zero_shot"]["train_config"]["head"]["C"] = 0.5
    found = problems(record, checks)
    assert [line.split(":")[0] for line in found] == ["zero_shot.train_config"]
    message = stale_message(path, found)
    assert path in message and "python -m benchmarks.refresh --only acted-ravdess" in message


def test_a_text_teacher_report_of_other_shipped_weights_is_stale():
    checks = text_teacher()
    record = freshened(read_json(REPO_ROOT / "reports/text_teacher.json"), checks)
    record["shipped"]["weaklabel/label_models/lexicon.json"] = "0" * 64
    assert [line.split(":")[0] for line in problems(record, checks)] == ["shipped"]


def test_the_acted_evaluation_markdown_is_rendered_from_its_json():
    from evaluation.acted import evaluation_markdown

    folder = REPO_ROOT / "reports/acted-ravdess"
    assert (folder / "acted_evaluation.md").read_text(encoding="utf-8") == \
        evaluation_markdown(read_json(folder / "acted_evaluation.json")), \
        stale_message("reports/acted-ravdess/acted_evaluation.md", ["the Markdown differs from its JSON's rendering"])


@pytest.mark.parametrize("stem, render", [("export_check", "benchmarks.export_check:check_markdown"),
                                           ("export_benchmark", "benchmarks.export_benchmark:benchmark_markdown")])
def test_the_export_reports_markdown_is_rendered_from_its_json(stem, render):
    import importlib

    module, function = render.split(":")
    folder = REPO_ROOT / "reports/export"
    assert (folder / f"{stem}.md").read_text(encoding="utf-8") == \
        getattr(importlib.import_module(module), function)(read_json(folder / f"{stem}.json")), \
        stale_message(f"reports/export/{stem}.md", ["the Markdown differs from its JSON's rendering"])


def test_the_embed_precision_weak_markdown_is_rendered_from_its_json():
    from benchmarks.embed_precision_weak import markdown

    folder = REPO_ROOT / "reports/embed_precision_weak"
    assert (folder / "comparison.md").read_text(encoding="utf-8") == markdown(read_json(folder / "comparison.json")), \
        stale_message("reports/embed_precision_weak/comparison.md", ["the Markdown differs from its JSON's rendering"])


def test_the_embed_precision_markdown_is_rendered_from_its_json():
    from benchmarks.embed_precision import markdown

    path = "reports/embed_precision.md"
    rendered = markdown(read_json(REPO_ROOT / "reports/embed_precision.json"))
    assert (REPO_ROOT / path).read_text(encoding="utf-8") == rendered, \
        stale_message(path, ["the Markdown differs from its JSON's rendering"])


def test_the_report_configuration_reads_back():
    """What render_report writes in its footer is what read_configuration returns, and it is checkable."""
    from reporting.html import esc
    from reporting.report import CONFIGURATION_ID, read_configuration, report_configuration
    from transfer.training import TrainConfig
    from weaklabel.audio import DEFAULT_CLIP_SECONDS
    from weaklabel.config import BuildConfig
    from weaklabel.logmel import LogMelParams
    from weaklabel.policies import DEFAULT_POLICY, default_band

    config = BuildConfig("manifest", "corpus.csv", policy=DEFAULT_POLICY, neutral_band=default_band(DEFAULT_POLICY),
                         clip_seconds=DEFAULT_CLIP_SECONDS, mel=LogMelParams(), seed=0)
    inputs = SimpleNamespace(build=SimpleNamespace(config=config), metrics=SimpleNamespace(train_config=_train()), model_meta=None)
    config = report_configuration(inputs)
    html = f'<footer><pre id="{CONFIGURATION_ID}">{esc(json.dumps(config, sort_keys=True))}</pre></footer>'
    assert read_configuration(html) == _plain(config)
    assert problems(read_configuration(html), demo_report()) == []
    stale = copy.deepcopy(config)
    stale["train"] = _plain(replace(TrainConfig(), standardise="none").to_dict())
    assert [line.split(":")[0] for line in problems(stale, demo_report())] == ["train"]
    assert read_configuration("<html>a report from before the configuration was recorded</html>") is None


def test_every_committed_file_is_refreshed_and_checked():
    """Each file under reports/ is written by a registry entry, and each result file has a check here."""
    committed = sorted(str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / "reports").rglob("*") if p.is_file())
    assert committed, "no committed results found"
    unowned = [p for p in committed if refresh.producer_of(p) is None]
    assert not unowned, f"files in reports/ that no entry of benchmarks.refresh.REGISTRY regenerates: {unowned}"
    checked = {refresh.producer_of(path).name for path, _, _ in COMMITTED}
    assert {r.name for r in refresh.REGISTRY if r.committed} == checked


def test_registry_order_is_a_dependency_order():
    refresh.check_order()
    names = [r.name for r in refresh.REGISTRY]
    assert names.index("label-quality") < names.index("acted-ravdess") < names.index("demo-report")
    assert names.index("demo-model") < names.index("acted-ravdess")
    assert set(refresh.needs(refresh.by_name("demo-report"))) >= {"label-quality", "acted-ravdess", "weak-supervision"}
    bad = (refresh.Result("b", ("x",), ("m",), inputs=("y",)), refresh.Result("a", ("y",), ("m",)))
    with pytest.raises(ValueError, match="b needs a"):
        refresh.check_order(bad)


def test_refresh_skips_missing_data_and_stops_at_a_failure(tmp_path):
    """Without real data the data entries are skipped and the rest runs; a failed entry blocks what needs it."""
    calls = []

    def runner(argv, cwd):
        calls.append(argv[2])
        return 1 if argv[2] == "pipelines.run" and "--evaluation" not in argv else 0

    quick = refresh.select(None, include_long=False)
    assert [r.name for r in quick] == ["label-quality", "demo-model", "acted-ravdess", "demo-report"]
    for result in quick:  # the committed inputs of the demo report are there
        for path in result.inputs:
            if path.startswith("reports/"):
                (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
                (tmp_path / path).write_text("{}")
    status = refresh.run(quick, "no-such-data", runner=runner, root=tmp_path, log=lambda *a, **k: None)
    assert status["label-quality"].startswith("skipped: real data missing (no-such-data/meld_dev_sent_emo.csv")
    assert status["acted-ravdess"].startswith("skipped: real data missing")
    assert status["demo-model"] == "failed (exit 1)"
    assert status["demo-report"] == "ok" and calls == ["pipelines.run", "pipelines.run"]

    (tmp_path / "data" / "ravdess_actors_01-06").mkdir(parents=True)
    (tmp_path / "data" / "ravdess_actors_07-12").mkdir(parents=True)
    status = refresh.run([refresh.by_name("acted-ravdess")], "data", runner=runner, root=tmp_path,
                         log=lambda *a, **k: None)
    assert status == {"acted-ravdess": "not run: missing build/demo/model (--only demo-model)"}
    assert refresh.main(["--only", "no-such-entry"]) == 2


#: An absolute path of someone's machine: a home, the temporary folder, a work or mount point (issue 22, item 8).
LOCAL_PATH = re.compile(r"(?<![\w.~:/-])/(?:work|home|root|tmp|Users|mnt|private|var/folders)/|\b[A-Z]:\\\\Users\\\\")


def test_no_committed_result_holds_an_absolute_local_path():
    """The committed results read the same on every machine: paths relative to the checkout, ~ for the home."""
    found = []
    for path in sorted((REPO_ROOT / "reports").rglob("*")):
        if path.is_file():
            for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                for match in LOCAL_PATH.finditer(line):
                    context = line[max(0, match.start() - 40):match.end() + 40]
                    found.append(f"{path.relative_to(REPO_ROOT)}:{number}: ...{context}...")
    assert not found, "absolute local paths in committed results:\n  " + "\n  ".join(found[:20])


def test_the_local_path_check_can_fail():
    assert LOCAL_PATH.search('"corpus": "/work/main/build/bench-corpus"')
    assert LOCAL_PATH.search("weights /root/.cache/weaklabel/x.h5") and LOCAL_PATH.search("at /home/ann/x")
    assert LOCAL_PATH.search("C:\\\\Users\\\\ann\\\\x") and LOCAL_PATH.search("(/tmp/pytest-of-root/x)")
    assert not LOCAL_PATH.search("build/demo/model ~/.cache/weaklabel/x.h5 ../shared/data/ravdess https://x.org/tmp/")


def test_the_committed_training_configurations_do_not_depend_on_the_machine(monkeypatch):
    """A record holds the training configuration as given (``auto`` stays ``auto``; what it resolved to on the
    machine that measured is recorded beside it), so a check made on a CPU where ``auto`` resolves otherwise (here:
    oneDNN off, float32) finds nothing stale, while any other recorded value is still compared."""
    from transfer.training import TrainConfig

    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
    recorded = TrainConfig().to_dict()["embedding"]
    assert recorded["features"] == "auto" and recorded["vgg16"]["precision"] == "auto"
    for path, read, expectations in COMMITTED:
        found = problems(read(REPO_ROOT / path), expectations())
        assert not found, stale_message(path, found)
    record = read_json(REPO_ROOT / "reports/weak_supervision/weak_supervision.json")
    record["config"]["model"]["embedding"]["vgg16"]["frames"] = "full"
    assert [line.split(":")[0] for line in problems(record, weak_supervision())] == ["config.model"]
