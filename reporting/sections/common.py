"""What the report's sections share: the "not run yet" commands, split order, per-segment outcomes, and how a
configuration value, an AUC and its interval, and the models' order are written."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from reporting.html import fmt
from reporting.inputs import ReportInputs
from foundation.metrics import not_a_result
from transfer.metrics_schema import MODEL_TITLES
from weaklabel.segments import ABSTAINED, OK
from weaklabel.splits import SPLITS, UNASSIGNED


SPLIT_ORDER = (*SPLITS, UNASSIGNED)


#: Commands shown in "not run yet" boxes; ``{dataset}`` is the dataset path. None: no tool of ours yet.
COMMANDS: dict[str, str | None] = {
    "embed": "python -m pipelines.embed --dataset {dataset}",
    "train": "python -m pipelines.train --dataset {dataset}",
    "acted_evaluation": ("python -m pipelines.evaluate_acted --corpus ravdess --root RAVDESS_DIR "
                         "--model {dataset}/model --out {dataset}/evaluations/ravdess"),
    "label_quality": "python -m pipelines.label_quality --dataset {dataset}",
}


def _floats(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def _command(key: str, inputs: ReportInputs) -> str | None:
    template = COMMANDS.get(key)
    return template.format(dataset=_shell_path(inputs.display_path)) if template else None


def _shell_path(path: str) -> str:
    """``path`` as a shell word: quoted unless plain, a leading ``~/`` (:func:`foundation.paths.display_path`) left
    outside the quotes for the shell to expand."""
    home, rest = ("~/", path[2:]) if path.startswith("~/") else ("", path)
    plain = all(c.isalnum() or c in "/._-+:=@" for c in rest)
    return home + (rest if plain else "'" + rest.replace("'", "'\\''") + "'")


def _split_order(values: Sequence[str]) -> list[str]:
    known = [s for s in SPLIT_ORDER if s in values]
    return known + sorted(v for v in values if v not in SPLIT_ORDER)


def _splits(segments: pd.DataFrame) -> pd.Series:
    return segments["split"].astype("object").where(segments["split"].notna(), UNASSIGNED).astype(str)


def outcomes(segments: pd.DataFrame) -> np.ndarray:
    """``positive`` / ``negative`` / ``abstained`` / ``failed`` per segment."""
    status = segments["status"].astype(str).to_numpy()
    label = _floats(segments["label"])
    out = np.full(len(segments), "failed", dtype=object)
    out[status == ABSTAINED] = "abstained"
    out[(status == OK) & (label == 1)] = "positive"
    out[(status == OK) & (label == 0)] = "negative"
    return out


def _g(value) -> str:
    """A configuration value as written (``0.2``, ``7``, ``1e-10``), not rounded to table precision."""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(_g(v) for v in value)
    return fmt(value)


def _intro(text: str) -> str:
    return f'<p class="intro">{text}</p>'


def _auc_text(m: dict | None, digits: int = 3) -> str:
    """ROC AUC and its interval, or why there is none: "not a result (n = 2, 1 group)" for a side too small to
    mean anything (:func:`foundation.metrics.not_a_result`), "n/a" when undefined."""
    reason = not_a_result(m) if m is not None else None
    if reason:
        return reason
    if not m or m.get("roc_auc") is None:
        return "n/a"
    ci = m.get("roc_auc_ci95")
    interval = f" [{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]" if ci else ""
    return f"{m['roc_auc']:.{digits}f}{interval}"


def _model_order(names: Sequence[str]) -> list[str]:
    preferred = [n for n in MODEL_TITLES if n in names]
    return preferred + sorted(n for n in names if n not in MODEL_TITLES)
