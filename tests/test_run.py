"""pipelines.run: build -> embed -> train -> report in one command, resuming finished steps."""
import json

import pytest

from pipelines import build_dataset, embed, report, run, train

from .conftest import REPO_ROOT

TINY = ["--n-mels", "32", "--workers", "1", "--weights", "random", "--max-epochs", "3", "--patience", "2",
        "--bootstrap", "50"]


def test_run_builds_trains_reports_then_resumes(small_mosei, tmp_path, capsys):
    out, html = tmp_path / "ds", tmp_path / "report" / "index.html"
    argv = ["--root", str(small_mosei), "--out", str(out), "--report", str(html), *TINY]
    assert run.main(argv) == 0
    first = capsys.readouterr().out
    assert html.is_file() and "<h2>4. The model</h2>" in html.read_text(encoding="utf-8")
    assert 'id="not-run-model"' not in html.read_text(encoding="utf-8")
    assert "Report: " in first and html.resolve().as_uri() in first
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["weights"]["source"] == "random" and metrics["head_training"]["config"]["max_epochs"] == 3
    assert (out / "model" / "model.json").is_file()
    model_mtime = (out / "model" / "head.keras").stat().st_mtime_ns

    html.unlink()
    assert run.main(argv) == 0
    second = capsys.readouterr().out
    assert "Up to date" in second  # the build
    assert "(cached)" in second  # the embeddings
    assert "train: up to date, skipped" in second
    assert (out / "model" / "head.keras").stat().st_mtime_ns == model_mtime
    assert html.is_file()  # the report is always rewritten

    # Other training settings make the model stale; --force would retrain regardless.
    args = train.build_parser().parse_args(["--dataset", str(out), *TINY[4:], "--max-epochs", "4"])
    assert run.train_is_current(out, args) is None
    args = train.build_parser().parse_args(["--dataset", str(out), *TINY[4:]])
    assert "match build" in run.train_is_current(out, args)


def test_arguments_go_to_the_steps_that_know_them():
    parser = run.build_parser()
    argv = ["--root", "m.csv", "--out", "build/x", "--seed", "3", "--weights=random", "--max-epochs", "5",
            "--report", "r.html", "--benchmark", "b.json", "--quiet", "--force", "--layer", "block5_pool"]
    parser.parse_args(argv)
    routed = run.route_arguments(argv, parser)
    assert routed["build"] == ["--root", "m.csv", "--out", "build/x", "--seed", "3", "--quiet", "--force"]
    assert routed["embed"] == ["--weights", "random", "--quiet", "--layer", "block5_pool"]
    assert routed["train"] == ["--seed", "3", "--weights", "random", "--max-epochs", "5", "--quiet",
                               "--layer", "block5_pool"]
    assert routed["report"] == ["--out", "r.html", "--benchmark", "b.json", "--quiet"]
    with pytest.raises(SystemExit):
        parser.parse_args(["--dataset", "x"])  # the dataset is the build's --out


def test_no_arguments_runs_the_demo(monkeypatch, tmp_path, capsys):
    calls = {}

    def fake(name):
        def main(argv):
            calls[name] = argv
            return 0
        return main

    for module, name in ((build_dataset, "build"), (embed, "embed"), (train, "train"), (report, "report")):
        monkeypatch.setattr(module, "main", fake(name))
    monkeypatch.setattr(run, "train_is_current", lambda dataset, args: None)
    assert run.main([]) == 0
    demo = str(build_dataset.DEMO_OUT_DIR)
    assert calls["build"] == ["--overwrite"]  # the demo folder is the tool's own: rebuilt when defaults change
    assert calls["embed"] == ["--dataset", demo] and calls["train"] == ["--dataset", demo]
    assert calls["report"][:2] == ["--dataset", demo]
    assert str(REPO_ROOT / "reports" / "demo" / "index.html") in calls["report"]
    assert "reports/demo/index.html" in capsys.readouterr().out


def test_a_failing_step_stops_the_run_with_one_line(monkeypatch, small_mosei, tmp_path, capsys):
    def broken(argv):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(build_dataset, "main", lambda argv: 0)
    monkeypatch.setattr(embed, "main", broken)
    monkeypatch.setattr(train, "main", lambda argv: pytest.fail("train must not run after a failed step"))
    assert run.main(["--root", str(small_mosei), "--out", str(tmp_path / "ds")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: embed failed: RuntimeError: the disk is full") and err.strip().count("\n") == 0


def test_build_errors_are_passed_on(tmp_path, capsys):
    assert run.main(["--corpus", "mosei", "--root", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.strip().count("\n") == 0 and "Traceback" not in err


def test_unexpected_step_error_keeps_its_traceback_in_a_named_log_or_prints_it_with_debug(
        monkeypatch, small_mosei, tmp_path, capsys):
    def broken(argv):
        raise KeyError("deep inside the embedding")

    monkeypatch.setenv("WEAKLABEL_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setattr(build_dataset, "main", lambda argv: 0)
    monkeypatch.setattr(embed, "main", broken)
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
