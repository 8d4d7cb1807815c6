"""Issue 23: the embedding's precision (float32 | bfloat16 | auto) and frames (full | speech).

VGG16 runs with explicitly random weights (seeded) on generated log-mel clips; the tolerances here are the ones the
docs state (docs/performance.md):

* speech-only frames against the whole clip, float32: within 1e-5 of each clip's largest feature (measured: equal);
* bfloat16 against float32, same frames: within 2e-2 of each clip's largest feature (measured with random weights:
  0.5-0.7 %; with the ImageNet weights see reports/embed_precision.md);
* a given precision and frames: the same bytes however the clips are chunked.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from transfer.features import precision as precision_module
from transfer.features.precision import resolve_precision
from transfer.features.vgg16 import Embedder, VGG16Settings, embed_chunk
from transfer.features.vgg16_frames import output_width, plan_batches, receptive_field, speech_windows

from .conftest import cached_embeddings, embedding_config, vgg16_embedding

SPEECH_TOLERANCE = 1e-5  # float32, speech-only against full, of each clip's largest feature
BF16_TOLERANCE = 2e-2  # bfloat16 against float32, of each clip's largest feature


@pytest.fixture(scope="module")
def weights():
    from transfer.weights import resolve_vgg16_weights

    return resolve_vgg16_weights("random")


def generated_clips(n_mels: int, n_frames: int, seed: int = 0) -> tuple[np.ndarray, list[int]]:
    """Log-mel clips (dB, padding -100 dB) whose audio spans are of many lengths and places: none, one frame, a
    few, about half, all, at the start, the end and in between; returns the clips and each clip's audio frames."""
    rng = np.random.default_rng(seed)
    spans = [(0, 0), (0, n_frames), (5, 1), (0, 9), (n_frames - 9, 9), (13, n_frames // 2), (40, 3),
             (1, n_frames - 2), (n_frames // 3, n_frames // 4), (n_frames - 1, 1), (7, 17), (2, n_frames - 30)]
    clips = np.full((len(spans), n_mels, n_frames), -100.0, np.float32)
    for clip, (start, length) in zip(clips, spans):
        clip[:, start:start + length] = rng.normal(-45.0, 12.0, (n_mels, length))
    return clips, [length for _, length in spans]


def relative_error(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Per clip: the largest absolute difference over the clip's largest feature magnitude."""
    scale = np.abs(want).max(axis=1)
    assert (scale > 0).all()
    return np.abs(got - want).max(axis=1) / scale


# ----------------------------------------------------------------------------------------- the auto rule
@pytest.mark.parametrize("flags, env, machine, requested, expected", [
    ({"avx2", "fma"}, {}, "x86_64", "auto", "float32"),                         # no bfloat16 instructions
    ({"avx512f", "avx512_bf16"}, {}, "x86_64", "auto", "bfloat16"),              # AVX512-BF16, oneDNN on
    ({"amx_bf16", "amx_tile", "avx512_bf16"}, {}, "x86_64", "auto", "bfloat16"),  # AMX
    ({"amx_bf16"}, {"TF_ENABLE_ONEDNN_OPTS": "0"}, "x86_64", "auto", "float32"),  # oneDNN off: Eigen is slower
    ({"avx512_bf16"}, {"TF_ENABLE_ONEDNN_OPTS": "false"}, "x86_64", "auto", "float32"),
    ({"avx512_bf16"}, {"TF_ENABLE_ONEDNN_OPTS": "1"}, "x86_64", "auto", "bfloat16"),
    ({"avx512_bf16"}, {}, "aarch64", "auto", "float32"),                          # not measured there
    ({"avx512_bf16"}, {}, "x86_64", "float32", "float32"),                        # asked for: kept
    ({"avx2"}, {}, "x86_64", "bfloat16", "bfloat16"),                             # asked for: kept (emulated)
])
def test_auto_follows_the_cpu_flags_and_the_environment(flags, env, machine, requested, expected):
    resolved = resolve_precision(requested, frozenset(flags), env, machine)
    assert resolved.precision == expected and resolved.requested == requested and resolved.reason
    if requested == "bfloat16" and "avx512_bf16" not in flags:
        assert "emulated" in resolved.reason


def test_unknown_precisions_and_frames_are_refused_and_the_defaults_are_auto_over_speech_frames():
    from transfer.features import EmbeddingConfig, VGG16Options
    from transfer.training import ORIGINAL_RECIPE, TrainConfig

    with pytest.raises(ValueError, match="unknown precision"):
        resolve_precision("float16")
    with pytest.raises(ValueError, match="unknown frames"):
        VGG16Options(frames="voiced")
    assert (VGG16Options().precision, VGG16Options().frames) == ("auto", "speech")
    assert TrainConfig().embedding == EmbeddingConfig()
    # the record holds the configuration as given (auto stays auto); what it resolved to is recorded beside it
    assert TrainConfig().to_dict()["embedding"]["vgg16"]["precision"] == "auto"
    resolved = EmbeddingConfig(features="vgg16").updated(vgg16={"weights": "random"}).resolve()
    assert resolved.settings.precision == resolve_precision("auto").precision and resolved.settings.frames == "speech"
    # the original recipe stays the seed's method: float32, whole clips (gap pooling averages the padding in)
    original = ORIGINAL_RECIPE.embedding.updated(vgg16={"weights": "random"}).resolve()
    assert (original.settings.precision, original.settings.frames) == ("float32", "full")


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512_bf16\n\nprocessor\t: 1\nflags\t\t: fpu\n")
    assert precision_module.cpu_flags(str(cpuinfo)) == {"fpu", "avx2", "avx512_bf16"}
    assert precision_module.cpu_flags(str(tmp_path / "none")) == frozenset()


# ------------------------------------------------------------------------------------ the speech window
def test_receptive_field_and_windows():
    assert receptive_field("block2_conv2") == (2, 6, 7)
    assert receptive_field("block3_conv3") == (4, 18, 21)
    assert output_width(438, "block2_conv2") == 219 and output_width(438, "block5_conv3") == 27
    mask = np.zeros((3, 50), bool)
    mask[0, 10:20] = True
    mask[1, 0] = True
    starts, widths = speech_windows(mask, "block2_conv2", 100)
    # clip 0: output frames 10..19 need inputs 14..45; start on the stride
    assert (starts[0], widths[0]) == (14, 46 - 14)
    assert (starts[1], widths[1]) == (0, 8)
    assert (starts[2], widths[2]) == (0, 100)  # no audio: every frame
    batches = plan_batches(np.array([30, 8, 100, 12]), batch_size=2, n_frames=100, quantum=16)
    assert [(m.tolist(), w) for m, w in batches] == [([1, 3], 20), ([0, 2], 100)]


@pytest.mark.parametrize("layer, n_mels", [("block2_conv2", 32), ("block3_conv3", 32), ("block5_conv3", 64)])
def test_speech_only_frames_give_the_whole_clips_features(weights, layer, n_mels):
    n_frames = 150
    clips, _ = generated_clips(n_mels, n_frames)
    shape = (n_mels, n_frames)
    full = Embedder(weights, layer, image_shape=shape).embed_logmel(clips, batch_size=4)
    speech = Embedder(weights, layer, image_shape=shape, frames="speech")
    assert speech.frames == "speech" and not speech.reference_path
    got = speech.embed_logmel(clips, batch_size=4)
    assert got.shape == full.shape and got.dtype == np.float32
    assert relative_error(got, full).max() <= SPEECH_TOLERANCE
    bf16 = Embedder(weights, layer, image_shape=shape, precision="bfloat16", frames="speech")
    assert bf16.precision == "bfloat16"
    err = relative_error(bf16.embed_logmel(clips, batch_size=4), full)
    assert err.max() <= BF16_TOLERANCE
    assert err.max() > 0  # bfloat16 is not float32 in disguise


def test_gap_pooling_runs_on_the_whole_clip(weights):
    embedder = Embedder(weights, "block2_conv2", image_shape=(32, 60), pooling="gap", frames="speech")
    assert embedder.frames == "full" and embedder.spec.key == Embedder(weights, "block2_conv2", (32, 60),
                                                                        pooling="gap").spec.key


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_the_same_bytes_however_the_clips_are_chunked(weights, tmp_path, monkeypatch, precision):
    from transfer.features import vgg16

    monkeypatch.setattr(vgg16, "PLAN_CLIPS", 8)
    clips = np.concatenate([generated_clips(32, 120, seed)[0] for seed in range(2)])  # 24 clips
    path = tmp_path / "logmel.npy"
    np.save(path, clips.astype(np.float16))
    speech, full_frames = (VGG16Settings(weights=weights, precision=precision, frames=f) for f in ("speech", "full"))
    whole = embed_chunk(str(path), 0, 24, speech, 4)
    parts = np.concatenate([embed_chunk(str(path), a, b, speech, 4) for a, b in ((0, 8), (8, 16), (16, 24))])
    assert np.array_equal(whole, parts)
    full = embed_chunk(str(path), 0, 24, full_frames, 4)
    full_parts = np.concatenate([embed_chunk(str(path), a, b, full_frames, 4) for a, b in ((0, 4), (4, 24))])
    assert np.array_equal(full, full_parts)


# -------------------------------------------------------------------------- config -> key -> model -> predict
@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small build, a bfloat16 speech-only model and a float32 whole-clip one of it (random weights)."""
    from transfer.training import TrainConfig, TrainOptions, train
    from weaklabel.build import BuildConfig, build_dataset
    from weaklabel.logmel import LogMelParams

    from .conftest import write_mosei

    base = tmp_path_factory.mktemp("precision")
    recordings = {}
    for v in range(6):  # as conftest's small_mosei
        recordings[f"vid{v}"] = (12.0, [
            f"vid{v}___0___0.5___3.0___I absolutely love this wonderful film, it is great!",
            f"vid{v}___1___4.0___11.5___This was a terrible, awful and horrible experience.",
            f"vid{v}___2___11.6___11.9___The meeting is on Tuesday.",
        ])
    corpus = write_mosei(base / "corpus", recordings)
    dataset = base / "dataset"
    build_dataset(BuildConfig(corpus="mosei", root=str(corpus),
                              mel=LogMelParams(n_mels=32, n_fft=512, win_length=512, hop_length=256)),
                  dataset, workers=1)
    bf16 = train(dataset, TrainConfig(embedding=embedding_config(batch_size=4, precision="bfloat16", frames="speech")),
                 TrainOptions(n_bootstrap=20, model_out=str(base / "bf16")))
    bf16_metrics = json.loads((dataset / "metrics.json").read_text())
    f32 = train(dataset, TrainConfig(embedding=embedding_config(batch_size=4, precision="float32", frames="full")),
                TrainOptions(n_bootstrap=20))  # the reference path, by name
    return {"dataset": dataset, "corpus": corpus, "bf16": bf16.model_dir, "bf16_metrics": bf16_metrics,
            "f32": f32.model_dir, "f32_metrics": json.loads((dataset / "metrics.json").read_text())}


def test_precision_goes_from_the_config_to_the_key_the_records_and_the_model(trained):
    from transfer.model import load_valence_model
    from transfer.training import TrainConfig, model_is_current
    from weaklabel.dataset import Dataset

    metrics = trained["bf16_metrics"]
    key = metrics["embedding"]["key"]
    assert key.endswith("_bf16_speech") and key.startswith("vgg16_block2_conv2_bands4_")
    assert metrics["embedding"]["precision"] == "bfloat16" and metrics["embedding"]["frames"] == "speech"
    assert metrics["train_config"]["embedding"]["vgg16"]["precision"] == "bfloat16"
    assert metrics["features"]["settings"]["precision"] == "bfloat16"
    cache = json.loads((trained["dataset"] / "embeddings" / f"{key}.json").read_text())
    assert cache["precision"] == "bfloat16" and cache["frames"] == "speech"
    meta = json.loads((trained["bf16"] / "model.json").read_text())
    assert meta["features"]["settings"]["precision"] == "bfloat16" and meta["embedding_key"] == key
    assert meta["features"]["settings"]["frames"] == "speech"
    # a float32 model over whole clips keeps the key of the reference path and records float32 / full
    f32 = trained["f32_metrics"]
    assert f32["embedding"]["key"] == key[:-len("_bf16_speech")]
    assert f32["embedding"]["precision"] == "float32" and f32["features"]["settings"]["frames"] == "full"
    f32_config = TrainConfig(embedding=embedding_config(batch_size=4, precision="float32", frames="full"))
    assert model_is_current(trained["dataset"], f32_config)
    assert not model_is_current(trained["dataset"], TrainConfig(embedding=embedding_config(
        batch_size=4, precision="bfloat16", frames="full")))
    # prediction embeds as the model records: its clips give the training embeddings back
    model = load_valence_model(trained["bf16"])
    settings = model.embedding().settings
    assert (settings.precision, settings.frames) == ("bfloat16", "speech")
    embedder = model.embedder().embedder  # the VGG16 Embedder inside the clip embedder
    assert embedder.precision == "bfloat16" and embedder.frames == "speech"
    dataset = Dataset(trained["dataset"])
    stored = np.asarray(cached_embeddings(dataset, key))
    again = model.embedder().embed(None, np.asarray(dataset.features), batch_size=4)
    assert relative_error(again, stored).max() <= 1e-5


def test_a_float32_model_keeps_predicting_in_float32(trained, tmp_path):
    import shutil

    from transfer.model import load_valence_model
    from weaklabel.dataset import Dataset

    dataset = Dataset(trained["dataset"])
    logmel = np.asarray(dataset.features)
    f32_key = trained["f32_metrics"]["embedding"]["key"]
    model = load_valence_model(trained["f32"])
    assert (model.embedding().settings.precision, model.embedding().settings.frames) == ("float32", "full")
    p = model.predict_logmel(logmel, batch_size=4)
    np.testing.assert_array_equal(p, model.predict_embeddings(np.asarray(cached_embeddings(dataset, f32_key))))
    bf16_embeddings = np.asarray(cached_embeddings(dataset, trained["bf16_metrics"]["embedding"]["key"]))
    assert not np.array_equal(p, model.predict_embeddings(bf16_embeddings))
    # a model.json from before issue 23 (VGG16's fields at its top, no precision, no frames, no features record)
    # is float32 over the whole clip
    old = tmp_path / "old"
    shutil.copytree(trained["f32"], old)
    meta = json.loads((old / "model.json").read_text())
    settings = meta.pop("features")["settings"]
    meta.update(format_version=2, layer=settings["layer"], pooling=settings["pooling"], n_bands=settings["n_bands"],
                image_version=1, backbone="vgg16")
    (old / "model.json").write_text(json.dumps(meta))
    old_model = load_valence_model(old)
    assert old_model.features == "vgg16"
    assert (old_model.embedding().settings.precision, old_model.embedding().settings.frames) == ("float32", "full")
    np.testing.assert_array_equal(old_model.predict_logmel(logmel, batch_size=4), p)


def test_embed_and_run_take_the_options(trained, weights, capsys, tmp_path, monkeypatch):
    from pipelines import embed as embed_cli
    from pipelines import run
    from transfer.embedding import embed_dataset
    from transfer.features import vgg16

    assert embed_cli.main(["--dataset", str(trained["dataset"]), "--features", "vgg16", "--weights", "random",
                           "--precision", "bfloat16", "--frames", "speech", "--batch-size", "4", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "from the cache" in out and "_bf16_speech.npy" in out  # the key the training computed
    # the dataset in one task or in tasks of 4 clips: the same bytes
    monkeypatch.setattr(vgg16, "PLAN_CLIPS", 4)
    bf16 = vgg16_embedding(weights, batch_size=2, precision="bfloat16", frames="speech")
    runs = [embed_dataset(trained["dataset"], bf16, chunk_clips=chunk, cache_dir=tmp_path / f"cache{chunk}")[0]
            for chunk in (4, 1000)]
    assert len(runs[0]) > 4 and np.array_equal(runs[0], runs[1])
    toml = tmp_path / "run.toml"
    toml.write_text('[embed]\nprecision = "bfloat16"\nframes = "speech"\nweights = "random"\n')
    args, given = run.command_line().parse(["--config", str(toml)])
    plan = run.resolve(args, given)
    assert (plan.embed.vgg16.precision, plan.embed.vgg16.frames) == ("bfloat16", "speech")
    assert plan.train.embedding == plan.embed  # the training's embedding is [embed]'s
    with pytest.raises(ValueError, match="precision"):
        from transfer.features import VGG16Options

        VGG16Options(precision="half")


def test_the_weak_label_check_pairs_runs_by_seed_and_rotation():
    """benchmarks.embed_precision_weak: each run is paired with the reference's run of the same pairing seed and
    rotation at the same p (other recipes and p ignored); met only when the mean and its interval lie within
    +-0.01."""
    from benchmarks.embed_precision_weak import TOLERANCE, default_runs, paired_comparison

    def record(aucs, p=0.75, extra=()):
        runs = [{"recipe": "default", "p": p, "pairing_seed": s, "rotation": f"test r{r}", "test": {"roc_auc": a}}
                for (s, r), a in aucs.items()]
        return {"runs": runs + [{"recipe": "original recipe", "p": p, "pairing_seed": 0, "rotation": "test r0",
                                 "test": {"roc_auc": 0.1}}, *extra]}

    reference = {(s, r): 0.6 + 0.01 * s + 0.02 * r for s in range(3) for r in range(2)}
    other_p = [{"recipe": "default", "p": 0.9, "pairing_seed": 0, "rotation": "test r0", "test": {"roc_auc": 0.99}}]
    ref_runs = default_runs(record(reference, extra=other_p), 0.75)
    assert len(ref_runs) == 6 and ref_runs[(0, "test r0")] == pytest.approx(0.6)
    close = paired_comparison(ref_runs, default_runs(record({k: v + 0.001 for k, v in reference.items()}), 0.75))
    assert close["runs"] == 6 and close["mean"] == pytest.approx(0.001) and close["met"]
    far = paired_comparison(ref_runs, default_runs(record({k: v - 2 * TOLERANCE for k, v in reference.items()}),
                                                   0.75))
    assert far["mean"] == pytest.approx(-0.02) and not far["met"] and far["largest"] == pytest.approx(-0.02)
    partial = default_runs(record({k: v for k, v in reference.items() if k[0] == 0}), 0.75)
    assert paired_comparison(ref_runs, partial)["runs"] == 2 and len(paired_comparison(ref_runs, partial)["unpaired"]) == 4
    with pytest.raises(ValueError, match="no run"):
        paired_comparison(ref_runs, {})


def test_the_pipeline_benchmark_verdict_asks_the_feature_issue_s_cost_criteria():
    """benchmarks.embed_pipeline: the defaults at most 4x the seed's VGG16 path and at least 3x faster than Whisper's
    naive input (medians over rounds), VGG16's defaults no slower than its reference path in any round."""
    from benchmarks.embed_pipeline import DEFAULTS, NAIVE, SEED, VGG16_DEFAULTS, markdown, verdict

    def rows(cost, speedup, vgg16_cost=(0.6, 0.7)):
        return [{"name": DEFAULTS, "cost_vs_seed_median": cost, "speedup_vs_naive_median": speedup},
                {"name": SEED, "cost_vs_seed_median": 1.0, "speedup_vs_naive_median": 9.0},
                {"name": VGG16_DEFAULTS, "cost_vs_seed_range": list(vgg16_cost)},
                {"name": NAIVE, "cost_vs_seed_median": 12.0, "speedup_vs_naive_median": 1.0}]

    assert verdict(rows(3.5, 3.4))["met"]
    assert not verdict(rows(4.5, 3.4))["met"] and not verdict(rows(4.5, 3.4))["cost_met"]
    assert not verdict(rows(3.5, 2.9))["met"] and not verdict(rows(3.5, 2.9))["speedup_met"]
    assert not verdict(rows(3.5, 3.4, vgg16_cost=(0.8, 1.02)))["met"]  # VGG16's defaults slower in one round
    row = {"arguments": [], "clips_per_s_median": 2.0, "clips_per_s_range": [1.9, 2.1], "mosei_hours": 3.3,
           "cost_vs_seed_median": 3.5, "cost_vs_seed_range": [3.4, 3.6]}
    record = {"command": "c", "rounds": 2, "clips": {"clips": 4, "speakers": ["1", "2"], "mean_audio_s": 3.5},
              "machine": {"cpu_model": "cpu", "usable_cpus": 2}, "load_average_1min": {"start": 1.0, "end": 1.2},
              "verdict": verdict(rows(3.5, 3.4)), "rows": [{**row, "name": DEFAULTS}],
              "breakdown": [{"input": "padded", "window_s": 10.0, "encoder_share": 0.9,
                             "ms_per_clip": {"decode": 1.0, "log_mel": 2.0, "encoder": 30.0, "pool": 0.1}}]}
    text = markdown(record)
    assert "**Met**" in text and "| defaults |" in text and "3.50 (3.40-3.60)" in text and "| padded 10 s |" in text
