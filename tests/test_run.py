"""pipelines.run: build -> embed -> train -> report in one command, resuming finished steps; --config files."""
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from foundation.config import to_toml
from pipelines import build_dataset, embed, report, run, train
from transfer import training
from transfer.head import HeadConfig
from transfer.training import TrainConfig

from .conftest import REPO_ROOT, embedding_config

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

TINY = ["--n-mels", "32", "--workers", "1", "--features", "vgg16", "--weights", "random", "--max-epochs", "3",
        "--patience", "2", "--bootstrap", "50"]


def test_run_builds_trains_reports_then_resumes(small_mosei, tmp_path, capsys):
    out, html = tmp_path / "ds", tmp_path / "report" / "index.html"
    argv = ["--root", str(small_mosei), "--out", str(out), "--report", str(html), *TINY]
    assert run.main(argv) == 0
    first = capsys.readouterr().out
    assert [line for line in first.splitlines() if line.startswith("[")] == \
        ["[1/4] build", "[2/4] embed", "[3/4] train", "[4/4] report"]
    assert html.is_file() and "<h2>4. The model</h2>" in html.read_text(encoding="utf-8")
    assert 'id="not-run-model"' not in html.read_text(encoding="utf-8")
    assert "Report: " in first and html.resolve().as_uri() in first
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["weights"]["source"] == "random" and metrics["head_training"]["config"]["max_epochs"] == 3
    # The model keeps its head's test metrics, which predict reports beside its scores.
    test = metrics["against_weak_labels"]["head"]["test"]
    recorded_test = json.loads((out / "model" / "model.json").read_text())["test_metrics"]["against_weak_labels"]
    assert recorded_test == {k: test.get(k) for k in ("roc_auc", "roc_auc_ci95", "n", "n_positive", "n_groups",
                                                      "not_a_result")}
    model_mtime = (out / "model" / "head.keras").stat().st_mtime_ns
    # The resolved configuration of every step is recorded with the outputs.
    recorded = json.loads((out / "run.json").read_text())
    assert recorded["build"]["mel"]["n_mels"] == 32 and recorded["embed"]["vgg16"]["weights"] == "random"
    assert recorded["train"]["head"]["max_epochs"] == 3 and recorded["train"]["n_bootstrap"] == 50
    assert recorded["report"]["out"] == str(html) and recorded["out"] == str(out)

    html.unlink()
    assert run.main(argv) == 0
    second = capsys.readouterr().out
    assert "Up to date" in second  # the build
    assert "(from the cache" in second  # the embeddings
    assert "train: up to date, skipped" in second
    assert (out / "model" / "head.keras").stat().st_mtime_ns == model_mtime
    assert html.is_file()  # the report is always rewritten

    # Without --root the dataset folder is resumed: its build.json's corpus and build settings, its run.json's
    # embedding and training (random weights, 3 epochs here), so everything is up to date.
    assert run.main(["--out", str(out), "--report", str(html)]) == 0
    third = capsys.readouterr().out
    assert "No --root given: resuming the dataset in" in third and "as its run.json does" in third
    assert "Up to date" in third and "(from the cache" in third and "train: up to date, skipped" in third
    assert (out / "model" / "head.keras").stat().st_mtime_ns == model_mtime

    # Other training settings make the model stale; --force would retrain regardless.
    embedding = embedding_config("vgg16")
    tiny = TrainConfig(embedding=embedding, head=HeadConfig(max_epochs=3, patience=2))
    assert training.model_is_current(out, TrainConfig(embedding=embedding, head=HeadConfig(max_epochs=4, patience=2))) \
        is None
    assert "match build" in training.model_is_current(out, tiny)
    assert training.model_is_current(out, tiny, human_labels="labels.csv") is None
    other = TrainConfig(embedding=embedding.updated(vgg16={"layer": "block3_conv3"}), head=tiny.head)
    assert training.model_is_current(out, other) is None  # another embedding


def _printed_config(capsys, argv):
    assert run.main([*argv, "--print-config"]) == 0
    return tomllib.loads(capsys.readouterr().out)


def test_each_option_reaches_the_steps_that_use_it(capsys):
    config = _printed_config(capsys, [
        "--root", "m.csv", "--out", "build/x", "--seed", "3", "--weights=random", "--max-epochs", "5",
        "--report", "r.html", "--benchmark", "b.json", "--quiet", "--force", "--layer", "block5_pool"])
    assert config["out"] == "build/x" and config["build"]["root"].endswith("m.csv")
    assert config["build"]["seed"] == 3 and config["train"]["seed"] == 3  # --seed seeds both
    assert config["embed"]["vgg16"]["weights"] == "random" and config["embed"]["vgg16"]["layer"] == "block5_pool"
    assert config["train"]["head"]["max_epochs"] == 5
    assert config["report"] == {"out": "r.html", "evaluation": ["b.json"], "label_quality": [],
                                "weak_supervision": []}
    with pytest.raises(SystemExit):
        run.command_line().parser.parse_args(["--dataset", "x"])  # the dataset is the build's --out


def test_a_config_file_sets_the_steps_and_the_command_line_overrides_it(tmp_path, capsys):
    toml = tmp_path / "run.toml"
    toml.write_text('out = "build/from-file"\n'
                    '[build]\nroot = "calls.csv"\nclip_seconds = 5\npolicy = "vader"\nn_mels = 64\n'
                    '[embed]\nweights = "random"\nlayer = "block3_conv3"\n'
                    '[train]\nhead = {kind = "dense", max_epochs = 7}\nseed = 4\nhuman_labels = "labels.csv"\n'
                    '[build.mel]\nhop_length = 128\n'
                    '[report]\nevaluation = ["a.json", "b.json"]\n'
                    '[executor]\nworkers = 1\n')
    config = _printed_config(capsys, ["--config", str(toml), "--policy", "mean", "--patience", "2"])
    build = config["build"]
    assert build["clip_seconds"] == 5.0 and build["policy"] == "mean"  # the command line wins
    assert build["mel"] == {"n_fft": 1024, "hop_length": 128, "n_mels": 64} and build["seed"] == 0
    assert config["out"] == "build/from-file" and config["executor"] == {"workers": 1, "scheduler": "local"}
    assert config["embed"]["vgg16"]["layer"] == "block3_conv3"
    assert config["train"]["head"]["kind"] == "dense" and config["train"]["head"]["max_epochs"] == 7
    assert config["train"]["head"]["patience"] == 2 and config["train"]["seed"] == 4
    assert config["train"]["human_labels"] == "labels.csv"
    assert config["report"]["evaluation"] == ["a.json", "b.json"]
    # What --print-config prints is a configuration file that gives the same configuration.
    again = tmp_path / "again.toml"
    again.write_text(to_toml(config))
    assert _printed_config(capsys, ["--config", str(again)]) == config
    # the training's embedding is [embed]'s: the plan uses it
    args, given = run.command_line().parse(["--config", str(toml)])
    plan = run.resolve(args, given)
    assert plan.train.embedding == plan.embed
    assert plan.train.embedding.vgg16.layer == "block3_conv3" and plan.embed.vgg16.weights == "random"


@pytest.mark.parametrize("text, named", [
    ("[build]\nclip_secnds = 5\n", "clip_secnds"),
    ("[train]\nhead = {kind = \"dense\", epochs = 3}\n", "head.epochs"),
    ("[train]\nlayer = \"block3_conv3\"\n", "layer"),  # the embedding's: set in [embed]
    ("[buld]\nroot = \"x\"\n", "buld"),
    ("[build]\nclip_seconds = \"long\"\n", "clip_seconds"),
    ("[build]\npolicy = \"loud\"\n", "policy"),
])
def test_a_config_file_mistake_is_a_one_line_error_naming_it(tmp_path, capsys, text, named):
    toml = tmp_path / "run.toml"
    toml.write_text(text)
    assert run.main(["--config", str(toml), "--print-config"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.strip().count("\n") == 0 and named in err


def test_no_arguments_runs_the_demo(monkeypatch, tmp_path, capsys):
    calls = {}

    def fake(name):
        def step(*args, **kwargs):
            calls[name] = (args, kwargs)
            return 0
        return step

    monkeypatch.setattr(build_dataset, "DEMO_OUT_DIR", tmp_path / "demo")
    (tmp_path / "demo").mkdir()
    for module, name in ((build_dataset, "run_build"), (embed, "run_embed"), (train, "run_train"),
                         (report, "run_report")):
        monkeypatch.setattr(module, name, fake(name))
    monkeypatch.setattr(training, "model_is_current", lambda *args, **kwargs: None)
    assert run.main([]) == 0
    demo = tmp_path / "demo"
    (config, out, _), options = calls["run_build"]
    assert out == demo and options["demo"] and options["overwrite"]  # the tool's own folder: rebuilt as needed
    assert config.root == str(build_dataset.DEMO_CORPUS_DIR.resolve()) and config.corpus == "mosei"
    assert calls["run_embed"][0][0] == demo and calls["run_train"][0][0] == demo
    assert calls["run_report"][0][1].out == str(demo / "report" / "index.html")
    assert (demo / "report" / "index.html").resolve().as_uri() in capsys.readouterr().out
    assert json.loads((demo / "run.json").read_text())["build"]["corpus"] == "mosei"


def test_a_folder_holding_another_dataset_is_resumed_and_never_given_the_demo(monkeypatch, small_mosei, tmp_path,
                                                                              capsys):
    """Without --root, a folder holding a dataset of one's own used to get the demo built into it, and then the advice
    to pass --overwrite, which would have replaced the dataset with the demo. It is resumed instead (its build.json
    names its corpus and settings; the options given override them), for pipelines.build_dataset and pipelines.run
    alike, also when it is the demo's folder; one whose build.json cannot be read is refused without a word of
    --overwrite, and left as it was."""
    from weaklabel import demo as demo_module

    monkeypatch.setattr(demo_module, "generate_demo_corpus", lambda *a, **k: pytest.fail("the demo is not built here"))
    mine = tmp_path / "mine"
    assert build_dataset.main(["--root", str(small_mosei), "--out", str(mine), "--n-mels", "32", "--workers", "1",
                               "--quiet"]) == 0
    capsys.readouterr()
    assert build_dataset.main(["--out", str(mine), "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert f"resuming the dataset in {mine}: its corpus ({small_mosei.resolve()})" in out
    assert "Up to date" in out

    calls = {}
    monkeypatch.setattr(build_dataset, "run_build", lambda *a, **k: calls.setdefault("build", (a, k)) and 0)
    for module, name in ((embed, "run_embed"), (train, "run_train"), (report, "run_report")):
        monkeypatch.setattr(module, name, lambda *a, **k: 0)
    monkeypatch.setattr(training, "model_is_current", lambda *args, **kwargs: None)
    monkeypatch.setattr(build_dataset, "DEMO_OUT_DIR", mine)  # also when it is where the demo goes by default
    for argv in (["--out", str(mine), "--seed", "3"], ["--seed", "3"]):
        calls.clear()
        assert run.main(argv) == 0
        (config, out_dir, _), options = calls["build"]
        assert out_dir == mine and not options["demo"] and not options["overwrite"] and "resuming" in options["notice"]
        assert config.root == str(small_mosei.resolve()) and config.mel.n_mels == 32 and config.seed == 3

    (mine / "build.json").write_text("{not json")
    for main in (build_dataset.main, run.main):
        assert main(["--out", str(mine)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and "--root" in err and "--overwrite" not in err
    assert (mine / "build.json").read_text() == "{not json"


def test_a_failing_step_stops_the_run_with_one_line(monkeypatch, small_mosei, tmp_path, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(build_dataset, "run_build", lambda *a, **k: 0)
    monkeypatch.setattr(embed, "run_embed", broken)
    monkeypatch.setattr(train, "run_train", lambda *a, **k: pytest.fail("train must not run after a failed step"))
    assert run.main(["--root", str(small_mosei), "--out", str(tmp_path / "ds")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: embed failed: RuntimeError: the disk is full") and err.strip().count("\n") == 0


def test_build_errors_are_passed_on(tmp_path, capsys):
    assert run.main(["--corpus", "mosei", "--root", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.strip().count("\n") == 0 and "Traceback" not in err
    assert run.main(["--root", str(tmp_path)]) == 2  # a corpus of one's own needs a dataset folder
    assert capsys.readouterr().err == "error: --out is required with --root\n"


def test_unexpected_step_error_keeps_its_traceback_in_a_named_log_or_prints_it_with_debug(
        monkeypatch, small_mosei, tmp_path, capsys):
    def broken(*args, **kwargs):
        raise KeyError("deep inside the embedding")

    monkeypatch.setenv("WEAKLABEL_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setattr(build_dataset, "run_build", lambda *a, **k: 0)
    monkeypatch.setattr(embed, "run_embed", broken)
    argv = ["--root", str(small_mosei), "--out", str(tmp_path / "ds"), "--quiet"]
    assert run.main(argv) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "Traceback" not in err and "--debug" in err
    (log,) = (tmp_path / "logs").glob("embed-*.log")
    assert str(log) in err
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "in broken" in text and "deep inside" in text
    assert run.main(argv + ["--debug"]) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "in broken" in err
    assert err.strip().splitlines()[-1].startswith("error: embed failed: KeyError")


def test_print_config_shows_the_resolved_executor(capsys):
    import os

    config = _printed_config(capsys, [])
    assert config["executor"] == {"workers": os.cpu_count(), "scheduler": "local"}
    assert _printed_config(capsys, ["--workers", "3"])["executor"] == {"workers": 3, "scheduler": "local"}


def test_every_option_of_run_sits_in_its_step_s_group():
    parser = run.command_line().parser
    generic = [a.option_strings for a in parser._optionals._group_actions]
    assert generic == [["-h", "--help"], ["--help-all"]], generic  # the two helps: the common options, every one
    model = next(g for g in parser._action_groups if g.title == "model")
    flags = {s for a in model._group_actions for s in a.option_strings}
    assert {"--human-labels", "--bootstrap", "--model-out"} <= flags


def _git(*args) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True)


@pytest.mark.skipif(shutil.which("git") is None or not (REPO_ROOT / ".git").exists(), reason="not a git checkout")
def test_the_quick_start_leaves_the_committed_report_alone():
    """``python -m pipelines.run`` writes its report to a git-ignored place; only benchmarks.refresh writes the
    committed reference report (issue 22, item 1)."""
    from benchmarks import refresh

    args, given = run.command_line().parse([])
    default = Path(run.resolve(args, given).report.out)
    relative = default.resolve().relative_to(REPO_ROOT.resolve()).as_posix()
    assert _git("check-ignore", "-q", relative).returncode == 0, f"{relative} is not ignored by git"
    assert _git("ls-files", "--error-unmatch", relative).returncode != 0, f"{relative} is tracked"
    committed = "reports/demo/index.html"
    assert _git("ls-files", "--error-unmatch", committed).returncode == 0
    entry = refresh.by_name("demo-report")
    assert entry.outputs == (committed,)
    argv = entry.argv()
    assert argv[argv.index("--report") + 1] == committed
    assert committed not in refresh.by_name("demo-model").argv()
