"""The small dense head trained on frozen embeddings: standardise -> Dense(relu) -> Dropout -> sigmoid.

Trained on the train split with class weights that balance the weak labels, early-stopped on validation
ROC AUC (or validation loss when validation has a single class), best weights restored.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class HeadConfig:
    """Hyper-parameters of :func:`train_dense_head` (learning rate per Adam step, sizes in units)."""

    hidden_units: int = 256
    dropout: float = 0.3
    learning_rate: float = 1e-3
    l2: float = 1e-4
    batch_size: int = 32
    max_epochs: int = 200
    patience: int = 20

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
                     config: HeadConfig = HeadConfig(), seed: int = 0):
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
    history = model.fit(X_train, y_train, validation_data=(X_val, y_val) if have_val else None,
                        epochs=config.max_epochs, batch_size=config.batch_size, class_weight=weights,
                        callbacks=[stop], verbose=0, shuffle=True)
    curve = history.history.get(monitor, [])
    best = int(np.argmax(curve) if mode == "max" else np.argmin(curve)) + 1 if curve else 0
    return model, {"epochs_run": len(curve), "best_epoch": best, "monitor": monitor,
                   "best_value": float(curve[best - 1]) if curve else None, "class_weight": weights,
                   "config": config.to_dict(), "seed": seed}


def predict_head(model, X: np.ndarray) -> np.ndarray:
    """p(positive) for embeddings ``(n, dim)`` -> ``(n,)`` float64 in [0, 1]."""
    if len(X) == 0:
        return np.zeros(0)
    return np.asarray(model.predict(np.asarray(X, dtype=np.float32), verbose=0, batch_size=1024),
                      dtype=np.float64)[:, 0]
