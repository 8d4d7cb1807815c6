"""The HTML report: sections, embedded PNGs, "not run yet" boxes, generic tables, escaping, determinism."""
import base64
import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from pipelines import build_dataset, report as report_cli, train as train_cli
from reporting import figures, render_report, write_report
from reporting.inputs import load_inputs
from weaklabel.policies import POLICIES

from .conftest import tone_bursts

HEADINGS = ("The build", "The weak labels", "The audio", "The model", "Acted-corpus evaluation", "Weak-supervision benchmark",
            "Label quality", "Provenance")


def weak_supervision_record() -> dict:
    """A small record in the shape pipelines.weak_supervision writes, with an inverted row."""
    from evaluation.weak_benchmark import weak_supervision_tables

    summary = [{"recipe": "default", "p": 0.5, "roc_auc": 0.41, "roc_auc_ci95": [0.35, 0.47], "verdict": "inverted"},
               {"recipe": "default", "p": 1.0, "roc_auc": 0.81, "roc_auc_ci95": [0.75, 0.86], "verdict": "above chance",
                "weak_label_coverage": 0.4, "weak_label_accuracy": 0.7},
               {"recipe": "true-label ceiling", "p": None, "roc_auc": 0.88, "roc_auc_ci95": [0.84, 0.91],
                "verdict": "above chance"}]
    record = {"kind": "weak_supervision", "config": {"probabilities": [0.5, 1.0], "pairing_seeds": [0]},
              "summary": summary, "runs": [], "rotations": [{"name": "r0"}, {"name": "r1"}],
              "recipes": [{"name": "default", "description": "the default"},
                          {"name": "true-label ceiling", "description": "true labels"}],
              "corpus": {"clips": 40, "speakers": ["a", "b", "c", "d"], "positive": 20, "negative": 20}}
    record["tables"] = weak_supervision_tables(record)
    return record
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SCRIPT_SENTENCE = "<script>alert('x')</script> Wonderful, perfect, amazing, the best day ever!"
FAST = ["--n-mels", "32", "--workers", "1", "--quiet"]


def write_manifest_corpus(root, sentences_by_recording, human=True):
    """Tone-burst recordings and a manifest with one row per sentence (and a human_label column)."""
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for rec, sentences in sentences_by_recording.items():
        spans = [(0.5 + 3.0 * k, 2.5 + 3.0 * k) for k in range(len(sentences))]
        sf.write(root / f"{rec}.wav", tone_bursts(3.0 * len(sentences) + 1.0, spans, seed=len(rows)), 16000)
        for (start, end), (text, human_label) in zip(spans, sentences):
            rows.append({"audio_path": f"{rec}.wav", "start": start, "end": end, "text": text,
                         **({"human_label": human_label} if human else {})})
    manifest = root / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    return manifest


def images(html):
    return re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)


def heading_present(html, title):
    return re.search(rf"<h2>\d+\. {re.escape(title)}</h2>", html) is not None


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Eight recordings (speaker-disjoint groups) with a positive, a negative and a neutral sentence each."""
    base = tmp_path_factory.mktemp("report")
    corpus = {}
    for r in range(8):
        corpus[f"rec{r}"] = [
            (SCRIPT_SENTENCE if r == 0 else "I like this film, it is good.", 2),
            ("This was a terrible, awful and horrible experience.", -2),
            ("The meeting is on Tuesday.", 0),
        ]
    manifest = write_manifest_corpus(base / "corpus", corpus)
    out = base / "dataset"
    assert build_dataset.main(["--root", str(manifest), "--out", str(out), "--policy", "mean", *FAST]) == 0
    return out


def test_report_without_a_model(dataset, tmp_path):
    path = write_report(dataset, tmp_path / "r" / "index.html")
    html = path.read_text(encoding="utf-8")
    for title in HEADINGS:
        assert heading_present(html, title), title
    assert html.count('href="#') == len(HEADINGS)  # the table of contents
    assert 'id="not-run-model"' in html and "not run yet" in html
    assert "python -m pipelines.train --dataset" in html
    # build: durations, splits; labels: balance, scatter (policy mean: band drawn); audio: spectrograms
    found = images(html)
    assert len(found) >= 5
    for data in found:
        assert base64.b64decode(data).startswith(PNG_MAGIC)
    # The transcript text is escaped: no script element, the sentence shown as text.
    assert "<script" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert path.stat().st_size < 3_000_000
    # Deterministic: same inputs, same bytes (no timestamps, fixed PNG metadata).
    again = write_report(dataset, tmp_path / "again.html")
    assert again.read_bytes() == path.read_bytes()


def test_report_with_model_benchmark_and_label_quality(dataset, tmp_path):
    assert train_cli.main(["--dataset", str(dataset), "--features", "vgg16", "--weights", "random", "--max-epochs", "3",
                           "--patience", "2", "--bootstrap", "50", "--quiet"]) == 0
    bench = dataset / "benchmarks" / "ravdess" / "benchmark.json"
    bench.parent.mkdir(parents=True)
    bench.write_text(json.dumps({"tables": [{
        "title": "Zero-shot on RAVDESS", "columns": ["model", "ROC AUC [95% CI]", "n"],
        "rows": [["dense head <b>bold</b>", "0.612 [0.551, 0.668]", 336], ["chance", 0.5, None]],
        "note": "speaker-disjoint by construction"}]}), encoding="utf-8")
    quality = tmp_path / "lq.json"
    quality.write_text(json.dumps({"tables": [{"title": "Weak labels against human sentiment",
                                               "columns": ["policy", "coverage"], "rows": [["mean", "0.640"]],
                                               "note": ""}]}), encoding="utf-8")
    weak = tmp_path / "weak_supervision.json"
    weak.write_text(json.dumps(weak_supervision_record()), encoding="utf-8")
    out = tmp_path / "report.html"
    assert report_cli.main(["--dataset", str(dataset), "--out", str(out), "--label-quality", str(quality),
                            "--weak-supervision", str(weak), "--quiet"]) == 0
    html = out.read_text(encoding="utf-8")
    for title in HEADINGS:
        assert heading_present(html, title), title
    assert "not run yet" not in html and "not-run-" not in html
    assert "Zero-shot on RAVDESS" in html and "speaker-disjoint by construction" in html
    assert "0.612 [0.551, 0.668]" in html and "dense head &lt;b&gt;bold&lt;/b&gt;" in html
    assert "Weak labels against human sentiment" in html
    # The weak-supervision curve is drawn, its table shown, and the inverted row named as such.
    assert "weak-supervision curve" in html and "0.810 [0.750, 0.860]" in html
    assert "Ranking inverted" in html and "0.410 [0.350, 0.470] (inverted)" in html
    # ROC curves against the weak and the human labels (the manifest has a human_label column).
    assert "against the human labels" in html.lower() or "Against the human labels" in html
    assert "ROC curves" in html
    found = images(html)
    assert len(found) >= 6
    assert all(base64.b64decode(d).startswith(PNG_MAGIC) for d in found)
    # Random weights are flagged, and every output's weights identity is shown.
    assert "Not ImageNet weights" in html
    metrics = json.loads((dataset / "metrics.json").read_text())
    assert metrics["weights"]["sha256"] in html


def test_zero_kept_segments_still_render(tmp_path):
    corpus = {f"rec{r}": [("The meeting is on Tuesday.", 0), ("The train leaves at nine.", 0)] for r in range(3)}
    manifest = write_manifest_corpus(tmp_path / "corpus", corpus, human=False)
    out = tmp_path / "ds"
    assert build_dataset.main(["--root", str(manifest), "--out", str(out), "--policy", "mean", *FAST]) == 0
    assert json.loads((out / "build.json").read_text())["counts"]["ok"] == 0
    html = write_report(out, tmp_path / "index.html").read_text(encoding="utf-8")
    for title in HEADINGS:
        assert heading_present(html, title), title
    assert 'id="not-run-model"' in html and "No kept clip has features" in html
    assert all(base64.b64decode(d).startswith(PNG_MAGIC) for d in images(html))


def test_unknown_policy_and_broken_tables_are_shown_not_raised(dataset, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(dataset, copy)
    build = json.loads((copy / "build.json").read_text())
    build["config"]["policy"] = "some_future_policy"
    (copy / "build.json").write_text(json.dumps(build))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    no_tables = tmp_path / "no_tables.json"
    no_tables.write_text(json.dumps({"rows": []}), encoding="utf-8")
    html = render_report(load_inputs(copy, acted_evaluations=[broken, no_tables]))
    assert "policy score histogram" in html and "some_future_policy" in html
    assert "Could not be shown" in html and 'no top-level &quot;tables&quot; list' in html


def test_missing_dataset_is_a_one_line_error(tmp_path, capsys):
    assert report_cli.main(["--dataset", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.strip().count("\n") == 0


def test_figures_are_deterministic_png_and_subsampling_is_seeded():
    rng = np.random.default_rng(0)
    tb, vd = rng.uniform(-1, 1, 300), rng.uniform(-1, 1, 300)
    outcome = np.where(tb + vd > 0.4, "positive", np.where(tb + vd < -0.4, "negative", "abstained"))
    for policy in POLICIES:  # drawn regions and the calibrated policy's "not a region"
        png = figures.sentiment_scatter(tb, vd, outcome, policy, 0.2)
        assert png.startswith(PNG_MAGIC) and png == figures.sentiment_scatter(tb, vd, outcome, policy, 0.2)
    assert b"Software" not in figures.score_histogram(tb, outcome, "x", 0.2)
    keep = figures.scatter_subsample(20_000)
    assert len(keep) == figures.MAX_SCATTER_POINTS and np.array_equal(keep, figures.scatter_subsample(20_000))
    assert np.all(np.diff(keep) > 0)
    assert np.array_equal(figures.scatter_subsample(10), np.arange(10))


def test_the_default_report_goes_inside_its_dataset_wherever_the_user_stands(dataset, tmp_path, monkeypatch, capsys):
    """``--dataset ../elsewhere/x`` writes x/report/index.html, not ./reports/x/ of the current folder, and says so."""
    from weaklabel.dataset import REPORT_FILE

    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(dataset, elsewhere / "x")
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    assert report_cli.main(["--dataset", "../elsewhere/x"]) == 0
    written = elsewhere / "x" / REPORT_FILE
    assert written.is_file() and heading_present(written.read_text(encoding="utf-8"), "The build")
    assert list(here.iterdir()) == []  # nothing written where the user stands
    assert f"Report: {written}" in capsys.readouterr().out


def test_the_model_section_names_what_was_trained_and_marks_figures_that_mean_nothing(dataset, tmp_path, capsys):
    """A logistic head is called one, from the record; a test side of 2 clips of one speaker is "not a result" in
    metrics.json, in train's console table and in the report's header, tables and ROC legends (issue 22)."""
    from reporting.sections.model import roc_panels
    from transfer.metrics_record import MetricsRecord

    data = tmp_path / "ds"
    shutil.copytree(dataset, data, ignore=shutil.ignore_patterns("metrics.json", "model", "embeddings", "benchmarks",
                                                                 "report"))
    assert train_cli.main(["--dataset", str(data), "--features", "vgg16", "--weights", "random",
                           "--bootstrap", "50"]) == 0
    console = capsys.readouterr().out
    metrics = json.loads((data / "metrics.json").read_text())
    test = metrics["against_weak_labels"]["head"]["test"]
    assert (test["n"], test["n_groups"]) == (2, 1) and test["not_a_result"] == "not a result (n = 2, 1 group)"
    head_line = next(line for line in console.splitlines() if line.strip().startswith("head "))
    assert "test not a result (n = 2, 1 group)" in head_line and f"{test['roc_auc']:.3f}" not in head_line

    html = write_report(data, tmp_path / "r.html").read_text(encoding="utf-8")
    title = "logistic head (VGG16 block2_conv2, bands4)"
    assert "dense head" not in html and title in html
    training = re.search(r"<dt>training</dt><dd>(.*?)</dd>", html).group(1)
    assert "epochs" not in training and "C = 0.001" in training and "—" not in training
    header = html.split("</header>")[0]
    assert "not a result (n = 2, 1 group)" in header and "head test AUC" in header
    assert not re.search(r'<span class="value">[01]\.\d{3}</span><span class="label">head test AUC', header)
    tables = html.split("<caption>Against the weak labels</caption>")[1].split("</table>")[0]
    assert tables.count("not a result (n = 2, 1 group)") == 2 * 6  # every model, validation and test
    panels = roc_panels(MetricsRecord.from_dict(metrics))
    for _, curves in panels:
        for curve in curves:
            assert "not a result (n = 2, 1 group)" in curve["label"]
    assert any(curve["label"].startswith(title) for _, curves in panels for curve in curves)


def _legend_layout_problems(panels) -> list[str]:
    """Where the ROC figure's legends leave the figure, overlap each other or cover a plot, in words."""
    import matplotlib

    fig = figures.roc_figure(panels)
    with matplotlib.rc_context(figures.STYLE):
        figures.png_bytes(fig)  # laid out and drawn as the report draws it
    renderer = fig.canvas.get_renderer()
    legends = [ax.get_legend().get_window_extent(renderer) for ax in fig.axes if ax.get_legend() is not None]
    plots = [ax.get_window_extent(renderer) for ax in fig.axes if ax.axison]
    problems = [f"legend {k} leaves the figure: {box.bounds}" for k, box in enumerate(legends)
                if box.x0 < 0 or box.y0 < 0 or box.x1 > fig.bbox.width or box.y1 > fig.bbox.height]
    problems += [f"legends {a} and {b} overlap" for a in range(len(legends)) for b in range(a + 1, len(legends))
                 if legends[a].overlaps(legends[b])]
    problems += [f"legend {k} covers a plot" for k, box in enumerate(legends) for plot in plots if box.overlaps(plot)]
    assert len(legends) == sum(1 for _, curves in panels if curves)
    return problems


def test_roc_legends_fit_their_column_whatever_the_labels():
    """A small corpus's labels ("...: not a result (n = 2, 1 group)"), a name far wider than a column, one word
    wider than a line and a second row of panels: every legend lies inside the figure, in its own column, off the
    plots; a label that fits is drawn as it is (the same bytes as before)."""
    from matplotlib.backends.backend_agg import RendererAgg

    def curves(labels):
        return [{"label": label, "fpr": [0, 0.5, 1], "tpr": [0, 0.7, 1], "emphasis": k == 0}
                for k, label in enumerate(labels)]

    small = [f"{name}: not a result (n = 2, 1 group)" for name in
             ("logistic head (VGG16 block2_conv2, bands4)", "logistic regression (raw VGG16 block2_conv2, bands4)",
              "logistic regression (mel)", "random forest (mel)", "k-NN (mel)", "MLP (mel)")]
    wide = ["a model with a very long name " * 8 + ": 0.912 [0.850, 0.960]", "x" * 300, "W" * 90 + ": 0.5"]
    assert _legend_layout_problems([("validation", curves(small)), ("test", curves(small))]) == []
    assert _legend_layout_problems([("validation", curves(wide)), ("test", curves(small[:1]))]) == []
    assert _legend_layout_problems([("v", curves(small)), ("t", curves(small)), ("human v", curves(wide)),
                                    ("human t", [])]) == []
    measure = RendererAgg(1, 1, figures.DPI)
    fits = "logistic regression (raw VGG16 block2_conv2, bands4): 0.963 [0.887, 1.000]"  # the demo's widest
    assert figures.wrap_label(fits, figures.ROC_LABEL_IN * figures.DPI, measure, 8) == fits
    wrapped = figures.wrap_label(small[1], figures.ROC_LABEL_IN * figures.DPI, measure, 8)
    assert wrapped == "logistic regression (raw VGG16 block2_conv2, bands4):\nnot a result (n = 2, 1 group)"


def test_the_header_says_when_a_simpler_model_does_better(dataset):
    """The head's test AUC is the header's figure; a baseline above it on the same test clips is named there, with
    its interval and whether the two intervals overlap, and gets its own card (the demo: 0.870 against 0.932)."""
    from reporting.sections import header

    def scored(auc, ci):
        return {"test": {"roc_auc": auc, "roc_auc_ci95": ci, "n": 40, "n_positive": 20, "n_groups": 4}}

    from transfer.metrics_record import MetricsRecord

    def with_head(head: dict) -> MetricsRecord:
        return MetricsRecord.from_dict({**record, "against_weak_labels": {**record["against_weak_labels"], "head": head}})

    inputs = load_inputs(dataset)
    record = {"head_training": {"kind": "logistic"}, "embedding": {"layer": "block2_conv2", "pooling": "bands4"},
              "against_weak_labels": {"head": scored(0.870, [0.797, 0.920]),
                                      "embedding_logistic_regression": scored(0.932, [0.897, 0.980]),
                                      "mel_logistic_regression": scored(0.880, [0.790, 0.975]),
                                      "mel_knn": {"test": {"roc_auc": 1.0, "n": 2, "n_positive": 1,
                                                           "n_groups": 1}}}}  # not a result: never "better"
    inputs.metrics = MetricsRecord.from_dict(record)
    page = header(inputs)
    assert "The logistic head scores ROC AUC 0.870 [0.797, 0.920]" in page
    assert ("A simpler model does better here:</strong> the logistic regression (raw VGG16 block2_conv2, bands4) "
            "scores 0.932 [0.897, 0.980] on the same test clips, though the two intervals overlap") in page
    assert re.search(r'<span class="value">0\.932</span><span class="label">best test AUC: logistic regression '
                     r'\(raw VGG16 block2_conv2, bands4\)</span>', page)
    inputs.metrics = with_head(scored(0.990, [0.970, 1.000]))
    assert "simpler model" not in header(inputs) and "best test AUC" not in header(inputs)
    inputs.metrics = with_head(scored(0.700, [0.600, 0.790]))
    assert "on the same test clips." in header(inputs)  # intervals apart: no caveat
    inputs.metrics = with_head({"test": {"roc_auc": 0.5, "n": 2, "n_positive": 1, "n_groups": 1}})
    assert "simpler model" not in header(inputs)  # a head that is not a result is compared with nothing
