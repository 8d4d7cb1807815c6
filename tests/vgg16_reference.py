"""Digests of today's VGG16 model trained on a generated corpus: what ``--features vgg16`` must reproduce.

``python -m tests.vgg16_reference OUT.json`` trains the default model (ImageNet weights, the default
embedding, head and baselines) on a small demo build and writes the SHA-256 of every artefact: the embedding
array, the head's weights, every model's p(positive) on validation and test, ``metrics.json`` and
``model.json`` (each without the dataset's own path, and without the keys listed in ``ADDED_KEYS``, which the
feature-extractor registry added). ``tests/data/vgg16_reference.json`` was written so at the commit before the
registry (e0bd4d3); ``tests/test_feature_registry.py`` recomputes the digests and compares them.

The figures are bitwise only on the same TensorFlow, NumPy and scikit-learn and the same CPU instruction set
(oneDNN picks its kernels by the CPU), so the record keeps those and the test compares where they match.
"""
from __future__ import annotations

import hashlib
import json
import platform
import sys
from pathlib import Path

import numpy as np

#: Keys the registry added to metrics.json and model.json (absent from the reference run's files).
ADDED_KEYS = ("features",)
#: Keys issue 23 added (the embedding's precision and frames; float32 and full in the reference run): model.json's
#: top level and metrics.json's ``embedding`` block.
PRECISION_KEYS = ("precision", "frames")
#: Keys issue 30 added to model.json: the head's test metrics, which predict reports beside its scores.
QUALITY_KEYS = ("test_metrics",)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _canonical(record: dict, drop: tuple[str, ...]) -> bytes:
    record = {k: v for k, v in record.items() if k not in drop}
    return json.dumps(record, sort_keys=True, ensure_ascii=False).encode("utf-8")


def environment() -> dict:
    """What the digests depend on besides the code."""
    import sklearn
    import tensorflow as tf

    flags = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = line
                break
    except OSError:
        pass
    isa = sorted(f for f in flags.split() if f.startswith(("avx", "amx", "fma", "sse4")))
    return {"tensorflow": tf.__version__, "numpy": np.__version__, "scikit-learn": sklearn.__version__,
            "machine": platform.machine(), "cpu_isa": isa}


def reference_digests(work: Path) -> dict:
    """Build the demo corpus in ``work``, train the default model with ImageNet weights on the reference path
    (float32 over whole clips: the default when the reference was recorded, before ``--precision auto`` and
    ``--frames speech``); the digests."""
    from transfer.training import TrainConfig, TrainOptions, train
    from weaklabel.build import BuildConfig, build_dataset
    from weaklabel.demo import generate_demo_corpus

    corpus = generate_demo_corpus(work / "corpus", n_recordings=12, sentences_per_recording=10, seed=3)
    dataset = work / "dataset"
    build_dataset(BuildConfig(corpus="mosei", root=str(corpus)), dataset, workers=1)
    result = train(dataset, TrainConfig(precision="float32", frames="full"),
                   TrainOptions(weights="imagenet", n_bootstrap=200))
    metrics = json.loads((dataset / "metrics.json").read_text(encoding="utf-8"))
    model = json.loads((dataset / "model" / "model.json").read_text(encoding="utf-8"))
    model["trained_on"] = {k: v for k, v in model["trained_on"].items() if k != "dataset"}
    assert {k: model.pop(k) for k in PRECISION_KEYS} == {"precision": "float32", "frames": "full"}
    assert {k: metrics["embedding"].pop(k) for k in PRECISION_KEYS} == {"precision": "float32", "frames": "full"}
    key = metrics["embedding"]["key"]
    embeddings = np.load(dataset / "embeddings" / f"{key}.npy")
    predictions = result.predictions
    return {
        "embedding_key": key,
        "embeddings_sha256": _sha(np.ascontiguousarray(embeddings).tobytes()),
        "head_sha256": _sha(b"".join(np.asarray(w).tobytes() for w in result.head.get_weights())),
        "predictions_sha256": {c: _sha(predictions[c].to_numpy(dtype=np.float64).tobytes())
                               for c in predictions.columns if c.startswith("p_")},
        "metrics_sha256": _sha(_canonical(metrics, ("dataset",) + ADDED_KEYS)),
        "model_json_sha256": _sha(_canonical(model, ADDED_KEYS + QUALITY_KEYS)),
        "test_auc_weak": metrics["against_weak_labels"]["head"]["test"]["roc_auc"],
    }


def main(argv: list[str]) -> int:
    import tempfile

    out = Path(argv[0])
    with tempfile.TemporaryDirectory() as tmp:
        record = {"environment": environment(), "digests": reference_digests(Path(tmp))}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
