"""Crash safety: a build killed outright resumes to the same bytes, and nothing half-written is read back."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from pipelines import build_dataset as build_cli
from weaklabel.build import finish as finish_module
from weaklabel.dataset import Dataset
from weaklabel.layout import embedding_files
from weaklabel.build import BuildConfig, build_dataset, group_by_audio_file, part_path, prepare_output_dir
from weaklabel.build.cut import build_part
from weaklabel.errors import OutputConflictError
from weaklabel.logmel import LogMelParams
from weaklabel.readers import read_corpus

from .build_helpers import parts_built
from .conftest import REPO_ROOT, vgg16_embedding, write_mosei

OUTPUT_FILES = ("segments.parquet", "features/logmel.npy", "build.json")
FAST_MEL = LogMelParams(n_mels=32, n_fft=512, win_length=512, hop_length=512)
FAST_MEL_ARGS = ["--n-mels", "32", "--n-fft", "512", "--hop-length", "512"]
N_RECORDINGS = 30


def read_outputs(out):
    return {name: (out / name).read_bytes() for name in OUTPUT_FILES}


def temp_files(out):
    return [p for p in Path(out).rglob("*.tmp")]


def config_for(root, **kw):
    return BuildConfig(corpus="mosei", root=str(Path(root).resolve()), mel=FAST_MEL, **kw)


def three_sentence_corpus(root, n_recordings):
    recordings = {f"vid{v:02d}": (12.0, [
        f"vid{v:02d}___0___0.5___3.0___I absolutely love this wonderful film, it is great!",
        f"vid{v:02d}___1___4.0___11.5___This was a terrible, awful and horrible experience.",
        f"vid{v:02d}___2___11.6___11.9___The meeting is on Tuesday.",
    ]) for v in range(n_recordings)}
    return write_mosei(root, recordings)


def test_sigkilled_build_resumes_to_the_same_bytes(tmp_path):
    root = three_sentence_corpus(tmp_path / "corpus", N_RECORDINGS)
    out = tmp_path / "killed"
    args = ["--corpus", "mosei", "--root", str(root), "--out", str(out), "--workers", "1", "--quiet", *FAST_MEL_ARGS]
    command = [sys.executable, "-m", "pipelines.build_dataset", *args]
    proc = subprocess.Popen(command, cwd=REPO_ROOT, start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob(".parts-*/*.part")):  # kill as soon as the first part is complete
            assert proc.poll() is None, f"the build ended before it could be killed: {proc.communicate()}"
            assert time.monotonic() < deadline, "no part appeared within 120 s"
            time.sleep(0.005)
        os.killpg(proc.pid, signal.SIGKILL)  # the whole process group: pool workers too
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "segments.parquet").exists() and not (out / "build.json").exists()
    (parts_dir,) = out.glob(".parts-*")
    done = len(list(parts_dir.glob("*.part")))
    assert 0 < done < N_RECORDINGS

    rerun = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{N_RECORDINGS - done} recordings processed" in rerun.stdout

    uninterrupted = tmp_path / "uninterrupted"
    assert build_cli.main([*args[:5], str(uninterrupted), *args[6:]]) == 0
    assert read_outputs(out) == read_outputs(uninterrupted)
    assert not list(out.glob(".parts-*")) and not temp_files(out)


def test_half_written_parts_and_temp_files_are_redone_not_read(small_mosei, tmp_path):
    config = config_for(small_mosei)
    build_dataset(config, tmp_path / "clean", workers=1)
    out = tmp_path / "out"
    parts, units = parts_built(config, out)
    whole = part_path(parts, units[0]).read_bytes()
    part_path(parts, units[0]).write_bytes(whole[:len(whole) // 2])  # torn: its rows and trailer are missing
    data = part_path(parts, units[1]).read_bytes()
    part_path(parts, units[1]).write_bytes(data[1000:])  # rows intact, features shorter than they say
    part_path(parts, units[2]).write_bytes(b"\x93NUMPY junk")  # not a part at all
    stray = [parts / f".{part_path(parts, units[3]).name}.k1ll3d.tmp", out / ".segments.parquet.k1ll3d.tmp",
             out / "features" / ".logmel.npy.k1ll3d.tmp"]
    for path in stray:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b'{"rows": [')  # what a killed write leaves: a prefix
    result = build_dataset(config, out, workers=1)
    assert result.recordings_processed == 3
    assert read_outputs(out) == read_outputs(tmp_path / "clean")
    assert not temp_files(out) and not list(out.glob(".parts-*"))


def test_a_part_from_an_edited_transcript_is_redone(small_mosei, tmp_path):
    config = config_for(small_mosei)
    out = tmp_path / "out"
    parts_built(config, out)
    transcript = small_mosei / "Raw/Transcript/Segmented/Combined/vid0.txt"
    transcript.write_text(transcript.read_text().replace("Tuesday", "Wednesday"))
    result = build_dataset(config, out, workers=1)
    assert result.recordings_processed == 1
    assert read_outputs(out) == read_outputs(build_dataset(config, tmp_path / "fresh", workers=1).out_dir)


def _build_killed_before_build_json(config, out, monkeypatch):
    """Build into ``out``, killed as it is about to write build.json (every other output written)."""
    write_json = finish_module.write_json_atomic

    def killed_at_build_json(target, data):
        if Path(target).name == "build.json":
            raise KeyboardInterrupt("killed")
        write_json(target, data)

    monkeypatch.setattr(finish_module, "write_json_atomic", killed_at_build_json)
    with pytest.raises(KeyboardInterrupt):
        build_dataset(config, out, workers=1)
    monkeypatch.undo()


def test_finalize_killed_before_build_json_is_not_complete(small_mosei, tmp_path, monkeypatch):
    config = config_for(small_mosei)
    build_dataset(config, tmp_path / "clean", workers=1)
    out = tmp_path / "out"
    _build_killed_before_build_json(config, out, monkeypatch)
    assert (out / "segments.parquet").is_file() and not (out / "build.json").exists()
    result = build_dataset(config, out, workers=1)
    assert not result.up_to_date and result.recordings_processed == 0  # the parts were kept
    assert read_outputs(out) == read_outputs(tmp_path / "clean")
    # A finished build whose part folder removal was interrupted: up to date, and the leftover goes.
    (out / ".parts-0123456789abcdef").mkdir()
    with pytest.raises(OutputConflictError):  # not ours: another configuration's unfinished parts
        build_dataset(config, out, workers=1, force=True)
    (out / ".parts-0123456789abcdef").rmdir()
    leftover = out / f".parts-{config.parts_fingerprint()[:16]}"
    leftover.mkdir()
    assert build_dataset(config, out, workers=1).up_to_date and not leftover.exists()


def test_force_does_not_bypass_the_configuration_check(small_mosei, tmp_path):
    out = tmp_path / "out"
    build_dataset(config_for(small_mosei), out, workers=1)
    before = read_outputs(out)
    with pytest.raises(OutputConflictError, match="seed"):
        build_dataset(config_for(small_mosei, seed=3), out, workers=1, force=True)
    assert read_outputs(out) == before


def test_half_written_embedding_cache_is_recomputed(small_mosei, tmp_path, monkeypatch):
    from transfer import embedding

    dataset = build_dataset(config_for(small_mosei), tmp_path / "out", workers=1).out_dir
    vgg16 = vgg16_embedding(batch_size=8)
    _, record = embedding.embed_dataset(dataset, vgg16)
    array_path, meta_path = embedding_files(Dataset(dataset).embeddings_dir, record.key)
    expected = array_path.read_bytes(), meta_path.read_bytes()

    np.save(array_path, np.zeros((3, 256), np.float32))  # an array its record does not describe
    write_json = embedding.write_json_atomic
    monkeypatch.setattr(embedding, "write_json_atomic", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):  # killed after the new array, before its record
        embedding.embed_dataset(dataset, vgg16)
    monkeypatch.setattr(embedding, "write_json_atomic", write_json)
    assert array_path.is_file() and not meta_path.exists()  # the old record went first
    stray = array_path.parent / f".{array_path.name}.k1ll3d.tmp"
    stray.write_bytes(b"\x93NUMPY")
    again, record = embedding.embed_dataset(dataset, vgg16)
    assert not record.from_cache and (array_path.read_bytes(), meta_path.read_bytes()) == expected
    assert not stray.exists()


def _corpus_with_failures(root):
    """Four recordings; in two of them a segment fails after its audio is opened (it starts past the end, or
    holds too little audio), so the staged rows have gaps that the merge must close."""
    recordings = {f"vid{v}": (12.0, [
        f"vid{v}___0___0.5___3.0___I absolutely love this wonderful film, it is great!",
        f"vid{v}___1___{'30.0___31.0' if v in (0, 2) else '4.0___11.5'}___This was a terrible, awful experience.",
        f"vid{v}___2___{'11.9___11.95' if v == 2 else '8.0___10.0'}___The meeting is on Tuesday.",
    ]) for v in range(4)}
    return write_mosei(root, recordings)


def test_staged_features_with_gaps_equal_parts_that_hold_their_own(tmp_path):
    # The build's parts stage their features into one file whose gaps (failed segments) the merge closes;
    # parts made the other way (each holding its features, as reused ones do) must give the same bytes.
    root = _corpus_with_failures(tmp_path / "corpus")
    config = config_for(root)
    staged = build_dataset(config, tmp_path / "staged", workers=2)
    assert staged.counts.failed == 3 and staged.counts.segments == 12
    out = tmp_path / "inline"
    parts = prepare_output_dir(out, config, overwrite=False)
    for segments in group_by_audio_file(read_corpus("mosei", str(root))).values():
        build_part(segments, config, str(parts))  # no staging: the part holds its features
    resumed = build_dataset(config, out, workers=1)
    assert resumed.recordings_processed == 0
    assert read_outputs(out) == read_outputs(tmp_path / "staged")
    features = np.load(out / "features/logmel.npy")
    assert features.shape[0] == 9 and not (features == 0).all(axis=(1, 2)).any()  # no gap left as zeros


def test_a_merge_killed_midway_is_never_read_back(small_mosei, tmp_path, monkeypatch):
    config = config_for(small_mosei)
    clean = build_dataset(config, tmp_path / "clean", workers=1)
    out = tmp_path / "out"
    move = finish_module.move_bytes

    def killed_after_one_move(fd, source, destination, count):
        move(fd, source, destination, count)
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(finish_module, "move_bytes", killed_after_one_move)
    with pytest.raises(KeyboardInterrupt):
        build_dataset(config, out, workers=1)
    monkeypatch.undo()
    staging = list(out.glob(".parts-*/*.staging"))
    assert len(staging) == 1 and staging[0].read_bytes().startswith(b"MERGING")
    result = build_dataset(config, out, workers=1)
    assert result.recordings_processed == len(clean.record.units)  # the staged rows were not trusted
    assert read_outputs(out) == read_outputs(tmp_path / "clean") and not temp_files(out)


def test_a_merged_staging_file_missing_a_part_is_rebuilt(small_mosei, tmp_path, monkeypatch):
    config = config_for(small_mosei)
    build_dataset(config, tmp_path / "clean", workers=1)
    out = tmp_path / "out"
    _build_killed_before_build_json(config, out, monkeypatch)
    next(out.glob(".parts-*/*.part")).unlink()  # the merged file's rows can no longer all be vouched for
    result = build_dataset(config, out, workers=1)
    assert result.recordings_processed == len(result.record.units)
    assert read_outputs(out) == read_outputs(tmp_path / "clean")
