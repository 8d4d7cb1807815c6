"""The vocabulary of ``metrics.json`` (written by :func:`transfer.training.train_and_evaluate`, read as a
:class:`transfer.metrics_record.MetricsRecord`): the splits every model is scored on, the targets it is scored
against, and the models by key with the names readers see.

Constants only, importing nothing heavy (no scikit-learn, no Keras), so the report reads a metrics file
without importing the models' code.
"""
from __future__ import annotations

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
#: embedding baseline are named from each metrics file's own record
#: (:meth:`transfer.metrics_record.MetricsRecord.model_titles`).
MODEL_TITLES = {
    HEAD: "head (VGG16)",
    EMBEDDING_BASELINE: "logistic regression (VGG16)",
    MEL_PREFIX + "logistic_regression": "logistic regression (mel)",
    MEL_PREFIX + "random_forest": "random forest (mel)",
    MEL_PREFIX + "knn": "k-NN (mel)",
    MEL_PREFIX + "mlp": "MLP (mel)",
    WEAK_LABEL_SCORE: "weak-label score (text)",
}


#: What a saved model keeps of its head's test metrics per target
#: (:meth:`transfer.metrics_record.MetricsRecord.head_test_metrics`).
TEST_METRIC_KEYS = ("roc_auc", "roc_auc_ci95", "n", "n_positive", "n_groups")
