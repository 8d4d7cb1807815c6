"""The README's "Python API" example, run as written on a generated corpus, and the API's other entry points."""
import re
import subprocess
import sys

import numpy as np
import pandas as pd

from .conftest import REPO_ROOT

INPUTS = ("corpus_root", "folds", "out_dir", "features")


def readme_example() -> list[str]:
    """The first Python block of the README's "Python API" section, as lines."""
    section = REPO_ROOT.joinpath("README.md").read_text(encoding="utf-8").split("\n## Python API\n", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1).splitlines()


def test_the_readme_example_runs_on_a_generated_corpus(small_mosei, tmp_path, monkeypatch):
    lines = readme_example()
    # Its first lines assign the inputs; everything after them runs verbatim.
    assert [line.split("=")[0].strip() for line in lines[:len(INPUTS)]] == list(INPUTS)
    inputs = (f"corpus_root = {str(small_mosei)!r}\nfolds = None\nout_dir = {str(tmp_path / 'ds')!r}\n"
              "features = 'whisper'\n")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(inputs + "\n".join(lines[len(INPUTS):]), "README.md (Python API)", "exec"), namespace)

    from weaklabel import Dataset

    dataset = namespace["dataset"]
    assert isinstance(dataset, Dataset) and dataset.counts.ok == 12
    assert namespace["embeddings"].shape[0] == len(dataset.features) and not namespace["record"].from_cache
    result = namespace["result"]
    from transfer.metrics_record import read_metrics

    metrics = read_metrics(dataset.metrics_path)
    assert (result.model_dir / "model.json").is_file() and metrics.features.name == "whisper" == result.metrics.extractor
    assert namespace["record"].features.name == "whisper" and metrics.weights["verified"]
    scores = namespace["scores"]
    files = scores[scores["kind"] == "file"]
    assert len(files) == 2 and files["error"].eq("").all() and files["p_positive"].between(0, 1).all()
    assert (scores["kind"] == "window").sum() >= 2 * 2  # 12 s recordings, 7 s windows every 3.5 s
    assert namespace["page"] == tmp_path / "ds" / "report.html" and namespace["page"].is_file()


def test_the_readme_example_pointed_at_the_demo_is_the_command_line_s_demo(monkeypatch):
    """With the demo's inputs the README names, the example builds, embeds and trains with exactly the
    configuration python -m pipelines.run uses for the demo (its folds too), so it gives the same figures; the
    library calls are recorded here, not run."""
    from dataclasses import replace
    from pathlib import Path
    from types import SimpleNamespace

    import reporting
    import transfer
    import weaklabel
    from pipelines import run

    prose = REPO_ROOT.joinpath("README.md").read_text(encoding="utf-8").split("\n## Python API\n", 1)[1]
    prose = prose.split("```", 2)[2].split("\n## ", 1)[0]
    given = dict(re.findall(r'`(corpus_root|folds|out_dir) =\s+"([^"]+)"`', prose))
    assert set(given) == {"corpus_root", "folds", "out_dir"}
    calls: dict = {}

    def record(name, result):
        def call(*args, **kwargs):
            calls[name] = args
            return result
        return call

    monkeypatch.setattr(weaklabel, "build_dataset", record("build", SimpleNamespace(counts=SimpleNamespace(ok=0))))
    monkeypatch.setattr(transfer, "embed", record("embed", (np.zeros((0, 1)), {})))
    monkeypatch.setattr(transfer, "train", record("train", SimpleNamespace(
        model_dir="model", metrics=SimpleNamespace(head_test=lambda target: {}))))
    monkeypatch.setattr(transfer, "predict", record("predict", pd.DataFrame(columns=["kind", "file", "p_positive"])))
    monkeypatch.setattr(reporting, "build_report", record("report", None))
    monkeypatch.chdir(REPO_ROOT)
    lines = readme_example()
    inputs = "".join(f"{name} = {given[name]!r}\n" for name in INPUTS if name != "features") + "features = 'auto'\n"
    exec(compile(inputs + "\n".join(lines[len(INPUTS):]), "README.md (Python API)", "exec"), {})

    args, values = run.command_line().parse([])
    plan = run.resolve(args, values)  # python -m pipelines.run: the demo
    build = calls["build"][0]
    assert build.corpus == "auto" and plan.build.corpus == "mosei"  # auto reads the demo's Raw/ tree as mosei
    assert replace(build, corpus="mosei", root=str(Path(build.root).resolve()),
                   folds=str(Path(build.folds).resolve())) == plan.build
    assert calls["embed"][1] == plan.embed
    assert calls["train"][1:] == (plan.train, plan.train_options)


def test_label_quality_takes_texts_a_file_or_a_dataset(tmp_path, small_mosei):
    import weaklabel
    from weaklabel.label_quality import LabelQualityConfig

    texts = ["I love this, it is wonderful", "This is terrible and I hate it", "What a great day", "Awful, just awful"]
    labels = ["positive", "negative", "positive", "negative"]
    config = LabelQualityConfig(policies=("mean",), bands=(0.2,))
    from_texts = weaklabel.label_quality(texts, labels, config)
    assert from_texts["n_texts"] == 4 and from_texts["rows"][0]["accuracy"] == 1.0
    csv = tmp_path / "labels.csv"
    pd.DataFrame({"text": texts, "sentiment": labels}).to_csv(csv, index=False)
    assert weaklabel.label_quality(csv, config=config)["rows"] == from_texts["rows"]
    import weaklabel.label_quality  # noqa: F401 - the module now holds the name: still callable

    dataset = weaklabel.build_dataset(weaklabel.BuildConfig(corpus="mosei", root=str(small_mosei)), tmp_path / "ds",
                                      workers=1)
    human = dataset.segments[["video_id", "start", "end"]].assign(sentiment=np.tile([2.0, -1.5, 0.0], 6))
    human.to_csv(tmp_path / "human.csv", index=False)
    report = weaklabel.label_quality(dataset, config=LabelQualityConfig(human_labels=str(tmp_path / "human.csv")))
    assert report["n_texts"] == 18 and "joined with" in report["source"]


def test_importing_the_api_stays_cheap():
    code = ("import sys, weaklabel, transfer, evaluation.acted; transfer.embed; transfer.train; transfer.predict; "
            "weaklabel.label_quality; print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


#: A library call that imports TensorFlow and runs a model on its device (where a CPU-only machine logs cuInit).
TENSORFLOW_CALL = """
import numpy as np, transfer
from transfer.head import predict_head, train_logistic_head
X = np.random.default_rng(0).normal(size=(20, 4))
model, _ = train_logistic_head(X, np.arange(20) % 2)
print(predict_head(model, X).shape)
"""


def _tensorflow_call(**env_extra) -> subprocess.CompletedProcess:
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("WEAKLABEL_VERBOSE", "TF_CPP_MIN_LOG_LEVEL")}
    return subprocess.run([sys.executable, "-c", TENSORFLOW_CALL], cwd=REPO_ROOT, capture_output=True, text=True,
                          env={**env, **env_extra}, check=True)


def test_the_api_is_as_quiet_as_the_command_line():
    """No TensorFlow start-up notice reaches standard error from the library (issue 22, item 5)..."""
    from transfer.quiet import TF_NOISE

    quiet = _tensorflow_call()
    assert quiet.stdout.split() == ["(20,)"]
    assert not [line for line in quiet.stderr.splitlines() if TF_NOISE.search(line)], quiet.stderr


def test_the_api_shows_tensorflow_s_log_when_asked():
    """... unless WEAKLABEL_VERBOSE asks for it, as --verbose does on the command line."""
    from transfer.quiet import TF_NOISE

    loud = _tensorflow_call(WEAKLABEL_VERBOSE="1")
    assert [line for line in loud.stderr.splitlines() if TF_NOISE.search(line)], loud.stderr
