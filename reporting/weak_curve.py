"""The report's weak-supervision section: the AUC curve against transcript-label quality, and its tables.

Reads ``weak_supervision.json`` files written by ``python -m pipelines.weak_supervision`` (given with
``--weak-supervision FILE``). The figure is a pure function of the record (PNG bytes, deterministic).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from reporting.figures import STYLE, _figure, png_bytes
from reporting.html import Section, esc, figure, not_run, note, table

#: Line styles per recipe: the default solid and dark; references lighter; the ceiling dashed.
_RECIPE_STYLE = {"default": ("#2b6cb0", "-", "o"), "original recipe": ("#dd6b20", "-", "s"),
                 "previous defaults": ("#a0aec0", "-", "^"), "true-label ceiling": ("#2f855a", "--", None)}


def read_weak_supervision(path: str | Path) -> dict:
    """A weak-supervision record, or ``{"path", "error"}`` when it cannot be read (shown, never raised)."""
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return {"path": str(path), "error": f"{type(exc).__name__}: {exc}"}
    if not isinstance(record, dict) or record.get("kind") != "weak_supervision" or "summary" not in record:
        return {"path": str(path), "error": "not a weak_supervision.json written by pipelines.weak_supervision"}
    return {**record, "path": str(path)}


def weak_supervision_curve(record: dict) -> bytes:
    """ROC AUC (with its interval) against the match probability ``p``, one line per recipe.

    The true-label ceiling, which does not depend on ``p``, is a horizontal band; chance is the 0.5 line.
    """
    import matplotlib

    with matplotlib.rc_context(STYLE):
        fig = _figure(6.4, 3.6)
        ax = fig.add_subplot(1, 1, 1)
        probabilities = [float(p) for p in record["config"]["probabilities"]]
        ax.axhline(0.5, color="#718096", lw=0.8, ls=":", label="chance")
        for name in dict.fromkeys(row["recipe"] for row in record["summary"]):
            rows = [r for r in record["summary"] if r["recipe"] == name]
            colour, style, marker = _RECIPE_STYLE.get(name, ("#4a5568", "-", "d"))
            if rows and rows[0]["p"] is None:
                row = rows[0]
                lo, hi = row["roc_auc_ci95"] or (row["roc_auc"], row["roc_auc"])
                ax.axhspan(lo, hi, color=colour, alpha=0.12, lw=0)
                ax.axhline(row["roc_auc"], color=colour, ls=style, lw=1.5, label=f"{name} ({row['roc_auc']:.2f})")
                continue
            rows.sort(key=lambda r: r["p"])
            x = np.array([r["p"] for r in rows])
            y = np.array([r["roc_auc"] for r in rows])
            ci = np.array([r["roc_auc_ci95"] or (r["roc_auc"], r["roc_auc"]) for r in rows])
            ax.fill_between(x, ci[:, 0], ci[:, 1], color=colour, alpha=0.15, lw=0)
            ax.plot(x, y, color=colour, ls=style, marker=marker, ms=4, lw=1.5, label=name)
        ax.set_xticks(probabilities)
        ax.set_xlabel("p: probability that a clip's transcript has the clip's valence")
        ax.set_ylabel("ROC AUC, held-out speakers")
        ax.set_ylim(0.3, 1.0)
        ax.legend(loc="upper left", ncol=2)
        return png_bytes(fig)


def weak_supervision_section(records: list[dict]) -> Section:
    parts = ['<p class="intro">How good must transcript labels be, and what model do they give? Each clip of '
             "an acted corpus is paired with a human-labelled sentence whose valence matches the clip's with "
             "probability p; the pipeline labels the pairs from the text, trains on some speakers and is scored "
             "on held-out speakers' true valence. Read with <code>--weak-supervision FILE</code>.</p>"]
    if not records:
        parts.append(not_run("Weak-supervision benchmark",
                             "python -m pipelines.weak_supervision --root RAVDESS --sentences meld_dev_sent_emo.csv",
                             "No <code>weak_supervision.json</code> given with <code>--weak-supervision</code>.",
                             box_id="not-run-weak-supervision"))
    for record in records:
        if record.get("error"):
            parts.append(note(f"<code>{esc(record['path'])}</code>: {esc(record['error'])}", "warn"))
            continue
        corpus = record["corpus"]
        caption = (f"{corpus['clips']} clips from {len(corpus['speakers'])} speakers, "
                   f"{len(record['rotations'])} rotations x {len(record['config']['pairing_seeds'])} pairing seeds; shaded: 95 % interval "
                   "(bootstrap over pairing seeds and test speakers).")
        parts.append(figure(weak_supervision_curve(record), "weak-supervision curve", esc(caption)))
        inverted = [r for r in record["summary"] if r.get("verdict") == "inverted"]
        for row in inverted:
            parts.append(note(f"<strong>Ranking inverted:</strong> {esc(row['recipe'])} at p = {row['p']} scores "
                              "held-out negative clips as more positive than positive ones (the whole interval "
                              "is below 0.5); see the per-rotation rows.", "warn"))
        first = record["tables"][0]
        parts.append(table([str(c) for c in first["columns"]], first["rows"], caption=first.get("title")))
        parts.append(f'<p class="intro">{esc(first.get("note", ""))}</p>')
    return Section("weak-supervision", "Weak-supervision benchmark", "\n".join(parts))
