"""Build a weakly labelled dataset from a corpus: read segments, score text, cut clips, compute features.

The unit of work is the audio file (:func:`~weaklabel.build.units.group_by_audio_file`): each segment is cut from
its own ``audio_path``, and that file's digest guards its part; video id, speaker and group only decide the splits.
Each file's features are streamed chunk by chunk (:data:`~weaklabel.build.cut.CLIPS_PER_CHUNK` clips at a time, so
a worker's memory does not grow with the length of a recording or its number of segments) straight into their rows
of one *staging* file, which already has the layout of ``features/logmel.npy``
(:class:`~weaklabel.build.parts.FeatureSlots`: each file owns as many rows as it has segments to cut); then the
file's *part*, its rows, goes into a hidden folder of the output directory, fsynced and renamed into place after
its features. When every part exists, :func:`~weaklabel.build.finish.finalize` closes the gaps that failed segments
left in the staging file (none in a build where every clip was cut), writes its header and renames it into place:
the features are written once, never copied. It then applies the labelling policy and the splits and writes the
other outputs, each atomically, ``build.json`` last:

``segments.parquet``
    One row per transcript segment (ok, abstained or failed with its reason); see :data:`weaklabel.dataset.COLUMNS`.
``features/logmel.npy``
    float16 array ``(n_rows_with_features, n_mels, n_frames)``; row ``i`` belongs to the segment whose
    ``feature_row`` is ``i`` (failed segments have none). Open with ``numpy.load(path, mmap_mode="r")``.
``build.json``
    Counts by status, label and split; the full configuration; library versions.

An interrupted build (even one killed outright) leaves finished parts behind; re-running with the same
configuration does only the missing files and ends with the same bytes as an uninterrupted run. A part
counts as finished only when it is whole and its rows, its features and the digest of its segments and
audio file all agree (:func:`~weaklabel.build.plan.part_done`); anything else, including temporary files that a
killed write left, is redone or removed, never read. ``build.json`` is the completion mark of the whole build.

Every random choice is drawn from ``(seed, segment_id)``, so results do not depend on worker count, order or
scheduler: the files can run in this process, in local processes, or on a Dask cluster
(:mod:`foundation.executor`), with the same bytes out.

Modules: :mod:`~weaklabel.build.units` (work units and their identity), :mod:`~weaklabel.build.cut` (cutting
audio), :mod:`~weaklabel.build.parts` (part files and the staging file), :mod:`~weaklabel.build.plan` (planning
and resume), :mod:`~weaklabel.build.finish` (the outputs and ``build.json``), :mod:`~weaklabel.build.driver`
(:func:`build_dataset`). The bytes between files are :mod:`foundation.staging`'s.
"""
from weaklabel.build.cut import RecordingUnavailable, cut_span, open_recording, process_audio_file
from weaklabel.build.driver import BuildResult, build_dataset
from weaklabel.build.finish import finalize
from weaklabel.build.parts import part_path
from weaklabel.build.plan import prepare_output_dir
from weaklabel.build.units import corpus_dir, group_by_audio_file
from weaklabel.config import BuildConfig

__all__ = ["BuildConfig", "BuildResult", "RecordingUnavailable", "build_dataset", "corpus_dir", "cut_span",
           "finalize", "group_by_audio_file", "open_recording", "part_path", "prepare_output_dir",
           "process_audio_file"]
