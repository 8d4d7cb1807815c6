"""Export a built dataset to the tools teams train with: Hugging Face ``datasets``, Lhotse, an audio folder.

    from weaklabel import ExportConfig, export
    result = export("build/demo", "build/demo-hf", ExportConfig(format="hf"))     # -> ExportResult

Each labelled clip (and, with ``include_abstained``, each abstained one, without a label; never a failed one) is
cut from its original recording by the build's own reader, clip plan and cutter (:mod:`weaklabel.exporting.clips`),
on the executor, resumably and atomically, the same bytes whatever the worker count
(:mod:`weaklabel.exporting.core`). The formats, one module each:

* ``hf`` (:mod:`weaklabel.exporting.hf`): Parquet shards with ``Audio`` and ``ClassLabel`` columns, for
  ``datasets.load_dataset("parquet", data_dir=OUT)``;
* ``lhotse`` (:mod:`weaklabel.exporting.lhotse`): recordings, supervisions and cuts manifests over the original
  recordings, for ``lhotse.CutSet.from_file``;
* ``audiofolder`` (:mod:`weaklabel.exporting.audiofolder`): ``OUT/<split>/<segment_id>.flac`` and
  ``metadata.csv``.

Every export folder also holds ``export.json`` (counts, configuration, the dataset's fingerprint: written last)
and ``export_log.csv`` (each segment that could not be exported, and why).
"""
from weaklabel.exporting.config import EXPORT_FILE, EXPORT_LOG_FILE, FORMATS, ExportConfig
from weaklabel.exporting.core import ExportResult, export

__all__ = ["EXPORT_FILE", "EXPORT_LOG_FILE", "FORMATS", "ExportConfig", "ExportResult", "export"]
