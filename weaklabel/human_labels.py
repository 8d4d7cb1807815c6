"""Human sentiment labels, to measure weak labels and models against people rather than against text.

Readers return one table shape, ``video_id`` (str), ``start``, ``end`` (float seconds) and ``sentiment``
(the human score, e.g. CMU-MOSEI's -3..+3 scale, or MELD-style strings), one row per labelled interval:

* :func:`read_mosei_csd` -- a CMU Multimodal SDK computational sequence (``.csd``, HDF5), such as
  ``CMU_MOSEI_Labels.csd`` (root group ``"All Labels"``) or ``CMU_MOSI_Opinion_Labels.csd`` (root
  ``"Opinion Segment Labels"``). Layout: ``<root>/data/<video_id>/features`` (N x k floats; column 0
  is sentiment, the others are emotions) and ``<root>/data/<video_id>/intervals`` (N x 2 start/end
  seconds), plus ``<root>/metadata``.
* :func:`read_label_csv` -- a CSV/TSV with video id, start, end and sentiment columns.
* :func:`read_human_labels` -- either, by file suffix.

:func:`join_human_labels` attaches the human score to the segments of a build (``segments.parquet``) by
video id and time. In CMU-MOSEI the segmented transcripts (``<id>___<k>___<start>___<end>___<text>``)
and the label intervals of the SDK share their boundaries (up to float formatting), so nearly every
segment matches an interval exactly; the tolerance absorbs rounding, and the overlap fallback covers
corpora whose label intervals were cut slightly differently. :func:`sentiment_to_valence` turns the
score into the binary valence of the weak labels: 1 positive, 0 negative, <NA> neutral.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from weaklabel.readers.times import clock_seconds
from weaklabel.segments import short_repr

__all__ = [
    "COLUMN_ALIASES",
    "LABEL_COLUMNS",
    "join_human_labels",
    "read_human_labels",
    "read_label_csv",
    "read_mosei_csd",
    "sentiment_to_valence",
]

#: Columns of every table the readers return.
LABEL_COLUMNS = ("video_id", "start", "end", "sentiment")

#: Accepted header names (case-insensitive, surrounding spaces ignored), in order of preference.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "video_id": ("video_id", "video", "id", "videoid", "video id"),
    "start": ("start", "start_s", "start_time", "starttime"),
    "end": ("end", "end_s", "end_time", "endtime"),
    "sentiment": ("sentiment", "label", "score"),
}

_WORD_SCORE = {"positive": 1.0, "negative": -1.0, "neutral": 0.0}
_CLOCK = re.compile(r"^\s*(?:(\d+):)?(\d+):(\d+(?:[.,]\d*)?)\s*$")  # [HH:]MM:SS[.,mmm]
_PAIR_CELLS = 4_000_000  # segment x interval pairs compared at once in join_human_labels


def _empty_labels() -> pd.DataFrame:
    return pd.DataFrame({"video_id": pd.Series([], dtype=object), "start": pd.Series([], dtype=np.float64),
                         "end": pd.Series([], dtype=np.float64), "sentiment": pd.Series([], dtype=np.float64)})


def _find_root(handle, path: Path):
    """The root group of a computational sequence: the single top-level group, or the one holding ``data``."""
    import h5py

    groups = {name: obj for name, obj in handle.items() if isinstance(obj, h5py.Group)}
    with_data = {name: g for name, g in groups.items() if isinstance(g.get("data"), h5py.Group)}
    if len(with_data) == 1:
        return next(iter(with_data.values()))
    if len(groups) == 1 and not with_data:
        raise ValueError(f"{path}: the root group {next(iter(groups))!r} has no 'data' group; "
                         "not a CMU Multimodal SDK computational sequence")
    if not with_data:
        raise ValueError(f"{path}: no top-level group with a 'data' group (found {sorted(handle.keys())}); "
                         "not a CMU Multimodal SDK computational sequence")
    raise ValueError(f"{path}: several top-level groups hold 'data' ({sorted(with_data)}); cannot tell which one "
                     "holds the labels")


def read_mosei_csd(path) -> pd.DataFrame:
    """Read the sentiment labels of a CMU Multimodal SDK computational sequence (``.csd``, HDF5).

    Parameters
    ----------
    path : str or path-like
        The ``.csd`` file, e.g. ``CMU_MOSEI_Labels.csd``.

    Returns
    -------
    DataFrame
        Columns ``video_id`` (str), ``start``, ``end`` (float64 seconds) and ``sentiment`` (float64,
        column 0 of ``features``; -3 .. +3 in MOSEI/MOSI), one row per interval, sorted by video id and
        start.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        When it is not HDF5 in the SDK layout, or a video's ``features`` and ``intervals`` disagree.
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such label file: {path}")
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"{path}: not an HDF5 computational sequence ({exc})") from exc
    videos, starts, ends, scores = [], [], [], []
    with handle:
        data = _find_root(handle, path)["data"]
        for video in data:
            entry = data[video]
            if "features" not in entry or "intervals" not in entry:
                raise ValueError(f"{path}: data/{video} lacks 'features' or 'intervals' (has {sorted(entry.keys())})")
            features = np.asarray(entry["features"], dtype=np.float64)
            intervals = np.asarray(entry["intervals"], dtype=np.float64)
            if features.ndim == 1:
                features = features[:, None]
            if intervals.ndim != 2 or intervals.shape[1] != 2:
                raise ValueError(f"{path}: data/{video}/intervals must have shape (N, 2), got {intervals.shape}")
            if features.ndim != 2 or features.shape[0] != intervals.shape[0] or features.shape[1] < 1:
                raise ValueError(f"{path}: data/{video} has features of shape {features.shape} for "
                                 f"{intervals.shape[0]} intervals")
            videos.append(np.full(intervals.shape[0], str(video), dtype=object))
            starts.append(intervals[:, 0])
            ends.append(intervals[:, 1])
            scores.append(features[:, 0])
    if not videos:
        return _empty_labels()
    table = pd.DataFrame({"video_id": np.concatenate(videos), "start": np.concatenate(starts),
                          "end": np.concatenate(ends), "sentiment": np.concatenate(scores)})
    return table.sort_values(["video_id", "start"], kind="mergesort").reset_index(drop=True)


def _seconds(values: pd.Series, column: str, path: Path) -> np.ndarray:
    """Parse times given as seconds or as ``[HH:]MM:SS[.,mmm]`` clock times into float64 seconds; ValueError for
    one that is neither, or not finite (a 400-digit number)."""
    numeric = pd.to_numeric(values, errors="coerce")
    out = np.array(numeric.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64, copy=True)
    for i in np.flatnonzero(~np.isfinite(out) & values.notna().to_numpy()):
        match = _CLOCK.match(str(values.iloc[i]))
        if match is not None:
            hours, minutes, secs = match.groups()
            whole, _, fraction = secs.replace(",", ".").partition(".")
            out[i] = clock_seconds(hours, minutes, whole, fraction or None)
        if not np.isfinite(out[i]):
            raise ValueError(f"{path}: column {column!r}, row {i + 1}: {short_repr(values.iloc[i])} is not a finite "
                             "time in seconds or [HH:]MM:SS[.mmm]")
    return out


def read_label_csv(path) -> pd.DataFrame:
    """Read human labels from a CSV or TSV table.

    Parameters
    ----------
    path : str or path-like
        A table with a header naming a video id, start, end and sentiment column; see
        :data:`COLUMN_ALIASES` for the accepted names (case-insensitive). Tab-separated when the suffix
        is ``.tsv``/``.tab`` or the header line holds a tab, otherwise comma-separated. Times are
        seconds or ``[HH:]MM:SS[.,mmm]`` clock times.

    Returns
    -------
    DataFrame
        Columns ``video_id`` (str), ``start``, ``end`` (float64 seconds) and ``sentiment``: float64 when
        every value is numeric, otherwise the stripped strings (e.g. ``"positive"``), in file order.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        When a required column is missing (the message names the columns found) or a time does not parse.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such label file: {path}")
    with open(path, encoding="utf-8-sig", newline="") as fh:
        header = fh.readline()
    sep = "\t" if path.suffix.lower() in (".tsv", ".tab") or "\t" in header else ","
    raw = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=True, encoding="utf-8-sig")
    by_name = {str(c).strip().lower(): c for c in raw.columns}
    chosen = {}
    for target, aliases in COLUMN_ALIASES.items():
        found = next((by_name[a] for a in aliases if a in by_name), None)
        if found is None:
            raise ValueError(f"{path}: no {target} column (accepted names: {', '.join(aliases)}); "
                             f"found columns: {list(raw.columns)}")
        chosen[target] = found
    video = raw[chosen["video_id"]].astype(object).where(raw[chosen["video_id"]].notna(), None)
    video = video.map(lambda v: v.strip() if isinstance(v, str) else v)
    sentiment_raw = raw[chosen["sentiment"]].map(lambda v: v.strip() if isinstance(v, str) else v)
    sentiment = pd.to_numeric(sentiment_raw, errors="coerce")
    if (sentiment.isna() & sentiment_raw.notna()).any():
        sentiment = sentiment_raw.astype(object).where(sentiment_raw.notna(), None)
    else:
        sentiment = sentiment.astype(np.float64)
    return pd.DataFrame({
        "video_id": video.to_numpy(dtype=object),
        "start": _seconds(raw[chosen["start"]], chosen["start"], path),
        "end": _seconds(raw[chosen["end"]], chosen["end"], path),
        "sentiment": sentiment.to_numpy(),
    })


def read_human_labels(path) -> pd.DataFrame:
    """Read human labels, choosing the reader by suffix.

    ``.csd``, ``.h5`` and ``.hdf5`` go to :func:`read_mosei_csd`; anything else to :func:`read_label_csv`.
    Returns the columns ``video_id, start, end, sentiment``.
    """
    if Path(path).suffix.lower() in (".csd", ".h5", ".hdf5"):
        return read_mosei_csd(path)
    return read_label_csv(path)


def sentiment_to_valence(sentiment):
    """Map human sentiment to binary valence: 1 positive, 0 negative, <NA> neutral or missing.

    Parameters
    ----------
    sentiment : array-like or Series of shape (n,)
        Numbers (> 0 positive, < 0 negative, == 0 neutral, e.g. MOSEI's -3..+3) and/or the strings
        ``"positive"``, ``"negative"``, ``"neutral"`` (case-insensitive, surrounding spaces ignored;
        MELD style); strings holding a number count as that number. NaN/None give <NA>.

    Returns
    -------
    Series or pandas IntegerArray of shape (n,), dtype ``Int8``
        A Series (same index and name) when given a Series, otherwise an array.

    Raises
    ------
    ValueError
        For a string that is neither a number nor one of the three words, or an infinite number.
    """
    is_series = isinstance(sentiment, pd.Series)
    values = (sentiment if is_series else pd.Series(list(sentiment), dtype=object)).astype(object).to_numpy()
    is_text = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=len(values))
    score = np.full(len(values), np.nan)
    if (~is_text).any():
        score[~is_text] = pd.to_numeric(pd.Series(values[~is_text], dtype=object), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan)
    if is_text.any():
        words = pd.Series(values[is_text], dtype=object).str.strip().str.lower()
        as_word = words.map(_WORD_SCORE).astype(np.float64)
        as_number = pd.to_numeric(words, errors="coerce").astype(np.float64)
        unknown = as_word.isna() & as_number.isna() & (words != "")
        if unknown.any():
            bad = words[unknown].unique()[:5].tolist()
            raise ValueError(f"sentiment strings must be 'positive', 'negative', 'neutral' or numbers; got {bad}")
        score[is_text] = as_word.fillna(as_number).to_numpy()
    if np.isinf(score).any():
        raise ValueError("sentiment must be finite; found an infinite value")
    out = pd.array(np.where(score > 0, 1, 0).astype(np.int8), dtype="Int8")
    out[(score == 0) | np.isnan(score)] = pd.NA  # neutral (0) and missing
    if is_series:
        return pd.Series(out, index=sentiment.index, name=sentiment.name)
    return out


def _require(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}; found {list(frame.columns)}")


def _match_video(seg_start: np.ndarray, seg_end: np.ndarray, lab_start: np.ndarray, lab_end: np.ndarray,
                 tolerance_s: float) -> np.ndarray:
    """Index into the labels of one video for each segment of it, -1 where none matches; shape (m,).

    All pairs of a block of segments and the video's k label intervals are compared at once; blocks
    keep the pair matrices under ``_PAIR_CELLS`` cells.
    """
    m, k = seg_start.shape[0], lab_start.shape[0]
    found = np.full(m, -1, dtype=np.int64)
    block = max(1, _PAIR_CELLS // max(k, 1))
    for first in range(0, m, block):
        s = seg_start[first:first + block, None]  # (b, 1)
        e = seg_end[first:first + block, None]
        # 1. Same boundaries within tolerance: the closest such interval.
        dev = np.maximum(np.abs(s - lab_start[None, :]), np.abs(e - lab_end[None, :]))  # (b, k)
        dev = np.where(dev <= tolerance_s, dev, np.inf)
        exact = np.argmin(dev, axis=1)
        has_exact = np.isfinite(dev[np.arange(dev.shape[0]), exact])
        # 2. Otherwise the interval overlapping the segment most, if it covers at least half of it.
        overlap = np.minimum(e, lab_end[None, :]) - np.maximum(s, lab_start[None, :])  # (b, k) seconds
        duration = (e - s)[:, 0]
        best = np.argmax(overlap, axis=1)
        best_overlap = overlap[np.arange(overlap.shape[0]), best]
        with np.errstate(invalid="ignore", divide="ignore"):
            covers = (duration > 0) & (best_overlap > 0) & (best_overlap >= 0.5 * duration)
        found[first:first + block] = np.where(has_exact, exact, np.where(covers, best, -1))
    return found


def join_human_labels(segments: pd.DataFrame, labels: pd.DataFrame, tolerance_s: float = 0.05) -> pd.Series:
    """Attach to each segment the human sentiment of the label interval that matches it in time.

    For each segment, among the label intervals of the same ``video_id`` (compared as strings):

    1. the interval whose start and end both lie within ``tolerance_s`` of the segment's (the closest,
       by the larger of the two deviations, when several do). In CMU-MOSEI the segmented transcripts and
       the SDK's label intervals share their boundaries, so this is the usual case;
    2. else the interval with the largest temporal overlap with the segment, provided that overlap
       covers at least half of the segment's duration;
    3. else NaN.

    Label rows with a missing video id, time or sentiment are ignored. The work is vectorised per video
    (all segment x interval pairs of a video at once, in bounded blocks).

    Parameters
    ----------
    segments : DataFrame
        With columns ``video_id``, ``start`` and ``end`` (seconds), e.g. ``segments.parquet`` of a build.
        Segments with missing or non-finite times, or of zero duration with no boundary match, get NaN.
    labels : DataFrame
        With columns ``video_id``, ``start``, ``end`` (seconds) and ``sentiment``, as the readers here
        return.
    tolerance_s : float, default 0.05
        Largest difference, in seconds, between a segment boundary and a label boundary for an exact match.

    Returns
    -------
    Series named ``"human_sentiment"``, aligned to ``segments.index``
        The matched sentiment: float64 when the label sentiments are numeric, otherwise object (strings),
        with NaN where nothing matches.

    Raises
    ------
    ValueError
        When a required column is missing or ``tolerance_s`` is negative or not finite.
    """
    _require(segments, ("video_id", "start", "end"), "segments")
    _require(labels, LABEL_COLUMNS, "labels")
    tolerance_s = float(tolerance_s)
    if not np.isfinite(tolerance_s) or tolerance_s < 0:
        raise ValueError(f"tolerance_s must be a non-negative number of seconds, got {tolerance_s}")

    numeric = pd.api.types.is_numeric_dtype(labels["sentiment"]) and not pd.api.types.is_bool_dtype(
        labels["sentiment"])
    result = np.full(len(segments), np.nan, dtype=np.float64 if numeric else object)

    lab_start = pd.to_numeric(labels["start"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    lab_end = pd.to_numeric(labels["end"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    lab_value = (labels["sentiment"].to_numpy(dtype=np.float64, na_value=np.nan) if numeric
                 else labels["sentiment"].to_numpy(dtype=object))
    usable = (labels["video_id"].notna().to_numpy() & np.isfinite(lab_start) & np.isfinite(lab_end)
              & labels["sentiment"].notna().to_numpy())
    lab_video = labels["video_id"].astype(str).to_numpy(dtype=object)
    usable_rows = np.flatnonzero(usable)
    label_rows = {video: usable_rows[pos] for video, pos in
                  pd.Series(usable_rows).groupby(lab_video[usable], sort=False).indices.items()}

    seg_start = pd.to_numeric(segments["start"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    seg_end = pd.to_numeric(segments["end"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    seg_ok = segments["video_id"].notna().to_numpy() & np.isfinite(seg_start) & np.isfinite(seg_end)
    seg_video = segments["video_id"].astype(str).to_numpy(dtype=object)
    seg_positions = np.flatnonzero(seg_ok)
    for video, pos in pd.Series(seg_positions).groupby(seg_video[seg_ok], sort=False).indices.items():
        rows = label_rows.get(video)
        if rows is None:
            continue
        seg_rows = seg_positions[pos]
        found = _match_video(seg_start[seg_rows], seg_end[seg_rows], lab_start[rows], lab_end[rows], tolerance_s)
        hit = found >= 0
        result[seg_rows[hit]] = lab_value[rows[found[hit]]]
    return pd.Series(result, index=segments.index, name="human_sentiment")
