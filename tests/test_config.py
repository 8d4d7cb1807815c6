"""Configs declared once (foundation.config): every option documented, help showing the field's own default,
command lines and config files generated from the dataclasses."""
import dataclasses
import importlib
import re
import types
import typing
from pathlib import Path

import pytest

from foundation.config import ConfigError, field_options, make_config, options, table_values, to_toml
from foundation.executor import ExecutorConfig
from reporting.report import ReportConfig
from evaluation.acted import ActedEvaluationConfig
from transfer.embedding import EmbedConfig
from transfer.features.vgg16 import DEFAULT_LAYER, VGG16Options
from transfer.model import PredictConfig
from transfer.training import TrainConfig, TrainOptions
from evaluation.weak_benchmark import WeakSupervisionConfig
from weaklabel.config import TRANSCRIPTION_FLAGS, TRANSCRIPTION_NOT_ON_COMMAND_LINE, BuildConfig
from weaklabel.logmel import LogMelParams
from weaklabel.label_quality import LabelQualityConfig

from .conftest import REPO_ROOT

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

#: Each command and the config classes its options come from.
STEPS = {
    "build_dataset": (BuildConfig, ExecutorConfig), "embed": (EmbedConfig, ExecutorConfig),
    "train": (TrainConfig, TrainOptions), "report": (ReportConfig,), "evaluate_acted": (ActedEvaluationConfig,),
    "label_quality": (LabelQualityConfig,), "weak_supervision": (WeakSupervisionConfig,),
    "predict": (PredictConfig,),
    "run": (BuildConfig, EmbedConfig, TrainConfig, TrainOptions, ExecutorConfig),
}


@pytest.fixture(autouse=True)
def _wide_help(monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # argparse wraps at hyphens: one line per option


def _help_blocks(module: str) -> dict[str, str]:
    """Each option's help entry in ``module``'s --help, by every flag it has, whitespace normalised."""
    text = importlib.import_module(f"pipelines.{module}").command_line().parser.format_help()
    blocks, current = {}, None
    for line in text.splitlines():
        if re.match(r"^  -", line):
            current = [line]
            for flag in re.findall(r"(?:^|, )(--?[\w-]+)", line.strip()):
                blocks[flag] = current
        elif current is not None and line.startswith("   "):
            current.append(line)
        else:
            current = None
    return {flag: " ".join(" ".join(lines).split()) for flag, lines in blocks.items()}


def _default_in(block: str) -> str | None:
    found = re.search(r"\(default: ([^()]*(?:\([^()]*\)[^()]*)*)\)$", block)
    return found.group(1) if found else None


def _expected(value) -> set[str]:
    if isinstance(value, tuple):
        return {",".join(map(str, value)), " ".join(map(str, value))}
    return {str(value)}


def _config_classes():
    seen, todo = [], [c for classes in STEPS.values() for c in classes]
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.append(cls)
        todo += [t for t in typing.get_type_hints(cls).values() if isinstance(t, type) and dataclasses.is_dataclass(t)]
    assert LogMelParams in seen
    return seen


@pytest.mark.parametrize("cls", _config_classes(), ids=lambda c: c.__name__)
def test_every_config_field_has_help(cls):
    for field in dataclasses.fields(cls):
        described = field_options(field)
        assert described is not None and described["help"].strip(), f"{cls.__name__}.{field.name} has no help"


@pytest.mark.parametrize("module", sorted(STEPS))
def test_help_shows_every_option_with_its_fields_current_default(module):
    blocks = _help_blocks(module)
    for cls in STEPS[module]:
        for opt in options(cls):
            dotted = ".".join(opt.path)
            if cls is BuildConfig and dotted in TRANSCRIPTION_NOT_ON_COMMAND_LINE:
                assert f"--{opt.name.replace('_', '-')}" not in blocks, (module, dotted)  # TOML only
                continue
            flag = opt.flag if not (module == "run" and opt.path == ("out",)) else "--report"
            flag = TRANSCRIPTION_FLAGS.get(dotted, flag) if cls is BuildConfig else flag
            if module == "run" and flag not in blocks:  # the training's embedding and seed are shared options
                assert opt.path[0] == "embedding" or opt.name == "seed", flag
                continue
            assert flag in blocks, f"{module}: {flag} missing from --help"
            shown = _default_in(blocks[flag])
            if opt.meta["default_text"] is not None:
                assert shown == opt.meta["default_text"], (module, flag, shown)
                continue
            default = opt.meta["cli_default"] if opt.default is dataclasses.MISSING else opt.default
            if opt.is_bool or opt.required or default in (None, (), dataclasses.MISSING):
                assert shown is None, (module, flag, shown)
            elif module != "run" or cls is not TrainConfig:  # run: the shared --seed shows the build's
                assert shown in _expected(default), (module, flag, shown, default)


def test_a_changed_default_shows_in_the_help(monkeypatch):
    layer = {f.name: f for f in dataclasses.fields(VGG16Options)}["layer"]
    monkeypatch.setattr(layer, "default", "block4_conv3")
    assert _default_in(_help_blocks("train")["--layer"]) == "block4_conv3"
    clip = {f.name: f for f in dataclasses.fields(BuildConfig)}["clip_seconds"]
    monkeypatch.setattr(clip, "default", 9.5)
    assert _default_in(_help_blocks("build_dataset")["--clip-seconds"]) == "9.5"


def test_the_stale_layer_help_cannot_return():
    # evaluate_acted once patched its help by hand and said block3_conv3 after the default had moved on;
    # pipelines.train's docstring said the same. Both now follow transfer.features.vgg16.DEFAULT_LAYER.
    assert _default_in(_help_blocks("evaluate_acted")["--layer"]) == DEFAULT_LAYER
    assert _default_in(_help_blocks("train")["--layer"]) == DEFAULT_LAYER
    from pipelines import train

    default_sentence = train.__doc__.split("The default model")[1].split(".")[0]
    assert "block" not in default_sentence, default_sentence
    for path in sorted((REPO_ROOT / "pipelines").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        for internal in ("._actions", "_action_groups", "_add_action", "_option_string_actions", "_group_actions",
                         "set_defaults("):
            assert internal not in source, f"{path.name} uses argparse's {internal}"


# ---------------------------------------------------------------------------------------- foundation.config
def test_command_line_values_build_the_config_with_nested_fields_and_followers():
    from pipelines import build_dataset

    args, values = build_dataset.command_line().parse(["--root", "x", "--out", "o", "--n-fft", "2048",
                                                       "--split", "0.6,0.2,0.2", "--allow-empty-splits"])
    config = make_config(BuildConfig, values["build"])
    assert config.corpus == "auto"  # cli_default
    assert (config.mel.n_fft, config.mel.win_length, config.mel.n_mels) == (2048, 2048, 128)  # follows n_fft
    assert config.split_fractions == (0.6, 0.2, 0.2) and config.allow_empty_splits
    assert make_config(BuildConfig, root="x") == BuildConfig(corpus="auto", root="x")


def test_tables_nested_or_flat_and_unknown_keys_named():
    nested = table_values({"t": TrainConfig}, {"head": {"kind": "dense", "C": 1}, "seed": 2}, "[train]")
    flat = table_values({"t": TrainConfig}, {"kind": "dense", "C": 1, "seed": 2}, "[train]")
    assert nested == flat
    config = make_config(TrainConfig, nested["t"])
    assert config.head.kind == "dense" and config.head.C == 1.0 and isinstance(config.head.C, float)
    with pytest.raises(ConfigError, match=r"unknown keys in \[train\]: sed, head.kindd "
                                          r"\(known: embedding.batch_size, embedding.features, "):
        table_values({"t": TrainConfig}, {"sed": 1, "head": {"kindd": "x"}}, "[train]")
    with pytest.raises(ConfigError, match=r"\[train\] head.kind: 'big' is not one of logistic, dense"):
        table_values({"t": TrainConfig}, {"kind": "big"}, "[train]")
    with pytest.raises(ConfigError, match="expected an integer"):
        table_values({"t": TrainConfig}, {"seed": 1.5}, "[train]")
    values = table_values({"b": BuildConfig}, {"split_fractions": "0.5,0.25,0.25", "root": "r"}, "[build]")["b"]
    assert make_config(BuildConfig, values).split_fractions == (0.5, 0.25, 0.25)


def test_to_toml_reads_back():
    data = {"out": "a \"quoted\" ü", "t": {"x": 1.0, "tiny": 1e-10, "flag": False, "items": ["a", "b"],
                                           "none": None, "sub": {"n": 3}}}
    back = tomllib.loads(to_toml(data))
    assert back == {"out": "a \"quoted\" ü", "t": {"x": 1.0, "tiny": 1e-10, "flag": False, "items": ["a", "b"],
                                                   "sub": {"n": 3}}}


def test_the_demo_build_config_from_the_command_line_keeps_its_fingerprint():
    from pipelines import build_dataset

    recorded = Path(build_dataset.DEMO_OUT_DIR) / "build.json"
    if not recorded.is_file() or not (build_dataset.DEMO_CORPUS_DIR / "demo_folds.json").is_file():
        pytest.skip("no demo build in build/demo")
    import json

    args, values = build_dataset.command_line().parse([])
    config, out, demo, _ = build_dataset.build_config(values["build"], args.out)
    assert demo and out == build_dataset.DEMO_OUT_DIR
    from weaklabel.config import config_fingerprint

    assert config.fingerprint() == config_fingerprint(json.loads(recorded.read_text())["config"])


# ------------------------------------------------------------------------------------ value ranges (issue 21)
def _numeric_fields():
    """(config class, field, its number type) for every numeric field declared with :func:`option`."""
    found = []
    for cls in _config_classes():
        hints = typing.get_type_hints(cls)
        for field in dataclasses.fields(cls):
            tp = hints[field.name]
            base = typing.get_args(tp)[0] if typing.get_origin(tp) in (typing.Union, types.UnionType) else tp
            if typing.get_origin(base) is tuple:
                base = typing.get_args(base)[0]
            if base in (int, float) and field_options(field) is not None:
                found.append((cls, field, base))
    return found


def _required(cls) -> dict:
    """Values for the fields of ``cls`` that have no default."""
    hints = typing.get_type_hints(cls)
    return {f.name: (("x",) if typing.get_origin(hints[f.name]) is tuple else "x") for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}


def _bad_values(meta: dict, number: type) -> list:
    bad = [float("nan"), float("inf"), float("-inf")] if number is float else []
    for key, step in (("minimum", -1), ("exclusive_minimum", 0), ("maximum", 1), ("exclusive_maximum", 0)):
        if meta[key] is not None:
            bad.append(number(meta[key] + step) if number is int or step else number(meta[key]))
    return bad


NUMERIC_FIELDS = _numeric_fields()


def test_every_numeric_option_declares_its_range():
    assert len(NUMERIC_FIELDS) > 40
    for cls, field, _ in NUMERIC_FIELDS:
        meta = field_options(field)
        assert meta["minimum"] is not None or meta["exclusive_minimum"] is not None, f"{cls.__name__}.{field.name}"


@pytest.mark.parametrize("cls,field,number", NUMERIC_FIELDS,
                         ids=lambda x: getattr(x, "name", getattr(x, "__name__", "")))
def test_values_out_of_range_are_refused_when_a_config_is_made(cls, field, number):
    meta = field_options(field)
    default = cls(**_required(cls))
    for bad in _bad_values(meta, number):
        value = tuple(bad for _ in getattr(default, field.name)) if isinstance(getattr(default, field.name), tuple) \
            else bad
        with pytest.raises(ValueError, match=field.name):
            dataclasses.replace(default, **{field.name: value})


@pytest.mark.parametrize("module", sorted(STEPS))
def test_the_command_line_and_config_files_refuse_them_in_one_line(module, capsys):
    # Issue 21, item 6: --clip-seconds inf, --n-mels 0, --hop-length 0 gave tracebacks; --split nan,0.5,0.5 wrote
    # NaN into build.json. Every numeric option of every step: "error: --option: ...", exit status 2.
    cli = importlib.import_module(f"pipelines.{module}").command_line()
    required = [token for cls in STEPS[module] for opt in options(cls) if opt.required and opt.flag in
                _help_blocks(module) for token in (opt.flag, "x")]
    required += {"label_quality": ["--csv", "x"], "predict": ["--model", "x", "x.wav"]}.get(module, [])
    checked = 0
    for cls in STEPS[module]:
        for opt in options(cls):
            base = _element_type_of(opt)
            if base not in (int, float) or opt.meta["parse"] is not None or opt.flag not in _help_blocks(module):
                continue
            for bad in _bad_values(opt.meta, base):
                with pytest.raises(SystemExit) as exited:
                    cli.parse([*required, f"{opt.flag}={bad}"])
                err = capsys.readouterr().err
                assert exited.value.code == 2 and err.startswith(f"error: {opt.flag}: ") and err.count("\n") == 1, err
                with pytest.raises(ConfigError, match=opt.name):
                    table_values({"t": cls}, _nested(opt.path, bad), "[t]")
                checked += 1
    assert checked or module == "report"  # the report has no numeric option


def _element_type_of(opt):
    tp = opt.type
    tp = typing.get_args(tp)[0] if typing.get_origin(tp) in (typing.Union, types.UnionType) else tp
    return typing.get_args(tp)[0] if typing.get_origin(tp) is tuple else tp


def _nested(path, value):
    for name in reversed(path):
        value = {name: value}
    return value


@pytest.mark.parametrize("argv", [["--clip-seconds", "inf"], ["--n-mels", "0"], ["--hop-length", "0"],
                                  ["--split", "nan,0.5,0.5"], ["--split", "-0.5,0.75,0.75"], ["--clip-seconds", "nan"],
                                  ["--workers", "0"], ["--dask-timeout", "0"], ["--seed", "-1"]])
def test_the_build_refuses_the_values_of_issue_21(argv, small_mosei, tmp_path, capsys):
    from pipelines import build_dataset

    with pytest.raises(SystemExit) as exited:
        build_dataset.main(["--root", str(small_mosei), "--out", str(tmp_path / "o"), "--quiet", "=".join(argv)])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and err.startswith(f"error: {argv[0]}: ") and err.count("\n") == 1, err
    assert not (tmp_path / "o").exists()


def test_a_config_is_kept_as_declared_and_resolved_once(tmp_path):
    from weaklabel.config import fall_back, resolve_build_config
    from weaklabel.policies import AUTO_POLICY, FALLBACK_POLICY, default_band

    declared = BuildConfig("manifest", "corpus.csv")
    assert declared.policy == AUTO_POLICY and declared.neutral_band is None and not declared.resolved
    resolved = resolve_build_config(declared)
    assert resolved.resolved and resolved.neutral_band == default_band(resolved.policy)
    assert resolve_build_config(resolved) == resolved
    assert declared.to_dict() == resolved.to_dict()  # a record is always the resolved configuration
    fallen = fall_back(declared, "the e5 scorer failed")
    assert (fallen.policy, fallen.policy_fallback) == (FALLBACK_POLICY, "the e5 scorer failed")
    assert fallen.neutral_band == default_band(FALLBACK_POLICY)
    assert fall_back(BuildConfig("manifest", "c.csv", neutral_band=0.3), "x").neutral_band == 0.3  # a band given stays
    assert fall_back(BuildConfig("manifest", "c.csv", policy="mean"), "x") is None  # asked for by name: no fallback


def test_a_label_model_file_is_read_when_resolved_not_when_declared(tmp_path):
    from weaklabel.config import resolve_build_config

    missing = tmp_path / "moved.json"
    declared = BuildConfig("manifest", "c.csv", policy="calibrated", label_model=str(missing), neutral_band=0.3)  # no file read
    with pytest.raises((ValueError, OSError)):
        resolve_build_config(declared)
    with pytest.raises(ValueError, match="calibrated policy its model"):
        resolve_build_config(BuildConfig("manifest", "c.csv", policy="mean", label_model=str(missing)))
    with pytest.raises(ValueError, match="unknown labelling policy"):
        resolve_build_config(BuildConfig("manifest", "c.csv", policy="a_future_policy"))
