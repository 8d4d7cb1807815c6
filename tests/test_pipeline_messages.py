"""Messages that say what to do: predict's input checks, error logs, and TensorFlow's start-up noise."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import soundfile as sf

from pipelines._common import report_error, write_traceback_log
from pipelines.predict import input_problem
from transfer.quiet import TF_NOISE, filtered_stderr

from .conftest import REPO_ROOT

MIN_S = 1024 / 16000  # one analysis window of the default log-mel


def test_predict_names_a_directory_a_missing_file_and_a_too_short_file(tmp_path):
    assert "is a directory" in input_problem(tmp_path, MIN_S) and f"{tmp_path}/*.wav" in input_problem(tmp_path, MIN_S)
    assert input_problem(tmp_path / "absent.wav", MIN_S) == f"no such file: {tmp_path / 'absent.wav'}"
    (tmp_path / "dangling.wav").symlink_to(tmp_path / "gone.wav")
    assert "broken symbolic link" in input_problem(tmp_path / "dangling.wav", MIN_S)
    sf.write(tmp_path / "empty.wav", np.zeros(0, np.float32), 16000)
    assert "holds no audio" in input_problem(tmp_path / "empty.wav", MIN_S)
    sf.write(tmp_path / "blip.wav", np.zeros(160, np.float32), 16000)  # 10 ms
    problem = input_problem(tmp_path / "blip.wav", MIN_S)
    assert "too short to score: 0.010 s" in problem and "0.064 s" in problem
    sf.write(tmp_path / "fine.wav", np.zeros(16000, np.float32), 16000)
    assert input_problem(tmp_path / "fine.wav", MIN_S) is None
    (tmp_path / "junk.wav").write_bytes(b"RIFF not really a wav")
    assert "convert it to WAV" in input_problem(tmp_path / "junk.wav", MIN_S)


def test_error_log_holds_the_traceback_and_the_line_names_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WEAKLABEL_LOG_DIR", str(tmp_path))
    try:
        {}["missing key"]
    except KeyError as exc:
        assert report_error("it broke", exc, log_step="build") == 2
        log = write_traceback_log("again", exc)
    err = capsys.readouterr().err
    (first,) = tmp_path.glob("build-*.log")
    assert err.startswith("error: it broke (full traceback in ") and str(first) in err and err.count("\n") == 1
    assert "Traceback (most recent call last)" in first.read_text() and "missing key" in log.read_text()


def test_filtered_stderr_drops_tensorflow_notices_and_keeps_real_errors(capfd):
    with filtered_stderr():
        os.write(2, b"I0000 00:00:1.0 1 port.cc:153] oneDNN custom operations are on. You may see ...\n"
                    b"E0000 00:00:1.0 1 cuda_platform.cc:52] failed call to cuInit: UNKNOWN ERROR (303)\n"
                    b"E0000 00:00:1.0 1 op_kernel.cc:1] OOM when allocating tensor\n")
        print("python-level warning", file=sys.stderr)
    err = capfd.readouterr().err
    assert "OOM when allocating tensor" in err and "python-level warning" in err
    assert "oneDNN" not in err and "cuInit" not in err


def test_tensorflow_imports_quietly_unless_verbose():
    code = ("import pipelines.train, tensorflow as tf; tf.config.list_physical_devices(); "
            "import sys; print('after import', file=sys.stderr)")
    env = {k: v for k, v in os.environ.items() if k not in ("WEAKLABEL_VERBOSE", "TF_CPP_MIN_LOG_LEVEL")}
    quiet = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, env=env)
    assert quiet.returncode == 0, quiet.stderr
    assert not [line for line in quiet.stderr.splitlines() if TF_NOISE.search(line)], quiet.stderr
    assert "after import" in quiet.stderr
    hooked = ("import sys, pipelines.train, transfer.quiet as c; "
              "print(any(isinstance(f, c._QuietTensorFlowImport) for f in sys.meta_path), c.os.environ.get("
              "'TF_CPP_MIN_LOG_LEVEL'))")
    verbose = subprocess.run([sys.executable, "-c", hooked], cwd=REPO_ROOT, capture_output=True, text=True,
                             env={**env, "WEAKLABEL_VERBOSE": "1"})
    assert verbose.stdout.split() == ["False", "None"]  # asked for: TensorFlow's own output, unfiltered
    default = subprocess.run([sys.executable, "-c", hooked], cwd=REPO_ROOT, capture_output=True, text=True, env=env)
    assert default.stdout.split() == ["True", "2"]
