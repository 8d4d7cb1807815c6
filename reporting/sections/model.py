"""The model section: what the head reads and how it was trained, ROC curves and metric tables per target and
split, and "not a result" where a side is too small."""
from __future__ import annotations

import math

from reporting import figures
from reporting.html import Section, esc, figure, fmt, not_run, note, table
from reporting.inputs import ReportInputs
from reporting.sections.common import _auc_text, _command, _g, _intro, _model_order
from foundation.metrics import MIN_CLIPS_PER_CLASS, MIN_GROUPS, not_a_result
from transfer.weights import weights_text
from transfer.metrics_schema import AGAINST_HUMAN, EVAL_SPLITS, HEAD, TARGETS
from weaklabel.splits import TEST, VALIDATION


MODEL_COLOURS = ["#1a202c", "#2b6cb0", "#38a169", "#d69e2e", "#dd6b20", "#805ad5", "#e53e3e", "#319795",
                 "#b83280", "#718096"]


def _weights_line(weights: dict | None) -> str:
    if not weights:
        return "weights not recorded"
    sha = str(weights.get("sha256") or "")
    verified = weights.get("verified")
    mark = "verified ImageNet" if verified else "NOT verified ImageNet"
    return (f"VGG16 weights {esc(weights_text(weights, path=False))}, sha256 <code>{esc(sha[:16])}…</code>, "
            f"{mark}")


def roc_panels(metrics) -> list[tuple[str, list[dict]]]:
    """ROC panels (target × split) for :func:`reporting.figures.roc_curves`, from ``metrics.json`` (a
    :class:`~transfer.metrics_record.MetricsRecord`)."""
    every = set()
    for key in TARGETS:
        every |= set(metrics.results(key))
    colours = {name: MODEL_COLOURS[k % len(MODEL_COLOURS)] for k, name in enumerate(_model_order(sorted(every)))}
    titles = metrics.model_titles()
    panels = []
    for key, target in TARGETS.items():
        block = metrics.results(key)
        if not block:
            continue
        for split in EVAL_SPLITS:
            curves, n = [], None
            for name in _model_order(list(block)):
                m = (block[name] or {}).get(split) or {}
                n = n if n is not None else m.get("n")
                roc = m.get("roc")
                if not roc or m.get("roc_auc") is None:
                    continue
                curves.append({"label": f"{titles.get(name, name)}: {_auc_text(m)}", "fpr": roc["fpr"],
                               "tpr": roc["tpr"], "emphasis": name == HEAD, "colour": colours[name]})
            panels.append((f"{split}, against {target} (n={n if n is not None else 0})", curves))
    return panels


def _metrics_table(block: dict, target: str, titles: dict[str, str]) -> str:
    rows = []
    for name in _model_order(list(block)):
        splits = block[name] or {}
        val, test = splits.get(VALIDATION) or {}, splits.get(TEST) or {}
        scores = [None] * 3 if not_a_result(test) else [test.get(k) for k in ("accuracy", "balanced_accuracy", "f1")]
        rows.append([titles.get(name, name), _auc_text(val), val.get("n", 0), _auc_text(test), test.get("n", 0),
                     *scores])
    return table(["model", "validation ROC AUC [95% CI]", "n", "test ROC AUC [95% CI]", "n", "test accuracy",
                  "test balanced accuracy", "test F1"], rows, num_columns=(1, 3),
                 caption=f"Against the {target}")


def _head_name(metrics) -> str:
    """What the trained head is, in words ("logistic head", "dense head"), from ``metrics.json`` (or None)."""
    kind = metrics.head_kind if metrics is not None else None
    return f"{kind} head" if kind else "valence head"


def _training_text(metrics) -> str:
    """How the head was trained, from ``metrics.json``'s record (HTML): its clips, and the dense head's epochs or
    the logistic head's regularisation and weighting."""
    training = metrics.head_training
    head = training.get("config") or metrics.train_config.get("head") or {}
    text = (f"{fmt(metrics.n_train)} clips, positive share {fmt(metrics.train_positive_share)}; "
            f"{esc(_head_name(metrics))}")
    if metrics.head_kind == "dense":
        return (text + f", {fmt(training.get('epochs_run'))} epochs, best {fmt(training.get('best_epoch'))} by "
                       f"{esc(training.get('monitor', ''))}")
    if metrics.head_kind == "logistic":
        weighted = training.get("weighted", metrics.train_config.get("weighting") == "confidence")
        return (text + f", L2-regularised with C = {_g(head.get('C'))}, classes balanced"
                + (", clips weighted by the labelling policy's confidence" if weighted else ""))
    return text


#: The rule behind "not a result" (:func:`foundation.metrics.not_a_result`), in words.
MINIMUM_TEXT = (f"a figure needs at least {MIN_CLIPS_PER_CLASS} clips of each class and {MIN_GROUPS} speakers or "
                "recordings on its side")


def model_section(inputs: ReportInputs) -> Section:
    metrics = inputs.metrics
    parts = [_intro(f"A {esc(_head_name(metrics))} on frozen VGG16 embeddings of the spectrograms, next to "
                    "classical baselines, trained on the train split's weak labels and scored on validation and "
                    "test. ROC AUC comes from predicted probabilities; the interval is a 95% bootstrap.")]
    if metrics is None:
        if inputs.metrics_error:
            parts.append(note(f"metrics.json could not be read: {esc(inputs.metrics_error)}", "warn"))
        commands = "\n".join(c for c in (_command("embed", inputs), _command("train", inputs)) if c)
        parts.append(not_run("Model", commands, "No <code>metrics.json</code> in the dataset folder: no model has "
                             "been trained on this build.", box_id="not-run-model"))
        return Section("model", "The model", "\n".join(parts))

    build_fp = inputs.build.fingerprint
    if metrics.build_fingerprint != build_fp:
        parts.append(note(f"<strong>Stale:</strong> these metrics were computed on another build (fingerprint "
                          f"<code>{esc(str(metrics.build_fingerprint)[:12])}</code>, this build "
                          f"<code>{esc(str(build_fp)[:12])}</code>). Re-run "
                          f"<code>{esc(_command('train', inputs) or '')}</code>.", "warn"))
    weights = metrics.weights or {}
    features = metrics.features
    # None: an extractor without weights (a record from before the registry ran VGG16's)
    uses_weights = metrics.weights is not None or features is None
    if uses_weights and not weights.get("verified"):
        what = "the pinned Whisper model" if weights.get("name") else "ImageNet weights"
        parts.append(note(f"<strong>Not {what}</strong> ({esc(weights_text(weights, path=False))}): "
                          "these figures test the plumbing, not the method.", "warn"))
    if features is not None and features.licence and not uses_weights:
        parts.append(note(f"Features <code>{esc(features.name)}</code> {esc(features.version)}: "
                          f"{esc(features.licence)}."))
    details = [("features", _features_text(metrics)),
               ("weights", _weights_line(weights)),
               ("training", _training_text(metrics)),
               ("labels", f"policy <code>{esc(metrics.policy)}</code>, band {_g(metrics.neutral_band)}"),
               ("model", "<code>model/</code> (head.keras + model.json)" if inputs.model_meta is not None
                else "no saved model folder")]
    parts.append('<dl class="kv">' + "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in details) + "</dl>")

    panels = roc_panels(metrics)
    if panels:
        n_rows = math.ceil(len(panels) / 2)
        human = "; the bottom row scores against human labels" if n_rows > 1 else ""
        parts.append(figure(figures.roc_curves(panels), "ROC curves",
                            "ROC curves per model on validation (left) and test (right), with ROC AUC and its "
                            f"95% bootstrap interval in the legend{human}. The dotted diagonal is chance; the "
                            f"thick black line is the {esc(_head_name(metrics))}. <strong>Look for</strong> the head "
                            "above the mel baselines by more than the intervals' width — overlapping intervals on "
                            "small splits mean the difference is not established.", width_px=960))
    small = sorted({not_a_result(cell) for key in TARGETS for splits in metrics.results(key).values()
                    for cell in (splits or {}).values() if isinstance(cell, dict) and not_a_result(cell)})
    if small:
        sizes = "; ".join(reason.removeprefix("not a result (").removesuffix(")") for reason in small)
        parts.append(note(f"<strong>Not a result</strong> where a side holds {esc(sizes)}: {esc(MINIMUM_TEXT)}. "
                          "Below that, an AUC of 1.000 or 0.000 says nothing about the model, so those cells say "
                          "so instead of a figure.", "warn"))
    titles = metrics.model_titles()
    for key, target in TARGETS.items():
        if metrics.results(key):
            parts.append(_metrics_table(metrics.results(key), target, titles))
    if not metrics.results(AGAINST_HUMAN):
        parts.append(note(f"No human labels: {esc(metrics.human_labels_note or 'none given')}. Scores "
                          "against the weak labels measure agreement with the text scorers, not with people; "
                          "a manifest's <code>human_label</code> column or <code>--human-labels</code> at "
                          "training adds that comparison."))
    else:
        parts.append(_intro(f"Human labels from {esc(metrics.human_labels_source or '')}, on every clip with "
                            "a human positive/negative label, including clips the weak labeller abstained on; "
                            "the weak-label score row measures the text scorers themselves."))
    return Section("model", "The model", "\n".join(parts))


def _features_text(metrics) -> str:
    """The extractor the model reads, in words: its name, what it computes and how wide (VGG16: its layer and
    pooling), and why ``auto`` chose it."""
    name, emb, features = metrics.extractor, metrics.embedding, metrics.features
    if emb.settings.get("layer") and name == "vgg16":
        what = f"cut at <code>{esc(emb.settings['layer'])}</code>, {esc(emb.settings.get('pooling') or '')} pooled"
    else:
        what = esc(emb.settings.get("pooling_description") or (features.description if features else None) or "")
    text = (f"<code>{esc(name)}</code>: {what}, {fmt(emb.dim)} dimensions (cache key <code>{esc(emb.key)}</code>)")
    return text + (f"; {esc(features.note)}" if features is not None and features.note else "")
