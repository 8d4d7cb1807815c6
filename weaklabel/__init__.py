"""weaklabel: turn transcribed, unlabelled audio into a weakly labelled speech-emotion dataset.

Everything up to a labelled clip lives here (readers, text sentiment, audio slicing, features, splits, the
dataset folder). No TensorFlow import anywhere in this package: labelling a million sentences must not pay
for a deep-learning runtime.

The Python API (each name is imported on first use, so ``import weaklabel`` stays cheap)::

    from weaklabel import BuildConfig, Dataset, build_dataset
    dataset = build_dataset(BuildConfig(corpus="auto", root="talks/"), "build/talks")   # -> Dataset
    dataset.segments, dataset.features, dataset.config, dataset.counts

* :func:`build_dataset` (:mod:`weaklabel.build`) builds, resumes or confirms a build and returns its
  :class:`Dataset` (a :class:`~weaklabel.build.BuildResult`, which also says what the run did);
* :class:`Dataset` (:mod:`weaklabel.dataset`) is a finished build folder: configuration, tables, arrays;
* :func:`relabel_dataset` (:mod:`weaklabel.relabel`) re-labels or re-splits a build without its audio;
* :func:`label_quality` (:mod:`weaklabel.label_quality`) scores the weak labels against human labels: texts
  and labels, a CSV file, or a :class:`Dataset` (:class:`LabelQualityConfig`), returning the report dict;
* :func:`export` (:mod:`weaklabel.exporting`) writes a build's clips for Hugging Face ``datasets``, Lhotse or an
  audio folder (:class:`ExportConfig`), returning an :class:`ExportResult`.
"""
__version__ = "0.1.0"

from foundation.exports import lazy_exports

_EXPORTS = {
    "BuildConfig": "weaklabel.config",
    "Dataset": "weaklabel.dataset",
    "BuildResult": "weaklabel.build",
    "build_dataset": "weaklabel.build",
    "relabel_dataset": "weaklabel.relabel",
    "label_quality": "weaklabel.label_quality",
    "LabelQualityConfig": "weaklabel.label_quality",
    "export": "weaklabel.exporting",
    "ExportConfig": "weaklabel.exporting",
    "ExportResult": "weaklabel.exporting",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
