"""The heads trained on frozen embeddings, both saved as small Keras models ``(n, dim) -> (n, 1)`` p(positive).

* ``logistic`` (the default, :func:`train_logistic_head`): an L2-regularised logistic regression on
  standardised inputs, class-balanced, each clip weighted by the label model's confidence. Weak labels are
  noisy (on the weak-supervision benchmark about 60 % right); a linear model with strong regularisation
  has the least variance to spend on that noise, and it learned best there (docs/benchmarks.md, the weak-supervision
  levers). It is exported as one ``Dense(1, sigmoid)`` layer with the standardisation folded in.
* ``dense`` (:func:`train_dense_head`): standardise -> Dense(relu) -> Dropout -> sigmoid, trained with
  class weights that balance the labels, early-stopped on validation ROC AUC (or validation loss when
  validation has a single class), best weights restored. The original project's head.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from foundation.config import check_ranges, option

HEADS = ("logistic", "dense")
DEFAULT_HEAD = "logistic"
#: Inverse L2 strength of the logistic head on standardised inputs, chosen on the weak-supervision benchmark.
DEFAULT_LOGISTIC_C = 1e-3


@dataclass(frozen=True)
class HeadConfig:
    """Which head and its hyper-parameters (``C`` for ``logistic``; the rest for ``dense``: learning rate per
    Adam step, sizes in units)."""

    kind: str = option(DEFAULT_HEAD, choices=HEADS, flag="--head", group="model",
                       help="'logistic' (L2 logistic regression) or 'dense' (the original project's head)")
    C: float = option(DEFAULT_LOGISTIC_C, group="model", exclusive_minimum=0.0,
                      help="inverse L2 strength of the logistic head on standardised inputs")
    hidden_units: int = option(256, group="dense head", minimum=1, help="units of the dense head's hidden layer")
    dropout: float = option(0.3, group="dense head", minimum=0.0, exclusive_maximum=1.0,
                            help="dropout after the hidden layer")
    learning_rate: float = option(1e-3, group="dense head", exclusive_minimum=0.0, help="Adam's learning rate")
    l2: float = option(1e-4, cli=False, minimum=0.0, help="L2 penalty on the dense head's hidden weights")
    batch_size: int = option(32, cli=False, minimum=1, help="clips per step of the dense head")
    max_epochs: int = option(200, group="dense head", minimum=1, help="most epochs of the dense head")
    patience: int = option(20, group="dense head", minimum=0,
                           help="early stopping on validation ROC AUC: epochs without gain")

    def __post_init__(self):
        check_ranges(self)
        if self.kind not in HEADS:
            raise ValueError(f"unknown head {self.kind!r}; choose one of {', '.join(HEADS)}")
        if not self.C > 0:
            raise ValueError(f"the logistic head's C must be positive, got {self.C}")

    def to_dict(self) -> dict:
        return asdict(self)


def balanced_class_weights(y: np.ndarray) -> dict[int, float]:
    """``n / (2 * n_c)`` per class, so each class carries half the loss."""
    y = np.asarray(y).astype(int)
    counts = np.bincount(y, minlength=2)
    if (counts == 0).any():
        raise ValueError(f"training labels need both classes, got counts {counts.tolist()} (negative, positive)")
    return {c: float(len(y) / (2.0 * counts[c])) for c in (0, 1)}


def build_head(input_dim: int, config: HeadConfig, X_train: np.ndarray):
    """An uncompiled head whose first layer standardises inputs with the training set's mean and variance."""
    import keras

    norm = keras.layers.Normalization(name="standardise")
    norm.adapt(np.asarray(X_train, dtype=np.float32))
    inputs = keras.Input(shape=(input_dim,), name="embedding")
    x = norm(inputs)
    x = keras.layers.Dense(config.hidden_units, activation="relu", name="hidden",
                           kernel_regularizer=keras.regularizers.l2(config.l2))(x)
    x = keras.layers.Dropout(config.dropout, name="dropout")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="p_positive")(x)
    return keras.Model(inputs, outputs, name="valence_head")


def train_dense_head(X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray, y_val: np.ndarray,
                     config: HeadConfig = HeadConfig(kind="dense"), seed: int = 0,
                     sample_weight: np.ndarray | None = None):
    """Train the head; return ``(model, info)``.

    Parameters
    ----------
    X_train, X_val : arrays, shape (n, dim)
    y_train, y_val : arrays of 0/1, shape (n,)

    Returns
    -------
    model : keras.Model mapping (n, dim) -> (n, 1) p(positive)
    info : dict with epochs run, best epoch, the monitored quantity and the class weights
    """
    import keras

    keras.utils.set_random_seed(seed)
    X_train = np.asarray(X_train, dtype=np.float32)
    y_train = np.asarray(y_train, dtype=np.float32)
    X_val = np.asarray(X_val, dtype=np.float32)
    y_val = np.asarray(y_val, dtype=np.float32)
    weights = balanced_class_weights(y_train)
    model = build_head(X_train.shape[1], config, X_train)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="binary_crossentropy",
                  metrics=[keras.metrics.AUC(name="auc")])
    have_val = len(y_val) > 0
    both_classes = have_val and len(np.unique(y_val)) == 2
    monitor, mode = ("val_auc", "max") if both_classes else (("val_loss", "min") if have_val else ("loss", "min"))
    stop = keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=config.patience,
                                         restore_best_weights=True)
    if sample_weight is None:
        fit_weights = {"class_weight": weights}
    else:  # Keras takes one or the other: fold the class balance into the per-clip weights
        per_clip = np.array([weights[int(c)] for c in y_train]) * np.asarray(sample_weight, dtype=np.float64)
        fit_weights = {"sample_weight": (per_clip * len(per_clip) / per_clip.sum()).astype(np.float32)}
    history = model.fit(X_train, y_train, validation_data=(X_val, y_val) if have_val else None,
                        epochs=config.max_epochs, batch_size=config.batch_size, callbacks=[stop], verbose=0,
                        shuffle=True, **fit_weights)
    curve = history.history.get(monitor, [])
    best = int(np.argmax(curve) if mode == "max" else np.argmin(curve)) + 1 if curve else 0
    return model, {"epochs_run": len(curve), "best_epoch": best, "monitor": monitor,
                   "best_value": float(curve[best - 1]) if curve else None, "class_weight": weights,
                   "config": config.to_dict(), "seed": seed}


def train_logistic_head(X_train: np.ndarray, y_train: np.ndarray, sample_weight: np.ndarray | None = None,
                        config: HeadConfig = HeadConfig(), seed: int = 0, column_scale: np.ndarray | None = None):
    """Fit the logistic head; return ``(model, info)``.

    Parameters
    ----------
    X_train : array (n, dim); y_train : array (n,) of 0/1
    sample_weight : array (n,) of non-negative weights, optional
        Per-clip weights (e.g. the labelling policy's confidence); the classes are then balanced by weight,
        each carrying half of the total. The standardisation folded into the model is weighted alike.
    column_scale : array (dim,), optional
        Factors applied to the standardised columns before the regression (folded into the exported weights):
        a combination's blocks scaled to the same total variance (:func:`transfer.features.base.block_scale`).

    Returns
    -------
    model : keras.Model mapping (n, dim) -> (n, 1) p(positive): the training set's standardisation and the
        regression's coefficients folded into one ``Dense(1, sigmoid)`` layer
    info : dict with the class weights, the number of clips and the config
    """
    import keras
    from sklearn.linear_model import LogisticRegression

    X = np.asarray(X_train, dtype=np.float64)
    y = np.asarray(y_train).astype(int)
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if w.shape != y.shape or (w < 0).any() or not np.isfinite(w).all():
        raise ValueError("sample weights must be one finite, non-negative number per clip")
    used = w > 0
    weights = balanced_class_weights(y[used])
    # Each class carries half of the total weight; the weights sum to the number of clips that carry any,
    # so C means the same whatever the weighting, and a clip of weight 0 is a clip left out.
    class_total = np.array([w[y == c].sum() for c in (0, 1)])
    w = w * (w.sum() / (2.0 * class_total))[y]
    w = w * used.sum() / w.sum()
    mean = np.average(X[used], axis=0, weights=w[used])
    scale = np.sqrt(np.average((X[used] - mean) ** 2, axis=0, weights=w[used]))
    scale[scale == 0] = 1.0
    if column_scale is not None:  # dividing by the spread, then multiplying by the block's factor
        scale = scale / np.asarray(column_scale, dtype=np.float64)
    regression = LogisticRegression(C=config.C, max_iter=5000, random_state=seed)
    regression.fit((X[used] - mean) / scale, y[used], sample_weight=w[used])
    coef = regression.coef_[0] / scale
    bias = float(regression.intercept_[0] - coef @ mean)
    inputs = keras.Input(shape=(X.shape[1],), name="embedding")
    dense = keras.layers.Dense(1, activation="sigmoid", name="p_positive")
    model = keras.Model(inputs, dense(inputs), name="valence_logistic_head")
    dense.set_weights([coef[:, None].astype(np.float32), np.array([bias], dtype=np.float32)])
    return model, {"kind": "logistic", "n_train": int(len(y)), "class_weight": weights,
                   "weighted": sample_weight is not None, "config": config.to_dict(), "seed": seed}


def train_head(X_train: np.ndarray, y_train: np.ndarray, sample_weight: np.ndarray | None,
               X_val: np.ndarray, y_val: np.ndarray, config: HeadConfig = HeadConfig(), seed: int = 0,
               column_scale: np.ndarray | None = None):
    """Train the head ``config.kind`` names; return ``(model, info)`` (see the two trainers). ``column_scale``
    weighs the logistic head's standardised columns; the dense head standardises its inputs itself and ignores it."""
    if config.kind == "logistic":
        return train_logistic_head(X_train, y_train, sample_weight, config, seed, column_scale=column_scale)
    model, info = train_dense_head(X_train, y_train, X_val, y_val, config, seed, sample_weight=sample_weight)
    return model, {"kind": "dense", **info}


#: Rows the head scores per batch (:func:`predict_head`).
PREDICT_BATCH = 1024


def predict_head(model, X: np.ndarray) -> np.ndarray:
    """p(positive) for embeddings ``(n, dim)`` -> ``(n,)`` float64 in [0, 1], in batches of :data:`PREDICT_BATCH`."""
    if len(X) == 0:
        return np.zeros(0)
    return np.asarray(model.predict(np.asarray(X, dtype=np.float32), verbose=0, batch_size=PREDICT_BATCH),
                      dtype=np.float64)[:, 0]
