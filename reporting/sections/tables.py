"""Sections rendered from generic result tables other tools write: acted-corpus evaluations and label quality,
with a warning above any table that holds an inverted ROC AUC."""
from __future__ import annotations

import re

from reporting.html import Section, esc, not_run, note, table
from reporting.inputs import ReportInputs, TablesFile
from reporting.sections.common import _command, _intro
from weaklabel.dataset import EVALUATION_JSON_FILE as EVALUATION_FILE, EVALUATIONS_DIR, LABEL_QUALITY_FILE
from foundation.paths import display_path
from foundation.metrics import INVERTED_TEXT


def inverted_rows(t: dict) -> list[str]:
    """Labels of a generic table's rows whose ROC AUC interval lies wholly below 0.5.

    Reads a ``95% CI`` column of ``"[lo, hi]"`` cells (tables written before results carried a verdict);
    a row's label is its first cells before the ``n`` column. Returns [] when the table has no such column.
    """
    columns = [str(c) for c in t.get("columns", [])]
    if "95% CI" not in columns:
        return []
    k = columns.index("95% CI")
    n_label = columns.index("n") if "n" in columns else 1
    out = []
    for row in t.get("rows", []):
        if not isinstance(row, list) or len(row) <= k:
            continue
        match = re.fullmatch(r"\s*\[\s*([-0-9.eE+]+)\s*,\s*([-0-9.eE+]+)\s*\]\s*", str(row[k]))
        if match and float(match.group(2)) < 0.5:
            out.append(" / ".join(str(c) for c in row[:n_label]))
    return out


def _inversion_note(t: dict) -> str | None:
    """The warning to show above a table that holds an inverted AUC, or None."""
    if t.get("warning"):
        return str(t["warning"])
    if "verdict" in [str(c) for c in t.get("columns", [])]:  # its writer judged every row (and warned)
        return None
    rows = inverted_rows(t)
    if not rows:
        return None
    return (f"{', '.join(rows)}: ROC AUC interval wholly below 0.5 -- {INVERTED_TEXT}. Not a usable result; "
            "see the per-speaker breakdown.")


def _tables_html(files: list[TablesFile]) -> str:
    parts = []
    for f in files:
        heading = f.title or f"{f.path.parent.name}/{f.path.name}"
        parts.append(f'<h3>{esc(heading)}</h3><p class="intro">From <code>{esc(display_path(f.path))}</code></p>')
        if f.error:
            parts.append(note(f"Could not be shown: {esc(f.error)}", "warn"))
            continue
        for t in f.tables:
            warning = _inversion_note(t)
            if warning:
                parts.append(note(f"<strong>Warning.</strong> {esc(warning)}", "warn"))
            rows = [r if isinstance(r, list) else [r] for r in t.get("rows", [])]
            parts.append(table([str(c) for c in t.get("columns", [])], rows,
                               caption=str(t["title"]) if t.get("title") else None))
            if t.get("note"):
                parts.append(f'<p class="intro">{esc(t["note"])}</p>')
    return "\n".join(parts)


def _tables_section(inputs: ReportInputs, section_id: str, title: str, intro: str, files: list[TablesFile],
                    command_key: str, missing: str, box_id: str) -> Section:
    """A section of generic result tables read from ``files``, or a "not run yet" box saying what is ``missing``
    and the command that makes it."""
    parts = [_intro(intro)]
    if files:
        parts.append(_tables_html(files))
    else:
        parts.append(not_run(title, _command(command_key, inputs) or "", missing, box_id=box_id))
    return Section(section_id, title, "\n".join(parts))


def acted_evaluation_section(inputs: ReportInputs) -> Section:
    folder = f"<code>{esc(EVALUATIONS_DIR)}/**/{esc(EVALUATION_FILE)}</code>"
    missing = (f"No <code>{esc(EVALUATION_FILE)}</code> under <code>{esc(inputs.display_path)}/{esc(EVALUATIONS_DIR)}/"
               "</code> and none given with <code>--evaluation</code>. The evaluation scores the trained model "
               "zero-shot on an acted emotion corpus (RAVDESS, CREMA-D, …) and probes the embeddings "
               "speaker-disjointly; written to that folder, the report finds it.")
    intro = ("The model and its embeddings against acted emotion corpora (python -m pipelines.evaluate_acted), "
             f"read from {folder} in the dataset folder and from <code>--evaluation FILE</code>.")
    return _tables_section(inputs, "acted-evaluation", "Acted-corpus evaluation", intro, inputs.acted_evaluations,
                           "acted_evaluation", missing, "not-run-acted-evaluation")


def label_quality_section(inputs: ReportInputs) -> Section:
    return _tables_section(
        inputs, "label-quality", "Label quality",
        "How good the weak labels are, measured against human labels where a corpus has them, "
        f"read from <code>{esc(LABEL_QUALITY_FILE)}</code> in the dataset folder and from "
        "<code>--label-quality FILE</code>.",
        inputs.label_quality, "label_quality",
        f"No <code>{esc(inputs.display_path)}/{esc(LABEL_QUALITY_FILE)}</code> and none given "
        "with <code>--label-quality</code>. It needs human labels: a manifest's "
        "<code>human_label</code> column, or <code>--human-labels FILE</code> (CMU-MOSEI "
        "<code>.csd</code>, CSV); <code>--csv</code> scores a labelled text corpus instead "
        "(e.g. MELD).", "not-run-label-quality")
