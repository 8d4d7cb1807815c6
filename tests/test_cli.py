"""The command line: help, one-line errors with non-zero exit, and the summary."""
import re
import subprocess
import sys

import pytest

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


# ------------------------------------------------------------------------------------------- messages that say what to do
def _main(capsys, *args):
    from pipelines import build_dataset as cli

    rc = cli.main([*map(str, args), "--quiet", "--workers", "1", "--n-mels", "32"])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_a_build_that_keeps_nothing_exits_non_zero_with_reasons_and_hints(tmp_path, capsys):
    import numpy as np
    import soundfile as sf

    sf.write(tmp_path / "a.wav", np.zeros(16000, np.float32), 16000)
    manifest = tmp_path / "m.csv"
    manifest.write_text("audio_path,start,end,text\n"
                        "a.wav,0.5 s,1.0 s,I love it\n"      # not a time
                        "a.wav,0.2 s,0.4 s,I hate it\n"
                        "missing.wav,0,1,Where is it?\n")
    rc, out, err = _main(capsys, "--root", manifest, "--out", tmp_path / "o")
    assert rc == 1
    assert "Built" in out and "0 kept" in out  # the summary is still printed
    assert err.startswith("error: the build kept no segment (3 failed")
    assert "bad_timestamps 2, e.g. row 1 (line 2)" in err and "audio_missing 1" in err
    assert err.count("hint:") == 2 and "[hh:]mm:ss" in err and "relative audio_path" in err


def test_root_audio_file_without_transcript_suggests_the_layouts(tmp_path, capsys):
    (tmp_path / "talk.wav").write_bytes(b"")
    rc, _, err = _main(capsys, "--root", tmp_path / "talk.wav", "--out", tmp_path / "o")
    assert rc == 2 and err.count("\n") == 1
    assert "talk.srt" in err and "talk.en.vtt" in err and "manifest" in err


def test_unanswered_dask_address_fails_with_its_timeout(tmp_path, capsys, monkeypatch):
    import socket

    import numpy as np
    import soundfile as sf

    from foundation.executor import CONNECT_TIMEOUT_ENV

    monkeypatch.setenv(CONNECT_TIMEOUT_ENV, "30")  # restored afterwards; --dask-timeout overrides it
    monkeypatch.setenv("WEAKLABEL_LOG_DIR", str(tmp_path / "logs"))
    sf.write(tmp_path / "a.wav", np.zeros(16000, np.float32), 16000)
    (tmp_path / "m.csv").write_text("audio_path,start,end,text\na.wav,0,1,hello\n")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    rc, _, err = _main(capsys, "--root", tmp_path / "m.csv", "--out", tmp_path / "o",
                       "--dask-address", f"tcp://127.0.0.1:{port}", "--dask-timeout", "1.5")
    assert rc == 2 and err.startswith(f"error: no Dask scheduler answered at tcp://127.0.0.1:{port} within 1.5 s")
    assert "--dask-timeout" in err


def test_m4a_with_yt_dlp_captions_builds(tmp_path, capsys):
    import numpy as np
    import pandas as pd

    from .test_containers import write_aac

    t = np.arange(3 * 44100) / 44100
    write_aac(tmp_path / "talk.m4a", (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)[:, None], 44100)
    (tmp_path / "talk.en.srt").write_text("1\n00:00:00,200 --> 00:00:01,400\nI absolutely love this!\n\n"
                                          "2\n00:00:01,500 --> 00:00:02,800\nThis is awful &amp; terrible.\n")
    rc, out, err = _main(capsys, "--root", tmp_path, "--out", tmp_path / "o")
    # One recording cannot fill three sides: the build says so and stops, naming the way on.
    assert rc != 0 and "validation and test split(s) would be empty" in err and "--allow-empty-splits" in err
    assert not (tmp_path / "o/build.json").exists()
    rc, out, err = _main(capsys, "--root", tmp_path, "--out", tmp_path / "o", "--allow-empty-splits")
    assert rc == 0, err
    df = pd.read_parquet(tmp_path / "o/segments.parquet")
    assert list(df["status"]) == ["ok", "ok"] and list(df["label"]) == [1, 0]
    assert df["text"].iloc[1] == "This is awful & terrible." and df["feature_row"].notna().all()


def test_a_file_name_that_is_not_utf8_fails_only_its_recording(tmp_path, capsys):
    import os

    import numpy as np
    import pandas as pd
    import soundfile as sf

    srt = "1\n00:00:00,200 --> 00:00:01,400\nI absolutely love this!\n"
    sf.write(tmp_path / "good.wav", np.zeros(32000, np.float32), 16000)
    (tmp_path / "good.srt").write_text(srt)
    sf.write(os.path.join(os.fsencode(tmp_path), b"caf\xe9.wav"), np.zeros(32000, np.float32), 16000)
    with open(os.path.join(os.fsencode(tmp_path), b"caf\xe9.srt"), "w") as handle:
        handle.write(srt)
    rc, out, err = _main(capsys, "--root", tmp_path, "--out", tmp_path / "o", "--allow-empty-splits")
    assert rc == 0, err
    df = pd.read_parquet(tmp_path / "o/segments.parquet").set_index("segment_id")
    assert df.loc["good_0", "status"] == "ok"
    assert df.loc["caf\ufffd_0", "status"] == "bad_encoding" and "rename" in df.loc["caf\ufffd_0", "detail"]


def test_a_build_whose_segments_all_abstain_warns_and_succeeds(tmp_path, capsys):
    import numpy as np
    import soundfile as sf

    sf.write(tmp_path / "a.wav", np.zeros(32000, np.float32), 16000)
    (tmp_path / "m.csv").write_text("audio_path,start,end,text\na.wav,0,1,The meeting is on Tuesday.\n")
    rc, _, err = _main(capsys, "--root", tmp_path / "m.csv", "--out", tmp_path / "o")
    assert rc == 0 and err.startswith("warning: no segment got a label: 1 abstained") and "--neutral-band" in err


def test_progress_to_a_file_is_plain_lines_and_the_summary_counts_groups_in_words(small_mosei, tmp_path):
    proc = run_cli("--root", str(small_mosei), "--out", str(tmp_path / "o"), "--n-mels", "32", "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    assert "\x1b[" not in proc.stderr and "\r" not in proc.stderr  # standard error is a pipe here, not a terminal
    lines = proc.stderr.splitlines()
    assert "recordings: 6/6" in lines and "segments: 18/18" in lines
    splits = next(line for line in proc.stdout.splitlines() if line.startswith("  splits: "))
    assert "/ 1 group," in splits and "/ 4 groups" in splits and "1 groups" not in splits


# ------------------------------------------------------------------------------------------- mistyped options
def command_modules() -> list[str]:
    """Every command of pipelines (``python -m pipelines.NAME``)."""
    import pkgutil

    import pipelines

    return sorted(m.name for m in pkgutil.iter_modules(pipelines.__path__) if not m.name.startswith("_"))


@pytest.mark.parametrize("name", command_modules())
def test_every_command_answers_a_mistyped_option_in_one_line_with_a_suggestion(name, capsys):
    """Each command's longest option with its last two letters swapped: one ``error:`` line naming the option it
    means, exit status 2, no usage dump, even where a required option is missing too."""
    import importlib

    module = importlib.import_module(f"pipelines.{name}")
    options = [o for o in module.command_line().parser._option_string_actions if o.startswith("--") and o != "--help"]
    option = max(options, key=lambda o: (len(o), o))
    typo = option[:-2] + option[-1] + option[-2]
    with pytest.raises(SystemExit) as exit_:
        module.main([typo, "1"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == f"error: unrecognized option {typo} (did you mean {option}?)\n"


def test_mistyped_options_from_the_shell(capsys):
    """The two typos of the new-user trial, together: one line, each with its suggestion; an option written longer
    than it is; a name like no option points at --help; a wrong value keeps argparse's message, on one line."""
    proc = run_cli("--neutral-bnad", "0.3", "--clip-secs", "5")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == ("error: unrecognized options --neutral-bnad (did you mean --neutral-band?), "
                           "--clip-secs (did you mean --clip-seconds?)\n")
    from pipelines import build_dataset, label_model

    parser = build_dataset.command_line().parser
    assert parser.unknown_options(["--neutral-ban", "--seed=3", "-q", "--", "--not-an-option"]) == []

    def error(parse, argv):
        with pytest.raises(SystemExit) as exit_:
            parse(argv)
        assert exit_.value.code == 2
        return capsys.readouterr().err

    assert error(parser.parse_args, ["--xyzzy"]) == "error: unrecognized option --xyzzy (--help lists the options)\n"
    # --csv and --out are missing too: the typo is named first, the option it lengthens suggested
    assert error(label_model.command_line().parse, ["--csv-file", "x.csv"]) == \
        "error: unrecognized option --csv-file (did you mean --csv?)\n"
    assert error(parser.parse_args, ["--seed", "x"]) == "error: argument --seed: invalid int value: 'x'\n"
    assert error(label_model.command_line().parse, []) == \
        "error: the following arguments are required: --csv, --out\n"


# ------------------------------------------------------------------------------------------------------ --help
def _help(module, flag: str, columns: int, monkeypatch, capsys) -> str:
    monkeypatch.setenv("COLUMNS", str(columns))  # the terminal's width, as argparse reads it
    with pytest.raises(SystemExit) as exit_:
        module.main([flag])
    assert exit_.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("name", command_modules())
def test_every_command_s_help_fits_100_columns_and_wraps_to_a_narrower_terminal(name, monkeypatch, capsys):
    """On a wide terminal no line of --help (or --help-all) is over 100 characters; on a 60-column one every
    option's help is wrapped to it (the description's indented commands are kept as written, under 100)."""
    import importlib

    module = importlib.import_module(f"pipelines.{name}")
    flags = ["--help"] + (["--help-all"] if "--help-all" in module.command_line().parser._option_string_actions
                          else [])
    for flag in flags:
        wide = _help(module, flag, 200, monkeypatch, capsys)
        assert [line for line in wide.splitlines() if len(line) > 100] == [], f"{name} {flag}"
        options = _help(module, flag, 60, monkeypatch, capsys).split("\noptions:\n", 1)[1]
        assert [line for line in options.splitlines() if len(line) > 60] == [], f"{name} {flag}"


def test_run_help_is_short_and_help_all_lists_every_option(monkeypatch, capsys):
    """pipelines.run's --help: the examples and the common options in their groups, then how many more there are;
    --help-all: the whole description (the config file's format) and every option."""
    from pipelines import run

    parser = run.command_line().parser
    every = {flag for flag in parser._option_string_actions if flag.startswith("--")}
    short = _help(run, "--help", 100, monkeypatch, capsys)
    full = _help(run, "--help-all", 100, monkeypatch, capsys)
    assert len(short.splitlines()) < 100 < len(full.splitlines())
    shown = set(re.findall(r"^  (?:-h, )?(--[\w-]+)", short, re.M))
    assert shown == set(run.COMMON_OPTIONS) | {"--help", "--help-all"}
    assert f"{len(every) - len(shown) - 1} more options and the details: python -m pipelines.run --help-all" in short
    assert set(re.findall(r"^  (?:-h, )?(--[\w-]+)", full, re.M)) | {"--benchmark"} == every
    assert "\n    [executor]  " in full and "\n    [executor]  " not in short  # the config file's format
    assert "\nrun:\n" in short and "\ncorpus:\n" in short and "\ndense head:\n" not in short
    for flag in ("--policy", "--workers"):  # each option's help is the same in both
        entry = rf"^  {flag} .*?(?=^  --|^\S|\Z)"
        assert re.search(entry, short, re.M | re.S).group(0).strip() == \
            re.search(entry, full, re.M | re.S).group(0).strip()


def test_a_command_written_over_two_lines_is_shown_so(monkeypatch, capsys):
    """A backslash continuation in a command's examples stays a continuation (label_model's help once joined the
    two lines into one of 146 characters)."""
    from pipelines import label_model

    assert "--label-column sentiment \\\n        --group-column speaker" in \
        _help(label_model, "--help", 100, monkeypatch, capsys)
