"""The report's plots: pure functions of arrays and dicts that return PNG bytes.

Every function draws on its own :class:`matplotlib.figure.Figure` with the Agg canvas (no pyplot, no global
backend switch, no state left behind) and returns the PNG file's bytes. The bytes are deterministic: PNG
metadata carries no software version or date, and subsampling, where a function does any, is seeded.
"""
from __future__ import annotations

import io
import math
from typing import Sequence

import matplotlib
import matplotlib.ticker
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

from weaklabel.policies import POLICIES, Trapezoid

__all__ = [
    "COLOURS", "MAX_SCATTER_POINTS", "PLANE_LIMIT", "abstain_region", "duration_histogram", "label_balance",
    "png_bytes", "roc_curves", "roc_figure", "scatter_subsample", "score_histogram", "sentiment_scatter",
    "spectrogram_grid", "split_sizes", "wrap_label",
]

#: Outcome colours (colour-blind safe: blue / orange / grey / brown).
COLOURS = {"positive": "#2b6cb0", "negative": "#dd6b20", "abstained": "#a0aec0", "failed": "#6b4f3a"}
BAND_COLOUR = "#718096"
#: The scatter plot shows at most this many points (a seeded subsample of larger builds).
MAX_SCATTER_POINTS = 5000
#: The scatter plot's axes run from -PLANE_LIMIT to PLANE_LIMIT (scores lie in [-1, 1]).
PLANE_LIMIT = 1.05
DPI = 100

STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
}


def _figure(width_in: float, height_in: float) -> Figure:
    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig: Figure, dpi: int = DPI) -> bytes:
    """The figure as PNG bytes, without the software/date metadata (same figure, same bytes)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def _empty(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="#4a5568")
    ax.set_xticks([])
    ax.set_yticks([])


def duration_histogram(durations_s: dict[str, np.ndarray], clip_seconds: float) -> bytes:
    """Histogram of segment durations before cropping or padding, stacked by outcome, clip length marked.

    Parameters
    ----------
    durations_s : dict of outcome name -> ndarray of shape (n,)
        Durations in seconds per outcome (e.g. ``kept``, ``abstained``, ``failed``); NaN ignored.
    clip_seconds : float
        The fixed clip length: longer segments were cropped to it, shorter ones padded.
    """
    colours = {"kept": COLOURS["positive"], "abstained": COLOURS["abstained"], "failed": COLOURS["failed"]}
    with matplotlib.rc_context(STYLE):
        fig = _figure(7.5, 3.0)
        ax = fig.add_subplot()
        data = {k: np.asarray(v, dtype=float) for k, v in durations_s.items()}
        data = {k: v[np.isfinite(v)] for k, v in data.items()}
        every = np.concatenate(list(data.values())) if data else np.zeros(0)
        if every.size == 0:
            _empty(ax, "no segment has a valid duration")
            return png_bytes(fig)
        top = max(float(np.percentile(every, 99.5)), clip_seconds) * 1.08
        bins = np.linspace(0.0, top, 41)
        names = [k for k in data if data[k].size]
        ax.hist([np.clip(data[k], 0, top) for k in names], bins=bins, stacked=True,
                color=[colours.get(k, "#4a5568") for k in names], label=[f"{k} ({data[k].size:,})" for k in names],
                edgecolor="white", linewidth=0.4)
        ax.axvline(clip_seconds, color="#1a202c", linestyle="--", linewidth=1.2)
        longer = int((every > clip_seconds).sum())
        shorter = int((every < clip_seconds).sum())
        label = f"clip {clip_seconds:g} s\n{longer:,} longer: cropped\n{shorter:,} shorter: padded"
        right_side = clip_seconds < 0.6 * top
        ax.annotate(label, xy=(clip_seconds, 0.97), xycoords=ax.get_xaxis_transform(),
                    xytext=(5 if right_side else -5, 0), textcoords="offset points", va="top",
                    ha="left" if right_side else "right", fontsize=8, color="#1a202c")
        ax.set_xlabel("segment duration before cropping/padding (s)")
        ax.set_ylabel("segments")
        ax.set_xlim(0, top)
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=3)
        return png_bytes(fig)


def split_sizes(splits: Sequence[str], kept: Sequence[int], abstained: Sequence[int], failed: Sequence[int],
                groups: Sequence[int]) -> bytes:
    """Segments per split (stacked kept / abstained / failed) beside groups per split."""
    with matplotlib.rc_context(STYLE):
        fig = _figure(7.5, 2.4)
        ax_seg, ax_grp = fig.subplots(1, 2, width_ratios=[2, 1])
        if not splits:
            _empty(ax_seg, "no segments")
            _empty(ax_grp, "no groups")
            return png_bytes(fig)
        y = np.arange(len(splits))[::-1]
        left = np.zeros(len(splits))
        for name, values, colour in (("kept", kept, COLOURS["positive"]), ("abstained", abstained,
                                     COLOURS["abstained"]), ("failed", failed, COLOURS["failed"])):
            values = np.asarray(values, dtype=float)
            if values.sum() > 0:  # no legend entry for an empty category
                ax_seg.barh(y, values, left=left, color=colour, label=name, height=0.6)
            left += values
        for yi, total in zip(y, left):
            ax_seg.text(total, yi, f" {int(total):,}", va="center", fontsize=8)
        ax_seg.set_yticks(y, splits)
        ax_seg.set_xlabel("segments")
        ax_seg.set_xlim(0, max(left.max(), 1) * 1.15)
        ax_seg.legend(loc="lower right", ncols=3, bbox_to_anchor=(1.0, 1.0))
        ax_grp.barh(y, groups, color="#4a5568", height=0.6)
        for yi, g in zip(y, groups):
            ax_grp.text(g, yi, f" {int(g):,}", va="center", fontsize=8)
        ax_grp.set_yticks(y, splits)
        ax_grp.set_xlabel("groups (videos or speakers)")
        ax_grp.set_xlim(0, max(max(groups), 1) * 1.25)
        return png_bytes(fig)


def label_balance(splits: Sequence[str], positive: Sequence[int], negative: Sequence[int],
                  abstained: Sequence[int]) -> bytes:
    """Share of positive / negative / abstained segments per split (100 % bars, counts written in)."""
    with matplotlib.rc_context(STYLE):
        fig = _figure(7.5, 0.6 + 0.45 * max(len(splits), 1))
        ax = fig.add_subplot()
        if not splits:
            _empty(ax, "no segments")
            return png_bytes(fig)
        y = np.arange(len(splits))[::-1]
        counts = np.array([positive, negative, abstained], dtype=float)
        totals = counts.sum(axis=0)
        shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
        left = np.zeros(len(splits))
        for row, name in enumerate(("positive", "negative", "abstained")):
            ax.barh(y, shares[row], left=left, color=COLOURS[name], label=name, height=0.65)
            for yi, l, s, c in zip(y, left, shares[row], counts[row]):
                if s >= 0.07:
                    ax.text(l + s / 2, yi, f"{int(c):,}", ha="center", va="center", fontsize=8,
                            color="white" if name != "abstained" else "#1a202c")
            left += shares[row]
        ax.set_yticks(y, [f"{s} ({int(t):,})" for s, t in zip(splits, totals)])
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        ax.legend(loc="lower center", ncols=3, bbox_to_anchor=(0.5, 1.0))
        return png_bytes(fig)


def scatter_subsample(n: int, limit: int = MAX_SCATTER_POINTS, seed: int = 0) -> np.ndarray:
    """Sorted indices of a seeded subsample of ``limit`` out of ``n`` (all of them when ``n <= limit``)."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))


def abstain_region(policy: str, band: float) -> tuple[Trapezoid, ...] | None:
    """Where ``policy`` abstains on TextBlob (x) / VADER (y) axes (its :class:`weaklabel.policies.LabelingPolicy`
    says); None for a policy that is not a region of these axes, or that this code does not know."""
    known = POLICIES.get(policy)
    return None if known is None else known.abstain_region(band)


def _to_edge(values: np.ndarray) -> np.ndarray:
    """Infinite bounds at the edge of the plot."""
    return np.where(np.isinf(values), np.copysign(PLANE_LIMIT, values), values)


def _shade(ax, region: Sequence[Trapezoid]) -> None:
    """Shade a region: strips across the whole plot as spans, any other shape between its two lines."""
    style = dict(color=BAND_COLOUR, alpha=0.16, linewidth=0, zorder=0)
    for shape in region:
        flat = shape.lower[1] == 0 and shape.upper[1] == 0
        if flat and math.isinf(shape.x_min) and math.isinf(shape.x_max):
            ax.axhspan(shape.lower[0], shape.upper[0], **style)
        elif flat and math.isinf(shape.lower[0]) and math.isinf(shape.upper[0]):
            ax.axvspan(shape.x_min, shape.x_max, **style)
        else:
            x = _to_edge(np.array([shape.x_min, shape.x_max]))
            ax.fill_between(x, _to_edge(shape.lower[0] + shape.lower[1] * x),
                            _to_edge(shape.upper[0] + shape.upper[1] * x), **style)


def sentiment_scatter(textblob: np.ndarray, vader: np.ndarray, outcome: np.ndarray, policy: str,
                      neutral_band: float, n_total: int | None = None) -> bytes:
    """TextBlob polarity (x) against VADER compound (y), coloured by outcome, the policy's band shaded.

    Parameters
    ----------
    textblob, vader : ndarray of shape (n,)
        Scores in [-1, 1].
    outcome : ndarray of shape (n,) of str
        ``positive``, ``negative`` or ``abstained`` per point.
    policy : str
        The build's labelling policy; its :func:`abstain_region` is shaded (a policy that is not a function of
        these two scores alone has none: show :func:`score_histogram` beside).
    neutral_band : float
        Half-width of the abstention band.
    n_total : int, optional
        How many segments the (possibly subsampled) points stand for; shown in the title.
    """
    with matplotlib.rc_context(STYLE):
        fig = _figure(5.6, 5.2)
        ax = fig.add_subplot()
        region = abstain_region(policy, neutral_band)
        if region is not None:
            _shade(ax, region)
        ax.axhline(0, color="#cbd5e0", linewidth=0.6, zorder=0)
        ax.axvline(0, color="#cbd5e0", linewidth=0.6, zorder=0)
        outcome = np.asarray(outcome)
        for name in ("abstained", "negative", "positive"):
            m = outcome == name
            if m.any():
                ax.scatter(np.asarray(textblob)[m], np.asarray(vader)[m], s=9, alpha=0.55, color=COLOURS[name],
                           label=f"{name} ({int(m.sum()):,})", linewidths=0, rasterized=True)
        ax.set_xlim(-PLANE_LIMIT, PLANE_LIMIT)
        ax.set_ylim(-PLANE_LIMIT, PLANE_LIMIT)
        ax.set_aspect("equal")
        ax.set_xlabel("TextBlob polarity")
        ax.set_ylabel("VADER compound")
        shown = len(outcome)
        if shown == 0:
            ax.text(0.5, 0.5, "no scored segments", ha="center", va="center", transform=ax.transAxes)
        title = f"policy {policy!r}, band {neutral_band:g}" + (
            "" if region is not None else ": not a region of these axes")
        if n_total is not None and n_total > shown:
            title += f" — {shown:,} of {n_total:,} shown"
        ax.set_title(title)
        if shown:
            ax.legend(loc="upper left", markerscale=1.6, frameon=True, framealpha=0.9, edgecolor="#e2e8f0")
        return png_bytes(fig)


def score_histogram(score: np.ndarray, outcome: np.ndarray, policy: str, neutral_band: float) -> bytes:
    """Histogram of the policy's combined score, stacked by outcome, with the band ±``neutral_band`` shaded.

    Used for policies whose abstention region has no drawing in TextBlob/VADER space.
    """
    with matplotlib.rc_context(STYLE):
        fig = _figure(6.5, 3.2)
        ax = fig.add_subplot()
        ax.axvspan(-neutral_band, neutral_band, color=BAND_COLOUR, alpha=0.16, linewidth=0)
        score, outcome = np.asarray(score, dtype=float), np.asarray(outcome)
        names = [n for n in ("positive", "negative", "abstained") if (outcome == n).any()]
        if names:
            ax.hist([score[outcome == n] for n in names], bins=np.linspace(-1, 1, 41), stacked=True,
                    color=[COLOURS[n] for n in names], label=[f"{n} ({int((outcome == n).sum()):,})" for n in names],
                    edgecolor="white", linewidth=0.4)
            ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=3)
        else:
            ax.text(0.5, 0.5, "no scored segments", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlim(-1.02, 1.02)
        ax.set_xlabel(f"combined score of policy {policy!r}")
        ax.set_ylabel("segments")
        return png_bytes(fig)


def spectrogram_grid(rows: Sequence[tuple[str, Sequence[dict]]], seconds_per_frame: float,
                     mel_hz: np.ndarray | None = None, floor_db: float = -100.0) -> bytes:
    """Log-mel spectrograms in a grid, one row per class, with the speech span marked.

    Parameters
    ----------
    rows : sequence of (row name, clips)
        Each clip a dict with ``logmel`` (ndarray (n_mels, n_frames), dB), ``title`` (str) and
        ``speech_s`` ((start, end) in seconds within the clip: the recording's audio; the rest is padding).
    seconds_per_frame : float
        Hop length over sample rate: frame ``k`` is centred at ``k * seconds_per_frame``.
    mel_hz : ndarray of shape (n_mels,), optional
        Centre frequency of each mel band, to label the frequency axis in Hz (else band numbers).
    floor_db : float
        Bottom of the colour scale: the padding's silence (-100 dB).
    """
    n_cols = max((len(clips) for _, clips in rows), default=0)
    with matplotlib.rc_context(STYLE):
        fig = _figure(3.3 * max(n_cols, 1) + 0.9, 2.35 * max(len(rows), 1) + 0.3)
        if n_cols == 0:
            _empty(fig.add_subplot(), "no clips with features")
            return png_bytes(fig)
        every = [np.asarray(c["logmel"], dtype=np.float32) for _, clips in rows for c in clips]
        top = math.ceil(max(float(a.max()) for a in every) / 10.0) * 10.0
        axes = np.atleast_2d(fig.subplots(len(rows), n_cols, squeeze=False, sharex=True, sharey=True))
        image = None
        for r, (row_name, clips) in enumerate(rows):
            for c in range(n_cols):
                ax = axes[r, c]
                if c >= len(clips):
                    ax.set_axis_off()
                    continue
                clip = clips[c]
                logmel = np.asarray(clip["logmel"], dtype=np.float32)
                n_mels, n_frames = logmel.shape
                duration = n_frames * seconds_per_frame
                image = ax.imshow(logmel, origin="lower", aspect="auto", cmap="magma", vmin=floor_db, vmax=top,
                                  extent=(-seconds_per_frame / 2, duration - seconds_per_frame / 2, -0.5,
                                          n_mels - 0.5), interpolation="nearest")
                start, end = clip["speech_s"]
                for x in (start, end):
                    ax.axvline(x, color="#68d391", linestyle="--", linewidth=1.0)
                ax.annotate("", xy=(start, n_mels * 0.97), xytext=(end, n_mels * 0.97),
                            arrowprops=dict(arrowstyle="<->", color="#68d391", linewidth=1.0))
                ax.text((start + end) / 2, n_mels * 0.93, "speech", color="#68d391", ha="center", va="top",
                        fontsize=7.5)
                ax.set_title(clip["title"], fontsize=8.5, color=COLOURS.get(row_name, "#1a202c"))
                if r == len(rows) - 1:
                    ax.set_xlabel("time in clip (s)")
                if c == 0:
                    ax.set_ylabel(f"{row_name}\nmel band" + (" (Hz)" if mel_hz is not None else ""))
        if mel_hz is not None:
            n_mels = len(mel_hz)
            ticks = [k for k in np.linspace(0, n_mels - 1, 5).round().astype(int)]
            axes[0, 0].set_yticks(ticks, [f"{mel_hz[k]:,.0f}" for k in ticks])
        if image is not None:
            bar = fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.85, pad=0.01)
            bar.set_label("dB re 1.0 (padding = %g dB)" % floor_db)
        return png_bytes(fig)


#: Width of one ROC panel's column, inches.
ROC_PANEL_IN = 4.8
#: The widest a legend label's line may be, inches: the column less the legend's handle and padding and a margin,
#: so that a legend stays inside its own column (a longer label is wrapped, :func:`wrap_label`).
ROC_LABEL_IN = 4.35
#: Height of the room below a panel for its legend, inches: a base, each entry, each line a wrapped label adds.
ROC_LEGEND_BASE_IN, ROC_LEGEND_ENTRY_IN, ROC_LEGEND_LINE_IN = 0.35, 0.17, 0.14


def wrap_label(text: str, width_px: float, renderer, fontsize: float) -> str:
    """``text`` in lines no wider than ``width_px`` pixels as ``renderer`` draws it at ``fontsize`` points.

    A text that fits is returned as it is. Otherwise it breaks after its first ``": "`` (a model's name, then
    its figure) and then between words; a word wider than a line on its own is cut between characters."""
    prop = FontProperties(size=fontsize)

    def width(line: str) -> float:
        return renderer.get_text_width_height_descent(line, prop, ismath=False)[0]

    if width(text) <= width_px:
        return text
    name, colon, rest = text.partition(": ")
    pieces = [name + colon.rstrip(), rest] if colon else [text]
    lines: list[str] = []
    for piece in pieces:
        line = ""
        for word in piece.split():
            candidate = f"{line} {word}" if line else word
            if width(candidate) <= width_px:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = ""
            for char in word:  # a word too wide for any line: cut it where it has to be
                if line and width(line + char) > width_px:
                    lines.append(line)
                    line = ""
                line += char
        if line:
            lines.append(line)
    return "\n".join(lines)


def roc_figure(panels: Sequence[tuple[str, Sequence[dict]]], n_cols: int = 2) -> Figure:
    """The figure :func:`roc_curves` draws (before rendering), for inspecting its layout; arguments as there.

    Each panel's legend sits in the room below it, its labels wrapped to :data:`ROC_LABEL_IN` so that it fits
    its own column whatever the labels, the room as tall as the longest legend needs."""
    n_rows = max(1, math.ceil(len(panels) / n_cols))
    with matplotlib.rc_context(STYLE):
        fontsize = matplotlib.rcParams["legend.fontsize"]
        measure = RendererAgg(1, 1, DPI)
        labels = [[wrap_label(curve["label"], ROC_LABEL_IN * DPI, measure, fontsize) for curve in curves]
                  for _, curves in panels]
        # Room below each panel for its legend, so it never hides a curve.
        legend_in = max((ROC_LEGEND_BASE_IN + ROC_LEGEND_ENTRY_IN * len(texts)
                         + ROC_LEGEND_LINE_IN * sum(t.count("\n") for t in texts) for texts in labels),
                        default=ROC_LEGEND_BASE_IN)
        fig = _figure(ROC_PANEL_IN * n_cols, (4.3 + legend_in) * n_rows)
        grid = fig.add_gridspec(2 * n_rows, n_cols, height_ratios=[4.3, legend_in] * n_rows)
        for k in range(n_rows * n_cols):
            row, col = divmod(k, n_cols)
            ax = fig.add_subplot(grid[2 * row, col])
            legend_ax = fig.add_subplot(grid[2 * row + 1, col])
            legend_ax.set_axis_off()
            if k >= len(panels):
                ax.set_axis_off()
                continue
            title, curves = panels[k]
            ax.plot([0, 1], [0, 1], color="#a0aec0", linestyle=":", linewidth=1)
            for curve, label in zip(curves, labels[k]):
                ax.plot(curve["fpr"], curve["tpr"], label=label,
                        linewidth=2.4 if curve.get("emphasis") else 1.2, color=curve.get("colour"),
                        zorder=3 if curve.get("emphasis") else 2)
            ax.set_xlim(-0.01, 1.01)
            ax.set_ylim(-0.01, 1.01)
            ax.set_aspect("equal")
            ax.set_title(title)
            ax.set_xlabel("false positive rate")
            ax.set_ylabel("true positive rate")
            ax.grid(True, color="#edf2f7", linewidth=0.6)
            if curves:
                handles, texts = ax.get_legend_handles_labels()
                legend_ax.legend(handles, texts, loc="upper center", fontsize=fontsize, handlelength=1.6,
                                 title="ROC AUC [95% CI]", title_fontsize=fontsize, alignment="left")
            else:
                ax.text(0.5, 0.5, "no curve: a single class\nor no labelled clips", ha="center", va="center",
                        transform=ax.transAxes, color="#4a5568")
        return fig


def roc_curves(panels: Sequence[tuple[str, Sequence[dict]]], n_cols: int = 2) -> bytes:
    """ROC curves, one panel per (target, split), one line per model with its AUC and 95 % interval.

    Parameters
    ----------
    panels : sequence of (panel title, curves)
        Each curve a dict with ``label`` (legend text, e.g. ``"head: 0.92 [0.80, 0.99]"``; a label wider than
        its column is wrapped), ``fpr`` and ``tpr`` (sequences, from (0, 0) to (1, 1)) and optional ``emphasis``
        (bool: drawn thicker) and ``colour``. A panel without curves says so.
    n_cols : int
        Panels per row, each :data:`ROC_PANEL_IN` wide.
    """
    with matplotlib.rc_context(STYLE):
        return png_bytes(roc_figure(panels, n_cols))
