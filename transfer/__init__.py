"""transfer: everything that learns.

Voice features from a registry of extractors (:data:`transfer.features.FEATURES`: Whisper's speech encoder by
default, the frozen ImageNet VGG16 over log-mel spectrograms of the original method, openSMILE's eGeMAPS), and the
classifiers trained on them.
Importing this package is cheap: each name below is imported on first use, and TensorFlow/Keras only inside
the functions that build or run a model, so tools that merely resolve or check weights start fast. TensorFlow's
C++ start-up notices are hidden from its first import on (:mod:`transfer.quiet`; ``WEAKLABEL_VERBOSE=1`` shows
them), as on the command line.

The Python API (none of these parses arguments or prints)::

    import transfer
    embeddings, record = transfer.embed(dataset, transfer.EmbeddingConfig(features="auto"))
    result = transfer.train(dataset, transfer.TrainConfig(), transfer.TrainOptions())    # saves model + metrics
    scores = transfer.predict(result.model_dir, ["talk.wav"])                              # a DataFrame

* :func:`embed` (:mod:`transfer.embedding`): a dataset's clips through the extractor ``EmbeddingConfig.features``
  names (Whisper where it runs, else VGG16, by default), cached;
* :func:`train` (:mod:`transfer.training`): the head and the baselines, scored, saved into the dataset
  (``model/``, ``metrics.json``); :func:`model_is_current` says whether that is already done;
* :func:`predict` (:mod:`transfer.model`): a saved model's scores for audio files, per window and per file.

A model on an acted emotion corpus is measured by :func:`evaluation.acted.evaluate_acted` (the ``evaluation``
package, which imports this one).
"""
from foundation.exports import lazy_exports
from transfer.quiet import quiet_tensorflow_import

quiet_tensorflow_import()  # TensorFlow's start-up notices hidden, unless WEAKLABEL_VERBOSE (transfer.quiet)

_EXPORTS = {
    "EmbedConfig": "transfer.embedding",
    "EmbeddingConfig": "transfer.features",
    "embed": "transfer.embedding",
    "HeadConfig": "transfer.head",
    "TrainConfig": "transfer.training",
    "TrainOptions": "transfer.training",
    "TrainResult": "transfer.training",
    "train": "transfer.training",
    "model_is_current": "transfer.training",
    "PredictConfig": "transfer.model",
    "load_valence_model": "transfer.model",
    "predict": "transfer.model",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
