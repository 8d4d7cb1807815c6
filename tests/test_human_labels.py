"""weaklabel.human_labels: reading human sentiment labels and joining them to segments."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pandas as pd
import pytest

from weaklabel.human_labels import (join_human_labels, read_human_labels, read_label_csv, read_mosei_csd,
                                     sentiment_to_valence)


def write_csd(path, root: str, data: dict[str, tuple[np.ndarray, np.ndarray]], extra_groups=()):
    """Write a computational sequence in the CMU Multimodal SDK layout (root/data/<vid>/{features,intervals},
    root/metadata with JSON strings), as the SDK's write_CSD does."""
    with h5py.File(path, "w") as f:
        for name in extra_groups:
            f.create_group(name)
        root_group = f.create_group(root)
        data_group = root_group.create_group("data")
        for video, (features, intervals) in data.items():
            g = data_group.create_group(video)
            g.create_dataset("features", data=features)
            g.create_dataset("intervals", data=intervals)
        meta = root_group.create_group("metadata")
        ds = meta.create_dataset("root name", (1,), dtype=h5py.special_dtype(vlen=str))
        ds[0] = json.dumps(root)
    return path


MOSEI_LIKE = {
    # sentiment is column 0; the other six columns are the emotions (happy, sad, ...).
    "-3g5yACwYnA": (np.array([[1.6667, 0.6, 0, 0, 0, 0, 0], [-0.3333, 0, 0.3, 0, 0, 0, 0]]),
                    np.array([[82.50, 87.62], [119.76, 125.82]])),
    "zz_vid": (np.array([[0.0, 0, 0, 0, 0, 0, 0]]), np.array([[1.0, 2.5]])),
    "0001": (np.array([[-2.0, 0, 0, 0, 0, 0, 0]]), np.array([[3.0, 4.0]])),
}


@pytest.mark.parametrize("root", ["All Labels", "Opinion Segment Labels"])
def test_read_csd_sdk_layout(tmp_path, root):
    path = write_csd(tmp_path / "labels.csd", root, MOSEI_LIKE)
    df = read_mosei_csd(path)
    assert list(df.columns) == ["video_id", "start", "end", "sentiment"]
    assert len(df) == 4
    assert df["video_id"].tolist() == ["-3g5yACwYnA", "-3g5yACwYnA", "0001", "zz_vid"]  # sorted, ids kept as str
    np.testing.assert_allclose(df["start"], [82.50, 119.76, 3.0, 1.0])
    np.testing.assert_allclose(df["end"], [87.62, 125.82, 4.0, 2.5])
    np.testing.assert_allclose(df["sentiment"], [1.6667, -0.3333, -2.0, 0.0])  # column 0, not an emotion
    assert df["start"].dtype == np.float64 and df["sentiment"].dtype == np.float64
    # read_human_labels dispatches .csd and .h5 to the same reader
    pd.testing.assert_frame_equal(read_human_labels(path), df)
    h5 = write_csd(tmp_path / "labels.h5", root, MOSEI_LIKE)
    pd.testing.assert_frame_equal(read_human_labels(h5), df)


def test_read_csd_finds_the_group_holding_data(tmp_path):
    path = write_csd(tmp_path / "two.csd", "All Labels", MOSEI_LIKE, extra_groups=("attributes",))
    assert len(read_mosei_csd(path)) == 4


def test_read_csd_rejects_other_layouts(tmp_path):
    path = tmp_path / "plain.csd"
    with h5py.File(path, "w") as f:
        f.create_group("something").create_dataset("x", data=np.zeros(3))
    with pytest.raises(ValueError, match="'data'"):
        read_mosei_csd(path)
    not_h5 = tmp_path / "text.csd"
    not_h5.write_text("video,start\n")
    with pytest.raises(ValueError, match="HDF5"):
        read_mosei_csd(not_h5)
    mismatched = write_csd(tmp_path / "bad.csd", "All Labels",
                           {"v": (np.zeros((3, 7)), np.array([[0.0, 1.0], [1.0, 2.0]]))})
    with pytest.raises(ValueError, match="data/v"):
        read_mosei_csd(mismatched)
    with pytest.raises(FileNotFoundError):
        read_mosei_csd(tmp_path / "absent.csd")


def test_csv_aliases_and_tsv(tmp_path):
    csv = tmp_path / "labels.csv"
    csv.write_text("Video,Start_s,End_s,Score,comment\n007,1.5,3.25,-1.5,x\nabc,4,6,2,y\n")
    df = read_label_csv(csv)
    assert list(df.columns) == ["video_id", "start", "end", "sentiment"]
    assert df["video_id"].tolist() == ["007", "abc"]  # leading zeros survive
    assert df["start"].tolist() == [1.5, 4.0] and df["end"].tolist() == [3.25, 6.0]
    assert df["sentiment"].tolist() == [-1.5, 2.0] and df["sentiment"].dtype == np.float64

    tsv = tmp_path / "labels.txt"
    tsv.write_text("id\tstart\tend\tlabel\nv1\t00:00:01,500\t0:02.25\tPositive\n")
    df = read_human_labels(tsv)
    assert df["video_id"].tolist() == ["v1"]
    assert df["start"].tolist() == [1.5] and df["end"].tolist() == [2.25]  # clock times, MELD-style comma
    assert df["sentiment"].tolist() == ["Positive"]


def test_csv_missing_column_names_found_columns(tmp_path):
    csv = tmp_path / "labels.csv"
    csv.write_text("video_id,begin,end,sentiment\nv,1,2,0.5\n")
    with pytest.raises(ValueError, match=r"no start column.*found columns: \['video_id', 'begin', 'end', 'sentiment'\]"):
        read_label_csv(csv)


def test_csv_bad_time(tmp_path):
    csv = tmp_path / "labels.csv"
    csv.write_text("video_id,start,end,sentiment\nv,soon,2,0.5\n")
    with pytest.raises(ValueError, match="'soon'"):
        read_label_csv(csv)


# ---------------------------------------------------------------- valence


def test_valence_numbers():
    out = sentiment_to_valence(np.array([2.3, -0.1, 0.0, np.nan, 0.0001, -3]))
    assert str(out.dtype) == "Int8"
    assert out.tolist() == [1, 0, pd.NA, pd.NA, 1, 0]


def test_valence_strings_and_series_index():
    s = pd.Series(["positive", "NEGATIVE", " Neutral ", None, "-1.5"], index=[10, 20, 30, 40, 50], name="sent")
    out = sentiment_to_valence(s)
    assert isinstance(out, pd.Series) and str(out.dtype) == "Int8"
    assert out.index.tolist() == [10, 20, 30, 40, 50] and out.name == "sent"
    assert out.tolist() == [1, 0, pd.NA, pd.NA, 0]


def test_valence_rejects_unknown_words():
    with pytest.raises(ValueError, match="joy"):
        sentiment_to_valence(["positive", "joy"])


# ---------------------------------------------------------------- join


def seg_frame(rows):
    return pd.DataFrame(rows, columns=["video_id", "start", "end"])


LABELS = pd.DataFrame({
    "video_id": ["a", "a", "a", "b"],
    "start": [0.0, 5.0, 20.0, 0.0],
    "end": [4.0, 9.0, 30.0, 4.0],
    "sentiment": [1.0, -2.0, 0.5, 3.0],
})


def test_join_exact_boundaries():
    segs = seg_frame([("a", 5.0, 9.0), ("a", 0.0, 4.0), ("b", 0.0, 4.0)]).set_axis([7, 3, 9])
    out = join_human_labels(segs, LABELS)
    assert out.index.tolist() == [7, 3, 9] and out.name == "human_sentiment"
    assert out.tolist() == [-2.0, 1.0, 3.0]


def test_join_tolerance():
    segs = seg_frame([("a", 5.04, 8.96), ("a", 0.1, 4.0)])
    # 0.04 s off: exact match; 0.1 s off: not exact, but the overlap fallback (3.9 of 3.9 s) still finds it.
    assert join_human_labels(segs, LABELS).tolist() == [-2.0, 1.0]
    # Labels where the two rules disagree: for the segment 10-16 s, interval 0 (9.97-15.0) has boundaries
    # within 1.0 s but overlaps 5 s; interval 1 (10-20) overlaps all 6 s but its end is 4 s off.
    labels = pd.DataFrame({"video_id": ["v", "v"], "start": [9.97, 10.0], "end": [15.0, 20.0],
                           "sentiment": [1.0, -1.0]})
    segs = seg_frame([("v", 10.0, 16.0)])
    assert join_human_labels(segs, labels, tolerance_s=0.05).tolist() == [-1.0]  # no exact: largest overlap
    assert join_human_labels(segs, labels, tolerance_s=1.5).tolist() == [1.0]  # exact within 1.5 s wins
    # Among several boundary matches, the closest one.
    labels = pd.DataFrame({"video_id": ["v", "v"], "start": [9.96, 10.01], "end": [16.0, 16.0],
                           "sentiment": [1.0, -1.0]})
    assert join_human_labels(segs, labels).tolist() == [-1.0]
    # Overlap ties go to the first interval in the label table.
    labels = pd.DataFrame({"video_id": ["v", "v"], "start": [9.0, 10.0], "end": [17.0, 20.0],
                           "sentiment": [1.0, -1.0]})
    assert join_human_labels(segs, labels).tolist() == [1.0]


def test_join_overlap_fallback_needs_half_the_segment():
    segs = seg_frame([
        ("a", 3.0, 8.0),    # overlaps 0-4 by 1 s and 5-9 by 3 s of 5 s -> -2.0
        ("a", 18.0, 22.0),  # overlaps 20-30 by 2 s of 4 s: exactly half -> 0.5
        ("a", 17.0, 21.0),  # overlaps 20-30 by 1 s of 4 s: under half -> NaN
        ("a", 9.5, 19.5),   # in the gap -> NaN
    ])
    out = join_human_labels(segs, LABELS)
    assert out.iloc[0] == -2.0 and out.iloc[1] == 0.5
    assert np.isnan(out.iloc[2]) and np.isnan(out.iloc[3])


def test_join_never_matches_another_video():
    segs = seg_frame([("c", 0.0, 4.0), ("b", 5.0, 9.0), (None, 0.0, 4.0)])
    out = join_human_labels(segs, LABELS)
    assert out.isna().all() and out.dtype == np.float64


def test_join_ignores_bad_rows_and_keeps_strings():
    labels = pd.DataFrame({"video_id": ["a", "a"], "start": [0.0, 0.0], "end": [4.0, 4.0],
                           "sentiment": [None, "positive"]})
    segs = seg_frame([("a", 0.0, 4.0), ("a", np.nan, 4.0), ("a", 2.0, 2.0)])
    out = join_human_labels(segs, labels)
    assert out.iloc[0] == "positive"  # the unlabelled duplicate interval is skipped
    assert pd.isna(out.iloc[1]) and pd.isna(out.iloc[2])
    assert sentiment_to_valence(out).tolist() == [1, pd.NA, pd.NA]


def test_join_video_ids_compared_as_strings():
    labels = LABELS.assign(video_id=["1", "1", "1", "2"])
    segs = seg_frame([(1, 0.0, 4.0), (2, 0.0, 4.0)])
    assert join_human_labels(segs, labels).tolist() == [1.0, 3.0]


def test_join_large_video_in_blocks(monkeypatch):
    import weaklabel.human_labels as hl

    monkeypatch.setattr(hl, "_PAIR_CELLS", 50)  # force many blocks
    rng = np.random.default_rng(0)
    n = 300
    starts = np.cumsum(rng.uniform(1, 3, n))
    labels = pd.DataFrame({"video_id": "v", "start": starts, "end": starts + 0.9, "sentiment": np.arange(n, dtype=float)})
    segs = seg_frame([("v", s + 0.01, s + 0.9) for s in starts[::-1]])
    out = join_human_labels(segs, labels)
    assert out.tolist() == list(np.arange(n, dtype=float)[::-1])


def test_join_validation():
    with pytest.raises(ValueError, match="sentiment"):
        join_human_labels(seg_frame([("a", 0, 1)]), LABELS.drop(columns="sentiment"))
    with pytest.raises(ValueError, match="tolerance_s"):
        join_human_labels(seg_frame([("a", 0, 1)]), LABELS, tolerance_s=-1)


@pytest.mark.parametrize("end", ["9" * 400 + ":00:01.5", "9" * 400, "inf"])
def test_csv_time_that_is_not_finite_is_refused_in_words(tmp_path, end):
    # Issue 21, item 4: a clock time with a 400-digit hour count raised OverflowError (a traceback in train).
    csv = tmp_path / "labels.csv"
    csv.write_text(f"video_id,start,end,sentiment\nv,0,{end},1\n")
    with pytest.raises(ValueError, match="row 1") as info:
        read_label_csv(csv)
    assert len(str(info.value)) < 300
