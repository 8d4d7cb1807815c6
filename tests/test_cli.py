"""The command line: help, one-line errors with non-zero exit, and the summary."""
import subprocess
import sys

from .conftest import REPO_ROOT


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "pipelines.build_dataset", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True)


def test_help_documents_every_option():
    proc = run_cli("--help")
    assert proc.returncode == 0
    for option in ("--corpus", "--root", "--out", "--folds", "--clip-seconds", "--seed", "--policy",
                   "--neutral-band", "--split", "--workers", "--quiet", "--overwrite", "--force", "--n-mels"):
        assert option in proc.stdout


def test_wrong_root_is_a_one_line_error(tmp_path):
    proc = run_cli("--corpus", "mosei", "--root", str(tmp_path / "missing"), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and proc.stderr.startswith("error: ")
    assert "Traceback" not in proc.stderr


def test_empty_corpus_is_a_one_line_error(tmp_path):
    (tmp_path / "Raw/Transcript/Segmented/Combined").mkdir(parents=True)
    proc = run_cli("--root", str(tmp_path), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "no transcript segments" in proc.stderr and "Traceback" not in proc.stderr


def test_conflicting_rebuild_is_refused_then_summary_printed(small_mosei, tmp_path):
    out = tmp_path / "o"
    first = run_cli("--root", str(small_mosei), "--out", str(out), "--n-mels", "32", "--quiet")
    assert first.returncode == 0, first.stderr
    assert "18 segments from 6 recordings: 12 kept (6 positive, 6 negative; positive share 50.0%), " \
           "6 abstained, 0 failed" in first.stdout
    second = run_cli("--root", str(small_mosei), "--out", str(out), "--n-mels", "32", "--seed", "5", "--quiet")
    assert second.returncode == 2 and "different configuration" in second.stderr and "seed" in second.stderr
    third = run_cli("--root", str(small_mosei), "--out", str(out), "--n-mels", "32", "--quiet")
    assert third.returncode == 0 and third.stdout.startswith("Up to date")


def test_bad_split_fractions_rejected_by_parser(tmp_path):
    proc = run_cli("--root", str(tmp_path), "--out", str(tmp_path / "o"), "--split", "0.5,0.5")
    assert proc.returncode == 2 and "three" in proc.stderr


def test_no_arguments_builds_the_demo(tmp_path, monkeypatch, capsys):
    import pandas as pd

    from pipelines import build_dataset as cli

    monkeypatch.setattr(cli, "DEMO_CORPUS_DIR", tmp_path / "demo_corpus")
    monkeypatch.setattr(cli, "DEMO_OUT_DIR", tmp_path / "demo_out")
    assert cli.main(["--quiet", "--workers", "2"]) == 0
    assert "480 segments from 32 recordings" in capsys.readouterr().out
    df = pd.read_parquet(tmp_path / "demo_out/segments.parquet")
    # The demo has clearly positive, negative and neutral sentences: all three outcomes occur, none fails.
    assert set(df["status"]) == {"ok", "abstained"}
    assert set(df["label"].dropna()) == {0, 1}
    assert set(df["split"]) == {"train", "validation", "test"}
