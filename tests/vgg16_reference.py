"""Digests of today's VGG16 model trained on a generated corpus: what ``--features vgg16`` must reproduce.

``python -m tests.vgg16_reference OUT.json`` trains the VGG16 model (ImageNet weights, VGG16's embedding on its
reference path, the default head and baselines) on a small demo build and writes the SHA-256 of what the model
computes: the embedding array, the head's weights, every model's p(positive) on validation and test, and the test
AUC. ``tests/data/vgg16_reference.json`` was written at the commit before the feature-extractor registry
(e0bd4d3); ``tests/test_feature_registry.py`` recomputes these digests and compares them (the layout of
``metrics.json`` and ``model.json`` has changed since, and is tested on its own).

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

#: What is compared: what the model computes (the records' layout is not).
COMPARED = ("embedding_key", "embeddings_sha256", "head_sha256", "predictions_sha256", "test_auc_weak")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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
    """Build the demo corpus in ``work``, train the VGG16 model with ImageNet weights on the reference path
    (float32 over whole clips: VGG16's only path when the reference was recorded); the digests of :data:`COMPARED`."""
    from transfer.features import EmbeddingConfig
    from transfer.training import TrainConfig, TrainOptions, train
    from weaklabel.build import BuildConfig, build_dataset
    from weaklabel.demo import generate_demo_corpus

    corpus = generate_demo_corpus(work / "corpus", n_recordings=12, sentences_per_recording=10, seed=3)
    dataset = work / "dataset"
    build_dataset(BuildConfig(corpus="mosei", root=str(corpus)), dataset, workers=1)
    embedding = EmbeddingConfig(features="vgg16").updated(vgg16={"precision": "float32", "frames": "full"})
    result = train(dataset, TrainConfig(embedding=embedding), TrainOptions(n_bootstrap=200))
    metrics = json.loads((dataset / "metrics.json").read_text(encoding="utf-8"))
    key = metrics["embedding"]["key"]
    embeddings = np.load(dataset / "embeddings" / f"{key}.npy")
    predictions = result.predictions
    return {
        "embedding_key": key,
        "embeddings_sha256": _sha(np.ascontiguousarray(embeddings).tobytes()),
        "head_sha256": _sha(b"".join(np.asarray(w).tobytes() for w in result.head.get_weights())),
        "predictions_sha256": {c: _sha(predictions[c].to_numpy(dtype=np.float64).tobytes())
                               for c in predictions.columns if c.startswith("p_")},
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
