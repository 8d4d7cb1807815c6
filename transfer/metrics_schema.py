"""The vocabulary of ``metrics.json`` (written by :func:`transfer.training.train_and_evaluate`): the splits every
model is scored on, the targets it is scored against, and the models by key with the names readers see.

Constants only, importing nothing heavy (no scikit-learn, no Keras), so the report reads a metrics file
without importing the models' code.
"""
from __future__ import annotations

from foundation.metrics import not_a_result
from weaklabel.splits import TEST, VALIDATION

#: The splits every model is scored on.
EVAL_SPLITS = (VALIDATION, TEST)

#: Target key -> what a reader calls it: the build's weak labels, and human labels where the dataset has them.
AGAINST_WEAK, AGAINST_HUMAN = "against_weak_labels", "against_human_labels"
TARGETS = {AGAINST_WEAK: "weak labels", AGAINST_HUMAN: "human labels"}

HEAD = "head"  # the exported head on standardised VGG16 embeddings
EMBEDDING_BASELINE = "embedding_logistic_regression"  # logistic regression on the raw embeddings
MEL_PREFIX = "mel_"  # + a transfer.baselines.BASELINES name: that baseline on time-averaged log-mel
WEAK_LABEL_SCORE = "weak_label_score"  # the labelling policy's own score (against human labels only)

#: Model key -> the name a reader sees, in the order the report's tables and curves show them; the head and the
#: embedding baseline are named from each metrics file's own record by :func:`model_titles`.
MODEL_TITLES = {
    HEAD: "head (VGG16)",
    EMBEDDING_BASELINE: "logistic regression (VGG16)",
    MEL_PREFIX + "logistic_regression": "logistic regression (mel)",
    MEL_PREFIX + "random_forest": "random forest (mel)",
    MEL_PREFIX + "knn": "k-NN (mel)",
    MEL_PREFIX + "mlp": "MLP (mel)",
    WEAK_LABEL_SCORE: "weak-label score (text)",
}


def head_kind(record: dict) -> str | None:
    """The kind of head (``logistic``, ``dense``) a ``metrics.json`` or ``model.json`` records, or None."""
    kind = (record.get("head_training") or {}).get("kind")
    return kind or ((record.get("train_config") or {}).get("head") or {}).get("kind")


def model_titles(metrics: dict) -> dict[str, str]:
    """Model key -> the name a reader sees, for one ``metrics.json``: the head by its recorded kind and the
    embedding's recorded layer and pooling (``logistic head (VGG16 block2_conv2, bands4)``), the logistic
    regression on the raw embeddings likewise; :data:`MODEL_TITLES` for the rest (and for what is not recorded)."""
    embedding = metrics.get("embedding") or {}
    vgg = ", ".join(str(v) for v in (embedding.get("layer"), embedding.get("pooling")) if v)
    backbone = embedding.get("backbone")
    name = "VGG16" if backbone in (None, "vgg16") else backbone  # records before the registry name no extractor
    vgg = f"{name} {vgg}" if vgg else name
    kind = head_kind(metrics)
    return {**MODEL_TITLES, HEAD: f"{kind} head ({vgg})" if kind else f"head ({vgg})",
            EMBEDDING_BASELINE: f"logistic regression (raw {vgg})"}


#: What a saved model keeps of its head's test metrics per target (:func:`head_test_metrics`).
TEST_METRIC_KEYS = ("roc_auc", "roc_auc_ci95", "n", "n_positive", "n_groups")


def head_test_metrics(metrics: dict) -> dict:
    """The head's measured quality on its test split, per target it was scored against (weak labels, and human labels
    where the dataset has them): ``{target: {roc_auc, roc_auc_ci95, n, n_positive, n_groups, not_a_result}}``, as
    ``metrics.json`` holds them (:func:`~foundation.metrics.not_a_result`: why they are not a result, or None); what
    ``predict`` reports beside its scores."""
    out = {}
    for target in (AGAINST_WEAK, AGAINST_HUMAN):
        cell = ((metrics.get(target) or {}).get(HEAD) or {}).get(TEST)
        if isinstance(cell, dict):
            out[target] = {**{key: cell.get(key) for key in TEST_METRIC_KEYS}, "not_a_result": not_a_result(cell)}
    return out
