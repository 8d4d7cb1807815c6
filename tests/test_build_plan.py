"""Planning and resume of the build: work units and their digests, which parts count as finished, what a re-run
finds changed, and what an output folder's previous contents make the build do (up to date, resumed, refused,
rebuilt)."""
import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from weaklabel.build import build_dataset, group_by_audio_file
from weaklabel.build.parts import feature_slots, part_path, write_part_record
from weaklabel.build.plan import config_differences, corpus_changes, part_done
from weaklabel.build_record import UnitRecord
from weaklabel.build.units import audio_identity, mark_duplicates, segments_digest, unit_digest, unit_names, \
    work_unit_key
from weaklabel.errors import OutputConflictError
from weaklabel.segments import DUPLICATE_SEGMENT, Segment

from .build_helpers import FAST_MEL, config_for, parts_built, read_outputs


def segment(recording, index, audio_path):
    return Segment(recording_id=recording, segment_id=f"{recording}_{index}", audio_path=audio_path,
                   start_s=float(index), end_s=index + 1.0, text="A fine day.", group_id=recording)


def test_units_are_audio_files_in_order_of_first_appearance(tmp_path):
    a, b = str(tmp_path / "a.wav"), str(tmp_path / "b.wav")
    segments = [segment("talk", 0, a), segment("talk", 1, b), segment("other", 0, a), segment("gone", 0, None)]
    units = group_by_audio_file(segments)
    assert list(units) == [a, b, "recording:gone"]  # a video over two files is two units
    assert [s.segment_id for s in units[a]] == ["talk_0", "other_0"]
    assert work_unit_key(segments[3]) == "recording:gone"
    config = config_for(tmp_path)
    assert unit_names(units, config) == {a: "a.wav", b: "b.wav", "recording:gone": "recording:gone"}


def test_repeated_segment_ids_fail_and_are_renamed(tmp_path):
    segments = [segment("talk", 0, None), segment("talk", 0, None), segment("talk", 0, None)]
    mark_duplicates(segments)
    assert [s.segment_id for s in segments] == ["talk_0", "talk_0#dup1", "talk_0#dup2"]
    assert segments[0].status is None and segments[1].status == segments[2].status == DUPLICATE_SEGMENT


def test_a_units_digest_follows_its_audio_file_and_its_segments_digest_does_not(tmp_path):
    wav = tmp_path / "a.wav"
    sf.write(wav, np.zeros(1600, dtype=np.float32), 16000, subtype="PCM_16")
    segs = [segment("talk", 0, str(wav))]
    before = unit_digest(segs)
    assert unit_digest(segs, segments_digest(segs)) == before
    os.utime(wav, ns=(0, 10**18))  # touched: the part must be redone
    assert unit_digest(segs) != before
    moved = [segment("talk", 0, str(tmp_path / "elsewhere.wav"))]
    assert segments_digest(moved) == segments_digest(segs)  # where the file is is not in the segments' digest
    identity = audio_identity(str(wav))
    assert identity["size"] == wav.stat().st_size and identity["mtime_ns"] == 10**18
    assert len(identity["sha256"]) == 64
    assert audio_identity(None) == {"size": None, "mtime_ns": None, "sha256": None}


def test_only_a_whole_current_part_is_done(tmp_path):
    unit, row_bytes = "/corpus/a.wav", 8
    path = part_path(tmp_path, unit)
    with open(path, "wb") as handle:
        handle.write(bytes(2 * row_bytes))
        write_part_record(handle, {"unit": unit, "digest": "d1", "rows": [], "n_features": 2, "row_bytes": row_bytes})
    assert part_done(tmp_path, unit, "d1")
    assert not part_done(tmp_path, unit, "d2")  # made from other inputs
    assert not part_done(tmp_path, "/corpus/b.wav", "d1")  # no part at all
    whole = path.read_bytes()
    path.write_bytes(whole[row_bytes:])  # features shorter than the record says
    assert not part_done(tmp_path, unit, "d1")
    path.write_bytes(whole[:len(whole) // 2])  # torn: no trailer
    assert not part_done(tmp_path, unit, "d1")


def test_a_staged_part_is_done_only_against_its_own_staging_file(tmp_path):
    unit = "/corpus/a.wav"
    config = config_for(tmp_path)
    slots = feature_slots({unit: [segment("talk", 0, unit), segment("talk", 1, unit)]}, config)
    staging = tmp_path / f"{slots.name_prefix}token.staging"
    staging.write_bytes(b"")
    with open(part_path(tmp_path, unit), "wb") as handle:
        write_part_record(handle, {"unit": unit, "digest": "d", "rows": [], "n_features": 2,
                                   "row_bytes": slots.row_bytes, "staged": {"file": staging.name, "first_row": 0}})
    assert not part_done(tmp_path, unit, "d")  # its features are elsewhere: without the staging file, not done
    assert part_done(tmp_path, unit, "d", replace(slots, path=staging))
    other = tmp_path / f"{slots.name_prefix}other.staging"
    other.write_bytes(b"")
    assert not part_done(tmp_path, unit, "d", replace(slots, path=other))


def test_config_differences_name_the_settings(tmp_path):
    record = config_for(tmp_path).to_dict()
    assert config_differences(record, config_for(tmp_path, neutral_band=0.5)) == "neutral_band"
    assert "clip_seconds" in config_differences(record, config_for(tmp_path, clip_seconds=5.0))
    assert config_differences(record, config_for(tmp_path)) == "format"


def test_corpus_changes_compare_segments_and_content_not_times(tmp_path):
    wavs = {}
    for name in ("a", "b", "c"):
        wavs[name] = tmp_path / f"{name}.wav"
        sf.write(wavs[name], np.zeros(1600, dtype=np.float32), 16000, subtype="PCM_16")
    units = {str(wavs[n]): [segment(n, 0, str(wavs[n]))] for n in ("a", "b", "c")}
    digests = {unit: segments_digest(segs) for unit, segs in units.items()}
    names = {unit: Path(unit).name for unit in units}
    previous = {names[u]: UnitRecord(names[u], digests[u], 1, 1, **audio_identity(u)) for u in units}
    previous["gone.wav"] = UnitRecord("gone.wav", "x", 1, 1)
    os.utime(wavs["a"], ns=(0, 10**18))  # touched, same content: not changed
    sf.write(wavs["b"], np.ones(1600, dtype=np.float32) / 2, 16000, subtype="PCM_16")  # new content
    edited = dict(digests, **{str(wavs["c"]): "edited transcript"})
    changes = corpus_changes(previous, {**units, str(tmp_path / "d.wav"): [segment("d", 0, None)]},
                             {**edited, str(tmp_path / "d.wav"): "d"}, {**names, str(tmp_path / "d.wav"): "d.wav"})
    assert changes == {"changed": ["b.wav", "c.wav"], "new": ["d.wav"], "removed": ["gone.wav"]}
    assert previous["a.wav"].mtime_ns == 10**18  # the touched file's record follows it


def test_rerun_is_up_to_date_and_conflicting_config_is_refused(small_mosei, tmp_path):
    out = tmp_path / "out"
    build_dataset(config_for(small_mosei), out, workers=1)
    before = read_outputs(out)
    again = build_dataset(config_for(small_mosei), out, workers=1)
    assert again.up_to_date and read_outputs(out) == before
    with pytest.raises(OutputConflictError, match="neutral_band"):
        build_dataset(config_for(small_mosei, neutral_band=0.5), out, workers=1)
    assert read_outputs(out) == before  # nothing touched
    forced = build_dataset(config_for(small_mosei), out, workers=1, force=True)
    assert not forced.up_to_date and read_outputs(out) == before
    replaced = build_dataset(config_for(small_mosei, neutral_band=0.5), out, workers=1, overwrite=True)
    assert json.loads((out / "build.json").read_text())["config"]["neutral_band"] == 0.5
    assert replaced.counts.abstained == 6


def test_a_build_of_the_previous_log_mel_transform_is_named_and_never_resumed(small_mosei, tmp_path):
    # A build.json written before transform version 2 records no version: it is version 1 (librosa's arithmetic).
    from weaklabel import Dataset

    out = tmp_path / "out"
    build_dataset(config_for(small_mosei), out, workers=1)
    record = json.loads((out / "build.json").read_text())
    del record["config"]["mel"]["transform_version"]
    record["fingerprint"] = "made-by-version-1"
    (out / "build.json").write_text(json.dumps(record))
    assert Dataset(out).config.mel.transform_version == 1
    before = read_outputs(out)
    with pytest.raises(OutputConflictError, match="log-mel transform version 1, this code computes version 2"):
        build_dataset(config_for(small_mosei), out, workers=1)
    assert read_outputs(out) == before
    rebuilt = build_dataset(config_for(small_mosei), out, workers=1, overwrite=True)
    assert rebuilt.config.mel.transform_version == 2 and not rebuilt.up_to_date


def test_resume_after_interruption_does_only_missing_work(small_mosei, tmp_path):
    config = config_for(small_mosei)
    build_dataset(config, tmp_path / "clean", workers=1)
    out = tmp_path / "resumed"
    parts, _ = parts_built(config, out, 4)  # as if killed after four recordings
    (parts / ".half-written.npy.tmp").write_bytes(b"junk")  # a temp file a kill left behind
    result = build_dataset(config, out, workers=1)
    assert result.recordings_processed == 2
    assert read_outputs(out) == read_outputs(tmp_path / "clean")
    assert not list(out.glob(".parts-*"))


def test_a_build_removes_only_what_it_wrote_and_overwrite_says_what_it_replaces(small_mosei, tmp_path):
    # Issue 21, item 5: every build removed all .*.tmp files in --out, and --overwrite the whole features/ folder.
    out = tmp_path / "out"
    build_dataset(config_for(small_mosei), out, workers=1)
    mine = [out / ".notes.tmp", out / ".draft.md.x1.tmp", out / "features" / ".scratch.tmp",
            out / "features" / "notes.txt", out / "features" / "other.npy"]
    for path in mine:
        path.write_text("the user's")
    ours = [out / ".segments.parquet.k1ll3d.tmp", out / "features" / ".logmel.npy.k1ll3d.tmp"]
    for path in ours:
        path.write_bytes(b"what a killed write leaves")
    build_dataset(config_for(small_mosei), out, workers=1, force=True)
    assert all(path.read_text() == "the user's" for path in mine) and not any(path.exists() for path in ours)
    notices = []
    replaced = build_dataset(config_for(small_mosei, clip_seconds=5.0), out, workers=1, overwrite=True,
                             log=notices.append)
    assert replaced.config.clip_seconds == 5.0 and not replaced.up_to_date
    assert all(path.read_text() == "the user's" for path in mine)
    (notice,) = notices
    assert "--overwrite" in notice and "clip_seconds" in notice and "\n" not in notice
    assert all(name in notice for name in ("segments.parquet", "build.json", "features/logmel.npy"))
    assert "notes.txt" not in notice
    notices.clear()
    build_dataset(config_for(small_mosei, clip_seconds=5.0), out, workers=1, overwrite=True, log=notices.append)
    assert notices == []  # nothing replaced: the same build, up to date


def _damaged(data: bytes, how: str, row_bytes: int) -> bytes:
    header = len(data) - row_bytes * 18
    if how == "staging mark":  # a merge cut short: the file begins with MERGING, not the .npy header
        return b"MERGING" + data[7:]
    if how == "other clips' rows":  # the same size and header, two clips' features swapped
        first, second = data[header:header + row_bytes], data[header + row_bytes:header + 2 * row_bytes]
        return data[:header] + second + first + data[header + 2 * row_bytes:]
    return data[:-row_bytes]  # "truncated": a row short


@pytest.mark.parametrize("how", ["staging mark", "other clips' rows", "truncated"])
def test_a_damaged_finished_build_is_rebuilt_not_reported_up_to_date(small_mosei, tmp_path, how):
    # Issue 21, item 1: after two racing builds, later runs reported a corrupt build "up to date".
    config = config_for(small_mosei)
    out = tmp_path / "out"
    build_dataset(config, out, workers=1)
    clean = read_outputs(out)
    features = out / "features" / "logmel.npy"
    row_bytes = FAST_MEL.n_mels * FAST_MEL.frames_for_seconds(config.clip_seconds) * 2
    features.write_bytes(_damaged(features.read_bytes(), how, row_bytes))
    stat = os.stat(out / "build.json")
    os.utime(features, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # written after the build
    notices = []
    again = build_dataset(config, out, workers=1, log=notices.append)
    assert not again.up_to_date and again.recordings_processed == 6
    assert read_outputs(out) == clean
    (notice,) = notices
    assert "building it again" in notice and "\n" not in notice


def test_an_intact_rerun_checks_cheaply_and_hashes_nothing(small_mosei, tmp_path, monkeypatch):
    from weaklabel import dataset as dataset_module

    config = config_for(small_mosei)
    out = tmp_path / "out"
    build_dataset(config, out, workers=1)
    record = json.loads((out / "build.json").read_text())
    assert len(record["features"]["sha256"]) == 64  # recorded at the merge
    hashed = []
    monkeypatch.setattr(dataset_module, "file_sha256", lambda path: hashed.append(Path(path).name) or "x")
    assert build_dataset(config, out, workers=1).up_to_date and hashed == []
    os.utime(out / "features" / "logmel.npy")  # touched after the build: hashed once, then trusted again
    monkeypatch.undo()
    assert build_dataset(config, out, workers=1).up_to_date
    monkeypatch.setattr(dataset_module, "file_sha256", lambda path: hashed.append(Path(path).name) or "x")
    assert build_dataset(config, out, workers=1).up_to_date and hashed == []

