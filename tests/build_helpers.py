"""Shared by the build's test files: a fast log-mel, the configuration of a generated MOSEI-layout corpus, and the
bytes of a build's outputs."""
from weaklabel.config import BuildConfig
from weaklabel.logmel import LogMelParams

OUTPUT_FILES = ("segments.parquet", "features/logmel.npy", "build.json")
FAST_MEL = LogMelParams(n_mels=32, n_fft=512, win_length=512, hop_length=512)


def config_for(root, **kw) -> BuildConfig:
    """The build of the MOSEI-layout corpus at ``root`` with :data:`FAST_MEL` unless ``mel`` is given."""
    kw.setdefault("mel", FAST_MEL)
    return BuildConfig(corpus="mosei", root=str(root), **kw)


def read_outputs(out) -> dict[str, bytes]:
    """Each output file of the build in ``out`` (:data:`OUTPUT_FILES`), by name: its bytes."""
    return {name: (out / name).read_bytes() for name in OUTPUT_FILES}


def parts_built(config: BuildConfig, out, n_units: int | None = None):
    """Prepare ``out`` for ``config`` and write the parts of its corpus's first ``n_units`` work units (all when
    None), each holding its own features, as a build killed after them leaves them. Returns the parts folder and
    every work unit, in order."""
    from weaklabel.build import group_by_audio_file, prepare_output_dir
    from weaklabel.build.cut import build_part
    from weaklabel.readers import read_corpus

    parts = prepare_output_dir(out, config, overwrite=False)
    files = group_by_audio_file(read_corpus(config.corpus, config.root))
    for unit in list(files)[:n_units]:
        build_part(files[unit], config, str(parts))
    return parts, list(files)
