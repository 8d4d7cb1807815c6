"""The page header: the dataset's name, a one-paragraph summary and its key numbers as cards, and whether a
simpler model beats the head on the test split."""
from __future__ import annotations

from reporting.html import esc
from reporting.inputs import ReportInputs
from reporting.sections.common import _auc_text, _g, _model_order
from reporting.sections.model import MINIMUM_TEXT, _head_name
from foundation.metrics import not_a_result
from transfer.metrics_schema import AGAINST_WEAK, HEAD
from weaklabel.splits import TEST


def is_synthetic_demo(inputs: ReportInputs) -> bool:
    root = str(inputs.build.config.root or "").replace("\\", "/").rstrip("/")
    return root.endswith("data/demo/generated")


def _weak_test_metrics(metrics, model: str) -> dict | None:
    """``model``'s test metrics against the weak labels in ``metrics.json`` (a
    :class:`~transfer.metrics_record.MetricsRecord`, or None), or None."""
    return None if metrics is None else metrics.cell(AGAINST_WEAK, model, TEST)


def head_test_metrics(inputs: ReportInputs) -> dict | None:
    return _weak_test_metrics(inputs.metrics, HEAD)


def better_test_model(metrics) -> tuple[str, dict] | None:
    """The model of ``metrics.json`` (its key, its test metrics) whose test ROC AUC against the weak labels is
    above the head's to three decimals (as the page shows them), the highest when several are; None when none
    is, or when the head's test figure is not a result. Models whose figure is not a result do not count."""
    def auc(m: dict | None) -> float | None:
        return m["roc_auc"] if m and m.get("roc_auc") is not None and not not_a_result(m) else None

    head = auc(_weak_test_metrics(metrics, HEAD))
    if head is None:
        return None
    others = [(name, _weak_test_metrics(metrics, name)) for name in
              _model_order([n for n in metrics.results(AGAINST_WEAK) if n != HEAD])]
    above = [(name, m) for name, m in others if auc(m) is not None and round(auc(m), 3) > round(head, 3)]
    return max(above, key=lambda item: item[1]["roc_auc"], default=None)


def _intervals_overlap(a: dict, b: dict) -> bool:
    ci_a, ci_b = a.get("roc_auc_ci95"), b.get("roc_auc_ci95")
    return bool(ci_a and ci_b) and ci_a[0] <= ci_b[1] and ci_b[0] <= ci_a[1]


def header(inputs: ReportInputs) -> str:
    """The page header: dataset name, one-paragraph summary, key numbers as cards."""
    counts, config = inputs.build.counts, inputs.build.config
    ok = counts.ok
    share = counts.positive_share
    lead = (f"{counts.recordings:,} recordings → {counts.segments:,} transcript segments: "
            f"{ok:,} kept as weak labels ({counts.positive:,} positive, "
            f"{counts.negative:,} negative), {counts.abstained:,} abstained, "
            f"{counts.failed:,} failed. Policy <code>{esc(config.policy)}</code>, neutral band "
            f"{_g(config.neutral_band)}, {_g(config.clip_seconds)} s clips.")
    head = head_test_metrics(inputs)
    verdict = not_a_result(head) if head else None
    if verdict:
        lead += (f" The {esc(_head_name(inputs.metrics))}'s test figures are {esc(verdict)}: too few clips or "
                 f"speakers to measure anything ({esc(MINIMUM_TEXT)}).")
    elif head and head.get("roc_auc") is not None:
        lead += (f" The {esc(_head_name(inputs.metrics))} scores ROC AUC {esc(_auc_text(head))} on the test split "
                 f"against the weak labels (n={head.get('n')}).")
    elif inputs.metrics is None:
        lead += " No model trained yet."
    better = better_test_model(inputs.metrics)
    if better:
        title = inputs.metrics.model_titles().get(better[0], better[0])
        lead += (f" <strong>A simpler model does better here:</strong> the {esc(title)} scores "
                 f"{esc(_auc_text(better[1]))} on the same test clips"
                 + (", though the two intervals overlap: the difference is not established." if
                    _intervals_overlap(head, better[1]) else "."))
    cards = [
        ("recordings", f"{counts.recordings:,}"),
        ("segments", f"{counts.segments:,}"),
        ("kept (weak labels)", f"{ok:,}"),
        ("positive share", f"{share:.0%}" if share is not None else "—"),
        ("abstained", f"{counts.abstained:,}"),
        ("failed", f"{counts.failed:,}"),
        ("head test AUC" + (f" ({verdict.removeprefix('not a result (')}" if verdict else ""),
         "not a result" if verdict else
         f"{head['roc_auc']:.3f}" if head and head.get("roc_auc") is not None else "—"),
    ]
    if better:
        cards.append((f"best test AUC: {title}", f"{better[1]['roc_auc']:.3f}"))
    card_html = "".join(f'<div class="card"><span class="value">{esc(v)}</span><span class="label">{esc(k)}'
                        f"</span></div>" for k, v in cards)
    kicker = "Weak-label speech emotion report" + (" · synthetic demo corpus" if is_synthetic_demo(inputs) else "")
    return (f'<p class="kicker">{esc(kicker)}</p><h1>{esc(inputs.name)}</h1>'
            f'<p class="lead">{lead}</p><div class="cards">{card_html}</div>')
