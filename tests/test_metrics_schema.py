"""metrics.json's vocabulary has one owner, light enough for the report to import."""
from transfer.baselines import BASELINES
from transfer.metrics_schema import EMBEDDING_BASELINE, EVAL_SPLITS, HEAD, MEL_PREFIX, MODEL_TITLES, WEAK_LABEL_SCORE
from weaklabel.splits import SPLITS

from .conftest import modules_after


def test_every_model_the_trainer_scores_has_a_title():
    trained = {HEAD, EMBEDDING_BASELINE, WEAK_LABEL_SCORE} | {MEL_PREFIX + name for name in BASELINES}
    assert set(MODEL_TITLES) == trained
    assert set(EVAL_SPLITS) < set(SPLITS)


def test_the_report_imports_no_deep_learning_runtime_nor_model_code():
    loaded = modules_after("import reporting.sections")
    assert "transfer.metrics_schema" in loaded
    assert not [m for m in loaded if m.split(".")[0] in ("tensorflow", "keras")
                or m in ("transfer.training", "transfer.baselines", "transfer.embedding")]
